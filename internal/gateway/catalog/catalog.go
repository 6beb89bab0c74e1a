// Package catalog is what the gateway serves, as the admin API and the CLI
// manage it: usage plans, API keys, authorizers and routes. It holds the
// types, their validation and the Store contract; the gateway reads an
// immutable snapshot of all of it, rebuilt after each change, so a request
// never waits on the store except to count a quota.
package catalog

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/gateway/plan"
	"github.com/bulkhead-dev/bulkhead/internal/tenant"
)

// namePattern is what plan and authorizer names may be.
var namePattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`) })

// ValidName checks a plan or authorizer name.
func ValidName(kind, name string) error {
	if !namePattern().MatchString(name) {
		return errdefs.New(errdefs.ErrInvalidArgument, "%s name %q must be 1 to 64 letters, digits, '-' or '_'.", kind, name)
	}
	return nil
}

// APIKey binds a key value, which is shown once and stored only as its
// SHA-256, to a tenant and optionally a usage plan.
type APIKey struct {
	ID     string    `json:"id"`             // "key-" + random; public, used to revoke
	Name   string    `json:"name,omitempty"` // a label
	Tenant tenant.ID `json:"-"`
	Plan   string    `json:"plan,omitempty"` // "" uses the tenant's plan
	// Hash is the SHA-256 of the value. The value itself is never stored.
	Hash    [32]byte   `json:"-"`
	Prefix  string     `json:"prefix"` // the value's first characters, to recognise it
	Created time.Time  `json:"created"`
	Revoked *time.Time `json:"revoked,omitempty"`
}

// Key lengths: API Gateway requires 30 to 128 characters.
const (
	MinKeyLength = 30
	MaxKeyLength = 128
)

// NewKeyValue returns a fresh key value: 32 random bytes in base64url (43
// characters), prefixed "bh_".
func NewKeyValue() string {
	var b [32]byte
	rand.Read(b[:])
	return "bh_" + base64.RawURLEncoding.EncodeToString(b[:])
}

// HashKey returns the hash a key value is stored and looked up by. The
// values are random and long, so one SHA-256 suffices (no password hash).
func HashKey(value string) [32]byte { return sha256.Sum256([]byte(value)) }

// ValidKeyValue checks a key value a client chose.
func ValidKeyValue(v string) error {
	if len(v) < MinKeyLength || len(v) > MaxKeyLength {
		return errdefs.New(errdefs.ErrInvalidArgument, "An API key value must have %d to %d characters; it has %d.", MinKeyLength, MaxKeyLength, len(v))
	}
	for i := 0; i < len(v); i++ {
		if v[i] <= ' ' || v[i] > '~' {
			return errdefs.New(errdefs.ErrInvalidArgument, "An API key value must be printable ASCII without spaces.")
		}
	}
	return nil
}

// Authorizer types.
const (
	AuthorizerJWT    = "jwt"
	AuthorizerLambda = "lambda"
)

// Authorizer is a named way to verify callers, used by routes.
type Authorizer struct {
	Name   string        `json:"name"`
	Type   string        `json:"type"` // jwt or lambda
	JWT    *JWTConfig    `json:"jwt,omitempty"`
	Lambda *LambdaConfig `json:"lambda,omitempty"`
}

// JWTConfig verifies bearer tokens (see internal/gateway/jwtauth).
type JWTConfig struct {
	Issuer     string   `json:"issuer"`
	Audiences  []string `json:"audiences"`
	Algorithms []string `json:"algorithms"`
	JWKSURL    string   `json:"jwksUrl,omitempty"`
	JWKSFile   string   `json:"jwksFile,omitempty"`
	// HMACSecret (HS256) is write-only: the API never returns it.
	HMACSecret  string `json:"hmacSecret,omitempty"`
	TenantClaim string `json:"tenantClaim"`
	// LeewaySeconds is the clock skew allowed on exp/nbf/iat (default 30).
	LeewaySeconds int `json:"leewaySeconds,omitempty"`
}

// LambdaConfig runs a function as a REQUEST authorizer.
type LambdaConfig struct {
	Function  string `json:"function"`
	Qualifier string `json:"qualifier,omitempty"`
	// IdentitySources name the request parts that make up the caller's
	// identity, as "header.Authorization" or "query.token"; a request
	// missing one is refused with 401 without running the function, and
	// results are cached by their values.
	IdentitySources []string `json:"identitySources"`
	// TTLSeconds is how long a decision is cached (0: not cached; at most
	// 3600, API Gateway's bound).
	TTLSeconds int `json:"ttlSeconds"`
	// TenantKey is the key of the authorizer's context that holds the
	// tenant (default "tenantId").
	TenantKey string `json:"tenantKey,omitempty"`
}

// Validate checks an authorizer.
func (a Authorizer) Validate() error {
	if err := ValidName("Authorizer", a.Name); err != nil {
		return err
	}
	bad := func(format string, args ...any) error {
		return errdefs.New(errdefs.ErrInvalidArgument, "Authorizer %s: "+format, append([]any{a.Name}, args...)...)
	}
	switch a.Type {
	case AuthorizerJWT:
		j := a.JWT
		if j == nil || a.Lambda != nil {
			return bad("a jwt authorizer needs jwt settings and no lambda settings.")
		}
		if j.Issuer == "" || len(j.Audiences) == 0 || j.TenantClaim == "" {
			return bad("issuer, audiences and tenantClaim are required.")
		}
		if len(j.Algorithms) == 0 {
			return bad("algorithms must name at least one of RS256, ES256, HS256.")
		}
		for _, alg := range j.Algorithms {
			switch alg {
			case "RS256", "ES256":
				if j.JWKSURL == "" && j.JWKSFile == "" {
					return bad("%s needs jwksUrl or jwksFile.", alg)
				}
			case "HS256":
				if len(j.HMACSecret) < 32 {
					return bad("HS256 needs an hmacSecret of at least 32 bytes.")
				}
			default:
				return bad("algorithm %q is not one of RS256, ES256, HS256.", alg)
			}
		}
		if j.LeewaySeconds < 0 || j.LeewaySeconds > 300 {
			return bad("leewaySeconds must be 0 to 300.")
		}
	case AuthorizerLambda:
		l := a.Lambda
		if l == nil || a.JWT != nil {
			return bad("a lambda authorizer needs lambda settings and no jwt settings.")
		}
		if l.Function == "" {
			return bad("function is required.")
		}
		if len(l.IdentitySources) == 0 {
			return bad("identitySources must name at least one header.NAME or query.NAME.")
		}
		for _, src := range l.IdentitySources {
			if _, _, err := ParseIdentitySource(src); err != nil {
				return bad("%v", err)
			}
		}
		if l.TTLSeconds < 0 || l.TTLSeconds > 3600 {
			return bad("ttlSeconds must be 0 to 3600.")
		}
	default:
		return bad("type %q is not one of jwt, lambda.", a.Type)
	}
	return nil
}

// Redacted returns a without its secrets, as the API shows it.
func (a Authorizer) Redacted() Authorizer {
	if a.JWT != nil && a.JWT.HMACSecret != "" {
		j := *a.JWT
		j.HMACSecret = "(set)"
		a.JWT = &j
	}
	return a
}

// ParseIdentitySource splits "header.Authorization" or "query.token".
func ParseIdentitySource(s string) (where, name string, err error) {
	where, name, ok := strings.Cut(s, ".")
	if !ok || name == "" || (where != "header" && where != "query") {
		return "", "", errdefs.New(errdefs.ErrInvalidArgument, "identity source %q must be header.NAME or query.NAME", s)
	}
	return where, name, nil
}

// Route authentication modes.
const (
	AuthAPIKey     = "api_key" // x-api-key names the tenant (and plan)
	AuthJWT        = "jwt"     // a bearer token verified by a jwt authorizer
	AuthLambda     = "lambda"  // a lambda authorizer's decision
	AuthTrusted    = "trusted" // the caller names the tenant: internal callers only
	AuthNone       = "none"    // no tenant: only functions without tenancy
	PayloadV1      = "1.0"     // REST API proxy event
	PayloadV2      = "2.0"     // HTTP API event
	DefaultTimeout = 29 * time.Second
)

// Route maps a method and path pattern to a function.
type Route struct {
	ID        string `json:"id"`
	Method    string `json:"method"` // GET ... or ANY
	Path      string `json:"path"`   // /pets/{id}, /files/{proxy+}
	Function  string `json:"function"`
	Qualifier string `json:"qualifier,omitempty"`
	Payload   string `json:"payload"` // 1.0 or 2.0
	Auth      string `json:"auth"`
	// Authorizer names the jwt or lambda authorizer (Auth jwt or lambda).
	Authorizer string `json:"authorizer,omitempty"`
	// Scopes: a token must hold one of them (Auth jwt).
	Scopes []string `json:"scopes,omitempty"`
	// APIKeyRequired also requires an x-api-key bound to the same tenant
	// (for a usage plan per key on a jwt or lambda route).
	APIKeyRequired bool `json:"apiKeyRequired,omitempty"`
	// TenantFrom says where a trusted route reads the tenant:
	// "header.NAME", "query.NAME" or "path.NAME".
	TenantFrom string `json:"tenantFrom,omitempty"`
	// Plan applies to every request of the route that no key or tenant
	// plan covers ("" for none).
	Plan string `json:"plan,omitempty"`
	// TimeoutSeconds bounds the integration, 1 to 29 (API Gateway's
	// default maximum); 0 means 29.
	TimeoutSeconds int       `json:"timeoutSeconds,omitempty"`
	Created        time.Time `json:"created"`
}

// Methods a route may name.
var Methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"}

// Validate checks what a route says by itself; the gateway checks the
// pattern and the names it refers to.
func (r Route) Validate() error {
	bad := func(format string, args ...any) error {
		return errdefs.New(errdefs.ErrInvalidArgument, "Route %s %s: "+format, append([]any{r.Method, r.Path}, args...)...)
	}
	if !slices.Contains(Methods, r.Method) {
		return bad("method must be one of %s.", strings.Join(Methods, ", "))
	}
	if r.Function == "" {
		return bad("function is required.")
	}
	if r.Payload != PayloadV1 && r.Payload != PayloadV2 {
		return bad("payload must be 1.0 or 2.0.")
	}
	switch r.Auth {
	case AuthAPIKey, AuthNone:
		if r.Authorizer != "" || r.TenantFrom != "" {
			return bad("auth %s takes no authorizer and no tenantFrom.", r.Auth)
		}
	case AuthJWT, AuthLambda:
		if r.Authorizer == "" {
			return bad("auth %s needs an authorizer.", r.Auth)
		}
		if r.TenantFrom != "" {
			return bad("tenantFrom is only for trusted routes: a verified identity names the tenant.")
		}
	case AuthTrusted:
		where, name, ok := strings.Cut(r.TenantFrom, ".")
		if !ok || name == "" || (where != "header" && where != "query" && where != "path") {
			return bad("a trusted route needs tenantFrom as header.NAME, query.NAME or path.NAME.")
		}
	default:
		return bad("auth %q is not one of api_key, jwt, lambda, trusted, none.", r.Auth)
	}
	if len(r.Scopes) > 0 && r.Auth != AuthJWT {
		return bad("scopes apply to jwt routes only.")
	}
	if r.TimeoutSeconds < 0 || r.TimeoutSeconds > 29 {
		return bad("timeoutSeconds must be 1 to 29.")
	}
	return nil
}

// Timeout returns the route's integration timeout.
func (r Route) Timeout() time.Duration {
	if r.TimeoutSeconds == 0 {
		return DefaultTimeout
	}
	return time.Duration(r.TimeoutSeconds) * time.Second
}

// Store keeps the catalog durably. Create methods fail with
// ErrAlreadyExists on a taken name (or, for routes, method and path);
// deletes with ErrNotFound on a missing one.
type Store interface {
	PutPlan(ctx context.Context, p plan.Plan, create bool) error
	DeletePlan(ctx context.Context, name string) error
	CreateKey(ctx context.Context, k APIKey) error
	RevokeKey(ctx context.Context, id string, at time.Time) error
	DeleteKeysOf(ctx context.Context, t tenant.ID) error
	PutAuthorizer(ctx context.Context, a Authorizer, create bool) error
	DeleteAuthorizer(ctx context.Context, name string) error
	CreateRoute(ctx context.Context, r Route) error
	DeleteRoute(ctx context.Context, id string) error
	// Load returns everything.
	Load(ctx context.Context) (Snapshot, error)
}

// Snapshot is the whole catalog.
type Snapshot struct {
	Plans       []plan.Plan
	Keys        []APIKey
	Authorizers []Authorizer
	Routes      []Route
}
