package policy

import (
	"errors"
	"strings"
	"testing"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
)

// stmt wraps statement JSON in a 2012-10-17 policy.
func stmt(s string) string {
	return `{"Version":"2012-10-17","Statement":[` + s + `]}`
}

const okStmt = `{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}`

// cond wraps a Condition block in an otherwise valid statement.
func cond(c string) string {
	return stmt(`{"Sid":"C","Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":` + c + `}`)
}

func TestPolicyParseErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string // substrings of the message, IAM's wording first
	}{
		// JSON
		{"not JSON", `{"Version":`, []string{"This policy contains invalid Json", "ends early"}},
		{"bad token", `{"Version" "2012-10-17"}`, []string{"This policy contains invalid Json", "near byte"}},
		{"trailing data", okStmtPolicy() + `{}`, []string{"This policy contains invalid Json", "after the document"}},
		{"empty", ``, []string{"This policy contains invalid Json"}},
		{"not an object", `[]`, []string{"Syntax errors in policy.", "JSON object"}},
		{"duplicate top-level key", `{"Version":"2012-10-17","Version":"2012-10-17","Statement":` + okStmt + `}`, []string{"Syntax errors in policy.", `duplicate key "Version"`}},
		{"duplicate statement key", stmt(`{"Effect":"Allow","Action":"s3:GetObject","Action":"s3:PutObject","Resource":"*"}`), []string{"Syntax errors in policy.", `Statement[0]: duplicate key "Action"`}},
		{"duplicate condition operator", cond(`{"StringEquals":{"a:b":"1"},"StringEquals":{"a:c":"2"}}`), []string{"Syntax errors in policy.", `Statement[0].Condition: duplicate key "StringEquals"`}},
		{"duplicate condition key", cond(`{"StringEquals":{"a:b":"1","a:b":"2"}}`), []string{"Syntax errors in policy.", `Statement[0].Condition.StringEquals: duplicate key "a:b"`}},
		{"nested too deeply", cond(`{"StringEquals":{"a:b":[["x"]]}}`), []string{"Syntax errors in policy.", "nested too deeply"}},
		// Document
		{"unknown top-level element", `{"Version":"2012-10-17","Statment":[]}`, []string{"Syntax errors in policy.", `unknown element "Statment"`}},
		{"bad Version", `{"Version":"2012-10-18","Statement":` + okStmt + `}`, []string{"The policy failed legacy parsing", `"2012-10-18"`}},
		{"Version not a string", `{"Version":2012,"Statement":` + okStmt + `}`, []string{"The policy failed legacy parsing", "Version"}},
		{"Id not a string", `{"Id":1,"Statement":` + okStmt + `}`, []string{"Syntax errors in policy.", "Id"}},
		{"missing Statement", `{"Version":"2012-10-17"}`, []string{"Syntax errors in policy.", "missing Statement"}},
		{"empty Statement", `{"Version":"2012-10-17","Statement":[]}`, []string{"Syntax errors in policy.", "no statements"}},
		{"Statement a string", `{"Version":"2012-10-17","Statement":"x"}`, []string{"Syntax errors in policy.", "Statement"}},
		{"statement not an object", stmt(okStmt + `,"x"`), []string{"Syntax errors in policy.", "Statement[1]"}},
		// Statement
		{"unknown statement element", stmt(`{"Sid":"Read","Effect":"Allow","Action":"s3:GetObject","Resource":"*","Resources":"*"}`), []string{"Syntax errors in policy.", `Statement[0] (Sid "Read")`, `unknown element "Resources"`}},
		{"Sid not alphanumeric", stmt(`{"Sid":"read-orders","Effect":"Allow","Action":"s3:GetObject","Resource":"*"}`), []string{"Statement IDs (SID) must be alpha-numeric.", `Sid "read-orders"`}},
		{"Sid not a string", stmt(`{"Sid":1,"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}`), []string{"Syntax errors in policy.", "Sid must be a string"}},
		{"duplicate Sid", stmt(`{"Sid":"A","Effect":"Allow","Action":"s3:GetObject","Resource":"*"},{"Sid":"A","Effect":"Deny","Action":"s3:GetObject","Resource":"*"}`), []string{"Statement IDs (SID) in a single policy must be unique.", `Statement[1] (Sid "A")`, "Statement[0]"}},
		{"Principal", stmt(`{"Sid":"P","Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:GetObject","Resource":"*"}`), []string{"Policy document should not specify a principal.", `Statement[0] (Sid "P"): Principal`}},
		{"NotPrincipal", stmt(`{"Effect":"Deny","NotPrincipal":"*","Action":"s3:GetObject","Resource":"*"}`), []string{"Policy document should not specify a principal.", "NotPrincipal"}},
		{"missing Effect", stmt(`{"Action":"s3:GetObject","Resource":"*"}`), []string{"Syntax errors in policy.", "missing Effect"}},
		{"Effect lower case", stmt(`{"Effect":"allow","Action":"s3:GetObject","Resource":"*"}`), []string{"Syntax errors in policy.", `not "allow"`}},
		{"Effect not a string", stmt(`{"Effect":true,"Action":"s3:GetObject","Resource":"*"}`), []string{"Syntax errors in policy.", "not true"}},
		// Action
		{"missing Action", stmt(`{"Effect":"Allow","Resource":"*"}`), []string{"Policy statement must contain actions.", "Statement[0]"}},
		{"Action and NotAction", stmt(`{"Effect":"Allow","Action":"s3:GetObject","NotAction":"s3:PutObject","Resource":"*"}`), []string{"Syntax errors in policy.", "not both"}},
		{"empty Action", stmt(`{"Effect":"Allow","Action":[],"Resource":"*"}`), []string{"Policy statement must contain actions.", "Action is empty"}},
		{"Action not a string", stmt(`{"Effect":"Allow","Action":[1],"Resource":"*"}`), []string{"Syntax errors in policy.", "Action must be a string or an array of strings, not 1"}},
		{"Action without vendor", stmt(`{"Effect":"Allow","Action":"GetItem","Resource":"*"}`), []string{"Actions/Conditions must be prefaced by a vendor", `Action "GetItem"`}},
		{"empty Action string", stmt(`{"Effect":"Allow","Action":"","Resource":"*"}`), []string{"Actions/Conditions must be prefaced by a vendor"}},
		{"Action vendor with wildcard", stmt(`{"Effect":"Allow","Action":"dynamo*:GetItem","Resource":"*"}`), []string{"Vendor dynamo* is not valid", "Statement[0]"}},
		{"NotAction bad name", stmt(`{"Effect":"Allow","NotAction":"s3:Get Object","Resource":"*"}`), []string{"Syntax errors in policy.", `NotAction "s3:Get Object"`}},
		{"Action empty name", stmt(`{"Effect":"Allow","Action":"s3:","Resource":"*"}`), []string{"Syntax errors in policy.", `Action "s3:"`}},
		// Resource
		{"missing Resource", stmt(`{"Effect":"Allow","Action":"s3:GetObject"}`), []string{"Policy statement must contain resources.", "Statement[0]"}},
		{"Resource and NotResource", stmt(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","NotResource":"*"}`), []string{"Syntax errors in policy.", "not both"}},
		{"empty NotResource", stmt(`{"Effect":"Allow","Action":"s3:GetObject","NotResource":[]}`), []string{"Policy statement must contain resources.", "NotResource is empty"}},
		{"Resource not ARN", stmt(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"bucket/*"}`), []string{`Resource bucket/* must be in ARN format or "*".`}},
		{"Resource too few parts", stmt(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3::bucket"}`), []string{`Resource arn:aws:s3::bucket must be in ARN format or "*".`}},
		{"Resource empty partition", stmt(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn::s3:::bucket"}`), []string{"Resource arn::s3:::bucket must be in ARN format", "Statement[0]: Resource"}},
		{"Resource vendor wildcard", stmt(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:*:::bucket"}`), []string{"Resource vendor must be fully qualified and cannot contain regexes."}},
		{"Resource not a string", stmt(`{"Effect":"Allow","Action":"s3:GetObject","Resource":{"a":1}}`), []string{"Syntax errors in policy.", "not an object"}},
		{"variable before the fifth colon", stmt(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:${aws:region}::b"}`), []string{"Syntax errors in policy.", "resource part"}},
		{"escape before the fifth colon", stmt(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3::${*}:b"}`), []string{"Syntax errors in policy.", "resource part"}},
		{"unterminated variable", stmt(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/${aws:username"}`), []string{"Syntax errors in policy.", "unterminated policy variable"}},
		{"variable without vendor", stmt(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/${username}"}`), []string{"Syntax errors in policy.", "malformed policy variable"}},
		// Condition
		{"Condition not an object", cond(`["x"]`), []string{"Syntax errors in policy.", "Condition must be an object"}},
		{"unknown operator", cond(`{"StringEqualz":{"a:b":"c"}}`), []string{"Invalid Condition type : StringEqualz.", `Statement[0] (Sid "C")`}},
		{"operator case", cond(`{"stringEquals":{"a:b":"c"}}`), []string{"Invalid Condition type : stringEquals."}},
		{"qualifier case", cond(`{"forallvalues:StringLike":{"a:b":"c"}}`), []string{"Invalid Condition type : forallvalues:StringLike."}},
		{"NullIfExists", cond(`{"NullIfExists":{"a:b":"true"}}`), []string{"Invalid Condition type : NullIfExists."}},
		{"ForAllValues:Null", cond(`{"ForAllValues:Null":{"a:b":"true"}}`), []string{"Invalid Condition type : ForAllValues:Null."}},
		{"operator block not an object", cond(`{"StringEquals":"a:b"}`), []string{"Syntax errors in policy.", "must be an object of condition keys"}},
		{"operator block empty", cond(`{"StringEquals":{}}`), []string{"Syntax errors in policy.", "no condition keys"}},
		{"condition key without vendor", cond(`{"StringEquals":{"SourceIp":"c"}}`), []string{"Actions/Conditions must be prefaced by a vendor", `condition key "SourceIp"`}},
		{"condition key with variable", cond(`{"StringEquals":{"aws:PrincipalTag/${aws:username}":"c"}}`), []string{"Actions/Conditions must be prefaced by a vendor"}},
		{"null value", cond(`{"StringEquals":{"a:b":null}}`), []string{"Syntax errors in policy.", "not null"}},
		{"object value", cond(`{"StringEquals":{"a:b":{"c":"d"}}}`), []string{"Syntax errors in policy.", "not an object"}},
		{"empty value list", cond(`{"StringEquals":{"a:b":[]}}`), []string{"Syntax errors in policy.", "has no values"}},
		{"bad number", cond(`{"NumericLessThan":{"s3:max-keys":"ten"}}`), []string{"Syntax errors in policy.", `"ten" is not a number`}},
		{"NaN", cond(`{"NumericEquals":{"s3:max-keys":"NaN"}}`), []string{"Syntax errors in policy.", "is not a number"}},
		{"bad date", cond(`{"DateGreaterThan":{"aws:CurrentTime":"2020-13-01"}}`), []string{"Syntax errors in policy.", "is not an ISO 8601 date"}},
		{"bad bool", cond(`{"Bool":{"aws:SecureTransport":"yes"}}`), []string{"Syntax errors in policy.", `"yes" is neither`}},
		{"bad Null value", cond(`{"Null":{"aws:TokenIssueTime":"maybe"}}`), []string{"Syntax errors in policy.", "is neither"}},
		{"bad base64", cond(`{"BinaryEquals":{"a:b":"not base64!"}}`), []string{"Syntax errors in policy.", "is not base64"}},
		{"bad CIDR", cond(`{"IpAddress":{"aws:SourceIp":"203.0.113.0/33"}}`), []string{"Syntax errors in policy.", "is not an IP address or CIDR block"}},
		{"variable in Numeric", cond(`{"NumericEquals":{"s3:max-keys":"${aws:PrincipalTag/max}"}}`), []string{"Syntax errors in policy.", "policy variables are allowed only with String and Arn operators, not NumericEquals"}},
		{"variable in IpAddress", cond(`{"IpAddress":{"aws:SourceIp":"${aws:PrincipalTag/net}"}}`), []string{"Syntax errors in policy.", "not IpAddress"}},
		{"variable in Bool", cond(`{"Bool":{"aws:SecureTransport":"${aws:PrincipalTag/tls}"}}`), []string{"Syntax errors in policy.", "not Bool"}},
		{"variable in Date", cond(`{"DateLessThan":{"aws:CurrentTime":"${aws:TokenIssueTime}"}}`), []string{"Syntax errors in policy.", "not DateLessThan"}},
		{"ArnLike value not an ARN", cond(`{"ArnLike":{"aws:SourceArn":"*"}}`), []string{"Syntax errors in policy.", "is not an ARN"}},
		{"bad variable in condition", cond(`{"StringLike":{"s3:prefix":"${aws:username, anonymous}/*"}}`), []string{"Syntax errors in policy.", "malformed policy variable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.doc))
			if err == nil {
				t.Fatalf("Parse succeeded (%d statements), want an error", p.Len())
			}
			if !errors.Is(err, errdefs.ErrValidation) {
				t.Errorf("error %v is not ErrValidation", err)
			}
			msg, ok := errdefs.Message(err)
			if !ok {
				t.Fatalf("error %v carries no caller-facing message", err)
			}
			if !strings.HasPrefix(msg, tt.want[0]) {
				t.Errorf("message %q does not start with %q", msg, tt.want[0])
			}
			for _, w := range tt.want[1:] {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q does not contain %q", msg, w)
				}
			}
		})
	}
}

func okStmtPolicy() string {
	return `{"Version":"2012-10-17","Statement":` + okStmt + `}`
}

func TestPolicyParseAccepts(t *testing.T) {
	tests := []struct {
		name       string
		doc        string
		version    string
		statements int
	}{
		{"statement object", okStmtPolicy(), Version2012, 1},
		{"no Version", `{"Statement":[` + okStmt + `,` + okStmt + `]}`, Version2008, 2},
		{"2008 with literal ${", `{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:${x:::b/${aws:username"}}`, Version2008, 1},
		{"Id and Sid", `{"Version":"2012-10-17","Id":"any text at all","Statement":[{"Sid":"A1","Effect":"Allow","Action":"s3:GetObject","Resource":"*"},{"Sid":"","Effect":"Deny","Action":"s3:GetObject","Resource":"*"}]}`, Version2012, 2},
		{"scalars as condition values", cond(`{"NumericLessThanEquals":{"s3:max-keys":[10, 2.5e1]},"Bool":{"aws:SecureTransport":true},"Null":{"x:y":false},"StringEquals":{"x:z":7}}`), Version2012, 1},
		{"every operator", cond(`{
			"StringEquals":{"a:b":"x"},"StringNotEquals":{"a:b":"x"},"StringEqualsIgnoreCase":{"a:b":"x"},"StringNotEqualsIgnoreCase":{"a:b":"x"},
			"StringLike":{"a:b":"x*"},"StringNotLike":{"a:b":"x?"},
			"NumericEquals":{"a:b":"1"},"NumericNotEquals":{"a:b":"1"},"NumericLessThan":{"a:b":"1"},"NumericLessThanEquals":{"a:b":"1"},"NumericGreaterThan":{"a:b":"1"},"NumericGreaterThanEquals":{"a:b":"-1.5"},
			"DateEquals":{"a:b":"2024-01-01"},"DateNotEquals":{"a:b":"1704067200"},"DateLessThan":{"a:b":"2024-01-01T00:00Z"},"DateLessThanEquals":{"a:b":"2024-01-01T00:00:00.123+01:00"},"DateGreaterThan":{"a:b":"2024-01-01T00:00:00"},"DateGreaterThanEquals":{"a:b":"2024"},
			"Bool":{"a:b":"True"},"BinaryEquals":{"a:b":"AAEC"},"IpAddress":{"a:b":["10.0.0.0/8","::1","2001:db8::/32"]},"NotIpAddress":{"a:b":"1.2.3.4"},
			"ArnEquals":{"a:b":"arn:aws:s3:::b"},"ArnNotEquals":{"a:b":"arn:aws:s3:::b"},"ArnLike":{"a:b":"arn:*:*:*:*:*"},"ArnNotLike":{"a:b":"${aws:PrincipalArn}"},
			"Null":{"a:b":"true"},"StringLikeIfExists":{"a:b":"x"},"ForAllValues:StringLike":{"a:b":"x"},"ForAnyValue:NumericLessThanIfExists":{"a:b":"3"}}`), Version2012, 1},
		{"empty Condition", stmt(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{}}`), Version2012, 1},
		{"resource variables and escapes", stmt(`{"Effect":"Allow","Action":["s3:*","*"],"Resource":["arn:aws:s3:::b/${aws:username}/${*}${?}${$}","arn:aws-cn:s3:::b/${aws:PrincipalTag/x, 'd'}"]}`), Version2012, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.doc))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if p.Version() != tt.version || p.Len() != tt.statements {
				t.Errorf("Version %q, Len %d; want %q, %d", p.Version(), p.Len(), tt.version, tt.statements)
			}
		})
	}
}

// FuzzParse: Parse never panics, rejects only with ErrValidation, and a
// policy it accepts evaluates without panicking.
func FuzzParse(f *testing.F) {
	for _, tc := range conformanceCases() {
		for _, doc := range tc.identity {
			f.Add([]byte(doc))
		}
		if tc.session != "" {
			f.Add([]byte(tc.session))
		}
	}
	f.Add([]byte(poolPolicy))
	f.Add([]byte(cond(`{"ForAnyValue:DateLessThanIfExists":{"aws:CurrentTime":"2024-01-01T00:00:00Z"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`)))
	f.Add([]byte(`{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotAction":"s3:*","NotResource":"arn:aws:s3:::${aws:a, 'b'}"}}`))
	f.Add([]byte(`{"Statement":[{"Sid":"x","Effect":"Allow","Action":"*","Resource":"*","Principal":"*"}]}`))
	requests := []*Request{
		{Action: "dynamodb:GetItem", Resource: orders},
		{Action: "s3:GetObject", Resource: "arn:aws:s3:::bucket/company-wide/doc"},
		{Action: "", Resource: ""},
	}
	full := &Request{Action: "dynamodb:Query", Resource: ordersGSI}
	for _, kv := range [][2]string{
		{tenantTag, "t1"}, {leading, "t1#a"}, {leading, "t2#b"}, {"aws:SourceIp", "10.1.2.3"},
		{"aws:CurrentTime", "2024-06-01T00:00:00Z"}, {"aws:SecureTransport", "true"}, {"s3:max-keys", "x"},
		{"aws:username", "alice"}, {"aws:SourceArn", "arn:aws:sns:us-east-1:1:t"},
	} {
		full.Context.Add(kv[0], kv[1])
	}
	requests = append(requests, full)
	f.Fuzz(func(t *testing.T, doc []byte) {
		p, err := Parse(doc)
		if err != nil {
			if !errors.Is(err, errdefs.ErrValidation) {
				t.Fatalf("error %v is not ErrValidation", err)
			}
			return
		}
		for _, r := range requests {
			Evaluate([]*Policy{p}, p, r)
		}
	})
}
