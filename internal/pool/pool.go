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
	// MaxPerTenant bounds the invocations of one (function, tenant) in
	// flight: busy, starting, or waiting for capacity. A tenant at its limit
	// is refused at once, never queued: only its own releases would admit it,
	// so waiting would add latency and hold a goroutine for nothing.
	MaxPerTenant int
	// TenantLimit, when set, gives a tenant's own limit for a function in
	// place of MaxPerTenant: ok false means MaxPerTenant applies, a limit of 0
	// means none. Acquire calls it once, outside the pool's lock; a changed
	// answer applies to later acquisitions.
	TenantLimit func(function string, t tenant.ID) (limit int, ok bool)
	// MaxWait, when positive, is how long an acquisition refused by a shared
	// limit (MaxConcurrency, MaxPerFunction or the memory budget) waits for
	// capacity before it is refused with that limit's error. Waiters queue by
	// (function, tenant) and the queues take turns (see the package doc).
	// Zero refuses at once.
	MaxWait time.Duration
	// MemoryBudgetMB bounds the sum of MemorySize of live environments
	// (starting, blank, idle and busy). Idle and blank ones are evicted, least
	// recently used first, to make room for a new one; when even evicting all
	// of them would not make room, nothing is evicted and the work is refused
	// (or waits).
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
	lruMB       int // the part of memoryMB held by idle and blank environments: evictable
	evictions   int64
	refilling   map[Version]bool
	retiredFrom map[string]uint64 // function → generation below which entries are retired
	generation  uint64
	queues      map[fnTenant]*queue // only queues with waiters
	turns       *list.List          // of *queue with waiters, the next to be served at the front
	waiting     int
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
	drained    bool // destroy on release: its tenant was drained
}

