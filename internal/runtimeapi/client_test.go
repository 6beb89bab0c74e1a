package runtimeapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/bulkhead-dev/bulkhead/internal/runtimeapi"
)

// buildHandler compiles testdata/handler, a function made with the
// unmodified aws-lambda-go that go.mod requires. testdata is left out of
// ./... but builds by path within the module.
func buildHandler(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "handler")
	out, err := exec.Command("go", "build", "-o", bin, "./testdata/handler").CombinedOutput()
	if err != nil {
		t.Fatalf("go build ./testdata/handler: %v\n%s", err, out)
	}
	return bin
}

// environment is one execution environment as the tests run it: a Server on
// loopback and the handler process polling it, roughly as the sandbox runs
// a function.
type environment struct {
	*testServer
	cmd      *exec.Cmd
	exited   chan struct{} // closed when the process has exited
	output   *syncBuffer   // the process's stdout and stderr
	requests *recorder     // what the runtime sent
}

func startEnvironment(t testing.TB, bin string) *environment {
	t.Helper()
	rec := &recorder{}
	ts := newWrappedServer(t, runtimeapi.Config{}, rec.wrap)
	u, err := url.Parse(ts.base)
	if err != nil {
		t.Fatal(err)
	}
	env := &environment{testServer: ts, exited: make(chan struct{}), output: &syncBuffer{}, requests: rec}
	env.cmd = exec.Command(bin)
	env.cmd.Env = []string{
		"AWS_LAMBDA_RUNTIME_API=" + u.Host,
		"AWS_LAMBDA_FUNCTION_NAME=echo",
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128",
		"TZ=:UTC",
	}
	env.cmd.Stdout, env.cmd.Stderr = env.output, env.output
	if err := env.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { // owned by the environment; ends with the process
		_ = env.cmd.Wait()
		close(env.exited)
	}()
	t.Cleanup(func() {
		_ = env.cmd.Process.Kill()
		<-env.exited
		if t.Failed() {
			t.Logf("function output:\n%s", env.output)
		}
	})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := env.WaitInit(ctx); err != nil {
		t.Fatalf("WaitInit: %v\n%s", err, env.output)
	}
	return env
}

// invoke invokes the handler with payload, within d.
func (env *environment) invoke(t testing.TB, id string, payload string, d time.Duration) (runtimeapi.Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	inv := sample(id)
	inv.Payload = []byte(payload)
	return env.Invoke(ctx, inv)
}

// awaitExit fails the test unless the process exits within d.
func (env *environment) awaitExit(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-env.exited:
	case <-time.After(d):
		t.Fatalf("the process still runs after %v", d)
	}
}

// echo is what testdata/handler reports.
type echo struct {
	RequestID   string            `json:"requestId"`
	FunctionARN string            `json:"functionArn"`
	TenantID    string            `json:"tenantId"`
	Custom      map[string]string `json:"custom"`
	DeadlineMs  int64             `json:"deadlineMs"`
	PID         int               `json:"pid"`
}

