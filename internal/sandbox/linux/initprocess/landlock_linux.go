package initprocess

import (
	"strconv"
	"syscall"
	"unsafe"
)

// Landlock is defence in depth behind the mount namespace: even a program
// that escaped its root could reach only the paths the driver allowed, and
// connect over TCP only to its endpoint. The rules are applied to the
// calling thread, which then executes the program. Raw system calls, not a
// library: three calls, and no all-threads machinery is needed on a thread
// that is about to exec.

// The kernel's structures (<linux/landlock.h>).
type (
	rulesetAttr struct {
		handledFS, handledNet, scoped uint64
	}
	// pathBeneathAttr is packed in the kernel: 12 bytes, the same offsets.
	pathBeneathAttr struct {
		allowed  uint64
		parentFD int32
	}
	netPortAttr struct {
		allowed, port uint64
	}
)

// landlockAccessNetConnectTCP is LANDLOCK_ACCESS_NET_CONNECT_TCP.
const landlockAccessNetConnectTCP = 1 << 1

// restrict confines the calling thread, and what it executes, to l.
func restrict(l *Landlock) error {
	attr := rulesetAttr{handledFS: l.HandledFS, handledNet: l.HandledNet, scoped: l.Scoped}
	// A kernel that knows fewer fields takes the larger struct if the
	// fields it does not know are zero, which the driver sees to.
	fd, _, errno := syscall.Syscall(sysLandlockCreateRules, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr), 0)
	if errno != 0 {
		return failed("landlock: creating the ruleset", errno)
	}
	ruleset := int(fd)
	defer syscall.Close(ruleset)

	for _, r := range l.Paths {
		dir, err := syscall.Open(r.Path, oPath|syscall.O_CLOEXEC, 0)
		if err == syscall.ENOENT {
			continue
		}
		if err != nil {
			return failed("landlock: "+r.Path, err)
		}
		rule := pathBeneathAttr{allowed: r.Rights, parentFD: int32(dir)}
		_, _, errno := syscall.Syscall6(sysLandlockAddRule, uintptr(ruleset), landlockRulePathBeneath, uintptr(unsafe.Pointer(&rule)), 0, 0, 0)
		syscall.Close(dir)
		if errno != 0 {
			return failed("landlock: rule for "+r.Path, errno)
		}
	}
	if l.HandledNet != 0 && l.ConnectPort != 0 {
		rule := netPortAttr{allowed: landlockAccessNetConnectTCP, port: uint64(l.ConnectPort)}
		_, _, errno := syscall.Syscall6(sysLandlockAddRule, uintptr(ruleset), landlockRuleNetPort, uintptr(unsafe.Pointer(&rule)), 0, 0, 0)
		if errno != 0 {
			return failed("landlock: rule for port "+strconv.FormatInt(int64(l.ConnectPort), 10), errno)
		}
	}
	if _, _, errno := syscall.Syscall(sysLandlockRestrictSelf, uintptr(ruleset), 0, 0); errno != 0 {
		return failed("landlock: restricting", errno)
	}
	return nil
}
