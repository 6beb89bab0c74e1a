package server

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/bulkhead-dev/bulkhead/internal/tracing"
	"github.com/bulkhead-dev/bulkhead/internal/usage"
)

// Config is the configuration of `bulkhead serve`. Flags and the config file
// set the same fields; flags win over the file, the file over the defaults.
// Secrets (the admin key) come from the environment only.
type Config struct {
	// DataDir holds everything Bulkhead stores: the database, code packages
	// and the generated admin key. Default: $XDG_DATA_HOME/bulkhead, or
	// ~/.local/share/bulkhead.
	DataDir string `yaml:"data-dir"`
	// APIAddr is where the Lambda API (and /healthz) listens.
	APIAddr string `yaml:"api-addr"`
	// GatewayAddr is where the public gateway listens.
	GatewayAddr string `yaml:"gateway-addr"`
	// Region is the AWS region name Bulkhead answers as: it appears in ARNs
	// and requests must be signed for it.
	Region string `yaml:"region"`
	// AccountID is the 12-digit account id in ARNs.
	AccountID string `yaml:"account-id"`
	// LogLevel is the platform log's level: debug, info, warn or error.
	LogLevel string `yaml:"log-level"`
	// ShutdownTimeout bounds how long in-flight requests may take to finish
	// after SIGINT or SIGTERM.
	ShutdownTimeout time.Duration `yaml:"shutdown-timeout"`

	// MaxConcurrency bounds concurrent invocations in total (Lambda's
	// regional default is 1000).
	MaxConcurrency int `yaml:"max-concurrency"`
	// MaxPerFunction bounds concurrent invocations of one function; 0 means
	// only MaxConcurrency applies.
	MaxPerFunction int `yaml:"max-per-function"`
	// MaxPerTenant bounds concurrent invocations of one function for one
	// tenant, so one tenant cannot take a function's capacity; 0 means no
	// per-tenant bound.
	MaxPerTenant int `yaml:"max-per-tenant"`
	// MaxWait is how long an invocation waits for capacity when the memory
	// budget, MaxConcurrency or MaxPerFunction is taken, queued fairly
	// among tenants (round robin over per-tenant queues), before it is
	// throttled; 0 throttles at once, as Lambda does. A tenant at its own
	// limit (MaxPerTenant, or its registered concurrency) is throttled at
	// once.
	MaxWait time.Duration `yaml:"max-wait"`
	// MemoryBudgetMB bounds the sum of MemorySize of live environments. Idle
	// ones are evicted, least recently used first, before work is refused.
	// Default: half of the machine's RAM.
	MemoryBudgetMB int `yaml:"memory-budget-mb"`
	// IdleTimeout is how long an unused environment stays warm.
	IdleTimeout time.Duration `yaml:"idle-timeout"`
	// EventRetryDelay is the wait before an Event invocation's first retry
	// after a function error; the second waits twice as long (Lambda: about
	// one and two minutes).
	EventRetryDelay time.Duration `yaml:"event-retry-delay"`
	// EventWorkers bounds the Event invocations running at once.
	EventWorkers int `yaml:"event-workers"`
	// Examples is a directory of executables to deploy at start, each as a
	// PER_TENANT function named after its file ("" for none).
	Examples string `yaml:"examples"`
	// Blanks is how many pre-initialised, tenant-less environments to keep
	// per function version once it has been invoked; the first invocation of
	// a new tenant claims one.
	Blanks int `yaml:"blanks"`
	// Isolation is how environments are run: "linux", each in its own
	// namespaces, cgroups, seccomp filter and Landlock domain (the default;
	// needs root); or "process", plain child processes with no isolation,
	// for development only.
	Isolation string `yaml:"isolation"`
	// LogRetention is how long function logs are kept; LogRetentionMB
	// bounds their total size (the oldest go first).
	LogRetention   time.Duration `yaml:"log-retention"`
	LogRetentionMB int           `yaml:"log-retention-mb"`
	// MetricsAddr is where Prometheus metrics are served, unauthenticated,
	// at /metrics ("" for nowhere). Keep it private: it names functions and
	// MetricsTenants.
	MetricsAddr string `yaml:"metrics-addr"`
	// Pprof serves Go's profiler at /debug/pprof/ on MetricsAddr, for
	// finding where the server's time goes. Off by default: a profile shows
	// what the server is doing, which is no one else's business.
	Pprof bool `yaml:"pprof"`
	// MetricsTenants get per-tenant series; all other tenants are summed as
	// tenant="other", so the series stay bounded at any number of tenants.
	MetricsTenants []string `yaml:"metrics-tenants"`
	// UsageSync makes each invocation's usage durable before the invocation
	// is answered, so a crash loses no acknowledged usage; it costs about a
	// millisecond per invocation at low concurrency (one commit). Off, usage
	// is written in the background and a crash may lose the last commit's
	// worth.
	UsageSync bool `yaml:"usage-sync"`
	// RequireRegisteredTenants refuses invocations (on the Lambda API as on
	// the gateway) of tenants not in the tenant registry. Off by default, as
	// Lambda needs no registration; a suspended tenant is refused either way.
	RequireRegisteredTenants bool `yaml:"require-registered-tenants"`
	// TraceEndpoint is an OpenTelemetry collector's OTLP/HTTP URL (e.g.
	// http://localhost:4318) that invocation spans are exported to; empty
	// (the default) records no spans.
	TraceEndpoint string `yaml:"trace-endpoint"`
	// TraceSampleRatio is the fraction of new traces recorded; a caller's
	// traceparent or X-Amzn-Trace-Id sampling decision is followed.
	TraceSampleRatio float64 `yaml:"trace-sample-ratio"`
	// DataRateLimit and DataBurstLimit throttle each tenant's requests to
	// the data API (a token bucket: requests per second, and at once);
	// beyond them it answers ThrottlingException. A zero rate is no limit.
	DataRateLimit  float64 `yaml:"data-rate-limit"`
	DataBurstLimit int     `yaml:"data-burst-limit"`
	// DataPostgres, when its DSNs are set, keeps the data API's tables in
	// PostgreSQL instead of the embedded store (data.db in DataDir).
	DataPostgres PostgresConfig `yaml:"data-postgres"`
	// Price turns metered usage into cost (bulkhead usage). Defaults:
	// Lambda's x86 list prices, and nothing per environment.
	Price usage.Price `yaml:"price"`
}

