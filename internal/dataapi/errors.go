package dataapi

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/bulkhead-dev/bulkhead/internal/data/ddb"
	"github.com/bulkhead-dev/bulkhead/internal/data/store"
	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
)

// The namespaces of DynamoDB's exception names, the part of __type before
// "#". Clients keep only what follows it; they are kept faithful anyway.
const (
	nsDynamoDB     = "com.amazonaws.dynamodb.v20120810" // the service's own exceptions
	nsCoral        = "com.amazon.coral.service"         // the front end: auth, protocol, serialization
	nsValidate     = "com.amazon.coral.validate"        // input constraint checks ("N validation errors detected")
	nsAvailability = "com.amazon.coral.availability"    // throttling
)

// apiError is an error as the client sees it: an exception name in a
// namespace, DynamoDB's message and the HTTP status. Operations return it,
// or errors that translate maps to it; writeError renders it.
type apiError struct {
	namespace string
	code      string
	message   string // "" writes no message member
	status    int
	// item is the item a ConditionalCheckFailedException returns when the
	// request asked for ReturnValuesOnConditionCheckFailure=ALL_OLD.
	item ddb.Item
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func newError(code, message string) *apiError {
	return &apiError{namespace: nsDynamoDB, code: code, message: message, status: http.StatusBadRequest}
}

func validationError(format string, args ...any) *apiError {
	return newError("ValidationException", fmt.Sprintf(format, args...))
}

// The fixed errors.
var (
	errThrottling = &apiError{namespace: nsAvailability, code: "ThrottlingException",
		message: "Rate of requests exceeds the allowed throughput.", status: http.StatusBadRequest}
	errInternal = &apiError{namespace: nsDynamoDB, code: "InternalServerError",
		message: "Internal server error", status: http.StatusInternalServerError}
	errTooLarge = &apiError{namespace: nsCoral, code: "RequestEntityTooLargeException",
		message: "Request body exceeds the maximum of " + strconv.Itoa(MaxRequest) + " bytes", status: http.StatusRequestEntityTooLarge}
	errReadBody = &apiError{namespace: nsCoral, code: "SerializationException",
		message: "The request body could not be read", status: http.StatusBadRequest}
	// errResourceNotFound is what item operations answer for a missing table.
	errResourceNotFound = newError("ResourceNotFoundException", "Requested resource not found")
)

// errTableNotFound is what table operations answer for a missing table.
func errTableNotFound(name string) *apiError {
	return newError("ResourceNotFoundException", "Requested resource not found: Table: "+name+" not found")
}

// errSerialization is a request member of the wrong JSON type, or a body
// that is not JSON (DynamoDB sends that one without a message).
func errSerialization(message string) *apiError {
	return &apiError{namespace: nsCoral, code: "SerializationException", message: message, status: http.StatusBadRequest}
}

// errUnknownOperation is a target that names no DynamoDB operation, or one
// this API does not have.
func errUnknownOperation(message string) *apiError {
	return &apiError{namespace: nsCoral, code: "UnknownOperationException", message: message, status: http.StatusBadRequest}
}

// errConditionFailed is ConditionalCheckFailedException, carrying old when
// the request asked for it.
func errConditionFailed(old ddb.Item) *apiError {
	e := *ddb.ErrConditionalCheckFailed
	return &apiError{namespace: nsDynamoDB, code: e.Type, message: e.Message, status: http.StatusBadRequest, item: old}
}

// authError renders an Authenticate failure: an AuthError as it says, with
// the front end's namespace; anything else is the server's fault.
func authError(err error) error {
	var ae AuthError
	if errors.As(err, &ae) {
		code, message, status := ae.DynamoDBError()
		if status == 0 {
			status = http.StatusBadRequest
		}
		return &apiError{namespace: nsCoral, code: code, message: message, status: status}
	}
	return err
}

// accessDenied is AccessDeniedException for a request the store's owner
// check, or the front end's, refused: the shape of IAM's message, naming
// neither another tenant nor whether the row exists.
func (c *call) accessDenied() *apiError {
	return &apiError{namespace: nsCoral, code: "AccessDeniedException", status: http.StatusBadRequest,
		message: fmt.Sprintf("User: %s is not authorized to perform: dynamodb:%s on resource: %s because the request reaches outside the caller's tenant",
			c.principal.ARN, c.op, c.resource)}
}

// translate maps an operation's error to what the client sees. It is the
// one table from domain errors to DynamoDB exceptions:
//
//	*apiError                      as it is
//	*ddb.Error                     its Type and Message (ValidationException, ConditionalCheckFailedException, ...)
//	store.ErrOutOfScope            AccessDeniedException (same shape as IAM's, nothing about the row)
//	errdefs.ErrNotFound            ResourceNotFoundException "Requested resource not found"
//	errdefs.ErrValidation + message ValidationException with that message
//	errdefs.ErrTooLarge            ValidationException "Item size has exceeded the maximum allowed size"
//	anything else                  500 InternalServerError, logged
//
// errdefs.ErrTooLarge is the store refusing a row's data past store.MaxData:
// an item within DynamoDB's 400 KB whose JSON form is larger than that (a
// string of control characters escapes to six bytes each). The client is
// told its item is too large rather than that the server failed.
func (c *call) translate(err error) error {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var de *ddb.Error
	if errors.As(err, &de) {
		return fromDDB(de)
	}
	switch {
	case errors.Is(err, store.ErrOutOfScope):
		return c.accessDenied()
	case errors.Is(err, errdefs.ErrNotFound):
		return errResourceNotFound
	case errors.Is(err, errdefs.ErrTooLarge):
		return fromDDB(ddb.ErrItemTooLarge)
	case errors.Is(err, errdefs.ErrValidation):
		if msg, ok := errdefs.Message(err); ok {
			return validationError("%s", msg)
		}
	}
	return err
}

// fromDDB renders a *ddb.Error.
func fromDDB(e *ddb.Error) *apiError {
	ns := nsDynamoDB
	if e.Type == ddb.SerializationException {
		ns = nsCoral
	}
	return &apiError{namespace: ns, code: e.Type, message: e.Message, status: http.StatusBadRequest}
}

// writeError writes err as DynamoDB's error body. An error that is not an
// *apiError is the server's fault: it is logged with the request id and the
// client sees only InternalServerError.
func writeError(w http.ResponseWriter, log *slog.Logger, requestID, op string, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		level := slog.LevelError
		if errors.Is(err, context.Canceled) {
			level = slog.LevelInfo // the client went away
		}
		log.Log(context.Background(), level, "data API request failed", "request_id", requestID, "op", op, "err", err)
		ae = errInternal
	}
	b := make([]byte, 0, 128+len(ae.message))
	b = append(b, `{"__type":`...)
	b = ddb.AppendJSONString(b, ae.namespace+"#"+ae.code)
	if ae.message != "" {
		if ae.namespace == nsCoral && ae.code == "SerializationException" {
			b = append(b, `,"Message":`...) // DynamoDB's capital M for this one
		} else {
			b = append(b, `,"message":`...)
		}
		b = ddb.AppendJSONString(b, ae.message)
	}
	if ae.item != nil {
		b = append(b, `,"Item":`...)
		b = ddb.AppendItemJSON(b, ae.item)
	}
	b = append(b, '}')
	writeRaw(w, ae.status, "application/x-amz-json-1.0", b)
}

// writeRaw writes a response body with DynamoDB's headers: its length, its
// CRC32 (which the SDK verifies) and, when given, its content type.
func writeRaw(w http.ResponseWriter, status int, contentType string, body []byte) {
	h := w.Header()
	if contentType != "" {
		h["Content-Type"] = []string{contentType}
	}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	h["X-Amz-Crc32"] = []string{strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10)}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
