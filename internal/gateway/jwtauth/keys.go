package jwtauth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

const (
	// fetchTimeout bounds one load of the JWKS.
	fetchTimeout = 10 * time.Second
	// maxJWKSBytes bounds the JWKS document; real ones are a few KiB.
	maxJWKSBytes = 1 << 20
	// RSA modulus sizes accepted: below 2048 bits is too weak, above 8192
	// makes every verification needlessly slow.
	minRSABits, maxRSABits = 2048, 8192
)

// source is where a keySet loads its JWKS from; satisfied by urlSource and
// fileSource.
type source interface {
	// fetch returns the JWKS document and its version, or a nil document when
	// the version is still since. A source that cannot tell returns "" as
	// the version and always a document.
	fetch(ctx context.Context, since string) (doc []byte, version string, err error)
	// String names the source in logs and errors.
	String() string
}

var (
	_ source = urlSource{}
	_ source = fileSource{}
)

// keyID names a key by its kid and the one algorithm its type allows.
type keyID struct{ kid, alg string }

// keySet holds the RS256 and ES256 keys of one JWKS source and keeps them
// fresh. It owns its refresh goroutine.
type keySet struct {
	src    source
	algs   []string      // the pinned RS256 and ES256; keys for others are skipped
	limit  time.Duration // least time between reloads for unknown kids; 0 for none
	now    func() time.Time
	logger *slog.Logger

	// loading is a one-slot semaphore held for each reload, so reloads do not
	// overlap and requests waiting for one can give up with their context.
	loading     chan struct{}
	version     string    // of the last document read; guarded by loading
	lastUnknown time.Time // of the last reload for an unknown kid; guarded by loading

	mu   sync.RWMutex
	keys map[keyID]crypto.PublicKey // guarded by mu; replaced whole, never modified

	life context.Context    // ends at close
	stop context.CancelFunc // ends life
	wg   sync.WaitGroup     // the refresh goroutine
}

// newKeySet loads the JWKS from src, failing when it cannot or when the
// document holds no usable key, and starts reloading it every interval until
// close. ctx bounds the first load only.
func newKeySet(ctx context.Context, src source, algs []string, limit, interval time.Duration, now func() time.Time, logger *slog.Logger) (*keySet, error) {
	life, stop := context.WithCancel(context.WithoutCancel(ctx))
	s := &keySet{
		src:     src,
		algs:    algs,
		limit:   limit,
		now:     now,
		logger:  logger,
		loading: make(chan struct{}, 1),
		life:    life,
		stop:    stop,
	}
	s.loading <- struct{}{}
	err := s.reload(ctx)
	<-s.loading
	if err != nil {
		stop()
		return nil, err
	}
	s.wg.Go(func() { s.refreshEvery(life, interval) })
	return s, nil
}

// close stops the refresh goroutine and waits for it. The keys held remain
// usable, but unknown kids no longer cause reloads.
func (s *keySet) close() {
	s.stop()
	s.wg.Wait()
}

// key returns the key for kid and alg, reloading the set first when it holds
// none and the rules for unknown kids allow. The key's type matches alg:
// *rsa.PublicKey for RS256, a P-256 *ecdsa.PublicKey for ES256.
func (s *keySet) key(ctx context.Context, kid, alg string) (crypto.PublicKey, error) {
	id := keyID{kid: kid, alg: alg}
	if k, ok := s.lookup(id); ok {
		return k, nil
	}
	if err := s.reloadForUnknown(ctx, id); err != nil {
		return nil, err
	}
	if k, ok := s.lookup(id); ok {
		return k, nil
	}
	return nil, fmt.Errorf("the JWKS has no %s key with kid %q", alg, kid)
}

func (s *keySet) lookup(id keyID) (crypto.PublicKey, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	k, ok := s.keys[id]
	return k, ok
}

