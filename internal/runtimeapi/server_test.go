package runtimeapi_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/runtimeapi"
)

func TestRuntimeAPINextHeaders(t *testing.T) {
	deadline := time.UnixMilli(1_900_000_000_123)
	tests := []struct {
		name   string
		inv    runtimeapi.Invocation
		want   map[string]string // header → value
		absent []string
	}{
		{
			name: "every field",
			inv: runtimeapi.Invocation{
				RequestID:       "8476a536-e9f4-11e8-9739-2dfe598c3fcd",
				FunctionARN:     "arn:aws:lambda:us-east-1:123456789012:function:echo:prod",
				TenantID:        "blue tenant:1",
				ClientContext:   `{"custom":{"k":"v"}}`,
				CognitoIdentity: `{"cognitoIdentityId":"id","cognitoIdentityPoolId":"pool"}`,
				TraceID:         "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1",
				Payload:         []byte(`{"hello":"world"}`),
				Deadline:        deadline,
			},
			want: map[string]string{
				"Lambda-Runtime-Aws-Request-Id":       "8476a536-e9f4-11e8-9739-2dfe598c3fcd",
				"Lambda-Runtime-Deadline-Ms":          "1900000000123",
				"Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:123456789012:function:echo:prod",
				"Lambda-Runtime-Aws-Tenant-Id":        "blue tenant:1",
				"Lambda-Runtime-Client-Context":       `{"custom":{"k":"v"}}`,
				"Lambda-Runtime-Cognito-Identity":     `{"cognitoIdentityId":"id","cognitoIdentityPoolId":"pool"}`,
				"Lambda-Runtime-Trace-Id":             "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1",
				"Content-Type":                        "application/json",
			},
		},
		{
			name: "optional fields empty",
			inv: runtimeapi.Invocation{
				RequestID:   "r1",
				FunctionARN: "arn:aws:lambda:us-east-1:123456789012:function:echo",
				Payload:     []byte(`{}`),
				Deadline:    deadline,
			},
			want: map[string]string{
				"Lambda-Runtime-Aws-Request-Id":       "r1",
				"Lambda-Runtime-Deadline-Ms":          "1900000000123",
				"Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:123456789012:function:echo",
				"Content-Type":                        "application/json",
			},
			absent: []string{"Lambda-Runtime-Aws-Tenant-Id", "Lambda-Runtime-Client-Context", "Lambda-Runtime-Cognito-Identity", "Lambda-Runtime-Trace-Id"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, runtimeapi.Config{})
			next := ts.next(t.Context())
			result := invoke(t.Context(), ts.Server, tt.inv)
			r := receive(t, next, "GET /next reply")
			if r.err != nil || r.status != http.StatusOK {
				t.Fatalf("GET /next: %d %s %v", r.status, r.body, r.err)
			}
			for name, want := range tt.want {
				if got := r.header.Get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			for _, name := range tt.absent {
				if v, ok := r.header[name]; ok {
					t.Errorf("%s present (%q), want absent", name, v)
				}
			}
			if !bytes.Equal(r.body, tt.inv.Payload) {
				t.Errorf("body = %q, want %q", r.body, tt.inv.Payload)
			}

			ts.post("/invocation/"+tt.inv.RequestID+"/response", "application/json", `"done"`)
			got := receive(t, result, "Invoke's return")
			if got.err != nil || string(got.result.Payload) != `"done"` {
				t.Errorf("Invoke = %+v, %v", got.result, got.err)
			}
		})
	}
}

