package sigv4

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode"
)

const (
	invokeTarget = "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af/invocations?Qualifier=%24LATEST"
	invokeBody   = `{"k":"v"}`
	scopeSuffix  = "/20261123/us-east-1/lambda/aws4_request"
)

// invokeRequest is an unsigned Invoke request against base.
func invokeRequest(t *testing.T, base string) *http.Request {
	t.Helper()
	return newRequest(t, base, requestCase{
		method: http.MethodPost,
		target: invokeTarget,
		header: http.Header{"Content-Type": {"application/json"}, "X-Amz-Invocation-Type": {"Event"}},
		body:   invokeBody,
	})
}

// signedInvoke is invokeRequest signed by the SDK with creds for region and
// service at signTime.
func signedInvoke(t *testing.T, base string, creds Credentials, region, service string) *http.Request {
	t.Helper()
	r := invokeRequest(t, base)
	sdkSign(t, r, sha256Hex([]byte(invokeBody)), creds, region, service, signTime)
	return r
}

// withAuthorization is invokeRequest carrying the given Authorization and
// X-Amz-Date headers (either omitted when empty).
func withAuthorization(t *testing.T, base, authorization, amzDate string) *http.Request {
	t.Helper()
	r := invokeRequest(t, base)
	if authorization != "" {
		r.Header.Set("Authorization", authorization)
	}
	if amzDate != "" {
		r.Header.Set("X-Amz-Date", amzDate)
	}
	return r
}

// editAuthorization replaces old with new in r's Authorization header.
func editAuthorization(r *http.Request, old, new string) *http.Request {
	r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), old, new, 1))
	return r
}

