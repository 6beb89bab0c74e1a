package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/dataapi"
	"github.com/bulkhead-dev/bulkhead/internal/execenv"
	"github.com/bulkhead-dev/bulkhead/internal/gateway/plan"
	"github.com/bulkhead-dev/bulkhead/internal/iam"
	"github.com/bulkhead-dev/bulkhead/internal/iam/policy"
	"github.com/bulkhead-dev/bulkhead/internal/invoke"
	"github.com/bulkhead-dev/bulkhead/internal/sandbox"
	"github.com/bulkhead-dev/bulkhead/internal/sts"
	"github.com/bulkhead-dev/bulkhead/internal/tenant"
)

// dataPlane is tenant-scoped data access (issue 8): the STS endpoint, the
// DynamoDB-compatible data API, and each environment's credentials.
//
// An environment whose function's Role names a Bulkhead role gets, on its
// own endpoint (reachable from inside it only):
//
//	GET  /bulkhead/credentials   container credentials for the role, session tags
//	                             TenantID, FunctionName, EnvironmentId
//	POST /                       the data API (X-Amz-Target) and STS (Query form)
//
// and the variables that point the unmodified AWS SDK at them. Credentials
// minted for an environment are accepted only on that environment's
// endpoint, only while it lives, and only for the tenant it serves;
// elsewhere (the public API listener) they are refused as invalid tokens.
type dataPlane struct {
	log     *slog.Logger
	account string
	roles   *iam.Registry
	tenants *tenant.Registry
	// requireRegistered refuses sessions of tenants the registry does not
	// know, as invocations are refused (--require-registered-tenants).
	requireRegistered bool

	issuer *sts.Issuer
	auth   *sts.Authenticator
	sts    *sts.Handler
	data   http.Handler

	envs sync.Map // environment id → *envServices, while the environment lives

	limiter  *plan.Limiter
	throttle plan.Throttle // per tenant, on the data API

	mu sync.Mutex
	// revoked holds, for each deleted tenant, when it was deleted: sessions
	// issued before are refused (a tenant created again under the same id
	// gets new ones).
	revoked map[tenant.ID]time.Time
	// sessionPolicies are parsed inline session policies by their text.
	// The text is the key, so a policy is shared only by sessions that
	// passed the very same document; it holds no tenant state.
	sessionPolicies map[string]*policy.Policy
}

// maxSessionPolicies bounds the parsed session policy cache; it starts
// again empty when full.
const maxSessionPolicies = 1024

// envKey is the context key under which an environment's endpoint passes
// its envServices to the data API and STS.
type envKey struct{}

// envServices are one environment's: its credentials endpoint, once the
// environment knows its tenant.
type envServices struct {
	id, function string
	role         iam.Role
	token        string // AWS_CONTAINER_AUTHORIZATION_TOKEN

	mu     sync.Mutex
	bound  bool
	tenant tenant.ID
	creds  *sts.EnvCredentials
	closed bool
}

// check refuses a session whose environment has ended, or that claims
// another tenant than its environment serves, and sessions of suspended or
// deleted tenants.
func (d *dataPlane) check(s *sts.Session) error {
	if s.Environment != "" {
		v, ok := d.envs.Load(s.Environment)
		if !ok {
			return fmt.Errorf("%w: environment %s has ended", sts.ErrInvalidToken, s.Environment)
		}
		es := v.(*envServices)
		es.mu.Lock()
		bound, t, closed := es.bound, es.tenant, es.closed
		es.mu.Unlock()
		if closed || !bound || t != s.Tenant {
			return fmt.Errorf("%w: not the session of environment %s's tenant", sts.ErrInvalidToken, s.Environment)
		}
	}
	if s.Tenant.IsNone() {
		return nil
	}
	d.mu.Lock()
	revoked, wasRevoked := d.revoked[s.Tenant]
	d.mu.Unlock()
	if wasRevoked && s.Issued.Before(revoked.Add(time.Second)) {
		return fmt.Errorf("%w: tenant %s was deleted", sts.ErrInvalidToken, s.Tenant)
	}
	t, registered := d.tenants.Lookup(s.Tenant)
	switch {
	case registered && t.Created.After(s.Issued.Add(time.Second)): // Issued is whole seconds
		// Issued to an earlier tenant of that id, since deleted.
		return fmt.Errorf("%w: tenant %s was deleted and created again", sts.ErrInvalidToken, s.Tenant)
	case registered && t.Status == tenant.Suspended:
		return fmt.Errorf("%w: tenant %s is suspended", sts.ErrInvalidToken, s.Tenant)
	case !registered && d.requireRegistered:
		return fmt.Errorf("%w: tenant %s is not registered", sts.ErrInvalidToken, s.Tenant)
	}
	return nil
}

