package runtimeapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
)

// The Runtime API's headers (spec/lambda.md §3.2, §3.3).
const (
	headerRequestID       = "Lambda-Runtime-Aws-Request-Id"
	headerDeadline        = "Lambda-Runtime-Deadline-Ms"
	headerFunctionARN     = "Lambda-Runtime-Invoked-Function-Arn"
	headerTraceID         = "Lambda-Runtime-Trace-Id"
	headerClientContext   = "Lambda-Runtime-Client-Context"
	headerCognitoIdentity = "Lambda-Runtime-Cognito-Identity"
	headerTenantID        = "Lambda-Runtime-Aws-Tenant-Id"
	// headerErrorType is a header of /error and /init/error, and a trailer
	// of /response when the response failed while it was being sent.
	headerErrorType = "Lambda-Runtime-Function-Error-Type"
	// trailerErrorBody is the base64 of that failure's error document.
	trailerErrorBody = "Lambda-Runtime-Function-Error-Body"

	contentTypeJSON = "application/json"
)

// Error types the platform gives results it makes up (Lambda's and the RIE's
// names).
const (
	errorTypeTooLarge  = "Function.ResponseSizeTooLarge"
	errorTypeTruncated = "Runtime.TruncatedResponse"
	errorTypeUnknown   = "Runtime.Unknown"
)

