package plan

import (
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
)

// The quota periods API Gateway offers. Windows are calendar periods in UTC
// (see Window).
const (
	PeriodDay   = "DAY"
	PeriodWeek  = "WEEK"
	PeriodMonth = "MONTH"
)

// methods are the HTTP methods a route key may name; ANY is the key of a
// resource method defined for every verb, as in API Gateway.
var methods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "ANY"}

// Plan is a usage plan: the limits one subject (an API key, or a tenant) is
// held to. Its JSON form is API Gateway's (spec/identity-data.md §6.1), with
// the per-method throttles of the plan's API stage lifted to the top.
//
// A nil Throttle or Quota means that limit does not apply. A route without an
// entry in RouteThrottles is held to Throttle alone.
type Plan struct {
	// Name identifies the plan. Buckets and quota counters belong to a
	// (Name, subject) pair, so a subject in two plans is counted in each,
	// and renaming a plan starts its counts afresh.
	Name string `json:"name"`
	// Throttle bounds the subject's request rate over all routes.
	Throttle *Throttle `json:"throttle,omitempty"`
	// Quota bounds the subject's requests per calendar period.
	Quota *Quota `json:"quota,omitempty"`
	// RouteThrottles bound the subject's rate on single routes, keyed
	// "<resource path>/<METHOD>" as API Gateway keys them: "/pets/{id}/GET",
	// "//GET" for the root resource (see RouteKey).
	RouteThrottles map[string]Throttle `json:"routeThrottles,omitempty"`
}

// Throttle is a token bucket: BurstLimit tokens at most, refilled at
// RateLimit tokens a second; each request takes one token or is refused.
//
// The zero Throttle, {0, 0}, is a valid configuration that refuses every
// request: it is how a plan blocks a route or a subject outright. Validate
// rejects the other degenerate buckets: a rate with no room for a token
// (BurstLimit 0), and a bucket that would never refill (RateLimit 0), which
// would admit BurstLimit requests once and then starve.
type Throttle struct {
	// RateLimit is the steady-state rate in requests a second; fractions
	// are allowed (0.5 is one request every two seconds).
	RateLimit float64 `json:"rateLimit"`
	// BurstLimit is the bucket's size: how many requests may arrive at once
	// after the subject has been idle.
	BurstLimit int `json:"burstLimit"`
}

// Quota bounds the requests of a subject in each calendar period.
type Quota struct {
	// Limit is how many requests a period allows.
	Limit int64 `json:"limit"`
	// Offset is subtracted from Limit in the subject's first period only,
	// the one containing Subject.Since.
	Offset int64 `json:"offset"`
	// Period is DAY, WEEK or MONTH.
	Period string `json:"period"`
}

// RouteKey returns the key RouteThrottles uses for a resource's method:
// RouteKey("/pets/{id}", "GET") is "/pets/{id}/GET".
func RouteKey(resourcePath, method string) string { return resourcePath + "/" + method }

// Validate reports every field that breaks a rule, as an errdefs.ErrValidation
// naming the fields by their JSON paths.
func (p Plan) Validate() error {
	var problems []string
	if p.Name == "" {
		problems = append(problems, "name: must not be empty")
	}
	if p.Throttle != nil {
		problems = append(problems, prefix("throttle.", p.Throttle.problems())...)
	}
	if p.Quota != nil {
		problems = append(problems, prefix("quota.", p.Quota.problems())...)
	}
	for _, key := range slices.Sorted(maps.Keys(p.RouteThrottles)) {
		field := fmt.Sprintf("routeThrottles[%q]", key)
		if msg := routeKeyProblem(key); msg != "" {
			problems = append(problems, field+": "+msg)
		}
		problems = append(problems, prefix(field+".", p.RouteThrottles[key].problems())...)
	}
	if len(problems) > 0 {
		return errdefs.New(errdefs.ErrValidation, "usage plan %q: %s", p.Name, strings.Join(problems, "; "))
	}
	return nil
}

// Validate reports a throttle that could never admit a request, other than
// the explicit {0, 0}, as an errdefs.ErrValidation.
func (t Throttle) Validate() error {
	if problems := t.problems(); len(problems) > 0 {
		return errdefs.New(errdefs.ErrValidation, "throttle: %s", strings.Join(problems, "; "))
	}
	return nil
}

