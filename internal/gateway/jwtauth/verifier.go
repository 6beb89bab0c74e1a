package jwtauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The kinds of Verify failure, compared with errors.Is. The gateway answers
// both with 401 {"message":"Unauthorized"}; the wrapped detail is for its log.
var (
	// ErrMissing: the Authorization value holds no token.
	ErrMissing = errors.New("jwtauth: no bearer token")
	// ErrInvalid: the token fails a check (see the package documentation).
	ErrInvalid = errors.New("jwtauth: invalid token")
)

// maxTokenBytes bounds the token Verify will parse.
const maxTokenBytes = 8 << 10

// Identity is the caller a verified token names.
type Identity struct {
	// Subject is the sub claim, "" when the token has none.
	Subject string
	// Tenant is the tenant claim exactly as the token states it; never
	// empty. Its syntax is not checked: that is tenant.Parse's job.
	Tenant string
	// Scopes are the scopes the token grants: the words of the scope claim
	// then those of scp (a space-separated string or an array), in token
	// order, without duplicates.
	Scopes []string
	// Claims are all the token's claims as decoded from JSON, numbers as
	// json.Number so that none loses precision. Nested objects are
	// map[string]any and arrays []any.
	Claims map[string]any
}

// HasAnyScope reports whether the identity holds at least one of required,
// and is true when required is empty (the route asks for no scope).
func (id Identity) HasAnyScope(required []string) bool {
	if len(required) == 0 {
		return true
	}
	return slices.ContainsFunc(required, func(s string) bool { return s != "" && slices.Contains(id.Scopes, s) })
}

// Verifier checks bearer tokens against one Config. It is safe for concurrent
// use; Close stops its background JWKS refresh.
type Verifier struct {
	algorithms []string
	audiences  []string
	tenant     string
	secret     []byte
	keys       *keySet // nil when neither RS256 nor ES256 is pinned
	parser     *jwt.Parser
}

// New validates c, loads the JWKS when RS256 or ES256 is pinned — failing if
// it cannot be fetched or read, or holds no usable key — and returns a
// Verifier that keeps the keys fresh until Close. ctx bounds the first load.
func New(ctx context.Context, c Config) (*Verifier, error) {
	return newVerifier(ctx, c, time.Now)
}

// newVerifier is New with the clock tokens and reload limits are judged by.
func newVerifier(ctx context.Context, c Config, now func() time.Time) (*Verifier, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("jwtauth: %w", err)
	}
	c = c.withDefaults()
	v := &Verifier{
		algorithms: slices.Clone(c.Algorithms),
		audiences:  slices.Clone(c.Audiences),
		tenant:     c.TenantClaim,
		secret:     slices.Clone(c.HMACSecret),
		parser: jwt.NewParser(
			jwt.WithValidMethods(slices.Clone(c.Algorithms)),
			jwt.WithIssuer(c.Issuer),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(c.Leeway),
			jwt.WithTimeFunc(now),
			jwt.WithJSONNumber(),
			jwt.WithStrictDecoding(),
		),
	}
	var src source
	switch {
	case c.JWKSURL != "":
		src = urlSource{url: c.JWKSURL, client: c.HTTPClient}
	case c.JWKSFile != "":
		src = fileSource{path: c.JWKSFile}
		c.UnknownKIDRefreshLimit = 0 // a stat per unknown kid is cheap
	default:
		return v, nil
	}
	jwksAlgs := slices.DeleteFunc(slices.Clone(v.algorithms), func(alg string) bool { return alg == HS256 })
	keys, err := newKeySet(ctx, src, jwksAlgs, c.UnknownKIDRefreshLimit, c.RefreshInterval, now, c.Logger)
	if err != nil {
		return nil, fmt.Errorf("jwtauth: loading the JWKS: %w", err)
	}
	v.keys = keys
	return v, nil
}

// Close stops the background JWKS refresh and waits for it to end. Verify
// still works afterwards with the keys held, but reloads no more. Close may
// be called more than once.
func (v *Verifier) Close() {
	if v.keys != nil {
		v.keys.close()
	}
}

// Verify checks the token in authorization, the value of an Authorization
// header with or without its "Bearer " prefix, and returns the identity it
// names. It fails with ErrMissing when there is no token and ErrInvalid when
// the token fails any check; ctx bounds a JWKS reload an unknown kid causes.
func (v *Verifier) Verify(ctx context.Context, authorization string) (Identity, error) {
	raw := bearerToken(authorization)
	if raw == "" {
		return Identity{}, ErrMissing
	}
	if len(raw) > maxTokenBytes {
		return Identity{}, invalid(fmt.Errorf("the token is %d bytes; the limit is %d", len(raw), maxTokenBytes))
	}
	claims := jwt.MapClaims{}
	if _, err := v.parser.ParseWithClaims(raw, claims, v.keyfunc(ctx)); err != nil {
		return Identity{}, invalid(err)
	}
	if err := v.checkAudience(claims); err != nil {
		return Identity{}, invalid(err)
	}
	subject, err := claims.GetSubject()
	if err != nil {
		return Identity{}, invalid(err)
	}
	tenant, err := v.tenantOf(claims)
	if err != nil {
		return Identity{}, invalid(err)
	}
	scopes, err := scopesOf(claims)
	if err != nil {
		return Identity{}, invalid(err)
	}
	return Identity{Subject: subject, Tenant: tenant, Scopes: scopes, Claims: claims}, nil
}

func invalid(detail error) error { return fmt.Errorf("%w: %w", ErrInvalid, detail) }

