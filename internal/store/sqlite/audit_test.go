package sqlite

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/audit"
)

// TestStoreSQLiteAuditAppendOnly appends entries, reads them back in order
// and by operation, and checks that the database itself refuses to change
// or delete one.
func TestStoreSQLiteAuditAppendOnly(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "db"))
	start := time.Now()
	for i, op := range []string{"CreateFunction", "UpdateFunctionCode", "CreateFunction"} {
		e := audit.Entry{Time: start.Add(time.Duration(i) * time.Millisecond), RequestID: "r", Principal: "AKID", Source: "127.0.0.1:1", Operation: op, Resource: "/f", Outcome: "ok"}
		if err := s.Audit().Append(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.Audit().Entries(t.Context(), start, "", 0, 100)
	if err != nil || len(all) != 3 || all[1].Operation != "UpdateFunctionCode" || all[0].ID >= all[1].ID || all[0].Principal != "AKID" {
		t.Fatalf("Audit = %+v, %v", all, err)
	}
	creates, err := s.Audit().Entries(t.Context(), time.Time{}, "CreateFunction", all[0].ID, 100)
	if err != nil || len(creates) != 1 || creates[0].ID != all[2].ID {
		t.Errorf("creates after the first = %+v, %v", creates, err)
	}
	for _, stmt := range []string{`UPDATE audit SET principal = 'someone else'`, `DELETE FROM audit`} {
		if _, err := s.db.ExecContext(t.Context(), stmt); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want refused as append-only", stmt, err)
		}
	}
}
