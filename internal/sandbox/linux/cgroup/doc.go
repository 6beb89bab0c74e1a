// Package cgroup puts the Linux driver's execution environments in cgroups
// that limit their memory, CPU and process count, on cgroup v1, v2, or a
// hybrid of both.
//
// It owns the groups' directories: making them, writing their limits,
// moving processes in, killing what is inside, reading the memory counters,
// removing them, and sweeping what a crashed run left. It does not start
// processes (the driver does, and Attaches them before they run code of
// their own), and it leaves the other controllers (cpuset, io, freezer,
// devices, hugetlb) alone.
//
// # Which hierarchy serves a controller
//
// Each of memory, cpu and pids goes to its v1 hierarchy when one is mounted,
// else to the v2 hierarchy when the server's v2 cgroup offers it (lists it
// in cgroup.controllers), else to none: Missing reports it and the caller
// decides whether to run without it. Hosts seen:
//
//	pure v2       /sys/fs/cgroup is cgroup2          memory:v2 cpu:v2 pids:v2
//	hybrid        /sys/fs/cgroup/<controller> are v1; memory:v1 cpu:v1 pids:v1
//	              cgroup2 at /sys/fs/cgroup/unified
//	              offers only hugetlb, so is unused
//
// The server's own cgroup in a hierarchy is its line in /proc/self/cgroup,
// found on disk through the mount from /proc/self/mountinfo whose root
// contains it: mount point + (own path relative to the mount's root), which
// differs from the plain path in containers that bind-mount their cgroup.
//
// # Layout
//
// In every hierarchy used:
//
//	<mount point>/<own cgroup>/     the server's cgroup; v2: controllers enabled in cgroup.subtree_control
//	  <name>/                       Open (one per server); v2: controllers enabled again
//	    <id>/                       Create ... Remove: one environment's Group, with its limits
//
// v2 forbids enabling controllers for the children of a cgroup that holds
// processes, the root excepted, so on v2 the server must run in a delegated
// cgroup with a leaf of its own (systemd Delegate=yes): Open says so when it
// is not.
//
// # A group's life
//
//	Create ──► Attach(pid)... ──► Kill ──► Remove
//	                                ▲        ▲
//	           Sweep (at startup, for groups a crashed run left)
//
// Kill uses cgroup.kill where v2 has it, else SIGKILL to every listed process
// until none is left. Remove retries while the kernel finishes tearing the
// killed processes down.
package cgroup
