package apigw

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"
)

type responseCase struct {
	name    string
	payload string
	want    Response
}

func checkResponses(t *testing.T, parse func([]byte) (Response, error), cases []responseCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parse([]byte(tc.payload))
			if err != nil {
				t.Fatalf("%s: %v", tc.payload, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.payload, diff)
			}
		})
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func TestGatewayResponseV1(t *testing.T) {
	checkResponses(t, ResponseV1, []responseCase{
		{"plain", `{"statusCode":200,"body":"hi"}`,
			Response{200, http.Header{"Content-Type": {"application/json"}}, []byte("hi")}},
		{"merged headers", `{"statusCode":201,"headers":{"X-A":"1","x-b":"3","Set-Cookie":"a=1"},
			"multiValueHeaders":{"x-a":["1","2"],"Set-Cookie":["b=2"]},"body":""}`,
			Response{201, http.Header{
				"Content-Type": {"application/json"},
				"X-A":          {"1", "2"}, // the pair in both is sent once
				"X-B":          {"3"},
				"Set-Cookie":   {"b=2", "a=1"},
			}, []byte{}}},
		{"base64", `{"statusCode":200,"headers":{"Content-Type":"image/png"},"body":"/wABYQ==","isBase64Encoded":true}`,
			Response{200, http.Header{"Content-Type": {"image/png"}}, []byte{0xff, 0, 1, 'a'}}},
		{"hop-by-hop", `{"statusCode":200,"headers":{"Connection":"close, X-Private","X-Private":"s","Keep-Alive":"5",
			"Transfer-Encoding":"chunked","Content-Length":"99","Upgrade":"h2c","X-Kept":"k"}}`,
			Response{200, http.Header{"Content-Type": {"application/json"}, "X-Kept": {"k"}}, []byte{}}},
		{"scalar header values and nulls", `{"statusCode":200,"headers":{"X-N":5,"X-B":true,"X-Null":null},
			"multiValueHeaders":{"X-M":[1.5,null,"s"],"X-None":null},"body":null,"isBase64Encoded":null}`,
			Response{200, http.Header{"Content-Type": {"application/json"}, "X-N": {"5"}, "X-B": {"true"}, "X-M": {"1.5", "s"}}, []byte{}}},
		{"string status", `{"statusCode":"404","body":"gone"}`,
			Response{404, http.Header{"Content-Type": {"application/json"}}, []byte("gone")}},
		{"integral float status", `{"statusCode":302.0,"headers":{"Location":"/x"}}`,
			Response{302, http.Header{"Content-Type": {"application/json"}, "Location": {"/x"}}, []byte{}}},
		{"no body for 204", `{"statusCode":204,"body":"ignored"}`,
			Response{204, http.Header{"Content-Type": {"application/json"}}, nil}},
		{"unknown members ignored", `{"statusCode":200,"cookies":["c=1"],"extra":{"a":1}}`,
			Response{200, http.Header{"Content-Type": {"application/json"}}, []byte{}}},
		{"aws-lambda-go response", jsonOf(t, events.APIGatewayProxyResponse{
			StatusCode:        418,
			Headers:           map[string]string{"Content-Type": "text/plain"},
			MultiValueHeaders: map[string][]string{"X-Tea": {"green", "black"}},
			Body:              "teapot",
		}), Response{418, http.Header{"Content-Type": {"text/plain"}, "X-Tea": {"green", "black"}}, []byte("teapot")}},
		{"aws-lambda-go zero maps", jsonOf(t, events.APIGatewayProxyResponse{StatusCode: 500}),
			Response{500, http.Header{"Content-Type": {"application/json"}}, []byte{}}},
	})
}

