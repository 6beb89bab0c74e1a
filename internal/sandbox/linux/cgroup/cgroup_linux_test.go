package cgroup

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/sys/unix"
)

// fakeKernel plays cgroupfs over a temp dir. Mkdir gives a new group its
// parent's control files, empty; Rmdir drops them and refuses (EBUSY) while
// cgroup.procs lists a process; writes to cgroup.procs and
// cgroup.subtree_control add to what is there, and enabling a controller for
// the children of a non-root cgroup with processes is refused (EBUSY);
// writing 1 to cgroup.kill empties cgroup.procs.
type fakeKernel struct {
	roots map[string]bool // the root cgroups: the mount points
	// failOn names a control file whose writes fail with EINVAL.
	failOn string

	mu sync.Mutex // serialises writes, as read-modify-write
}

var _ cgroupFS = (*fakeKernel)(nil)

func (k *fakeKernel) Mkdir(dir string) error {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(filepath.Dir(dir))
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			if err := os.WriteFile(filepath.Join(dir, e.Name()), nil, 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

func (k *fakeKernel) Rmdir(dir string) error {
	procs, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if len(strings.TrimSpace(string(procs))) > 0 {
		return &fs.PathError{Op: "rmdir", Path: dir, Err: unix.EBUSY}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return &fs.PathError{Op: "rmdir", Path: dir, Err: unix.ENOENT}
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return kernelFS{}.Rmdir(dir)
}

func (k *fakeKernel) WriteFile(file, value string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, err := os.Stat(file); err != nil {
		return err
	}
	dir, base := filepath.Split(file)
	dir = filepath.Clean(dir)
	if base == k.failOn {
		return &fs.PathError{Op: "write", Path: file, Err: unix.EINVAL}
	}
	old, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	switch base {
	case "cgroup.procs":
		value = string(old) + value + "\n"
	case "cgroup.kill":
		if value == "1" {
			if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), nil, 0o644); err != nil {
				return err
			}
		}
	case "cgroup.subtree_control":
		on := strings.Fields(string(old))
		for _, f := range strings.Fields(value) {
			c, ok := strings.CutPrefix(f, "+")
			if !ok {
				return &fs.PathError{Op: "write", Path: file, Err: unix.EINVAL}
			}
			if slices.Contains(on, c) {
				continue
			}
			procs, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
			if err != nil {
				return err
			}
			if len(strings.TrimSpace(string(procs))) > 0 && !k.roots[dir] {
				return &fs.PathError{Op: "write", Path: file, Err: unix.EBUSY}
			}
			on = append(on, c)
		}
		slices.Sort(on)
		value = strings.Join(on, " ")
	}
	return os.WriteFile(file, []byte(value), 0o644)
}

// layout is a fake host: the files under /sys/fs/cgroup (relative paths to
// contents; a trailing / makes an empty directory) and what the process
// reads from /proc/self.
type layout struct {
	files      map[string]string
	mountinfo  string
	selfCgroup string
	roots      []string // mount points
}

var (
	v1Memory = map[string]string{
		"cgroup.procs": "", "memory.limit_in_bytes": "", "memory.memsw.limit_in_bytes": "",
		"memory.swappiness": "", "memory.max_usage_in_bytes": "", "memory.oom_control": "",
	}
	v1CPU  = map[string]string{"cgroup.procs": "", "cpu.cfs_period_us": "", "cpu.cfs_quota_us": "", "cpuacct.usage": ""}
	v1Pids = map[string]string{"cgroup.procs": "", "pids.max": ""}
	v2All  = map[string]string{
		"cgroup.procs": "", "cgroup.kill": "", "cgroup.subtree_control": "", "cgroup.controllers": "cpu memory pids",
		"memory.max": "", "memory.swap.max": "", "memory.peak": "", "memory.events": "", "cpu.max": "", "pids.max": "",
	}
)

// in puts files into dir of a layout's files.
func in(files map[string]string, dir string, contents map[string]string) {
	for name, data := range contents {
		files[filepath.Join(dir, name)] = data
	}
}

// hybrid is this machine's kind of host: v1 memory, cpu,cpuacct and pids,
// the server's memory cgroup not the root; cgroup2 at unified with hugetlb only.
func hybrid() layout {
	files := map[string]string{}
	in(files, "sys/fs/cgroup/memory", v1Memory)
	in(files, "sys/fs/cgroup/memory/process_api/abc", v1Memory)
	in(files, "sys/fs/cgroup/cpu,cpuacct", v1CPU)
	in(files, "sys/fs/cgroup/pids", v1Pids)
	in(files, "sys/fs/cgroup/systemd", map[string]string{"cgroup.procs": ""})
	in(files, "sys/fs/cgroup/unified", map[string]string{
		"cgroup.procs": "1\n", "cgroup.controllers": "hugetlb", "cgroup.subtree_control": "",
	})
	return layout{
		files: files,
		mountinfo: `22 1 0:20 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,cpu,cpuacct
34 30 0:31 / /sys/fs/cgroup/memory rw,relatime shared:16 - cgroup cgroup rw,memory
38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
`,
		selfCgroup: "12:pids:/\n9:name=systemd:/\n4:memory:/process_api/abc\n3:cpu,cpuacct:/\n0::/\n",
		roots: []string{"sys/fs/cgroup/memory", "sys/fs/cgroup/cpu,cpuacct", "sys/fs/cgroup/pids",
			"sys/fs/cgroup/systemd", "sys/fs/cgroup/unified"},
	}
}

// pureV2 is a systemd host with everything on cgroup2 and the server in a
// delegated service cgroup, itself in a leaf (so the service's cgroup has no
// processes).
func pureV2() layout {
	files := map[string]string{}
	in(files, "sys/fs/cgroup", v2All)
	files["sys/fs/cgroup/cgroup.controllers"] = "cpuset cpu io memory hugetlb pids rdma misc"
	files["sys/fs/cgroup/cgroup.procs"] = "1\n"
	in(files, "sys/fs/cgroup/system.slice/bulkhead.service", v2All)
	return layout{
		files:      files,
		mountinfo:  "25 1 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n",
		selfCgroup: "0::/system.slice/bulkhead.service\n",
		roots:      []string{"sys/fs/cgroup"},
	}
}

// build lays l out in a temp dir; it returns the dir and a fake kernel for it.
func build(t *testing.T, l layout) (string, *fakeKernel) {
	t.Helper()
	root := t.TempDir()
	k := &fakeKernel{roots: map[string]bool{}}
	for _, r := range l.roots {
		k.roots[filepath.Join(root, r)] = true
	}
	for name, data := range l.files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root, k
}

// open builds l and opens a Manager named "bh" over it; it returns the
// Manager, the temp dir and the kernel.
func open(t *testing.T, l layout) (*Manager, string, *fakeKernel) {
	t.Helper()
	root, k := build(t, l)
	m, err := openAt(root, []byte(l.selfCgroup), []byte(l.mountinfo), "bh", k)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return m, root, k
}

// checkFiles checks the contents of files under root.
func checkFiles(t *testing.T, root string, want map[string]string) {
	t.Helper()
	for name, w := range want {
		got, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
		} else if string(got) != w {
			t.Errorf("%s = %q, want %q", name, got, w)
		}
	}
}

