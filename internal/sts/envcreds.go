package sts

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultEnvLifetime is how long an environment's credentials live.
const DefaultEnvLifetime = time.Hour

// EnvRefreshBefore is how close to their expiry an environment's cached
// credentials are replaced. The AWS SDKs refetch five minutes before
// Expiration; fifteen gives every fetch in that window new credentials.
const EnvRefreshBefore = 15 * time.Minute

// EnvOptions tune an EnvCredentials.
type EnvOptions struct {
	// Lifetime of each set of credentials; zero means DefaultEnvLifetime. It
	// must be longer than EnvRefreshBefore, or every fetch would mint.
	Lifetime time.Duration
	Now      func() time.Time // nil: time.Now
	Logger   *slog.Logger     // nil: discard
	// Token is the authorization token the endpoint requires; empty: a new
	// random one. A server that hands the environment its token before the
	// environment's session is known (a pre-started environment learns its
	// tenant later) passes the token it gave.
	Token string
}

// EnvCredentials is one execution environment's container credentials
// endpoint: what AWS_CONTAINER_CREDENTIALS_FULL_URI points the unmodified
// AWS SDKs at, with Token in AWS_CONTAINER_AUTHORIZATION_TOKEN. It answers
// GET with credentials for its session template and nothing else, so an
// environment can never obtain another's credentials. It is safe for
// concurrent use.
//
//	GET, Authorization: <token>   200 {"AccessKeyId","SecretAccessKey","Token","Expiration","AccountId"}
//	no Authorization              401 {"code","message"}
//	another Authorization         403
//	after Revoke                  403
//	any other method              405
type EnvCredentials struct {
	issuer   *Issuer
	template Session
	lifetime time.Duration
	now      func() time.Time
	log      *slog.Logger
	token    string
	revoked  atomic.Bool

	mu      sync.Mutex // guards current
	current Credentials
}

var _ http.Handler = (*EnvCredentials)(nil)

// NewEnvCredentials returns the endpoint of the environment template names
// (template.Environment must be set). Every set of credentials it hands out
// is template with new times, so template must be a valid session (see
// Issuer.Issue); NewEnvCredentials mints the first set to check it.
func NewEnvCredentials(issuer *Issuer, template Session, o EnvOptions) (*EnvCredentials, error) {
	if issuer == nil {
		return nil, errors.New("sts: environment credentials need an Issuer")
	}
	if template.Environment == "" {
		return nil, errors.New("sts: environment credentials need the template's Environment")
	}
	if o.Lifetime == 0 {
		o.Lifetime = DefaultEnvLifetime
	}
	if o.Lifetime <= EnvRefreshBefore {
		return nil, fmt.Errorf("sts: environment credentials live %s; they must live longer than %s", o.Lifetime, EnvRefreshBefore)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	token := o.Token
	if token == "" {
		var b [32]byte
		_, _ = rand.Read(b[:]) // crypto/rand.Read does not fail (Go 1.24+)
		token = base64.RawURLEncoding.EncodeToString(b[:])
	}
	e := &EnvCredentials{
		issuer:   issuer,
		template: template,
		lifetime: o.Lifetime,
		now:      o.Now,
		log:      o.Logger.With("environment", template.Environment),
		token:    token,
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, err := e.credentialsLocked(); err != nil {
		return nil, err
	}
	return e, nil
}

// Token is the authorization token the environment must send; put it in the
// environment's AWS_CONTAINER_AUTHORIZATION_TOKEN. It is a secret: never log
// it.
func (e *EnvCredentials) Token() string { return e.token }

// String names the endpoint's environment and hides its token.
func (e *EnvCredentials) String() string {
	return "EnvCredentials{Environment: " + e.template.Environment + ", Token: " + redacted + "}"
}

// GoString is String, for %#v.
func (e *EnvCredentials) GoString() string { return e.String() }

// LogValue names the endpoint's environment and hides its token.
func (e *EnvCredentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("environment", e.template.Environment), slog.String("token", redacted))
}

// Revoke makes the endpoint refuse every request from now on (403). It does
// not invalidate credentials already handed out: the Authenticator's Check
// refuses those by their session's Environment.
func (e *EnvCredentials) Revoke() {
	e.revoked.Store(true)
	e.mu.Lock()
	e.current = Credentials{}
	e.mu.Unlock()
}

// credentialsLocked returns the cached credentials, minting new ones when
// fewer than EnvRefreshBefore remain. e.mu must be held.
func (e *EnvCredentials) credentialsLocked() (Credentials, error) {
	now := e.now()
	if e.current.Expiration.Sub(now) >= EnvRefreshBefore {
		return e.current, nil
	}
	s := e.template
	s.Issued = now
	s.Expires = now.Add(e.lifetime)
	creds, _, err := e.issuer.issue(&s, 0)
	if err != nil {
		return Credentials{}, err
	}
	e.current = creds
	e.log.Info("sts: environment credentials minted", "session", s)
	return creds, nil
}

// envCredentialsJSON is the container credentials document.
type envCredentialsJSON struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Token           string `json:"Token"`
	Expiration      string `json:"Expiration"` // RFC 3339, UTC
	AccountID       string `json:"AccountId"`
}

// ServeHTTP answers the SDK's credentials request (see EnvCredentials).
func (e *EnvCredentials) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	switch got := r.Header.Get("Authorization"); {
	case r.Method != http.MethodGet:
		w.Header().Set("Allow", http.MethodGet)
		writeJSONError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "The credentials endpoint answers GET only.")
		return
	case got == "":
		writeJSONError(w, http.StatusUnauthorized, "Unauthorized", "The Authorization header is missing: set AWS_CONTAINER_AUTHORIZATION_TOKEN.")
		return
	case subtle.ConstantTimeCompare([]byte(got), []byte(e.token)) != 1:
		writeJSONError(w, http.StatusForbidden, "AccessDenied", "The Authorization header does not match this environment's token.")
		return
	case e.revoked.Load():
		writeJSONError(w, http.StatusForbidden, "AccessDenied", "The credentials of this environment have been revoked.")
		return
	}
	e.mu.Lock()
	creds, err := e.credentialsLocked()
	revoked := e.revoked.Load() // Revoke may have run while this waited
	e.mu.Unlock()
	switch {
	case revoked:
		writeJSONError(w, http.StatusForbidden, "AccessDenied", "The credentials of this environment have been revoked.")
		return
	case err != nil:
		e.log.Error("sts: minting environment credentials failed", "err", err)
		writeJSONError(w, http.StatusInternalServerError, "InternalError", "The credentials could not be issued.")
		return
	}
	writeJSON(w, http.StatusOK, envCredentialsJSON{
		AccessKeyID:     creds.AccessKeyID,
		SecretAccessKey: creds.SecretAccessKey,
		Token:           creds.SessionToken,
		Expiration:      creds.Expiration.UTC().Format(time.RFC3339),
		AccountID:       e.template.Account,
	})
}

func writeJSONError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{code, message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	out, err := json.Marshal(v)
	if err != nil {
		// Only strings: json.Marshal does not fail on them.
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(out)
}
