package sts

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/tenant"
	"github.com/bulkhead-dev/bulkhead/internal/uuid"
)

// APIVersion is the only STS API version the Handler speaks.
const APIVersion = "2011-06-15"

// MaxRequestBytes bounds an STS request body; the largest valid AssumeRole
// (50 tags at their limits and a 2,048-character policy, form-encoded) is far
// smaller.
const MaxRequestBytes = 64 << 10

// Role is what AssumeRole needs to know of a role.
type Role struct {
	Name string // without the path; the assumed-role ARN's middle element
	ARN  string // arn:aws:iam::<account>:role/<path><name>
	ID   string // the role's unique id (AROA…)
	// MaxSessionDuration is the longest session AssumeRole grants for the
	// role (AWS allows one to twelve hours); zero means one hour.
	MaxSessionDuration time.Duration
}

// Options are the Handler's dependencies.
type Options struct {
	AccountID string // the account of every role and session; must equal Authenticator.AccountID
	Region    string // the region callers sign for; must equal Authenticator.Region
	Issuer    *Issuer
	// Authenticator authenticates every request (service "sts").
	Authenticator *Authenticator
	// Roles looks a role up by its ARN, false when there is none.
	Roles func(arn string) (Role, bool)
	// Authorize decides whether a session may perform action
	// ("sts:AssumeRole", "sts:TagSession") on resource (the role's ARN); nil
	// denies every session. The admin key is never asked about.
	Authorize func(caller Caller, action, resource string) error
	// ValidatePolicy checks a session policy (compacted JSON) before it is
	// sealed into a token; its error's message, or errdefs.Message's, is
	// shown to the caller as MalformedPolicyDocument. nil checks the JSON
	// syntax only.
	ValidatePolicy func(policy []byte) error
	Now            func() time.Time // nil: time.Now
	Logger         *slog.Logger     // nil: discard
}

// Handler serves the STS API — AssumeRole and GetCallerIdentity — in the AWS
// Query protocol (form POST, or GET with a query string), so the AWS SDKs'
// STS clients work against it unmodified.
//
// AssumeRole's parameters and what it does with them:
//
//	RoleArn            a role Roles knows, else AccessDenied
//	RoleSessionName    2-64 characters [\w+=,.@-]
//	DurationSeconds    900 to the role's maximum, default 3600; at most 3600
//	                   when a session assumes a role (role chaining)
//	Policy             ≤ 2048 characters, checked by ValidatePolicy, sealed
//	                   compacted
//	Tags               ≤ 50, keys ≤ 128 and values ≤ 256 characters, each key
//	                   once case-insensitively; needs sts:TagSession
//	TransitiveTagKeys  accepted and ignored: only TenantID carries over, always
//	ExternalId         accepted and ignored: Bulkhead roles have no trust policy
//	MinimumSessionTokenSize  pads the token, ≤ 4096
//	PolicyArns, SerialNumber, TokenCode, SourceIdentity, ProvidedContexts
//	                   refused (ValidationError): not supported
//
// Tenant stickiness: a caller whose session has a TenantID tag obtains only
// sessions of that tenant. Its TenantID is added to the new session's tags,
// and a different TenantID among the requested tags is AccessDenied. A
// chained session also keeps the caller's Environment, so revoking an
// environment's sessions revokes the chain.
type Handler struct {
	opts Options
	log  *slog.Logger
}

var _ http.Handler = (*Handler)(nil)

// NewHandler checks o and returns a Handler.
func NewHandler(o Options) (*Handler, error) {
	switch {
	case o.AccountID == "" || o.Region == "":
		return nil, errors.New("sts: handler needs an account id and a region")
	case o.Issuer == nil || o.Authenticator == nil || o.Roles == nil:
		return nil, errors.New("sts: handler needs an Issuer, an Authenticator and a Roles lookup")
	case o.Authenticator.AccountID != o.AccountID || o.Authenticator.Region != o.Region:
		return nil, fmt.Errorf("sts: the authenticator's account and region (%q, %q) differ from the handler's (%q, %q)",
			o.Authenticator.AccountID, o.Authenticator.Region, o.AccountID, o.Region)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{opts: o, log: log}, nil
}

func (h *Handler) now() time.Time {
	if h.opts.Now != nil {
		return h.opts.Now()
	}
	return time.Now()
}

// ServeHTTP answers one STS request. Every answer carries x-amzn-RequestId
// and a Date header from the Handler's clock, which the SDKs use to correct
// their clock skew.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	requestID := uuid.New()
	w.Header().Set("x-amzn-RequestId", requestID)
	w.Header().Set("Date", h.now().UTC().Format(http.TimeFormat))
	log := h.log.With("request_id", requestID)
	result, err := h.serve(w, r, log)
	if err != nil {
		writeError(w, requestID, err, log)
		return
	}
	writeXML(w, http.StatusOK, result.withRequestID(requestID))
}

