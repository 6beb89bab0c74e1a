package sandboxtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Env is what a behaviour sees of the process it runs as. A real sandbox
// gives it the process's own environment, standard streams and signals
// (Main); the Fake gives it an emulation. A behaviour reaches the outside
// world only through Env and through files and the network, so it acts the
// same in both.
type Env interface {
	// Context is done when the Fake kills the program. A real process is
	// killed by a signal instead, so its Context is never done.
	Context() context.Context
	Getenv(key string) string
	// Environ returns the whole environment as "KEY=value" entries.
	Environ() []string
	Stdout() io.Writer
	Stderr() io.Writer
	// Fork starts another process of the same sandbox running the named
	// behaviour with arg, the same environment and the same output, and
	// does not wait for it.
	Fork(behaviour, arg string) error
	// IgnoreTerminate makes the program ignore SIGTERM. The Fake never sends
	// one, so there it does nothing.
	IgnoreTerminate()
}

// A Behaviour is a program the conformance suite and the Fake run, written as
// a Go function: it gets its Env and the argument from Program, and returns
// its exit status. It must not touch the os package's process state
// (os.Getenv, os.Stdout, os.Exit, signals) — only env — and must return soon
// after env.Context() is done.
type Behaviour func(env Env, arg string) (status int)

// The environment variables that carry a behaviour's name and argument into
// the sandbox (see Program).
const (
	behaviourEnv = "SANDBOXTEST_BEHAVIOUR"
	argEnv       = "SANDBOXTEST_ARG"
)

// EndpointEnv is the Spec.EndpointEnv the ping behaviours read the endpoint's
// address from.
const EndpointEnv = "SANDBOXTEST_ENDPOINT"

// PingPath is the path the ping behaviours GET from the endpoint; they print
// each response body on a line of stdout.
const PingPath = "/ping"

var (
	registryMu sync.RWMutex
	registry   = map[string]Behaviour{
		"exit":                exitWith,
		"echo-env":            echoEnv,
		"stdout-stderr":       stdoutStderr,
		"ping-endpoint":       pingEndpoint,
		"fork-ping":           forkPing,
		"fork-ping-then-exit": forkPingThenExit,
		"write-tmp":           writeTmp,
		"read-code":           readFile,
		"sleep-forever":       sleepForever,
		"ignore-sigterm":      ignoreSIGTERM,
		"alloc":               alloc,
		"flood":               flood,
	}
)

// Register adds a behaviour under name for Program, Main and the Fake. Call
// it from TestMain before Main, so that the test binary re-executed inside a
// sandbox knows it too. It panics if name is taken.
func Register(name string, b Behaviour) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, ok := registry[name]; ok {
		panic("sandboxtest: behaviour " + strconv.Quote(name) + " registered twice")
	}
	registry[name] = b
}

func lookup(name string) (Behaviour, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	b, ok := registry[name]
	return b, ok
}

// run runs the named behaviour and returns its exit status: 2, with a
// message on stderr, when there is no such behaviour or it panics (as the Go
// runtime does).
func run(env Env, name, arg string) (status int) {
	b, ok := lookup(name)
	if !ok {
		fmt.Fprintf(env.Stderr(), "sandboxtest: no behaviour %q\n", name)
		return 2
	}
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(env.Stderr(), "panic: %v\n\n%s", p, debug.Stack())
			status = 2
		}
	}()
	return b(env, arg)
}

// forkEnv returns env's entries with the behaviour and its argument
// replaced, for a forked process.
func forkEnv(env []string, behaviour, arg string) []string {
	out := slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		k := envKey(kv)
		return k == behaviourEnv || k == argEnv
	})
	return append(out, behaviourEnv+"="+behaviour, argEnv+"="+arg)
}

func envKey(kv string) string {
	for i := 0; i < len(kv); i++ {
		if kv[i] == '=' {
			return kv[:i]
		}
	}
	return kv
}

// sleep waits for d or until the program is killed, and reports whether it
// may go on. It uses a timer, never a bare channel receive, so the Go runtime
// of a real process does not mistake a sleeping program for a deadlock.
func sleep(env Env, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-env.Context().Done():
		return false
	}
}

// exitWith exits with the status in arg.
func exitWith(_ Env, arg string) int {
	status, err := strconv.Atoi(arg)
	if err != nil {
		return 2
	}
	return status
}

// echoEnv prints its whole environment as a JSON array of "KEY=value".
func echoEnv(env Env, _ string) int {
	if err := json.NewEncoder(env.Stdout()).Encode(env.Environ()); err != nil {
		return 1
	}
	return 0
}

// StdoutLine and StderrLine are the lines "stdout-stderr" writes, i counting
// from 0.
func StdoutLine(i int) string { return "stdout line " + strconv.Itoa(i) + "\n" }
func StderrLine(i int) string { return "stderr line " + strconv.Itoa(i) + "\n" }

