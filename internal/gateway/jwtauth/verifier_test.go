package jwtauth

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestJWTAuthVerify(t *testing.T) {
	k := testKeys()
	_, url := newJWKSServer(t, defaultJWKS())
	v := newTestVerifier(t, testConfig(url), newClock(t0))

	valid := signRS(t, claimsAt(t0))
	parts := strings.Split(valid, ".")
	pemKey := func() []byte {
		der, err := x509.MarshalPKIXPublicKey(&k.rsa1.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	}()
	// sized returns a valid HS256 token padded by a claim to between limit-150
	// and limit bytes, or to more than limit when over is set.
	sized := func(over bool) string {
		for n := maxTokenBytes / 2; ; n += 10 {
			tok := signHS(t, edit("pad", strings.Repeat("x", n)))
			if !over && len(tok) > maxTokenBytes-150 && len(tok) <= maxTokenBytes || over && len(tok) > maxTokenBytes {
				return tok
			}
		}
	}

	acme := Identity{Subject: "user-1", Tenant: "acme"}
	tests := []struct {
		name          string
		authorization string
		want          Identity // when err is nil
		err           error    // nil, ErrMissing or ErrInvalid
		detail        error    // a jwt error the failure must wrap, if any
	}{
		// The three algorithms and the header's forms.
		{name: "RS256", authorization: "Bearer " + valid, want: acme},
		{name: "ES256", authorization: "Bearer " + signES(t, claimsAt(t0)), want: acme},
		{name: "HS256", authorization: "Bearer " + signHS(t, claimsAt(t0)), want: acme},
		{name: "HS256 ignores a kid", authorization: sign(t, jwt.SigningMethodHS256, testSecret, kid("rsa-1"), claimsAt(t0)), want: acme},
		{name: "lower-case scheme", authorization: "bearer " + valid, want: acme},
		{name: "upper-case scheme and spaces", authorization: "  BEARER \t " + valid + " ", want: acme},
		{name: "no scheme", authorization: valid, want: acme},
		{name: "no subject", authorization: signHS(t, edit("sub", nil)), want: Identity{Tenant: "acme"}},

		// No token.
		{name: "empty", authorization: "", err: ErrMissing},
		{name: "blank", authorization: " \t ", err: ErrMissing},
		{name: "scheme alone", authorization: "Bearer", err: ErrMissing},
		{name: "scheme and spaces", authorization: "Bearer   ", err: ErrMissing},

		// Algorithms.
		{name: "alg none", authorization: sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, nil, claimsAt(t0)),
			err: ErrInvalid, detail: jwt.ErrTokenSignatureInvalid},
		{name: "alg none with a kid and a signature", authorization: rawToken(`{"alg":"none","kid":"rsa-1"}`, mustJSON(claimsAt(t0)), "sig"),
			err: ErrInvalid},
		{name: "alg NONE", authorization: rawToken(`{"alg":"NONE"}`, mustJSON(claimsAt(t0)), ""), err: ErrInvalid},
		{name: "alg HS384 not pinned", authorization: sign(t, jwt.SigningMethodHS384, testSecret, nil, claimsAt(t0)),
			err: ErrInvalid, detail: jwt.ErrTokenSignatureInvalid},
		{name: "alg PS256 not pinned", authorization: sign(t, jwt.SigningMethodPS256, k.rsa1, kid("rsa-1"), claimsAt(t0)),
			err: ErrInvalid, detail: jwt.ErrTokenSignatureInvalid},
		{name: "alg missing", authorization: rawToken(`{"typ":"JWT"}`, mustJSON(claimsAt(t0)), "sig"), err: ErrInvalid},
		{name: "HS256 signed with the RSA public key as secret", authorization: sign(t, jwt.SigningMethodHS256, pemKey, kid("rsa-1"), claimsAt(t0)),
			err: ErrInvalid, detail: jwt.ErrTokenSignatureInvalid},
		{name: "HS256 signed with the RSA modulus as secret", authorization: sign(t, jwt.SigningMethodHS256, k.rsa1.N.Bytes(), kid("rsa-1"), claimsAt(t0)),
			err: ErrInvalid, detail: jwt.ErrTokenSignatureInvalid},
		{name: "HS256 with another secret", authorization: sign(t, jwt.SigningMethodHS256, []byte("another secret, also 32 bytes ok"), nil, claimsAt(t0)),
			err: ErrInvalid, detail: jwt.ErrTokenSignatureInvalid},
		{name: "ES256 naming an RSA key", authorization: sign(t, jwt.SigningMethodES256, k.ec1, kid("rsa-1"), claimsAt(t0)),
			err: ErrInvalid, detail: jwt.ErrTokenUnverifiable},
		{name: "RS256 naming an EC key", authorization: sign(t, jwt.SigningMethodRS256, k.rsa1, kid("ec-1"), claimsAt(t0)),
			err: ErrInvalid, detail: jwt.ErrTokenUnverifiable},
		{name: "RS256 signed by another key", authorization: sign(t, jwt.SigningMethodRS256, k.rsa2, kid("rsa-1"), claimsAt(t0)),
			err: ErrInvalid, detail: jwt.ErrTokenSignatureInvalid},
		{name: "RS256 without kid", authorization: sign(t, jwt.SigningMethodRS256, k.rsa1, nil, claimsAt(t0)),
			err: ErrInvalid, detail: jwt.ErrTokenUnverifiable},
		{name: "RS256 with a numeric kid", authorization: sign(t, jwt.SigningMethodRS256, k.rsa1, map[string]any{"kid": 1}, claimsAt(t0)),
			err: ErrInvalid, detail: jwt.ErrTokenUnverifiable},
		{name: "crit header", authorization: sign(t, jwt.SigningMethodRS256, k.rsa1, map[string]any{"kid": "rsa-1", "crit": []string{"exp"}}, claimsAt(t0)),
			err: ErrInvalid, detail: jwt.ErrTokenUnverifiable},
		{name: "signature of another token", authorization: parts[0] + "." + strings.Split(signRS(t, edit("tenant", "evil")), ".")[1] + "." + parts[2],
			err: ErrInvalid, detail: jwt.ErrTokenSignatureInvalid},

		// Times, with the default leeway of 30s.
		{name: "expired", authorization: signRS(t, edit("exp", t0.Add(-time.Hour).Unix())), err: ErrInvalid, detail: jwt.ErrTokenExpired},
		{name: "expired within leeway", authorization: signRS(t, edit("exp", t0.Add(-29*time.Second).Unix())), want: acme},
		{name: "expired by the leeway", authorization: signRS(t, edit("exp", t0.Add(-30*time.Second).Unix())), err: ErrInvalid, detail: jwt.ErrTokenExpired},
		{name: "missing exp", authorization: signRS(t, edit("exp", nil)), err: ErrInvalid, detail: jwt.ErrTokenRequiredClaimMissing},
		{name: "exp as a string", authorization: signRS(t, edit("exp", "4102444800")), err: ErrInvalid, detail: jwt.ErrInvalidType},
		{name: "nbf in the future", authorization: signRS(t, edit("nbf", t0.Add(time.Minute).Unix())), err: ErrInvalid, detail: jwt.ErrTokenNotValidYet},
		{name: "nbf within leeway", authorization: signRS(t, edit("nbf", t0.Add(30*time.Second).Unix())), want: acme},
		{name: "nbf beyond leeway", authorization: signRS(t, edit("nbf", t0.Add(31*time.Second).Unix())), err: ErrInvalid, detail: jwt.ErrTokenNotValidYet},
		{name: "iat in the future", authorization: signRS(t, edit("iat", t0.Add(time.Minute).Unix())), err: ErrInvalid, detail: jwt.ErrTokenUsedBeforeIssued},
		{name: "iat within leeway", authorization: signRS(t, edit("iat", t0.Add(30*time.Second).Unix())), want: acme},
		{name: "no iat nor nbf", authorization: signRS(t, edit("iat", nil, "nbf", nil)), want: acme},

		// Issuer and audience.
		{name: "wrong iss", authorization: signRS(t, edit("iss", "https://evil.example.com")), err: ErrInvalid, detail: jwt.ErrTokenInvalidIssuer},
		{name: "iss with a trailing slash", authorization: signRS(t, edit("iss", testIssuer+"/")), err: ErrInvalid, detail: jwt.ErrTokenInvalidIssuer},
		{name: "missing iss", authorization: signRS(t, edit("iss", nil)), err: ErrInvalid, detail: jwt.ErrTokenRequiredClaimMissing},
		{name: "wrong aud", authorization: signRS(t, edit("aud", "someone-else")), err: ErrInvalid, detail: jwt.ErrTokenInvalidAudience},
		{name: "second configured aud", authorization: signRS(t, edit("aud", "other-api")), want: acme},
		{name: "aud array holding ours", authorization: signRS(t, edit("aud", []string{"someone-else", testAud})), want: acme},
		{name: "aud array without ours", authorization: signRS(t, edit("aud", []string{"a", "b"})), err: ErrInvalid, detail: jwt.ErrTokenInvalidAudience},
		{name: "aud empty array", authorization: signRS(t, edit("aud", []string{})), err: ErrInvalid, detail: jwt.ErrTokenInvalidAudience},
		{name: "aud a number", authorization: signRS(t, edit("aud", 7)), err: ErrInvalid, detail: jwt.ErrInvalidType},
		{name: "aud array holding a number", authorization: signRS(t, edit("aud", []any{testAud, 7})), err: ErrInvalid, detail: jwt.ErrInvalidType},
		{name: "aud null", authorization: signRS(t, jwt.MapClaims(with(claimsAt(t0), "aud", json.RawMessage("null")))), err: ErrInvalid, detail: jwt.ErrInvalidType},
		{name: "client_id without aud", authorization: signRS(t, edit("aud", nil, "client_id", testAud)), want: acme},
		{name: "wrong client_id without aud", authorization: signRS(t, edit("aud", nil, "client_id", "someone-else")), err: ErrInvalid, detail: jwt.ErrTokenInvalidAudience},
		{name: "neither aud nor client_id", authorization: signRS(t, edit("aud", nil)), err: ErrInvalid, detail: jwt.ErrTokenRequiredClaimMissing},
		{name: "wrong aud with right client_id", authorization: signRS(t, edit("aud", "someone-else", "client_id", testAud)), err: ErrInvalid, detail: jwt.ErrTokenInvalidAudience},

		// Subject and tenant.
		{name: "sub a number", authorization: signRS(t, edit("sub", 42)), err: ErrInvalid, detail: jwt.ErrInvalidType},
		{name: "missing tenant", authorization: signRS(t, edit("tenant", nil)), err: ErrInvalid, detail: jwt.ErrTokenRequiredClaimMissing},
		{name: "tenant a number", authorization: signRS(t, edit("tenant", 42)), err: ErrInvalid, detail: jwt.ErrInvalidType},
		{name: "tenant empty", authorization: signRS(t, edit("tenant", "")), err: ErrInvalid, detail: jwt.ErrInvalidType},
		{name: "tenant null", authorization: signRS(t, jwt.MapClaims(with(claimsAt(t0), "tenant", json.RawMessage("null")))), err: ErrInvalid, detail: jwt.ErrInvalidType},
		{name: "tenant an array", authorization: signRS(t, edit("tenant", []string{"acme"})), err: ErrInvalid, detail: jwt.ErrInvalidType},
		{name: "tenant as is", authorization: signRS(t, edit("tenant", " Acme/../x ")), want: Identity{Subject: "user-1", Tenant: " Acme/../x "}},

		// Scopes.
		{name: "scope", authorization: signRS(t, edit("scope", "read  write")),
			want: Identity{Subject: "user-1", Tenant: "acme", Scopes: []string{"read", "write"}}},
		{name: "scp array", authorization: signRS(t, edit("scp", []string{"read", "admin"})),
			want: Identity{Subject: "user-1", Tenant: "acme", Scopes: []string{"read", "admin"}}},
		{name: "scp string", authorization: signRS(t, edit("scp", "read admin")),
			want: Identity{Subject: "user-1", Tenant: "acme", Scopes: []string{"read", "admin"}}},
		{name: "scope and scp", authorization: signRS(t, edit("scope", "read write", "scp", []string{"write", "admin"})),
			want: Identity{Subject: "user-1", Tenant: "acme", Scopes: []string{"read", "write", "admin"}}},
		{name: "scope an array", authorization: signRS(t, edit("scope", []string{"read"})), err: ErrInvalid, detail: jwt.ErrInvalidType},
		{name: "scp holding a number", authorization: signRS(t, edit("scp", []any{"read", 1})), err: ErrInvalid, detail: jwt.ErrInvalidType},
		{name: "scp an object", authorization: signRS(t, edit("scp", map[string]any{"read": true})), err: ErrInvalid, detail: jwt.ErrInvalidType},

		// Malformed tokens.
		{name: "garbage", authorization: "Bearer not-a-token", err: ErrInvalid, detail: jwt.ErrTokenMalformed},
		{name: "two parts", authorization: parts[0] + "." + parts[1], err: ErrInvalid, detail: jwt.ErrTokenMalformed},
		{name: "four parts", authorization: valid + "." + parts[2], err: ErrInvalid, detail: jwt.ErrTokenMalformed},
		{name: "many dots", authorization: strings.Repeat(".", 5000), err: ErrInvalid, detail: jwt.ErrTokenMalformed},
		{name: "another scheme", authorization: "Basic dXNlcjpwYXNz", err: ErrInvalid, detail: jwt.ErrTokenMalformed},
		{name: "header not base64url", authorization: "e30!." + parts[1] + "." + parts[2], err: ErrInvalid, detail: jwt.ErrTokenMalformed},
		{name: "padded header", authorization: parts[0] + "==." + parts[1] + "." + parts[2], err: ErrInvalid, detail: jwt.ErrTokenMalformed},
		{name: "header not an object", authorization: rawToken(`["RS256"]`, mustJSON(claimsAt(t0)), "sig"), err: ErrInvalid, detail: jwt.ErrTokenMalformed},
		{name: "claims not an object", authorization: rawToken(`{"alg":"HS256"}`, `[1,2]`, "sig"), err: ErrInvalid, detail: jwt.ErrTokenMalformed},
		{name: "signature not base64url", authorization: parts[0] + "." + parts[1] + ".!!", err: ErrInvalid, detail: jwt.ErrTokenMalformed},
		{name: "JWE", authorization: "a.b.c.d.e", err: ErrInvalid, detail: jwt.ErrTokenMalformed},
		{name: "token just under 8 KiB", authorization: "Bearer " + sized(false), want: acme},
		{name: "token over 8 KiB", authorization: "Bearer " + sized(true), err: ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.Verify(t.Context(), tt.authorization)
			if tt.err == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(Identity{}, "Claims")); diff != "" {
					t.Errorf("identity (-want +got):\n%s", diff)
				}
				return
			}
			if !errors.Is(err, tt.err) {
				t.Fatalf("Verify: %v; want %v", err, tt.err)
			}
			if tt.detail != nil && !errors.Is(err, tt.detail) {
				t.Errorf("Verify: %v; want it to wrap %v", err, tt.detail)
			}
			if tt.err == ErrInvalid && errors.Is(err, ErrMissing) || tt.err == ErrMissing && errors.Is(err, ErrInvalid) {
				t.Errorf("Verify: %v is of both kinds", err)
			}
		})
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestJWTAuthVerifyReturnsClaims(t *testing.T) {
	v := newTestVerifier(t, Config{Issuer: testIssuer, Audiences: []string{testAud}, Algorithms: []string{HS256},
		HMACSecret: testSecret, TenantClaim: "tenant"}, newClock(t0))

	big := "9007199254740993" // 2^53+1, which a float64 would round
	tok := signHS(t, edit("org", map[string]any{"id": json.Number(big)}, "groups", []string{"a", "b"}))
	id, err := v.Verify(t.Context(), tok)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"iss": testIssuer, "aud": testAud, "sub": "user-1", "tenant": "acme",
		"iat":    json.Number(jsonInt(t0.Add(-time.Minute).Unix())),
		"nbf":    json.Number(jsonInt(t0.Add(-time.Minute).Unix())),
		"exp":    json.Number(jsonInt(t0.Add(time.Hour).Unix())),
		"org":    map[string]any{"id": json.Number(big)},
		"groups": []any{"a", "b"},
	}
	if diff := cmp.Diff(want, id.Claims); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
}

