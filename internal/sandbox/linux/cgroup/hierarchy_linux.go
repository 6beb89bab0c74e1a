package cgroup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// hierarchy is one cgroup hierarchy the Manager uses, for the controllers in
// uses.
type hierarchy struct {
	version int      // 1 or 2
	uses    []string // among controllers, in that order
	own     string   // the server's own cgroup, on disk
	base    string   // own/<name>: the parent of every group
}

// mount is a cgroup file system mount, from one line of mountinfo.
type mount struct {
	version int      // 1 (fstype cgroup) or 2 (fstype cgroup2)
	root    string   // the cgroup mounted: "/" but for bind mounts (containers)
	point   string   // where, unescaped
	options []string // super options; for v1 they name the controllers bound to it
}

// membership is a line of /proc/self/cgroup: the process's cgroup in one
// hierarchy.
type membership struct {
	controllers []string // empty for the v2 hierarchy (line "0::/path")
	path        string   // relative to the hierarchy's root, as the process's cgroup namespace sees it
}

// parseMountinfo returns the cgroup and cgroup2 mounts in mountinfo (see
// proc(5)): "id parent major:minor root point options [optional...] - fstype
// source superoptions".
func parseMountinfo(data []byte) ([]mount, error) {
	var mounts []mount
	for n, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Fields(line)
		sep := slices.Index(f, "-")
		if sep < 6 || len(f) < sep+4 {
			return nil, fmt.Errorf("mountinfo line %d: malformed: %q", n+1, line)
		}
		var version int
		switch f[sep+1] {
		case "cgroup":
			version = 1
		case "cgroup2":
			version = 2
		default:
			continue
		}
		mounts = append(mounts, mount{
			version: version,
			root:    unescapeMountinfo(f[3]),
			point:   unescapeMountinfo(f[4]),
			options: strings.Split(f[sep+3], ","),
		})
	}
	return mounts, nil
}

// unescapeMountinfo undoes the kernel's octal escapes (\040 for a space, \011,
// \012, \134) in a mountinfo path.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// parseSelfCgroup parses /proc/self/cgroup: "id:controllers:path" per
// hierarchy, "0::path" for v2.
func parseSelfCgroup(data []byte) ([]membership, error) {
	var ms []membership
	for n, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 || !strings.HasPrefix(f[2], "/") {
			return nil, fmt.Errorf("/proc/self/cgroup line %d: malformed: %q", n+1, line)
		}
		m := membership{path: f[2]}
		if f[1] != "" {
			m.controllers = strings.Split(f[1], ",")
		}
		ms = append(ms, m)
	}
	return ms, nil
}

// ownDir returns where the cgroup at path (as /proc/self/cgroup shows it) is
// on disk through mount m, under fsRoot; false if m does not show it: m
// mounts another part of the hierarchy, or path leads outside the process's
// cgroup namespace ("/../..").
func ownDir(fsRoot string, m mount, p string) (string, bool) {
	if p != path.Clean(p) || strings.Contains(p, "/..") {
		return "", false
	}
	rel, ok := p, true
	if m.root != "/" {
		if p == m.root {
			rel = "/"
		} else {
			rel, ok = strings.CutPrefix(p, m.root+"/")
		}
	}
	if !ok {
		return "", false
	}
	return filepath.Join(fsRoot, m.point, rel), true
}

// discover picks a hierarchy for each of controllers: its v1 hierarchy if one
// is mounted where the process's cgroup shows, else v2 if the process's v2
// cgroup offers it, else none. Controllers co-mounted in v1 (cpu,cpuacct; or
// memory with pids) share one hierarchy, as all v2 controllers do.
//
// What v2 offers is the own cgroup's cgroup.controllers, not the root's: a
// controller bound to v2 but not delegated down to the server cannot be
// enabled for its groups, so it is missing.
func discover(fsRoot string, mounts []mount, members []membership) (map[string]*hierarchy, []*hierarchy, error) {
	var v2offers []string
	v2own, v2ok := v2Dir(fsRoot, mounts, members)
	if v2ok {
		data, err := os.ReadFile(filepath.Join(v2own, "cgroup.controllers"))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, err
		}
		v2offers = strings.Fields(string(data))
	}

	use := map[string]*hierarchy{}
	var used []*hierarchy
	add := func(c string, version int, dir string) {
		i := slices.IndexFunc(used, func(h *hierarchy) bool { return h.own == dir })
		if i < 0 {
			i = len(used)
			used = append(used, &hierarchy{version: version, own: dir})
		}
		used[i].uses = append(used[i].uses, c)
		use[c] = used[i]
	}
	for _, c := range controllers {
		if dir, ok := v1Dir(fsRoot, mounts, members, c); ok {
			add(c, 1, dir)
		} else if v2ok && slices.Contains(v2offers, c) {
			add(c, 2, v2own)
		}
	}
	return use, used, nil
}

// v1Dir returns the process's own cgroup on disk in the v1 hierarchy of
// controller c.
func v1Dir(fsRoot string, mounts []mount, members []membership, c string) (string, bool) {
	for _, mb := range members {
		if !slices.Contains(mb.controllers, c) {
			continue
		}
		for _, m := range mounts {
			if m.version != 1 || !slices.Contains(m.options, c) {
				continue
			}
			if dir, ok := ownDir(fsRoot, m, mb.path); ok {
				return dir, true
			}
		}
	}
	return "", false
}

// v2Dir returns the process's own cgroup on disk in the v2 hierarchy.
func v2Dir(fsRoot string, mounts []mount, members []membership) (string, bool) {
	for _, mb := range members {
		if len(mb.controllers) != 0 {
			continue
		}
		for _, m := range mounts {
			if m.version != 2 {
				continue
			}
			if dir, ok := ownDir(fsRoot, m, mb.path); ok {
				return dir, true
			}
		}
	}
	return "", false
}
