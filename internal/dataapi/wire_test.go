package dataapi

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/logging"
)

// checkHeaders fails unless resp carries what every response must: a
// request id, a Date, and a CRC32 of the body.
func checkHeaders(t *testing.T, resp *http.Response, body []byte) {
	t.Helper()
	if id := resp.Header.Get("X-Amzn-Requestid"); len(id) != 52 {
		t.Errorf("x-amzn-RequestId = %q", id)
	}
	if d, err := http.ParseTime(resp.Header.Get("Date")); err != nil || time.Since(d) > time.Minute {
		t.Errorf("Date = %q (%v)", resp.Header.Get("Date"), err)
	}
	if got, want := resp.Header.Get("X-Amz-Crc32"), strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10); got != want {
		t.Errorf("X-Amz-Crc32 = %q, want %q", got, want)
	}
}

func TestDataAPIWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createTable("Tbl", false)
	const getItem = targetPrefix + "GetItem"
	tests := []struct {
		name       string
		key        string // "" sends no signature
		target     string
		body       string
		header     []string
		status     int
		typ        string // __type
		message    string
		rawContent string // for a non-JSON body
	}{
		{name: "no target", key: adminKey, body: `{}`, status: 400, typ: "com.amazon.coral.service#UnknownOperationException"},
		{name: "other service", key: adminKey, target: "Lambda_20150331.Invoke", body: `{}`, status: 400, typ: "com.amazon.coral.service#UnknownOperationException"},
		{name: "unknown operation", key: adminKey, target: targetPrefix + "Frobnicate", body: `{}`, status: 400, typ: "com.amazon.coral.service#UnknownOperationException"},
		{name: "unimplemented operation", key: adminKey, target: targetPrefix + "TransactWriteItems", body: `{}`, status: 400,
			typ: "com.amazon.coral.service#UnknownOperationException", message: "Bulkhead's data API does not implement TransactWriteItems yet"},
		{name: "bad JSON", key: adminKey, target: getItem, body: `{"TableName":`, status: 400, typ: "com.amazon.coral.service#SerializationException"},
		{name: "empty body", key: adminKey, target: getItem, body: ``, status: 400, typ: "com.amazon.coral.service#SerializationException"},
		{name: "wrong member type", key: adminKey, target: getItem, body: `{"TableName":1}`, status: 400, typ: "com.amazon.coral.service#SerializationException",
			message: "class java.lang.Integer can not be converted to an String"},
		{name: "list for a struct", key: adminKey, target: getItem, body: `[]`, status: 400, typ: "com.amazon.coral.service#SerializationException",
			message: "Start of list found where not expected"},
		{name: "wrong content type", key: adminKey, target: getItem, body: `{}`, header: []string{"Content-Type", "text/plain"}, status: 404,
			rawContent: "<UnknownOperationException/>\n"},
		{name: "unsigned", target: getItem, body: `{}`, status: 400, typ: "com.amazon.coral.service#MissingAuthenticationTokenException", message: "Missing Authentication Token"},
		{name: "unknown key", key: "AKIDNOBODY", target: getItem, body: `{}`, status: 400, typ: "com.amazon.coral.service#UnrecognizedClientException"},
		{name: "null table name", key: adminKey, target: getItem, body: `{"Key":{"pk":{"S":"a"}}}`, status: 400,
			typ: "com.amazon.coral.validate#ValidationException", message: "1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null"},
		{name: "plain JSON content type", key: adminKey, target: targetPrefix + "ListTables", body: `{}`, header: []string{"Content-Type", "application/json"}, status: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := e.raw(tt.key, tt.target, tt.body, tt.header...)
			checkHeaders(t, resp, body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tt.status, body)
			}
			if tt.rawContent != "" {
				if string(body) != tt.rawContent {
					t.Fatalf("body = %q, want %q", body, tt.rawContent)
				}
				return
			}
			if tt.status == 200 {
				return
			}
			eb := parseError(t, body)
			if eb.Type != tt.typ || (tt.message != "" && eb.Message != tt.message) {
				t.Fatalf("error = %+v, want %s %q", eb, tt.typ, tt.message)
			}
		})
	}

	t.Run("GET", func(t *testing.T) {
		resp, err := e.srv.Client().Get(e.srv.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		checkHeaders(t, resp, body)
		if resp.StatusCode != 404 {
			t.Fatalf("GET status = %d", resp.StatusCode)
		}
	})
	t.Run("too large", func(t *testing.T) {
		resp, body := e.raw("", targetPrefix+"BatchWriteItem", `{"x":"`+strings.Repeat("a", MaxRequest)+`"}`)
		checkHeaders(t, resp, body)
		eb := parseError(t, body)
		if resp.StatusCode != http.StatusRequestEntityTooLarge || eb.Type != "com.amazon.coral.service#RequestEntityTooLargeException" {
			t.Fatalf("status %d, error %+v", resp.StatusCode, eb)
		}
	})
	t.Run("largest accepted", func(t *testing.T) {
		// A body of exactly MaxRequest is read and gets as far as the
		// operation's own validation.
		pad := MaxRequest - len(`{"TableName":"Tbl","x":""}`)
		resp, body := e.raw(adminKey, targetPrefix+"GetItem", `{"TableName":"Tbl","x":"`+strings.Repeat("a", pad)+`"}`)
		if eb := parseError(t, body); resp.StatusCode != 400 || eb.Message != "1 validation error detected: Value null at 'key' failed to satisfy constraint: Member must not be null" {
			t.Fatalf("status %d, error %+v", resp.StatusCode, eb)
		}
	})
}