// TestRuntimeAPINextWaits checks the long poll: WaitInit waits for the first
// GET /next, which waits for Invoke.
func TestRuntimeAPINextWaits(t *testing.T) {
	ts := newTestServer(t, runtimeapi.Config{})

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := ts.WaitInit(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitInit before any GET /next = %v, want the ctx's error", err)
	}

	next := ts.next(t.Context())
	ctx, cancel = context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := ts.WaitInit(ctx); err != nil {
		t.Fatalf("WaitInit after GET /next = %v", err)
	}
	quiet(t, next, 200*time.Millisecond, "GET /next reply without an invocation")

	result := invoke(t.Context(), ts.Server, sample("r1"))
	if r := receive(t, next, "GET /next reply"); r.status != http.StatusOK {
		t.Fatalf("GET /next: %d %s %v", r.status, r.body, r.err)
	}
	// The next GET /next waits again: the runtime has no invocation to take.
	ts.post("/invocation/r1/response", "application/json", `{}`)
	receive(t, result, "Invoke's return")
	next = ts.next(t.Context())
	quiet(t, next, 200*time.Millisecond, "second GET /next reply without an invocation")

	// An invocation made before the runtime asks waits for it (Queued).
	result = invoke(t.Context(), ts.Server, sample("r2"))
	if r := receive(t, next, "GET /next reply"); r.header.Get("Lambda-Runtime-Aws-Request-Id") != "r2" {
		t.Fatalf("GET /next: %d %v %s", r.status, r.header, r.body)
	}
	ts.post("/invocation/r2/response", "application/json", `{}`)
	receive(t, result, "Invoke's return")
}

// trailerBody is a chunked body that sets its trailers when it ends, as
// aws-lambda-go's errorCapturingReader does.
type trailerBody struct {
	r       io.Reader
	trailer http.Header
	values  map[string]string
}

func (b *trailerBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		for k, v := range b.values {
			b.trailer.Set(k, v)
		}
	}
	return n, err
}

func TestRuntimeAPIResponse(t *testing.T) {
	errorDoc := `{"errorMessage":"disk on fire","errorType":"errorString"}`
	tests := []struct {
		name     string
		max      int64
		body     []byte
		chunked  bool              // send without a Content-Length
		trailers map[string]string // declared and sent (implies chunked)

		wantStatus int
		wantReply  string // errorType of the reply, "" for 202
		want       runtimeapi.Result
	}{
		{
			name: "json", body: []byte(`{"ok":true}`),
			wantStatus: 202,
			want:       runtimeapi.Result{Payload: []byte(`{"ok":true}`), ContentType: "application/json"},
		},
		{
			name: "chunked", body: []byte(`{"ok":true}`), chunked: true,
			wantStatus: 202,
			want:       runtimeapi.Result{Payload: []byte(`{"ok":true}`), ContentType: "application/json"},
		},
		{
			name: "empty", body: nil,
			wantStatus: 202,
			want:       runtimeapi.Result{Payload: []byte{}, ContentType: "application/json"},
		},
		{
			name: "at the limit", max: 100_000, body: bytes.Repeat([]byte("x"), 100_000), chunked: true,
			wantStatus: 202,
			want:       runtimeapi.Result{Payload: bytes.Repeat([]byte("x"), 100_000), ContentType: "application/json"},
		},
		{
			name: "over the limit, declared", max: 1024, body: bytes.Repeat([]byte("x"), 1025),
			wantStatus: 413, wantReply: "RequestEntityTooLarge",
			want: runtimeapi.Result{
				Payload:       []byte(`{"errorMessage":"Response payload size exceeded maximum allowed payload size (1024 bytes).","errorType":"Function.ResponseSizeTooLarge"}`),
				FunctionError: true, ErrorType: "Function.ResponseSizeTooLarge", ContentType: "application/json",
			},
		},
		{
			name: "over the default limit, chunked", body: bytes.Repeat([]byte("x"), 6291456+1), chunked: true,
			wantStatus: 413, wantReply: "RequestEntityTooLarge",
			want: runtimeapi.Result{
				Payload:       []byte(`{"errorMessage":"Response payload size exceeded maximum allowed payload size (6291456 bytes).","errorType":"Function.ResponseSizeTooLarge"}`),
				FunctionError: true, ErrorType: "Function.ResponseSizeTooLarge", ContentType: "application/json",
			},
		},
		{
			name: "error trailers", body: []byte(`{"partial":`),
			trailers: map[string]string{
				"Lambda-Runtime-Function-Error-Type": "errorString",
				"Lambda-Runtime-Function-Error-Body": base64.StdEncoding.EncodeToString([]byte(errorDoc)),
			},
			wantStatus: 202,
			want:       runtimeapi.Result{Payload: []byte(errorDoc), FunctionError: true, ErrorType: "errorString", ContentType: "application/json"},
		},
		{
			name: "error trailer without a body", body: []byte(`{"partial":`),
			trailers:   map[string]string{"Lambda-Runtime-Function-Error-Type": "Runtime.StreamError"},
			wantStatus: 202,
			want: runtimeapi.Result{
				Payload:       []byte(`{"errorMessage":"The function's response failed while it was being sent.","errorType":"Runtime.StreamError"}`),
				FunctionError: true, ErrorType: "Runtime.StreamError", ContentType: "application/json",
			},
		},
		{
			name: "trailers declared, not sent", body: []byte(`{"ok":true}`),
			trailers:   map[string]string{},
			wantStatus: 202,
			want:       runtimeapi.Result{Payload: []byte(`{"ok":true}`), ContentType: "application/json"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, runtimeapi.Config{MaxResponseBytes: tt.max})
			result := ts.running(t, sample("r1"))

			var body io.Reader = bytes.NewReader(tt.body)
			if tt.chunked || tt.trailers != nil {
				body = io.MultiReader(body) // hides the length
			}
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, ts.base+"/invocation/r1/response", body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			if tt.trailers != nil {
				req.Trailer = http.Header{"Lambda-Runtime-Function-Error-Type": nil, "Lambda-Runtime-Function-Error-Body": nil}
				req.Body = io.NopCloser(&trailerBody{r: body, trailer: req.Trailer, values: tt.trailers})
			}
			resp, err := ts.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			r := reply{status: resp.StatusCode, body: got}

			if r.status != tt.wantStatus || r.errorType() != tt.wantReply {
				t.Errorf("reply %d %s, want %d with errorType %q", r.status, r.body, tt.wantStatus, tt.wantReply)
			}
			if tt.wantStatus == 202 && string(r.body) != `{"status":"OK"}` {
				t.Errorf("202 body = %s, want {\"status\":\"OK\"}", r.body)
			}
			res := receive(t, result, "Invoke's return")
			if res.err != nil {
				t.Fatalf("Invoke: %v", res.err)
			}
			checkResult(t, res.result, tt.want)
			limit := cmp.Or(tt.max, runtimeapi.DefaultMaxResponseBytes)
			if c := int64(cap(res.result.Payload)); c > limit+1 {
				t.Errorf("the response was buffered in %d bytes, over the limit %d + 1", c, limit)
			}
		})
	}
}

