package cgroup

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// allocateEnv makes the test binary, re-executed, a child that waits for a
// line on stdin (its parent attaches it meanwhile), then allocates and
// touches the number of MiB the variable holds.
const allocateEnv = "BULKHEAD_CGROUP_TEST_ALLOCATE_MIB"

func TestMain(m *testing.M) {
	if mib := os.Getenv(allocateEnv); mib != "" {
		allocate(mib)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func allocate(mib string) {
	n, err := strconv.Atoi(mib)
	if err != nil {
		os.Exit(2)
	}
	if _, err := io.ReadFull(os.Stdin, make([]byte, 1)); err != nil {
		os.Exit(3)
	}
	var held [][]byte
	for range n {
		chunk := make([]byte, 1<<20)
		for i := 0; i < len(chunk); i += 4096 {
			chunk[i] = 1
		}
		held = append(held, chunk)
	}
	fmt.Fprintf(os.Stderr, "allocated %d MiB\n", len(held))
}

// hostManager opens a Manager of a fresh name on this host's cgroup v1
// hierarchies, and removes every group under it, and its own directories,
// when the test ends.
func hostManager(t *testing.T) *Manager {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("making cgroups needs root")
	}
	if _, err := os.Stat("/sys/fs/cgroup/memory"); err != nil {
		t.Skipf("no cgroup v1 memory hierarchy on this host: %v", err)
	}
	name := "bulkhead-test-" + strings.ToLower(rand.Text()[:12])
	m, err := Open(name)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { removeAll(t, m) })
	if missing := m.Missing(); len(missing) > 0 {
		t.Skipf("controllers %v missing on this host (%s)", missing, m.Describe())
	}
	if got, want := m.Describe(), "memory:v1 cpu:v1 pids:v1"; got != want {
		t.Fatalf("Describe = %q, want %q on a host with v1 memory", got, want)
	}
	return m
}

// removeAll sweeps m's groups and removes its directories.
func removeAll(t *testing.T, m *Manager) {
	if _, err := m.Sweep(); err != nil {
		t.Errorf("cleanup: Sweep: %v", err)
	}
	for _, h := range m.hierarchies {
		if err := os.Remove(h.base); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Errorf("cleanup: %v", err)
		}
	}
}

// start starts a child held on its stdin until release is called.
func start(t *testing.T, cmd *exec.Cmd) (release func()) {
	t.Helper()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return func() {
		if _, err := stdin.Write([]byte("\n")); err != nil {
			t.Errorf("releasing the child: %v", err)
		}
	}
}

// waitKilled waits for cmd and checks SIGKILL ended it.
func waitKilled(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		status, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
		if !ok || !status.Signaled() || status.Signal() != syscall.SIGKILL {
			t.Errorf("child ended with %v, want SIGKILL", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("child still running 30s later")
	}
}

func readTrimmed(t *testing.T, file string) string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Error(err)
	}
	return strings.TrimSpace(string(data))
}

func TestSandboxCgroupHostLifecycle(t *testing.T) {
	t.Parallel()
	m := hostManager(t)
	g, err := m.Create("life", Limits{MemoryBytes: 64 << 20, CPUMilli: 500, Pids: 32})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	for _, p := range m.Paths("life") {
		if !strings.HasPrefix(p, "/sys/fs/cgroup/") {
			t.Errorf("path %s is not under /sys/fs/cgroup", p)
		}
	}
	dir := func(c string) string { return filepath.Join(m.use[c].base, "life") }
	for file, want := range map[string]string{
		filepath.Join(dir("memory"), "memory.limit_in_bytes"):       "67108864",
		filepath.Join(dir("memory"), "memory.memsw.limit_in_bytes"): "67108864",
		filepath.Join(dir("cpu"), "cpu.cfs_period_us"):              "100000",
		filepath.Join(dir("cpu"), "cpu.cfs_quota_us"):               "50000",
		filepath.Join(dir("pids"), "pids.max"):                      "32",
	} {
		if got := readTrimmed(t, file); got != want {
			t.Errorf("%s = %q, want %q", file, got, want)
		}
	}

	cmd := startAttached(t, g, "sleep", "30")
	procs, err := g.Procs()
	if err != nil || !slices.Contains(procs, cmd.Process.Pid) {
		t.Errorf("Procs = %v, %v; want it to hold %d", procs, err, cmd.Process.Pid)
	}
	for _, c := range controllers {
		data, _ := os.ReadFile(filepath.Join(dir(c), "cgroup.procs"))
		if !slices.Contains(strings.Fields(string(data)), strconv.Itoa(cmd.Process.Pid)) {
			t.Errorf("%s cgroup.procs = %q, want pid %d", c, data, cmd.Process.Pid)
		}
	}

	if err := g.Kill(); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	if procs, err := g.Procs(); err != nil || len(procs) != 0 {
		t.Errorf("Procs after Kill = %v, %v; want none", procs, err)
	}
	waitKilled(t, cmd)
	if err := g.Remove(); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	for _, p := range m.Paths("life") {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after Remove: %v, want it gone", p, err)
		}
	}
}

