package cli

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/server"
)

// ServeCmd is `bulkhead serve`. Its flags have no kong defaults so that a
// flag left out does not override the config file; the defaults live in
// server.DefaultConfig and are quoted in the help.
type ServeCmd struct {
	Config                   string         `help:"Read settings from this YAML file (keys as the flags, e.g. api-addr). Flags win over the file." type:"existingfile" placeholder:"FILE"`
	DataDir                  string         `help:"Directory for the database, code packages and generated admin key (default ${data_dir})." placeholder:"DIR"`
	APIAddr                  string         `name:"api-addr" help:"Address of the Lambda API and /healthz (default 127.0.0.1:9000)." placeholder:"HOST:PORT"`
	GatewayAddr              string         `help:"Address of the public gateway (default 127.0.0.1:8080)." placeholder:"HOST:PORT"`
	Region                   string         `help:"Region in ARNs and in the signatures the API accepts (default us-east-1)."`
	AccountID                string         `name:"account-id" help:"12-digit account id in ARNs (default 000000000000)."`
	LogLevel                 string         `help:"Platform log level: debug, info, warn, error (default info)."`
	ShutdownTimeout          time.Duration  `help:"How long in-flight requests may take to finish on SIGINT/SIGTERM (default 30s)."`
	MaxConcurrency           *int           `help:"Concurrent invocations in total (default 1000)."`
	MaxPerFunction           *int           `help:"Concurrent invocations of one function; 0 for no bound of its own (default 0)."`
	MaxPerTenant             *int           `help:"Concurrent invocations of one function for one tenant; 0 for no bound (default 0)."`
	MaxWait                  *time.Duration `name:"max-wait" help:"How long an invocation waits, queued fairly among tenants, for capacity before it is throttled; 0 throttles at once (default 1s)."`
	MemoryBudgetMB           *int           `name:"memory-budget-mb" help:"Sum of MemorySize of live environments; idle ones are evicted LRU first (default half of RAM)."`
	IdleTimeout              time.Duration  `help:"How long an unused environment stays warm (default 10m)."`
	Blanks                   *int           `help:"Pre-initialised environments kept per invoked function version for new tenants (default 1)."`
	EventRetryDelay          time.Duration  `help:"Wait before an Event invocation's first retry after a function error; the second waits twice as long (default 1m)."`
	EventWorkers             *int           `help:"Event invocations running at once (default 4)."`
	Isolation                string         `help:"How environments run: linux (namespaces, cgroups, seccomp, Landlock; needs root) or process (NO isolation: any function can read the server's files and reach every other environment; development only) (default linux)." enum:",linux,process" default:""`
	LogRetention             time.Duration  `help:"How long function logs are kept (default 168h)."`
	LogRetentionMB           *int           `name:"log-retention-mb" help:"Total size of function logs kept, oldest dropped first (default 1024)."`
	MetricsAddr              string         `name:"metrics-addr" help:"Serve Prometheus metrics at http://ADDR/metrics, unauthenticated (default: not served)." placeholder:"HOST:PORT"`
	Pprof                    bool           `name:"pprof" help:"Also serve Go's profiler at http://METRICS-ADDR/debug/pprof/ (needs --metrics-addr)."`
	MetricsTenant            []string       `name:"metrics-tenant" help:"Give this tenant its own metric series (repeatable); the others are summed as tenant=\"other\"."`
	UsageSync                *bool          `name:"usage-sync" help:"Make each invocation's usage durable before answering it (default true; false saves ~1 ms per invocation but a crash may lose the last commit's usage)." negatable:""`
	PricePerMillionRequests  *float64       `name:"price-per-million-requests" help:"Price model for bulkhead usage: per million invocations (default 0.20)."`
	PricePerGBSecond         *float64       `name:"price-per-gb-second" help:"Price per GB-second of billed duration (default 0.0000166667)."`
	PricePerEnvironment      *float64       `name:"price-per-environment" help:"Price per environment created for a tenant (default 0)."`
	RequireRegisteredTenants *bool          `name:"require-registered-tenants" help:"Refuse invocations of tenants not registered with 'bulkhead tenants create' (default false; suspended tenants are refused either way)." negatable:""`
	TraceEndpoint            string         `name:"trace-endpoint" help:"Export OpenTelemetry spans of invocations over OTLP/HTTP to this collector URL, e.g. http://localhost:4318 (default: no tracing)." placeholder:"URL"`
	TraceSampleRatio         *float64       `name:"trace-sample-ratio" help:"Fraction of new traces recorded; callers' sampling decisions are followed (default 1)."`
	DataRateLimit            *float64       `name:"data-rate-limit" help:"Requests per second each tenant may make to the data API; beyond it, ThrottlingException (default 1000; 0 for no limit)."`
	DataBurstLimit           *int           `name:"data-burst-limit" help:"Requests a tenant may make to the data API at once after an idle spell (default 2000)."`
	DataPostgresOwnerDSN     string         `name:"data-postgres-owner-dsn" help:"Keep the data API's tables in PostgreSQL: the DSN of the role that owns the schema (runs migrations). With the two below; docs/data.md shows the roles to provision." placeholder:"DSN"`
	DataPostgresAppDSN       string         `name:"data-postgres-app-dsn" help:"DSN of the role tenants' data requests run as: not the owner, NOBYPASSRLS, so row-level security applies." placeholder:"DSN"`
	DataPostgresServiceDSN   string         `name:"data-postgres-service-dsn" help:"DSN of the role requests without a tenant run as (BYPASSRLS, not the owner)." placeholder:"DSN"`
	Examples                 string         `help:"Deploy every executable in this directory as a per-tenant function named after it (make run builds examples/ there)." type:"existingdir" placeholder:"DIR"`
}

