package linux

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/sandbox"
	"github.com/bulkhead-dev/bulkhead/internal/sandbox/sandboxtest"
)

// patience bounds every wait for something that should happen soon.
const patience = 20 * time.Second

// sleepingSpec returns a spec whose program sleeps until killed.
func sleepingSpec(t *testing.T, id string) sandbox.Spec {
	t.Helper()
	code := t.TempDir()
	os.Chmod(code, 0o755)
	sandboxtest.Install(t, code)
	command, env := sandboxtest.Program("sleep-forever", "")
	return sandbox.Spec{ID: id, Code: code, Command: command, Env: env}
}

// spawnerPid returns the pid of d's current spawner.
func spawnerPid(d *Driver) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.spawner.cmd.Process.Pid
}

// alive reports whether the process of pidfd has not ended.
func alive(t *testing.T, pidfd *os.File) bool {
	t.Helper()
	polls := []unix.PollFd{{Fd: int32(pidfd.Fd()), Events: unix.POLLIN}}
	n, err := unix.Poll(polls, 0)
	if err != nil {
		t.Fatalf("poll on a pidfd: %v", err)
	}
	return n == 0
}

// TestSandboxLinuxSpawnerKilled kills the spawner under a running sandbox:
// the sandbox dies with it, and the next Start works, with a new spawner.
func TestSandboxLinuxSpawnerKilled(t *testing.T) {
	t.Parallel()
	d := newDriver(t)
	sb, err := d.Start(t.Context(), sleepingSpec(t, "victim"))
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Destroy()
	victim := sb.(*linuxSandbox)
	old := spawnerPid(d)
	if err := unix.Kill(old, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-sb.Done():
	case <-time.After(patience):
		t.Fatal("the sandbox outlived its spawner")
	}
	var exit *sandbox.ExitError
	if err := sb.Err(); !errors.As(err, &exit) || exit.Signal != "SIGKILL" {
		t.Errorf("Err = %v, want killed by SIGKILL", err)
	}
	if alive(t, victim.pidfd) {
		t.Error("Done is closed, but the sandbox's process has not ended")
	}
	if procs, err := victim.cgroup.Procs(); err != nil || len(procs) != 0 {
		t.Errorf("the dead sandbox's cgroup holds %v (%v)", procs, err)
	}
	if err := sb.Destroy(); err != nil {
		t.Errorf("Destroy: %v", err)
	}

	next, err := d.Start(t.Context(), sleepingSpec(t, "next"))
	if err != nil {
		t.Fatalf("Start after the spawner died: %v", err)
	}
	if now := spawnerPid(d); now == old {
		t.Errorf("the spawner is still pid %d", now)
	}
	if err := next.Destroy(); err != nil {
		t.Errorf("Destroy: %v", err)
	}
	var next2 *sandbox.ExitError
	if !errors.As(next.Err(), &next2) || next2.Signal != "SIGKILL" {
		t.Errorf("after Destroy, Err = %v, want killed by SIGKILL", next.Err())
	}
}

