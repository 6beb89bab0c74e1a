package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// serverCgroupBase is the directory under which the Linux sandbox of the
// server with data directory dataDir makes its environments' cgroups in the
// v1 hierarchy of controller: <the test's own cgroup>/bulkhead-<sha256(dataDir)[:6]>
// (the server is this process's child, so its own cgroup is ours).
func serverCgroupBase(t testing.TB, dataDir, controller string) string {
	t.Helper()
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	own := ""
	for line := range strings.Lines(string(self)) {
		parts := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(parts) == 3 && (parts[1] == controller || strings.Contains(","+parts[1]+",", ","+controller+",")) {
			own = parts[2]
		}
	}
	sum := sha256.Sum256([]byte(dataDir))
	return filepath.Join("/sys/fs/cgroup", controller, own, "bulkhead-"+hex.EncodeToString(sum[:6]))
}

// serverEnvCgroups lists the environment cgroups of that server in controller's
// hierarchy.
func serverEnvCgroups(t testing.TB, dataDir, controller string) []string {
	t.Helper()
	base := serverCgroupBase(t, dataDir, controller)
	entries, err := os.ReadDir(base)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatalf("the server's %s cgroups: %v", controller, err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, filepath.Join(base, e.Name()))
		}
	}
	return dirs
}

// TestSandboxServerCrashLeavesNothing kills the server with SIGKILL while its
// environments are warm: every process of every environment must die with
// it, and the next start on the same data directory removes the cgroups the
// crash left. A clean stop removes everything itself.
func TestSandboxServerCrashLeavesNothing(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("skipping: the Linux sandbox needs root (CI runs as root)")
	}
	dir := t.TempDir()
	s := startServer(t, dir)
	c := s.client()
	// A runtime that outlives its Runtime API: only the sandbox's own
	// parent-death signal can end it.
	createGo(t, c, "crash", "stubborn", true, 10)
	for _, tenant := range []string{"blue", "red"} {
		if _, err := c.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("crash"), TenantId: aws.String(tenant)}); err != nil {
			t.Fatal(err)
		}
	}
	groups := serverEnvCgroups(t, dir, "pids")
	if len(groups) < 2 { // two tenants, and perhaps a blank
		t.Fatalf("found %d environment cgroups, want at least 2: %v", len(groups), groups)
	}
	s.kill9()

	// Parent-death signals kill each environment's process, and its pid
	// namespace takes the rest.
	deadline := time.Now().Add(10 * time.Second)
	for _, g := range groups {
		for {
			procs, err := os.ReadFile(filepath.Join(g, "cgroup.procs"))
			if err != nil {
				t.Fatal(err)
			}
			if len(strings.TrimSpace(string(procs))) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("10 s after the server died, %s still holds processes %q", g, procs)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	s2 := startServer(t, dir)
	for _, ctrl := range []string{"memory", "cpu", "pids"} {
		if left := serverEnvCgroups(t, dir, ctrl); len(left) != 0 {
			t.Errorf("after restart, the crashed run's %s cgroups are still there: %v", ctrl, left)
		}
	}
	// Environments start again.
	if _, err := s2.client().Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("crash"), TenantId: aws.String("blue")}); err != nil {
		t.Fatal(err)
	}
	if err := s2.stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	for _, ctrl := range []string{"memory", "cpu", "pids"} {
		if _, err := os.Stat(serverCgroupBase(t, dir, ctrl)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("after a clean stop, the server's %s cgroup directory: %v, want it removed", ctrl, err)
		}
	}
}
