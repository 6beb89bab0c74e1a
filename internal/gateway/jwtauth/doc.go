// Package jwtauth verifies the JWT bearer tokens that identify callers of the
// public gateway, making the checks API Gateway's JWT authorizer makes, and
// says who the caller is: subject, tenant, scopes and claims.
//
// It owns the token checks and the verification keys: an HMAC secret for
// HS256 and, for RS256 and ES256, a JSON Web Key Set (JWKS) read from a URL or
// a file and kept fresh. It does not own what the gateway does with the
// answer — turning errors into responses, deciding which routes need which
// scopes — nor the syntax of tenant ids: Identity.Tenant is the claim exactly
// as the token states it, for tenant.Parse to judge. It does not discover the
// JWKS from the issuer's OpenID configuration, decrypt JWE tokens, or fetch
// keys named by a token's own headers (jku, x5u, jwk are ignored).
//
// # Checks
//
// Verify makes these checks in order and stops at the first that fails:
//
//  1. The Authorization value, with a "Bearer " prefix in any case removed,
//     is the token; none at all is ErrMissing.
//  2. The token is at most 8 KiB.
//  3. It is a compact JWS: three strictly base64url-encoded segments, a JSON
//     header and a JSON object of claims.
//  4. Its alg is one of Config.Algorithms ("none" never is), and it has no
//     "crit" header, since this package understands no extensions.
//  5. The key is chosen by alg alone: HS256 uses Config.HMACSecret and
//     nothing else; RS256 the RSA key, and ES256 the P-256 key, of the JWKS
//     whose kid the header names. A JWKS key is only ever used for the
//     algorithm of its type, and "oct" keys in a JWKS are never used, so a
//     token cannot pick a public key as an HMAC secret (algorithm confusion).
//  6. The signature verifies.
//  7. exp is present and now is before exp + leeway; nbf and iat, when
//     present, are at most now + leeway. Dates are JSON numbers.
//  8. iss equals Config.Issuer exactly.
//  9. aud — a string or an array of strings — holds one of
//     Config.Audiences; a token without aud must instead have a client_id
//     that is one of them (access tokens of some providers carry no aud).
//  10. sub, when present, is a string; the tenant claim is a non-empty
//     string; scope, when present, is a string and scp a string or an array
//     of strings.
//
// # Errors
//
// Verify fails with one of two kinds, compared with errors.Is:
//
//	kind        condition                                 gateway answer
//	ErrMissing  no token in the Authorization value       401 {"message":"Unauthorized"}
//	ErrInvalid  any check from 2 on fails                 401 {"message":"Unauthorized"}
//
// An ErrInvalid error wraps a detail (the golang-jwt error where there is one,
// such as jwt.ErrTokenExpired) for the server's log. The detail may quote parts
// of the token; it is never for the client.
//
// # The tenant claim
//
// Config.TenantClaim first names a top-level claim exactly, so namespaced
// claims such as "https://example.com/tenant" and Cognito's
// "custom:tenant_id" work as written. Only when the token has no top-level
// claim of that name is the name read as a dot-separated path into nested
// objects: "app_metadata.tenant" is {"app_metadata":{"tenant":"acme"}}. Its
// value must be a non-empty string; a number, an object, null or "" fails the
// token, as does its absence.
//
// # Keys
//
// A JWKS key is used when its kid is set, its use (if any) is "sig", its
// key_ops (if any) include "verify", its alg (if any) agrees with its type,
// and it is an RSA key of 2048 to 8192 bits (for RS256) or a P-256 key (for
// ES256) of an algorithm Config.Algorithms pins. Other keys are skipped; a
// JWKS with no usable key is an error.
//
// New loads the JWKS once and fails when it cannot. Afterwards the keys are
// refreshed every Config.RefreshInterval, and a token naming a kid the set
// does not hold causes an immediate reload — from a URL at most once per
// Config.UnknownKIDRefreshLimit, from a file whenever its modification time or
// size has changed. Concurrent tokens with the same new kid share one reload.
// A reload that fails keeps the keys already held and is logged; one that
// succeeds replaces them all, so a key the issuer withdraws stops verifying.
//
// # Concurrency
//
// A Verifier is safe for concurrent use. Its only goroutine is the keySet's
// refresh loop, started by New and stopped by Close, which waits for it. Lock
// order: keySet.loading (a one-slot channel serialising reloads) before
// keySet.mu; mu is never held during I/O.
package jwtauth