// New returns a pool that starts environments with factory. It runs a reaper
// until Close.
func New(cfg Config, factory Factory, log *slog.Logger) *Pool {
	p := &Pool{
		cfg: cfg, factory: factory, log: log, now: time.Now,
		idle: map[Key]*list.List{}, blanks: map[Version]*list.List{}, lru: list.New(),
		byFunction: map[string]map[*entry]struct{}{}, busyFn: map[string]int{},
		busyTenant: map[fnTenant]int{}, refilling: map[Version]bool{}, retiredFrom: map[string]uint64{},
		queues: map[fnTenant]*queue{}, turns: list.New(), stop: make(chan struct{}),
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
//
// When a limit refuses it, Acquire returns a *LimitError at once, or, if the
// limit is shared and Config.MaxWait is positive, waits up to MaxWait for
// capacity (returning ctx.Err() if ctx is done first).
func (p *Pool) Acquire(ctx context.Context, key Key, memoryMB int) (*Lease, error) {
	limit := p.tenantLimit(key)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, errShuttingDown()
	}
	g, w, err := p.admitLocked(key, memoryMB, limit)
	p.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if w != nil {
		if g, err = p.wait(ctx, w); err != nil {
			return nil, err
		}
	}
	return p.use(ctx, key, memoryMB, g)
}

func errShuttingDown() error {
	return errdefs.New(errdefs.ErrUnavailable, "the server is shutting down")
}

// tenantLimit is the limit of key's tenant for key's function; 0 or less
// means none.
func (p *Pool) tenantLimit(key Key) int {
	if p.cfg.TenantLimit != nil {
		if n, ok := p.cfg.TenantLimit(key.Function, key.Tenant); ok {
			return n
		}
	}
	return p.cfg.MaxPerTenant
}

// grant is capacity handed to one acquisition: an environment already leased
// to it, or a reservation (counted busy, its memory reserved) to start one.
type grant struct {
	lease   *Lease
	gen     uint64 // the generation a new environment starts in
	victims []Env  // evicted to make room; the grantee destroys them outside the lock
	err     error  // set instead when the pool closed under a waiter
}

// queue holds the waiters of one (function, tenant), oldest first.
type queue struct {
	ft      fnTenant
	waiters list.List     // of *waiter
	turn    *list.Element // in Pool.turns
}

// waiter is one acquisition waiting for capacity.
type waiter struct {
	key      Key
	memoryMB int
	limit    int        // its tenant's limit when it arrived
	refusal  error      // the *LimitError it gets if MaxWait passes
	ready    chan grant // buffered; receives exactly one grant
	q        *queue
	el       *list.Element // in q.waiters; nil once granted or failed
}

// admitLocked grants one invocation of key capacity now, queues it to wait
// for capacity, or refuses it. limit is its tenant's limit.
func (p *Pool) admitLocked(key Key, memoryMB, limit int) (grant, *waiter, error) {
	ahead := 0 // its tenant's invocations of the function already waiting
	if q := p.queues[fnTenant{key.Function, key.Tenant}]; q != nil {
		ahead = q.waiters.Len()
	}
	refusal := p.limitLocked(key, memoryMB, limit, ahead)
	if refusal == nil && ahead == 0 {
		return p.grantLocked(key, memoryMB), nil, nil
	}
	if p.cfg.MaxWait <= 0 {
		return grant{}, nil, refusal // nobody waits, so ahead is 0 and refusal is set
	}
	if err := p.tenantLimitLocked(key, limit, ahead); err != nil {
		return grant{}, nil, err
	}
	if refusal == nil {
		// Admissible, but behind its tenant's earlier waiters (first in,
		// first out); it would time out for the reason they wait.
		refusal = p.queues[fnTenant{key.Function, key.Tenant}].waiters.Front().Value.(*waiter).refusal
	}
	return grant{}, p.enqueueLocked(key, memoryMB, limit, refusal), nil
}

// limitLocked returns the error of the limit that refuses one more invocation
// of key now, with ahead of its tenant's invocations queued before it, or nil.
// When several limits are reached, the first in this order gives the reason.
func (p *Pool) limitLocked(key Key, memoryMB, limit, ahead int) error {
	switch {
	case p.cfg.MaxConcurrency > 0 && p.busy >= p.cfg.MaxConcurrency:
		return &LimitError{ReasonConcurrency, "Rate Exceeded."}
	case p.cfg.MaxPerFunction > 0 && p.busyFn[key.Function] >= p.cfg.MaxPerFunction:
		return &LimitError{ReasonFunction, "Rate Exceeded."}
	}
	if err := p.tenantLimitLocked(key, limit, ahead); err != nil {
		return err
	}
	if p.cfg.MemoryBudgetMB > 0 && !p.warmLocked(key) && p.memoryMB-p.lruMB+memoryMB > p.cfg.MemoryBudgetMB {
		return &LimitError{ReasonConcurrency, fmt.Sprintf(
			"Rate Exceeded: the host memory budget (%d MB) is taken by busy environments.", p.cfg.MemoryBudgetMB)}
	}
	return nil
}

// tenantLimitLocked refuses key when its tenant's busy and waiting
// invocations of the function have reached limit.
func (p *Pool) tenantLimitLocked(key Key, limit, ahead int) error {
	if limit > 0 && p.busyTenant[fnTenant{key.Function, key.Tenant}]+ahead >= limit {
		return &LimitError{ReasonTenant, fmt.Sprintf("Rate Exceeded: tenant %v has %d invocations of %s in flight, the per-tenant limit.",
			key.Tenant, limit, key.Function)}
	}
	return nil
}

// warmLocked reports whether key has an idle or blank environment to take,
// which needs no more memory.
func (p *Pool) warmLocked(key Key) bool {
	return p.idle[key] != nil || p.blanks[key.Version] != nil // lists are deleted when empty
}

// grantLocked hands one invocation of key the capacity limitLocked allowed:
// key's most recently used idle environment, else a blank of key's version
// (claimed for key's tenant, forever), else a reservation to start one,
// evicting idle and blank environments, least recently used first, to make
// room.
func (p *Pool) grantLocked(key Key, memoryMB int) grant {
	if l := p.idle[key]; l != nil && l.Len() > 0 {
		e := p.take(l.Front().Value.(*entry))
		p.markBusy(e)
		return grant{lease: &Lease{p: p, e: e}}
	}
	if l := p.blanks[key.Version]; l != nil && l.Len() > 0 {
		e := p.take(l.Front().Value.(*entry))
		e.key, e.claimed = key, true
		p.markBusy(e)
		p.refillLocked(key.Version, memoryMB)
		return grant{lease: &Lease{p: p, e: e, Blank: true}}
	}
	var victims []Env
	for p.cfg.MemoryBudgetMB > 0 && p.memoryMB+memoryMB > p.cfg.MemoryBudgetMB && p.lru.Len() > 0 {
		victims = append(victims, p.drop(p.take(p.lru.Front().Value.(*entry))))
		p.evictions++
	}
	p.memoryMB += memoryMB
	// Count the start as busy now, so concurrent starts respect the limits.
	p.countBusy(key, +1)
	p.refillLocked(key.Version, memoryMB)
	return grant{gen: p.generation, victims: victims}
}

// use turns g into a lease, starting the environment outside the lock when g
// is a reservation.
func (p *Pool) use(ctx context.Context, key Key, memoryMB int, g grant) (*Lease, error) {
	destroyAll(g.victims)
	if g.lease != nil {
		return g.lease, nil
	}
	env, err := p.factory(ctx, key.Version, memoryMB)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.unreserveLocked(key, memoryMB)
		return nil, err
	}
	e := &entry{env: env, version: key.Version, key: key, claimed: true, state: stateBusy, memoryMB: memoryMB, generation: g.gen}
	p.track(e)
	return &Lease{p: p, e: e, Cold: true}, nil
}

