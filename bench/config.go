package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config is everything a benchmark run can be told. Counts are the full
// run's; Quick replaces them with tiny ones (see quick).
type Config struct {
	// Out is the report directory; empty means bench/report/<timestamp>
	// under the module root.
	Out string
	// Quick runs every scenario with tiny counts, to check that each runs
	// and writes its report; its figures mean nothing.
	Quick bool
	// Isolation is the servers' --isolation: linux or process; empty picks
	// linux as root and process otherwise.
	Isolation string
	// WorkDir holds the built binaries and the servers' data directories,
	// removed at the end; empty means the system's temporary directory.
	WorkDir string
	// Only, when not empty, runs just these scenarios (ids, comma-separated).
	Only []string

	// ColdSamples new tenants are measured per setting, arriving at
	// ColdRate per second (slow enough for a blank's refill in between).
	ColdSamples int
	ColdRate    float64
	// ColdMemory are the function sizes the cold start is measured at.
	ColdMemory []int

	// WarmSamples warm invocations at WarmRate per second, one tenant.
	WarmSamples int
	WarmRate    float64
	// WarmMemory is the warm and throughput functions' MemorySize: 1769 MB
	// is one full CPU, so the CPU quota of a small function does not show.
	WarmMemory int

	// Concurrency levels of the throughput scenario, each measured for
	// ThroughputTime after a warm-up.
	Concurrency    []int
	ThroughputTime time.Duration

	// Envs is the most live environments the density and routing scenario
	// creates (one tenant each, 128 MB); it also stops at PopulationTime,
	// at the memory budget, or before the machine runs out of process ids
	// or the server of file descriptors.
	Envs           int
	PopulationTime time.Duration
	// DensityBudgetMB is that server's --memory-budget-mb; 0 means large
	// enough for Envs environments (the budget counts MemorySize, not use).
	DensityBudgetMB int
	// RoutingAt are the live-environment counts the routing latency is
	// measured at; the count the population stops at is added.
	RoutingAt []int
	// RoutingSamples warm invocations of one tenant at RoutingRate per
	// second at each count.
	RoutingSamples int
	RoutingRate    float64

	// ChurnTenants distinct tenants arrive at ChurnRate per second, each
	// once, at a server whose budget holds ChurnLive environments.
	// ChurnRate 0 calibrates it: churnLoad of the rate the server sustains
	// in a closed loop for ChurnCalibration just before.
	ChurnTenants     int
	ChurnRate        float64
	ChurnCalibration time.Duration
	ChurnLive        int
	// StateBytes is what the state function allocates and touches.
	StateBytes int

	// ExecSamples fork/execs of the handler binary for the floor.
	ExecSamples int
}

// DefaultConfig is the full run.
func DefaultConfig() Config {
	return Config{
		ColdSamples:      40,
		ColdRate:         2.5,
		ColdMemory:       []int{128, 1769},
		WarmSamples:      2000,
		WarmRate:         100,
		WarmMemory:       1769,
		Concurrency:      []int{1, 2, 4, 8, 16, 32, 64},
		ThroughputTime:   3 * time.Second,
		Envs:             10000,
		PopulationTime:   3 * time.Minute,
		RoutingAt:        []int{10, 100, 1000, 10000},
		RoutingSamples:   300,
		RoutingRate:      50,
		ChurnTenants:     10000,
		ChurnRate:        0,
		ChurnCalibration: 20 * time.Second,
		ChurnLive:        16,
		StateBytes:       1 << 20,
		ExecSamples:      100,
		DensityBudgetMB:  0,
	}
}

// quick replaces the counts with tiny ones.
func (c *Config) quick() {
	c.ColdSamples = 4
	c.ColdRate = 5
	c.ColdMemory = []int{128}
	c.WarmSamples = 100
	c.WarmRate = 100
	c.Concurrency = []int{1, 2, 4}
	c.ThroughputTime = 300 * time.Millisecond
	c.Envs = 12
	c.PopulationTime = 30 * time.Second
	c.RoutingAt = []int{2, 5, 10}
	c.RoutingSamples = 20
	c.RoutingRate = 50
	c.ChurnTenants = 20
	c.ChurnRate = 0
	c.ChurnCalibration = 2 * time.Second
	c.ChurnLive = 4
	c.ExecSamples = 5
}

