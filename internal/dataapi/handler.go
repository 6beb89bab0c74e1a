package dataapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/data/store"
	"github.com/bulkhead-dev/bulkhead/internal/iam/policy"
)

// MaxRequest is the largest request body the handler reads: DynamoDB's
// 16 MB, the limit it documents for BatchWriteItem. A larger body is refused
// with 413 before the request is authenticated.
const MaxRequest = 16 << 20

// targetPrefix is the X-Amz-Target service prefix of DynamoDB's current API.
const targetPrefix = "DynamoDB_20120810."

// Principal is who a request acts for, as the server's authenticator
// resolved it from the request's signature and session token.
type Principal struct {
	// ARN names the caller in AccessDenied messages: the assumed-role ARN
	// of a role session, or the account root.
	ARN string
	// Admin is the admin key: every action is allowed, without policy
	// evaluation, and items are read and written in the service scope.
	Admin bool
	// Tenant is the session's TenantID tag; "" when the session has none,
	// which makes the principal a service principal (store.Scope.Service)
	// that only its policy restricts.
	Tenant string
	// Identity is the role's identity policies; nil or empty allows nothing
	// (unless Admin).
	Identity []*policy.Policy
	// Session is the inline session policy passed at AssumeRole, or nil.
	Session *policy.Policy
	// Context adds the principal's condition keys (aws:PrincipalTag/*,
	// aws:userid, aws:PrincipalArn, ...) to a request's context; nil adds
	// none. The handler adds the request's own keys itself.
	Context func(*policy.Context)
}

// AuthError is what Config.Authenticate's errors implement to be sent to
// the client: the DynamoDB exception name (e.g.
// "UnrecognizedClientException"), its message and the HTTP status. The
// handler writes it as com.amazon.coral.service#<code>, as DynamoDB's front
// end does. Satisfied by the server's authenticator errors.
type AuthError interface {
	DynamoDBError() (code, message string, status int)
}

// Config configures the handler. Store and Authenticate are required.
type Config struct {
	// Store keeps the tables and items.
	Store store.Store
	// Region and Account make table ARNs:
	// arn:aws:dynamodb:<Region>:<Account>:table/<name>.
	Region, Account string
	// Authenticate verifies r, whose body (already read, at most
	// MaxRequest bytes) is body, and returns the principal. An error that
	// implements AuthError is sent to the client as such; any other error
	// is logged and answered with 500 InternalServerError. body is reused
	// after the request: Authenticate must not keep it.
	Authenticate func(r *http.Request, body []byte) (Principal, error)
	// Allow is the per-tenant request rate limiter, asked once per
	// authenticated request with the principal's tenant ("" for service
	// principals and the admin key); false answers ThrottlingException.
	// nil is no limit.
	Allow func(tenant string) bool
	// SkipPolicy — TEST ONLY, NEVER IN A SERVER — skips IAM policy
	// evaluation and the front end's own tenant check on writes, so that a
	// test can show the store's owner check (the second wall) alone keeps
	// tenants apart. With it set, any authenticated principal may call any
	// operation on any table.
	SkipPolicy bool
	// Log receives one record per failed request that is the server's
	// fault (500), with the request id. nil discards.
	Log *slog.Logger
	// Now is the clock for the Date header, aws:CurrentTime and table
	// creation times. nil is time.Now.
	Now func() time.Time
}

// handler serves the DynamoDB JSON protocol (awsJson1_0) for Config.
type handler struct {
	cfg Config
	log *slog.Logger
	ops map[string]operation
	// tables caches parsed table definitions by name; see tableCache.
	tables tableCache
}

