package server

import (
	"log/slog"
	"testing"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/iam"
	"github.com/bulkhead-dev/bulkhead/internal/sts"
	"github.com/bulkhead-dev/bulkhead/internal/tenant"
)

// TestEnvServicesServeOneTenant checks invariant 1 where credentials are
// concerned: an environment's services bind to the tenant of its first
// invocation and refuse any other (the zero tenant included) after, and a
// session of the environment is accepted only for that tenant and only
// while the environment lives.
func TestEnvServicesServeOneTenant(t *testing.T) {
	issuer, err := sts.NewIssuerFromKey(make([]byte, sts.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	d := &dataPlane{log: slog.New(slog.DiscardHandler), account: "123456789012", issuer: issuer, revoked: map[tenant.ID]time.Time{}}
	es := &envServices{id: "env-1-abc", function: "orders", role: iam.Role{Name: "orders", ID: "AROAEXAMPLEEXAMPLE123"}, token: "secret"}
	d.envs.Store(es.id, es)

	if err := d.bind(es, "blue"); err != nil {
		t.Fatalf("first bind: %v", err)
	}
	if err := d.bind(es, "blue"); err != nil {
		t.Errorf("the same tenant again: %v", err)
	}
	for _, other := range []string{"red", ""} {
		if err := d.bind(es, other); err == nil {
			t.Errorf("bind to %q after blue: accepted", other)
		}
	}
	blue, _ := tenant.Parse("blue")
	red, _ := tenant.Parse("red")
	session := func(t tenant.ID) *sts.Session { return &sts.Session{Environment: es.id, Tenant: t} }
	if err := d.check(session(red)); err == nil {
		t.Error("a session claiming red in blue's environment was accepted")
	}
	d.envs.Delete(es.id) // the environment ended
	if err := d.check(session(blue)); err == nil {
		t.Error("a session of an ended environment was accepted")
	}
}
