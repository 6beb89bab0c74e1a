package runtimeapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
)

// failure is how the Runtime API names one kind of error to the runtime:
// a status and the errorType of the body {"errorMessage","errorType"}.
type failure struct {
	Status    int
	ErrorType string
}

// failures is the one table translating error kinds to Runtime API errors.
// The names and statuses are the Runtime Interface Emulator's
// (spec/lambda.md §3.1); a runtime that gets anything but 200 from /next or
// 202 from /response and /error is expected to exit.
var failures = []struct {
	kind error
	failure
}{
	// A request the runtime's state does not allow: /next while it has an
	// invocation, a response when it has none (or a second one), a late
	// response after the invocation was abandoned, /init/error after init.
	{errdefs.ErrConflict, failure{http.StatusForbidden, "InvalidStateTransition"}},
	// A response for a request id other than the one the runtime has.
	{errdefs.ErrNotFound, failure{http.StatusBadRequest, "InvalidRequestID"}},
	{errdefs.ErrTooLarge, failure{http.StatusRequestEntityTooLarge, "RequestEntityTooLarge"}},
	// The body could not be read to its end.
	{errdefs.ErrInvalidContent, failure{http.StatusBadRequest, "TruncatedHTTPRequest"}},
	{errUnknownPath, failure{http.StatusNotFound, "UnknownPath"}},
	// Closed: the environment is going away.
	{errdefs.ErrUnavailable, internalError},
}

var internalError = failure{http.StatusInternalServerError, "InternalServerError"}

var errUnknownPath = errors.New("unknown Runtime API path")

// translate finds the failure for err.
func translate(err error) failure {
	for _, f := range failures {
		if errors.Is(err, f.kind) {
			return f.failure
		}
	}
	return internalError
}

// errorDocument is the body of every error the server writes, and the shape
// of the error documents it makes up for results.
type errorDocument struct {
	Message string `json:"errorMessage"`
	Type    string `json:"errorType"`
}

func (d errorDocument) encode() []byte {
	b, _ := json.Marshal(d) // two strings always marshal
	return b
}

// writeError renders err to the runtime and logs the refusal.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	f := translate(err)
	msg, ok := errdefs.Message(err)
	if !ok {
		msg = "Internal Server Error"
	}
	level := slog.LevelInfo
	if errors.Is(err, ErrClosed) {
		level = slog.LevelDebug
	}
	s.log.Log(r.Context(), level, "runtime API request refused",
		"method", r.Method, "path", r.URL.Path, "status", f.Status, "error_type", f.ErrorType, "err", err)
	writeJSON(w, f.Status, errorDocument{Message: msg, Type: f.ErrorType}.encode())
}

// writeAccepted answers a /response or /error the server took, as the RIE
// does.
func writeAccepted(w http.ResponseWriter) {
	writeJSON(w, http.StatusAccepted, []byte(`{"status":"OK"}`))
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body) // the runtime went away; nothing to do
}
