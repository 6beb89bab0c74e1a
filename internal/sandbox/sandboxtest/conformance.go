package sandboxtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/sandbox"
)

// The suite never asserts speed. patience bounds every wait for something
// that should happen, so a broken driver fails instead of hanging; quiet is
// how long the suite watches for something that must not happen (a ping
// after Destroy).
const (
	patience = 30 * time.Second
	quiet    = 300 * time.Millisecond
)

// Conformance checks that the drivers newDriver makes keep the contract of
// sandbox.Driver, by running behaviours (see Program) in them. newDriver is
// called once per subtest, possibly from several subtests at once.
//
// A driver that starts real processes runs the test binary as the program,
// so the package running the suite must call Main from TestMain.
//
// Beyond what sandbox.go states, the suite holds drivers to these choices:
//   - The environment is exactly Spec.Env plus TMPDIR and, with an endpoint,
//     EndpointEnv. A driver adds nothing else: no PATH, HOME or LANG; the
//     caller passes what the program should have. The driver's TMPDIR and
//     EndpointEnv replace any the caller set.
//   - Endpoint nil means no EndpointEnv in the environment.
//   - Start refuses an ID outside the rule of Spec.ID, an empty Command and a
//     done ctx, and a failed Start leaves no socket open in this process.
//   - Once Done is closed, everything the main process wrote is in Stdout
//     and Stderr; after Destroy returns, nothing more is written there, the
//     endpoint's handler is not running and is not called again.
//   - Destroy of a running program makes Err an *ExitError with Code -1 and
//     the signal's name; Destroy after exit leaves Err as it was.
//
// Some checks apply only where the driver lets the test process see them: the
// scratch directory is checked to be gone after Destroy when it is a host
// path (the file the program wrote is visible there), and the endpoint's
// address is checked to refuse connections after Destroy when it is reachable
// from this process. The suite cannot see a driver's own host state, so
// newDriver should register, through t.Cleanup, a check that the driver left
// nothing behind: the suite destroys every sandbox of a subtest before the
// cleanups newDriver registered run.
func Conformance(t *testing.T, newDriver func(t *testing.T) sandbox.Driver) {
	// Not parallel: it counts this process's sockets, so nothing else may
	// open any meanwhile. The parallel subtests wait until it is done.
	t.Run("StartFails", func(t *testing.T) { testStartFails(t, newDriver(t)) })

	tests := []struct {
		name string
		test func(t *testing.T, d sandbox.Driver)
	}{
		{"ExitStatus", testExitStatus},
		{"Environment", testEnvironment},
		{"Output", testOutput},
		{"FlushOutput", testFlushOutput},
		{"Endpoint", testEndpoint},
		{"EndpointClosedByDestroy", testEndpointClosedByDestroy},
		{"TmpPrivate", testTmpPrivate},
		{"Code", testCode},
		{"StartContextBoundsOnlyStart", testStartContextBoundsOnlyStart},
		{"DestroyKillsProcessTree", testDestroyKillsProcessTree},
		{"DestroyKillsOrphans", testDestroyKillsOrphans},
		{"DestroyIgnoringSIGTERM", testDestroyIgnoringSIGTERM},
		{"DestroyConcurrent", testDestroyConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.test(t, newDriver(t))
		})
	}
}

