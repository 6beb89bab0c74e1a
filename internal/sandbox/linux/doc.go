// Package linux is the sandbox.Driver that isolates: each sandbox is a
// process in new user, pid, mount, network, IPC, UTS and cgroup namespaces,
// in cgroups of its own, with its own root file system, as an unprivileged
// user with no capabilities, under a seccomp filter and a Landlock domain.
// It needs root on the host. The design and its measured costs are in
// docs/adr/0003-runtime-api-transport.md and docs/adr/0004-linux-sandbox.md.
//
// # Starting a sandbox
//
// A clone with a new user namespace cannot use vfork (the parent writes the
// id maps while the child waits), so it copies the forking process's page
// tables and makes its memory copy-on-write: a cost that grows with the
// forking process. The server therefore forks a small helper once, the
// spawner (this binary re-executed as spawnerArg0, see spawner_main.go),
// and the spawner clones every init, on the server's request over a socket
// pair (wire.go), and reports how each sandbox ended.
//
//	server (Start)               spawner                    init (initprocess.Arg0)
//	──────────────               ───────                    ───────────────────────
//	cgroup: mkdir, limits
//	open_tree(code) → detached read-only mount
//	opStart + descriptors ─────► clone(NEWUSER|NEWNS|NEWPID|
//	  (config, status, code,       NEWNET|NEWIPC|NEWUTS), id maps,
//	  stdout, stderr,              Pdeathsig ──────────────► starts; blocks reading
//	  cgroup.procs files)        attach to the cgroups        its configuration
//	                             prlimit(NOFILE)
//	pidfd ◄────────────────────  opStarted + pidfd
//	setns(pidfd, NEWNET): lo up,
//	  listen on 127.0.0.1:9001,
//	  serve the endpoint
//	write the configuration ──────────────────────────────► unshare(NEWCGROUP); build the
//	                                                          root: tmpfs /, code at
//	                                                          /var/task, tmpfs /tmp,
//	                                                          read-only /usr, /lib…, /etc,
//	                                                          /dev, /proc; pivot_root;
//	                                                          hostname; drop to uid 1000;
//	                                                          Landlock; seccomp; exec
//	status pipe: EOF = running ◄────────────────────────────  (or the reason it failed)
//	                                   …
//	Done ◄────────────────────── opExited ◄─ reaps ◄───────── the program exits
//
// The program replaces the init: it is pid 1 of its pid namespace and the
// spawner's child; when it exits the kernel kills every other process of
// the sandbox. The server holds a pidfd for it, so a reused pid can never
// take its place in a kill or a setns. Parent-death signals chain the three:
// the spawner dies with the server and every sandbox with the spawner (the
// init re-arms the signal after its uid change, then checks that neither
// the server nor the spawner died meanwhile), so a server killed with kill
// -9 leaves no sandbox running; its empty cgroups are removed by the next
// New with the same Key. A spawner that dies (or breaks the protocol) takes
// its sandboxes with it; the starts it was serving fail with
// errdefs.ErrUnavailable, and the next Start starts another spawner.
//
// The server computes the seccomp filter and the Landlock rules once, and
// the init only applies them: package initprocess imports nothing beyond
// what package os does, so its initialiser, which takes the init's role,
// runs before those of the rest of the server's packages.
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
// Each sandbox owns a waiter (until the spawner reports the program's exit,
// or the spawner ends), two output copiers and its endpoint's server, all
// ended by Destroy. Start runs the netns listener on a thread of its own
// that dies with its goroutine. Each spawner has a reader goroutine in the
// server that dispatches its answers and, when the spawner ends, reaps it
// and tells the sandboxes; Close ends it. Locks: Driver.mu, spawner.mu and
// linuxSandbox.mu are each taken alone, never one inside another.
package linux
