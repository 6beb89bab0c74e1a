package linux

import (
	"errors"
	"os/exec"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/bulkhead-dev/bulkhead/internal/sandbox"
	"github.com/bulkhead-dev/bulkhead/internal/sandbox/child"
	"github.com/bulkhead-dev/bulkhead/internal/sandbox/linux/cgroup"
	"github.com/bulkhead-dev/bulkhead/internal/sandbox/output"
)

// linuxSandbox is one sandbox of the Driver. Its main process is pid 1 of
// the sandbox's pid namespace: when it exits, the kernel kills every other
// process of the sandbox, and a process cannot leave the namespace, nor the
// cgroup, which Destroy empties anyway.
type linuxSandbox struct {
	cgroup   *cgroup.Group
	endpoint *sandbox.Endpoint // nil without an endpoint
	stdout   *output.Stream    // nil when the Spec's writer is nil
	stderr   *output.Stream
	cmd      *exec.Cmd // nil until started
	pid      int
	cpuMilli int // Limits.CPUMilli, applied by EndInit

	done chan struct{} // closed by wait: exited and output delivered
	err  error         // written by wait before done is closed

	mu     sync.Mutex
	peak   int64 // bytes, the cgroup's peak memory while it existed
	ooms   int64 // the cgroup's memory-limit kills
	gone   bool  // the cgroup is removed: usage is final
	reaped bool

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

// wait notes how the main process ended without reaping it (its pid stays
// ours until Destroy), delivers its output and closes done.
func (s *linuxSandbox) wait() {
	_, status := child.WaitExit(s.pid)
	s.err = status
	s.stdout.Flush()
	s.stderr.Flush()
	close(s.done)
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
	if s.cmd != nil {
		unix.Kill(s.pid, unix.SIGKILL) // a zombie at worst: the pid is still ours
		<-s.done
	}
	errs = append(errs, s.cgroup.Kill())
	s.mu.Lock()
	s.note(s.cgroup.Stats())
	s.gone = true
	if s.cmd != nil {
		s.cmd.Wait() // reaps; how it ended is in s.err already
		s.reaped = true
	}
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
func (s *linuxSandbox) abandon() error {
	if s.cmd != nil {
		return s.Destroy()
	}
	s.stdout.Abandon()
	s.stderr.Abandon()
	return s.cgroup.Remove()
}
