// Package errdefs defines the kinds of error that domain code returns and that
// each wire (the Lambda API, the Runtime API, the gateway) translates, once, in
// its own table, to its protocol's names and statuses.
//
// Domain code picks a kind and, where the caller must see a precise message
// (Lambda's exact wording), attaches it with New:
//
//	return errdefs.New(errdefs.ErrNotFound, "Function not found: %s", arn)
//
// Plain wrapping keeps the kind and adds context for logs:
//
//	return fmt.Errorf("function %q: %w", name, errdefs.ErrNotFound)
//
// Nothing outside a wire's table matches error strings.
package errdefs

import (
	"errors"
	"fmt"
)

// The kinds. Each is a sentinel compared with errors.Is.
var (
	// ErrInvalidArgument: a parameter has a value the operation cannot accept
	// (Lambda: InvalidParameterValueException).
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrValidation: a parameter breaks a modelled constraint — length, range,
	// pattern, enum (Lambda's front end: ValidationException).
	ErrValidation = errors.New("validation failed")
	// ErrInvalidContent: the request body or a header cannot be parsed.
	ErrInvalidContent = errors.New("invalid request content")
	// ErrNotFound: the named resource does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: a resource of that name exists already.
	ErrAlreadyExists = errors.New("already exists")
	// ErrConflict: the resource is in a state that forbids the operation
	// (in use, being updated).
	ErrConflict = errors.New("conflict")
	// ErrPrecondition: a condition the caller set (a revision id) does not hold.
	ErrPrecondition = errors.New("precondition failed")
	// ErrTooLarge: a request or payload exceeds a size limit.
	ErrTooLarge = errors.New("too large")
	// ErrUnavailable: the service cannot take the request now (shutting down).
	ErrUnavailable = errors.New("unavailable")
	// ErrForbidden: the caller is known but may not do this (a suspended
	// tenant, an unregistered one where registration is required).
	ErrForbidden = errors.New("forbidden")
	// ErrTooManyRequests: a concurrency or rate limit refuses the request. An
	// error of this kind may say which limit with a Reason() string method.
	ErrTooManyRequests = errors.New("too many requests")
)

// Error carries a kind and a message meant for the API caller.
type Error struct {
	kind    error
	message string
}

// New returns an error of the given kind whose message, formatted from format
// and args, is what the caller of the API is shown.
func New(kind error, format string, args ...any) error {
	return &Error{kind: kind, message: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string { return e.message }

// Unwrap returns the kind, so errors.Is(err, ErrNotFound) works.
func (e *Error) Unwrap() error { return e.kind }

// Message returns the caller-facing message of the outermost *Error in err's
// chain, and false when there is none.
func Message(err error) (string, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e.message, true
	}
	return "", false
}
