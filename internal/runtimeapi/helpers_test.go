package runtimeapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/runtimeapi"
)

// testServer is a Server behind a real HTTP server on loopback, with a client
// for playing the runtime by hand.
type testServer struct {
	*runtimeapi.Server
	base   string // URL of /2018-06-01/runtime
	client *http.Client
}

// newTestServer starts one; the test's end closes it and checks that no
// goroutine is left behind.
func newTestServer(t testing.TB, cfg runtimeapi.Config) *testServer {
	return newWrappedServer(t, cfg, nil)
}

// newWrappedServer is newTestServer with wrap, if not nil, around the
// Server's handler.
func newWrappedServer(t testing.TB, cfg runtimeapi.Config, wrap func(http.Handler) http.Handler) *testServer {
	t.Helper()
	checkGoroutines(t)
	s := runtimeapi.New(cfg)
	var h http.Handler = s
	if wrap != nil {
		h = wrap(s)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close) // after s.Close, which releases waiting handlers
	t.Cleanup(s.Close)
	return &testServer{Server: s, base: hs.URL + "/2018-06-01/runtime", client: hs.Client()}
}

// checkGoroutines fails the test if, once its cleanups have run, more
// goroutines are left than it started with. Tests using it must not run in
// parallel.
func checkGoroutines(t testing.TB) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Errorf("%d goroutines before the test, %d after:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// reply is the server's answer to one runtime request.
type reply struct {
	status int
	header http.Header
	body   []byte
	err    error // the request failed (no answer)
}

// errorType returns the errorType of an error reply.
func (r reply) errorType() string {
	var doc struct{ ErrorType string }
	_ = json.Unmarshal(r.body, &doc)
	return doc.ErrorType
}

// request makes one runtime request. It never fails the test, so goroutines
// may call it.
func (ts *testServer) request(ctx context.Context, method, path string, body io.Reader, header http.Header) reply {
	req, err := http.NewRequestWithContext(ctx, method, ts.base+path, body)
	if err != nil {
		return reply{err: err}
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := ts.client.Do(req)
	if err != nil {
		return reply{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: b, err: err}
}

// async makes the request in a goroutine; the channel receives its reply.
func (ts *testServer) async(ctx context.Context, method, path string, body io.Reader, header http.Header) <-chan reply {
	c := make(chan reply, 1)
	go func() { c <- ts.request(ctx, method, path, body, header) }()
	return c
}

func (ts *testServer) next(ctx context.Context) <-chan reply {
	return ts.async(ctx, http.MethodGet, "/invocation/next", nil, nil)
}

func (ts *testServer) post(path, contentType, body string) reply {
	return ts.request(context.Background(), http.MethodPost, path, strings.NewReader(body), http.Header{"Content-Type": {contentType}})
}

// invoked is what Invoke returned.
type invoked struct {
	result runtimeapi.Result
	err    error
}

// invoke calls Invoke in a goroutine; the channel receives what it returned.
func invoke(ctx context.Context, s *runtimeapi.Server, inv runtimeapi.Invocation) <-chan invoked {
	c := make(chan invoked, 1)
	go func() {
		res, err := s.Invoke(ctx, inv)
		c <- invoked{res, err}
	}()
	return c
}

// receive waits for a value, failing the test after a few seconds.
func receive[T any](t testing.TB, c <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s after 10s", what)
		panic("unreachable")
	}
}

// quiet fails the test if c delivers within d.
func quiet[T any](t *testing.T, c <-chan T, d time.Duration, what string) {
	t.Helper()
	select {
	case v := <-c:
		t.Fatalf("%s arrived early: %+v", what, v)
	case <-time.After(d):
	}
}

// sample returns an invocation with request id id.
func sample(id string) runtimeapi.Invocation {
	return runtimeapi.Invocation{
		RequestID:   id,
		FunctionARN: "arn:aws:lambda:us-east-1:123456789012:function:echo",
		Payload:     []byte(`{"hello":"world"}`),
		Deadline:    time.Now().Add(time.Minute),
	}
}

// running initialises ts and gives the runtime inv: the state is Running.
// The channel receives what Invoke returns.
func (ts *testServer) running(t *testing.T, inv runtimeapi.Invocation) <-chan invoked {
	t.Helper()
	next := ts.next(t.Context())
	result := invoke(t.Context(), ts.Server, inv)
	r := receive(t, next, "GET /next reply")
	if r.err != nil || r.status != http.StatusOK {
		t.Fatalf("GET /next: %d %s %v", r.status, r.body, r.err)
	}
	if got := r.header.Get("Lambda-Runtime-Aws-Request-Id"); got != inv.RequestID {
		t.Fatalf("GET /next gave request id %q, want %q", got, inv.RequestID)
	}
	return result
}

// idle initialises ts; the state is Idle with a GET /next waiting, whose
// reply the channel receives.
func (ts *testServer) idle(t *testing.T) <-chan reply {
	t.Helper()
	next := ts.next(t.Context())
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := ts.WaitInit(ctx); err != nil {
		t.Fatalf("WaitInit: %v", err)
	}
	return next
}

// queued initialises ts, runs one invocation through, and invokes inv with
// no GET /next waiting: the state is Queued. The channel receives what
// Invoke returns.
func (ts *testServer) queued(t *testing.T, inv runtimeapi.Invocation) <-chan invoked {
	t.Helper()
	warm := ts.running(t, sample("warm-up"))
	if r := ts.post("/invocation/warm-up/response", "application/json", `{}`); r.status != http.StatusAccepted {
		t.Fatalf("warm-up response: %d %s", r.status, r.body)
	}
	receive(t, warm, "Invoke's return")
	result := invoke(t.Context(), ts.Server, inv)
	ts.await(t, func(state string, _ bool) bool { return state == "Queued" }, "Queued")
	return result
}

// await polls until the server's state satisfies ok.
func (ts *testServer) await(t *testing.T, ok func(state string, waiting bool) bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok(runtimeapi.StateOf(ts.Server)) {
		if time.Now().After(deadline) {
			state, waiting := runtimeapi.StateOf(ts.Server)
			t.Fatalf("not %s after 10s: state %s, GET /next waiting: %v", what, state, waiting)
		}
		time.Sleep(time.Millisecond)
	}
}
