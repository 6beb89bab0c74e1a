package sigv4

import (
	"errors"
	"fmt"
)

// The kinds of verification failure, compared with errors.Is. Each kind has
// exactly one AWS exception name, the Code of every *Error of that kind, so a
// wire can translate either one.
var (
	// ErrMissingAuthentication: the request carries no Authorization header
	// (MissingAuthenticationTokenException).
	ErrMissingAuthentication = errors.New("sigv4: missing authentication")
	// ErrIncompleteSignature: the Authorization header or X-Amz-Date is
	// malformed or lacks a part (IncompleteSignatureException).
	ErrIncompleteSignature = errors.New("sigv4: incomplete signature")
	// ErrUnrecognizedClient: the access key id is unknown
	// (UnrecognizedClientException).
	ErrUnrecognizedClient = errors.New("sigv4: unrecognized access key id")
	// ErrSignatureMismatch: the signature does not authenticate this request
	// to this verifier — another secret, other content, another credential
	// scope, or host left unsigned (InvalidSignatureException).
	ErrSignatureMismatch = errors.New("sigv4: signature does not match")
	// ErrSignatureExpired: X-Amz-Date is further than the allowed skew from
	// the verifier's clock, in the past or in the future
	// (InvalidSignatureException).
	ErrSignatureExpired = errors.New("sigv4: signature outside the clock window")
)

var codes = map[error]string{
	ErrMissingAuthentication: "MissingAuthenticationTokenException",
	ErrIncompleteSignature:   "IncompleteSignatureException",
	ErrUnrecognizedClient:    "UnrecognizedClientException",
	ErrSignatureMismatch:     "InvalidSignatureException",
	ErrSignatureExpired:      "InvalidSignatureException",
}

// Error is a verification failure worded as AWS words it. It unwraps to its
// kind. Message never contains a secret key, but, like AWS, it may echo the
// request's Authorization header back to the caller; log Code, not Message.
type Error struct {
	Code    string // the AWS exception name, e.g. "InvalidSignatureException"
	Message string // AWS's message for the failure
	kind    error
}

var _ error = (*Error)(nil)

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Unwrap returns the kind, so errors.Is(err, ErrSignatureMismatch) works.
func (e *Error) Unwrap() error { return e.kind }

func newError(kind error, format string, args ...any) *Error {
	return &Error{Code: codes[kind], Message: fmt.Sprintf(format, args...), kind: kind}
}
