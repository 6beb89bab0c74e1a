package runtimeapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
)

// DefaultMaxResponseBytes is Lambda's limit on a synchronous response:
// 6 MiB (spec/lambda.md §4).
const DefaultMaxResponseBytes = 6 << 20

// maxErrorBytes bounds the error documents of /error and /init/error.
const maxErrorBytes = 1 << 20

// ErrClosed is returned by WaitInit and Invoke, and rendered as 500 to the
// runtime, once Close has been called.
var ErrClosed = errdefs.New(errdefs.ErrUnavailable, "The execution environment is shutting down.")

// Config configures a Server.
type Config struct {
	// MaxResponseBytes bounds a function's response. A larger one is refused
	// with 413 and the invocation's Result becomes a
	// Function.ResponseSizeTooLarge error. Zero means DefaultMaxResponseBytes.
	MaxResponseBytes int64
	// Logger receives the requests the server refuses (the runtime's protocol
	// violations). nil discards them. Attach the environment's fields
	// (function, tenant, environment id) before passing it.
	Logger *slog.Logger
}

// Invocation is one invocation, as the runtime receives it from GET /next.
type Invocation struct {
	// RequestID names the invocation in the runtime's /response and /error
	// URLs: 1–128 characters of [A-Za-z0-9._-]. The caller makes it unique.
	RequestID string
	// FunctionARN is the ARN as invoked (with its qualifier, if any).
	FunctionARN string
	// TenantID is passed to the runtime, only when non-empty, as
	// Lambda-Runtime-Aws-Tenant-Id. The server gives it no other meaning.
	TenantID string
	// ClientContext is the client context JSON, already decoded from the
	// base64 of X-Amz-Client-Context. Sent only when non-empty.
	ClientContext string
	// CognitoIdentity is a JSON {cognitoIdentityId, cognitoIdentityPoolId}.
	// Sent only when non-empty.
	CognitoIdentity string
	// TraceID is the X-Ray trace header value. Sent only when non-empty.
	TraceID string
	// Payload is the event, sent as the body of GET /next.
	Payload []byte
	// Deadline is when the invocation times out, sent as
	// Lambda-Runtime-Deadline-Ms; it is required (aws-lambda-go fails an
	// invocation without it). The server does not enforce it: the caller's
	// ctx does.
	Deadline time.Time
}

// Result is how the runtime finished an invocation.
type Result struct {
	// Payload is the response body, or the error document for a function
	// error.
	Payload []byte
	// FunctionError reports that the invocation failed: the runtime called
	// /error, its response carried an error trailer, was too large, or was
	// cut off. ErrorType is then set.
	FunctionError bool
	// ErrorType is the Lambda-Runtime-Function-Error-Type header (or trailer),
	// else the errorType of the error document, else "Runtime.Unknown"; or
	// the platform's Function.ResponseSizeTooLarge or Runtime.TruncatedResponse.
	ErrorType string
	// ContentType is the Content-Type the runtime sent with the payload.
	ContentType string
}

// InitError is the runtime's report, through POST /runtime/init/error, that
// it could not initialise. The environment is unusable afterwards.
type InitError struct {
	// ErrorType is the Lambda-Runtime-Function-Error-Type header, else the
	// document's errorType, else "Runtime.Unknown".
	ErrorType string
	// Payload is the error document as the runtime sent it.
	Payload []byte
}

func (e *InitError) Error() string {
	var doc struct {
		Message string `json:"errorMessage"`
	}
	_ = json.Unmarshal(e.Payload, &doc) // a document that is not JSON has no message
	if doc.Message == "" {
		return "runtime init error: " + e.ErrorType
	}
	return "runtime init error: " + e.ErrorType + ": " + doc.Message
}

// Server is one execution environment's Runtime API (2018-06-01): the
// http.Handler its runtime talks to, and the Go API through which the
// environment hands it invocations. One invocation at a time.
//
// Concurrency: one mutex, mu, guards the state and the fields below it.
// Every state change and every close of initDone, closed, a waiter's wake
// and an invocation's done happens with mu held. A waiting GET /next takes
// the invocation itself, under mu, just before writing it, so an invocation
// is never handed to a request whose runtime has hung up meanwhile. The
// package starts no goroutines: it blocks only in its callers' goroutines
// (WaitInit, Invoke) and in the http.Server's handler goroutines (GET /next,
// body reads), and each of those waits selects on closed, so Close releases
// them all, except a body read, which ends when the runtime's connection does.
type Server struct {
	maxResponse int64
	log         *slog.Logger
	mux         *http.ServeMux

	initDone chan struct{} // closed when the state leaves Starting
	closed   chan struct{} // closed when the state becomes Closed

	mu      sync.Mutex
	state   state
	current *invocation // in Queued, Running, Responding and Abandoned
	waiter  *waiter     // a GET /next waiting for an invocation, in Idle
	initErr *InitError  // in InitFailed
}