func testStartFails(t *testing.T, d sandbox.Driver) {
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name   string
		ctx    context.Context
		change func(p *program)
	}{
		{"MissingCommand", t.Context(), func(p *program) { os.Remove(filepath.Join(p.spec.Code, "bootstrap")) }},
		{"EmptyCommand", t.Context(), func(p *program) { p.spec.Command = nil }},
		{"ContextDone", cancelled, func(*program) {}},
	}
	for _, id := range []string{"", "Upper", "../x", "a/b", "a_b", "a.b", "a b", "é", strings.Repeat("a", 65)} {
		tests = append(tests, struct {
			name   string
			ctx    context.Context
			change func(p *program)
		}{"InvalidID" + strconv.Quote(id), t.Context(), func(p *program) { p.spec.ID = id }})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProgram(t, "ping-endpoint", "")
			tt.change(p)
			before := sockets(t)
			sb, err := d.Start(tt.ctx, p.spec)
			if err == nil {
				sb.Destroy()
				t.Fatalf("Start(%s) succeeded, want an error", p)
			}
			t.Logf("Start: %v", err)
			for s := range sockets(t) {
				if !before[s] {
					t.Errorf("after the failed Start, this process holds %s, which it did not before", s)
				}
			}
			if n := p.endpoint.count(""); n != 0 {
				t.Errorf("the endpoint's handler was called %d times", n)
			}
			if out := p.stdout.String() + p.stderr.String(); out != "" {
				t.Errorf("the failed program wrote output: %q", out)
			}
		})
	}
	t.Run("ValidIDs", func(t *testing.T) {
		for _, id := range []string{"a", "0", "-", "abc-123", strings.Repeat("z", 64)} {
			p := newProgram(t, "exit", "0")
			p.spec.ID = id
			p.start(t, d)
			p.wait(t)
			if err := p.sandbox.Destroy(); err != nil {
				t.Errorf("Destroy of %q: %v", id, err)
			}
		}
	})
}

func testExitStatus(t *testing.T, d sandbox.Driver) {
	for _, status := range []int{0, 1, 3, 125} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			t.Parallel()
			p := newProgram(t, "exit", strconv.Itoa(status))
			p.start(t, d)
			p.wait(t)
			checkExit := func(when string) {
				t.Helper()
				err := p.sandbox.Err()
				if status == 0 {
					if err != nil {
						t.Fatalf("%s: Err() = %v, want nil%s", when, err, p.hint())
					}
					return
				}
				var exit *sandbox.ExitError
				if !errors.As(err, &exit) || exit.Code != status || exit.Signal != "" {
					t.Fatalf("%s: Err() = %#v, want *sandbox.ExitError{Code: %d}%s", when, err, status, p.hint())
				}
			}
			checkExit("after Done")
			if err := p.sandbox.Destroy(); err != nil {
				t.Fatalf("Destroy: %v", err)
			}
			checkExit("after Destroy")
			if err := p.sandbox.Destroy(); err != nil {
				t.Fatalf("second Destroy: %v", err)
			}
		})
	}
}

func testEnvironment(t *testing.T, d sandbox.Driver) {
	for _, withEndpoint := range []bool{true, false} {
		t.Run(fmt.Sprintf("Endpoint=%t", withEndpoint), func(t *testing.T) {
			t.Parallel()
			p := newProgram(t, "echo-env", "")
			p.spec.Env = append(p.spec.Env,
				"PLAIN=value", "EMPTY=", "EQUALS=a=b", "SPACES= two  spaces ",
				"TMPDIR=/set/by/the/caller")
			if withEndpoint {
				p.spec.Env = append(p.spec.Env, EndpointEnv+"=set-by-the-caller")
			} else {
				p.spec.Endpoint = nil // EndpointEnv stays set, and is ignored
			}
			p.start(t, d)
			p.wait(t)
			if err := p.sandbox.Err(); err != nil {
				t.Fatalf("Err() = %v%s", err, p.hint())
			}
			var got []string
			if err := json.Unmarshal([]byte(p.stdout.String()), &got); err != nil {
				t.Fatalf("decoding the environment the program printed: %v; stdout %q", err, p.stdout)
			}

			driverSet := func(kv string) bool {
				k := envKey(kv)
				return k == "TMPDIR" || withEndpoint && k == EndpointEnv
			}
			tmp := values(got, "TMPDIR")
			if len(tmp) != 1 || tmp[0] == "" || tmp[0] == "/set/by/the/caller" {
				t.Errorf("TMPDIR = %q, want one value, set by the driver", tmp)
			}
			endpoint := values(got, EndpointEnv)
			if withEndpoint {
				if len(endpoint) != 1 {
					t.Errorf("%s = %q, want one value, set by the driver", EndpointEnv, endpoint)
				} else {
					checkLoopback(t, endpoint[0])
				}
			} else if len(endpoint) != 0 {
				t.Errorf("%s = %q without an endpoint, want it unset", EndpointEnv, endpoint)
			}

			want := slices.DeleteFunc(slices.Clone(p.spec.Env), driverSet)
			got = slices.DeleteFunc(got, driverSet)
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("environment besides TMPDIR and %s:\n got %q\nwant %q\nextra %q\nmissing %q",
					EndpointEnv, got, want, minus(got, want), minus(want, got))
			}
		})
	}
}

