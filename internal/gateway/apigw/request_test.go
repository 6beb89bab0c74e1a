package apigw

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"
)

var arrived = time.Date(2020, 5, 15, 6, 1, 9, 693e6, time.UTC)

// petRequest is a POST with repeated headers and query names, cookies, an
// escaped path parameter and a JSON body, matched against "/pets/{id}".
func petRequest(t *testing.T, method string, body string) (*http.Request, Route) {
	t.Helper()
	r := httptest.NewRequest(method, "https://abc.example.com/pets/a%20b?x=1&x=2&y=%C3%A9&z", strings.NewReader(body))
	r.RemoteAddr = "192.0.2.7:5555"
	r.Header.Set("User-Agent", "test/1")
	r.Header.Add("X-Multi", "one")
	r.Header.Add("X-Multi", "two")
	r.Header.Add("Cookie", "a=1; b=2")
	r.Header.Add("Cookie", "c=3")
	var tbl Table[Pattern]
	p := mustParse(t, Any, "/pets/{id}")
	if err := tbl.Add(p, p); err != nil {
		t.Fatal(err)
	}
	pat, params, _, ok := tbl.Lookup(r.Method, r.URL.EscapedPath())
	if !ok {
		t.Fatalf("no route for %s", r.URL)
	}
	return r, Route{Pattern: pat, Params: params}
}

func baseInfo() RequestInfo {
	return RequestInfo{
		Region:         "us-east-1",
		AccountID:      "123456789012",
		APIID:          "abc",
		Stage:          "prod",
		StageVariables: map[string]string{"env": "test"},
		RequestID:      "req-1",
		Time:           arrived,
		APIKey:         "key-1",
		APIKeyID:       "kid-1",
	}
}

// roundTrip marshals v and decodes it into T, as a function would.
func roundTrip[T any](t *testing.T, v any) (T, []byte) {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out T
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("aws-lambda-go cannot decode %s: %v", raw, err)
	}
	return out, raw
}

func TestGatewayEventV1(t *testing.T) {
	r, route := petRequest(t, "POST", `{"name":"rex"}`)
	info := baseInfo()
	decision := Decision{PrincipalID: "user-1", Allow: true, Context: map[string]any{"tenant": "t1", "n": json.Number("1"), "ok": true}}
	info.Authorizer = decision.RequestAuthorizer(5 * time.Millisecond)

	got, _ := roundTrip[events.APIGatewayProxyRequest](t, NewEventV1(r, []byte(`{"name":"rex"}`), route, info))

	want := events.APIGatewayProxyRequest{
		Resource:   "/pets/{id}",
		Path:       "/pets/a b",
		HTTPMethod: "POST",
		Headers: map[string]string{
			"User-Agent": "test/1", "X-Multi": "two", "Cookie": "c=3", "Host": "abc.example.com",
		},
		MultiValueHeaders: map[string][]string{
			"User-Agent": {"test/1"}, "X-Multi": {"one", "two"}, "Cookie": {"a=1; b=2", "c=3"}, "Host": {"abc.example.com"},
		},
		QueryStringParameters:           map[string]string{"x": "2", "y": "é", "z": ""},
		MultiValueQueryStringParameters: map[string][]string{"x": {"1", "2"}, "y": {"é"}, "z": {""}},
		PathParameters:                  map[string]string{"id": "a b"},
		StageVariables:                  map[string]string{"env": "test"},
		RequestContext: events.APIGatewayProxyRequestContext{
			AccountID:         "123456789012",
			ResourceID:        resourceID("/pets/{id}"),
			Stage:             "prod",
			DomainName:        "abc.example.com",
			DomainPrefix:      "abc",
			RequestID:         "req-1",
			ExtendedRequestID: "req-1",
			Protocol:          "HTTP/1.1",
			Identity: events.APIGatewayRequestIdentity{
				SourceIP: "192.0.2.7", UserAgent: "test/1", APIKey: "key-1", APIKeyID: "kid-1",
			},
			ResourcePath: "/pets/{id}",
			Path:         "/pets/a b",
			Authorizer: map[string]any{
				"principalId": "user-1", "integrationLatency": float64(5),
				"tenant": "t1", "n": "1", "ok": "true", // REST passes context values as strings
			},
			HTTPMethod:       "POST",
			RequestTime:      "15/May/2020:06:01:09 +0000",
			RequestTimeEpoch: 1589522469693,
			APIID:            "abc",
		},
		Body: `{"name":"rex"}`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("v1 event (-want +got):\n%s", diff)
	}
}

