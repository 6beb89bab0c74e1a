package e2e

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

var metricsLine = regexp.MustCompile(`msg=metrics addr=(http://\S+/metrics)`)

// TestMetricsScrape scrapes /metrics after invocations of three tenants, one
// of them named with --metrics-tenant, and reads it with Prometheus's own
// text parser.
func TestMetricsScrape(t *testing.T) {
	t.Parallel()
	s := startServerArgs(t, t.TempDir(), "--metrics-addr", "127.0.0.1:0", "--metrics-tenant", "blue")
	s.waitOutput(10*time.Second, "msg=metrics")
	m := metricsLine.FindStringSubmatch(s.output.String())
	if m == nil {
		t.Fatalf("the server did not say where its metrics are:\n%s", s.output)
	}
	c := s.client()
	createGo(t, c, "measured", "counter", true, 10)
	for _, tenant := range []string{"blue", "red", "green", "red"} {
		invokeCounter(t, c, "measured", tenant)
	}
	resp, err := http.Get(m[1])
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("Prometheus cannot parse /metrics: %v\n%s", err, body)
	}
	got := map[string]float64{}
	for _, metric := range families["bulkhead_invocations_total"].GetMetric() {
		labels := map[string]string{}
		for _, l := range metric.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["function"] == "measured" && labels["outcome"] == "success" {
			got[labels["tenant"]] += metric.GetCounter().GetValue()
		}
	}
	if len(got) != 2 || got["blue"] != 1 || got["other"] != 3 {
		t.Errorf("invocations by tenant = %v, want blue 1 and other 3 (red and green are not named)", got)
	}
	cold := families["bulkhead_cold_starts_total"]
	inits := families["bulkhead_init_duration_seconds"]
	envs := families["bulkhead_environments"]
	if cold == nil || inits == nil || envs == nil || len(envs.GetMetric()) != 3 {
		t.Fatalf("missing families in:\n%s", body)
	}
	for _, name := range []string{"bulkhead_event_queue_depth", "bulkhead_evictions", "bulkhead_environment_memory_megabytes", "bulkhead_invocation_duration_seconds"} {
		if families[name] == nil {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	if n := inits.GetMetric()[0].GetHistogram().GetSampleCount(); n < 1 {
		t.Errorf("init duration observations = %d, want at least one", n)
	}
}