func TestSandboxCgroupHostKillForking(t *testing.T) {
	t.Parallel()
	m := hostManager(t)
	g, err := m.Create("forking", Limits{Pids: 32})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	// A shell that starts sleeps as fast as it can, into the pids limit.
	cmd := exec.Command("sh", "-c", "read x; while :; do sleep 60 & done 2>/dev/null")
	release := start(t, cmd)
	if err := g.Attach(cmd.Process.Pid); err != nil {
		t.Fatalf("Attach: %v", err)
	}
	release()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		procs, err := g.Procs()
		if err != nil {
			t.Fatal(err)
		}
		if len(procs) >= 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d processes after 10s", len(procs))
		}
	}
	if err := g.Kill(); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	if procs, err := g.Procs(); err != nil || len(procs) != 0 {
		t.Errorf("Procs after Kill = %v, %v; want none", procs, err)
	}
	waitKilled(t, cmd)
	if err := g.Remove(); err != nil {
		t.Fatalf("Remove: %v", err)
	}
}

func TestSandboxCgroupHostSweep(t *testing.T) {
	t.Parallel()
	m := hostManager(t)
	g, err := m.Create("left", Limits{MemoryBytes: 64 << 20, CPUMilli: 500, Pids: 32})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	cmd := startAttached(t, g, "sleep", "30")

	// The server crashes, leaving the group and its sleep; the next run
	// opens the same name.
	next, err := Open(m.name)
	if err != nil {
		t.Fatalf("reopening: %v", err)
	}
	n, err := next.Sweep()
	if err != nil || n != 1 {
		t.Errorf("Sweep = %d, %v; want 1, nil", n, err)
	}
	waitKilled(t, cmd)
	for _, p := range m.Paths("left") {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after Sweep: %v, want it gone", p, err)
		}
	}
}

func TestSandboxCgroupHostOOM(t *testing.T) {
	t.Parallel()
	m := hostManager(t)
	g, err := m.Create("oom", Limits{MemoryBytes: 32 << 20})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), allocateEnv+"=100")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	release := start(t, cmd)
	if err := g.Attach(cmd.Process.Pid); err != nil {
		t.Fatalf("Attach: %v", err)
	}
	release()
	waitKilled(t, cmd)
	if strings.Contains(stderr.String(), "allocated") {
		t.Errorf("the child finished allocating: %q", stderr.String())
	}
	s := g.Stats()
	t.Logf("Stats after the OOM kill: %+v", s)
	if s.OOMKills < 1 || s.MemoryPeakBytes <= 0 {
		t.Errorf("Stats = %+v, want an OOM kill and a peak", s)
	}
	// The kernel's peak may pass the limit by a page or so (charges race
	// the reclaim); by much more, the limit was not in force.
	if s.MemoryPeakBytes > 33<<20 {
		t.Errorf("peak %d well above the limit %d", s.MemoryPeakBytes, 32<<20)
	}
	if err := g.Kill(); err != nil {
		t.Errorf("Kill: %v", err)
	}
	if err := g.Remove(); err != nil {
		t.Errorf("Remove: %v", err)
	}
}

// startAttached starts a command, moves it into g, and kills it when the
// test ends if it is still running.
func startAttached(t *testing.T, g *Group, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	if err := g.Attach(cmd.Process.Pid); err != nil {
		t.Fatalf("Attach: %v", err)
	}
	return cmd
}
