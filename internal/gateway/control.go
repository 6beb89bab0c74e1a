package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/gateway/apigw"
	"github.com/bulkhead-dev/bulkhead/internal/gateway/catalog"
	"github.com/bulkhead-dev/bulkhead/internal/gateway/plan"
	"github.com/bulkhead-dev/bulkhead/internal/tenant"
)

// snapshot is the catalog as the gateway serves it: immutable once built,
// swapped whole after each change.
type snapshot struct {
	routes      *apigw.Table[*catalog.Route]
	routeByID   map[string]*catalog.Route
	plans       map[string]plan.Plan
	keyByHash   map[[32]byte]*catalog.APIKey
	keyByID     map[string]*catalog.APIKey
	authorizers map[string]catalog.Authorizer
}

func buildSnapshot(c catalog.Snapshot) (*snapshot, error) {
	s := &snapshot{
		routes: &apigw.Table[*catalog.Route]{}, routeByID: map[string]*catalog.Route{}, plans: map[string]plan.Plan{},
		keyByHash: map[[32]byte]*catalog.APIKey{}, keyByID: map[string]*catalog.APIKey{}, authorizers: map[string]catalog.Authorizer{},
	}
	for _, p := range c.Plans {
		s.plans[p.Name] = p
	}
	for _, a := range c.Authorizers {
		s.authorizers[a.Name] = a
	}
	for i := range c.Keys {
		k := &c.Keys[i]
		s.keyByHash[k.Hash] = k
		s.keyByID[k.ID] = k
	}
	for i := range c.Routes {
		r := &c.Routes[i]
		p, err := apigw.Parse(r.Method, r.Path)
		if err != nil {
			return nil, fmt.Errorf("stored route %s: %w", r.ID, err)
		}
		if err := s.routes.Add(p, r); err != nil {
			return nil, fmt.Errorf("stored route %s: %w", r.ID, err)
		}
		s.routeByID[r.ID] = r
	}
	return s, nil
}

// reload rebuilds the snapshot from the store; call it with writeMu held.
func (g *Gateway) reload(ctx context.Context) error {
	c, err := g.store.Load(ctx)
	if err != nil {
		return err
	}
	s, err := buildSnapshot(c)
	if err != nil {
		return err
	}
	g.snap.Store(s)
	g.auth.forget(s.authorizers)
	return nil
}

// change runs a write and reloads the snapshot after it.
func (g *Gateway) change(ctx context.Context, write func(s *snapshot) error) error {
	g.writeMu.Lock()
	defer g.writeMu.Unlock()
	if err := write(g.snap.Load()); err != nil {
		return err
	}
	return g.reload(ctx)
}

// PutPlan creates (create) or replaces a usage plan.
func (g *Gateway) PutPlan(ctx context.Context, p plan.Plan, create bool) error {
	if err := catalog.ValidName("Usage plan", p.Name); err != nil {
		return err
	}
	if err := p.Validate(); err != nil {
		return errdefs.New(errdefs.ErrInvalidArgument, "%v", err)
	}
	return g.change(ctx, func(*snapshot) error { return g.store.PutPlan(ctx, p, create) })
}

// DeletePlan deletes a usage plan that no key, tenant or route uses.
func (g *Gateway) DeletePlan(ctx context.Context, name string) error {
	return g.change(ctx, func(s *snapshot) error {
		for _, k := range s.keyByID {
			if k.Plan == name && k.Revoked == nil {
				return errdefs.New(errdefs.ErrConflict, "Usage plan %s is used by API key %s.", name, k.ID)
			}
		}
		for _, r := range s.routeByID {
			if r.Plan == name {
				return errdefs.New(errdefs.ErrConflict, "Usage plan %s is used by route %s.", name, r.ID)
			}
		}
		for _, t := range g.tenants.List("", g.tenants.Len()) {
			if t.Plan == name {
				return errdefs.New(errdefs.ErrConflict, "Usage plan %s is the plan of tenant %s.", name, t.ID.String())
			}
		}
		return g.store.DeletePlan(ctx, name)
	})
}

