package policy

import (
	"strings"
	"sync"
	"testing"
)

// poolPolicy is the canonical pool-model statement (identity-data.md 1.8):
// a tenant may touch only items whose partition key starts "<tenant>#".
const poolPolicy = `{"Version": "2012-10-17",
 "Statement": [{"Effect": "Allow",
  "Action": ["dynamodb:GetItem","dynamodb:BatchGetItem","dynamodb:Query","dynamodb:PutItem",
             "dynamodb:UpdateItem","dynamodb:DeleteItem","dynamodb:BatchWriteItem"],
  "Resource": ["arn:aws:dynamodb:*:*:table/Orders","arn:aws:dynamodb:*:*:table/Orders/index/*"],
  "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["${aws:PrincipalTag/TenantID}#*"]},
                "Null": {"dynamodb:LeadingKeys": "false"}}}]}`

const (
	orders    = "arn:aws:dynamodb:us-east-1:123456789012:table/Orders"
	ordersGSI = "arn:aws:dynamodb:us-east-1:123456789012:table/Orders/index/GSI1"
	tenantTag = "aws:PrincipalTag/TenantID"
	leading   = "dynamodb:LeadingKeys"
)

// check is one request against a case's policies and its expected answer.
type check struct {
	name     string
	action   string
	resource string
	context  []string // key, value, key, value, ...
	allowed  bool
	cause    Cause // checked when not allowed
}

func (c check) request() *Request {
	r := &Request{Action: c.action, Resource: c.resource}
	for i := 0; i+1 < len(c.context); i += 2 {
		r.Context.Add(c.context[i], c.context[i+1])
	}
	return r
}

type conformanceCase struct {
	name     string
	identity []string
	session  string
	checks   []check
}

