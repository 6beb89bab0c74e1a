package invoke

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/execenv"
	"github.com/bulkhead-dev/bulkhead/internal/function"
	"github.com/bulkhead-dev/bulkhead/internal/metrics"
	"github.com/bulkhead-dev/bulkhead/internal/pool"
	"github.com/bulkhead-dev/bulkhead/internal/runtimeapi"
	"github.com/bulkhead-dev/bulkhead/internal/tenant"
	"github.com/bulkhead-dev/bulkhead/internal/usage"
	"github.com/bulkhead-dev/bulkhead/internal/uuid"
)

// Invocation types.
const (
	RequestResponse = "RequestResponse"
	Event           = "Event"
	DryRun          = "DryRun"
)

// Lambda's messages for the tenancy rules (spec/lambda.md §1.4).
const (
	msgTenantMissing    = "The invoked function is enabled with tenancy configuration. Add a valid tenant ID in your request and try again."
	msgTenantNotAllowed = "The invoked function is not enabled with tenancy configuration. Remove the tenant ID from your request and try again."
)

// MaxClientContext is the longest X-Amz-Client-Context Lambda accepts.
const MaxClientContext = 3583

// Request is one Invoke call, decoded from its wire.
type Request struct {
	Function  string // name or ARN, possibly qualified
	Qualifier string
	// Tenant is the tenant id as the caller sent it; nil when it sent none.
	Tenant        *string
	Type          string // RequestResponse (or ""), Event, DryRun
	LogTail       bool
	ClientContext string // base64, as sent
	// TraceHeader and TraceParent are the caller's X-Amzn-Trace-Id and W3C
	// traceparent, if any: the runtime gets the trace (see traceHeader).
	TraceHeader, TraceParent string
	Payload                  []byte
}

// Response is what the invocation answers.
type Response struct {
	StatusCode      int // 200, 202 or 204
	Payload         []byte
	FunctionError   string // "Unhandled" when the function failed
	ExecutedVersion string
	LogResult       string // base64 of the output tail, when asked for
}

// Packages finds a version's unpacked code; satisfied by *artifact.Store.
type Packages interface {
	Tree(sha256 string) string
}

// Service runs invocations.
type Service struct {
	// eventWake holds a value when RunEvents should look at the queue.
	eventWake chan struct{}
	// services gives new environments their services; nil: none.
	services func(EnvironmentFor) (*execenv.Services, error)
	registry *function.Registry
	pool     *pool.Pool
	packages Packages
	env      execenv.Options
	region   string
	log      *slog.Logger
	seq      atomic.Uint64
	queue    Queue             // nil until RunEvents
	usage    *usage.Recorder   // nil: usage is not metered
	metrics  *metrics.Registry // nil: no metrics
	tracer   trace.Tracer      // a no-op one unless Trace is called
	admit    func(tenant.ID) error
}

// AdmitTenants makes every invocation of a tenant ask check first (a
// suspended or unregistered tenant is refused, with ErrForbidden). Call it
// before serving.
func (s *Service) AdmitTenants(check func(tenant.ID) error) { s.admit = check }

// Trace makes invocations record spans with tp. Call it before serving.
func (s *Service) Trace(tp trace.TracerProvider) {
	s.tracer = tp.Tracer("github.com/bulkhead-dev/bulkhead/internal/invoke")
}

// CountMetrics makes invocations count in r. Call it before serving.
func (s *Service) CountMetrics(r *metrics.Registry) { s.metrics = r }

// MeterUsage makes every invocation record its usage durably before it is
// answered. Call it before serving.
func (s *Service) MeterUsage(r *usage.Recorder) { s.usage = r }

// meter records an invocation's usage; a failure to store it fails the
// invocation: what is acknowledged is metered. It is logged.
func (s *Service) meter(ctx context.Context, function string, id tenant.ID, c usage.Counts) error {
	if s.usage == nil {
		return nil
	}
	err := s.usage.Record(ctx, usage.Key{Tenant: id.String(), Function: function, Hour: time.Now()}, c)
	if err != nil {
		s.log.Error("recording usage failed", "function", function, "tenant", id, "err", err)
	}
	return err
}

