package plan

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
)

// Subject is who a plan is applied to.
type Subject struct {
	// Key identifies the subject: an API key's id, or a tenant. It must not
	// be empty.
	Key string
	// Since is when the plan was attached to the subject. The quota's first
	// window, the one Offset applies to, is the window containing Since;
	// a zero Since has none.
	Since time.Time
}

// Outcome is the Enforcer's decision on a request.
type Outcome int

// The outcomes. The zero Outcome is no decision; Check returns it only with
// an error. The gateway answers both refusals with 429 and the body
// {"message": o.Message()}, API Gateway's THROTTLED and QUOTA_EXCEEDED
// responses.
const (
	Allowed Outcome = iota + 1
	Throttled
	QuotaExceeded
)

func (o Outcome) String() string {
	switch o {
	case Allowed:
		return "Allowed"
	case Throttled:
		return "Throttled"
	case QuotaExceeded:
		return "QuotaExceeded"
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}

// Message is the message of API Gateway's default body for a refusal:
// "Too Many Requests" or "Limit Exceeded"; "" for Allowed.
func (o Outcome) Message() string {
	switch o {
	case Throttled:
		return "Too Many Requests"
	case QuotaExceeded:
		return "Limit Exceeded"
	}
	return ""
}

// Enforcer applies usage plans to requests: the throttles with a Limiter,
// the quota with a QuotaStore. It holds no state of its own and no lock, so
// it is as safe for concurrent use as its two parts, which are.
type Enforcer struct {
	limiter *Limiter
	quotas  QuotaStore
}

// NewEnforcer returns an Enforcer that keeps throttles in limiter and counts
// quotas in quotas.
func NewEnforcer(limiter *Limiter, quotas QuotaStore) *Enforcer {
	return &Enforcer{limiter: limiter, quotas: quotas}
}

// Check decides whether subject may make a request to the route routeKey
// (the matched resource's key, as RouteThrottles has it; "" for none) under
// plan p at now, and counts it where it is allowed. The checks run in API
// Gateway's order, and the first that refuses decides:
//
//  1. the route's throttle, when RouteThrottles has routeKey;
//  2. the plan's Throttle;
//  3. the Quota, which counts only requests that passed both throttles.
//
// A request refused by a later check has still taken its token from the
// buckets before, as it reached them. Check validates only the parts of p
// it applies, and returns an errdefs.ErrValidation for a bad one rather
// than guess; an error of the QuotaStore comes back wrapped, with no
// Outcome, for the caller to fail open or closed.
func (e *Enforcer) Check(ctx context.Context, subject Subject, p Plan, routeKey string, now time.Time) (Outcome, error) {
	if subject.Key == "" {
		return 0, errdefs.New(errdefs.ErrInvalidArgument, "usage plan %q: subject key must not be empty", p.Name)
	}
	bucket := bucketKey(p.Name, subject.Key)
	if t, ok := p.RouteThrottles[routeKey]; ok {
		if !t.valid() {
			return 0, fmt.Errorf("usage plan %q: route %q: %w", p.Name, routeKey, t.Validate())
		}
		if !e.limiter.Allow(bucket+" "+routeKey, t, now) {
			return Throttled, nil
		}
	}
	if p.Throttle != nil {
		if !p.Throttle.valid() {
			return 0, fmt.Errorf("usage plan %q: %w", p.Name, p.Throttle.Validate())
		}
		if !e.limiter.Allow(bucket, *p.Throttle, now) {
			return Throttled, nil
		}
	}
	if p.Quota != nil {
		q := *p.Quota
		if err := q.Validate(); err != nil {
			return 0, fmt.Errorf("usage plan %q: %w", p.Name, err)
		}
		start, _ := Window(q.Period, now)
		_, ok, err := e.quotas.Take(ctx, quotaKey(p.Name, subject.Key, q.Period), start, 1, q.LimitAt(subject.Since, now))
		if err != nil {
			return 0, fmt.Errorf("usage plan %q: %w", p.Name, err)
		}
		if !ok {
			return QuotaExceeded, nil
		}
	}
	return Allowed, nil
}

// Usage is where a subject stands in its quota's current window.
type Usage struct {
	// Limit is what the window allows: Quota.Limit, less Offset in the
	// first window.
	Limit int64 `json:"limit"`
	// Used is what the subject has used of it.
	Used int64 `json:"used"`
	// Remaining is Limit − Used, or 0 once Used reaches Limit (a lowered
	// limit can leave Used above it).
	Remaining int64 `json:"remaining"`
	// Start and End bound the window, [Start, End), in UTC.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// QuotaUsage returns subject's usage of p's quota in the window containing
// now, for an admin view. It counts nothing. A plan without a valid Quota is
// an errdefs.ErrInvalidArgument or ErrValidation.
func (e *Enforcer) QuotaUsage(ctx context.Context, subject Subject, p Plan, now time.Time) (Usage, error) {
	if subject.Key == "" {
		return Usage{}, errdefs.New(errdefs.ErrInvalidArgument, "usage plan %q: subject key must not be empty", p.Name)
	}
	if p.Quota == nil {
		return Usage{}, errdefs.New(errdefs.ErrInvalidArgument, "usage plan %q has no quota", p.Name)
	}
	q := *p.Quota
	if err := q.Validate(); err != nil {
		return Usage{}, fmt.Errorf("usage plan %q: %w", p.Name, err)
	}
	start, end := Window(q.Period, now)
	used, err := e.quotas.Used(ctx, quotaKey(p.Name, subject.Key, q.Period), start)
	if err != nil {
		return Usage{}, fmt.Errorf("usage plan %q: %w", p.Name, err)
	}
	limit := q.LimitAt(subject.Since, now)
	return Usage{Limit: limit, Used: used, Remaining: max(0, limit-used), Start: start, End: end}, nil
}

// bucketKey is the Limiter key of a subject's plan throttle; a route's adds
// " " and the route key. Quoting makes the parts unambiguous whatever they
// contain.
func bucketKey(plan, subject string) string {
	return strconv.Quote(plan) + " " + strconv.Quote(subject)
}

// quotaKey is the QuotaStore key of a subject's quota in a plan. The period
// is part of it, so that a plan changed from DAY to MONTH does not carry the
// day's count into the month that starts with it.
func quotaKey(plan, subject, period string) string {
	return bucketKey(plan, subject) + " " + period
}

// SubjectFragment is a substring of every QuotaStore key of subject's
// counters, in any plan and period, and of no other subject's: the plan and
// subject are quoted (any '"' inside escaped), so a space, a quote, the
// subject and a quote and a space only occur around the subject.
func SubjectFragment(subject string) string {
	return " " + strconv.Quote(subject) + " "
}