func TestGatewayEventV1Nulls(t *testing.T) {
	r := httptest.NewRequest("GET", "http://abc.example.com:8080/pets", nil)
	info := RequestInfo{Time: arrived}
	ev := NewEventV1(r, nil, Route{Pattern: mustParse(t, "GET", "/pets")}, info)
	raw, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	for _, member := range []string{
		`"queryStringParameters":null`, `"multiValueQueryStringParameters":null`,
		`"pathParameters":null`, `"stageVariables":null`, `"body":null`,
		`"isBase64Encoded":false`, `"authorizer":null`, `"apiKey":null`, `"apiKeyId":null`,
		`"domainName":"abc.example.com"`, `"sourceIp":"192.0.2.1"`,
	} {
		if !strings.Contains(string(raw), member) {
			t.Errorf("event lacks %s:\n%s", member, raw)
		}
	}
}

func TestGatewayEventV1JWTClaims(t *testing.T) {
	r := httptest.NewRequest("GET", "/pets", nil)
	info := RequestInfo{Time: arrived, JWT: &JWT{Claims: map[string]string{"sub": "u1"}, Scopes: []string{"read"}}}
	got, _ := roundTrip[events.APIGatewayProxyRequest](t, NewEventV1(r, nil, Route{Pattern: mustParse(t, "GET", "/pets")}, info))
	want := map[string]any{"claims": map[string]any{"sub": "u1"}, "scopes": []any{"read"}}
	if diff := cmp.Diff(want, got.RequestContext.Authorizer); diff != "" {
		t.Errorf("authorizer (-want +got):\n%s", diff)
	}
}

func TestGatewayEventV2(t *testing.T) {
	r, route := petRequest(t, "POST", `{"name":"rex"}`)
	info := baseInfo()
	info.JWT = &JWT{Claims: map[string]string{"sub": "u1", "iss": "https://issuer"}, Scopes: []string{"pets:write"}}

	got, _ := roundTrip[events.APIGatewayV2HTTPRequest](t, NewEventV2(r, []byte(`{"name":"rex"}`), route, info))

	want := events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       "ANY /pets/{id}",
		RawPath:        "/pets/a%20b",
		RawQueryString: "x=1&x=2&y=%C3%A9&z",
		Cookies:        []string{"a=1", "b=2", "c=3"},
		Headers: map[string]string{
			"user-agent": "test/1", "x-multi": "one,two", "host": "abc.example.com",
		},
		QueryStringParameters: map[string]string{"x": "1,2", "y": "é", "z": ""},
		PathParameters:        map[string]string{"id": "a b"},
		StageVariables:        map[string]string{"env": "test"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:  "ANY /pets/{id}",
			AccountID: "123456789012",
			Stage:     "prod",
			RequestID: "req-1",
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{
					Claims: map[string]string{"sub": "u1", "iss": "https://issuer"},
					Scopes: []string{"pets:write"},
				},
			},
			APIID:        "abc",
			DomainName:   "abc.example.com",
			DomainPrefix: "abc",
			Time:         "15/May/2020:06:01:09 +0000",
			TimeEpoch:    1589522469693,
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: "POST", Path: "/pets/a b", Protocol: "HTTP/1.1", SourceIP: "192.0.2.7", UserAgent: "test/1",
			},
		},
		Body: `{"name":"rex"}`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("v2 event (-want +got):\n%s", diff)
	}
}

func TestGatewayEventV2LambdaAuthorizer(t *testing.T) {
	r := httptest.NewRequest("GET", "/pets", nil)
	d, err := ParseDecision([]byte(`{"isAuthorized":true,"context":{"tenant":"t1","n":1,"ok":true}}`), "")
	if err != nil {
		t.Fatal(err)
	}
	info := RequestInfo{Time: arrived, Authorizer: d.Context}
	got, _ := roundTrip[events.APIGatewayV2HTTPRequest](t, NewEventV2(r, nil, Route{Pattern: mustParse(t, "GET", "/pets")}, info))
	want := &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		Lambda: map[string]any{"tenant": "t1", "n": float64(1), "ok": true}, // HTTP APIs keep the types
	}
	if diff := cmp.Diff(want, got.RequestContext.Authorizer); diff != "" {
		t.Errorf("authorizer (-want +got):\n%s", diff)
	}
}

func TestGatewayEventV2Omissions(t *testing.T) {
	r := httptest.NewRequest("GET", "/pets", nil)
	raw, err := json.Marshal(NewEventV2(r, nil, Route{Pattern: mustParse(t, "GET", "/pets")}, RequestInfo{Time: arrived}))
	if err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{`"cookies"`, `"queryStringParameters"`, `"pathParameters"`, `"stageVariables"`, `"body"`, `"authorizer"`, `"cookie"`} {
		if strings.Contains(string(raw), absent) {
			t.Errorf("event has %s:\n%s", absent, raw)
		}
	}
	for _, present := range []string{`"isBase64Encoded":false`, `"rawQueryString":""`, `"routeKey":"GET /pets"`} {
		if !strings.Contains(string(raw), present) {
			t.Errorf("event lacks %s:\n%s", present, raw)
		}
	}
}

