package tracing

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/protobuf/encoding/protowire"
)

// exporter posts spans to an OTLP/HTTP collector as protobuf
// (opentelemetry-proto's ExportTraceServiceRequest). It is written here, on
// protowire, rather than taken from otlptracehttp: that exporter brings gRPC
// and the protobuf runtime's registries into the binary, and every sandbox
// start re-executes this binary, paying their package initialisation (about
// 7 ms measured, docs/dependencies.md). The encoding is tested against the
// official generated types.
type exporter struct {
	url     string
	client  *http.Client
	headers map[string]string
	stopped atomic.Bool
}

// errStopped is what an export after Shutdown returns.
var errStopped = errors.New("otlp exporter is shut down")

// ExportSpans sends one batch.
func (e *exporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if e.stopped.Load() {
		return errStopped
	}
	if len(spans) == 0 {
		return nil
	}
	body := encodeRequest(spans)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	for k, v := range e.headers {
		req.Header.Set(k, v)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return fmt.Errorf("otlp export: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // so the connection is reused
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("otlp export: the collector answered %s", resp.Status)
	}
	return nil
}

// Shutdown stops exporting; the provider flushes before calling it.
func (e *exporter) Shutdown(ctx context.Context) error {
	e.stopped.Store(true)
	e.client.CloseIdleConnections()
	return nil
}

// encodeRequest encodes spans as an ExportTraceServiceRequest, one
// ResourceSpans per resource and one ScopeSpans per instrumentation scope, in
// the order the spans come.
func encodeRequest(spans []sdktrace.ReadOnlySpan) []byte {
	type scopeKey struct {
		resource any
		scope    instrumentation.Scope
	}
	var (
		order    []scopeKey
		byScope  = map[scopeKey][]sdktrace.ReadOnlySpan{}
		resOrder []any
		resSeen  = map[any]bool{}
	)
	for _, s := range spans {
		k := scopeKey{resource: s.Resource(), scope: s.InstrumentationScope()}
		if _, ok := byScope[k]; !ok {
			order = append(order, k)
		}
		byScope[k] = append(byScope[k], s)
		if !resSeen[k.resource] {
			resSeen[k.resource] = true
			resOrder = append(resOrder, k.resource)
		}
	}
	var out []byte
	for _, res := range resOrder {
		var rs []byte
		var first sdktrace.ReadOnlySpan
		for _, k := range order {
			if k.resource != res {
				continue
			}
			group := byScope[k]
			if first == nil {
				first = group[0]
			}
			var ss []byte
			var scope []byte
			scope = protowire.AppendTag(scope, 1, protowire.BytesType)
			scope = protowire.AppendString(scope, k.scope.Name)
			if k.scope.Version != "" {
				scope = appendString(scope, 2, k.scope.Version)
			}
			ss = appendMessage(ss, 1, scope)
			for _, s := range group {
				ss = appendMessage(ss, 2, encodeSpan(s))
			}
			if k.scope.SchemaURL != "" {
				ss = appendString(ss, 3, k.scope.SchemaURL)
			}
			rs = appendMessage(rs, 2, ss)
		}
		var resource []byte
		if r := first.Resource(); r != nil {
			for _, kv := range r.Attributes() {
				resource = appendMessage(resource, 1, encodeKeyValue(kv))
			}
		}
		head := appendMessage(nil, 1, resource)
		rs = append(head, rs...)
		if r := first.Resource(); r != nil && r.SchemaURL() != "" {
			rs = appendString(rs, 3, r.SchemaURL())
		}
		out = appendMessage(out, 1, rs)
	}
	return out
}

func encodeSpan(s sdktrace.ReadOnlySpan) []byte {
	sc := s.SpanContext()
	tid, sid := sc.TraceID(), sc.SpanID()
	var b []byte
	b = appendBytes(b, 1, tid[:])
	b = appendBytes(b, 2, sid[:])
	if ts := sc.TraceState().String(); ts != "" {
		b = appendString(b, 3, ts)
	}
	if p := s.Parent(); p.IsValid() {
		pid := p.SpanID()
		b = appendBytes(b, 4, pid[:])
	}
	b = appendString(b, 5, s.Name())
	b = protowire.AppendTag(b, 6, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(s.SpanKind())) // the SDK's kinds number as OTLP's
	b = protowire.AppendTag(b, 7, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, unixNano(s.StartTime()))
	b = protowire.AppendTag(b, 8, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, unixNano(s.EndTime()))
	for _, kv := range s.Attributes() {
		b = appendMessage(b, 9, encodeKeyValue(kv))
	}
	b = appendCount(b, 10, s.DroppedAttributes())
	for _, ev := range s.Events() {
		var e []byte
		e = protowire.AppendTag(e, 1, protowire.Fixed64Type)
		e = protowire.AppendFixed64(e, unixNano(ev.Time))
		e = appendString(e, 2, ev.Name)
		for _, kv := range ev.Attributes {
			e = appendMessage(e, 3, encodeKeyValue(kv))
		}
		e = appendCount(e, 4, ev.DroppedAttributeCount)
		b = appendMessage(b, 11, e)
	}
	b = appendCount(b, 12, s.DroppedEvents())
	for _, l := range s.Links() {
		ltid, lsid := l.SpanContext.TraceID(), l.SpanContext.SpanID()
		var e []byte
		e = appendBytes(e, 1, ltid[:])
		e = appendBytes(e, 2, lsid[:])
		for _, kv := range l.Attributes {
			e = appendMessage(e, 4, encodeKeyValue(kv))
		}
		b = appendMessage(b, 13, e)
	}
	b = appendCount(b, 14, s.DroppedLinks())
	var st []byte
	if msg := s.Status().Description; msg != "" {
		st = appendString(st, 2, msg)
	}
	if code := statusCode(s.Status().Code); code != 0 {
		st = protowire.AppendTag(st, 3, protowire.VarintType)
		st = protowire.AppendVarint(st, code)
	}
	b = appendMessage(b, 15, st)
	// flags: the W3C trace flags, and that the parent's remoteness is known.
	flags := uint32(sc.TraceFlags()) | 0x100
	if s.Parent().IsRemote() {
		flags |= 0x200
	}
	b = protowire.AppendTag(b, 16, protowire.Fixed32Type)
	b = protowire.AppendFixed32(b, flags)
	return b
}

// statusCode maps the SDK's status codes (Unset 0, Error 1, Ok 2) onto
// OTLP's (UNSET 0, OK 1, ERROR 2).
func statusCode(c codes.Code) uint64 {
	switch c {
	case codes.Ok:
		return 1
	case codes.Error:
		return 2
	}
	return 0
}

func encodeKeyValue(kv attribute.KeyValue) []byte {
	b := appendString(nil, 1, string(kv.Key))
	return appendMessage(b, 2, encodeValue(kv.Value))
}

// encodeValue encodes an AnyValue.
func encodeValue(v attribute.Value) []byte {
	var b []byte
	switch v.Type() {
	case attribute.BOOL:
		b = protowire.AppendTag(b, 2, protowire.VarintType)
		b = protowire.AppendVarint(b, protowire.EncodeBool(v.AsBool()))
	case attribute.INT64:
		b = protowire.AppendTag(b, 3, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(v.AsInt64()))
	case attribute.FLOAT64:
		b = protowire.AppendTag(b, 4, protowire.Fixed64Type)
		b = protowire.AppendFixed64(b, math.Float64bits(v.AsFloat64()))
	case attribute.BOOLSLICE, attribute.INT64SLICE, attribute.FLOAT64SLICE, attribute.STRINGSLICE:
		var arr []byte
		switch v.Type() {
		case attribute.BOOLSLICE:
			for _, x := range v.AsBoolSlice() {
				arr = appendMessage(arr, 1, encodeValue(attribute.BoolValue(x)))
			}
		case attribute.INT64SLICE:
			for _, x := range v.AsInt64Slice() {
				arr = appendMessage(arr, 1, encodeValue(attribute.Int64Value(x)))
			}
		case attribute.FLOAT64SLICE:
			for _, x := range v.AsFloat64Slice() {
				arr = appendMessage(arr, 1, encodeValue(attribute.Float64Value(x)))
			}
		default:
			for _, x := range v.AsStringSlice() {
				arr = appendMessage(arr, 1, encodeValue(attribute.StringValue(x)))
			}
		}
		b = appendMessage(b, 5, arr)
	default:
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, v.String())
	}
	return b
}

func appendMessage(b []byte, field protowire.Number, msg []byte) []byte {
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendBytes(b, msg)
}

func appendBytes(b []byte, field protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func appendString(b []byte, field protowire.Number, v string) []byte {
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendString(b, v)
}

func appendCount(b []byte, field protowire.Number, n int) []byte {
	if n <= 0 {
		return b
	}
	b = protowire.AppendTag(b, field, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(n))
}

func unixNano(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.UnixNano())
}
