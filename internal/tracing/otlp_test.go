package tracing

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// collector is an OTLP/HTTP receiver decoding with the official generated
// types, the oracle for the hand-written encoding.
type collector struct {
	mu       sync.Mutex
	requests []*coltracepb.ExportTraceServiceRequest
	status   int
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "bad request line", http.StatusBadRequest)
		return
	}
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests = append(c.requests, &req)
	if c.status != 0 {
		w.WriteHeader(c.status)
	}
}

func (c *collector) spans() []*tracepb.Span {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*tracepb.Span
	for _, r := range c.requests {
		for _, rs := range r.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				out = append(out, ss.Spans...)
			}
		}
	}
	return out
}

func attrs(kvs []*commonpb.KeyValue) map[string]*commonpb.AnyValue {
	m := map[string]*commonpb.AnyValue{}
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

func TestExporterEncodesOTLP(t *testing.T) {
	col := &collector{}
	srv := httptest.NewServer(col)
	defer srv.Close()
	exp := &exporter{url: srv.URL + "/v1/traces", client: srv.Client()}
	res := resource.NewSchemaless(attribute.String("service.name", "bulkhead-test"))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(res))
	tracer := tp.Tracer("scope-a", trace.WithInstrumentationVersion("1.2.3"))

	remote := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		SpanID:  trace.SpanID{1, 1, 1, 1, 1, 1, 1, 1}, TraceFlags: trace.FlagsSampled, Remote: true})
	ctx := trace.ContextWithRemoteSpanContext(context.Background(), remote)
	ctx, root := tracer.Start(ctx, "Invoke", trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
		attribute.String("s", "v"), attribute.Int("i", -42), attribute.Bool("b", true),
		attribute.Float64("f", 1.5), attribute.StringSlice("ss", []string{"x", "y"}), attribute.Int64Slice("is", []int64{1, 2})))
	_, child := tracer.Start(ctx, "runtime")
	child.AddEvent("boom", trace.WithAttributes(attribute.String("why", "test")))
	child.SetStatus(codes.Error, "Unhandled")
	child.End()
	root.SetStatus(codes.Ok, "")
	root.End()
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	spans := col.spans()
	if len(spans) != 2 {
		t.Fatalf("collector got %d spans, want 2", len(spans))
	}
	byName := map[string]*tracepb.Span{}
	for _, s := range spans {
		byName[s.Name] = s
	}
	inv, rt := byName["Invoke"], byName["runtime"]
	if inv == nil || rt == nil {
		t.Fatalf("spans %v", byName)
	}
	rid, tid, psid := root.SpanContext().SpanID(), remote.TraceID(), remote.SpanID()
	if string(inv.TraceId) != string(tid[:]) || string(rt.TraceId) != string(tid[:]) {
		t.Errorf("trace ids %x %x, want %x", inv.TraceId, rt.TraceId, remote.TraceID())
	}
	if string(inv.ParentSpanId) != string(psid[:]) || string(rt.ParentSpanId) != string(rid[:]) || string(inv.SpanId) != string(rid[:]) {
		t.Errorf("parents: Invoke %x (want %x), runtime %x (want %x)", inv.ParentSpanId, remote.SpanID(), rt.ParentSpanId, rid)
	}
	if inv.Kind != tracepb.Span_SPAN_KIND_SERVER || rt.Kind != tracepb.Span_SPAN_KIND_INTERNAL {
		t.Errorf("kinds %v %v", inv.Kind, rt.Kind)
	}
	if inv.StartTimeUnixNano == 0 || inv.EndTimeUnixNano < inv.StartTimeUnixNano {
		t.Errorf("times %d..%d", inv.StartTimeUnixNano, inv.EndTimeUnixNano)
	}
	a := attrs(inv.Attributes)
	if a["s"].GetStringValue() != "v" || a["i"].GetIntValue() != -42 || !a["b"].GetBoolValue() || a["f"].GetDoubleValue() != 1.5 {
		t.Errorf("scalar attributes %v", a)
	}
	if vs := a["ss"].GetArrayValue().GetValues(); len(vs) != 2 || vs[1].GetStringValue() != "y" {
		t.Errorf("string slice %v", a["ss"])
	}
	if vs := a["is"].GetArrayValue().GetValues(); len(vs) != 2 || vs[1].GetIntValue() != 2 {
		t.Errorf("int slice %v", a["is"])
	}
	if rt.Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR || rt.Status.GetMessage() != "Unhandled" || inv.Status.GetCode() != tracepb.Status_STATUS_CODE_OK {
		t.Errorf("statuses %v %v", rt.Status, inv.Status)
	}
	if len(rt.Events) != 1 || rt.Events[0].Name != "boom" || attrs(rt.Events[0].Attributes)["why"].GetStringValue() != "test" {
		t.Errorf("events %v", rt.Events)
	}
	if inv.Flags&0x1 == 0 || inv.Flags&0x300 != 0x300 || rt.Flags&0x300 != 0x100 {
		t.Errorf("flags Invoke %#x runtime %#x: want sampled, remote parent known", inv.Flags, rt.Flags)
	}
	col.mu.Lock()
	rs := col.requests[0].ResourceSpans[0]
	col.mu.Unlock()
	if attrs(rs.Resource.Attributes)["service.name"].GetStringValue() != "bulkhead-test" {
		t.Errorf("resource %v", rs.Resource)
	}
	if sc := rs.ScopeSpans[0].Scope; sc.Name != "scope-a" || sc.Version != "1.2.3" {
		t.Errorf("scope %v", sc)
	}
}

func TestExporterReportsCollectorErrors(t *testing.T) {
	col := &collector{status: http.StatusServiceUnavailable}
	srv := httptest.NewServer(col)
	defer srv.Close()
	exp := &exporter{url: srv.URL + "/v1/traces", client: srv.Client()}
	tp := sdktrace.NewTracerProvider()
	_, s := tp.Tracer("t").Start(context.Background(), "x")
	s.End()
	ro := s.(sdktrace.ReadOnlySpan)
	if err := exp.ExportSpans(context.Background(), []sdktrace.ReadOnlySpan{ro}); err == nil {
		t.Error("a 503 from the collector was not an error")
	}
	exp.Shutdown(context.Background())
	if err := exp.ExportSpans(context.Background(), []sdktrace.ReadOnlySpan{ro}); err != errStopped {
		t.Errorf("export after shutdown: %v", err)
	}
}
