package sts

import (
	"flag"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// goldenRedactions replace what differs on every run (keys, tokens, request
// ids) with placeholders; everything else is compared byte for byte.
var goldenRedactions = []struct {
	pattern *regexp.Regexp
	with    string
}{
	{regexp.MustCompile(`<AccessKeyId>ASIA[A-Z2-7]{16}</AccessKeyId>`), "<AccessKeyId>ASIA…</AccessKeyId>"},
	{regexp.MustCompile(`<SecretAccessKey>[A-Za-z0-9+/]{40}</SecretAccessKey>`), "<SecretAccessKey>…</SecretAccessKey>"},
	{regexp.MustCompile(`<SessionToken>[A-Za-z0-9_-]+</SessionToken>`), "<SessionToken>…</SessionToken>"},
	{regexp.MustCompile(`<SessionTokenSize>\d+</SessionTokenSize>`), "<SessionTokenSize>…</SessionTokenSize>"},
	{regexp.MustCompile(`<RequestId>[0-9a-f-]{36}</RequestId>`), "<RequestId>…</RequestId>"},
}

// TestSTSGolden pins STS's wire format: status, the headers the SDK reads,
// and the XML.
func TestSTSGolden(t *testing.T) {
	f := newSTSFixture(t, func() time.Time { return testNow })
	assume := url.Values{
		"Action": {"AssumeRole"}, "Version": {"2011-06-15"}, "RoleArn": {ordersRole.ARN},
		"RoleSessionName": {"backend-1"}, "Tags.member.1.Key": {"TenantID"}, "Tags.member.1.Value": {"acme-corp"},
	}
	for _, tc := range []struct{ name, body string }{
		{"assume-role", assume.Encode()},
		{"assume-role-without-policy-or-tags", "Action=AssumeRole&Version=2011-06-15&RoleSessionName=s-1&RoleArn=" + url.QueryEscape(reportRole.ARN)},
		{"get-caller-identity", "Action=GetCallerIdentity&Version=2011-06-15"},
		{"error-access-denied", "Action=AssumeRole&Version=2011-06-15&RoleSessionName=s-1&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fnope"},
		{"error-validation", "Action=AssumeRole&Version=2011-06-15&RoleArn=" + url.QueryEscape(ordersRole.ARN) + "&RoleSessionName=a&DurationSeconds=60"},
		{"error-invalid-action", "Action=GetSessionToken&Version=2011-06-15"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := f.signedRequest(t, "POST", "", tc.body)
			got := "HTTP " + strconv.Itoa(resp.status) + "\n" +
				"Content-Type: " + resp.header.Get("Content-Type") + "\n" +
				"Date: " + resp.header.Get("Date") + "\n" +
				"x-amzn-RequestId: " + redactRequestID(resp.header.Get("x-amzn-RequestId")) + "\n\n" +
				resp.body + "\n"
			for _, r := range goldenRedactions {
				got = r.pattern.ReplaceAllString(got, r.with)
			}
			path := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs:\n got:\n%s\nwant:\n%s", path, got, want)
			}
		})
	}
}

var requestIDPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func redactRequestID(id string) string {
	if requestIDPattern.MatchString(id) {
		return "(a UUID)"
	}
	return id
}
