package apigw

import (
	"testing"
)

// FuzzGatewayRoutes parses a route, adds it beside a fixed table and looks a
// path up. Nothing may panic, and a hit must be consistent with the route.
func FuzzGatewayRoutes(f *testing.F) {
	f.Add("GET", "/pets/{id}", "/pets/7")
	f.Add("ANY", "/{proxy+}", "/a/b%2Fc/")
	f.Add("POST", "/a/{b}/{c+}", "/a/%zz/x")
	f.Add("get", "/x//{y", "//")
	f.Add("GET", "/", "/")
	f.Fuzz(func(t *testing.T, method, pattern, path string) {
		var tbl Table[string]
		for _, k := range [][2]string{{"GET", "/pets/{id}"}, {"ANY", "/{proxy+}"}, {"GET", "/pets/dog"}, {"GET", "/"}} {
			if err := tbl.Add(Pattern{Method: k[0], Path: k[1]}, k[1]); err != nil {
				t.Fatal(err)
			}
		}
		p, err := Parse(method, pattern)
		if err == nil {
			if err := tbl.Add(p, p.Path); err == nil {
				defer func() {
					if !tbl.Remove(p) {
						t.Errorf("Remove(%v) = false after Add", p)
					}
				}()
			}
		}
		v, params, resource, ok := tbl.Lookup(method, path)
		if ok && v != resource {
			t.Errorf("Lookup(%q, %q) = value %q for resource %q", method, path, v, resource)
		}
		if !ok && (v != "" || params != nil || resource != "") {
			t.Errorf("a miss returned %q %v %q", v, params, resource)
		}
		methods := tbl.Methods(path)
		if ok && len(methods) == 0 {
			t.Errorf("Lookup(%q, %q) hit but Methods is empty", method, path)
		}
	})
}

// FuzzGatewayAnswers feeds arbitrary payloads to every reader of function
// and authorizer answers. Nothing may panic, and a Response read must be one
// a ResponseWriter can send.
func FuzzGatewayAnswers(f *testing.F) {
	for _, seed := range []string{
		`{"statusCode":200,"headers":{"a":"b"},"multiValueHeaders":{"a":["c"]},"body":"aGk=","isBase64Encoded":true,"cookies":["x=1"]}`,
		`{"statusCode":"201"}`, `"bare"`, `12`, `null`, `{"message":"x"}`, `{`,
		`{"principalId":"u","policyDocument":{"Statement":{"Effect":"Allow","Action":"*","Resource":"*a?"}},"context":{"n":1}}`,
		`{"isAuthorized":true,"context":{"a":"b"}}`,
		`{"errorMessage":"Unauthorized"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		for name, read := range map[string]func([]byte) (Response, error){"ResponseV1": ResponseV1, "ResponseV2": ResponseV2} {
			resp, err := read(payload)
			if err != nil {
				continue
			}
			if resp.Status < 200 || resp.Status > 599 || resp.Header == nil {
				t.Errorf("%s(%q) = status %d, header %v", name, payload, resp.Status, resp.Header)
			}
			for k, vs := range resp.Header {
				if !validHeaderName(k) {
					t.Errorf("%s(%q): header name %q", name, payload, k)
				}
				for _, v := range vs {
					if !validHeaderValue(v) {
						t.Errorf("%s(%q): header value %q", name, payload, v)
					}
				}
			}
		}
		_, _ = ParseDecision(payload, "arn:aws:execute-api:r:1:api/s/GET/x")
		_ = IsUnauthorized(payload)
	})
}