func TestGatewayEventBinaryBody(t *testing.T) {
	body := []byte{0xff, 0x00, 0x01, 'a'}
	r := httptest.NewRequest("PUT", "/blob", nil)
	route := Route{Pattern: mustParse(t, "PUT", "/blob")}

	v1, _ := roundTrip[events.APIGatewayProxyRequest](t, NewEventV1(r, body, route, RequestInfo{}))
	if v1.Body != "/wABYQ==" || !v1.IsBase64Encoded {
		t.Errorf("v1 body = %q, isBase64Encoded %v; want base64 of the bytes", v1.Body, v1.IsBase64Encoded)
	}
	v2, _ := roundTrip[events.APIGatewayV2HTTPRequest](t, NewEventV2(r, body, route, RequestInfo{}))
	if v2.Body != "/wABYQ==" || !v2.IsBase64Encoded {
		t.Errorf("v2 body = %q, isBase64Encoded %v; want base64 of the bytes", v2.Body, v2.IsBase64Encoded)
	}
	text, _ := roundTrip[events.APIGatewayV2HTTPRequest](t, NewEventV2(r, []byte("héllo"), route, RequestInfo{}))
	if text.Body != "héllo" || text.IsBase64Encoded {
		t.Errorf("UTF-8 body = %q, isBase64Encoded %v; want it as text", text.Body, text.IsBase64Encoded)
	}
}

func TestGatewayAuthorizerEvent(t *testing.T) {
	r, route := petRequest(t, "POST", "")
	info := baseInfo()
	got, _ := roundTrip[events.APIGatewayCustomAuthorizerRequestTypeRequest](t, NewAuthorizerEvent(r, route, info))

	want := events.APIGatewayCustomAuthorizerRequestTypeRequest{
		Type:       "REQUEST",
		MethodArn:  "arn:aws:execute-api:us-east-1:123456789012:abc/prod/POST/pets/a b",
		Resource:   "/pets/{id}",
		Path:       "/pets/a b",
		HTTPMethod: "POST",
		Headers: map[string]string{
			"User-Agent": "test/1", "X-Multi": "two", "Cookie": "c=3", "Host": "abc.example.com",
		},
		MultiValueHeaders: map[string][]string{
			"User-Agent": {"test/1"}, "X-Multi": {"one", "two"}, "Cookie": {"a=1; b=2", "c=3"}, "Host": {"abc.example.com"},
		},
		QueryStringParameters:           map[string]string{"x": "2", "y": "é", "z": ""},
		MultiValueQueryStringParameters: map[string][]string{"x": {"1", "2"}, "y": {"é"}, "z": {""}},
		PathParameters:                  map[string]string{"id": "a b"},
		StageVariables:                  map[string]string{"env": "test"},
		RequestContext: events.APIGatewayCustomAuthorizerRequestTypeRequestContext{
			Path:         "/pets/a b",
			AccountID:    "123456789012",
			ResourceID:   resourceID("/pets/{id}"),
			Stage:        "prod",
			RequestID:    "req-1",
			Identity:     events.APIGatewayCustomAuthorizerRequestTypeRequestIdentity{APIKey: "key-1", SourceIP: "192.0.2.7"},
			ResourcePath: "/pets/{id}",
			HTTPMethod:   "POST",
			APIID:        "abc",
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("authorizer event (-want +got):\n%s", diff)
	}

	// The ARN the event carries is the one policies are evaluated against.
	policy := `{"principalId":"u","policyDocument":{"Statement":[{"Effect":"Allow","Action":"execute-api:Invoke",
		"Resource":"arn:aws:execute-api:us-east-1:123456789012:abc/prod/POST/pets/*"}]}}`
	d, err := ParseDecision([]byte(policy), got.MethodArn)
	if err != nil || !d.Allow {
		t.Errorf("ParseDecision(policy for POST/pets/*, %q) = %+v, %v; want allowed", got.MethodArn, d, err)
	}
}

func TestGatewayMethodARNRoot(t *testing.T) {
	got := MethodARN(RequestInfo{Region: "eu-west-1", AccountID: "1", APIID: "api", Stage: "s"}, "GET", "/")
	if want := "arn:aws:execute-api:eu-west-1:1:api/s/GET/"; got != want {
		t.Errorf("MethodARN = %q; want %q", got, want)
	}
}

func TestGatewayResourceIDStable(t *testing.T) {
	a, b := resourceID("/pets/{id}"), resourceID("/pets")
	if a != resourceID("/pets/{id}") || a == b || len(a) != 6 {
		t.Errorf("resourceID: %q, %q; want stable, distinct, six characters", a, b)
	}
}