func TestGatewayResponseV1Malformed(t *testing.T) {
	for _, payload := range []string{
		``, `not json`, `null`, `[]`, `"ok"`, `200`, `{}`, `{"body":"no status"}`,
		`{"statusCode":null}`, `{"statusCode":"abc"}`, `{"statusCode":"0xC8"}`, `{"statusCode":true}`,
		`{"statusCode":99}`, `{"statusCode":199}`, `{"statusCode":600}`, `{"statusCode":200.5}`, `{"statusCode":1e400}`,
		`{"statusCode":200,"body":{"a":1}}`, `{"statusCode":200,"body":5}`,
		`{"statusCode":200,"body":"!!","isBase64Encoded":true}`, `{"statusCode":200,"isBase64Encoded":"true"}`,
		`{"statusCode":200,"headers":[]}`, `{"statusCode":200,"headers":{"X":{"a":1}}}`, `{"statusCode":200,"headers":{"X":["a"]}}`,
		`{"statusCode":200,"headers":{"Bad Name":"x"}}`, `{"statusCode":200,"headers":{"":"x"}}`,
		`{"statusCode":200,"headers":{"X":"a\nb"}}`, `{"statusCode":200,"headers":{"X":"a\r\nSet-Cookie: evil"}}`,
		`{"statusCode":200,"multiValueHeaders":{"X":"one"}}`, `{"statusCode":200,"multiValueHeaders":{"X":[{}]}}`,
		`{"statusCode":200} trailing`,
	} {
		if got, err := ResponseV1([]byte(payload)); !errors.Is(err, ErrMalformedResponse) {
			t.Errorf("ResponseV1(%s) = %+v, %v; want ErrMalformedResponse", payload, got, err)
		}
	}
}

func TestGatewayResponseV2(t *testing.T) {
	inferred := func(body string) Response {
		return Response{200, http.Header{"Content-Type": {"application/json"}}, []byte(body)}
	}
	checkResponses(t, ResponseV2, []responseCase{
		{"cookies", `{"statusCode":200,"cookies":["a=1; Path=/","b=2"],"headers":{"content-type":"text/plain","set-cookie":"c=3"},"body":"ok"}`,
			Response{200, http.Header{"Content-Type": {"text/plain"}, "Set-Cookie": {"c=3", "a=1; Path=/", "b=2"}}, []byte("ok")}},
		{"base64", `{"statusCode":201,"body":"aGk=","isBase64Encoded":true}`,
			Response{201, http.Header{"Content-Type": {"application/json"}}, []byte("hi")}},
		{"multiValueHeaders", `{"statusCode":200,"multiValueHeaders":{"X-A":["1","2"]}}`,
			Response{200, http.Header{"Content-Type": {"application/json"}, "X-A": {"1", "2"}}, []byte{}}},
		{"aws-lambda-go response", jsonOf(t, events.APIGatewayV2HTTPResponse{
			StatusCode: 302, Headers: map[string]string{"Location": "/next"}, Cookies: []string{"s=1"},
		}), Response{302, http.Header{"Content-Type": {"application/json"}, "Location": {"/next"}, "Set-Cookie": {"s=1"}}, []byte{}}},
		{"bare string", `"hello"`, inferred(`"hello"`)},
		{"bare number", `42`, inferred(`42`)},
		{"bare array", `[1,2]`, inferred(`[1,2]`)},
		{"null", `null`, inferred(`null`)},
		{"object without statusCode", `{"message":"hi","status":200}`, inferred(`{"message":"hi","status":200}`)},
		{"whitespace kept", " {\"a\":1}\n", inferred(" {\"a\":1}\n")},
	})
}

func TestGatewayResponseV2Malformed(t *testing.T) {
	for _, payload := range []string{
		``, `not json`, `{"a":`, `{"statusCode":"x"}`, `{"statusCode":null}`, `{"statusCode":700}`,
		`{"statusCode":200,"cookies":"a=1"}`, `{"statusCode":200,"cookies":[1]}`, `{"statusCode":200,"cookies":["a\n"]}`,
		`{"statusCode":200,"body":[]}`,
	} {
		if got, err := ResponseV2([]byte(payload)); !errors.Is(err, ErrMalformedResponse) {
			t.Errorf("ResponseV2(%s) = %+v, %v; want ErrMalformedResponse", payload, got, err)
		}
	}
}

func TestGatewayResponseSend(t *testing.T) {
	resp, err := ResponseV1([]byte(`{"statusCode":201,"headers":{"X-A":"1","Content-Length":"999"},"body":"hello"}`))
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	resp.Send(rec)
	if rec.Code != 201 || rec.Body.String() != "hello" || rec.Header().Get("Content-Length") != "5" || rec.Header().Get("X-A") != "1" {
		t.Errorf("Send wrote %d %v %q; want 201, X-A, Content-Length 5, hello", rec.Code, rec.Header(), rec.Body)
	}
}
