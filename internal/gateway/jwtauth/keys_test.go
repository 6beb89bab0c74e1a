package jwtauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestJWTAuthConfigValidate(t *testing.T) {
	valid := testConfig("https://issuer.example.com/jwks.json")
	if err := valid.Validate(); err != nil {
		t.Fatalf("a valid config: %v", err)
	}
	tests := []struct {
		name  string
		edit  func(*Config)
		field string // the error must name it
	}{
		{"no issuer", func(c *Config) { c.Issuer = "" }, "Issuer"},
		{"no audiences", func(c *Config) { c.Audiences = nil }, "Audiences"},
		{"an empty audience", func(c *Config) { c.Audiences = []string{"a", ""} }, "Audiences"},
		{"no algorithms", func(c *Config) { c.Algorithms = nil }, "Algorithms"},
		{"alg none", func(c *Config) { c.Algorithms = []string{"none"} }, "Algorithms"},
		{"alg HS384", func(c *Config) { c.Algorithms = []string{RS256, "HS384"} }, "Algorithms"},
		{"alg PS256", func(c *Config) { c.Algorithms = []string{"PS256"} }, "Algorithms"},
		{"alg in lower case", func(c *Config) { c.Algorithms = []string{"rs256"} }, "Algorithms"},
		{"no JWKS for RS256", func(c *Config) { c.JWKSURL = "" }, "JWKSURL"},
		{"both JWKS sources", func(c *Config) { c.JWKSFile = "/etc/jwks.json" }, "JWKSURL"},
		{"a JWKS URL without RS256 or ES256", func(c *Config) { c.Algorithms = []string{HS256} }, "JWKSURL"},
		{"a JWKS file without RS256 or ES256", func(c *Config) { c.Algorithms = []string{HS256}; c.JWKSURL = ""; c.JWKSFile = "/etc/jwks.json" }, "JWKSFile"},
		{"plain http to a remote host", func(c *Config) { c.JWKSURL = "http://issuer.example.com/jwks" }, "JWKSURL"},
		{"not http", func(c *Config) { c.JWKSURL = "ftp://issuer.example.com/jwks" }, "JWKSURL"},
		{"no host", func(c *Config) { c.JWKSURL = "https:///jwks" }, "JWKSURL"},
		{"relative URL", func(c *Config) { c.JWKSURL = "/jwks" }, "JWKSURL"},
		{"short HMAC secret", func(c *Config) { c.HMACSecret = []byte("too short") }, "HMACSecret"},
		{"no HMAC secret", func(c *Config) { c.HMACSecret = nil }, "HMACSecret"},
		{"HMAC secret without HS256", func(c *Config) { c.Algorithms = []string{RS256} }, "HMACSecret"},
		{"no tenant claim", func(c *Config) { c.TenantClaim = "" }, "TenantClaim"},
		{"tenant path with an empty segment", func(c *Config) { c.TenantClaim = "app_metadata..tenant" }, "TenantClaim"},
		{"tenant path ending in a dot", func(c *Config) { c.TenantClaim = "tenant." }, "TenantClaim"},
		{"negative leeway", func(c *Config) { c.Leeway = -time.Second }, "Leeway"},
		{"leeway over 5 minutes", func(c *Config) { c.Leeway = 5*time.Minute + time.Second }, "Leeway"},
		{"negative refresh", func(c *Config) { c.RefreshInterval = -time.Hour }, "RefreshInterval"},
		{"refresh too often", func(c *Config) { c.RefreshInterval = time.Second }, "RefreshInterval"},
		{"negative unknown-kid limit", func(c *Config) { c.UnknownKIDRefreshLimit = -time.Second }, "UnknownKIDRefreshLimit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid
			tt.edit(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.field+":") {
				t.Fatalf("Validate: %v; want an error naming %s", err, tt.field)
			}
			if _, err := New(t.Context(), c); err == nil {
				t.Errorf("New accepted the config")
			}
		})
	}

	for _, ok := range []func(*Config){
		func(c *Config) { c.JWKSURL = "http://127.0.0.1:8080/jwks" },
		func(c *Config) { c.JWKSURL = "http://localhost/jwks" },
		func(c *Config) { c.JWKSURL = "http://[::1]:9/jwks" },
		func(c *Config) { c.Leeway = MaxLeeway },
		func(c *Config) { c.TenantClaim = "https://example.com/tenant" },
		func(c *Config) { c.Algorithms = []string{HS256}; c.JWKSURL = "" },
		func(c *Config) { c.Algorithms = []string{ES256}; c.HMACSecret = nil },
	} {
		c := valid
		ok(&c)
		if err := c.Validate(); err != nil {
			t.Errorf("Validate: %v", err)
		}
	}

	var all Config
	if err := all.Validate(); err == nil || len(strings.Split(err.Error(), "\n")) < 4 {
		t.Errorf("Validate of a zero Config reports %q; want every missing field", err)
	}
}