func testOutput(t *testing.T, d sandbox.Driver) {
	tests := []struct {
		name       string
		lines      int
		firstDelay time.Duration
	}{
		// More than a pipe holds (64 KiB), so a driver that reads the output
		// only after the program exits deadlocks.
		{"Large", 6000, 0},
		// A writer slower than the program, so the program has exited with
		// output still on its way when the driver notices.
		{"SlowWriter", 100, 200 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			testOutputComplete(t, d, tt.lines, tt.firstDelay)
		})
	}
}

func testOutputComplete(t *testing.T, d sandbox.Driver, lines int, firstDelay time.Duration) {
	p := newProgram(t, "stdout-stderr", strconv.Itoa(lines))
	p.stdout.firstDelay, p.stderr.firstDelay = firstDelay, firstDelay
	p.start(t, d)
	p.wait(t)
	if err := p.sandbox.Err(); err != nil {
		t.Fatalf("Err() = %v%s", err, p.hint())
	}
	// No polling: all output must be in by the time Done is closed.
	var wantOut, wantErr strings.Builder
	for i := range lines {
		wantOut.WriteString(StdoutLine(i))
		wantErr.WriteString(StderrLine(i))
	}
	for _, s := range []struct {
		name      string
		got, want string
	}{{"stdout", p.stdout.String(), wantOut.String()}, {"stderr", p.stderr.String(), wantErr.String()}} {
		if s.got != s.want {
			t.Errorf("%s when Done closed: %d bytes, want %d; first difference at byte %d",
				s.name, len(s.got), len(s.want), firstDifference(s.got, s.want))
		}
	}
}

// testFlushOutput checks FlushOutput while the program runs: ping-endpoint
// prints each answer before its next request, so when the handler is called
// for the nth time and flushes, n-1 answers must have reached Stdout.
func testFlushOutput(t *testing.T, d sandbox.Driver) {
	p := newProgram(t, "ping-endpoint", "")
	started := make(chan sandbox.Sandbox, 1)
	var (
		mu       sync.Mutex
		calls    int
		problems []string
		checked  = make(chan struct{})
		sb       sandbox.Sandbox
	)
	// A slow reader of the output, so that it lags behind unless flushed.
	p.spec.Stdout = slowWriter{p.stdout}
	p.spec.Endpoint = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if sb == nil {
			select {
			case sb = <-started:
			default:
				io.WriteString(w, pong) // Start has not returned yet
				return
			}
		}
		calls++
		if calls <= 10 {
			// The program waits for this answer: everything it printed
			// before asking is in the pipe.
			sb.FlushOutput()
			if got := strings.Count(p.stdout.String(), pong+"\n"); got < calls-1 {
				problems = append(problems, fmt.Sprintf("call %d: %d answers printed before it, want at least %d", calls, got, calls-1))
			}
			if calls == 10 {
				close(checked)
			}
		}
		io.WriteString(w, pong)
	})
	p.start(t, d)
	started <- p.sandbox
	select {
	case <-checked:
	case <-time.After(patience):
		t.Fatalf("%s: no 10 requests after %v%s", p, patience, p.hint())
	}
	mu.Lock()
	defer mu.Unlock()
	for _, problem := range problems {
		t.Errorf("FlushOutput did not deliver what the program wrote: %s", problem)
	}
}

// slowWriter takes 20 ms over each write.
type slowWriter struct{ w io.Writer }

func (s slowWriter) Write(p []byte) (int, error) {
	time.Sleep(20 * time.Millisecond)
	return s.w.Write(p)
}

func testEndpoint(t *testing.T, d sandbox.Driver) {
	p := newProgram(t, "ping-endpoint", "")
	p.start(t, d)
	eventually(t, "the program's first ping", p, func() bool { return p.endpoint.count("GET "+PingPath) > 0 })
	eventually(t, "the program to print the endpoint's answer", p, func() bool {
		return strings.HasPrefix(p.stdout.String(), pong+"\n")
	})
	for _, host := range p.endpoint.hosts() {
		checkLoopback(t, host)
	}
}

