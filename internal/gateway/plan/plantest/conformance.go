// Package plantest holds what tests of plan.QuotaStore need: the conformance
// suite every implementation must pass (QuotaStoreConformance). The
// in-memory plan.MemoryQuotas passes it too, so that it cannot drift from the
// durable stores that tests of the Enforcer stand it in for.
//
// A backend proves itself by running the suite with a constructor of empty
// stores:
//
//	func TestQuotaStoreSQLiteConformance(t *testing.T) {
//		plantest.QuotaStoreConformance(t, func(t *testing.T) plan.QuotaStore {
//			return open(t, filepath.Join(t.TempDir(), "bulkhead.db")).Quotas()
//		})
//	}
package plantest

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/gateway/plan"
)

// QuotaStoreConformance checks that the stores open makes keep the contract
// of plan.QuotaStore. open is called once per subtest, possibly from several
// subtests at once; each call must return an empty store independent of the
// others, and release it through t.Cleanup.
//
// Beyond what quota.go states, the suite holds stores to these choices:
//   - Take and Used do not fail for contention: 50 goroutines taking at once
//     all get an answer, and Take is atomic, so counts are exact and never
//     pass the limit, and no two successful Takes see the same count.
//   - A refused Take returns the count as it stands, leaves it unchanged,
//     and is not an error; a lowered limit can leave a count above it.
//   - Keys are compared byte for byte: no case folding, no trimming, no
//     pattern characters ("%", "_", "*"), no length limit below 1,000 bytes.
//   - Windows are instants: a window start in another time.Location is the
//     same window; windows a day, a week or decades apart are all separate.
//   - A Take or Used with a done ctx returns an error wrapping
//     context.Canceled and counts nothing.
func QuotaStoreConformance(t *testing.T, open func(t *testing.T) plan.QuotaStore) {
	tests := []struct {
		name string
		test func(t *testing.T, s plan.QuotaStore)
	}{
		{"Counting", testCounting},
		{"LimitBoundary", testLimitBoundary},
		{"LoweredLimit", testLoweredLimit},
		{"InvalidArguments", testInvalidArguments},
		{"LargeCounts", testLargeCounts},
		{"SeparateWindows", testSeparateWindows},
		{"SeparateKeys", testSeparateKeys},
		{"ConcurrentAtLimit", testConcurrentAtLimit},
		{"ConcurrentCounting", testConcurrentCounting},
		{"ConcurrentMixedSizes", testConcurrentMixedSizes},
		{"ContextCancelled", testContextCancelled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.test(t, open(t))
		})
	}
}

// day is a window start; the suite uses only window starts, as the Enforcer
// does, so a store may keep windows to the second or as dates.
var day = time.Date(2026, time.March, 1, 0, 0, 0, 0, time.UTC)

// take calls s.Take and fails the test unless it answers (want, wantOK).
func take(t *testing.T, s plan.QuotaStore, key string, window time.Time, n, limit, want int64, wantOK bool) {
	t.Helper()
	used, ok, err := s.Take(t.Context(), key, window, n, limit)
	if err != nil {
		t.Fatalf("Take(%q, %s, n=%d, limit=%d): %v", key, window.Format(time.DateOnly), n, limit, err)
	}
	if used != want || ok != wantOK {
		t.Fatalf("Take(%q, %s, n=%d, limit=%d) = (%d, %t), want (%d, %t)", key, window.Format(time.DateOnly), n, limit, used, ok, want, wantOK)
	}
}

// used fails the test unless s.Used answers want.
func used(t *testing.T, s plan.QuotaStore, key string, window time.Time, want int64) {
	t.Helper()
	got, err := s.Used(t.Context(), key, window)
	if err != nil {
		t.Fatalf("Used(%q, %s): %v", key, window.Format(time.DateOnly), err)
	}
	if got != want {
		t.Fatalf("Used(%q, %s) = %d, want %d", key, window.Format(time.DateOnly), got, want)
	}
}

func testCounting(t *testing.T, s plan.QuotaStore) {
	used(t, s, "k", day, 0)
	take(t, s, "k", day, 1, 100, 1, true)
	take(t, s, "k", day, 3, 100, 4, true)
	take(t, s, "k", day, 1, 100, 5, true)
	used(t, s, "k", day, 5)
	used(t, s, "other", day, 0)
}

