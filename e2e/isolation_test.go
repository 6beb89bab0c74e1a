package e2e

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// health returns the server's /healthz document.
func (s *server) health() map[string]string {
	s.t.Helper()
	resp, err := http.Get("http://" + s.api + "/healthz")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var h map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		s.t.Fatal(err)
	}
	return h
}

// TestIsolationVisible checks that the isolation in force is in /healthz and
// in the environments' log records, and that --isolation=process says
// loudly what it gives up.
func TestIsolationVisible(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("skipping: the Linux sandbox needs root (CI runs as root)")
	}
	for _, tt := range []struct {
		isolation string
		sandbox   string // a part of /healthz's description
		warning   bool
	}{
		{"linux", "seccomp", false},
		{"process", "none", true},
	} {
		t.Run(tt.isolation, func(t *testing.T) {
			t.Parallel()
			s := startServerArgs(t, t.TempDir(), "--isolation", tt.isolation)
			h := s.health()
			if h["isolation"] != tt.isolation || !strings.Contains(h["sandbox"], tt.sandbox) {
				t.Errorf("/healthz = %v, want isolation %q and a sandbox description mentioning %q", h, tt.isolation, tt.sandbox)
			}
			if got := strings.Contains(s.output.String(), "WARNING: --isolation=process"); got != tt.warning {
				t.Errorf("warning printed = %v, want %v", got, tt.warning)
			}
			c := s.client()
			createGo(t, c, "iso", "counter", true, 10)
			invokeCounter(t, c, "iso", "blue")
			if !s.waitOutput(10*time.Second, `msg="environment started"`, "isolation="+tt.isolation) {
				t.Errorf("no log record of the environment with isolation=%s", tt.isolation)
			}
		})
	}
}

// TestIsolationRefusedWhereImpossible runs the server as an unprivileged
// user, where the Linux sandbox cannot be built: serve must refuse, naming
// the flag that runs functions without isolation, rather than weaken it
// silently.
func TestIsolationRefusedWhereImpossible(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root to start the server as another user")
	}
	// Not t.TempDir: its parent is private to root.
	dir, err := os.MkdirTemp("", "bulkhead-e2e-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	// A copy of the binary, since the original lives in a directory private
	// to root.
	bin := dir + "/bulkhead"
	raw, err := os.ReadFile(bulkheadBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, raw, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--data-dir", dir+"/data", "--api-addr", "127.0.0.1:0", "--gateway-addr", "127.0.0.1:0")
	cmd.Env = []string{"HOME=" + dir}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	done := make(chan struct{})
	var out []byte
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("serve as an unprivileged user did not exit")
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("serve as an unprivileged user: %v, want it to run and exit with an error:\n%s", err, out)
	}
	for _, want := range []string{"cannot isolate functions on this host", "needs root", "--isolation=process"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
