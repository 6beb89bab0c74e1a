package jwtauth

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Defaults and bounds of the Config durations.
const (
	// DefaultLeeway is the clock skew allowed on exp, nbf and iat when
	// Config.Leeway is zero.
	DefaultLeeway = 30 * time.Second
	// MaxLeeway is the largest Config.Leeway New accepts.
	MaxLeeway = 5 * time.Minute
	// DefaultRefreshInterval is how often the JWKS is reloaded when
	// Config.RefreshInterval is zero.
	DefaultRefreshInterval = time.Hour
	// MinRefreshInterval is the shortest Config.RefreshInterval New accepts,
	// so a typo cannot turn the refresh into a flood on the issuer.
	MinRefreshInterval = time.Minute
	// DefaultUnknownKIDRefreshLimit is the least time between two reloads of
	// a JWKS URL caused by unknown kids when Config.UnknownKIDRefreshLimit is
	// zero.
	DefaultUnknownKIDRefreshLimit = 5 * time.Minute
	// MinHMACSecretBytes is the shortest HS256 secret New accepts: as long as
	// the SHA-256 output, as RFC 7518 §3.2 requires.
	MinHMACSecretBytes = 32
)

// The algorithms a Config may pin.
const (
	RS256 = "RS256" // RSASSA-PKCS1-v1_5 with SHA-256, keys from the JWKS
	ES256 = "ES256" // ECDSA on P-256 with SHA-256, keys from the JWKS
	HS256 = "HS256" // HMAC with SHA-256, Config.HMACSecret
)

// Config says which tokens a Verifier accepts and where its keys come from.
// Only Issuer, Audiences, Algorithms, TenantClaim and the keys for the pinned
// algorithms are required; zero durations take their defaults.
type Config struct {
	// Issuer is the issuer's identifier; a token's iss must equal it
	// exactly, trailing slash included.
	Issuer string
	// Audiences are the accepted audiences, at least one: a token's aud, or
	// its client_id when it has no aud, must be one of them.
	Audiences []string
	// Algorithms pins the signature algorithms accepted: a non-empty subset
	// of RS256, ES256 and HS256, spelt so. Anything else — none, HS384,
	// PS256 — is refused, by New here and by Verify in tokens.
	Algorithms []string
	// JWKSURL is where the JWKS holding the RS256 and ES256 keys is fetched
	// from: an https URL, or http on a loopback host for development.
	// Exactly one of JWKSURL and JWKSFile is required when RS256 or ES256 is
	// pinned, and neither may be set otherwise.
	JWKSURL string
	// JWKSFile is a file holding the JWKS, read by New and reloaded when its
	// modification time or size changes; the alternative to JWKSURL.
	JWKSFile string
	// HMACSecret is the HS256 key, at least MinHMACSecretBytes long; required
	// when HS256 is pinned and refused otherwise. New copies it.
	HMACSecret []byte
	// TenantClaim names the claim holding the tenant id: a top-level claim
	// such as "custom:tenant_id" or "https://example.com/tenant", or, when
	// the token has no claim of that exact name, a dot-separated path into
	// nested objects such as "app_metadata.tenant" (see the package
	// documentation).
	TenantClaim string
	// Leeway is the clock skew allowed on exp, nbf and iat: zero means
	// DefaultLeeway; at most MaxLeeway.
	Leeway time.Duration
	// RefreshInterval is how often the JWKS is reloaded in the background:
	// zero means DefaultRefreshInterval; at least MinRefreshInterval.
	RefreshInterval time.Duration
	// UnknownKIDRefreshLimit is the least time between two reloads of
	// JWKSURL caused by tokens naming a kid the set does not hold: zero
	// means DefaultUnknownKIDRefreshLimit. A JWKSFile is only checked for
	// changes, which is cheap, so the limit does not apply to it.
	UnknownKIDRefreshLimit time.Duration
	// HTTPClient fetches JWKSURL; nil means a client with a 10-second
	// timeout that follows redirects only to URLs JWKSURL could name. Each
	// fetch is bounded by 10 seconds either way.
	HTTPClient *http.Client
	// Logger receives JWKS reload failures and skipped keys; nil discards
	// them.
	Logger *slog.Logger
}

