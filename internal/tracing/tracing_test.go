package tracing

import (
	"context"
	"encoding/binary"
	"testing"
	"time"
)

func TestParseEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"http://localhost:4318":             "http://localhost:4318/v1/traces",
		"http://localhost:4318/":            "http://localhost:4318/v1/traces",
		"https://otel.example:443/custom/p": "https://otel.example:443/custom/p",
	} {
		got, err := ParseEndpoint(in)
		if err != nil || got != want {
			t.Errorf("ParseEndpoint(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"localhost:4318", "grpc://x:4317", "http://", "::"} {
		if _, err := ParseEndpoint(bad); err == nil {
			t.Errorf("ParseEndpoint(%q) accepted it", bad)
		}
	}
}

func TestNewIsOffWithoutEndpoint(t *testing.T) {
	p, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Enabled() {
		t.Error("tracing is on without an endpoint")
	}
	_, span := p.Tracer("t").Start(context.Background(), "x")
	if span.IsRecording() {
		t.Error("a span records with tracing off")
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Error(err)
	}
	if _, err := New(Config{Endpoint: "http://127.0.0.1:1", SampleRatio: 1.5}); err == nil {
		t.Error("a sample ratio of 1.5 was accepted")
	}
}

func TestXRayIDs(t *testing.T) {
	g := NewXRayIDs()
	fixed := time.Unix(1_700_000_000, 0)
	g.now = func() time.Time { return fixed }
	seen := map[string]bool{}
	for range 1000 {
		tid, sid := g.NewIDs(context.Background())
		if !tid.IsValid() || !sid.IsValid() {
			t.Fatalf("invalid ids %s %s", tid, sid)
		}
		if got := binary.BigEndian.Uint32(tid[:4]); got != uint32(fixed.Unix()) {
			t.Fatalf("trace id %s starts with %d, want the Unix time %d", tid, got, fixed.Unix())
		}
		if seen[tid.String()] {
			t.Fatalf("trace id %s repeated", tid)
		}
		seen[tid.String()] = true
		if s := g.NewSpanID(context.Background(), tid); !s.IsValid() || s == sid {
			t.Fatalf("span id %s invalid or repeated", s)
		}
	}
}