func testEndpointClosedByDestroy(t *testing.T, d sandbox.Driver) {
	p := newProgram(t, "ping-endpoint", "")
	p.start(t, d)
	eventually(t, "the program's first ping", p, func() bool { return p.endpoint.count("GET "+PingPath) > 0 })
	addr := p.endpoint.hosts()[0]

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	probe := func(path string) error {
		resp, err := client.Get("http://" + addr + path)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
	exposed := probe("/before-destroy") == nil && p.endpoint.count("GET /before-destroy") == 1

	destroy(t, p)
	if n := p.endpoint.count("GET /after-destroy"); n != 0 {
		t.Fatalf("the handler was called %d times after Destroy", n)
	}
	if !exposed {
		t.Logf("the endpoint %s is not reachable from the test process; not dialling it after Destroy", addr)
		return
	}
	err := probe("/after-destroy")
	if n := p.endpoint.count("GET /after-destroy"); n != 0 {
		t.Fatalf("a request to %s after Destroy reached the sandbox's handler", addr)
	}
	// Refused is right. A reply is another server that took the port since;
	// a timeout means something still accepts on it without serving.
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		t.Fatalf("after Destroy, %s still accepts connections: %v", addr, err)
	}
}

func testTmpPrivate(t *testing.T, d sandbox.Driver) {
	a := newProgram(t, "write-tmp", "file-a-"+random(t))
	a.start(t, d)
	a.wait(t)
	la := a.listing(t)
	if !slices.Equal(la.Files, []string{a.arg()}) {
		t.Errorf("sandbox A lists %q in its TMPDIR, want only its own file %q", la.Files, a.arg())
	}

	// A is not destroyed: its file is still there while B runs.
	b := newProgram(t, "write-tmp", "file-b-"+random(t))
	b.start(t, d)
	b.wait(t)
	lb := b.listing(t)
	if !slices.Equal(lb.Files, []string{b.arg()}) {
		t.Errorf("sandbox B lists %q in its TMPDIR, want only its own file %q (A wrote %q)", lb.Files, b.arg(), a.arg())
	}

	onHost := func(l TmpListing, name string) bool {
		content, err := os.ReadFile(filepath.Join(l.TMPDIR, name))
		return err == nil && string(content) == name
	}
	if !onHost(la, a.arg()) {
		t.Logf("TMPDIR %s is not a host path; not checking that Destroy removes it", la.TMPDIR)
		return
	}
	if onHost(la, b.arg()) || onHost(lb, a.arg()) {
		t.Errorf("the sandboxes share a scratch directory: A's %s, B's %s", la.TMPDIR, lb.TMPDIR)
	}
	destroy(t, a)
	if _, err := os.Lstat(la.TMPDIR); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Destroy, A's TMPDIR %s: %v, want it gone", la.TMPDIR, err)
	}
	if !onHost(lb, b.arg()) {
		t.Errorf("destroying A removed B's file from %s", lb.TMPDIR)
	}
}

