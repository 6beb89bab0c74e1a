package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// measureMemory reads the memory of the server with process id pid and
// data directory dataDir.
func measureMemory(pid int, dataDir string) (memory, error) {
	var m memory
	self, err := readStatus(pid)
	if err != nil {
		return m, err
	}
	m.ServerRSS = self.rss
	children, err := descendants(pid)
	if err != nil {
		return m, err
	}
	for _, c := range children {
		st, err := readStatus(c)
		if err != nil {
			continue // exited meanwhile
		}
		m.Processes++
		m.Threads += st.threads
		m.ChildRSS += st.rss
		m.ChildRSSAnon += st.rssAnon
		m.ChildPSS += readPss(c)
	}
	m.Cgroups, m.CgroupCharged = cgroupCharge(pid, dataDir)
	return m, nil
}

type procStatus struct {
	rss, rssAnon int64
	threads      int
}

func readStatus(pid int) (procStatus, error) {
	var st procStatus
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return st, err
	}
	for line := range strings.Lines(string(raw)) {
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		fields := strings.Fields(val)
		if len(fields) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(fields[0], 10, 64)
		switch key {
		case "VmRSS":
			st.rss = n << 10
		case "RssAnon":
			st.rssAnon = n << 10
		case "Threads":
			st.threads = int(n)
		}
	}
	return st, nil
}

// readPss is the process's proportional set size, 0 when unreadable.
func readPss(pid int) int64 {
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "smaps_rollup"))
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Pss:"); ok {
			fields := strings.Fields(v)
			if len(fields) > 0 {
				n, _ := strconv.ParseInt(fields[0], 10, 64)
				return n << 10
			}
		}
	}
	return 0
}

// descendants lists every process below pid.
func descendants(pid int) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	children := map[int][]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(raw, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(raw[i+1:]))
		if len(fields) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(fields[1])
		children[ppid] = append(children[ppid], p)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		out = append(out, children[p]...)
		queue = append(queue, children[p]...)
	}
	return out, nil
}

// cgroupCharge sums the memory charged to the server's environment cgroups;
// 0, 0 when it made none (plain processes).
func cgroupCharge(pid int, dataDir string) (groups int, charged int64) {
	base, file := serverCgroupBase(pid, dataDir)
	if base == "" {
		return 0, 0
	}
	entries, err := os.ReadDir(base)
	if err != nil {
		return 0, 0
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(base, e.Name(), file))
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed meanwhile
		}
		if err != nil {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
		if err != nil {
			continue
		}
		groups++
		charged += n
	}
	return groups, charged
}

// serverCgroupBase is the directory holding the environment cgroups of the
// server pid in the memory hierarchy, and the file there that holds a
// group's charge.
func serverCgroupBase(pid int, dataDir string) (dir, file string) {
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cgroup"))
	if err != nil {
		return "", ""
	}
	sum := sha256.Sum256([]byte(dataDir))
	name := "bulkhead-" + hex.EncodeToString(sum[:6])
	v2 := ""
	for line := range strings.Lines(string(raw)) {
		parts := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if slices.Contains(strings.Split(parts[1], ","), "memory") {
			return filepath.Join("/sys/fs/cgroup/memory", parts[2], name), "memory.usage_in_bytes"
		}
		if parts[0] == "0" && parts[1] == "" {
			v2 = filepath.Join("/sys/fs/cgroup", parts[2], name)
		}
	}
	if v2 != "" {
		return v2, "memory.current"
	}
	return "", ""
}

// serverCgroups lists the directories under which the server pid makes its
// environments' cgroups, one per hierarchy it may use (memory, cpu and pids
// on cgroup v1; the one tree on v2), whether or not they exist yet.
func serverCgroups(pid int, dataDir string) []string {
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cgroup"))
	if err != nil {
		return nil
	}
	sum := sha256.Sum256([]byte(dataDir))
	name := "bulkhead-" + hex.EncodeToString(sum[:6])
	var dirs []string
	for line := range strings.Lines(string(raw)) {
		parts := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			dirs = append(dirs, filepath.Join("/sys/fs/cgroup", parts[2], name))
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == "memory" || c == "cpu" || c == "pids" {
				dirs = append(dirs, filepath.Join("/sys/fs/cgroup", c, parts[2], name))
			}
		}
	}
	return dirs
}

// removeCgroups removes what a killed server left of its cgroups (a server
// that stops by itself removes them; its next start on the same data
// directory would too, but the benchmark deletes that directory). Each
// environment's processes die with the server, so the groups empty within
// moments; it tries for a few seconds.
func removeCgroups(dirs []string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		var left []string
		for _, base := range dirs {
			entries, err := os.ReadDir(base)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			for _, e := range entries {
				if e.IsDir() {
					_ = os.Remove(filepath.Join(base, e.Name())) // rmdir: fails while processes remain
				}
			}
			if err := os.Remove(base); err != nil && !errors.Is(err, fs.ErrNotExist) {
				left = append(left, base)
			}
		}
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cgroups left behind: %v", left)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// userHZ is the unit of /proc/PID/stat's times (sysconf(_SC_CLK_TCK), 100
// on every Linux this runs on).
const userHZ = 100

// measureCPU reads the CPU time of the server pid, of its live descendants
// (environments that exited meanwhile are not counted) and of this process.
func measureCPU(pid int) (cpu, error) {
	var c cpu
	var err error
	if c.Server, err = processCPU(pid); err != nil {
		return c, err
	}
	children, err := descendants(pid)
	if err != nil {
		return c, err
	}
	for _, p := range children {
		if t, err := processCPU(p); err == nil {
			c.Environments += t
		}
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return c, err
	}
	c.Generator = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	return c, nil
}

// processCPU is a process's user and system time, its threads included.
func processCPU(pid int) (float64, error) {
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	// After the command: state, ppid, ... utime is field 14, stime 15.
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / userHZ, nil
}
