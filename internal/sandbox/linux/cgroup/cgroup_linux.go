package cgroup

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// controllers are the ones the package manages, in the order Describe and
// Missing list them.
var controllers = []string{"memory", "cpu", "pids"}

const (
	// cpuPeriod is the CFS period, in microseconds, that CPU quotas are
	// expressed against: 100 ms, the kernel's default.
	cpuPeriod = 100_000
	// minCPUMilli is the smallest CPU limit: the kernel refuses quotas
	// under 1 ms per period.
	minCPUMilli = 10
	// killTimeout bounds Kill; removeTimeout bounds Remove's retries while
	// the kernel tears down just-killed processes.
	killTimeout   = 10 * time.Second
	removeTimeout = 2 * time.Second
)

// Limits are what an environment's group may use. Zero means no limit for
// that controller (the group inherits its parents').
type Limits struct {
	// MemoryBytes caps memory, swap excluded: the group may not swap. v1:
	// memory.limit_in_bytes and memory.memsw.limit_in_bytes, or
	// memory.swappiness=0 when the kernel does not account swap; v2:
	// memory.max and memory.swap.max=0.
	MemoryBytes int64
	// CPUMilli caps CPU time in thousandths of a CPU per 100 ms period (v1
	// cpu.cfs_quota_us, v2 cpu.max); 2000 is two CPUs' worth. At least 10.
	CPUMilli int
	// Pids caps the number of processes and threads (pids.max). Go
	// programs count their runtime's threads.
	Pids int
}

func (l Limits) validate() error {
	switch {
	case l.MemoryBytes < 0:
		return fmt.Errorf("memory limit %d is negative", l.MemoryBytes)
	case l.CPUMilli < 0:
		return fmt.Errorf("CPU limit %d is negative", l.CPUMilli)
	case l.CPUMilli > 0 && l.CPUMilli < minCPUMilli:
		return fmt.Errorf("CPU limit %d is below %d thousandths: the kernel's smallest quota is 1 ms per period", l.CPUMilli, minCPUMilli)
	case l.Pids < 0:
		return fmt.Errorf("process limit %d is negative", l.Pids)
	}
	return nil
}

// Stats are a group's memory counters, read from its memory controller;
// zero when the group has none or the kernel lacks the file.
type Stats struct {
	// MemoryPeakBytes is the most memory the group used at once (v1
	// memory.max_usage_in_bytes, v2 memory.peak).
	MemoryPeakBytes int64
	// OOMKills counts processes the kernel killed because the group hit its
	// memory limit (the oom_kill line of v1 memory.oom_control, v2
	// memory.events).
	OOMKills int64
}

// Manager makes the groups of one server, under a directory of its own in
// each hierarchy it uses. Make one with Open. It is safe for concurrent use.
type Manager struct {
	name        string
	fs          cgroupFS
	hierarchies []*hierarchy          // each once, in the order of the controllers they serve
	use         map[string]*hierarchy // controller → hierarchy; absent when no hierarchy provides it
}

// Open finds the hierarchies from /proc/self/mountinfo and /proc/self/cgroup
// and returns the Manager of groups under name, a single path element unique
// to this server (a second server using the same name would have its groups
// swept). See OpenAt.
func Open(name string) (*Manager, error) {
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	mountinfo, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	return OpenAt("/", self, mountinfo, name)
}

// OpenAt is Open with the file system rooted at fsRoot and the contents of
// /proc/self/cgroup and /proc/self/mountinfo given: tests pass a temp dir
// laid out like /sys/fs/cgroup.
//
// It picks a hierarchy for each of memory, cpu and pids (see the package
// doc); a controller none provides is not an error but is reported by
// Missing, so the caller can decide whether to run without it. It makes
// <own cgroup>/<name> in each hierarchy used (an existing one is reused, for
// Sweep), and on v2 enables the controllers for its children, which fails
// if the server's own cgroup holds processes and is not the root.
func OpenAt(fsRoot string, selfCgroup, mountinfo []byte, name string) (*Manager, error) {
	return openAt(fsRoot, selfCgroup, mountinfo, name, kernelFS{})
}

