package jwtauth

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"maps"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// t0 is the time the fake clock of most tests shows.
var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

const (
	testIssuer = "https://issuer.example.com"
	testAud    = "bulkhead-api"
)

// testSecret is the HS256 secret of the test verifiers.
var testSecret = []byte("0123456789abcdef0123456789abcdef")

// signingKeys are the test signing keys, made once: RSA generation is the slowest
// part of the tests.
type signingKeys struct {
	rsa1, rsa2 *rsa.PrivateKey
	ec1, ec2   *ecdsa.PrivateKey
	p384       *ecdsa.PrivateKey
}

var testKeys = sync.OnceValue(func() signingKeys {
	must := func(k any, err error) any {
		if err != nil {
			panic(err)
		}
		return k
	}
	return signingKeys{
		rsa1: must(rsa.GenerateKey(rand.Reader, 2048)).(*rsa.PrivateKey),
		rsa2: must(rsa.GenerateKey(rand.Reader, 2048)).(*rsa.PrivateKey),
		ec1:  must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader)).(*ecdsa.PrivateKey),
		ec2:  must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader)).(*ecdsa.PrivateKey),
		p384: must(ecdsa.GenerateKey(elliptic.P384(), rand.Reader)).(*ecdsa.PrivateKey),
	}
})

// clock is a fake clock, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// rsaJWK and ecJWK are the JWKS entries of public keys, as issuers publish
// them.
func rsaJWK(kid string, pub *rsa.PublicKey) map[string]any {
	return map[string]any{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
		"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes())}
}

func ecJWK(kid string, pub *ecdsa.PublicKey) map[string]any {
	point, err := pub.Bytes()
	if err != nil {
		panic(err)
	}
	crv := map[int]string{256: "P-256", 384: "P-384"}[pub.Curve.Params().BitSize]
	size := (len(point) - 1) / 2
	return map[string]any{"kty": "EC", "kid": kid, "crv": crv,
		"x": b64(point[1 : 1+size]), "y": b64(point[1+size:])}
}

func with(m map[string]any, kv ...any) map[string]any {
	m = maps.Clone(m)
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(m, kv[i].(string))
		} else {
			m[kv[i].(string)] = kv[i+1]
		}
	}
	return m
}

func jwksDoc(entries ...map[string]any) []byte {
	if entries == nil {
		entries = []map[string]any{}
	}
	b, err := json.Marshal(map[string]any{"keys": entries})
	if err != nil {
		panic(err)
	}
	return b
}

// defaultJWKS holds rsa1 as "rsa-1" and ec1 as "ec-1".
func defaultJWKS() []byte {
	k := testKeys()
	return jwksDoc(rsaJWK("rsa-1", &k.rsa1.PublicKey), ecJWK("ec-1", &k.ec1.PublicKey))
}

// jwksHandler serves a JWKS document that tests may replace, and counts the
// requests it answers.
type jwksHandler struct {
	mu       sync.Mutex
	doc      []byte
	status   int
	requests atomic.Int64
}

func (h *jwksHandler) set(doc []byte, status int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.doc, h.status = doc, status
}

func (h *jwksHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.requests.Add(1)
	h.mu.Lock()
	doc, status := h.doc, h.status
	h.mu.Unlock()
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.WriteHeader(status)
	w.Write(doc)
}

// newJWKSServer serves doc on a loopback port until the test ends.
func newJWKSServer(t testing.TB, doc []byte) (*jwksHandler, string) {
	t.Helper()
	h := &jwksHandler{doc: doc, status: http.StatusOK}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, srv.URL + "/.well-known/jwks.json"
}

// handlerTransport answers requests with a handler in memory, for tests in a
// synctest bubble, where real sockets would keep the fake clock from moving.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// testConfig pins all three algorithms, with keys from jwksURL.
func testConfig(jwksURL string) Config {
	return Config{
		Issuer:      testIssuer,
		Audiences:   []string{testAud, "other-api"},
		Algorithms:  []string{RS256, ES256, HS256},
		JWKSURL:     jwksURL,
		HMACSecret:  testSecret,
		TenantClaim: "tenant",
	}
}

// newTestVerifier returns a verifier judging time by clk, closed when the
// test ends.
func newTestVerifier(t testing.TB, c Config, clk *clock) *Verifier {
	t.Helper()
	v, err := newVerifier(t.Context(), c, clk.Now)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(v.Close)
	return v
}

// claimsAt are the claims of a valid token issued a minute before now.
func claimsAt(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"iss":    testIssuer,
		"aud":    testAud,
		"sub":    "user-1",
		"tenant": "acme",
		"iat":    now.Add(-time.Minute).Unix(),
		"nbf":    now.Add(-time.Minute).Unix(),
		"exp":    now.Add(time.Hour).Unix(),
	}
}

// edit returns valid claims at t0 changed by kv pairs; a nil value deletes
// the claim.
func edit(kv ...any) jwt.MapClaims { return jwt.MapClaims(with(claimsAt(t0), kv...)) }

// sign returns a compact JWS of claims with header fields added.
func sign(t testing.TB, method jwt.SigningMethod, key any, header map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	maps.Copy(tok.Header, header)
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("signing: %v", err)
	}
	return s
}

func kid(id string) map[string]any { return map[string]any{"kid": id} }

func signRS(t testing.TB, claims jwt.MapClaims) string {
	return sign(t, jwt.SigningMethodRS256, testKeys().rsa1, kid("rsa-1"), claims)
}

func signES(t testing.TB, claims jwt.MapClaims) string {
	return sign(t, jwt.SigningMethodES256, testKeys().ec1, kid("ec-1"), claims)
}

func signHS(t testing.TB, claims jwt.MapClaims) string {
	return sign(t, jwt.SigningMethodHS256, testSecret, nil, claims)
}

// rawToken joins base64url-encoded segments into a token.
func rawToken(segments ...string) string {
	var b bytes.Buffer
	for i, s := range segments {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(b64([]byte(s)))
	}
	return b.String()
}

// syncBuffer is a log destination safe for the refresh goroutine to write.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
