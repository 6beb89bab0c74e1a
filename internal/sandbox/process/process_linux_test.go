package process

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/sandbox"
	"github.com/bulkhead-dev/bulkhead/internal/sandbox/sandboxtest"
)

func TestMain(m *testing.M) {
	sandboxtest.Register("print-cwd", printCwd)
	sandboxtest.Register("start-sandbox", startSandbox)
	sandboxtest.Main()
	os.Exit(m.Run())
}

const patience = 30 * time.Second

func TestSandboxProcessConformance(t *testing.T) {
	sandboxtest.Conformance(t, func(t *testing.T) sandbox.Driver { return newDriver(t) })
}

// newDriver returns a Driver in a fresh state directory and checks, when the
// test ends, that its sandboxes left nothing there.
func newDriver(t *testing.T) *Driver {
	t.Helper()
	d, err := New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		entries, err := os.ReadDir(d.stateDir)
		if err != nil || len(entries) != 0 {
			t.Errorf("state directory after the test: %v %v, want it empty", entries, err)
		}
	})
	return d
}

// spec returns a Spec running behaviour with arg from a fresh code directory.
func spec(t *testing.T, id, behaviour, arg string, stdout io.Writer) sandbox.Spec {
	t.Helper()
	code := t.TempDir()
	sandboxtest.Install(t, code)
	command, env := sandboxtest.Program(behaviour, arg)
	return sandbox.Spec{ID: id, Code: code, Command: command, Env: env, Stdout: stdout, Stderr: stdout}
}

func start(t *testing.T, d *Driver, spec sandbox.Spec) *processSandbox {
	t.Helper()
	sb, err := d.Start(t.Context(), spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := sb.Destroy(); err != nil {
			t.Errorf("Destroy: %v", err)
		}
	})
	return sb.(*processSandbox)
}

func wait(t *testing.T, sb sandbox.Sandbox) {
	t.Helper()
	select {
	case <-sb.Done():
	case <-time.After(patience):
		t.Fatalf("the program has not exited after %v", patience)
	}
}

// TestSandboxProcessGroupGone checks, by its own reading of /proc, that no
// process of the sandbox's group is alive once Destroy returns (zombies left
// for an init that does not reap are dead).
func TestSandboxProcessGroupGone(t *testing.T) {
	t.Parallel()
	d := newDriver(t)
	var pings atomic.Int64
	sp := spec(t, "group", "fork-ping", "", nil)
	sp.Endpoint = http.HandlerFunc(func(http.ResponseWriter, *http.Request) { pings.Add(1) })
	sp.EndpointEnv = sandboxtest.EndpointEnv
	sb := start(t, d, sp)
	deadline := time.Now().Add(patience)
	for pings.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatal("no pings from the forked process")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if live := liveMembers(t, sb.pid); len(live) < 2 {
		t.Fatalf("group %d has live processes %v, want the main process and its child", sb.pid, live)
	}
	if err := sb.Destroy(); err != nil {
		t.Fatal(err)
	}
	if live := liveMembers(t, sb.pid); len(live) != 0 {
		// The survivors hold the group's id, so it names no other group.
		unix.Kill(-sb.pid, unix.SIGKILL)
		t.Errorf("after Destroy, group %d still had live processes %v", sb.pid, live)
	}
}

// liveMembers returns the pids of group pgid's processes that are not
// zombies.
func liveMembers(t *testing.T, pgid int) []string {
	t.Helper()
	dirs, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		t.Fatal(err)
	}
	var live []string
	for _, path := range dirs {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // gone
		}
		fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if fields[2] == strconv.Itoa(pgid) && fields[0] != "Z" {
			live = append(live, filepath.Base(filepath.Dir(path))+" "+fields[0])
		}
	}
	return live
}

