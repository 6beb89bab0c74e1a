package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// bench is one run: its configuration, the binaries it built, the report
// it fills, and the figures the targets are judged by.
type bench struct {
	cfg       Config
	log       *slog.Logger // progress, on stderr
	root      string       // module root
	work      string       // binaries and data directories
	out       string       // the report directory
	isolation string
	bin       binaries
	report    *Report
	measured  measured
}

// binaries are the programs the run built.
type binaries struct {
	Bulkhead, Noop, State string
}

// run is the whole program: flags, builds, scenarios, report.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	started := time.Now()
	b := &bench{cfg: cfg, log: progressLogger(stderr, started)}
	if b.root, err = moduleRoot(ctx); err != nil {
		return err
	}
	b.isolation = cfg.Isolation
	if b.isolation == "" {
		b.isolation = "process"
		if os.Geteuid() == 0 {
			b.isolation = "linux"
		}
	}
	if b.isolation == "linux" && os.Geteuid() != 0 {
		return errors.New("--isolation linux: the Linux sandbox needs root; run as root or pass --isolation process")
	}
	b.log.Info("isolation " + b.isolation + isolationNote(b.isolation))
	b.out = cfg.Out
	if b.out == "" {
		b.out = filepath.Join(b.root, "bench", "report", started.Format("20060102-150405"))
	}
	if b.out, err = filepath.Abs(b.out); err != nil {
		return err
	}
	if err := os.MkdirAll(b.out, 0o755); err != nil {
		return err
	}
	if b.work, err = os.MkdirTemp(cfg.WorkDir, "bulkhead-bench-"); err != nil {
		return err
	}
	defer os.RemoveAll(b.work)
	if b.work, err = filepath.Abs(b.work); err != nil {
		return err
	}
	if err := b.build(ctx); err != nil {
		return err
	}
	b.report = &Report{
		Machine: machineFacts(ctx, b.root, b.isolation, b.work),
		Quick:   cfg.Quick,
		Args:    args,
		Started: started,
	}

	var failed []string
	for _, s := range []struct {
		ids []string
		run func(context.Context) []*section
	}{
		{[]string{"floors"}, b.floors},
		{[]string{"cold-start"}, b.coldStart},
		{[]string{"warm", "throughput"}, b.warmAndThroughput},
		{[]string{"density", "routing"}, b.population},
		{[]string{"churn"}, b.churn},
	} {
		wanted := false
		for _, id := range s.ids {
			wanted = wanted || cfg.wants(id)
		}
		if !wanted {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		for _, sec := range s.run(ctx) {
			if sec.Error != "" {
				failed = append(failed, sec.ID)
				b.log.Error(sec.ID+" failed", "err", sec.Error)
			}
			b.report.Sections = append(b.report.Sections, sec)
		}
		// The report so far, so a run stopped part way keeps what it
		// measured.
		b.report.Targets = b.targets()
		b.report.Duration = time.Since(started).Round(time.Second).String() + " (so far)"
		if err := writeReport(b.out, b.report); err != nil {
			return err
		}
	}
	b.report.Targets = b.targets()
	b.report.Duration = time.Since(started).Round(time.Second).String()
	if err := writeReport(b.out, b.report); err != nil {
		return err
	}
	b.log.Info("report in " + b.out + "/summary.md")
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if len(failed) > 0 {
		return fmt.Errorf("scenarios failed: %v (the report says why)", failed)
	}
	return nil
}

func isolationNote(isolation string) string {
	if isolation == "process" {
		return ": plain processes, no sandbox (run as root for the Linux sandbox)"
	}
	return ": the Linux sandbox"
}

// build compiles the server and the two functions into the work directory.
func (b *bench) build(ctx context.Context) error {
	b.log.Info("building bulkhead and the functions")
	b.bin = binaries{
		Bulkhead: filepath.Join(b.work, "bulkhead"),
		Noop:     filepath.Join(b.work, "noop"),
		State:    filepath.Join(b.work, "state"),
	}
	for pkg, out := range map[string]string{
		"./cmd/bulkhead":          b.bin.Bulkhead,
		"./bench/functions/noop":  b.bin.Noop,
		"./bench/functions/state": b.bin.State,
	} {
		if err := goBuild(ctx, b.root, pkg, out); err != nil {
			return err
		}
	}
	return nil
}

// progressLogger writes progress lines with the time since the start.
func progressLogger(w io.Writer, started time.Time) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.String("t", time.Since(started).Round(100*time.Millisecond).String())
			}
			if len(groups) == 0 && a.Key == slog.LevelKey && a.Value.String() == "INFO" {
				return slog.Attr{}
			}
			return a
		},
	}))
}

// withServer starts a server with opts, runs f against it and stops it.
func (b *bench) withServer(ctx context.Context, opts serverOptions, f func(*server, *client) error) error {
	s, err := startServer(ctx, b.bin.Bulkhead, b.work, b.isolation, opts)
	if err != nil {
		return err
	}
	runErr := f(s, newClient(s.api))
	stopErr := s.stop()
	if runErr != nil {
		if stopErr == nil {
			return runErr
		}
		return fmt.Errorf("%w (and stopping the server: %v)", runErr, stopErr)
	}
	if stopErr != nil {
		return fmt.Errorf("stopping the server: %w\n%s", stopErr, s.output)
	}
	return nil
}

// failed records err in each section.
func failed(err error, secs ...*section) []*section {
	for _, s := range secs {
		if err != nil && s.Error == "" {
			s.Error = err.Error()
		}
	}
	return secs
}
