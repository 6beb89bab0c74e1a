package linux

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// The sandbox's init is the server's binary itself, re-executed by Start
// with argv[0] initArg0 inside the new namespaces. A package init function,
// not main, recognises it, so every binary that links this package — the
// server and the test binaries alike — can be the init without a hook in its
// main, and never runs its own main in that role.
//
// The init runs as root of the sandbox's user namespace, which is an
// unprivileged host user. It builds the sandbox's root, drops to nsUserID,
// confines itself with Landlock and seccomp, and executes the program, which
// replaces it: no process of ours stays in the sandbox.
func init() {
	if len(os.Args) == 0 || os.Args[0] != initArg0 {
		return
	}
	// Landlock, seccomp and no_new_privs are set on this thread only, and
	// carry into the program because this thread is the one that executes it.
	runtime.LockOSThread()
	err := sandboxInit()
	status := os.NewFile(fdStatus, "status")
	fmt.Fprint(status, err)
	os.Exit(1)
}

// sandboxInit sets the sandbox up and executes the program. It returns only
// on failure.
func sandboxInit() error {
	var cfg initConfig
	config := os.NewFile(fdConfig, "config")
	// The server writes the configuration once it has put this process in
	// its cgroups and made its endpoint: reading it is the go-ahead.
	if err := json.NewDecoder(io.LimitReader(config, 1<<20)).Decode(&cfg); err != nil {
		return fmt.Errorf("reading the configuration: %w", err)
	}
	config.Close()
	for _, fd := range []int{fdStatus, fdCode} {
		unix.CloseOnExec(fd)
	}
	// Now that the server has moved it, the cgroup namespace hides the
	// host's cgroup tree: /proc/self/cgroup shows "/".
	if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
		return fmt.Errorf("cgroup namespace: %w", err)
	}
	if err := buildRoot(&cfg); err != nil {
		return err
	}
	if err := unix.Sethostname([]byte(cfg.Hostname)); err != nil {
		return fmt.Errorf("hostname: %w", err)
	}
	if err := dropPrivileges(); err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	if cfg.Landlock {
		if err := restrictFiles(cfg.Port); err != nil {
			return err
		}
	}
	if cfg.Seccomp {
		if err := loadSeccomp(); err != nil {
			return err
		}
	}
	// The server's descriptors that were not close-on-exec came through the
	// fork; none of them may reach the program (the abuse suite read a host
	// file through one). 0–2 are the program's stdio; fdStatus is already
	// close-on-exec.
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return fmt.Errorf("closing inherited descriptors: %w", err)
	}
	err := syscall.Exec(cfg.Program, cfg.Args, cfg.Env)
	return fmt.Errorf("executing %s: %w", cfg.Program, err)
}

// dropPrivileges makes this process nsUserID with no supplementary groups
// and no capabilities, and re-arms the parent-death signal, which the
// credential change cleared. The server holds the status pipe's read end
// until the program runs, so a pipe without a reader means the server died
// before the signal was armed again.
func dropPrivileges() error {
	// Empty the bounding set while root of the namespace may: no exec can
	// bring a capability back (no_new_privs and nosuid already see to it;
	// this is the third lock).
	for c := 0; c <= capLastCap(); c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && err != unix.EINVAL {
			return fmt.Errorf("dropping capability %d from the bounding set: %w", c, err)
		}
	}
	if err := unix.Setgroups(nil); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := unix.Setresgid(nsUserID, nsUserID, nsUserID); err != nil {
		return fmt.Errorf("setresgid: %w", err)
	}
	if err := unix.Setresuid(nsUserID, nsUserID, nsUserID); err != nil {
		return fmt.Errorf("setresuid: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return fmt.Errorf("parent-death signal: %w", err)
	}
	fds := []unix.PollFd{{Fd: fdStatus, Events: unix.POLLOUT}}
	if _, err := unix.Poll(fds, 0); err != nil {
		return fmt.Errorf("checking the server: %w", err)
	}
	if fds[0].Revents&unix.POLLERR != 0 {
		os.Exit(1) // the server is gone: nobody to report to
	}
	return nil
}

// capLastCap is the kernel's highest capability number.
func capLastCap() int {
	if b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		var n int
		if _, err := fmt.Sscan(string(b), &n); err == nil {
			return n
		}
	}
	return unix.CAP_LAST_CAP
}

