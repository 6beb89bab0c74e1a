package sandboxtest

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/bulkhead-dev/bulkhead/internal/sandbox"
)

func TestMain(m *testing.M) {
	Register("sandboxtest-panic", func(Env, string) int { panic("on purpose") })
	Main()
	os.Exit(m.Run())
}

func TestFakeConformance(t *testing.T) {
	Conformance(t, func(t *testing.T) sandbox.Driver {
		f := &Fake{Dir: t.TempDir()}
		t.Cleanup(func() {
			if live := f.Live(); len(live) != 0 {
				t.Errorf("sandboxes left live: %q", live)
			}
			if entries, _ := os.ReadDir(f.Dir); len(entries) != 0 {
				t.Errorf("scratch directories left behind: %v", entries)
			}
		})
		return f
	})
}

// TestFakeLive checks what tests of the code above the sandbox rely on to
// find leaks: Live lists what was started and not destroyed.
func TestFakeLive(t *testing.T) {
	f := &Fake{Dir: t.TempDir()}
	var sandboxes []sandbox.Sandbox
	for _, id := range []string{"b", "a"} {
		p := newProgram(t, "sleep-forever", "")
		p.spec.ID = id
		sb, err := f.Start(t.Context(), p.spec)
		if err != nil {
			t.Fatal(err)
		}
		sandboxes = append(sandboxes, sb)
	}
	if got := f.Live(); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("Live() = %q, want [a b]", got)
	}
	for _, sb := range sandboxes {
		if err := sb.Destroy(); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.Live(); len(got) != 0 {
		t.Errorf("Live() after Destroy = %q, want none", got)
	}
}

// TestFakeFaultyBehaviours checks that the Fake fails a behaviour as the test
// binary would: status 2 with a message, not a crash of the test process.
func TestFakeFaultyBehaviours(t *testing.T) {
	for _, tt := range []struct{ behaviour, stderr string }{
		{"no-such-behaviour", `sandboxtest: no behaviour "no-such-behaviour"`},
		{"sandboxtest-panic", "panic: on purpose"},
	} {
		t.Run(tt.behaviour, func(t *testing.T) {
			p := newProgram(t, tt.behaviour, "")
			p.start(t, &Fake{Dir: t.TempDir()})
			p.wait(t)
			var exit *sandbox.ExitError
			if err := p.sandbox.Err(); !errors.As(err, &exit) || exit.Code != 2 {
				t.Errorf("Err() = %v, want exit status 2", err)
			}
			if got := p.stderr.String(); !strings.HasPrefix(got, tt.stderr) {
				t.Errorf("stderr = %q, want it to start with %q", got, tt.stderr)
			}
		})
	}
}
