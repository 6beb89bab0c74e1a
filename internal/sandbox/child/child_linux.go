// Package child reads how a sandbox's main process ended, for drivers, without
// reaping it: a driver keeps the process a zombie until Destroy so that its
// pid cannot be reused while the driver may still signal it.
package child

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/bulkhead-dev/bulkhead/internal/sandbox"
)

// Values of siginfo's si_code for a child that has ended (<signal.h>).
const (
	cldExited = 1
	cldKilled = 2
	cldDumped = 3
)

// childInfo is the start of the kernel's siginfo_t as waitid fills it for a
// child: three ints, then the union, aligned as a pointer, whose sigchld
// member starts with pid, uid and status.
type childInfo struct {
	signo, errno, code int32
	_                  [unsafe.Sizeof(uintptr(0)) - 4]byte
	pid                int32
	uid                uint32
	status             int32
}

// WaitExit waits for process pid to end, without reaping it, and returns the
// kernel's maxrss for it, in bytes, and how it ended: nil for status 0, an
// *sandbox.ExitError otherwise.
func WaitExit(pid int) (maxRSS int64, status error) {
	var (
		info  unix.Siginfo
		usage unix.Rusage
	)
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, &usage)
		if err == nil {
			break
		}
		if err != unix.EINTR {
			// Only if something else reaped our child (a wait for any
			// child elsewhere in the server); the status is lost.
			return 0, &sandbox.ExitError{Code: -1}
		}
	}
	child := (*childInfo)(unsafe.Pointer(&info))
	maxRSS = int64(usage.Maxrss) * 1024 // the kernel counts KiB
	switch child.code {
	case cldExited:
		if child.status == 0 {
			return maxRSS, nil
		}
		return maxRSS, &sandbox.ExitError{Code: int(child.status)}
	case cldKilled, cldDumped:
		return maxRSS, &sandbox.ExitError{Code: -1, Signal: unix.SignalName(syscall.Signal(child.status))}
	}
	return maxRSS, &sandbox.ExitError{Code: -1}
}