func conformanceCases() []conformanceCase {
	allowAll := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`
	return []conformanceCase{
		{
			name:     "pool LeadingKeys",
			identity: []string{poolPolicy},
			checks: []check{
				{"own key", "dynamodb:GetItem", orders, []string{tenantTag, "t1", leading, "t1#order#1"}, true, 0},
				{"own key, empty rest", "dynamodb:GetItem", orders, []string{tenantTag, "t1", leading, "t1#"}, true, 0},
				{"other tenant's key", "dynamodb:GetItem", orders, []string{tenantTag, "t1", leading, "t2#order#1"}, false, NoIdentityAllow},
				{"bare tenant id is not t1#...", "dynamodb:GetItem", orders, []string{tenantTag, "t1", leading, "t1"}, false, NoIdentityAllow},
				{"tenant id prefix of another", "dynamodb:GetItem", orders, []string{tenantTag, "t1", leading, "t10#order#1"}, false, NoIdentityAllow},
				{"batch all own", "dynamodb:BatchGetItem", orders, []string{tenantTag, "t1", leading, "t1#a", leading, "t1#b"}, true, 0},
				{"batch one foreign", "dynamodb:BatchGetItem", orders, []string{tenantTag, "t1", leading, "t1#a", leading, "t2#b"}, false, NoIdentityAllow},
				{"no leading keys: Null check denies", "dynamodb:Query", orders, []string{tenantTag, "t1"}, false, NoIdentityAllow},
				{"Scan not granted", "dynamodb:Scan", orders, []string{tenantTag, "t1", leading, "t1#a"}, false, NoIdentityAllow},
				{"index granted", "dynamodb:Query", ordersGSI, []string{tenantTag, "t1", leading, "t1#open"}, true, 0},
				{"other table", "dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:123456789012:table/Users", []string{tenantTag, "t1", leading, "t1#a"}, false, NoIdentityAllow},
				{"no tenant tag: variable unresolved", "dynamodb:GetItem", orders, []string{leading, "t1#a"}, false, NoIdentityAllow},
				{"two tenant tags: unresolved", "dynamodb:GetItem", orders, []string{tenantTag, "t1", tenantTag, "t2", leading, "t1#a"}, false, NoIdentityAllow},
				// A tag value is literal text: tenant "a*" must not reach "abc#...".
				{"tenant a* cannot read abc#", "dynamodb:GetItem", orders, []string{tenantTag, "a*", leading, "abc#1"}, false, NoIdentityAllow},
				{"tenant a* cannot read a#", "dynamodb:GetItem", orders, []string{tenantTag, "a*", leading, "a#1"}, false, NoIdentityAllow},
				{"tenant a* reads a*#", "dynamodb:GetItem", orders, []string{tenantTag, "a*", leading, "a*#1"}, true, 0},
				{"tenant t? cannot read t1#", "dynamodb:GetItem", orders, []string{tenantTag, "t?", leading, "t1#1"}, false, NoIdentityAllow},
				{"tenant * cannot read anything", "dynamodb:GetItem", orders, []string{tenantTag, "*", leading, "t1#1"}, false, NoIdentityAllow},
				{"tenant ${*} stays literal", "dynamodb:GetItem", orders, []string{tenantTag, "${*}", leading, "x#1"}, false, NoIdentityAllow},
				{"tag key case-insensitive", "dynamodb:GetItem", orders, []string{"AWS:principaltag/TENANTID", "t1", "DynamoDB:leadingkeys", "t1#a"}, true, 0},
				{"action case-insensitive", "DynamoDB:getitem", orders, []string{tenantTag, "t1", leading, "t1#a"}, true, 0},
				{"resource case-sensitive", "dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:123456789012:table/orders", []string{tenantTag, "t1", leading, "t1#a"}, false, NoIdentityAllow},
				{"tenant id case-sensitive", "dynamodb:GetItem", orders, []string{tenantTag, "T1", leading, "t1#a"}, false, NoIdentityAllow},
			},
		},
		{
			name: "pool without the Null check: ForAllValues is vacuously true",
			identity: []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:Query","Resource":"*",
				"Condition":{"ForAllValues:StringLike":{"dynamodb:LeadingKeys":"${aws:PrincipalTag/TenantID}#*"}}}}`},
			checks: []check{
				{"no keys at all", "dynamodb:Query", orders, []string{tenantTag, "t1"}, true, 0},
				{"own key", "dynamodb:Query", orders, []string{tenantTag, "t1", leading, "t1#a"}, true, 0},
				{"foreign key", "dynamodb:Query", orders, []string{tenantTag, "t1", leading, "t2#a"}, false, NoIdentityAllow},
			},
		},
		{
			name: "silo: tenant in the table name",
			identity: []string{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"dynamodb:*",
				"Resource":"arn:aws:dynamodb:*:*:table/tenant-${aws:PrincipalTag/TenantID}-Orders"}]}`},
			checks: []check{
				{"own table", "dynamodb:Scan", "arn:aws:dynamodb:eu-west-1:1:table/tenant-t1-Orders", []string{tenantTag, "t1"}, true, 0},
				{"other table", "dynamodb:Scan", "arn:aws:dynamodb:eu-west-1:1:table/tenant-t2-Orders", []string{tenantTag, "t1"}, false, NoIdentityAllow},
				{"tenant * is literal", "dynamodb:Scan", "arn:aws:dynamodb:eu-west-1:1:table/tenant-t1-Orders", []string{tenantTag, "*"}, false, NoIdentityAllow},
				{"tenant ? is literal", "dynamodb:Scan", "arn:aws:dynamodb:eu-west-1:1:table/tenant-t1-Orders", []string{tenantTag, "?1"}, false, NoIdentityAllow},
				{"literal * table", "dynamodb:Scan", "arn:aws:dynamodb:eu-west-1:1:table/tenant-*-Orders", []string{tenantTag, "*"}, true, 0},
				{"no tag", "dynamodb:Scan", "arn:aws:dynamodb:eu-west-1:1:table/tenant--Orders", nil, false, NoIdentityAllow},
				{"empty tag resolves to empty text", "dynamodb:Scan", "arn:aws:dynamodb:eu-west-1:1:table/tenant--Orders", []string{tenantTag, ""}, true, 0},
				{"* in region crosses colons in Resource", "dynamodb:Scan", "arn:aws:dynamodb:a:b:c:table/tenant-t1-Orders", []string{tenantTag, "t1"}, true, 0},
			},
		},
		{
			name: "StringEquals takes * literally (the published pitfall)",
			identity: []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:GetItem","Resource":"*",
				"Condition":{"ForAllValues:StringEquals":{"dynamodb:LeadingKeys":["tenant-abc-*"]}}}}`},
			checks: []check{
				{"prefix does not match", "dynamodb:GetItem", orders, []string{leading, "tenant-abc-1"}, false, NoIdentityAllow},
				{"literal star matches", "dynamodb:GetItem", orders, []string{leading, "tenant-abc-*"}, true, 0},
			},
		},
		{
			name: "ForAllValues and ForAnyValue (IAM guide, DynamoDB attributes)",
			identity: []string{
				allowAll,
				`{"Version":"2012-10-17","Statement":[
					{"Effect":"Deny","Action":"dynamodb:PutItem","Resource":"*",
					 "Condition":{"ForAnyValue:StringLike":{"dynamodb:Attributes":["ID","PostDateTime"]}}},
					{"Effect":"Deny","Action":"dynamodb:GetItem","Resource":"*",
					 "Condition":{"ForAllValues:StringNotLike":{"dynamodb:Attributes":["PostDateTime","Message","Tags"]}}},
					{"Effect":"Deny","Action":"dynamodb:Query","Resource":"*",
					 "Condition":{"ForAnyValue:StringNotEquals":{"dynamodb:Attributes":["PostDateTime","Message","Tags"]}}}]}`,
			},
			checks: []check{
				{"PutItem touching PostDateTime is denied", "dynamodb:PutItem", orders, []string{"dynamodb:Attributes", "UserName", "dynamodb:Attributes", "Message", "dynamodb:Attributes", "PostDateTime"}, false, IdentityDeny},
				{"PutItem with UserName only", "dynamodb:PutItem", orders, []string{"dynamodb:Attributes", "UserName"}, true, 0},
				{"ForAnyValue false on empty set", "dynamodb:PutItem", orders, nil, true, 0},
				// ForAllValues:StringNotLike: true when every value is outside the list.
				{"all outside the list: denied", "dynamodb:GetItem", orders, []string{"dynamodb:Attributes", "ID", "dynamodb:Attributes", "UserName"}, false, IdentityDeny},
				{"one inside the list: not denied", "dynamodb:GetItem", orders, []string{"dynamodb:Attributes", "ID", "dynamodb:Attributes", "Message"}, true, 0},
				{"ForAllValues vacuous on empty set: denied", "dynamodb:GetItem", orders, nil, false, IdentityDeny},
				// ForAnyValue:StringNotEquals: some value outside the list.
				{"some value outside: denied", "dynamodb:Query", orders, []string{"dynamodb:Attributes", "Message", "dynamodb:Attributes", "ID"}, false, IdentityDeny},
				{"all inside: not denied", "dynamodb:Query", orders, []string{"dynamodb:Attributes", "Message", "dynamodb:Attributes", "Tags"}, true, 0},
			},
		},
		{
			name: "ForAllValues allow-list (IAM guide)",
			identity: []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:GetItem","Resource":"*",
				"Condition":{"ForAllValues:StringLike":{"dynamodb:requestedAttributes":["PostDateTime","Message","Tags"]}}}}`},
			checks: []check{
				{"subset", "dynamodb:GetItem", orders, []string{"dynamodb:requestedAttributes", "PostDateTime", "dynamodb:requestedAttributes", "Message"}, true, 0},
				{"one outside", "dynamodb:GetItem", orders, []string{"dynamodb:requestedAttributes", "PostDateTime", "dynamodb:requestedAttributes", "UserName"}, false, NoIdentityAllow},
			},
		},
		{
			name: "ArnLike and StringLike disagree (IAM guide)",
			identity: []string{`{"Version":"2012-10-17","Statement":[
				{"Sid":"S","Effect":"Allow","Action":"s:StringLike","Resource":"*",
				 "Condition":{"StringLike":{"aws:SourceArn":"arn:aws:someservice:*:111122223333:finance/*"}}},
				{"Sid":"A","Effect":"Allow","Action":"s:ArnLike","Resource":"*",
				 "Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:someservice:*:111122223333:finance/*"}}},
				{"Sid":"E","Effect":"Allow","Action":"s:ArnEquals","Resource":"*",
				 "Condition":{"ArnEquals":{"aws:SourceArn":"arn:aws:someservice:*:111122223333:finance/*"}}},
				{"Sid":"N","Effect":"Allow","Action":"s:ArnNotLike","Resource":"*",
				 "Condition":{"ArnNotLike":{"aws:SourceArn":"arn:aws:someservice:*:111122223333:finance/*"}}},
				{"Sid":"V","Effect":"Allow","Action":"s:ArnVariable","Resource":"*",
				 "Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:*:${aws:PrincipalTag/TenantID}-*"}}}]}`},
			checks: []check{
				{"StringLike * crosses colons", "s:StringLike", "*", []string{"aws:SourceArn", "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"}, true, 0},
				{"ArnLike * stays in its component", "s:ArnLike", "*", []string{"aws:SourceArn", "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"}, false, NoIdentityAllow},
				{"ArnEquals behaves as ArnLike", "s:ArnEquals", "*", []string{"aws:SourceArn", "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"}, false, NoIdentityAllow},
				{"ArnNotLike is its negation", "s:ArnNotLike", "*", []string{"aws:SourceArn", "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"}, true, 0},
				{"ArnLike matches", "s:ArnLike", "*", []string{"aws:SourceArn", "arn:aws:someservice:us-east-2:111122223333:finance/a/b"}, true, 0},
				{"ArnLike: * in the resource part crosses colons", "s:ArnLike", "*", []string{"aws:SourceArn", "arn:aws:someservice:us-east-2:111122223333:finance/a:b"}, true, 0},
				{"ArnEquals with wildcards", "s:ArnEquals", "*", []string{"aws:SourceArn", "arn:aws:someservice:eu-west-1:111122223333:finance/x"}, true, 0},
				{"ArnLike: not an ARN", "s:ArnLike", "*", []string{"aws:SourceArn", "finance/x"}, false, NoIdentityAllow},
				{"ArnNotLike: not an ARN", "s:ArnNotLike", "*", []string{"aws:SourceArn", "finance/x"}, true, 0},
				{"ArnLike: key absent", "s:ArnLike", "*", nil, false, NoIdentityAllow},
				{"ArnNotLike: key absent", "s:ArnNotLike", "*", nil, true, 0},
				{"ArnLike with variable", "s:ArnVariable", "*", []string{tenantTag, "t1", "aws:SourceArn", "arn:aws:sns:us-east-1:1:t1-topic"}, true, 0},
				{"ArnLike variable is literal", "s:ArnVariable", "*", []string{tenantTag, "*", "aws:SourceArn", "arn:aws:sns:us-east-1:1:t1-topic"}, false, NoIdentityAllow},
			},
		},
		{
			name: "IfExists",
			identity: []string{`{"Version":"2012-10-17","Statement":[
				{"Effect":"Allow","Action":"dynamodb:Query","Resource":"*",
				 "Condition":{"StringEqualsIfExists":{"dynamodb:Select":"SPECIFIC_ATTRIBUTES"}}},
				{"Effect":"Allow","Action":"dynamodb:GetItem","Resource":"*",
				 "Condition":{"StringEquals":{"dynamodb:Select":"SPECIFIC_ATTRIBUTES"}}},
				{"Effect":"Deny","Action":"dynamodb:Query","Resource":"*",
				 "Condition":{"StringNotEqualsIfExists":{"aws:PrincipalTag/team":"data"}}}]}`},
			checks: []check{
				{"absent key passes IfExists", "dynamodb:Query", orders, []string{"aws:PrincipalTag/team", "data"}, true, 0},
				{"present and equal", "dynamodb:Query", orders, []string{"dynamodb:Select", "SPECIFIC_ATTRIBUTES", "aws:PrincipalTag/team", "data"}, true, 0},
				{"present and different", "dynamodb:Query", orders, []string{"dynamodb:Select", "ALL_ATTRIBUTES", "aws:PrincipalTag/team", "data"}, false, NoIdentityAllow},
				{"without IfExists absent key fails", "dynamodb:GetItem", orders, nil, false, NoIdentityAllow},
				// IAM guide: Deny with a negated ...IfExists still denies when the tag is missing.
				{"Deny negated IfExists, tag missing", "dynamodb:Query", orders, nil, false, IdentityDeny},
				{"Deny negated IfExists, other team", "dynamodb:Query", orders, []string{"aws:PrincipalTag/team", "web"}, false, IdentityDeny},
			},
		},
		{
			name: "Null",
			identity: []string{`{"Version":"2012-10-17","Statement":[
				{"Effect":"Allow","Action":"ec2:Describe","Resource":"*","Condition":{"Null":{"aws:TokenIssueTime":"true"}}},
				{"Effect":"Allow","Action":"ec2:Run","Resource":"*","Condition":{"Null":{"aws:TokenIssueTime":false}}}]}`},
			checks: []check{
				{"true: key absent", "ec2:Describe", "*", nil, true, 0},
				{"true: key present", "ec2:Describe", "*", []string{"aws:TokenIssueTime", "2024-01-01T00:00:00Z"}, false, NoIdentityAllow},
				{"false: key present", "ec2:Run", "*", []string{"aws:TokenIssueTime", "2024-01-01T00:00:00Z"}, true, 0},
				{"false: key absent", "ec2:Run", "*", nil, false, NoIdentityAllow},
			},
		},
		{
			name: "Numeric",
			identity: []string{`{"Version":"2012-10-17","Statement":[
				{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket",
				 "Condition":{"NumericLessThanEquals":{"s3:max-keys":"10"}}},
				{"Effect":"Allow","Action":"s3:ListObjects","Resource":"*",
				 "Condition":{"NumericEquals":{"s3:max-keys":[5, 7.5]},"NumericNotEquals":{"x:n":[1,2]}}},
				{"Effect":"Allow","Action":"s3:Lt","Resource":"*","Condition":{"NumericLessThan":{"x:n":-1}}},
				{"Effect":"Allow","Action":"s3:Gt","Resource":"*","Condition":{"NumericGreaterThan":{"x:n":1e3}}},
				{"Effect":"Allow","Action":"s3:Ge","Resource":"*","Condition":{"NumericGreaterThanEquals":{"x:n":"1000"}}},
				{"Effect":"Allow","Action":"s3:Deny","Resource":"*"},
				{"Effect":"Deny","Action":"s3:Deny","Resource":"*","Condition":{"NumericGreaterThan":{"x:n":100}}}]}`},
			checks: []check{
				{"10 <= 10", "s3:ListBucket", "arn:aws:s3:::example_bucket", []string{"s3:max-keys", "10"}, true, 0},
				{"9.5 <= 10", "s3:ListBucket", "arn:aws:s3:::example_bucket", []string{"s3:max-keys", "9.5"}, true, 0},
				{"11 > 10", "s3:ListBucket", "arn:aws:s3:::example_bucket", []string{"s3:max-keys", "11"}, false, NoIdentityAllow},
				{"absent", "s3:ListBucket", "arn:aws:s3:::example_bucket", nil, false, NoIdentityAllow},
				{"not a number fails closed", "s3:ListBucket", "arn:aws:s3:::example_bucket", []string{"s3:max-keys", "ten"}, false, NoIdentityAllow},
				{"equals 7.50, not 1 or 2", "s3:ListObjects", "*", []string{"s3:max-keys", "7.50", "x:n", "3"}, true, 0},
				{"NumericNotEquals NOR", "s3:ListObjects", "*", []string{"s3:max-keys", "5", "x:n", "2"}, false, NoIdentityAllow},
				{"NumericNotEquals absent is true", "s3:ListObjects", "*", []string{"s3:max-keys", "5"}, true, 0},
				{"less than -1", "s3:Lt", "*", []string{"x:n", "-2"}, true, 0},
				{"not less than -1", "s3:Lt", "*", []string{"x:n", "-1"}, false, NoIdentityAllow},
				{"greater than 1e3", "s3:Gt", "*", []string{"x:n", "1000.5"}, true, 0},
				{"not greater than 1e3", "s3:Gt", "*", []string{"x:n", "1000"}, false, NoIdentityAllow},
				{"greater or equal", "s3:Ge", "*", []string{"x:n", "1000"}, true, 0},
				{"Deny: over the limit", "s3:Deny", "*", []string{"x:n", "101"}, false, IdentityDeny},
				{"Deny: under the limit", "s3:Deny", "*", []string{"x:n", "99"}, true, 0},
				{"Deny: not a number fails closed", "s3:Deny", "*", []string{"x:n", "NaN"}, false, IdentityDeny},
			},
		},
		{
			name: "Date",
			identity: []string{`{"Version":"2012-10-17","Statement":[
				{"Effect":"Allow","Action":"iam:CreateAccessKey","Resource":"*",
				 "Condition":{"DateGreaterThan":{"aws:TokenIssueTime":"2020-01-01T00:00:01Z"}}},
				{"Effect":"Allow","Action":"x:Before","Resource":"*",
				 "Condition":{"DateLessThan":{"aws:CurrentTime":"1700000000"}}},
				{"Effect":"Allow","Action":"x:Equals","Resource":"*",
				 "Condition":{"DateEquals":{"aws:CurrentTime":"2020-01-01T02:00:01+02:00"}}},
				{"Effect":"Allow","Action":"x:Range","Resource":"*",
				 "Condition":{"DateGreaterThanEquals":{"aws:CurrentTime":"2024-01-01"},"DateLessThanEquals":{"aws:CurrentTime":"2024-12-31T23:59:59Z"}}},
				{"Effect":"Allow","Action":"x:NotEquals","Resource":"*",
				 "Condition":{"DateNotEquals":{"aws:EpochTime":"2024-01-01T00:00:00Z"}}}]}`},
			checks: []check{
				{"issued after", "iam:CreateAccessKey", "*", []string{"aws:TokenIssueTime", "2020-06-01T00:00:00Z"}, true, 0},
				{"issued before", "iam:CreateAccessKey", "*", []string{"aws:TokenIssueTime", "2019-12-31T23:59:59Z"}, false, NoIdentityAllow},
				{"epoch request value", "iam:CreateAccessKey", "*", []string{"aws:TokenIssueTime", "1600000000"}, true, 0},
				{"fractional seconds", "iam:CreateAccessKey", "*", []string{"aws:TokenIssueTime", "2020-01-01T00:00:01.5Z"}, true, 0},
				{"not a date fails closed", "iam:CreateAccessKey", "*", []string{"aws:TokenIssueTime", "yesterday"}, false, NoIdentityAllow},
				{"ISO before epoch policy value", "x:Before", "*", []string{"aws:CurrentTime", "2023-11-14T22:13:19Z"}, true, 0},
				{"ISO at epoch policy value", "x:Before", "*", []string{"aws:CurrentTime", "2023-11-14T22:13:20Z"}, false, NoIdentityAllow},
				{"equal instants in other zones", "x:Equals", "*", []string{"aws:CurrentTime", "2020-01-01T00:00:01Z"}, true, 0},
				{"inside a range", "x:Range", "*", []string{"aws:CurrentTime", "2024-06-01T12:00:00Z"}, true, 0},
				{"after a range", "x:Range", "*", []string{"aws:CurrentTime", "2025-01-01T00:00:00Z"}, false, NoIdentityAllow},
				{"DateNotEquals with epoch", "x:NotEquals", "*", []string{"aws:EpochTime", "1704067200"}, false, NoIdentityAllow},
				{"DateNotEquals other instant", "x:NotEquals", "*", []string{"aws:EpochTime", "1704067201"}, true, 0},
			},
		},
		{
			name: "Bool (IAM guide: deny without TLS)",
			identity: []string{allowAll, `{"Version":"2012-10-17","Statement":[
				{"Sid":"BooleanExample","Action":"s3:*","Effect":"Deny",
				 "Resource":["arn:aws:s3:::DOC-EXAMPLE-BUCKET","arn:aws:s3:::DOC-EXAMPLE-BUCKET/*"],
				 "Condition":{"Bool":{"aws:SecureTransport":"false"}}},
				{"Action":"x:Y","Effect":"Deny","Resource":"*","Condition":{"Bool":{"x:flag":true}}}]}`},
			checks: []check{
				{"plain HTTP denied", "s3:GetObject", "arn:aws:s3:::DOC-EXAMPLE-BUCKET/a", []string{"aws:SecureTransport", "false"}, false, IdentityDeny},
				{"value case-insensitive", "s3:GetObject", "arn:aws:s3:::DOC-EXAMPLE-BUCKET/a", []string{"aws:SecureTransport", "FALSE"}, false, IdentityDeny},
				{"TLS allowed", "s3:GetObject", "arn:aws:s3:::DOC-EXAMPLE-BUCKET/a", []string{"aws:SecureTransport", "true"}, true, 0},
				{"absent: Deny does not apply", "s3:GetObject", "arn:aws:s3:::DOC-EXAMPLE-BUCKET/a", nil, true, 0},
				{"garbage fails closed in a Deny", "s3:GetObject", "arn:aws:s3:::DOC-EXAMPLE-BUCKET/a", []string{"aws:SecureTransport", "yes"}, false, IdentityDeny},
				{"JSON true policy value", "x:Y", "*", []string{"x:flag", "true"}, false, IdentityDeny},
				{"JSON true vs false", "x:Y", "*", []string{"x:flag", "false"}, true, 0},
			},
		},
		{
			name: "IpAddress",
			identity: []string{`{"Version":"2012-10-17","Statement":[
				{"Effect":"Allow","Action":"x:In","Resource":"*",
				 "Condition":{"IpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:DB8:1234:5678::/64","192.0.2.1"]}}},
				{"Effect":"Allow","Action":"x:Out","Resource":"*",
				 "Condition":{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","fd00::/8"]}}}]}`},
			checks: []check{
				{"inside v4 block", "x:In", "*", []string{"aws:SourceIp", "203.0.113.7"}, true, 0},
				{"outside v4 block", "x:In", "*", []string{"aws:SourceIp", "198.51.100.1"}, false, NoIdentityAllow},
				{"inside v6 block", "x:In", "*", []string{"aws:SourceIp", "2001:db8:1234:5678::1"}, true, 0},
				{"outside v6 block", "x:In", "*", []string{"aws:SourceIp", "2001:db8:1234:5679::1"}, false, NoIdentityAllow},
				{"v4-mapped v6", "x:In", "*", []string{"aws:SourceIp", "::ffff:203.0.113.9"}, true, 0},
				{"bare address is /32", "x:In", "*", []string{"aws:SourceIp", "192.0.2.1"}, true, 0},
				{"bare address neighbour", "x:In", "*", []string{"aws:SourceIp", "192.0.2.2"}, false, NoIdentityAllow},
				{"not an address fails closed", "x:In", "*", []string{"aws:SourceIp", "example.com"}, false, NoIdentityAllow},
				{"NotIpAddress outside", "x:Out", "*", []string{"aws:SourceIp", "203.0.113.7"}, true, 0},
				{"NotIpAddress inside", "x:Out", "*", []string{"aws:SourceIp", "10.1.2.3"}, false, NoIdentityAllow},
				{"NotIpAddress inside v6", "x:Out", "*", []string{"aws:SourceIp", "fd12::1"}, false, NoIdentityAllow},
				{"NotIpAddress absent", "x:Out", "*", nil, true, 0},
			},
		},
		{
			name: "BinaryEquals",
			identity: []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"x:B","Resource":"*",
				"Condition":{"BinaryEquals":{"x:key":"QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}}}`},
			checks: []check{
				{"same bytes", "x:B", "*", []string{"x:key", "BinaryValueInBase64"}, true, 0},
				{"other bytes", "x:B", "*", []string{"x:key", "BinaryValueInBase65"}, false, NoIdentityAllow},
				{"the base64 text itself is not the value", "x:B", "*", []string{"x:key", "QmluYXJ5VmFsdWVJbkJhc2U2NA=="}, false, NoIdentityAllow},
			},
		},
		{
			name: "NotAction and NotResource",
			identity: []string{`{"Version":"2012-10-17","Statement":[
				{"Effect":"Allow","NotAction":["dynamodb:Scan","dynamodb:Delete*"],"Resource":"arn:aws:dynamodb:*:*:table/*"},
				{"Effect":"Allow","Action":"s3:*","NotResource":["arn:aws:s3:::secrets","arn:aws:s3:::secrets/*"]}]}`},
			checks: []check{
				{"action not excluded", "dynamodb:GetItem", orders, nil, true, 0},
				{"excluded action", "dynamodb:Scan", orders, nil, false, NoIdentityAllow},
				{"excluded by wildcard", "dynamodb:DeleteTable", orders, nil, false, NoIdentityAllow},
				{"NotAction with other resource", "dynamodb:GetItem", "arn:aws:s3:::bucket", nil, false, NoIdentityAllow},
				{"resource not excluded", "s3:GetObject", "arn:aws:s3:::public/a", nil, true, 0},
				{"excluded resource", "s3:GetObject", "arn:aws:s3:::secrets/a", nil, false, NoIdentityAllow},
			},
		},
		{
			name: "explicit deny wins over allow",
			identity: []string{
				`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"*"}}`,
				`{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"dynamodb:DeleteItem","Resource":"*"}}`,
			},
			checks: []check{
				{"allowed", "dynamodb:PutItem", orders, nil, true, 0},
				{"denied explicitly", "dynamodb:DeleteItem", orders, nil, false, IdentityDeny},
				{"not allowed at all", "s3:GetObject", "arn:aws:s3:::b/k", nil, false, NoIdentityAllow},
			},
		},
		{
			name: "session policy intersects",
			identity: []string{`{"Version":"2012-10-17","Statement":[
				{"Effect":"Allow","Action":["dynamodb:GetItem","dynamodb:PutItem"],"Resource":"arn:aws:dynamodb:*:*:table/Orders"},
				{"Effect":"Deny","Action":"dynamodb:PutItem","Resource":"*","Condition":{"StringEquals":{"x:mode":"readonly"}}}]}`},
			session: `{"Version":"2012-10-17","Statement":[
				{"Effect":"Allow","Action":["dynamodb:GetItem","dynamodb:DeleteItem","dynamodb:PutItem"],"Resource":"*",
				 "Condition":{"StringEquals":{"aws:PrincipalTag/TenantID":"t1"}}},
				{"Effect":"Deny","Action":"dynamodb:PutItem","Resource":"*","Condition":{"StringEquals":{"x:mode":["readonly","frozen"]}}}]}`,
			checks: []check{
				{"both allow", "dynamodb:GetItem", orders, []string{tenantTag, "t1"}, true, 0},
				{"session allows only t1", "dynamodb:GetItem", orders, []string{tenantTag, "t2"}, false, NoSessionAllow},
				{"session cannot widen", "dynamodb:DeleteItem", orders, []string{tenantTag, "t1"}, false, NoIdentityAllow},
				{"session deny", "dynamodb:PutItem", orders, []string{tenantTag, "t1", "x:mode", "frozen"}, false, SessionDeny},
				{"identity deny reported first", "dynamodb:PutItem", orders, []string{tenantTag, "t1", "x:mode", "readonly"}, false, IdentityDeny},
				{"session deny beats identity allow", "dynamodb:PutItem", orders, []string{tenantTag, "t2", "x:mode", "frozen"}, false, SessionDeny},
			},
		},
		{
			name: "variable defaults and escapes",
			identity: []string{`{"Version":"2012-10-17","Statement":[
				{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/${aws:PrincipalTag/team, 'company-wide'}/*"},
				{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"StringEquals":{"s3:prefix":"a${*}b${?}c${$}d"}}},
				{"Effect":"Allow","Action":"s3:PutObject","Resource":"*","Condition":{"StringLike":{"s3:prefix":"x${*}"}}},
				{"Effect":"Allow","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::bucket/${aws:username}/*"},
				{"Effect":"Deny","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::bucket/${aws:userid}/*"},
				{"Effect":"Allow","Action":"s3:GetObjectTagging","Resource":"*","Condition":{"StringEquals":{"s3:prefix":"${dynamodb:LeadingKeys}"}}},
				{"Effect":"Allow","Action":"s3:GetBucketTagging","Resource":"*","Condition":{"StringEquals":{"s3:prefix":"${aws:username,'anonymous'}"}}}]}`},
			checks: []check{
				{"default used", "s3:GetObject", "arn:aws:s3:::bucket/company-wide/doc", nil, true, 0},
				{"tag used", "s3:GetObject", "arn:aws:s3:::bucket/eng/doc", []string{"aws:PrincipalTag/team", "eng"}, true, 0},
				{"default not used when tag present", "s3:GetObject", "arn:aws:s3:::bucket/company-wide/doc", []string{"aws:PrincipalTag/team", "eng"}, false, NoIdentityAllow},
				{"escapes are literal", "s3:ListBucket", "*", []string{"s3:prefix", "a*b?c$d"}, true, 0},
				{"escapes are not wildcards", "s3:ListBucket", "*", []string{"s3:prefix", "axbyc$d"}, false, NoIdentityAllow},
				{"escaped * in StringLike is literal", "s3:PutObject", "*", []string{"s3:prefix", "x*"}, true, 0},
				{"escaped * in StringLike matches no more", "s3:PutObject", "*", []string{"s3:prefix", "xy"}, false, NoIdentityAllow},
				{"username resolves", "s3:DeleteObject", "arn:aws:s3:::bucket/alice/k", []string{"aws:username", "alice"}, true, 0},
				{"unresolved variable: Deny does not apply", "s3:DeleteObject", "arn:aws:s3:::bucket/alice/k", []string{"aws:username", "alice"}, true, 0},
				{"resolved Deny applies", "s3:DeleteObject", "arn:aws:s3:::bucket/alice/k", []string{"aws:username", "alice", "aws:userid", "alice"}, false, IdentityDeny},
				{"single-valued LeadingKeys resolves", "s3:GetObjectTagging", "*", []string{leading, "k1", "s3:prefix", "k1"}, true, 0},
				{"multi-valued key does not resolve", "s3:GetObjectTagging", "*", []string{leading, "k1", leading, "k2", "s3:prefix", "k1"}, false, NoIdentityAllow},
				{"default without space", "s3:GetBucketTagging", "*", []string{"s3:prefix", "anonymous"}, true, 0},
				{"variable key case-insensitive", "s3:GetBucketTagging", "*", []string{"AWS:UserName", "bob", "s3:prefix", "bob"}, true, 0},
			},
		},
		{
			name: "no Version: variables are literal text",
			identity: []string{`{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/${aws:username}/*"}}`,
				`{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"s3:PutObject","Resource":"*","Condition":{"StringEquals":{"s3:prefix":"${aws:username}"}}}}`},
			checks: []check{
				{"literal", "s3:GetObject", "arn:aws:s3:::bucket/${aws:username}/k", []string{"aws:username", "alice"}, true, 0},
				{"not substituted", "s3:GetObject", "arn:aws:s3:::bucket/alice/k", []string{"aws:username", "alice"}, false, NoIdentityAllow},
				{"2008 condition literal", "s3:PutObject", "*", []string{"s3:prefix", "${aws:username}"}, true, 0},
				{"2008 condition not substituted", "s3:PutObject", "*", []string{"aws:username", "alice", "s3:prefix", "alice"}, false, NoIdentityAllow},
			},
		},
		{
			name: "case rules",
			identity: []string{`{"Version":"2012-10-17","Statement":[
				{"Effect":"Allow","Action":"IAM:ListGroups","Resource":"*","Condition":{"StringEquals":{"AWS:PrincipalTag/Dept":"Eng"}}},
				{"Effect":"Allow","Action":"iam:*AccessKey*","Resource":"*","Condition":{"StringEqualsIgnoreCase":{"aws:PrincipalTag/dept":"eng"}}},
				{"Effect":"Allow","Action":"iam:Get?ser","Resource":"*","Condition":{"StringNotEqualsIgnoreCase":{"aws:PrincipalTag/dept":["ops","sec"]}}}]}`},
			checks: []check{
				{"action and key case-insensitive, value exact", "iam:listgroups", "*", []string{"aws:principaltag/dept", "Eng"}, true, 0},
				{"StringEquals value is case-sensitive", "iam:ListGroups", "*", []string{"aws:PrincipalTag/Dept", "eng"}, false, NoIdentityAllow},
				{"IgnoreCase", "iam:CreateAccessKey", "*", []string{"aws:PrincipalTag/Dept", "ENG"}, true, 0},
				{"IgnoreCase other value", "iam:CreateAccessKey", "*", []string{"aws:PrincipalTag/Dept", "sales"}, false, NoIdentityAllow},
				{"? in action", "iam:GetUser", "*", []string{"aws:PrincipalTag/Dept", "sales"}, true, 0},
				{"NotEqualsIgnoreCase NOR", "iam:GetUser", "*", []string{"aws:PrincipalTag/Dept", "SEC"}, false, NoIdentityAllow},
				{"? is one character", "iam:GetUsser", "*", []string{"aws:PrincipalTag/Dept", "sales"}, false, NoIdentityAllow},
			},
		},
		{
			name: "AND across operators and keys, OR across values",
			identity: []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*",
				"Condition":{"StringEquals":{"aws:PrincipalTag/department":["finance","hr"],"aws:PrincipalTag/role":"audit"},
				             "ArnLike":{"aws:PrincipalArn":["arn:aws:iam::222222222222:user/Ana","arn:aws:iam::222222222222:role/*"]}}}}`},
			checks: []check{
				{"all hold", "s3:GetObject", "*", []string{"aws:PrincipalTag/department", "hr", "aws:PrincipalTag/role", "audit", "aws:PrincipalArn", "arn:aws:iam::222222222222:role/X"}, true, 0},
				{"second value of a key", "s3:GetObject", "*", []string{"aws:PrincipalTag/department", "finance", "aws:PrincipalTag/role", "audit", "aws:PrincipalArn", "arn:aws:iam::222222222222:user/Ana"}, true, 0},
				{"one key fails", "s3:GetObject", "*", []string{"aws:PrincipalTag/department", "hr", "aws:PrincipalTag/role", "dev", "aws:PrincipalArn", "arn:aws:iam::222222222222:role/X"}, false, NoIdentityAllow},
				{"other operator fails", "s3:GetObject", "*", []string{"aws:PrincipalTag/department", "hr", "aws:PrincipalTag/role", "audit", "aws:PrincipalArn", "arn:aws:iam::333333333333:role/X"}, false, NoIdentityAllow},
			},
		},
		{
			name: "plain operators on a multi-valued key",
			identity: []string{`{"Version":"2012-10-17","Statement":[
				{"Effect":"Allow","Action":"x:Eq","Resource":"*","Condition":{"StringEquals":{"aws:TagKeys":"a"}}},
				{"Effect":"Allow","Action":"x:Ne","Resource":"*","Condition":{"StringNotEquals":{"aws:TagKeys":"a"}}}]}`},
			checks: []check{
				{"positive: any value matches", "x:Eq", "*", []string{"aws:TagKeys", "b", "aws:TagKeys", "a"}, true, 0},
				{"positive: none matches", "x:Eq", "*", []string{"aws:TagKeys", "b", "aws:TagKeys", "c"}, false, NoIdentityAllow},
				{"negated: one matches, so not StringNotEquals", "x:Ne", "*", []string{"aws:TagKeys", "b", "aws:TagKeys", "a"}, false, NoIdentityAllow},
				{"negated: none matches", "x:Ne", "*", []string{"aws:TagKeys", "b", "aws:TagKeys", "c"}, true, 0},
			},
		},
	}
}

func TestPolicyConformance(t *testing.T) {
	for _, tc := range conformanceCases() {
		t.Run(tc.name, func(t *testing.T) {
			identity, session := mustParseCase(t, tc)
			for _, c := range tc.checks {
				t.Run(c.name, func(t *testing.T) {
					got := Evaluate(identity, session, c.request())
					if got.Allowed != c.allowed {
						t.Fatalf("%s on %s with %q: Allowed = %v, want %v (%s)", c.action, c.resource, c.context, got.Allowed, c.allowed, got.Reason())
					}
					if !c.allowed && got.Cause != c.cause {
						t.Fatalf("Cause = %v (%s), want %v", got.Cause, got.Reason(), c.cause)
					}
					if c.allowed && got.Cause != 0 {
						t.Fatalf("allowed with Cause %v", got.Cause)
					}
				})
			}
		})
	}
}

func mustParseCase(t testing.TB, tc conformanceCase) ([]*Policy, *Policy) {
	t.Helper()
	var identity []*Policy
	for _, doc := range tc.identity {
		p, err := Parse([]byte(doc))
		if err != nil {
			t.Fatalf("Parse: %v\n%s", err, doc)
		}
		identity = append(identity, p)
	}
	var session *Policy
	if tc.session != "" {
		p, err := Parse([]byte(tc.session))
		if err != nil {
			t.Fatalf("Parse session: %v", err)
		}
		session = p
	}
	return identity, session
}

func TestPolicyDecisionMessages(t *testing.T) {
	const principal = "arn:aws:sts::123456789012:assumed-role/fn-orders/t1"
	req := &Request{Action: "dynamodb:GetItem", Resource: orders}
	tests := []struct {
		cause Cause
		want  string
	}{
		{NoIdentityAllow, "User: " + principal + " is not authorized to perform: dynamodb:GetItem on resource: " + orders + " because no identity-based policy allows the dynamodb:GetItem action"},
		{NoSessionAllow, "User: " + principal + " is not authorized to perform: dynamodb:GetItem on resource: " + orders + " because no session policy allows the dynamodb:GetItem action"},
		{IdentityDeny, "User: " + principal + " is not authorized to perform: dynamodb:GetItem on resource: " + orders + " with an explicit deny in an identity-based policy"},
		{SessionDeny, "User: " + principal + " is not authorized to perform: dynamodb:GetItem on resource: " + orders + " with an explicit deny in a session policy"},
	}
	for _, tt := range tests {
		d := Decision{Cause: tt.cause, Action: req.Action}
		if got := AccessDeniedMessage(principal, req, d); got != tt.want {
			t.Errorf("cause %d:\n got %q\nwant %q", tt.cause, got, tt.want)
		}
	}
	if got := AccessDeniedMessage(principal, req, Decision{Allowed: true, Action: req.Action}); got != "" {
		t.Errorf("allowed decision: message %q, want none", got)
	}
	// Evaluate fills in the action the reason names.
	d := Evaluate(nil, nil, req)
	if d.Allowed || d.Reason() != "because no identity-based policy allows the dynamodb:GetItem action" {
		t.Errorf("Evaluate with no policies = %+v, reason %q", d, d.Reason())
	}
}

func TestPolicyEvaluateNeverPanics(t *testing.T) {
	p := mustParse(t, poolPolicy)
	if d := Evaluate([]*Policy{p}, nil, nil); d.Allowed || d.Cause != NoIdentityAllow {
		t.Errorf("nil request: %+v", d)
	}
	if d := Evaluate([]*Policy{nil, p}, nil, &Request{}); d.Allowed {
		t.Errorf("empty request allowed")
	}
	// A corrupt Policy (not made by Parse) must deny, not panic.
	bad := &Policy{allows: []*statement{{actions: []pattern{{parts: []part{{kind: partVar, slot: 3}, {kind: partAny}}}}}}}
	if d := Evaluate([]*Policy{bad}, nil, &Request{Action: "x:y"}); d.Allowed {
		t.Errorf("corrupt policy allowed: %+v", d)
	}
	bad2 := &Policy{allows: []*statement{nil}}
	if d := Evaluate([]*Policy{bad2}, nil, &Request{Action: "x:y"}); d.Allowed || d.Cause != NoIdentityAllow {
		t.Errorf("nil statement: %+v", d)
	}
}

func TestPolicyConcurrentEvaluate(t *testing.T) {
	p := mustParse(t, poolPolicy)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			tenant := string(rune('a' + g))
			for i := range 500 {
				r := &Request{Action: "dynamodb:GetItem", Resource: orders}
				r.Context.Add(tenantTag, tenant)
				own := i%2 == 0
				key := tenant + "#k"
				if !own {
					key = "z" + key
				}
				r.Context.Add(leading, key)
				if d := Evaluate([]*Policy{p}, nil, r); d.Allowed != own {
					t.Errorf("tenant %s key %s: Allowed = %v", tenant, key, d.Allowed)
					return
				}
			}
		})
	}
	wg.Wait()
}

func mustParse(t testing.TB, doc string) *Policy {
	t.Helper()
	p, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return p
}

func TestPolicyContext(t *testing.T) {
	var c Context
	c.Add("aws:PrincipalTag/TenantID", "t1")
	c.Add(leading, "k1")
	c.Add("DYNAMODB:leadingkeys", "k2")
	if v, ok := c.Lookup("aws:principaltag/tenantid"); !ok || v != "t1" {
		t.Errorf("Lookup = %q, %v", v, ok)
	}
	if _, ok := c.Lookup(leading); ok {
		t.Error("Lookup of a multi-valued key resolved")
	}
	var got []string
	for v := range c.Values(leading) {
		got = append(got, v)
	}
	if strings.Join(got, ",") != "k1,k2" {
		t.Errorf("Values = %q", got)
	}
	c.Set(leading, "k3")
	if v, ok := c.Lookup(leading); !ok || v != "k3" {
		t.Errorf("after Set: Lookup = %q, %v", v, ok)
	}
	c.Set(leading)
	if c.Has(leading) || c.Len() != 1 {
		t.Errorf("after Set with no values: Has = %v, Len = %d", c.Has(leading), c.Len())
	}
	// Unicode case folding: the Kelvin sign folds to k; lengths differ.
	c.Add("x:\u212aey", "v")
	if v, ok := c.Lookup("x:key"); !ok || v != "v" {
		t.Errorf("Unicode fold lookup = %q, %v", v, ok)
	}
	c.Reset()
	if c.Len() != 0 || c.Has("aws:PrincipalTag/TenantID") {
		t.Error("Reset left values")
	}
	c.Grow(4)
	if cap(c.pairs) < 4 {
		t.Errorf("Grow: cap %d", cap(c.pairs))
	}
	if n := testing.AllocsPerRun(100, func() {
		c.Reset()
		c.Add("a:b", "1")
		c.Add("a:c", "2")
	}); n != 0 {
		t.Errorf("Add after Grow allocates %v times", n)
	}
}
