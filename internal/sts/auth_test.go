package sts

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/bulkhead-dev/bulkhead/internal/adminkey"
	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/sigv4"
)

const (
	testAccount = "123456789012"
	testRegion  = "us-east-1"
)

var testAdmin = adminkey.Key{AccessKeyID: "BKHDADMINKEY00000000", SecretAccessKey: "admin-secret-admin-secret-admin-secret-0"}

func testAuthenticator(iss *Issuer, now func() time.Time) *Authenticator {
	return &Authenticator{Region: testRegion, AccountID: testAccount, Admin: testAdmin.Secret, Issuer: iss, Now: now}
}

// dynamoDBRequest is a GetItem as the Go SDK sends it, with a body of about
// size bytes.
func dynamoDBRequest(t testing.TB, size int) (*http.Request, []byte) {
	t.Helper()
	body := []byte(`{"TableName":"orders","Key":{"pk":{"S":"acme-corp#order#1"},"sk":{"S":"` + strings.Repeat("x", max(0, size-80)) + `"}}}`)
	r, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:8000/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-amz-json-1.0")
	r.Header.Set("X-Amz-Target", "DynamoDB_20120810.GetItem")
	r.Header.Set("Accept-Encoding", "identity")
	r.Header.Set("Amz-Sdk-Invocation-Id", "0b3d5a4e-5f5e-4b7a-9d4f-2b7f0a9d1c11")
	r.Header.Set("Amz-Sdk-Request", "attempt=1; max=3")
	return r, body
}

// signSDK signs r as aws-sdk-go-v2 does, with its own signer.
func signSDK(t testing.TB, r *http.Request, body []byte, creds aws.Credentials, service string, at time.Time) {
	t.Helper()
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(t.Context(), creds, r, hex.EncodeToString(sum[:]), service, testRegion, at); err != nil {
		t.Fatal(err)
	}
}

func adminSDKCreds() aws.Credentials {
	return aws.Credentials{AccessKeyID: testAdmin.AccessKeyID, SecretAccessKey: testAdmin.SecretAccessKey}
}

func sdkCreds(c Credentials) aws.Credentials {
	return aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken}
}

func TestAuthenticateSession(t *testing.T) {
	iss := testIssuer(t)
	session := envSession()
	creds, err := iss.Issue(session)
	if err != nil {
		t.Fatal(err)
	}
	now := testNow.Add(10 * time.Minute)
	auth := testAuthenticator(iss, func() time.Time { return now })
	r, body := dynamoDBRequest(t, 1024)
	signSDK(t, r, body, sdkCreds(creds), "dynamodb", now)

	caller, err := auth.Authenticate(r, body, "dynamodb")
	if err != nil {
		t.Fatal(err)
	}
	want := Caller{
		AccessKeyID: creds.AccessKeyID,
		Account:     testAccount,
		ARN:         "arn:aws:sts::123456789012:assumed-role/orders-data/" + session.SessionName,
		UserID:      "AROAEXAMPLE0000000001:" + session.SessionName,
	}
	got := caller
	got.Session = nil
	if got != want {
		t.Errorf("caller = %+v, want %+v", got, want)
	}
	if caller.Session == nil || caller.Session.Tenant != session.Tenant || caller.Session.Environment != session.Environment {
		t.Errorf("caller session = %+v, want tenant %v of environment %s", caller.Session, session.Tenant, session.Environment)
	}
}

