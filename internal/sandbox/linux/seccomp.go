package linux

import (
	"slices"
	"sync"
	"syscall"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/elastic/go-seccomp-bpf/arch"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// The seccomp filter is an allow-list built as "every system call of the
// native architecture except the denied ones": a runtime that uses a call we
// did not foresee keeps working, while a call from another ABI (i386 through
// int 0x80 gets EPERM, x32 ENOSYS) or one newer than the library's table
// (Linux 6.15) gets EPERM, so the denials cannot be bypassed through them, as
// they could be with a deny-list whose default is to allow. Denied calls get
// EPERM, as a missing privilege would. (Docker's default profile also
// answers EPERM to what it does not know.)
//
// Every denial below is something a function has no business doing. Most
// also need a capability the program lacks (it runs as an unprivileged user
// of its own user namespace with none): the filter is the second wall, and it
// shrinks the kernel code an exploit can reach.
var denied = []struct {
	why   string
	calls []string
}{
	{"the sandbox's file system layout is the platform's; mounts would also reopen what pivot_root hid",
		[]string{"mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr"}},
	{"new namespaces: a nested user namespace hands back every capability over fresh namespaces, the most common route into kernel bugs",
		[]string{"unshare", "setns"}},
	{"inspecting or driving other processes, even its own children: ptrace and cross-process memory access",
		[]string{"ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd", "process_madvise", "process_mrelease"}},
	{"the host's kernel, not the sandbox's: loading kernels and modules, rebooting",
		[]string{"kexec_load", "kexec_file_load", "reboot", "init_module", "finit_module", "delete_module"}},
	{"eBPF and perf events: large kernel attack surface, and perf leaks information about other processes",
		[]string{"bpf", "perf_event_open"}},
	{"the kernel keyring is not namespaced",
		[]string{"keyctl", "add_key", "request_key"}},
	{"userfaultfd is a favourite tool for widening kernel race windows",
		[]string{"userfaultfd"}},
	{"io_uring: a second system call interface that seccomp cannot see into",
		[]string{"io_uring_setup", "io_uring_enter", "io_uring_register"}},
	{"the clock is the host's",
		[]string{"settimeofday", "clock_settime", "clock_adjtime", "adjtimex"}},
	{"host administration: swap, process accounting, quotas, the kernel log, I/O ports, name changes",
		[]string{"swapon", "swapoff", "acct", "quotactl", "quotactl_fd", "syslog", "iopl", "ioperm", "vhangup", "sethostname", "setdomainname", "uselib", "lookup_dcookie", "nfsservctl"}},
	{"file handles open any file of a mount by number, around every directory permission (the 'shocker' escape)",
		[]string{"open_by_handle_at", "name_to_handle_at"}},
	{"fanotify watches whole mounts",
		[]string{"fanotify_init"}},
}

// namespaceFlags are the clone flags that make namespaces: clone with any of
// them is denied like unshare. clone3 passes its flags in memory, where a
// filter cannot look, so it is refused with ENOSYS, which makes the C
// library fall back to clone.
const namespaceFlags = unix.CLONE_NEWNS | unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET |
	unix.CLONE_NEWIPC | unix.CLONE_NEWUTS | unix.CLONE_NEWCGROUP | unix.CLONE_NEWTIME

// enosys are calls refused with ENOSYS rather than EPERM, so that callers
// fall back to an older call the filter can check.
var enosys = []string{"clone3"}

var (
	errnoEPERM  = seccomp.ActionErrno | seccomp.Action(unix.EPERM)
	errnoENOSYS = seccomp.ActionErrno | seccomp.Action(unix.ENOSYS)
)

// policy returns the sandbox's seccomp policy for the native architecture.
func policy() (seccomp.Policy, error) {
	info, err := arch.GetInfo("")
	if err != nil {
		return seccomp.Policy{}, err
	}
	var deny []string
	for _, d := range denied {
		for _, c := range d.calls {
			if _, ok := info.SyscallNames[c]; ok { // some exist on some architectures only
				deny = append(deny, c)
			}
		}
	}
	var allow []string
	for name := range info.SyscallNames {
		if !slices.Contains(deny, name) && !slices.Contains(enosys, name) && name != "clone" {
			allow = append(allow, name)
		}
	}
	slices.Sort(allow)
	groups := []seccomp.SyscallGroup{
		{Action: errnoEPERM, Names: deny},
		{Action: errnoENOSYS, Names: enosys},
	}
	// A group jumps from each of its calls to its action, after the last
	// call; classic BPF's conditional jumps reach 255 instructions at most,
	// and the library does not split longer ones, so neither may a group be
	// longer.
	for chunk := range slices.Chunk(allow, maxGroup) {
		groups = append(groups, seccomp.SyscallGroup{Action: seccomp.ActionAllow, Names: chunk})
	}
	// clone comes last, allowed only without namespace flags. It must be
	// last: after checking an argument the library does not reload the
	// system call number, so a group after it would compare an argument
	// with system call numbers. Here a clone that fails the check falls
	// through to the default, EPERM.
	groups = append(groups, seccomp.SyscallGroup{Action: seccomp.ActionAllow, NamesWithCondtions: []seccomp.NameWithConditions{{
		Name:       "clone",
		Conditions: seccomp.ArgumentConditions{{Argument: 0, Operation: seccomp.BitsNotSet, Value: namespaceFlags}},
	}}})
	return seccomp.Policy{DefaultAction: seccomp.ActionErrno /* EPERM */, Syscalls: groups}, nil
}

// maxGroup bounds the calls in one group of the policy; see policy.
const maxGroup = 200

// filter returns the sandbox's seccomp filter for the native architecture,
// assembled once per process: the driver checks it at New and passes it to
// every init, which loads it just before exec (initprocess).
var filter = sync.OnceValues(func() ([]syscall.SockFilter, error) {
	p, err := policy()
	if err != nil {
		return nil, err
	}
	insts, err := p.Assemble()
	if err != nil {
		return nil, err
	}
	raw, err := bpf.Assemble(insts)
	if err != nil {
		return nil, err
	}
	f := make([]syscall.SockFilter, len(raw))
	for i, in := range raw {
		f[i] = syscall.SockFilter{Code: in.Op, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	return f, nil
})
