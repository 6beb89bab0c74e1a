package process

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// endpoint serves one sandbox's handler on a loopback port of its own. Its
// Serve goroutine is owned by the sandbox and ends in close. The gate around
// the handler lets close wait for every call in flight and refuse later
// ones, so the handler never runs after Destroy.
type endpoint struct {
	addr   string // host:port
	srv    *http.Server
	served chan struct{} // closed when Serve has returned

	mu       sync.Mutex
	active   int        // handler calls in flight
	closed   bool       // no more calls
	inactive *sync.Cond // signalled when active drops to 0
}

func serve(ctx context.Context, h http.Handler, logger *slog.Logger) (*endpoint, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e := &endpoint{addr: l.Addr().String(), served: make(chan struct{})}
	e.inactive = sync.NewCond(&e.mu)
	e.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { e.serve(h, w, r) }),
		// Headers only: a handler may hold a request as long as it likes
		// (the Runtime API's next invocation does).
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	go func() {
		defer close(e.served)
		e.srv.Serve(l)
	}()
	return e, nil
}

func (e *endpoint) serve(h http.Handler, w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		http.Error(w, "sandbox destroyed", http.StatusServiceUnavailable)
		return
	}
	e.active++
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		if e.active--; e.active == 0 {
			e.inactive.Broadcast()
		}
		e.mu.Unlock()
	}()
	h.ServeHTTP(w, r)
}

// close closes the listener and every connection, which cancels the
// contexts of the requests in flight, and waits for Serve and for every
// handler call to return. A handler that ignores its request's context
// holds Destroy up.
func (e *endpoint) close() {
	e.srv.Close()
	<-e.served
	e.mu.Lock()
	e.closed = true
	for e.active > 0 {
		e.inactive.Wait()
	}
	e.mu.Unlock()
}
