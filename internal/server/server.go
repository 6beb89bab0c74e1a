package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/adminkey"
	"github.com/bulkhead-dev/bulkhead/internal/artifact"
	"github.com/bulkhead-dev/bulkhead/internal/data/store"
	"github.com/bulkhead-dev/bulkhead/internal/execenv"
	"github.com/bulkhead-dev/bulkhead/internal/function"
	"github.com/bulkhead-dev/bulkhead/internal/gateway"
	"github.com/bulkhead-dev/bulkhead/internal/iam"
	"github.com/bulkhead-dev/bulkhead/internal/invoke"
	"github.com/bulkhead-dev/bulkhead/internal/lambdaapi"
	"github.com/bulkhead-dev/bulkhead/internal/logs"
	"github.com/bulkhead-dev/bulkhead/internal/metrics"
	"github.com/bulkhead-dev/bulkhead/internal/pool"
	"github.com/bulkhead-dev/bulkhead/internal/sandbox"
	"github.com/bulkhead-dev/bulkhead/internal/sigv4"
	"github.com/bulkhead-dev/bulkhead/internal/store/sqlite"
	"github.com/bulkhead-dev/bulkhead/internal/tenant"
	"github.com/bulkhead-dev/bulkhead/internal/tracing"
	"github.com/bulkhead-dev/bulkhead/internal/usage"
)

// Server is a running Bulkhead: listeners bound, state open.
type Server struct {
	cfg      Config
	log      *slog.Logger
	db       *sqlite.Store
	registry *function.Registry
	invoker  *invoke.Service
	driver   sandbox.Driver
	logs     *logs.Pipeline
	logStore *sqlite.LogStore
	logDB    *sqlite.Store
	metrics  *metrics.Registry
	tracing  *tracing.Provider
	tenants  *tenant.Registry
	front    *gateway.Gateway

	metricsSrv *http.Server // nil without --metrics-addr
	roles      *iam.Registry
	data       *dataPlane
	dataStore  store.Store
	metricsLn  net.Listener

	api, gateway     *http.Server
	apiLn, gatewayLn net.Listener
}