func checkResult(t *testing.T, got, want runtimeapi.Result) {
	t.Helper()
	if !bytes.Equal(got.Payload, want.Payload) {
		p := got.Payload
		if len(p) > 300 {
			p = append(p[:300:300], "..."...)
		}
		t.Errorf("Payload = %s (%d bytes), want %.300s", p, len(got.Payload), want.Payload)
	}
	if got.FunctionError != want.FunctionError || got.ErrorType != want.ErrorType || got.ContentType != want.ContentType {
		t.Errorf("Result = {FunctionError:%v ErrorType:%q ContentType:%q}, want {%v %q %q}",
			got.FunctionError, got.ErrorType, got.ContentType, want.FunctionError, want.ErrorType, want.ContentType)
	}
}

func TestRuntimeAPIErrorDocument(t *testing.T) {
	bigDoc := `{"errorMessage":"` + strings.Repeat("x", 1<<20) + `","errorType":"big"}`
	tests := []struct {
		name        string
		header      http.Header
		body        string
		wantStatus  int
		wantReply   string
		want        runtimeapi.Result
		wantMessage string // when the document is made up
	}{
		{
			name:       "aws-lambda-go: type in the document only",
			header:     http.Header{"Content-Type": {"application/json"}},
			body:       `{"errorMessage":"boom","errorType":"errorString"}`,
			wantStatus: 202,
			want: runtimeapi.Result{Payload: []byte(`{"errorMessage":"boom","errorType":"errorString"}`),
				FunctionError: true, ErrorType: "errorString", ContentType: "application/json"},
		},
		{
			name:       "the header wins",
			header:     http.Header{"Content-Type": {"application/json"}, "Lambda-Runtime-Function-Error-Type": {"Runtime.NoSuchHandler"}},
			body:       `{"errorMessage":"no handler","errorType":"ImportError","stackTrace":["a","b"]}`,
			wantStatus: 202,
			want: runtimeapi.Result{Payload: []byte(`{"errorMessage":"no handler","errorType":"ImportError","stackTrace":["a","b"]}`),
				FunctionError: true, ErrorType: "Runtime.NoSuchHandler", ContentType: "application/json"},
		},
		{
			name:       "no type anywhere",
			header:     http.Header{"Content-Type": {"text/plain"}},
			body:       `it broke`,
			wantStatus: 202,
			want:       runtimeapi.Result{Payload: []byte(`it broke`), FunctionError: true, ErrorType: "Runtime.Unknown", ContentType: "text/plain"},
		},
		{
			name:       "no content type",
			body:       `{"errorMessage":"boom","errorType":"errorString"}`,
			wantStatus: 202,
			want: runtimeapi.Result{Payload: []byte(`{"errorMessage":"boom","errorType":"errorString"}`),
				FunctionError: true, ErrorType: "errorString", ContentType: "application/json"},
		},
		{
			name:       "over 1 MiB",
			header:     http.Header{"Content-Type": {"application/json"}, "Lambda-Runtime-Function-Error-Type": {"Function.Big"}},
			body:       bigDoc,
			wantStatus: 413, wantReply: "RequestEntityTooLarge",
			want: runtimeapi.Result{Payload: []byte(`{"errorMessage":"The runtime's error document exceeded the maximum allowed size (1048576 bytes).","errorType":"Function.Big"}`),
				FunctionError: true, ErrorType: "Function.Big", ContentType: "application/json"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, runtimeapi.Config{})
			result := ts.running(t, sample("r1"))
			r := ts.request(t.Context(), http.MethodPost, "/invocation/r1/error", strings.NewReader(tt.body), tt.header)
			if r.status != tt.wantStatus || r.errorType() != tt.wantReply {
				t.Errorf("reply %d %s, want %d with errorType %q", r.status, r.body, tt.wantStatus, tt.wantReply)
			}
			res := receive(t, result, "Invoke's return")
			if res.err != nil {
				t.Fatalf("Invoke: %v", res.err)
			}
			checkResult(t, res.result, tt.want)
		})
	}
}