// tenantDeleted revokes every session of a deleted tenant issued so far.
func (d *dataPlane) tenantDeleted(id tenant.ID) {
	d.mu.Lock()
	d.revoked[id] = time.Now()
	d.mu.Unlock()
}

// allow is the data API's per-tenant rate limit.
func (d *dataPlane) allow(t string) bool {
	if t == "" || d.throttle.RateLimit <= 0 {
		return true
	}
	return d.limiter.Allow("data\x00"+t, d.throttle, time.Now())
}

// dynamoAuthError is an authentication failure in DynamoDB's words.
type dynamoAuthError struct{ err error }

func (e dynamoAuthError) Error() string { return e.err.Error() }
func (e dynamoAuthError) Unwrap() error { return e.err }

// DynamoDBError implements dataapi.AuthError.
func (e dynamoAuthError) DynamoDBError() (string, string, int) { return sts.ForDynamoDB(e.err) }

// sameEnvironment enforces where credentials may be used: an environment's
// own credentials only on its endpoint, and on an environment's endpoint
// only its own credentials.
func sameEnvironment(ctx context.Context, c sts.Caller) error {
	es, inside := ctx.Value(envKey{}).(*envServices)
	session := ""
	if c.Session != nil {
		session = c.Session.Environment
	}
	switch {
	case inside && session != es.id:
		return fmt.Errorf("%w: only environment %s's own credentials are accepted on its endpoint", sts.ErrInvalidToken, es.id)
	case !inside && session != "":
		return fmt.Errorf("%w: an environment's credentials are accepted only inside it", sts.ErrInvalidToken)
	}
	return nil
}

// authenticateData is the data API's Authenticate.
func (d *dataPlane) authenticateData(r *http.Request, body []byte) (dataapi.Principal, error) {
	c, err := d.auth.Authenticate(r, body, "dynamodb")
	if err == nil {
		err = sameEnvironment(r.Context(), c)
	}
	if err != nil {
		return dataapi.Principal{}, dynamoAuthError{err}
	}
	if c.Admin {
		return dataapi.Principal{Admin: true, ARN: c.ARN}, nil
	}
	s := c.Session
	p := dataapi.Principal{ARN: c.ARN, Tenant: s.Tenant.String(), Context: principalContext(c)}
	if rp, ok := d.roles.Policy(s.RoleName); ok {
		p.Identity = []*policy.Policy{rp}
	}
	if s.SessionPolicy != "" {
		sp, err := d.sessionPolicy(s.SessionPolicy)
		if err != nil {
			// It was validated when the session was issued; a parser that
			// has since grown stricter allows nothing.
			d.log.Warn("session policy no longer parses; the session is allowed nothing", "session", s.ID, "err", err)
			p.Identity = nil
		}
		p.Session = sp
	}
	return p, nil
}

// principalContext adds the session's keys to a request's condition
// context: its tags as aws:PrincipalTag/*, and who it is.
func principalContext(c sts.Caller) func(*policy.Context) {
	s := c.Session
	return func(ctx *policy.Context) {
		for _, t := range s.Tags {
			ctx.Set("aws:PrincipalTag/"+t.Key, t.Value)
		}
		ctx.Set("aws:PrincipalArn", s.RoleARN)
		ctx.Set("aws:userid", c.UserID)
		ctx.Set("aws:PrincipalAccount", s.Account)
		ctx.Set("aws:TokenIssueTime", s.Issued.UTC().Format(time.RFC3339))
		ctx.Set("aws:PrincipalType", "AssumedRole")
	}
}

