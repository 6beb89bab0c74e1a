package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"gonum.org/v1/plot/plotter"
)

// usageVariant is a setting of the server's usage metering, the largest
// per-invocation cost a warm invocation carries besides the sandbox.
type usageVariant struct {
	Name string
	Sync bool
}

var usageVariants = []usageVariant{
	{Name: "usage durable (default)", Sync: true},
	{Name: "--no-usage-sync", Sync: false},
}

// throughputPoint is one concurrency level's outcome.
type throughputPoint struct {
	Variant     string  `json:"variant"`
	Concurrency int     `json:"concurrency"`
	PerSecond   float64 `json:"invocations_per_s"`
	P50         float64 `json:"p50_ms"`
	P99         float64 `json:"p99_ms"`
	Errors      int     `json:"errors"`
	// CPU per invocation, in milliseconds: the server process, the
	// environments' processes, and the load generator (this program).
	ServerCPU    float64 `json:"server_cpu_ms_per_invocation"`
	FunctionCPU  float64 `json:"environment_cpu_ms_per_invocation"`
	GeneratorCPU float64 `json:"generator_cpu_ms_per_invocation"`
}

// warmAndThroughput measures, on one server per usage variant, warm
// invocations of one tenant at a constant rate and then the no-op
// function's throughput at each concurrency level.
func (b *bench) warmAndThroughput(ctx context.Context) []*section {
	cfg := b.cfg
	warm := &section{ID: "warm", Title: "Warm invoke at concurrency 1"}
	tput := &section{ID: "throughput", Title: "Throughput of the no-op handler against concurrency"}
	warm.Conditions = []string{
		fmt.Sprintf("Function `bench/functions/noop`, per tenant, MemorySize %d MB (1,769 MB is one full CPU in the sandbox's proportional quota). "+
			"One tenant, warm: before measuring, %d concurrent invocations three times (so a request that overlaps the previous one finds a warm environment too) and 20 one after another.", cfg.WarmMemory, warmEnvironments),
		fmt.Sprintf("Open loop: %d invocations at %.0f/s (well below capacity: concurrency stays ~1), each a bare SigV4-signed POST to "+
			"`/2015-03-31/functions/noop/invocations` with `X-Amz-Tenant-Id`, on a kept-alive connection, timed from its scheduled start "+
			"(signing included, see the floors). The AWS SDK for Go would add about 0.5 ms of client middleware.", cfg.WarmSamples, cfg.WarmRate),
		"Two servers: usage made durable before each answer (the default, one SQLite commit with fsync) and `--no-usage-sync`. `--blanks 0`.",
	}
	tput.Conditions = []string{
		fmt.Sprintf("Same function and servers as the warm scenario. Closed loop per level: c workers, worker w always invokes as tenant `tput-w`, "+
			"so each level runs c warm environments (one per tenant, each with its own CPU quota) and the platform's per-invocation path is what saturates. "+
			"Each level is primed (every worker's environment made), warmed for 0.5 s, then measured for %s.", cfg.ThroughputTime),
		"The load generator runs on the same 2 cores as the server and the functions: it takes part of the CPU it measures (see the floors' loopback closed loop).",
	}
	var points []throughputPoint
	for _, v := range usageVariants {
		opts := serverOptions{Blanks: 0, UsageSync: v.Sync,
			// Room for the warm tenant's and every throughput
			// environment at WarmMemory: the budget counts MemorySize, not
			// use, so it is far above what they hold.
			MemoryBudgetMB: (slices.Max(cfg.Concurrency) + warmEnvironments + 2) * cfg.WarmMemory}
		err := b.withServer(ctx, opts, func(s *server, c *client) error {
			if err := c.createFunction(ctx, function{Name: "noop", Binary: b.bin.Noop, MemorySize: cfg.WarmMemory}); err != nil {
				return err
			}
			invoke := func(tenant string) func(context.Context, int) error {
				return func(ctx context.Context, _ int) error {
					_, err := c.invoke(ctx, "noop", tenant, []byte("{}"))
					return err
				}
			}
			if b.cfg.wants("warm") {
				if err := warmUp(ctx, invoke("warm")); err != nil {
					return fmt.Errorf("warm-up: %w", err)
				}
				before, err := c.metrics(ctx, s.metrics)
				if err != nil {
					return err
				}
				name := "warm invoke, " + v.Name
				b.log.Info(name, "n", cfg.WarmSamples, "rate", cfg.WarmRate)
				set := summarize(name, openLoop(ctx, cfg.WarmRate, cfg.WarmSamples, invoke("warm")))
				set.OfferedRate = cfg.WarmRate
				warm.Sets = append(warm.Sets, set)
				after, err := c.metrics(ctx, s.metrics)
				if err != nil {
					return err
				}
				// A request that overlaps more than the warm environments
				// starts another: the count shows whether the measurement
				// stayed warm.
				cold := sumPrefix(after, "bulkhead_cold_starts_total") - sumPrefix(before, "bulkhead_cold_starts_total")
				warm.figure("cold starts during the measurement, "+v.Name, cold, "")
				warm.figure("the tenant's environments at the end, "+v.Name, after[`bulkhead_environments{state="idle"}`], "")
			}
			if !b.cfg.wants("throughput") {
				return nil
			}
			for _, level := range cfg.Concurrency {
				if err := prime(ctx, level, func(ctx context.Context, w int) error {
					return invoke(fmt.Sprintf("tput-%d", w))(ctx, w)
				}); err != nil {
					return fmt.Errorf("making %d environments: %w", level, err)
				}
				name := fmt.Sprintf("c=%d, %s", level, v.Name)
				b.log.Info("throughput "+name, "for", cfg.ThroughputTime)
				before, cpuErr := measureCPU(s.pid())
				loop := closedLoop(ctx, level, 500*time.Millisecond, cfg.ThroughputTime, func(ctx context.Context, i int) error {
					return invoke(fmt.Sprintf("tput-%d", i%level))(ctx, i)
				})
				after, cpuErr2 := measureCPU(s.pid())
				set := summarize(name, loop)
				set.Concurrency = level
				tput.Sets = append(tput.Sets, set)
				p := throughputPoint{Variant: v.Name, Concurrency: level, PerSecond: set.Rate, P50: set.P50, P99: set.P99, Errors: set.Errors}
				if n := float64(loop.completed); cpuErr == nil && cpuErr2 == nil && n > 0 {
					p.ServerCPU = round3((after.Server - before.Server) * 1000 / n)
					p.FunctionCPU = round3((after.Environments - before.Environments) * 1000 / n)
					p.GeneratorCPU = round3((after.Generator - before.Generator) * 1000 / n)
				}
				points = append(points, p)
			}
			return nil
		})
		if err != nil {
			return failed(fmt.Errorf("%s: %w", v.Name, err), wanted(b.cfg, warm, tput)...)
		}
	}
	tput.Data = points
	if len(points) > 0 && points[0].ServerCPU > 0 {
		t := table{
			Title:  "CPU per invocation (ms), from /proc/PID/stat around each level, warm-up included; the CPUs' capacity over their sum bounds the throughput:",
			Header: []string{"level", "server", "environments", "load generator", "sum", "2 cores ÷ sum"},
		}
		for _, p := range points {
			sum := p.ServerCPU + p.FunctionCPU + p.GeneratorCPU
			bound := "—"
			if sum > 0 {
				bound = fmt.Sprintf("%.0f/s", float64(b.report.Machine.Cores)*1000/sum)
			}
			t.Rows = append(t.Rows, []string{fmt.Sprintf("c=%d, %s", p.Concurrency, p.Variant),
				fmt.Sprintf("%.2f", p.ServerCPU), fmt.Sprintf("%.2f", p.FunctionCPU), fmt.Sprintf("%.2f", p.GeneratorCPU), fmt.Sprintf("%.2f", sum), bound})
		}
		tput.Tables = append(tput.Tables, t)
	}
	for _, set := range warm.Sets {
		if set.Name == "warm invoke, "+usageVariants[0].Name {
			b.measured.Warm = &set
		} else {
			b.measured.WarmNoSync = &set
		}
	}
	for _, set := range tput.Sets {
		if set.Name == fmt.Sprintf("c=1, %s", usageVariants[0].Name) {
			b.measured.WarmBackToBack = &set
		}
	}
	for _, p := range points {
		if best, ok := b.measured.BestThroughput[p.Variant]; !ok || p.PerSecond > best.PerSecond {
			if b.measured.BestThroughput == nil {
				b.measured.BestThroughput = map[string]throughputPoint{}
			}
			b.measured.BestThroughput[p.Variant] = p
		}
	}
	if len(warm.Sets) > 0 {
		sets := slices.Clone(warm.Sets)
		if b.measured.LoopFloor != nil {
			sets = append(sets, *b.measured.LoopFloor)
		}
		if err := drawCDFs(b.out, "warm.png", "Warm invoke latency, open loop", sets); err != nil {
			return failed(err, warm, tput)
		}
		warm.Plots = []string{"warm.png"}
		warm.note("The plot adds the floors' bare loopback round trip at the same rate, when that scenario ran.")
	}
	if len(points) > 0 {
		var rate, lat []line
		for _, v := range usageVariants {
			var r, p50, p99 plotter.XYs
			for _, p := range points {
				if p.Variant != v.Name {
					continue
				}
				r = append(r, plotter.XY{X: float64(p.Concurrency), Y: p.PerSecond})
				p50 = append(p50, plotter.XY{X: float64(p.Concurrency), Y: p.P50})
				p99 = append(p99, plotter.XY{X: float64(p.Concurrency), Y: p.P99})
			}
			rate = append(rate, line{Name: v.Name, XY: r})
			lat = append(lat, line{Name: "p50, " + v.Name, XY: p50}, line{Name: "p99, " + v.Name, XY: p99})
		}
		if err := drawLines(b.out, "throughput.png", axes{Title: "No-op invocations per second against concurrency", X: "concurrency (log scale)", Y: "invocations per second", LogX: true}, rate); err != nil {
			return failed(err, warm, tput)
		}
		if err := drawLines(b.out, "throughput-latency.png", axes{Title: "Latency under closed-loop load", X: "concurrency (log scale)", Y: "latency (ms, log scale)", LogX: true, LogY: true}, lat); err != nil {
			return failed(err, warm, tput)
		}
		tput.Plots = []string{"throughput.png", "throughput-latency.png"}
	}
	return wanted(b.cfg, warm, tput)
}

