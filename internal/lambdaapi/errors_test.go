package lambdaapi

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
)

// TestLambdaAPIErrorTableDecodesInSDK renders each row of the error table and
// decodes it with the AWS SDK: modelled exceptions must come back as the
// SDK's typed error with our message; unmodelled ones with our exact code.
func TestLambdaAPIErrorTableDecodesInSDK(t *testing.T) {
	typed := map[string]func(error) (string, bool){
		"InvalidParameterValueException": as[*types.InvalidParameterValueException](func(e *types.InvalidParameterValueException) *string { return e.Message }),
		"InvalidRequestContentException": as[*types.InvalidRequestContentException](func(e *types.InvalidRequestContentException) *string { return e.Message }),
		"ResourceNotFoundException":      as[*types.ResourceNotFoundException](func(e *types.ResourceNotFoundException) *string { return e.Message }),
		"ResourceConflictException":      as[*types.ResourceConflictException](func(e *types.ResourceConflictException) *string { return e.Message }),
		"PreconditionFailedException":    as[*types.PreconditionFailedException](func(e *types.PreconditionFailedException) *string { return e.Message }),
		"ServiceException":               as[*types.ServiceException](func(e *types.ServiceException) *string { return e.Message }),
		"TooManyRequestsException":       as[*types.TooManyRequestsException](func(e *types.TooManyRequestsException) *string { return e.Message }),
		"UnsupportedMediaTypeException":  as[*types.UnsupportedMediaTypeException](func(e *types.UnsupportedMediaTypeException) *string { return e.Message }),
	}
	// Names Lambda sends that the SDK has no type for.
	unmodelled := map[string]bool{
		"ValidationException": true, "RequestEntityTooLargeException": true, "UnknownOperationException": true,
		"MissingAuthenticationTokenException": true, "IncompleteSignatureException": true,
		"UnrecognizedClientException": true, "InvalidSignatureException": true, "AccessDeniedException": true,
	}
	for _, row := range exceptions {
		t.Run(row.Name+"/"+row.kind.Error(), func(t *testing.T) {
			want := "detail for " + row.Name
			if row.Service {
				want = row.Default // a platform fault's detail stays in the log
			}
			got := callWithError(t, errdefs.New(row.kind, "detail for %s", row.Name))
			var api smithy.APIError
			if !errors.As(got, &api) || api.ErrorCode() != row.Name {
				t.Fatalf("SDK decoded %v; want code %s", got, row.Name)
			}
			if extract, ok := typed[row.Name]; ok {
				msg, ok := extract(got)
				if !ok {
					t.Fatalf("SDK error %T is not the modelled type for %s", got, row.Name)
				}
				if msg != want {
					t.Errorf("message = %q, want %q", msg, want)
				}
			} else if !unmodelled[row.Name] {
				t.Errorf("%s is neither checked against an SDK type nor listed as unmodelled", row.Name)
			} else if api.ErrorMessage() != want {
				t.Errorf("message = %q, want %q", api.ErrorMessage(), want)
			}
		})
	}
}

func TestLambdaAPIUnknownErrorHidesDetail(t *testing.T) {
	got := callWithError(t, errors.New("disk /var/secret exploded"))
	var se *types.ServiceException
	if !errors.As(got, &se) || aws.ToString(se.Message) != serviceException.Default {
		t.Fatalf("internal error surfaced as %v; want ServiceException with the generic message", got)
	}
}

func as[T error](msg func(T) *string) func(error) (string, bool) {
	return func(err error) (string, bool) {
		var e T
		if !errors.As(err, &e) {
			return "", false
		}
		return aws.ToString(msg(e)), true
	}
}

// callWithError serves err through writeError and calls GetFunction on it
// with the SDK.
func callWithError(t *testing.T, err error) error {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, log, err)
	}))
	t.Cleanup(srv.Close)
	c := lambda.New(lambda.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		Retryer:     aws.NopRetryer{},
	})
	_, got := c.GetFunction(t.Context(), &lambda.GetFunctionInput{FunctionName: aws.String("f")})
	if got == nil {
		t.Fatal("GetFunction succeeded against an error response")
	}
	return got
}
