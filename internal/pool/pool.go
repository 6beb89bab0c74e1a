package pool

import (
	"container/list"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/tenant"
)

// Version identifies one runnable configuration of a function: its version
// number and the revision of that version's configuration, so an updated
// $LATEST never matches environments started from the old one.
type Version struct {
	Function string
	Number   int
	Revision string
}

// Key is what an environment serves once claimed.
type Key struct {
	Version
	Tenant tenant.ID
}

// Env is what the pool needs from an execution environment; satisfied by
// *execenv.Env.
type Env interface {
	// Done is closed when the environment has died on its own.
	Done() <-chan struct{}
	// Destroy tears the environment down; idempotent.
	Destroy()
}

// Factory starts and initialises a tenant-neutral environment for v with
// memoryMB of memory. It must respect ctx.
type Factory func(ctx context.Context, v Version, memoryMB int) (Env, error)

// Config bounds the pool. Zero values mean "no limit" for the limits.
type Config struct {
	// MaxConcurrency bounds busy environments in total.
	MaxConcurrency int
	// MaxPerFunction bounds busy environments of one function.
	MaxPerFunction int
	// MaxPerTenant bounds busy environments of one (function, tenant).
	MaxPerTenant int
	// MemoryBudgetMB bounds the sum of MemorySize of live environments
	// (starting, blank, idle and busy). Idle ones are evicted, least recently
	// used first, to make room before work is refused.
	MemoryBudgetMB int
	// IdleTimeout is how long an idle or blank environment lives unused.
	IdleTimeout time.Duration
	// Blanks is how many pre-initialised blank environments to keep per
	// version once the version has been invoked.
	Blanks int
}

// Reasons a TooManyRequestsException carries (spec/lambda.md §1.3); the
// per-tenant one is Bulkhead's own, as Lambda has no per-tenant limit.
const (
	ReasonConcurrency = "ConcurrentInvocationLimitExceeded"
	ReasonFunction    = "ReservedFunctionConcurrentInvocationLimitExceeded"
	ReasonTenant      = "TenantConcurrentInvocationLimitExceeded"
)

// LimitError is a refusal by a pool limit.
type LimitError struct {
	reason, message string
}

func (e *LimitError) Error() string  { return e.message }
func (e *LimitError) Reason() string { return e.reason }
func (e *LimitError) Unwrap() error  { return errdefs.ErrTooManyRequests }

// Pool hands out environments by key.
type Pool struct {
	cfg     Config
	factory Factory
	log     *slog.Logger
	now     func() time.Time

	mu          sync.Mutex
	idle        map[Key]*list.List     // of *entry, most recently used at the front
	blanks      map[Version]*list.List // of *entry
	lru         *list.List             // of *entry: idle and blank, least recently used at the front
	byFunction  map[string]map[*entry]struct{}
	busy        int
	busyFn      map[string]int
	busyTenant  map[fnTenant]int
	memoryMB    int // live and starting environments
	evictions   int64
	refilling   map[Version]bool
	retiredFrom map[string]uint64 // function → generation below which entries are retired
	generation  uint64
	closed      bool
	wg          sync.WaitGroup
	stop        chan struct{}
}

type fnTenant struct {
	function string
	tenant   tenant.ID
}

type state int

const (
	stateBlank state = iota
	stateIdle
	stateBusy
	stateDead
)

// entry is one live environment and where it sits.
type entry struct {
	env        Env
	version    Version
	key        Key // set at claim; never changes afterwards
	claimed    bool
	state      state
	memoryMB   int
	generation uint64
	lastUsed   time.Time
	inList     *list.Element // in idle[key] or blanks[version]
	inLRU      *list.Element
}

