package invoke

import (
	"context"
	"regexp"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace/noop"
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

func TestRemoteParent(t *testing.T) {
	for _, c := range []struct {
		name, amzn, w3c string
		trace, span     string // "" when no parent
		sampled         bool
	}{
		{"w3c sampled", "", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", true},
		{"w3c not sampled, other flag bits", "", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0a", "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", false},
		{"w3c wins over x-ray", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", false},
		{"x-ray", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1", "", "5759e988bd862e3fe1be46a994272793", "53995c3f42cd8ad8", true},
		{"x-ray fields in another order", "Sampled=0;Parent=53995c3f42cd8ad8;Root=1-5759e988-bd862e3fe1be46a994272793", "", "5759e988bd862e3fe1be46a994272793", "53995c3f42cd8ad8", false},
		{"x-ray without parent", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1", "", "", "", false},
		{"all-zero w3c ids", "", "00-00000000000000000000000000000000-0000000000000000-01", "", "", false},
		{"garbage", "Root=1-zz;Parent=q", "00-xyz", "", "", false},
		{"none", "", "", "", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			sc := remoteParent(c.amzn, c.w3c)
			if c.trace == "" {
				if sc.IsValid() {
					t.Fatalf("got parent %v, want none", sc)
				}
				return
			}
			if got := sc.TraceID().String(); got != c.trace {
				t.Errorf("trace id %s, want %s", got, c.trace)
			}
			if got := sc.SpanID().String(); got != c.span {
				t.Errorf("span id %s, want %s", got, c.span)
			}
			if sc.IsSampled() != c.sampled || !sc.IsRemote() {
				t.Errorf("sampled %v remote %v, want sampled %v remote true", sc.IsSampled(), sc.IsRemote(), c.sampled)
			}
		})
	}
}

func TestRuntimeTraceIsTheRuntimeSpan(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	_, span := tp.Tracer("t").Start(context.Background(), "runtime")
	defer span.End()
	sc := span.SpanContext()
	tid := sc.TraceID().String()
	want := "Root=1-" + tid[:8] + "-" + tid[8:] + ";Parent=" + sc.SpanID().String() + ";Sampled=1"
	if got := runtimeTrace(span, Request{TraceHeader: "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"}); got != want {
		t.Errorf("runtime trace %q, want %q", got, want)
	}
	// Not recording (tracing off): the caller's header, as before.
	const amzn = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
	_, off := noop.NewTracerProvider().Tracer("t").Start(context.Background(), "runtime")
	if got := runtimeTrace(off, Request{TraceHeader: amzn}); got != amzn {
		t.Errorf("with tracing off the runtime got %q, want the caller's %q", got, amzn)
	}
}
