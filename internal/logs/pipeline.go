package logs

import (
	"cmp"
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// PipelineOptions bound a Pipeline. A zero field takes its default.
type PipelineOptions struct {
	// Buffer is how many records the pipeline holds at most, waiting or
	// being written; a record added beyond it is dropped. Default 10000.
	Buffer int
	// MaxBytes bounds the Message bytes the pipeline holds, as Buffer
	// bounds the records: a flood of long lines cannot make it hold
	// Buffer × the longest line. Default 64 MiB.
	MaxBytes int64
	// BatchSize is how many records one Store.Append writes at most.
	// Default 500.
	BatchSize int
	// FlushInterval is how long a record waits at most for its batch to
	// fill before it is written. Default 100 ms.
	FlushInterval time.Duration
	// Logger receives the store's errors; nil discards them.
	Logger *slog.Logger
}

// Defaults of PipelineOptions.
const (
	DefaultBuffer        = 10000
	DefaultMaxBytes      = 64 << 20
	DefaultBatchSize     = 500
	DefaultFlushInterval = 100 * time.Millisecond
)

// appendTimeout bounds one Store.Append, so a hung store costs a batch, not
// the pipeline.
const appendTimeout = 30 * time.Second

// Reasons in a TypeLogsDropped record.
const (
	reasonBufferFull  = "the log buffer was full"
	reasonStoreFailed = "the log store failed"
)

// A Pipeline carries records from the environments to a Store without ever
// making an environment wait: Add queues a record, and one goroutine, owned
// by the Pipeline and stopped by Close, appends the queue to the Store in
// batches of up to BatchSize, as soon as a batch is full, FlushInterval
// after its first record, or when Flush asks.
//
// It holds at most Buffer records, waiting or being written. A record added
// to a full buffer is dropped; so is a batch the Store refuses, which is
// logged and not retried, so that a failing store neither stalls the
// pipeline nor grows it. Losses are counted in total (Dropped) and per
// function, version and tenant, and each function, version and tenant that
// lost records gets a TypeLogsDropped record in the store, so that the gap
// shows in queries:
//
//	{"droppedRecords":N,"droppedBytes":B,"reason":"the log buffer was full"}
//
// droppedBytes counts Message bytes. A summary is queued as soon as there is
// room, so it follows the records that were waiting when the loss began and
// precedes those added later; but after a failed Append it waits for one
// that succeeds, or for Flush or Close, which try it once. A summary the
// store refuses returns its counts to the next one.
//
// A Pipeline is safe for concurrent use. It has one mutex, mu; it is never
// held while the store is called.
type Pipeline struct {
	store     Store
	buffer    int
	maxBytes  int64
	batchSize int
	interval  time.Duration
	logger    *slog.Logger

	wake    chan struct{} // the writer has work; capacity 1
	stopped chan struct{} // closed when the writer returns

	mu      sync.Mutex
	pending []entry // added, not yet taken by the writer
	held    int     // len(pending) plus the batch being written
	heldB   int64   // their Message bytes
	added   int64   // sequence number of the last record queued
	written int64   // every record up to this sequence number is written or lost
	waiters []*waiter
	losses  map[lossKey]*loss // lost and not yet summarized
	dropped int64
	failing bool // the last Append failed; summaries wait for a success
	closing bool
}

// entry is a queued record and its sequence number; summary is set when the
// record is a TypeLogsDropped record this pipeline made, so that its counts
// go back to losses if it is lost in turn.
type entry struct {
	seq     int64
	record  Record
	summary *loss
}

type lossKey struct{ function, version, tenant string }

type loss struct {
	records, bytes int64
	bufferFull     bool
	storeFailed    bool
}

// waiter is a Flush waiting for the records up to seq.
type waiter struct {
	seq  int64
	err  error // the store's error, if a record up to seq was lost to it
	done chan struct{}
}

// NewPipeline starts a pipeline into store. Close stops it.
func NewPipeline(store Store, opts PipelineOptions) *Pipeline {
	p := &Pipeline{
		store:     store,
		buffer:    cmp.Or(max(opts.Buffer, 0), DefaultBuffer),
		maxBytes:  cmp.Or(max(opts.MaxBytes, 0), DefaultMaxBytes),
		batchSize: cmp.Or(max(opts.BatchSize, 0), DefaultBatchSize),
		interval:  cmp.Or(max(opts.FlushInterval, 0), DefaultFlushInterval),
		logger:    opts.Logger,
		wake:      make(chan struct{}, 1),
		stopped:   make(chan struct{}),
		losses:    make(map[lossKey]*loss),
	}
	if p.logger == nil {
		p.logger = slog.New(slog.DiscardHandler)
	}
	go p.run()
	return p
}

// Add queues r, or drops it if the buffer is full or the pipeline closed. It
// never waits for the store. A zero r.Time becomes the time of the call.
func (p *Pipeline) Add(r Record) {
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closing || p.held >= p.buffer || p.heldB+int64(len(r.Message)) > p.maxBytes {
		p.lose(r, reasonBufferFull)
		return
	}
	p.queue(entry{record: r})
	if len(p.pending) == 1 || len(p.pending) == p.batchSize {
		p.signal() // to start the FlushInterval clock, or to write a full batch
	}
}

// Flush returns once every record added before the call is in the store, or
// lost: then it returns the store's error. It also writes the summaries of
// earlier losses. It returns ctx's error if ctx ends first.
func (p *Pipeline) Flush(ctx context.Context) error {
	p.mu.Lock()
	if !p.closing {
		p.summarize()
	}
	if p.written >= p.added {
		p.mu.Unlock()
		return nil
	}
	w := &waiter{seq: p.added, done: make(chan struct{})}
	p.waiters = append(p.waiters, w)
	p.mu.Unlock()
	p.signal()

	select {
	case <-w.done:
		return w.err
	case <-ctx.Done():
		p.mu.Lock()
		p.waiters = slices.DeleteFunc(p.waiters, func(o *waiter) bool { return o == w })
		p.mu.Unlock()
		return ctx.Err()
	}
}

// Close writes what the pipeline holds and the summaries of its losses,
// stops its goroutine and returns. Records added afterwards are dropped.
func (p *Pipeline) Close() {
	p.mu.Lock()
	if !p.closing {
		p.summarize()
		p.closing = true
	}
	p.mu.Unlock()
	p.signal()
	<-p.stopped
}

// Dropped returns how many records the pipeline has lost in all.
func (p *Pipeline) Dropped() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dropped
}

