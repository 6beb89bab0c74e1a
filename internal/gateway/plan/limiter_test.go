package plan_test

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/bulkhead-dev/bulkhead/internal/gateway/plan"
)

// t0 is the fake clock's start; tests pass times explicitly.
var t0 = time.Date(2026, time.March, 16, 9, 30, 0, 0, time.UTC)

// allowed returns how many of n requests at now l allows.
func allowed(l *plan.Limiter, key string, th plan.Throttle, now time.Time, n int) int {
	count := 0
	for range n {
		if l.Allow(key, th, now) {
			count++
		}
	}
	return count
}

// step is one call of a scripted test: n requests at t0+at, of which want
// are allowed.
type step struct {
	at      time.Duration
	n, want int
}

func runSteps(t *testing.T, l *plan.Limiter, key string, th plan.Throttle, steps []step) {
	t.Helper()
	for _, s := range steps {
		if got := allowed(l, key, th, t0.Add(s.at), s.n); got != s.want {
			t.Fatalf("at +%v, %d requests under %+v: %d allowed, want %d", s.at, s.n, th, got, s.want)
		}
	}
}

func TestLimiterBurstThenRefill(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		throttle plan.Throttle
		steps    []step
	}{
		{"BurstThenRate", plan.Throttle{RateLimit: 10, BurstLimit: 5}, []step{
			{0, 8, 5}, // the burst, then nothing
			{99 * time.Millisecond, 1, 0},
			{100 * time.Millisecond, 2, 1}, // one token in 1/10 s
			{350 * time.Millisecond, 5, 2}, // 2.5 tokens: 2 whole, .5 left
			{400 * time.Millisecond, 1, 1}, // .5 + .5
			{10 * time.Second, 10, 5},      // refilled, capped at the burst
		}},
		{"HalfPerSecond", plan.Throttle{RateLimit: 0.5, BurstLimit: 1}, []step{
			{0, 3, 1},
			{time.Second, 1, 0},
			{2*time.Second - time.Nanosecond, 1, 0},
			{2 * time.Second, 1, 1},
			{3 * time.Second, 1, 0},
			{4 * time.Second, 1, 1},
			{100 * time.Second, 5, 1},
		}},
		{"HalfPerSecondBurst3", plan.Throttle{RateLimit: 0.5, BurstLimit: 3}, []step{
			{0, 5, 3},
			{2 * time.Second, 2, 1},
			{6 * time.Second, 5, 2},
		}},
		{"ThirdPerSecondPrecision", plan.Throttle{RateLimit: 3, BurstLimit: 1}, []step{
			{0, 1, 1},
			{333333333 * time.Nanosecond, 1, 0}, // 0.999999999 tokens
			{333333334 * time.Nanosecond, 1, 1},
		}},
		{"OneToken", plan.Throttle{RateLimit: 1000, BurstLimit: 1}, []step{
			{0, 2, 1},
			{time.Millisecond, 2, 1},
			{time.Hour, 3, 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			runSteps(t, plan.NewLimiter(), "k", tt.throttle, tt.steps)
		})
	}
}

func TestLimiterKeysSeparate(t *testing.T) {
	t.Parallel()
	l := plan.NewLimiter()
	th := plan.Throttle{RateLimit: 1, BurstLimit: 2}
	for _, key := range []string{"a", "b", "a|/pets/GET", ""} {
		if got := allowed(l, key, th, t0, 3); got != 2 {
			t.Errorf("key %q: %d allowed, want its own burst of 2", key, got)
		}
	}
}