// unreserveLocked gives back a reservation whose environment was never
// started.
func (p *Pool) unreserveLocked(key Key, memoryMB int) {
	p.countBusy(key, -1)
	p.memoryMB -= memoryMB
	p.dispatchLocked()
}

// enqueueLocked queues an acquisition at the back of its tenant's queue; a
// tenant that was not waiting takes its turn after those that were.
func (p *Pool) enqueueLocked(key Key, memoryMB, limit int, refusal error) *waiter {
	ft := fnTenant{key.Function, key.Tenant}
	q := p.queues[ft]
	if q == nil {
		q = &queue{ft: ft}
		q.turn = p.turns.PushBack(q)
		p.queues[ft] = q
	}
	w := &waiter{key: key, memoryMB: memoryMB, limit: limit, refusal: refusal, ready: make(chan grant, 1), q: q}
	w.el = q.waiters.PushBack(w)
	p.waiting++
	return w
}

// dequeueLocked takes a waiter out of its queue, and the queue out of the
// turns when it empties.
func (p *Pool) dequeueLocked(w *waiter) {
	q := w.q
	q.waiters.Remove(w.el)
	w.el = nil
	p.waiting--
	if q.waiters.Len() == 0 {
		p.turns.Remove(q.turn)
		q.turn = nil
		delete(p.queues, q.ft)
	}
}

// dispatchLocked hands free capacity to waiters. Queues take turns, round
// robin, one grant a turn; within a queue, first in first out. A queue whose
// first waiter cannot be admitted (its function's limit, its tenant's limit,
// memory it cannot find) is passed over and keeps its place, so it is first
// once it can be. Call it after anything that may free capacity: when it
// returns, no waiter can be admitted, so a new acquisition that can be is
// taking nothing a waiter could have had.
//
// Granting only uses capacity up, so a queue passed over stays passed over
// for the rest of the walk; the walk ends at once when the total limit is
// reached.
func (p *Pool) dispatchLocked() {
	for el := p.turns.Front(); el != nil; {
		if p.cfg.MaxConcurrency > 0 && p.busy >= p.cfg.MaxConcurrency {
			return
		}
		q, next := el.Value.(*queue), el.Next()
		w := q.waiters.Front().Value.(*waiter)
		if p.limitLocked(w.key, w.memoryMB, w.limit, 0) == nil {
			p.dequeueLocked(w)
			w.ready <- p.grantLocked(w.key, w.memoryMB)
			if q.turn != nil { // it has more waiters: its next turn comes after everyone else's
				p.turns.MoveToBack(q.turn)
				if next == nil {
					next = q.turn
				}
			}
		}
		el = next
	}
}