// New opens the data directory and binds the listeners; Serve starts
// answering. getenv supplies the admin key's variables; notice receives the
// one-time message that shows a newly generated key.
func New(cfg Config, log *slog.Logger, getenv func(string) string, notice io.Writer) (_ *Server, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	key, generated, err := adminkey.Ensure(cfg.DataDir, getenv)
	if err != nil {
		return nil, fmt.Errorf("admin key: %w", err)
	}
	if generated {
		fmt.Fprintf(notice, `
Bulkhead generated an admin key for its Lambda API and stored it in
%s (mode 0600). It is shown only this once:

  export AWS_ACCESS_KEY_ID=%s
  export AWS_SECRET_ACCESS_KEY=%s
  export AWS_REGION=%s AWS_ENDPOINT_URL_LAMBDA=http://%s

The bulkhead CLI finds it in the data directory by itself. To choose your own
key, set %s and %s before starting.

`, filepath.Join(cfg.DataDir, adminkey.FileName), key.AccessKeyID, key.SecretAccessKey,
			cfg.Region, cfg.APIAddr, adminkey.EnvAccessKeyID, adminkey.EnvSecretAccessKey)
	}

	s := &Server{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if s.db, err = sqlite.Open(filepath.Join(cfg.DataDir, "bulkhead.db")); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	packages, err := artifact.Open(filepath.Join(cfg.DataDir, "code"), artifact.DefaultLimits())
	if err != nil {
		return nil, fmt.Errorf("open code store: %w", err)
	}
	s.registry = function.NewRegistry(s.db, packages, function.ARNs{Region: cfg.Region, Account: cfg.AccountID}, log)
	if n, err := s.registry.SweepPackages(context.Background()); err != nil {
		return nil, fmt.Errorf("sweep code packages: %w", err)
	} else if n > 0 {
		log.Info("removed unreferenced code packages", "count", n)
	}

	driver, describe, err := newDriver(cfg, log, notice)
	if err != nil {
		return nil, err
	}
	s.driver = driver
	if s.logDB, err = sqlite.OpenLogs(filepath.Join(cfg.DataDir, "logs.db")); err != nil {
		return nil, fmt.Errorf("open log store: %w", err)
	}
	s.logStore = s.logDB.Logs() // one, so its writers queue in one line
	s.logs = logs.NewPipeline(s.logStore, logs.PipelineOptions{Logger: log})
	s.invoker = invoke.New(s.registry, packages, execenv.Options{Driver: driver, Log: log, Isolation: cfg.Isolation, Logs: s.logs}, pool.Config{
		MaxConcurrency: cfg.MaxConcurrency,
		MaxPerFunction: cfg.MaxPerFunction,
		MaxPerTenant:   cfg.MaxPerTenant,
		MemoryBudgetMB: cfg.MemoryBudgetMB,
		IdleTimeout:    cfg.IdleTimeout,
		Blanks:         cfg.Blanks,
		MaxWait:        cfg.MaxWait,
		TenantLimit: func(_ string, id tenant.ID) (int, bool) {
			if t, ok := s.tenants.Lookup(id); ok && t.Concurrency > 0 {
				return t.Concurrency, true
			}
			return 0, false
		},
	}, cfg.Region, log)
	s.registry.OnChange(s.invoker.Pool().Retire)
	s.invoker.MeterUsage(usage.NewRecorder(s.db.Usage(), cfg.UsageSync, log))
	s.metrics = metrics.New(metrics.Options{Tenants: cfg.MetricsTenants})
	s.invoker.CountMetrics(s.metrics)
	if s.tracing, err = tracing.New(tracing.Config{Endpoint: cfg.TraceEndpoint, SampleRatio: cfg.TraceSampleRatio, ServiceName: "bulkhead", Version: version(), Log: log}); err != nil {
		return nil, err
	}
	s.invoker.Trace(s.tracing)
	s.metrics.Gauge("bulkhead_environments", "Live execution environments by state.", "state", func() map[string]float64 {
		st := s.invoker.Pool().Stats()
		return map[string]float64{"busy": float64(st.Busy), "idle": float64(st.Idle), "blank": float64(st.Blank)}
	})
	s.metrics.Gauge("bulkhead_invocations_waiting", "Invocations queued for capacity (served round robin among tenants).", "", func() map[string]float64 {
		return map[string]float64{"": float64(s.invoker.Pool().Stats().Waiting)}
	})
	s.metrics.Gauge("bulkhead_evictions", "Idle environments evicted for the memory budget since the server started (a counter read as a gauge).", "", func() map[string]float64 {
		return map[string]float64{"": float64(s.invoker.Pool().Stats().Evictions)}
	})
	s.metrics.Gauge("bulkhead_event_queue_depth", "Event invocations accepted and not yet finished.", "", func() map[string]float64 {
		n, err := s.db.PendingEvents(context.Background())
		if err != nil {
			return nil
		}
		return map[string]float64{"": float64(n)}
	})
	s.metrics.Gauge("bulkhead_environment_memory_megabytes", "Sum of MemorySize of live environments (the memory budget's use).", "", func() map[string]float64 {
		return map[string]float64{"": float64(s.invoker.Pool().Stats().MemoryMB)}
	})
	if err := s.invoker.AcceptEvents(context.Background(), s.db); err != nil {
		return nil, fmt.Errorf("event queue: %w", err)
	}

	if cfg.Examples != "" {
		if err := s.deployExamples(context.Background(), cfg.Examples); err != nil {
			return nil, err
		}
	}

	if err := s.openGateway(cfg, log); err != nil {
		return nil, err
	}
	roles, bad, err := iam.NewRegistry(context.Background(), s.db, cfg.AccountID)
	if err != nil {
		return nil, fmt.Errorf("roles: %w", err)
	}
	for _, err := range bad {
		log.Warn("role authorises nothing until updated", "err", err)
	}
	s.roles = roles
	if err := s.openDataPlane(cfg, key.Secret, log); err != nil {
		return nil, err
	}

	verifier := &sigv4.Verifier{Service: "lambda", Region: cfg.Region, Secret: key.Secret}
	s.api = &http.Server{
		Handler: s.data.front(lambdaapi.New(lambdaapi.Config{
			Registry: s.registry, Invoker: s.invoker, Verifier: verifier, Logs: s.logStore, Log: log,
			Usage: s.db.Usage(), Price: cfg.Price, Audit: s.db.Audit(),
			Health:  map[string]string{"isolation": cfg.Isolation, "sandbox": describe},
			Gateway: s.front, Tenants: s.tenants, Roles: s.roles,
		})),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	s.gateway = &http.Server{
		Handler:           s.front,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if s.apiLn, err = net.Listen("tcp", cfg.APIAddr); err != nil {
		return nil, fmt.Errorf("api-addr: %w", err)
	}
	if s.gatewayLn, err = net.Listen("tcp", cfg.GatewayAddr); err != nil {
		return nil, fmt.Errorf("gateway-addr: %w", err)
	}
	if cfg.MetricsAddr != "" {
		if s.metricsLn, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			return nil, fmt.Errorf("metrics-addr: %w", err)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
			s.metrics.WriteTo(w)
		})
		if cfg.Pprof {
			mux.HandleFunc("GET /debug/pprof/", pprof.Index)
			mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
			mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
			mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
			mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
		}
		s.metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	}
	return s, nil
}

// APIAddr is the bound address of the Lambda API.
func (s *Server) APIAddr() string { return s.apiLn.Addr().String() }

// GatewayAddr is the bound address of the gateway.
func (s *Server) GatewayAddr() string { return s.gatewayLn.Addr().String() }

// Serve answers requests until ctx is done, then shuts down: listeners close,
// in-flight requests get ShutdownTimeout to finish, and the store closes.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 3)
	go func() { errc <- serve(s.api, s.apiLn) }()
	go func() { errc <- serve(s.gateway, s.gatewayLn) }()
	if s.metricsSrv != nil {
		go func() { errc <- serve(s.metricsSrv, s.metricsLn) }()
		s.log.Info("metrics", "addr", "http://"+s.metricsLn.Addr().String()+"/metrics")
	}
	events, stopEvents := context.WithCancel(context.Background())
	eventsDone := make(chan struct{})
	go func() {
		defer close(eventsDone)
		s.invoker.RunEvents(events, invoke.EventOptions{RetryDelay: s.cfg.EventRetryDelay, Workers: s.cfg.EventWorkers,
			// New events wake the worker; the poll finds retries come due.
			Poll: min(time.Second, max(s.cfg.EventRetryDelay/4, 10*time.Millisecond))})
	}()
	pruneDone := make(chan struct{})
	go func() {
		defer close(pruneDone)
		s.pruneLogs(events)
	}()
	if s.tracing.Enabled() {
		s.log.Info("tracing", "endpoint", s.cfg.TraceEndpoint, "sample_ratio", s.cfg.TraceSampleRatio)
	}
	s.log.Info("serving", "api", s.APIAddr(), "gateway", s.GatewayAddr(), "data_dir", s.cfg.DataDir)

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		err = fmt.Errorf("listener failed: %w", err)
	}
	s.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	err = errors.Join(err, s.api.Shutdown(sctx), s.gateway.Shutdown(sctx))
	if s.metricsSrv != nil {
		err = errors.Join(err, s.metricsSrv.Shutdown(sctx))
	}
	stopEvents() // events running now stay queued and run again on the next start
	<-eventsDone
	<-pruneDone
	s.front.Close()
	s.invoker.Pool().Close() // every environment destroyed: nothing is left running
	s.logs.Close()           // what the environments logged is stored
	err = errors.Join(err, s.tracing.Shutdown(sctx), closeDriver(s.driver), s.logDB.Close(), s.dataStore.Close(), s.db.Close())
	s.log.Info("stopped")
	return err
}

