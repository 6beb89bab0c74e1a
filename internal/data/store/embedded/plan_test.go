package embedded

import (
	"strings"
	"testing"

	"github.com/bulkhead-dev/bulkhead/internal/data/store"
)

// TestEmbeddedQueryPlans checks that the statements of the hot paths, as
// the store builds them, search data_items_by_key and never sort: a Query
// is a range scan of the index however large the table.
func TestEmbeddedQueryPlans(t *testing.T) {
	s := open(t)
	k := store.Key{PK: []byte("p"), SK: []byte("s")}
	tenant := store.Scope{Tenant: "t1"}
	rng := func(c store.SKCond, backward bool, after []byte) (store.Query, store.Range) {
		q := store.Query{Table: "t", PK: []byte("p"), SK: c, Backward: backward, After: after, Limit: 20}
		r, err := q.Range()
		if err != nil {
			t.Fatal(err)
		}
		return q, r
	}
	type stmt struct {
		sql  string
		args []any
	}
	statements := map[string]stmt{}
	add := func(name string) func(string, []any) {
		return func(sql string, args []any) { statements[name] = stmt{sql, args} }
	}
	for _, sc := range []store.Scope{tenant, {Service: true}} {
		name := "Tenant"
		if sc.Service {
			name = "Service"
		}
		add("Get" + name)(getStatement(sc, "t", k))
		q, r := rng(store.SKCond{Op: store.SKBeginsWith, A: []byte("a")}, false, []byte("a1"))
		add("QueryBeginsWith" + name)(queryStatement(sc, q, r))
		q, r = rng(store.SKCond{Op: store.SKBetween, A: []byte("a"), B: []byte("c")}, true, nil)
		add("QueryBetweenBackward" + name)(queryStatement(sc, q, r))
		q, r = rng(store.SKCond{}, true, nil)
		add("QueryAll" + name)(queryStatement(sc, q, r))
		add("Scan" + name)(scanStatement(sc, "t", &k, 100))
		add("ScanFromStart" + name)(scanStatement(sc, "t", nil, 0))
	}
	for name, st := range statements {
		t.Run(name, func(t *testing.T) {
			rows, err := s.read.QueryContext(t.Context(), `EXPLAIN QUERY PLAN `+st.sql, st.args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, notUsed int
				var detail string
				if err := rows.Scan(&id, &parent, &notUsed, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			text := strings.Join(plan, "\n")
			if !strings.Contains(text, "USING INDEX data_items_by_key") {
				t.Errorf("plan does not search data_items_by_key:\n%s", text)
			}
			if strings.Contains(text, "TEMP B-TREE") || strings.Contains(text, "SCAN data_items") || strings.Contains(text, "SCAN i") {
				t.Errorf("plan scans or sorts:\n%s", text)
			}
			t.Logf("\n%s", text)
		})
	}
}
