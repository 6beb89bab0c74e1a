package invoke

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/uuid"
)

// Lambda's policy for Event invocations: two retries after a function error,
// and up to six hours of retries while throttled.
const (
	eventRetries = 2
	eventMaxAge  = 6 * time.Hour
)

// enqueue accepts a validated Event invocation: it is durable before the 202.
func (s *Service) enqueue(ctx context.Context, req Request) (Response, error) {
	if s.queue == nil {
		return Response{}, errdefs.New(errdefs.ErrUnavailable, "Event invocations are not being accepted: the event worker is not running.")
	}
	now := time.Now().UTC()
	err := s.queue.Enqueue(ctx, QueuedEvent{
		ID: uuid.New(), Function: req.Function, Qualifier: req.Qualifier, Tenant: req.Tenant,
		ClientContext: req.ClientContext, Payload: req.Payload, NotBefore: now, Enqueued: now,
		Trace: runtimeTrace(trace.SpanFromContext(ctx), req),
	})
	if err != nil {
		return Response{}, err
	}
	s.wakeEvents()
	return Response{StatusCode: 202}, nil
}

// wakeEvents tells RunEvents to look at the queue now: an event was queued
// or a worker freed its slot.
func (s *Service) wakeEvents() {
	select {
	case s.eventWake <- struct{}{}:
	default:
	}
}

// EventOptions tune the event worker.
type EventOptions struct {
	// RetryDelay is the wait before the first retry; it doubles for the
	// second (Lambda waits about one and two minutes).
	RetryDelay time.Duration
	// Workers bounds the events running at once.
	Workers int
	// Poll is how often the queue is checked for due events (retries come
	// due with time); a new event, or a slot freed, is looked at at once.
	Poll time.Duration
}

// AcceptEvents makes q the queue of Event invocations. It first returns to
// the queue the events that were running when the server last stopped, so
// each accepted event runs at least once. Call it before serving.
func (s *Service) AcceptEvents(ctx context.Context, q Queue) error {
	n, err := q.Recover(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		s.log.Info("event invocations recovered", "count", n)
	}
	s.queue = q
	return nil
}

// RunEvents runs the queue's due events until ctx ends, then waits for the
// running ones to stop (they stay running in the queue; AcceptEvents
// requeues them on the next start).
func (s *Service) RunEvents(ctx context.Context, opts EventOptions) {
	q := s.queue
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, max(opts.Workers, 1))
	tick := time.NewTicker(opts.Poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-s.eventWake:
		}
		free := cap(slots) - len(slots)
		if free == 0 {
			continue
		}
		due, err := q.Due(ctx, time.Now().UTC(), free)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Error("event queue", "err", err)
			continue
		}
		for _, e := range due {
			slots <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer s.wakeEvents()
				defer func() { <-slots }()
				s.runEvent(ctx, q, e, opts)
			}()
		}
	}
}

// runEvent runs one event and records what came of it. If the server stops
// meanwhile, the event stays running in the queue and Recover requeues it.
func (s *Service) runEvent(ctx context.Context, q Queue, e QueuedEvent, opts EventOptions) {
	log := s.log.With("event", e.ID, "function", e.Function, "attempt", e.Attempts+1)
	log.Info("event invocation started")
	resp, err := s.Invoke(ctx, Request{
		Function: e.Function, Qualifier: e.Qualifier, Tenant: e.Tenant, Type: RequestResponse,
		ClientContext: e.ClientContext, Payload: e.Payload, TraceHeader: e.Trace,
	})
	if ctx.Err() != nil {
		return
	}
	now := time.Now().UTC()
	var record error
	switch {
	case err == nil && resp.FunctionError == "":
		record = q.Finish(ctx, e.ID, "succeeded", "", now)
		log.Info("event invocation finished", "status", "succeeded")
	case errors.Is(err, errdefs.ErrTooManyRequests) && now.Sub(e.Enqueued) < eventMaxAge:
		record = q.Retry(ctx, e.ID, e.Attempts, now.Add(opts.RetryDelay))
		log.Info("event invocation throttled; retrying", "retry_in", opts.RetryDelay)
	case err == nil && e.Attempts < eventRetries:
		delay := opts.RetryDelay << e.Attempts
		record = q.Retry(ctx, e.ID, e.Attempts+1, now.Add(delay))
		log.Info("event invocation failed; retrying", "error", errorType(resp.Payload), "retry_in", delay)
	default:
		kind := errorType(resp.Payload)
		if err != nil {
			kind = err.Error()
		}
		record = q.Finish(ctx, e.ID, "failed", kind, now)
		log.Info("event invocation finished", "status", "failed", "error", kind)
	}
	if record != nil && ctx.Err() == nil {
		log.Error("event outcome not recorded", "err", record)
	}
}

func errorType(doc []byte) string {
	var d struct {
		ErrorType string `json:"errorType"`
	}
	_ = json.Unmarshal(doc, &d) // a document that is not JSON has no type
	return d.ErrorType
}