func testCode(t *testing.T, d sandbox.Driver) {
	content := "code file " + random(t)
	p := newProgram(t, "read-code", "")
	if err := os.WriteFile(filepath.Join(p.spec.Code, "data.txt"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	p.setArg(filepath.Join(d.CodeDir(p.spec.Code), "data.txt"))
	p.start(t, d)
	p.wait(t)
	if err := p.sandbox.Err(); err != nil {
		t.Fatalf("Err() = %v%s", err, p.hint())
	}
	if got := p.stdout.String(); got != content {
		t.Errorf("the program read %q from the code directory, want %q", got, content)
	}
}

func testStartContextBoundsOnlyStart(t *testing.T, d sandbox.Driver) {
	p := newProgram(t, "ping-endpoint", "")
	ctx, cancel := context.WithCancel(t.Context())
	sb, err := d.Start(ctx, p.spec)
	cancel()
	if err != nil {
		t.Fatalf("Start(%s): %v", p, err)
	}
	p.sandbox = sb
	t.Cleanup(func() { sb.Destroy() })
	n := p.endpoint.count("GET " + PingPath)
	eventually(t, "pings after Start's context was cancelled", p, func() bool {
		return p.endpoint.count("GET "+PingPath) >= n+3
	})
	select {
	case <-sb.Done():
		t.Fatalf("the program exited: %v%s", sb.Err(), p.hint())
	default:
	}
}

func testDestroyKillsProcessTree(t *testing.T, d sandbox.Driver) {
	w := newWitness(t)
	p := newProgram(t, "fork-ping", w.addr)
	p.start(t, d)
	eventually(t, "pings from the forked process", p, func() bool { return p.endpoint.count("GET "+PingPath) >= 3 })
	destroy(t, p)
	checkKilled(t, p)
	p.checkQuiet(t, w)
}

func testDestroyKillsOrphans(t *testing.T, d sandbox.Driver) {
	w := newWitness(t)
	p := newProgram(t, "fork-ping-then-exit", w.addr)
	p.start(t, d)
	p.wait(t)
	if err := p.sandbox.Err(); err != nil {
		t.Fatalf("Err() = %v%s", err, p.hint())
	}
	// A driver may let the orphan live on until Destroy, or kill it with
	// the main process (a pid namespace does): either way, nothing of the
	// sandbox runs once Destroy has returned.
	n := p.endpoint.count("GET " + PingPath)
	time.Sleep(quiet)
	if p.endpoint.count("GET "+PingPath) > n {
		t.Logf("the orphan outlived the main process; Destroy must kill it")
	} else {
		t.Logf("the orphan died with the main process")
	}
	destroy(t, p)
	if err := p.sandbox.Err(); err != nil {
		t.Errorf("after Destroy, Err() = %v, want nil as before", err)
	}
	p.checkQuiet(t, w)
}

func testDestroyIgnoringSIGTERM(t *testing.T, d sandbox.Driver) {
	p := newProgram(t, "ignore-sigterm", "")
	p.start(t, d)
	eventually(t, "the program to ignore SIGTERM", p, func() bool { return p.stdout.String() == Ready })
	destroy(t, p)
	checkKilled(t, p)
}

func testDestroyConcurrent(t *testing.T, d sandbox.Driver) {
	for _, tt := range []struct{ behaviour, arg string }{{"exit", "0"}, {"sleep-forever", ""}} {
		t.Run(tt.behaviour, func(t *testing.T) {
			t.Parallel()
			p := newProgram(t, tt.behaviour, tt.arg)
			p.start(t, d)
			// Racing the program's exit and one another.
			errs := make(chan error, 4)
			for range cap(errs) {
				go func() { errs <- p.sandbox.Destroy() }()
			}
			for range cap(errs) {
				select {
				case err := <-errs:
					if err != nil {
						t.Errorf("Destroy: %v", err)
					}
				case <-time.After(patience):
					t.Fatalf("Destroy did not return within %v", patience)
				}
			}
			select {
			case <-p.sandbox.Done():
			default:
				t.Fatal("Done is not closed after Destroy returned")
			}
			var exit *sandbox.ExitError
			if err := p.sandbox.Err(); err != nil && !errors.As(err, &exit) {
				t.Errorf("Err() = %#v, want nil or an *ExitError", err)
			}
			if err := p.sandbox.Destroy(); err != nil {
				t.Errorf("Destroy after Destroy: %v", err)
			}
		})
	}
}

// program is a Spec running a behaviour, what the suite sees of it, and,
// once started, its sandbox.
type program struct {
	spec           sandbox.Spec
	stdout, stderr *buffer
	endpoint       *recorder
	sandbox        sandbox.Sandbox
}

// newProgram returns a program running behaviour with arg from a fresh code
// directory, with a fresh ID, an endpoint and output buffers.
func newProgram(t *testing.T, behaviour, arg string) *program {
	code := t.TempDir()
	// Readable by anyone: an isolating driver runs the program as an
	// unprivileged user.
	if err := os.Chmod(code, 0o755); err != nil {
		t.Fatal(err)
	}
	Install(t, code)
	command, env := Program(behaviour, arg)
	p := &program{stdout: &buffer{}, stderr: &buffer{}, endpoint: &recorder{}}
	p.spec = sandbox.Spec{
		ID:          "sandboxtest-" + random(t),
		Code:        code,
		Command:     command,
		Env:         env,
		Endpoint:    p.endpoint,
		EndpointEnv: EndpointEnv,
		Stdout:      p.stdout,
		Stderr:      p.stderr,
	}
	return p
}

func (p *program) String() string {
	return fmt.Sprintf("%s running %s", p.spec.ID, values(p.spec.Env, behaviourEnv))
}

func (p *program) arg() string { return values(p.spec.Env, argEnv)[0] }

func (p *program) setArg(arg string) {
	p.spec.Env = slices.DeleteFunc(p.spec.Env, func(kv string) bool { return envKey(kv) == argEnv })
	p.spec.Env = append(p.spec.Env, argEnv+"="+arg)
}

// start starts p in d and destroys it when the test ends.
func (p *program) start(t *testing.T, d sandbox.Driver) {
	t.Helper()
	sb, err := d.Start(t.Context(), p.spec)
	if err != nil {
		t.Fatalf("Start(%s): %v", p, err)
	}
	p.sandbox = sb
	t.Cleanup(func() {
		if err := sb.Destroy(); err != nil {
			t.Errorf("Destroy(%s): %v", p, err)
		}
	})
}

// wait waits for the program to exit.
func (p *program) wait(t *testing.T) {
	t.Helper()
	select {
	case <-p.sandbox.Done():
	case <-time.After(patience):
		t.Fatalf("%s has not exited after %v%s", p, patience, p.hint())
	}
}

// hint describes the program's output, and what it means when the test
// binary ran its tests instead of the behaviour.
func (p *program) hint() string {
	out, errOut := p.stdout.String(), p.stderr.String()
	h := fmt.Sprintf("\nstdout: %q\nstderr: %q", truncate(out), truncate(errOut))
	if strings.Contains(out, "PASS") || strings.Contains(errOut, "no tests to run") {
		h += "\nThe test binary ran its tests instead of the behaviour: call sandboxtest.Main from TestMain."
	}
	return h
}

func (p *program) listing(t *testing.T) TmpListing {
	t.Helper()
	if err := p.sandbox.Err(); err != nil {
		t.Fatalf("%s: Err() = %v%s", p, err, p.hint())
	}
	var l TmpListing
	if err := json.Unmarshal([]byte(p.stdout.String()), &l); err != nil {
		t.Fatalf("%s: decoding the listing: %v%s", p, err, p.hint())
	}
	return l
}

// checkQuiet checks that, after Destroy, neither the endpoint nor the
// witness hears from the sandbox and the sandbox writes no more output. The
// endpoint alone proves little, since Destroy closes it: the witness, outside
// the sandbox, hears a surviving process where the sandbox lets it reach the
// test process's loopback. A ping sent before Destroy may reach the witness
// after it, so the witness need only fall silent for quiet; a survivor pings
// every 10ms and never does.
func (p *program) checkQuiet(t *testing.T, w *witness) {
	t.Helper()
	pings, out := p.endpoint.count(""), p.stdout.String()+p.stderr.String()
	if w.count() == 0 {
		t.Logf("the witness at %s, outside the sandbox, heard nothing from it; survivors can only be heard through the endpoint", w.addr)
	}
	deadline := time.Now().Add(patience)
	for heard, since := w.count(), time.Now(); time.Since(since) < quiet; {
		if time.Now().After(deadline) {
			t.Errorf("the witness still hears pings %v after Destroy returned; a process survived", patience)
			break
		}
		time.Sleep(5 * time.Millisecond) // polling the witness
		if n := w.count(); n != heard {
			heard, since = n, time.Now()
		}
	}
	if n := p.endpoint.count(""); n != pings {
		t.Errorf("the endpoint got %d requests after Destroy returned", n-pings)
	}
	if now := p.stdout.String() + p.stderr.String(); now != out {
		t.Errorf("%d bytes of output arrived after Destroy returned", len(now)-len(out))
	}
}

// witness is an HTTP server of the test process's own that counts requests
// (see pingEndpoint).
type witness struct {
	addr     string
	requests atomic.Int64
}

func newWitness(t *testing.T) *witness {
	w := &witness{}
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { w.requests.Add(1) }))
	t.Cleanup(srv.Close)
	w.addr = srv.Listener.Addr().String()
	return w
}

