package linux

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Landlock is defence in depth behind the mount namespace: even a program
// that escaped its root could reach only the paths below, and connect over
// TCP only to its endpoint. The rules are applied to the calling thread,
// which then executes the program. Raw syscalls, not a library: three calls,
// and no all-threads machinery is needed on a thread that is about to exec.

// Filesystem rights by the Landlock ABI version that introduced them.
const (
	fsRightsV1 = unix.LANDLOCK_ACCESS_FS_EXECUTE | unix.LANDLOCK_ACCESS_FS_WRITE_FILE |
		unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_READ_DIR |
		unix.LANDLOCK_ACCESS_FS_REMOVE_DIR | unix.LANDLOCK_ACCESS_FS_REMOVE_FILE |
		unix.LANDLOCK_ACCESS_FS_MAKE_CHAR | unix.LANDLOCK_ACCESS_FS_MAKE_DIR |
		unix.LANDLOCK_ACCESS_FS_MAKE_REG | unix.LANDLOCK_ACCESS_FS_MAKE_SOCK |
		unix.LANDLOCK_ACCESS_FS_MAKE_FIFO | unix.LANDLOCK_ACCESS_FS_MAKE_BLOCK |
		unix.LANDLOCK_ACCESS_FS_MAKE_SYM
	fsRightsV2 = fsRightsV1 | unix.LANDLOCK_ACCESS_FS_REFER
	fsRightsV3 = fsRightsV2 | unix.LANDLOCK_ACCESS_FS_TRUNCATE
	fsRightsV5 = fsRightsV3 | unix.LANDLOCK_ACCESS_FS_IOCTL_DEV

	readExec = unix.LANDLOCK_ACCESS_FS_EXECUTE | unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_READ_DIR
	read     = unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_READ_DIR
	// scratch is everything in /tmp but device nodes.
	scratch = fsRightsV5 &^ (unix.LANDLOCK_ACCESS_FS_MAKE_CHAR | unix.LANDLOCK_ACCESS_FS_MAKE_BLOCK | unix.LANDLOCK_ACCESS_FS_IOCTL_DEV)
)

// landlockRuleNetPort is LANDLOCK_RULE_NET_PORT, and netPortAttr the
// kernel's struct landlock_net_port_attr (ABI 4), which x/sys lacks.
const landlockRuleNetPort = 2

type netPortAttr struct {
	allowed uint64
	port    uint64
}

// landlockABI returns the kernel's Landlock ABI version, 0 when it has none
// or it is disabled.
func landlockABI() int {
	v, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 {
		return 0
	}
	return int(v)
}

// pathRules are the sandbox's paths and what the program may do below each.
// A path missing from the sandbox is skipped.
var pathRules = []struct {
	path   string
	rights uint64
}{
	{"/usr", readExec}, {"/lib", readExec}, {"/lib64", readExec}, {"/lib32", readExec},
	{"/bin", readExec}, {"/sbin", readExec}, {codeDir, readExec}, {"/opt", readExec},
	{"/etc", read}, {"/proc", read},
	{"/dev", read | unix.LANDLOCK_ACCESS_FS_WRITE_FILE},
	{tmpDir, scratch},
}

// restrictFiles confines the calling thread (and what it executes) to
// pathRules and, from ABI 4, to TCP connections to port (none when 0) and
// no TCP listeners; from ABI 6 it may not signal processes or reach
// abstract unix sockets outside its domain. Without Landlock it does
// nothing: the mount namespace is the boundary; Landlock is the second wall.
func restrictFiles(port int) error {
	abi := landlockABI()
	if abi == 0 {
		return nil
	}
	attr := unix.LandlockRulesetAttr{Handled_access_fs: fsRightsV1}
	switch {
	case abi >= 5:
		attr.Handled_access_fs = fsRightsV5
	case abi >= 3:
		attr.Handled_access_fs = fsRightsV3
	case abi >= 2:
		attr.Handled_access_fs = fsRightsV2
	}
	if abi >= 4 {
		attr.Handled_access_net = unix.LANDLOCK_ACCESS_NET_BIND_TCP | unix.LANDLOCK_ACCESS_NET_CONNECT_TCP
	}
	if abi >= 6 {
		attr.Scoped = unix.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | unix.LANDLOCK_SCOPE_SIGNAL
	}
	// The first three fields are the ABI 6 struct; the kernel accepts a
	// larger struct only if the extra bytes are zero, and older kernels know
	// fewer fields, whose zero values they then require.
	size := unsafe.Offsetof(attr.Quiet_access_fs)
	fd, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), size, 0)
	if errno != 0 {
		return fmt.Errorf("landlock: creating the ruleset: %w", errno)
	}
	ruleset := int(fd)
	defer unix.Close(ruleset)

	for _, r := range pathRules {
		dir, err := unix.Open(r.path, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err == unix.ENOENT {
			continue
		}
		if err != nil {
			return fmt.Errorf("landlock: %s: %w", r.path, err)
		}
		rule := unix.LandlockPathBeneathAttr{Allowed_access: r.rights & attr.Handled_access_fs, Parent_fd: int32(dir)}
		_, _, errno := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(ruleset), unix.LANDLOCK_RULE_PATH_BENEATH, uintptr(unsafe.Pointer(&rule)), 0, 0, 0)
		unix.Close(dir)
		if errno != 0 {
			return fmt.Errorf("landlock: rule for %s: %w", r.path, errno)
		}
	}
	if abi >= 4 && port != 0 {
		rule := netPortAttr{allowed: unix.LANDLOCK_ACCESS_NET_CONNECT_TCP, port: uint64(port)}
		_, _, errno := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(ruleset), landlockRuleNetPort, uintptr(unsafe.Pointer(&rule)), 0, 0, 0)
		if errno != 0 {
			return fmt.Errorf("landlock: rule for port %d: %w", port, errno)
		}
	}
	if _, _, errno := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, uintptr(ruleset), 0, 0); errno != 0 {
		return fmt.Errorf("landlock: restricting: %w", errno)
	}
	return nil
}