// checkGone checks that none of paths exists.
func checkGone(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: stat error %v, want it gone", p, err)
		}
	}
}

func rel(t *testing.T, root string, paths []string) []string {
	t.Helper()
	var out []string
	for _, p := range paths {
		r, err := filepath.Rel(root, p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

var limits = Limits{MemoryBytes: 64 << 20, CPUMilli: 500, Pids: 32}

func TestSandboxCgroupHybrid(t *testing.T) {
	m, root, _ := open(t, hybrid())
	if got, want := m.Describe(), "memory:v1 cpu:v1 pids:v1"; got != want {
		t.Errorf("Describe = %q, want %q", got, want)
	}
	if got := m.Missing(); len(got) != 0 {
		t.Errorf("Missing = %v, want none", got)
	}
	wantPaths := []string{
		"sys/fs/cgroup/memory/process_api/abc/bh/e1",
		"sys/fs/cgroup/cpu,cpuacct/bh/e1",
		"sys/fs/cgroup/pids/bh/e1",
	}
	if got := rel(t, root, m.Paths("e1")); !reflect.DeepEqual(got, wantPaths) {
		t.Errorf("Paths = %q, want %q", got, wantPaths)
	}

	g, err := m.Create("e1", limits)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	checkFiles(t, root, map[string]string{
		"sys/fs/cgroup/memory/process_api/abc/bh/e1/memory.limit_in_bytes":       "67108864",
		"sys/fs/cgroup/memory/process_api/abc/bh/e1/memory.memsw.limit_in_bytes": "67108864",
		"sys/fs/cgroup/memory/process_api/abc/bh/e1/memory.swappiness":           "",
		"sys/fs/cgroup/cpu,cpuacct/bh/e1/cpu.cfs_period_us":                      "100000",
		"sys/fs/cgroup/cpu,cpuacct/bh/e1/cpu.cfs_quota_us":                       "50000",
		"sys/fs/cgroup/pids/bh/e1/pids.max":                                      "32",
		"sys/fs/cgroup/unified/cgroup.subtree_control":                           "",
	})
	checkGone(t, filepath.Join(root, "sys/fs/cgroup/unified/bh"), filepath.Join(root, "sys/fs/cgroup/systemd/bh"))

	// Stats read v1's counters.
	dir := filepath.Join(root, "sys/fs/cgroup/memory/process_api/abc/bh/e1")
	if err := os.WriteFile(filepath.Join(dir, "memory.max_usage_in_bytes"), []byte("4096\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "memory.oom_control"), []byte("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, want := g.Stats(), (Stats{MemoryPeakBytes: 4096, OOMKills: 2}); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}

	if err := g.Kill(); err != nil {
		t.Errorf("Kill of an empty group: %v", err)
	}
	if err := g.Remove(); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	checkGone(t, m.Paths("e1")...)
	if err := g.Remove(); err != nil {
		t.Errorf("second Remove: %v, want none", err)
	}
}

func TestSandboxCgroupHybridNoSwapAccounting(t *testing.T) {
	l := hybrid()
	delete(l.files, "sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
	delete(l.files, "sys/fs/cgroup/memory/process_api/abc/memory.memsw.limit_in_bytes")
	m, root, _ := open(t, l)
	if _, err := m.Create("e1", Limits{MemoryBytes: 1 << 30}); err != nil {
		t.Fatalf("Create: %v", err)
	}
	checkFiles(t, root, map[string]string{
		"sys/fs/cgroup/memory/process_api/abc/bh/e1/memory.limit_in_bytes": "1073741824",
		"sys/fs/cgroup/memory/process_api/abc/bh/e1/memory.swappiness":     "0",
	})
}

func TestSandboxCgroupZeroLimitsWriteNothing(t *testing.T) {
	for name, l := range map[string]layout{"hybrid": hybrid(), "v2": pureV2()} {
		t.Run(name, func(t *testing.T) {
			m, _, _ := open(t, l)
			if _, err := m.Create("e1", Limits{}); err != nil {
				t.Fatalf("Create: %v", err)
			}
			for _, dir := range m.Paths("e1") {
				entries, err := os.ReadDir(dir)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range entries {
					if data, _ := os.ReadFile(filepath.Join(dir, e.Name())); len(data) != 0 {
						t.Errorf("%s/%s = %q, want nothing written", dir, e.Name(), data)
					}
				}
			}
		})
	}
}

func TestSandboxCgroupV2(t *testing.T) {
	m, root, _ := open(t, pureV2())
	if got, want := m.Describe(), "memory:v2 cpu:v2 pids:v2"; got != want {
		t.Errorf("Describe = %q, want %q", got, want)
	}
	own := "sys/fs/cgroup/system.slice/bulkhead.service"
	if got, want := rel(t, root, m.Paths("e1")), []string{own + "/bh/e1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Paths = %q, want %q", got, want)
	}
	checkFiles(t, root, map[string]string{
		own + "/cgroup.subtree_control":        "cpu memory pids",
		own + "/bh/cgroup.subtree_control":     "cpu memory pids",
		"sys/fs/cgroup/cgroup.subtree_control": "",
	})

	g, err := m.Create("e1", limits)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	checkFiles(t, root, map[string]string{
		own + "/bh/e1/memory.max":      "67108864",
		own + "/bh/e1/memory.swap.max": "0",
		own + "/bh/e1/cpu.max":         "50000 100000",
		own + "/bh/e1/pids.max":        "32",
	})

	// A pid no process can have: were cgroup.kill not used, the signal
	// would reach nothing.
	const pid = 1 << 30
	if err := g.Attach(pid); err != nil {
		t.Fatalf("Attach: %v", err)
	}
	if got, err := g.Procs(); err != nil || !reflect.DeepEqual(got, []int{pid}) {
		t.Errorf("Procs = %v, %v; want [%d]", got, err, pid)
	}
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		if err := g.Remove(); !errors.Is(err, unix.EBUSY) {
			t.Errorf("Remove with a process = %v, want EBUSY", err)
		}
		if waited := time.Since(start); waited < removeTimeout {
			t.Errorf("Remove gave up after %v, want retries for %v", waited, removeTimeout)
		}
	})
	if err := g.Kill(); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	checkFiles(t, root, map[string]string{own + "/bh/e1/cgroup.kill": "1", own + "/bh/e1/cgroup.procs": ""})

	dir := filepath.Join(root, own, "bh/e1")
	if err := os.WriteFile(filepath.Join(dir, "memory.peak"), []byte("123\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "memory.events"), []byte("low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\noom_group_kill 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, want := g.Stats(), (Stats{MemoryPeakBytes: 123, OOMKills: 1}); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
	if err := g.Remove(); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	checkGone(t, dir)
}

func TestSandboxCgroupV2OwnCgroupWithProcesses(t *testing.T) {
	own := "sys/fs/cgroup/system.slice/bulkhead.service"

	t.Run("refused with advice", func(t *testing.T) {
		l := pureV2()
		l.files[own+"/cgroup.procs"] = "4242\n"
		root, k := build(t, l)
		_, err := openAt(root, []byte(l.selfCgroup), []byte(l.mountinfo), "bh", k)
		if !errors.Is(err, unix.EBUSY) || !strings.Contains(err.Error(), "Delegate=yes") || !strings.Contains(err.Error(), filepath.Join(root, own)) {
			t.Errorf("Open = %v, want EBUSY naming the cgroup and advising delegation", err)
		}
	})
	t.Run("already enabled", func(t *testing.T) {
		l := pureV2()
		l.files[own+"/cgroup.procs"] = "4242\n"
		l.files[own+"/cgroup.subtree_control"] = "cpu memory pids"
		if m, _, _ := open(t, l); m.Describe() != "memory:v2 cpu:v2 pids:v2" {
			t.Errorf("Describe = %q", m.Describe())
		}
	})
	t.Run("the root may have processes", func(t *testing.T) {
		l := pureV2()
		l.selfCgroup = "0::/\n"
		m, root, _ := open(t, l)
		checkFiles(t, root, map[string]string{"sys/fs/cgroup/cgroup.subtree_control": "cpu memory pids"})
		if got, want := rel(t, root, m.Paths("e1")), []string{"sys/fs/cgroup/bh/e1"}; !reflect.DeepEqual(got, want) {
			t.Errorf("Paths = %q, want %q", got, want)
		}
	})
}

func TestSandboxCgroupMissing(t *testing.T) {
	t.Run("nowhere", func(t *testing.T) {
		l := hybrid()
		l.mountinfo = strings.ReplaceAll(l.mountinfo, "38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n", "")
		m, root, _ := open(t, l)
		if got, want := m.Missing(), []string{"pids"}; !reflect.DeepEqual(got, want) {
			t.Errorf("Missing = %q, want %q", got, want)
		}
		if got, want := m.Describe(), "memory:v1 cpu:v1 pids:none"; got != want {
			t.Errorf("Describe = %q, want %q", got, want)
		}
		if _, err := m.Create("e1", limits); err != nil {
			t.Fatalf("Create without pids: %v", err)
		}
		if got := len(m.Paths("e1")); got != 2 {
			t.Errorf("%d paths, want 2", got)
		}
		checkFiles(t, root, map[string]string{"sys/fs/cgroup/unified/cgroup.subtree_control": ""})
	})
	t.Run("from v2", func(t *testing.T) {
		l := hybrid()
		l.mountinfo = strings.ReplaceAll(l.mountinfo, "38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n", "")
		in(l.files, "sys/fs/cgroup/unified", map[string]string{"cgroup.controllers": "hugetlb pids", "pids.max": ""})
		m, root, _ := open(t, l)
		if got, want := m.Describe(), "memory:v1 cpu:v1 pids:v2"; got != want {
			t.Errorf("Describe = %q, want %q", got, want)
		}
		if _, err := m.Create("e1", limits); err != nil {
			t.Fatalf("Create: %v", err)
		}
		checkFiles(t, root, map[string]string{
			"sys/fs/cgroup/unified/cgroup.subtree_control":    "pids",
			"sys/fs/cgroup/unified/bh/cgroup.subtree_control": "pids",
			"sys/fs/cgroup/unified/bh/e1/pids.max":            "32",
		})
		checkGone(t, filepath.Join(root, "sys/fs/cgroup/pids/bh")) // not mounted
	})
	t.Run("v2 not delegated", func(t *testing.T) {
		l := pureV2()
		l.files["sys/fs/cgroup/system.slice/bulkhead.service/cgroup.controllers"] = "cpu pids"
		m, root, _ := open(t, l)
		if got, want := m.Describe(), "memory:none cpu:v2 pids:v2"; got != want {
			t.Errorf("Describe = %q, want %q", got, want)
		}
		checkFiles(t, root, map[string]string{"sys/fs/cgroup/system.slice/bulkhead.service/cgroup.subtree_control": "cpu pids"})
	})
	t.Run("no cgroups at all", func(t *testing.T) {
		m, err := openAt(t.TempDir(), []byte("0::/\n"), []byte("22 1 0:20 / /sys rw - sysfs sysfs rw\n"), "bh", &fakeKernel{})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := m.Missing(), controllers; !reflect.DeepEqual(got, want) {
			t.Errorf("Missing = %q, want %q", got, want)
		}
	})
}

func TestSandboxCgroupMountRootNotSlash(t *testing.T) {
	// A container without a cgroup namespace: its own cgroups are
	// bind-mounted at the usual places, /proc/self/cgroup shows host paths.
	files := map[string]string{}
	in(files, "sys/fs/cgroup/memory", v1Memory)
	in(files, "sys/fs/cgroup/memory/inner", v1Memory)
	in(files, "sys/fs/cgroup/cpu,cpuacct", v1CPU)
	in(files, "sys/fs/cgroup/pids", v1Pids)
	l := layout{
		files: files,
		mountinfo: `900 800 0:40 /other /mnt/elsewhere rw - cgroup cgroup rw,memory
901 800 0:40 /docker/abc /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory
902 800 0:41 /docker/abc /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct
903 800 0:42 /docker/abc /sys/fs/cgroup/pids rw,nosuid - cgroup cgroup rw,pids
`,
		selfCgroup: "6:pids:/docker/abc\n4:memory:/docker/abc/inner\n3:cpu,cpuacct:/docker/abc\n0::/\n",
		roots:      []string{"sys/fs/cgroup/memory"},
	}
	m, root, _ := open(t, l)
	want := []string{"sys/fs/cgroup/memory/inner/bh/e1", "sys/fs/cgroup/cpu,cpuacct/bh/e1", "sys/fs/cgroup/pids/bh/e1"}
	if got := rel(t, root, m.Paths("e1")); !reflect.DeepEqual(got, want) {
		t.Errorf("Paths = %q, want %q", got, want)
	}
	if _, err := m.Create("e1", limits); err != nil {
		t.Fatalf("Create: %v", err)
	}
	checkFiles(t, root, map[string]string{"sys/fs/cgroup/memory/inner/bh/e1/memory.limit_in_bytes": "67108864"})
}

func TestSandboxCgroupCreateExisting(t *testing.T) {
	m, _, k := open(t, hybrid())
	if _, err := m.Create("e1", limits); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if _, err := m.Create("e1", limits); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second Create = %v, want fs.ErrExist", err)
	}
	for _, p := range m.Paths("e1") {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("the first group's %s: %v", p, err)
		}
	}

	// e2 exists in the last hierarchy only: Create makes it in the first
	// ones, then must take those back and leave the existing one alone.
	paths := m.Paths("e2")
	if err := k.Mkdir(paths[2]); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create("e2", limits); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Create = %v, want fs.ErrExist", err)
	}
	checkGone(t, paths[0], paths[1])
	if _, err := os.Stat(paths[2]); err != nil {
		t.Errorf("the existing %s: %v", paths[2], err)
	}
}

func TestSandboxCgroupCreateFailureCleansUp(t *testing.T) {
	for _, file := range []string{"memory.limit_in_bytes", "cpu.cfs_quota_us", "pids.max"} {
		t.Run(file, func(t *testing.T) {
			m, _, k := open(t, hybrid())
			k.failOn = file
			if _, err := m.Create("e1", limits); !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), file) {
				t.Errorf("Create = %v, want EINVAL naming %s", err, file)
			}
			checkGone(t, m.Paths("e1")...)
		})
	}
}

