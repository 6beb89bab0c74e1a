package initprocess

import (
	"io"
	"os"
	"path"
	"runtime"
	"strconv"
	"syscall"
)

// A package init function recognises the role before main runs (see
// doc.go: this file may import only what package os imports, and strconv), so every binary that links this package — the server and the
// test binaries alike — can be the init without a hook in its main, and
// never runs its own main in that role.
func init() {
	if len(os.Args) > 0 && os.Args[0] == Arg0 {
		run()
	}
}

// run is the init. It runs as root of the sandbox's user namespace, which is
// an unprivileged host user. It builds the sandbox's root, drops to UserID,
// confines itself with Landlock and seccomp, and executes the program,
// which replaces it: no process of ours stays in the sandbox. It never
// returns: on failure it writes why to FDStatus and exits.
func run() {
	// Landlock, seccomp and no_new_privs are set on this thread only, and
	// carry into the program because this thread is the one that executes it.
	runtime.LockOSThread()
	err := setUpAndExec()
	status := os.NewFile(FDStatus, "status")
	status.WriteString(err.Error())
	os.Exit(1)
}

// setUpAndExec sets the sandbox up and executes the program. It returns only
// on failure.
func setUpAndExec() error {
	config := os.NewFile(FDConfig, "config")
	// The driver writes the configuration once it has made the endpoint:
	// reading it is the go-ahead.
	b, err := io.ReadAll(io.LimitReader(config, MaxConfig+1))
	if err != nil {
		return failed("reading the configuration", err)
	}
	config.Close()
	cfg, err := ParseConfig(b)
	if err != nil {
		return failed("reading the configuration", err)
	}
	for _, fd := range []int{FDStatus, FDCode, FDLifeline} {
		syscall.CloseOnExec(fd)
	}
	// Now that the spawner has moved it, the cgroup namespace hides the
	// host's cgroup tree: /proc/self/cgroup shows "/".
	if err := syscall.Unshare(syscall.CLONE_NEWCGROUP); err != nil {
		return failed("cgroup namespace", err)
	}
	if err := buildRoot(cfg); err != nil {
		return err
	}
	if err := syscall.Sethostname([]byte(cfg.Hostname)); err != nil {
		return failed("hostname", err)
	}
	if err := dropPrivileges(); err != nil {
		return err
	}
	if err := prctl(prSetNoNewPrivs, 1); err != nil {
		return failed("no_new_privs", err)
	}
	if cfg.Landlock != nil {
		if err := restrict(cfg.Landlock); err != nil {
			return err
		}
	}
	if len(cfg.Seccomp) > 0 {
		if err := loadSeccomp(cfg.Seccomp); err != nil {
			return failed("seccomp", err)
		}
	}
	// The server's descriptors that were not close-on-exec came through the
	// fork; none of them may reach the program (the abuse suite read a host
	// file through one). 0–2 are the program's stdio; FDStatus is already
	// close-on-exec.
	if err := closeRangeOnExec(3); err != nil {
		return failed("closing inherited descriptors", err)
	}
	err = syscall.Exec(cfg.Program, cfg.Args, cfg.Env)
	return failed("executing "+cfg.Program, err)
}

// dropPrivileges makes this process UserID with no supplementary groups
// and no capabilities, and re-arms the parent-death signal, which the
// credential change cleared. If the spawner (the parent) or the server died
// before the signal was armed again, the init exits: see orphaned.
func dropPrivileges() error {
	// Empty the bounding set while root of the namespace may: no exec can
	// bring a capability back (no_new_privs and nosuid already see to it;
	// this is the third lock). The kernel refuses the first number past its
	// last capability with EINVAL.
	for c := uintptr(0); ; c++ {
		err := prctl(prCapbsetDrop, c)
		if err == syscall.EINVAL && c > 0 {
			break
		}
		if err != nil {
			return failed("dropping capability "+strconv.FormatInt(int64(c), 10)+" from the bounding set", err)
		}
	}
	if err := syscall.Setgroups(nil); err != nil {
		return failed("setgroups", err)
	}
	if err := syscall.Setresgid(UserID, UserID, UserID); err != nil {
		return failed("setresgid", err)
	}
	if err := syscall.Setresuid(UserID, UserID, UserID); err != nil {
		return failed("setresuid", err)
	}
	if err := prctl(prSetPdeathsig, uintptr(syscall.SIGKILL)); err != nil {
		return failed("parent-death signal", err)
	}
	gone, err := orphaned(FDStatus, FDLifeline)
	if err != nil {
		return failed("checking the server and the spawner", err)
	}
	if gone {
		os.Exit(1) // nobody to report to, or nobody to kill the sandbox with
	}
	return nil
}

// orphaned reports whether any of fds, write ends of pipes, has lost its
// reader: a write end without readers polls POLLERR. The server holds the
// status pipe's read end until the program runs, and the spawner holds the
// lifeline's for as long as it lives; the init holds neither. So after the
// parent-death signal is armed again, a pipe without a reader means the
// process it stands for died before, and the signal will never come.
func orphaned(fds ...int) (bool, error) {
	polls := make([]pollFd, len(fds))
	for i, fd := range fds {
		polls[i] = pollFd{fd: int32(fd), events: pollOut}
	}
	if err := pollNow(polls); err != nil {
		return false, err
	}
	for _, p := range polls {
		if p.revents&(pollErr|pollNval) != 0 {
			return true, nil
		}
	}
	return false, nil
}