// signal wakes the writer without waiting.
func (p *Pipeline) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// queue appends e to pending. p.mu is held.
func (p *Pipeline) queue(e entry) {
	p.added++
	e.seq = p.added
	p.pending = append(p.pending, e)
	p.held++
	p.heldB += int64(len(e.record.Message))
}

// lose counts r as lost for reason. p.mu is held.
func (p *Pipeline) lose(r Record, reason string) {
	p.dropped++
	p.count(r, &loss{
		records:     1,
		bytes:       int64(len(r.Message)),
		bufferFull:  reason == reasonBufferFull,
		storeFailed: reason == reasonStoreFailed,
	})
}

// count adds l to the losses of r's function, version and tenant. p.mu is
// held. At most Buffer functions, versions and tenants wait for a summary at
// once; a loss beyond them is counted only in Dropped, which bounds the map.
func (p *Pipeline) count(r Record, l *loss) {
	k := lossKey{r.Function, r.Version, r.Tenant}
	sum := p.losses[k]
	if sum == nil {
		if len(p.losses) < p.buffer {
			p.losses[k] = l
		}
		return
	}
	sum.records += l.records
	sum.bytes += l.bytes
	sum.bufferFull = sum.bufferFull || l.bufferFull
	sum.storeFailed = sum.storeFailed || l.storeFailed
}