func TestLimiterChangingThrottle(t *testing.T) {
	t.Parallel()
	slow := plan.Throttle{RateLimit: 1, BurstLimit: 10}
	t.Run("LowerBurstCutsTokens", func(t *testing.T) {
		l := plan.NewLimiter()
		runSteps(t, l, "k", slow, []step{{0, 2, 2}}) // 8 left
		runSteps(t, l, "k", plan.Throttle{RateLimit: 1, BurstLimit: 3}, []step{{0, 5, 3}})
	})
	t.Run("HigherBurstKeepsTokens", func(t *testing.T) {
		l := plan.NewLimiter()
		runSteps(t, l, "k", slow, []step{{0, 7, 7}}) // 3 left
		runSteps(t, l, "k", plan.Throttle{RateLimit: 1, BurstLimit: 100}, []step{
			{0, 5, 3}, // the tokens it had, not a new burst
			{10 * time.Second, 20, 10},
		})
	})
	t.Run("FullBucketFullUnderNewBurst", func(t *testing.T) {
		l := plan.NewLimiter()
		runSteps(t, l, "k", slow, []step{{0, 1, 1}})
		runSteps(t, l, "k", plan.Throttle{RateLimit: 1, BurstLimit: 50}, []step{{time.Hour, 60, 50}})
	})
	t.Run("NewRateFromNow", func(t *testing.T) {
		l := plan.NewLimiter()
		runSteps(t, l, "k", slow, []step{{0, 10, 10}, {time.Second, 2, 1}}) // empty at +1s
		fast := plan.Throttle{RateLimit: 100, BurstLimit: 10}
		runSteps(t, l, "k", fast, []step{
			{time.Second, 1, 0},
			{time.Second + 10*time.Millisecond, 2, 1},
		})
		// Back to slow at +1.02 s: the 10 ms since the last request refilled
		// at the fast rate (1 token), as the change is seen only now; from
		// now on the rate is slow again.
		runSteps(t, l, "k", slow, []step{
			{1020 * time.Millisecond, 2, 1},
			{1520 * time.Millisecond, 1, 0},
			{2020 * time.Millisecond, 2, 1},
		})
	})
	t.Run("BlockThenUnblock", func(t *testing.T) {
		l := plan.NewLimiter()
		runSteps(t, l, "k", slow, []step{{0, 4, 4}}) // 6 left
		runSteps(t, l, "k", plan.Throttle{}, []step{{0, 5, 0}})
		// The block did not touch the bucket: 6 tokens as before.
		runSteps(t, l, "k", slow, []step{{0, 7, 6}})
	})
}

func TestLimiterRefusesInvalidThrottles(t *testing.T) {
	t.Parallel()
	for _, th := range []plan.Throttle{
		{},
		{RateLimit: 0, BurstLimit: 5},
		{RateLimit: 5, BurstLimit: 0},
		{RateLimit: -1, BurstLimit: 5},
		{RateLimit: 1, BurstLimit: -5},
		{RateLimit: math.NaN(), BurstLimit: 5},
		{RateLimit: math.Inf(1), BurstLimit: 5},
	} {
		l := plan.NewLimiter()
		if got := allowed(l, "k", th, t0, 3); got != 0 {
			t.Errorf("%+v: %d allowed, want none", th, got)
		}
		if l.Len() != 0 {
			t.Errorf("%+v: a refused throttle left %d buckets", th, l.Len())
		}
	}
}

func TestLimiterTimeBackwards(t *testing.T) {
	t.Parallel()
	l := plan.NewLimiter()
	th := plan.Throttle{RateLimit: 1, BurstLimit: 2}
	runSteps(t, l, "k", th, []step{
		{10 * time.Second, 2, 2},
		{5 * time.Second, 1, 0}, // earlier: refills nothing, and is no error
		{11 * time.Second, 2, 1},
	})
}

