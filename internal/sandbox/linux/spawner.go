package linux

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/sandbox"
)

// spawner is the server's end of its spawner process (spawner_main.go),
// which clones every sandbox's init: a clone with a new user namespace is a
// full fork, whose cost grows with the forking process's memory, so the
// server has a small process fork instead of forking itself. The spawner is
// the parent of every init, and so of every sandbox's main process; it
// reports how each ended.
//
// Concurrency: the reader goroutine, started with the spawner, owns the
// process: it dispatches the answers, and when the conversation ends — the
// spawner died, it broke the protocol, or close closed the socket — it
// kills and reaps the process, fails the starts still waiting, and closes
// gone, telling the sandboxes (see linuxSandbox.wait). mu guards the rest.
type spawner struct {
	cmd  *exec.Cmd
	conn *net.UnixConn

	gone   chan struct{} // closed when the spawner has ended; err says why
	reaped chan struct{} // closed when the reader has reaped the process

	mu      sync.Mutex
	err     error // why the spawner ended, wrapping errdefs.ErrUnavailable; set before gone is closed
	closing bool  // close was called
	nextID  uint64
	pending map[uint64]chan spawned // starts waiting for opStarted or opFailed
	live    map[uint64]chan<- error // started, waiting for opExited
}

// spawned is the answer to a start: the init's pid and pidfd, and how to
// learn when it has exited, or why it could not be started.
type spawned struct {
	pid   int
	pidfd *os.File
	// exit receives, once, how the sandbox's main process ended: nil or an
	// *sandbox.ExitError. If the spawner ends first, gone is closed instead.
	exit <-chan error
	gone <-chan struct{}
	err  error
}

// startSpawner starts a spawner process.
func startSpawner() (*spawner, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("the sandbox spawner's socket: %w", err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "spawner socket"), os.NewFile(uintptr(fds[1]), "spawner socket")
	defer theirs.Close()
	c, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		return nil, fmt.Errorf("the sandbox spawner's socket: %w", err)
	}
	cmd := &exec.Cmd{
		Path: "/proc/self/exe",
		Args: []string{spawnerArg0},
		// GOMAXPROCS: each clone copies the spawner's page tables and makes
		// its memory copy-on-write, and fewer threads running mean fewer
		// TLB shootdowns (one P cut the spawner's CPU per start by a
		// fifth). GORACE: a test binary built with -race would otherwise
		// sleep a second in exit, with its sandboxes still alive.
		Env:        []string{"GOMAXPROCS=1", "GORACE=atexit_sleep_ms=0"},
		Stderr:     os.Stderr,          // it writes only why it ended, if that is not the server's doing
		ExtraFiles: []*os.File{theirs}, // fdSpawnerSocket
		SysProcAttr: &syscall.SysProcAttr{
			// Dies with the server. Pdeathsig fires when the thread that
			// forked ends (go.dev/issue/27505): fork from a goroutine
			// whose thread is not locked, so the runtime never ends it.
			Pdeathsig: syscall.SIGKILL,
			// Out of the server's process group: a terminal's ^C is for the
			// server, which then destroys its sandboxes in order.
			Setpgid: true,
		},
	}
	started := make(chan error, 1)
	go func() { started <- cmd.Start() }()
	if err := <-started; err != nil {
		c.Close()
		return nil, fmt.Errorf("starting the sandbox spawner: %w", err)
	}
	return newSpawner(cmd, c.(*net.UnixConn)), nil
}

// newSpawner returns the server's end of the spawner cmd, started, that
// speaks on conn, and starts its reader.
func newSpawner(cmd *exec.Cmd, conn *net.UnixConn) *spawner {
	sp := &spawner{
		cmd:     cmd,
		conn:    conn,
		gone:    make(chan struct{}),
		reaped:  make(chan struct{}),
		pending: make(map[uint64]chan spawned),
		live:    make(map[uint64]chan<- error),
	}
	go sp.read()
	return sp
}

// ended reports whether the spawner has ended.
func (sp *spawner) ended() bool {
	select {
	case <-sp.gone:
		return true
	default:
		return false
	}
}

