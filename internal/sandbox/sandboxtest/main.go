package sandboxtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
)

// Main runs a behaviour when the test binary was started as one, and
// otherwise returns at once. A package that runs Conformance against a driver
// starting real processes must call it first thing in TestMain:
//
//	func TestMain(m *testing.M) {
//		sandboxtest.Main()
//		os.Exit(m.Run())
//	}
//
// Inside a sandbox the test binary is the program (see Install and Program):
// Main finds SANDBOXTEST_BEHAVIOUR in the environment, runs that behaviour
// and exits with its status, never returning. Without the call the binary
// would run its tests instead; the "-test.run=^$" Program passes makes it run
// none, so the suite fails rather than recursing.
func Main() {
	name, ok := os.LookupEnv(behaviourEnv)
	if !ok {
		return
	}
	os.Exit(run(processEnv{}, name, os.Getenv(argEnv)))
}

// processEnv is the Env of a behaviour running as a real process.
type processEnv struct{}

func (processEnv) Context() context.Context { return context.Background() }
func (processEnv) Getenv(key string) string { return os.Getenv(key) }
func (processEnv) Environ() []string        { return os.Environ() }
func (processEnv) Stdout() io.Writer        { return os.Stdout }
func (processEnv) Stderr() io.Writer        { return os.Stderr }
func (processEnv) IgnoreTerminate()         { signal.Ignore(syscall.SIGTERM) }

func (processEnv) Fork(behaviour, arg string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	// No new process group or session: the child stays where the sandbox
	// put its parent, as a program's children do.
	cmd := &exec.Cmd{
		Path:   exe,
		Args:   os.Args,
		Env:    forkEnv(os.Environ(), behaviour, arg),
		Stdout: os.Stdout,
		Stderr: os.Stderr,
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait() // reap it if it dies while this process lives
	return nil
}

// Program returns the Command and the Env entries of a Spec that runs the
// named behaviour with arg, in a code directory prepared by Install. Add any
// other environment entries to env. One of them, GORACE, stops a test binary
// built with -race from sleeping a second before it exits.
func Program(behaviour, arg string) (command, env []string) {
	return []string{"bootstrap", "-test.run=^$"},
		[]string{behaviourEnv + "=" + behaviour, argEnv + "=" + arg, "GORACE=atexit_sleep_ms=0"}
}

// Install puts the running test binary into dir as "bootstrap" (mode 0755),
// so that a sandbox with Code dir can run Program's command. It links the
// binary when it can and copies it otherwise.
func Install(t testing.TB, dir string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatalf("sandboxtest: finding the test binary: %v", err)
	}
	dst := filepath.Join(dir, "bootstrap")
	// A link writes nothing, so no descriptor open for writing can leak into
	// a concurrently forked child and make exec fail with ETXTBSY.
	if os.Link(exe, dst) == nil {
		return
	}
	if err := copyExecutable(exe, dst); err != nil {
		t.Fatalf("sandboxtest: installing the test binary: %v", err)
	}
}

// copyExecutable copies src to dst, mode 0755. It holds syscall.ForkLock
// while dst is open for writing, so no child forked meanwhile inherits the
// descriptor (which would make executing dst fail with ETXTBSY).
func copyExecutable(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return errors.Join(fmt.Errorf("copying %s: %w", src, err), os.Remove(dst))
	}
	return nil
}
