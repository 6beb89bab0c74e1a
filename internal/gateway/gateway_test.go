package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/gateway/catalog"
	"github.com/bulkhead-dev/bulkhead/internal/gateway/plan"
	"github.com/bulkhead-dev/bulkhead/internal/invoke"
	"github.com/bulkhead-dev/bulkhead/internal/store/sqlite"
	"github.com/bulkhead-dev/bulkhead/internal/tenant"
)

// fakeInvoker records the requests that reach it and answers a v2 proxy
// response naming the tenant it was asked to run for.
type fakeInvoker struct {
	mu   sync.Mutex
	reqs []invoke.Request
}

func (f *fakeInvoker) Invoke(_ context.Context, req invoke.Request) (invoke.Response, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, req)
	t := "<none>"
	if req.Tenant != nil {
		t = *req.Tenant
	}
	body, _ := json.Marshal(map[string]any{"statusCode": 200, "body": t})
	return invoke.Response{StatusCode: 200, Payload: body}, nil
}

type fakePurger struct{ subjects, purged []string }

func (p *fakePurger) DeleteQuotas(_ context.Context, s []string) error {
	p.subjects = append(p.subjects, s...)
	return nil
}
func (p *fakePurger) DeleteRecords(_ context.Context, id tenant.ID) error {
	p.purged = append(p.purged, id.String())
	return nil
}

type fixture struct {
	g       *Gateway
	inv     *fakeInvoker
	purger  *fakePurger
	drained []string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "bulkhead.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{inv: &fakeInvoker{}, purger: &fakePurger{}}
	var g *Gateway
	reg, err := tenant.NewRegistry(t.Context(), db, func(tn tenant.Tenant) error { return g.PlanExists(tn) })
	if err != nil {
		t.Fatal(err)
	}
	g, err = New(t.Context(), Config{
		Invoker: f.inv, Tenants: reg, Store: db, Quotas: db.Quotas(),
		PerTenant: func(_ context.Context, fn string) (bool, error) {
			if fn == "missing" {
				return false, errdefs.New(errdefs.ErrNotFound, "Function not found: %s", fn)
			}
			return fn != "shared", nil
		},
		Drain: func(id tenant.ID) int { f.drained = append(f.drained, id.String()); return 1 },
		Purge: f.purger, Region: "us-east-1", AccountID: "000000000000",
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	f.g = g
	return f
}

func mustID(t *testing.T, s string) tenant.ID {
	t.Helper()
	id, err := tenant.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestGatewayCatalogRules(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	g := f.g
	if err := g.PutPlan(ctx, plan.Plan{Name: "gold", Throttle: &plan.Throttle{RateLimit: 10, BurstLimit: 10}}, true); err != nil {
		t.Fatal(err)
	}
	if err := g.PutPlan(ctx, plan.Plan{Name: "bad", Throttle: &plan.Throttle{RateLimit: -1}}, true); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("invalid plan: %v", err)
	}
	if _, err := g.CreateTenant(ctx, tenant.Tenant{ID: mustID(t, "blue"), Plan: "platinum"}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("tenant with an unknown plan: %v", err)
	}
	if _, err := g.CreateTenant(ctx, tenant.Tenant{ID: mustID(t, "blue"), Plan: "gold"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := g.CreateKey(ctx, catalog.APIKey{Tenant: mustID(t, "ghost")}, ""); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("key for an unregistered tenant: %v", err)
	}
	if _, _, err := g.CreateKey(ctx, catalog.APIKey{Tenant: mustID(t, "blue"), Plan: "platinum"}, ""); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("key with an unknown plan: %v", err)
	}
	if err := g.DeletePlan(ctx, "gold"); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("deleting the plan a tenant uses: %v", err)
	}
	route := catalog.Route{Method: "GET", Path: "/t/{id}", Function: "orders", Payload: "2.0", Auth: catalog.AuthAPIKey}
	if _, err := g.CreateRoute(ctx, route); err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]catalog.Route{
		"same route":             route,
		"other parameter name":   {Method: "GET", Path: "/t/{other}", Function: "orders", Payload: "2.0", Auth: catalog.AuthAPIKey},
		"none to a per-tenant":   {Method: "GET", Path: "/open", Function: "orders", Payload: "2.0", Auth: catalog.AuthNone},
		"missing function":       {Method: "GET", Path: "/m", Function: "missing", Payload: "2.0", Auth: catalog.AuthAPIKey},
		"unknown authorizer":     {Method: "GET", Path: "/j", Function: "orders", Payload: "2.0", Auth: catalog.AuthJWT, Authorizer: "idp"},
		"unknown plan":           {Method: "GET", Path: "/p", Function: "orders", Payload: "2.0", Auth: catalog.AuthAPIKey, Plan: "platinum"},
		"tenantFrom no such arg": {Method: "GET", Path: "/x/{a}", Function: "orders", Payload: "2.0", Auth: catalog.AuthTrusted, TenantFrom: "path.b"},
		"bad pattern":            {Method: "GET", Path: "/x/{a+}/y", Function: "orders", Payload: "2.0", Auth: catalog.AuthAPIKey},
	} {
		if _, err := g.CreateRoute(ctx, r); err == nil {
			t.Errorf("%s: route created", name)
		}
	}
	if _, err := g.CreateRoute(ctx, catalog.Route{Method: "GET", Path: "/open", Function: "shared", Payload: "2.0", Auth: catalog.AuthNone}); err != nil {
		t.Errorf("auth none to a function without tenancy: %v", err)
	}
	lam := catalog.Authorizer{Name: "lam", Type: catalog.AuthorizerLambda, Lambda: &catalog.LambdaConfig{Function: "shared", IdentitySources: []string{"header.Authorization"}}}
	if err := g.PutAuthorizer(ctx, lam, true); err != nil {
		t.Fatal(err)
	}
	if _, err := g.CreateRoute(ctx, catalog.Route{Method: "GET", Path: "/j", Function: "orders", Payload: "2.0", Auth: catalog.AuthJWT, Authorizer: "lam"}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("jwt route with a lambda authorizer: %v", err)
	}
	r, err := g.CreateRoute(ctx, catalog.Route{Method: "GET", Path: "/l", Function: "orders", Payload: "2.0", Auth: catalog.AuthLambda, Authorizer: "lam"})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.DeleteAuthorizer(ctx, "lam"); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("deleting an authorizer in use: %v", err)
	}
	if err := g.DeleteRoute(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if err := g.DeleteAuthorizer(ctx, "lam"); err != nil {
		t.Errorf("deleting an unused authorizer: %v", err)
	}
}

