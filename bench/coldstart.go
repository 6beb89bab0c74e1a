package main

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// coldStart measures the first invocation of tenants that have no
// environment, on one server without blanks and one that keeps a
// pre-initialised blank per function version, at each size in ColdMemory.
func (b *bench) coldStart(ctx context.Context) []*section {
	cfg := b.cfg
	sec := &section{ID: "cold-start", Title: "Cold start of a new tenant, blanks off and on"}
	sec.Conditions = []string{
		fmt.Sprintf("Function `bench/functions/noop` (aws-lambda-go no-op), per tenant, at MemorySize %v MB. "+
			"Each request is the first of a tenant never seen before, timed from its scheduled start to its answer through the Lambda API (signed HTTP, concurrency ~1).", cfg.ColdMemory),
		fmt.Sprintf("Open loop: %d new tenants per setting at %.1f/s, slow enough for the server to refill its blank between arrivals. "+
			"One server with `--blanks 0`, another with `--blanks 1`, each with a fresh data directory, usage durable per invocation (the default), "+
			"and a memory budget holding every environment made, so no eviction interferes.", cfg.ColdSamples, cfg.ColdRate),
		"Before measuring, each function is invoked once by a warm-up tenant: a version's first invocation is what starts its blanks.",
	}
	budget := (cfg.ColdSamples + 4) * slices.Max(cfg.ColdMemory) * len(cfg.ColdMemory)
	for _, blanks := range []int{0, 1} {
		opts := serverOptions{Blanks: blanks, MemoryBudgetMB: budget, UsageSync: true}
		err := b.withServer(ctx, opts, func(s *server, c *client) error {
			for _, mb := range cfg.ColdMemory {
				fn := fmt.Sprintf("cold-%d", mb)
				if err := c.createFunction(ctx, function{Name: fn, Binary: b.bin.Noop, MemorySize: mb}); err != nil {
					return err
				}
				if _, err := c.invoke(ctx, fn, "warmup", []byte("{}")); err != nil {
					return fmt.Errorf("warm-up invocation: %w", err)
				}
			}
			sleep(ctx, time.Second) // the blanks' first fill
			for _, mb := range cfg.ColdMemory {
				fn := fmt.Sprintf("cold-%d", mb)
				name := coldSetName(blanks, mb)
				b.log.Info("cold start: "+name, "n", cfg.ColdSamples, "rate", cfg.ColdRate)
				set := summarize(name, openLoop(ctx, cfg.ColdRate, cfg.ColdSamples, func(ctx context.Context, i int) error {
					_, err := c.invoke(ctx, fn, fmt.Sprintf("new-%d-%d-%d", blanks, mb, i), []byte("{}"))
					return err
				}))
				set.OfferedRate = cfg.ColdRate
				sec.Sets = append(sec.Sets, set)
				sleep(ctx, 500*time.Millisecond)
			}
			if blanks > 0 {
				m, err := c.metrics(ctx, s.metrics)
				if err != nil {
					return err
				}
				sec.figure("blanks held by the blanks-on server at the end (one per function version)", m[`bulkhead_environments{state="blank"}`], "")
			}
			return nil
		})
		if err != nil {
			return failed(fmt.Errorf("blanks %d: %w", blanks, err), sec)
		}
	}
	for _, set := range sec.Sets {
		switch set.Name {
		case coldSetName(0, cfg.ColdMemory[0]):
			b.measured.ColdNoBlank = &set
		case coldSetName(1, cfg.ColdMemory[0]):
			b.measured.ColdBlank = &set
		}
	}
	sets := slices.Clone(sec.Sets)
	if b.measured.ExecFloor != nil {
		sets = append(sets, *b.measured.ExecFloor)
	}
	if err := drawCDFs(b.out, "cold-start.png", "New tenant's first response, blanks off and on", sets); err != nil {
		return failed(err, sec)
	}
	sec.Plots = []string{"cold-start.png"}
	sec.note("The plot adds the floor's fork/exec of the same handler without a sandbox, when that scenario ran.")
	return []*section{sec}
}

func coldSetName(blanks, mb int) string {
	if blanks == 0 {
		return fmt.Sprintf("new tenant, no blank, %d MB", mb)
	}
	return fmt.Sprintf("new tenant, claims a blank, %d MB", mb)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