// scenarios are the ids Only may name, in the order they run.
var scenarios = []string{"floors", "cold-start", "warm", "throughput", "density", "routing", "churn"}

// wants reports whether the scenario id is to run.
func (c *Config) wants(id string) bool {
	if len(c.Only) == 0 {
		return true
	}
	return slices.Contains(c.Only, id)
}

// Validate reports every field that cannot work, by flag name.
func (c *Config) Validate() error {
	var errs []error
	bad := func(flag, format string, args ...any) {
		errs = append(errs, fmt.Errorf("--%s: %s", flag, fmt.Sprintf(format, args...)))
	}
	switch c.Isolation {
	case "", "linux", "process":
	default:
		bad("isolation", "%q is not linux or process", c.Isolation)
	}
	for _, id := range c.Only {
		if !slices.Contains(scenarios, id) {
			bad("only", "%q is not a scenario (%s)", id, strings.Join(scenarios, ", "))
		}
	}
	positive := map[string]float64{
		"cold-samples": float64(c.ColdSamples), "cold-rate": c.ColdRate, "warm-samples": float64(c.WarmSamples),
		"warm-rate": c.WarmRate, "envs": float64(c.Envs), "routing-samples": float64(c.RoutingSamples),
		"routing-rate": c.RoutingRate, "churn-tenants": float64(c.ChurnTenants),
		"churn-live": float64(c.ChurnLive), "exec-samples": float64(c.ExecSamples),
		"throughput-time": float64(c.ThroughputTime), "population-time": float64(c.PopulationTime),
	}
	for _, name := range slices.Sorted(maps.Keys(positive)) {
		if positive[name] <= 0 {
			bad(name, "must be positive")
		}
	}
	if c.WarmMemory < 128 || c.WarmMemory > 10240 {
		bad("warm-memory", "%d MB is outside Lambda's 128–10240", c.WarmMemory)
	}
	for _, mb := range c.ColdMemory {
		if mb < 128 || mb > 10240 {
			bad("cold-memory", "%d MB is outside Lambda's 128–10240", mb)
		}
	}
	if len(c.ColdMemory) == 0 {
		bad("cold-memory", "needs at least one size")
	}
	for _, n := range c.Concurrency {
		if n <= 0 {
			bad("concurrency", "level %d must be positive", n)
		}
	}
	if len(c.Concurrency) == 0 {
		bad("concurrency", "needs at least one level")
	}
	if c.DensityBudgetMB != 0 && c.DensityBudgetMB < 128 {
		bad("density-budget-mb", "%d is less than one 128 MB environment", c.DensityBudgetMB)
	}
	if c.ChurnRate < 0 {
		bad("churn-rate", "must not be negative")
	}
	if c.ChurnRate == 0 && c.ChurnCalibration <= 0 {
		bad("churn-calibration", "must be positive when --churn-rate is 0")
	}
	if c.StateBytes < 0 {
		bad("state-bytes", "must not be negative")
	}
	return errors.Join(errs...)
}

// parseFlags binds the command line to a Config. --quick sets the counts'
// starting values, which the other flags then override, so the arguments
// are read twice: once for --quick, once for everything.
func parseFlags(args []string, stderr io.Writer) (Config, error) {
	var probe Config
	if err := flags(&probe, io.Discard).Parse(args); err != nil {
		probe.Quick = false // the second parse reports it
	}
	cfg := DefaultConfig()
	if probe.Quick {
		cfg.quick()
	}
	fs := flags(&cfg, stderr)
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return cfg, cfg.Validate()
}

const usage = `Usage: go run ./bench [flags]

Starts Bulkhead servers with fresh data directories, deploys a no-op and a
small-state aws-lambda-go function, drives them over the Lambda API and
writes a report: machine facts, results.json, samples.json, summary.md and
PNG plots. Run it from the repository; it needs Go. As root the servers use
the Linux sandbox, otherwise plain processes (--isolation process).

Flags:
`