// Validate reports every invalid field, each with its name. It judges the
// fields as New would use them, so zero durations are valid.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}

	if c.Issuer == "" {
		bad("Issuer", "must not be empty")
	}
	if len(c.Audiences) == 0 {
		bad("Audiences", "must name at least one audience")
	}
	if slices.Contains(c.Audiences, "") {
		bad("Audiences", "must not contain an empty audience")
	}

	if len(c.Algorithms) == 0 {
		bad("Algorithms", "must pin at least one of RS256, ES256, HS256")
	}
	for _, alg := range c.Algorithms {
		switch alg {
		case RS256, ES256, HS256:
		default:
			bad("Algorithms", "%q is not one of RS256, ES256, HS256", alg)
		}
	}
	asymmetric := slices.Contains(c.Algorithms, RS256) || slices.Contains(c.Algorithms, ES256)
	switch {
	case asymmetric && c.JWKSURL == "" && c.JWKSFile == "":
		bad("JWKSURL", "one of JWKSURL and JWKSFile is required when RS256 or ES256 is pinned")
	case c.JWKSURL != "" && c.JWKSFile != "":
		bad("JWKSURL", "set JWKSURL or JWKSFile, not both")
	case !asymmetric && c.JWKSURL != "":
		bad("JWKSURL", "is set but neither RS256 nor ES256 is pinned")
	case !asymmetric && c.JWKSFile != "":
		bad("JWKSFile", "is set but neither RS256 nor ES256 is pinned")
	}
	if c.JWKSURL != "" {
		if err := checkJWKSURL(c.JWKSURL); err != nil {
			bad("JWKSURL", "%v", err)
		}
	}
	if slices.Contains(c.Algorithms, HS256) {
		if len(c.HMACSecret) < MinHMACSecretBytes {
			bad("HMACSecret", "is %d bytes; HS256 needs at least %d", len(c.HMACSecret), MinHMACSecretBytes)
		}
	} else if len(c.HMACSecret) > 0 {
		bad("HMACSecret", "is set but HS256 is not pinned")
	}

	if c.TenantClaim == "" {
		bad("TenantClaim", "must not be empty")
	} else if strings.Contains(c.TenantClaim, ".") && slices.Contains(strings.Split(c.TenantClaim, "."), "") {
		bad("TenantClaim", "%q has an empty path segment", c.TenantClaim)
	}

	switch {
	case c.Leeway < 0:
		bad("Leeway", "must not be negative")
	case c.Leeway > MaxLeeway:
		bad("Leeway", "%v is more than the maximum of %v", c.Leeway, MaxLeeway)
	}
	switch {
	case c.RefreshInterval < 0:
		bad("RefreshInterval", "must not be negative")
	case c.RefreshInterval > 0 && c.RefreshInterval < MinRefreshInterval:
		bad("RefreshInterval", "%v is less than the minimum of %v", c.RefreshInterval, MinRefreshInterval)
	}
	if c.UnknownKIDRefreshLimit < 0 {
		bad("UnknownKIDRefreshLimit", "must not be negative")
	}
	return errors.Join(errs...)
}

// withDefaults returns c with its zero durations replaced by the defaults.
func (c Config) withDefaults() Config {
	if c.Leeway == 0 {
		c.Leeway = DefaultLeeway
	}
	if c.RefreshInterval == 0 {
		c.RefreshInterval = DefaultRefreshInterval
	}
	if c.UnknownKIDRefreshLimit == 0 {
		c.UnknownKIDRefreshLimit = DefaultUnknownKIDRefreshLimit
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{
			Timeout: fetchTimeout,
			// A redirect must lead where JWKSURL itself could: not from
			// https to plain http elsewhere.
			CheckRedirect: func(req *http.Request, via []*http.Request) error {
				if len(via) >= 10 {
					return errors.New("stopped after 10 redirects")
				}
				return checkJWKSURL(req.URL.String())
			},
		}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// checkJWKSURL accepts https URLs, and http ones only on a loopback host:
// keys fetched in clear text from elsewhere could be anyone's.
func checkJWKSURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Host == "" {
		return fmt.Errorf("%q has no host", u.Redacted())
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
			return nil
		}
		return fmt.Errorf("%q is plain http on a host that is not loopback; use https", u.Redacted())
	default:
		return fmt.Errorf("%q is not an http or https URL", u.Redacted())
	}
}
