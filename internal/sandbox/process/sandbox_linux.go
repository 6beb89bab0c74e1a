package process

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bulkhead-dev/bulkhead/internal/sandbox"
	"github.com/bulkhead-dev/bulkhead/internal/sandbox/child"
	"github.com/bulkhead-dev/bulkhead/internal/sandbox/output"
)

// killTimeout bounds how long Destroy waits for the sandbox's processes to
// die after SIGKILL; only a process stuck in the kernel takes longer.
const killTimeout = 10 * time.Second

// processSandbox is one sandbox of the Driver. Its states and the goroutines
// that move it are drawn in the package documentation.
type processSandbox struct {
	dir      string            // <StateDir>/<ID>, holding tmp/
	endpoint *sandbox.Endpoint // nil without an endpoint
	stdout   *output.Stream    // nil when the Spec's writer is nil
	stderr   *output.Stream
	cmd      *exec.Cmd
	pid      int // the main process's, and its group's id

	done chan struct{} // closed by wait: exited and output delivered
	err  error         // written by wait before done is closed

	mu     sync.Mutex
	peak   int64 // bytes; see Usage
	reaped bool  // pid may name another process once true

	destroyOnce sync.Once
	destroyErr  error
}

func (s *processSandbox) Done() <-chan struct{} { return s.done }

func (s *processSandbox) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// wait is the sandbox's waiter goroutine: it notes how the main process
// ended without reaping it, delivers the output the process left in the
// pipes, and closes done. Leaving the process a zombie until Destroy keeps
// its pid — the process group's id — from being reused, so Destroy's
// kill(-pid) cannot reach another group.
func (s *processSandbox) wait() {
	maxRSS, status := child.WaitExit(s.pid)
	s.err = status
	s.notePeak(maxRSS)
	s.stdout.Flush()
	s.stderr.Flush()
	close(s.done)
}

// Usage reports the peak resident memory of the main process: its VmHWM
// while it runs, and after it has exited the larger of that and the kernel's
// maxrss for it and the children it waited for. Memory of other processes in
// the sandbox is not counted, nor added up: the figure is approximate.
func (s *processSandbox) Usage() sandbox.Usage {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.reaped {
		if hwm, ok := vmHWM(s.pid); ok {
			s.peak = max(s.peak, hwm)
		}
	}
	return sandbox.Usage{MaxMemoryBytes: s.peak}
}

// FlushOutput delivers what the pipes hold now.
func (s *processSandbox) FlushOutput() {
	s.stdout.Flush()
	s.stderr.Flush()
}

// EndInit does nothing: the driver does not limit CPU.
func (s *processSandbox) EndInit() error { return nil }

func (s *processSandbox) notePeak(peak int64) {
	s.mu.Lock()
	s.peak = max(s.peak, peak)
	s.mu.Unlock()
}

// Destroy kills the process group, waits until none of its processes is
// alive, reaps the main process, closes the endpoint, finishes the output and
// removes the sandbox's directory. Concurrent callers all wait for the first
// to finish and get its result.
func (s *processSandbox) Destroy() error {
	s.destroyOnce.Do(func() { s.destroyErr = s.destroy() })
	return s.destroyErr
}

func (s *processSandbox) destroy() error {
	// The group is there: the main process, a zombie at worst, is in it.
	unix.Kill(-s.pid, unix.SIGKILL)
	<-s.done
	errKill := awaitGroupDeath(s.pid)

	s.mu.Lock()
	s.reaped = true
	s.cmd.Wait() // reaps; how it ended is already in s.err
	s.mu.Unlock()

	if s.endpoint != nil {
		s.endpoint.Close()
	}
	s.stdout.Close()
	s.stderr.Close()
	return errors.Join(errKill, os.RemoveAll(s.dir))
}

// abandon undoes a Start that failed before the command started.
func (s *processSandbox) abandon() error {
	if s.endpoint != nil {
		s.endpoint.Close()
	}
	s.stdout.Abandon()
	s.stderr.Abandon()
	return os.RemoveAll(s.dir)
}

// awaitGroupDeath polls until no process of group pgid is alive, killing
// again each round whatever a process forked while the first SIGKILL was
// being delivered. Zombies count as dead: they hold nothing but a pid, and
// the ones whose parent died wait for an init that may never reap them.
func awaitGroupDeath(pgid int) error {
	deadline := time.Now().Add(killTimeout)
	for {
		alive, err := groupAlive(pgid)
		if err != nil || alive == 0 {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("process group %d: %d processes still alive %v after SIGKILL", pgid, alive, killTimeout)
		}
		unix.Kill(-pgid, unix.SIGKILL)
		time.Sleep(time.Millisecond)
	}
}

// groupAlive counts the processes of group pgid that are not zombies, from
// /proc: the kernel offers no other way to list a group's members. It costs
// a read of every process's stat file (a few milliseconds per hundred
// processes).
func groupAlive(pgid int) (int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, fmt.Errorf("listing processes: %w", err)
	}
	alive := 0
	var buf [512]byte
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		state, group, ok := procStat("/proc/"+e.Name()+"/stat", buf[:])
		if ok && group == pgid && state != 'Z' && state != 'X' {
			alive++
		}
	}
	return alive, nil
}

// procStat reads a process's state and process group from its stat file;
// ok is false when the process is gone.
func procStat(path string, buf []byte) (state byte, pgrp int, ok bool) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, 0, false
	}
	n, err := unix.Read(fd, buf)
	unix.Close(fd)
	if err != nil {
		return 0, 0, false
	}
	// "pid (comm) state ppid pgrp ...": comm may hold anything, even ")".
	b := buf[:n]
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	fields := bytes.Fields(b[i+1:])
	if len(fields) < 3 || len(fields[0]) != 1 {
		return 0, 0, false
	}
	pgrp, err = strconv.Atoi(string(fields[2]))
	return fields[0][0], pgrp, err == nil
}

// vmHWM returns the peak resident memory of process pid, in bytes, from
// /proc/<pid>/status; ok is false once the process has exited.
func vmHWM(pid int) (peak int64, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, false
	}
	for line := range bytes.Lines(b) {
		rest, found := bytes.CutPrefix(line, []byte("VmHWM:"))
		if !found {
			continue
		}
		fields := strings.Fields(string(rest))
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, false
		}
		kib, err := strconv.ParseInt(fields[0], 10, 64)
		return kib * 1024, err == nil
	}
	return 0, false
}