// sessionPolicy parses an inline session policy, once per distinct text.
func (d *dataPlane) sessionPolicy(text string) (*policy.Policy, error) {
	d.mu.Lock()
	p, ok := d.sessionPolicies[text]
	d.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err := policy.Parse([]byte(text))
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	if len(d.sessionPolicies) >= maxSessionPolicies {
		d.sessionPolicies = map[string]*policy.Policy{}
	}
	d.sessionPolicies[text] = p
	d.mu.Unlock()
	return p, nil
}

// authorizeSTS decides whether a session may assume a role or tag a
// session: its role's policy (and session policy) must allow it.
func (d *dataPlane) authorizeSTS(c sts.Caller, action, resource string) error {
	s := c.Session
	if s == nil {
		return errors.New("no session")
	}
	rp, ok := d.roles.Policy(s.RoleName)
	if !ok {
		return fmt.Errorf("role %s has no policy", s.RoleName)
	}
	var sp *policy.Policy
	if s.SessionPolicy != "" {
		var err error
		if sp, err = d.sessionPolicy(s.SessionPolicy); err != nil {
			return err
		}
	}
	req := &policy.Request{Action: action, Resource: resource}
	principalContext(c)(&req.Context)
	if dec := policy.Evaluate([]*policy.Policy{rp}, sp, req); !dec.Allowed {
		return errors.New(policy.AccessDeniedMessage(c.ARN, req, dec))
	}
	return nil
}

// stsRole is AssumeRole's role lookup.
func (d *dataPlane) stsRole(arn string) (sts.Role, bool) {
	r, ok := d.roles.ByARN(arn)
	if !ok {
		return sts.Role{}, false
	}
	return sts.Role{Name: r.Name, ARN: r.ARN(d.account), ID: r.ID, MaxSessionDuration: time.Duration(r.MaxSessionDuration) * time.Second}, true
}

// isDataRequest reports whether a request to the API listener's root is
// the data API's (awsJson1_0 with a DynamoDB target) or STS's (the Query
// protocol), and which.
func isDataRequest(r *http.Request) (data, query bool) {
	if r.URL.Path != "/" {
		return false, false
	}
	if r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_") {
		return true, false
	}
	ct := r.Header.Get("Content-Type")
	if r.Method == http.MethodPost && strings.HasPrefix(ct, "application/x-www-form-urlencoded") ||
		r.Method == http.MethodGet && r.URL.Query().Has("Action") {
		return false, true
	}
	return false, false
}

// front routes the API listener's root to the data API and STS, and the
// rest to next (the Lambda API).
func (d *dataPlane) front(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch data, query := isDataRequest(r); {
		case data:
			d.data.ServeHTTP(w, r)
		case query:
			d.sts.ServeHTTP(w, r)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// services gives a new environment its credentials and data endpoints
// when its function's role is a Bulkhead role; otherwise none (the
// function runs, with no data credentials).
func (d *dataPlane) services(e invoke.EnvironmentFor) (*execenv.Services, error) {
	role, ok := d.roles.ByARN(e.Role)
	if !ok {
		return nil, nil
	}
	var tok [32]byte
	rand.Read(tok[:])
	es := &envServices{id: e.ID, function: e.Function, role: role, token: base64.RawURLEncoding.EncodeToString(tok[:])}
	d.envs.Store(e.ID, es)
	base := "http://" + sandbox.EndpointPlaceholder
	return &execenv.Services{
		Env: map[string]string{
			"AWS_CONTAINER_CREDENTIALS_FULL_URI": base + credentialsPath,
			"AWS_CONTAINER_AUTHORIZATION_TOKEN":  es.token,
			"AWS_ENDPOINT_URL_DYNAMODB":          base,
			"AWS_ENDPOINT_URL_STS":               base,
		},
		Handler: d.envHandler(es),
		Bind:    func(t string) error { return d.bind(es, t) },
		Close: func() {
			es.mu.Lock()
			es.closed = true
			if es.creds != nil {
				es.creds.Revoke()
			}
			es.mu.Unlock()
			d.envs.Delete(es.id)
		},
	}, nil
}

// credentialsPath is where an environment's endpoint serves its
// credentials.
const credentialsPath = "/bulkhead/credentials"

// bind gives the environment its tenant at its first invocation, and
// refuses any other tenant after.
func (d *dataPlane) bind(es *envServices, t string) error {
	id, err := tenant.Parse(t)
	if t == "" {
		id, err = tenant.None, nil
	}
	if err != nil {
		return err
	}
	es.mu.Lock()
	defer es.mu.Unlock()
	if es.bound {
		if es.tenant != id {
			return fmt.Errorf("environment %s serves tenant %q, not %q", es.id, es.tenant, id)
		}
		return nil
	}
	tags := sts.Tags{{Key: "FunctionName", Value: es.function}, {Key: "EnvironmentId", Value: es.id}}
	if !id.IsNone() {
		tags = append(sts.Tags{{Key: sts.TenantTag, Value: id.String()}}, tags...)
	}
	creds, err := sts.NewEnvCredentials(d.issuer, sts.Session{
		Account: d.account, RoleName: es.role.Name, RoleARN: es.role.ARN(d.account), RoleID: es.role.ID,
		SessionName: es.id, Tags: tags, Environment: es.id, Tenant: id,
	}, sts.EnvOptions{Logger: d.log, Token: es.token})
	if err != nil {
		return err
	}
	es.bound, es.tenant, es.creds = true, id, creds
	return nil
}

// envHandler serves an environment's endpoint besides the Runtime API.
func (d *dataPlane) envHandler(es *envServices) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == credentialsPath {
			d.serveCredentials(es, w, r)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), envKey{}, es))
		switch data, query := isDataRequest(r); {
		case data:
			d.data.ServeHTTP(w, r)
		case query:
			d.sts.ServeHTTP(w, r)
		default:
			http.NotFound(w, r)
		}
	})
}

