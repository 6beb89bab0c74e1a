package invoke

import (
	"context"
	"time"
)

// QueuedEvent is an accepted Event (asynchronous) invocation.
type QueuedEvent struct {
	ID            string
	Function      string
	Qualifier     string
	Tenant        *string // as the caller sent it; nil for none
	ClientContext string
	Payload       []byte
	Attempts      int       // runs that ended in a function error
	NotBefore     time.Time // when it may run (next)
	Enqueued      time.Time
	// Trace is the X-Ray trace header the event's runs continue: the
	// accepting invocation's span when tracing is on, else the caller's.
	Trace string
}

// Queue is the durable queue of Event invocations; satisfied by
// *sqlite.Store. Enqueue returns once the event survives a crash. Events are
// delivered at least once: one running when the server dies runs again after
// Recover.
type Queue interface {
	Enqueue(ctx context.Context, e QueuedEvent) error
	// Due marks up to limit pending events whose NotBefore has passed as
	// running and returns them, oldest first.
	Due(ctx context.Context, now time.Time, limit int) ([]QueuedEvent, error)
	// Retry returns a running event to pending with its attempts and the
	// time it may run again.
	Retry(ctx context.Context, id string, attempts int, notBefore time.Time) error
	// Finish records a running event's outcome ("succeeded" or "failed",
	// with the error type of a failure); the payload is dropped.
	Finish(ctx context.Context, id, status, errorType string, at time.Time) error
	// Recover returns every running event to pending, for the start of a
	// server after a crash, and reports how many there were.
	Recover(ctx context.Context) (int, error)
}
