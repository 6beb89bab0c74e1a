package linux

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/bulkhead-dev/bulkhead/internal/sandbox"
	"github.com/bulkhead-dev/bulkhead/internal/sandbox/linux/cgroup"
	"github.com/bulkhead-dev/bulkhead/internal/sandbox/output"
)

// Defaults for Limits left at zero.
const (
	defaultMemoryMB  = 128
	defaultTmpMB     = 512
	defaultProcesses = 1024 // Lambda's limit on processes and threads
	defaultOpenFiles = 1024 // Lambda's
	// cpuMilliPerVCPUAtMB: Lambda gives one vCPU at 1,769 MB, in proportion below and
	// above it.
	cpuMilliPerVCPUAtMB = 1769
)

// The host ids of the sandbox's users: ns root (the init only) and the
// program's user. The same for every sandbox: each has its own user, pid,
// mount, network and IPC namespaces, so sharing a host id gives one sandbox
// no way to reach another.
const (
	hostRootID = 100000
	hostUserID = 101000
)

// Driver runs each sandbox in its own Linux namespaces and cgroups; see the
// package documentation. Make one with New; it is safe for concurrent use.
type Driver struct {
	cgroups  *cgroup.Manager
	logger   *slog.Logger
	binds    []bind
	links    []link
	devices  []string
	landlock bool
}

var _ sandbox.Driver = (*Driver)(nil)

// Options configure New.
type Options struct {
	// Key names this server's cgroups: sandboxes live in
	// <own cgroup>/bulkhead-<hash of Key>/<ID>. Use the server's data
	// directory: two servers must not share it, and a server restarted on
	// the same directory finds what its predecessor left (see New).
	Key string
	// Logger receives the endpoints' server errors; nil discards them.
	Logger *slog.Logger
}

// New checks that this host can build the sandbox — root, namespaces,
// cgroups with memory, cpu and pids controllers, a seccomp policy for this
// architecture — and removes the cgroups, and kills the processes, that a
// previous server with the same Key left behind (after a crash, say). It
// returns an error saying what is missing when the host cannot.
func New(opts Options) (*Driver, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("the Linux sandbox needs root: it maps user namespaces and writes cgroups")
	}
	if _, err := os.Stat("/proc/self/ns/user"); err != nil {
		return nil, fmt.Errorf("the Linux sandbox needs user namespaces: %w", err)
	}
	if err := checkPolicy(); err != nil {
		return nil, fmt.Errorf("the Linux sandbox's seccomp policy: %w", err)
	}
	sum := sha256.Sum256([]byte(opts.Key))
	cg, err := cgroup.Open("bulkhead-" + hex.EncodeToString(sum[:6]))
	if err != nil {
		return nil, fmt.Errorf("the Linux sandbox's cgroups: %w", err)
	}
	if missing := cg.Missing(); len(missing) > 0 {
		return nil, fmt.Errorf("the Linux sandbox needs the cgroup controllers %v, which this host does not provide", missing)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if n, err := cg.Sweep(); err != nil {
		return nil, fmt.Errorf("removing a previous run's sandboxes: %w", err)
	} else if n > 0 {
		logger.Warn("removed sandboxes a previous run left behind", "count", n)
	}
	d := &Driver{cgroups: cg, logger: logger, landlock: landlockABI() > 0}
	d.binds, d.links = systemDirs()
	for _, dev := range []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"} {
		if _, err := os.Stat(dev); err == nil {
			d.devices = append(d.devices, dev)
		}
	}
	return d, nil
}

// Describe says what the sandbox enforces on this host, for logs and health
// reports.
func (d *Driver) Describe() string {
	ll := "landlock"
	if !d.landlock {
		ll = "no landlock (kernel lacks it)"
	}
	return "namespaces user,pid,mount,net,ipc,uts,cgroup; seccomp; " + ll + "; cgroups " + d.cgroups.Describe()
}

// systemDirs returns the host directories a runtime needs, to bind
// read-only, and the top-level symbolic links among them (on a merged-/usr
// host, /bin is usr/bin).
func systemDirs() ([]bind, []link) {
	var (
		binds []bind
		links []link
	)
	for _, dir := range []string{"/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin"} {
		fi, err := os.Lstat(dir)
		switch {
		case err != nil:
		case fi.Mode()&os.ModeSymlink != 0:
			if target, err := os.Readlink(dir); err == nil {
				links = append(links, link{Target: target, Path: dir})
			}
		case fi.IsDir():
			binds = append(binds, bind{Host: dir, Sandbox: dir})
		}
	}
	return binds, links
}

// Close removes the driver's cgroup directory. Destroy every sandbox first.
func (d *Driver) Close() error { return d.cgroups.Close() }

// CodeDir returns /var/task: the code is mounted there.
func (*Driver) CodeDir(string) string { return codeDir }