func openAt(fsRoot string, selfCgroup, mountinfo []byte, name string, cfs cgroupFS) (*Manager, error) {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return nil, fmt.Errorf("cgroup: name %q is not a single path element", name)
	}
	mounts, err := parseMountinfo(mountinfo)
	if err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	members, err := parseSelfCgroup(selfCgroup)
	if err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	use, hierarchies, err := discover(fsRoot, mounts, members)
	if err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	for _, h := range hierarchies {
		h.base = filepath.Join(h.own, name)
		if h.version == 2 {
			if err := enable(cfs, h.own, h.uses); err != nil {
				if errors.Is(err, unix.EBUSY) {
					return nil, fmt.Errorf("cgroup v2: cannot enable controllers under %s: the server's cgroup has processes; "+
						"run the server in a delegated cgroup with a leaf for itself (systemd Delegate=yes): %w", h.own, err)
				}
				return nil, fmt.Errorf("cgroup v2: %w", err)
			}
		}
		if err := cfs.Mkdir(h.base); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("cgroup: %w", err)
		}
		if h.version == 2 {
			if err := enable(cfs, h.base, h.uses); err != nil {
				return nil, fmt.Errorf("cgroup v2: %w", err)
			}
		}
	}
	return &Manager{name: name, fs: cfs, hierarchies: hierarchies, use: use}, nil
}

// enable turns controllers on for dir's children, writing to
// cgroup.subtree_control only those not on already: a write that enables
// nothing new succeeds even where enabling is forbidden.
func enable(cfs cgroupFS, dir string, controllers []string) error {
	file := filepath.Join(dir, "cgroup.subtree_control")
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	on := strings.Fields(string(data))
	var add []string
	for _, c := range controllers {
		if !slices.Contains(on, c) {
			add = append(add, "+"+c)
		}
	}
	if len(add) == 0 {
		return nil
	}
	return cfs.WriteFile(file, strings.Join(add, " "))
}

// Missing returns the controllers among memory, cpu and pids that no
// hierarchy provides: groups are made without them.
func (m *Manager) Missing() []string {
	var missing []string
	for _, c := range controllers {
		if m.use[c] == nil {
			missing = append(missing, c)
		}
	}
	return missing
}

// Describe says which hierarchy serves each controller, for logs and health
// checks: "memory:v1 cpu:v1 pids:none".
func (m *Manager) Describe() string {
	parts := make([]string, len(controllers))
	for i, c := range controllers {
		if h := m.use[c]; h != nil {
			parts[i] = fmt.Sprintf("%s:v%d", c, h.version)
		} else {
			parts[i] = c + ":none"
		}
	}
	return strings.Join(parts, " ")
}

// Paths returns the directories of group id, one per hierarchy used, whether
// or not they exist. The id is not checked.
func (m *Manager) Paths(id string) []string {
	paths := make([]string, len(m.hierarchies))
	for i, h := range m.hierarchies {
		paths[i] = filepath.Join(h.base, id)
	}
	return paths
}

// Create makes group id, 1 to 64 of [a-z0-9-], in every hierarchy used and
// sets its limits. A group of that id that exists already in any hierarchy
// is an error wrapping fs.ErrExist. On any failure Create removes what it
// made.
func (m *Manager) Create(id string, l Limits) (*Group, error) {
	if !validID(id) {
		return nil, fmt.Errorf("cgroup: id %q is not 1 to 64 of [a-z0-9-]", id)
	}
	if err := l.validate(); err != nil {
		return nil, fmt.Errorf("cgroup %s: %w", id, err)
	}
	g := m.group(id)
	var made []string
	for _, d := range g.dirs {
		err := m.fs.Mkdir(d.path)
		if err == nil {
			made = append(made, d.path)
			err = setLimits(m.fs, d, l)
		}
		if err != nil {
			errs := []error{fmt.Errorf("cgroup %s: %w", id, err)}
			for _, dir := range slices.Backward(made) {
				if err := m.fs.Rmdir(dir); err != nil {
					errs = append(errs, fmt.Errorf("cleaning up: %w", err))
				}
			}
			return nil, errors.Join(errs...)
		}
	}
	return g, nil
}