func jsonInt(n int64) string { return mustJSON(n) }

func TestJWTAuthTenantClaim(t *testing.T) {
	tests := []struct {
		name, claim string
		claims      jwt.MapClaims
		want        string // "" when the token must be refused
	}{
		{"top level", "tenant", edit(), "acme"},
		{"Cognito custom claim", "custom:tenant_id", edit("custom:tenant_id", "t-1"), "t-1"},
		{"namespaced claim with dots", "https://example.com/tenant", edit("https://example.com/tenant", "t-2"), "t-2"},
		{"nested path", "app_metadata.tenant", edit("app_metadata", map[string]any{"tenant": "t-3"}), "t-3"},
		{"deeply nested path", "a.b.c", edit("a", map[string]any{"b": map[string]any{"c": "t-4"}}), "t-4"},
		{"exact name wins over the path", "app_metadata.tenant",
			edit("app_metadata.tenant", "exact", "app_metadata", map[string]any{"tenant": "nested"}), "exact"},
		{"nested path missing", "app_metadata.tenant", edit("app_metadata", map[string]any{"other": "x"}), ""},
		{"nested path through a string", "app_metadata.tenant", edit("app_metadata", "tenant"), ""},
		{"nested path to an object", "app_metadata", edit("app_metadata", map[string]any{"tenant": "x"}), ""},
		{"nested path to a number", "app_metadata.tenant", edit("app_metadata", map[string]any{"tenant": 7}), ""},
		{"nested path through an array", "orgs.0", edit("orgs", []string{"t-5"}), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newTestVerifier(t, Config{Issuer: testIssuer, Audiences: []string{testAud}, Algorithms: []string{HS256},
				HMACSecret: testSecret, TenantClaim: tt.claim}, newClock(t0))
			id, err := v.Verify(t.Context(), signHS(t, tt.claims))
			switch {
			case tt.want == "" && !errors.Is(err, ErrInvalid):
				t.Fatalf("Verify: %v, %+v; want ErrInvalid", err, id)
			case tt.want != "" && err != nil:
				t.Fatalf("Verify: %v", err)
			case id.Tenant != tt.want:
				t.Errorf("Tenant = %q; want %q", id.Tenant, tt.want)
			}
		})
	}
}

