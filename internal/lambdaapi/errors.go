package lambdaapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/sigv4"
)

// exception is how the Lambda API names one kind of error on the wire.
type exception struct {
	Name   string // x-amzn-ErrorType
	Status int
	// Service faults are the platform's, not the caller's ("Type": "Service").
	Service bool
	// UpperMessage: the SDK model names this exception's message member
	// "Message" rather than "message". Both decode; we send what Lambda sends.
	UpperMessage bool
	// Default is the message when the error carries none of its own.
	Default string
}

// exceptions is the one table translating error kinds to Lambda exceptions
// (spec/lambda.md §1.3). Order matters only in that the first kind an error
// matches wins; kinds do not overlap.
var exceptions = []struct {
	kind error
	exception
}{
	{errdefs.ErrInvalidArgument, exception{Name: "InvalidParameterValueException", Status: 400}},
	{errdefs.ErrValidation, exception{Name: "ValidationException", Status: 400}},
	{errdefs.ErrInvalidContent, exception{Name: "InvalidRequestContentException", Status: 400}},
	{errdefs.ErrNotFound, exception{Name: "ResourceNotFoundException", Status: 404, UpperMessage: true}},
	{errdefs.ErrAlreadyExists, exception{Name: "ResourceConflictException", Status: 409}},
	{errdefs.ErrConflict, exception{Name: "ResourceConflictException", Status: 409}},
	{errdefs.ErrPrecondition, exception{Name: "PreconditionFailedException", Status: 412}},
	// Lambda sends this unmodelled name for oversized requests, not the
	// modelled RequestTooLargeException (spec/lambda.md §1.3).
	{errdefs.ErrTooLarge, exception{Name: "RequestEntityTooLargeException", Status: 413, UpperMessage: true}},
	{errdefs.ErrTooManyRequests, exception{Name: "TooManyRequestsException", Status: 429}},
	{errdefs.ErrForbidden, exception{Name: "AccessDeniedException", Status: 403}},
	{errdefs.ErrUnavailable, exception{Name: "ServiceException", Status: 503, Service: true, UpperMessage: true, Default: "The service is shutting down; retry the request."}},
	{errUnknownOperation, exception{Name: "UnknownOperationException", Status: 404, Default: "Unknown operation"}},
	{errUnsupportedMediaType, exception{Name: "UnsupportedMediaTypeException", Status: 415}},
	{sigv4.ErrMissingAuthentication, exception{Name: "MissingAuthenticationTokenException", Status: 403}},
	{sigv4.ErrIncompleteSignature, exception{Name: "IncompleteSignatureException", Status: 403}},
	{sigv4.ErrUnrecognizedClient, exception{Name: "UnrecognizedClientException", Status: 403}},
	{sigv4.ErrSignatureMismatch, exception{Name: "InvalidSignatureException", Status: 403}},
	{sigv4.ErrSignatureExpired, exception{Name: "InvalidSignatureException", Status: 403}},
}

var (
	errUnknownOperation     = errors.New("unknown operation")
	errUnsupportedMediaType = errors.New("unsupported media type")
)

var serviceException = exception{Name: "ServiceException", Status: 500, Service: true, UpperMessage: true,
	Default: "An internal error occurred. The request was not completed; retry it."}

// translate finds the exception for err.
func translate(err error) exception {
	for _, e := range exceptions {
		if errors.Is(err, e.kind) {
			return e.exception
		}
	}
	return serviceException
}

// writeError renders err in Lambda's error shape: status, x-amzn-ErrorType and
// a JSON body {"Type", "message"|"Message"}. Internal errors are logged with
// their detail and shown to the caller without it.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	ex := translate(err)
	msg, ok := errdefs.Message(err)
	if !ok {
		var se *sigv4.Error
		if errors.As(err, &se) {
			msg, ok = se.Message, true
		}
	}
	if !ok || ex.Service {
		msg = ex.Default
		if msg == "" {
			msg = err.Error()
		}
	}
	if ex.Service {
		log.ErrorContext(r.Context(), "request failed", "err", err)
	} else {
		log.InfoContext(r.Context(), "request refused", "exception", ex.Name, "status", ex.Status)
	}
	body := map[string]string{"Type": "User"}
	if ex.Service {
		body["Type"] = "Service"
	}
	if ex.UpperMessage {
		body["Message"] = msg
	} else {
		body["message"] = msg
	}
	var limited interface{ Reason() string }
	if errors.As(err, &limited) {
		body["Reason"] = limited.Reason()
	}
	w.Header().Set("X-Amzn-ErrorType", ex.Name)
	writeJSON(w, ex.Status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went away; nothing to do
}
