package plan_test

import (
	"encoding/json"
	"errors"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/gateway/plan"
)

func TestPlanValidate(t *testing.T) {
	t.Parallel()
	valid := func() plan.Plan {
		return plan.Plan{
			Name:     "gold",
			Throttle: &plan.Throttle{RateLimit: 100, BurstLimit: 200},
			Quota:    &plan.Quota{Limit: 10000, Offset: 0, Period: plan.PeriodDay},
			RouteThrottles: map[string]plan.Throttle{
				"/pets/GET":                {RateLimit: 10, BurstLimit: 20},
				"/pets/{id}/GET":           {RateLimit: 0.5, BurstLimit: 1},
				"//GET":                    {RateLimit: 1, BurstLimit: 1},
				"/files/{proxy+}/ANY":      {RateLimit: 1, BurstLimit: 1},
				"/v1/a.b_c-d~e:f/DELETE":   {RateLimit: 1, BurstLimit: 1},
				"/blocked/{thing}/OPTIONS": {},
			},
		}
	}
	tests := []struct {
		name   string
		change func(p *plan.Plan)
		want   string // the message; "" for valid
	}{
		{"Valid", func(*plan.Plan) {}, ""},
		{"NameOnly", func(p *plan.Plan) { *p = plan.Plan{Name: "free"} }, ""},
		{"BlockEverything", func(p *plan.Plan) { p.Throttle = &plan.Throttle{} }, ""},
		{"FractionalRate", func(p *plan.Plan) { p.Throttle = &plan.Throttle{RateLimit: 0.001, BurstLimit: 1} }, ""},
		{"LastOffset", func(p *plan.Plan) { p.Quota.Offset = 9999 }, ""},
		{"Week", func(p *plan.Plan) { p.Quota.Period = plan.PeriodWeek }, ""},
		{"Month", func(p *plan.Plan) { p.Quota.Period = plan.PeriodMonth }, ""},

		{"NoName", func(p *plan.Plan) { p.Name = "" },
			`usage plan "": name: must not be empty`},
		{"NegativeRate", func(p *plan.Plan) { p.Throttle.RateLimit = -1 },
			`usage plan "gold": throttle.rateLimit: -1 must not be negative`},
		{"NaNRate", func(p *plan.Plan) { p.Throttle.RateLimit = math.NaN() },
			`usage plan "gold": throttle.rateLimit: NaN is not a finite number`},
		{"InfiniteRate", func(p *plan.Plan) { p.Throttle.RateLimit = math.Inf(1) },
			`usage plan "gold": throttle.rateLimit: +Inf is not a finite number`},
		{"NegativeBurst", func(p *plan.Plan) { p.Throttle.BurstLimit = -1 },
			`usage plan "gold": throttle.burstLimit: -1 must not be negative`},
		{"RateWithoutBurst", func(p *plan.Plan) { p.Throttle.BurstLimit = 0 },
			`usage plan "gold": throttle.burstLimit: must be at least 1 when rateLimit is above 0 (it is 100), or no request could ever pass`},
		{"BurstWithoutRate", func(p *plan.Plan) { p.Throttle.RateLimit = 0 },
			`usage plan "gold": throttle.rateLimit: must be above 0 when burstLimit is above 0 (it is 200), or the bucket would admit 200 requests and never refill; set both to 0 to refuse all traffic`},
		{"ZeroLimit", func(p *plan.Plan) { p.Quota.Limit = 0 },
			`usage plan "gold": quota.limit: 0 must be above 0`},
		{"NegativeLimit", func(p *plan.Plan) { p.Quota.Limit = -5 },
			`usage plan "gold": quota.limit: -5 must be above 0`},
		{"NegativeOffset", func(p *plan.Plan) { p.Quota.Offset = -1 },
			`usage plan "gold": quota.offset: -1 must not be negative`},
		{"OffsetAtLimit", func(p *plan.Plan) { p.Quota.Offset = 10000 },
			`usage plan "gold": quota.offset: 10000 must be less than limit (10000), or the first period would allow nothing`},
		{"UnknownPeriod", func(p *plan.Plan) { p.Quota.Period = "YEAR" },
			`usage plan "gold": quota.period: "YEAR" is not one of DAY, WEEK, MONTH`},
		{"LowerCasePeriod", func(p *plan.Plan) { p.Quota.Period = "day" },
			`usage plan "gold": quota.period: "day" is not one of DAY, WEEK, MONTH`},
		{"EmptyPeriod", func(p *plan.Plan) { p.Quota.Period = "" },
			`usage plan "gold": quota.period: "" is not one of DAY, WEEK, MONTH`},
		{"RouteWithoutMethod", func(p *plan.Plan) { p.RouteThrottles["/pets"] = plan.Throttle{} },
			`usage plan "gold": routeThrottles["/pets"]: must be "<resource path>/<METHOD>", like "/pets/{id}/GET" or "//GET"`},
		{"RouteLowerCaseMethod", func(p *plan.Plan) { p.RouteThrottles["/pets/get"] = plan.Throttle{} },
			`usage plan "gold": routeThrottles["/pets/get"]: method "get" is not one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, ANY`},
		{"RouteMethodOnly", func(p *plan.Plan) { p.RouteThrottles["GET"] = plan.Throttle{} },
			`usage plan "gold": routeThrottles["GET"]: must be "<resource path>/<METHOD>", like "/pets/{id}/GET" or "//GET"`},
		{"RouteRootWithoutSlash", func(p *plan.Plan) { p.RouteThrottles["/GET"] = plan.Throttle{} },
			`usage plan "gold": routeThrottles["/GET"]: must be "<resource path>/<METHOD>", like "/pets/{id}/GET" or "//GET"`},
		{"RouteRelative", func(p *plan.Plan) { p.RouteThrottles["pets/GET"] = plan.Throttle{} },
			`usage plan "gold": routeThrottles["pets/GET"]: must be "<resource path>/<METHOD>", like "/pets/{id}/GET" or "//GET"`},
		{"RouteEmptySegment", func(p *plan.Plan) { p.RouteThrottles["/pets//GET"] = plan.Throttle{} },
			`usage plan "gold": routeThrottles["/pets//GET"]: resource path "/pets/" has an empty segment`},
		{"RouteBadSegment", func(p *plan.Plan) { p.RouteThrottles["/pe ts/GET"] = plan.Throttle{} },
			`usage plan "gold": routeThrottles["/pe ts/GET"]: resource path "/pe ts" has segment "pe ts", which is neither a literal nor a {parameter}`},
		{"RouteHalfParameter", func(p *plan.Plan) { p.RouteThrottles["/pets/{id/GET"] = plan.Throttle{} },
			`usage plan "gold": routeThrottles["/pets/{id/GET"]: resource path "/pets/{id" has segment "{id", which is neither a literal nor a {parameter}`},
		{"RouteGreedyNotLast", func(p *plan.Plan) { p.RouteThrottles["/{proxy+}/x/GET"] = plan.Throttle{} },
			`usage plan "gold": routeThrottles["/{proxy+}/x/GET"]: resource path "/{proxy+}/x" has greedy parameter {proxy+} before its last segment`},
		{"RouteThrottleInvalid", func(p *plan.Plan) { p.RouteThrottles["/pets/GET"] = plan.Throttle{RateLimit: 5} },
			`usage plan "gold": routeThrottles["/pets/GET"].burstLimit: must be at least 1 when rateLimit is above 0 (it is 5), or no request could ever pass`},
		{"Several", func(p *plan.Plan) {
			p.Throttle.RateLimit = -1
			p.Quota.Period = "HOUR"
			p.RouteThrottles["/b/PUT"] = plan.Throttle{BurstLimit: -2}
			p.RouteThrottles["/a/x"] = plan.Throttle{}
		}, `usage plan "gold": throttle.rateLimit: -1 must not be negative; ` +
			`quota.period: "HOUR" is not one of DAY, WEEK, MONTH; ` +
			`routeThrottles["/a/x"]: method "x" is not one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, ANY; ` +
			`routeThrottles["/b/PUT"].burstLimit: -2 must not be negative`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := valid()
			tt.change(&p)
			err := p.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, errdefs.ErrValidation) {
				t.Fatalf("Validate() = %v, want an ErrValidation", err)
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("Validate() message (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanThrottleAndQuotaValidate(t *testing.T) {
	t.Parallel()
	if err := (plan.Throttle{}).Validate(); err != nil {
		t.Errorf("Throttle{}.Validate() = %v, want nil: {0, 0} is an explicit block", err)
	}
	err := (plan.Throttle{RateLimit: -1, BurstLimit: -1}).Validate()
	if !errors.Is(err, errdefs.ErrValidation) {
		t.Fatalf("Validate() = %v, want an ErrValidation", err)
	}
	if want := "throttle: rateLimit: -1 must not be negative; burstLimit: -1 must not be negative"; err.Error() != want {
		t.Errorf("Validate() = %q, want %q", err, want)
	}
	err = (plan.Quota{Limit: 10, Offset: 10, Period: "MONTH"}).Validate()
	if want := "quota: offset: 10 must be less than limit (10), or the first period would allow nothing"; err == nil || err.Error() != want {
		t.Errorf("Validate() = %v, want %q", err, want)
	}
}

// TestPlanJSON checks that plans read and write API Gateway's camelCase
// shape.
func TestPlanJSON(t *testing.T) {
	t.Parallel()
	const wire = `{"name":"gold","throttle":{"rateLimit":100.5,"burstLimit":200},` +
		`"quota":{"limit":10000,"offset":10,"period":"MONTH"},` +
		`"routeThrottles":{"/pets/GET":{"rateLimit":10,"burstLimit":20}}}`
	want := plan.Plan{
		Name:           "gold",
		Throttle:       &plan.Throttle{RateLimit: 100.5, BurstLimit: 200},
		Quota:          &plan.Quota{Limit: 10000, Offset: 10, Period: plan.PeriodMonth},
		RouteThrottles: map[string]plan.Throttle{"/pets/GET": {RateLimit: 10, BurstLimit: 20}},
	}
	var got plan.Plan
	if err := json.Unmarshal([]byte(wire), &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decoded plan (-want +got):\n%s", diff)
	}
	out, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != wire {
		t.Errorf("encoded plan:\n got %s\nwant %s", out, wire)
	}
	out, err = json.Marshal(plan.Plan{Name: "free"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"name":"free"}`; string(out) != want {
		t.Errorf("encoded plan without limits = %s, want %s", out, want)
	}
}

func TestPlanRouteKey(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ path, method, want string }{
		{"/pets/{id}", "GET", "/pets/{id}/GET"},
		{"/", "POST", "//POST"},
	} {
		got := plan.RouteKey(tt.path, tt.method)
		if got != tt.want {
			t.Errorf("RouteKey(%q, %q) = %q, want %q", tt.path, tt.method, got, tt.want)
		}
		p := plan.Plan{Name: "p", RouteThrottles: map[string]plan.Throttle{got: {}}}
		if err := p.Validate(); err != nil {
			t.Errorf("a plan keyed by RouteKey(%q, %q): %v", tt.path, tt.method, err)
		}
	}
}