// TestSandboxProcessRefusesSpec checks that Start refuses what would let a
// sandbox escape its directory or share another's, and makes nothing.
func TestSandboxProcessRefusesSpec(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	d, err := New(filepath.Join(parent, "state"), nil)
	if err != nil {
		t.Fatal(err)
	}
	valid := spec(t, "valid", "exit", "0", nil)
	tests := []struct {
		name   string
		change func(*sandbox.Spec)
	}{
		{"ID ../x", func(s *sandbox.Spec) { s.ID = "../x" }},
		{"ID ..", func(s *sandbox.Spec) { s.ID = ".." }},
		{"ID /x", func(s *sandbox.Spec) { s.ID = "/x" }},
		{"ID x/../../y", func(s *sandbox.Spec) { s.ID = "x/../../y" }},
		{"relative code directory", func(s *sandbox.Spec) { s.Code = "code" }},
		{"command outside the code directory", func(s *sandbox.Spec) { s.Command = []string{"../bootstrap"} }},
		{"endpoint without a variable", func(s *sandbox.Spec) {
			s.Endpoint, s.EndpointEnv = http.NotFoundHandler(), ""
		}},
		{"endpoint variable with =", func(s *sandbox.Spec) {
			s.Endpoint, s.EndpointEnv = http.NotFoundHandler(), "A=B"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := valid
			tt.change(&s)
			if _, err := d.Start(t.Context(), s); !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Errorf("Start: %v, want an ErrInvalidArgument", err)
			}
		})
	}
	if names := dirNames(t, parent); !slices.Equal(names, []string{"state"}) {
		t.Errorf("the state directory's parent holds %q, want only state", names)
	}
	if names := dirNames(t, d.stateDir); len(names) != 0 {
		t.Errorf("the state directory holds %q, want nothing", names)
	}
}