// wait blocks until w is granted capacity, MaxWait passes, or ctx is done.
func (p *Pool) wait(ctx context.Context, w *waiter) (grant, error) {
	timer := time.NewTimer(p.cfg.MaxWait)
	defer timer.Stop()
	var err error
	select {
	case g := <-w.ready:
		return p.keep(ctx, w, g)
	case <-timer.C:
		err = w.refusal
	case <-ctx.Done():
		err = ctx.Err()
	}
	p.mu.Lock()
	if w.el != nil {
		p.dequeueLocked(w)
		p.dispatchLocked() // the waiter behind w may be admissible where w was not
		p.mu.Unlock()
		return grant{}, err
	}
	p.mu.Unlock()
	// Granted (or failed by Close) as the wait ended: the grant is in
	// w.ready. Capacity that came with the deadline is still taken.
	return p.keep(ctx, w, <-w.ready)
}

// keep returns w's grant, or gives it back when w's context is done: a
// waiter whose caller has gone returns ctx.Err() whichever came first.
func (p *Pool) keep(ctx context.Context, w *waiter, g grant) (grant, error) {
	if g.err != nil {
		return g, g.err
	}
	if err := ctx.Err(); err != nil {
		p.abandon(w, g)
		return grant{}, err
	}
	return g, nil
}

// abandon gives back a grant whose waiter's context ended first.
func (p *Pool) abandon(w *waiter, g grant) {
	destroyAll(g.victims)
	if g.lease != nil {
		g.lease.Release(true) // a blank it claimed stays its tenant's, idle
		return
	}
	p.mu.Lock()
	p.unreserveLocked(w.key, w.memoryMB)
	p.mu.Unlock()
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
		p.lruMB -= e.memoryMB
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
		p.dispatchLocked()
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
	if !healthy || p.closed || e.drained || e.generation < p.retiredFrom[e.version.Function] {
		env := p.drop(e)
		p.dispatchLocked()
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
	p.pushLRU(e)
	p.dispatchLocked()
	p.mu.Unlock()
}

// pushLRU makes an idle or blank entry the most recently used, and its
// memory evictable.
func (p *Pool) pushLRU(e *entry) {
	e.inLRU = p.lru.PushBack(e)
	p.lruMB += e.memoryMB
}

// DrainTenant destroys every idle environment of tenant t, of any function,
// and marks its busy ones to be destroyed on release. It returns how many
// environments t had. (Blanks have no tenant and stay.)
func (p *Pool) DrainTenant(t tenant.ID) int {
	p.mu.Lock()
	var victims []Env
	n := 0
	for _, entries := range p.byFunction {
		for e := range entries {
			if !e.claimed || e.key.Tenant != t || e.state == stateDead {
				continue
			}
			n++
			switch e.state {
			case stateIdle:
				victims = append(victims, p.drop(p.take(e)))
			case stateBusy:
				e.drained = true
			}
		}
	}
	p.dispatchLocked()
	p.mu.Unlock()
	destroyAll(victims)
	return n
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
	p.dispatchLocked()
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
				p.dispatchLocked()
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
				p.dispatchLocked()
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
			p.pushLRU(e)
			p.dispatchLocked() // a waiter of v needs no new memory now; one blocked on memory may evict it
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
	p.dispatchLocked()
	p.mu.Unlock()
	destroyAll(victims)
	return len(victims)
}

// Stats are the pool's counts, for metrics and tests.
type Stats struct {
	Busy, Idle, Blank int
	Waiting           int // acquisitions waiting for capacity
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
	return Stats{Busy: p.busy, Idle: p.lru.Len() - blank, Blank: blank, Waiting: p.waiting, MemoryMB: p.memoryMB, Evictions: p.evictions}
}

// Close destroys every environment not busy, fails the waiting acquisitions
// and refuses new ones, makes releases destroy, and waits for the pool's
// goroutines.
func (p *Pool) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	close(p.stop)
	for _, q := range p.queues {
		for el := q.waiters.Front(); el != nil; el = el.Next() {
			w := el.Value.(*waiter)
			w.el = nil
			w.ready <- grant{err: errShuttingDown()}
		}
	}
	clear(p.queues)
	p.turns.Init()
	p.waiting = 0
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