// spawn asks the spawner to clone an init with files (see opStart), put it
// in the cgroups whose cgroup.procs files are procs and limit its open files,
// and returns what it answered. If the spawner ends before it answers, the
// error wraps errdefs.ErrUnavailable.
func (sp *spawner) spawn(stdio uint8, openFiles int, files, procs []*os.File) spawned {
	reply := make(chan spawned, 1)
	sp.mu.Lock()
	if sp.err != nil {
		sp.mu.Unlock()
		return spawned{err: sp.err}
	}
	sp.nextID++
	id := sp.nextID
	sp.pending[id] = reply
	sp.mu.Unlock()
	m := message{op: opStart, id: id, stdio: stdio, openFiles: uint32(openFiles)}
	if err := send(sp.conn, m, append(files[:len(files):len(files)], procs...)); err != nil {
		sp.mu.Lock()
		delete(sp.pending, id)
		err = errors.Join(sp.err, fmt.Errorf("asking the sandbox spawner: %w: %w", err, errdefs.ErrUnavailable))
		sp.mu.Unlock()
		return spawned{err: err}
	}
	return <-reply
}

// read dispatches the spawner's messages until the conversation ends, then
// ends the spawner.
func (sp *spawner) read() {
	buf := make([]byte, maxMessage)
	oob := make([]byte, unix.CmsgSpace(maxFiles*4))
	var err error
	for err == nil {
		var (
			m     message
			files []*os.File
		)
		if m, files, err = receive(sp.conn, buf, oob); err == nil {
			err = sp.dispatch(m, files)
		}
	}
	sp.end(err)
}

// dispatch delivers one message to the start or sandbox it is about. An
// error is a broken protocol; files are closed, or handed on.
func (sp *spawner) dispatch(m message, files []*os.File) error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if m.op == opStart {
		closeAll(files)
		return fmt.Errorf("%w: %v from the spawner", errMessage, m.op)
	}
	if len(files) != m.files() {
		closeAll(files)
		return fmt.Errorf("%w: %v with %d descriptors", errMessage, m.op, len(files))
	}
	switch m.op {
	case opStarted, opFailed:
		reply, ok := sp.pending[m.id]
		if !ok {
			closeAll(files)
			return fmt.Errorf("%w: %v for start %d, which is not waiting", errMessage, m.op, m.id)
		}
		delete(sp.pending, m.id)
		if m.op == opFailed {
			reply <- spawned{err: errors.New(m.text)}
			return nil
		}
		exit := make(chan error, 1)
		sp.live[m.id] = exit
		reply <- spawned{pid: int(m.pid), pidfd: files[0], exit: exit, gone: sp.gone}
	case opExited:
		exit, ok := sp.live[m.id]
		if !ok {
			return fmt.Errorf("%w: exited for start %d, which is not running", errMessage, m.id)
		}
		delete(sp.live, m.id)
		exit <- exitError(m.status, m.signal)
	}
	return nil
}

// exitError is how a process that ended with status, or signal when not 0,
// ended, as sandbox.Sandbox.Err reports it.
func exitError(status, signal int32) error {
	switch {
	case signal != 0:
		return &sandbox.ExitError{Code: -1, Signal: unix.SignalName(syscall.Signal(signal))}
	case status != 0:
		return &sandbox.ExitError{Code: int(status)}
	}
	return nil
}

// end kills and reaps the spawner, whose sandboxes die with it, fails the
// starts still waiting, and closes gone. cause is why the conversation
// ended.
func (sp *spawner) end(cause error) {
	sp.cmd.Process.Kill()
	sp.conn.Close()
	sp.cmd.Wait()
	sp.mu.Lock()
	var why string
	switch {
	case sp.closing:
		why = "the sandbox driver is closed"
	case errors.Is(cause, errMessage):
		why = fmt.Sprintf("the sandbox spawner (pid %d) broke its protocol and was killed (%v)", sp.cmd.Process.Pid, cause)
	default:
		why = fmt.Sprintf("the sandbox spawner (pid %d) died (%v)", sp.cmd.Process.Pid, sp.cmd.ProcessState)
	}
	sp.err = fmt.Errorf("%s: %w", why, errdefs.ErrUnavailable)
	for id, reply := range sp.pending {
		reply <- spawned{err: fmt.Errorf("%s before the sandbox started: %w", why, errdefs.ErrUnavailable)}
		delete(sp.pending, id)
	}
	clear(sp.live)
	sp.mu.Unlock()
	close(sp.gone)
	close(sp.reaped)
}

// close ends the spawner: it sees the end of its socket and exits, and
// every sandbox still running dies with it. It returns once the process is
// reaped.
func (sp *spawner) close() {
	sp.mu.Lock()
	sp.closing = true
	sp.mu.Unlock()
	sp.conn.Close()
	<-sp.reaped
}
