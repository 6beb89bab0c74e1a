package sigv4

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/google/go-cmp/cmp"
)

var (
	signTime  = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	testCreds = Credentials{AccessKeyID: "AKIDBULKHEADTEST0001", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYTESTKEY01"}
)

// testVerifier accepts testCreds for lambda in us-east-1, its clock at now.
func testVerifier(now time.Time) *Verifier {
	return &Verifier{
		Service: "lambda",
		Region:  "us-east-1",
		Secret: func(id string) (string, bool) {
			if id == testCreds.AccessKeyID {
				return testCreds.SecretAccessKey, true
			}
			return "", false
		},
		Now: func() time.Time { return now },
	}
}

// verifyServer is a real HTTP server whose handler reads the body and runs
// Verify, so the verifier sees r.Host, r.ContentLength and the request target
// as a deployed server does, after the Go client has put the request on the
// wire.
type verifyServer struct {
	*httptest.Server
	results chan verifyResult
}

type verifyResult struct {
	id  Identity
	err error
}

func startVerifyServer(t *testing.T, v *Verifier) *verifyServer {
	t.Helper()
	s := &verifyServer{results: make(chan verifyResult, 1)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err == nil {
			var id Identity
			id, err = v.Verify(r, body)
			s.results <- verifyResult{id, err}
		} else {
			s.results <- verifyResult{err: err}
		}
		if err != nil {
			w.WriteHeader(http.StatusForbidden)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// do sends req and returns what Verify said about it on the server.
func (s *verifyServer) do(t *testing.T, req *http.Request) (Identity, error) {
	t.Helper()
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	resp.Body.Close()
	res := <-s.results
	return res.id, res.err
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// sdkSign signs r with aws-sdk-go-v2's own signer, as the Lambda client does.
func sdkSign(t *testing.T, r *http.Request, payloadHash string, creds Credentials, region, service string, at time.Time) {
	t.Helper()
	ac := aws.Credentials{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey, SessionToken: creds.SessionToken}
	if err := v4.NewSigner().SignHTTP(t.Context(), ac, r, payloadHash, service, region, at); err != nil {
		t.Fatalf("SDK SignHTTP: %v", err)
	}
}

// requestCase is a request shaped like those the Lambda client and the
// Bulkhead CLI send.
type requestCase struct {
	name   string
	method string
	target string // escaped path and query, as they appear in the URL
	header http.Header
	body   string
	token  string // session token; empty for a long-term key
}

var requestCases = []requestCase{
	{
		name:   "Invoke by ARN with %3A-escaped path and $LATEST qualifier",
		method: http.MethodPost,
		target: "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af/invocations?Qualifier=%24LATEST",
		header: http.Header{
			"Content-Type":          {"application/json"},
			"X-Amz-Invocation-Type": {"RequestResponse"},
			"X-Amz-Log-Type":        {"Tail"},
			"Amz-Sdk-Invocation-Id": {"6f1c3b5e-2b9d-4a57-9a40-0d6f8e4c1a2b"},
			"Amz-Sdk-Request":       {"attempt=1; max=3"},
		},
		body: `{"hello":"world"}`,
	},
	{
		name:   "ListFunctions with several parameters, spaces and plus signs",
		method: http.MethodGet,
		target: "/2015-03-31/functions/?MaxItems=50&Marker=next%20page%2Bone&FunctionVersion=ALL&MasterRegion=us-east-1",
	},
	{
		name:   "query encoded by url.Values.Encode with repeated keys",
		method: http.MethodGet,
		target: "/2015-03-31/functions/f/aliases?b=2&a=z&a=y&Marker=a+b&empty=",
	},
	{
		name:   "GetFunction without a query",
		method: http.MethodGet,
		target: "/2015-03-31/functions/my-function",
	},
	{
		name:   "root path left empty in the URL",
		method: http.MethodGet,
		target: "",
	},
	{
		name:   "path with characters the second escaping changes",
		method: http.MethodGet,
		target: "/2015-03-31/functions/a+b/policy%20x~y",
	},
	{
		name:   "UpdateFunctionConfiguration with a session token",
		method: http.MethodPut,
		target: "/2015-03-31/functions/f/configuration",
		header: http.Header{"Content-Type": {"application/json"}},
		body:   `{"Timeout":30,"Environment":{"Variables":{"A":"b c"}}}`,
		token:  "FwoGZXIvYXdzEXAMPLETOKEN//+=",
	},
	{
		name:   "DeleteFunction with a qualifier",
		method: http.MethodDelete,
		target: "/2015-03-31/functions/f?Qualifier=1",
	},
	{
		name:   "header values with runs of spaces and repeated headers",
		method: http.MethodPost,
		target: "/2015-03-31/functions/f/invocations",
		header: http.Header{
			"X-Amz-Client-Context": {"  e30=  "},
			"X-Custom":             {"a   b  c", "d"},
		},
		body: "not json",
	},
}

// newRequest builds c against base (scheme and host), unsigned.
func newRequest(t *testing.T, base string, c requestCase) *http.Request {
	t.Helper()
	r, err := http.NewRequest(c.method, base+c.target, bytes.NewReader([]byte(c.body)))
	if err != nil {
		t.Fatal(err)
	}
	for name, values := range c.header {
		r.Header[name] = append([]string(nil), values...)
	}
	return r
}

func credsFor(c requestCase) Credentials {
	creds := testCreds
	creds.SessionToken = c.token
	return creds
}

// TestSigV4VerifiesSDKSignedRequests: what the AWS SDK signs, the server
// accepts.
func TestSigV4VerifiesSDKSignedRequests(t *testing.T) {
	for _, c := range requestCases {
		t.Run(c.name, func(t *testing.T) {
			srv := startVerifyServer(t, testVerifier(signTime))
			r := newRequest(t, srv.URL, c)
			sdkSign(t, r, sha256Hex([]byte(c.body)), credsFor(c), "us-east-1", "lambda", signTime)

			id, err := srv.do(t, r)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if want := (Identity{AccessKeyID: testCreds.AccessKeyID, SessionToken: c.token}); id != want {
				t.Errorf("Verify identity = %+v, want %+v", id, want)
			}
		})
	}
}

// TestSigV4SignedRequestsVerify: what Sign signs, the server accepts.
func TestSigV4SignedRequestsVerify(t *testing.T) {
	for _, c := range requestCases {
		t.Run(c.name, func(t *testing.T) {
			srv := startVerifyServer(t, testVerifier(signTime))
			r := newRequest(t, srv.URL, c)
			if err := Sign(r, []byte(c.body), credsFor(c), "us-east-1", "lambda", signTime); err != nil {
				t.Fatalf("Sign: %v", err)
			}

			id, err := srv.do(t, r)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if want := (Identity{AccessKeyID: testCreds.AccessKeyID, SessionToken: c.token}); id != want {
				t.Errorf("Verify identity = %+v, want %+v", id, want)
			}
		})
	}
}

// TestSigV4VerifiesInProcessRequests: a request built with httptest.NewRequest
// and handed straight to a handler (as handler tests do) verifies too, though
// it has no Content-Length header, only r.ContentLength.
func TestSigV4VerifiesInProcessRequests(t *testing.T) {
	for _, c := range requestCases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(c.method, "http://lambda.test"+c.target, bytes.NewReader([]byte(c.body)))
			for name, values := range c.header {
				r.Header[name] = append([]string(nil), values...)
			}
			if err := Sign(r, []byte(c.body), credsFor(c), "us-east-1", "lambda", signTime); err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if _, err := testVerifier(signTime).Verify(r, []byte(c.body)); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
}

// TestSigV4SignMatchesSDK: Sign leaves a request exactly as the SDK's signer
// does — same signed headers, same signature, same host and query.
func TestSigV4SignMatchesSDK(t *testing.T) {
	type signedParts struct {
		Authorization, Date, Token, Host, RawQuery string
	}
	parts := func(r *http.Request) signedParts {
		return signedParts{
			Authorization: r.Header.Get("Authorization"),
			Date:          r.Header.Get("X-Amz-Date"),
			Token:         r.Header.Get("X-Amz-Security-Token"),
			Host:          r.Host,
			RawQuery:      r.URL.RawQuery,
		}
	}
	cases := []struct {
		base string
		requestCase
	}{
		{"https://lambda.example.com:443", requestCase{name: "default https port dropped", method: http.MethodGet, target: "/2015-03-31/functions/f"}},
		{"http://localhost:9000", requestCase{name: "user agent and trace id are not signed", method: http.MethodGet, target: "/", header: http.Header{
			"User-Agent": {"bulkhead-cli/1.0"}, "X-Amzn-Trace-Id": {"Root=1-abc"}}}},
	}
	for _, c := range requestCases {
		cases = append(cases, struct {
			base string
			requestCase
		}{"http://127.0.0.1:9000", c})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			theirs := newRequest(t, c.base, c.requestCase)
			sdkSign(t, theirs, sha256Hex([]byte(c.body)), credsFor(c.requestCase), "us-east-1", "lambda", signTime)
			ours := newRequest(t, c.base, c.requestCase)
			if err := Sign(ours, []byte(c.body), credsFor(c.requestCase), "us-east-1", "lambda", signTime); err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if diff := cmp.Diff(parts(theirs), parts(ours)); diff != "" {
				t.Errorf("Sign differs from the SDK's signer (-sdk +ours):\n%s", diff)
			}
		})
	}
}

func TestSigV4SignRefusesInconsistentInput(t *testing.T) {
	cases := []struct {
		name    string
		body    []byte // what Sign is told the payload is
		creds   Credentials
		region  string
		service string
	}{
		{"body differs in length from ContentLength", []byte("short"), testCreds, "us-east-1", "lambda"},
		{"no secret", []byte("exactly 16 bytes"), Credentials{AccessKeyID: "AKID"}, "us-east-1", "lambda"},
		{"no region", []byte("exactly 16 bytes"), testCreds, "", "lambda"},
		{"no service", []byte("exactly 16 bytes"), testCreds, "us-east-1", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "http://localhost/", bytes.NewReader([]byte("exactly 16 bytes")))
			if err := Sign(r, c.body, c.creds, c.region, c.service, signTime); err == nil {
				t.Fatal("Sign succeeded, want an error")
			}
			if r.Header.Get("Authorization") != "" {
				t.Error("Sign set Authorization despite failing")
			}
		})
	}
}

// TestSigV4SignAgainReplacesSignature: a retry re-signs at a new time and
// drops a session token the new credentials do not have.
func TestSigV4SignAgainReplacesSignature(t *testing.T) {
	srv := startVerifyServer(t, testVerifier(signTime.Add(time.Hour)))
	r := newRequest(t, srv.URL, requestCases[0])
	body := []byte(requestCases[0].body)
	withToken := testCreds
	withToken.SessionToken = "old-token"
	if err := Sign(r, body, withToken, "us-east-1", "lambda", signTime); err != nil {
		t.Fatal(err)
	}
	if err := Sign(r, body, testCreds, "us-east-1", "lambda", signTime.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := r.Header.Values("Authorization"); len(got) != 1 {
		t.Fatalf("Authorization has %d values after re-signing, want 1", len(got))
	}
	id, err := srv.do(t, r)
	if err != nil {
		t.Fatalf("Verify after re-signing: %v", err)
	}
	if id.SessionToken != "" {
		t.Errorf("stale session token %q survived re-signing", id.SessionToken)
	}
}

// The SDK strips an IPv6 literal's brackets with the port; Sign keeps them, so
// the Host header stays valid.
func TestSigV4SignDropsDefaultPort(t *testing.T) {
	cases := []struct{ scheme, host, want string }{
		{"https", "lambda.example.com:443", "lambda.example.com"},
		{"http", "lambda.example.com:80", "lambda.example.com"},
		{"HTTP", "lambda.example.com:80", "lambda.example.com"},
		{"https", "lambda.example.com:80", "lambda.example.com:80"},
		{"http", "127.0.0.1:9000", "127.0.0.1:9000"},
		{"http", "[::1]:80", "[::1]"},
		{"https", "[::1]:8443", "[::1]:8443"},
		{"http", "lambda.example.com", "lambda.example.com"},
	}
	for _, c := range cases {
		t.Run(c.scheme+"://"+c.host, func(t *testing.T) {
			if got := withoutDefaultPort(c.scheme, c.host); got != c.want {
				t.Errorf("withoutDefaultPort(%q, %q) = %q, want %q", c.scheme, c.host, got, c.want)
			}
		})
	}
}
