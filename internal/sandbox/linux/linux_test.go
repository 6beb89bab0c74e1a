package linux

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/bulkhead-dev/bulkhead/internal/sandbox"
	"github.com/bulkhead-dev/bulkhead/internal/sandbox/sandboxtest"
)

func TestMain(m *testing.M) {
	sandboxtest.Register("linux-server", linuxServer)
	sandboxtest.Register("confinement", reportConfinement)
	sandboxtest.Main()
	os.Exit(m.Run())
}

// newDriver returns a Driver with cgroups of its own, and checks when the
// test ends that its sandboxes left no cgroup behind. It skips, saying why,
// where the host cannot build the sandbox (CI runs as root, so it runs
// there).
func newDriver(t *testing.T) *Driver {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: the Linux sandbox needs root (CI runs these tests as root)")
	}
	key := make([]byte, 8)
	rand.Read(key)
	d, err := New(Options{Key: t.Name() + hex.EncodeToString(key)})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if n, err := d.cgroups.Sweep(); err != nil || n != 0 {
			t.Errorf("after the test, %d sandbox cgroups were left behind (%v)", n, err)
		}
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return d
}

func TestSandboxLinuxConformance(t *testing.T) {
	sandboxtest.Conformance(t, func(t *testing.T) sandbox.Driver { return newDriver(t) })
}

func TestSandboxLinuxErrorText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "the sandbox's init failed without saying why"},
		{"  \n", "the sandbox's init failed without saying why"},
		{"pivot_root: invalid argument\n", "pivot_root: invalid argument"},
	}
	for _, tt := range tests {
		if got := errorText([]byte(tt.in)).Error(); got != tt.want {
			t.Errorf("errorText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