// TestRuntimeAPIRefusals checks how the server answers a runtime that breaks
// the protocol, and that a refusal changes nothing.
func TestRuntimeAPIRefusals(t *testing.T) {
	tests := []struct {
		name         string
		state        string // "starting", "idle", "queued", "running" (request id r1) or "done" (r1 answered)
		method, path string
		wantStatus   int
		wantType     string
	}{
		{"response before init", "starting", "POST", "/invocation/r1/response", 403, "InvalidStateTransition"},
		{"response with no invocation", "idle", "POST", "/invocation/r1/response", 403, "InvalidStateTransition"},
		{"error with no invocation", "idle", "POST", "/invocation/r1/error", 403, "InvalidStateTransition"},
		{"response before GET /next", "queued", "POST", "/invocation/r1/response", 403, "InvalidStateTransition"},
		{"response for another id", "running", "POST", "/invocation/r2/response", 400, "InvalidRequestID"},
		{"error for another id", "running", "POST", "/invocation/r2/error", 400, "InvalidRequestID"},
		{"second response", "done", "POST", "/invocation/r1/response", 403, "InvalidStateTransition"},
		{"error after the response", "done", "POST", "/invocation/r1/error", 403, "InvalidStateTransition"},
		{"GET /next with an invocation outstanding", "running", "GET", "/invocation/next", 403, "InvalidStateTransition"},
		{"init error after init", "idle", "POST", "/init/error", 403, "InvalidStateTransition"},
		{"init error with an invocation", "running", "POST", "/init/error", 403, "InvalidStateTransition"},
		{"unknown path", "idle", "GET", "/invocation/r1", 404, "UnknownPath"},
		{"restore API", "starting", "GET", "/restore/next", 404, "UnknownPath"},
		{"wrong method", "idle", "POST", "/invocation/next", 404, "UnknownPath"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, runtimeapi.Config{})
			var result <-chan invoked
			switch tt.state {
			case "idle":
				ts.idle(t)
			case "queued":
				result = ts.queued(t, sample("r1"))
			case "running", "done":
				result = ts.running(t, sample("r1"))
				if tt.state == "done" {
					if r := ts.post("/invocation/r1/response", "application/json", `"first"`); r.status != 202 {
						t.Fatalf("first response: %d %s", r.status, r.body)
					}
					receive(t, result, "Invoke's return")
				}
			}

			r := ts.request(t.Context(), tt.method, tt.path, strings.NewReader(`{"errorMessage":"x","errorType":"y"}`), nil)
			if r.status != tt.wantStatus || r.errorType() != tt.wantType {
				t.Fatalf("reply %d %s, want %d with errorType %s", r.status, r.body, tt.wantStatus, tt.wantType)
			}
			var doc map[string]string
			if err := json.Unmarshal(r.body, &doc); err != nil || doc["errorMessage"] == "" || r.header.Get("Content-Type") != "application/json" {
				t.Errorf("reply body %s (%s), want JSON {errorMessage, errorType}", r.body, r.header.Get("Content-Type"))
			}

			// The refusal changed nothing: the outstanding invocation can
			// still be answered, and a started server still initialises.
			switch tt.state {
			case "starting":
				ts.idle(t)
			case "running", "queued":
				if tt.state == "queued" {
					receive(t, ts.next(t.Context()), "GET /next reply")
				}
				if r := ts.post("/invocation/r1/response", "application/json", `"late but fine"`); r.status != 202 {
					t.Fatalf("response after the refusal: %d %s", r.status, r.body)
				}
				res := receive(t, result, "Invoke's return")
				if res.err != nil || string(res.result.Payload) != `"late but fine"` {
					t.Fatalf("Invoke = %+v, %v", res.result, res.err)
				}
			}
		})
	}
}

