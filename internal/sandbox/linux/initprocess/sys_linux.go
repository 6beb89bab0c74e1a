package initprocess

import (
	"syscall"
	"unsafe"
)

// System calls and constants the standard library's syscall package lacks,
// written out so that the init needs no other package (see doc.go). The
// numbers are the ones every architecture shares since Linux 5.1, plus
// sysBase, which is 0 but on MIPS.
const (
	sysMoveMount            = sysBase + 429
	sysCloseRange           = sysBase + 436
	sysMountSetattr         = sysBase + 442
	sysLandlockCreateRules  = sysBase + 444
	sysLandlockAddRule      = sysBase + 445
	sysLandlockRestrictSelf = sysBase + 446
)

const (
	oPath               = 0x200000
	atRecursive         = 0x8000
	moveMountFEmptyPath = 0x4
	closeRangeCloexec   = 1 << 2

	mountAttrRdonly = 0x1
	mountAttrNosuid = 0x2
	mountAttrNoexec = 0x8

	prSetPdeathsig  = 1
	prSetSeccomp    = 22
	prCapbsetDrop   = 24
	prSetNoNewPrivs = 38
	seccompModeFilt = 2

	pollOut  = 0x4
	pollErr  = 0x8
	pollNval = 0x20

	landlockRulePathBeneath = 1
	landlockRuleNetPort     = 2
)

// atFDCWD is AT_FDCWD, a variable because a negative constant has no
// uintptr value.
var atFDCWD = -100

func prctl(option, arg uintptr) error {
	if _, _, errno := syscall.RawSyscall6(syscall.SYS_PRCTL, option, arg, 0, 0, 0, 0); errno != 0 {
		return errno
	}
	return nil
}

// moveMount attaches the detached mount fd at path.
func moveMount(fd int, path string) error {
	p, err := syscall.BytePtrFromString(path)
	if err != nil {
		return err
	}
	empty := [1]byte{} // "", with MOVE_MOUNT_F_EMPTY_PATH: fd itself
	_, _, errno := syscall.Syscall6(sysMoveMount, uintptr(fd), uintptr(unsafe.Pointer(&empty[0])),
		uintptr(atFDCWD), uintptr(unsafe.Pointer(p)), moveMountFEmptyPath, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// mountAttr is the kernel's struct mount_attr.
type mountAttr struct {
	set, clear, propagation, usernsFD uint64
}

// setAttr adds mount attributes to the mount at target (and every mount
// below it when recursive). Unlike a remount, it keeps the flags the host
// locked on the mount.
func setAttr(target string, attrs uint64, recursive bool) error {
	p, err := syscall.BytePtrFromString(target)
	if err != nil {
		return err
	}
	flags := uintptr(0)
	if recursive {
		flags = atRecursive
	}
	attr := mountAttr{set: attrs}
	_, _, errno := syscall.Syscall6(sysMountSetattr, uintptr(atFDCWD), uintptr(unsafe.Pointer(p)), flags,
		uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr), 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// closeRangeOnExec marks every descriptor from first up close-on-exec.
func closeRangeOnExec(first int) error {
	if _, _, errno := syscall.Syscall(sysCloseRange, uintptr(first), ^uintptr(0), closeRangeCloexec); errno != 0 {
		return errno
	}
	return nil
}

// pollFd is the kernel's struct pollfd.
type pollFd struct {
	fd              int32
	events, revents int16
}

// pollNow polls fds without waiting, returning each one's revents.
func pollNow(fds []pollFd) error {
	var zero syscall.Timespec
	for {
		_, _, errno := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&fds[0])), uintptr(len(fds)),
			uintptr(unsafe.Pointer(&zero)), 0, 0, 0)
		switch errno {
		case 0:
			return nil
		case syscall.EINTR:
			continue
		}
		return errno
	}
}

// loadSeccomp installs filter on the calling thread; no_new_privs must be
// set.
func loadSeccomp(filter []syscall.SockFilter) error {
	prog := syscall.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetSeccomp, seccompModeFilt, uintptr(unsafe.Pointer(&prog))); errno != 0 {
		return errno
	}
	return nil
}