// flags defines every flag on a new set, writing into cfg.
func flags(cfg *Config, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	fs.BoolVar(&cfg.Quick, "quick", cfg.Quick, "tiny counts, about a minute: checks that every scenario runs and reports, never a speed")
	fs.StringVar(&cfg.Out, "out", cfg.Out, "report directory (default bench/report/<timestamp>)")
	fs.StringVar(&cfg.Isolation, "isolation", cfg.Isolation, "servers' isolation: linux or process (default linux as root, else process)")
	fs.StringVar(&cfg.WorkDir, "work-dir", cfg.WorkDir, "where binaries and data directories go, removed at the end (default the system temp dir)")
	fs.Var((*stringList)(&cfg.Only), "only", "run only these scenarios, comma-separated: "+strings.Join(scenarios, ","))
	fs.IntVar(&cfg.ColdSamples, "cold-samples", cfg.ColdSamples, "new tenants measured per cold-start setting")
	fs.Float64Var(&cfg.ColdRate, "cold-rate", cfg.ColdRate, "new tenants per second in the cold-start scenario")
	fs.Var((*intList)(&cfg.ColdMemory), "cold-memory", "MemorySize values (MB) the cold start is measured at, comma-separated")
	fs.IntVar(&cfg.WarmSamples, "warm-samples", cfg.WarmSamples, "warm invocations measured")
	fs.Float64Var(&cfg.WarmRate, "warm-rate", cfg.WarmRate, "warm invocations per second (open loop)")
	fs.IntVar(&cfg.WarmMemory, "warm-memory", cfg.WarmMemory, "MemorySize (MB) of the warm and throughput functions")
	fs.Var((*intList)(&cfg.Concurrency), "concurrency", "throughput concurrency levels, comma-separated")
	fs.DurationVar(&cfg.ThroughputTime, "throughput-time", cfg.ThroughputTime, "how long each concurrency level is measured")
	fs.IntVar(&cfg.Envs, "envs", cfg.Envs, "most live environments in the density and routing scenarios")
	fs.DurationVar(&cfg.PopulationTime, "population-time", cfg.PopulationTime, "most time spent creating those environments")
	fs.IntVar(&cfg.DensityBudgetMB, "density-budget-mb", cfg.DensityBudgetMB, "--memory-budget-mb of the density server (0: room for --envs)")
	fs.Var((*intList)(&cfg.RoutingAt), "routing-at", "live-environment counts the routing latency is measured at, comma-separated")
	fs.IntVar(&cfg.RoutingSamples, "routing-samples", cfg.RoutingSamples, "warm invocations measured at each routing count")
	fs.Float64Var(&cfg.RoutingRate, "routing-rate", cfg.RoutingRate, "warm invocations per second at each routing count")
	fs.IntVar(&cfg.ChurnTenants, "churn-tenants", cfg.ChurnTenants, "distinct tenants in the churn scenario (e.g. 100000)")
	fs.Float64Var(&cfg.ChurnRate, "churn-rate", cfg.ChurnRate, "new tenants per second in the churn scenario (0: half the rate the server sustains, measured first)")
	fs.DurationVar(&cfg.ChurnCalibration, "churn-calibration", cfg.ChurnCalibration, "how long the churn rate is calibrated for when --churn-rate is 0")
	fs.IntVar(&cfg.ChurnLive, "churn-live", cfg.ChurnLive, "environments the churn server's memory budget holds")
	fs.IntVar(&cfg.StateBytes, "state-bytes", cfg.StateBytes, "bytes the state function allocates and touches")
	fs.IntVar(&cfg.ExecSamples, "exec-samples", cfg.ExecSamples, "fork/execs of the handler binary for the floor")
	return fs
}

// intList is a comma-separated list of integers as a flag value.
type intList []int

func (l *intList) String() string {
	if l == nil {
		return ""
	}
	parts := make([]string, len(*l))
	for i, n := range *l {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ",")
}

func (l *intList) Set(s string) error {
	var out []int
	for _, part := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil {
			return fmt.Errorf("%q is not a number", part)
		}
		out = append(out, n)
	}
	*l = out
	return nil
}

// stringList is a comma-separated list as a flag value.
type stringList []string

func (l *stringList) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(*l, ",")
}

func (l *stringList) Set(s string) error {
	*l = strings.Split(s, ",")
	return nil
}
