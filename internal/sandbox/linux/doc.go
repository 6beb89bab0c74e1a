// Package linux is the sandbox.Driver that isolates: each sandbox is a
// process in new user, pid, mount, network, IPC, UTS and cgroup namespaces,
// in cgroups of its own, with its own root file system, as an unprivileged
// user with no capabilities, under a seccomp filter and a Landlock domain.
// It needs root on the host. The design and its measured costs are in
// docs/adr/0003-runtime-api-transport.md and docs/adr/0004-linux-sandbox.md.
//
// # Starting a sandbox
//
//	server (Start)                          init (/proc/self/exe as initArg0)
//	──────────────                          ─────────────────────────────────
//	cgroup: mkdir, limits
//	open_tree(code) → detached read-only mount
//	clone(NEWUSER|NEWNS|NEWPID|NEWNET|NEWIPC|NEWUTS),
//	  uid/gid maps, Pdeathsig ────────────► blocks reading its configuration
//	attach the pid to the cgroups
//	prlimit(NOFILE)
//	setns into its netns: lo up, listen on
//	  127.0.0.1:9001, serve the endpoint
//	write the configuration ──────────────► unshare(NEWCGROUP); build the root:
//	                                          tmpfs /, code at /var/task,
//	                                          tmpfs /tmp, read-only /usr, /lib…,
//	                                          /etc, /dev, /proc; pivot_root;
//	                                          hostname; drop to uid 1000;
//	                                          Landlock; seccomp; exec program
//	status pipe: EOF = running ◄───────────  (or the reason it failed)
//
// The program replaces the init: it is pid 1 of its pid namespace and the
// server's direct child, so its exit status is read as the process driver
// reads it, and when it exits the kernel kills every other process of the
// sandbox. Pdeathsig, re-armed after the uid change, kills it when the
// server dies, so a server killed with kill -9 leaves no sandbox running;
// its empty cgroups are removed by the next New with the same Key.
//
// # What a sandbox gets
//
//   - /var/task: the code, read-only, nosuid, nodev. CodeDir returns it.
//   - /tmp: a tmpfs of Limits.TmpMB (TMPDIR); full means ENOSPC.
//   - /usr, /lib, /lib64, /lib32, /bin, /sbin as the host has them, read-only.
//   - /etc: passwd, group, hosts, resolv.conf (empty), nsswitch.conf.
//   - /dev: null, zero, full, random, urandom; fd, stdin, stdout, stderr links.
//   - /proc of its own pid namespace. No /sys, no host sockets, nothing else.
//   - A network namespace with only lo, where the endpoint listens on
//     127.0.0.1:9001. No route out.
//   - Hostname "sandbox". User 1000 ("sbx_user"), group 1000, no capabilities,
//     no_new_privs.
//   - The environment: Spec.Env, TMPDIR=/tmp and EndpointEnv=127.0.0.1:9001.
//
// # Limits
//
//	MemoryMB     memory cgroup, swap included (default 128); over it, the kernel's OOM killer
//	TmpMB        size of the /tmp tmpfs (default 512)
//	Processes    pids cgroup (default 1024); threads count
//	CPUMilli     CFS quota per 100 ms period (default: MemoryMB in proportion to one CPU at 1,769 MB), from EndInit
//	InitCPUMilli the quota until EndInit (default CPUMilli): the init itself, and the program's
//	             initialisation, are not slowed to a small function's steady-state share
//	OpenFiles    RLIMIT_NOFILE (default 1024)
//	OutputBytes  as the process driver: bytes per second over both streams, the rest dropped
//
// # Goroutines
//
// Each sandbox owns a waiter (waitid until the program exits), two output
// copiers and its endpoint's server, all ended by Destroy. Start runs the
// netns listener on a thread of its own that dies with its goroutine.
package linux