func TestRuntimeAPIInitError(t *testing.T) {
	tests := []struct {
		name     string
		header   http.Header
		body     string
		wantType string
	}{
		{"type in the header", http.Header{"Lambda-Runtime-Function-Error-Type": {"Runtime.NoSuchHandler"}},
			`{"errorMessage":"no handler","errorType":"NoSuchHandler"}`, "Runtime.NoSuchHandler"},
		{"type in the document", nil, `{"errorMessage":"bad config","errorType":"ConfigError"}`, "ConfigError"},
		{"no type", nil, `oops`, "Runtime.Unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, runtimeapi.Config{})
			waited := make(chan error, 1)
			go func() { waited <- ts.WaitInit(t.Context()) }()

			r := ts.request(t.Context(), http.MethodPost, "/init/error", strings.NewReader(tt.body), tt.header)
			if r.status != http.StatusAccepted || string(r.body) != `{"status":"OK"}` {
				t.Fatalf("POST /init/error: %d %s %v", r.status, r.body, r.err)
			}
			var ie *runtimeapi.InitError
			if err := receive(t, waited, "WaitInit's return"); !errors.As(err, &ie) {
				t.Fatalf("WaitInit = %v, want an *InitError", err)
			}
			if ie.ErrorType != tt.wantType || string(ie.Payload) != tt.body {
				t.Errorf("InitError = {%q, %s}, want {%q, %s}", ie.ErrorType, ie.Payload, tt.wantType, tt.body)
			}
			if _, err := ts.Invoke(t.Context(), sample("r1")); !errors.As(err, &ie) {
				t.Errorf("Invoke after the init error = %v, want the *InitError", err)
			}
			// The environment is finished: the runtime may do nothing more.
			for _, path := range []string{"/invocation/next", "/init/error"} {
				method := http.MethodPost
				if path == "/invocation/next" {
					method = http.MethodGet
				}
				if r := ts.request(t.Context(), method, path, nil, nil); r.status != 403 || r.errorType() != "InvalidStateTransition" {
					t.Errorf("%s %s after the init error: %d %s", method, path, r.status, r.body)
				}
			}
		})
	}
}

