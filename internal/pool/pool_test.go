package pool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"pgregory.net/rapid"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/tenant"
)

// fakeEnv is an environment that only records what happens to it.
type fakeEnv struct {
	id        int
	version   Version
	done      chan struct{}
	dieOnce   sync.Once
	destroyed atomic.Bool
}

func (e *fakeEnv) Done() <-chan struct{} { return e.done }
func (e *fakeEnv) Destroy()              { e.destroyed.Store(true); e.die() }
func (e *fakeEnv) die()                  { e.dieOnce.Do(func() { close(e.done) }) }

type fakeFactory struct {
	mu   sync.Mutex
	next int
	envs []*fakeEnv
	fail error
}

func (f *fakeFactory) start(ctx context.Context, v Version, memoryMB int) (Env, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	f.next++
	e := &fakeEnv{id: f.next, version: v, done: make(chan struct{})}
	f.envs = append(f.envs, e)
	return e, nil
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func key(fn string, n int, t string) Key {
	id := tenant.None
	if t != "" {
		id, _ = tenant.Parse(t)
	}
	return Key{Version: Version{Function: fn, Number: n, Revision: "r"}, Tenant: id}
}

// settle waits for background blank refills to finish.
func settle(p *Pool) {
	for {
		p.mu.Lock()
		n := len(p.refilling)
		p.mu.Unlock()
		if n == 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// TestPoolInvariantOneStateMachine drives the pool with random operations and
// checks invariant 1 throughout: an environment, once it served a key, is
// only ever handed out for that key; a destroyed environment is never handed
// out; no environment is leased twice at once; memory stays in the budget.
func TestPoolInvariantOneStateMachine(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		f := &fakeFactory{}
		now := time.Unix(0, 0)
		cfg := Config{
			MemoryBudgetMB: 128 * rapid.IntRange(2, 8).Draw(rt, "budget"),
			IdleTimeout:    time.Minute,
			Blanks:         rapid.IntRange(0, 2).Draw(rt, "blanks"),
			MaxPerTenant:   rapid.IntRange(0, 3).Draw(rt, "perTenant"),
		}
		// No background reaper: the test reaps explicitly on its own clock.
		noReaper := cfg
		noReaper.IdleTimeout = 0
		p := New(noReaper, f.start, quiet())
		p.cfg.IdleTimeout = cfg.IdleTimeout
		p.now = func() time.Time { return now }
		defer p.Close()

		owner := map[*fakeEnv]Key{} // the key each environment first served
		leased := map[*fakeEnv]*Lease{}
		var leases []*Lease
		functions := []string{"f", "g"}
		tenants := []string{"", "t1", "t2", "t 3"}

		rt.Repeat(map[string]func(*rapid.T){
			"acquire": func(rt *rapid.T) {
				k := key(rapid.SampledFrom(functions).Draw(rt, "fn"), rapid.IntRange(0, 1).Draw(rt, "v"), rapid.SampledFrom(tenants).Draw(rt, "tenant"))
				l, err := p.Acquire(context.Background(), k, 128)
				settle(p)
				if err != nil {
					if !errors.Is(err, errdefs.ErrTooManyRequests) {
						rt.Fatalf("Acquire: %v", err)
					}
					return
				}
				e := l.Env().(*fakeEnv)
				if e.destroyed.Load() {
					rt.Fatalf("Acquire(%v) returned destroyed env %d", k, e.id)
				}
				if _, busy := leased[e]; busy {
					rt.Fatalf("env %d leased twice", e.id)
				}
				if first, ok := owner[e]; ok && first != k {
					rt.Fatalf("INVARIANT 1: env %d served %v, now handed to %v", e.id, first, k)
				}
				if e.version != k.Version {
					rt.Fatalf("env %d started for %v handed to %v", e.id, e.version, k.Version)
				}
				owner[e] = k
				leased[e] = l
				leases = append(leases, l)
			},
			"release": func(rt *rapid.T) {
				if len(leases) == 0 {
					rt.Skip("nothing leased")
				}
				i := rapid.IntRange(0, len(leases)-1).Draw(rt, "lease")
				l := leases[i]
				leases = append(leases[:i], leases[i+1:]...)
				delete(leased, l.Env().(*fakeEnv))
				l.Release(rapid.Bool().Draw(rt, "healthy"))
			},
			"die": func(rt *rapid.T) {
				f.mu.Lock()
				envs := append([]*fakeEnv(nil), f.envs...)
				f.mu.Unlock()
				if len(envs) == 0 {
					rt.Skip("no env")
				}
				e := rapid.SampledFrom(envs).Draw(rt, "env")
				e.die()
				// Let the watcher see it.
				deadline := time.Now().Add(time.Second)
				for time.Now().Before(deadline) {
					p.mu.Lock()
					_, live := p.byFunction[e.version.Function][findEntry(p, e)]
					busy := leased[e] != nil
					p.mu.Unlock()
					if !live || busy {
						break
					}
					time.Sleep(time.Millisecond)
				}
			},
			"retire": func(rt *rapid.T) {
				p.Retire(rapid.SampledFrom(functions).Draw(rt, "fn"))
			},
			"reap": func(rt *rapid.T) {
				now = now.Add(time.Duration(rapid.IntRange(0, 90).Draw(rt, "seconds")) * time.Second)
				p.Reap()
			},
			"": func(rt *rapid.T) {
				s := p.Stats()
				if cfg.MemoryBudgetMB > 0 && s.MemoryMB > cfg.MemoryBudgetMB {
					rt.Fatalf("memory %d MB over the budget %d MB", s.MemoryMB, cfg.MemoryBudgetMB)
				}
				if s.Busy != len(leases) {
					rt.Fatalf("pool counts %d busy, %d leases out", s.Busy, len(leases))
				}
				p.mu.Lock()
				for k, l := range p.idle {
					for el := l.Front(); el != nil; el = el.Next() {
						e := el.Value.(*entry)
						if e.key != k || !e.claimed {
							rt.Fatalf("idle list of %v holds an entry for %v", k, e.key)
						}
					}
				}
				for v, l := range p.blanks {
					for el := l.Front(); el != nil; el = el.Next() {
						if e := el.Value.(*entry); e.claimed || e.version != v {
							rt.Fatalf("blank list of %v holds a claimed entry or another version", v)
						}
					}
				}
				p.mu.Unlock()
			},
		})
		for _, l := range leases {
			l.Release(true)
		}
	})
}

func findEntry(p *Pool, e *fakeEnv) *entry {
	for en := range p.byFunction[e.version.Function] {
		if en.env == Env(e) {
			return en
		}
	}
	return nil
}

func TestPoolWarmReuseWithinTenantOnly(t *testing.T) {
	f := &fakeFactory{}
	p := New(Config{}, f.start, quiet())
	defer p.Close()
	ctx := context.Background()
	a1, _ := p.Acquire(ctx, key("f", 0, "a"), 128)
	envA := a1.Env()
	a1.Release(true)
	b1, _ := p.Acquire(ctx, key("f", 0, "b"), 128)
	if b1.Env() == envA || !b1.Cold {
		t.Fatal("tenant b got tenant a's environment")
	}
	a2, _ := p.Acquire(ctx, key("f", 0, "a"), 128)
	if a2.Env() != envA || a2.Cold {
		t.Fatal("tenant a did not get its warm environment back")
	}
	// Another revision of the same version never matches.
	k := key("f", 0, "a")
	k.Revision = "r2"
	c, _ := p.Acquire(ctx, k, 128)
	if c.Env() == envA {
		t.Fatal("an environment of the old revision served the new one")
	}
}

func TestPoolUnhealthyNeverReused(t *testing.T) {
	f := &fakeFactory{}
	p := New(Config{}, f.start, quiet())
	defer p.Close()
	l, _ := p.Acquire(context.Background(), key("f", 0, "a"), 128)
	env := l.Env().(*fakeEnv)
	l.Release(false)
	if !env.destroyed.Load() {
		t.Fatal("unhealthy environment not destroyed")
	}
	l2, _ := p.Acquire(context.Background(), key("f", 0, "a"), 128)
	if l2.Env() == Env(env) {
		t.Fatal("unhealthy environment reused")
	}
	// One that died while busy is not reused either, even if released healthy.
	e2 := l2.Env().(*fakeEnv)
	e2.die()
	l2.Release(true)
	l3, _ := p.Acquire(context.Background(), key("f", 0, "a"), 128)
	if l3.Env() == Env(e2) {
		t.Fatal("dead environment reused")
	}
}

func TestPoolLimits(t *testing.T) {
	f := &fakeFactory{}
	p := New(Config{MaxPerTenant: 2, MaxPerFunction: 3, MaxConcurrency: 4}, f.start, quiet())
	defer p.Close()
	ctx := context.Background()
	acquire := func(k Key) error {
		_, err := p.Acquire(ctx, k, 128)
		return err
	}
	reason := func(err error) string {
		var le *LimitError
		if errors.As(err, &le) {
			return le.Reason()
		}
		return fmt.Sprint(err)
	}
	for i := range 2 {
		if err := acquire(key("f", 0, "a")); err != nil {
			t.Fatalf("invocation %d of tenant a refused: %v", i+1, err)
		}
	}
	if r := reason(acquire(key("f", 0, "a"))); r != ReasonTenant {
		t.Errorf("third of tenant a: %s, want %s", r, ReasonTenant)
	}
	if acquire(key("f", 0, "b")) != nil {
		t.Fatal("tenant b refused while under the function limit")
	}
	if r := reason(acquire(key("f", 0, "c"))); r != ReasonFunction {
		t.Errorf("fourth of function f: %s, want %s", r, ReasonFunction)
	}
	if acquire(key("g", 0, "a")) != nil {
		t.Fatal("another function refused under the total limit")
	}
	if r := reason(acquire(key("h", 0, "a"))); r != ReasonConcurrency {
		t.Errorf("fifth in total: %s, want %s", r, ReasonConcurrency)
	}
}

func TestPoolEvictsLeastRecentlyUsedAcrossTenants(t *testing.T) {
	f := &fakeFactory{}
	p := New(Config{MemoryBudgetMB: 3 * 128}, f.start, quiet())
	defer p.Close()
	ctx := context.Background()
	now := time.Unix(0, 0)
	p.now = func() time.Time { return now }
	var envs []*fakeEnv
	for _, tn := range []string{"a", "b", "c"} {
		l, err := p.Acquire(ctx, key("f", 0, tn), 128)
		if err != nil {
			t.Fatal(err)
		}
		envs = append(envs, l.Env().(*fakeEnv))
		now = now.Add(time.Second)
		l.Release(true)
	}
	// Touch a so that b is now the least recently used.
	l, _ := p.Acquire(ctx, key("f", 0, "a"), 128)
	now = now.Add(time.Second)
	l.Release(true)
	if _, err := p.Acquire(ctx, key("f", 0, "d"), 128); err != nil {
		t.Fatalf("d refused: %v", err)
	}
	if !envs[1].destroyed.Load() || envs[0].destroyed.Load() || envs[2].destroyed.Load() {
		t.Errorf("evicted a=%v b=%v c=%v; want only b", envs[0].destroyed.Load(), envs[1].destroyed.Load(), envs[2].destroyed.Load())
	}
	if n := p.Stats().Evictions; n != 1 {
		t.Errorf("Stats().Evictions = %d, want 1", n)
	}
	// All busy and the budget full: refused, nothing evicted.
	p.Acquire(ctx, key("f", 0, "a"), 128)
	p.Acquire(ctx, key("f", 0, "c"), 128)
	_, err := p.Acquire(ctx, key("f", 0, "e"), 128)
	var le *LimitError
	if !errors.As(err, &le) || le.Reason() != ReasonConcurrency {
		t.Errorf("over a budget of busy environments: %v", err)
	}
}

func TestPoolBlanksClaimedOnceAndNeverReturned(t *testing.T) {
	f := &fakeFactory{}
	p := New(Config{Blanks: 1}, f.start, quiet())
	defer p.Close()
	ctx := context.Background()
	first, _ := p.Acquire(ctx, key("f", 0, "a"), 128) // cold; starts a blank behind it
	settle(p)
	if s := p.Stats(); s.Blank != 1 {
		t.Fatalf("after the first invocation: %d blanks, want 1", s.Blank)
	}
	b, err := p.Acquire(ctx, key("f", 0, "b"), 128)
	if err != nil || !b.Blank || b.Cold {
		t.Fatalf("tenant b: %v blank=%v cold=%v; want the blank", err, b.Blank, b.Cold)
	}
	blank := b.Env()
	b.Release(true)
	settle(p)
	c, _ := p.Acquire(ctx, key("f", 0, "c"), 128)
	if c.Env() == blank {
		t.Fatal("a claimed blank went to a second tenant")
	}
	b2, _ := p.Acquire(ctx, key("f", 0, "b"), 128)
	if b2.Env() != blank {
		t.Fatal("tenant b lost its claimed environment")
	}
	first.Release(true)
}

func TestPoolReaperRemovesIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeFactory{}
		p := New(Config{IdleTimeout: time.Minute}, f.start, quiet())
		defer p.Close()
		l, _ := p.Acquire(context.Background(), key("f", 0, "a"), 128)
		env := l.Env().(*fakeEnv)
		l.Release(true)
		time.Sleep(30 * time.Second)
		synctest.Wait()
		if env.destroyed.Load() {
			t.Fatal("reaped before the idle timeout")
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if !env.destroyed.Load() {
			t.Fatal("idle environment not reaped after the timeout")
		}
		if s := p.Stats(); s.Idle != 0 || s.MemoryMB != 0 {
			t.Errorf("after reaping: %+v", s)
		}
	})
}