// TestJWTAuthAlgorithmConfusion signs HS256 tokens with every public form of
// the RSA key against verifiers that pin RS256 alone, and RS256 with HS256.
func TestJWTAuthAlgorithmConfusion(t *testing.T) {
	k := testKeys()
	der, err := x509.MarshalPKIXPublicKey(&k.rsa1.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pkcs1 := x509.MarshalPKCS1PublicKey(&k.rsa1.PublicKey)
	jwksJSON := jwksDoc(rsaJWK("rsa-1", &k.rsa1.PublicKey))
	secrets := map[string][]byte{
		"PKIX PEM":  pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}),
		"PKCS1 PEM": pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: pkcs1}),
		"PKIX DER":  der,
		"JWKS":      jwksJSON,
		"JWK n":     []byte(b64(k.rsa1.N.Bytes())),
	}
	_, url := newJWKSServer(t, jwksJSON)
	rsOnly := testConfig(url)
	rsOnly.Algorithms, rsOnly.HMACSecret = []string{RS256}, nil
	verifiers := map[string]*Verifier{
		"RS256":       newTestVerifier(t, rsOnly, newClock(t0)),
		"RS256+HS256": newTestVerifier(t, testConfig(url), newClock(t0)),
	}
	for vname, v := range verifiers {
		if _, err := v.Verify(t.Context(), signRS(t, claimsAt(t0))); err != nil {
			t.Fatalf("%s: a genuine RS256 token: %v", vname, err)
		}
		for sname, secret := range secrets {
			tok := sign(t, jwt.SigningMethodHS256, secret, kid("rsa-1"), claimsAt(t0))
			if _, err := v.Verify(t.Context(), tok); !errors.Is(err, ErrInvalid) {
				t.Errorf("%s verifier, HS256 signed with the %s: %v; want ErrInvalid", vname, sname, err)
			}
		}
	}
}