func validID(id string) bool {
	if len(id) < 1 || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// setLimits writes l's limits for the controllers d serves.
func setLimits(cfs cgroupFS, d groupDir, l Limits) error {
	write := func(file, value string) error { return cfs.WriteFile(filepath.Join(d.path, file), value) }
	// optional writes a file some kernels lack (swap accounting off).
	optional := func(file, value string) (bool, error) {
		err := write(file, value)
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return err == nil, err
	}
	for _, c := range d.uses {
		var err error
		switch {
		case c == "memory" && l.MemoryBytes > 0 && d.version == 1:
			v := strconv.FormatInt(l.MemoryBytes, 10)
			// memsw must stay >= limit_in_bytes: a new group's is unlimited,
			// so the limit goes first.
			if err = write("memory.limit_in_bytes", v); err != nil {
				break
			}
			var ok bool
			if ok, err = optional("memory.memsw.limit_in_bytes", v); err == nil && !ok {
				_, err = optional("memory.swappiness", "0")
			}
		case c == "memory" && l.MemoryBytes > 0:
			if err = write("memory.max", strconv.FormatInt(l.MemoryBytes, 10)); err == nil {
				_, err = optional("memory.swap.max", "0")
			}
		case c == "cpu" && l.CPUMilli > 0 && d.version == 1:
			if err = write("cpu.cfs_period_us", strconv.Itoa(cpuPeriod)); err == nil {
				err = write("cpu.cfs_quota_us", strconv.Itoa(l.CPUMilli*cpuPeriod/1000))
			}
		case c == "cpu" && l.CPUMilli > 0:
			err = write("cpu.max", fmt.Sprintf("%d %d", l.CPUMilli*cpuPeriod/1000, cpuPeriod))
		case c == "pids" && l.Pids > 0:
			err = write("pids.max", strconv.Itoa(l.Pids))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Sweep kills and removes every group under the Manager's directory, in
// every hierarchy: what a crashed previous run of the server left. Call it
// at startup, before Create. It returns how many groups it removed, and the
// errors of those it could not.
func (m *Manager) Sweep() (int, error) {
	var ids []string
	for _, h := range m.hierarchies {
		entries, err := os.ReadDir(h.base)
		if err != nil {
			return 0, fmt.Errorf("cgroup: sweep: %w", err)
		}
		for _, e := range entries {
			if e.IsDir() && !slices.Contains(ids, e.Name()) {
				ids = append(ids, e.Name())
			}
		}
	}
	slices.Sort(ids)
	removed := 0
	var errs []error
	for _, id := range ids {
		g := m.group(id)
		err := g.Kill()
		if err == nil {
			err = g.Remove()
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		removed++
	}
	return removed, errors.Join(errs...)
}

// Close removes the Manager's own directory in every hierarchy. It fails
// while any group is left in it: destroy (or Sweep) them first. The Manager
// must not be used afterwards.
func (m *Manager) Close() error {
	var errs []error
	for _, h := range m.hierarchies {
		if err := m.fs.Rmdir(h.base); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("cgroup: close: %w", err))
		}
	}
	return errors.Join(errs...)
}

func (m *Manager) group(id string) *Group {
	g := &Group{id: id, fs: m.fs}
	for _, h := range m.hierarchies {
		g.dirs = append(g.dirs, groupDir{path: filepath.Join(h.base, id), version: h.version, uses: h.uses})
	}
	return g
}

// Group is one environment's cgroup: a directory in each hierarchy the
// Manager uses. Its methods are safe for concurrent use.
//
// The package never makes groups inside a group, and the processes in one
// must not be able to: Kill and Remove do not descend.
type Group struct {
	id   string
	fs   cgroupFS
	dirs []groupDir

	statsMu      sync.Mutex // guards the files Stats keeps open
	peak, events *statFile
}

type groupDir struct {
	path    string
	version int
	uses    []string
}

// SetCPU changes the group's CPU limit to milli thousandths of a CPU (at
// least 10), or removes it when milli is 0. A group without a cpu controller
// ignores it.
func (g *Group) SetCPU(milli int) error {
	if milli != 0 && milli < 10 {
		return fmt.Errorf("cgroup %s: CPU limit %d is below 10 thousandths", g.id, milli)
	}
	for _, d := range g.dirs {
		if !slices.Contains(d.uses, "cpu") {
			continue
		}
		var err error
		switch {
		case d.version == 1 && milli == 0:
			err = g.fs.WriteFile(filepath.Join(d.path, "cpu.cfs_quota_us"), "-1")
		case d.version == 1:
			if err = g.fs.WriteFile(filepath.Join(d.path, "cpu.cfs_period_us"), strconv.Itoa(cpuPeriod)); err == nil {
				err = g.fs.WriteFile(filepath.Join(d.path, "cpu.cfs_quota_us"), strconv.Itoa(milli*cpuPeriod/1000))
			}
		case milli == 0:
			err = g.fs.WriteFile(filepath.Join(d.path, "cpu.max"), fmt.Sprintf("max %d", cpuPeriod))
		default:
			err = g.fs.WriteFile(filepath.Join(d.path, "cpu.max"), fmt.Sprintf("%d %d", milli*cpuPeriod/1000, cpuPeriod))
		}
		if err != nil {
			return fmt.Errorf("cgroup %s: %w", g.id, err)
		}
	}
	return nil
}

// Attach moves process pid, all its threads, into the group in every
// hierarchy; children it starts afterwards are born there. Memory it used
// before stays charged where it was, so attach a process before it runs
// code of its own.
func (g *Group) Attach(pid int) error {
	for _, d := range g.dirs {
		if err := g.fs.WriteFile(filepath.Join(d.path, "cgroup.procs"), strconv.Itoa(pid)); err != nil {
			return fmt.Errorf("cgroup %s: attach %d: %w", g.id, pid, err)
		}
	}
	return nil
}

// Procs returns the processes in the group in any hierarchy, sorted. A
// group that no longer exists has none.
func (g *Group) Procs() ([]int, error) {
	var pids []int
	for _, d := range g.dirs {
		data, err := os.ReadFile(filepath.Join(d.path, "cgroup.procs"))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cgroup %s: %w", g.id, err)
		}
		for _, f := range strings.Fields(string(data)) {
			pid, err := strconv.Atoi(f)
			if err != nil {
				return nil, fmt.Errorf("cgroup %s: %s: bad pid %q", g.id, d.path, f)
			}
			if !slices.Contains(pids, pid) {
				pids = append(pids, pid)
			}
		}
	}
	slices.Sort(pids)
	return pids, nil
}

// Kill kills every process in the group and returns once none is left, or
// an error after 10 s. On v2 with cgroup.kill the kernel kills the whole
// group at once, forks included. Otherwise Kill sends SIGKILL to each
// process listed, again and again, until no hierarchy lists any: a process
// forking meanwhile has its child caught in a later round. (A pid is read,
// then signalled: were it to exit and the kernel to hand its number to a new
// process in between, the new one would be killed. pid_max makes that need
// tens of thousands of forks in microseconds.)
func (g *Group) Kill() error {
	for _, d := range g.dirs {
		if d.version != 2 {
			continue
		}
		err := g.fs.WriteFile(filepath.Join(d.path, "cgroup.kill"), "1")
		if err != nil && !errors.Is(err, fs.ErrNotExist) { // ENOENT: before Linux 5.14, or no group
			return fmt.Errorf("cgroup %s: kill: %w", g.id, err)
		}
	}
	deadline := time.Now().Add(killTimeout)
	pause := time.Millisecond
	for {
		pids, err := g.Procs()
		if err != nil {
			return err
		}
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cgroup %s: processes %v still alive %v after SIGKILL", g.id, pids, killTimeout)
		}
		for _, pid := range pids {
			_ = unix.Kill(pid, unix.SIGKILL) // ESRCH: it has exited; anything else shows as the deadline
		}
		time.Sleep(pause)
		pause = min(2*pause, 50*time.Millisecond)
	}
}

// Stats reads the group's memory counters. It runs after every
// invocation, so it keeps the two files open and rereads them with one
// pread each: opening, reading and closing them took about 125 µs per
// invocation on a VM whose system calls are slow (10% of the server's CPU
// under warm load).
func (g *Group) Stats() Stats {
	var s Stats
	g.statsMu.Lock()
	defer g.statsMu.Unlock()
	for _, d := range g.dirs {
		if !slices.Contains(d.uses, "memory") {
			continue
		}
		if g.peak == nil {
			peak, events := "memory.peak", "memory.events"
			if d.version == 1 {
				peak, events = "memory.max_usage_in_bytes", "memory.oom_control"
			}
			g.peak = &statFile{path: filepath.Join(d.path, peak)}
			g.events = &statFile{path: filepath.Join(d.path, events)}
		}
		var buf [512]byte
		s.MemoryPeakBytes = parseInt(g.peak.read(buf[:]))
		s.OOMKills = parseKey(g.events.read(buf[:]), "oom_kill")
	}
	return s
}

// statFile is a control file kept open for rereading.
type statFile struct {
	path string
	f    *os.File
}

// read returns the file's current contents (up to len(buf)), nil if it
// cannot be read. A control file regenerates its contents on a read from
// offset 0.
func (f *statFile) read(buf []byte) []byte {
	if f.f == nil {
		file, err := os.Open(f.path)
		if err != nil {
			return nil
		}
		f.f = file
	}
	n, err := f.f.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil
	}
	return buf[:n]
}