// TestAuthenticateOverHTTP sends SDK-signed requests to a real server: the
// verifier reads what net/http hands a handler.
func TestAuthenticateOverHTTP(t *testing.T) {
	iss := testIssuer(t)
	creds, err := iss.Issue(Session{
		Account: testAccount, RoleName: "r", RoleARN: "arn:aws:iam::123456789012:role/r", RoleID: "AROAR",
		SessionName: "over-http", Issued: time.Now(), Expires: time.Now().Add(time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	auth := testAuthenticator(iss, nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		caller, err := auth.Authenticate(r, body, "dynamodb")
		if err != nil {
			code, _, status := ForDynamoDB(err)
			http.Error(w, code, status)
			return
		}
		fmt.Fprint(w, caller.ARN)
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name   string
		creds  aws.Credentials
		status int
		body   string
	}{
		{"session", sdkCreds(creds), 200, "arn:aws:sts::123456789012:assumed-role/r/over-http"},
		{"admin", aws.Credentials{AccessKeyID: testAdmin.AccessKeyID, SecretAccessKey: testAdmin.SecretAccessKey}, 200, "arn:aws:iam::123456789012:root"},
		{"session, wrong secret", aws.Credentials{AccessKeyID: creds.AccessKeyID, SecretAccessKey: strings.Repeat("A", 40), SessionToken: creds.SessionToken}, 400, "InvalidSignatureException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, body := dynamoDBRequest(t, 200)
			r.URL.Host = strings.TrimPrefix(srv.URL, "http://")
			signSDK(t, r, body, tc.creds, "dynamodb", time.Now())
			resp, err := srv.Client().Do(r)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || strings.TrimSpace(string(got)) != tc.body {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, got, tc.status, tc.body)
			}
		})
	}
}

func TestAuthenticateRefuses(t *testing.T) {
	iss := testIssuer(t)
	creds, err := iss.Issue(envSession())
	if err != nil {
		t.Fatal(err)
	}
	other, err := iss.Issue(envSession())
	if err != nil {
		t.Fatal(err)
	}
	now := testNow.Add(time.Minute)
	errGone := errors.New("environment destroyed")
	for _, tc := range []struct {
		name    string
		sign    func(r *http.Request, body []byte)
		now     time.Time
		check   func(*Session) error
		want    error
		wantToo error // a second error the chain must hold
	}{
		{name: "unsigned", sign: func(*http.Request, []byte) {}, want: sigv4.ErrMissingAuthentication},
		{name: "unknown long-term key", want: sigv4.ErrUnrecognizedClient, sign: func(r *http.Request, b []byte) {
			signSDK(t, r, b, aws.Credentials{AccessKeyID: "AKIAUNKNOWN000000000", SecretAccessKey: "x"}, "dynamodb", now)
		}},
		{name: "admin key with a session token", want: ErrInvalidToken, sign: func(r *http.Request, b []byte) {
			signSDK(t, r, b, aws.Credentials{AccessKeyID: testAdmin.AccessKeyID, SecretAccessKey: testAdmin.SecretAccessKey, SessionToken: creds.SessionToken}, "dynamodb", now)
		}},
		{name: "temporary key without a token", want: ErrInvalidToken, sign: func(r *http.Request, b []byte) {
			signSDK(t, r, b, aws.Credentials{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey}, "dynamodb", now)
		}},
		{name: "another session's token", want: ErrInvalidToken, sign: func(r *http.Request, b []byte) {
			signSDK(t, r, b, aws.Credentials{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey, SessionToken: other.SessionToken}, "dynamodb", now)
		}},
		{name: "another session's secret", want: sigv4.ErrSignatureMismatch, sign: func(r *http.Request, b []byte) {
			signSDK(t, r, b, aws.Credentials{AccessKeyID: creds.AccessKeyID, SecretAccessKey: other.SecretAccessKey, SessionToken: creds.SessionToken}, "dynamodb", now)
		}},
		{name: "signed for another service", want: sigv4.ErrSignatureMismatch, sign: func(r *http.Request, b []byte) {
			signSDK(t, r, b, sdkCreds(creds), "sts", now)
		}},
		{name: "body changed after signing", want: sigv4.ErrSignatureMismatch, sign: func(r *http.Request, b []byte) {
			signSDK(t, r, b, sdkCreds(creds), "dynamodb", now)
			b[len(b)-3] ^= 1
		}},
		{name: "token header repeated", want: ErrInvalidToken, sign: func(r *http.Request, b []byte) {
			signSDK(t, r, b, sdkCreds(creds), "dynamodb", now)
			r.Header.Add("X-Amz-Security-Token", creds.SessionToken)
		}},
		{name: "expired session", now: creds.Expiration.Add(time.Second), want: ErrExpiredToken, sign: func(r *http.Request, b []byte) {
			signSDK(t, r, b, sdkCreds(creds), "dynamodb", creds.Expiration.Add(time.Second))
		}},
		{name: "refused by Check", check: func(*Session) error { return errGone }, want: ErrInvalidToken, wantToo: errGone, sign: func(r *http.Request, b []byte) {
			signSDK(t, r, b, sdkCreds(creds), "dynamodb", now)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			at := now
			if !tc.now.IsZero() {
				at = tc.now
			}
			auth := testAuthenticator(iss, func() time.Time { return at })
			auth.Check = tc.check
			r, body := dynamoDBRequest(t, 300)
			tc.sign(r, body)
			caller, err := auth.Authenticate(r, body, "dynamodb")
			if !errors.Is(err, tc.want) || (tc.wantToo != nil && !errors.Is(err, tc.wantToo)) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if caller != (Caller{}) {
				t.Errorf("a refused request has a caller: %+v", caller)
			}
		})
	}
}

// TestAuthenticateCheckSeesSession: Check gets the session being
// authenticated, with its environment and tenant.
func TestAuthenticateCheckSeesSession(t *testing.T) {
	iss := testIssuer(t)
	creds, err := iss.Issue(envSession())
	if err != nil {
		t.Fatal(err)
	}
	var seen *Session
	auth := testAuthenticator(iss, func() time.Time { return testNow })
	auth.Check = func(s *Session) error { seen = s; return nil }
	r, body := dynamoDBRequest(t, 100)
	signSDK(t, r, body, sdkCreds(creds), "dynamodb", testNow)
	if _, err := auth.Authenticate(r, body, "dynamodb"); err != nil {
		t.Fatal(err)
	}
	if seen == nil || seen.AccessKeyID != creds.AccessKeyID || seen.Environment != envSession().Environment || seen.Tenant != envSession().Tenant {
		t.Errorf("Check saw %+v", seen)
	}
}

func TestAuthErrorsPerProtocol(t *testing.T) {
	sigErr := func(kind error) error {
		// A real *sigv4.Error of each kind, from a real verification.
		v := sigv4.Verifier{Service: "sts", Region: testRegion, Now: func() time.Time { return testNow },
			Secret: func(id string) (string, bool) { return "secret", id == "AKID" }}
		r, _ := http.NewRequest(http.MethodPost, "http://h/", nil)
		switch kind {
		case sigv4.ErrMissingAuthentication:
		case sigv4.ErrIncompleteSignature:
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 nonsense")
		default:
			creds := sigv4.Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret"}
			at := testNow
			switch kind {
			case sigv4.ErrUnrecognizedClient:
				creds.AccessKeyID = "OTHER"
			case sigv4.ErrSignatureMismatch:
				creds.SecretAccessKey = "wrong"
			case sigv4.ErrSignatureExpired:
				at = testNow.Add(-time.Hour)
			}
			if err := sigv4.Sign(r, nil, creds, testRegion, "sts", at); err != nil {
				t.Fatal(err)
			}
		}
		_, err := v.Verify(r, nil)
		if !errors.Is(err, kind) {
			t.Fatalf("could not produce %v: %v", kind, err)
		}
		return err
	}
	for _, tc := range []struct {
		name                  string
		err                   error
		stsCode               string
		stsStatus             int
		dynamoCode, msgPrefix string
		dynamoStatus          int
	}{
		{"missing", sigErr(sigv4.ErrMissingAuthentication), "MissingAuthenticationToken", 403, "MissingAuthenticationTokenException", "Request is missing Authentication Token", 400},
		{"incomplete", sigErr(sigv4.ErrIncompleteSignature), "IncompleteSignature", 400, "IncompleteSignatureException", "'nonsense' not a valid key=value pair", 400},
		{"unknown key", sigErr(sigv4.ErrUnrecognizedClient), "InvalidClientTokenId", 403, "UnrecognizedClientException", msgInvalidToken, 400},
		{"mismatch", sigErr(sigv4.ErrSignatureMismatch), "SignatureDoesNotMatch", 403, "InvalidSignatureException", "The request signature we calculated does not match", 400},
		{"clock", sigErr(sigv4.ErrSignatureExpired), "SignatureDoesNotMatch", 403, "InvalidSignatureException", "Signature expired: ", 400},
		{"invalid token", fmt.Errorf("%w: why", ErrInvalidToken), "InvalidClientTokenId", 403, "UnrecognizedClientException", "The security token included in the request is invalid.", 400},
		{"expired token", ErrExpiredToken, "ExpiredToken", 403, "ExpiredTokenException", "The security token included in the request is expired", 400},
		{"anything else", errdefs.ErrUnavailable, "InternalFailure", 500, "InternalServerError", "", 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, msg, status := ForSTS(tc.err)
			if code != tc.stsCode || status != tc.stsStatus || !strings.HasPrefix(msg, tc.msgPrefix) {
				t.Errorf("ForSTS = %s %q %d, want %s %q… %d", code, msg, status, tc.stsCode, tc.msgPrefix, tc.stsStatus)
			}
			code, msg, status = ForDynamoDB(tc.err)
			if code != tc.dynamoCode || status != tc.dynamoStatus || !strings.HasPrefix(msg, tc.msgPrefix) {
				t.Errorf("ForDynamoDB = %s %q %d, want %s %q… %d", code, msg, status, tc.dynamoCode, tc.msgPrefix, tc.dynamoStatus)
			}
		})
	}
}