// Plans returns every usage plan, by name.
func (g *Gateway) Plans() []plan.Plan {
	s := g.snap.Load()
	out := make([]plan.Plan, 0, len(s.plans))
	for _, p := range s.plans {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b plan.Plan) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Plan returns one usage plan.
func (g *Gateway) Plan(name string) (plan.Plan, error) {
	p, ok := g.snap.Load().plans[name]
	if !ok {
		return plan.Plan{}, errdefs.New(errdefs.ErrNotFound, "Usage plan not found: %s", name)
	}
	return p, nil
}

// PlanExists is the tenant registry's check of a tenant's plan.
func (g *Gateway) PlanExists(t tenant.Tenant) error {
	if t.Plan == "" {
		return nil
	}
	if _, ok := g.snap.Load().plans[t.Plan]; !ok {
		return errdefs.New(errdefs.ErrInvalidArgument, "Usage plan not found: %s", t.Plan)
	}
	return nil
}

// CreateKey creates an API key for a registered tenant and returns it with
// its value, which is shown this once. value "" generates one.
func (g *Gateway) CreateKey(ctx context.Context, k catalog.APIKey, value string) (catalog.APIKey, string, error) {
	if value == "" {
		value = catalog.NewKeyValue()
	} else if err := catalog.ValidKeyValue(value); err != nil {
		return catalog.APIKey{}, "", err
	}
	if len(k.Name) > 128 {
		return catalog.APIKey{}, "", errdefs.New(errdefs.ErrInvalidArgument, "An API key's name must be at most 128 bytes.")
	}
	if _, ok := g.tenants.Lookup(k.Tenant); !ok || k.Tenant.IsNone() {
		return catalog.APIKey{}, "", errdefs.New(errdefs.ErrInvalidArgument, "An API key needs a registered tenant; %q is not one.", k.Tenant.String())
	}
	k.ID = "key-" + randomHex(8)
	k.Hash = catalog.HashKey(value)
	k.Prefix = value[:min(8, len(value))]
	k.Created = time.Now().UTC().Truncate(time.Millisecond)
	k.Revoked = nil
	err := g.change(ctx, func(s *snapshot) error {
		if _, ok := s.plans[k.Plan]; k.Plan != "" && !ok {
			return errdefs.New(errdefs.ErrInvalidArgument, "Usage plan not found: %s", k.Plan)
		}
		return g.store.CreateKey(ctx, k)
	})
	if err != nil {
		return catalog.APIKey{}, "", err
	}
	return k, value, nil
}

// RevokeKey revokes an API key: from the moment it returns, the key is
// refused.
func (g *Gateway) RevokeKey(ctx context.Context, id string) error {
	return g.change(ctx, func(*snapshot) error { return g.store.RevokeKey(ctx, id, time.Now().UTC()) })
}

// Keys returns the API keys, of one tenant when t is not None.
func (g *Gateway) Keys(t tenant.ID) []catalog.APIKey {
	s := g.snap.Load()
	var out []catalog.APIKey
	for _, k := range s.keyByID {
		if t.IsNone() || k.Tenant == t {
			out = append(out, *k)
		}
	}
	slices.SortFunc(out, func(a, b catalog.APIKey) int { return a.Created.Compare(b.Created) })
	return out
}

// PutAuthorizer creates (create) or replaces an authorizer.
func (g *Gateway) PutAuthorizer(ctx context.Context, a catalog.Authorizer, create bool) error {
	if err := a.Validate(); err != nil {
		return err
	}
	return g.change(ctx, func(*snapshot) error { return g.store.PutAuthorizer(ctx, a, create) })
}

// DeleteAuthorizer deletes an authorizer no route uses.
func (g *Gateway) DeleteAuthorizer(ctx context.Context, name string) error {
	return g.change(ctx, func(s *snapshot) error {
		for _, r := range s.routeByID {
			if r.Authorizer == name {
				return errdefs.New(errdefs.ErrConflict, "Authorizer %s is used by route %s.", name, r.ID)
			}
		}
		return g.store.DeleteAuthorizer(ctx, name)
	})
}

// Authorizers returns every authorizer, secrets redacted.
func (g *Gateway) Authorizers() []catalog.Authorizer {
	s := g.snap.Load()
	out := make([]catalog.Authorizer, 0, len(s.authorizers))
	for _, a := range s.authorizers {
		out = append(out, a.Redacted())
	}
	slices.SortFunc(out, func(a, b catalog.Authorizer) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// CreateRoute adds a route. Its pattern must parse and must not clash with
// another route's; its authorizer and plan must exist; a route that names
// no tenant (auth none) may not lead to a per-tenant function.
func (g *Gateway) CreateRoute(ctx context.Context, r catalog.Route) (catalog.Route, error) {
	if err := r.Validate(); err != nil {
		return catalog.Route{}, err
	}
	p, err := apigw.Parse(r.Method, r.Path)
	if err != nil {
		return catalog.Route{}, errdefs.New(errdefs.ErrInvalidArgument, "%v", err)
	}
	if where, name, _ := strings.Cut(r.TenantFrom, "."); where == "path" && !slices.Contains(pathParams(r.Path), name) {
		return catalog.Route{}, errdefs.New(errdefs.ErrInvalidArgument, "tenantFrom %s names no parameter of %s.", r.TenantFrom, r.Path)
	}
	if g.functions != nil {
		perTenant, err := g.functions(ctx, r.Function)
		if err != nil {
			return catalog.Route{}, err
		}
		if perTenant && r.Auth == catalog.AuthNone {
			return catalog.Route{}, errdefs.New(errdefs.ErrInvalidArgument,
				"Function %s runs per tenant: a route to it must identify the tenant (auth api_key, jwt, lambda or trusted).", r.Function)
		}
	}
	r.ID = "r-" + randomHex(6)
	r.Created = time.Now().UTC().Truncate(time.Millisecond)
	err = g.change(ctx, func(s *snapshot) error {
		if r.Authorizer != "" {
			a, ok := s.authorizers[r.Authorizer]
			if !ok {
				return errdefs.New(errdefs.ErrInvalidArgument, "Authorizer not found: %s", r.Authorizer)
			}
			if (r.Auth == catalog.AuthJWT) != (a.Type == catalog.AuthorizerJWT) {
				return errdefs.New(errdefs.ErrInvalidArgument, "Authorizer %s is of type %s; auth %s needs the other type.", a.Name, a.Type, r.Auth)
			}
		}
		if _, ok := s.plans[r.Plan]; r.Plan != "" && !ok {
			return errdefs.New(errdefs.ErrInvalidArgument, "Usage plan not found: %s", r.Plan)
		}
		// A trial table catches a clash with the routes in place.
		trial := &apigw.Table[*catalog.Route]{}
		for _, other := range s.routeByID {
			op, _ := apigw.Parse(other.Method, other.Path)
			trial.Add(op, other)
		}
		if err := trial.Add(p, &r); err != nil {
			return errdefs.New(errdefs.ErrConflict, "%v", err)
		}
		return g.store.CreateRoute(ctx, r)
	})
	if err != nil {
		return catalog.Route{}, err
	}
	return r, nil
}

// DeleteRoute deletes a route.
func (g *Gateway) DeleteRoute(ctx context.Context, id string) error {
	return g.change(ctx, func(*snapshot) error { return g.store.DeleteRoute(ctx, id) })
}

// Routes returns every route, by path then method.
func (g *Gateway) Routes() []catalog.Route {
	s := g.snap.Load()
	out := make([]catalog.Route, 0, len(s.routeByID))
	for _, r := range s.routeByID {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b catalog.Route) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Method, b.Method)
	})
	return out
}

