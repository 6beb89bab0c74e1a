package sts

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/tenant"
)

var (
	ordersRole = Role{Name: "orders-data", ARN: "arn:aws:iam::123456789012:role/service/orders-data", ID: "AROAORDERSDATA000001", MaxSessionDuration: 4 * time.Hour}
	reportRole = Role{Name: "reports", ARN: "arn:aws:iam::123456789012:role/reports", ID: "AROAREPORTS000000001"}
)

// stsFixture is an STS endpoint on 127.0.0.1 with two roles and an
// Authorize that records its questions and answers from allow.
type stsFixture struct {
	srv    *httptest.Server
	issuer *Issuer
	logs   *bytes.Buffer

	mu    sync.Mutex
	asked []string        // "action resource" per Authorize call
	allow map[string]bool // "action resource" → allowed
}

func newSTSFixture(t *testing.T, now func() time.Time) *stsFixture {
	t.Helper()
	f := &stsFixture{issuer: testIssuer(t), logs: &bytes.Buffer{}, allow: map[string]bool{}}
	roles := map[string]Role{ordersRole.ARN: ordersRole, reportRole.ARN: reportRole}
	h, err := NewHandler(Options{
		AccountID:     testAccount,
		Region:        testRegion,
		Issuer:        f.issuer,
		Authenticator: testAuthenticator(f.issuer, now),
		Roles: func(arn string) (Role, bool) {
			r, ok := roles[arn]
			return r, ok
		},
		Authorize: func(caller Caller, action, resource string) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			q := action + " " + resource
			f.asked = append(f.asked, q)
			if !f.allow[q] {
				return fmt.Errorf("%s may not %s: %w", caller.ARN, q, errdefs.ErrForbidden)
			}
			return nil
		},
		ValidatePolicy: func(p []byte) error {
			if bytes.Contains(p, []byte(`"Effect":"Maybe"`)) {
				return errdefs.New(errdefs.ErrValidation, "Effect must be Allow or Deny")
			}
			return nil
		},
		Now:    now,
		Logger: slog.New(slog.NewJSONHandler(lockedWriter{f}, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	return f
}

// lockedWriter appends to the fixture's log buffer under its lock.
type lockedWriter struct{ f *stsFixture }

func (l lockedWriter) Write(p []byte) (int, error) {
	l.f.mu.Lock()
	defer l.f.mu.Unlock()
	return l.f.logs.Write(p)
}

func (f *stsFixture) allowAll(actions ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range actions {
		f.allow[a] = true
	}
}

func (f *stsFixture) questions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.asked...)
}

// client is the real SDK STS client pointed at the fixture, with one attempt
// per call so refusals surface at once.
func (f *stsFixture) client(id, secret, token string) *awssts.Client {
	return awssts.New(awssts.Options{
		Region:           testRegion,
		BaseEndpoint:     aws.String(f.srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider(id, secret, token),
		HTTPClient:       f.srv.Client(),
		RetryMaxAttempts: 1,
	})
}

func (f *stsFixture) adminClient() *awssts.Client {
	return f.client(testAdmin.AccessKeyID, testAdmin.SecretAccessKey, "")
}

func (f *stsFixture) sessionClient(c *types.Credentials) *awssts.Client {
	return f.client(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
}

// issueDirect mints a session without the handler (as an environment's would be).
func (f *stsFixture) issueDirect(t *testing.T, s Session) *awssts.Client {
	t.Helper()
	c, err := f.issuer.Issue(s)
	if err != nil {
		t.Fatal(err)
	}
	return f.client(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)
}

func apiCode(err error) (code, message string) {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode(), apiErr.ErrorMessage()
	}
	return "", ""
}

func TestSTSAssumeRoleAsAdmin(t *testing.T) {
	f := newSTSFixture(t, nil)
	policy := `{
	  "Version": "2012-10-17",
	  "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}]
	}`
	start := time.Now().Truncate(time.Second)
	out, err := f.adminClient().AssumeRole(t.Context(), &awssts.AssumeRoleInput{
		RoleArn:         aws.String(ordersRole.ARN),
		RoleSessionName: aws.String("backend-1"),
		DurationSeconds: aws.Int32(7200),
		Policy:          aws.String(policy),
		Tags:            []types.Tag{{Key: aws.String("TenantID"), Value: aws.String("acme-corp")}, {Key: aws.String("Plan"), Value: aws.String("gold")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := *out.AssumedRoleUser.Arn; got != "arn:aws:sts::123456789012:assumed-role/orders-data/backend-1" {
		t.Errorf("AssumedRoleUser.Arn = %s", got)
	}
	if got := *out.AssumedRoleUser.AssumedRoleId; got != "AROAORDERSDATA000001:backend-1" {
		t.Errorf("AssumedRoleId = %s", got)
	}
	c := out.Credentials
	if !accessKeyIDPattern.MatchString(*c.AccessKeyId) || !secretPattern.MatchString(*c.SecretAccessKey) {
		t.Errorf("credentials not in AWS's shape: %s", *c.AccessKeyId)
	}
	if exp := c.Expiration.Sub(start); exp < 2*time.Hour || exp > 2*time.Hour+5*time.Second {
		t.Errorf("Expiration %s is %s after the call, want 2h", c.Expiration, exp)
	}
	if out.SessionTokenSize == nil || int(*out.SessionTokenSize) != len(*c.SessionToken) {
		t.Errorf("SessionTokenSize = %v, token has %d bytes", out.SessionTokenSize, len(*c.SessionToken))
	}
	// PackedPolicySize (deprecated in the SDK) is pinned by the golden files.
	if u := out.SessionTokenUtilization; u == nil || *u != int32((len(*c.SessionToken)*100+MaxTokenSize-1)/MaxTokenSize) {
		t.Errorf("SessionTokenUtilization = %v for a token of %d bytes", u, len(*c.SessionToken))
	}
	if id, ok := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata); !ok || id == "" {
		t.Error("no request id")
	}
	s, _, err := f.issuer.Open(*c.AccessKeyId, *c.SessionToken, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"dynamodb:*","Resource":"*"}]}`
	if s.SessionPolicy != want || s.Tenant != mustTenant("acme-corp") || s.Environment != "" || len(s.Tags) != 2 {
		t.Errorf("sealed session = %+v", s)
	}
	if q := f.questions(); len(q) != 0 {
		t.Errorf("Authorize was asked about the admin key: %v", q)
	}
}

func TestSTSGetCallerIdentity(t *testing.T) {
	f := newSTSFixture(t, nil)
	out, err := f.adminClient().GetCallerIdentity(t.Context(), &awssts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if *out.Account != testAccount || *out.Arn != "arn:aws:iam::123456789012:root" || *out.UserId != testAccount {
		t.Errorf("admin identity = %s %s %s", *out.Account, *out.Arn, *out.UserId)
	}
	assumed, err := f.adminClient().AssumeRole(t.Context(), &awssts.AssumeRoleInput{RoleArn: aws.String(reportRole.ARN), RoleSessionName: aws.String("nightly@reports")})
	if err != nil {
		t.Fatal(err)
	}
	out, err = f.sessionClient(assumed.Credentials).GetCallerIdentity(t.Context(), &awssts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if *out.Account != testAccount || *out.Arn != "arn:aws:sts::123456789012:assumed-role/reports/nightly@reports" || *out.UserId != "AROAREPORTS000000001:nightly@reports" {
		t.Errorf("session identity = %s %s %s", *out.Account, *out.Arn, *out.UserId)
	}
}

// tenantSession is an execution environment's session of tenant acme-corp.
func tenantSession() Session {
	now := time.Now()
	return Session{
		Account: testAccount, RoleName: ordersRole.Name, RoleARN: ordersRole.ARN, RoleID: ordersRole.ID,
		SessionName: "env-1", Tags: Tags{{"TenantID", "acme-corp"}, {"FunctionName", "orders-api"}},
		Issued: now, Expires: now.Add(time.Hour), Environment: "env-1", Tenant: mustTenant("acme-corp"),
	}
}

func TestSTSRoleChaining(t *testing.T) {
	f := newSTSFixture(t, nil)
	f.allowAll("sts:AssumeRole "+reportRole.ARN, "sts:TagSession "+reportRole.ARN)
	client := f.issueDirect(t, tenantSession())

	out, err := client.AssumeRole(t.Context(), &awssts.AssumeRoleInput{RoleArn: aws.String(reportRole.ARN), RoleSessionName: aws.String("chained")})
	if err != nil {
		t.Fatal(err)
	}
	s, _, err := f.issuer.Open(*out.Credentials.AccessKeyId, *out.Credentials.SessionToken, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if s.Tenant != mustTenant("acme-corp") || s.Environment != "env-1" || len(s.Tags) != 1 || s.Tags[0] != (Tag{"TenantID", "acme-corp"}) {
		t.Errorf("chained session: tenant %v, environment %q, tags %v; want acme-corp, env-1, only TenantID", s.Tenant, s.Environment, s.Tags)
	}
	if q := f.questions(); len(q) != 1 || q[0] != "sts:AssumeRole "+reportRole.ARN {
		t.Errorf("Authorize asked %v, want only sts:AssumeRole (no tags were requested)", q)
	}

	_, err = client.AssumeRole(t.Context(), &awssts.AssumeRoleInput{RoleArn: aws.String(reportRole.ARN), RoleSessionName: aws.String("chained"), DurationSeconds: aws.Int32(3601)})
	if code, msg := apiCode(err); code != "ValidationError" || msg != "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining." {
		t.Errorf("chained 3601 s: %s %q", code, msg)
	}
}

// TestSTSTenantStickiness: a session of one tenant never obtains a session of
// another, whatever it asks for and whatever Authorize allows.
func TestSTSTenantStickiness(t *testing.T) {
	f := newSTSFixture(t, nil)
	f.allowAll("sts:AssumeRole "+reportRole.ARN, "sts:TagSession "+reportRole.ARN)
	client := f.issueDirect(t, tenantSession())
	for _, tc := range []struct {
		name       string
		tags       []types.Tag
		wantTenant string // "" : refused
	}{
		{"no tags: TenantID carried", nil, "acme-corp"},
		{"same TenantID", []types.Tag{{Key: aws.String("TenantID"), Value: aws.String("acme-corp")}}, "acme-corp"},
		{"other tags: TenantID added", []types.Tag{{Key: aws.String("Plan"), Value: aws.String("gold")}}, "acme-corp"},
		{"another TenantID", []types.Tag{{Key: aws.String("TenantID"), Value: aws.String("globex")}}, ""},
		{"another TenantID, key in other case", []types.Tag{{Key: aws.String("tenantid"), Value: aws.String("globex")}}, ""},
		{"empty TenantID", []types.Tag{{Key: aws.String("TENANTID"), Value: aws.String("")}}, ""},
		{"same tenant in other case", []types.Tag{{Key: aws.String("TenantID"), Value: aws.String("ACME-CORP")}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := client.AssumeRole(t.Context(), &awssts.AssumeRoleInput{RoleArn: aws.String(reportRole.ARN), RoleSessionName: aws.String("s-1"), Tags: tc.tags})
			if tc.wantTenant == "" {
				code, msg := apiCode(err)
				if code != "AccessDenied" || !strings.HasPrefix(msg, "User: arn:aws:sts::123456789012:assumed-role/orders-data/env-1 is not authorized to perform: sts:TagSession on resource: "+reportRole.ARN) {
					t.Fatalf("err = %v, want AccessDenied", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			s, _, err := f.issuer.Open(*out.Credentials.AccessKeyId, *out.Credentials.SessionToken, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if v, _ := s.Tags.Get(TenantTag); s.Tenant.String() != tc.wantTenant || v != tc.wantTenant {
				t.Errorf("tenant %v, TenantID tag %q; want %s", s.Tenant, v, tc.wantTenant)
			}
		})
	}
	t.Run("a session without TenantID may set one if allowed", func(t *testing.T) {
		s := tenantSession()
		s.Tags, s.Tenant = Tags{{"FunctionName", "admin-tool"}}, tenant.None
		out, err := f.issueDirect(t, s).AssumeRole(t.Context(), &awssts.AssumeRoleInput{RoleArn: aws.String(reportRole.ARN), RoleSessionName: aws.String("s-2"),
			Tags: []types.Tag{{Key: aws.String("TenantID"), Value: aws.String("globex")}}})
		if err != nil {
			t.Fatal(err)
		}
		opened, _, err := f.issuer.Open(*out.Credentials.AccessKeyId, *out.Credentials.SessionToken, time.Now())
		if err != nil || opened.Tenant != mustTenant("globex") {
			t.Errorf("tenant %v, err %v", opened.Tenant, err)
		}
	})
}

func TestSTSAuthorization(t *testing.T) {
	f := newSTSFixture(t, nil)
	client := f.issueDirect(t, tenantSession())
	caller := "arn:aws:sts::123456789012:assumed-role/orders-data/env-1"
	tags := []types.Tag{{Key: aws.String("Plan"), Value: aws.String("gold")}}

	_, err := client.AssumeRole(t.Context(), &awssts.AssumeRoleInput{RoleArn: aws.String(reportRole.ARN), RoleSessionName: aws.String("s-1")})
	if code, msg := apiCode(err); code != "AccessDenied" || msg != "User: "+caller+" is not authorized to perform: sts:AssumeRole on resource: "+reportRole.ARN {
		t.Errorf("not allowed: %s %q", code, msg)
	}

	f.allowAll("sts:AssumeRole " + reportRole.ARN)
	_, err = client.AssumeRole(t.Context(), &awssts.AssumeRoleInput{RoleArn: aws.String(reportRole.ARN), RoleSessionName: aws.String("s-1"), Tags: tags})
	if code, msg := apiCode(err); code != "AccessDenied" || msg != "User: "+caller+" is not authorized to perform: sts:TagSession on resource: "+reportRole.ARN {
		t.Errorf("tags without sts:TagSession: %s %q", code, msg)
	}

	f.allowAll("sts:TagSession " + reportRole.ARN)
	if _, err = client.AssumeRole(t.Context(), &awssts.AssumeRoleInput{RoleArn: aws.String(reportRole.ARN), RoleSessionName: aws.String("s-1"), Tags: tags}); err != nil {
		t.Errorf("allowed: %v", err)
	}

	unknown := "arn:aws:iam::123456789012:role/nope"
	_, err = f.adminClient().AssumeRole(t.Context(), &awssts.AssumeRoleInput{RoleArn: aws.String(unknown), RoleSessionName: aws.String("s-1")})
	if code, msg := apiCode(err); code != "AccessDenied" || msg != "User: arn:aws:iam::123456789012:root is not authorized to perform: sts:AssumeRole on resource: "+unknown {
		t.Errorf("unknown role: %s %q", code, msg)
	}
}

func TestSTSAssumeRoleErrors(t *testing.T) {
	f := newSTSFixture(t, nil)
	tag := func(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }
	manyTags := func(n, keyLen, valueLen int) []types.Tag {
		var tags []types.Tag
		for i := range n {
			tags = append(tags, tag(fmt.Sprintf("%03d", i)+strings.Repeat("k", keyLen-3), strings.Repeat("v", valueLen)))
		}
		return tags
	}
	bigPolicy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"dynamodb:GetItem","Resource":"` + strings.Repeat("r", 1900) + `"}]}`
	for _, tc := range []struct {
		name    string
		in      awssts.AssumeRoleInput
		code    string
		message string // a prefix
		typed   any    // the SDK's modelled error type, when STS models the code
	}{
		{name: "session name too short", in: awssts.AssumeRoleInput{RoleSessionName: aws.String("a")}, code: "ValidationError",
			message: "1 validation error detected: Value 'a' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2"},
		{name: "session name with a slash and a short role ARN", in: awssts.AssumeRoleInput{RoleArn: aws.String("arn:x"), RoleSessionName: aws.String("a/b")}, code: "ValidationError",
			message: "2 validation errors detected: Value 'arn:x' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20; Value 'a/b' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"},
		{name: "duration under 900", in: awssts.AssumeRoleInput{DurationSeconds: aws.Int32(899)}, code: "ValidationError",
			message: "1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"},
		{name: "duration over 43200", in: awssts.AssumeRoleInput{DurationSeconds: aws.Int32(43201)}, code: "ValidationError",
			message: "1 validation error detected: Value '43201' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200"},
		{name: "duration over the role's maximum", in: awssts.AssumeRoleInput{DurationSeconds: aws.Int32(4*3600 + 1)}, code: "ValidationError",
			message: "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."},
		{name: "policy over 2048 characters", in: awssts.AssumeRoleInput{Policy: aws.String(`{"Version":"` + strings.Repeat("x", 2040) + `"}`)}, code: "ValidationError",
			message: "1 validation error detected: Value '(the policy)' at 'policy' failed to satisfy constraint: Member must have length less than or equal to 2048"},
		{name: "policy with a character outside Latin-1", in: awssts.AssumeRoleInput{Policy: aws.String(`{"Sid":"☃"}`)}, code: "ValidationError",
			message: "1 validation error detected: Value '(the policy)' at 'policy' failed to satisfy constraint: Member must satisfy regular expression pattern"},
		{name: "policy not JSON", in: awssts.AssumeRoleInput{Policy: aws.String(`{"Version":`)}, code: "MalformedPolicyDocument",
			message: "Syntax errors in policy.", typed: &types.MalformedPolicyDocumentException{}},
		{name: "policy refused by ValidatePolicy", in: awssts.AssumeRoleInput{Policy: aws.String(`{"Statement":[{"Effect":"Maybe"}]}`)}, code: "MalformedPolicyDocument",
			message: "Effect must be Allow or Deny", typed: &types.MalformedPolicyDocumentException{}},
		{name: "policy and tags too large to pack", in: awssts.AssumeRoleInput{Policy: aws.String(bigPolicy), Tags: manyTags(10, 40, 50)}, code: "PackedPolicyTooLarge",
			message: "Packed policy consumes 1", typed: &types.PackedPolicyTooLargeException{}},
		{name: "51 tags", in: awssts.AssumeRoleInput{Tags: manyTags(51, 5, 5)}, code: "ValidationError",
			message: "1 validation error detected: Value '[51 tags]' at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50"},
		{name: "tag key of 129 characters", in: awssts.AssumeRoleInput{Tags: manyTags(1, 129, 1)}, code: "ValidationError",
			message: "1 validation error detected: Value '000kkkk"},
		{name: "tag value of 257 characters", in: awssts.AssumeRoleInput{Tags: []types.Tag{tag("k", strings.Repeat("v", 257))}}, code: "ValidationError",
			message: "1 validation error detected: Value 'vvvv"},
		{name: "tag key with a forbidden character", in: awssts.AssumeRoleInput{Tags: []types.Tag{tag("a*b", "v")}}, code: "ValidationError",
			message: "1 validation error detected: Value 'a*b' at 'tags.1.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern"},
		{name: "tag key in aws: space", in: awssts.AssumeRoleInput{Tags: []types.Tag{tag("AWS:x", "v")}}, code: "ValidationError",
			message: "1 validation error detected: Value 'AWS:x' at 'tags.1.member.key' failed to satisfy constraint: Member must not begin with aws:"},
		{name: "duplicate tag keys", in: awssts.AssumeRoleInput{Tags: []types.Tag{tag("Plan", "a"), tag("plan", "b")}}, code: "ValidationError",
			message: "Duplicate tag keys found. Please note that Tag keys are case insensitive."},
		{name: "TenantID not a tenant id", in: awssts.AssumeRoleInput{Tags: []types.Tag{tag("TenantID", "acmé")}}, code: "ValidationError",
			message: "The TenantID session tag is not a valid tenant ID: Invalid tenant ID"},
		{name: "PolicyArns", in: awssts.AssumeRoleInput{PolicyArns: []types.PolicyDescriptorType{{Arn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")}}}, code: "ValidationError",
			message: "PolicyArns (managed session policies) are not supported by Bulkhead"},
		{name: "MFA", in: awssts.AssumeRoleInput{SerialNumber: aws.String("arn:aws:iam::123456789012:mfa/u"), TokenCode: aws.String("123456")}, code: "ValidationError",
			message: "Multi-factor authentication (SerialNumber, TokenCode) is not supported by Bulkhead."},
		{name: "SourceIdentity", in: awssts.AssumeRoleInput{SourceIdentity: aws.String("alice")}, code: "ValidationError",
			message: "SourceIdentity is not supported by Bulkhead."},
		{name: "MinimumSessionTokenSize over 4096", in: awssts.AssumeRoleInput{MinimumSessionTokenSize: aws.Int32(4097)}, code: "ValidationError",
			message: "1 validation error detected: Value '4097' at 'minimumSessionTokenSize' failed to satisfy constraint: Member must have value less than or equal to 4096"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			if in.RoleArn == nil {
				in.RoleArn = aws.String(ordersRole.ARN)
			}
			if in.RoleSessionName == nil {
				in.RoleSessionName = aws.String("s-1")
			}
			_, err := f.adminClient().AssumeRole(t.Context(), &in)
			code, msg := apiCode(err)
			if code != tc.code || !strings.HasPrefix(msg, tc.message) {
				t.Fatalf("got %s %q, want %s %q…", code, msg, tc.code, tc.message)
			}
			if tc.typed != nil {
				target := tc.typed
				switch tt := target.(type) {
				case *types.MalformedPolicyDocumentException:
					if !errors.As(err, &tt) {
						t.Errorf("%T is not a %T", errors.Unwrap(err), tt)
					}
				case *types.PackedPolicyTooLargeException:
					if !errors.As(err, &tt) {
						t.Errorf("%T is not a %T", errors.Unwrap(err), tt)
					}
				}
			}
		})
	}
}

func TestSTSAcceptedAndIgnored(t *testing.T) {
	f := newSTSFixture(t, nil)
	out, err := f.adminClient().AssumeRole(t.Context(), &awssts.AssumeRoleInput{
		RoleArn:                 aws.String(ordersRole.ARN),
		RoleSessionName:         aws.String("s-1"),
		ExternalId:              aws.String("partner-7"),
		TransitiveTagKeys:       []string{"Plan"},
		Tags:                    []types.Tag{{Key: aws.String("Plan"), Value: aws.String("gold")}},
		MinimumSessionTokenSize: aws.Int32(3000),
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(*out.Credentials.SessionToken); n < 3000 || n > 3001 {
		t.Errorf("MinimumSessionTokenSize 3000 gave a token of %d bytes", n)
	}
}

func TestSTSCallerCredentialErrors(t *testing.T) {
	f := newSTSFixture(t, nil)
	past := time.Now().Add(-2 * time.Hour)
	expired := tenantSession()
	expired.Issued, expired.Expires = past, past.Add(time.Hour)
	live, err := f.issuer.Issue(tenantSession())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		client *awssts.Client
		code   string
		msg    string
	}{
		{"expired session", f.issueDirect(t, expired), "ExpiredToken", "The security token included in the request is expired"},
		{"garbage token", f.client(live.AccessKeyID, live.SecretAccessKey, "garbage"), "InvalidClientTokenId", "The security token included in the request is invalid."},
		{"unknown key", f.client("AKIAUNKNOWN000000000", "x", ""), "InvalidClientTokenId", "The security token included in the request is invalid."},
		{"wrong secret", f.client(testAdmin.AccessKeyID, "wrong", ""), "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.client.GetCallerIdentity(t.Context(), &awssts.GetCallerIdentityInput{})
			if code, msg := apiCode(err); code != tc.code || !strings.HasPrefix(msg, tc.msg) {
				t.Errorf("got %s %q, want %s %q", code, msg, tc.code, tc.msg)
			}
			var re interface{ ServiceRequestID() string }
			if !errors.As(err, &re) || re.ServiceRequestID() == "" {
				t.Errorf("error carries no request id: %v", err)
			}
		})
	}
}

// TestSTSNeverLogsSecrets runs calls that succeed and fail and searches the
// handler's log for the secrets and tokens involved.
func TestSTSNeverLogsSecrets(t *testing.T) {
	f := newSTSFixture(t, nil)
	f.allowAll("sts:AssumeRole " + reportRole.ARN)
	out, err := f.adminClient().AssumeRole(t.Context(), &awssts.AssumeRoleInput{RoleArn: aws.String(ordersRole.ARN), RoleSessionName: aws.String("s-1"),
		Tags: []types.Tag{{Key: aws.String("TenantID"), Value: aws.String("acme-corp")}}})
	if err != nil {
		t.Fatal(err)
	}
	chained, err := f.sessionClient(out.Credentials).AssumeRole(t.Context(), &awssts.AssumeRoleInput{RoleArn: aws.String(reportRole.ARN), RoleSessionName: aws.String("s-2")})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.sessionClient(chained.Credentials).AssumeRole(t.Context(), &awssts.AssumeRoleInput{RoleArn: aws.String(ordersRole.ARN), RoleSessionName: aws.String("s-3")})
	f.mu.Lock()
	logs := f.logs.String()
	f.mu.Unlock()
	if !strings.Contains(logs, *out.Credentials.AccessKeyId) {
		t.Fatalf("the log does not record the issued session:\n%s", logs)
	}
	for _, c := range []*types.Credentials{out.Credentials, chained.Credentials} {
		for _, secret := range []string{*c.SecretAccessKey, *c.SessionToken, (*c.SessionToken)[:24], testAdmin.SecretAccessKey} {
			if strings.Contains(logs, secret) {
				t.Fatalf("the log shows a secret:\n%s", logs)
			}
		}
	}
}

// TestSTSDateHeaderFollowsServerClock: the SDK corrects its clock from the
// Date header, so the header must come from the clock that checks
// signatures. A client 10 minutes behind the server succeeds on its retry.
func TestSTSDateHeaderFollowsServerClock(t *testing.T) {
	f := newSTSFixture(t, func() time.Time { return time.Now().Add(10 * time.Minute) })
	client := awssts.New(awssts.Options{
		Region:       testRegion,
		BaseEndpoint: aws.String(f.srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider(testAdmin.AccessKeyID, testAdmin.SecretAccessKey, ""),
		HTTPClient:   f.srv.Client(),
	})
	if _, err := client.GetCallerIdentity(t.Context(), &awssts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("the SDK did not recover from a 10-minute skew: %v", err)
	}
}

// TestSTSRawProtocol drives the handler without the SDK: GET, methods,
// sizes, and malformed forms.
func TestSTSRawProtocol(t *testing.T) {
	f := newSTSFixture(t, func() time.Time { return testNow })
	for _, tc := range []struct {
		name, method, query, body string
		status                    int
		code                      string
	}{
		{"GET with a query string", http.MethodGet, "Action=GetCallerIdentity&Version=2011-06-15", "", 200, ""},
		{"no Action", http.MethodPost, "", "Version=2011-06-15", 400, "MissingAction"},
		{"no Version", http.MethodPost, "", "Action=GetCallerIdentity", 400, "InvalidAction"},
		{"old Version", http.MethodPost, "", "Action=GetCallerIdentity&Version=2010-01-01", 400, "InvalidAction"},
		{"unknown Action", http.MethodPost, "", "Action=GetSessionToken&Version=2011-06-15", 400, "InvalidAction"},
		{"repeated parameter", http.MethodPost, "", "Action=GetCallerIdentity&Action=GetCallerIdentity&Version=2011-06-15", 400, "MalformedQueryString"},
		{"bad escape", http.MethodPost, "", "Action=Get%zzCallerIdentity&Version=2011-06-15", 400, "MalformedQueryString"},
		{"PUT", http.MethodPut, "", "Action=GetCallerIdentity&Version=2011-06-15", 405, "InvalidAction"},
		{"body too large", http.MethodPost, "", "Action=GetCallerIdentity&Version=2011-06-15&X=" + strings.Repeat("x", MaxRequestBytes), 413, "RequestEntityTooLarge"},
		{"tag list with a gap", http.MethodPost, "", "Action=AssumeRole&Version=2011-06-15&RoleArn=" + ordersRole.ARN + "&RoleSessionName=s-1&Tags.member.2.Key=a&Tags.member.2.Value=b", 400, "ValidationError"},
		{"tag index with a leading zero", http.MethodPost, "", "Action=AssumeRole&Version=2011-06-15&RoleArn=" + ordersRole.ARN + "&RoleSessionName=s-1&Tags.member.01.Key=a&Tags.member.01.Value=b", 400, "ValidationError"},
		{"tag without a value", http.MethodPost, "", "Action=AssumeRole&Version=2011-06-15&RoleArn=" + ordersRole.ARN + "&RoleSessionName=s-1&Tags.member.1.Key=a", 400, "ValidationError"},
		{"empty lists", http.MethodPost, "", "Action=AssumeRole&Version=2011-06-15&RoleArn=" + ordersRole.ARN + "&RoleSessionName=s-1&Tags=&TransitiveTagKeys=&PolicyArns=", 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := f.signedRequest(t, tc.method, tc.query, tc.body)
			if resp.status != tc.status || resp.code != tc.code {
				t.Fatalf("got %d %s, want %d %s\n%s", resp.status, resp.code, tc.status, tc.code, resp.body)
			}
			if resp.header.Get("x-amzn-RequestId") == "" || resp.header.Get("Date") != "Mon, 23 Nov 2026 12:00:00 GMT" || resp.header.Get("Content-Type") != "text/xml" {
				t.Errorf("headers: %v", resp.header)
			}
		})
	}
}

type rawResponse struct {
	status int
	code   string
	body   string
	header http.Header
}

var codePattern = regexp.MustCompile(`<Code>([^<]*)</Code>`)

// signedRequest sends a request signed with the admin key at testNow.
func (f *stsFixture) signedRequest(t *testing.T, method, query, body string) rawResponse {
	t.Helper()
	url := f.srv.URL + "/"
	if query != "" {
		url += "?" + query
	}
	r, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	}
	signSDK(t, r, []byte(body), aws.Credentials{AccessKeyID: testAdmin.AccessKeyID, SecretAccessKey: testAdmin.SecretAccessKey}, "sts", testNow)
	resp, err := f.srv.Client().Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	out := rawResponse{status: resp.StatusCode, body: b.String(), header: resp.Header}
	if m := codePattern.FindStringSubmatch(out.body); m != nil {
		out.code = m[1]
	}
	return out
}

// TestSTSBrokenRole: a role the server describes badly (no id) is the
// server's failure, not the caller's.
func TestSTSBrokenRole(t *testing.T) {
	iss := testIssuer(t)
	broken := Role{Name: "broken", ARN: "arn:aws:iam::123456789012:role/broken"}
	h, err := NewHandler(Options{
		AccountID: testAccount, Region: testRegion, Issuer: iss,
		Authenticator: testAuthenticator(iss, nil),
		Roles:         func(string) (Role, bool) { return broken, true },
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	f := &stsFixture{srv: srv}
	_, err = f.adminClient().AssumeRole(t.Context(), &awssts.AssumeRoleInput{RoleArn: aws.String(broken.ARN), RoleSessionName: aws.String("s-1")})
	var re interface{ HTTPStatusCode() int }
	if code, _ := apiCode(err); code != "InternalFailure" || !errors.As(err, &re) || re.HTTPStatusCode() != 500 {
		t.Errorf("err = %v, want InternalFailure (500)", err)
	}
}

func TestNewHandlerChecks(t *testing.T) {
	iss := testIssuer(t)
	good := Options{AccountID: testAccount, Region: testRegion, Issuer: iss, Authenticator: testAuthenticator(iss, nil),
		Roles: func(string) (Role, bool) { return Role{}, false }}
	for _, tc := range []struct {
		name   string
		change func(*Options)
	}{
		{"no account", func(o *Options) { o.AccountID = "" }},
		{"no issuer", func(o *Options) { o.Issuer = nil }},
		{"no roles", func(o *Options) { o.Roles = nil }},
		{"authenticator of another region", func(o *Options) { o.Region = "eu-west-1" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := good
			tc.change(&o)
			if _, err := NewHandler(o); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if _, err := NewHandler(good); err != nil {
		t.Fatal(err)
	}
}
