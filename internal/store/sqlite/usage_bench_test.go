package sqlite

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/usage"
)

// BenchmarkUsageRecord measures what metering adds to an invocation at
// concurrency 1: one durable commit of one row.
func BenchmarkUsageRecord(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	rec := usage.NewRecorder(s.Usage(), true, nil)
	var d []time.Duration
	for b.Loop() {
		t0 := time.Now()
		if err := rec.Record(b.Context(), usage.Key{Tenant: "t", Function: "f", Hour: time.Now()}, usage.Counts{Invocations: 1}); err != nil {
			b.Fatal(err)
		}
		d = append(d, time.Since(t0))
	}
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Microseconds()), "µs-p50")
	b.ReportMetric(float64(d[len(d)*99/100].Microseconds()), "µs-p99")
}
