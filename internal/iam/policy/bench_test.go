package policy

import (
	"fmt"
	"strings"
	"testing"
)

// sessionContext is what the data API knows of a role session before it
// reads the request: the session tags and the principal keys.
func addSessionKeys(c *Context) {
	c.Add("aws:PrincipalTag/TenantID", "tenant-0042")
	c.Add("aws:PrincipalTag/FunctionName", "orders-api")
	c.Add("aws:PrincipalTag/EnvironmentId", "env-7f3a")
	c.Add("aws:PrincipalArn", "arn:aws:iam::123456789012:role/fn-orders-api")
	c.Add("aws:userid", "AROAEXAMPLE:tenant-0042")
	c.Add("aws:TokenIssueTime", "2026-01-01T00:00:00Z")
	c.Add("aws:SecureTransport", "true")
	c.Add("aws:SourceIp", "10.0.0.7")
}

func poolRequest() *Request {
	r := &Request{Action: "dynamodb:GetItem", Resource: orders}
	r.Context.Grow(9)
	addSessionKeys(&r.Context)
	r.Context.Add(leading, "tenant-0042#order#981")
	return r
}

// BenchmarkPolicyPool: the pool-model check of one GetItem with one
// leading key and the tenant tag as a variable; the request is built once.
func BenchmarkPolicyPool(b *testing.B) {
	p := mustParse(b, poolPolicy)
	identity := []*Policy{p}
	req := poolRequest()
	if !Evaluate(identity, nil, req).Allowed {
		b.Fatal("pool request denied")
	}
	b.ReportAllocs()
	for b.Loop() {
		Evaluate(identity, nil, req)
	}
}

// BenchmarkPolicyPoolWithContext also builds the request's Context each
// time, as the data API does per request (one allocation).
func BenchmarkPolicyPoolWithContext(b *testing.B) {
	p := mustParse(b, poolPolicy)
	identity := []*Policy{p}
	b.ReportAllocs()
	for b.Loop() {
		req := Request{Action: "dynamodb:GetItem", Resource: orders}
		req.Context.Grow(9)
		addSessionKeys(&req.Context)
		req.Context.Add(leading, "tenant-0042#order#981")
		if !Evaluate(identity, nil, &req).Allowed {
			b.Fatal("denied")
		}
	}
}

// tenStatementPolicy has nine statements that do not apply to the
// benchmark's request (other actions, other tables, denies that do not
// match) before the one that allows it.
func tenStatementPolicy() string {
	var s []string
	for i := range 4 {
		s = append(s, fmt.Sprintf(`{"Effect":"Allow","Action":["s3:Get*","s3:List*"],"Resource":"arn:aws:s3:::bucket-%d/${aws:PrincipalTag/TenantID}/*"}`, i))
	}
	for i := range 3 {
		s = append(s, fmt.Sprintf(`{"Effect":"Allow","Action":"dynamodb:*","Resource":"arn:aws:dynamodb:*:*:table/Other%d","Condition":{"StringEquals":{"aws:PrincipalTag/FunctionName":"f%d"}}}`, i, i))
	}
	s = append(s,
		`{"Effect":"Deny","Action":"dynamodb:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}`,
		`{"Effect":"Deny","Action":"dynamodb:GetItem","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","192.168.0.0/16"]}}}`,
		`{"Effect":"Allow","Action":["dynamodb:GetItem","dynamodb:Query"],"Resource":"arn:aws:dynamodb:*:*:table/Orders",
		  "Condition":{"ForAllValues:StringLike":{"dynamodb:LeadingKeys":"${aws:PrincipalTag/TenantID}#*"},"Null":{"dynamodb:LeadingKeys":"false"},
		               "StringEquals":{"aws:PrincipalTag/EnvironmentId":"env-7f3a"}}}`)
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(s, ",") + `]}`
}

func BenchmarkPolicyTenStatements(b *testing.B) {
	p := mustParse(b, tenStatementPolicy())
	if p.Len() != 10 {
		b.Fatalf("policy has %d statements", p.Len())
	}
	identity := []*Policy{p}
	req := poolRequest()
	if !Evaluate(identity, nil, req).Allowed {
		b.Fatal("request denied")
	}
	b.ReportAllocs()
	for b.Loop() {
		Evaluate(identity, nil, req)
	}
}

// BenchmarkPolicySession: the pool identity policy intersected with a
// session policy that narrows to one function's environment.
func BenchmarkPolicySession(b *testing.B) {
	identity := []*Policy{mustParse(b, poolPolicy)}
	session := mustParse(b, `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"dynamodb:GetItem","Resource":"arn:aws:dynamodb:us-east-1:123456789012:table/Orders",
		 "Condition":{"StringEquals":{"aws:PrincipalTag/EnvironmentId":"env-7f3a"}}},
		{"Effect":"Deny","Action":"dynamodb:*","Resource":"*","Condition":{"DateGreaterThan":{"aws:TokenIssueTime":"2027-01-01T00:00:00Z"}}}]}`)
	req := poolRequest()
	if !Evaluate(identity, session, req).Allowed {
		b.Fatal("request denied")
	}
	b.ReportAllocs()
	for b.Loop() {
		Evaluate(identity, session, req)
	}
}

func BenchmarkPolicyParse(b *testing.B) {
	doc := []byte(tenStatementPolicy())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(doc); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPolicyPoolAllocs pins the hot path's allocation budget: evaluating
// a built request allocates nothing.
func TestPolicyPoolAllocs(t *testing.T) {
	identity := []*Policy{mustParse(t, poolPolicy)}
	session := mustParse(t, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"*"}}`)
	req := poolRequest()
	if n := testing.AllocsPerRun(200, func() { Evaluate(identity, session, req) }); n != 0 {
		t.Errorf("Evaluate allocates %v times per request", n)
	}
}
