package invoke

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/bulkhead-dev/bulkhead/internal/pool"
)

// traceparent is a W3C trace context header: version-traceid-parentid-flags.
var traceparent = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$`) })

// wellFormedXRay reports whether h holds only what an X-Amzn-Trace-Id may
// (key=value pairs joined with ';') and is at most 256 bytes long. (A regular
// expression with {1,256} compiles to 256 copies of its class: a cost every
// sandbox init, which re-executes this binary, would pay.)
func wellFormedXRay(h string) bool {
	if len(h) == 0 || len(h) > 256 {
		return false
	}
	for _, c := range []byte(h) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '=' || c == ';' || c == '-' || c == '_' || c == '.' || c == ':':
		default:
			return false
		}
	}
	return true
}

// traceHeader returns the X-Ray trace header an invocation passes to its
// runtime (Lambda-Runtime-Trace-Id, which runtimes export as
// _X_AMZN_TRACE_ID): the caller's X-Amzn-Trace-Id when it sent a well-formed
// one, else its W3C traceparent in X-Ray's form (the same trace id, split as
// X-Ray writes it), else a new root, as Lambda starts one.
func traceHeader(amzn, w3c string) string {
	if wellFormedXRay(amzn) && strings.Contains(amzn, "Root=") {
		return amzn
	}
	if m := traceparent().FindStringSubmatch(strings.ToLower(strings.TrimSpace(w3c))); m != nil {
		sampled := "0"
		if m[3] == "01" {
			sampled = "1"
		}
		return fmt.Sprintf("Root=1-%s-%s;Parent=%s;Sampled=%s", m[1][:8], m[1][8:], m[2], sampled)
	}
	var id [12]byte
	rand.Read(id[:])
	return fmt.Sprintf("Root=1-%08x-%s;Sampled=0", time.Now().Unix(), hex.EncodeToString(id[:]))
}

// AttrTenant is the span attribute naming an invocation's tenant ("" for a
// function without tenancy).
const AttrTenant = "bulkhead.tenant"

// startSpan starts an invocation's span, continuing the caller's trace when
// it sent one: a W3C traceparent, else an X-Amzn-Trace-Id with a Parent.
func (s *Service) startSpan(ctx context.Context, req Request) (context.Context, trace.Span) {
	if parent := remoteParent(req.TraceHeader, req.TraceParent); parent.IsValid() {
		ctx = trace.ContextWithRemoteSpanContext(ctx, parent)
	}
	typ := req.Type
	if typ == "" {
		typ = RequestResponse
	}
	return s.tracer.Start(ctx, "Invoke", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("faas.invocation_type", typ)))
}

// endSpan ends span with the invocation's outcome.
func endSpan(span trace.Span, resp Response, err error) {
	switch {
	case err != nil:
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	case resp.FunctionError != "":
		span.SetStatus(codes.Error, resp.FunctionError)
	}
	span.End()
}

// source says where an invocation's environment came from.
func source(l *pool.Lease) string {
	switch {
	case l.Cold:
		return "new"
	case l.Blank:
		return "blank"
	}
	return "warm"
}

// runtimeTrace is the trace header the runtime gets: when span records,
// its own trace and span in X-Ray's form, so the function's spans are its
// children; otherwise what traceHeader derives from the caller's headers.
func runtimeTrace(span trace.Span, req Request) string {
	sc := span.SpanContext()
	if !span.IsRecording() || !sc.IsValid() {
		return traceHeader(req.TraceHeader, req.TraceParent)
	}
	tid := sc.TraceID().String()
	sampled := "0"
	if sc.IsSampled() {
		sampled = "1"
	}
	return fmt.Sprintf("Root=1-%s-%s;Parent=%s;Sampled=%s", tid[:8], tid[8:], sc.SpanID(), sampled)
}

// The fields of an X-Amzn-Trace-Id a parent is read from.
var (
	xrayRoot = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?:^|;)\s*Root=1-([0-9a-f]{8})-([0-9a-f]{24})\s*(?:;|$)`)
	})
	xrayParent = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?:^|;)\s*Parent=([0-9a-f]{16})\s*(?:;|$)`) })
	xraySample = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?:^|;)\s*Sampled=([01])\s*(?:;|$)`) })
)

// remoteParent is the caller's span: from its W3C traceparent, else from its
// X-Amzn-Trace-Id when that names a Parent. Invalid when it sent neither.
func remoteParent(amzn, w3c string) trace.SpanContext {
	var tid, sid, flags string
	if m := traceparent().FindStringSubmatch(strings.ToLower(strings.TrimSpace(w3c))); m != nil {
		tid, sid, flags = m[1], m[2], m[3]
	} else if r, p := xrayRoot().FindStringSubmatch(amzn), xrayParent().FindStringSubmatch(amzn); r != nil && p != nil {
		tid, sid, flags = r[1]+r[2], p[1], "00"
		if m := xraySample().FindStringSubmatch(amzn); m != nil && m[1] == "1" {
			flags = "01"
		}
	} else {
		return trace.SpanContext{}
	}
	traceID, err1 := trace.TraceIDFromHex(tid)
	spanID, err2 := trace.SpanIDFromHex(sid)
	if err1 != nil || err2 != nil {
		return trace.SpanContext{}
	}
	var tf trace.TraceFlags
	if f, err := strconv.ParseUint(flags, 16, 8); err == nil && f&1 == 1 {
		tf = trace.FlagsSampled
	}
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: spanID, TraceFlags: tf, Remote: true})
}
