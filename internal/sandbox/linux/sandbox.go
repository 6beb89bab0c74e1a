package linux

import (
	"errors"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/bulkhead-dev/bulkhead/internal/sandbox"
	"github.com/bulkhead-dev/bulkhead/internal/sandbox/linux/cgroup"
	"github.com/bulkhead-dev/bulkhead/internal/sandbox/output"
)

// linuxSandbox is one sandbox of the Driver. Its main process is pid 1 of
// the sandbox's pid namespace: when it exits, the kernel kills every other
// process of the sandbox, and a process cannot leave the namespace, nor the
// cgroup, which Destroy empties anyway. The process is the spawner's child;
// the server holds a pidfd for it, so that no signal or namespace it reaches
// through it can be another process's that reused the pid.
type linuxSandbox struct {
	cgroup   *cgroup.Group
	endpoint *sandbox.Endpoint // nil without an endpoint
	stdout   *output.Stream    // nil when the Spec's writer is nil
	stderr   *output.Stream
	pidfd    *os.File // nil until started; closed by Destroy
	pid      int      // in the server's pid namespace, for messages only
	cpuMilli int      // Limits.CPUMilli, applied by EndInit

	done chan struct{} // closed by wait: exited and output delivered
	err  error         // written by wait before done is closed

	mu   sync.Mutex
	peak int64 // bytes, the cgroup's peak memory while it existed
	ooms int64 // the cgroup's memory-limit kills
	gone bool  // the cgroup is removed: usage is final

	destroyOnce sync.Once
	destroyErr  error
}

func (s *linuxSandbox) Done() <-chan struct{} { return s.done }

func (s *linuxSandbox) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// wait notes how the main process ended, as the spawner reports it on exit,
// delivers its output and closes done. If the spawner ends first, the
// process dies with it (its parent-death signal): wait makes sure, waits
// until the process has ended, and reports it killed.
func (s *linuxSandbox) wait(exit <-chan error, spawnerGone <-chan struct{}) {
	select {
	case s.err = <-exit:
	case <-spawnerGone:
		select {
		case s.err = <-exit: // reported before the spawner ended
		default:
			killAndWait(s.pidfd)
			s.err = &sandbox.ExitError{Code: -1, Signal: unix.SignalName(unix.SIGKILL)}
		}
	}
	s.stdout.Flush()
	s.stderr.Flush()
	close(s.done)
}

// killAndWait kills the process of pidfd, which need not be a child of
// this one, and returns once it has ended.
func killAndWait(pidfd *os.File) {
	fd := int(pidfd.Fd())
	unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0) // ESRCH: it has ended already
	polls := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		// A pidfd polls readable once its process has ended.
		if _, err := unix.Poll(polls, -1); err != unix.EINTR {
			return
		}
	}
}

// Usage reports the sandbox's peak memory and memory-limit kills, from its
// memory cgroup: every process of the sandbox counted, kernel memory
// included.
func (s *linuxSandbox) Usage() sandbox.Usage {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.gone {
		s.note(s.cgroup.Stats())
	}
	return sandbox.Usage{MaxMemoryBytes: s.peak, OOMKills: s.ooms}
}

// FlushOutput delivers what the pipes hold now.
func (s *linuxSandbox) FlushOutput() {
	s.stdout.Flush()
	s.stderr.Flush()
}

// EndInit applies the steady-state CPU limit.
func (s *linuxSandbox) EndInit() error { return s.cgroup.SetCPU(s.cpuMilli) }

func (s *linuxSandbox) note(st cgroup.Stats) {
	s.peak = max(s.peak, st.MemoryPeakBytes)
	s.ooms = max(s.ooms, st.OOMKills)
}

// Destroy kills the main process, which takes the whole pid namespace with
// it, empties the cgroup of anything still dying, reaps the main process,
// closes the endpoint and output, and removes the cgroup. Concurrent callers
// wait for the first and get its result.
func (s *linuxSandbox) Destroy() error {
	s.destroyOnce.Do(func() { s.destroyErr = s.destroy() })
	return s.destroyErr
}

func (s *linuxSandbox) destroy() error {
	var errs []error
	// Dying takes CPU too: hundreds of processes exiting under a small
	// function's quota took seconds (the abuse suite saw a 3 s timeout
	// answered after 4.4 s). Lift the quota first.
	s.cgroup.SetCPU(0)
	if s.pidfd != nil {
		unix.PidfdSendSignal(int(s.pidfd.Fd()), unix.SIGKILL, nil, 0) // ESRCH: it has ended already
		<-s.done                                                      // the spawner reaped it
		s.pidfd.Close()
	}
	errs = append(errs, s.cgroup.Kill())
	s.mu.Lock()
	s.note(s.cgroup.Stats())
	s.gone = true
	s.mu.Unlock()
	if s.endpoint != nil {
		s.endpoint.Close()
	}
	s.stdout.Close()
	s.stderr.Close()
	errs = append(errs, s.cgroup.Remove())
	return errors.Join(errs...)
}

// abandon undoes a Start that failed at any step after the cgroup was made.
// An init the spawner started and then killed, because it could not set it
// up, may still be dying in the cgroup.
func (s *linuxSandbox) abandon() error {
	if s.pidfd != nil {
		return s.Destroy()
	}
	s.stdout.Abandon()
	s.stderr.Abandon()
	return errors.Join(s.cgroup.Kill(), s.cgroup.Remove())
}
