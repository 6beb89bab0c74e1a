package sqlite

import (
	"fmt"
	"math"
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

// BenchmarkQuotaTake measures durable quota counts as takes per second,
// from parallelism × GOMAXPROCS goroutines: few (a commit each, nearly) and
// many at once (group commits).
func BenchmarkQuotaTake(b *testing.B) {
	for _, conc := range []int{1, 64} {
		b.Run(fmt.Sprintf("parallelism=%d", conc), func(b *testing.B) {
			s, err := Open(filepath.Join(b.TempDir(), "db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			q := s.Quotas()
			window := time.Now().Truncate(time.Hour)
			b.SetParallelism(conc)
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, ok, err := q.Take(b.Context(), "k", window, 1, math.MaxInt64); err != nil || !ok {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "takes/s")
		})
	}
}