// bearerToken returns the token in an Authorization value: the value itself,
// or what follows "Bearer" (in any case) and whitespace.
func bearerToken(authorization string) string {
	s := strings.TrimSpace(authorization)
	const scheme = "bearer"
	if len(s) >= len(scheme) && strings.EqualFold(s[:len(scheme)], scheme) {
		rest := s[len(scheme):]
		if rest == "" {
			return ""
		}
		if rest[0] == ' ' || rest[0] == '\t' {
			return strings.TrimLeft(rest, " \t")
		}
	}
	return s
}

// keyfunc chooses the verification key by the token's alg alone, among the
// pinned algorithms, and hands golang-jwt a key of the one type that alg
// verifies with, so no token can make a public key serve as an HMAC secret.
func (v *Verifier) keyfunc(ctx context.Context) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		if _, ok := t.Header["crit"]; ok {
			return nil, errors.New(`the token has a "crit" header; no extension is supported`)
		}
		alg := t.Method.Alg()
		if !slices.Contains(v.algorithms, alg) {
			return nil, fmt.Errorf("alg %q is not pinned", alg)
		}
		if alg == HS256 {
			return v.secret, nil
		}
		kid, ok := t.Header["kid"].(string)
		if !ok || kid == "" {
			return nil, fmt.Errorf("an %s token must name its key with a kid header", alg)
		}
		if v.keys == nil {
			return nil, fmt.Errorf("no JWKS for %s", alg) // Validate makes this unreachable
		}
		key, err := v.keys.key(ctx, kid, alg)
		if err != nil {
			return nil, err
		}
		switch k := key.(type) {
		case *rsa.PublicKey:
			if alg == RS256 {
				return k, nil
			}
		case *ecdsa.PublicKey:
			if alg == ES256 && k.Curve == elliptic.P256() {
				return k, nil
			}
		}
		return nil, fmt.Errorf("the key with kid %q is a %T, not an %s key", kid, key, alg)
	}
}

// checkAudience requires aud, when present, to hold a configured audience,
// and otherwise client_id to be one.
func (v *Verifier) checkAudience(claims jwt.MapClaims) error {
	if value, ok := claims["aud"]; ok {
		aud, err := audienceOf(value)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(aud, v.accepts) {
			return nil
		}
		return fmt.Errorf("%w: aud %q", jwt.ErrTokenInvalidAudience, aud)
	}
	clientID, ok := claims["client_id"]
	if !ok {
		return fmt.Errorf("%w: the token has neither aud nor client_id", jwt.ErrTokenRequiredClaimMissing)
	}
	if s, ok := clientID.(string); ok && v.accepts(s) {
		return nil
	}
	return fmt.Errorf("%w: client_id %v", jwt.ErrTokenInvalidAudience, clientID)
}

// audienceOf reads aud, a string or an array of strings. (golang-jwt's
// GetAudience takes any other type for no audience at all.)
func audienceOf(value any) ([]string, error) {
	switch value := value.(type) {
	case string:
		return []string{value}, nil
	case []any:
		aud := make([]string, 0, len(value))
		for _, item := range value {
			s, ok := item.(string)
			if !ok {
				return nil, fmt.Errorf("%w: aud holds %#v, not a string", jwt.ErrInvalidType, item)
			}
			aud = append(aud, s)
		}
		return aud, nil
	}
	return nil, fmt.Errorf("%w: aud is %#v, not a string or an array of strings", jwt.ErrInvalidType, value)
}

func (v *Verifier) accepts(audience string) bool { return slices.Contains(v.audiences, audience) }

// tenantOf returns the tenant claim, which must be a non-empty string. Its
// name is first looked up as a top-level claim, then as a dotted path.
func (v *Verifier) tenantOf(claims jwt.MapClaims) (string, error) {
	value, ok := claimAt(claims, v.tenant)
	if !ok {
		return "", fmt.Errorf("%w: no tenant claim %q", jwt.ErrTokenRequiredClaimMissing, v.tenant)
	}
	tenant, ok := value.(string)
	if !ok || tenant == "" {
		return "", fmt.Errorf("%w: tenant claim %q is %#v, not a non-empty string", jwt.ErrInvalidType, v.tenant, value)
	}
	return tenant, nil
}

// claimAt returns the claim called name or, when there is none, the value at
// the dot-separated path name through nested objects.
func claimAt(claims map[string]any, name string) (any, bool) {
	if value, ok := claims[name]; ok {
		return value, true
	}
	if !strings.Contains(name, ".") {
		return nil, false
	}
	var value any = claims
	for segment := range strings.SplitSeq(name, ".") {
		object, ok := value.(map[string]any)
		if !ok {
			return nil, false
		}
		if value, ok = object[segment]; !ok {
			return nil, false
		}
	}
	return value, true
}

// scopesOf returns the words of scope, a string, then those of scp, a string
// or an array of strings, without duplicates.
func scopesOf(claims jwt.MapClaims) ([]string, error) {
	var scopes []string
	seen := make(map[string]bool)
	add := func(s string) {
		for _, w := range strings.Fields(s) {
			if !seen[w] {
				seen[w] = true
				scopes = append(scopes, w)
			}
		}
	}
	if value, ok := claims["scope"]; ok {
		s, ok := value.(string)
		if !ok {
			return nil, fmt.Errorf("%w: scope is %#v, not a string", jwt.ErrInvalidType, value)
		}
		add(s)
	}
	if value, ok := claims["scp"]; ok {
		switch value := value.(type) {
		case string:
			add(value)
		case []any:
			for _, item := range value {
				s, ok := item.(string)
				if !ok {
					return nil, fmt.Errorf("%w: scp holds %#v, not a string", jwt.ErrInvalidType, item)
				}
				add(s)
			}
		default:
			return nil, fmt.Errorf("%w: scp is %#v, not a string or an array of strings", jwt.ErrInvalidType, value)
		}
	}
	return scopes, nil
}
