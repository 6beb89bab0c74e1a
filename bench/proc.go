package main

// memory is what the server and its environments hold at one moment.
//
// Method (memory_linux.go). Processes: every descendant of the server
// process, found by walking /proc/*/stat for parent ids (in the Linux
// sandbox each environment's program replaced its init and is the server's
// direct child; with --isolation process the program is a plain child),
// with VmRSS, RssAnon and Threads from /proc/PID/status and Pss from
// /proc/PID/smaps_rollup. RSS counts in full, for each process, the pages
// of the handler binary that every environment maps from the same file;
// Pss divides shared pages among their users, and RssAnon is the private
// heap and stacks. Cgroups (Linux sandbox only): the sum over the
// environment cgroups the server made of memory.usage_in_bytes (cgroup v1)
// or memory.current (v2) — every page charged to the environment, kernel
// memory and its /tmp included. They live under the server's own memory
// cgroup in bulkhead-<first 6 bytes of sha256(data dir), hex>/<environment>,
// as internal/sandbox/linux makes them (e2e/sandbox_test.go reads them the
// same way).
type memory struct {
	Processes     int   `json:"processes"`
	Threads       int   `json:"threads"`
	ChildRSS      int64 `json:"child_rss_bytes"`
	ChildRSSAnon  int64 `json:"child_rss_anon_bytes"`
	ChildPSS      int64 `json:"child_pss_bytes"`
	ServerRSS     int64 `json:"server_rss_bytes"`
	Cgroups       int   `json:"cgroups"`
	CgroupCharged int64 `json:"cgroup_charged_bytes"`
}

// cpu is CPU time used so far, in seconds, by the server, its environments
// and this program.
type cpu struct {
	Server, Environments, Generator float64
}