// TestRuntimeAPIClose checks that Close releases everything waiting, in
// every state, and refuses what comes later.
func TestRuntimeAPIClose(t *testing.T) {
	t.Run("starting", func(t *testing.T) {
		ts := newTestServer(t, runtimeapi.Config{})
		waited := make(chan error, 1)
		go func() { waited <- ts.WaitInit(context.Background()) }()
		result := invoke(context.Background(), ts.Server, sample("r1"))
		quiet(t, waited, 20*time.Millisecond, "WaitInit's return")
		ts.Close()
		if err := receive(t, waited, "WaitInit's return"); !errors.Is(err, runtimeapi.ErrClosed) || !errors.Is(err, errdefs.ErrUnavailable) {
			t.Errorf("WaitInit = %v, want ErrClosed", err)
		}
		if res := receive(t, result, "Invoke's return"); !errors.Is(res.err, runtimeapi.ErrClosed) {
			t.Errorf("Invoke = %v, want ErrClosed", res.err)
		}
	})
	t.Run("idle: the waiting GET /next", func(t *testing.T) {
		ts := newTestServer(t, runtimeapi.Config{})
		next := ts.idle(t)
		ts.Close()
		if r := receive(t, next, "GET /next reply"); r.status != 500 || r.errorType() != "InternalServerError" {
			t.Errorf("GET /next = %d %s %v, want 500 InternalServerError", r.status, r.body, r.err)
		}
	})
	t.Run("queued", func(t *testing.T) {
		ts := newTestServer(t, runtimeapi.Config{})
		result := ts.queued(t, sample("r1"))
		ts.Close()
		if res := receive(t, result, "Invoke's return"); !errors.Is(res.err, runtimeapi.ErrClosed) {
			t.Errorf("Invoke = %v, want ErrClosed", res.err)
		}
	})
	t.Run("running", func(t *testing.T) {
		ts := newTestServer(t, runtimeapi.Config{})
		result := ts.running(t, sample("r1"))
		ts.Close()
		if res := receive(t, result, "Invoke's return"); !errors.Is(res.err, runtimeapi.ErrClosed) {
			t.Errorf("Invoke = %v, want ErrClosed", res.err)
		}
		if r := ts.post("/invocation/r1/response", "application/json", `{}`); r.status != 500 {
			t.Errorf("response after Close: %d %s", r.status, r.body)
		}
	})
	t.Run("responding", func(t *testing.T) {
		ts := newTestServer(t, runtimeapi.Config{})
		result := ts.running(t, sample("r1"))
		pr, pw := io.Pipe()
		posted := ts.async(t.Context(), http.MethodPost, "/invocation/r1/response", pr, nil)
		if _, err := pw.Write([]byte(`{"half":`)); err != nil { // the server is reading
			t.Fatal(err)
		}
		ts.Close()
		if res := receive(t, result, "Invoke's return"); !errors.Is(res.err, runtimeapi.ErrClosed) {
			t.Errorf("Invoke = %v, want ErrClosed", res.err)
		}
		pw.Write([]byte(`1}`))
		pw.Close()
		if r := receive(t, posted, "response reply"); r.status != 500 {
			t.Errorf("response finished after Close: %d %s %v", r.status, r.body, r.err)
		}
	})
	t.Run("afterwards", func(t *testing.T) {
		ts := newTestServer(t, runtimeapi.Config{})
		ts.idle(t)
		ts.Close()
		ts.Close() // idempotent
		for _, req := range []struct{ method, path string }{
			{"GET", "/invocation/next"}, {"POST", "/invocation/r1/response"}, {"POST", "/invocation/r1/error"}, {"POST", "/init/error"},
		} {
			if r := ts.request(t.Context(), req.method, req.path, nil, nil); r.status != 500 || r.errorType() != "InternalServerError" {
				t.Errorf("%s %s: %d %s", req.method, req.path, r.status, r.body)
			}
		}
		if err := ts.WaitInit(t.Context()); !errors.Is(err, runtimeapi.ErrClosed) {
			t.Errorf("WaitInit = %v", err)
		}
		if _, err := ts.Invoke(t.Context(), sample("r1")); !errors.Is(err, runtimeapi.ErrClosed) {
			t.Errorf("Invoke = %v", err)
		}
	})
}

