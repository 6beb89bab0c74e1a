package plan

import (
	"hash/maphash"
	"sync"
	"time"
)

const (
	// shards spreads keys over this many locks, so that requests of
	// different subjects rarely wait for each other.
	shards = 256
	// minSweep is the smallest number of buckets at which a shard sweeps
	// itself for growing; below it, sweeping costs more than the memory.
	minSweep = 32
	// sweepEvery bounds how long a shard keeps refilled buckets when it no
	// longer grows, in the times its callers pass.
	sweepEvery = time.Minute
)

// Limiter keeps token buckets by key. The caller chooses the keys: one per
// subject for a plan's throttle, one per subject and route for a route's.
// Buckets refill lazily, when their key is next used, so an idle key costs no
// work; Allow is O(1) apart from amortised sweeping.
//
// A bucket that has refilled completely is the same as no bucket (a new key
// starts full), so the Limiter drops it. A shard sweeps itself when it has
// doubled since its last sweep (and holds at least 32 buckets), and once per
// minute of the times it is given. After a sweep at a time t, the Limiter
// holds only the keys that took a token less than BurstLimit/RateLimit
// seconds before t; between sweeps, a shard holds at most twice what its last
// sweep left. So memory follows the keys recently active, not every key ever
// seen.
//
// The times passed to Allow should come from one clock. A time earlier than
// a bucket's last refill refills nothing; it is not an error, as concurrent
// callers read the clock in no particular order.
//
// A Limiter is safe for concurrent use. Keys are spread by hash over 256
// shards, each with its own mutex; no call holds two shards' mutexes.
type Limiter struct {
	seed   maphash.Seed
	shards [shards]shard
}

type shard struct {
	mu      sync.Mutex
	buckets map[string]bucket
	sweepAt int   // len(buckets) at which the shard next sweeps
	swept   int64 // when the shard last swept, in Unix nanoseconds
	_       [64]byte
}

// bucket is a token bucket as of last. It remembers the throttle its tokens
// were counted under, so that a change of throttle can carry them over.
type bucket struct {
	tokens float64
	last   int64 // Unix nanoseconds
	rate   float64
	burst  int
}

// NewLimiter returns a Limiter with no buckets.
func NewLimiter() *Limiter {
	l := &Limiter{seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].buckets = make(map[string]bucket)
		l.shards[i].sweepAt = minSweep
	}
	return l
}

// Allow takes a token from key's bucket under throttle t at now, and reports
// whether there was one. A key seen for the first time, or not for long
// enough to have refilled, has a full bucket of t.BurstLimit tokens.
//
// Allow refuses every request when t is {0, 0}, and, failing closed, when t
// is a throttle that Validate rejects; neither touches key's bucket.
//
// When the throttle of a key changes, its bucket keeps the tokens it had,
// counted under the old throttle up to now and cut to the new BurstLimit; a
// bucket that had refilled completely is full under the new throttle. The
// new RateLimit refills it from now on.
func (l *Limiter) Allow(key string, t Throttle, now time.Time) bool {
	if !t.valid() || t.BurstLimit == 0 {
		return false
	}
	n := now.UnixNano()
	s := &l.shards[maphash.String(l.seed, key)%shards]
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.buckets[key]
	if ok {
		b.refill(n)
		if b.rate != t.RateLimit || b.burst != t.BurstLimit {
			b.retune(t)
		}
	} else {
		b = bucket{tokens: float64(t.BurstLimit), last: n, rate: t.RateLimit, burst: t.BurstLimit}
	}
	allowed := b.tokens >= 1
	if allowed {
		b.tokens--
	}
	s.buckets[key] = b // never full: it lost a token or had less than one
	if len(s.buckets) >= s.sweepAt || n-s.swept >= int64(sweepEvery) {
		s.sweep(n)
	}
	return allowed
}

// Sweep drops every bucket that has refilled completely at now and returns
// how many it dropped. Allow sweeps as it goes; Sweep is for a caller that
// wants memory back from a Limiter no longer used, and for tests.
func (l *Limiter) Sweep(now time.Time) int {
	n, dropped := now.UnixNano(), 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		dropped += s.sweep(n)
		s.mu.Unlock()
	}
	return dropped
}

// Len returns how many buckets the Limiter holds.
func (l *Limiter) Len() int {
	total := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		total += len(s.buckets)
		s.mu.Unlock()
	}
	return total
}

// sweep drops s's refilled buckets; s.mu is held.
func (s *shard) sweep(now int64) int {
	dropped := 0
	for key, b := range s.buckets {
		if b.full(now) {
			delete(s.buckets, key)
			dropped++
		}
	}
	s.sweepAt = max(minSweep, 2*len(s.buckets))
	s.swept = now
	return dropped
}

// level is how many tokens b would hold at now without its cap. refill and
// full use it both, so a bucket dropped as full is exactly a new one.
func (b *bucket) level(now int64) float64 {
	if now <= b.last {
		return b.tokens
	}
	return b.tokens + float64(now-b.last)*b.rate/1e9
}

func (b *bucket) full(now int64) bool { return b.level(now) >= float64(b.burst) }

func (b *bucket) refill(now int64) {
	if now > b.last {
		b.tokens = min(float64(b.burst), b.level(now))
		b.last = now
	}
}

// retune moves a bucket refilled to the present onto throttle t.
func (b *bucket) retune(t Throttle) {
	if b.tokens >= float64(b.burst) {
		b.tokens = float64(t.BurstLimit)
	} else {
		b.tokens = min(b.tokens, float64(t.BurstLimit))
	}
	b.rate, b.burst = t.RateLimit, t.BurstLimit
}
