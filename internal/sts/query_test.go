package sts

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestSTSUnsigned(t *testing.T) {
	f := newSTSFixture(t, func() time.Time { return testNow })
	resp, err := f.srv.Client().Post(f.srv.URL, "application/x-www-form-urlencoded", strings.NewReader("Action=GetCallerIdentity&Version=2011-06-15"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	want := `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>MissingAuthenticationToken</Code><Message>Request is missing Authentication Token</Message></Error>`
	if resp.StatusCode != http.StatusForbidden || !strings.HasPrefix(string(b), want) {
		t.Errorf("got %d %s", resp.StatusCode, b)
	}
}

func TestParseAssumeRoleTags(t *testing.T) {
	p, err := parseParams("RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr&RoleSessionName=s-1" +
		"&Tags.member.2.Key=B&Tags.member.2.Value=2&Tags.member.1.Key=A&Tags.member.1.Value=&TransitiveTagKeys.member.1=A")
	if err != nil {
		t.Fatal(err)
	}
	in, err := parseAssumeRole(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Tags) != 2 || in.Tags[0] != (Tag{"A", ""}) || in.Tags[1] != (Tag{"B", "2"}) {
		t.Errorf("tags = %v, want A= and B=2 in index order", in.Tags)
	}
}

// FuzzParseAssumeRole feeds the Query form parser arbitrary bodies: it never
// panics, refuses with an STS error, and what it accepts meets every
// constraint AssumeRole relies on.
func FuzzParseAssumeRole(f *testing.F) {
	f.Add("Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Forders&RoleSessionName=backend-1")
	f.Add("RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Forders&RoleSessionName=s-1&DurationSeconds=900&Policy=%7B%7D" +
		"&Tags.member.1.Key=TenantID&Tags.member.1.Value=acme&Tags.member.2.Key=tenantid&Tags.member.2.Value=x&TransitiveTagKeys.member.1=TenantID")
	f.Add("RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Forders&RoleSessionName=s-1&Tags=&PolicyArns=&MinimumSessionTokenSize=4096&ExternalId=abc")
	f.Add("RoleArn=x&RoleSessionName=s&Tags.member.0.Key=a&Tags.member.1000.Value=b&Tags.member.1.Nope=c")
	f.Add("PolicyArns.member.1.arn=arn&SerialNumber=x&DurationSeconds=-1&DurationSeconds=2")
	f.Add("a=%zz;b")
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := parseParams(raw)
		if err != nil {
			var e *apiError
			if !errors.As(err, &e) {
				t.Fatalf("not an STS error: %v", err)
			}
			return
		}
		in, err := parseAssumeRole(p)
		if err != nil {
			var e *apiError
			if !errors.As(err, &e) || e.Code != "ValidationError" || e.Status != http.StatusBadRequest {
				t.Fatalf("not a ValidationError: %v", err)
			}
			return
		}
		if n := utf8.RuneCountInString(in.RoleARN); n < 20 || n > 2048 {
			t.Fatalf("RoleArn of %d characters accepted", n)
		}
		if !sessionName().MatchString(in.SessionName) {
			t.Fatalf("session name %q accepted", in.SessionName)
		}
		if in.Duration != 0 && (in.Duration < minDuration || in.Duration > maxDuration) {
			t.Fatalf("duration %s accepted", in.Duration)
		}
		if utf8.RuneCountInString(in.Policy) > maxPolicyLength || !policyChars(in.Policy) {
			t.Fatalf("policy accepted: %q", in.Policy)
		}
		if in.MinimumTokenSize < 0 || in.MinimumTokenSize > MaxTokenSize {
			t.Fatalf("minimum token size %d accepted", in.MinimumTokenSize)
		}
		if len(in.Tags) > MaxTags {
			t.Fatalf("%d tags accepted", len(in.Tags))
		}
		for i, tag := range in.Tags {
			if k := utf8.RuneCountInString(tag.Key); k < 1 || k > MaxTagKeyLength || utf8.RuneCountInString(tag.Value) > MaxTagValueLength {
				t.Fatalf("tag %q=%q accepted", tag.Key, tag.Value)
			}
			if strings.HasPrefix(strings.ToLower(tag.Key), "aws:") {
				t.Fatalf("reserved key %q accepted", tag.Key)
			}
			for _, earlier := range in.Tags[:i] {
				if strings.EqualFold(earlier.Key, tag.Key) {
					t.Fatalf("duplicate keys %q, %q accepted", earlier.Key, tag.Key)
				}
			}
		}
		for name := range p {
			if unsupportedParameter(name) != "" {
				t.Fatalf("unsupported parameter %s accepted", name)
			}
		}
	})
}

// FuzzSTSHandler sends arbitrary bodies through the whole handler (signed,
// so they reach the parser): every answer is a well-formed STS response.
func FuzzSTSHandler(f *testing.F) {
	f.Add("Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fservice%2Forders-data&RoleSessionName=b-1&Tags.member.1.Key=TenantID&Tags.member.1.Value=acme")
	f.Add("Action=GetCallerIdentity&Version=2011-06-15")
	f.Add("Action=AssumeRole&Version=2011-06-15&Policy=%7B")
	iss := testIssuer(f)
	h, err := NewHandler(Options{
		AccountID: testAccount, Region: testRegion, Issuer: iss,
		Authenticator: testAuthenticator(iss, func() time.Time { return testNow }),
		Roles: func(arn string) (Role, bool) {
			return ordersRole, arn == ordersRole.ARN
		},
		Now: func() time.Time { return testNow },
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "http://sts.test/", strings.NewReader(body))
		signSDK(t, r, []byte(body), adminSDKCreds(), "sts", testNow)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		out := w.Body.String()
		switch {
		case w.Code == http.StatusOK:
			if !strings.HasPrefix(out, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">`) &&
				!strings.HasPrefix(out, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">`) {
				t.Fatalf("200 with %s", out)
			}
		case w.Code >= 500:
			t.Fatalf("server error for %q: %s", body, out)
		default:
			if !strings.HasPrefix(out, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>`) {
				t.Fatalf("%d with %s", w.Code, out)
			}
		}
	})
}