// invocation is an Invocation between Invoke and its result.
type invocation struct {
	Invocation
	done   chan struct{} // closed, under mu, once result is set
	result Result
}

// waiter is a GET /next waiting in Idle.
type waiter struct {
	// wake is closed, under mu, when the waiter must look at the state
	// again: an invocation is queued, or a newer GET /next took its place.
	wake  chan struct{}
	woken bool
}

func (w *waiter) signal() {
	if !w.woken {
		w.woken = true
		close(w.wake)
	}
}

// New returns a Server in state Starting: it waits for the runtime's first
// GET /next.
func New(cfg Config) *Server {
	s := &Server{
		maxResponse: cfg.MaxResponseBytes,
		log:         cfg.Logger,
		initDone:    make(chan struct{}),
		closed:      make(chan struct{}),
	}
	if s.maxResponse <= 0 {
		s.maxResponse = DefaultMaxResponseBytes
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s.mux = s.routes()
	return s
}

// ServeHTTP implements http.Handler. Serve it without read or write
// timeouts: GET /next waits as long as the environment is idle.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// WaitInit blocks until the runtime has initialised — its first GET /next —
// or reported /init/error, or ctx ends, or Close is called. It returns nil,
// the *InitError, ctx.Err() or ErrClosed.
func (s *Server) WaitInit(ctx context.Context) error {
	select {
	case <-s.initDone:
	case <-s.closed:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.initErr != nil:
		return s.initErr
	case s.state == closed:
		return ErrClosed
	}
	return nil
}

// Invoke hands inv to the runtime — the waiting GET /next returns it, or the
// next one does — and waits for the runtime's /response or /error for it.
// It first waits for initialisation as WaitInit does. Function errors are
// results (Result.FunctionError), not errors.
//
// Invoke does not time out by itself: the caller derives ctx from the
// deadline. When ctx ends first, Invoke returns ctx.Err() and the server is
// Abandoned: it refuses the runtime's late /response (403) and every later
// request and Invoke, and the caller destroys the environment.
//
// Other errors: errdefs.ErrInvalidArgument for an invalid inv (nothing
// changes); errdefs.ErrConflict when another invocation is outstanding or the
// server is Abandoned; the *InitError; ErrClosed.
func (s *Server) Invoke(ctx context.Context, inv Invocation) (Result, error) {
	if err := validate(inv); err != nil {
		return Result{}, err
	}
	if err := s.WaitInit(ctx); err != nil {
		return Result{}, err
	}
	p := &invocation{Invocation: inv, done: make(chan struct{})}
	s.mu.Lock()
	if err := s.transition(evInvoke); err != nil {
		s.mu.Unlock()
		return Result{}, err
	}
	s.current = p
	if s.waiter != nil {
		s.waiter.signal() // it takes p
	}
	s.mu.Unlock()

	select {
	case <-p.done:
		return p.result, nil
	case <-ctx.Done():
	case <-s.closed:
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-p.done: // the result won the race with ctx; it is still a result
		return p.result, nil
	default:
	}
	if s.state == closed {
		return Result{}, ErrClosed
	}
	if err := s.transition(evCancel); err != nil {
		return Result{}, err // cannot happen: p is outstanding, so Cancel is allowed
	}
	s.log.InfoContext(ctx, "invocation abandoned; the environment is unusable", "request_id", p.RequestID, "cause", ctx.Err())
	return Result{}, ctx.Err()
}

// Close moves the server to Closed, for the environment's teardown: the
// waiting GET /next is answered 500, WaitInit and Invoke return ErrClosed,
// and every later request is answered 500. A /response body being uploaded
// is read to its end (or until the runtime's connection is cut, as
// destroying the environment does) and then refused. Close is idempotent.
func (s *Server) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.transition(evClose) // fails only when already Closed
}

// validate checks what the runtime and its client rely on.
func validate(inv Invocation) error {
	if !validRequestID(inv.RequestID) {
		return errdefs.New(errdefs.ErrInvalidArgument, "invalid request id %q: 1-128 characters of [A-Za-z0-9._-]", inv.RequestID)
	}
	if inv.Deadline.IsZero() {
		return errdefs.New(errdefs.ErrInvalidArgument, "invocation %s has no deadline", inv.RequestID)
	}
	return nil
}

// validRequestID reports whether id can be put in a URL path segment and a
// header verbatim, as runtimes do ("." and ".." would be cleaned away).
func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > 128 || id == "." || id == ".." {
		return false
	}
	for _, c := range []byte(id) {
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
		if !ok {
			return false
		}
	}
	return true
}
