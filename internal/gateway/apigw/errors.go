package apigw

import (
	"net/http"
	"strconv"
)

// Kind is a gateway response type: an answer the gateway gives in place of
// the function's. Values are API Gateway's names for them.
type Kind string

// The kinds, with their status and body in answers.
const (
	Throttled                    Kind = "THROTTLED"
	QuotaExceeded                Kind = "QUOTA_EXCEEDED"
	InvalidAPIKey                Kind = "INVALID_API_KEY"
	MissingAuthenticationToken   Kind = "MISSING_AUTHENTICATION_TOKEN" // a REST API's unknown route
	AccessDenied                 Kind = "ACCESS_DENIED"                // the authorizer denied
	Unauthorized                 Kind = "UNAUTHORIZED"                 // the authorizer said "Unauthorized", or no identity
	RequestTooLarge              Kind = "REQUEST_TOO_LARGE"
	IntegrationTimeout           Kind = "INTEGRATION_TIMEOUT"
	IntegrationFailure           Kind = "INTEGRATION_FAILURE"            // function error or malformed proxy response
	AuthorizerFailure            Kind = "AUTHORIZER_FAILURE"             // the authorizer failed or answered nonsense
	AuthorizerConfigurationError Kind = "AUTHORIZER_CONFIGURATION_ERROR" // the authorizer could not be invoked
	NotFound                     Kind = "NOT_FOUND"                      // an HTTP API's unknown route
)

// answer is how the gateway renders one Kind.
type answer struct {
	status    int
	errorType string // x-amzn-ErrorType
	body      string
}

// answers is the one table of gateway answers. Statuses and bodies are the
// ones API Gateway sends by default (spec §7.4; AUTHORIZER_FAILURE's body is
// API Gateway's literal {"message":null}, and INTEGRATION_FAILURE's keeps its
// space). One departs from API Gateway's gateway-response table, which lists
// INTEGRATION_FAILURE as 504: a function error or a malformed proxy response
// reaches an API Gateway client as 502 "Internal server error", and that is
// what IntegrationFailure sends; a timeout is IntegrationTimeout's 504.
//
// API Gateway documents no x-amzn-ErrorType values; these are the ones it
// is seen to send (ForbiddenException, UnauthorizedException,
// AccessDeniedException, TooManyRequestsException, LimitExceededException,
// MissingAuthenticationTokenException, AuthorizerConfigurationException for
// both authorizer errors, InternalServerErrorException for a failed
// integration) and, where none is known, the exception name of the same
// meaning elsewhere in AWS (RequestEntityTooLargeException, NotFoundException).
var answers = map[Kind]answer{
	Throttled:                    {429, "TooManyRequestsException", `{"message":"Too Many Requests"}`},
	QuotaExceeded:                {429, "LimitExceededException", `{"message":"Limit Exceeded"}`},
	InvalidAPIKey:                {403, "ForbiddenException", `{"message":"Forbidden"}`},
	MissingAuthenticationToken:   {403, "MissingAuthenticationTokenException", `{"message":"Missing Authentication Token"}`},
	AccessDenied:                 {403, "AccessDeniedException", `{"Message":"User is not authorized to access this resource with an explicit deny"}`},
	Unauthorized:                 {401, "UnauthorizedException", `{"message":"Unauthorized"}`},
	RequestTooLarge:              {413, "RequestEntityTooLargeException", `{"message":"Request Too Long"}`},
	IntegrationTimeout:           {504, "InternalServerErrorException", `{"message":"Endpoint request timed out"}`},
	IntegrationFailure:           {502, "InternalServerErrorException", `{"message": "Internal server error"}`},
	AuthorizerFailure:            {500, "AuthorizerConfigurationException", `{"message":null}`},
	AuthorizerConfigurationError: {500, "AuthorizerConfigurationException", `{"message":null}`},
	NotFound:                     {404, "NotFoundException", `{"message":"Not Found"}`},
}

// unknownKind answers a Kind outside the table: a bug, shown as a 500.
var unknownKind = answer{500, "InternalServerErrorException", `{"message":"Internal server error"}`}

func answerFor(k Kind) answer {
	if a, ok := answers[k]; ok {
		return a
	}
	return unknownKind
}

// Status is the HTTP status the gateway answers k with.
func (k Kind) Status() int { return answerFor(k).status }

// WriteError answers with kind: its status, its JSON body, Content-Type
// application/json, x-amzn-ErrorType, and x-amzn-RequestId when requestID is
// not empty. A Kind that is none of the constants is answered as a 500.
func WriteError(w http.ResponseWriter, kind Kind, requestID string) {
	a := answerFor(kind)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(a.body)))
	h.Set("X-Amzn-ErrorType", a.errorType)
	if requestID != "" {
		h.Set("X-Amzn-RequestId", requestID)
	}
	w.WriteHeader(a.status)
	_, _ = w.Write([]byte(a.body)) // the client went away; nothing to do
}
