package linux

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/sandbox"
	"github.com/bulkhead-dev/bulkhead/internal/sandbox/sandboxtest"
)

// namespaces are the kinds of namespace every sandbox has of its own.
var namespaces = []string{"user", "mnt", "pid", "net", "ipc", "uts", "cgroup"}

// reportConfinement is a behaviour that prints, as key=value lines, what
// the program sees of its own confinement; TestSandboxLinuxConfinement
// judges it.
func reportConfinement(env sandboxtest.Env, _ string) int {
	out := env.Stdout()
	status, _ := os.ReadFile("/proc/self/status")
	for line := range strings.Lines(string(status)) {
		key, value, _ := strings.Cut(strings.TrimSpace(line), ":")
		switch key {
		case "Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp":
			fmt.Fprintf(out, "%s=%s\n", key, strings.Join(strings.Fields(value), " "))
		}
	}
	for _, f := range []string{"uid_map", "gid_map", "cgroup"} {
		b, _ := os.ReadFile("/proc/self/" + f)
		fmt.Fprintf(out, "%s=%s\n", f, strings.Join(strings.Fields(string(b)), " "))
	}
	for _, ns := range namespaces {
		link, err := os.Readlink("/proc/self/ns/" + ns)
		fmt.Fprintf(out, "ns.%s=%s%v\n", ns, link, errOrEmpty(err))
	}
	host, _ := os.Hostname()
	fmt.Fprintf(out, "hostname=%s\npid=%d\n", host, os.Getpid())
	_, err := net.DialTimeout("tcp", "127.0.0.1:9002", time.Second)
	fmt.Fprintf(out, "dial9002=%v\n", err)
	_, err = os.Stat("/sys/kernel")
	fmt.Fprintf(out, "sys=%v\n", err)
	root, _ := os.ReadDir("/")
	var names []string
	for _, e := range root {
		names = append(names, e.Name())
	}
	fmt.Fprintf(out, "root=%s\n", strings.Join(names, " "))
	err = os.WriteFile("/var/task/new", nil, 0o644)
	fmt.Fprintf(out, "writecode=%v\n", err)
	return 0
}

func errOrEmpty(err error) string {
	if err != nil {
		return " " + err.Error()
	}
	return ""
}

// TestSandboxLinuxConfinement runs a program that reports what it sees of
// its confinement, and checks each property the sandbox promises
// (docs/adr/0004-linux-sandbox.md): its own namespaces of every kind, root
// mapped to an unprivileged host id and the program running as another,
// no capabilities in any set, no_new_privs, a seccomp filter, Landlock's
// port rule, its own cgroup namespace, and a root of the sandbox's own.
func TestSandboxLinuxConfinement(t *testing.T) {
	t.Parallel()
	d := newDriver(t)
	code := t.TempDir()
	os.Chmod(code, 0o755)
	sandboxtest.Install(t, code)
	command, env := sandboxtest.Program("confinement", "")
	var stdout, stderr bytes.Buffer
	sb, err := d.Start(t.Context(), sandbox.Spec{ID: "confinement", Code: code, Command: command, Env: env, Stdout: &stdout, Stderr: &stderr})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Destroy()
	select {
	case <-sb.Done():
	case <-time.After(patience):
		t.Fatal("the program did not finish")
	}
	if err := sb.Err(); err != nil {
		t.Fatalf("the program: %v\n%s", err, stderr.String())
	}
	seen := map[string]string{}
	for sc := bufio.NewScanner(&stdout); sc.Scan(); {
		k, v, _ := strings.Cut(sc.Text(), "=")
		seen[k] = v
	}
	want := map[string]string{
		"Uid":        "1000 1000 1000 1000",
		"Gid":        "1000 1000 1000 1000",
		"Groups":     "",
		"CapInh":     "0000000000000000",
		"CapPrm":     "0000000000000000",
		"CapEff":     "0000000000000000",
		"CapBnd":     "0000000000000000",
		"CapAmb":     "0000000000000000",
		"NoNewPrivs": "1",
		"Seccomp":    "2",
		"uid_map":    fmt.Sprintf("0 %d 1 1000 %d 1", hostRootID, hostUserID),
		"gid_map":    fmt.Sprintf("0 %d 1 1000 %d 1", hostRootID, hostUserID),
		"cgroup":     "", // checked below: every line ends in "/"
		"hostname":   "sandbox",
		"pid":        "1",
		"sys":        "stat /sys/kernel: no such file or directory",
		"root":       "bin dev etc lib lib64 proc sbin tmp usr var",
		"writecode":  "open /var/task/new: read-only file system",
	}
	if landlockABI() >= 4 {
		want["dial9002"] = "dial tcp 127.0.0.1:9002: connect: permission denied"
	}
	for k, v := range want {
		got, ok := seen[k]
		switch {
		case !ok:
			t.Errorf("the program did not report %s", k)
		case k == "cgroup":
			for _, line := range strings.Fields(got) {
				if !strings.HasSuffix(line, ":/") {
					t.Errorf("/proc/self/cgroup shows %q, want every group at /", got)
					break
				}
			}
		case k == "root":
			// Some hosts lack lib64 or have lib32; what must not be there is
			// anything else of the host's.
			for _, name := range strings.Fields(got) {
				if !strings.Contains(" "+v+" lib32 ", " "+name+" ") {
					t.Errorf("the sandbox's root has %s: %s", name, got)
				}
			}
		case got != v:
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	for _, ns := range namespaces {
		host, err := os.Readlink("/proc/self/ns/" + ns)
		if err != nil {
			t.Fatal(err)
		}
		if got := seen["ns."+ns]; got == "" || got == host || strings.Contains(got, " ") {
			t.Errorf("the program's %s namespace is %q, the test's %q: want one of its own", ns, got, host)
		}
	}
}
