package execenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/logs"
	"github.com/bulkhead-dev/bulkhead/internal/runtimeapi"
	"github.com/bulkhead-dev/bulkhead/internal/sandbox"
)

// DefaultInitTimeout bounds a runtime's init, as Lambda's 10 s does.
const DefaultInitTimeout = 10 * time.Second

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
	// Services, when set, are offered to the program on the environment's
	// endpoint beside the Runtime API (credentials and the data API).
	Services *Services
}

// Services are what an environment offers its program besides the Runtime
// API, on the same endpoint, which only the program can reach.
type Services struct {
	// Env is added to the program's environment, over the function's own
	// variables; sandbox.EndpointPlaceholder in a value stands for the
	// endpoint's host:port.
	Env map[string]string
	// Handler serves every request to the endpoint that is not the
	// Runtime API's (whose paths begin /2018-06-01/).
	Handler http.Handler
	// Bind is called with the tenant of the environment's first invocation
	// before it is delivered, and again with each later invocation's
	// tenant; an error refuses the invocation. An environment serves one
	// tenant for its life, and Bind is where its services learn which.
	Bind func(tenant string) error
	// Close is called once, when the environment ends.
	Close func()
}

// Options are the environment's platform settings.
type Options struct {
	Driver      sandbox.Driver
	Log         *slog.Logger
	InitTimeout time.Duration // 0 means DefaultInitTimeout
	// Isolation names the isolation the Driver gives ("linux", "process"),
	// for the environment's log records.
	Isolation string
	// Logs receives the environments' output, line by line, and their
	// platform records; nil keeps only what Tail needs.
	Logs logs.Sink
}

