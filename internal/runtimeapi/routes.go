package runtimeapi

import (
	"net/http"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
)

// routes is every route of the Runtime API, on one screen.
func (s *Server) routes() *http.ServeMux {
	m := http.NewServeMux()
	const base = "/2018-06-01/runtime"
	m.Handle("GET "+base+"/invocation/next", s.handle(s.next))
	m.Handle("POST "+base+"/invocation/{id}/response", s.handle(s.response))
	m.Handle("POST "+base+"/invocation/{id}/error", s.handle(s.invocationError))
	m.Handle("POST "+base+"/init/error", s.handle(s.initError))
	// Extensions, telemetry, restore and anything else Bulkhead does not serve.
	m.Handle("/", s.handle(func(_ http.ResponseWriter, r *http.Request) error {
		return errdefs.New(errUnknownPath, "Unknown Runtime API path: %s %s", r.Method, r.URL.Path)
	}))
	return m
}

// handler is one route's handler. It writes its success itself and returns
// any error for handle to render.
type handler func(w http.ResponseWriter, r *http.Request) error

// handle adapts a handler, rendering its error in the Runtime API's shape.
func (s *Server) handle(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}
