package e2e

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

func TestAuthRefusals(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())

	t.Run("healthz needs no signature", func(t *testing.T) {
		resp, err := http.Get("http://" + s.api + "/healthz")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET /healthz = %v, %v", resp, err)
		}
		resp.Body.Close()
	})
	t.Run("unsigned", func(t *testing.T) {
		resp, body := s.rawRequest("GET", "/2015-03-31/functions", nil, false, time.Time{})
		assertWireError(t, resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), body, 403, "MissingAuthenticationTokenException", "Missing Authentication Token")
	})
	t.Run("unknown key", func(t *testing.T) {
		_, err := s.clientWith("AKIDUNKNOWN000000000", testSecret).ListFunctions(ctx(t), &lambda.ListFunctionsInput{})
		assertAPIError(t, err, "UnrecognizedClientException", 403, "The security token included in the request is invalid.")
	})
	t.Run("wrong secret", func(t *testing.T) {
		_, err := s.clientWith(testAccessKey, "not-the-secret").ListFunctions(ctx(t), &lambda.ListFunctionsInput{})
		assertAPIError(t, err, "InvalidSignatureException", 403,
			"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	})
	t.Run("stale signature", func(t *testing.T) {
		resp, body := s.rawRequest("GET", "/2015-03-31/functions", nil, true, time.Now().Add(-6*time.Minute))
		assertWireError(t, resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), body, 403, "InvalidSignatureException", "Signature expired: …")
		// The SDK corrects its clock from this header and re-signs.
		if d, err := http.ParseTime(resp.Header.Get("Date")); err != nil || time.Since(d).Abs() > time.Minute {
			t.Errorf("Date header = %q; want the server's current time", resp.Header.Get("Date"))
		}
	})
	t.Run("signature from the future", func(t *testing.T) {
		resp, body := s.rawRequest("GET", "/2015-03-31/functions", nil, true, time.Now().Add(6*time.Minute))
		assertWireError(t, resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), body, 403, "InvalidSignatureException", "Signature not yet current: …")
	})
	t.Run("signed for another region", func(t *testing.T) {
		c := lambda.New(lambda.Options{Region: "eu-west-1", BaseEndpoint: aws.String("http://" + s.api),
			Credentials: s.client().Options().Credentials, Retryer: aws.NopRetryer{}})
		_, err := c.ListFunctions(ctx(t), &lambda.ListFunctionsInput{})
		assertAPIError(t, err, "InvalidSignatureException", 403, "…region…")
	})
	t.Run("within skew accepted", func(t *testing.T) {
		resp, body := s.rawRequest("GET", "/2015-03-31/functions", nil, true, time.Now().Add(-4*time.Minute))
		if resp.StatusCode != 200 {
			t.Errorf("4-minute-old signature = %d %s; want 200", resp.StatusCode, body)
		}
	})
	t.Run("secret never in the log", func(t *testing.T) {
		if strings.Contains(s.output.String(), testSecret) {
			t.Error("the server's output contains the admin secret")
		}
	})
}

func TestAuthGeneratedKey(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	s := startServerEnv(t, dataDir, nil)
	out := s.output.String()
	id := regexp.MustCompile(`export AWS_ACCESS_KEY_ID=(\S+)`).FindStringSubmatch(out)
	secret := regexp.MustCompile(`export AWS_SECRET_ACCESS_KEY=(\S+)`).FindStringSubmatch(out)
	if id == nil || secret == nil {
		t.Fatalf("first start did not print the generated key:\n%s", out)
	}
	if _, err := s.clientWith(id[1], secret[1]).ListFunctions(ctx(t), &lambda.ListFunctionsInput{}); err != nil {
		t.Fatalf("generated key refused: %v", err)
	}
	if err := s.stop(10 * time.Second); err != nil {
		t.Fatalf("SIGTERM exit: %v", err)
	}

	// Second start: same key, not printed again.
	s2 := startServerEnv(t, dataDir, nil)
	if strings.Contains(s2.output.String(), secret[1]) {
		t.Error("second start printed the secret again")
	}
	if _, err := s2.clientWith(id[1], secret[1]).ListFunctions(ctx(t), &lambda.ListFunctionsInput{}); err != nil {
		t.Fatalf("stored key refused after restart: %v", err)
	}
}