// Env is a started, initialised environment.
type Env struct {
	spec Spec
	sb   sandbox.Sandbox
	api  *runtimeapi.Server
	out  *capture

	initDuration time.Duration
	invoked      bool // an invocation has been reported: the next is not cold
	log          *slog.Logger
	mu           sync.Mutex // serialises Invoke and guards dead
	servicesOnce sync.Once
	dead         bool
	once         sync.Once
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
	e := &Env{spec: spec, log: log,
		out: newCapture(opts.Logs, logs.Record{Function: spec.Function, Version: spec.Version, EnvID: spec.ID})}
	e.api = runtimeapi.New(runtimeapi.Config{Logger: log})
	e.out.add(logs.TypeInitStart, map[string]any{
		"initializationType": "on-demand", "phase": "init",
		"functionName": spec.Function, "functionVersion": spec.Version,
		"instanceId": spec.ID, "instanceMaxMemory": spec.MemoryMB << 20,
	})
	sb, err := opts.Driver.Start(ctx, sandbox.Spec{
		ID:          spec.ID,
		Code:        spec.Code,
		Command:     []string{"bootstrap"},
		Env:         environment(spec, opts.Driver.CodeDir(spec.Code)),
		Endpoint:    e.endpoint(),
		EndpointEnv: "AWS_LAMBDA_RUNTIME_API",
		Stdout:      e.out.writer("stdout"),
		Stderr:      e.out.writer("stderr"),
		Limits: sandbox.Limits{
			MemoryMB: spec.MemoryMB, TmpMB: spec.TmpMB, Processes: 1024, OpenFiles: 1024,
			// CPUMilli is left to the driver: in proportion to memory. The
			// init phase gets every CPU, as in Lambda, until EndInit.
			InitCPUMilli: 1000 * runtime.NumCPU(),
		},
	})
	if err != nil {
		e.api.Close()
		e.closeServices()
		return nil, fmt.Errorf("start sandbox: %w", err)
	}
	e.sb = sb
	go func() { // ends when the sandbox does: its Done closes on exit or Destroy
		<-sb.Done()
		e.api.Close()
		e.closeServices()
	}()

	ictx, cancel := context.WithTimeout(ctx, opts.InitTimeout)
	defer cancel()
	err = e.api.WaitInit(ictx)
	if err == nil {
		if err := sb.EndInit(); err != nil {
			e.Destroy()
			return nil, fmt.Errorf("limit the environment's CPU: %w", err)
		}
		e.initDuration = time.Since(started)
		e.endInit("success", "")
		log.Info("environment started", "init", e.initDuration)
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
	e.initDuration = time.Since(started)
	e.endInit("error", fail.ErrorType)
	fail.Tail = e.out.bytes()
	return nil, fail
}

// endInit closes the init's log: its output, and platform.initReport.
func (e *Env) endInit(status, errorType string) {
	e.sb.FlushOutput()
	e.out.end()
	report := map[string]any{"initializationType": "on-demand", "phase": "init", "status": status,
		"metrics": map[string]any{"durationMs": millis(e.initDuration)}}
	if errorType != "" {
		report["errorType"] = errorType
	}
	e.out.add(logs.TypeInitReport, report)
}

// millis is d in milliseconds with two decimals, as Lambda reports them.
func millis(d time.Duration) float64 { return math.Round(float64(d.Microseconds())/10) / 100 }

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
	if spec.Services != nil {
		for k, v := range spec.Services.Env {
			env[k] = v
		}
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
	// Duration is the invocation's, from handing the event to the runtime
	// to its answer (or failure).
	Duration time.Duration
}

// BilledMillis is d in whole milliseconds, rounded up, as Lambda bills.
func BilledMillis(d time.Duration) int64 { return int64(math.Ceil(float64(d.Microseconds()) / 1000)) }

// MemoryMB is bytes in whole megabytes, rounded up, as REPORT shows them.
func MemoryMB(bytes int64) int64 { return (bytes + (1 << 20) - 1) >> 20 }

// Invoke runs one invocation, bounded by inv.Deadline. A timeout or a
// process exit kills the environment (Healthy false).
func (e *Env) Invoke(ctx context.Context, inv runtimeapi.Invocation) (Result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.dead {
		return Result{}, errors.New("execenv: invoke on a dead environment")
	}
	if sv := e.spec.Services; sv != nil && sv.Bind != nil {
		if err := sv.Bind(inv.TenantID); err != nil {
			return Result{}, fmt.Errorf("execenv: binding the environment's services to the invocation's tenant: %w", err)
		}
	}
	e.out.begin(inv.RequestID, inv.TenantID)
	e.out.add(logs.TypeStart, map[string]any{"version": e.spec.Version, "functionArn": inv.FunctionARN})
	began := time.Now()
	r, err := e.invoke(ctx, inv)
	r.Duration = time.Since(began)
	// Everything the program wrote before the outcome is in the pipes now:
	// deliver it, so it is attributed to this invocation.
	e.sb.FlushOutput()
	if e.out.sink != nil && err == nil {
		e.report(r)
	}
	r.Tail = e.out.end()
	return r, err
}

// report logs platform.runtimeDone and platform.report for an invocation.
func (e *Env) report(r Result) {
	status := "success"
	switch {
	case r.ErrorType == "Sandbox.Timedout":
		status = "timeout"
	case !r.Healthy:
		status = "error"
	case r.ErrorType != "":
		status = "failure"
	}
	done := map[string]any{"status": status, "metrics": map[string]any{"durationMs": millis(r.Duration)}}
	metrics := map[string]any{
		"durationMs":       millis(r.Duration),
		"billedDurationMs": BilledMillis(r.Duration),
		"memorySizeMB":     e.spec.MemoryMB,
		"maxMemoryUsedMB":  MemoryMB(e.sb.Usage().MaxMemoryBytes),
	}
	if !e.invoked {
		metrics["initDurationMs"] = millis(e.initDuration)
		e.invoked = true
	}
	report := map[string]any{"status": status, "metrics": metrics}
	if r.ErrorType != "" {
		done["errorType"] = r.ErrorType
		report["errorType"] = r.ErrorType
	}
	e.out.add(logs.TypeRuntimeDone, done)
	e.out.add(logs.TypeReport, report)
}

func (e *Env) invoke(ctx context.Context, inv runtimeapi.Invocation) (Result, error) {
	ictx, cancel := context.WithDeadline(ctx, inv.Deadline)
	defer cancel()
	res, err := e.api.Invoke(ictx, inv)
	switch {
	case err == nil:
		r := Result{Payload: res.Payload, Healthy: true}
		if res.FunctionError {
			r.ErrorType = res.ErrorType
			// aws-lambda-go exits after a panic; the pool notices through Done.
		}
		return r, nil
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
		e.kill()
		return failure(inv.RequestID, "Sandbox.Timedout", "Task timed out after "+seconds(e.spec.Timeout)+" seconds"), nil
	case errors.Is(err, runtimeapi.ErrClosed):
		// The process exited (or was destroyed) mid-invocation; Lambda
		// names an exit the memory limit caused Runtime.OutOfMemory.
		text := exitText(e.sb)
		errorType := "Runtime.ExitError"
		if e.sb.Usage().OOMKills > 0 {
			errorType = "Runtime.OutOfMemory"
		}
		e.kill()
		return failure(inv.RequestID, errorType, "Runtime exited with error: "+text), nil
	default:
		e.kill()
		return Result{}, err
	}
}

func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) }

func failure(requestID, errorType, message string) Result {
	doc, _ := json.Marshal(map[string]string{
		"errorType":    errorType,
		"errorMessage": "RequestId: " + requestID + " Error: " + message,
	})
	return Result{Payload: doc, ErrorType: errorType}
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

// endpoint is the handler of the environment's endpoint: the Runtime API,
// and the services beside it.
func (e *Env) endpoint() http.Handler {
	sv := e.spec.Services
	if sv == nil || sv.Handler == nil {
		return e.api
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/2018-06-01/") {
			e.api.ServeHTTP(w, r)
			return
		}
		sv.Handler.ServeHTTP(w, r)
	})
}

// closeServices ends the environment's services, once.
func (e *Env) closeServices() {
	if sv := e.spec.Services; sv != nil && sv.Close != nil {
		e.servicesOnce.Do(sv.Close)
	}
}

func (e *Env) destroy() {
	e.once.Do(func() {
		e.closeServices()
		e.api.Close()
		if err := e.sb.Destroy(); err != nil {
			e.log.Warn("sandbox destroy failed", "err", err)
		}
	})
}

// InitDuration is how long the environment's init took.
func (e *Env) InitDuration() time.Duration { return e.initDuration }

// ID returns the environment's id.
func (e *Env) ID() string { return e.spec.ID }

// MaxMemoryBytes is the environment's peak memory so far, as its sandbox
// measures it.
func (e *Env) MaxMemoryBytes() int64 { return e.sb.Usage().MaxMemoryBytes }

// tail keeps the last max bytes written to it.
