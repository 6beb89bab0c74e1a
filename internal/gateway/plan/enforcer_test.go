package plan_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/gateway/plan"
)

func newEnforcer() *plan.Enforcer {
	return plan.NewEnforcer(plan.NewLimiter(), plan.NewMemoryQuotas())
}

// request is one Check in a scripted test.
type request struct {
	route string
	at    time.Duration
	want  plan.Outcome
}

func runRequests(t *testing.T, e *plan.Enforcer, s plan.Subject, p plan.Plan, requests []request) {
	t.Helper()
	for i, r := range requests {
		got, err := e.Check(t.Context(), s, p, r.route, t0.Add(r.at))
		if err != nil {
			t.Fatalf("request %d (%s at +%v): %v", i, r.route, r.at, err)
		}
		if got != r.want {
			t.Fatalf("request %d (%s at +%v) = %v, want %v", i, r.route, r.at, got, r.want)
		}
	}
}

func usage(t *testing.T, e *plan.Enforcer, s plan.Subject, p plan.Plan, now time.Time) plan.Usage {
	t.Helper()
	u, err := e.QuotaUsage(t.Context(), s, p, now)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestEnforcerThrottledDoesNotConsumeQuota(t *testing.T) {
	t.Parallel()
	e := newEnforcer()
	s := plan.Subject{Key: "key-1"}
	p := plan.Plan{
		Name:     "gold",
		Throttle: &plan.Throttle{RateLimit: 1, BurstLimit: 2},
		Quota:    &plan.Quota{Limit: 100, Period: plan.PeriodDay},
	}
	runRequests(t, e, s, p, []request{
		{"/pets/GET", 0, plan.Allowed},
		{"/pets/GET", 0, plan.Allowed},
		{"/pets/GET", 0, plan.Throttled},
		{"/pets/GET", 0, plan.Throttled},
		{"/pets/GET", 0, plan.Throttled},
		{"/pets/GET", time.Second, plan.Allowed},
	})
	if u := usage(t, e, s, p, t0); u.Used != 3 || u.Remaining != 97 {
		t.Errorf("after 3 allowed and 3 throttled requests: %+v, want 3 used, 97 remaining", u)
	}
}

func TestEnforcerRouteThrottleFirst(t *testing.T) {
	t.Parallel()
	e := newEnforcer()
	s := plan.Subject{Key: "key-1"}
	p := plan.Plan{
		Name:     "gold",
		Throttle: &plan.Throttle{RateLimit: 0.001, BurstLimit: 3},
		Quota:    &plan.Quota{Limit: 100, Period: plan.PeriodDay},
		RouteThrottles: map[string]plan.Throttle{
			"/pets/GET":      {RateLimit: 0.001, BurstLimit: 1},
			"/admin/POST":    {}, // blocked
			"/pets/{id}/GET": {RateLimit: 0.001, BurstLimit: 10},
		},
	}
	runRequests(t, e, s, p, []request{
		{"/pets/GET", 0, plan.Allowed},   // plan: 2 left
		{"/pets/GET", 0, plan.Throttled}, // by the route: the plan's bucket untouched
		{"/admin/POST", 0, plan.Throttled},
		{"/other/GET", 0, plan.Allowed},     // plan: 1 left
		{"/pets/{id}/GET", 0, plan.Allowed}, // route has room; plan: 0 left
		{"/pets/{id}/GET", 0, plan.Throttled},
		{"/other/GET", 0, plan.Throttled},
		{"", 0, plan.Throttled},
	})
	if u := usage(t, e, s, p, t0); u.Used != 3 {
		t.Errorf("quota used %d, want the 3 allowed requests", u.Used)
	}
}

func TestEnforcerQuotaWindows(t *testing.T) {
	t.Parallel()
	e := newEnforcer()
	s := plan.Subject{Key: "key-1"}
	p := plan.Plan{Name: "free", Quota: &plan.Quota{Limit: 3, Period: plan.PeriodDay}}
	midnight := date(2026, 3, 17).Sub(t0) // t0 is 09:30 on the 16th
	runRequests(t, e, s, p, []request{
		{"/GET", 0, plan.Allowed},
		{"/GET", time.Hour, plan.Allowed},
		{"/GET", 2 * time.Hour, plan.Allowed},
		{"/GET", 3 * time.Hour, plan.QuotaExceeded},
		{"/GET", midnight - time.Nanosecond, plan.QuotaExceeded},
		{"/GET", midnight, plan.Allowed}, // a new day
		{"/GET", midnight + 1, plan.Allowed},
		{"/GET", midnight + 2, plan.Allowed},
		{"/GET", midnight + 3, plan.QuotaExceeded},
	})
	got := usage(t, e, s, p, t0.Add(midnight))
	want := plan.Usage{Limit: 3, Used: 3, Remaining: 0, Start: date(2026, 3, 17), End: date(2026, 3, 18)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("QuotaUsage (-want +got):\n%s", diff)
	}
}

func TestEnforcerQuotaOffsetFirstWindowOnly(t *testing.T) {
	t.Parallel()
	e := newEnforcer()
	s := plan.Subject{Key: "key-1", Since: time.Date(2026, 3, 20, 15, 0, 0, 0, time.UTC)}
	p := plan.Plan{Name: "monthly", Quota: &plan.Quota{Limit: 5, Offset: 3, Period: plan.PeriodMonth}}
	count := func(now time.Time) int {
		n := 0
		for range 10 {
			o, err := e.Check(t.Context(), s, p, "", now)
			if err != nil {
				t.Fatal(err)
			}
			if o == plan.Allowed {
				n++
			}
		}
		return n
	}
	if n := count(time.Date(2026, 3, 25, 0, 0, 0, 0, time.UTC)); n != 2 {
		t.Errorf("first month: %d allowed, want limit 5 less offset 3", n)
	}
	if u := usage(t, e, s, p, date(2026, 3, 31)); u.Limit != 2 || u.Remaining != 0 {
		t.Errorf("first month's usage %+v, want limit 2, nothing remaining", u)
	}
	if n := count(date(2026, 4, 1)); n != 5 {
		t.Errorf("second month: %d allowed, want the whole limit 5", n)
	}
	if u := usage(t, e, s, p, date(2026, 5, 1)); u.Limit != 5 || u.Used != 0 || u.Remaining != 5 {
		t.Errorf("third month's usage %+v, want limit 5, nothing used", u)
	}
}

func TestEnforcerSeparateSubjectsAndPlans(t *testing.T) {
	t.Parallel()
	e := newEnforcer()
	th := &plan.Throttle{RateLimit: 0.001, BurstLimit: 1}
	gold := plan.Plan{Name: "gold", Throttle: th, Quota: &plan.Quota{Limit: 10, Period: plan.PeriodDay}}
	silver := plan.Plan{Name: "silver", Throttle: th, Quota: &plan.Quota{Limit: 10, Period: plan.PeriodDay}}
	// Names chosen to collide if keys were joined naively.
	a := plan.Subject{Key: `a" "b`}
	b := plan.Subject{Key: "a"}
	for _, c := range []struct {
		s plan.Subject
		p plan.Plan
	}{{a, gold}, {b, gold}, {a, silver}, {b, silver}} {
		runRequests(t, e, c.s, c.p, []request{{"", 0, plan.Allowed}, {"", 0, plan.Throttled}})
		if u := usage(t, e, c.s, c.p, t0); u.Used != 1 {
			t.Errorf("subject %q in plan %s used %d, want its own 1", c.s.Key, c.p.Name, u.Used)
		}
	}
}

func TestEnforcerThrottleChangeTakesEffect(t *testing.T) {
	t.Parallel()
	e := newEnforcer()
	s := plan.Subject{Key: "key-1"}
	p := plan.Plan{Name: "gold", Throttle: &plan.Throttle{RateLimit: 1, BurstLimit: 5}}
	runRequests(t, e, s, p, []request{{"", 0, plan.Allowed}})
	p.Throttle = &plan.Throttle{} // blocked
	runRequests(t, e, s, p, []request{{"", time.Hour, plan.Throttled}})
	p.Throttle = &plan.Throttle{RateLimit: 1, BurstLimit: 1}
	runRequests(t, e, s, p, []request{{"", time.Hour, plan.Allowed}, {"", time.Hour, plan.Throttled}})
	p.Throttle = nil // unlimited
	runRequests(t, e, s, p, []request{{"", time.Hour, plan.Allowed}, {"", time.Hour, plan.Allowed}})
}

func TestEnforcerConcurrentQuota(t *testing.T) {
	t.Parallel()
	e := newEnforcer()
	s := plan.Subject{Key: "key-1"}
	p := plan.Plan{Name: "gold", Throttle: &plan.Throttle{RateLimit: 1000, BurstLimit: 10000}, Quota: &plan.Quota{Limit: 100, Period: plan.PeriodDay}}
	var (
		wg      sync.WaitGroup
		allowed atomic.Int64
	)
	for range 50 {
		wg.Go(func() {
			for range 10 {
				o, err := e.Check(t.Context(), s, p, "", t0)
				if err != nil {
					t.Error(err)
					return
				}
				if o == plan.Allowed {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if allowed.Load() != 100 {
		t.Errorf("500 requests for a quota of 100: %d allowed", allowed.Load())
	}
}

// failingQuotas is a QuotaStore that cannot reach its database.
type failingQuotas struct{ err error }

func (f failingQuotas) Take(context.Context, string, time.Time, int64, int64) (int64, bool, error) {
	return 0, false, f.err
}

func (f failingQuotas) Used(context.Context, string, time.Time) (int64, error) { return 0, f.err }

func TestEnforcerErrors(t *testing.T) {
	t.Parallel()
	broken := errors.New("database is locked")
	quota := &plan.Quota{Limit: 10, Period: plan.PeriodDay}
	tests := []struct {
		name    string
		quotas  plan.QuotaStore
		subject plan.Subject
		plan    plan.Plan
		route   string
		want    error
	}{
		{"NoSubjectKey", plan.NewMemoryQuotas(), plan.Subject{}, plan.Plan{Name: "p"}, "", errdefs.ErrInvalidArgument},
		{"BadThrottle", plan.NewMemoryQuotas(), plan.Subject{Key: "k"}, plan.Plan{Name: "p", Throttle: &plan.Throttle{RateLimit: 5}}, "", errdefs.ErrValidation},
		{"BadRouteThrottle", plan.NewMemoryQuotas(), plan.Subject{Key: "k"},
			plan.Plan{Name: "p", RouteThrottles: map[string]plan.Throttle{"/x/GET": {BurstLimit: 5}}}, "/x/GET", errdefs.ErrValidation},
		{"BadQuota", plan.NewMemoryQuotas(), plan.Subject{Key: "k"}, plan.Plan{Name: "p", Quota: &plan.Quota{Limit: 10, Period: "YEAR"}}, "", errdefs.ErrValidation},
		{"StoreFails", failingQuotas{broken}, plan.Subject{Key: "k"}, plan.Plan{Name: "p", Quota: quota}, "", broken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := plan.NewEnforcer(plan.NewLimiter(), tt.quotas)
			o, err := e.Check(t.Context(), tt.subject, tt.plan, tt.route, t0)
			if !errors.Is(err, tt.want) || o != 0 {
				t.Errorf("Check = (%v, %v), want no outcome and an error wrapping %q", o, err, tt.want)
			}
		})
	}

	t.Run("CancelledContext", func(t *testing.T) {
		e := newEnforcer()
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		o, err := e.Check(ctx, plan.Subject{Key: "k"}, plan.Plan{Name: "p", Quota: quota}, "", t0)
		if !errors.Is(err, context.Canceled) || o != 0 {
			t.Errorf("Check = (%v, %v), want no outcome and context.Canceled", o, err)
		}
	})
	t.Run("UsageWithoutQuota", func(t *testing.T) {
		_, err := newEnforcer().QuotaUsage(t.Context(), plan.Subject{Key: "k"}, plan.Plan{Name: "p"}, t0)
		if !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("QuotaUsage of a plan without a quota: %v, want ErrInvalidArgument", err)
		}
	})
	t.Run("UsageStoreFails", func(t *testing.T) {
		e := plan.NewEnforcer(plan.NewLimiter(), failingQuotas{broken})
		if _, err := e.QuotaUsage(t.Context(), plan.Subject{Key: "k"}, plan.Plan{Name: "p", Quota: quota}, t0); !errors.Is(err, broken) {
			t.Errorf("QuotaUsage: %v, want the store's error", err)
		}
	})
}

func TestEnforcerOutcome(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		o             plan.Outcome
		name, message string
	}{
		{plan.Allowed, "Allowed", ""},
		{plan.Throttled, "Throttled", "Too Many Requests"},
		{plan.QuotaExceeded, "QuotaExceeded", "Limit Exceeded"},
		{0, "Outcome(0)", ""},
	} {
		if tt.o.String() != tt.name || tt.o.Message() != tt.message {
			t.Errorf("Outcome %d: (%q, %q), want (%q, %q)", int(tt.o), tt.o.String(), tt.o.Message(), tt.name, tt.message)
		}
	}
}

func BenchmarkEnforcerCheck(b *testing.B) {
	e := newEnforcer()
	p := plan.Plan{
		Name:           "gold",
		Throttle:       &plan.Throttle{RateLimit: 1e9, BurstLimit: 1 << 30},
		Quota:          &plan.Quota{Limit: 1 << 62, Period: plan.PeriodMonth},
		RouteThrottles: map[string]plan.Throttle{"/pets/{id}/GET": {RateLimit: 1e9, BurstLimit: 1 << 30}},
	}
	s := plan.Subject{Key: "key-1"}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.Check(context.Background(), s, p, "/pets/{id}/GET", t0); err != nil {
				b.Fatal(err)
			}
		}
	})
}