func TestSigV4Rejects(t *testing.T) {
	const (
		mismatch = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
		akid     = "AKIDBULKHEADTEST0001"
		date     = "20261123T100000Z"
	)
	otherKey := Credentials{AccessKeyID: "AKIDSOMEONEELSE00001", SecretAccessKey: testCreds.SecretAccessKey}
	wrongSecret := Credentials{AccessKeyID: testCreds.AccessKeyID, SecretAccessKey: "not-the-secret"}

	cases := []struct {
		name     string
		build    func(t *testing.T, base string) *http.Request
		clock    time.Duration // the verifier's clock, relative to signTime
		maxSkew  time.Duration
		wantKind error // nil: the request is accepted
		wantCode string
		wantMsg  string // for a rejection, the exact message; "$AUTH" stands for the request's Authorization header
	}{
		{
			name:     "no Authorization header",
			build:    func(t *testing.T, base string) *http.Request { return invokeRequest(t, base) },
			wantKind: ErrMissingAuthentication, wantCode: "MissingAuthenticationTokenException",
			wantMsg: "Missing Authentication Token",
		},
		{
			name:     "bearer token",
			build:    func(t *testing.T, base string) *http.Request { return withAuthorization(t, base, "Bearer abc.def", "") },
			wantKind: ErrIncompleteSignature, wantCode: "IncompleteSignatureException",
			wantMsg: "'abc.def' not a valid key=value pair (missing equal-sign) in Authorization header: 'Bearer abc.def'.",
		},
		{
			name: "no Signature",
			build: func(t *testing.T, base string) *http.Request {
				return withAuthorization(t, base, "AWS4-HMAC-SHA256 Credential="+akid+scopeSuffix+", SignedHeaders=host;x-amz-date", date)
			},
			wantKind: ErrIncompleteSignature, wantCode: "IncompleteSignatureException",
			wantMsg: "Authorization header requires 'Signature' parameter. Authorization=$AUTH",
		},
		{
			name: "no Credential",
			build: func(t *testing.T, base string) *http.Request {
				return withAuthorization(t, base, "AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature=abcd", date)
			},
			wantKind: ErrIncompleteSignature, wantCode: "IncompleteSignatureException",
			wantMsg: "Authorization header requires 'Credential' parameter. Authorization=$AUTH",
		},
		{
			name: "no SignedHeaders",
			build: func(t *testing.T, base string) *http.Request {
				return withAuthorization(t, base, "AWS4-HMAC-SHA256 Credential="+akid+scopeSuffix+", Signature=abcd", date)
			},
			wantKind: ErrIncompleteSignature, wantCode: "IncompleteSignatureException",
			wantMsg: "Authorization header requires 'SignedHeaders' parameter. Authorization=$AUTH",
		},
		{
			name: "algorithm alone and no X-Amz-Date",
			build: func(t *testing.T, base string) *http.Request {
				return withAuthorization(t, base, "AWS4-HMAC-SHA256", "")
			},
			wantKind: ErrIncompleteSignature, wantCode: "IncompleteSignatureException",
			wantMsg: "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. " +
				"Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. " +
				"Authorization=AWS4-HMAC-SHA256",
		},
		{
			name: "no X-Amz-Date",
			build: func(t *testing.T, base string) *http.Request {
				r := signedInvoke(t, base, testCreds, "us-east-1", "lambda")
				r.Header.Del("X-Amz-Date")
				return r
			},
			wantKind: ErrIncompleteSignature, wantCode: "IncompleteSignatureException",
			wantMsg: "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=$AUTH",
		},
		{
			name: "X-Amz-Date not in basic format",
			build: func(t *testing.T, base string) *http.Request {
				r := signedInvoke(t, base, testCreds, "us-east-1", "lambda")
				r.Header.Set("X-Amz-Date", "2026-11-23T10:00:00Z")
				return r
			},
			wantKind: ErrIncompleteSignature, wantCode: "IncompleteSignatureException",
			wantMsg: "Date must be in ISO-8601 'basic format'. Got '2026-11-23T10:00:00Z'. See http://en.wikipedia.org/wiki/ISO_8601",
		},
		{
			name: "host not signed",
			build: func(t *testing.T, base string) *http.Request {
				return withAuthorization(t, base, "AWS4-HMAC-SHA256 Credential="+akid+scopeSuffix+", SignedHeaders=x-amz-date, Signature=abcd", date)
			},
			wantKind: ErrSignatureMismatch, wantCode: "InvalidSignatureException",
			wantMsg: "'Host' must be a 'SignedHeader' in the AWS Authorization.",
		},
		{
			name: "unsupported algorithm",
			build: func(t *testing.T, base string) *http.Request {
				return editAuthorization(signedInvoke(t, base, testCreds, "us-east-1", "lambda"), "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512")
			},
			wantKind: ErrIncompleteSignature, wantCode: "IncompleteSignatureException",
			wantMsg: "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' (only AWS4-HMAC-SHA256 for now). ",
		},
		{
			name: "credential of four parts",
			build: func(t *testing.T, base string) *http.Request {
				return editAuthorization(signedInvoke(t, base, testCreds, "us-east-1", "lambda"), "/aws4_request", "")
			},
			wantKind: ErrIncompleteSignature, wantCode: "IncompleteSignatureException",
			wantMsg: "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '" + akid + "/20261123/us-east-1/lambda'",
		},
		{
			name: "scoped to another region",
			build: func(t *testing.T, base string) *http.Request {
				return signedInvoke(t, base, testCreds, "eu-west-1", "lambda")
			},
			wantKind: ErrSignatureMismatch, wantCode: "InvalidSignatureException",
			wantMsg: "Credential should be scoped to a valid region. ",
		},
		{
			name: "scoped to another service",
			build: func(t *testing.T, base string) *http.Request {
				return signedInvoke(t, base, testCreds, "us-east-1", "s3")
			},
			wantKind: ErrSignatureMismatch, wantCode: "InvalidSignatureException",
			wantMsg: "Credential should be scoped to correct service: 'lambda'. ",
		},
		{
			name: "scoped to another region and service",
			build: func(t *testing.T, base string) *http.Request {
				return signedInvoke(t, base, testCreds, "eu-west-1", "s3")
			},
			wantKind: ErrSignatureMismatch, wantCode: "InvalidSignatureException",
			wantMsg: "Credential should be scoped to a valid region. Credential should be scoped to correct service: 'lambda'. ",
		},
		{
			name: "wrong scope terminator",
			build: func(t *testing.T, base string) *http.Request {
				return editAuthorization(signedInvoke(t, base, testCreds, "us-east-1", "lambda"), "aws4_request", "aws5_request")
			},
			wantKind: ErrSignatureMismatch, wantCode: "InvalidSignatureException",
			wantMsg: "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. ",
		},
		{
			name: "scope date is not X-Amz-Date's date",
			build: func(t *testing.T, base string) *http.Request {
				return editAuthorization(signedInvoke(t, base, testCreds, "us-east-1", "lambda"), "/20261123/", "/20261122/")
			},
			wantKind: ErrSignatureMismatch, wantCode: "InvalidSignatureException",
			wantMsg: "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20261122' != '20261123', from '20261123T100000Z'. ",
		},
		{
			name: "unknown access key id",
			build: func(t *testing.T, base string) *http.Request {
				return signedInvoke(t, base, otherKey, "us-east-1", "lambda")
			},
			wantKind: ErrUnrecognizedClient, wantCode: "UnrecognizedClientException",
			wantMsg: "The security token included in the request is invalid.",
		},
		{
			name: "empty access key id",
			build: func(t *testing.T, base string) *http.Request {
				return editAuthorization(signedInvoke(t, base, testCreds, "us-east-1", "lambda"), akid, "")
			},
			wantKind: ErrUnrecognizedClient, wantCode: "UnrecognizedClientException",
			wantMsg: "The security token included in the request is invalid.",
		},
		{
			name: "wrong secret",
			build: func(t *testing.T, base string) *http.Request {
				return signedInvoke(t, base, wrongSecret, "us-east-1", "lambda")
			},
			wantKind: ErrSignatureMismatch, wantCode: "InvalidSignatureException", wantMsg: mismatch,
		},
		{
			name: "tampered signature",
			build: func(t *testing.T, base string) *http.Request {
				r := signedInvoke(t, base, testCreds, "us-east-1", "lambda")
				auth := r.Header.Get("Authorization")
				flipped := "0"
				if strings.HasSuffix(auth, "0") {
					flipped = "1"
				}
				r.Header.Set("Authorization", auth[:len(auth)-1]+flipped) // the signature's last hex digit
				return r
			},
			wantKind: ErrSignatureMismatch, wantCode: "InvalidSignatureException", wantMsg: mismatch,
		},
		{
			name: "tampered body of the same length",
			build: func(t *testing.T, base string) *http.Request {
				r := signedInvoke(t, base, testCreds, "us-east-1", "lambda")
				r.Body = io.NopCloser(strings.NewReader(`{"k":"w"}`))
				return r
			},
			wantKind: ErrSignatureMismatch, wantCode: "InvalidSignatureException", wantMsg: mismatch,
		},
		{
			name: "tampered query",
			build: func(t *testing.T, base string) *http.Request {
				r := signedInvoke(t, base, testCreds, "us-east-1", "lambda")
				r.URL.RawQuery = "Qualifier=1"
				return r
			},
			wantKind: ErrSignatureMismatch, wantCode: "InvalidSignatureException", wantMsg: mismatch,
		},
		{
			name: "query parameter added",
			build: func(t *testing.T, base string) *http.Request {
				r := signedInvoke(t, base, testCreds, "us-east-1", "lambda")
				r.URL.RawQuery += "&Extra=1"
				return r
			},
			wantKind: ErrSignatureMismatch, wantCode: "InvalidSignatureException", wantMsg: mismatch,
		},
		{
			name: "tampered path",
			build: func(t *testing.T, base string) *http.Request {
				r := signedInvoke(t, base, testCreds, "us-east-1", "lambda")
				r.URL.RawPath = strings.Replace(r.URL.RawPath, "function%3Af", "function%3Ag", 1)
				r.URL.Path = strings.Replace(r.URL.Path, "function:f", "function:g", 1)
				return r
			},
			wantKind: ErrSignatureMismatch, wantCode: "InvalidSignatureException", wantMsg: mismatch,
		},
		{
			name: "path sent unescaped where it was signed escaped",
			build: func(t *testing.T, base string) *http.Request {
				r := signedInvoke(t, base, testCreds, "us-east-1", "lambda")
				r.URL.RawPath = ""
				return r
			},
			wantKind: ErrSignatureMismatch, wantCode: "InvalidSignatureException", wantMsg: mismatch,
		},
		{
			name: "tampered method",
			build: func(t *testing.T, base string) *http.Request {
				r := signedInvoke(t, base, testCreds, "us-east-1", "lambda")
				r.Method = http.MethodPut
				return r
			},
			wantKind: ErrSignatureMismatch, wantCode: "InvalidSignatureException", wantMsg: mismatch,
		},
		{
			name: "tampered signed header",
			build: func(t *testing.T, base string) *http.Request {
				r := signedInvoke(t, base, testCreds, "us-east-1", "lambda")
				r.Header.Set("X-Amz-Invocation-Type", "RequestResponse")
				return r
			},
			wantKind: ErrSignatureMismatch, wantCode: "InvalidSignatureException", wantMsg: mismatch,
		},
		{
			name: "UNSIGNED-PAYLOAD",
			build: func(t *testing.T, base string) *http.Request {
				r := invokeRequest(t, base)
				r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
				sdkSign(t, r, "UNSIGNED-PAYLOAD", testCreds, "us-east-1", "lambda", signTime)
				return r
			},
			wantKind: ErrSignatureMismatch, wantCode: "InvalidSignatureException", wantMsg: mismatch,
		},
		{
			name: "X-Amz-Content-Sha256 of another body",
			build: func(t *testing.T, base string) *http.Request {
				r := invokeRequest(t, base)
				other := sha256Hex([]byte(`{"k":"w"}`))
				r.Header.Set("X-Amz-Content-Sha256", other)
				sdkSign(t, r, other, testCreds, "us-east-1", "lambda", signTime)
				return r
			},
			wantKind: ErrSignatureMismatch, wantCode: "InvalidSignatureException", wantMsg: mismatch,
		},
		{
			name: "X-Amz-Content-Sha256 of this body is accepted",
			build: func(t *testing.T, base string) *http.Request {
				r := invokeRequest(t, base)
				r.Header.Set("X-Amz-Content-Sha256", sha256Hex([]byte(invokeBody)))
				sdkSign(t, r, sha256Hex([]byte(invokeBody)), testCreds, "us-east-1", "lambda", signTime)
				return r
			},
		},
		{
			name: "session token added after signing is refused",
			build: func(t *testing.T, base string) *http.Request {
				r := signedInvoke(t, base, testCreds, "us-east-1", "lambda")
				r.Header.Set("X-Amz-Security-Token", "injected")
				return r
			},
			wantKind: ErrSignatureMismatch, wantCode: "InvalidSignatureException",
			wantMsg: "There were headers present in the request which were not signed: x-amz-security-token",
		},
		{
			name: "signed 6 minutes ago",
			build: func(t *testing.T, base string) *http.Request {
				return signedInvoke(t, base, testCreds, "us-east-1", "lambda")
			},
			clock:    6 * time.Minute,
			wantKind: ErrSignatureExpired, wantCode: "InvalidSignatureException",
			wantMsg: "Signature expired: 20261123T100000Z is now earlier than 20261123T100100Z (20261123T100600Z - 5 min.)",
		},
		{
			name: "signed 6 minutes ahead",
			build: func(t *testing.T, base string) *http.Request {
				return signedInvoke(t, base, testCreds, "us-east-1", "lambda")
			},
			clock:    -6 * time.Minute,
			wantKind: ErrSignatureExpired, wantCode: "InvalidSignatureException",
			wantMsg: "Signature not yet current: 20261123T100000Z is still later than 20261123T095900Z (20261123T095400Z + 5 min.)",
		},
		{
			name: "signed exactly 5 minutes ago",
			build: func(t *testing.T, base string) *http.Request {
				return signedInvoke(t, base, testCreds, "us-east-1", "lambda")
			},
			clock: 5 * time.Minute,
		},
		{
			name: "signed exactly 5 minutes ahead",
			build: func(t *testing.T, base string) *http.Request {
				return signedInvoke(t, base, testCreds, "us-east-1", "lambda")
			},
			clock: -5 * time.Minute,
		},
		{
			name: "signed 5 minutes and a fraction of a second ago",
			build: func(t *testing.T, base string) *http.Request {
				return signedInvoke(t, base, testCreds, "us-east-1", "lambda")
			},
			clock: 5*time.Minute + 900*time.Millisecond,
		},
		{
			name: "signed 5 minutes and 1 second ago",
			build: func(t *testing.T, base string) *http.Request {
				return signedInvoke(t, base, testCreds, "us-east-1", "lambda")
			},
			clock:    5*time.Minute + time.Second,
			wantKind: ErrSignatureExpired, wantCode: "InvalidSignatureException",
			wantMsg: "Signature expired: 20261123T100000Z is now earlier than 20261123T100001Z (20261123T100501Z - 5 min.)",
		},
		{
			name: "signed 16 minutes ago with a 15-minute window",
			build: func(t *testing.T, base string) *http.Request {
				return signedInvoke(t, base, testCreds, "us-east-1", "lambda")
			},
			clock:    16 * time.Minute,
			maxSkew:  15 * time.Minute,
			wantKind: ErrSignatureExpired, wantCode: "InvalidSignatureException",
			wantMsg: "Signature expired: 20261123T100000Z is now earlier than 20261123T100100Z (20261123T101600Z - 15 min.)",
		},
		{
			name: "signed 14 minutes ago with a 15-minute window",
			build: func(t *testing.T, base string) *http.Request {
				return signedInvoke(t, base, testCreds, "us-east-1", "lambda")
			},
			clock:   14 * time.Minute,
			maxSkew: 15 * time.Minute,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := testVerifier(signTime.Add(c.clock))
			v.MaxSkew = c.maxSkew
			srv := startVerifyServer(t, v)
			r := c.build(t, srv.URL)
			auth := r.Header.Get("Authorization")

			id, err := srv.do(t, r)
			if c.wantKind == nil {
				if err != nil {
					t.Fatalf("Verify: %v, want the request accepted", err)
				}
				if want := (Identity{AccessKeyID: testCreds.AccessKeyID}); id != want {
					t.Errorf("Verify identity = %+v, want %+v", id, want)
				}
				return
			}
			if !errors.Is(err, c.wantKind) {
				t.Fatalf("Verify error = %v, want kind %v", err, c.wantKind)
			}
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("Verify error %T is not a *sigv4.Error", err)
			}
			if se.Code != c.wantCode {
				t.Errorf("Code = %q, want %q", se.Code, c.wantCode)
			}
			if want := strings.ReplaceAll(c.wantMsg, "$AUTH", auth); se.Message != want {
				t.Errorf("Message = %q\nwant      %q", se.Message, want)
			}
			if strings.Contains(err.Error(), testCreds.SecretAccessKey) {
				t.Errorf("error %q reveals the secret key", err)
			}
			if id != (Identity{}) {
				t.Errorf("rejected request yielded identity %+v", id)
			}
		})
	}
}