func TestRuntimeAPIAWSLambdaGo(t *testing.T) {
	bin := buildHandler(t)

	t.Run("invocations reach the handler and reuse its process", func(t *testing.T) {
		env := startEnvironment(t, bin)
		tests := []runtimeapi.Invocation{
			{RequestID: "a1", FunctionARN: "arn:aws:lambda:us-east-1:123456789012:function:echo:prod", TenantID: "blue tenant:1",
				ClientContext: `{"client":{"installation_id":"i"},"custom":{"k":"v","n":{"nested":1}}}`},
			{RequestID: "a2", FunctionARN: "arn:aws:lambda:us-east-1:123456789012:function:echo", TenantID: "green"},
			{RequestID: "a3", FunctionARN: "arn:aws:lambda:us-east-1:123456789012:function:echo"},
		}
		for _, inv := range tests {
			inv.Payload = []byte(`{}`)
			inv.Deadline = time.Now().Add(time.Minute).Truncate(time.Millisecond)
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			res, err := env.Invoke(ctx, inv)
			cancel()
			if err != nil || res.FunctionError {
				t.Fatalf("Invoke(%s) = %+v, %v", inv.RequestID, res, err)
			}
			if res.ContentType != "application/json" {
				t.Errorf("ContentType = %q, want application/json", res.ContentType)
			}
			var got echo
			if err := json.Unmarshal(res.Payload, &got); err != nil {
				t.Fatalf("payload %s: %v", res.Payload, err)
			}
			want := echo{RequestID: inv.RequestID, FunctionARN: inv.FunctionARN, TenantID: inv.TenantID,
				DeadlineMs: inv.Deadline.UnixMilli(), PID: env.cmd.Process.Pid}
			if inv.ClientContext != "" {
				want.Custom = map[string]string{"k": "v", "n": `{"nested":1}`}
			}
			if got.RequestID != want.RequestID || got.FunctionARN != want.FunctionARN || got.TenantID != want.TenantID ||
				got.DeadlineMs != want.DeadlineMs || got.PID != want.PID || !mapsEqual(got.Custom, want.Custom) {
				t.Errorf("the handler saw %+v, want %+v", got, want)
			}
		}
	})

	t.Run("returned error", func(t *testing.T) {
		env := startEnvironment(t, bin)
		res, err := env.invoke(t, "e1", `{"action":"error","message":"boom"}`, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		checkResult(t, res, runtimeapi.Result{
			Payload:       []byte(`{"errorMessage":"boom","errorType":"errorString"}`),
			FunctionError: true, ErrorType: "errorString", ContentType: "application/json",
		})
		// The process lives on.
		res, err = env.invoke(t, "e2", `{}`, 10*time.Second)
		var got echo
		if err != nil || json.Unmarshal(res.Payload, &got) != nil || got.PID != env.cmd.Process.Pid {
			t.Fatalf("invocation after the error = %s, %v", res.Payload, err)
		}

		// What aws-lambda-go sent (spec/lambda.md §3.3).
		for _, r := range env.requests.all() {
			if !strings.HasPrefix(r.header.Get("User-Agent"), "aws-lambda-go/go") {
				t.Errorf("%s %s: User-Agent %q", r.method, r.path, r.header.Get("User-Agent"))
			}
		}
		resp := env.requests.find(t, "/2018-06-01/runtime/invocation/e2/response")
		if resp.contentLength != -1 || !slices.Equal(resp.transferEncoding, []string{"chunked"}) ||
			!slices.Equal(resp.trailers, []string{"Lambda-Runtime-Function-Error-Body", "Lambda-Runtime-Function-Error-Type"}) {
			t.Errorf("/response: Content-Length %d, Transfer-Encoding %v, declared trailers %v; want chunked with the two error trailers",
				resp.contentLength, resp.transferEncoding, resp.trailers)
		}
		fail := env.requests.find(t, "/2018-06-01/runtime/invocation/e1/error")
		if fail.header.Get("Content-Type") != "application/json" || fail.header.Get("Lambda-Runtime-Function-Error-Type") != "" ||
			!json.Valid([]byte(fail.header.Get("Lambda-Runtime-Function-Xray-Error-Cause"))) {
			t.Errorf("/error headers %v; want JSON, an X-Ray cause and no error type header", fail.header)
		}
	})

	t.Run("panic", func(t *testing.T) {
		env := startEnvironment(t, bin)
		res, err := env.invoke(t, "p1", `{"action":"panic","message":"kaboom"}`, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if !res.FunctionError || res.ErrorType != "string" {
			t.Errorf("Result = {FunctionError:%v ErrorType:%q}, want a function error of type string", res.FunctionError, res.ErrorType)
		}
		// Decoded into aws-lambda-go's own type, which also keeps the module
		// in go.mod for go mod tidy, which does not look into testdata.
		var doc messages.InvokeResponse_Error
		if err := json.Unmarshal(res.Payload, &doc); err != nil {
			t.Fatalf("payload %s: %v", res.Payload, err)
		}
		inHandle := func(f *messages.InvokeResponse_Error_StackFrame) bool {
			return f.Label == "handle" && strings.HasSuffix(f.Path, "handler/main.go") && f.Line > 0
		}
		if doc.Message != "kaboom" || doc.Type != "string" || !slices.ContainsFunc(doc.StackTrace, inHandle) {
			t.Errorf("panic document %s, want kaboom, type string and a stack frame for handle", res.Payload)
		}
		// aws-lambda-go exits after reporting a panic.
		env.awaitExit(t, 10*time.Second)
	})

	t.Run("oversized response", func(t *testing.T) {
		env := startEnvironment(t, bin)
		res, err := env.invoke(t, "o1", `{"action":"big","bytes":6291456}`, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		checkResult(t, res, runtimeapi.Result{
			Payload:       []byte(`{"errorMessage":"Response payload size exceeded maximum allowed payload size (6291456 bytes).","errorType":"Function.ResponseSizeTooLarge"}`),
			FunctionError: true, ErrorType: "Function.ResponseSizeTooLarge", ContentType: "application/json",
		})
		// aws-lambda-go treats the 413 as fatal and exits.
		env.awaitExit(t, 10*time.Second)
		if r := env.requests.find(t, "/2018-06-01/runtime/invocation/o1/response"); r.status != http.StatusRequestEntityTooLarge {
			t.Errorf("the response got %d, want 413", r.status)
		}
	})

	t.Run("reader failing mid-response: error trailers", func(t *testing.T) {
		env := startEnvironment(t, bin)
		res, err := env.invoke(t, "b1", `{"action":"brokenreader"}`, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		checkResult(t, res, runtimeapi.Result{
			Payload:       []byte(`{"errorMessage":"disk on fire","errorType":"errorString"}`),
			FunctionError: true, ErrorType: "errorString", ContentType: "application/json",
		})
		if res, err := env.invoke(t, "b2", `{}`, 10*time.Second); err != nil || res.FunctionError {
			t.Fatalf("invocation after the trailers = %+v, %v", res, err)
		}
	})

	t.Run("timeout", func(t *testing.T) {
		env := startEnvironment(t, bin)
		start := time.Now()
		_, err := env.invoke(t, "t1", `{"action":"sleep","millis":1500}`, 200*time.Millisecond)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Invoke = %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("Invoke returned after %v, want about 200ms", d)
		}
		// The late response is refused, so aws-lambda-go exits.
		env.awaitExit(t, 10*time.Second)
		if r := env.requests.find(t, "/2018-06-01/runtime/invocation/t1/response"); r.status != http.StatusForbidden {
			t.Errorf("the late response got %d, want 403", r.status)
		}
	})

	t.Run("process exits: ctx bounds Invoke", func(t *testing.T) {
		env := startEnvironment(t, bin)
		if _, err := env.invoke(t, "x1", `{"action":"exit"}`, 500*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Invoke = %v, want context.DeadlineExceeded", err)
		}
		env.awaitExit(t, time.Second)
	})

	t.Run("process exits: Close on exit ends Invoke", func(t *testing.T) {
		env := startEnvironment(t, bin)
		go func() { // what the environment does when its process exits
			<-env.exited
			env.Close()
		}()
		start := time.Now()
		if _, err := env.invoke(t, "x1", `{"action":"exit"}`, time.Minute); !errors.Is(err, runtimeapi.ErrClosed) {
			t.Fatalf("Invoke = %v, want ErrClosed", err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("Invoke returned after %v", d)
		}
	})
}

// BenchmarkRuntimeAPIInvoke measures a warm invocation round trip through
// the real aws-lambda-go over loopback: Invoke, GET /next, the handler,
// POST /response, Invoke's return.
func BenchmarkRuntimeAPIInvoke(b *testing.B) {
	env := startEnvironment(b, buildHandler(b))
	inv := sample("bench")
	inv.Payload = []byte(`{}`)
	inv.Deadline = time.Now().Add(time.Hour)
	for b.Loop() {
		res, err := env.Invoke(b.Context(), inv)
		if err != nil || res.FunctionError {
			b.Fatalf("Invoke = %+v, %v", res, err)
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// recorder keeps the head of every request the runtime makes, and the
// status it got, once answered.
type recorder struct {
	mu       sync.Mutex
	requests []recorded
}

type recorded struct {
	method, path     string
	header           http.Header
	contentLength    int64
	transferEncoding []string
	trailers         []string // declared, sorted
	status           int      // the server's answer
}

func (rec *recorder) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var trailers []string
		for k := range r.Trailer {
			trailers = append(trailers, k)
		}
		slices.Sort(trailers)
		rec.mu.Lock()
		i := len(rec.requests)
		rec.requests = append(rec.requests, recorded{r.Method, r.URL.Path, r.Header.Clone(), r.ContentLength, r.TransferEncoding, trailers, 0})
		rec.mu.Unlock()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		rec.mu.Lock()
		rec.requests[i].status = sw.status
		rec.mu.Unlock()
	})
}

// statusWriter notes the status a handler writes.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}

func (rec *recorder) all() []recorded {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.requests)
}

// find returns the first request for path once it has been answered,
// failing the test if there is none.
func (rec *recorder) find(t *testing.T, path string) recorded {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		for _, r := range rec.all() {
			if r.path == path && r.status != 0 {
				return r
			}
		}
	}
	t.Errorf("no answered request for %s", path)
	return recorded{}
}

// syncBuffer is a bytes.Buffer safe for a process's two output streams and
// the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