func (w *witness) count() int64 { return w.requests.Load() }

// destroy destroys p's sandbox and checks that it is gone when Destroy
// returns: Done closed.
func destroy(t *testing.T, p *program) {
	t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- p.sandbox.Destroy() }()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Destroy(%s): %v", p, err)
		}
	case <-time.After(patience):
		t.Fatalf("Destroy(%s) has not returned after %v", p, patience)
	}
	select {
	case <-p.sandbox.Done():
	default:
		t.Fatalf("Destroy(%s) returned with Done open", p)
	}
}

// checkKilled checks the Err of a program that Destroy killed.
func checkKilled(t *testing.T, p *program) {
	t.Helper()
	var exit *sandbox.ExitError
	if err := p.sandbox.Err(); !errors.As(err, &exit) || exit.Code != -1 || exit.Signal == "" {
		t.Errorf("after Destroy killed the program, Err() = %#v, want an *sandbox.ExitError with Code -1 and a Signal", err)
	}
}

// eventually polls cond until it holds, failing the test after patience, or
// as soon as the program exits if it was running when eventually was called.
func eventually(t *testing.T, what string, p *program, cond func() bool) {
	t.Helper()
	exited := p.sandbox.Done()
	select {
	case <-exited:
		exited = nil // exited already: watch other processes of the sandbox
	default:
	}
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: no %s after %v%s", p, what, patience, p.hint())
		}
		select {
		case <-exited:
			if !cond() {
				t.Fatalf("%s exited (Err %v) before %s%s", p, p.sandbox.Err(), what, p.hint())
			}
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func checkLoopback(t *testing.T, addr string) {
	t.Helper()
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		t.Errorf("endpoint address %q: %v", addr, err)
		return
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		t.Errorf("endpoint address %q is not a loopback address", addr)
	}
}