// serve authenticates r and runs its action, returning its response or an
// error for writeError.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, log *slog.Logger) (response, error) {
	var raw string
	var body []byte
	switch r.Method {
	case http.MethodPost:
		var err error
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBytes))
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return nil, &apiError{http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", fmt.Sprintf("The request body exceeds %d bytes.", MaxRequestBytes)}
			}
			return nil, &apiError{http.StatusBadRequest, "MalformedQueryString", "The request body could not be read."}
		}
		raw = string(body)
	case http.MethodGet:
		raw = r.URL.RawQuery
	default:
		return nil, &apiError{http.StatusMethodNotAllowed, "InvalidAction", "STS accepts GET and POST requests only."}
	}
	caller, err := h.opts.Authenticator.Authenticate(r, body, "sts")
	if err != nil {
		return nil, err
	}
	log = log.With("caller", caller.ARN)
	params, err := parseParams(raw)
	if err != nil {
		return nil, err
	}
	action, ok := param(params, "Action")
	if !ok || action == "" {
		return nil, &apiError{http.StatusBadRequest, "MissingAction", "Missing Action"}
	}
	version, ok := param(params, "Version")
	if !ok || version == "" {
		version = "NO_VERSION_SPECIFIED"
	}
	if version != APIVersion || (action != "AssumeRole" && action != "GetCallerIdentity") {
		return nil, &apiError{http.StatusBadRequest, "InvalidAction", "Could not find operation " + action + " for version " + version}
	}
	if action == "GetCallerIdentity" {
		return &getCallerIdentityResponse{Result: callerIdentity{Arn: caller.ARN, UserID: caller.UserID, Account: caller.Account}}, nil
	}
	return h.assumeRole(caller, params, log)
}

// assumeRole mints a session of the requested role for caller.
func (h *Handler) assumeRole(caller Caller, params url.Values, log *slog.Logger) (response, error) {
	in, err := parseAssumeRole(params)
	if err != nil {
		return nil, err
	}
	role, ok := h.opts.Roles(in.RoleARN)
	if !ok {
		log.Info("sts: AssumeRole of an unknown role", "role", in.RoleARN)
		return nil, accessDenied(caller, "sts:AssumeRole", in.RoleARN, "")
	}
	if err := h.authorize(caller, "sts:AssumeRole", role.ARN, log); err != nil {
		return nil, err
	}
	if len(in.Tags) > 0 {
		if err := h.authorize(caller, "sts:TagSession", role.ARN, log); err != nil {
			return nil, err
		}
	}

	tags, environment := in.Tags, ""
	if s := caller.Session; s != nil {
		environment = s.Environment
		if sticky, ok := s.Tags.Get(TenantTag); ok {
			if asked, ok := tags.Get(TenantTag); !ok {
				tags = append(tags[:len(tags):len(tags)], Tag{Key: TenantTag, Value: sticky})
			} else if asked != sticky {
				log.Warn("sts: AssumeRole for another tenant refused", "tenant", s.Tenant, "requested_tenant", strconv.Quote(asked))
				return nil, accessDenied(caller, "sts:TagSession", role.ARN,
					" A session with a TenantID tag can only obtain sessions with the same TenantID.")
			}
		}
	}
	var tenantID tenant.ID
	if v, ok := tags.Get(TenantTag); ok && v != "" {
		if tenantID, err = tenant.Parse(v); err != nil {
			msg, _ := errdefs.Message(err)
			return nil, validationError("The TenantID session tag is not a valid tenant ID: " + msg)
		}
	}
	if len(tags) > MaxTags {
		return nil, validationError(fmt.Sprintf("The session would have %d tags with the caller's TenantID; at most %d are allowed.", len(tags), MaxTags))
	}

	duration, err := sessionDuration(in.Duration, role, caller.Session != nil)
	if err != nil {
		return nil, err
	}
	policy, err := h.checkPolicy(in.Policy)
	if err != nil {
		return nil, err
	}

	now := h.now()
	session := Session{
		Account:       h.opts.AccountID,
		RoleName:      role.Name,
		RoleARN:       role.ARN,
		RoleID:        role.ID,
		SessionName:   in.SessionName,
		Tags:          tags,
		SessionPolicy: policy,
		Issued:        now,
		Expires:       now.Add(duration),
		Environment:   environment,
		Tenant:        tenantID,
	}
	creds, size, err := h.opts.Issuer.issue(&session, in.MinimumTokenSize)
	switch {
	case errors.Is(err, errdefs.ErrTooLarge):
		return nil, &apiError{http.StatusBadRequest, "PackedPolicyTooLarge",
			fmt.Sprintf("Packed policy consumes %d%% of allotted space, please use smaller policy for this request.", percent(size))}
	case err != nil:
		// Every parameter was checked above; what is left is the server's
		// own data (the role's), so this is an internal failure.
		return nil, fmt.Errorf("sts: issue a session of %s: %w", role.ARN, err)
	}
	log.Info("sts: session issued", "session", session, "duration", duration)

	result := assumeRoleResult{
		AssumedRoleUser: assumedRoleUser{Arn: session.AssumedRoleARN(), AssumedRoleID: session.AssumedRoleID()},
		Credentials: xmlCredentials{
			AccessKeyID:     creds.AccessKeyID,
			SecretAccessKey: creds.SecretAccessKey,
			SessionToken:    creds.SessionToken,
			Expiration:      creds.Expiration.UTC().Format(time.RFC3339),
		},
		SessionTokenSize:        len(creds.SessionToken),
		SessionTokenUtilization: percent(len(creds.SessionToken)),
	}
	if in.Policy != "" || len(in.Tags) > 0 {
		p := percent(len(creds.SessionToken))
		result.PackedPolicySize = &p
	}
	return &assumeRoleResponse{Result: result}, nil
}