// next serves GET /runtime/invocation/next: it returns the queued invocation,
// or waits in Idle until Invoke queues one.
func (s *Server) next(w http.ResponseWriter, r *http.Request) error {
	wt := &waiter{wake: make(chan struct{})}
	s.mu.Lock()
	err := s.transition(evNext)
	if err == nil && s.waiter != nil {
		s.waiter.signal() // replaced: its runtime has most likely hung up
		s.waiter = nil
	}
	var p *invocation
	switch {
	case err != nil:
	case s.state == running:
		p = s.current // it was Queued
	default:
		s.waiter = wt // Idle
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if p == nil {
		if p, err = s.wait(r.Context(), wt); p == nil {
			return err
		}
	}
	writeInvocation(w, &p.Invocation)
	return nil
}

// wait blocks a GET /next waiting in Idle until an invocation is queued, and
// takes it. Without one it returns the error to render, or nil when the
// runtime hung up (an invocation queued meanwhile waits for the next
// GET /next).
func (s *Server) wait(ctx context.Context, wt *waiter) (*invocation, error) {
	select {
	case <-wt.wake:
	case <-s.closed:
	case <-ctx.Done():
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.state == closed:
		return nil, ErrClosed
	case s.waiter != wt:
		return nil, errdefs.New(errdefs.ErrConflict, "A newer %s took this one's place.", evNext)
	}
	s.waiter = nil
	if ctx.Err() != nil {
		return nil, nil
	}
	// Woken by Invoke: the state is Queued, or Abandoned (refused) if
	// Invoke's ctx has already ended.
	if err := s.transition(evNext); err != nil {
		return nil, err
	}
	return s.current, nil
}

func writeInvocation(w http.ResponseWriter, inv *Invocation) {
	h := w.Header()
	h.Set(headerRequestID, inv.RequestID)
	h.Set(headerDeadline, strconv.FormatInt(inv.Deadline.UnixMilli(), 10))
	h.Set(headerFunctionARN, inv.FunctionARN)
	setNonEmpty(h, headerTraceID, inv.TraceID)
	setNonEmpty(h, headerClientContext, inv.ClientContext)
	setNonEmpty(h, headerCognitoIdentity, inv.CognitoIdentity)
	setNonEmpty(h, headerTenantID, inv.TenantID)
	h.Set("Content-Type", contentTypeJSON)
	h.Set("Content-Length", strconv.Itoa(len(inv.Payload)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(inv.Payload) // a runtime that hung up now loses the invocation; Invoke's ctx ends it
}

func setNonEmpty(h http.Header, name, value string) {
	if value != "" {
		h.Set(name, value)
	}
}

// response serves POST /runtime/invocation/{id}/response.
func (s *Server) response(w http.ResponseWriter, r *http.Request) error {
	p, err := s.respond(r.PathValue("id"))
	if err != nil {
		return err
	}
	res, refusal := s.readResponse(r)
	if err := s.complete(p, res); err != nil {
		return err
	}
	if refusal != nil {
		return refusal
	}
	writeAccepted(w)
	return nil
}

// readResponse reads a /response body into the invocation's result, and
// returns the refusal to send the runtime instead of 202, if any.
func (s *Server) readResponse(r *http.Request) (Result, error) {
	body, err := readBody(r, s.maxResponse)
	switch {
	case errors.Is(err, errdefs.ErrTooLarge):
		msg := fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", s.maxResponse)
		return failed(errorTypeTooLarge, errorDocument{Message: msg, Type: errorTypeTooLarge}.encode(), contentTypeJSON), err
	case err != nil:
		doc := errorDocument{Message: "The runtime's response was cut off before its end.", Type: errorTypeTruncated}
		return failed(errorTypeTruncated, doc.encode(), contentTypeJSON), err
	}
	// Trailers are known once the body has been read to its end.
	if t := r.Trailer.Get(headerErrorType); t != "" {
		doc, err := base64.StdEncoding.DecodeString(r.Trailer.Get(trailerErrorBody))
		if err != nil || len(doc) == 0 {
			doc = errorDocument{Message: "The function's response failed while it was being sent.", Type: t}.encode()
		}
		return failed(t, doc, contentTypeJSON), nil
	}
	return Result{Payload: body, ContentType: r.Header.Get("Content-Type")}, nil
}

// invocationError serves POST /runtime/invocation/{id}/error.
func (s *Server) invocationError(w http.ResponseWriter, r *http.Request) error {
	p, err := s.respond(r.PathValue("id"))
	if err != nil {
		return err
	}
	doc, errorType, refusal := readErrorDocument(r)
	contentType := r.Header.Get("Content-Type")
	if refusal != nil || contentType == "" {
		contentType = contentTypeJSON
	}
	if err := s.complete(p, failed(errorType, doc, contentType)); err != nil {
		return err
	}
	if refusal != nil {
		return refusal
	}
	writeAccepted(w)
	return nil
}

// initError serves POST /runtime/init/error.
func (s *Server) initError(w http.ResponseWriter, r *http.Request) error {
	doc, errorType, refusal := readErrorDocument(r)
	s.mu.Lock()
	err := s.transition(evInitError)
	if err == nil {
		// Set with mu still held, so WaitInit, woken by the transition,
		// sees it.
		s.initErr = &InitError{ErrorType: errorType, Payload: doc}
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if refusal != nil {
		return refusal
	}
	writeAccepted(w)
	return nil
}

// respond starts the runtime's /response or /error for request id id:
// Running → Responding, so no other response is taken meanwhile.
func (s *Server) respond(id string) (*invocation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// The state is checked first, as the RIE does: a response with no
	// invocation outstanding is a state error whatever its id.
	if s.state == running && s.current.RequestID != id {
		return nil, errdefs.New(errdefs.ErrNotFound, "Invalid request ID")
	}
	if err := s.transition(evRespond); err != nil {
		return nil, err
	}
	return s.current, nil
}

// complete gives res to p's Invoke: Responding → Idle. It fails when the
// invocation was abandoned, or the server closed, while the runtime was
// sending.
func (s *Server) complete(p *invocation, res Result) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.transition(evComplete); err != nil {
		return err
	}
	p.result = res
	close(p.done)
	s.current = nil
	return nil
}

func failed(errorType string, doc []byte, contentType string) Result {
	return Result{Payload: doc, FunctionError: true, ErrorType: errorType, ContentType: contentType}
}

// readErrorDocument reads the body of /error or /init/error, within
// maxErrorBytes. It returns the document, its type, and the refusal to send
// the runtime instead of 202, if any; a document that is too large or cut
// off is replaced by one saying so.
func readErrorDocument(r *http.Request) (doc []byte, errorType string, refusal error) {
	body, err := readBody(r, maxErrorBytes)
	errorType = errorTypeOf(r.Header.Get(headerErrorType), body)
	switch {
	case errors.Is(err, errdefs.ErrTooLarge):
		msg := fmt.Sprintf("The runtime's error document exceeded the maximum allowed size (%d bytes).", maxErrorBytes)
		return errorDocument{Message: msg, Type: errorType}.encode(), errorType, err
	case err != nil:
		msg := "The runtime's error document was cut off before its end."
		return errorDocument{Message: msg, Type: errorType}.encode(), errorType, err
	}
	return body, errorType, nil
}

// errorTypeOf returns the error type a runtime gave: its header, else the
// document's errorType, else Runtime.Unknown.
func errorTypeOf(header string, doc []byte) string {
	if header != "" {
		return header
	}
	var d errorDocument
	if json.Unmarshal(doc, &d) == nil && d.Type != "" {
		return d.Type
	}
	return errorTypeUnknown
}

// readBody reads r's body to its end (so that trailers are known) into a
// buffer that never grows past limit+1 bytes. A body over limit is an
// errdefs.ErrTooLarge error; one that cannot be read to its end (the runtime
// hung up) is errdefs.ErrInvalidContent.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	tooLarge := func() error {
		return errdefs.New(errdefs.ErrTooLarge, "Exceeded maximum allowed payload size (%d bytes).", limit)
	}
	if r.ContentLength > limit {
		return nil, tooLarge()
	}
	size := int64(4 << 10) // aws-lambda-go sends every body chunked, without a length
	if r.ContentLength >= 0 {
		size = r.ContentLength + 1 // room to read EOF without growing
	}
	buf := make([]byte, 0, min(size, limit+1))
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				return nil, tooLarge()
			}
			grown := make([]byte, len(buf), min(2*int64(cap(buf)), limit+1))
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errdefs.New(errdefs.ErrInvalidContent, "HTTP request detected as truncated"), err)
		}
	}
}