func TestSandboxCgroupRefuses(t *testing.T) {
	m, _, _ := open(t, hybrid())
	for _, id := range []string{"", "E1", "e_1", "../e1", "e/1", strings.Repeat("a", 65)} {
		if _, err := m.Create(id, Limits{}); err == nil {
			t.Errorf("Create(%q) succeeded, want an error", id)
		}
	}
	if _, err := m.Create(strings.Repeat("a", 64), Limits{}); err != nil {
		t.Errorf("Create of a 64-character id: %v", err)
	}
	for _, l := range []Limits{{MemoryBytes: -1}, {CPUMilli: -1}, {CPUMilli: 9}, {Pids: -1}} {
		if _, err := m.Create("e1", l); err == nil {
			t.Errorf("Create with %+v succeeded, want an error", l)
		}
	}
	checkGone(t, m.Paths("e1")...)

	l := hybrid()
	for _, name := range []string{"", ".", "..", "a/b"} {
		if _, err := openAt(t.TempDir(), []byte(l.selfCgroup), []byte(l.mountinfo), name, &fakeKernel{}); err == nil {
			t.Errorf("Open(%q) succeeded, want an error", name)
		}
	}
}

func TestSandboxCgroupSweep(t *testing.T) {
	l := hybrid()
	root, k := build(t, l)
	m, err := openAt(root, []byte(l.selfCgroup), []byte(l.mountinfo), "bh", k)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b"} {
		if _, err := m.Create(id, limits); err != nil {
			t.Fatal(err)
		}
	}
	// A group a crash left half made: in the pids hierarchy only.
	stray := m.Paths("c")[2]
	if err := k.Mkdir(stray); err != nil {
		t.Fatal(err)
	}

	// The next run of the server.
	m2, err := openAt(root, []byte(l.selfCgroup), []byte(l.mountinfo), "bh", k)
	if err != nil {
		t.Fatalf("reopening: %v", err)
	}
	n, err := m2.Sweep()
	if err != nil || n != 3 {
		t.Errorf("Sweep = %d, %v; want 3, nil", n, err)
	}
	for _, id := range []string{"a", "b", "c"} {
		checkGone(t, m.Paths(id)...)
	}
	for _, p := range m.Paths("a") {
		if _, err := os.Stat(filepath.Dir(p)); err != nil {
			t.Errorf("Sweep removed the Manager's own directory: %v", err)
		}
	}
	if n, err := m2.Sweep(); err != nil || n != 0 {
		t.Errorf("second Sweep = %d, %v; want 0, nil", n, err)
	}
	if err := m2.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, p := range m.Paths("a") {
		checkGone(t, filepath.Dir(p))
	}
}

