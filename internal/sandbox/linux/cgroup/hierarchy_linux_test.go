package cgroup

import (
	"reflect"
	"testing"
)

func TestSandboxCgroupParseMountinfo(t *testing.T) {
	data := []byte(`22 1 0:20 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
30 22 0:27 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,cpu,cpuacct
35 25 0:30 /docker/abc /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:15 master:3 - cgroup cgroup rw,memory
39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
40 30 0:37 / /mnt/with\040space rw,relatime - cgroup2 cgroup2 rw,nsdelegate
`)
	got, err := parseMountinfo(data)
	if err != nil {
		t.Fatal(err)
	}
	want := []mount{
		{version: 1, root: "/", point: "/sys/fs/cgroup/cpu,cpuacct", options: []string{"rw", "cpu", "cpuacct"}},
		{version: 1, root: "/docker/abc", point: "/sys/fs/cgroup/memory", options: []string{"rw", "memory"}},
		{version: 1, root: "/", point: "/sys/fs/cgroup/systemd", options: []string{"rw", "xattr", "name=systemd"}},
		{version: 2, root: "/", point: "/mnt/with space", options: []string{"rw", "nsdelegate"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseMountinfo:\n got %+v\nwant %+v", got, want)
	}

	for _, bad := range []string{"31 30 0:28 / /x rw - cgroup", "31 30 0:28 / /x rw cgroup cgroup rw"} {
		if _, err := parseMountinfo([]byte(bad)); err == nil {
			t.Errorf("parseMountinfo(%q) succeeded, want an error", bad)
		}
	}
}

func TestSandboxCgroupUnescapeMountinfo(t *testing.T) {
	for in, want := range map[string]string{
		`/plain`:         "/plain",
		`/a\040b`:        "/a b",
		`/tab\011nl\012`: "/tab\tnl\n",
		`/back\134slash`: `/back\slash`,
		`/short\04`:      `/short\04`,
		`/notoctal\999`:  `/notoctal\999`,
	} {
		if got := unescapeMountinfo(in); got != want {
			t.Errorf("unescapeMountinfo(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSandboxCgroupParseSelfCgroup(t *testing.T) {
	got, err := parseSelfCgroup([]byte("9:name=systemd:/\n4:memory:/process_api/38e7\n1:cpu,cpuacct:/\n0::/a:b\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []membership{
		{controllers: []string{"name=systemd"}, path: "/"},
		{controllers: []string{"memory"}, path: "/process_api/38e7"},
		{controllers: []string{"cpu", "cpuacct"}, path: "/"},
		{path: "/a:b"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseSelfCgroup:\n got %+v\nwant %+v", got, want)
	}
	for _, bad := range []string{"4:memory", "4:memory:relative"} {
		if _, err := parseSelfCgroup([]byte(bad)); err == nil {
			t.Errorf("parseSelfCgroup(%q) succeeded, want an error", bad)
		}
	}
}

func TestSandboxCgroupOwnDir(t *testing.T) {
	tests := []struct {
		name, root, path string
		want             string // "" for not shown by the mount
	}{
		{"root mount", "/", "/a/b", "/fs/m/a/b"},
		{"root mount, root cgroup", "/", "/", "/fs/m"},
		{"container: own cgroup mounted", "/docker/abc", "/docker/abc", "/fs/m"},
		{"container: below own cgroup", "/docker/abc", "/docker/abc/inner", "/fs/m/inner"},
		{"another part of the hierarchy", "/docker/abc", "/docker/other", ""},
		{"prefix of a name is not a parent", "/docker/abc", "/docker/abcd", ""},
		{"outside the cgroup namespace", "/", "/../../x", ""},
		{"unclean", "/", "/a//b", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ownDir("/fs", mount{root: tt.root, point: "/m"}, tt.path)
			if got != tt.want || ok != (tt.want != "") {
				t.Errorf("ownDir(root %q, path %q) = %q, %v; want %q", tt.root, tt.path, got, ok, tt.want)
			}
		})
	}
}
