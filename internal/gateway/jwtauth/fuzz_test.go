package jwtauth

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzJWTAuthVerify feeds Verify arbitrary Authorization values, seeded with
// valid tokens of each algorithm and near misses. Verify must not panic, must
// fail with exactly one of its two kinds, and must never accept a token
// without a tenant.
func FuzzJWTAuthVerify(f *testing.F) {
	k := testKeys()
	path := filepath.Join(f.TempDir(), "jwks.json")
	if err := os.WriteFile(path, defaultJWKS(), 0o600); err != nil {
		f.Fatal(err)
	}
	c := testConfig("")
	c.JWKSFile = path
	v := newTestVerifier(f, c, newClock(t0))

	rs, es, hs := signRS(f, claimsAt(t0)), signES(f, claimsAt(t0)), signHS(f, claimsAt(t0))
	for _, seed := range []string{
		"Bearer " + rs, es, "bearer " + hs,
		sign(f, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, nil, claimsAt(t0)),
		sign(f, jwt.SigningMethodRS256, k.rsa1, kid("other"), claimsAt(t0)),
		signHS(f, edit("tenant", 1, "scp", []any{"a", 2}, "aud", []any{testAud})),
		signHS(f, edit("app_metadata", map[string]any{"tenant": "x"})),
		rawToken(`{"alg":"RS256","kid":"rsa-1","crit":["b64"]}`, `{}`, ""),
		rawToken(`{"alg":"ES256","kid":"ec-1"}`, mustJSON(claimsAt(t0)), "short"),
		"", "Bearer", "Bearer  ", "a.b.c", "..", strings.Repeat("a.", 100), "\x00\xff.\xfe",
	} {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, authorization string) {
		id, err := v.Verify(t.Context(), authorization)
		if err == nil {
			if id.Tenant == "" {
				t.Fatalf("accepted %q without a tenant", authorization)
			}
			return
		}
		if errors.Is(err, ErrMissing) == errors.Is(err, ErrInvalid) {
			t.Fatalf("Verify(%q): %v is of neither or both kinds", authorization, err)
		}
		if id.Subject != "" || id.Tenant != "" || id.Scopes != nil || id.Claims != nil {
			t.Fatalf("Verify(%q) failed but returned %+v", authorization, id)
		}
	})
}
