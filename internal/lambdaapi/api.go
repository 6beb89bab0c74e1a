package lambdaapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/audit"
	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/function"
	"github.com/bulkhead-dev/bulkhead/internal/gateway"
	"github.com/bulkhead-dev/bulkhead/internal/iam"
	"github.com/bulkhead-dev/bulkhead/internal/invoke"
	"github.com/bulkhead-dev/bulkhead/internal/logs"
	"github.com/bulkhead-dev/bulkhead/internal/sigv4"
	"github.com/bulkhead-dev/bulkhead/internal/tenant"
	"github.com/bulkhead-dev/bulkhead/internal/usage"
	"github.com/bulkhead-dev/bulkhead/internal/uuid"
)

// Request size limits. Lambda refuses larger requests with 413 before doing
// anything else.
const (
	// maxCodeRequest fits a 50 MB zip in base64 inside JSON, as Lambda's
	// CreateFunction and UpdateFunctionCode limit does.
	maxCodeRequest = 70167211
	// maxControlRequest bounds every other control-plane request.
	maxControlRequest = 1 << 20
	// maxInvokeRequest is Lambda's synchronous payload limit, 6 MB.
	maxInvokeRequest = 6291456
	// maxEventPayload is the limit for Event invocations, 1 MB.
	maxEventPayload = 1 << 20
)

// API serves the Lambda REST API.
type API struct {
	registry *function.Registry
	invoker  *invoke.Service
	verifier *sigv4.Verifier
	health   map[string]string
	logs     logs.Store
	usage    usage.Store
	price    usage.Price
	audit    audit.Log
	gateway  *gateway.Gateway
	tenants  *tenant.Registry
	roles    *iam.Registry
	log      *slog.Logger
	mux      *http.ServeMux
}

// Config is what the API serves.
type Config struct {
	Registry *function.Registry
	Invoker  *invoke.Service
	Verifier *sigv4.Verifier
	// Health holds what /healthz reports besides its status (the isolation
	// in force, say).
	Health map[string]string
	// Logs answers log queries; nil: the logs API answers 404.
	Logs logs.Store
	// Usage answers usage queries, costed at Price; nil: 404.
	Usage usage.Store
	Price usage.Price
	// Audit records every control-plane change and refused attempt; nil:
	// none.
	Audit audit.Log
	// Gateway and Tenants serve the tenant and gateway admin API; nil: 404.
	Gateway *gateway.Gateway
	Tenants *tenant.Registry
	// Roles serve the roles admin API; nil: 404.
	Roles *iam.Registry
	Log   *slog.Logger
}

// New returns the Lambda API over registry. Every request except GET /healthz
// must be signed with a key the verifier accepts.
func New(c Config) *API {
	a := &API{registry: c.Registry, invoker: c.Invoker, verifier: c.Verifier, health: c.Health, logs: c.Logs,
		usage: c.Usage, price: c.Price, audit: c.Audit, gateway: c.Gateway, tenants: c.Tenants, roles: c.Roles, log: c.Log}
	a.mux = a.routes()
	return a
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// changes reports whether a request is a control-plane change: a mutating
// method, except invocations, which are the data plane.
func changes(method, op string) bool {
	return method != http.MethodGet && method != http.MethodHead && op != "InvokeFunction" && op != "Unknown"
}

// operation is one API operation's handler. body is the request body, already
// read within the operation's limit and authenticated.
type operation func(w http.ResponseWriter, r *http.Request, body []byte) error

// op adapts an operation: it gives the request an id, reads the body within
// limit, verifies the signature, runs the operation and renders its error, if
// any, in Lambda's shape.
func (a *API) op(name string, limit int64, h operation) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := uuid.New()
		w.Header().Set("X-Amzn-RequestId", id)
		log := a.log.With("op", name, "request_id", id)

		var body []byte
		var err error
		var who sigv4.Identity
		if r.Header.Get("Authorization") == "" {
			// Refuse anonymous callers before reading a body of up to 70 MB.
			_, err = a.verifier.Verify(r, nil)
		} else if body, err = readBody(r, limit, name); err == nil {
			who, err = a.verifier.Verify(r, body)
		}
		authenticated := err == nil
		if err == nil {
			err = h(w, r, body)
		}
		// Every authenticated attempt at a change is audited, before the
		// answer: an acknowledged change is never missing from the log.
		if authenticated && changes(r.Method, name) && a.audit != nil {
			outcome := "ok"
			if err != nil {
				outcome = translate(err).Name
			}
			if aerr := a.audit.Append(r.Context(), audit.Entry{Time: time.Now(), RequestID: id, Principal: who.AccessKeyID,
				Source: r.RemoteAddr, Operation: name, Resource: r.URL.RequestURI(), Outcome: outcome}); aerr != nil {
				log.Error("audit log append failed", "err", aerr)
			}
		}
		if err != nil {
			writeError(w, r, log, err)
		}
	})
}

func readBody(r *http.Request, limit int64, op string) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, tooLarge(limit, op)
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return nil, tooLarge(limit, op)
	}
	if err != nil {
		return nil, errdefs.New(errdefs.ErrInvalidContent, "Could not read the request body: %v", err)
	}
	return body, nil
}

func tooLarge(limit int64, op string) error {
	return errdefs.New(errdefs.ErrTooLarge, "Request must be smaller than %d bytes for the %s operation", limit, op)
}

// decode parses a JSON request body into v; an empty body is an empty object.
func decode(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return errdefs.New(errdefs.ErrInvalidContent, "Could not parse request body into json: %v", err)
	}
	if dec.More() {
		return errdefs.New(errdefs.ErrInvalidContent, "Could not parse request body into json: unexpected data after the JSON object")
	}
	return nil
}

// maxItems reads the MaxItems query parameter: 1–10000, of which at most 50
// are returned per page, as Lambda does.
func maxItems(r *http.Request) (int, error) {
	s := r.URL.Query().Get("MaxItems")
	if s == "" {
		return 50, nil
	}
	n, err := strconv.Atoi(s)
	switch {
	case err != nil:
		return 0, function.ConstraintError(function.Violation(s, "maxItems", "Member must be an integer"))
	case n < 1:
		return 0, function.ConstraintError(function.Violation(n, "maxItems", "Member must have value greater than or equal to 1"))
	case n > 10000:
		return 0, function.ConstraintError(function.Violation(n, "maxItems", "Member must have value less than or equal to 10000"))
	}
	return min(n, 50), nil
}