// TestSigV4VerifyUsesRequestTarget: a handler that rewrites r.URL (as
// http.StripPrefix does) does not break verification, because the client
// signed the request target it sent.
func TestSigV4VerifyUsesRequestTarget(t *testing.T) {
	v := testVerifier(signTime)
	var err error
	done := make(chan struct{})
	srv := httptest.NewServer(http.StripPrefix("/2015-03-31", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		body, _ := io.ReadAll(r.Body)
		_, err = v.Verify(r, body)
	})))
	defer srv.Close()

	r := signedInvoke(t, srv.URL, testCreds, "us-east-1", "lambda")
	resp, sendErr := srv.Client().Do(r)
	if sendErr != nil {
		t.Fatal(sendErr)
	}
	resp.Body.Close()
	<-done
	if err != nil {
		t.Fatalf("Verify behind StripPrefix: %v", err)
	}
}

// TestSigV4VerifyWithoutSecretLookup: a verifier with no Secret rejects every
// key instead of panicking.
func TestSigV4VerifyWithoutSecretLookup(t *testing.T) {
	v := testVerifier(signTime)
	v.Secret = nil
	srv := startVerifyServer(t, v)
	_, err := srv.do(t, signedInvoke(t, srv.URL, testCreds, "us-east-1", "lambda"))
	if !errors.Is(err, ErrUnrecognizedClient) {
		t.Fatalf("Verify error = %v, want ErrUnrecognizedClient", err)
	}
}

