package server

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/bulkhead-dev/bulkhead/internal/sandbox"
	"github.com/bulkhead-dev/bulkhead/internal/sandbox/linux"
	"github.com/bulkhead-dev/bulkhead/internal/sandbox/process"
)

// newDriver returns the sandbox driver cfg.Isolation asks for, and a
// description of what it enforces for /healthz. Where the Linux sandbox
// cannot be built it refuses, naming --isolation=process and what that
// gives up: isolation is never weakened silently.
func newDriver(cfg Config, log *slog.Logger, notice io.Writer) (sandbox.Driver, string, error) {
	switch cfg.Isolation {
	case IsolationLinux:
		d, err := linux.New(linux.Options{Key: cfg.DataDir, Logger: log})
		if err != nil {
			return nil, "", fmt.Errorf("cannot isolate functions on this host: %w\n"+
				"To run them anyway as plain processes, with no isolation between tenants or from the server, "+
				"start with --isolation=process (development only)", err)
		}
		log.Info("functions run in the Linux sandbox", "isolation", cfg.Isolation, "sandbox", d.Describe())
		return d, d.Describe(), nil
	case IsolationProcess:
		// Environments of a previous run died with it; their directories go.
		dir := filepath.Join(cfg.DataDir, "sandboxes")
		if err := os.RemoveAll(dir); err != nil {
			return nil, "", fmt.Errorf("clear sandbox directory: %w", err)
		}
		d, err := process.New(dir, log)
		if err != nil {
			return nil, "", fmt.Errorf("sandbox driver: %w", err)
		}
		const warning = "NO ISOLATION: functions run as plain processes of the server's user. " +
			"Any function can read and write the server's files, reach every other environment and the network, " +
			"and outlive its environment. Never run untrusted or multi-tenant code this way."
		fmt.Fprintf(notice, "\n*** WARNING: --isolation=process ***\n%s\n\n", warning)
		log.Warn(warning, "isolation", cfg.Isolation)
		return d, "none: plain processes", nil
	}
	return nil, "", fmt.Errorf("isolation: %q is not one of linux, process", cfg.Isolation)
}