// New returns a pool that starts environments with factory. It runs a reaper
// until Close.
func New(cfg Config, factory Factory, log *slog.Logger) *Pool {
	p := &Pool{
		cfg: cfg, factory: factory, log: log, now: time.Now,
		idle: map[Key]*list.List{}, blanks: map[Version]*list.List{}, lru: list.New(),
		byFunction: map[string]map[*entry]struct{}{}, busyFn: map[string]int{},
		busyTenant: map[fnTenant]int{}, refilling: map[Version]bool{}, retiredFrom: map[string]uint64{},
		stop: make(chan struct{}),
	}
	if cfg.IdleTimeout > 0 {
		p.wg.Add(1)
		go p.reaper()
	}
	return p
}

// Lease is an environment acquired for one invocation.
type Lease struct {
	p     *Pool
	e     *entry
	once  sync.Once
	Cold  bool // the environment was started for this invocation
	Blank bool // the environment was a pre-initialised blank, claimed now
}

// Env returns the leased environment.
func (l *Lease) Env() Env { return l.e.env }

// Release returns the environment. A healthy one waits, idle, for the next
// invocation of its key; an unhealthy one (timed out, crashed, misbehaved) is
// destroyed and never reused.
func (l *Lease) Release(healthy bool) {
	l.once.Do(func() { l.p.release(l.e, healthy) })
}

// Acquire returns an environment for key, busy for the caller until the
// lease is released: the most recently used idle environment of key, else a
// blank of key's version (claimed for key's tenant, forever), else a new one.
// memoryMB is the function's MemorySize.
func (p *Pool) Acquire(ctx context.Context, key Key, memoryMB int) (*Lease, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, errdefs.New(errdefs.ErrUnavailable, "the server is shutting down")
	}
	if err := p.admit(key); err != nil {
		p.mu.Unlock()
		return nil, err
	}
	if l := p.idle[key]; l != nil && l.Len() > 0 {
		e := p.take(l.Front().Value.(*entry))
		p.markBusy(e)
		p.mu.Unlock()
		return &Lease{p: p, e: e}, nil
	}
	if l := p.blanks[key.Version]; l != nil && l.Len() > 0 {
		e := p.take(l.Front().Value.(*entry))
		e.key, e.claimed = key, true
		p.markBusy(e)
		p.refillLocked(key.Version, memoryMB)
		p.mu.Unlock()
		return &Lease{p: p, e: e, Blank: true}, nil
	}
	victims, err := p.reserveLocked(memoryMB)
	if err != nil {
		p.mu.Unlock()
		destroyAll(victims)
		return nil, err
	}
	// Count the start as busy now, so concurrent starts respect the limits.
	p.countBusy(key, +1)
	gen := p.generation
	p.refillLocked(key.Version, memoryMB)
	p.mu.Unlock()
	destroyAll(victims)

	env, err := p.factory(ctx, key.Version, memoryMB)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.countBusy(key, -1)
		p.memoryMB -= memoryMB
		return nil, err
	}
	e := &entry{env: env, version: key.Version, key: key, claimed: true, state: stateBusy, memoryMB: memoryMB, generation: gen}
	p.track(e)
	return &Lease{p: p, e: e, Cold: true}, nil
}

// admit checks the concurrency limits for one more busy environment of key.
func (p *Pool) admit(key Key) error {
	switch {
	case p.cfg.MaxConcurrency > 0 && p.busy >= p.cfg.MaxConcurrency:
		return &LimitError{ReasonConcurrency, "Rate Exceeded."}
	case p.cfg.MaxPerFunction > 0 && p.busyFn[key.Function] >= p.cfg.MaxPerFunction:
		return &LimitError{ReasonFunction, "Rate Exceeded."}
	case p.cfg.MaxPerTenant > 0 && p.busyTenant[fnTenant{key.Function, key.Tenant}] >= p.cfg.MaxPerTenant:
		return &LimitError{ReasonTenant, fmt.Sprintf("Rate Exceeded: tenant %v has %d invocations of %s in flight, the per-tenant limit.",
			key.Tenant, p.cfg.MaxPerTenant, key.Function)}
	}
	return nil
}

