package e2e

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// TestTraceReachesHandler sends a W3C traceparent and an X-Amzn-Trace-Id
// through the Lambda API and checks what aws-lambda-go hands the function.
func TestTraceReachesHandler(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	createGo(t, s.client(), "traced", "handler", true, 10)
	for _, tt := range []struct{ header, value, want string }{
		{"X-Amzn-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"},
		{"Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "Root=1-4bf92f35-77b34da6a3ce929d0e0e4736;Parent=00f067aa0ba902b7;Sampled=1"},
	} {
		resp, body := s.signedRequest("POST", "/2015-03-31/functions/traced/invocations", []byte(`{}`), http.Header{
			"X-Amz-Tenant-Id": {"blue"}, tt.header: {tt.value},
		})
		var echo struct{ TraceID string }
		if resp.StatusCode != 200 || json.Unmarshal(body, &echo) != nil || echo.TraceID != tt.want {
			t.Errorf("with %s: %d %s; want the function to see trace %s", tt.header, resp.StatusCode, body, tt.want)
		}
	}
}

// TestTraceSpansExported runs a server exporting spans to an OTLP/HTTP
// collector in the test (decoding with OpenTelemetry's generated types) and
// checks the span tree of a cold and a warm invocation: its parent is the
// caller's span, every span names the tenant, and the function's trace
// header names the runtime span as its parent.
func TestTraceSpansExported(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var spans []*tracepb.Span
	col := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req coltracepb.ExportTraceServiceRequest
		if r.URL.Path != "/v1/traces" || proto.Unmarshal(body, &req) != nil {
			t.Errorf("collector got %s %s (%d bytes) it cannot decode", r.Method, r.URL.Path, len(body))
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				spans = append(spans, ss.Spans...)
			}
		}
	}))
	defer col.Close()
	s := startServerArgs(t, t.TempDir(), "--trace-endpoint", col.URL)
	createGo(t, s.client(), "traced", "handler", true, 10)

	type call struct{ tenant, traceID, parent string }
	calls := []call{
		{"blue", "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"},
		{"blue", "5bf92f3577b34da6a3ce929d0e0e4736", "10f067aa0ba902b7"},
		{"green", "6bf92f3577b34da6a3ce929d0e0e4736", "20f067aa0ba902b7"},
	}
	seen := make([]string, len(calls)) // the trace header each handler saw
	for i, c := range calls {
		resp, body := s.signedRequest("POST", "/2015-03-31/functions/traced/invocations", []byte(`{}`), http.Header{
			"X-Amz-Tenant-Id": {c.tenant}, "Traceparent": {"00-" + c.traceID + "-" + c.parent + "-01"},
		})
		var echo struct{ TraceID string }
		if resp.StatusCode != 200 || json.Unmarshal(body, &echo) != nil {
			t.Fatalf("invoke %d: %d %s", i, resp.StatusCode, body)
		}
		seen[i] = echo.TraceID
	}
	// An Event invocation: its run, later, continues the accepting trace.
	const eventTrace = "7bf92f3577b34da6a3ce929d0e0e4736"
	resp, body := s.signedRequest("POST", "/2015-03-31/functions/traced/invocations", []byte(`{}`), http.Header{
		"X-Amz-Tenant-Id": {"blue"}, "X-Amz-Invocation-Type": {"Event"}, "Traceparent": {"00-" + eventTrace + "-30f067aa0ba902b7-01"},
	})
	if resp.StatusCode != 202 {
		t.Fatalf("Event invoke: %d %s", resp.StatusCode, body)
	}
	eventSpans := func() (accept, run *tracepb.Span) {
		mu.Lock()
		defer mu.Unlock()
		for _, sp := range spans {
			if hex.EncodeToString(sp.TraceId) != eventTrace || sp.Name != "Invoke" {
				continue
			}
			if hex.EncodeToString(sp.ParentSpanId) == "30f067aa0ba902b7" {
				accept = sp
			} else {
				run = sp
			}
		}
		return accept, run
	}
	deadline := time.Now().Add(20 * time.Second)
	for accept, run := eventSpans(); accept == nil || run == nil; accept, run = eventSpans() {
		if time.Now().After(deadline) {
			t.Fatalf("the Event invocation's spans did not arrive (accepting span %v, run %v)", accept != nil, run != nil)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if accept, run := eventSpans(); !bytes.Equal(run.ParentSpanId, accept.SpanId) {
		t.Errorf("the Event's run has parent %x, want the accepting Invoke span %x", run.ParentSpanId, accept.SpanId)
	}
	if err := s.stop(30 * time.Second); err != nil { // shutdown flushes the spans
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, c := range calls {
		tree := map[string][]*tracepb.Span{} // by name
		for _, sp := range spans {
			if hex.EncodeToString(sp.TraceId) == c.traceID {
				tree[sp.Name] = append(tree[sp.Name], sp)
			}
		}
		one := func(name string) *tracepb.Span {
			if len(tree[name]) != 1 {
				t.Fatalf("call %d: %d %q spans in its trace, want 1 (trace: %v)", i, len(tree[name]), name, tree)
			}
			return tree[name][0]
		}
		inv := one("Invoke")
		if got := hex.EncodeToString(inv.ParentSpanId); got != c.parent || inv.Kind != tracepb.Span_SPAN_KIND_SERVER {
			t.Errorf("call %d: Invoke's parent %s kind %v, want the caller's %s and SERVER", i, got, inv.Kind, c.parent)
		}
		for _, name := range []string{"admission", "runtime", "response"} {
			sp := one(name)
			if !bytes.Equal(sp.ParentSpanId, inv.SpanId) {
				t.Errorf("call %d: %s is not a child of Invoke", i, name)
			}
		}
		for _, sp := range []*tracepb.Span{inv, one("admission"), one("runtime"), one("response")} {
			if got := stringAttr(sp, "bulkhead.tenant"); got != c.tenant {
				t.Errorf("call %d: span %s has tenant %q, want %q", i, sp.Name, got, c.tenant)
			}
		}
		cold := len(tree["environment.start"]) == 1
		wantSource := map[bool][]string{true: {"new"}, false: {"warm", "blank"}}[cold]
		if got := stringAttr(one("admission"), "bulkhead.environment.source"); !slices.Contains(wantSource, got) {
			t.Errorf("call %d: environment source %q, want one of %v", i, got, wantSource)
		}
		if cold && !bytes.Equal(tree["environment.start"][0].ParentSpanId, one("admission").SpanId) {
			t.Errorf("call %d: environment.start is not a child of admission", i)
		}
		rt := one("runtime")
		want := "Root=1-" + c.traceID[:8] + "-" + c.traceID[8:] + ";Parent=" + hex.EncodeToString(rt.SpanId) + ";Sampled=1"
		if seen[i] != want {
			t.Errorf("call %d: the function saw trace %q, want %q (the runtime span as parent)", i, seen[i], want)
		}
	}
	// The second call of blue reused the first one's environment.
	for _, sp := range spans {
		if sp.Name == "admission" && hex.EncodeToString(sp.TraceId) == calls[1].traceID {
			if got := stringAttr(sp, "bulkhead.environment.source"); got != "warm" {
				t.Errorf("blue's second call came from a %q environment, want warm", got)
			}
		}
	}
}

func stringAttr(sp *tracepb.Span, key string) string {
	for _, kv := range sp.Attributes {
		if kv.Key == key {
			return kv.Value.GetStringValue()
		}
	}
	return ""
}