func TestJWTAuthNewFailsWithoutKeys(t *testing.T) {
	k := testKeys()
	srv := func(doc string, status int) string {
		h, url := newJWKSServer(t, []byte(doc))
		h.set([]byte(doc), status)
		return url
	}
	dir := t.TempDir()
	file := func(doc string) string {
		p := filepath.Join(dir, "jwks.json")
		if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	stopped := httptest.NewServer(http.NotFoundHandler())
	stopped.Close()
	redirect := httptest.NewServer(http.RedirectHandler("http://jwks.example.com/keys", http.StatusFound))
	t.Cleanup(redirect.Close)
	tests := []struct {
		name string
		url  string
		file string
	}{
		{"unreachable URL", stopped.URL + "/jwks", ""},
		{"redirect to plain http elsewhere", redirect.URL + "/jwks", ""},
		{"status 500", srv(string(defaultJWKS()), http.StatusInternalServerError), ""},
		{"status 404", srv(string(defaultJWKS()), http.StatusNotFound), ""},
		{"not JSON", srv("<html>login</html>", http.StatusOK), ""},
		{"no keys", srv(`{"keys":[]}`, http.StatusOK), ""},
		{"no keys member", srv(`{}`, http.StatusOK), ""},
		{"only unusable keys", srv(string(jwksDoc(ecJWK("p384", &k.p384.PublicKey), with(rsaJWK("enc", &k.rsa1.PublicKey), "use", "enc"))), http.StatusOK), ""},
		{"too large", srv(`{"keys":[],"pad":"`+strings.Repeat("x", maxJWKSBytes)+`"}`, http.StatusOK), ""},
		{"missing file", "", filepath.Join(dir, "absent.json")},
		{"file without usable keys", "", file(`{"keys":[{"kty":"oct","kid":"k","k":"c2VjcmV0"}]}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testConfig(tt.url)
			c.JWKSFile = tt.file
			v, err := New(t.Context(), c)
			if err == nil {
				v.Close()
				t.Fatal("New succeeded")
			}
			t.Log(err)
		})
	}
}

func TestJWTAuthParseJWKS(t *testing.T) {
	k := testKeys()
	rsa1, ec1 := rsaJWK("r", &k.rsa1.PublicKey), ecJWK("e", &k.ec1.PublicKey)
	weak := &k.rsa1.PublicKey
	weakN := new(big.Int).Rsh(weak.N, 1024)
	weakN.SetBit(weakN, 0, 1)
	tests := []struct {
		name    string
		key     map[string]any
		algs    []string
		use     string // the keyID.alg it must yield, "" for none
		skipped bool   // whether a reason must be logged
	}{
		{"RSA", rsa1, []string{RS256}, RS256, false},
		{"RSA without alg or use", with(rsa1, "alg", nil, "use", nil), []string{RS256}, RS256, false},
		{"RSA with padded base64", with(rsa1, "e", "AQAB===="), []string{RS256}, RS256, false},
		{"RSA when RS256 is not pinned", rsa1, []string{ES256}, "", false},
		{"RSA for encryption", with(rsa1, "use", "enc"), []string{RS256}, "", false},
		{"RSA for signing only", with(rsa1, "key_ops", []string{"sign"}), []string{RS256}, "", false},
		{"RSA for verifying", with(rsa1, "key_ops", []string{"verify"}), []string{RS256}, RS256, false},
		{"RSA for RS512", with(rsa1, "alg", "RS512"), []string{RS256}, "", false},
		{"RSA claiming ES256", with(rsa1, "alg", "ES256"), []string{RS256, ES256}, "", false},
		{"RSA of 1024 bits", with(rsa1, "n", b64(weakN.Bytes())), []string{RS256}, "", true},
		{"RSA with exponent 1", with(rsa1, "e", "AQ"), []string{RS256}, "", true},
		{"RSA with an even exponent", with(rsa1, "e", "AQAA"), []string{RS256}, "", true},
		{"RSA with a huge exponent", with(rsa1, "e", "AQAAAAAB"), []string{RS256}, "", true},
		{"RSA without n", with(rsa1, "n", nil), []string{RS256}, "", true},
		{"RSA without kid", with(rsa1, "kid", nil), []string{RS256}, "", true},
		{"P-256", ec1, []string{ES256}, ES256, false},
		{"P-256 claiming RS256", with(ec1, "alg", "RS256"), []string{RS256, ES256}, "", false},
		{"P-256 point off the curve", with(ec1, "y", ec1["x"]), []string{ES256}, "", true},
		{"P-256 coordinate too long", with(ec1, "x", b64(make([]byte, 33))), []string{ES256}, "", true},
		{"P-384", ecJWK("p", &k.p384.PublicKey), []string{ES256}, "", false},
		{"oct", map[string]any{"kty": "oct", "kid": "o", "k": b64(testSecret)}, []string{RS256, ES256, HS256}, "", false},
		{"OKP", map[string]any{"kty": "OKP", "kid": "o", "crv": "Ed25519", "x": b64(make([]byte, 32))}, []string{RS256, ES256}, "", false},
		{"not an object", map[string]any{"kty": []int{1}}, []string{RS256}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A usable key of the other kind keeps the set from being empty.
			filler := with(ec1, "kid", "filler")
			algs := append(slices.Clone(tt.algs), ES256)
			keys, skipped, err := parseJWKS(jwksDoc(tt.key, filler), algs)
			if err != nil {
				t.Fatalf("parseJWKS: %v", err)
			}
			kid, _ := tt.key["kid"].(string)
			_, found := keys[keyID{kid: kid, alg: tt.use}]
			if tt.use != "" && !found {
				t.Errorf("no %s key %q in %v (skipped: %q)", tt.use, kid, keys, skipped)
			}
			if len(keys) != 1+btoi(tt.use != "") {
				t.Errorf("%d keys; want %d", len(keys), 1+btoi(tt.use != ""))
			}
			if got := len(skipped) > 0; got != tt.skipped {
				t.Errorf("skipped = %q; want a reason: %v", skipped, tt.skipped)
			}
		})
	}

	t.Run("duplicate kid", func(t *testing.T) {
		keys, skipped, err := parseJWKS(jwksDoc(rsa1, rsaJWK("r", &k.rsa2.PublicKey)), []string{RS256})
		if err != nil {
			t.Fatal(err)
		}
		if got := keys[keyID{"r", RS256}]; !k.rsa1.PublicKey.Equal(got) || len(skipped) != 1 {
			t.Errorf("duplicate kid: kept %v, skipped %q; want the first kept and the second skipped", got, skipped)
		}
	})
	t.Run("same kid, two types", func(t *testing.T) {
		keys, _, err := parseJWKS(jwksDoc(rsa1, with(ec1, "kid", "r")), []string{RS256, ES256})
		if err != nil || len(keys) != 2 {
			t.Errorf("parseJWKS: %v, %d keys; want both", err, len(keys))
		}
	})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestJWTAuthUnknownKIDRefetchFindsRotatedKey(t *testing.T) {
	k := testKeys()
	h, url := newJWKSServer(t, defaultJWKS())
	v := newTestVerifier(t, testConfig(url), newClock(t0))
	if _, err := v.Verify(t.Context(), signRS(t, claimsAt(t0))); err != nil {
		t.Fatal(err)
	}

	// The issuer rotates: rsa-2 replaces rsa-1.
	h.set(jwksDoc(rsaJWK("rsa-2", &k.rsa2.PublicKey), ecJWK("ec-1", &k.ec1.PublicKey)), http.StatusOK)
	rotated := sign(t, jwt.SigningMethodRS256, k.rsa2, kid("rsa-2"), claimsAt(t0))
	id, err := v.Verify(t.Context(), rotated)
	if err != nil {
		t.Fatalf("a token signed with the new key: %v", err)
	}
	if id.Tenant != "acme" {
		t.Errorf("Tenant = %q", id.Tenant)
	}
	if n := h.requests.Load(); n != 2 {
		t.Errorf("%d JWKS requests; want 2 (New and one refetch)", n)
	}
	// The reload replaced the set: the withdrawn key no longer verifies.
	if _, err := v.Verify(t.Context(), signRS(t, claimsAt(t0))); !errors.Is(err, ErrInvalid) {
		t.Errorf("a token signed with the withdrawn key: %v; want ErrInvalid", err)
	}
}

func TestJWTAuthUnknownKIDRefetchIsLimited(t *testing.T) {
	k := testKeys()
	h, url := newJWKSServer(t, defaultJWKS())
	clk := newClock(t0)
	c := testConfig(url)
	c.UnknownKIDRefreshLimit = time.Minute
	v := newTestVerifier(t, c, clk)

	unknown := func(i int) string {
		return sign(t, jwt.SigningMethodRS256, k.rsa1, kid(fmt.Sprintf("unknown-%d", i)), claimsAt(clk.Now()))
	}
	verify := func(tok string) error {
		_, err := v.Verify(t.Context(), tok)
		return err
	}
	for i := range 5 {
		if err := verify(unknown(i)); !errors.Is(err, ErrInvalid) || !errors.Is(err, jwt.ErrTokenUnverifiable) {
			t.Fatalf("unknown kid %d: %v; want ErrInvalid", i, err)
		}
	}
	if n := h.requests.Load(); n != 2 {
		t.Fatalf("%d JWKS requests after 5 unknown kids; want 2 (New and one refetch)", n)
	}

	clk.Advance(59 * time.Second)
	verify(unknown(5))
	if n := h.requests.Load(); n != 2 {
		t.Fatalf("%d JWKS requests within the limit; want 2", n)
	}

	// Once the limit has passed, an unknown kid may refetch again, and a key
	// published meanwhile is found.
	clk.Advance(time.Second)
	h.set(jwksDoc(rsaJWK("rsa-1", &k.rsa1.PublicKey), rsaJWK("rsa-2", &k.rsa2.PublicKey)), http.StatusOK)
	if err := verify(sign(t, jwt.SigningMethodRS256, k.rsa2, kid("rsa-2"), claimsAt(clk.Now()))); err != nil {
		t.Fatalf("a key published after the limit: %v", err)
	}
	verify(unknown(6))
	if n := h.requests.Load(); n != 3 {
		t.Errorf("%d JWKS requests; want 3", n)
	}
	// Known kids never cause a request.
	for range 10 {
		if err := verify(signRS(t, claimsAt(clk.Now()))); err != nil {
			t.Fatal(err)
		}
	}
	if n := h.requests.Load(); n != 3 {
		t.Errorf("%d JWKS requests after known kids; want 3", n)
	}
}

// TestJWTAuthUnknownKIDRefetchIsShared sends many tokens naming a new kid at
// once: they share one reload, and all verify.
func TestJWTAuthUnknownKIDRefetchIsShared(t *testing.T) {
	k := testKeys()
	h, url := newJWKSServer(t, defaultJWKS())
	v := newTestVerifier(t, testConfig(url), newClock(t0))
	h.set(jwksDoc(rsaJWK("rsa-2", &k.rsa2.PublicKey)), http.StatusOK)
	tok := sign(t, jwt.SigningMethodRS256, k.rsa2, kid("rsa-2"), claimsAt(t0))

	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			_, err := v.Verify(t.Context(), tok)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Verify: %v", err)
		}
	}
	if n := h.requests.Load(); n != 2 {
		t.Errorf("%d JWKS requests; want 2", n)
	}
}

func TestJWTAuthUnknownKIDWaitEndsWithContext(t *testing.T) {
	k := testKeys()
	_, url := newJWKSServer(t, defaultJWKS())
	v := newTestVerifier(t, testConfig(url), newClock(t0))
	v.keys.loading <- struct{}{} // a reload in progress
	defer func() { <-v.keys.loading }()

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := v.Verify(ctx, sign(t, jwt.SigningMethodRS256, k.rsa2, kid("rsa-2"), claimsAt(t0)))
	if !errors.Is(err, ErrInvalid) || !errors.Is(err, context.Canceled) {
		t.Errorf("Verify: %v; want ErrInvalid wrapping context.Canceled", err)
	}
}

// TestJWTAuthRefreshEvery runs in a synctest bubble, whose clock jumps
// through the refresh interval at once.
func TestJWTAuthRefreshEvery(t *testing.T) {
	k := testKeys()
	synctest.Test(t, func(t *testing.T) {
		h := &jwksHandler{doc: defaultJWKS(), status: http.StatusOK}
		var log syncBuffer
		c := testConfig("http://127.0.0.1/jwks")
		c.HTTPClient = &http.Client{Transport: handlerTransport{h}}
		c.Logger = slog.New(slog.NewTextHandler(&log, nil))
		v, err := newVerifier(t.Context(), c, time.Now)
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		verify := func(tok string) error {
			_, err := v.Verify(t.Context(), tok)
			return err
		}

		time.Sleep(DefaultRefreshInterval - time.Second)
		synctest.Wait()
		if n := h.requests.Load(); n != 1 {
			t.Fatalf("%d requests before the interval; want 1", n)
		}

		// A refresh replaces the set: rsa-1 is withdrawn, rsa-2 published.
		h.set(jwksDoc(rsaJWK("rsa-2", &k.rsa2.PublicKey)), http.StatusOK)
		time.Sleep(time.Second)
		synctest.Wait()
		if n := h.requests.Load(); n != 2 {
			t.Fatalf("%d requests after the interval; want 2", n)
		}
		rotated := sign(t, jwt.SigningMethodRS256, k.rsa2, kid("rsa-2"), claimsAt(time.Now()))
		if err := verify(rotated); err != nil {
			t.Errorf("a token signed with the refreshed key: %v", err)
		}
		if err := verify(signRS(t, claimsAt(time.Now()))); !errors.Is(err, ErrInvalid) {
			t.Errorf("a token signed with the withdrawn key: %v; want ErrInvalid", err)
		}

		// A failed refresh keeps the keys held, and says so in the log.
		h.set([]byte("oops"), http.StatusBadGateway)
		time.Sleep(DefaultRefreshInterval)
		synctest.Wait()
		if n := h.requests.Load(); n < 3 {
			t.Fatalf("%d requests; want a third", n)
		}
		if err := verify(sign(t, jwt.SigningMethodRS256, k.rsa2, kid("rsa-2"), claimsAt(time.Now()))); err != nil {
			t.Errorf("after a failed refresh: %v", err)
		}
		if !strings.Contains(log.String(), "502 Bad Gateway") {
			t.Errorf("log %q does not report the failed refresh", log.String())
		}

		// Close stops the refresh: no request in the next day.
		v.Close()
		before := h.requests.Load()
		time.Sleep(24 * time.Hour)
		synctest.Wait()
		if n := h.requests.Load(); n != before {
			t.Errorf("%d requests after Close; want %d", n, before)
		}
	})
}

func TestJWTAuthClose(t *testing.T) {
	k := testKeys()
	h, url := newJWKSServer(t, defaultJWKS())
	v := newTestVerifier(t, testConfig(url), newClock(t0))
	v.Close()
	v.Close()
	if _, err := v.Verify(t.Context(), signRS(t, claimsAt(t0))); err != nil {
		t.Errorf("a known kid after Close: %v", err)
	}
	if _, err := v.Verify(t.Context(), sign(t, jwt.SigningMethodRS256, k.rsa2, kid("rsa-2"), claimsAt(t0))); !errors.Is(err, ErrInvalid) {
		t.Errorf("an unknown kid after Close: %v; want ErrInvalid", err)
	}
	if n := h.requests.Load(); n != 1 {
		t.Errorf("%d JWKS requests; want 1: a closed verifier reloads nothing", n)
	}

	hs, err := New(t.Context(), Config{Issuer: testIssuer, Audiences: []string{testAud}, Algorithms: []string{HS256},
		HMACSecret: testSecret, TenantClaim: "tenant"})
	if err != nil {
		t.Fatal(err)
	}
	hs.Close() // no key set to stop
}

func TestJWTAuthJWKSFile(t *testing.T) {
	k := testKeys()
	path := filepath.Join(t.TempDir(), "jwks.json")
	write := func(doc []byte, mtime time.Time) {
		t.Helper()
		if err := os.WriteFile(path, doc, 0o600); err != nil {
			t.Fatal(err)
		}
		// Set the time explicitly: a coarse file system clock could
		// otherwise leave it unchanged.
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	write(defaultJWKS(), t0)
	c := testConfig("")
	c.JWKSFile = path
	v := newTestVerifier(t, c, newClock(t0))
	verify := func(tok string) error {
		_, err := v.Verify(t.Context(), tok)
		return err
	}
	if err := verify(signRS(t, claimsAt(t0))); err != nil {
		t.Fatalf("RS256 from the file: %v", err)
	}
	if err := verify(signES(t, claimsAt(t0))); err != nil {
		t.Fatalf("ES256 from the file: %v", err)
	}

	// Each rotation is picked up by the first token naming the new kid:
	// the unknown-kid limit does not apply to a file.
	rotations := []struct {
		doc []byte
		tok string
	}{
		{jwksDoc(rsaJWK("rsa-2", &k.rsa2.PublicKey)), sign(t, jwt.SigningMethodRS256, k.rsa2, kid("rsa-2"), claimsAt(t0))},
		{jwksDoc(ecJWK("ec-2", &k.ec2.PublicKey)), sign(t, jwt.SigningMethodES256, k.ec2, kid("ec-2"), claimsAt(t0))},
	}
	for i, r := range rotations {
		write(r.doc, t0.Add(time.Duration(i+1)*time.Minute))
		if err := verify(r.tok); err != nil {
			t.Fatalf("rotation %d: %v", i+1, err)
		}
	}
	if err := verify(signRS(t, claimsAt(t0))); !errors.Is(err, ErrInvalid) {
		t.Errorf("a key no longer in the file: %v; want ErrInvalid", err)
	}

	// A broken file keeps the keys held.
	write([]byte("{not json"), t0.Add(time.Hour))
	if err := verify(sign(t, jwt.SigningMethodES256, k.ec2, kid("ec-2"), claimsAt(t0))); err != nil {
		t.Errorf("after the file broke: %v", err)
	}
	// Once mended, it is read again.
	write(defaultJWKS(), t0.Add(2*time.Hour))
	if err := verify(signRS(t, claimsAt(t0))); err != nil {
		t.Errorf("after the file was mended: %v", err)
	}
}
