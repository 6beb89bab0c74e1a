package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"gonum.org/v1/plot/plotter"
)

// churn sends ChurnTenants distinct tenants, each once, at a server whose
// memory budget holds only ChurnLive environments, so nearly every arrival
// evicts the least recently used idle environment to make its own.
func (b *bench) churn(ctx context.Context) []*section {
	cfg := b.cfg
	sec := &section{ID: "churn", Title: "Tenant churn through eviction"}
	budget := cfg.ChurnLive * 128
	rate := cfg.ChurnRate
	var set Summary
	var byTenant plotter.XYs
	err := b.withServer(ctx, serverOptions{Blanks: 0, MemoryBudgetMB: budget, UsageSync: true}, func(s *server, c *client) error {
		fn := function{Name: "churn", Binary: b.bin.State, MemorySize: 128, Env: map[string]string{"STATE_BYTES": strconv.Itoa(cfg.StateBytes)}}
		if err := c.createFunction(ctx, fn); err != nil {
			return err
		}
		newTenant := func(prefix string) request {
			return func(ctx context.Context, i int) error {
				out, err := c.invoke(ctx, "churn", fmt.Sprintf("%s-%07d", prefix, i), []byte("{}"))
				if err != nil {
					return err
				}
				var r struct{ Count int }
				if err := json.Unmarshal(out, &r); err != nil {
					return &functionError{Kind: "unreadable response", Payload: string(out)}
				}
				if r.Count != 1 {
					return &functionError{Kind: "environment reused", Payload: string(out)}
				}
				return nil
			}
		}
		if rate == 0 {
			// An open loop above what the machine sustains only measures a
			// queue growing; each new tenant here is a sandbox start and an
			// eviction, whose cost depends on the machine.
			b.log.Info("churn: calibrating the rate", "for", cfg.ChurnCalibration)
			calib := summarize("calibration", closedLoop(ctx, 2, time.Second, cfg.ChurnCalibration, newTenant("calibration")))
			if calib.Errors > 0 || calib.Rate == 0 {
				return fmt.Errorf("calibration: %d errors (%s), %.1f/s", calib.Errors, calib.FirstError, calib.Rate)
			}
			rate = math.Round(churnLoad*calib.Rate*10) / 10
			sec.figure(fmt.Sprintf("new tenants per second sustained, closed loop 2 at a time for %s (calibration)", cfg.ChurnCalibration), calib.Rate, "/s")
			sec.figure(fmt.Sprintf("offered rate: %.0f%% of that", churnLoad*100), rate, "/s")
		}
		b.log.Info("churn", "tenants", cfg.ChurnTenants, "rate", rate, "minutes", round3(float64(cfg.ChurnTenants)/rate/60))
		before, err := c.metrics(ctx, s.metrics)
		if err != nil {
			return err
		}
		samples := openLoop(ctx, rate, cfg.ChurnTenants, func(ctx context.Context, i int) error {
			err := newTenant("churn")(ctx, i)
			if (i+1)%1000 == 0 {
				b.log.Info("churn", "sent", i+1)
			}
			return err
		})
		set = summarize(fmt.Sprintf("new tenant under eviction, %d tenants", cfg.ChurnTenants), samples)
		set.OfferedRate = rate
		index, latency := samples.byIndex()
		for k, i := range index {
			byTenant = append(byTenant, plotter.XY{X: float64(i + 1), Y: float64(latency[k].Microseconds()) / 1000})
		}
		m, err := c.metrics(ctx, s.metrics)
		if err != nil {
			return err
		}
		sec.figure("tenants", float64(cfg.ChurnTenants), "")
		sec.figure("errors", float64(set.Errors), "")
		sec.figure("evictions (server's count)", m["bulkhead_evictions"]-before["bulkhead_evictions"], "")
		sec.figure("environments idle at the end", m[`bulkhead_environments{state="idle"}`], "")
		sec.figure("invocations throttled (server's count)", sumPrefix(m, "bulkhead_throttles_total")-sumPrefix(before, "bulkhead_throttles_total"), "")
		mem, err := measureMemory(s.pid(), s.dataDir)
		if err != nil {
			return err
		}
		if mem.Processes > 0 {
			if b.isolation == "linux" && mem.Cgroups > 0 {
				sec.figure("memory charged per idle environment holding the state", round3(mib(mem.CgroupCharged)/float64(mem.Cgroups)), "MiB")
			}
			sec.figure("PSS per idle environment holding the state", round3(mib(mem.ChildPSS)/float64(mem.Processes)), "MiB")
		}
		return nil
	})
	if set.Name != "" {
		sec.Sets = []Summary{set}
		b.measured.Churn = &set
		b.measured.ChurnTenants = cfg.ChurnTenants
	}
	sec.Conditions = []string{
		fmt.Sprintf("Function `bench/functions/state` (aws-lambda-go; allocates %d bytes at init and writes every page of it on each invocation), "+
			"per tenant, MemorySize 128 MB. One server, `--blanks 0`, `--memory-budget-mb %d` (%d environments), usage durable.", cfg.StateBytes, budget, cfg.ChurnLive),
		fmt.Sprintf("Open loop: %d distinct tenants at %.1f/s, each invoked once; from the %dth on, each first evicts an idle environment. "+
			"An error is any answer but 200 without a function error, or a response showing the environment had served before (count ≠ 1).",
			cfg.ChurnTenants, rate, cfg.ChurnLive+1),
	}
	if cfg.ChurnRate == 0 {
		sec.Conditions = append(sec.Conditions, fmt.Sprintf("The rate is %.0f%% of what the same server sustained just before in a closed loop, "+
			"two new tenants at a time for %s (`--churn-rate` sets it instead): an open loop above capacity measures only a growing queue, "+
			"and its waits past `--max-wait` (1 s) as throttles.", churnLoad*100, cfg.ChurnCalibration))
	}
	b.measured.ChurnRate = rate
	if err != nil {
		return failed(err, sec)
	}
	if err := drawScatter(b.out, "churn.png", axes{Title: "Each new tenant's first response under eviction", X: "tenant number (arrival order)", Y: "latency (ms, log scale)", LogY: true}, byTenant); err != nil {
		return failed(err, sec)
	}
	if err := drawCDFs(b.out, "churn-cdf.png", "New tenant under eviction: latency distribution", sec.Sets); err != nil {
		return failed(err, sec)
	}
	sec.Plots = []string{"churn.png", "churn-cdf.png"}
	return []*section{sec}
}

// churnLoad is the fraction of the calibrated capacity the churn's open
// loop offers: low enough that a slower spell does not grow a queue past
// --max-wait.
const churnLoad = 0.5

// sumPrefix sums every sample whose name starts with name and a brace.
func sumPrefix(m map[string]float64, name string) float64 {
	total := 0.0
	for k, v := range m {
		if len(k) > len(name) && k[:len(name)] == name && k[len(name)] == '{' {
			total += v
		}
	}
	return total
}
