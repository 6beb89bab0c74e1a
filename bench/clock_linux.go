package main

import (
	"syscall"
	"time"
)

const prSetTimerSlack = 29 // PR_SET_TIMERSLACK: nanoseconds a timer may fire late

// sleepUntil blocks the calling goroutine's thread in nanosleep until t.
// The runtime's timers wake an idle program through epoll_wait, whose
// timeout is in whole milliseconds, so time.Sleep runs up to a millisecond
// late — as long as a warm invocation takes. nanosleep, with the thread's
// timer slack set to 1 ns (50 µs by default), wakes as soon as the machine
// can, and the goroutine goes on on the same thread, with no handoff to
// wait for.
func sleepUntil(t time.Time) {
	// The slack belongs to the thread, and a goroutine may be on any: set
	// it each time, one cheap system call.
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, prSetTimerSlack, 1, 0)
	for {
		d := time.Until(t)
		if d <= 0 {
			return
		}
		ts := syscall.NsecToTimespec(d.Nanoseconds())
		_ = syscall.Nanosleep(&ts, nil) // EINTR: go round again
	}
}