// summarize queues a TypeLogsDropped record for each function, version and
// tenant that lost records, as many as there is room for. p.mu is held.
func (p *Pipeline) summarize() {
	if len(p.losses) == 0 || p.held >= p.buffer {
		return
	}
	keys := slices.SortedFunc(maps.Keys(p.losses), func(a, b lossKey) int {
		return cmp.Or(cmp.Compare(a.function, b.function), cmp.Compare(a.version, b.version), cmp.Compare(a.tenant, b.tenant))
	})
	now := time.Now()
	for _, k := range keys[:min(len(keys), p.buffer-p.held)] {
		l := p.losses[k]
		delete(p.losses, k)
		p.queue(entry{record: l.record(k, now), summary: l})
	}
}

// record is the TypeLogsDropped record of l.
func (l *loss) record(k lossKey, now time.Time) Record {
	var reasons []string
	if l.bufferFull {
		reasons = append(reasons, reasonBufferFull)
	}
	if l.storeFailed {
		reasons = append(reasons, reasonStoreFailed)
	}
	msg, _ := json.Marshal(struct {
		DroppedRecords int64  `json:"droppedRecords"`
		DroppedBytes   int64  `json:"droppedBytes"`
		Reason         string `json:"reason"`
	}{l.records, l.bytes, strings.Join(reasons, "; ")})
	return Record{
		Time:     now,
		Tenant:   k.tenant,
		Function: k.function,
		Version:  k.version,
		Type:     TypeLogsDropped,
		Message:  string(msg),
	}
}

// run is the writer. It writes while a batch is full, a Flush waits, the
// pipeline closes, or FlushInterval has passed since records began waiting;
// otherwise it sleeps.
func (p *Pipeline) run() {
	defer close(p.stopped)
	timer := time.NewTimer(p.interval)
	timer.Stop()
	armed, due := false, false
	for {
		p.mu.Lock()
		urgent := due || p.closing || len(p.waiters) > 0 || len(p.pending) >= p.batchSize
		if len(p.pending) > 0 && urgent {
			n := min(len(p.pending), p.batchSize)
			// Records are added after pending's end, never over the batch.
			batch := p.pending[:n:n]
			p.pending = p.pending[n:]
			p.mu.Unlock()
			p.write(batch)
			continue
		}
		due = false
		if p.closing {
			p.mu.Unlock()
			return
		}
		arm := len(p.pending) > 0 && !armed
		p.mu.Unlock()
		if arm {
			timer.Reset(p.interval)
			armed = true
		}
		select {
		case <-p.wake:
		case <-timer.C:
			armed, due = false, true
		}
	}
}

// write appends batch to the store and accounts for it: the records are
// written, or lost with the store's error.
func (p *Pipeline) write(batch []entry) {
	records := make([]Record, len(batch))
	for i, e := range batch {
		records[i] = e.record
	}
	ctx, cancel := context.WithTimeout(context.Background(), appendTimeout)
	err := p.store.Append(ctx, records)
	cancel()
	if err != nil {
		p.logger.Error("log store: records dropped", "records", len(batch), "error", err)
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	p.held -= len(batch)
	for _, e := range batch {
		p.heldB -= int64(len(e.record.Message))
	}
	p.written = batch[len(batch)-1].seq
	p.failing = err != nil
	if err != nil {
		for _, e := range batch {
			if e.summary != nil {
				// Its counts go to the next summary.
				p.count(e.record, e.summary)
			} else {
				p.lose(e.record, reasonStoreFailed)
			}
		}
	}
	p.waiters = slices.DeleteFunc(p.waiters, func(w *waiter) bool {
		if err != nil && w.seq >= batch[0].seq && w.err == nil {
			w.err = err
		}
		if w.seq > p.written {
			return false
		}
		close(w.done)
		return true
	})
	if !p.failing {
		p.summarize()
	}
}