// Start creates the sandbox's cgroup, starts its init in new namespaces,
// serves the endpoint inside the sandbox's network namespace, and lets the
// init build the root and execute the program. It returns once the program
// runs, or with the init's reason when it could not be started.
func (d *Driver) Start(ctx context.Context, spec sandbox.Spec) (_ sandbox.Sandbox, err error) {
	if err := sandbox.Check(spec); err != nil {
		return nil, fmt.Errorf("sandbox %q: %w", spec.ID, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sandbox %q: %w", spec.ID, err)
	}
	limits := withDefaults(spec.Limits)
	s := &linuxSandbox{done: make(chan struct{}), cpuMilli: limits.CPUMilli}
	s.cgroup, err = d.cgroups.Create(spec.ID, cgroup.Limits{
		MemoryBytes: int64(limits.MemoryMB) << 20,
		CPUMilli:    limits.InitCPUMilli,
		Pids:        limits.Processes,
	})
	if err != nil {
		return nil, fmt.Errorf("sandbox %q: %w", spec.ID, err)
	}
	var closeLater []io.Closer
	defer func() {
		for _, c := range closeLater {
			c.Close()
		}
		if err != nil {
			err = errors.Join(fmt.Errorf("sandbox %q: %w", spec.ID, err), s.abandon())
		}
	}()

	code, err := openCode(spec.Code)
	if err != nil {
		return nil, err
	}
	closeLater = append(closeLater, code)
	configR, configW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	closeLater = append(closeLater, configR, configW)
	statusR, statusW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	closeLater = append(closeLater, statusR, statusW)
	budget := output.NewBudget(limits.OutputBytes)
	if s.stdout, err = output.NewStream(spec.Stdout, budget); err != nil {
		return nil, err
	}
	if s.stderr, err = output.NewStream(spec.Stderr, budget); err != nil {
		return nil, err
	}

	cmd := &exec.Cmd{
		Path:       "/proc/self/exe",
		Args:       []string{initArg0},
		Env:        []string{}, // not nil: nil would pass the server's
		Stdout:     s.stdout.ChildEnd(),
		Stderr:     s.stderr.ChildEnd(),
		ExtraFiles: []*os.File{configR, statusW, code}, // fdConfig, fdStatus, fdCode
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWPID |
				unix.CLONE_NEWNET | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS,
			UidMappings: []syscall.SysProcIDMap{{ContainerID: nsRootID, HostID: hostRootID, Size: 1}, {ContainerID: nsUserID, HostID: hostUserID, Size: 1}},
			GidMappings: []syscall.SysProcIDMap{{ContainerID: nsRootID, HostID: hostRootID, Size: 1}, {ContainerID: nsUserID, HostID: hostUserID, Size: 1}},
			// Lets the child drop the server's supplementary groups, which
			// it would otherwise keep (unmapped, but still honoured by
			// permission checks on the host's files).
			GidMappingsEnableSetgroups: true,
			Credential:                 &syscall.Credential{Uid: nsRootID, Gid: nsRootID},
			Pdeathsig:                  syscall.SIGKILL,
		},
	}
	// Pdeathsig fires when the thread that forked ends (go.dev/issue/27505):
	// fork from a goroutine whose thread is not locked, so the runtime
	// never ends it while the sandbox lives.
	started := make(chan error, 1)
	go func() { started <- cmd.Start() }()
	if err := <-started; err != nil {
		return nil, err
	}
	s.cmd, s.pid = cmd, cmd.Process.Pid
	s.stdout.Start()
	s.stderr.Start()
	// The child's copies are in it now; ours would hold the pipes open.
	configR.Close()
	statusW.Close()
	code.Close()
	go s.wait()

	if err := s.cgroup.Attach(s.pid); err != nil {
		return nil, err
	}
	if err := unix.Prlimit(s.pid, unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: uint64(limits.OpenFiles), Max: uint64(limits.OpenFiles)}, nil); err != nil {
		return nil, fmt.Errorf("limiting open files: %w", err)
	}
	cfg := initConfig{
		Program:  sandbox.Program(spec, codeDir),
		Args:     spec.Command,
		TmpBytes: int64(limits.TmpMB) << 20,
		Hostname: "sandbox",
		Binds:    d.binds,
		Links:    d.links,
		Devices:  d.devices,
		Seccomp:  true,
		Landlock: d.landlock,
	}
	addr := ""
	if spec.Endpoint != nil {
		l, err := listenInside(s.pid)
		if err != nil {
			return nil, err
		}
		s.endpoint = sandbox.ServeEndpoint(l, spec.Endpoint, slog.NewLogLogger(d.logger.With("sandbox", spec.ID).Handler(), slog.LevelWarn))
		addr = l.Addr().String()
		cfg.Port = endpointPort
	}
	cfg.Env = sandbox.Environment(spec, tmpDir, addr)
	if err := json.NewEncoder(configW).Encode(cfg); err != nil {
		return nil, fmt.Errorf("configuring the init: %w", err)
	}
	configW.Close()
	// The status pipe ends when the program has been executed (it is
	// close-on-exec) or the init has died; before that, the init writes why
	// it failed.
	msg, err := io.ReadAll(io.LimitReader(statusR, 4096))
	if err != nil {
		return nil, err
	}
	if len(msg) > 0 {
		return nil, errorText(msg)
	}
	return s, nil
}

// openCode returns a detached, read-only, recursive copy of the mount of the
// code directory, for the init to attach at /var/task. Being a mount, not a
// path, it reaches the init whatever the permissions of the directories
// above the code (the server's data directory is private).
func openCode(dir string) (*os.File, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	fd, err := unix.OpenTree(unix.AT_FDCWD, abs, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
	if err != nil {
		return nil, fmt.Errorf("code directory %s: %w", dir, err)
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("code directory %s: making it read-only: %w", dir, err)
	}
	return os.NewFile(uintptr(fd), "code"), nil
}

// withDefaults fills the limits left at zero.
func withDefaults(l sandbox.Limits) sandbox.Limits {
	if l.MemoryMB <= 0 {
		l.MemoryMB = defaultMemoryMB
	}
	if l.TmpMB <= 0 {
		l.TmpMB = defaultTmpMB
	}
	if l.Processes <= 0 {
		l.Processes = defaultProcesses
	}
	if l.OpenFiles <= 0 {
		l.OpenFiles = defaultOpenFiles
	}
	if l.CPUMilli <= 0 {
		l.CPUMilli = max(l.MemoryMB*1000/cpuMilliPerVCPUAtMB, 10)
	}
	if l.InitCPUMilli <= 0 {
		l.InitCPUMilli = l.CPUMilli
	}
	return l
}