// buildRoot makes the sandbox's root file system and pivots into it:
//
//	/            tmpfs, read-only once built
//	/var/task    the code, read-only (the detached mount at FDCode)
//	/tmp         tmpfs of cfg.TmpBytes, mode 1777
//	/usr, /lib…  read-only binds of the host's (cfg.Binds), links (cfg.Links)
//	/etc         passwd, group, hosts, resolv.conf, nsswitch.conf
//	/dev         binds of cfg.Devices; fd, stdin, stdout, stderr links
//	/proc        a new proc for the sandbox's pid namespace
//
// Nothing else of the host's file system is reachable once the old root is
// detached.
func buildRoot(cfg *Config) error {
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return failed("making mounts private", err)
	}
	// The new root is built on the host's /tmp, which this mount
	// namespace's copy hides and no one else sees.
	const root = "/tmp"
	if err := syscall.Mount("bulkhead", root, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "size=1m,mode=0755"); err != nil {
		return failed("root tmpfs", err)
	}
	for _, dir := range []string{"var/task", "tmp", "etc", "dev", "proc", ".old"} {
		if err := os.MkdirAll(path.Join(root, dir), 0o755); err != nil {
			return err
		}
	}
	if err := moveMount(FDCode, root+CodeDir); err != nil {
		return failed("mounting the code at "+CodeDir, err)
	}
	syscall.Close(FDCode)
	tmpOpts := "size=" + strconv.FormatInt(cfg.TmpBytes, 10) + ",mode=1777"
	if err := syscall.Mount("tmp", root+TmpDir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, tmpOpts); err != nil {
		return failed("mounting "+TmpDir, err)
	}
	for _, b := range cfg.Binds {
		if err := os.MkdirAll(path.Join(root, b.Sandbox), 0o755); err != nil {
			return err
		}
		if err := bindReadOnly(b.Host, path.Join(root, b.Sandbox), true); err != nil {
			return err
		}
	}
	for _, l := range cfg.Links {
		if err := os.Symlink(l.Target, path.Join(root, l.Path)); err != nil {
			return err
		}
	}
	if err := writeEtc(root+"/etc", cfg.Hostname); err != nil {
		return err
	}
	if err := makeDev(root+"/dev", cfg.Devices); err != nil {
		return err
	}
	if err := syscall.Mount("proc", root+"/proc", "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, ""); err != nil {
		return failed("mounting /proc", err)
	}
	if err := syscall.PivotRoot(root, root+"/.old"); err != nil {
		return failed("pivot_root", err)
	}
	if err := syscall.Chdir("/"); err != nil {
		return err
	}
	if err := syscall.Unmount("/.old", syscall.MNT_DETACH); err != nil {
		return failed("detaching the host's root", err)
	}
	if err := os.Remove("/.old"); err != nil {
		return err
	}
	if err := setAttr("/", mountAttrRdonly, false); err != nil {
		return failed("making / read-only", err)
	}
	return nil
}

// bindReadOnly binds host at target, read-only, without set-user-ID or
// device files, recursively when recursive.
func bindReadOnly(host, target string, recursive bool) error {
	flags := uintptr(syscall.MS_BIND)
	if recursive {
		flags |= syscall.MS_REC
	}
	if err := syscall.Mount(host, target, "", flags, ""); err != nil {
		return failed("binding "+host, err)
	}
	if err := setAttr(target, mountAttrRdonly|mountAttrNosuid, recursive); err != nil {
		return failed("making "+host+" read-only", err)
	}
	return nil
}

// writeEtc writes the minimal /etc a runtime expects: who the users are, a
// localhost, and no name servers (the sandbox has no network).
func writeEtc(etc, hostname string) error {
	user := strconv.Itoa(UserID)
	files := []struct{ name, content string }{
		{"passwd", "root:x:0:0:root:/:/usr/sbin/nologin\nsbx_user:x:" + user + ":" + user + ":sandbox:/tmp:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/:/usr/sbin/nologin\n"},
		{"group", "root:x:0:\nsbx_user:x:" + user + ":\nnogroup:x:65534:\n"},
		{"hosts", "127.0.0.1\tlocalhost " + hostname + "\n::1\tlocalhost\n"},
		{"resolv.conf", ""},
		{"nsswitch.conf", "passwd: files\ngroup: files\nhosts: files\n"},
	}
	for _, f := range files {
		if err := os.WriteFile(path.Join(etc, f.name), []byte(f.content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// makeDev fills /dev: the host's devices bound onto empty files (the
// sandbox may not make device nodes), and the usual links.
func makeDev(dev string, devices []string) error {
	for _, d := range devices {
		target := path.Join(dev, path.Base(d))
		if err := os.WriteFile(target, nil, 0o666); err != nil {
			return err
		}
		if err := syscall.Mount(d, target, "", syscall.MS_BIND, ""); err != nil {
			return failed("binding "+d, err)
		}
		if err := setAttr(target, mountAttrNosuid|mountAttrNoexec, false); err != nil {
			return failed("binding "+d, err)
		}
	}
	links := []struct{ name, target string }{
		{"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"},
	}
	for _, l := range links {
		if err := os.Symlink(l.target, path.Join(dev, l.name)); err != nil {
			return err
		}
	}
	return nil
}

// failure is an error of the init: the step that failed, and why.
type failure struct {
	step string
	err  error
}

func failed(step string, err error) error { return &failure{step: step, err: err} }

func (f *failure) Error() string { return f.step + ": " + f.err.Error() }
func (f *failure) Unwrap() error { return f.err }