// warmUp readies one tenant for open-loop load: environments for a few
// overlapping requests, then twenty invocations one after another. Under
// open-loop load an answer delayed by a stall overlaps the next requests,
// and each overlapping request without an idle environment waits for a
// cold start of its own, whose CPU delays the answers behind it in turn:
// on 2 cores a few such starts grow into a storm that no longer measures
// a warm invocation at all.
func warmUp(ctx context.Context, invoke func(context.Context, int) error) error {
	for range 3 {
		if err := prime(ctx, warmEnvironments, func(ctx context.Context, w int) error { return invoke(ctx, w) }); err != nil {
			return err
		}
	}
	for i := range 20 {
		if err := invoke(ctx, i); err != nil {
			return err
		}
	}
	return nil
}

// warmEnvironments is how many environments warmUp makes for a tenant.
const warmEnvironments = 8

// prime makes n workers each run f once at the same time, so every
// worker's environment exists before a measurement starts.
func prime(ctx context.Context, n int, f func(ctx context.Context, w int) error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for w := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = f(ctx, w)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// wanted keeps the sections of the scenarios the run was asked for.
func wanted(cfg Config, secs ...*section) []*section {
	var out []*section
	for _, s := range secs {
		if cfg.wants(s.ID) {
			out = append(out, s)
		}
	}
	return out
}