// TestSandboxLinuxSpawnerDiesDuringStart stops the spawner, starts a
// sandbox, and kills the spawner while that start waits for it: the start
// fails saying so, leaves nothing behind (newDriver checks the cgroups),
// and the next start works.
func TestSandboxLinuxSpawnerDiesDuringStart(t *testing.T) {
	t.Parallel()
	d := newDriver(t)
	pid := spawnerPid(d)
	if err := unix.Kill(pid, unix.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	type result struct {
		sb  sandbox.Sandbox
		err error
	}
	done := make(chan result, 1)
	go func() {
		sb, err := d.Start(t.Context(), sleepingSpec(t, "in-flight"))
		done <- result{sb, err}
	}()
	deadline := time.Now().Add(patience)
	for {
		d.mu.Lock()
		sp := d.spawner
		d.mu.Unlock()
		sp.mu.Lock()
		waiting := len(sp.pending)
		sp.mu.Unlock()
		if waiting == 1 {
			break
		}
		if time.Now().After(deadline) {
			unix.Kill(pid, unix.SIGKILL)
			t.Fatal("the start never reached the spawner")
		}
		time.Sleep(time.Millisecond)
	}
	if err := unix.Kill(pid, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var r result
	select {
	case r = <-done:
	case <-time.After(patience):
		t.Fatal("the start still waits for its dead spawner")
	}
	if r.err == nil {
		r.sb.Destroy()
		t.Fatal("Start succeeded with its spawner killed")
	}
	if !errors.Is(r.err, errdefs.ErrUnavailable) || !strings.Contains(r.err.Error(), "spawner") || !strings.Contains(r.err.Error(), "died") {
		t.Errorf("Start = %v, want an errdefs.ErrUnavailable saying the spawner died", r.err)
	}
	t.Logf("Start: %v", r.err)

	sb, err := d.Start(t.Context(), sleepingSpec(t, "after"))
	if err != nil {
		t.Fatalf("Start after the spawner died: %v", err)
	}
	if err := sb.Destroy(); err != nil {
		t.Errorf("Destroy: %v", err)
	}
}

// TestSandboxLinuxClosedDriver checks that Close ends the spawner and that
// Start then fails.
func TestSandboxLinuxClosedDriver(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: the Linux sandbox needs root (CI runs these tests as root)")
	}
	t.Parallel()
	d, err := New(Options{Key: t.Name() + time.Now().String()})
	if err != nil {
		t.Fatal(err)
	}
	fd, err := unix.PidfdOpen(spawnerPid(d), 0)
	if err != nil {
		t.Fatal(err)
	}
	pidfd := os.NewFile(uintptr(fd), "pidfd")
	defer pidfd.Close()
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if alive(t, pidfd) {
		t.Error("the spawner outlived Close")
	}
	if _, err := d.Start(t.Context(), sleepingSpec(t, "late")); !errors.Is(err, errdefs.ErrUnavailable) {
		t.Errorf("Start after Close = %v, want errdefs.ErrUnavailable", err)
	}
}

// TestSandboxLinuxSpawnerProtocol plays a spawner that breaks the protocol
// while a start waits: the server ends it, and the start fails saying so.
func TestSandboxLinuxSpawnerProtocol(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		reply func(id uint64) ([]byte, []*os.File)
		want  string
	}{
		{"Garbage", func(uint64) ([]byte, []*os.File) { return []byte("hello"), nil }, "malformed"},
		{"UnknownStart", func(id uint64) ([]byte, []*os.File) {
			return message{op: opFailed, id: id + 1, text: "x"}.encode(), nil
		}, "not waiting"},
		{"StartedWithoutPidfd", func(id uint64) ([]byte, []*os.File) {
			return message{op: opStarted, id: id, pid: 1}.encode(), nil
		}, "0 descriptors"},
		{"ExitedBeforeStarted", func(id uint64) ([]byte, []*os.File) {
			return message{op: opExited, id: id}.encode(), nil
		}, "not running"},
		{"Start", func(id uint64) ([]byte, []*os.File) {
			return message{op: opStart, id: id}.encode(), nil
		}, "start from the spawner"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp, peer := fakeSpawner(t)
			got := make(chan spawned, 1)
			go func() { got <- sp.spawn(0, 1024, nil, nil) }()
			buf, oob := make([]byte, maxMessage), make([]byte, unix.CmsgSpace(maxFiles*4))
			m, files, err := receive(peer, buf, oob)
			if err != nil {
				t.Fatal(err)
			}
			closeAll(files)
			b, files := tt.reply(m.id)
			var rights []byte
			if len(files) > 0 {
				rights = unix.UnixRights(int(files[0].Fd()))
			}
			if _, _, err := peer.WriteMsgUnix(b, rights, nil); err != nil {
				t.Fatal(err)
			}
			var r spawned
			select {
			case r = <-got:
			case <-time.After(patience):
				t.Fatal("the start still waits")
			}
			if !errors.Is(r.err, errdefs.ErrUnavailable) || !strings.Contains(r.err.Error(), tt.want) || !strings.Contains(r.err.Error(), "broke its protocol") {
				t.Errorf("spawn = %v, want an errdefs.ErrUnavailable saying the spawner broke its protocol (%s)", r.err, tt.want)
			}
			select {
			case <-sp.reaped:
			case <-time.After(patience):
				t.Fatal("the spawner was not ended")
			}
			if ws := sp.cmd.ProcessState.Sys().(syscall.WaitStatus); ws.Signal() != syscall.SIGKILL {
				t.Errorf("the spawner ended as %v, want killed", sp.cmd.ProcessState)
			}
		})
	}
}

