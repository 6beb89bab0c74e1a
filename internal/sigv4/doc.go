// Package sigv4 owns AWS Signature Version 4 for header-signed requests
// (AWS4-HMAC-SHA256): Sign, which Bulkhead's CLI uses so the product binary
// needs no AWS SDK, and Verifier, which the Lambda API uses to authenticate
// callers exactly as AWS would, so the unmodified AWS SDKs and CLI work
// against Bulkhead.
//
// It does not own keys: a Verifier asks its Secret function for the secret of
// an access key id (internal/adminkey satisfies it). It does not issue or
// validate temporary credentials: Identity reports a signed session token and
// leaves judging it to the caller. It does not read request bodies: the caller
// reads the body, within its own size limit, and passes the bytes in.
// Presigned (query-string) requests, the Date header in place of X-Amz-Date,
// UNSIGNED-PAYLOAD and streaming payloads are not supported.
//
// # Canonical request
//
// Both directions build the canonical request the way aws-sdk-go-v2's
// aws/signer/v4 does for every service but S3:
//
//	METHOD
//	escape(escaped path)         the path as sent, escaped again ("%3A" -> "%253A")
//	sorted RFC 3986 query        space as %20, sorted by encoded key then value
//	name:value\n ...             signed headers; values trimmed, runs of spaces
//	                             collapsed, repeated headers joined with ","
//	signed header names          ";"-joined
//	hex(SHA-256(body))
//
// # Verification failures
//
// Verify checks in AWS's order — the header's presence, its parameters,
// X-Amz-Date, the clock, host signed, the algorithm, the credential's shape,
// its scope, the access key, the signature — and fails with an *Error whose
// kind (errors.Is) fixes its Code; the Lambda API sends Code as
// x-amzn-ErrorType and Message as the body, with status 403.
//
//	condition                                   kind                      Code
//	no Authorization header                     ErrMissingAuthentication  MissingAuthenticationTokenException
//	a part without "=", a missing Credential,   ErrIncompleteSignature    IncompleteSignatureException
//	  SignedHeaders or Signature, no X-Amz-Date,
//	  malformed X-Amz-Date, algorithm other
//	  than AWS4-HMAC-SHA256, credential not
//	  five "/"-separated parts
//	X-Amz-Date outside now ± MaxSkew            ErrSignatureExpired       InvalidSignatureException
//	host not signed; scope names another        ErrSignatureMismatch      InvalidSignatureException
//	  region, service, terminator or date
//	access key id unknown to Secret             ErrUnrecognizedClient     UnrecognizedClientException
//	signature differs (wrong secret, altered    ErrSignatureMismatch      InvalidSignatureException
//	  method, path, query, signed header, body)
package sigv4