// TestRuntimeAPIInvokeTimeout checks that Invoke returns when its ctx ends,
// whatever the runtime is doing, and that the environment then refuses the
// runtime and further invocations.
func TestRuntimeAPIInvokeTimeout(t *testing.T) {
	tests := []struct {
		name string
		// reach makes the invocation outstanding, with a ctx that ends soon,
		// and returns a function that completes the runtime's response, if
		// any, returning the reply to it.
		reach func(t *testing.T, ts *testServer, ctx context.Context) (<-chan invoked, func() reply)
	}{
		{"queued", func(t *testing.T, ts *testServer, ctx context.Context) (<-chan invoked, func() reply) {
			warm := ts.running(t, sample("warm-up"))
			ts.post("/invocation/warm-up/response", "application/json", `{}`)
			receive(t, warm, "Invoke's return")
			return invoke(ctx, ts.Server, sample("r1")), nil
		}},
		{"running", func(t *testing.T, ts *testServer, ctx context.Context) (<-chan invoked, func() reply) {
			next := ts.next(t.Context())
			result := invoke(ctx, ts.Server, sample("r1"))
			receive(t, next, "GET /next reply")
			return result, func() reply { return ts.post("/invocation/r1/response", "application/json", `"late"`) }
		}},
		{"responding", func(t *testing.T, ts *testServer, ctx context.Context) (<-chan invoked, func() reply) {
			next := ts.next(t.Context())
			result := invoke(ctx, ts.Server, sample("r1"))
			receive(t, next, "GET /next reply")
			pr, pw := io.Pipe()
			posted := ts.async(t.Context(), http.MethodPost, "/invocation/r1/response", pr, nil)
			if _, err := pw.Write([]byte(`"la`)); err != nil {
				t.Fatal(err)
			}
			return result, func() reply {
				pw.Write([]byte(`te"`))
				pw.Close()
				return receive(t, posted, "response reply")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, runtimeapi.Config{})
			ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
			defer cancel()
			result, finish := tt.reach(t, ts, ctx)
			if res := receive(t, result, "Invoke's return"); !errors.Is(res.err, context.DeadlineExceeded) {
				t.Fatalf("Invoke = %+v, %v; want context.DeadlineExceeded", res.result, res.err)
			}
			if finish != nil {
				if r := finish(); r.status != 403 || r.errorType() != "InvalidStateTransition" {
					t.Errorf("late response: %d %s %v, want 403 InvalidStateTransition", r.status, r.body, r.err)
				}
			}
			if r := receive(t, ts.next(t.Context()), "GET /next reply"); r.status != 403 {
				t.Errorf("GET /next after the timeout: %d %s", r.status, r.body)
			}
			if _, err := ts.Invoke(t.Context(), sample("r2")); !errors.Is(err, errdefs.ErrConflict) {
				t.Errorf("Invoke after the timeout = %v, want ErrConflict", err)
			}
		})
	}
}