// reserveLocked makes room for memoryMB more, choosing idle environments to
// evict least recently used first, and reserves it. The victims are already
// unlinked; the caller destroys them outside the lock.
func (p *Pool) reserveLocked(memoryMB int) ([]Env, error) {
	var victims []Env
	if p.cfg.MemoryBudgetMB > 0 {
		for p.memoryMB+memoryMB > p.cfg.MemoryBudgetMB && p.lru.Len() > 0 {
			e := p.take(p.lru.Front().Value.(*entry))
			victims = append(victims, p.drop(e))
			p.evictions++
		}
		if p.memoryMB+memoryMB > p.cfg.MemoryBudgetMB {
			return victims, &LimitError{ReasonConcurrency, fmt.Sprintf(
				"Rate Exceeded: the host memory budget (%d MB) is taken by busy environments.", p.cfg.MemoryBudgetMB)}
		}
	}
	p.memoryMB += memoryMB
	return victims, nil
}

func (p *Pool) markBusy(e *entry) {
	e.state = stateBusy
	p.countBusy(e.key, +1)
}

func (p *Pool) countBusy(key Key, d int) {
	p.busy += d
	p.busyFn[key.Function] += d
	ft := fnTenant{key.Function, key.Tenant}
	if p.busyTenant[ft] += d; p.busyTenant[ft] == 0 {
		delete(p.busyTenant, ft)
	}
	if p.busyFn[key.Function] == 0 {
		delete(p.busyFn, key.Function)
	}
}

// take unlinks an idle or blank entry from its lists.
func (p *Pool) take(e *entry) *entry {
	if e.inList != nil {
		var l *list.List
		if e.state == stateBlank {
			l = p.blanks[e.version]
		} else {
			l = p.idle[e.key]
		}
		l.Remove(e.inList)
		if l.Len() == 0 {
			if e.state == stateBlank {
				delete(p.blanks, e.version)
			} else {
				delete(p.idle, e.key)
			}
		}
		e.inList = nil
	}
	if e.inLRU != nil {
		p.lru.Remove(e.inLRU)
		e.inLRU = nil
	}
	return e
}

// drop forgets an unlinked entry and returns its environment to destroy.
func (p *Pool) drop(e *entry) Env {
	e.state = stateDead
	p.memoryMB -= e.memoryMB
	if m := p.byFunction[e.version.Function]; m != nil {
		delete(m, e)
		if len(m) == 0 {
			delete(p.byFunction, e.version.Function)
		}
	}
	return e.env
}

// track registers a new live entry and watches it for an early death.
func (p *Pool) track(e *entry) {
	m := p.byFunction[e.version.Function]
	if m == nil {
		m = map[*entry]struct{}{}
		p.byFunction[e.version.Function] = m
	}
	m[e] = struct{}{}
	p.wg.Add(1)
	go p.watch(e)
}

func (p *Pool) watch(e *entry) {
	defer p.wg.Done()
	select {
	case <-e.env.Done():
	case <-p.stop:
		return
	}
	p.mu.Lock()
	var env Env
	switch e.state {
	case stateIdle, stateBlank:
		env = p.drop(p.take(e))
	}
	// A busy entry is dropped by its Release (the invocation sees the death).
	p.mu.Unlock()
	if env != nil {
		env.Destroy()
	}
}

func (p *Pool) release(e *entry, healthy bool) {
	p.mu.Lock()
	p.countBusy(e.key, -1)
	select {
	case <-e.env.Done():
		healthy = false
	default:
	}
	if !healthy || p.closed || e.generation < p.retiredFrom[e.version.Function] {
		env := p.drop(e)
		p.mu.Unlock()
		env.Destroy()
		return
	}
	e.state, e.lastUsed = stateIdle, p.now()
	l := p.idle[e.key]
	if l == nil {
		l = list.New()
		p.idle[e.key] = l
	}
	e.inList = l.PushFront(e)
	e.inLRU = p.lru.PushBack(e)
	p.mu.Unlock()
}