func (f *statFile) close() {
	if f != nil && f.f != nil {
		f.f.Close()
		f.f = nil
	}
}

// parseInt returns the number in data, 0 if there is none.
func parseInt(data []byte) int64 {
	n, _ := strconv.ParseInt(string(bytes.TrimSpace(data)), 10, 64)
	return n
}

// parseKey returns the value of key in flat-keyed data ("key value" lines),
// 0 if it has none.
func parseKey(data []byte, key string) int64 {
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte{'\n'})
		if k, v, ok := bytes.Cut(line, []byte{' '}); ok && string(k) == key {
			n, _ := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
			return n
		}
	}
	return 0
}

// Remove removes the group's directories. Kill it first: the kernel refuses
// to remove a group with processes, so Remove retries that refusal (EBUSY)
// for up to 2 s while just-killed processes are torn down. A directory
// already gone is not an error.
func (g *Group) Remove() error {
	g.statsMu.Lock()
	g.peak.close() // Stats reopens them if it comes again
	g.events.close()
	g.statsMu.Unlock()
	var errs []error
	for _, d := range g.dirs {
		deadline := time.Now().Add(removeTimeout)
		pause := time.Millisecond
		for {
			err := g.fs.Rmdir(d.path)
			if errors.Is(err, unix.EBUSY) && time.Now().Before(deadline) {
				time.Sleep(pause)
				pause = min(2*pause, 50*time.Millisecond)
				continue
			}
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("cgroup %s: remove: %w", g.id, err))
			}
			break
		}
	}
	return errors.Join(errs...)
}

// cgroupFS is what the package does to cgroup directories that cgroupfs does
// unlike a plain file system: satisfied by kernelFS and, in tests, by a fake
// kernel over a temp dir. Reads go to the os package directly.
type cgroupFS interface {
	// Mkdir makes a group: on cgroupfs its control files appear with it.
	Mkdir(dir string) error
	// Rmdir removes a group, control files and all; EBUSY while it has
	// processes (or child groups).
	Rmdir(dir string) error
	// WriteFile writes value to an existing control file in one write.
	WriteFile(file, value string) error
}

// kernelFS is cgroupfs.
type kernelFS struct{}

var _ cgroupFS = kernelFS{}

func (kernelFS) Mkdir(dir string) error { return os.Mkdir(dir, 0o755) }

func (kernelFS) Rmdir(dir string) error {
	if err := unix.Rmdir(dir); err != nil {
		return &fs.PathError{Op: "rmdir", Path: dir, Err: err}
	}
	return nil
}

func (kernelFS) WriteFile(file, value string) error {
	// No O_CREATE: a missing control file is the kernel's answer, not
	// something to make.
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
