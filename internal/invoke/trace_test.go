package invoke

import (
	"regexp"
	"testing"
)

func TestTraceHeader(t *testing.T) {
	const root = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	if got := traceHeader(root, ""); got != root {
		t.Errorf("X-Amzn-Trace-Id passed as %q, want it unchanged", got)
	}
	if got, want := traceHeader("", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
		"Root=1-4bf92f35-77b34da6a3ce929d0e0e4736;Parent=00f067aa0ba902b7;Sampled=1"; got != want {
		t.Errorf("traceparent became %q, want %q", got, want)
	}
	fresh := regexp.MustCompile(`^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Sampled=0$`)
	for _, bad := range [][2]string{{"", ""}, {"Root=1-x\nInjected: yes", ""}, {"no root here", "00-zz-00-01"}, {"", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}} {
		if got := traceHeader(bad[0], bad[1]); !fresh.MatchString(got) {
			t.Errorf("traceHeader(%q, %q) = %q, want a new root", bad[0], bad[1], got)
		}
	}
	if a, b := traceHeader("", ""), traceHeader("", ""); a == b {
		t.Errorf("two new roots are the same: %s", a)
	}
}
