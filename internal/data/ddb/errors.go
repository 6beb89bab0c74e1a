package ddb

import (
	"fmt"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
)

// The DynamoDB exception names this package produces, the Type of an *Error.
const (
	// ValidationException: a parameter, value or expression is invalid.
	ValidationException = "ValidationException"
	// SerializationException: a request member has the wrong JSON type
	// (a number where DynamoDB expects a string, an object where it
	// expects a list). DynamoDB's front end sends these as
	// com.amazon.coral.service#SerializationException.
	SerializationException = "SerializationException"
	// ConditionalCheckFailedException: a ConditionExpression was false.
	ConditionalCheckFailedException = "ConditionalCheckFailedException"
)

// Error is a DynamoDB error worded as DynamoDB words it. The front end writes
// it as {"__type":"com.amazonaws.dynamodb.v20120810#<Type>","message":<Message>}
// with status 400. It unwraps to an errdefs kind (errors.Is):
// ValidationException and SerializationException to errdefs.ErrValidation,
// ConditionalCheckFailedException to errdefs.ErrPrecondition.
type Error struct {
	Type    string // the exception name, e.g. "ValidationException"
	Message string // DynamoDB's message
}

var _ error = (*Error)(nil)

func (e *Error) Error() string { return e.Type + ": " + e.Message }

// Unwrap returns the errdefs kind of the error.
func (e *Error) Unwrap() error {
	if e.Type == ConditionalCheckFailedException {
		return errdefs.ErrPrecondition
	}
	return errdefs.ErrValidation
}

// Enveloped returns the error inside the "1 validation error detected: "
// envelope. Captures against DynamoDB in 2026 (paritysuite/dynamodb-conformance,
// tests/tier3/error-messages/valueLayers.test.ts) show PutItem, UpdateItem and
// DeleteItem reporting an invalid attribute value, and UpdateItem an invalid
// ConditionExpression, inside this envelope, while GetItem, BatchGetItem and
// Query report the same messages bare; which operation envelopes is the
// front end's decision.
func (e *Error) Enveloped() *Error {
	return &Error{Type: e.Type, Message: "1 validation error detected: " + e.Message}
}

// ErrConditionalCheckFailed is the error DynamoDB returns when a
// ConditionExpression evaluates to false; its message is fixed
// (nubo-db/dynamodb-conformance tests/tier3/error-messages/conditionalCheck).
var ErrConditionalCheckFailed = &Error{Type: ConditionalCheckFailedException, Message: "The conditional request failed"}

func validation(msg string) *Error { return &Error{Type: ValidationException, Message: msg} }

func validationf(format string, args ...any) *Error {
	return validation(fmt.Sprintf(format, args...))
}

func serialization(msg string) *Error { return &Error{Type: SerializationException, Message: msg} }

func serializationf(format string, args ...any) *Error {
	return serialization(fmt.Sprintf(format, args...))
}

// invalidParameter is DynamoDB's "One or more parameter values were invalid: "
// family of messages.
func invalidParameter(format string, args ...any) *Error {
	return validationf("One or more parameter values were invalid: "+format, args...)
}