// Validate reports the fields of q that break a rule as an
// errdefs.ErrValidation.
func (q Quota) Validate() error {
	if problems := q.problems(); len(problems) > 0 {
		return errdefs.New(errdefs.ErrValidation, "quota: %s", strings.Join(problems, "; "))
	}
	return nil
}

// valid is Validate without the message, for the paths every request takes.
func (t Throttle) valid() bool {
	r, b := t.RateLimit, t.BurstLimit
	return !math.IsNaN(r) && !math.IsInf(r, 0) && r >= 0 && b >= 0 && (r > 0) == (b > 0)
}

func (t Throttle) problems() []string {
	var problems []string
	switch r := t.RateLimit; {
	case math.IsNaN(r) || math.IsInf(r, 0):
		problems = append(problems, fmt.Sprintf("rateLimit: %v is not a finite number", r))
	case r < 0:
		problems = append(problems, fmt.Sprintf("rateLimit: %v must not be negative", r))
	case r > 0 && t.BurstLimit == 0:
		problems = append(problems, fmt.Sprintf("burstLimit: must be at least 1 when rateLimit is above 0 (it is %v), or no request could ever pass", r))
	case r == 0 && t.BurstLimit > 0:
		problems = append(problems, fmt.Sprintf("rateLimit: must be above 0 when burstLimit is above 0 (it is %d), or the bucket would admit %d requests and never refill; set both to 0 to refuse all traffic", t.BurstLimit, t.BurstLimit))
	}
	if t.BurstLimit < 0 {
		problems = append(problems, fmt.Sprintf("burstLimit: %d must not be negative", t.BurstLimit))
	}
	return problems
}

func (q Quota) problems() []string {
	var problems []string
	if q.Limit <= 0 {
		problems = append(problems, fmt.Sprintf("limit: %d must be above 0", q.Limit))
	}
	if q.Offset < 0 {
		problems = append(problems, fmt.Sprintf("offset: %d must not be negative", q.Offset))
	} else if q.Limit > 0 && q.Offset >= q.Limit {
		problems = append(problems, fmt.Sprintf("offset: %d must be less than limit (%d), or the first period would allow nothing", q.Offset, q.Limit))
	}
	switch q.Period {
	case PeriodDay, PeriodWeek, PeriodMonth:
	default:
		problems = append(problems, fmt.Sprintf("period: %q is not one of DAY, WEEK, MONTH", q.Period))
	}
	return problems
}

// A resource path segment is a literal or a path parameter, {name}, or, last
// only, a greedy one, {name+}.
var (
	literalSegment = regexp.MustCompile(`^[A-Za-z0-9._~:@!$&'()*+,;=%-]+$`)
	paramSegment   = regexp.MustCompile(`^\{[A-Za-z0-9._-]+\+?\}$`)
)

// routeKeyProblem says what is wrong with a RouteThrottles key, or "".
func routeKeyProblem(key string) string {
	const form = `must be "<resource path>/<METHOD>", like "/pets/{id}/GET" or "//GET"`
	cut := strings.LastIndexByte(key, '/')
	if cut <= 0 {
		return form
	}
	path, method := key[:cut], key[cut+1:]
	if !slices.Contains(methods, method) {
		return fmt.Sprintf("method %q is not one of %s", method, strings.Join(methods, ", "))
	}
	if path == "/" {
		return ""
	}
	if !strings.HasPrefix(path, "/") {
		return form
	}
	segments := strings.Split(path[1:], "/")
	for i, s := range segments {
		switch {
		case s == "":
			return fmt.Sprintf("resource path %q has an empty segment", path)
		case paramSegment.MatchString(s):
			if strings.HasSuffix(s, "+}") && i != len(segments)-1 {
				return fmt.Sprintf("resource path %q has greedy parameter %s before its last segment", path, s)
			}
		case !literalSegment.MatchString(s):
			return fmt.Sprintf("resource path %q has segment %q, which is neither a literal nor a {parameter}", path, s)
		}
	}
	return ""
}

func prefix(p string, problems []string) []string {
	for i := range problems {
		problems[i] = p + problems[i]
	}
	return problems
}
