// Command bench measures Bulkhead as issue 7 asks and writes a report.
//
// It builds the server and two aws-lambda-go functions (functions/noop, a
// no-op handler, and functions/state, which holds a little memory per
// environment), starts `bulkhead serve` with a fresh data directory for
// each group of scenarios, drives it over the Lambda API with SigV4-signed
// HTTP, and writes a report directory: summary.md, results.json,
// samples.json and PNG plots. docs/bench.md says what each scenario
// measures and how to read it.
//
//	go run ./bench                      # the full run
//	go run ./bench --quick --out DIR    # every scenario with tiny counts
//
// Latency figures come from open-loop load (requests at a constant rate,
// each timed from its scheduled start), throughput from closed loops.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
