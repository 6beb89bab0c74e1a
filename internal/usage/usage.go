// Package usage meters what each tenant uses of each function, per hour:
// invocations, errors, throttles, billed memory-time, environments created,
// cold starts, and bytes in and out. Because an environment serves one
// tenant, every figure is exact per tenant. A Recorder makes each
// invocation's usage durable before the invocation is answered, so a crash
// loses only what was never acknowledged; a Price turns usage into cost.
package usage

import (
	"context"
	"log/slog"
	"math"
	"sync"
	"time"
)

// Key is one row of usage: a tenant's use of a function in an hour.
type Key struct {
	Tenant   string // "" for a function without tenancy
	Function string
	Hour     time.Time // the hour's start, UTC
}

// Counts are what a Key has used.
type Counts struct {
	Invocations  int64
	Errors       int64 // function errors, timeouts and crashes
	Throttles    int64 // invocations refused for a concurrency limit or the memory budget
	MBMillis     int64 // billed duration in ms × MemorySize in MB
	Environments int64 // environments created for the tenant (a claimed blank counts)
	ColdStarts   int64 // invocations that waited for an environment's init
	BytesIn      int64
	BytesOut     int64
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.Invocations += o.Invocations
	c.Errors += o.Errors
	c.Throttles += o.Throttles
	c.MBMillis += o.MBMillis
	c.Environments += o.Environments
	c.ColdStarts += o.ColdStarts
	c.BytesIn += o.BytesIn
	c.BytesOut += o.BytesOut
}

// GBSeconds is billed memory-time as Lambda prices it (1 GB = 1024 MB).
func (c Counts) GBSeconds() float64 { return float64(c.MBMillis) / 1024 / 1000 }

// Row is a Key and its Counts.
type Row struct {
	Key
	Counts
}

// Filter selects rows: From inclusive, To exclusive, by hour; an empty
// Tenant or Function selects all, unless TenantSet.
type Filter struct {
	Tenant    string
	TenantSet bool
	Function  string
	From, To  time.Time
}

// Store keeps usage. Add must be atomic and durable when it returns nil.
type Store interface {
	Add(ctx context.Context, rows []Row) error
	Query(ctx context.Context, f Filter) ([]Row, error)
}

// Hour returns the start of t's hour in UTC.
func Hour(t time.Time) time.Time { return t.UTC().Truncate(time.Hour) }

// Price is a price model, as Lambda charges: per request, per GB-second, and
// per environment created for a tenant.
type Price struct {
	PerMillionRequests float64 `yaml:"per-million-requests"`
	PerGBSecond        float64 `yaml:"per-gb-second"`
	PerEnvironment     float64 `yaml:"per-environment"`
}

// Cost is what c costs under p.
func (p Price) Cost(c Counts) float64 {
	cost := float64(c.Invocations)/1e6*p.PerMillionRequests + c.GBSeconds()*p.PerGBSecond + float64(c.Environments)*p.PerEnvironment
	return math.Round(cost*1e6) / 1e6
}

// Recorder writes usage to a Store with group commit: usage recorded while
// a write is in flight is merged and written together next, so under load
// one commit serves many invocations. A synchronous Recorder's Record
// returns once the usage is durable; an asynchronous one's at once, and a
// crash may lose what was still being written (a commit's worth, a
// millisecond or so).
type Recorder struct {
	store Store
	sync  bool
	log   *slog.Logger

	mu      sync.Mutex
	pending map[Key]Counts
	waiting []chan error
	writing bool
}

// NewRecorder returns a Recorder into store, synchronous or not; log
// receives the store's errors (nil discards them).
func NewRecorder(store Store, sync bool, log *slog.Logger) *Recorder {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Recorder{store: store, sync: sync, log: log, pending: map[Key]Counts{}}
}

// Record adds c to k's usage and, if the Recorder is synchronous, returns
// once it is stored, or with the store's error.
func (r *Recorder) Record(ctx context.Context, k Key, c Counts) error {
	k.Hour = Hour(k.Hour)
	done := make(chan error, 1)
	r.mu.Lock()
	sum := r.pending[k]
	sum.Add(c)
	r.pending[k] = sum
	r.waiting = append(r.waiting, done)
	if !r.writing {
		r.writing = true
		go r.write()
	}
	r.mu.Unlock()
	if !r.sync {
		return nil
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err() // it is still written; the caller stops waiting
	}
}

// write commits what is pending, again and again, until nothing is.
func (r *Recorder) write() {
	for {
		r.mu.Lock()
		if len(r.waiting) == 0 {
			r.writing = false
			r.mu.Unlock()
			return
		}
		rows := make([]Row, 0, len(r.pending))
		for k, c := range r.pending {
			rows = append(rows, Row{Key: k, Counts: c})
		}
		waiting := r.waiting
		r.pending, r.waiting = map[Key]Counts{}, nil
		r.mu.Unlock()

		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := r.store.Add(ctx, rows)
		cancel()
		if err != nil {
			r.log.Error("usage lost: the store refused it", "rows", len(rows), "err", err)
		}
		for _, w := range waiting {
			w <- err // buffered: an asynchronous Record does not read it
		}
	}
}
