package server

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// start runs a whole server in-process on free ports.
func start(t *testing.T) (*Server, context.CancelFunc, chan error, *bytes.Buffer) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.APIAddr, cfg.GatewayAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.ShutdownTimeout = 5 * time.Second
	var notice bytes.Buffer
	s, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), func(string) string { return "" }, &notice)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	stopped := make(chan struct{})
	go func() {
		done <- s.Serve(ctx)
		close(stopped)
	}()
	t.Cleanup(func() {
		cancel()
		<-stopped
	})
	return s, cancel, done, &notice
}

func TestServerServesAndShutsDown(t *testing.T) {
	s, cancel, done, notice := start(t)
	if !strings.Contains(notice.String(), "export AWS_SECRET_ACCESS_KEY=") {
		t.Errorf("first start did not show the generated key:\n%s", notice)
	}

	resp, err := http.Get("http://" + s.APIAddr() + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /healthz = %v, %v", resp, err)
	}
	resp.Body.Close()

	resp, err = http.Get("http://" + s.GatewayAddr() + "/anything")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || !strings.Contains(string(body), `"message":"Not Found"`) {
		t.Errorf("gateway = %d %s; want 404 in API Gateway's shape", resp.StatusCode, body)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve returned %v after cancel", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return within 10s of cancel")
	}
	for _, addr := range []string{s.APIAddr(), s.GatewayAddr()} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after shutdown", addr)
		}
	}
}

func TestServerRefusesBusyAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.APIAddr, cfg.GatewayAddr = "127.0.0.1:0", ln.Addr().String()
	_, err = New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), func(string) string { return "" }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "gateway-addr") {
		t.Fatalf("New with a taken gateway address = %v; want an error naming gateway-addr", err)
	}
	// The store was released: a second server can open the same data dir.
	cfg.GatewayAddr = "127.0.0.1:0"
	s, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatalf("reopening after a failed start: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Serve(ctx); err != nil {
		t.Fatal(err)
	}
}