// fakeSpawner returns a spawner whose process sleeps, and the other end of
// its socket, for the test to answer as the spawner would, or not.
func fakeSpawner(t *testing.T) (*spawner, *net.UnixConn) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	conns := make([]*net.UnixConn, 2)
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "socket")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c.(*net.UnixConn)
	}
	t.Cleanup(func() { conns[1].Close() })
	_, env := sandboxtest.Program("sleep-forever", "")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = env
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sp := newSpawner(cmd, conns[0])
	t.Cleanup(sp.close)
	return sp, conns[1]
}

// linuxServer is a behaviour that plays a server: it makes a Driver with
// the Key before the first "|" of arg, starts a sandbox that sleeps with the
// code directory after it, prints the spawner's and the sandbox's pids and
// sleeps until killed.
func linuxServer(env sandboxtest.Env, arg string) int {
	key, code, _ := strings.Cut(arg, "|")
	d, err := New(Options{Key: key})
	if err != nil {
		fmt.Fprintln(env.Stderr(), err)
		return 1
	}
	command, spawnEnv := sandboxtest.Program("sleep-forever", "")
	sb, err := d.Start(env.Context(), sandbox.Spec{ID: "orphan", Code: code, Command: command, Env: spawnEnv})
	if err != nil {
		fmt.Fprintln(env.Stderr(), err)
		return 1
	}
	fmt.Fprintln(env.Stdout(), spawnerPid(d), sb.(*linuxSandbox).pid)
	<-env.Context().Done() // never: the test kills this process
	return 0
}

// TestSandboxLinuxServerKilled kills a server with SIGKILL, so that nothing
// of it runs to clean up: its spawner and its sandbox die with it, and the
// next server on the same Key sweeps the sandbox's cgroups.
func TestSandboxLinuxServerKilled(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: the Linux sandbox needs root (CI runs these tests as root)")
	}
	t.Parallel()
	key := t.Name() + strconv.FormatInt(time.Now().UnixNano(), 10)
	spec := sleepingSpec(t, "unused")
	_, env := sandboxtest.Program("linux-server", key+"|"+spec.Code)
	server := exec.Command(os.Args[0], "-test.run=^$")
	server.Env = env
	server.Stderr = os.Stderr
	out, err := server.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	defer server.Process.Kill()
	var spawner, sandboxPid int
	if _, err := fmt.Fscan(out, &spawner, &sandboxPid); err != nil {
		t.Fatalf("reading the server's pids: %v", err)
	}
	var pidfds []*os.File
	for _, pid := range []int{spawner, sandboxPid} {
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			t.Fatalf("pidfd of %d: %v", pid, err)
		}
		pidfds = append(pidfds, os.NewFile(uintptr(fd), "pidfd"))
		defer pidfds[len(pidfds)-1].Close()
	}
	if err := server.Process.Signal(unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	server.Wait()
	for i, what := range []string{"spawner", "sandbox"} {
		deadline := time.Now().Add(patience)
		for alive(t, pidfds[i]) {
			if time.Now().After(deadline) {
				t.Fatalf("the %s (pid %d) outlived its server", what, []int{spawner, sandboxPid}[i])
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	d, err := New(Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := d.cgroups.Sweep(); err != nil || n != 0 {
		t.Errorf("after New, Sweep found %d groups (%v): New should have removed the dead server's", n, err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}
