package sandbox

import (
	"log"
	"net"
	"net/http"
	"sync"
	"time"
)

// Endpoint serves a sandbox's Spec.Endpoint handler, for drivers. Its gate
// lets Close wait for every handler call in flight and refuse later ones, so
// the handler never runs after Destroy, as the contract requires. Its Serve
// goroutine is owned by the Endpoint and ends in Close.
type Endpoint struct {
	addr   string
	srv    *http.Server
	served chan struct{} // closed when Serve has returned

	mu       sync.Mutex
	active   int        // handler calls in flight
	closed   bool       // no more calls
	inactive *sync.Cond // signalled when active drops to 0
}

// ServeEndpoint serves h on l until Close. errorLog receives the HTTP
// server's own errors (nil: the standard logger).
func ServeEndpoint(l net.Listener, h http.Handler, errorLog *log.Logger) *Endpoint {
	e := &Endpoint{addr: l.Addr().String(), served: make(chan struct{})}
	e.inactive = sync.NewCond(&e.mu)
	e.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { e.serve(h, w, r) }),
		// Headers only: a handler may hold a request as long as it likes
		// (the Runtime API's next invocation does).
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          errorLog,
	}
	go func() {
		defer close(e.served)
		e.srv.Serve(l)
	}()
	return e
}

// Addr is the listener's address, host:port.
func (e *Endpoint) Addr() string { return e.addr }

func (e *Endpoint) serve(h http.Handler, w http.ResponseWriter, r *http.Request) {
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

// Close closes the listener and every connection, which cancels the
// contexts of the requests in flight, and waits for Serve and for every
// handler call to return. A handler that ignores its request's context holds
// Close up.
func (e *Endpoint) Close() {
	e.srv.Close()
	<-e.served
	e.mu.Lock()
	e.closed = true
	for e.active > 0 {
		e.inactive.Wait()
	}
	e.mu.Unlock()
}

// ValidID reports whether id keeps the rule of Spec.ID — 1 to 64 characters
// of [a-z0-9-] — which also makes it a safe single path element.
func ValidID(id string) bool {
	if len(id) < 1 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
