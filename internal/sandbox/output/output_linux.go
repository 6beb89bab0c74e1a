// Package output carries a sandbox's stdout and stderr from pipes to the
// Spec's writers, for drivers: each stream is copied by a goroutine of its
// own, a Budget enforces Limits.OutputBytes, and Flush delivers everything a
// process wrote before it exited even while its children hold the pipe open.
package output

import (
	"errors"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// outputGrace bounds how long Destroy waits, once every process of the group
// is dead, for the output still in a pipe to be delivered before it closes
// the pipe. Only a process that left the group (setsid) can hold the pipe
// open that long.
const outputGrace = time.Second

// Stream carries one of the program's output streams from a pipe to the
// Spec's writer. Its copier goroutine is owned by the sandbox: it ends at
// end of file, when every process holding the pipe has died, or when close
// closes the read end. A nil *Stream (the Spec's writer was nil) does
// nothing; the program's stream is then /dev/null.
type Stream struct {
	r, w   *os.File // w is the program's end, closed here once it has it
	to     io.Writer
	budget *Budget

	flushMu  sync.Mutex         // serialises Flush
	flushReq chan chan struct{} // Flush's request; the copier closes it when done
	copied   chan struct{}      // closed when the copier has returned
}

func NewStream(to io.Writer, b *Budget) (*Stream, error) {
	if to == nil {
		return nil, nil
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	return &Stream{r: r, w: w, to: to, budget: b, flushReq: make(chan chan struct{}, 1), copied: make(chan struct{})}, nil
}

// ChildEnd returns what exec.Cmd should give the program: the pipe's write
// end, or nil for /dev/null. (A nil *os.File in the interface would not be
// nil.)
func (s *Stream) ChildEnd() io.Writer {
	if s == nil {
		return nil
	}
	return s.w
}

// Start closes the parent's copy of the write end, so the pipe ends when the
// sandbox's processes have all closed theirs, and starts the copier.
func (s *Stream) Start() {
	if s == nil {
		return
	}
	s.w.Close()
	go s.copy()
}

// Abandon closes both ends of a stream that never started.
func (s *Stream) Abandon() {
	if s == nil {
		return
	}
	s.r.Close()
	s.w.Close()
}

// Flush returns once everything in the pipe now has been delivered: called
// when the main process has exited, it delivers all that process wrote, even
// while other processes keep the pipe open; called while it runs, all it has
// written so far. It interrupts the copier's blocking read with a deadline in
// the past; the copier then empties the pipe without blocking (see copy) and
// answers the request. It may be called any number of times.
func (s *Stream) Flush() {
	if s == nil {
		return
	}
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	done := make(chan struct{})
	select {
	case s.flushReq <- done:
	case <-s.copied:
		return
	}
	s.r.SetReadDeadline(time.Unix(1, 0))
	select {
	case <-done:
	case <-s.copied:
	}
}

// Close waits for the copier to reach the end of the pipe, closing the read
// end after outputGrace if it has not, and returns once the copier has
// returned: the writer is never written again.
func (s *Stream) Close() {
	if s == nil {
		return
	}
	select {
	case <-s.copied:
	case <-time.After(outputGrace):
	}
	s.r.Close() // unblocks a pending read
	<-s.copied
}

func (s *Stream) copy() {
	defer close(s.copied)
	buf := make([]byte, 32<<10)
	for {
		n, err := s.r.Read(buf)
		s.deliver(buf[:n])
		switch {
		case err == nil:
		case errors.Is(err, os.ErrDeadlineExceeded):
			// Flush: deliver what the pipe holds, answer, then go on
			// blocking. Flush sent its request before it set the deadline.
			s.r.SetReadDeadline(time.Time{})
			end := s.drain(buf)
			select {
			case done := <-s.flushReq:
				close(done)
			default:
			}
			if end {
				return
			}
		default:
			return // end of file, or close closed the read end
		}
	}
}

// drain delivers what the pipe holds without waiting for more, and reports
// whether the pipe has ended.
func (s *Stream) drain(buf []byte) (end bool) {
	raw, err := s.r.SyscallConn()
	if err != nil {
		return true
	}
	for {
		var (
			n    int
			rerr error
		)
		// The read end is non-blocking (os.Pipe makes it so for the poller),
		// so this read returns EAGAIN on an empty pipe instead of waiting.
		if err := raw.Read(func(fd uintptr) bool {
			n, rerr = unix.Read(int(fd), buf)
			return true
		}); err != nil {
			return true
		}
		switch {
		case n > 0:
			s.deliver(buf[:n])
		case rerr == unix.EINTR:
		case rerr == nil:
			return true // end of file
		default:
			return rerr != unix.EAGAIN
		}
	}
}

// deliver writes p to the writer as far as the budget allows. A writer's
// error does not stop the copy: the program keeps running, and its output is
// dropped as it would be over budget.
func (s *Stream) deliver(p []byte) {
	if n := s.budget.allow(len(p)); n > 0 {
		s.to.Write(p[:n])
	}
}

// Budget enforces Limits.OutputBytes: the bytes a sandbox's two streams may
// deliver together in each one-second window; the rest is dropped. A nil
// *budget allows everything.
type Budget struct {
	perSecond int

	mu     sync.Mutex
	window time.Time // start of the current window
	used   int
}

func NewBudget(perSecond int) *Budget {
	if perSecond <= 0 {
		return nil
	}
	return &Budget{perSecond: perSecond}
}

// allow returns how many of n bytes may be delivered now.
func (b *Budget) allow(n int) int {
	if b == nil {
		return n
	}
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if now.Sub(b.window) >= time.Second {
		b.window, b.used = now, 0
	}
	n = min(n, b.perSecond-b.used)
	b.used += n
	return n
}