// buildRoot makes the sandbox's root file system and pivots into it:
//
//	/            tmpfs, read-only once built
//	/var/task    the code, read-only (the detached mount at fdCode)
//	/tmp         tmpfs of cfg.TmpBytes, mode 1777
//	/usr, /lib…  read-only binds of the host's (cfg.Binds), links (cfg.Links)
//	/etc         passwd, group, hosts, resolv.conf, nsswitch.conf
//	/dev         binds of cfg.Devices; fd, stdin, stdout, stderr links
//	/proc        a new proc for the sandbox's pid namespace
//
// Nothing else of the host's file system is reachable once the old root is
// detached.
func buildRoot(cfg *initConfig) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making mounts private: %w", err)
	}
	// The new root is built on the host's /tmp, which this mount
	// namespace's copy hides and no one else sees.
	const root = "/tmp"
	if err := unix.Mount("bulkhead", root, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=1m,mode=0755"); err != nil {
		return fmt.Errorf("root tmpfs: %w", err)
	}
	for _, dir := range []string{"var/task", "tmp", "etc", "dev", "proc", ".old"} {
		if err := os.MkdirAll(path.Join(root, dir), 0o755); err != nil {
			return err
		}
	}
	if err := unix.MoveMount(fdCode, "", unix.AT_FDCWD, root+codeDir, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("mounting the code at %s: %w", codeDir, err)
	}
	unix.Close(fdCode)
	tmpOpts := fmt.Sprintf("size=%d,mode=1777", cfg.TmpBytes)
	if err := unix.Mount("tmp", root+tmpDir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, tmpOpts); err != nil {
		return fmt.Errorf("mounting %s: %w", tmpDir, err)
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
	if err := unix.Mount("proc", root+"/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mounting /proc: %w", err)
	}
	if err := unix.PivotRoot(root, root+"/.old"); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return err
	}
	if err := unix.Unmount("/.old", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detaching the host's root: %w", err)
	}
	if err := os.Remove("/.old"); err != nil {
		return err
	}
	if err := setAttr("/", unix.MOUNT_ATTR_RDONLY, false); err != nil {
		return fmt.Errorf("making / read-only: %w", err)
	}
	return nil
}

// bindReadOnly binds host at target, read-only, without set-user-ID or
// device files, recursively when recursive.
func bindReadOnly(host, target string, recursive bool) error {
	flags := uintptr(unix.MS_BIND)
	if recursive {
		flags |= unix.MS_REC
	}
	if err := unix.Mount(host, target, "", flags, ""); err != nil {
		return fmt.Errorf("binding %s: %w", host, err)
	}
	if err := setAttr(target, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID, recursive); err != nil {
		return fmt.Errorf("making %s read-only: %w", host, err)
	}
	return nil
}

// setAttr adds mount attributes to the mount at target (and every mount
// below it when recursive). Unlike a remount, it keeps the flags the host
// locked on the mount.
func setAttr(target string, attrs uint64, recursive bool) error {
	flags := uint(0)
	if recursive {
		flags = unix.AT_RECURSIVE
	}
	return unix.MountSetattr(unix.AT_FDCWD, target, flags, &unix.MountAttr{Attr_set: attrs})
}

// writeEtc writes the minimal /etc a runtime expects: who the users are, a
// localhost, and no name servers (the sandbox has no network).
func writeEtc(etc, hostname string) error {
	files := map[string]string{
		"passwd":        fmt.Sprintf("root:x:0:0:root:/:/usr/sbin/nologin\nsbx_user:x:%d:%d:sandbox:/tmp:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/:/usr/sbin/nologin\n", nsUserID, nsUserID),
		"group":         fmt.Sprintf("root:x:0:\nsbx_user:x:%d:\nnogroup:x:65534:\n", nsUserID),
		"hosts":         "127.0.0.1\tlocalhost " + hostname + "\n::1\tlocalhost\n",
		"resolv.conf":   "",
		"nsswitch.conf": "passwd: files\ngroup: files\nhosts: files\n",
	}
	for name, content := range files {
		if err := os.WriteFile(path.Join(etc, name), []byte(content), 0o644); err != nil {
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
		if err := unix.Mount(d, target, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("binding %s: %w", d, err)
		}
		if err := setAttr(target, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NOEXEC, false); err != nil {
			return fmt.Errorf("binding %s: %w", d, err)
		}
	}
	links := map[string]string{"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"}
	for name, target := range links {
		if err := os.Symlink(target, path.Join(dev, name)); err != nil {
			return err
		}
	}
	return nil
}

// errorText turns what the init reported into an error for Start.
func errorText(b []byte) error {
	msg := strings.TrimSpace(string(b))
	if msg == "" {
		msg = "the sandbox's init failed without saying why"
	}
	return errors.New(msg)
}
