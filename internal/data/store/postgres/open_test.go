package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/bulkhead-dev/bulkhead/internal/data/store"
	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/pgtest"
)

var roleNumbers atomic.Int64

// freshRoles returns role names no other test uses, dropped when t ends
// (after its database, whose grants would otherwise hold them).
func freshRoles(t *testing.T, c *pgtest.Cluster) (app, service string) {
	n := roleNumbers.Add(1)
	app, service = fmt.Sprintf("app_%d", n), fmt.Sprintf("service_%d", n)
	// Cleanups run last registered first: this one before Start's drops
	// the database, so the grants in it are dropped here, then the roles.
	t.Cleanup(func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, c.DSN())
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(ctx)
		for _, r := range []string{app, service} {
			if _, err := conn.Exec(ctx, `DROP OWNED BY `+r); err != nil {
				t.Error(err)
			}
			if _, err := conn.Exec(ctx, `DROP ROLE `+r); err != nil {
				t.Error(err)
			}
		}
	})
	return app, service
}

// TestPostgresOpenCreatesRoles opens with role names that do not exist yet:
// Open creates them with the attributes the wall needs.
func TestPostgresOpenCreatesRoles(t *testing.T) {
	c := pgtest.Start(t)
	app, service := freshRoles(t, c)
	s, err := Open(t.Context(), Config{OwnerDSN: c.DSN(), AppDSN: c.DSNAs(app), ServiceDSN: c.DSNAs(service)})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	owner := connect(t, c.DSN())
	for _, r := range []struct {
		name   string
		bypass bool
	}{{app, false}, {service, true}} {
		var super, bypass, login, createRole bool
		err := owner.QueryRow(t.Context(), `SELECT rolsuper, rolbypassrls, rolcanlogin, rolcreaterole FROM pg_roles WHERE rolname = $1`, r.name).
			Scan(&super, &bypass, &login, &createRole)
		if err != nil {
			t.Fatal(err)
		}
		if super || bypass != r.bypass || !login || createRole {
			t.Errorf("role %s: superuser %v, bypassrls %v, login %v, createrole %v", r.name, super, bypass, login, createRole)
		}
	}
}

// TestPostgresOpenRefusesUnsafeRoles gives the app or service role an
// attribute that would let it past (or keep it from) the wall: Open must
// refuse to serve.
func TestPostgresOpenRefusesUnsafeRoles(t *testing.T) {
	tests := []struct {
		name string
		// sql breaks the setup; {app} stands for the app role,
		// {service} for the service role.
		sql  string
		want string
	}{
		{"AppBypassesRLS", `ALTER ROLE {app} BYPASSRLS`, "BYPASSRLS"},
		{"AppSuperuser", `ALTER ROLE {app} SUPERUSER`, "superuser"},
		{"AppOwnsItems", `ALTER TABLE ` + schema + `.items OWNER TO {app}`, "owns"},
		{"AppMemberOfOwner", `GRANT postgres TO {app}`, "owns"},
		{"AppMayTruncate", `GRANT TRUNCATE ON ` + schema + `.items TO {app}`, "TRUNCATE"},
		{"ServiceWithoutBypass", `ALTER ROLE {service} NOBYPASSRLS`, "BYPASSRLS"},
		{"ServiceSuperuser", `ALTER ROLE {service} SUPERUSER`, "superuser"},
		{"RLSNotForced", `ALTER TABLE ` + schema + `.items NO FORCE ROW LEVEL SECURITY`, "forced false"},
		{"RLSDisabled", `ALTER TABLE ` + schema + `.items DISABLE ROW LEVEL SECURITY`, "enabled false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := pgtest.Start(t)
			app, service := freshRoles(t, c)
			cfg := Config{OwnerDSN: c.DSN(), AppDSN: c.DSNAs(app), ServiceDSN: c.DSNAs(service)}
			s, err := Open(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			owner := connect(t, c.DSN())
			sql := strings.NewReplacer("{app}", app, "{service}", service).Replace(tt.sql)
			if _, err := owner.Exec(t.Context(), sql); err != nil {
				t.Fatal(err)
			}
			cfg.OwnerDSN = "" // provisioning would not repair it either; check as an operator's setup
			s, err = Open(t.Context(), cfg)
			if err == nil {
				s.Close()
				t.Fatal("Open served through an unsafe role")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open: %v, want it to say %q", err, tt.want)
			}
		})
	}
}

