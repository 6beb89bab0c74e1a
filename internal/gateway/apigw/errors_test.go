package apigw

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
)

func TestGatewayWriteError(t *testing.T) {
	for _, tc := range []struct {
		kind      Kind
		status    int
		errorType string
		body      string
	}{
		{Throttled, 429, "TooManyRequestsException", `{"message":"Too Many Requests"}`},
		{QuotaExceeded, 429, "LimitExceededException", `{"message":"Limit Exceeded"}`},
		{InvalidAPIKey, 403, "ForbiddenException", `{"message":"Forbidden"}`},
		{MissingAuthenticationToken, 403, "MissingAuthenticationTokenException", `{"message":"Missing Authentication Token"}`},
		{AccessDenied, 403, "AccessDeniedException", `{"Message":"User is not authorized to access this resource with an explicit deny"}`},
		{Unauthorized, 401, "UnauthorizedException", `{"message":"Unauthorized"}`},
		{RequestTooLarge, 413, "RequestEntityTooLargeException", `{"message":"Request Too Long"}`},
		{IntegrationTimeout, 504, "InternalServerErrorException", `{"message":"Endpoint request timed out"}`},
		{IntegrationFailure, 502, "InternalServerErrorException", `{"message": "Internal server error"}`},
		{AuthorizerFailure, 500, "AuthorizerConfigurationException", `{"message":null}`},
		{AuthorizerConfigurationError, 500, "AuthorizerConfigurationException", `{"message":null}`},
		{NotFound, 404, "NotFoundException", `{"message":"Not Found"}`},
		{Kind("NO_SUCH_KIND"), 500, "InternalServerErrorException", `{"message":"Internal server error"}`},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			rec := httptest.NewRecorder()
			WriteError(rec, tc.kind, "req-1")
			h := rec.Header()
			if rec.Code != tc.status || tc.kind.Status() != tc.status {
				t.Errorf("status = %d, Kind.Status = %d; want %d", rec.Code, tc.kind.Status(), tc.status)
			}
			if rec.Body.String() != tc.body || !json.Valid(rec.Body.Bytes()) {
				t.Errorf("body = %s; want %s", rec.Body, tc.body)
			}
			if h.Get("Content-Type") != "application/json" || h.Get("x-amzn-ErrorType") != tc.errorType || h.Get("x-amzn-RequestId") != "req-1" {
				t.Errorf("headers = %v; want application/json, x-amzn-ErrorType %s, x-amzn-RequestId req-1", h, tc.errorType)
			}
		})
	}
	rec := httptest.NewRecorder()
	WriteError(rec, NotFound, "")
	if _, ok := rec.Header()["X-Amzn-Requestid"]; ok {
		t.Error("WriteError without a request id sent x-amzn-RequestId")
	}
}