func TestGatewayRequestsReachTheFunctionOnlyAsTheKeysTenant(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	g := f.g
	for _, id := range []string{"blue", "green"} {
		if _, err := g.CreateTenant(ctx, tenant.Tenant{ID: mustID(t, id)}); err != nil {
			t.Fatal(err)
		}
	}
	_, blueKey, err := g.CreateKey(ctx, catalog.APIKey{Tenant: mustID(t, "blue")}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.CreateRoute(ctx, catalog.Route{Method: "ANY", Path: "/{proxy+}", Function: "orders", Payload: "2.0", Auth: catalog.AuthAPIKey}); err != nil {
		t.Fatal(err)
	}
	serve := func(key string, h map[string]string) (int, string) {
		req := httptest.NewRequest("POST", "/a/b", nil)
		if key != "" {
			req.Header.Set("x-api-key", key)
		}
		for k, v := range h {
			req.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		g.ServeHTTP(w, req)
		return w.Code, w.Body.String()
	}
	if code, body := serve(blueKey, map[string]string{"X-Amz-Tenant-Id": "green", "X-Api-Tenant": "green"}); code != 200 || body != "blue" {
		t.Errorf("blue's key with green headers: %d %q, want 200 blue", code, body)
	}
	before := len(f.inv.reqs)
	for name, key := range map[string]string{"none": "", "unknown": blueKey + "x"} {
		if code, _ := serve(key, map[string]string{"X-Amz-Tenant-Id": "green"}); code != http.StatusForbidden {
			t.Errorf("%s key: %d, want 403", name, code)
		}
	}
	if _, err := g.SetTenantStatus(ctx, mustID(t, "blue"), tenant.Suspended); err != nil {
		t.Fatal(err)
	}
	if code, _ := serve(blueKey, nil); code != http.StatusForbidden {
		t.Errorf("suspended tenant's key: %d, want 403", code)
	}
	if len(f.inv.reqs) != before {
		t.Errorf("%d refused requests reached the function", len(f.inv.reqs)-before)
	}
	if !slices.Equal(f.drained, []string{"blue"}) {
		t.Errorf("drained %v on suspension, want [blue]", f.drained)
	}
	keyID := g.Keys(mustID(t, "blue"))[0].ID
	if err := g.DeleteTenant(ctx, mustID(t, "blue"), true); err != nil {
		t.Fatal(err)
	}
	if len(g.Keys(mustID(t, "blue"))) != 0 {
		t.Error("a deleted tenant's keys remain")
	}
	if !slices.Contains(f.purger.subjects, "tenant:blue") || !slices.Contains(f.purger.subjects, "key:"+keyID) || !slices.Equal(f.purger.purged, []string{"blue"}) {
		t.Errorf("purge: subjects %v records %v", f.purger.subjects, f.purger.purged)
	}
	if _, err := g.CreateTenant(ctx, tenant.Tenant{ID: mustID(t, "blue")}); err != nil {
		t.Fatalf("re-creating a deleted tenant: %v", err)
	}
	if code, _ := serve(blueKey, nil); code != http.StatusForbidden {
		t.Errorf("a deleted tenant's old key works for its namesake: %d", code)
	}
}

func TestGatewayRouteThrottleOfAPlan(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	g := f.g
	p := plan.Plan{Name: "p", RouteThrottles: map[string]plan.Throttle{"/t/{id}/GET": {RateLimit: 0.001, BurstLimit: 1}}}
	if err := g.PutPlan(ctx, p, true); err != nil {
		t.Fatal(err)
	}
	if _, err := g.CreateTenant(ctx, tenant.Tenant{ID: mustID(t, "blue"), Plan: "p"}); err != nil {
		t.Fatal(err)
	}
	_, key, err := g.CreateKey(ctx, catalog.APIKey{Tenant: mustID(t, "blue")}, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []catalog.Route{
		{Method: "GET", Path: "/t/{id}", Function: "orders", Payload: "2.0", Auth: catalog.AuthAPIKey},
		{Method: "GET", Path: "/u", Function: "orders", Payload: "2.0", Auth: catalog.AuthAPIKey},
	} {
		if _, err := g.CreateRoute(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	codes := func(path string, n int) []int {
		var out []int
		for range n {
			req := httptest.NewRequest("GET", path, nil)
			req.Header.Set("x-api-key", key)
			w := httptest.NewRecorder()
			g.ServeHTTP(w, req)
			out = append(out, w.Code)
		}
		return out
	}
	if got := codes("/t/1", 3); !slices.Equal(got, []int{200, 429, 429}) {
		t.Errorf("route with a throttle of burst 1: %v, want [200 429 429]", got)
	}
	if got := codes("/u", 3); !slices.Equal(got, []int{200, 200, 200}) {
		t.Errorf("a route the plan does not throttle: %v", got)
	}
}
