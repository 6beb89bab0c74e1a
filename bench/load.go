package main

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"time"
)

// samples are the outcomes of one set of requests: latencies of those that
// succeeded and, for open-loop load, how late the generator started each
// request after its scheduled time.
type samples struct {
	mu       sync.Mutex
	latency  []time.Duration
	index    []int // the request number of each latency
	late     []time.Duration
	errors   map[string]int // by kind
	firstErr string
	elapsed  time.Duration // wall time of the whole set
	// completed counts every request answered, a closed loop's warm-up
	// included, for costs measured around the whole loop.
	completed int
}

func (s *samples) add(i int, latency, late time.Duration, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.completed++
	if late >= 0 {
		s.late = append(s.late, late)
	}
	if err != nil {
		if s.errors == nil {
			s.errors = map[string]int{}
		}
		s.errors[errorKind(err)]++
		if s.firstErr == "" {
			s.firstErr = err.Error()
		}
		return
	}
	s.latency = append(s.latency, latency)
	s.index = append(s.index, i)
}

// byIndex returns each successful request's number and latency.
func (s *samples) byIndex() (index []int, latency []time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.index), slices.Clone(s.latency)
}

// errorKind groups errors for the report by Lambda error type, function
// error type or Go error.
func errorKind(err error) string {
	var api *apiError
	var fe *functionError
	switch {
	case errors.As(err, &api):
		return api.kind()
	case errors.As(err, &fe):
		return "function error " + fe.Kind
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	default:
		return "transport"
	}
}

// scheduleLead is how long before its time a request's goroutine starts,
// to sleep the rest precisely: more than the runtime timers' lateness.
const scheduleLead = 2 * time.Millisecond

// request is one measured operation; i numbers it within its set.
type request func(ctx context.Context, i int) error

// openLoop issues n requests at a constant rate (per second) whatever
// becomes of earlier ones, so a slow answer delays none of the later
// requests and queueing shows in the figures instead of being hidden
// (coordinated omission). One goroutine keeps the schedule and starts each
// request in a goroutine of its own just before its time; a request's latency counts from its
// scheduled time, and how late its goroutine started is recorded apart, so
// the generator's own delays are visible. Returns when every request has
// answered.
func openLoop(ctx context.Context, rate float64, n int, do request) *samples {
	s := &samples{}
	interval := time.Duration(float64(time.Second) / rate)
	var wg sync.WaitGroup
	start := time.Now().Add(5 * time.Millisecond)
	for i := range n {
		at := start.Add(time.Duration(i) * interval)
		// The runtime's timers wake up to a millisecond late (epoll_wait
		// counts whole milliseconds), so the schedule wakes early and each
		// request's goroutine sleeps the rest precisely (sleepUntil).
		if d := time.Until(at) - scheduleLead; d > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(d):
			}
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sleepUntil(at)
			began := time.Now()
			err := do(ctx, i)
			s.add(i, time.Since(at), began.Sub(at), err)
		}()
	}
	wg.Wait()
	s.elapsed = time.Since(start)
	return s
}

// closedLoop runs concurrency workers, each issuing its next request as soon
// as the last one answered, for d after a warm-up of warm; only requests
// started after the warm-up count. It measures the most the server
// completes at that concurrency, and latency under that saturation.
func closedLoop(ctx context.Context, concurrency int, warm, d time.Duration, do request) *samples {
	s := &samples{}
	begin := time.Now()
	measureFrom := begin.Add(warm)
	end := measureFrom.Add(d)
	var wg sync.WaitGroup
	for w := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ; i += concurrency {
				t0 := time.Now()
				if !t0.Before(end) || ctx.Err() != nil {
					return
				}
				err := do(ctx, i)
				if !t0.Before(measureFrom) {
					s.add(i, time.Since(t0), -1, err)
				} else {
					s.mu.Lock()
					s.completed++
					s.mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	// Requests started before the end finish after it: the rate counts them
	// over the time they really took.
	s.elapsed = time.Since(measureFrom)
	return s
}

// Summary is a sample set's figures, latencies in milliseconds.
type Summary struct {
	Name   string         `json:"name"`
	N      int            `json:"n"`
	Errors int            `json:"errors"`
	Kinds  map[string]int `json:"error_kinds,omitempty"`
	// FirstError is the first error's text, to tell what went wrong.
	FirstError string  `json:"first_error,omitempty"`
	Mean       float64 `json:"mean_ms"`
	Min        float64 `json:"min_ms"`
	P50        float64 `json:"p50_ms"`
	P90        float64 `json:"p90_ms"`
	P99        float64 `json:"p99_ms"`
	P999       float64 `json:"p99_9_ms"`
	Max        float64 `json:"max_ms"`
	// Rate is requests answered per second over the set's wall time
	// (offered rate for open loop, throughput for closed loop).
	Rate float64 `json:"rate_per_s"`
	// OfferedRate is the open-loop schedule's rate; 0 for closed loop.
	OfferedRate float64 `json:"offered_rate_per_s,omitempty"`
	Concurrency int     `json:"concurrency,omitempty"`
	// LateP50, LateP99 and LateMax are how late the generator started
	// requests after their scheduled times (open loop only): a large value
	// means the load generator, not the server, was behind.
	LateP50 float64 `json:"generator_late_p50_ms,omitempty"`
	LateP99 float64 `json:"generator_late_p99_ms,omitempty"`
	LateMax float64 `json:"generator_late_max_ms,omitempty"`

	// sorted are the latencies, kept for plots and the raw samples file.
	sorted []time.Duration
}

// summarize computes the figures of s.
func summarize(name string, s *samples) Summary {
	s.mu.Lock()
	defer s.mu.Unlock()
	lat := slices.Clone(s.latency)
	slices.Sort(lat)
	late := slices.Clone(s.late)
	slices.Sort(late)
	sum := Summary{Name: name, N: len(lat), Kinds: s.errors, FirstError: s.firstErr, sorted: lat}
	for _, n := range s.errors {
		sum.Errors += n
	}
	if len(lat) > 0 {
		var total time.Duration
		for _, d := range lat {
			total += d
		}
		sum.Mean = ms(total / time.Duration(len(lat)))
		sum.Min = ms(lat[0])
		sum.P50 = ms(quantile(lat, 0.50))
		sum.P90 = ms(quantile(lat, 0.90))
		sum.P99 = ms(quantile(lat, 0.99))
		sum.P999 = ms(quantile(lat, 0.999))
		sum.Max = ms(lat[len(lat)-1])
	}
	if s.elapsed > 0 {
		sum.Rate = round3(float64(len(lat)+sum.Errors) / s.elapsed.Seconds())
	}
	if len(late) > 0 {
		sum.LateP50 = ms(quantile(late, 0.50))
		sum.LateP99 = ms(quantile(late, 0.99))
		sum.LateMax = ms(late[len(late)-1])
	}
	return sum
}

// quantile is the nearest-rank q-quantile of sorted: the smallest sample
// with at least a fraction q of the samples at or below it.
func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return round3(float64(d) / float64(time.Millisecond)) }

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }
