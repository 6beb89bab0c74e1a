package linux

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/bulkhead-dev/bulkhead/internal/sandbox/linux/initprocess"
)

// A package init function recognises the spawner's role before main runs,
// as initprocess does the init's (see there).
func init() {
	if len(os.Args) > 0 && os.Args[0] == spawnerArg0 {
		runSpawner()
	}
}

// runSpawner is the spawner: the server's binary re-executed with argv[0]
// spawnerArg0 and its end of a socket pair at fdSpawnerSocket. It clones
// every sandbox's init, so that the clone — a full fork, because the user
// namespace rules out vfork — copies this small process's page tables
// rather than the server's (see docs/adr/0004-linux-sandbox.md). It never
// returns: it exits when the server closes the socket or dies.
//
// The spawner dies with the server (the server sets its parent-death
// signal, and the socket ends), and every init it cloned dies with it: their
// parent-death signal, and the lifeline pipe the init checks once that
// signal is re-armed (see orphaned in package initprocess).
func runSpawner() {
	s, err := newSpawnerProcess(os.NewFile(fdSpawnerSocket, "spawner socket"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "sandbox spawner: %v\n", err)
		os.Exit(2)
	}
	s.serve()
	os.Exit(0)
}

// spawnerProcess is the spawner's state.
//
// Concurrency: serve reads requests and starts a goroutine for each, which
// ends once it has answered; a goroutine started by serve reaps children on
// SIGCHLD for the process's life. clones is held for reading from before a
// clone until its pid is registered in pids or the init is known dead, and
// for writing while reaping, so a pid is never reaped — and never reused —
// while a start still uses it. Lock order: clones before mu.
type spawnerProcess struct {
	conn *net.UnixConn
	// The lifeline: every init gets the write end; the read end stays open,
	// never read, as long as the spawner lives.
	lifelineR, lifelineW *os.File

	clones sync.RWMutex
	mu     sync.Mutex     // guards pids
	pids   map[int]uint64 // the start id of each running init or program
}

func newSpawnerProcess(socket *os.File) (*spawnerProcess, error) {
	c, err := net.FileConn(socket)
	socket.Close()
	if err != nil {
		return nil, err
	}
	conn, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, fmt.Errorf("descriptor %d is not a unix socket", fdSpawnerSocket)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	return &spawnerProcess{conn: conn, lifelineR: r, lifelineW: w, pids: make(map[int]uint64)}, nil
}

// serve answers requests until the server closes the socket.
func (s *spawnerProcess) serve() {
	children := make(chan os.Signal, 1)
	signal.Notify(children, syscall.SIGCHLD)
	go func() {
		for range children {
			s.reap()
		}
	}()
	buf := make([]byte, maxMessage)
	oob := make([]byte, unix.CmsgSpace(maxFiles*4))
	for {
		m, files, err := receive(s.conn, buf, oob)
		if errors.Is(err, errMessage) {
			fmt.Fprintf(os.Stderr, "sandbox spawner: %v\n", err)
			return
		}
		if err != nil {
			return // the server is gone or closed its end
		}
		if m.op != opStart || len(files) < m.files() || len(files) > m.files()+maxCgroupFiles {
			closeAll(files)
			fmt.Fprintf(os.Stderr, "sandbox spawner: unexpected %v with %d descriptors\n", m.op, len(files))
			return
		}
		go s.start(m, files)
	}
}

// start clones an init for request m, attaches it to its cgroups and
// limits its open files, and answers opStarted with its pidfd, or opFailed.
// It closes files.
func (s *spawnerProcess) start(m message, files []*os.File) {
	defer closeAll(files)
	config, status, code, rest := files[0], files[1], files[2], files[3:]
	var stdout, stderr *os.File
	if m.stdio&stdioOut != 0 {
		stdout, rest = rest[0], rest[1:]
	}
	if m.stdio&stdioErr != 0 {
		stderr, rest = rest[0], rest[1:]
	}
	procs := rest

	s.clones.RLock()
	defer s.clones.RUnlock()
	pidfd := -1
	cmd := &exec.Cmd{
		Path:       "/proc/self/exe",
		Args:       []string{initprocess.Arg0},
		Env:        []string{},                                    // not nil: nil would pass the spawner's
		ExtraFiles: []*os.File{config, status, code, s.lifelineW}, // initprocess.FDConfig, FDStatus, FDCode, FDLifeline
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWPID |
				unix.CLONE_NEWNET | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS,
			UidMappings: []syscall.SysProcIDMap{{ContainerID: nsRootID, HostID: hostRootID, Size: 1}, {ContainerID: nsUserID, HostID: hostUserID, Size: 1}},
			GidMappings: []syscall.SysProcIDMap{{ContainerID: nsRootID, HostID: hostRootID, Size: 1}, {ContainerID: nsUserID, HostID: hostUserID, Size: 1}},
			// Lets the child drop the server's supplementary groups, which
			// it would otherwise keep (unmapped, but still honoured by
			// permission checks on the host's files).
			GidMappingsEnableSetgroups: true,
			Credential:                 &syscall.Credential{Uid: nsRootID, Gid: nsRootID},
			// Pdeathsig fires when the thread that forked ends
			// (go.dev/issue/27505): no goroutine of the spawner locks its
			// thread, so the runtime never ends one.
			Pdeathsig: syscall.SIGKILL,
			PidFD:     &pidfd,
		},
	}
	if stdout != nil {
		cmd.Stdout = stdout
	}
	if stderr != nil {
		cmd.Stderr = stderr
	}
	if err := cmd.Start(); err != nil {
		s.answer(message{op: opFailed, id: m.id, text: "starting the sandbox's init: " + err.Error()}, nil)
		return
	}
	pid := cmd.Process.Pid
	cmd.Process.Release() // reap reaps it; the pidfd is ours
	if pidfd < 0 {
		unix.Kill(pid, unix.SIGKILL) // still ours: not reaped while clones is held
		s.answer(message{op: opFailed, id: m.id, text: "starting the sandbox's init: the kernel gave no pidfd"}, nil)
		return
	}
	pidf := os.NewFile(uintptr(pidfd), "pidfd")
	defer pidf.Close()
	if err := setUp(pid, procs, m.openFiles); err != nil {
		unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0) // reap reaps it, unregistered
		s.answer(message{op: opFailed, id: m.id, text: err.Error()}, nil)
		return
	}
	s.mu.Lock()
	s.pids[pid] = m.id
	s.mu.Unlock()
	s.answer(message{op: opStarted, id: m.id, pid: int32(pid)}, []*os.File{pidf})
}

// setUp puts the init pid in its cgroups, writing to each hierarchy's
// cgroup.procs file the server opened, and limits its open files, before it
// runs code of its own (it waits for its configuration).
func setUp(pid int, procs []*os.File, openFiles uint32) error {
	for _, f := range procs {
		if _, err := f.WriteString(strconv.Itoa(pid)); err != nil {
			return fmt.Errorf("cgroup: attach %d: %w", pid, err)
		}
	}
	limit := unix.Rlimit{Cur: uint64(openFiles), Max: uint64(openFiles)}
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, &limit, nil); err != nil {
		return fmt.Errorf("limiting open files: %w", err)
	}
	return nil
}

// reap reaps every child that has exited and tells the server how each
// registered one ended. It waits for the starts in progress.
func (s *spawnerProcess) reap() {
	s.clones.Lock()
	defer s.clones.Unlock()
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			return // ECHILD: no children; 0: none has exited
		}
		s.mu.Lock()
		id, ok := s.pids[pid]
		delete(s.pids, pid)
		s.mu.Unlock()
		if !ok {
			continue // an init whose start failed
		}
		m := message{op: opExited, id: id, status: int32(ws.ExitStatus())}
		if ws.Signaled() {
			m.status, m.signal = -1, int32(ws.Signal())
		}
		s.answer(m, nil)
	}
}

// answer sends m with files. A failed send means the server is gone, and
// then the spawner, and every sandbox, is about to end.
func (s *spawnerProcess) answer(m message, files []*os.File) {
	send(s.conn, m, files)
}

// send writes m with files as one datagram.
func send(conn *net.UnixConn, m message, files []*os.File) error {
	var oob []byte
	if len(files) > 0 {
		fds := make([]int, len(files))
		for i, f := range files {
			fds[i] = int(f.Fd())
		}
		oob = unix.UnixRights(fds...)
	}
	_, _, err := conn.WriteMsgUnix(m.encode(), oob, nil)
	return err
}

// receive reads one datagram and the descriptors beside it, which are
// close-on-exec (net passes MSG_CMSG_CLOEXEC). buf and oob must hold
// maxMessage bytes and maxFiles descriptors. An error wrapping errMessage is
// a malformed message; descriptors that came with it are closed.
func receive(conn *net.UnixConn, buf, oob []byte) (message, []*os.File, error) {
	n, oobn, flags, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return message{}, nil, err
	}
	files, ferr := parseRights(oob[:oobn])
	if n == 0 && oobn == 0 {
		return message{}, nil, net.ErrClosed // end of the conversation
	}
	if ferr == nil && flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 {
		ferr = fmt.Errorf("%w: truncated (flags %#x)", errMessage, flags)
	}
	m, err := decode(buf[:n])
	if err = errors.Join(ferr, err); err != nil {
		closeAll(files)
		return message{}, nil, err
	}
	return m, files, nil
}

// parseRights returns the descriptors of the SCM_RIGHTS messages in oob.
func parseRights(oob []byte) ([]*os.File, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("%w: control message: %v", errMessage, err)
	}
	var files []*os.File
	for _, msg := range msgs {
		fds, err := unix.ParseUnixRights(&msg)
		if err != nil {
			continue // not SCM_RIGHTS: nothing to close
		}
		for _, fd := range fds {
			files = append(files, os.NewFile(uintptr(fd), "received"))
		}
	}
	return files, nil
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}
