package sts

import (
	"testing"
	"time"
)

func BenchmarkIssue(b *testing.B) {
	iss := testIssuer(b)
	s := envSession()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := iss.Issue(s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	iss := testIssuer(b)
	creds, err := iss.Issue(envSession())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(creds.SessionToken)), "token-bytes")
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := iss.Open(creds.AccessKeyID, creds.SessionToken, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthenticate verifies a 1 KB DynamoDB GetItem signed, as the SDK
// signs it, with an environment session's credentials: open the token,
// check the signature, run Check.
func BenchmarkAuthenticate(b *testing.B) {
	iss := testIssuer(b)
	creds, err := iss.Issue(envSession())
	if err != nil {
		b.Fatal(err)
	}
	at := testNow.Add(time.Minute)
	auth := testAuthenticator(iss, func() time.Time { return at })
	auth.Check = func(*Session) error { return nil }
	r, body := dynamoDBRequest(b, 1024)
	signSDK(b, r, body, sdkCreds(creds), "dynamodb", at)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := auth.Authenticate(r, body, "dynamodb"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthenticateAdmin is the same request signed with the admin key,
// for comparison: the difference is the token's cost.
func BenchmarkAuthenticateAdmin(b *testing.B) {
	at := testNow.Add(time.Minute)
	auth := testAuthenticator(testIssuer(b), func() time.Time { return at })
	r, body := dynamoDBRequest(b, 1024)
	signSDK(b, r, body, adminSDKCreds(), "dynamodb", at)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := auth.Authenticate(r, body, "dynamodb"); err != nil {
			b.Fatal(err)
		}
	}
}