// QuotaUsage reports a key's or a tenant's quota use under its plan.
func (g *Gateway) QuotaUsage(ctx context.Context, t tenant.ID, keyID string) (plan.Usage, error) {
	s := g.snap.Load()
	var subject plan.Subject
	var planName string
	if keyID != "" {
		k, ok := s.keyByID[keyID]
		if !ok {
			return plan.Usage{}, errdefs.New(errdefs.ErrNotFound, "API key not found: %s", keyID)
		}
		subject, planName = plan.Subject{Key: "key:" + k.ID, Since: k.Created}, k.Plan
		if planName == "" {
			t = k.Tenant
		}
	}
	if planName == "" {
		tn, ok := g.tenants.Lookup(t)
		if !ok {
			return plan.Usage{}, errdefs.New(errdefs.ErrNotFound, "Tenant not found: %s", t.String())
		}
		if subject.Key == "" {
			subject = plan.Subject{Key: "tenant:" + t.String(), Since: tn.Created}
		}
		planName = tn.Plan
	}
	p, ok := s.plans[planName]
	if !ok {
		return plan.Usage{}, errdefs.New(errdefs.ErrNotFound, "No usage plan applies.")
	}
	return g.enforcer.QuotaUsage(ctx, subject, p, time.Now())
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// pathParams lists the parameter names of a route path.
func pathParams(path string) []string {
	var names []string
	for seg := range strings.SplitSeq(path, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			names = append(names, strings.TrimSuffix(strings.Trim(seg, "{}"), "+"))
		}
	}
	return names
}