// TestSandboxProcessRefusesLiveID checks that a second sandbox with a live
// sandbox's ID is refused rather than given its directory.
func TestSandboxProcessRefusesLiveID(t *testing.T) {
	t.Parallel()
	d := newDriver(t)
	first := start(t, d, spec(t, "twice", "sleep-forever", "", nil))
	if _, err := d.Start(t.Context(), spec(t, "twice", "exit", "0", nil)); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second Start: %v, want fs.ErrExist", err)
	}
	select {
	case <-first.Done():
		t.Error("the refused Start ended the live sandbox")
	default:
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestSandboxProcessWorkingDirectory checks that the program runs in its
// code directory, as Lambda's bootstrap does in /var/task.
func TestSandboxProcessWorkingDirectory(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	s := spec(t, "cwd", "print-cwd", "", &out)
	sb := start(t, newDriver(t), s)
	wait(t, sb)
	if got := out.String(); got != s.Code {
		t.Errorf("working directory %q, want the code directory %q", got, s.Code)
	}
}

func printCwd(env sandboxtest.Env, _ string) int {
	wd, err := os.Getwd()
	if err != nil {
		return 1
	}
	io.WriteString(env.Stdout(), wd)
	return 0
}

// TestSandboxProcessUsage checks that Usage reports the main process's peak
// memory while it runs and after it has exited.
func TestSandboxProcessUsage(t *testing.T) {
	t.Parallel()
	d := newDriver(t)
	t.Run("running", func(t *testing.T) {
		t.Parallel()
		sb := start(t, d, spec(t, "usage-running", "sleep-forever", "", nil))
		deadline := time.Now().Add(patience)
		for sb.Usage().MaxMemoryBytes == 0 {
			if time.Now().After(deadline) {
				t.Fatal("Usage reports no memory for a running process")
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
	t.Run("exited", func(t *testing.T) {
		t.Parallel()
		const mib = 64
		sb := start(t, d, spec(t, "usage-exited", "alloc", strconv.Itoa(mib), nil))
		wait(t, sb)
		if err := sb.Err(); err != nil {
			t.Fatal(err)
		}
		if got := sb.Usage().MaxMemoryBytes; got < mib<<20 {
			t.Errorf("after the program touched %d MiB, Usage reports %d bytes", mib, got)
		}
	})
}

// TestSandboxProcessOutputBytes checks that output beyond Limits.OutputBytes
// per second is dropped, and that the program still runs to its end.
func TestSandboxProcessOutputBytes(t *testing.T) {
	t.Parallel()
	const limit, flood = 4096, 1 << 20
	var out syncBuffer
	s := spec(t, "flood", "flood", strconv.Itoa(flood), &out)
	s.Limits.OutputBytes = limit
	began := time.Now()
	sb := start(t, newDriver(t), s)
	wait(t, sb)
	seconds := int(time.Since(began)/time.Second) + 1
	if err := sb.Err(); err != nil {
		t.Fatal(err)
	}
	got := len(out.String())
	if got == 0 || got > limit*(seconds+1) {
		t.Errorf("delivered %d of %d bytes in under %d s, want between 1 and %d", got, flood, seconds, limit*(seconds+1))
	}
}

// TestSandboxProcessDiesWithServer checks Pdeathsig: a sandbox's main process
// dies with the process that started it. The starting process here is itself
// a sandbox's program ("start-sandbox"), killed alone, without Destroy.
func TestSandboxProcessDiesWithServer(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	server := start(t, newDriver(t), spec(t, "server", "start-sandbox", "", &out))
	deadline := time.Now().Add(patience)
	for !strings.HasSuffix(out.String(), "\n") {
		if time.Now().After(deadline) || sandboxDone(server) {
			t.Fatalf("the server did not report its sandbox; output %q", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	inner, err := strconv.Atoi(strings.TrimSpace(out.String()))
	if err != nil {
		t.Fatalf("the server reported %q", out.String())
	}
	if live := liveMembers(t, inner); len(live) != 1 {
		t.Fatalf("the inner sandbox's group %d has live processes %v, want its main process", inner, live)
	}
	if err := unix.Kill(server.pid, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for len(liveMembers(t, inner)) != 0 {
		if time.Now().After(deadline) {
			unix.Kill(-inner, unix.SIGKILL) // alive, so the id is still its
			t.Fatalf("the inner sandbox's process %d outlived the server", inner)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func sandboxDone(sb sandbox.Sandbox) bool {
	select {
	case <-sb.Done():
		return true
	default:
		return false
	}
}

// startSandbox is a server in miniature: it starts a sandbox running
// "sleep-forever" with this package's Driver, prints its pid and sleeps
// forever.
func startSandbox(env sandboxtest.Env, _ string) int {
	code, err := os.Getwd() // the code directory, holding bootstrap
	if err != nil {
		return 1
	}
	d, err := New(filepath.Join(env.Getenv("TMPDIR"), "state"), nil)
	if err != nil {
		fmt.Fprintln(env.Stderr(), err)
		return 1
	}
	command, spEnv := sandboxtest.Program("sleep-forever", "")
	sb, err := d.Start(env.Context(), sandbox.Spec{ID: "inner", Code: code, Command: command, Env: spEnv})
	if err != nil {
		fmt.Fprintln(env.Stderr(), err)
		return 1
	}
	fmt.Fprintln(env.Stdout(), sb.(*processSandbox).pid)
	<-sb.Done()
	return 1
}

// BenchmarkSandboxProcessStartToRequest measures how long a program takes
// from Start to its first request to the endpoint (the test binary's start
// included), and reports the median.
func BenchmarkSandboxProcessStartToRequest(b *testing.B) {
	d, err := New(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	code := b.TempDir()
	sandboxtest.Install(b, code)
	command, env := sandboxtest.Program("ping-endpoint", "")
	var took []time.Duration
	for i := 0; b.Loop(); i++ {
		first := make(chan struct{})
		var once sync.Once
		began := time.Now()
		sb, err := d.Start(b.Context(), sandbox.Spec{
			ID: "bench-" + strconv.Itoa(i), Code: code, Command: command, Env: env,
			Endpoint:    http.HandlerFunc(func(http.ResponseWriter, *http.Request) { once.Do(func() { close(first) }) }),
			EndpointEnv: sandboxtest.EndpointEnv,
		})
		if err != nil {
			b.Fatal(err)
		}
		<-first
		took = append(took, time.Since(began))
		if err := sb.Destroy(); err != nil {
			b.Fatal(err)
		}
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "ms-median-to-request")
}

// syncBuffer is an io.Writer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