// Run starts the server and blocks until the context ends (SIGINT/SIGTERM).
func (c *ServeCmd) Run(e *env) error {
	cfg := server.DefaultConfig()
	if c.Config != "" {
		if err := cfg.LoadFile(c.Config); err != nil {
			return err
		}
	}
	override(&cfg.DataDir, c.DataDir)
	override(&cfg.APIAddr, c.APIAddr)
	override(&cfg.GatewayAddr, c.GatewayAddr)
	override(&cfg.Region, c.Region)
	override(&cfg.AccountID, c.AccountID)
	override(&cfg.LogLevel, c.LogLevel)
	override(&cfg.ShutdownTimeout, c.ShutdownTimeout)
	override(&cfg.IdleTimeout, c.IdleTimeout)
	override(&cfg.Examples, c.Examples)
	override(&cfg.Isolation, c.Isolation)
	override(&cfg.LogRetention, c.LogRetention)
	override(&cfg.MetricsAddr, c.MetricsAddr)
	if c.Pprof {
		cfg.Pprof = true
	}
	override(&cfg.TraceEndpoint, c.TraceEndpoint)
	if c.TraceSampleRatio != nil {
		cfg.TraceSampleRatio = *c.TraceSampleRatio
	}
	if len(c.MetricsTenant) > 0 {
		cfg.MetricsTenants = c.MetricsTenant
	}
	override(&cfg.EventRetryDelay, c.EventRetryDelay)
	if c.EventWorkers != nil {
		cfg.EventWorkers = *c.EventWorkers
	}
	for _, f := range []struct {
		field *int
		flag  *int
	}{{&cfg.MaxConcurrency, c.MaxConcurrency}, {&cfg.MaxPerFunction, c.MaxPerFunction}, {&cfg.MaxPerTenant, c.MaxPerTenant},
		{&cfg.MemoryBudgetMB, c.MemoryBudgetMB}, {&cfg.Blanks, c.Blanks}, {&cfg.LogRetentionMB, c.LogRetentionMB}} {
		if f.flag != nil {
			*f.field = *f.flag
		}
	}

	if c.MaxWait != nil {
		cfg.MaxWait = *c.MaxWait
	}
	if c.RequireRegisteredTenants != nil {
		cfg.RequireRegisteredTenants = *c.RequireRegisteredTenants
	}
	if c.UsageSync != nil {
		cfg.UsageSync = *c.UsageSync
	}
	if c.DataRateLimit != nil {
		cfg.DataRateLimit = *c.DataRateLimit
	}
	if c.DataBurstLimit != nil {
		cfg.DataBurstLimit = *c.DataBurstLimit
	}
	override(&cfg.DataPostgres.OwnerDSN, c.DataPostgresOwnerDSN)
	override(&cfg.DataPostgres.AppDSN, c.DataPostgresAppDSN)
	override(&cfg.DataPostgres.ServiceDSN, c.DataPostgresServiceDSN)
	for _, f := range []struct {
		field *float64
		flag  *float64
	}{{&cfg.Price.PerMillionRequests, c.PricePerMillionRequests}, {&cfg.Price.PerGBSecond, c.PricePerGBSecond}, {&cfg.Price.PerEnvironment, c.PricePerEnvironment}} {
		if f.flag != nil {
			*f.field = *f.flag
		}
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return fmt.Errorf("log-level: %q is not one of debug, info, warn, error", cfg.LogLevel)
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
	srv, err := server.New(cfg, log, e.getenv, e.stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "bulkhead: Lambda API on http://%s, gateway on http://%s, data in %s\n",
		srv.APIAddr(), srv.GatewayAddr(), cfg.DataDir)
	return srv.Serve(e.ctx)
}

func override[T comparable](field *T, flag T) {
	var zero T
	if flag != zero {
		*field = flag
	}
}
