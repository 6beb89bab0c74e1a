package dataapi

import (
	"bytes"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/bulkhead-dev/bulkhead/internal/data/store/embedded"
	"github.com/bulkhead-dev/bulkhead/internal/iam/policy"
)

// The benchmarks run as a tenant with the canonical pool policy, so each
// request is authenticated, evaluated against the policy and run in the
// tenant's scope on the embedded (SQLite) store. The SDK ones go through
// the real client and loopback HTTP, SigV4 signing and verification
// included; the Raw ones call the handler directly with a prepared request
// whose authenticator only reads the access key, so the difference is the
// client's and the transport's cost.

const benchItem = `{"pk":{"S":"acme#1"},"sk":{"S":"a"},"name":{"S":"widget"},"count":{"N":"42"},"tags":{"SS":["x","y"]}}`

func BenchmarkGetItemSDK(b *testing.B) {
	e := newEnv(b)
	e.createTable("Orders", false)
	c := e.client(e.addTenant("acme", "Orders"))
	if _, err := c.PutItem(b.Context(), &dynamodb.PutItemInput{TableName: aws.String("Orders"), Item: item("acme#1", "a", "name", "widget", "count", 42)}); err != nil {
		b.Fatal(err)
	}
	in := &dynamodb.GetItemInput{TableName: aws.String("Orders"), Key: key("acme#1", "a")}
	b.ReportAllocs()
	for b.Loop() {
		out, err := c.GetItem(b.Context(), in)
		if err != nil || out.Item == nil {
			b.Fatal(out, err)
		}
	}
}

func BenchmarkPutItemSDK(b *testing.B) {
	e := newEnv(b)
	e.createTable("Orders", false)
	c := e.client(e.addTenant("acme", "Orders"))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		_, err := c.PutItem(b.Context(), &dynamodb.PutItemInput{TableName: aws.String("Orders"), Item: item("acme#1", strconv.Itoa(i%100), "name", "widget", "count", i)})
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetItemRaw(b *testing.B) {
	h := rawHandler(b)
	rawRequest(b, h, "PutItem", `{"TableName":"Orders","Item":`+benchItem+`}`)
	run := rawRunner(b, h, "GetItem", `{"TableName":"Orders","Key":{"pk":{"S":"acme#1"},"sk":{"S":"a"}}}`)
	b.ReportAllocs()
	for b.Loop() {
		run()
	}
}

func BenchmarkPutItemRaw(b *testing.B) {
	h := rawHandler(b)
	run := rawRunner(b, h, "PutItem", `{"TableName":"Orders","Item":`+benchItem+`}`)
	b.ReportAllocs()
	for b.Loop() {
		run()
	}
}

// rawHandler is the handler over an embedded store with table Orders and
// an authenticator that maps the access key of a signed-looking
// Authorization header to a principal, without verifying the signature.
func rawHandler(b *testing.B) http.Handler {
	s, err := embedded.Open(filepath.Join(b.TempDir(), "data.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	principals := map[string]Principal{
		adminKey: {Admin: true, ARN: "arn:aws:iam::123456789012:root"},
		"AKID-acme": {ARN: "arn:aws:sts::123456789012:assumed-role/r/acme", Tenant: "acme",
			Identity: []*policy.Policy{mustPolicy(b, canonicalPoolPolicy("Orders"))}, Context: tenantContext("acme")},
	}
	h := New(Config{Store: s, Region: testRegion, Account: testAccount, Authenticate: func(r *http.Request, _ []byte) (Principal, error) {
		auth := r.Header.Get("Authorization")
		_, rest, _ := strings.Cut(auth, "Credential=")
		id, _, _ := strings.Cut(rest, "/")
		return principals[id], nil
	}})
	rawRequest(b, h, "CreateTable", `{"TableName":"Orders","BillingMode":"PAY_PER_REQUEST","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"S"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}]}`)
	return h
}

// rawRequest sends one request as the admin and requires 200.
func rawRequest(b *testing.B, h http.Handler, op, body string) {
	req, _ := http.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", targetPrefix+op)
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+adminKey+"/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00")
	w := &discardWriter{header: http.Header{}}
	h.ServeHTTP(w, req)
	if w.status != 200 {
		b.Fatalf("%s: status %d", op, w.status)
	}
}

// rawRunner returns a function that sends the same request as tenant acme,
// with the headers the SDK sends, and requires 200.
func rawRunner(b *testing.B, h http.Handler, op, body string) func() {
	req, _ := http.NewRequest(http.MethodPost, "/", nil)
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", targetPrefix+op)
	req.Header.Set("X-Amz-Date", "20260101T000000Z")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID-acme/20260101/us-east-1/dynamodb/aws4_request, "+
		"SignedHeaders=accept-encoding;amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;x-amz-date;x-amz-target, "+
		"Signature=0000000000000000000000000000000000000000000000000000000000000000")
	req.ContentLength = int64(len(body))
	payload := []byte(body)
	r := bytes.NewReader(payload)
	rc := io.NopCloser(r)
	w := &discardWriter{header: http.Header{}}
	return func() {
		r.Reset(payload)
		req.Body = rc
		clear(w.header)
		w.status = 0
		h.ServeHTTP(w, req)
		if w.status != 200 {
			b.Fatalf("%s: status %d", op, w.status)
		}
	}
}

// discardWriter is a ResponseWriter that keeps only the status.
type discardWriter struct {
	header http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) WriteHeader(status int)      { w.status = status }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