// New returns the service. Call Pool to get the pool it built, to close it.
func New(registry *function.Registry, packages Packages, env execenv.Options, poolConfig pool.Config, region string, log *slog.Logger) *Service {
	s := &Service{eventWake: make(chan struct{}, 1), registry: registry, packages: packages, env: env, region: region, log: log,
		tracer: noop.NewTracerProvider().Tracer("")}
	s.pool = pool.New(poolConfig, s.start, log)
	return s
}

// Pool returns the environment pool.
func (s *Service) Pool() *pool.Pool { return s.pool }

// Invoke runs one invocation.
func (s *Service) Invoke(ctx context.Context, req Request) (resp Response, err error) {
	ctx, span := s.startSpan(ctx, req)
	defer func() { endSpan(span, resp, err) }()
	switch req.Type {
	case "", RequestResponse, Event, DryRun:
	default:
		return Response{}, function.ConstraintError(function.Violation(req.Type, "invocationType",
			"Member must satisfy enum value set: [Event, RequestResponse, DryRun]"))
	}
	res, err := s.registry.Resolve(ctx, req.Function, req.Qualifier)
	if err != nil {
		return Response{}, err
	}
	id, err := tenancy(res.Function, req.Tenant)
	if err != nil {
		return Response{}, err
	}
	if s.admit != nil && !id.IsNone() {
		if err := s.admit(id); err != nil {
			return Response{}, err
		}
	}
	span.SetAttributes(
		attribute.String("faas.invoked_name", res.Function.Name),
		attribute.String("faas.version", function.VersionString(res.Version.Number)),
		attribute.String(AttrTenant, id.String()))
	if len(req.Payload) > 0 && !json.Valid(req.Payload) {
		var v any
		detail := json.Unmarshal(req.Payload, &v)
		return Response{}, errdefs.New(errdefs.ErrInvalidContent,
			"Could not parse request body into json: Could not parse payload into json: %v", detail)
	}
	if len(req.Payload) == 0 {
		req.Payload = []byte("{}") // as Lambda does: the function receives an empty object
	}
	clientContext, err := decodeClientContext(req.ClientContext)
	if err != nil {
		return Response{}, err
	}
	version := function.VersionString(res.Version.Number)
	switch req.Type {
	case DryRun:
		return Response{StatusCode: 204, ExecutedVersion: version}, nil
	case Event:
		return s.enqueue(ctx, req)
	}
	return s.run(ctx, req, res, id, clientContext)
}

