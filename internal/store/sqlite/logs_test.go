package sqlite

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/logs"
	"github.com/bulkhead-dev/bulkhead/internal/logs/logstest"
)

func TestLogStoreSQLiteConformance(t *testing.T) {
	logstest.StoreConformance(t, func(t *testing.T) logs.Store {
		return open(t, filepath.Join(t.TempDir(), "bulkhead.db")).Logs()
	})
}

// TestLogStoreSQLiteReopen checks that appended records survive closing and
// reopening the database, and that IDs go on from where they were.
func TestLogStoreSQLiteReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bulkhead.db")
	ctx := t.Context()
	want := []logs.Record{
		{Time: time.Unix(1, 2).UTC(), Tenant: "t", Function: "f", Version: "1", RequestID: "r", EnvID: "e",
			Type: logs.TypeFunction, Stream: "stdout", Message: "first"},
		{Time: time.Unix(3, 4).UTC(), Tenant: "t", Function: "f", Version: "1", RequestID: "r", EnvID: "e",
			Type: logs.TypeReport, Message: `{"durationMs":1}`},
	}
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Logs().Append(ctx, want); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, path)
	got, err := s.Logs().Query(ctx, logs.Query{Function: "f"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("after reopening: %d records, want %d", len(got), len(want))
	}
	for i, r := range got {
		if r.Record != want[i] {
			t.Errorf("after reopening: record %d = %+v, want %+v", i, r.Record, want[i])
		}
	}
	if err := s.Logs().Append(ctx, want[:1]); err != nil {
		t.Fatal(err)
	}
	more, err := s.Logs().Query(ctx, logs.Query{Function: "f", AfterID: got[1].ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(more) != 1 || more[0].ID <= got[1].ID {
		t.Errorf("appended after reopening: %+v, want one record after ID %d", more, got[1].ID)
	}
}

// TestLogStoreSQLiteQueryPlans pins the index each kind of query uses, so
// that each index the schema keeps is one a query needs, and a page of one
// tenant's records or one request's comes from an index range already in ID
// order, without a scan or a sort of the table.
func TestLogStoreSQLiteQueryPlans(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "bulkhead.db"))
	since := time.Unix(1e9, 0)
	for _, c := range []struct {
		name string
		q    logs.Query
		want string // the plan
	}{
		{"a tenant", logs.Query{Function: "f", Tenant: "t", TenantSet: true},
			"SEARCH logs USING INDEX logs_by_tenant (function_name=? AND tenant=?)"},
		{"a tenant, following", logs.Query{Function: "f", Tenant: "t", TenantSet: true, AfterID: 7},
			"SEARCH logs USING INDEX logs_by_tenant (function_name=? AND tenant=? AND id>?)"},
		{"a tenant, text and times", logs.Query{Function: "f", Tenant: "t", TenantSet: true, Text: "x", Since: since, Until: since.Add(time.Hour)},
			"SEARCH logs USING INDEX logs_by_tenant (function_name=? AND tenant=?)"},
		{"a request", logs.Query{Function: "f", RequestID: "r"},
			"SEARCH logs USING INDEX logs_by_request (function_name=? AND request_id=?)"},
		{"a tenant's request", logs.Query{Function: "f", Tenant: "t", TenantSet: true, RequestID: "r"},
			"SEARCH logs USING INDEX logs_by_request (function_name=? AND request_id=?)"},
		{"every tenant", logs.Query{Function: "f"},
			"SEARCH logs USING INDEX logs_by_function (function_name=?)"},
		{"every tenant, following", logs.Query{Function: "f", AfterID: 7},
			"SEARCH logs USING INDEX logs_by_function (function_name=? AND id>?)"},
		{"every tenant, text and times", logs.Query{Function: "f", Text: "x", Since: since, Until: since.Add(time.Hour)},
			"SEARCH logs USING INDEX logs_by_function (function_name=?)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			query, args, err := logQuery(c.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := queryPlan(t, s, query, args...); got != c.want {
				t.Errorf("plan %q, want %q", got, c.want)
			}
		})
	}
	if got, want := queryPlan(t, s, `SELECT id FROM logs WHERE time < $1 LIMIT $2`, 0, 1), "SEARCH logs USING COVERING INDEX logs_by_time (time<?)"; got != want {
		t.Errorf("prune by age: plan %q, want %q", got, want)
	}
}

// queryPlan returns the query plan of query, its steps joined by "; ".
func queryPlan(t *testing.T, s *Store, query string, args ...any) string {
	t.Helper()
	rows, err := s.db.QueryContext(t.Context(), `EXPLAIN QUERY PLAN `+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var steps []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		steps = append(steps, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(steps, "; ")
}