// failingAuth is an authenticator error that is not an AuthError.
var errAuthBackend = errors.New("token store unreachable")

func TestDataAPIAuthenticateFailure(t *testing.T) {
	t.Parallel()
	var logged strings.Builder
	log := slog.New(slog.NewTextHandler(&syncWriter{w: &logged}, nil))
	h := New(Config{Store: newEnv(t).store, Log: log, Authenticate: func(*http.Request, []byte) (Principal, error) {
		return Principal{}, errAuthBackend
	}})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", targetPrefix+"ListTables")
	h.ServeHTTP(rec, req)
	eb := parseError(t, rec.Body.Bytes())
	if rec.Code != 500 || eb.Type != "com.amazonaws.dynamodb.v20120810#InternalServerError" || eb.Message != "Internal server error" {
		t.Fatalf("status %d, error %+v", rec.Code, eb)
	}
	if strings.Contains(rec.Body.String(), "token store") {
		t.Fatalf("the client saw the internal error: %s", rec.Body)
	}
	id := rec.Header().Get("X-Amzn-Requestid")
	if !strings.Contains(logged.String(), "token store unreachable") || !strings.Contains(logged.String(), id) {
		t.Fatalf("log %q lacks the error or the request id %s", logged.String(), id)
	}
}

type syncWriter struct {
	w interface{ Write([]byte) (int, error) }
}

func (s *syncWriter) Write(b []byte) (int, error) { return s.w.Write(b) }

func TestDataAPIThrottling(t *testing.T) {
	t.Parallel()
	var asked atomic.Int32
	var lastTenant atomic.Value
	e := newEnv(t, func(c *Config) {
		c.Allow = func(tenant string) bool {
			asked.Add(1)
			lastTenant.Store(tenant)
			return false
		}
	})
	tenant := e.addTenant("acme", "Tbl")
	// The SDK's standard retryer retries ThrottlingException.
	c := e.client(tenant, func(o *dynamodb.Options) { o.RetryMaxAttempts = 2 })
	asked.Store(0)
	_, err := c.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String("Tbl"), Key: key("acme#1", "")})
	wantAPIError(t, err, "ThrottlingException", "Rate of requests exceeds the allowed throughput.")
	if asked.Load() != 2 || lastTenant.Load() != "acme" {
		t.Fatalf("Allow asked %d times, last for %q; want 2, acme", asked.Load(), lastTenant.Load())
	}
	_, err = e.admin.ListTables(context.Background(), &dynamodb.ListTablesInput{})
	wantAPIError(t, err, "ThrottlingException", "")
	if lastTenant.Load() != "" {
		t.Fatalf("Allow asked for %q for the admin key, want \"\"", lastTenant.Load())
	}
}

func TestDataAPIDateFromClock(t *testing.T) {
	t.Parallel()
	// The Date header is the handler's clock, which the SDK measures its
	// clock skew against: a server ten minutes ahead says so.
	skew := 10 * time.Minute
	e := newEnv(t, func(c *Config) { c.Now = func() time.Time { return time.Now().Add(skew) } })
	resp, body := e.raw(adminKey, targetPrefix+"ListTables", `{}`)
	d, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil || time.Until(d) < skew-time.Minute {
		t.Fatalf("Date = %q (%v), want the server's clock, %v ahead; body %s", resp.Header.Get("Date"), err, skew, body)
	}
}

func TestDataAPIChecksumVerifiedBySDK(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createTable("Tbl", false)
	if _, err := e.admin.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String("Tbl"), Item: item("a#1", "x", "v", "1")}); err != nil {
		t.Fatal(err)
	}
	// The SDK checks X-Amz-Crc32 as it closes the body; in this version a
	// mismatch is a logged warning, not an error. A proxy that damages the
	// header shows the check runs; the real header must never trip it.
	damaged := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.srv.Config.Handler.ServeHTTP(&crcDamager{ResponseWriter: w}, r)
	}))
	t.Cleanup(damaged.Close)
	var mu sync.Mutex
	var warnings []string
	logger := func(o *dynamodb.Options) {
		o.Logger = logging.LoggerFunc(func(_ logging.Classification, format string, v ...any) {
			mu.Lock()
			defer mu.Unlock()
			warnings = append(warnings, fmt.Sprintf(format, v...))
		})
	}
	ops := func(c *dynamodb.Client) {
		_, _ = c.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String("Tbl"), Key: key("a#1", "x")})
		_, _ = c.Query(t.Context(), &dynamodb.QueryInput{TableName: aws.String("Tbl"), KeyConditionExpression: aws.String("pk = :p"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": S("a#1")}})
		_, _ = c.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String("Tbl"), Item: item("a#1", "y"), ReturnValues: types.ReturnValueAllOld})
	}
	ops(e.client(adminKey, logger))
	mu.Lock()
	if len(warnings) != 0 {
		t.Fatalf("the SDK warned about real responses: %v", warnings)
	}
	mu.Unlock()
	ops(e.client(adminKey, logger, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(damaged.URL) }))
	mu.Lock()
	defer mu.Unlock()
	if len(warnings) != 3 || !strings.Contains(warnings[0], "did not match expected checksum") {
		t.Fatalf("warnings with a damaged CRC: %v", warnings)
	}
}

type crcDamager struct{ http.ResponseWriter }

func (d *crcDamager) WriteHeader(status int) {
	d.Header().Set("X-Amz-Crc32", "12345")
	d.ResponseWriter.WriteHeader(status)
}