// run runs a validated invocation synchronously.
func (s *Service) run(ctx context.Context, req Request, res function.Resolved, id tenant.ID, clientContext string) (Response, error) {
	version := function.VersionString(res.Version.Number)

	ctx = tenant.WithID(ctx, id)
	log := s.log.With("function", res.Function.Name, "version", version, "tenant", id)
	key := pool.Key{Version: pool.Version{Function: res.Function.Name, Number: res.Version.Number, Revision: res.Version.RevisionID}, Tenant: id}
	admitCtx, admission := s.tracer.Start(ctx, "admission", trace.WithAttributes(attribute.String(AttrTenant, id.String())))
	lease, err := s.pool.Acquire(admitCtx, key, res.Version.Config.MemorySize)
	if err == nil {
		admission.SetAttributes(attribute.Bool("faas.coldstart", lease.Cold), attribute.String("bulkhead.environment.source", source(lease)))
	}
	endSpan(admission, Response{}, err)
	var initErr *execenv.InitError
	if errors.As(err, &initErr) {
		log.Info("init failed", "error_type", initErr.ErrorType)
		if err := s.meter(ctx, res.Function.Name, id, usage.Counts{Invocations: 1, Errors: 1, Environments: 1, ColdStarts: 1, BytesIn: int64(len(req.Payload))}); err != nil {
			return Response{}, err
		}
		return failed(version, initErr.Payload, initErr.Tail, req.LogTail), nil
	}
	if errors.Is(err, errdefs.ErrTooManyRequests) {
		if s.metrics != nil {
			s.metrics.Throttle(res.Function.Name, id.String())
		}
		if err := s.meter(ctx, res.Function.Name, id, usage.Counts{Throttles: 1}); err != nil {
			return Response{}, err
		}
	}
	if err != nil {
		return Response{}, err
	}
	env := lease.Env().(*execenv.Env)
	requestID := uuid.New()
	timeout := time.Duration(res.Version.Config.Timeout) * time.Second
	arn := s.registry.ARNs().Function(res.Function.Name)
	if q := qualifierOf(req, res); q != "" {
		arn = s.registry.ARNs().Qualified(res.Function.Name, q)
	}
	trace.SpanFromContext(ctx).SetAttributes(attribute.String("faas.invocation_id", requestID))
	runCtx, runtime := s.tracer.Start(ctx, "runtime", trace.WithAttributes(
		attribute.String(AttrTenant, id.String()), attribute.String("bulkhead.environment.id", env.ID())))
	out, err := env.Invoke(runCtx, runtimeapi.Invocation{
		RequestID: requestID, FunctionARN: arn, TenantID: id.String(),
		ClientContext: clientContext, Payload: req.Payload, Deadline: time.Now().Add(timeout),
		TraceID: runtimeTrace(runtime, req),
	})
	lease.Release(err == nil && out.Healthy)
	if err == nil && out.ErrorType != "" {
		runtime.SetAttributes(attribute.String("faas.error_type", out.ErrorType))
		runtime.SetStatus(codes.Error, out.ErrorType)
	}
	endSpan(runtime, Response{}, err)
	if err != nil {
		return Response{}, fmt.Errorf("invoke %s: %w", res.Function.Name, err)
	}
	ctx, respond := s.tracer.Start(ctx, "response", trace.WithAttributes(attribute.String(AttrTenant, id.String())))
	defer respond.End()
	elapsed := out.Duration
	counts := usage.Counts{
		Invocations: 1,
		MBMillis:    execenv.BilledMillis(elapsed) * int64(res.Version.Config.MemorySize),
		BytesIn:     int64(len(req.Payload)),
		BytesOut:    int64(len(out.Payload)),
	}
	if out.ErrorType != "" {
		counts.Errors = 1
	}
	if lease.Cold || lease.Blank {
		counts.Environments = 1
	}
	if lease.Cold {
		counts.ColdStarts = 1
	}
	if err := s.meter(ctx, res.Function.Name, id, counts); err != nil {
		return Response{}, err
	}
	if s.metrics != nil {
		outcome := "success"
		switch {
		case !out.Healthy:
			outcome = "crash"
		case out.ErrorType != "":
			outcome = "error"
		}
		s.metrics.Invocation(res.Function.Name, id.String(), outcome, elapsed, lease.Cold)
		if lease.Cold {
			s.metrics.Init(res.Function.Name, env.InitDuration())
		}
	}
	log.Info("invoked", "request_id", requestID, "cold", lease.Cold, "blank", lease.Blank, "error_type", out.ErrorType, "duration", elapsed)
	var tail []byte
	if req.LogTail { // only then: peak memory is a read of the sandbox's accounting
		tail = textLog(requestID, version, out.Tail, elapsed, res.Version.Config.MemorySize, env.MaxMemoryBytes())
	}
	if out.ErrorType != "" {
		return failed(version, out.Payload, tail, req.LogTail), nil
	}
	resp := Response{StatusCode: 200, Payload: out.Payload, ExecutedVersion: version}
	if req.LogTail {
		resp.LogResult = base64.StdEncoding.EncodeToString(tail)
	}
	return resp, nil
}

// textLog is the invocation's log as Lambda's text format shows it — START,
// the function's output, END and REPORT — cut to its last 4 KB, as
// X-Amz-Log-Result carries it.
func textLog(requestID, version string, output []byte, elapsed time.Duration, memoryMB int, maxMemory int64) []byte {
	ms := float64(elapsed.Microseconds()) / 1000
	log := fmt.Appendf(nil, "START RequestId: %s Version: %s\n", requestID, version)
	log = append(log, output...)
	log = fmt.Appendf(log, "END RequestId: %s\nREPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\tMax Memory Used: %d MB\t\n",
		requestID, requestID, ms, execenv.BilledMillis(elapsed), memoryMB, execenv.MemoryMB(maxMemory))
	if len(log) > 4096 {
		log = log[len(log)-4096:]
	}
	return log
}