func testLimitBoundary(t *testing.T, s plan.QuotaStore) {
	t.Run("OneAtATime", func(t *testing.T) {
		for i := int64(1); i <= 5; i++ {
			take(t, s, "ones", day, 1, 5, i, true)
		}
		take(t, s, "ones", day, 1, 5, 5, false)
		take(t, s, "ones", day, 1, 5, 5, false)
		used(t, s, "ones", day, 5)
	})
	t.Run("Several", func(t *testing.T) {
		take(t, s, "several", day, 3, 5, 3, true)
		take(t, s, "several", day, 3, 5, 3, false) // 6 > 5: nothing taken
		used(t, s, "several", day, 3)
		take(t, s, "several", day, 2, 5, 5, true) // exactly the limit
		take(t, s, "several", day, 1, 5, 5, false)
	})
	t.Run("WholeLimitAtOnce", func(t *testing.T) {
		take(t, s, "whole", day, 7, 7, 7, true)
		take(t, s, "whole", day, 1, 7, 7, false)
	})
	t.Run("MoreThanLimit", func(t *testing.T) {
		take(t, s, "more", day, 8, 7, 0, false)
		used(t, s, "more", day, 0)
		take(t, s, "more", day, 7, 7, 7, true)
	})
	t.Run("ZeroLimit", func(t *testing.T) {
		take(t, s, "zero", day, 1, 0, 0, false)
		used(t, s, "zero", day, 0)
	})
}

func testLoweredLimit(t *testing.T, s plan.QuotaStore) {
	take(t, s, "k", day, 5, 10, 5, true)
	take(t, s, "k", day, 1, 3, 5, false)
	used(t, s, "k", day, 5)
	take(t, s, "k", day, 1, 5, 5, false)
	take(t, s, "k", day, 1, 6, 6, true) // raised again
}

func testInvalidArguments(t *testing.T, s plan.QuotaStore) {
	take(t, s, "k", day, 2, 10, 2, true)
	for _, tt := range []struct {
		name     string
		n, limit int64
	}{
		{"ZeroN", 0, 10},
		{"NegativeN", -1, 10},
		{"MinN", math.MinInt64, 10},
		{"NegativeLimit", 1, -1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, ok, err := s.Take(t.Context(), "k", day, tt.n, tt.limit)
			if !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Errorf("Take(n=%d, limit=%d) error = %v, want ErrInvalidArgument", tt.n, tt.limit, err)
			}
			if ok {
				t.Errorf("Take(n=%d, limit=%d) ok = true with an error", tt.n, tt.limit)
			}
			used(t, s, "k", day, 2)
		})
	}
}

func testLargeCounts(t *testing.T, s plan.QuotaStore) {
	const maxCount = math.MaxInt64
	take(t, s, "max", day, maxCount, maxCount, maxCount, true)
	take(t, s, "max", day, 1, maxCount, maxCount, false)
	take(t, s, "max", day, maxCount, maxCount, maxCount, false)
	used(t, s, "max", day, maxCount)

	take(t, s, "near", day, maxCount-1, maxCount, maxCount-1, true)
	take(t, s, "near", day, 2, maxCount, maxCount-1, false) // the sum would overflow
	take(t, s, "near", day, 1, maxCount, maxCount, true)

	take(t, s, "big-n", day, 10, 100, 10, true)
	take(t, s, "big-n", day, maxCount, 100, 10, false)
	used(t, s, "big-n", day, 10)
}

func testSeparateWindows(t *testing.T, s plan.QuotaStore) {
	windows := []time.Time{
		day,
		day.AddDate(0, 0, 1),
		day.AddDate(0, 0, -1),
		day.AddDate(0, 0, 7),
		day.AddDate(0, 1, 0),
		day.AddDate(1, 0, 0),
		time.Date(1970, time.January, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2100, time.February, 1, 0, 0, 0, 0, time.UTC),
	}
	for i, w := range windows {
		take(t, s, "k", w, int64(i+1), 100, int64(i+1), true)
	}
	for i, w := range windows {
		used(t, s, "k", w, int64(i+1))
	}

	t.Run("SameInstantOtherLocation", func(t *testing.T) {
		india := day.In(time.FixedZone("IST", 5*3600+1800))
		take(t, s, "k", india, 10, 100, 11, true)
		used(t, s, "k", day, 11)
		local := day.AddDate(0, 0, 1).In(time.FixedZone("PST", -8*3600))
		used(t, s, "k", local, 2)
	})
	t.Run("LimitPerWindow", func(t *testing.T) {
		take(t, s, "full", day, 3, 3, 3, true)
		take(t, s, "full", day, 1, 3, 3, false)
		take(t, s, "full", day.AddDate(0, 0, 1), 3, 3, 3, true)
	})
}

func testSeparateKeys(t *testing.T, s plan.QuotaStore) {
	keys := []string{
		"a", "A", "a ", " a", "aa", "a|b", "a/b", `"gold" "key-1" DAY`, `"gold" "key-1" WEEK`,
		"%", "_", "*", "a%", "a_", "ключ", "clé", "cle\u0301", strings.Repeat("k", 1000), strings.Repeat("k", 999),
	}
	for i, k := range keys {
		take(t, s, k, day, int64(i+1), 1000, int64(i+1), true)
	}
	for i, k := range keys {
		used(t, s, k, day, int64(i+1))
	}
}

