package apigw

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/google/go-cmp/cmp"
)

const petARN = "arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/pets/12"

// policy wraps statements in an authorizer answer.
func policy(statements string) string {
	return `{"principalId":"user-1","policyDocument":{"Version":"2012-10-17","Statement":` + statements + `}}`
}

func TestGatewayPolicyEvaluation(t *testing.T) {
	const allowAll = `{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}`
	for _, tc := range []struct {
		name, payload string
		allow         bool
	}{
		{"allow exact", policy(`[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"` + petARN + `"}]`), true},
		{"allow lists", policy(`[{"Sid":"s","Effect":"Allow","Action":["s3:GetObject","execute-api:Invoke"],"Resource":["arn:x","` + petARN + `"]}]`), true},
		{"single statement object", policy(allowAll), true},
		{"deny wins", policy(`[` + allowAll + `,{"Effect":"Deny","Action":"execute-api:Invoke","Resource":"` + petARN + `"}]`), false},
		{"deny first still wins", policy(`[{"Effect":"Deny","Action":"*","Resource":"*/GET/pets/*"},` + allowAll + `]`), false},
		{"deny elsewhere", policy(`[` + allowAll + `,{"Effect":"Deny","Action":"execute-api:Invoke","Resource":"*/POST/*"}]`), true},
		{"wildcard path", policy(`[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/*"}]`), true},
		{"wildcard verb and stage", policy(`[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:abc/*/*/pets/*"}]`), true},
		{"wildcard other verb", policy(`[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:123456789012:abc/prod/POST/*"}]`), false},
		{"question mark", policy(`[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"` + petARN[:len(petARN)-2] + `??"}]`), true},
		{"question mark is one character", policy(`[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"` + petARN[:len(petARN)-2] + `?"}]`), false},
		{"resource is case-sensitive", policy(`[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"` + strings.ToUpper(petARN) + `"}]`), false},
		{"action execute-api:*", policy(`[{"Effect":"Allow","Action":"execute-api:*","Resource":"*"}]`), true},
		{"action *", policy(`[{"Effect":"Allow","Action":"*","Resource":"*"}]`), true},
		{"action case-insensitive", policy(`[{"Effect":"Allow","Action":"Execute-API:invoke","Resource":"*"}]`), true},
		{"other action", policy(`[{"Effect":"Allow","Action":"execute-api:ManageConnections","Resource":"*"}]`), false},
		{"no statement matches", policy(`[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:123456789012:other/*"}]`), false},
		{"no statements", policy(`[]`), false},
		{"null statements", policy(`null`), false},
		{"simple allow", `{"isAuthorized":true}`, true},
		{"simple deny", `{"isAuthorized":false,"context":{"why":"expired"}}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ParseDecision([]byte(tc.payload), petARN)
			if err != nil {
				t.Fatalf("ParseDecision(%s): %v", tc.payload, err)
			}
			if d.Allow != tc.allow {
				t.Errorf("ParseDecision(%s).Allow = %v; want %v", tc.payload, d.Allow, tc.allow)
			}
		})
	}
}

func TestGatewayDecisionFields(t *testing.T) {
	d, err := ParseDecision([]byte(`{"principalId":"user-1","usageIdentifierKey":"key-1",
		"policyDocument":{"Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]},
		"context":{"tenant":"t1","n":12345678901234567890,"ok":false}}`), petARN)
	if err != nil {
		t.Fatal(err)
	}
	want := Decision{
		PrincipalID: "user-1", Allow: true, UsageIdentifierKey: "key-1",
		Context: map[string]any{"tenant": "t1", "n": json.Number("12345678901234567890"), "ok": false},
	}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Errorf("decision (-want +got):\n%s", diff)
	}
	wantMap := map[string]any{"principalId": "user-1", "integrationLatency": int64(12), "tenant": "t1", "n": "12345678901234567890", "ok": "false"}
	if diff := cmp.Diff(wantMap, d.RequestAuthorizer(12*time.Millisecond)); diff != "" {
		t.Errorf("RequestAuthorizer (-want +got):\n%s", diff)
	}

	simple, err := ParseDecision([]byte(`{"isAuthorized":true,"context":{"a":"b","n":1.5,"t":true}}`), "")
	if err != nil {
		t.Fatal(err)
	}
	want = Decision{Allow: true, Context: map[string]any{"a": "b", "n": json.Number("1.5"), "t": true}}
	if diff := cmp.Diff(want, simple); diff != "" {
		t.Errorf("simple decision (-want +got):\n%s", diff)
	}
}

// TestGatewayDecisionFromAWSLambdaGo reads answers built with aws-lambda-go's
// own response types, as a Go authorizer returns them.
func TestGatewayDecisionFromAWSLambdaGo(t *testing.T) {
	answer := events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: "user-1",
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{
			Version: "2012-10-17",
			Statement: []events.IAMPolicyStatement{
				{Action: []string{"execute-api:Invoke"}, Effect: "Allow", Resource: []string{petARN}},
			},
		},
		Context:            map[string]any{"tenant": "t1", "n": 1, "ok": true},
		UsageIdentifierKey: "key-1",
	}
	d, err := ParseDecision([]byte(jsonOf(t, answer)), petARN)
	if err != nil || !d.Allow || d.PrincipalID != "user-1" || d.UsageIdentifierKey != "key-1" || d.Context["tenant"] != "t1" {
		t.Errorf("ParseDecision(aws-lambda-go policy) = %+v, %v", d, err)
	}
	d, err = ParseDecision([]byte(jsonOf(t, events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true})), petARN)
	if err != nil || !d.Allow {
		t.Errorf("ParseDecision(aws-lambda-go simple response) = %+v, %v", d, err)
	}
}

func TestGatewayDecisionMalformed(t *testing.T) {
	const allow = `[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]`
	for _, tc := range []struct{ name, payload string }{
		{"not JSON", `nope`},
		{"not an object", `["allow"]`},
		{"null", `null`},
		{"empty object", `{}`},
		{"no principalId", `{"policyDocument":{"Statement":` + allow + `}}`},
		{"empty principalId", `{"principalId":"","policyDocument":{"Statement":` + allow + `}}`},
		{"number principalId", `{"principalId":7,"policyDocument":{"Statement":` + allow + `}}`},
		{"policyDocument not an object", `{"principalId":"u","policyDocument":"Allow"}`},
		{"Statement a string", policy(`"Allow"`)},
		{"statement not an object", policy(`["Allow"]`)},
		{"lower-case effect", policy(`[{"Effect":"allow","Action":"execute-api:Invoke","Resource":"*"}]`)},
		{"no Effect", policy(`[{"Action":"execute-api:Invoke","Resource":"*"}]`)},
		{"no Action", policy(`[{"Effect":"Allow","Resource":"*"}]`)},
		{"no Resource", policy(`[{"Effect":"Allow","Action":"execute-api:Invoke"}]`)},
		{"Resource a number", policy(`[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":5}]`)},
		{"Action list of numbers", policy(`[{"Effect":"Allow","Action":[1],"Resource":"*"}]`)},
		{"NotResource", policy(`[{"Effect":"Deny","Action":"execute-api:Invoke","NotResource":"` + petARN + `"}]`)},
		{"Condition", policy(`[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*","Condition":{}}]`)},
		{"context object value", `{"principalId":"u","policyDocument":{"Statement":` + allow + `},"context":{"user":{"id":3}}}`},
		{"context array value", `{"principalId":"u","policyDocument":{"Statement":` + allow + `},"context":{"roles":["a"]}}`},
		{"context null value", `{"principalId":"u","policyDocument":{"Statement":` + allow + `},"context":{"x":null}}`},
		{"context not an object", `{"principalId":"u","policyDocument":{"Statement":` + allow + `},"context":"x"}`},
		{"usageIdentifierKey a number", `{"principalId":"u","usageIdentifierKey":5,"policyDocument":{"Statement":` + allow + `}}`},
		{"isAuthorized a string", `{"isAuthorized":"true"}`},
		{"isAuthorized null", `{"isAuthorized":null}`},
		{"simple with bad context", `{"isAuthorized":true,"context":{"a":{}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d, err := ParseDecision([]byte(tc.payload), petARN); !errors.Is(err, ErrMalformedAuthorizerResponse) {
				t.Errorf("ParseDecision(%s) = %+v, %v; want ErrMalformedAuthorizerResponse", tc.payload, d, err)
			}
		})
	}
}

func TestGatewayIsUnauthorized(t *testing.T) {
	// What aws-lambda-go sends for return nil, errors.New("Unauthorized").
	fromGo := jsonOf(t, messages.InvokeResponse_Error{Message: "Unauthorized", Type: "errorString"})
	for _, tc := range []struct {
		payload string
		want    bool
	}{
		{fromGo, true},
		{`{"errorMessage":"Unauthorized","errorType":"Error","stackTrace":[]}`, true},
		{`{"errorMessage":"unauthorized"}`, false},
		{`{"errorMessage":"Unauthorized "}`, false},
		{`{"errorMessage":"Forbidden"}`, false},
		{`{"errorType":"Unauthorized"}`, false},
		{`"Unauthorized"`, false},
		{`not json`, false},
		{``, false},
	} {
		if got := IsUnauthorized([]byte(tc.payload)); got != tc.want {
			t.Errorf("IsUnauthorized(%s) = %v; want %v", tc.payload, got, tc.want)
		}
	}
}

func TestGatewayWildcard(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"*", "anything/at:all", true},
		{"", "", true},
		{"", "a", false},
		{"a*", "a", true},
		{"a*c", "abbbc", true},
		{"a*c", "abbbd", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"?", "é", true}, // one character, not one byte
		{"*/GET/*", "x/GET/y/z", true},
		{"*a*a*a*a*a*b", strings.Repeat("a", 200), false},
		{"a**b", "ab", true},
	} {
		if got := wildcard(tc.pattern, tc.s); got != tc.want {
			t.Errorf("wildcard(%q, %q) = %v; want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}