// reloadForUnknown reloads the set for a kid it does not hold, unless a reload
// that finished while this one waited has brought the key, the set is closed,
// or the last reload for an unknown kid is more recent than the limit. A
// failed reload is logged, not returned: the token is then simply invalid.
func (s *keySet) reloadForUnknown(ctx context.Context, id keyID) error {
	select {
	case s.loading <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("waiting for the JWKS to reload: %w", ctx.Err())
	}
	defer func() { <-s.loading }()

	if _, ok := s.lookup(id); ok {
		return nil
	}
	if s.life.Err() != nil {
		return nil
	}
	now := s.now()
	if s.limit > 0 && !s.lastUnknown.IsZero() && now.Sub(s.lastUnknown) < s.limit {
		return nil
	}
	s.lastUnknown = now
	if err := s.reload(ctx); err != nil {
		s.logger.WarnContext(ctx, "JWKS reload for an unknown kid failed; keeping the keys held",
			"jwks", s.src.String(), "kid", id.kid, "error", err)
	}
	return nil
}

// refreshEvery reloads the set every interval until ctx ends.
func (s *keySet) refreshEvery(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		select {
		case s.loading <- struct{}{}:
		case <-ctx.Done():
			return
		}
		err := s.reload(ctx)
		<-s.loading
		if err != nil {
			s.logger.WarnContext(ctx, "JWKS refresh failed; keeping the keys held", "jwks", s.src.String(), "error", err)
		}
	}
}

// reload loads the document and, when it has changed and holds a usable key,
// replaces the keys. The caller holds loading.
func (s *keySet) reload(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	doc, version, err := s.src.fetch(ctx, s.version)
	if err != nil {
		return err
	}
	if doc == nil {
		return nil
	}
	// The version is recorded even when the document is unusable, so that an
	// unchanged broken file is reported once, not read again for every
	// unknown kid; the next change to it is read.
	s.version = version
	keys, skipped, err := parseJWKS(doc, s.algs)
	for _, reason := range skipped {
		s.logger.WarnContext(ctx, "JWKS key skipped", "jwks", s.src.String(), "reason", reason)
	}
	if err != nil {
		return fmt.Errorf("JWKS from %s: %w", s.src, err)
	}
	s.mu.Lock()
	s.keys = keys
	s.mu.Unlock()
	return nil
}

// jwk is the part of a JSON Web Key (RFC 7517, RFC 7518 §6) this package reads.
type jwk struct {
	Kty    string   `json:"kty"`
	Kid    string   `json:"kid"`
	Use    string   `json:"use"`
	KeyOps []string `json:"key_ops"`
	Alg    string   `json:"alg"`
	N      string   `json:"n"`
	E      string   `json:"e"`
	Crv    string   `json:"crv"`
	X      string   `json:"x"`
	Y      string   `json:"y"`
}

// parseJWKS returns the usable verification keys of a JWKS document for the
// pinned algorithms, with a reason for each key skipped because it is
// malformed or weak; keys meant for something else (encryption, other
// algorithms, other key types) are skipped silently. A document with no
// usable key is an error.
func parseJWKS(doc []byte, algs []string) (map[keyID]crypto.PublicKey, []string, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		return nil, nil, fmt.Errorf("not a JWKS: %w", err)
	}
	if set.Keys == nil {
		return nil, nil, errors.New(`not a JWKS: no "keys" member`)
	}
	keys := make(map[keyID]crypto.PublicKey)
	var skipped []string
	for i, raw := range set.Keys {
		var k jwk
		if err := json.Unmarshal(raw, &k); err != nil {
			skipped = append(skipped, fmt.Sprintf("key %d: %v", i, err))
			continue
		}
		alg := k.algorithm()
		if alg == "" || !slices.Contains(algs, alg) {
			continue
		}
		if k.Kid == "" {
			skipped = append(skipped, fmt.Sprintf("key %d: no kid, so no token can name it", i))
			continue
		}
		id := keyID{kid: k.Kid, alg: alg}
		if _, dup := keys[id]; dup {
			skipped = append(skipped, fmt.Sprintf("key %d: a second %s key with kid %q; the first is used", i, alg, k.Kid))
			continue
		}
		pub, err := k.publicKey()
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("key %d (kid %q): %v", i, k.Kid, err))
			continue
		}
		keys[id] = pub
	}
	if len(keys) == 0 {
		return nil, skipped, fmt.Errorf("no usable key for %s among %d", strings.Join(algs, ", "), len(set.Keys))
	}
	return keys, skipped, nil
}