// goroutines is how many goroutines the concurrent tests take with at once.
const goroutines = 50

// hammer runs goroutines copies of f at once and fails the test on the
// first error any of them returns.
func hammer(t *testing.T, f func(g int) error) {
	t.Helper()
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make(chan error, goroutines)
	)
	for g := range goroutines {
		wg.Go(func() {
			<-start
			if err := f(g); err != nil {
				errs <- err
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func testConcurrentAtLimit(t *testing.T, s plan.QuotaStore) {
	const limit, attempts = 300, 20 // 1,000 attempts for 300 requests
	var (
		mu     sync.Mutex
		counts []int64 // what each successful Take saw
		wrong  []int64 // what refused Takes saw, other than the limit
	)
	hammer(t, func(int) error {
		for range attempts {
			n, ok, err := s.Take(t.Context(), "k", day, 1, limit)
			if err != nil {
				return err
			}
			mu.Lock()
			switch {
			case ok:
				counts = append(counts, n)
			case n != limit:
				wrong = append(wrong, n)
			}
			mu.Unlock()
		}
		return nil
	})
	if len(counts) != limit {
		t.Errorf("%d Takes succeeded, want exactly %d", len(counts), limit)
	}
	slices.Sort(counts)
	for i, n := range counts {
		if n != int64(i+1) {
			t.Errorf("successful Takes saw counts %v, want each of 1..%d once", counts, limit)
			break
		}
	}
	if len(wrong) > 0 {
		t.Errorf("refused Takes saw counts %v, want %d (the count is at the limit once any is refused)", wrong, limit)
	}
	used(t, s, "k", day, limit)
}

func testConcurrentCounting(t *testing.T, s plan.QuotaStore) {
	const attempts = 20
	keys := []string{"k1", "k2", "k3"}
	windows := []time.Time{day, day.AddDate(0, 0, 1)}
	hammer(t, func(g int) error {
		for i := range attempts {
			k, w := keys[(g+i)%len(keys)], windows[i%len(windows)]
			if _, ok, err := s.Take(t.Context(), k, w, int64(1+g%2), math.MaxInt64); err != nil || !ok {
				return errors.Join(errors.New("a Take far below the limit was refused"), err)
			}
		}
		return nil
	})
	want := make(map[string]map[time.Time]int64)
	for g := range goroutines {
		for i := range attempts {
			k, w := keys[(g+i)%len(keys)], windows[i%len(windows)]
			if want[k] == nil {
				want[k] = make(map[time.Time]int64)
			}
			want[k][w] += int64(1 + g%2)
		}
	}
	for _, k := range keys {
		for _, w := range windows {
			used(t, s, k, w, want[k][w])
		}
	}
}

func testConcurrentMixedSizes(t *testing.T, s plan.QuotaStore) {
	const limit, attempts = 777, 30
	var (
		mu    sync.Mutex
		taken int64
	)
	hammer(t, func(g int) error {
		for i := range attempts {
			n := int64(1 + (g+i)%5)
			after, ok, err := s.Take(t.Context(), "k", day, n, limit)
			if err != nil {
				return err
			}
			if after > limit {
				return errors.New("a Take returned a count above the limit")
			}
			if ok {
				mu.Lock()
				taken += n
				mu.Unlock()
			}
		}
		return nil
	})
	if taken > limit {
		t.Errorf("successful Takes took %d, above the limit %d", taken, limit)
	}
	if limit-taken >= 5 {
		t.Errorf("successful Takes took %d of %d: a Take of at most 5 was refused with room left", taken, limit)
	}
	used(t, s, "k", day, taken)
}

func testContextCancelled(t *testing.T, s plan.QuotaStore) {
	take(t, s, "k", day, 2, 10, 2, true)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, ok, err := s.Take(ctx, "k", day, 1, 10); !errors.Is(err, context.Canceled) || ok {
		t.Errorf("Take with a cancelled context = (ok %t, %v), want an error wrapping context.Canceled", ok, err)
	}
	if _, ok, err := s.Take(ctx, "new", day, 1, 10); !errors.Is(err, context.Canceled) || ok {
		t.Errorf("Take of a new key with a cancelled context = (ok %t, %v), want an error wrapping context.Canceled", ok, err)
	}
	if _, err := s.Used(ctx, "k", day); !errors.Is(err, context.Canceled) {
		t.Errorf("Used with a cancelled context: %v, want an error wrapping context.Canceled", err)
	}
	used(t, s, "k", day, 2)
	used(t, s, "new", day, 0)
}