// pruneLogs applies the log retention every minute until ctx is done.
func (s *Server) pruneLogs(ctx context.Context) {
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		n, err := s.logStore.Prune(ctx, time.Now().Add(-s.cfg.LogRetention), int64(s.cfg.LogRetentionMB)<<20)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Warn("pruning logs failed", "err", err)
		case n > 0:
			s.log.Debug("pruned logs", "records", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// closeDriver releases what the driver holds on the host (the Linux
// sandbox's cgroup directories), once every environment is destroyed.
func closeDriver(d sandbox.Driver) error {
	if c, ok := d.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

func serve(srv *http.Server, ln net.Listener) error {
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// close releases what New opened when New fails half-way.
func (s *Server) close() {
	for _, ln := range []net.Listener{s.apiLn, s.gatewayLn, s.metricsLn} {
		if ln != nil {
			ln.Close()
		}
	}
	if s.front != nil {
		s.front.Close()
	}
	if s.invoker != nil {
		s.invoker.Pool().Close()
	}
	if s.logs != nil {
		s.logs.Close()
	}
	if s.tracing != nil {
		s.tracing.Shutdown(context.Background())
	}
	if s.logDB != nil {
		s.logDB.Close()
	}
	if s.dataStore != nil {
		s.dataStore.Close()
	}
	closeDriver(s.driver)
	if s.db != nil {
		s.db.Close()
	}
}

// version is the server's module version ("(devel)" for a source build).
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.Main.Version
	}
	return "(devel)"
}