// serveCredentials answers the SDK's container credentials request once
// the environment has a tenant; before (the init of a pre-started
// environment) there are none to give.
func (d *dataPlane) serveCredentials(es *envServices, w http.ResponseWriter, r *http.Request) {
	es.mu.Lock()
	creds := es.creds
	es.mu.Unlock()
	if creds != nil {
		creds.ServeHTTP(w, r) // it checks the token it was given, es.token
		return
	}
	msg := "The environment has no tenant yet: credentials are available from its first invocation on."
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte(es.token)) != 1 {
		msg = "The Authorization header does not match this environment's token."
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusForbidden)
	fmt.Fprintf(w, `{"code":"AccessDenied","message":%q}`, msg)
}

// openDataPlane builds the data plane: the session issuer (its key in the
// data directory), the authenticator, the store, the data API and STS.
func (s *Server) openDataPlane(cfg Config, adminSecret func(string) (string, bool), log *slog.Logger) error {
	issuer, err := sts.NewIssuer(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("session issuer: %w", err)
	}
	d := &dataPlane{log: log, account: cfg.AccountID, roles: s.roles, tenants: s.tenants, requireRegistered: cfg.RequireRegisteredTenants,
		issuer: issuer, revoked: map[tenant.ID]time.Time{}, sessionPolicies: map[string]*policy.Policy{},
		limiter: plan.NewLimiter(), throttle: plan.Throttle{RateLimit: cfg.DataRateLimit, BurstLimit: cfg.DataBurstLimit}}
	d.auth = &sts.Authenticator{Region: cfg.Region, AccountID: cfg.AccountID, Admin: adminSecret, Issuer: issuer, Check: d.check}
	if s.dataStore, err = openDataStore(cfg); err != nil {
		return err
	}
	d.data = dataapi.New(dataapi.Config{Store: s.dataStore, Region: cfg.Region, Account: cfg.AccountID,
		Authenticate: d.authenticateData, Allow: d.allow, Log: log})
	d.sts, err = sts.NewHandler(sts.Options{AccountID: cfg.AccountID, Region: cfg.Region, Issuer: issuer, Authenticator: d.auth,
		Roles: d.stsRole, Authorize: d.authorizeSTS, ValidatePolicy: func(doc []byte) error { _, err := policy.Parse(doc); return err },
		Logger: log})
	if err != nil {
		return err
	}
	s.tenants.OnChange(func(before, after *tenant.Tenant) {
		if after == nil && before != nil {
			d.tenantDeleted(before.ID)
		}
	})
	s.invoker.ProvideServices(d.services)
	s.data = d
	return nil
}
