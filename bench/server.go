package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The admin key every benchmark server is started with. It signs only
// requests to servers on loopback that this program starts and stops.
const (
	accessKeyID     = "BKHDBENCHKEY00000001"
	secretAccessKey = "bench-secret-0123456789abcdefghijklmnopq"
	region          = "us-east-1"
	accountID       = "000000000000"
)

// serverOptions are the `bulkhead serve` settings a scenario varies.
type serverOptions struct {
	Blanks         int
	MemoryBudgetMB int // 0: the server's default (half of RAM)
	UsageSync      bool
	MaxConcurrency int // 0: the server's default
	MaxWait        time.Duration
}

// args renders the options as flags.
func (o serverOptions) args() []string {
	a := []string{"--blanks", strconv.Itoa(o.Blanks)}
	if o.MemoryBudgetMB > 0 {
		a = append(a, "--memory-budget-mb", strconv.Itoa(o.MemoryBudgetMB))
	}
	if !o.UsageSync {
		a = append(a, "--no-usage-sync")
	}
	if o.MaxConcurrency > 0 {
		a = append(a, "--max-concurrency", strconv.Itoa(o.MaxConcurrency))
	}
	if o.MaxWait > 0 {
		a = append(a, "--max-wait", o.MaxWait.String())
	}
	return a
}

// server is a running `bulkhead serve` with a fresh data directory, its
// Lambda API and metrics on loopback ports.
type server struct {
	dataDir string
	cgroups []string // where its environments' cgroups live
	api     string   // host:port
	metrics string   // host:port
	cmd     *exec.Cmd
	output  *tail
	done    chan struct{} // closed when the process has exited
	exitErr error
}

var listening = regexp.MustCompile(`Lambda API on http://(\S+), gateway on http://(\S+),`)

// startServer starts the binary at bin with a new data directory under
// workDir and waits until /healthz answers.
func startServer(ctx context.Context, bin, workDir, isolation string, opts serverOptions) (*server, error) {
	dataDir, err := os.MkdirTemp(workDir, "data-")
	if err != nil {
		return nil, err
	}
	metricsAddr, err := freePort()
	if err != nil {
		return nil, err
	}
	args := append([]string{"serve", "--data-dir", dataDir,
		"--api-addr", "127.0.0.1:0", "--gateway-addr", "127.0.0.1:0", "--metrics-addr", metricsAddr,
		"--region", region, "--account-id", accountID, "--isolation", isolation,
		"--log-level", "warn", "--shutdown-timeout", "10s",
		// No environment is reaped while a scenario holds it.
		"--idle-timeout", "1h"}, opts.args()...)
	s := &server{dataDir: dataDir, metrics: metricsAddr, output: &tail{max: 64 << 10}, done: make(chan struct{})}
	s.cmd = exec.Command(bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BULKHEAD_") {
			s.cmd.Env = append(s.cmd.Env, kv)
		}
	}
	s.cmd.Env = append(s.cmd.Env, "BULKHEAD_ACCESS_KEY_ID="+accessKeyID, "BULKHEAD_SECRET_ACCESS_KEY="+secretAccessKey)
	// The server's stderr is an os.Pipe of our own, not StderrPipe: Wait
	// must not wait for its readers, which any process that inherited the
	// descriptor could hold open after the server has gone.
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	s.cmd.Stderr = pw
	s.cmd.Stdout = s.output
	err = s.cmd.Start()
	pw.Close()
	if err != nil {
		pr.Close()
		return nil, fmt.Errorf("start bulkhead: %w", err)
	}
	ready := make(chan string, 1)
	drained := make(chan struct{})
	go func() { // ends when every writer has closed the pipe
		defer close(drained)
		defer pr.Close()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.output.Write([]byte(line + "\n"))
			if m := listening.FindStringSubmatch(line); m != nil {
				select {
				case ready <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(s.output, pr)
	}()
	go func() { // ends with the process
		s.exitErr = s.cmd.Wait()
		close(s.done)
	}()
	select {
	case s.api = <-ready:
	case <-s.done:
		select { // its last words
		case <-drained:
		case <-time.After(time.Second):
		}
		return nil, fmt.Errorf("bulkhead serve exited before listening: %v\n%s", s.exitErr, s.output)
	case <-time.After(60 * time.Second):
		s.stop()
		return nil, fmt.Errorf("bulkhead serve did not listen within 60s:\n%s", s.output)
	case <-ctx.Done():
		s.stop()
		return nil, ctx.Err()
	}
	s.cgroups = serverCgroups(s.pid(), dataDir)
	if err := s.waitHealthy(ctx); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// freePort returns a loopback address nobody listens on, for a flag that
// must name one (--metrics-addr prints its address only at info level).
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func (s *server) waitHealthy(ctx context.Context) error {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + s.api + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("/healthz never answered 200:\n%s", s.output)
}

// stop ends the server with SIGTERM and removes its data directory. A
// server destroys every environment as it stops, which takes a while with
// thousands of them; after stopTimeout it is killed and its cgroups
// removed here.
func (s *server) stop() error {
	var err error
	select {
	case <-s.done:
		err = s.exitErr
	default:
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
			err = s.exitErr
		case <-time.After(stopTimeout):
			_ = s.cmd.Process.Kill()
			<-s.done
			err = fmt.Errorf("did not stop within %s of SIGTERM: killed", stopTimeout)
			if rmErr := removeCgroups(s.cgroups); rmErr != nil {
				err = fmt.Errorf("%w; %v", err, rmErr)
			}
		}
	}
	if rmErr := os.RemoveAll(s.dataDir); rmErr != nil && err == nil {
		err = rmErr
	}
	return err
}

// stopTimeout bounds a server's orderly stop.
const stopTimeout = 3 * time.Minute

// pid is the server process's id.
func (s *server) pid() int { return s.cmd.Process.Pid }

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// moduleRoot is the directory of the go.mod this program belongs to, where
// it builds the server and its functions from.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", &buildError{Package: "(go env GOMOD)", Err: err}
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the bulkhead module: run from the repository")
	}
	return filepath.Dir(gomod), nil
}

// goBuild builds pkg (relative to root) into out, statically as a Lambda
// bootstrap must be.
func goBuild(ctx context.Context, root, pkg, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return &buildError{Package: pkg, Err: err, Output: string(b)}
	}
	return nil
}

// buildError is a program the benchmark could not build.
type buildError struct {
	Package string
	Err     error
	Output  string
}

func (e *buildError) Error() string {
	return fmt.Sprintf("go build %s: %v\n%s", e.Package, e.Err, e.Output)
}

func (e *buildError) Unwrap() error { return e.Err }
