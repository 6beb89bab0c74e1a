package lambdaapi

import (
	"net/http"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/gateway"
	"github.com/bulkhead-dev/bulkhead/internal/gateway/catalog"
	"github.com/bulkhead-dev/bulkhead/internal/gateway/plan"
	"github.com/bulkhead-dev/bulkhead/internal/tenant"
)

// FrontdoorPath is the root of the admin API for tenants and the gateway's
// catalog: tenants, plans, keys, authorizers, routes.
const FrontdoorPath = "/bulkhead/v1"

// Tenant is a tenant on the wire.
type Tenant struct {
	ID          string            `json:"id"`
	DisplayName string            `json:"displayName,omitempty"`
	Status      string            `json:"status"`
	Plan        string            `json:"plan,omitempty"`
	Concurrency int               `json:"concurrency,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	Created     time.Time         `json:"created"`
	Updated     time.Time         `json:"updated"`
}

// TenantInput is what creating or updating a tenant sends; absent fields
// are unchanged on update.
type TenantInput struct {
	ID          string             `json:"id"`
	DisplayName *string            `json:"displayName"`
	Plan        *string            `json:"plan"`
	Concurrency *int               `json:"concurrency"`
	Metadata    *map[string]string `json:"metadata"`
}

// TenantList is a page of tenants; Next, when set, is the after= of the
// next page.
type TenantList struct {
	Tenants []Tenant `json:"tenants"`
	Next    string   `json:"next,omitempty"`
}

// KeyInput creates an API key; Value is generated when empty.
type KeyInput struct {
	Tenant string `json:"tenant"`
	Plan   string `json:"plan,omitempty"`
	Name   string `json:"name,omitempty"`
	Value  string `json:"value,omitempty"`
}

// Key is an API key on the wire; Value appears only in the answer to its
// creation.
type Key struct {
	catalog.APIKey
	Tenant string `json:"tenant"`
	Value  string `json:"value,omitempty"`
}

func wireTenant(t tenant.Tenant) Tenant {
	return Tenant{ID: t.ID.String(), DisplayName: t.DisplayName, Status: string(t.Status), Plan: t.Plan,
		Concurrency: t.Concurrency, Metadata: t.Metadata, Created: t.Created, Updated: t.Updated}
}

func (in TenantInput) apply(t *tenant.Tenant) {
	if in.DisplayName != nil {
		t.DisplayName = *in.DisplayName
	}
	if in.Plan != nil {
		t.Plan = *in.Plan
	}
	if in.Concurrency != nil {
		t.Concurrency = *in.Concurrency
	}
	if in.Metadata != nil {
		t.Metadata = *in.Metadata
	}
}

func (a *API) frontdoor() (*gateway.Gateway, error) {
	if a.gateway == nil {
		return nil, errdefs.New(errdefs.ErrNotFound, "The gateway is not configured on this server.")
	}
	return a.gateway, nil
}

func pathTenant(r *http.Request) (tenant.ID, error) {
	return tenant.Parse(r.PathValue("tenant"))
}

func (a *API) createTenant(w http.ResponseWriter, r *http.Request, body []byte) error {
	g, err := a.frontdoor()
	if err != nil {
		return err
	}
	var in TenantInput
	if err := decode(body, &in); err != nil {
		return err
	}
	id, err := tenant.Parse(in.ID)
	if err != nil {
		return err
	}
	t := tenant.Tenant{ID: id}
	in.apply(&t)
	if t, err = g.CreateTenant(r.Context(), t); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, wireTenant(t))
	return nil
}

func (a *API) listTenants(w http.ResponseWriter, r *http.Request, _ []byte) error {
	if _, err := a.frontdoor(); err != nil {
		return err
	}
	limit, err := limitParam(r.URL.Query(), 100, 1000)
	if err != nil {
		return err
	}
	page := a.tenants.List(r.URL.Query().Get("after"), limit+1)
	out := TenantList{Tenants: []Tenant{}}
	for i, t := range page {
		if i == limit {
			out.Next = page[i-1].ID.String()
			break
		}
		out.Tenants = append(out.Tenants, wireTenant(t))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) getTenant(w http.ResponseWriter, r *http.Request, _ []byte) error {
	if _, err := a.frontdoor(); err != nil {
		return err
	}
	id, err := pathTenant(r)
	if err != nil {
		return err
	}
	t, err := a.tenants.Get(id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wireTenant(t))
	return nil
}

func (a *API) updateTenant(w http.ResponseWriter, r *http.Request, body []byte) error {
	g, err := a.frontdoor()
	if err != nil {
		return err
	}
	id, err := pathTenant(r)
	if err != nil {
		return err
	}
	var in TenantInput
	if err := decode(body, &in); err != nil {
		return err
	}
	if in.ID != "" && in.ID != id.String() {
		return errdefs.New(errdefs.ErrInvalidArgument, "A tenant's id cannot change.")
	}
	t, err := g.UpdateTenant(r.Context(), id, func(t *tenant.Tenant) error { in.apply(t); return nil })
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wireTenant(t))
	return nil
}

func (a *API) setTenantStatus(s tenant.Status) operation {
	return func(w http.ResponseWriter, r *http.Request, _ []byte) error {
		g, err := a.frontdoor()
		if err != nil {
			return err
		}
		id, err := pathTenant(r)
		if err != nil {
			return err
		}
		t, err := g.SetTenantStatus(r.Context(), id, s)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, wireTenant(t))
		return nil
	}
}

func (a *API) drainTenant(w http.ResponseWriter, r *http.Request, _ []byte) error {
	g, err := a.frontdoor()
	if err != nil {
		return err
	}
	id, err := pathTenant(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int{"drained": g.DrainTenant(id)})
	return nil
}

func (a *API) deleteTenant(w http.ResponseWriter, r *http.Request, _ []byte) error {
	g, err := a.frontdoor()
	if err != nil {
		return err
	}
	id, err := pathTenant(r)
	if err != nil {
		return err
	}
	purge := false
	switch r.URL.Query().Get("purge") {
	case "", "false":
	case "true":
		purge = true
	default:
		return errdefs.New(errdefs.ErrInvalidArgument, "purge must be true or false.")
	}
	if err := g.DeleteTenant(r.Context(), id, purge); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) tenantQuota(w http.ResponseWriter, r *http.Request, _ []byte) error {
	g, err := a.frontdoor()
	if err != nil {
		return err
	}
	id, err := pathTenant(r)
	if err != nil {
		return err
	}
	u, err := g.QuotaUsage(r.Context(), id, r.URL.Query().Get("key"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

func (a *API) putPlan(create bool) operation {
	return func(w http.ResponseWriter, r *http.Request, body []byte) error {
		g, err := a.frontdoor()
		if err != nil {
			return err
		}
		var p plan.Plan
		if err := decode(body, &p); err != nil {
			return err
		}
		if !create {
			if p.Name != "" && p.Name != r.PathValue("name") {
				return errdefs.New(errdefs.ErrInvalidArgument, "A usage plan's name cannot change.")
			}
			p.Name = r.PathValue("name")
		}
		if err := g.PutPlan(r.Context(), p, create); err != nil {
			return err
		}
		status := http.StatusOK
		if create {
			status = http.StatusCreated
		}
		writeJSON(w, status, p)
		return nil
	}
}

func (a *API) listPlans(w http.ResponseWriter, r *http.Request, _ []byte) error {
	g, err := a.frontdoor()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string][]plan.Plan{"plans": g.Plans()})
	return nil
}

func (a *API) getPlan(w http.ResponseWriter, r *http.Request, _ []byte) error {
	g, err := a.frontdoor()
	if err != nil {
		return err
	}
	p, err := g.Plan(r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (a *API) deletePlan(w http.ResponseWriter, r *http.Request, _ []byte) error {
	g, err := a.frontdoor()
	if err != nil {
		return err
	}
	if err := g.DeletePlan(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) createKey(w http.ResponseWriter, r *http.Request, body []byte) error {
	g, err := a.frontdoor()
	if err != nil {
		return err
	}
	var in KeyInput
	if err := decode(body, &in); err != nil {
		return err
	}
	id, err := tenant.Parse(in.Tenant)
	if err != nil {
		return err
	}
	k, value, err := g.CreateKey(r.Context(), catalog.APIKey{Tenant: id, Plan: in.Plan, Name: in.Name}, in.Value)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, Key{APIKey: k, Tenant: k.Tenant.String(), Value: value})
	return nil
}

func (a *API) listKeys(w http.ResponseWriter, r *http.Request, _ []byte) error {
	g, err := a.frontdoor()
	if err != nil {
		return err
	}
	var id tenant.ID
	if s := r.URL.Query().Get("tenant"); s != "" {
		if id, err = tenant.Parse(s); err != nil {
			return err
		}
	}
	keys := []Key{}
	for _, k := range g.Keys(id) {
		keys = append(keys, Key{APIKey: k, Tenant: k.Tenant.String()})
	}
	writeJSON(w, http.StatusOK, map[string][]Key{"keys": keys})
	return nil
}

func (a *API) revokeKey(w http.ResponseWriter, r *http.Request, _ []byte) error {
	g, err := a.frontdoor()
	if err != nil {
		return err
	}
	if err := g.RevokeKey(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) putAuthorizer(create bool) operation {
	return func(w http.ResponseWriter, r *http.Request, body []byte) error {
		g, err := a.frontdoor()
		if err != nil {
			return err
		}
		var au catalog.Authorizer
		if err := decode(body, &au); err != nil {
			return err
		}
		if !create {
			if au.Name != "" && au.Name != r.PathValue("name") {
				return errdefs.New(errdefs.ErrInvalidArgument, "An authorizer's name cannot change.")
			}
			au.Name = r.PathValue("name")
		}
		if err := g.PutAuthorizer(r.Context(), au, create); err != nil {
			return err
		}
		status := http.StatusOK
		if create {
			status = http.StatusCreated
		}
		writeJSON(w, status, au.Redacted())
		return nil
	}
}

func (a *API) listAuthorizers(w http.ResponseWriter, r *http.Request, _ []byte) error {
	g, err := a.frontdoor()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string][]catalog.Authorizer{"authorizers": g.Authorizers()})
	return nil
}

func (a *API) deleteAuthorizer(w http.ResponseWriter, r *http.Request, _ []byte) error {
	g, err := a.frontdoor()
	if err != nil {
		return err
	}
	if err := g.DeleteAuthorizer(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) createRoute(w http.ResponseWriter, r *http.Request, body []byte) error {
	g, err := a.frontdoor()
	if err != nil {
		return err
	}
	var rt catalog.Route
	if err := decode(body, &rt); err != nil {
		return err
	}
	if rt.Payload == "" {
		rt.Payload = catalog.PayloadV2
	}
	if rt, err = g.CreateRoute(r.Context(), rt); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, rt)
	return nil
}

func (a *API) listRoutes(w http.ResponseWriter, r *http.Request, _ []byte) error {
	g, err := a.frontdoor()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string][]catalog.Route{"routes": g.Routes()})
	return nil
}

func (a *API) deleteRoute(w http.ResponseWriter, r *http.Request, _ []byte) error {
	g, err := a.frontdoor()
	if err != nil {
		return err
	}
	if err := g.DeleteRoute(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
