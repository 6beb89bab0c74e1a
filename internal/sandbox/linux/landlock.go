package linux

import (
	"golang.org/x/sys/unix"

	"github.com/bulkhead-dev/bulkhead/internal/sandbox/linux/initprocess"
)

// Landlock is defence in depth behind the mount namespace: even a program
// that escaped its root could reach only the paths below, and connect over
// TCP only to its endpoint. The driver computes the ruleset for the
// kernel's ABI; the init applies it (initprocess) to the thread that then
// executes the program.

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
	{"/bin", readExec}, {"/sbin", readExec}, {initprocess.CodeDir, readExec}, {"/opt", readExec},
	{"/etc", read}, {"/proc", read},
	{"/dev", read | unix.LANDLOCK_ACCESS_FS_WRITE_FILE},
	{initprocess.TmpDir, scratch},
}

// landlockPolicy returns the Landlock ruleset for a kernel of Landlock ABI
// abi, nil when it has none: pathRules and, from ABI 4, TCP connections to
// port only (none when 0) and no TCP listeners; from ABI 6, no signals to
// processes and no abstract unix sockets outside the domain. Without
// Landlock the mount namespace is the boundary; Landlock is the second wall.
func landlockPolicy(abi int, port uint16) *initprocess.Landlock {
	if abi <= 0 {
		return nil
	}
	l := &initprocess.Landlock{HandledFS: fsRightsV1}
	switch {
	case abi >= 5:
		l.HandledFS = fsRightsV5
	case abi >= 3:
		l.HandledFS = fsRightsV3
	case abi >= 2:
		l.HandledFS = fsRightsV2
	}
	if abi >= 4 {
		l.HandledNet = unix.LANDLOCK_ACCESS_NET_BIND_TCP | unix.LANDLOCK_ACCESS_NET_CONNECT_TCP
		l.ConnectPort = port
	}
	if abi >= 6 {
		l.Scoped = unix.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | unix.LANDLOCK_SCOPE_SIGNAL
	}
	for _, r := range pathRules {
		l.Paths = append(l.Paths, initprocess.PathRule{Path: r.path, Rights: r.rights & l.HandledFS})
	}
	return l
}
