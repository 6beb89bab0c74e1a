package postgres

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bulkhead-dev/bulkhead/internal/data/store"
)

// fixture opens a store whose table "t" holds a row of tenant-a (a/1) and
// one of tenant-b (b/1), written through the store.
func fixture(t *testing.T) (*Store, Config) {
	t.Helper()
	s, c := open(t)
	ctx := t.Context()
	if err := s.CreateTable(ctx, store.Table{Name: "t", Definition: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	for _, owner := range []string{"tenant-a", "tenant-b"} {
		it := store.Item{Key: store.Key{PK: []byte(owner[len(owner)-1:]), SK: []byte("1")}, Owner: owner, Data: []byte("secret of " + owner)}
		err := s.Write(ctx, store.Scope{Tenant: owner}, "t", []store.Change{{Kind: store.Put, Item: it}})
		if err != nil {
			t.Fatal(err)
		}
	}
	return s, config(c)
}

func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// owners returns the owners of the rows q finds, in order.
func owners(t *testing.T, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, where string) []string {
	t.Helper()
	rows, err := q.Query(t.Context(), `SELECT owner FROM `+schema+`.items `+where+` ORDER BY pk`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestPostgresRLSAlone drives the app role with SQL of its own that
// filters by nothing, as the store's statements do, and checks that
// PostgreSQL alone keeps the tenants apart: the wall does not depend on
// the store's Go code or on the front end.
func TestPostgresRLSAlone(t *testing.T) {
	_, cfg := fixture(t)
	ctx := t.Context()
	app := connect(t, cfg.AppDSN)

	t.Run("NoTenantSeesNothing", func(t *testing.T) {
		if got := owners(t, app, ""); len(got) != 0 {
			t.Errorf("without bulkhead.tenant the app role sees %q", got)
		}
		_, err := app.Exec(ctx, `INSERT INTO `+schema+`.items (table_id, pk, sk, owner, data) SELECT id, 'x', '', '', '' FROM `+schema+`.tables`)
		if sqlState(err) != "42501" {
			t.Errorf("insert of an unowned row without a tenant: %v, want a policy violation (42501)", err)
		}
	})

	t.Run("TenantSeesItsOwn", func(t *testing.T) {
		tx, err := app.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, setTenant, "tenant-a"); err != nil {
			t.Fatal(err)
		}
		if got := owners(t, tx, ""); len(got) != 1 || got[0] != "tenant-a" {
			t.Errorf("tenant-a sees %q, want [tenant-a]", got)
		}
		for _, stmt := range []string{
			`UPDATE ` + schema + `.items SET data = 'overwritten' WHERE pk = 'b'`,
			`DELETE FROM ` + schema + `.items WHERE pk = 'b'`,
		} {
			tag, err := tx.Exec(ctx, stmt)
			if err != nil || tag.RowsAffected() != 0 {
				t.Errorf("%s: %v rows, %v; want 0 rows", stmt, tag.RowsAffected(), err)
			}
		}
		_, err = tx.Exec(ctx, `UPDATE `+schema+`.items SET owner = 'tenant-b' WHERE pk = 'a'`)
		if sqlState(err) != "42501" {
			t.Errorf("tenant-a handing its row to tenant-b: %v, want 42501", err)
		}
	})

	t.Run("ForeignOwnerRefused", func(t *testing.T) {
		for _, stmt := range []string{
			`INSERT INTO ` + schema + `.items (table_id, pk, sk, owner, data) SELECT id, 'new', '', 'tenant-b', '' FROM ` + schema + `.tables`,
			`INSERT INTO ` + schema + `.items (table_id, pk, sk, owner, data) SELECT id, 'b', '1', 'tenant-a', '' FROM ` + schema + `.tables
				ON CONFLICT (table_id, pk, sk) DO UPDATE SET data = 'stolen'`,
		} {
			tx, err := app.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			tx.Exec(ctx, setTenant, "tenant-a")
			_, err = tx.Exec(ctx, stmt)
			tx.Rollback(ctx)
			if sqlState(err) != "42501" {
				t.Errorf("%s: %v, want 42501", stmt, err)
			}
		}
	})

	t.Run("SessionSettingDoesNotLeak", func(t *testing.T) {
		// Whatever a connection did before (here a session SET to
		// tenant-b), a transaction that sets tenant-a sees tenant-a.
		if _, err := app.Exec(ctx, `SET bulkhead.tenant = 'tenant-b'`); err != nil {
			t.Fatal(err)
		}
		defer app.Exec(ctx, `RESET bulkhead.tenant`)
		tx, err := app.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tx.Exec(ctx, setTenant, "tenant-a")
		got := owners(t, tx, "")
		tx.Rollback(ctx)
		if len(got) != 1 || got[0] != "tenant-a" {
			t.Errorf("after a session SET to tenant-b, tenant-a's transaction sees %q", got)
		}
	})

	t.Run("LocalSettingEndsWithTransaction", func(t *testing.T) {
		tx, err := app.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tx.Exec(ctx, setTenant, "tenant-a")
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		var setting *string
		if err := app.QueryRow(ctx, `SELECT current_setting('bulkhead.tenant', true)`).Scan(&setting); err != nil {
			t.Fatal(err)
		}
		if setting != nil && *setting != "" {
			t.Errorf("after the transaction bulkhead.tenant = %q", *setting)
		}
		if got := owners(t, app, ""); len(got) != 0 {
			t.Errorf("after a tenant transaction the connection sees %q", got)
		}
	})

	t.Run("NoWayAround", func(t *testing.T) {
		for _, stmt := range []string{
			`TRUNCATE ` + schema + `.items`,
			`ALTER TABLE ` + schema + `.items DISABLE ROW LEVEL SECURITY`,
			`ALTER TABLE ` + schema + `.items NO FORCE ROW LEVEL SECURITY`,
			`DROP POLICY tenant_rows ON ` + schema + `.items`,
			`SET ROLE postgres`,
			`SET ROLE ` + serviceRole,
			`SET session_authorization = 'postgres'`,
			`CREATE POLICY open ON ` + schema + `.items USING (true)`,
			`DELETE FROM ` + schema + `.tables`,
		} {
			if _, err := app.Exec(ctx, stmt); err == nil {
				t.Errorf("the app role ran %s", stmt)
			}
		}
	})
}

// TestPostgresBatchIsOneTransaction checks what the one-round-trip reads
// rest on: the statements of a batch run in one implicit transaction, so
// the set_config at its head covers the query at its tail, and nothing of
// it is left on the connection afterwards.
func TestPostgresBatchIsOneTransaction(t *testing.T) {
	_, cfg := fixture(t)
	ctx := t.Context()
	app := connect(t, cfg.AppDSN)
	b := &pgx.Batch{}
	b.Queue(setTenant, "tenant-b")
	b.Queue(`SELECT owner FROM ` + schema + `.items`)
	br := app.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		t.Fatal(err)
	}
	var got []string
	rows, err := br.Query()
	if err == nil {
		got, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := br.Close(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "tenant-b" {
		t.Errorf("in the batch tenant-b saw %q", got)
	}
	if after := owners(t, app, ""); len(after) != 0 {
		t.Errorf("after the batch the connection sees %q", after)
	}
}

// TestPostgresPooledConnectionsForget fills every pooled connection with a
// session setting naming tenant-b, then reads as tenant-a through the
// store: the pool's history must not matter.
func TestPostgresPooledConnectionsForget(t *testing.T) {
	s, _ := fixture(t)
	ctx := t.Context()
	var held []*pgx.Conn
	for range DefaultMaxConns {
		c, err := s.app.acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Exec(ctx, `SET bulkhead.tenant = 'tenant-b'`); err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	for _, c := range held {
		s.app.release(c)
	}
	a := store.Scope{Tenant: "tenant-a"}
	for range 2 * DefaultMaxConns {
		if _, ok, err := s.Get(ctx, a, "t", store.Key{PK: []byte("b"), SK: []byte("1")}); err != nil || ok {
			t.Fatalf("tenant-a's Get of tenant-b's row on a connection set to tenant-b: %v, %v", ok, err)
		}
		var n int
		err := s.Scan(ctx, a, "t", nil, 0, func(it store.Item) bool {
			if it.Owner != "tenant-a" {
				t.Errorf("tenant-a's Scan returned %+v", it)
			}
			n++
			return true
		})
		if err != nil || n != 1 {
			t.Fatalf("tenant-a's Scan: %d rows, %v", n, err)
		}
	}
}

// TestPostgresPoolDropsUncleanConnections checks that a connection left in
// a transaction is not reused.
func TestPostgresPoolDropsUncleanConnections(t *testing.T) {
	s, _ := fixture(t)
	ctx := t.Context()
	c, err := s.app.acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, `BEGIN`); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, setTenant, "tenant-b"); err != nil {
		t.Fatal(err)
	}
	s.app.release(c)
	if !c.IsClosed() {
		t.Error("a connection released inside a transaction was kept")
	}
	for _, idle := range s.app.idle {
		if idle == c {
			t.Error("the unclean connection is in the idle list")
		}
	}
}

// TestPostgresRefusalsAreForbidden checks the error mapping: a tenant's
// write that the policy or the primary key refused is ErrOutOfScope, not
// an internal error, and carries nothing of PostgreSQL's message.
func TestPostgresRefusalsAreForbidden(t *testing.T) {
	s, _ := fixture(t)
	ctx := t.Context()
	a := store.Scope{Tenant: "tenant-a"}
	bKey := store.Key{PK: []byte("b"), SK: []byte("1")}
	errs := map[string]error{
		"MutatePut": s.Mutate(ctx, a, "t", bKey, func(*store.Item) (store.Change, error) {
			return store.Change{Kind: store.Put, Item: store.Item{Owner: "tenant-a"}}, nil
		}),
		"WriteUpsert": s.Write(ctx, a, "t", []store.Change{{Kind: store.Put, Item: store.Item{Key: bKey, Owner: "tenant-a"}}}),
		"WriteDelete": s.Write(ctx, a, "t", []store.Change{{Kind: store.Delete, Item: store.Item{Key: bKey}}}),
	}
	for name, err := range errs {
		if !errors.Is(err, store.ErrOutOfScope) || sqlState(err) != "" {
			t.Errorf("%s: %v, want ErrOutOfScope without a PgError", name, err)
		}
		if strings.Contains(err.Error(), "policy") || strings.Contains(err.Error(), "Key (") {
			t.Errorf("%s: %q carries PostgreSQL's message", name, err)
		}
	}
}