// algorithm returns the one algorithm the key may verify, or "" when it is
// not a signature key this package uses.
func (k jwk) algorithm() string {
	if k.Use != "" && k.Use != "sig" {
		return ""
	}
	if k.KeyOps != nil && !slices.Contains(k.KeyOps, "verify") {
		return ""
	}
	var alg string
	switch {
	case k.Kty == "RSA":
		alg = RS256
	case k.Kty == "EC" && k.Crv == "P-256":
		alg = ES256
	default:
		return ""
	}
	if k.Alg != "" && k.Alg != alg {
		return ""
	}
	return alg
}

// publicKey decodes the key of a JWK for which algorithm is not "".
func (k jwk) publicKey() (crypto.PublicKey, error) {
	if k.Kty == "RSA" {
		return k.rsaKey()
	}
	return k.ecKey()
}

func (k jwk) rsaKey() (*rsa.PublicKey, error) {
	n, err := decodeBase64URL(k.N)
	if err != nil {
		return nil, fmt.Errorf(`"n": %w`, err)
	}
	e, err := decodeBase64URL(k.E)
	if err != nil {
		return nil, fmt.Errorf(`"e": %w`, err)
	}
	if len(e) == 0 || len(e) > 4 {
		return nil, fmt.Errorf(`"e" is %d bytes; expected 1 to 4`, len(e))
	}
	exponent := 0
	for _, b := range e {
		exponent = exponent<<8 | int(b)
	}
	if exponent < 3 || exponent%2 == 0 {
		return nil, fmt.Errorf("public exponent %d is not an odd number of at least 3", exponent)
	}
	modulus := new(big.Int).SetBytes(n)
	if bits := modulus.BitLen(); bits < minRSABits || bits > maxRSABits {
		return nil, fmt.Errorf("modulus of %d bits; expected %d to %d", bits, minRSABits, maxRSABits)
	}
	if modulus.Bit(0) == 0 {
		return nil, errors.New("modulus is even")
	}
	return &rsa.PublicKey{N: modulus, E: exponent}, nil
}

func (k jwk) ecKey() (*ecdsa.PublicKey, error) {
	const size = 32 // bytes in a P-256 coordinate
	x, err := decodeBase64URL(k.X)
	if err != nil {
		return nil, fmt.Errorf(`"x": %w`, err)
	}
	y, err := decodeBase64URL(k.Y)
	if err != nil {
		return nil, fmt.Errorf(`"y": %w`, err)
	}
	if len(x) > size || len(y) > size {
		return nil, fmt.Errorf("coordinates of %d and %d bytes; P-256 has %d", len(x), len(y), size)
	}
	// Uncompressed SEC 1 form: 0x04, then x and y left-padded to full size
	// (RFC 7518 requires full size; some issuers drop leading zeros).
	point := make([]byte, 1+2*size)
	point[0] = 4
	copy(point[1+size-len(x):], x)
	copy(point[1+2*size-len(y):], y)
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
	if err != nil {
		return nil, fmt.Errorf("P-256 point: %w", err)
	}
	return pub, nil
}

// decodeBase64URL decodes unpadded base64url, tolerating padding some issuers
// add.
func decodeBase64URL(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("missing")
	}
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// urlSource fetches the JWKS over HTTP(S).
type urlSource struct {
	url    string
	client *http.Client
}

func (s urlSource) fetch(ctx context.Context, _ string) ([]byte, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("GET %s: %s", s, resp.Status)
	}
	doc, err := readAtMost(resp.Body, maxJWKSBytes)
	if err != nil {
		return nil, "", fmt.Errorf("GET %s: %w", s, err)
	}
	return doc, "", nil
}

func (s urlSource) String() string {
	if u, err := url.Parse(s.url); err == nil {
		return u.Redacted()
	}
	return s.url
}

// fileSource reads the JWKS from a file; its version is the file's
// modification time and size, so an unchanged file is not read again.
type fileSource struct{ path string }

func (s fileSource) fetch(_ context.Context, since string) ([]byte, string, error) {
	info, err := os.Stat(s.path)
	if err != nil {
		return nil, "", err
	}
	version := fmt.Sprintf("%d/%d", info.ModTime().UnixNano(), info.Size())
	if version == since {
		return nil, since, nil
	}
	f, err := os.Open(s.path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	doc, err := readAtMost(f, maxJWKSBytes)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", s.path, err)
	}
	return doc, version, nil
}

func (s fileSource) String() string { return s.path }

func readAtMost(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("the document is larger than %d bytes", limit)
	}
	return b, nil
}