func formatAuthorization(a authorization) string {
	return a.Algorithm + " Credential=" + a.Credential + ", SignedHeaders=" + a.SignedHeaders + ", Signature=" + a.Signature
}

func FuzzSigV4ParseAuthorization(f *testing.F) {
	for _, seed := range []string{
		"AWS4-HMAC-SHA256 Credential=" + testCreds.AccessKeyID + scopeSuffix + ", SignedHeaders=content-type;host;x-amz-date, Signature=" + strings.Repeat("ab", 32),
		"AWS4-HMAC-SHA256 Credential=a/b/c/d/e,SignedHeaders=host,Signature=00",
		"AWS4-HMAC-SHA256",
		"Bearer abc.def",
		"",
		" , ,, ",
		"AWS4-HMAC-SHA256 Credential==, Signature==, SignedHeaders==",
		"AWS4-HMAC-SHA256 Credential=\x00/\xff/é/\u2028, Signature=x",
		"Credential=a Credential=b",
	} {
		f.Add(seed)
	}
	v := testVerifier(signTime)
	f.Fuzz(func(t *testing.T, header string) {
		a, err := parseAuthorization(header)
		if err != nil {
			if !errors.Is(err, ErrIncompleteSignature) {
				t.Fatalf("parseAuthorization(%q) error = %v, want ErrIncompleteSignature", header, err)
			}
		} else {
			for _, field := range []string{a.Algorithm, a.Credential, a.SignedHeaders, a.Signature} {
				if strings.ContainsFunc(field, func(c rune) bool { return c == ',' || unicode.IsSpace(c) }) {
					t.Fatalf("parseAuthorization(%q) = %+v: field %q holds a separator", header, a, field)
				}
			}
			if a.Algorithm != "" {
				again, err := parseAuthorization(formatAuthorization(a))
				if err != nil || again != a {
					t.Fatalf("parseAuthorization(%q) = %+v, but its formatted form parses as %+v, %v", header, a, again, err)
				}
			}
		}

		// Whatever the header, Verify refuses it with an *Error: nothing was signed.
		r := httptest.NewRequest(http.MethodPost, "/2015-03-31/functions/f/invocations", nil)
		r.Header.Set("Authorization", header)
		r.Header.Set("X-Amz-Date", "20261123T100000Z")
		_, err = v.Verify(r, nil)
		var se *Error
		if !errors.As(err, &se) || se.Code == "" {
			t.Fatalf("Verify with Authorization %q = %v, want an *Error with a Code", header, err)
		}
	})
}

// TestSigV4UnsignedAmzHeaderRefused: a header added to a request after it was
// signed — a tenant id, here — is refused, not trusted.
func TestSigV4UnsignedAmzHeaderRefused(t *testing.T) {
	srv := startVerifyServer(t, testVerifier(signTime))
	r := signedInvoke(t, srv.URL, testCreds, "us-east-1", "lambda")
	r.Header.Set("X-Amz-Tenant-Id", "someone-else")
	_, err := srv.do(t, r)
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrSignatureMismatch) ||
		e.Message != "There were headers present in the request which were not signed: x-amz-tenant-id" {
		t.Fatalf("Verify = %v; want InvalidSignatureException naming x-amz-tenant-id", err)
	}
	// Signed, the same header is accepted.
	r2, _ := http.NewRequest("POST", srv.URL+"/2015-03-31/functions/f/invocations", strings.NewReader("{}"))
	r2.Header.Set("X-Amz-Tenant-Id", "blue")
	sdkSign(t, r2, sha256Hex([]byte("{}")), testCreds, "us-east-1", "lambda", signTime)
	if _, err := srv.do(t, r2); err != nil {
		t.Fatalf("signed tenant header refused: %v", err)
	}
}
