//go:build !linux

package main

import "errors"

// measureMemory, measureCPU and the cgroup helpers need Linux's /proc and
// cgroups.
func measureMemory(pid int, dataDir string) (memory, error) {
	return memory{}, errors.ErrUnsupported
}

// serverCgroups: cgroups are Linux's.
func serverCgroups(pid int, dataDir string) []string { return nil }

func removeCgroups(dirs []string) error { return nil }

func measureCPU(pid int) (cpu, error) { return cpu{}, errors.ErrUnsupported }
