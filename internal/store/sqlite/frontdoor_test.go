package sqlite

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/gateway/catalog"
	"github.com/bulkhead-dev/bulkhead/internal/gateway/plan"
	"github.com/bulkhead-dev/bulkhead/internal/gateway/plan/plantest"
	"github.com/bulkhead-dev/bulkhead/internal/tenant"
)

func TestQuotaStoreConformance(t *testing.T) {
	plantest.QuotaStoreConformance(t, func(t *testing.T) plan.QuotaStore {
		return open(t, filepath.Join(t.TempDir(), "bulkhead.db")).Quotas()
	})
}

func TestTenantsRoundTripAndSurviveReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bulkhead.db")
	s := open(t, path)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Millisecond)
	blue, _ := tenant.Parse("blue")
	want := tenant.Tenant{ID: blue, DisplayName: "Blue Inc.", Status: tenant.Active, Plan: "gold", Concurrency: 3,
		Metadata: map[string]string{"tier": "gold"}, Created: now, Updated: now}
	if err := s.CreateTenant(ctx, want); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateTenant(ctx, want); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Errorf("second create: %v, want ErrAlreadyExists", err)
	}
	want.Status = tenant.Suspended
	if err := s.UpdateTenant(ctx, want); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, path)
	got, err := s.ListTenants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]tenant.Tenant{want}, got, cmp.AllowUnexported(tenant.ID{})); diff != "" {
		t.Errorf("tenants after reopen (-want +got):\n%s", diff)
	}
	if err := s.DeleteTenant(ctx, blue); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteTenant(ctx, blue); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
	if err := s.UpdateTenant(ctx, want); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("update of a deleted tenant: %v, want ErrNotFound", err)
	}
}

func TestCatalogRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bulkhead.db")
	s := open(t, path)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Millisecond)
	blue, _ := tenant.Parse("blue")
	p := plan.Plan{Name: "gold", Throttle: &plan.Throttle{RateLimit: 10, BurstLimit: 20}, Quota: &plan.Quota{Limit: 1000, Period: "DAY"}}
	k := catalog.APIKey{ID: "key-1", Name: "ci", Tenant: blue, Plan: "gold", Hash: catalog.HashKey("v"), Prefix: "bh_abc", Created: now}
	a := catalog.Authorizer{Name: "auth0", Type: catalog.AuthorizerJWT, JWT: &catalog.JWTConfig{Issuer: "https://i", Audiences: []string{"a"}, Algorithms: []string{"RS256"}, JWKSURL: "https://i/jwks", TenantClaim: "tenant"}}
	r := catalog.Route{ID: "r-1", Method: "GET", Path: "/pets/{id}", Function: "pets", Payload: "2.0", Auth: catalog.AuthAPIKey, Created: now}
	for _, err := range []error{s.PutPlan(ctx, p, true), s.CreateKey(ctx, k), s.PutAuthorizer(ctx, a, true), s.CreateRoute(ctx, r)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	for name, err := range map[string]error{
		"plan":       s.PutPlan(ctx, p, true),
		"key":        s.CreateKey(ctx, catalog.APIKey{ID: "key-2", Hash: k.Hash, Tenant: blue, Created: now}),
		"authorizer": s.PutAuthorizer(ctx, a, true),
		"route":      s.CreateRoute(ctx, catalog.Route{ID: "r-2", Method: "GET", Path: "/pets/{id}"}),
	} {
		if !errors.Is(err, errdefs.ErrAlreadyExists) {
			t.Errorf("duplicate %s: %v, want ErrAlreadyExists", name, err)
		}
	}
	if err := s.PutPlan(ctx, plan.Plan{Name: "none"}, false); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("replacing a missing plan: %v", err)
	}
	if err := s.RevokeKey(ctx, "key-1", now); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeKey(ctx, "key-1", now.Add(time.Hour)); err != nil { // the first revocation time stays
		t.Fatal(err)
	}
	s.Close()
	s = open(t, path)
	snap, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	k.Revoked = &now
	want := catalog.Snapshot{Plans: []plan.Plan{p}, Keys: []catalog.APIKey{k}, Authorizers: []catalog.Authorizer{a}, Routes: []catalog.Route{r}}
	if diff := cmp.Diff(want, snap, cmp.AllowUnexported(tenant.ID{})); diff != "" {
		t.Errorf("catalog after reopen (-want +got):\n%s", diff)
	}
	if err := s.DeleteKeysOf(ctx, blue); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{"plan": s.DeletePlan(ctx, "gold"), "authorizer": s.DeleteAuthorizer(ctx, "auth0"), "route": s.DeleteRoute(ctx, "r-1")} {
		if err != nil {
			t.Errorf("delete %s: %v", name, err)
		}
	}
	if snap, _ := s.Load(ctx); len(snap.Plans)+len(snap.Keys)+len(snap.Authorizers)+len(snap.Routes) != 0 {
		t.Errorf("catalog not empty after deletes: %+v", snap)
	}
}
