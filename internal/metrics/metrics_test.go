package metrics

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// parse reads an exposition with Prometheus's own text parser.
func parse(t *testing.T, r *Registry) map[string]*metricFamily {
	t.Helper()
	var b strings.Builder
	if _, err := r.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(b.String()))
	if err != nil {
		t.Fatalf("Prometheus cannot parse the exposition: %v\n%s", err, b.String())
	}
	out := map[string]*metricFamily{}
	for name, f := range families {
		out[name] = &metricFamily{f.GetType().String(), len(f.GetMetric())}
	}
	return out
}

type metricFamily struct {
	typ    string
	series int
}

// TestMetricsBoundedAt10000Tenants records invocations of 10,000 tenants
// (two of them named) concurrently and checks that the exposition parses,
// and holds the named tenants plus "other" only, with exact sums.
func TestMetricsBoundedAt10000Tenants(t *testing.T) {
	r := New(Options{Tenants: []string{"vip", `quo"te\`}})
	var wg sync.WaitGroup
	for i := range 10000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tenant := fmt.Sprintf("tenant-%d", i)
			switch i {
			case 0:
				tenant = "vip"
			case 1:
				tenant = `quo"te\`
			}
			r.Invocation("f", tenant, "success", time.Duration(i)*time.Microsecond, i%10 == 0)
			answer := "integrated"
			if i%2 == 1 {
				answer = "THROTTLED"
			}
			r.GatewayRequest("GET /pets/{id}", tenant, answer)
			if i%100 == 0 {
				r.Throttle("f", tenant)
			}
		}()
	}
	wg.Wait()
	r.Init("f", 30*time.Millisecond)
	r.Gauge("bulkhead_environments", "Environments by state.", "state", func() map[string]float64 {
		return map[string]float64{"busy": 1, "idle": 2, "blank": 1}
	})
	families := parse(t, r)
	want := map[string]metricFamily{
		"bulkhead_invocations_total":           {"COUNTER", 3},
		"bulkhead_throttles_total":             {"COUNTER", 2}, // vip (i=0) and other
		"bulkhead_cold_starts_total":           {"COUNTER", 2},
		"bulkhead_invocation_duration_seconds": {"HISTOGRAM", 1},
		"bulkhead_init_duration_seconds":       {"HISTOGRAM", 1},
		"bulkhead_environments":                {"GAUGE", 3},
		"bulkhead_gateway_requests_total":      {"COUNTER", 4}, // vip integrated, quo"te throttled, other × 2
	}
	for name, w := range want {
		if got := families[name]; got == nil || *got != w {
			t.Errorf("%s = %+v, want %+v", name, got, w)
		}
	}
	var b strings.Builder
	r.WriteTo(&b)
	for _, line := range []string{
		`bulkhead_invocations_total{function="f",tenant="other",outcome="success"} 9998`,
		`bulkhead_invocations_total{function="f",tenant="vip",outcome="success"} 1`,
		`bulkhead_invocations_total{function="f",tenant="quo\"te\\",outcome="success"} 1`,
		`bulkhead_invocation_duration_seconds_count{function="f"} 10000`,
		`bulkhead_invocation_duration_seconds_bucket{function="f",le="+Inf"} 10000`,
		`bulkhead_invocation_duration_seconds_bucket{function="f",le="0.001"} 1001`,
		`bulkhead_gateway_requests_total{route="GET /pets/{id}",tenant="other",answer="THROTTLED"} 4999`,
	} {
		if !strings.Contains(b.String(), line+"\n") {
			t.Errorf("exposition lacks %s", line)
		}
	}
}