func failed(version string, doc, tail []byte, logTail bool) Response {
	r := Response{StatusCode: 200, Payload: doc, FunctionError: "Unhandled", ExecutedVersion: version}
	if logTail {
		r.LogResult = base64.StdEncoding.EncodeToString(tail)
	}
	return r
}

// tenancy applies Lambda's tenancy rules: a PER_TENANT function needs a
// valid tenant id; any other function must not get one and runs as None.
func tenancy(f function.Function, sent *string) (tenant.ID, error) {
	switch {
	case f.PerTenant && sent == nil:
		return tenant.ID{}, errdefs.New(errdefs.ErrInvalidArgument, msgTenantMissing)
	case !f.PerTenant && sent != nil:
		return tenant.ID{}, errdefs.New(errdefs.ErrInvalidArgument, msgTenantNotAllowed)
	case !f.PerTenant:
		return tenant.None, nil
	}
	return tenant.Parse(*sent)
}

func decodeClientContext(b64 string) (string, error) {
	if b64 == "" {
		return "", nil
	}
	if len(b64) > MaxClientContext {
		return "", errdefs.New(errdefs.ErrInvalidArgument, "Client context must be at most %d bytes of base64; it has %d.", MaxClientContext, len(b64))
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || !json.Valid(raw) {
		return "", errdefs.New(errdefs.ErrInvalidContent, "Client context must be a valid Base64-encoded JSON object.")
	}
	return string(raw), nil
}

func qualifierOf(req Request, res function.Resolved) string {
	if res.Alias != "" {
		return res.Alias
	}
	if req.Qualifier != "" {
		return req.Qualifier
	}
	return ""
}

// start is the pool's factory: it starts an environment for v from the
// version's code, tenant-neutral (the tenant arrives with each invocation).
func (s *Service) start(ctx context.Context, v pool.Version, memoryMB int) (pool.Env, error) {
	ver, err := s.registry.Version(ctx, v.Function, v.Number)
	if err != nil {
		return nil, err
	}
	if ver.RevisionID != v.Revision {
		return nil, errdefs.New(errdefs.ErrConflict, "The function was updated during the invocation; retry it.")
	}
	c := ver.Config
	envID := "env-" + strconv.FormatUint(s.seq.Add(1), 10) + "-" + uuid.New()[:8]
	var services *execenv.Services
	if s.services != nil {
		if services, err = s.services(EnvironmentFor{ID: envID, Function: v.Function, Version: function.VersionString(v.Number), Role: c.Role}); err != nil {
			return nil, err
		}
	}
	ctx, span := s.tracer.Start(ctx, "environment.start", trace.WithAttributes(
		attribute.String("faas.name", v.Function), attribute.String("bulkhead.environment.id", envID),
		attribute.Int("faas.max_memory", memoryMB<<20)))
	env, err := execenv.Start(ctx, s.env, execenv.Spec{
		ID:          envID,
		Function:    v.Function,
		Version:     function.VersionString(v.Number),
		Code:        s.packages.Tree(ver.Code.SHA256),
		Handler:     c.Handler,
		Region:      s.region,
		MemoryMB:    memoryMB,
		TmpMB:       c.EphemeralStorage,
		Timeout:     time.Duration(c.Timeout) * time.Second,
		Environment: c.Environment,
		LogFormat:   c.Logging.Format,
		LogLevel:    c.Logging.ApplicationLogLevel,
		LogGroup:    "/aws/lambda/" + v.Function,
		Services:    services,
	})
	endSpan(span, Response{}, err)
	if err != nil {
		return nil, err // a nil *Env in a pool.Env would not be nil
	}
	return env, nil
}

// EnvironmentFor describes an environment about to start, for the services
// it is given.
type EnvironmentFor struct {
	ID       string
	Function string
	Version  string
	Role     string // the function's execution role ARN
}

// ProvideServices makes f give each new environment its services
// (credentials, the data API). Call it before serving.
func (s *Service) ProvideServices(f func(EnvironmentFor) (*execenv.Services, error)) { s.services = f }
