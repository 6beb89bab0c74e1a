package process

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/bulkhead-dev/bulkhead/internal/sandbox"
	"github.com/bulkhead-dev/bulkhead/internal/sandbox/output"
)

// Driver starts sandboxes as plain child processes of the server. Make one
// with New; it is safe for concurrent use.
type Driver struct {
	stateDir string
	logger   *slog.Logger
}

var _ sandbox.Driver = (*Driver)(nil)

// New returns a Driver keeping its sandboxes' directories in stateDir, which
// it creates if needed (mode 0700) and owns: nothing else may write there.
// The endpoints' servers log their errors to logger; nil discards them.
//
// New does not clear what a crashed server left in stateDir: a Start whose
// ID names a leftover directory fails (fs.ErrExist).
func New(stateDir string, logger *slog.Logger) (*Driver, error) {
	dir, err := filepath.Abs(stateDir)
	if err != nil {
		return nil, fmt.Errorf("sandbox state directory: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("sandbox state directory: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Driver{stateDir: dir, logger: logger}, nil
}

// CodeDir returns code: the program sees the host's file system.
func (*Driver) CodeDir(code string) string { return code }

// Start makes the sandbox's directory, serves its endpoint, and starts its
// command in a process group of its own. See the package documentation for
// what the sandbox gets and does not.
func (d *Driver) Start(ctx context.Context, spec sandbox.Spec) (_ sandbox.Sandbox, err error) {
	if err := sandbox.Check(spec); err != nil {
		return nil, fmt.Errorf("sandbox %q: %w", spec.ID, err)
	}
	program := sandbox.Program(spec, spec.Code)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sandbox %q: %w", spec.ID, err)
	}
	s := &processSandbox{dir: filepath.Join(d.stateDir, spec.ID), done: make(chan struct{})}
	// Mkdir, not MkdirAll: an existing directory is a live sandbox's (or a
	// crashed server's), never one to share.
	if err := os.Mkdir(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("sandbox %q: %w", spec.ID, err)
	}
	defer func() {
		if err != nil {
			err = errors.Join(fmt.Errorf("sandbox %q: %w", spec.ID, err), s.abandon())
		}
	}()

	tmp := filepath.Join(s.dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return nil, err
	}
	var addr string
	if spec.Endpoint != nil {
		if s.endpoint, err = serve(ctx, spec.Endpoint, d.logger.With("sandbox", spec.ID)); err != nil {
			return nil, err
		}
		addr = s.endpoint.Addr()
	}
	limit := output.NewBudget(spec.Limits.OutputBytes)
	if s.stdout, err = output.NewStream(spec.Stdout, limit); err != nil {
		return nil, err
	}
	if s.stderr, err = output.NewStream(spec.Stderr, limit); err != nil {
		return nil, err
	}

	cmd := &exec.Cmd{
		Path:   program,
		Args:   spec.Command,
		Env:    sandbox.Environment(spec, tmp, addr),
		Dir:    spec.Code,
		Stdout: s.stdout.ChildEnd(),
		Stderr: s.stderr.ChildEnd(),
		SysProcAttr: &syscall.SysProcAttr{
			// A group of its own, so Destroy can kill whatever the program
			// starts; and death with the server.
			Setpgid:   true,
			Pdeathsig: syscall.SIGKILL,
		},
	}
	// Pdeathsig fires when the thread that forked ends, not the process
	// (go.dev/issue/27505). A thread ends only with the goroutine locked to
	// it, and a new goroutine never runs on a locked thread: so fork from
	// one, whatever the caller of Start is locked to.
	started := make(chan error, 1)
	go func() { started <- cmd.Start() }()
	if err := <-started; err != nil {
		return nil, err
	}
	s.cmd = cmd
	s.pid = cmd.Process.Pid
	s.stdout.Start()
	s.stderr.Start()
	go s.wait()
	return s, nil
}