func TestSandboxCgroupCloseRefusesWithGroupsLeft(t *testing.T) {
	l := hybrid()
	root, k := build(t, l)
	m, err := openAt(root, []byte(l.selfCgroup), []byte(l.mountinfo), "bh", k)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create("a", limits); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err == nil {
		t.Fatal("Close with a group left succeeded")
	}
	for _, p := range m.Paths("a") {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("Close removed a live group: %v", err)
		}
	}
}

func TestSandboxCgroupKillGivesUp(t *testing.T) {
	m, _, _ := open(t, hybrid())
	g, err := m.Create("e1", limits)
	if err != nil {
		t.Fatal(err)
	}
	// A v1 group listing a pid no process can have (above any pid_max), so
	// it never leaves.
	const pid = 1 << 30
	if err := g.Attach(pid); err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		err := g.Kill()
		if err == nil || !strings.Contains(err.Error(), "still alive") {
			t.Errorf("Kill = %v, want an error naming the survivors", err)
		}
		if waited := time.Since(start); waited < killTimeout {
			t.Errorf("Kill gave up after %v, want %v", waited, killTimeout)
		}
	})
}

func TestSandboxCgroupSetCPU(t *testing.T) {
	for _, tt := range []struct {
		name   string
		layout func() layout
		file   string
		values map[int]string // milli → what the file holds after SetCPU
	}{
		{"v1", hybrid, "sys/fs/cgroup/cpu,cpuacct/bh/e1/cpu.cfs_quota_us", map[int]string{72: "7200", 2000: "200000", 0: "-1"}},
		{"v2", pureV2, "sys/fs/cgroup/system.slice/bulkhead.service/bh/e1/cpu.max", map[int]string{72: "7200 100000", 2000: "200000 100000", 0: "max 100000"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, root, _ := open(t, tt.layout())
			g, err := m.Create("e1", limits)
			if err != nil {
				t.Fatal(err)
			}
			for _, milli := range []int{72, 2000, 0} {
				if err := g.SetCPU(milli); err != nil {
					t.Fatalf("SetCPU(%d): %v", milli, err)
				}
				checkFiles(t, root, map[string]string{tt.file: tt.values[milli]})
			}
			if err := g.SetCPU(5); err == nil {
				t.Error("SetCPU(5) succeeded; the kernel's smallest quota is 1 ms per 100 ms")
			}
		})
	}
}
