package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// Machine is what the figures were measured on.
type Machine struct {
	CPU        string `json:"cpu"`
	Cores      int    `json:"cores"`
	MemoryMiB  int64  `json:"memory_mib"`
	Kernel     string `json:"kernel"`
	OS         string `json:"os"`
	Go         string `json:"go"`
	Isolation  string `json:"isolation"`
	Root       bool   `json:"root"`
	Commit     string `json:"commit"`
	Dirty      bool   `json:"uncommitted_changes"`
	PidMax     int    `json:"pid_max"`
	OpenFiles  string `json:"open_files_limit"`
	DataFS     string `json:"data_dir_filesystem"`
	Cgroups    string `json:"cgroups"`
	Virtualize string `json:"virtualization,omitempty"`
}

// machineFacts reads the machine's description; what cannot be read is left
// empty.
func machineFacts(ctx context.Context, root, isolation, workDir string) Machine {
	m := Machine{
		Cores:     runtime.NumCPU(),
		Go:        runtime.Version(),
		Isolation: isolation,
		Root:      os.Geteuid() == 0,
		Kernel:    firstLine("/proc/sys/kernel/osrelease"),
		OS:        osRelease(),
		CPU:       procField("/proc/cpuinfo", "model name"),
		DataFS:    filesystemOf(workDir),
		Cgroups:   cgroupVersion(),
	}
	if kb, err := strconv.ParseInt(strings.Fields(procField("/proc/meminfo", "MemTotal") + " 0")[0], 10, 64); err == nil {
		m.MemoryMiB = kb >> 10
	}
	m.PidMax, _ = strconv.Atoi(firstLine("/proc/sys/kernel/pid_max"))
	if flags := procField("/proc/cpuinfo", "flags"); strings.Contains(" "+flags+" ", " hypervisor ") {
		m.Virtualize = "virtual machine"
	}
	if lim := procField("/proc/self/limits", "Max open files"); lim != "" {
		f := strings.Fields(lim)
		if len(f) >= 2 {
			m.OpenFiles = f[0] + " soft, " + f[1] + " hard"
		}
	}
	git := func(args ...string) string {
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir = root
		out, err := cmd.Output()
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(out))
	}
	m.Commit = git("rev-parse", "HEAD")
	m.Dirty = git("status", "--porcelain", "--untracked-files=no") != ""
	return m
}

func firstLine(path string) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	return strings.TrimSpace(line)
}

// procField is the value of the first "key: value" line of path with that
// key (/proc/cpuinfo, /proc/meminfo, /proc/self/limits layouts).
func procField(path, key string) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(raw)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
		if rest, ok := strings.CutPrefix(line, key); ok && strings.HasPrefix(rest, "  ") {
			return strings.TrimSpace(rest) // /proc/self/limits: columns, no colon
		}
	}
	return ""
}

func osRelease() string {
	raw, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return runtime.GOOS
	}
	for line := range strings.Lines(string(raw)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return runtime.GOOS
}

// filesystemOf is the type of the file system holding dir, from the
// longest mount point above it: SQLite's fsync per commit costs what that
// file system makes it cost.
func filesystemOf(dir string) string {
	raw, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return ""
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	best, fstype := "", ""
	for line := range strings.Lines(string(raw)) {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		mnt := f[1]
		if (abs == mnt || strings.HasPrefix(abs, strings.TrimSuffix(mnt, "/")+"/")) && len(mnt) >= len(best) {
			best, fstype = mnt, f[2]
		}
	}
	return fstype
}

// cgroupVersion says which hierarchy holds the memory controller.
func cgroupVersion() string {
	raw, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(raw)) {
		parts := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(parts) == 3 && strings.Contains(","+parts[1]+",", ",memory,") {
			return "v1 (memory controller on v1)"
		}
	}
	return "v2"
}
