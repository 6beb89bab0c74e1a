package execenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/runtimeapi"
	"github.com/bulkhead-dev/bulkhead/internal/sandbox"
)

// DefaultInitTimeout bounds a runtime's init, as Lambda's 10 s does.
const DefaultInitTimeout = 10 * time.Second

// tailBytes is how much output an invocation keeps for LogType Tail.
const tailBytes = 4096

// Spec is what an environment runs.
type Spec struct {
	ID          string // unique among live environments, [a-z0-9-]
	Function    string
	Version     string // "$LATEST" or a number
	Code        string // host directory of the unpacked package
	Handler     string
	Region      string
	MemoryMB    int
	TmpMB       int
	Timeout     time.Duration     // the function's; the caller sets each invocation's deadline from it
	Environment map[string]string // the function's variables
	LogFormat   string
	LogLevel    string
	LogGroup    string
}

// Options are the environment's platform settings.
type Options struct {
	Driver      sandbox.Driver
	Log         *slog.Logger
	InitTimeout time.Duration // 0 means DefaultInitTimeout
	// Isolation names the isolation the Driver gives ("linux", "process"),
	// for the environment's log records.
	Isolation string
}

// Env is a started, initialised environment.
type Env struct {
	spec Spec
	sb   sandbox.Sandbox
	api  *runtimeapi.Server
	out  *tail
	log  *slog.Logger
	mu   sync.Mutex // serialises Invoke and guards dead
	dead bool
	once sync.Once
}

// InitError reports an environment whose runtime did not initialise. Payload
// is the error document the caller of the invocation sees.
type InitError struct {
	ErrorType string
	Payload   []byte
	Tail      []byte
}

func (e *InitError) Error() string { return "init failed: " + e.ErrorType + ": " + string(e.Payload) }

// Start starts an environment for spec and waits for its runtime's init.
// An init that fails, times out or exits returns an *InitError and leaves
// nothing running.
func Start(ctx context.Context, opts Options, spec Spec) (*Env, error) {
	if opts.InitTimeout <= 0 {
		opts.InitTimeout = DefaultInitTimeout
	}
	started := time.Now()
	log := opts.Log.With("env", spec.ID, "function", spec.Function, "version", spec.Version, "isolation", opts.Isolation)
	e := &Env{spec: spec, out: &tail{max: tailBytes}, log: log}
	e.api = runtimeapi.New(runtimeapi.Config{Logger: log})
	sb, err := opts.Driver.Start(ctx, sandbox.Spec{
		ID:          spec.ID,
		Code:        spec.Code,
		Command:     []string{"bootstrap"},
		Env:         environment(spec, opts.Driver.CodeDir(spec.Code)),
		Endpoint:    e.api,
		EndpointEnv: "AWS_LAMBDA_RUNTIME_API",
		Stdout:      e.out,
		Stderr:      e.out,
		Limits: sandbox.Limits{
			MemoryMB: spec.MemoryMB, TmpMB: spec.TmpMB, Processes: 1024, OpenFiles: 1024,
			// CPUMilli is left to the driver: in proportion to memory. The
			// init phase gets every CPU, as in Lambda, until EndInit.
			InitCPUMilli: 1000 * runtime.NumCPU(),
		},
	})
	if err != nil {
		e.api.Close()
		return nil, fmt.Errorf("start sandbox: %w", err)
	}
	e.sb = sb
	go func() { // ends when the sandbox does: its Done closes on exit or Destroy
		<-sb.Done()
		e.api.Close()
	}()

	ictx, cancel := context.WithTimeout(ctx, opts.InitTimeout)
	defer cancel()
	err = e.api.WaitInit(ictx)
	if err == nil {
		if err := sb.EndInit(); err != nil {
			e.Destroy()
			return nil, fmt.Errorf("limit the environment's CPU: %w", err)
		}
		log.Info("environment started", "init", time.Since(started))
		return e, nil
	}
	var ie *runtimeapi.InitError
	var fail *InitError
	switch {
	case errors.As(err, &ie):
		fail = &InitError{ErrorType: ie.ErrorType, Payload: ie.Payload}
	case errors.Is(err, context.DeadlineExceeded):
		fail = initError("Runtime.InitError", fmt.Sprintf("Init timed out after %.2f seconds", opts.InitTimeout.Seconds()))
	case ctx.Err() != nil:
		e.Destroy()
		return nil, ctx.Err()
	default: // the process exited before asking for work
		fail = initError("Runtime.InitError", "Runtime exited during init: "+exitText(sb))
	}
	e.Destroy()
	fail.Tail = e.out.bytes()
	return nil, fail
}

func initError(errorType, message string) *InitError {
	doc, _ := json.Marshal(map[string]string{"errorType": errorType, "errorMessage": message})
	return &InitError{ErrorType: errorType, Payload: doc}
}