// TestRuntimeAPINextHangUp checks that an invocation is not lost to a
// GET /next whose runtime hung up, or that another took the place of.
func TestRuntimeAPINextHangUp(t *testing.T) {
	t.Run("hung up before the invocation", func(t *testing.T) {
		ts := newTestServer(t, runtimeapi.Config{})
		ctx, cancel := context.WithCancel(t.Context())
		gone := ts.next(ctx)
		if err := ts.WaitInit(t.Context()); err != nil {
			t.Fatal(err)
		}
		cancel()
		if r := receive(t, gone, "hung-up GET /next"); r.err == nil {
			t.Fatalf("hung-up GET /next got a reply: %d", r.status)
		}
		// Until the server notices, it cannot tell a runtime that hung up
		// from one that waits; once it has, the invocation is not given to
		// the gone one but waits for the runtime that asks next.
		ts.await(t, func(_ string, waiting bool) bool { return !waiting }, "rid of the hung-up GET /next")
		result := invoke(t.Context(), ts.Server, sample("r1"))
		r := receive(t, ts.next(t.Context()), "GET /next reply")
		if r.header.Get("Lambda-Runtime-Aws-Request-Id") != "r1" {
			t.Fatalf("GET /next: %d %s", r.status, r.body)
		}
		ts.post("/invocation/r1/response", "application/json", `{}`)
		if res := receive(t, result, "Invoke's return"); res.err != nil {
			t.Fatal(res.err)
		}
	})
	t.Run("hung up as the invocation arrives", func(t *testing.T) {
		// The runtime hangs up strictly before Invoke queues the
		// invocation, so the waiting GET /next must never take it, whether
		// it wakes for the hang-up or for the invocation. Served without
		// sockets, so the two race as closely as possible.
		for i := range 100 {
			s := runtimeapi.New(runtimeapi.Config{})
			ctx, hangUp := context.WithCancel(t.Context())
			gone := serveDirect(s, nextRequest(ctx))
			if err := s.WaitInit(t.Context()); err != nil {
				t.Fatal(err)
			}
			result := make(chan invoked, 1)
			go func() {
				hangUp()
				res, err := s.Invoke(t.Context(), sample("r1"))
				result <- invoked{res, err}
			}()
			if w := receive(t, gone, "hung-up GET /next's return"); w.Code == http.StatusOK && w.Body.Len() > 0 {
				t.Fatalf("iteration %d: the hung-up GET /next took the invocation", i)
			}
			w := receive(t, serveDirect(s, nextRequest(t.Context())), "GET /next's return")
			if w.Code != http.StatusOK || w.Header().Get("Lambda-Runtime-Aws-Request-Id") != "r1" {
				t.Fatalf("iteration %d: GET /next after the hang-up: %d %s", i, w.Code, w.Body)
			}
			rw := httptest.NewRecorder()
			s.ServeHTTP(rw, httptest.NewRequest(http.MethodPost, "/2018-06-01/runtime/invocation/r1/response", strings.NewReader(`{}`)))
			if res := receive(t, result, "Invoke's return"); res.err != nil || rw.Code != http.StatusAccepted {
				t.Fatalf("iteration %d: Invoke = %v, response %d", i, res.err, rw.Code)
			}
			s.Close()
		}
	})
	t.Run("replaced by a newer GET /next", func(t *testing.T) {
		ts := newTestServer(t, runtimeapi.Config{})
		first := ts.idle(t)
		second := ts.next(t.Context())
		if r := receive(t, first, "first GET /next reply"); r.status != 403 || r.errorType() != "InvalidStateTransition" {
			t.Fatalf("replaced GET /next: %d %s %v", r.status, r.body, r.err)
		}
		result := invoke(t.Context(), ts.Server, sample("r1"))
		if r := receive(t, second, "second GET /next reply"); r.header.Get("Lambda-Runtime-Aws-Request-Id") != "r1" {
			t.Fatalf("second GET /next: %d %s", r.status, r.body)
		}
		ts.post("/invocation/r1/response", "application/json", `{}`)
		if res := receive(t, result, "Invoke's return"); res.err != nil {
			t.Fatal(res.err)
		}
	})
}

func TestRuntimeAPIInvokeRefuses(t *testing.T) {
	t.Run("invalid invocations", func(t *testing.T) {
		ts := newTestServer(t, runtimeapi.Config{})
		for _, inv := range []runtimeapi.Invocation{
			{Deadline: time.Now().Add(time.Minute)},
			{RequestID: "a/b", Deadline: time.Now().Add(time.Minute)},
			{RequestID: "..", Deadline: time.Now().Add(time.Minute)},
			{RequestID: "a\r\nb", Deadline: time.Now().Add(time.Minute)},
			{RequestID: strings.Repeat("a", 129), Deadline: time.Now().Add(time.Minute)},
			{RequestID: "r1"},
		} {
			if _, err := ts.Invoke(t.Context(), inv); !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Errorf("Invoke(%q, deadline %v) = %v, want ErrInvalidArgument", inv.RequestID, inv.Deadline, err)
			}
		}
	})
	t.Run("one at a time", func(t *testing.T) {
		ts := newTestServer(t, runtimeapi.Config{})
		result := ts.running(t, sample("r1"))
		if _, err := ts.Invoke(t.Context(), sample("r2")); !errors.Is(err, errdefs.ErrConflict) {
			t.Errorf("second Invoke = %v, want ErrConflict", err)
		}
		ts.post("/invocation/r1/response", "application/json", `{}`)
		if res := receive(t, result, "Invoke's return"); res.err != nil {
			t.Fatal(res.err)
		}
	})
}

func nextRequest(ctx context.Context) *http.Request {
	return httptest.NewRequestWithContext(ctx, http.MethodGet, "/2018-06-01/runtime/invocation/next", nil)
}

// serveDirect serves r in a goroutine, without sockets; the channel receives
// the recorded answer.
func serveDirect(s *runtimeapi.Server, r *http.Request) <-chan *httptest.ResponseRecorder {
	c := make(chan *httptest.ResponseRecorder, 1)
	go func() {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		c <- w
	}()
	return c
}