// Isolation levels.
const (
	IsolationLinux   = "linux"
	IsolationProcess = "process"
)

// DefaultAccountID is the account id ARNs carry unless configured.
const DefaultAccountID = "000000000000"

// DefaultConfig returns the configuration `bulkhead serve` uses with no flags
// and no file.
func DefaultConfig() Config {
	return Config{
		DataDir:          DefaultDataDir(),
		APIAddr:          "127.0.0.1:9000",
		GatewayAddr:      "127.0.0.1:8080",
		Region:           "us-east-1",
		AccountID:        DefaultAccountID,
		LogLevel:         "info",
		ShutdownTimeout:  30 * time.Second,
		MaxConcurrency:   1000,
		MemoryBudgetMB:   defaultMemoryBudgetMB(),
		IdleTimeout:      10 * time.Minute,
		Blanks:           1,
		EventRetryDelay:  time.Minute,
		EventWorkers:     4,
		Isolation:        IsolationLinux,
		LogRetention:     7 * 24 * time.Hour,
		LogRetentionMB:   1024,
		UsageSync:        true,
		DataRateLimit:    1000,
		DataBurstLimit:   2000,
		TraceSampleRatio: 1,
		Price:            usage.Price{PerMillionRequests: 0.20, PerGBSecond: 0.0000166667},
	}
}

// defaultMemoryBudgetMB is half of MemTotal, or 4 GiB when it cannot be read.
func defaultMemoryBudgetMB() int {
	raw, err := os.ReadFile("/proc/meminfo")
	if err == nil {
		var kb int
		for line := range strings.Lines(string(raw)) {
			if _, err := fmt.Sscanf(line, "MemTotal: %d kB", &kb); err == nil && kb > 0 {
				return kb / 1024 / 2
			}
		}
	}
	return 4096
}