// percent is size as a percentage of MaxTokenSize, rounded up, as STS reports
// PackedPolicySize and SessionTokenUtilization.
func percent(size int) int { return (size*100 + MaxTokenSize - 1) / MaxTokenSize }

// authorize asks Authorize whether caller may perform action on the role;
// the admin key may do anything, a session without Authorize nothing.
func (h *Handler) authorize(caller Caller, action, roleARN string, log *slog.Logger) error {
	if caller.Admin {
		return nil
	}
	if h.opts.Authorize == nil {
		return accessDenied(caller, action, roleARN, "")
	}
	if err := h.opts.Authorize(caller, action, roleARN); err != nil {
		log.Info("sts: not authorized", "action", action, "role", roleARN, "reason", err)
		return accessDenied(caller, action, roleARN, "")
	}
	return nil
}

// sessionDuration applies the defaults and the role's and role chaining's
// limits to the requested duration (0: not given).
func sessionDuration(requested time.Duration, role Role, chained bool) (time.Duration, error) {
	if requested == 0 {
		requested = defaultDuration
	}
	roleMax := role.MaxSessionDuration
	if roleMax <= 0 {
		roleMax = time.Hour
	}
	switch {
	case chained && requested > chainedMax:
		return 0, validationError("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	case requested > roleMax:
		return 0, validationError("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	return requested, nil
}

// checkPolicy compacts and validates a session policy ("" for none).
func (h *Handler) checkPolicy(policy string) (string, error) {
	if policy == "" {
		return "", nil
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(policy)); err != nil {
		return "", &apiError{http.StatusBadRequest, "MalformedPolicyDocument", "Syntax errors in policy."}
	}
	if h.opts.ValidatePolicy != nil {
		if err := h.opts.ValidatePolicy(compact.Bytes()); err != nil {
			msg, ok := errdefs.Message(err)
			if !ok {
				msg = err.Error()
			}
			return "", &apiError{http.StatusBadRequest, "MalformedPolicyDocument", msg}
		}
	}
	return compact.String(), nil
}

// accessDenied is STS's refusal, in its words.
func accessDenied(caller Caller, action, resource, detail string) *apiError {
	return &apiError{http.StatusForbidden, "AccessDenied",
		"User: " + caller.ARN + " is not authorized to perform: " + action + " on resource: " + resource + detail}
}

// writeError renders err as STS's ErrorResponse: an *apiError as it is, an
// authentication error through ForSTS, anything else as InternalFailure.
func writeError(w http.ResponseWriter, requestID string, err error, log *slog.Logger) {
	var e *apiError
	if !errors.As(err, &e) {
		code, message, status := ForSTS(err)
		e = &apiError{status, code, message}
		if status >= http.StatusInternalServerError {
			log.Error("sts: request failed", "err", err)
		}
	}
	log.Info("sts: refused", "code", e.Code, "status", e.Status)
	kind := "Sender"
	if e.Status >= http.StatusInternalServerError {
		kind = "Receiver"
	}
	writeXML(w, e.Status, &errorResponse{
		Error:     errorDetail{Type: kind, Code: e.Code, Message: e.Message},
		RequestID: requestID,
	})
}

func writeXML(w http.ResponseWriter, status int, v any) {
	out, err := xml.Marshal(v)
	if err != nil {
		// Every response is a fixed struct of strings and ints; xml.Marshal
		// does not fail on them.
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = w.Write(out)
}
