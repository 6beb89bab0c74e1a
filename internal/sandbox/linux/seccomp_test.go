package linux

import (
	"encoding/binary"
	"testing"

	"github.com/elastic/go-seccomp-bpf/arch"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// TestSeccompPolicy runs the assembled filter in x/net/bpf's interpreter
// over the system calls that matter. The interpreter loads words
// big-endian where the kernel loads them in native order, so the test lays
// each 32-bit field out big-endian at the offsets the filter reads.
func TestSeccompPolicy(t *testing.T) {
	info, err := arch.GetInfo("")
	if err != nil {
		t.Skipf("skipping: no seccomp table for this architecture: %v", err)
	}
	p, err := policy()
	if err != nil {
		t.Fatal(err)
	}
	prog, err := p.Assemble()
	if err != nil {
		t.Fatal(err)
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		t.Fatal(err)
	}
	const (
		allow = unix.SECCOMP_RET_ALLOW
		eperm = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
		enosy = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
	)
	run := func(auditArch uint32, nr int, arg0 uint64) uint32 {
		data := make([]byte, 64) // struct seccomp_data
		binary.BigEndian.PutUint32(data[0:], uint32(nr))
		binary.BigEndian.PutUint32(data[4:], auditArch)
		binary.BigEndian.PutUint32(data[16:], uint32(arg0))     // args[0], low word
		binary.BigEndian.PutUint32(data[20:], uint32(arg0>>32)) // args[0], high word
		r, err := vm.Run(data)
		if err != nil {
			t.Fatal(err)
		}
		return uint32(r)
	}
	nr := func(name string) int {
		n, ok := info.SyscallNames[name]
		if !ok {
			t.Fatalf("no system call %q on %s", name, info.Name)
		}
		return n
	}
	native := uint32(info.ID)
	const threadFlags = unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND | unix.CLONE_THREAD |
		unix.CLONE_SYSVSEM | unix.CLONE_SETTLS | unix.CLONE_PARENT_SETTID | unix.CLONE_CHILD_CLEARTID
	tests := []struct {
		name string
		arch uint32
		nr   int
		arg0 uint64
		want uint32
	}{
		{"read", native, nr("read"), 0, allow},
		{"execve", native, nr("execve"), 0, allow},
		{"socket", native, nr("socket"), 0, allow},
		{"seccomp", native, nr("seccomp"), 0, allow},
		{"clone thread", native, nr("clone"), threadFlags, allow},
		{"clone fork", native, nr("clone"), uint64(unix.SIGCHLD), allow},
		{"clone new user namespace", native, nr("clone"), unix.CLONE_NEWUSER | uint64(unix.SIGCHLD), eperm},
		{"clone new net namespace", native, nr("clone"), unix.CLONE_NEWNET, eperm},
		{"clone high bits", native, nr("clone"), 1 << 40, allow}, // no namespace flag lives there
		{"clone3", native, nr("clone3"), 0, enosy},
		{"unknown call", native, 4000, 0, eperm},
		{"x32 ABI", native, 0x40000000 | nr("read"), 0, enosy},
		{"i386 ABI", unix.AUDIT_ARCH_I386, 0, 0, eperm},
	}
	for _, d := range denied {
		for _, c := range d.calls {
			if n, ok := info.SyscallNames[c]; ok {
				tests = append(tests, struct {
					name string
					arch uint32
					nr   int
					arg0 uint64
					want uint32
				}{c, native, n, 0, eperm})
			}
		}
	}
	for _, tt := range tests {
		if got := run(tt.arch, tt.nr, tt.arg0); got != tt.want {
			t.Errorf("%s (nr %d, arg0 %#x) = %#x, want %#x", tt.name, tt.nr, tt.arg0, got, tt.want)
		}
	}
}

// TestSeccompDeniedNamesExist catches a misspelt denial, which policy would
// skip as a call of another architecture.
func TestSeccompDeniedNamesExist(t *testing.T) {
	info, err := arch.GetInfo("x86_64")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range denied {
		for _, c := range d.calls {
			if _, ok := info.SyscallNames[c]; !ok {
				t.Errorf("denied call %q is not an x86_64 system call", c)
			}
		}
	}
}