func TestJWTAuthLeeway(t *testing.T) {
	clk := newClock(t0)
	c := Config{Issuer: testIssuer, Audiences: []string{testAud}, Algorithms: []string{HS256},
		HMACSecret: testSecret, TenantClaim: "tenant", Leeway: 2 * time.Minute}
	v := newTestVerifier(t, c, clk)
	// Valid from t0 to t0+1m, so from t0-2m to t0+3m with the leeway.
	tok := signHS(t, edit("nbf", t0.Unix(), "iat", t0.Unix(), "exp", t0.Add(time.Minute).Unix()))

	for _, tt := range []struct {
		at time.Duration // since t0
		ok bool
	}{
		{-2*time.Minute - time.Second, false}, // nbf and iat beyond the leeway
		{-2 * time.Minute, true},
		{0, true},
		{3*time.Minute - time.Second, true},
		{3 * time.Minute, false}, // exp plus the leeway
	} {
		clk.Set(t0.Add(tt.at))
		_, err := v.Verify(t.Context(), tok)
		if ok := err == nil; ok != tt.ok {
			t.Errorf("at t0%+v: Verify: %v; want ok=%v", tt.at, err, tt.ok)
		}
	}
}

func TestJWTAuthHasAnyScope(t *testing.T) {
	id := Identity{Scopes: []string{"read", "write"}}
	tests := []struct {
		name     string
		id       Identity
		required []string
		want     bool
	}{
		{"nothing required", id, nil, true},
		{"nothing required, no scopes", Identity{}, []string{}, true},
		{"one of them", id, []string{"admin", "write"}, true},
		{"all of them", id, []string{"read", "write"}, true},
		{"none of them", id, []string{"admin"}, false},
		{"no scopes", Identity{}, []string{"read"}, false},
		{"case matters", id, []string{"READ"}, false},
		{"an empty scope never matches", Identity{Scopes: []string{""}}, []string{""}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.id.HasAnyScope(tt.required); got != tt.want {
				t.Errorf("HasAnyScope(%q) = %v; want %v", tt.required, got, tt.want)
			}
		})
	}
}