// DefaultDataDir is $XDG_DATA_HOME/bulkhead, or ~/.local/share/bulkhead.
func DefaultDataDir() string {
	if x := os.Getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "bulkhead")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "bulkhead")
	}
	return "bulkhead-data"
}

var (
	regionPattern  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`) })
	accountPattern = regexp.MustCompile(`^\d{12}$`)
)

// Validate reports every invalid field, each with its name.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if c.DataDir == "" {
		bad("data-dir", "must not be empty")
	}
	if c.DataRateLimit < 0 || c.DataBurstLimit < 0 || c.DataRateLimit > 0 && c.DataBurstLimit == 0 {
		bad("data-rate-limit", "the rate (%g) and burst (%d) must not be negative, and a rate needs a burst", c.DataRateLimit, c.DataBurstLimit)
	}
	addrs := map[string]string{"api-addr": c.APIAddr, "gateway-addr": c.GatewayAddr}
	if c.MetricsAddr != "" {
		addrs["metrics-addr"] = c.MetricsAddr
	} else if c.Pprof {
		bad("pprof", "needs metrics-addr: the profiler is served on the metrics listener")
	}
	for field, addr := range addrs {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			bad(field, "%q is not host:port (%v)", addr, err)
		}
	}
	if c.APIAddr == c.GatewayAddr && !strings.HasSuffix(c.APIAddr, ":0") {
		bad("gateway-addr", "must differ from api-addr (both are %q)", c.APIAddr)
	}
	if !regionPattern().MatchString(c.Region) {
		bad("region", "%q is not a region name like us-east-1", c.Region)
	}
	if !accountPattern.MatchString(c.AccountID) {
		bad("account-id", "%q is not 12 digits", c.AccountID)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log-level", "%q is not one of debug, info, warn, error", c.LogLevel)
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown-timeout", "must be positive")
	}
	for field, n := range map[string]int{"max-concurrency": c.MaxConcurrency, "max-per-function": c.MaxPerFunction,
		"max-per-tenant": c.MaxPerTenant, "blanks": c.Blanks} {
		if n < 0 {
			bad(field, "must not be negative")
		}
	}
	if c.MemoryBudgetMB < 128 {
		bad("memory-budget-mb", "%d is less than one 128 MB environment", c.MemoryBudgetMB)
	}
	if c.MaxWait < 0 || c.MaxWait > time.Minute {
		bad("max-wait", "%v is not between 0 and 1m", c.MaxWait)
	}
	if c.IdleTimeout <= 0 {
		bad("idle-timeout", "must be positive")
	}
	if c.EventRetryDelay <= 0 {
		bad("event-retry-delay", "must be positive")
	}
	switch c.Isolation {
	case IsolationLinux, IsolationProcess:
	default:
		bad("isolation", "%q is not one of linux, process", c.Isolation)
	}
	if c.LogRetention <= 0 {
		bad("log-retention", "must be positive")
	}
	if c.LogRetentionMB < 1 {
		bad("log-retention-mb", "must be at least 1")
	}
	if c.Price.PerMillionRequests < 0 || c.Price.PerGBSecond < 0 || c.Price.PerEnvironment < 0 {
		bad("price", "prices must not be negative")
	}
	if c.EventWorkers < 1 {
		bad("event-workers", "must be at least 1")
	}
	if c.TraceEndpoint != "" {
		if _, err := tracing.ParseEndpoint(c.TraceEndpoint); err != nil {
			bad("trace-endpoint", "%q is not an http:// or https:// URL", c.TraceEndpoint)
		}
	}
	if c.TraceSampleRatio < 0 || c.TraceSampleRatio > 1 {
		bad("trace-sample-ratio", "%v is not between 0 and 1", c.TraceSampleRatio)
	}
	return errors.Join(errs...)
}

// LoadFile reads a YAML config file over c. Unknown keys are errors, reported
// with their line and column.
func (c *Config) LoadFile(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw), yaml.DisallowUnknownField())
	if err := dec.Decode(c); err != nil {
		return fmt.Errorf("config file %s:\n%s", path, yaml.FormatError(err, false, true))
	}
	return nil
}
