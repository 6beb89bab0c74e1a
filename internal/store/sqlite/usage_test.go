package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/usage"
)

// TestStoreSQLiteUsage records usage concurrently through a Recorder, from
// many tenants, and checks the totals per tenant and hour are exact, and
// still are after the database is reopened.
func TestStoreSQLiteUsage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	s := open(t, path)
	rec := usage.NewRecorder(s.Usage(), true, nil)
	hour := time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC)
	const tenants, each = 20, 25
	var wg sync.WaitGroup
	for i := range tenants {
		for n := range each {
			wg.Add(1)
			go func() {
				defer wg.Done()
				k := usage.Key{Tenant: fmt.Sprintf("t%d", i), Function: "f", Hour: hour.Add(time.Duration(n%2) * time.Hour).Add(17 * time.Minute)}
				if err := rec.Record(context.Background(), k, usage.Counts{Invocations: 1, MBMillis: 128 * 3, BytesIn: 2, BytesOut: 5, Errors: int64(n % 5 / 4)}); err != nil {
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	check := func(s *Store) {
		t.Helper()
		for i := range tenants {
			rows, err := s.Usage().Query(t.Context(), usage.Filter{Tenant: fmt.Sprintf("t%d", i), Function: "f"})
			if err != nil {
				t.Fatal(err)
			}
			var total usage.Counts
			for _, r := range rows {
				if r.Tenant != fmt.Sprintf("t%d", i) || !r.Hour.Equal(usage.Hour(r.Hour)) {
					t.Errorf("row %+v", r)
				}
				total.Add(r.Counts)
			}
			want := usage.Counts{Invocations: each, MBMillis: each * 128 * 3, BytesIn: 2 * each, BytesOut: 5 * each, Errors: each / 5}
			if len(rows) != 2 || total != want {
				t.Errorf("t%d: %d rows, total %+v, want 2 rows, %+v", i, len(rows), total, want)
			}
		}
		rows, err := s.Usage().Query(t.Context(), usage.Filter{From: hour.Add(time.Hour), To: hour.Add(2 * time.Hour)})
		if err != nil || len(rows) != tenants {
			t.Errorf("the second hour: %d rows, %v; want %d", len(rows), err, tenants)
		}
	}
	check(s)
	s.Close()
	check(open(t, path))
}
