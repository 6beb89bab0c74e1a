// Package tracing sets up OpenTelemetry tracing for the server: a tracer
// provider exporting spans over OTLP/HTTP when an endpoint is configured, and
// a no-op provider otherwise (the default), so the invocation path pays
// nothing when tracing is off.
//
// Trace ids are X-Ray compatible (the first four bytes are the Unix time in
// seconds), so a trace started here reads the same in an OpenTelemetry
// backend and in the X-Ray header a function's runtime receives.
package tracing

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Config says where spans go.
type Config struct {
	// Endpoint is the OTLP/HTTP collector's base URL, e.g.
	// http://localhost:4318; spans are posted to its /v1/traces unless the
	// URL has a path of its own. Empty: tracing is off.
	Endpoint string
	// SampleRatio is the fraction of new traces recorded (0..1); a trace
	// whose caller sent a sampling decision follows it.
	SampleRatio float64
	// ServiceName names this server in the backend.
	ServiceName string
	// Version is the server's version, as a resource attribute.
	Version string
	// Log receives export failures (a collector that is down).
	Log *slog.Logger
}

// Provider is the server's tracer provider and how to stop it.
type Provider struct {
	trace.TracerProvider
	shutdown func(context.Context) error
}

// Shutdown flushes the spans not yet exported and stops exporting.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p.shutdown == nil {
		return nil
	}
	return p.shutdown(ctx)
}

// Enabled reports whether spans are recorded and exported.
func (p *Provider) Enabled() bool { return p.shutdown != nil }

// ParseEndpoint checks an OTLP/HTTP endpoint and returns the URL spans are
// posted to.
func ParseEndpoint(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("trace endpoint %q is not an http:// or https:// URL", endpoint)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/traces"
	}
	return u.String(), nil
}

// New returns the provider c describes: a no-op one when c.Endpoint is
// empty. Exporting is asynchronous and batched; a collector that is down
// costs dropped spans, never a slower invocation.
func New(c Config) (*Provider, error) {
	if c.Endpoint == "" {
		return &Provider{TracerProvider: noop.NewTracerProvider()}, nil
	}
	endpoint, err := ParseEndpoint(c.Endpoint)
	if err != nil {
		return nil, err
	}
	if c.SampleRatio < 0 || c.SampleRatio > 1 {
		return nil, fmt.Errorf("trace sample ratio %v is not between 0 and 1", c.SampleRatio)
	}
	if c.Log != nil {
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { c.Log.Warn("tracing", "err", err) }))
	}
	exporter := &exporter{url: endpoint, client: &http.Client{Timeout: 10 * time.Second}}
	res, err := resource.Merge(resource.Default(), resource.NewWithAttributes(semconv.SchemaURL,
		semconv.ServiceName(c.ServiceName), semconv.ServiceVersion(c.Version)))
	if err != nil {
		return nil, err
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exporter, sdktrace.WithBatchTimeout(time.Second)),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(c.SampleRatio))),
		sdktrace.WithIDGenerator(NewXRayIDs()),
	)
	return &Provider{TracerProvider: tp, shutdown: tp.Shutdown}, nil
}

// XRayIDs generates trace ids whose first four bytes are the current Unix
// time in seconds, as X-Ray requires of the Root it is given, and random
// span ids.
type XRayIDs struct {
	mu  sync.Mutex
	rnd *rand.Rand
	now func() time.Time
}

// NewXRayIDs returns an id generator seeded from crypto/rand.
func NewXRayIDs() *XRayIDs {
	var seed [32]byte
	crand.Read(seed[:])
	return &XRayIDs{rnd: rand.New(rand.NewChaCha8(seed)), now: time.Now}
}

// NewIDs returns a new trace id and span id.
func (g *XRayIDs) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	var tid trace.TraceID
	binary.BigEndian.PutUint32(tid[:4], uint32(g.now().Unix()))
	g.mu.Lock()
	defer g.mu.Unlock()
	binary.BigEndian.PutUint32(tid[4:8], g.rnd.Uint32())
	binary.BigEndian.PutUint64(tid[8:], g.rnd.Uint64())
	return tid, g.spanLocked()
}

// NewSpanID returns a new span id.
func (g *XRayIDs) NewSpanID(ctx context.Context, traceID trace.TraceID) trace.SpanID {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.spanLocked()
}

func (g *XRayIDs) spanLocked() trace.SpanID {
	var sid trace.SpanID
	for !sid.IsValid() {
		binary.BigEndian.PutUint64(sid[:], g.rnd.Uint64())
	}
	return sid
}