func exitText(sb sandbox.Sandbox) string {
	select {
	case <-sb.Done():
		if err := sb.Err(); err != nil {
			return err.Error()
		}
		return "exit status 0"
	default:
		return "the runtime stopped answering"
	}
}

// environment is the process environment Lambda gives a runtime
// (spec/lambda.md §3.4), then the function's own variables.
func environment(spec Spec, taskRoot string) []string {
	env := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        spec.Function,
		"AWS_LAMBDA_FUNCTION_VERSION":     spec.Version,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(spec.MemoryMB),
		"AWS_LAMBDA_LOG_GROUP_NAME":       spec.LogGroup,
		"AWS_LAMBDA_LOG_STREAM_NAME":      time.Now().UTC().Format("2006/01/02") + "/[" + spec.Version + "]" + spec.ID,
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_REGION":                      spec.Region,
		"AWS_DEFAULT_REGION":              spec.Region,
		"LAMBDA_TASK_ROOT":                taskRoot,
		"LAMBDA_RUNTIME_DIR":              "/var/runtime",
		"_HANDLER":                        spec.Handler,
		"TZ":                              ":UTC",
		"LANG":                            "en_US.UTF-8",
		"PATH":                            "/usr/local/bin:/usr/bin:/bin:/opt/bin",
		"LD_LIBRARY_PATH":                 "/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib",
	}
	if spec.LogFormat == "JSON" {
		env["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
		env["AWS_LAMBDA_LOG_LEVEL"] = spec.LogLevel
	}
	for k, v := range spec.Environment {
		env[k] = v // reserved names were refused when the function was configured
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// Result is how an invocation ended.
type Result struct {
	// Payload is the function's response, or the error document.
	Payload []byte
	// ErrorType is set when the invocation failed ("Sandbox.Timedout",
	// "Runtime.ExitError", "Runtime.OutOfMemory", or the runtime's own type).
	ErrorType string
	// Healthy reports whether the environment can serve again.
	Healthy bool
	// Tail is the last 4 KB of the environment's output during the invocation.
	Tail []byte
}

// Invoke runs one invocation, bounded by inv.Deadline. A timeout or a
// process exit kills the environment (Healthy false).
func (e *Env) Invoke(ctx context.Context, inv runtimeapi.Invocation) (Result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.dead {
		return Result{}, errors.New("execenv: invoke on a dead environment")
	}
	e.out.reset()
	ictx, cancel := context.WithDeadline(ctx, inv.Deadline)
	defer cancel()
	res, err := e.api.Invoke(ictx, inv)
	switch {
	case err == nil:
		r := Result{Payload: res.Payload, Healthy: true, Tail: e.out.bytes()}
		if res.FunctionError {
			r.ErrorType = res.ErrorType
			// aws-lambda-go exits after a panic; the pool notices through Done.
		}
		return r, nil
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
		e.kill()
		return e.failure(inv.RequestID, "Sandbox.Timedout", "Task timed out after "+seconds(e.spec.Timeout)+" seconds"), nil
	case errors.Is(err, runtimeapi.ErrClosed):
		// The process exited (or was destroyed) mid-invocation; Lambda
		// names an exit the memory limit caused Runtime.OutOfMemory.
		text := exitText(e.sb)
		errorType := "Runtime.ExitError"
		if e.sb.Usage().OOMKills > 0 {
			errorType = "Runtime.OutOfMemory"
		}
		e.kill()
		return e.failure(inv.RequestID, errorType, "Runtime exited with error: "+text), nil
	default:
		e.kill()
		return Result{}, err
	}
}

func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) }

func (e *Env) failure(requestID, errorType, message string) Result {
	doc, _ := json.Marshal(map[string]string{
		"errorType":    errorType,
		"errorMessage": "RequestId: " + requestID + " Error: " + message,
	})
	return Result{Payload: doc, ErrorType: errorType, Tail: e.out.bytes()}
}

// kill marks the environment dead and destroys it; called with mu held.
func (e *Env) kill() {
	e.dead = true
	e.destroy()
}

// Done is closed when the environment has died: its process exited or it
// was destroyed.
func (e *Env) Done() <-chan struct{} { return e.sb.Done() }

// Destroy tears the environment down; idempotent.
func (e *Env) Destroy() {
	e.destroy()
}

func (e *Env) destroy() {
	e.once.Do(func() {
		e.api.Close()
		if err := e.sb.Destroy(); err != nil {
			e.log.Warn("sandbox destroy failed", "err", err)
		}
	})
}

// MaxMemoryBytes is the environment's peak memory so far, as its sandbox
// measures it.
func (e *Env) MaxMemoryBytes() int64 { return e.sb.Usage().MaxMemoryBytes }

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tail) reset() {
	t.mu.Lock()
	t.buf = t.buf[:0]
	t.mu.Unlock()
}

func (t *tail) bytes() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]byte(nil), t.buf...)
}