// Retire destroys every idle and blank environment of function and marks its
// busy ones to be destroyed on release. Call it when the function is deleted
// or updated.
func (p *Pool) Retire(function string) {
	p.mu.Lock()
	p.generation++
	p.retiredFrom[function] = p.generation
	var victims []Env
	for e := range p.byFunction[function] {
		if e.state == stateIdle || e.state == stateBlank {
			victims = append(victims, p.drop(p.take(e)))
		}
	}
	p.mu.Unlock()
	destroyAll(victims)
}

// refillLocked starts blanks for v in the background up to Config.Blanks,
// within the memory budget but never by evicting anything.
func (p *Pool) refillLocked(v Version, memoryMB int) {
	if p.cfg.Blanks <= 0 || p.refilling[v] || p.closed {
		return
	}
	p.refilling[v] = true
	gen := p.generation
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer func() {
			p.mu.Lock()
			delete(p.refilling, v)
			p.mu.Unlock()
		}()
		for {
			p.mu.Lock()
			have := 0
			if l := p.blanks[v]; l != nil {
				have = l.Len()
			}
			full := p.cfg.MemoryBudgetMB > 0 && p.memoryMB+memoryMB > p.cfg.MemoryBudgetMB
			if p.closed || have >= p.cfg.Blanks || full || gen < p.retiredFrom[v.Function] {
				p.mu.Unlock()
				return
			}
			p.memoryMB += memoryMB
			p.mu.Unlock()

			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				select {
				case <-p.stop:
					cancel()
				case <-ctx.Done():
				}
			}()
			env, err := p.factory(ctx, v, memoryMB)
			cancel()
			p.mu.Lock()
			if err != nil {
				p.memoryMB -= memoryMB
				p.mu.Unlock()
				p.log.Warn("blank environment failed to start", "function", v.Function, "version", v.Number, "err", err)
				return
			}
			e := &entry{env: env, version: v, state: stateBlank, memoryMB: memoryMB, generation: gen, lastUsed: p.now()}
			if p.closed || gen < p.retiredFrom[v.Function] {
				p.mu.Unlock()
				env.Destroy()
				p.mu.Lock()
				p.memoryMB -= memoryMB
				p.mu.Unlock()
				return
			}
			p.track(e)
			l := p.blanks[v]
			if l == nil {
				l = list.New()
				p.blanks[v] = l
			}
			e.inList = l.PushBack(e)
			e.inLRU = p.lru.PushBack(e)
			p.mu.Unlock()
		}
	}()
}

func (p *Pool) reaper() {
	defer p.wg.Done()
	t := time.NewTicker(max(p.cfg.IdleTimeout/4, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.Reap()
		}
	}
}

// Reap destroys idle and blank environments unused for IdleTimeout. The
// reaper calls it; tests may too.
func (p *Pool) Reap() int {
	p.mu.Lock()
	cutoff := p.now().Add(-p.cfg.IdleTimeout)
	var victims []Env
	for p.lru.Len() > 0 {
		e := p.lru.Front().Value.(*entry)
		if e.lastUsed.After(cutoff) {
			break
		}
		victims = append(victims, p.drop(p.take(e)))
	}
	p.mu.Unlock()
	destroyAll(victims)
	return len(victims)
}

// Stats are the pool's counts, for metrics and tests.
type Stats struct {
	Busy, Idle, Blank int
	MemoryMB          int
	Evictions         int64 // idle environments evicted for the memory budget, ever
}

// Stats returns the current counts. It walks no environment list.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	blank := 0
	for _, l := range p.blanks {
		blank += l.Len()
	}
	return Stats{Busy: p.busy, Idle: p.lru.Len() - blank, Blank: blank, MemoryMB: p.memoryMB, Evictions: p.evictions}
}

// Close destroys every environment not busy, refuses new acquisitions, makes
// releases destroy, and waits for the pool's goroutines.
func (p *Pool) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	close(p.stop)
	var victims []Env
	for p.lru.Len() > 0 {
		victims = append(victims, p.drop(p.take(p.lru.Front().Value.(*entry))))
	}
	p.mu.Unlock()
	destroyAll(victims)
	p.wg.Wait()
}

func destroyAll(envs []Env) {
	for _, e := range envs {
		e.Destroy()
	}
}