func TestLimiterConcurrentOneKey(t *testing.T) {
	t.Parallel()
	l := plan.NewLimiter()
	th := plan.Throttle{RateLimit: 1e-6, BurstLimit: 1000}
	var (
		wg    sync.WaitGroup
		count atomic.Int64
	)
	for g := range 50 {
		wg.Go(func() {
			for i := range 100 {
				// Each goroutine's clock advances 1 ms a call: 5 µtokens.
				if l.Allow("k", th, t0.Add(time.Duration(i)*time.Millisecond+time.Duration(g))) {
					count.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if count.Load() != 1000 {
		t.Errorf("50 goroutines × 100 requests against a burst of 1000: %d allowed, want exactly 1000", count.Load())
	}
}

// TestLimiterMemoryBounded checks that buckets refilled are dropped, by
// Sweep and by the sweeps Allow makes as it goes.
func TestLimiterMemoryBounded(t *testing.T) {
	t.Parallel()
	const keys = 100_000
	fast := plan.Throttle{RateLimit: 10, BurstLimit: 5}   // full again 0.1 s after one request
	slow := plan.Throttle{RateLimit: 0.01, BurstLimit: 5} // full again after 100 s

	t.Run("Sweep", func(t *testing.T) {
		t.Parallel()
		l := plan.NewLimiter()
		for i := range keys {
			th := fast
			if i%2 == 1 {
				th = slow
			}
			if !l.Allow(fmt.Sprint("key-", i), th, t0) {
				t.Fatalf("key %d refused its first request", i)
			}
		}
		if n := l.Len(); n != keys {
			t.Fatalf("Len() = %d after %d new keys, all with a token taken, want %d", n, keys, keys)
		}
		if dropped := l.Sweep(t0.Add(50 * time.Millisecond)); dropped != 0 {
			t.Errorf("Sweep before any bucket refilled dropped %d", dropped)
		}
		if dropped := l.Sweep(t0.Add(time.Second)); dropped != keys/2 {
			t.Errorf("Sweep after the fast buckets refilled dropped %d, want %d", dropped, keys/2)
		}
		if n := l.Len(); n != keys/2 {
			t.Errorf("Len() = %d, want the %d slow buckets", n, keys/2)
		}
		l.Sweep(t0.Add(100 * time.Second))
		if n := l.Len(); n != 0 {
			t.Errorf("Len() = %d after every bucket refilled, want 0", n)
		}
		// A dropped bucket is a full one.
		if got := allowed(l, "key-1", slow, t0.Add(100*time.Second), 10); got != 5 {
			t.Errorf("a dropped key allowed %d, want a full burst of 5", got)
		}
	})

	t.Run("AsItGoes", func(t *testing.T) {
		t.Parallel()
		// 100,000 keys over 10 s, one request each: at any moment only the
		// keys of the last 0.1 s (1,000) have a bucket not yet refilled.
		l := plan.NewLimiter()
		most := 0
		for i := range keys {
			l.Allow(fmt.Sprint("key-", i), fast, t0.Add(time.Duration(i)*100*time.Microsecond))
			if i%1000 == 0 {
				most = max(most, l.Len())
			}
		}
		// Each of 256 shards sweeps at 32 buckets, or twice what it kept.
		if most > 256*32+2*1000 {
			t.Errorf("the Limiter held up to %d buckets for 1,000 active keys", most)
		}
		t.Logf("most buckets held: %d of %d keys", most, keys)
	})

	t.Run("AfterAMinute", func(t *testing.T) {
		t.Parallel()
		// A burst of keys that then fall silent is dropped once the shards
		// see a minute pass, without any call of Sweep.
		l := plan.NewLimiter()
		for i := range keys {
			l.Allow(fmt.Sprint("key-", i), fast, t0)
		}
		later := t0.Add(time.Minute + time.Second)
		for i := range 5000 { // enough keys to reach every shard
			l.Allow(fmt.Sprint("other-", i), fast, later)
		}
		if n := l.Len(); n > 5000 {
			t.Errorf("Len() = %d a minute after %d keys fell silent, want at most the 5000 new ones", n, keys)
		}
	})
}

// refLimiter is the reference model: one map, no shards, nothing forgotten.
type refLimiter struct {
	buckets map[string]*refBucket
}

type refBucket struct {
	tokens float64
	last   time.Time
	th     plan.Throttle
}

// level is the bucket's tokens at now, uncapped.
func (b *refBucket) level(now time.Time) float64 {
	if !now.After(b.last) {
		return b.tokens
	}
	return b.tokens + float64(now.Sub(b.last).Nanoseconds())*b.th.RateLimit/1e9
}

func (m *refLimiter) allow(key string, th plan.Throttle, now time.Time) bool {
	if th.Validate() != nil || th.BurstLimit == 0 {
		return false
	}
	b := m.buckets[key]
	if b == nil {
		b = &refBucket{tokens: float64(th.BurstLimit), last: now, th: th}
		m.buckets[key] = b
	}
	if now.After(b.last) {
		b.tokens = min(float64(b.th.BurstLimit), b.level(now))
		b.last = now
	}
	if b.th != th {
		full := b.tokens >= float64(b.th.BurstLimit)
		b.tokens = min(b.tokens, float64(th.BurstLimit))
		if full {
			b.tokens = float64(th.BurstLimit)
		}
		b.th = th
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// notFull counts the buckets that have not refilled at now: those the
// Limiter must keep.
func (m *refLimiter) notFull(now time.Time) int {
	n := 0
	for _, b := range m.buckets {
		if b.level(now) < float64(b.th.BurstLimit) {
			n++
		}
	}
	return n
}

// TestLimiterMatchesModel drives the Limiter and the reference model with the
// same random requests, throttle changes and sweeps, on one clock that never
// goes back, and checks that they agree on every request and that the
// Limiter keeps every bucket not yet refilled and, after a sweep, no other.
func TestLimiterMatchesModel(t *testing.T) {
	t.Parallel()
	keys := []string{"a", "b", "c", "a|/pets/GET", "b|/pets/GET", "d"}
	throttles := []plan.Throttle{
		{RateLimit: 1, BurstLimit: 1},
		{RateLimit: 0.5, BurstLimit: 2},
		{RateLimit: 10, BurstLimit: 5},
		{RateLimit: 3, BurstLimit: 3},
		{RateLimit: 1000, BurstLimit: 1},
		{RateLimit: 0.01, BurstLimit: 4},
		{},                             // blocked
		{RateLimit: -1, BurstLimit: 1}, // invalid
	}
	steps := []time.Duration{0, time.Nanosecond, time.Millisecond, 77 * time.Millisecond, 333333333, time.Second, 2 * time.Second, 61 * time.Second, time.Hour}
	rapid.Check(t, func(rt *rapid.T) {
		l := plan.NewLimiter()
		m := &refLimiter{buckets: map[string]*refBucket{}}
		now := t0
		assigned := map[string]plan.Throttle{}
		for _, k := range keys {
			assigned[k] = rapid.SampledFrom(throttles).Draw(rt, "throttle "+k)
		}
		rt.Repeat(map[string]func(*rapid.T){
			"allow": func(rt *rapid.T) {
				now = now.Add(rapid.SampledFrom(steps).Draw(rt, "step"))
				k := rapid.SampledFrom(keys).Draw(rt, "key")
				for range rapid.IntRange(1, 4).Draw(rt, "requests") {
					got, want := l.Allow(k, assigned[k], now), m.allow(k, assigned[k], now)
					if got != want {
						rt.Fatalf("Allow(%q, %+v, +%v) = %t, model says %t", k, assigned[k], now.Sub(t0), got, want)
					}
				}
			},
			"retune": func(rt *rapid.T) {
				k := rapid.SampledFrom(keys).Draw(rt, "key")
				assigned[k] = rapid.SampledFrom(throttles).Draw(rt, "throttle")
			},
			"sweep": func(rt *rapid.T) {
				l.Sweep(now)
				if got, want := l.Len(), m.notFull(now); got != want {
					rt.Fatalf("Len() = %d after Sweep, want the %d buckets not refilled", got, want)
				}
			},
			"": func(rt *rapid.T) {
				if got, least, most := l.Len(), m.notFull(now), len(m.buckets); got < least || got > most {
					rt.Fatalf("Len() = %d, want between %d (not refilled) and %d (keys seen)", got, least, most)
				}
			},
		})
	})
}

func BenchmarkLimiterAllow(b *testing.B) {
	th := plan.Throttle{RateLimit: 1e9, BurstLimit: 1 << 30} // never refuses: measure the bookkeeping
	b.Run("OneKey", func(b *testing.B) {
		l := plan.NewLimiter()
		b.RunParallel(func(pb *testing.PB) {
			now := t0
			for pb.Next() {
				now = now.Add(time.Microsecond)
				l.Allow("k", th, now)
			}
		})
	})
	b.Run("10kKeys", func(b *testing.B) {
		l := plan.NewLimiter()
		keys := make([]string, 10_000)
		for i := range keys {
			keys[i] = fmt.Sprint("tenant-", i, "|/pets/{id}/GET")
		}
		var seq atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			i := int(seq.Add(7919)) // each goroutine starts elsewhere in the keys
			now := t0
			for pb.Next() {
				i++
				now = now.Add(time.Microsecond)
				l.Allow(keys[i%len(keys)], th, now)
			}
		})
	})
}
