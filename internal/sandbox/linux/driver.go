package linux

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/sandbox"
	"github.com/bulkhead-dev/bulkhead/internal/sandbox/linux/cgroup"
	"github.com/bulkhead-dev/bulkhead/internal/sandbox/linux/initprocess"
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
	cgroups     *cgroup.Manager
	logger      *slog.Logger
	binds       []initprocess.Bind
	links       []initprocess.Link
	devices     []string
	landlockABI int                  // 0: the kernel has no Landlock
	seccomp     []syscall.SockFilter // the filter every init loads

	mu      sync.Mutex
	spawner *spawner // the current spawner; replaced when it has ended
	closed  bool
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
// pidfds, cgroups with memory, cpu and pids controllers, a seccomp policy
// for this architecture — removes the cgroups, and kills the processes, that
// a previous server with the same Key left behind (after a crash, say), and
// starts the spawner, the small process that clones every sandbox (see the
// package documentation). It returns an error saying what is missing when
// the host cannot.
func New(opts Options) (*Driver, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("the Linux sandbox needs root: it maps user namespaces and writes cgroups")
	}
	if _, err := os.Stat("/proc/self/ns/user"); err != nil {
		return nil, fmt.Errorf("the Linux sandbox needs user namespaces: %w", err)
	}
	// The server knows each sandbox by a pidfd, and enters its network
	// namespace through it (Linux 5.8).
	pidfd, err := unix.PidfdOpen(os.Getpid(), 0)
	if err != nil {
		return nil, fmt.Errorf("the Linux sandbox needs pidfds: %w", err)
	}
	unix.Close(pidfd)
	seccomp, err := filter()
	if err != nil {
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
	d := &Driver{cgroups: cg, logger: logger, landlockABI: landlockABI(), seccomp: seccomp}
	d.binds, d.links = systemDirs()
	for _, dev := range []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"} {
		if _, err := os.Stat(dev); err == nil {
			d.devices = append(d.devices, dev)
		}
	}
	if d.spawner, err = startSpawner(); err != nil {
		return nil, errors.Join(err, cg.Close())
	}
	return d, nil
}

// Describe says what the sandbox enforces on this host, for logs and health
// reports.
func (d *Driver) Describe() string {
	ll := "landlock"
	if d.landlockABI == 0 {
		ll = "no landlock (kernel lacks it)"
	}
	return "namespaces user,pid,mount,net,ipc,uts,cgroup; seccomp; " + ll + "; cgroups " + d.cgroups.Describe()
}

// systemDirs returns the host directories a runtime needs, to bind
// read-only, and the top-level symbolic links among them (on a merged-/usr
// host, /bin is usr/bin).
func systemDirs() ([]initprocess.Bind, []initprocess.Link) {
	var (
		binds []initprocess.Bind
		links []initprocess.Link
	)
	for _, dir := range []string{"/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin"} {
		fi, err := os.Lstat(dir)
		switch {
		case err != nil:
		case fi.Mode()&os.ModeSymlink != 0:
			if target, err := os.Readlink(dir); err == nil {
				links = append(links, initprocess.Link{Target: target, Path: dir})
			}
		case fi.IsDir():
			binds = append(binds, initprocess.Bind{Host: dir, Sandbox: dir})
		}
	}
	return binds, links
}

// Close ends the spawner and removes the driver's cgroup directory. Destroy
// every sandbox first: any still running dies with the spawner. Start fails
// afterwards.
func (d *Driver) Close() error {
	d.mu.Lock()
	sp := d.spawner
	d.spawner, d.closed = nil, true
	d.mu.Unlock()
	if sp != nil {
		sp.close()
	}
	return d.cgroups.Close()
}

// currentSpawner returns the running spawner, starting a new one if the last
// has ended (killed, say): only the starts it was serving fail.
func (d *Driver) currentSpawner() (*spawner, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, fmt.Errorf("the sandbox driver is closed: %w", errdefs.ErrUnavailable)
	}
	if d.spawner == nil || d.spawner.ended() {
		sp, err := startSpawner()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", err, errdefs.ErrUnavailable)
		}
		if d.spawner != nil {
			d.logger.Warn("the sandbox spawner ended; started another", "reason", d.spawner.err, "pid", sp.cmd.Process.Pid)
		}
		d.spawner = sp
	}
	return d.spawner, nil
}