// stdoutStderr writes arg lines to each stream, alternating, and exits.
func stdoutStderr(env Env, arg string) int {
	n, err := strconv.Atoi(arg)
	if err != nil {
		return 2
	}
	for i := range n {
		if _, err := io.WriteString(env.Stdout(), StdoutLine(i)); err != nil {
			return 1
		}
		if _, err := io.WriteString(env.Stderr(), StderrLine(i)); err != nil {
			return 1
		}
	}
	return 0
}

// pingEndpoint GETs PingPath from the endpoint every 10ms until killed,
// printing each response body on a line of stdout and the first failure of
// each run of failures on stderr. (Once the endpoint is closed it writes
// nothing more, so a process that survives Destroy is not killed by SIGPIPE
// when the driver closes the pipes, and the witness hears it.) When arg is an address ("host:port") it GETs PingPath there too,
// each round: a witness outside the sandbox that hears whether the program
// still runs once the sandbox's own endpoint is closed.
func pingEndpoint(env Env, arg string) int {
	// A transport of its own: no proxy from the environment, and in the Fake
	// no connections shared with other sandboxes or left behind.
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 5 * time.Second}
	get := func(addr string) ([]byte, error) {
		req, err := http.NewRequestWithContext(env.Context(), http.MethodGet, "http://"+addr+PingPath, nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		return io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	}
	failing := false
	for {
		body, err := get(env.Getenv(EndpointEnv))
		switch {
		case err == nil:
			fmt.Fprintf(env.Stdout(), "%s\n", body)
		case !failing:
			fmt.Fprintln(env.Stderr(), err)
		}
		failing = err != nil
		if arg != "" {
			get(arg)
		}
		if !sleep(env, 10*time.Millisecond) {
			return 0
		}
	}
}

// forkPing starts a process running "ping-endpoint" with arg and sleeps
// forever.
func forkPing(env Env, arg string) int {
	if err := env.Fork("ping-endpoint", arg); err != nil {
		fmt.Fprintln(env.Stderr(), err)
		return 1
	}
	return sleepForever(env, "")
}

// forkPingThenExit starts a process running "ping-endpoint" with arg and
// exits, leaving it orphaned.
func forkPingThenExit(env Env, arg string) int {
	if err := env.Fork("ping-endpoint", arg); err != nil {
		fmt.Fprintln(env.Stderr(), err)
		return 1
	}
	return 0
}

// TmpListing is what "write-tmp" prints, as JSON.
type TmpListing struct {
	TMPDIR string   // the value of $TMPDIR
	Files  []string // the names in $TMPDIR after writing, sorted
}

// writeTmp writes a file named arg, holding arg, into $TMPDIR and prints a
// TmpListing.
func writeTmp(env Env, arg string) int {
	dir := env.Getenv("TMPDIR")
	if err := os.WriteFile(filepath.Join(dir, arg), []byte(arg), 0o600); err != nil {
		fmt.Fprintln(env.Stderr(), err)
		return 1
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		fmt.Fprintln(env.Stderr(), err)
		return 1
	}
	listing := TmpListing{TMPDIR: dir, Files: []string{}}
	for _, e := range entries {
		listing.Files = append(listing.Files, e.Name())
	}
	if err := json.NewEncoder(env.Stdout()).Encode(listing); err != nil {
		return 1
	}
	return 0
}

// readFile prints the file at path arg.
func readFile(env Env, arg string) int {
	b, err := os.ReadFile(arg)
	if err != nil {
		fmt.Fprintln(env.Stderr(), err)
		return 1
	}
	env.Stdout().Write(b)
	return 0
}

// sleepForever sleeps until killed.
func sleepForever(env Env, _ string) int {
	for sleep(env, time.Hour) {
	}
	return 0
}

// Ready is the line "ignore-sigterm" and "alloc" print once they have done
// their setup.
const Ready = "ready\n"

// ignoreSIGTERM ignores SIGTERM, prints Ready and sleeps forever.
func ignoreSIGTERM(env Env, _ string) int {
	env.IgnoreTerminate()
	io.WriteString(env.Stdout(), Ready)
	return sleepForever(env, "")
}

// alloc allocates and touches arg MiB, prints Ready and exits.
func alloc(env Env, arg string) int {
	mib, err := strconv.Atoi(arg)
	if err != nil {
		return 2
	}
	b := make([]byte, mib<<20)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	io.WriteString(env.Stdout(), Ready)
	runtime.KeepAlive(b)
	return 0
}

// flood writes arg bytes of 'x' to stdout as fast as it can and exits.
func flood(env Env, arg string) int {
	n, err := strconv.Atoi(arg)
	if err != nil {
		return 2
	}
	chunk := make([]byte, 4096)
	for i := range chunk {
		chunk[i] = 'x'
	}
	for n > 0 {
		m := min(n, len(chunk))
		if _, err := env.Stdout().Write(chunk[:m]); err != nil {
			return 1
		}
		n -= m
	}
	return 0
}
