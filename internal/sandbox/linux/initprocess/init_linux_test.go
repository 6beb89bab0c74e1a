package initprocess

import (
	"os"
	"testing"
)

// TestSandboxLinuxInitOrphaned checks the init's test for a dead server or
// spawner: a pipe whose read end is closed.
func TestSandboxLinuxInitOrphaned(t *testing.T) {
	pipe := func() (r, w *os.File) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close(); w.Close() })
		return r, w
	}
	_, server := pipe()
	spawnerR, spawnerW := pipe()
	if gone, err := orphaned(int(server.Fd()), int(spawnerW.Fd())); err != nil || gone {
		t.Errorf("with both readers open, orphaned = %v, %v; want false", gone, err)
	}
	spawnerR.Close()
	if gone, err := orphaned(int(server.Fd()), int(spawnerW.Fd())); err != nil || !gone {
		t.Errorf("with the spawner's reader closed, orphaned = %v, %v; want true", gone, err)
	}
}