// New returns the data API's http.Handler. It panics if cfg lacks Store or
// Authenticate: a handler without them could only fail every request.
func New(cfg Config) http.Handler {
	if cfg.Store == nil || cfg.Authenticate == nil {
		panic("dataapi: Config.Store and Config.Authenticate are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &handler{cfg: cfg, log: cfg.Log}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.ops = h.routes()
	return h
}

// call is one request being served: who it acts for and what it touches.
type call struct {
	h         *handler
	ctx       context.Context
	op        string // "GetItem"
	requestID string
	principal Principal
	scope     store.Scope
	now       time.Time
	// resource is the ARN of the table the operation is working on, for an
	// AccessDenied that the store's owner check raises.
	resource string
	// policyContext is reused between the evaluations of one call.
	policyContext policy.Context
}

// ServeHTTP answers one request. Checks run in DynamoDB's order: method and
// content type, JSON syntax, target, then authentication, rate limit and the
// operation's own validation.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := h.cfg.Now()
	id := requestID()
	hdr := w.Header()
	hdr["X-Amzn-Requestid"] = []string{id}
	hdr["Date"] = []string{now.UTC().Format(http.TimeFormat)}

	body, err := readBody(r)
	if err != nil {
		writeError(w, h.log, id, "", err)
		return
	}
	defer bodies.put(body)

	if r.Method != http.MethodPost || (len(body) > 0 && !jsonContentType(r.Header.Get("Content-Type"))) {
		// What DynamoDB answers a request that is not its protocol.
		writeRaw(w, http.StatusNotFound, "", []byte("<UnknownOperationException/>\n"))
		return
	}
	if len(body) > 0 && !json.Valid(body) {
		writeError(w, h.log, id, "", errSerialization(""))
		return
	}
	opName, fn, err := h.operation(r.Header.Get("X-Amz-Target"))
	if err != nil {
		writeError(w, h.log, id, "", err)
		return
	}
	principal, err := h.cfg.Authenticate(r, body)
	if err != nil {
		writeError(w, h.log, id, opName, authError(err))
		return
	}
	if h.cfg.Allow != nil && !h.cfg.Allow(principal.tenant()) {
		writeError(w, h.log, id, opName, errThrottling)
		return
	}
	if len(body) == 0 {
		writeError(w, h.log, id, opName, errSerialization(""))
		return
	}
	c := &call{h: h, ctx: r.Context(), op: opName, requestID: id, principal: principal, scope: principal.scope(), now: now}
	resp, err := fn(c, body)
	if err != nil {
		writeError(w, h.log, id, opName, c.translate(err))
		return
	}
	writeRaw(w, http.StatusOK, contentType(r.Header.Get("Content-Type")), resp)
}

// operation resolves an X-Amz-Target header to one of the routes.
func (h *handler) operation(target string) (string, operation, error) {
	name, ok := strings.CutPrefix(target, targetPrefix)
	if !ok {
		return "", nil, errUnknownOperation("")
	}
	if fn, ok := h.ops[name]; ok {
		return name, fn, nil
	}
	if unimplemented[name] {
		return "", nil, errUnknownOperation("Bulkhead's data API does not implement " + name + " yet")
	}
	return "", nil, errUnknownOperation("")
}

// tenant is the principal's tenant as the rate limiter sees it: "" for the
// admin key and other service principals.
func (p Principal) tenant() string {
	if p.Admin {
		return ""
	}
	return p.Tenant
}

// scope is the store scope the principal's item operations run in: its
// tenant's, or the service scope for the admin key and principals without a
// tenant.
func (p Principal) scope() store.Scope {
	if t := p.tenant(); t != "" {
		return store.Scope{Tenant: t}
	}
	return store.Scope{Service: true}
}

// readBody reads the request body, refusing one over MaxRequest with 413.
func readBody(r *http.Request) ([]byte, error) {
	if r.ContentLength > MaxRequest {
		return nil, errTooLarge
	}
	b := bytes.NewBuffer(bodies.get(r.ContentLength))
	_, err := b.ReadFrom(io.LimitReader(r.Body, MaxRequest+1))
	if err != nil {
		bodies.put(b.Bytes())
		return nil, errReadBody
	}
	if b.Len() > MaxRequest {
		bodies.put(b.Bytes())
		return nil, errTooLarge
	}
	return b.Bytes(), nil
}

// jsonContentType reports whether a request's Content-Type is one DynamoDB
// reads: its own, or plain JSON.
func jsonContentType(v string) bool {
	media, _, _ := strings.Cut(v, ";")
	media = strings.TrimSpace(media)
	return strings.EqualFold(media, "application/x-amz-json-1.0") || strings.EqualFold(media, "application/json")
}

// contentType is the response's Content-Type: DynamoDB answers in the type
// it was asked in.
func contentType(requested string) string {
	media, _, _ := strings.Cut(requested, ";")
	if strings.EqualFold(strings.TrimSpace(media), "application/json") {
		return "application/json"
	}
	return "application/x-amz-json-1.0"
}

// requestID returns a request id shaped as DynamoDB's: 52 characters of
// upper-case letters and digits. It identifies a request in logs; it is not
// a secret, so the fast generator serves.
func requestID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	var b [52]byte
	for i := 0; i < len(b); {
		v := rand.Uint64()
		for j := 0; j < 10 && i < len(b); j++ {
			b[i] = alphabet[v%uint64(len(alphabet))]
			v /= uint64(len(alphabet))
			i++
		}
	}
	return string(b[:])
}

// bodyPool recycles request body buffers of ordinary size; the occasional
// multi-megabyte batch is left to the garbage collector.
type bodyPool struct{ ch chan []byte }

const pooledBody = 64 << 10

var bodies = bodyPool{ch: make(chan []byte, 64)}

func (p bodyPool) get(contentLength int64) []byte {
	if contentLength > pooledBody {
		// Room for the body and the read that finds its end.
		return make([]byte, 0, contentLength+bytes.MinRead)
	}
	select {
	case b := <-p.ch:
		return b[:0]
	default:
		return make([]byte, 0, pooledBody)
	}
}

func (p bodyPool) put(b []byte) {
	if cap(b) != pooledBody {
		return
	}
	select {
	case p.ch <- b:
	default:
	}
}