// pong is the endpoint's answer to a ping.
const pong = "pong"

// recorder is a sandbox's endpoint: it answers pings with pong and records
// every request as "METHOD /path" and the Host it was sent to.
type recorder struct {
	mu       sync.Mutex
	requests []string
	hostSeen []string
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.requests = append(r.requests, req.Method+" "+req.URL.Path)
	if !slices.Contains(r.hostSeen, req.Host) {
		r.hostSeen = append(r.hostSeen, req.Host)
	}
	r.mu.Unlock()
	io.WriteString(w, pong)
}

// count returns how many requests were "METHOD /path" request, or all when
// request is "".
func (r *recorder) count(request string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if request == "" {
		return len(r.requests)
	}
	n := 0
	for _, q := range r.requests {
		if q == request {
			n++
		}
	}
	return n
}

// hosts returns the addresses requests were sent to.
func (r *recorder) hosts() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.hostSeen)
}

// buffer is an io.Writer safe for concurrent use.
type buffer struct {
	firstDelay time.Duration // how long the first Write takes; set before use

	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
}

func (b *buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	b.writes++
	first := b.writes == 1
	b.mu.Unlock()
	if first {
		// A slow writer, not synchronisation. Outside the lock, so String
		// shows what has arrived meanwhile: nothing.
		time.Sleep(b.firstDelay)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// sockets returns the sockets this process holds, as "socket:[inode]", or
// skips the test where /proc does not show them.
func sockets(t *testing.T) map[string]bool {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot list this process's descriptors: %v", err)
	}
	s := make(map[string]bool)
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.HasPrefix(target, "socket:") {
			s[target] = true
		}
	}
	return s
}

// values returns the values of key in env, in order.
func values(env []string, key string) []string {
	var vs []string
	for _, kv := range env {
		if envKey(kv) == key {
			vs = append(vs, kv[len(key)+1:])
		}
	}
	return vs
}

// minus returns the entries of a that are not in b.
func minus(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

func firstDifference(a, b string) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

func truncate(s string) string {
	const limit = 2000
	if len(s) > limit {
		return s[:limit] + "…"
	}
	return s
}

func random(t *testing.T) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