// CodeDir returns /var/task: the code is mounted there.
func (*Driver) CodeDir(string) string { return codeDir }

// Start creates the sandbox's cgroup, has the spawner start its init in new
// namespaces, serves the endpoint inside the sandbox's network namespace,
// and lets the init build the root and execute the program. It returns once
// the program runs, or with the init's reason when it could not be started.
func (d *Driver) Start(ctx context.Context, spec sandbox.Spec) (_ sandbox.Sandbox, err error) {
	if err := sandbox.Check(spec); err != nil {
		return nil, fmt.Errorf("sandbox %q: %w", spec.ID, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sandbox %q: %w", spec.ID, err)
	}
	sp, err := d.currentSpawner()
	if err != nil {
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
	procs, err := openProcs(d.cgroups.Paths(spec.ID))
	for _, f := range procs {
		closeLater = append(closeLater, f)
	}
	if err != nil {
		return nil, err
	}
	budget := output.NewBudget(limits.OutputBytes)
	if s.stdout, err = output.NewStream(spec.Stdout, budget); err != nil {
		return nil, err
	}
	if s.stderr, err = output.NewStream(spec.Stderr, budget); err != nil {
		return nil, err
	}

	files := []*os.File{configR, statusW, code}
	var stdio uint8
	if w, ok := s.stdout.ChildEnd().(*os.File); ok {
		files, stdio = append(files, w), stdio|stdioOut
	}
	if w, ok := s.stderr.ChildEnd().(*os.File); ok {
		files, stdio = append(files, w), stdio|stdioErr
	}
	started := sp.spawn(stdio, limits.OpenFiles, files, procs)
	if started.err != nil {
		return nil, started.err
	}
	s.pid, s.pidfd = started.pid, started.pidfd
	s.stdout.Start()
	s.stderr.Start()
	// The init has its copies now; ours would hold the pipes open.
	configR.Close()
	statusW.Close()
	code.Close()
	go s.wait(started.exit, started.gone)

	cfg := initprocess.Config{
		Program:  sandbox.Program(spec, codeDir),
		Args:     spec.Command,
		TmpBytes: int64(limits.TmpMB) << 20,
		Hostname: "sandbox",
		Binds:    d.binds,
		Links:    d.links,
		Devices:  d.devices,
		Seccomp:  d.seccomp,
	}
	addr, port := "", uint16(0)
	if spec.Endpoint != nil {
		l, err := listenInside(s.pidfd)
		if err != nil {
			return nil, err
		}
		s.endpoint = sandbox.ServeEndpoint(l, spec.Endpoint, slog.NewLogLogger(d.logger.With("sandbox", spec.ID).Handler(), slog.LevelWarn))
		addr, port = l.Addr().String(), endpointPort
	}
	cfg.Env = sandbox.Environment(spec, tmpDir, addr)
	cfg.Landlock = landlockPolicy(d.landlockABI, port)
	if _, err := configW.Write(cfg.Encode()); err != nil {
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

// openProcs opens cgroup.procs in each of dirs, for the spawner to write the
// init's pid to.
func openProcs(dirs []string) ([]*os.File, error) {
	var files []*os.File
	for _, dir := range dirs {
		f, err := os.OpenFile(filepath.Join(dir, "cgroup.procs"), os.O_WRONLY, 0)
		if err != nil {
			return files, fmt.Errorf("cgroup: %w", err)
		}
		files = append(files, f)
	}
	if len(files) > maxCgroupFiles {
		return files, fmt.Errorf("cgroup: %d hierarchies, the spawner takes at most %d", len(files), maxCgroupFiles)
	}
	return files, nil
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

// errorText turns what the init reported on its status pipe into an error
// for Start.
func errorText(b []byte) error {
	msg := strings.TrimSpace(string(b))
	if msg == "" {
		msg = "the sandbox's init failed without saying why"
	}
	return errors.New(msg)
}
