package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// floors measures what no platform can beat on this machine, in the same
// run as the rest: starting the handler binary as a plain child process
// until it asks a Runtime API for work, and a bare HTTP round trip over
// loopback with the same client settings as the benchmark's.
func (b *bench) floors(ctx context.Context) []*section {
	sec := &section{ID: "floors", Title: "Floors: fork/exec and a loopback round trip"}
	b.log.Info("floors: fork/exec of the handler to its first Runtime API poll", "n", b.cfg.ExecSamples)
	exec := summarize("fork/exec → first /next poll, no sandbox", openLoop(ctx, 10, b.cfg.ExecSamples, func(ctx context.Context, _ int) error {
		return execToFirstPoll(ctx, b.bin.Noop)
	}))
	exec.OfferedRate = 10
	sec.Sets = append(sec.Sets, exec)
	b.measured.ExecFloor = &exec

	b.log.Info("floors: loopback HTTP round trips", "rate", b.cfg.WarmRate, "n", b.cfg.WarmSamples)
	loop, err := loopbackRoundTrips(ctx, b.cfg)
	if err != nil {
		return failed(err, sec)
	}
	sec.Sets = append(sec.Sets, loop...)
	b.measured.LoopFloor = &loop[0]
	sec.figure("SigV4 signing of one invoke request (client side, inside every invoke latency here)", signCost(), "µs")

	sec.Conditions = []string{
		"No server. The handler is `bench/functions/noop` (aws-lambda-go), started by this program with `os/exec` as a plain child; " +
			"the time runs from the scheduled start to the moment its first `GET /2018-06-01/runtime/invocation/next` " +
			"reaches a stub Runtime API listening on loopback (a fresh listener per start, made before the clock starts), " +
			"then the process is killed. A sandboxed cold start does this and more: clone into new namespaces, re-exec the server as the init, build the root, join cgroups.",
		fmt.Sprintf("Loopback: a Go `net/http` server in this process answers `{}` to a POST of `{}`, on kept-alive connections; "+
			"open loop at %.0f/s as the warm scenario, and closed loops at the throughput scenario's highest concurrency (%d), "+
			"the most requests per second this machine's loopback and Go's HTTP stack serve with the load generator sharing the CPUs.",
			b.cfg.WarmRate, slices.Max(b.cfg.Concurrency)),
	}
	if err := drawCDFs(b.out, "floors.png", "Floors: handler start to first poll, loopback round trip", sec.Sets[:2]); err != nil {
		return failed(err, sec)
	}
	sec.Plots = []string{"floors.png"}
	return []*section{sec}
}

// execToFirstPoll starts the handler binary with a stub Runtime API and
// returns when the handler first polls it for work.
func execToFirstPoll(ctx context.Context, bin string) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	polled := make(chan struct{}, 1)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/2018-06-01/runtime/invocation/next" {
			select {
			case polled <- struct{}{}:
			default:
			}
		}
		<-r.Context().Done() // no work for it: hold the poll until it is killed
	})}
	go func() { _ = srv.Serve(ln) }() // ends with srv.Close below
	defer srv.Close()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = []string{"AWS_LAMBDA_RUNTIME_API=" + ln.Addr().String(), "_HANDLER=bootstrap"}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	select {
	case <-polled:
		return nil
	case <-time.After(10 * time.Second):
		return errors.New("the handler did not poll within 10s")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// loopbackRoundTrips measures a bare HTTP round trip: open loop at the warm
// scenario's rate, then closed loop at the highest concurrency.
func loopbackRoundTrips(ctx context.Context, cfg Config) ([]Summary, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("{}"))
	})}
	go func() { _ = srv.Serve(ln) }() // ends with srv.Close below
	defer srv.Close()
	c := newClient(ln.Addr().String())
	url := c.base + "/"
	do := func(ctx context.Context, _ int) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader([]byte("{}")))
		if err != nil {
			return err
		}
		resp, err := c.http.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return &apiError{Status: resp.StatusCode}
		}
		return nil
	}
	for range 50 { // open the connection, warm the paths
		if err := do(ctx, 0); err != nil {
			return nil, err
		}
	}
	open := summarize("loopback HTTP round trip", openLoop(ctx, cfg.WarmRate, cfg.WarmSamples, do))
	open.OfferedRate = cfg.WarmRate
	top := slices.Max(cfg.Concurrency)
	closed := summarize(fmt.Sprintf("loopback HTTP, closed loop, c=%d", top), closedLoop(ctx, top, 200*time.Millisecond, cfg.ThroughputTime, do))
	closed.Concurrency = top
	return []Summary{open, closed}, nil
}

// signCost is the mean time to sign one invoke request, in microseconds.
func signCost() float64 {
	signer := v4.NewSigner()
	creds := aws.Credentials{AccessKeyID: accessKeyID, SecretAccessKey: secretAccessKey}
	body := []byte("{}")
	const n = 2000
	start := time.Now()
	for range n {
		req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:9/2015-03-31/functions/noop/invocations", bytes.NewReader(body))
		req.Header.Set("X-Amz-Tenant-Id", "tenant")
		sum := sha256.Sum256(body)
		_ = signer.SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "lambda", region, time.Now())
	}
	return round3(float64(time.Since(start).Microseconds()) / n)
}
