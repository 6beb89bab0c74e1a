package execenv

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/logs"
	"github.com/bulkhead-dev/bulkhead/internal/runtimeapi"
	"github.com/bulkhead-dev/bulkhead/internal/sandbox"
	"github.com/bulkhead-dev/bulkhead/internal/sandbox/linux"
	"github.com/bulkhead-dev/bulkhead/internal/sandbox/process"
)

var (
	buildOnce sync.Once
	handler   string // the aws-lambda-go test handler, built once
	buildErr  error
)

// handlerCode returns a code directory whose bootstrap is the unmodified
// aws-lambda-go handler of internal/runtimeapi/testdata.
func handlerCode(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "execenv-handler-")
		if err != nil {
			buildErr = err
			return
		}
		handler = filepath.Join(dir, "bootstrap")
		out, err := exec.Command("go", "build", "-o", handler, "../runtimeapi/testdata/handler").CombinedOutput()
		if err != nil {
			buildErr = err
			handler = string(out)
		}
	})
	if buildErr != nil {
		t.Fatalf("building the test handler: %v\n%s", buildErr, handler)
	}
	return filepath.Dir(handler)
}

func scriptCode(t *testing.T, script string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func options(t *testing.T) Options {
	t.Helper()
	drv, err := process.New(t.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return Options{Driver: drv, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func spec(id, code string) Spec {
	return Spec{ID: id, Function: "f", Version: "$LATEST", Code: code, Handler: "bootstrap", Region: "us-east-1",
		MemoryMB: 128, TmpMB: 512, Timeout: 2 * time.Second, LogGroup: "/aws/lambda/f",
		Environment: map[string]string{"STAGE": "test"}}
}

func invocation(id, tenant, payload string, timeout time.Duration) runtimeapi.Invocation {
	return runtimeapi.Invocation{RequestID: id, FunctionARN: "arn:aws:lambda:us-east-1:123456789012:function:f",
		TenantID: tenant, Payload: []byte(payload), Deadline: time.Now().Add(timeout)}
}

type echo struct {
	RequestID string `json:"requestId"`
	TenantID  string `json:"tenantId"`
	PID       int    `json:"pid"`
}

func TestExecEnvInvokesRealRuntime(t *testing.T) {
	t.Parallel()
	env, err := Start(t.Context(), options(t), spec("env-echo", handlerCode(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer env.Destroy()
	var pids []int
	for i, req := range []string{"req-1", "req-2"} {
		res, err := env.Invoke(t.Context(), invocation(req, "blue tenant", `{}`, 2*time.Second))
		if err != nil || res.ErrorType != "" || !res.Healthy {
			t.Fatalf("invoke %d = %+v, %v", i, res, err)
		}
		var e echo
		if err := json.Unmarshal(res.Payload, &e); err != nil {
			t.Fatalf("payload %s: %v", res.Payload, err)
		}
		if e.RequestID != req || e.TenantID != "blue tenant" {
			t.Errorf("handler saw request %q tenant %q", e.RequestID, e.TenantID)
		}
		pids = append(pids, e.PID)
	}
	if pids[0] != pids[1] {
		t.Errorf("warm invocations ran in different processes: %v", pids)
	}
	res, err := env.Invoke(t.Context(), invocation("req-3", "", `{"action":"error","message":"boom"}`, 2*time.Second))
	if err != nil || res.ErrorType != "errorString" || !res.Healthy || !strings.Contains(string(res.Payload), "boom") {
		t.Errorf("function error = %+v, %v", res, err)
	}
}

func TestExecEnvTimeoutKillsEnvironment(t *testing.T) {
	t.Parallel()
	s := spec("env-timeout", handlerCode(t))
	s.Timeout = time.Second
	env, err := Start(t.Context(), options(t), s)
	if err != nil {
		t.Fatal(err)
	}
	res, err := env.Invoke(t.Context(), invocation("req-slow", "", `{"action":"sleep","millis":5000}`, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"errorMessage":"RequestId: req-slow Error: Task timed out after 1.00 seconds","errorType":"Sandbox.Timedout"}`
	if res.ErrorType != "Sandbox.Timedout" || res.Healthy || string(res.Payload) != want {
		t.Errorf("timeout = %s healthy=%v, want %s", res.Payload, res.Healthy, want)
	}
	select {
	case <-env.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("timed-out environment still alive")
	}
	if _, err := env.Invoke(t.Context(), invocation("again", "", `{}`, time.Second)); err == nil {
		t.Error("a dead environment accepted an invocation")
	}
}

func TestExecEnvProcessExit(t *testing.T) {
	t.Parallel()
	env, err := Start(t.Context(), options(t), spec("env-exit", handlerCode(t)))
	if err != nil {
		t.Fatal(err)
	}
	res, err := env.Invoke(t.Context(), invocation("req-exit", "", `{"action":"exit"}`, 2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if res.ErrorType != "Runtime.ExitError" || res.Healthy || !strings.Contains(string(res.Payload), "RequestId: req-exit Error: Runtime exited with error: process exited with status 3") {
		t.Errorf("exit = %s healthy=%v", res.Payload, res.Healthy)
	}
}

func TestExecEnvInitFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, script, errorType, message string
		initTimeout                      time.Duration
	}{
		{"exits", "echo starting; exit 2", "Runtime.InitError", "Runtime exited during init: process exited with status 2", 0},
		{"hangs", "sleep 30", "Runtime.InitError", "Init timed out after 0.30 seconds", 300 * time.Millisecond},
		{"reports", `curl -s -X POST "http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/init/error" -H 'Lambda-Runtime-Function-Error-Type: Runtime.BadConfig' -d '{"errorMessage":"no config","errorType":"Runtime.BadConfig"}'; sleep 30`,
			"Runtime.BadConfig", "no config", 0},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if strings.Contains(tt.script, "curl") {
				if _, err := exec.LookPath("curl"); err != nil {
					t.Skip("curl is not installed; the /init/error path is covered in internal/runtimeapi")
				}
			}
			opts := options(t)
			opts.InitTimeout = tt.initTimeout
			_, err := Start(t.Context(), opts, spec("env-init-"+string(rune('a'+i)), scriptCode(t, tt.script)))
			var ie *InitError
			if !asInitError(err, &ie) {
				t.Fatalf("Start = %v, want an *InitError", err)
			}
			var doc struct{ ErrorType, ErrorMessage string }
			json.Unmarshal(ie.Payload, &doc)
			if ie.ErrorType != tt.errorType || !strings.Contains(doc.ErrorMessage, tt.message) {
				t.Errorf("init error = %s %s; want %s containing %q", ie.ErrorType, ie.Payload, tt.errorType, tt.message)
			}
		})
	}
}

func asInitError(err error, target **InitError) bool {
	ie, ok := err.(*InitError)
	*target = ie
	return ok
}

func TestExecEnvEnvironmentVariables(t *testing.T) {
	t.Parallel()
	_, err := Start(context.Background(), options(t), spec("env-vars", scriptCode(t, "env; exit 1")))
	ie, ok := err.(*InitError)
	if !ok {
		t.Fatalf("Start = %v", err)
	}
	// The script printed its environment before exiting; wait for the tail.
	out := string(ie.Tail)
	for _, want := range []string{"AWS_LAMBDA_FUNCTION_NAME=f", "AWS_LAMBDA_FUNCTION_VERSION=$LATEST", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128",
		"AWS_LAMBDA_RUNTIME_API=127.0.0.1:", "_HANDLER=bootstrap", "AWS_REGION=us-east-1", "TZ=:UTC", "STAGE=test", "LAMBDA_TASK_ROOT=/"} {
		if !strings.Contains(out, want) {
			t.Errorf("environment lacks %s:\n%s", want, out)
		}
	}
}

// TestExecEnvOutOfMemory runs the real runtime in the Linux sandbox, where
// MemoryMB is enforced: going over it is Runtime.OutOfMemory, as in Lambda.
func TestExecEnvOutOfMemory(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("skipping: the Linux sandbox needs root (CI runs as root)")
	}
	drv, err := linux.New(linux.Options{Key: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { drv.Close() })
	opts := Options{Driver: drv, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	code := handlerCode(t)
	os.Chmod(code, 0o755)
	// The function's timeout is generous: at 128 MB the environment has 7% of
	// a CPU (Lambda's ratio), and touching 128 MiB of pages costs about 0.65 s
	// of CPU on the CI machine, so the OOM kill comes about 10 s in.
	s := spec("env-oom", code)
	s.Timeout = 30 * time.Second
	env, err := Start(t.Context(), opts, s)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Destroy()
	res, err := env.Invoke(t.Context(), invocation("req-oom", "", `{"action":"alloc","bytes":536870912}`, 30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if res.ErrorType != "Runtime.OutOfMemory" || res.Healthy || !strings.Contains(string(res.Payload), "RequestId: req-oom Error: Runtime exited with error: process killed by signal SIGKILL") {
		t.Errorf("allocating 512 MiB in 128 MB = %s %s healthy=%v", res.ErrorType, res.Payload, res.Healthy)
	}
}

// TestExecEnvLogRecords checks what an invocation logs: the function's lines
// attributed to its request and tenant, between platform.start and
// platform.report in Lambda's shape.
func TestExecEnvLogRecords(t *testing.T) {
	t.Parallel()
	sink := &sliceSink{}
	opts := options(t)
	opts.Logs = sink
	env, err := Start(t.Context(), opts, spec("env-logs", handlerCode(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer env.Destroy()
	for _, req := range []string{"req-a", "req-b"} {
		res, err := env.Invoke(t.Context(), invocation(req, "blue", `{"action":"log","message":"hello from `+req+`"}`, 2*time.Second))
		if err != nil || res.ErrorType != "" {
			t.Fatalf("invoke: %v %s", err, res.Payload)
		}
	}
	var types []string
	for _, r := range sink.all() {
		if r.EnvID != "env-logs" || r.Function != "f" {
			t.Errorf("record %+v: wrong attribution", r)
		}
		switch r.Type {
		case logs.TypeInitStart, logs.TypeInitReport:
			if r.RequestID != "" || r.Tenant != "" {
				t.Errorf("init record %+v carries an invocation", r)
			}
		case logs.TypeFunction:
			if r.Message != "hello from "+r.RequestID || r.Tenant != "blue" {
				t.Errorf("function record %+v: want the line of its own request, tenant blue", r)
			}
		default:
			var doc map[string]any
			if err := json.Unmarshal([]byte(r.Message), &doc); err != nil {
				t.Fatalf("%s: %v", r.Type, err)
			}
			if doc["requestId"] != r.RequestID || doc["tenantId"] != "blue" || r.Tenant != "blue" {
				t.Errorf("%s = %s (tenant %q): want requestId and tenantId", r.Type, r.Message, r.Tenant)
			}
			if r.Type == logs.TypeReport {
				m := doc["metrics"].(map[string]any)
				_, cold := m["initDurationMs"]
				if m["memorySizeMB"] != float64(128) || m["billedDurationMs"] == nil || cold != (r.RequestID == "req-a") {
					t.Errorf("report %s: want memorySizeMB 128, billedDurationMs, and initDurationMs on the first invocation only", r.Message)
				}
			}
		}
		types = append(types, r.Type+" "+r.RequestID)
	}
	want := []string{"platform.initStart ", "platform.initReport ",
		"platform.start req-a", "function req-a", "function req-a", "platform.runtimeDone req-a", "platform.report req-a",
		"platform.start req-b", "function req-b", "function req-b", "platform.runtimeDone req-b", "platform.report req-b"}
	if strings.Join(types, "\n") != strings.Join(want, "\n") {
		t.Errorf("records:\n%s\nwant:\n%s", strings.Join(types, "\n"), strings.Join(want, "\n"))
	}
}

// TestExecEnvServicesEnvironment checks that the program sees its
// services' variables with the endpoint filled in.
func TestExecEnvServicesEnvironment(t *testing.T) {
	t.Parallel()
	s := spec("env-services-vars", scriptCode(t, "env; exit 1"))
	s.Services = &Services{Env: map[string]string{"SERVICE_URL": "http://" + sandbox.EndpointPlaceholder + "/svc"}}
	_, err := Start(context.Background(), options(t), s)
	ie, ok := err.(*InitError)
	if !ok {
		t.Fatalf("Start = %v", err)
	}
	if !regexp.MustCompile(`SERVICE_URL=http://127\.0\.0\.1:[0-9]+/svc`).Match(ie.Tail) {
		t.Errorf("environment lacks SERVICE_URL on the endpoint:\n%s", ie.Tail)
	}
}

// TestExecEnvServicesBindOneTenant checks that an invocation whose tenant
// the services' Bind refuses is not delivered.
func TestExecEnvServicesBindOneTenant(t *testing.T) {
	t.Parallel()
	var bound []string
	s := spec("env-services-bind", handlerCode(t))
	s.Services = &Services{
		Bind: func(tenant string) error {
			if len(bound) > 0 && bound[0] != tenant {
				return errors.New("another tenant")
			}
			bound = append(bound, tenant)
			return nil
		},
	}
	env, err := Start(t.Context(), options(t), s)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Destroy()
	res, err := env.Invoke(t.Context(), invocation("req-1", "blue", `{}`, 2*time.Second))
	if err != nil || res.ErrorType != "" {
		t.Fatalf("blue: %+v, %v", res, err)
	}
	if _, err := env.Invoke(t.Context(), invocation("req-2", "red", `{}`, 2*time.Second)); err == nil {
		t.Error("an invocation for red in blue's environment was delivered")
	}
	if len(bound) != 1 || bound[0] != "blue" {
		t.Errorf("Bind accepted %q, want blue once", bound)
	}
}
