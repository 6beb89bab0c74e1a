// Package plan holds usage plans as API Gateway defines them
// (spec/identity-data.md §6.1, spec/lambda.md §7.4) and enforces them: a
// token-bucket throttle per subject and per route, and a quota per calendar
// period, counted durably.
//
// It owns the Plan type and its validation, the Limiter (throttles, in
// memory), the quota windows, the QuotaStore contract with an in-memory
// implementation, and the Enforcer that applies a plan to one request. It
// does not own where plans and API keys are stored, how a request finds its
// key and plan (x-api-key header or authorizer), the 403 for a missing key,
// the 429 responses on the wire, or a durable QuotaStore (a database backend
// implements the contract); plantest holds the conformance suite every
// QuotaStore passes.
//
// A request through the Enforcer, first refusal wins:
//
//	route throttle ──► plan throttle ──► quota ──► Allowed
//	  (RouteThrottles     (Throttle)      (Quota: counted only
//	   [routeKey])                         when both passed)
//	      │                   │                │
//	      └── Throttled ──────┘                └── QuotaExceeded
//
// Limits:
//
//	nil Throttle or Quota   that limit does not apply
//	Throttle{0, 0}          refuses everything (an explicit block)
//	no RouteThrottles entry the route is held to the plan's Throttle only
//
// Key layout. Every bucket and counter belongs to a (plan name, subject key)
// pair, each quoted with strconv.Quote so that no choice of names makes two
// keys collide:
//
//	Limiter    "gold" "key-1"                   plan throttle
//	           "gold" "key-1" /pets/{id}/GET    route throttle
//	QuotaStore "gold" "key-1" MONTH             with window 2026-03-01T00:00:00Z
//
// Quota windows are calendar periods in UTC (Window). Offset lowers the
// limit in the subject's first window only: the one containing
// Subject.Since, when the plan was attached to the key.
//
// Concurrency: the Limiter has a mutex per shard and never holds two;
// MemoryQuotas has one mutex; the Enforcer has none and holds none across
// calls. No goroutines are started.
package plan
