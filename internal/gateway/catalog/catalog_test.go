package catalog

import (
	"errors"
	"strings"
	"testing"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
)

func TestRouteValidate(t *testing.T) {
	ok := Route{Method: "GET", Path: "/pets", Function: "f", Payload: PayloadV2, Auth: AuthAPIKey}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid route refused: %v", err)
	}
	for name, change := range map[string]func(*Route){
		"method":                  func(r *Route) { r.Method = "FETCH" },
		"no function":             func(r *Route) { r.Function = "" },
		"payload":                 func(r *Route) { r.Payload = "3.0" },
		"auth":                    func(r *Route) { r.Auth = "magic" },
		"api key with authorizer": func(r *Route) { r.Authorizer = "x" },
		"jwt without authorizer":  func(r *Route) { r.Auth = AuthJWT },
		"jwt with tenantFrom":     func(r *Route) { r.Auth, r.Authorizer, r.TenantFrom = AuthJWT, "a", "header.X" },
		"trusted without source":  func(r *Route) { r.Auth = AuthTrusted },
		"trusted bad source":      func(r *Route) { r.Auth, r.TenantFrom = AuthTrusted, "cookie.t" },
		"scopes off jwt":          func(r *Route) { r.Scopes = []string{"a"} },
		"timeout":                 func(r *Route) { r.TimeoutSeconds = 30 },
		"none with tenantFrom":    func(r *Route) { r.Auth, r.TenantFrom = AuthNone, "header.X" },
	} {
		r := ok
		change(&r)
		if err := r.Validate(); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("%s: %v, want ErrInvalidArgument", name, err)
		}
	}
}

func TestAuthorizerValidate(t *testing.T) {
	jwtOK := Authorizer{Name: "idp", Type: AuthorizerJWT, JWT: &JWTConfig{Issuer: "https://i", Audiences: []string{"a"},
		Algorithms: []string{"RS256"}, JWKSURL: "https://i/jwks", TenantClaim: "t"}}
	lambdaOK := Authorizer{Name: "lam", Type: AuthorizerLambda, Lambda: &LambdaConfig{Function: "f", IdentitySources: []string{"header.Authorization"}, TTLSeconds: 60}}
	for _, a := range []Authorizer{jwtOK, lambdaOK} {
		if err := a.Validate(); err != nil {
			t.Fatalf("valid authorizer %s refused: %v", a.Name, err)
		}
	}
	for name, a := range map[string]Authorizer{
		"bad name":          {Name: "a b", Type: AuthorizerJWT, JWT: jwtOK.JWT},
		"type":              {Name: "x", Type: "saml"},
		"jwt without spec":  {Name: "x", Type: AuthorizerJWT},
		"both specs":        {Name: "x", Type: AuthorizerJWT, JWT: jwtOK.JWT, Lambda: lambdaOK.Lambda},
		"no algorithms":     {Name: "x", Type: AuthorizerJWT, JWT: &JWTConfig{Issuer: "i", Audiences: []string{"a"}, TenantClaim: "t"}},
		"alg none":          {Name: "x", Type: AuthorizerJWT, JWT: &JWTConfig{Issuer: "i", Audiences: []string{"a"}, TenantClaim: "t", Algorithms: []string{"none"}}},
		"RS256 without key": {Name: "x", Type: AuthorizerJWT, JWT: &JWTConfig{Issuer: "i", Audiences: []string{"a"}, TenantClaim: "t", Algorithms: []string{"RS256"}}},
		"short HS secret":   {Name: "x", Type: AuthorizerJWT, JWT: &JWTConfig{Issuer: "i", Audiences: []string{"a"}, TenantClaim: "t", Algorithms: []string{"HS256"}, HMACSecret: "short"}},
		"no tenant claim":   {Name: "x", Type: AuthorizerJWT, JWT: &JWTConfig{Issuer: "i", Audiences: []string{"a"}, Algorithms: []string{"RS256"}, JWKSURL: "u"}},
		"lambda no sources": {Name: "x", Type: AuthorizerLambda, Lambda: &LambdaConfig{Function: "f"}},
		"lambda bad source": {Name: "x", Type: AuthorizerLambda, Lambda: &LambdaConfig{Function: "f", IdentitySources: []string{"cookie.x"}}},
		"lambda long ttl":   {Name: "x", Type: AuthorizerLambda, Lambda: &LambdaConfig{Function: "f", IdentitySources: []string{"query.t"}, TTLSeconds: 3601}},
	} {
		if err := a.Validate(); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("%s: %v, want ErrInvalidArgument", name, err)
		}
	}
	secret := Authorizer{Name: "hs", Type: AuthorizerJWT, JWT: &JWTConfig{HMACSecret: strings.Repeat("s", 40)}}
	if got := secret.Redacted().JWT.HMACSecret; got != "(set)" || secret.JWT.HMACSecret == "(set)" {
		t.Errorf("Redacted shows %q and changed the original: %v", got, secret.JWT.HMACSecret == "(set)")
	}
}

func TestKeyValues(t *testing.T) {
	a, b := NewKeyValue(), NewKeyValue()
	if a == b || ValidKeyValue(a) != nil {
		t.Errorf("generated keys %q %q: distinct and valid expected", a, b)
	}
	for _, bad := range []string{"short", strings.Repeat("k", MaxKeyLength+1), strings.Repeat("k", 40) + " x", strings.Repeat("k", 40) + "\x00"} {
		if ValidKeyValue(bad) == nil {
			t.Errorf("key value %q accepted", bad)
		}
	}
	if HashKey(a) == HashKey(b) {
		t.Error("two keys hash alike")
	}
}
