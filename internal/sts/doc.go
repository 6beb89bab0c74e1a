// Package sts owns Bulkhead's temporary, tenant-scoped credentials: minting
// them, authenticating requests signed with them, and handing them out.
//
//	Issuer          mints credentials whose session token seals the session
//	                (role, tags, session policy, expiry, environment) and its
//	                secret key; opens such tokens with no lookup
//	Authenticator   SigV4 for any service: the admin key or a session's
//	                credentials; ForSTS and ForDynamoDB word its errors
//	Handler         the STS API (AWS Query protocol): AssumeRole,
//	                GetCallerIdentity
//	EnvCredentials  one execution environment's container credentials
//	                endpoint, for the unmodified AWS SDKs in the function
//
// It does not own roles or policies: the Handler looks roles up and asks
// whether a session may assume one through functions the server injects, and
// the data plane evaluates the session's policy itself. It does not own the
// admin key (internal/adminkey) or signature verification (internal/sigv4).
//
// # Session tokens
//
// A token is a capsule, not a reference: AES-256-GCM under a 32-byte key in
// <data dir>/sts.key, URL-safe base64 without padding:
//
//	+---------+-----------+-------------------------------------------+
//	| version | nonce     | sealed session + secret key | GCM tag     |
//	| 1 byte  | 12 bytes  | (token.go has the layout)   | 16 bytes    |
//	+---------+-----------+-------------------------------------------+
//	additional data: version byte | access key id
//
// Binding the access key id as additional data makes a token useless with any
// other key id. Any change to the token fails the GCM tag: Open reports
// ErrInvalidToken, and ErrExpiredToken once the session's Expires has passed.
// An environment's session (three tags, UUID environment id, no policy)
// makes a token of under 500 bytes, an AssumeRole session with one tag under
// 300; Issue refuses tokens over MaxTokenSize (4,096 bytes).
// Rotating the key invalidates every outstanding token; there is no previous
// key to fall back on yet.
//
// # Tenants
//
// The TenantID session tag names a session's tenant (Session.Tenant). A
// session with that tag can only obtain sessions of the same tenant through
// AssumeRole, and chained sessions keep their environment, so the
// Authenticator's Check can refuse every session of a destroyed environment
// or a suspended tenant.
//
// Nothing here logs a secret key or a session token: Credentials hides both
// in String, GoString and LogValue.
package sts