func TestPoolRetire(t *testing.T) {
	f := &fakeFactory{}
	p := New(Config{}, f.start, quiet())
	defer p.Close()
	ctx := context.Background()
	idle, _ := p.Acquire(ctx, key("f", 0, "a"), 128)
	idleEnv := idle.Env().(*fakeEnv)
	idle.Release(true)
	busy, _ := p.Acquire(ctx, key("f", 0, "b"), 128)
	other, _ := p.Acquire(ctx, key("g", 0, "a"), 128)
	p.Retire("f")
	if !idleEnv.destroyed.Load() {
		t.Error("idle environment of a retired function kept")
	}
	busyEnv := busy.Env().(*fakeEnv)
	if busyEnv.destroyed.Load() {
		t.Error("busy environment destroyed under its invocation")
	}
	busy.Release(true)
	if !busyEnv.destroyed.Load() {
		t.Error("busy environment of a retired function kept after release")
	}
	otherEnv := other.Env().(*fakeEnv)
	other.Release(true)
	if otherEnv.destroyed.Load() {
		t.Error("another function's environment retired")
	}
}

func TestPoolFactoryFailureReleasesReservation(t *testing.T) {
	f := &fakeFactory{fail: errors.New("init failed")}
	p := New(Config{MemoryBudgetMB: 128, MaxPerTenant: 1}, f.start, quiet())
	defer p.Close()
	for range 3 {
		if _, err := p.Acquire(context.Background(), key("f", 0, "a"), 128); err == nil || errors.Is(err, errdefs.ErrTooManyRequests) {
			t.Fatalf("Acquire = %v; want the factory's error, not a limit", err)
		}
	}
	if s := p.Stats(); s.MemoryMB != 0 || s.Busy != 0 {
		t.Errorf("after failed starts: %+v", s)
	}
}

// BenchmarkPoolAcquireRelease measures a warm acquire and release with many
// other tenants' idle environments in the pool: the cost must not grow with
// their number.
func BenchmarkPoolAcquireRelease(b *testing.B) {
	for _, others := range []int{10, 10000} {
		b.Run(fmt.Sprintf("idle=%d", others), func(b *testing.B) {
			f := &fakeFactory{}
			p := New(Config{}, f.start, quiet())
			defer p.Close()
			ctx := context.Background()
			for i := range others {
				l, _ := p.Acquire(ctx, key("f", 0, fmt.Sprintf("t%d", i)), 128)
				l.Release(true)
			}
			k := key("f", 0, "t0")
			b.ResetTimer()
			for b.Loop() {
				l, _ := p.Acquire(ctx, k, 128)
				l.Release(true)
			}
		})
	}
}
