// Package process is the sandbox.Driver of plain child processes: each
// sandbox is a process group of the server's children with a directory of
// its own. It runs on any Linux host without privileges, for development
// and tests.
//
// It provides NO isolation between sandboxes, or between a sandbox and the
// server, beyond separate directories and process groups, and must not run
// untrusted code; the Linux driver (internal/sandbox/linux) does that. A
// program runs as the server's user; sees the host's whole file system, so it
// can write its code directory and read the server's files; reaches the
// network and every loopback endpoint, other sandboxes' included; and can
// leave its process group (setsid), which puts it beyond Destroy.
//
// # What a sandbox gets
//
// A directory, made by Start with Mkdir (so a live ID is refused) and
// removed by Destroy:
//
//	<StateDir>/<ID>/
//	  tmp/            TMPDIR, mode 0700
//
// And:
//
//   - The command: Command[0] inside Code when relative (it may not lead
//     out), a host path when absolute. Arguments are Command, the working
//     directory is Code, and CodeDir(code) is code. Stdin is /dev/null.
//   - The environment: Spec.Env, then TMPDIR and EndpointEnv=127.0.0.1:port,
//     replacing any entries the caller set for those names. Nothing else:
//     no PATH unless the caller passes one.
//   - A process group of its own (Setpgid), and SIGKILL for the main process
//     when the server dies (Pdeathsig). Pdeathsig does not reach the
//     processes the program starts: a server killed with kill -9 leaves them
//     running.
//   - The endpoint: an http.Server on its own port of 127.0.0.1.
//   - Output: a pipe per stream, copied to Spec.Stdout and Spec.Stderr.
//   - Usage: the main process's peak resident memory (VmHWM while it runs,
//     the kernel's maxrss once it has exited), approximate: other processes
//     of the sandbox are not counted.
//
// # Limits
//
//	MemoryMB     ignored: needs a memory cgroup
//	TmpMB        ignored: tmp/ is a plain directory on StateDir's file system; needs a size-limited tmpfs
//	Processes    ignored: RLIMIT_NPROC counts per user, not per sandbox, and root is exempt; needs a pids cgroup
//	CPUMilli     ignored: needs a cpu cgroup
//	OpenFiles    ignored: Go offers no hook between fork and exec, and an RLIMIT_NOFILE set after
//	             the start would race the program's first instructions
//	OutputBytes  enforced: stdout and stderr together may deliver that many bytes in each one-second
//	             window; the rest is read and dropped, so the program is not slowed
//
// # Lifecycle
//
//	Start ──► running ──main process exits──► exited ─────┐
//	             │      waiter: status noted, not reaped;  │
//	             │      output in the pipes delivered;     │
//	             │      Done closed                        │
//	             └───────────────── Destroy ───────────────┴──► destroyed
//
// Destroy sends SIGKILL to the group, waits for the waiter, polls /proc
// until no process of the group is alive (sending SIGKILL again each round),
// reaps the main process, closes the endpoint and waits for its handlers,
// waits for the copiers (closing the pipes after a second, for a process
// that left the group), and removes the directory. It runs once; concurrent
// calls wait for it and return its result.
//
// The main process stays a zombie from its exit until Destroy so that its
// pid, which is the group's id, cannot be reused: Destroy's kill(-pgid)
// never reaches another group. Hence every started sandbox must be
// destroyed, and nothing in the server may wait for any child (wait(-1)),
// which would reap it. Zombies of the program's other processes, whose
// parent died, belong to the host's init; Destroy counts them as dead.
//
// # Goroutines and locks
//
// Each sandbox owns its goroutines, and Destroy ends them all:
//
//	waiter     blocked in waitid(WNOWAIT) until the main process exits; closes Done
//	copier ×2  pipe to writer, until the pipe ends or Destroy closes it
//	Serve      the endpoint's http.Server, until Destroy closes it
//
// processSandbox.mu (peak memory, reaped) and endpoint.mu (the handler
// gate) are never held together; budget.mu is a leaf.
package process
