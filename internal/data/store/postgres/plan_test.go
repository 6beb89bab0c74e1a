package postgres

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/bulkhead-dev/bulkhead/internal/data/store"
)

// TestPostgresQueryPlans checks, on a table of 40,000 rows of 20 tenants
// and as the app role with a tenant set, that the store's statements are
// range scans of the primary key's index with no sort: row-level security
// (its policy and the bytea comparisons, which are leakproof) does not
// cost the index.
func TestPostgresQueryPlans(t *testing.T) {
	s, c := open(t)
	ctx := t.Context()
	if err := s.CreateTable(ctx, store.Table{Name: "t"}); err != nil {
		t.Fatal(err)
	}
	owner := connect(t, c.DSN())
	if _, err := owner.Exec(ctx, `INSERT INTO `+schema+`.items (table_id, pk, sk, owner, data)
		SELECT (SELECT id FROM `+schema+`.tables WHERE name = 't'),
			convert_to('tenant-' || (p % 20) || '#' || p, 'UTF8'), convert_to('sk#' || lpad(r::text, 4, '0'), 'UTF8'),
			'tenant-' || (p % 20), '\x00'
		FROM generate_series(1, 2000) p, generate_series(1, 20) r`); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Exec(ctx, `ANALYZE `+schema+`.items`); err != nil {
		t.Fatal(err)
	}

	q := func(c store.SKCond, backward bool, after []byte) (string, []any) {
		q := store.Query{Table: "t", PK: []byte("tenant-7#7"), SK: c, Backward: backward, After: after, Limit: 20}
		r, err := q.Range()
		if err != nil {
			t.Fatal(err)
		}
		return queryStatement(q, r)
	}
	type stmt struct {
		sql  string
		args []any
	}
	statements := map[string]stmt{
		"Get":  {getSQL, []any{"t", []byte("tenant-7#7"), []byte("sk#0003")}},
		"Lock": {lockSQL, []any{"t", []byte("tenant-7#7"), []byte("sk#0003")}},
	}
	add := func(name string) func(string, []any) {
		return func(sql string, args []any) { statements[name] = stmt{sql, args} }
	}
	add("QueryAll")(q(store.SKCond{}, false, nil))
	add("QueryBeginsWithAfter")(q(store.SKCond{Op: store.SKBeginsWith, A: []byte("sk#00")}, false, []byte("sk#0005")))
	add("QueryBetweenBackward")(q(store.SKCond{Op: store.SKBetween, A: []byte("sk#0002"), B: []byte("sk#0009")}, true, nil))
	add("ScanAfter")(scanStatement("t", &store.Key{PK: []byte("tenant-7#7"), SK: []byte("sk#0003")}, 100))

	app := connect(t, c.DSNAs(appRole))
	for name, st := range statements {
		t.Run(name, func(t *testing.T) {
			tx, err := app.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx)
			if _, err := tx.Exec(ctx, setTenant, "tenant-7"); err != nil {
				t.Fatal(err)
			}
			rows, err := tx.Query(ctx, `EXPLAIN `+st.sql, st.args...)
			if err != nil {
				t.Fatal(err)
			}
			lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatal(err)
			}
			plan := strings.Join(lines, "\n")
			if !strings.Contains(plan, "Index Scan") && !strings.Contains(plan, "Index Only Scan") || !strings.Contains(plan, "items_pkey") {
				t.Errorf("plan does not scan items_pkey:\n%s", plan)
			}
			if strings.Contains(plan, "Seq Scan on items") || strings.Contains(plan, "Sort") {
				t.Errorf("plan scans the table or sorts:\n%s", plan)
			}
			t.Logf("\n%s", plan)
		})
	}
}