func TestPostgresConfigValidate(t *testing.T) {
	c := "host=/tmp port=5432 dbname=x user="
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"Full", Config{OwnerDSN: c + "o", AppDSN: c + "a", ServiceDSN: c + "s"}, true},
		{"NoOwner", Config{AppDSN: c + "a", ServiceDSN: c + "s"}, true},
		{"NoApp", Config{ServiceDSN: c + "s"}, false},
		{"NoService", Config{AppDSN: c + "a"}, false},
		{"AppIsOwner", Config{OwnerDSN: c + "o", AppDSN: c + "o", ServiceDSN: c + "s"}, false},
		{"AppIsService", Config{AppDSN: c + "a", ServiceDSN: c + "a"}, false},
		{"ServiceIsOwner", Config{OwnerDSN: c + "o", AppDSN: c + "a", ServiceDSN: c + "o"}, false},
		{"BadDSN", Config{AppDSN: "host=/tmp port=notaport", ServiceDSN: c + "s"}, false},
		{"NegativeConns", Config{AppDSN: c + "a", ServiceDSN: c + "s", MaxConns: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.ok != (err == nil) || err != nil && !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Errorf("Validate() = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

// TestPostgresOpenConcurrently starts four stores on one new database at
// once, as servers starting together would: the advisory lock serializes
// provisioning, and the migrations apply once.
func TestPostgresOpenConcurrently(t *testing.T) {
	c := pgtest.Start(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			s, err := Open(context.Background(), config(c))
			if err == nil {
				s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
		}
	}
	var n int
	if err := connect(t, c.DSN()).QueryRow(t.Context(), `SELECT count(*) FROM `+schema+`.schema_migrations`).Scan(&n); err != nil || n != 1 {
		t.Errorf("schema_migrations has %d rows (%v), want 1", n, err)
	}
}

// TestPostgresOpenWithoutOwner opens as an operator's deployment would,
// without the owner's DSN: on a provisioned database it serves; on one
// that is not, it says what is missing.
func TestPostgresOpenWithoutOwner(t *testing.T) {
	c := pgtest.Start(t)
	cfg := config(c)
	cfg.OwnerDSN = ""
	if s, err := Open(t.Context(), cfg); err == nil {
		s.Close()
		t.Fatal("Open of an unprovisioned database succeeded")
	} else if !strings.Contains(err.Error(), "OwnerDSN") {
		t.Errorf("Open of an unprovisioned database: %v, want it to point at OwnerDSN", err)
	}
	s, err := Open(t.Context(), config(c))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Open of a provisioned database without the owner: %v", err)
	}
	defer s.Close()
	if err := s.CreateTable(t.Context(), store.Table{Name: "t"}); err != nil {
		t.Error(err)
	}
}

// TestPostgresRefusesNewerSchema opens a database a newer binary migrated.
func TestPostgresRefusesNewerSchema(t *testing.T) {
	c := pgtest.Start(t)
	s, err := Open(t.Context(), config(c))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := connect(t, c.DSN()).Exec(t.Context(), `INSERT INTO `+schema+`.schema_migrations VALUES (99, now())`); err != nil {
		t.Fatal(err)
	}
	for _, owner := range []bool{true, false} {
		cfg := config(c)
		if !owner {
			cfg.OwnerDSN = ""
		}
		if s, err := Open(t.Context(), cfg); !errors.Is(err, errNewerSchema) {
			if s != nil {
				s.Close()
			}
			t.Errorf("Open (owner DSN %v) of a newer schema: %v, want errNewerSchema", owner, err)
		}
	}
}

// TestPostgresDocGrants keeps the package documentation's GRANT lines, an
// operator's script, equal to what Open grants.
func TestPostgresDocGrants(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range grants("bulkhead_app", "bulkhead_service") {
		if !strings.Contains(string(doc), "//\t"+stmt+"\n") {
			t.Errorf("doc.go lacks the line %q", stmt)
		}
	}
}
