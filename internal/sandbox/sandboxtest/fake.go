package sandboxtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/sandbox"
)

// Fake is a sandbox.Driver that runs behaviours in-process, for fast tests
// of the code above the sandbox. It recognises the Specs Program makes
// (Command[0] "bootstrap", present in Code, and the behaviour named in Env)
// and refuses any other command.
//
// What is real: TMPDIR is a fresh directory, the endpoint is an HTTP server
// on a loopback port of its own, and the code directory is read where it is
// (CodeDir(code) is code). What is emulated: the environment (Getenv reads
// the sandbox's, not the test process's), the output (written to Spec.Stdout
// and Spec.Stderr through one lock), forked processes (goroutines that live
// until Destroy), exit (the behaviour's return value) and killing (Destroy
// cancels the behaviours' Context and waits for them to return; Err is then
// SIGKILL's ExitError, as for a killed process).
//
// It enforces none of Spec.Limits and isolates nothing: behaviours share the
// test process's memory, files and network. Usage is always zero. It cannot
// preempt a goroutine, so a behaviour that ignores its Context holds Destroy
// up.
//
// The zero value is ready to use. A Fake is safe for concurrent use.
type Fake struct {
	// Dir is where the scratch directories go; "" means os.TempDir().
	Dir string

	mu   sync.Mutex
	live map[string]bool // IDs started and not yet destroyed
}

var _ sandbox.Driver = (*Fake)(nil)

// CodeDir returns code: the Fake's behaviours see the host's files.
func (*Fake) CodeDir(code string) string { return code }

// Live returns the IDs of the sandboxes started and not yet destroyed,
// sorted, so a test can check that the code under test destroys what it
// starts.
func (f *Fake) Live() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := make([]string, 0, len(f.live))
	for id := range f.live {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Start starts the behaviour spec names. Like a real driver it fails when
// the ID is invalid, the command is missing from the code directory or ctx
// is done.
func (f *Fake) Start(ctx context.Context, spec sandbox.Spec) (sandbox.Sandbox, error) {
	name, arg, err := f.check(spec)
	if err != nil {
		return nil, fmt.Errorf("sandbox %q: %w", spec.ID, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sandbox %q: %w", spec.ID, err)
	}
	tmp, err := os.MkdirTemp(f.Dir, "sandboxtest-"+spec.ID+"-")
	if err != nil {
		return nil, fmt.Errorf("sandbox %q: %w", spec.ID, err)
	}
	var endpoint *sandbox.Endpoint
	if spec.Endpoint != nil {
		if endpoint, err = serveFake(spec.Endpoint); err != nil {
			return nil, errors.Join(fmt.Errorf("sandbox %q: %w", spec.ID, err), os.RemoveAll(tmp))
		}
	}

	kill, cancel := context.WithCancel(context.Background())
	s := &fakeSandbox{
		fake:     f,
		id:       spec.ID,
		tmp:      tmp,
		endpoint: endpoint,
		kill:     kill,
		cancel:   cancel,
		out:      &fakeOutput{stdout: spec.Stdout, stderr: spec.Stderr},
		done:     make(chan struct{}),
	}
	s.env = fakeEnvironment(spec, tmp, endpoint)

	f.mu.Lock()
	if f.live == nil {
		f.live = make(map[string]bool)
	}
	f.live[spec.ID] = true
	f.mu.Unlock()

	first := &fakeEnv{sandbox: s, env: s.env}
	s.procs.Go(func() { s.exited(run(first, name, arg)) })
	return s, nil
}

// check validates spec as a real driver would and returns the behaviour it
// names.
func (f *Fake) check(spec sandbox.Spec) (name, arg string, err error) {
	if !sandbox.ValidID(spec.ID) {
		return "", "", fmt.Errorf("invalid sandbox ID: want 1 to 64 characters of [a-z0-9-]: %w", errdefs.ErrInvalidArgument)
	}
	if spec.Endpoint != nil && spec.EndpointEnv == "" {
		return "", "", fmt.Errorf("an endpoint needs an EndpointEnv: %w", errdefs.ErrInvalidArgument)
	}
	if len(spec.Command) == 0 || spec.Command[0] != "bootstrap" {
		return "", "", fmt.Errorf("command %q: the Fake runs only sandboxtest behaviours (see Program): %w", spec.Command, errdefs.ErrInvalidArgument)
	}
	fi, err := os.Stat(filepath.Join(spec.Code, "bootstrap"))
	if err != nil {
		return "", "", fmt.Errorf("starting bootstrap: %w", err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return "", "", fmt.Errorf("starting bootstrap: %w", os.ErrPermission)
	}
	for _, kv := range spec.Env {
		switch envKey(kv) {
		case behaviourEnv:
			name = kv[len(behaviourEnv)+1:]
		case argEnv:
			arg = kv[len(argEnv)+1:]
		}
	}
	if name == "" {
		return "", "", fmt.Errorf("no %s in Env: the Fake runs only sandboxtest behaviours (see Program): %w", behaviourEnv, errdefs.ErrInvalidArgument)
	}
	return name, arg, nil
}

// fakeEnvironment is spec's environment as a real driver builds it: Env
// without the entries the driver sets, then TMPDIR and the endpoint.
func fakeEnvironment(spec sandbox.Spec, tmp string, endpoint *sandbox.Endpoint) []string {
	env := slices.DeleteFunc(slices.Clone(spec.Env), func(kv string) bool {
		k := envKey(kv)
		return k == "TMPDIR" || endpoint != nil && k == spec.EndpointEnv
	})
	env = append(env, "TMPDIR="+tmp)
	if endpoint != nil {
		env = append(env, spec.EndpointEnv+"="+endpoint.Addr())
	}
	return env
}

// fakeSandbox is one sandbox of a Fake.
//
//	running ──main behaviour returns──► exited (done closed)
//	   │                                   │
//	   └──────────── Destroy ──────────────┴──► destroyed (kill cancelled,
//	                                            every goroutine returned)
//
// The goroutines of the behaviours (main and forks) are owned by procs;
// Destroy cancels them through kill and waits for them.
type fakeSandbox struct {
	fake     *Fake
	id       string
	tmp      string
	env      []string
	endpoint *sandbox.Endpoint // nil without an endpoint
	out      *fakeOutput

	kill   context.Context // the behaviours' Context; cancelled by Destroy
	cancel context.CancelFunc
	procs  sync.WaitGroup

	done chan struct{} // closed when the main behaviour has returned
	err  error         // why it exited; written before done is closed

	destroyOnce sync.Once
	destroyErr  error
}

func (s *fakeSandbox) exited(status int) {
	switch {
	case s.kill.Err() != nil:
		// Killed by Destroy, whatever the behaviour returned on its way out.
		s.err = &sandbox.ExitError{Code: -1, Signal: "SIGKILL"}
	case status != 0:
		s.err = &sandbox.ExitError{Code: status}
	}
	close(s.done)
}

func (s *fakeSandbox) Done() <-chan struct{} { return s.done }

func (s *fakeSandbox) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

func (s *fakeSandbox) Usage() sandbox.Usage { return sandbox.Usage{} }

// FlushOutput does nothing: a behaviour in the Fake writes to the Spec's
// writers directly.
func (s *fakeSandbox) FlushOutput() {}

// EndInit does nothing: the Fake does not limit CPU.
func (s *fakeSandbox) EndInit() error { return nil }

func (s *fakeSandbox) Destroy() error {
	s.destroyOnce.Do(func() {
		s.cancel()
		s.procs.Wait()
		if s.endpoint != nil {
			s.endpoint.Close()
		}
		s.out.close()
		s.destroyErr = os.RemoveAll(s.tmp)
		s.fake.mu.Lock()
		delete(s.fake.live, s.id)
		s.fake.mu.Unlock()
	})
	return s.destroyErr
}

// fakeEnv is the Env of one behaviour (main or forked) in a fakeSandbox.
type fakeEnv struct {
	sandbox *fakeSandbox
	env     []string
}

func (e *fakeEnv) Context() context.Context { return e.sandbox.kill }
func (e *fakeEnv) Environ() []string        { return slices.Clone(e.env) }
func (e *fakeEnv) Stdout() io.Writer        { return e.sandbox.out.writer(true) }
func (e *fakeEnv) Stderr() io.Writer        { return e.sandbox.out.writer(false) }
func (e *fakeEnv) IgnoreTerminate()         {}

func (e *fakeEnv) Getenv(key string) string {
	// The last entry wins, as in a process started by os/exec.
	for _, kv := range slices.Backward(e.env) {
		if envKey(kv) == key {
			return kv[len(key)+1:]
		}
	}
	return ""
}

// Fork runs the behaviour in a goroutine that lives until it returns or the
// sandbox is destroyed, whether or not its parent has returned.
func (e *fakeEnv) Fork(behaviour, arg string) error {
	if err := e.sandbox.kill.Err(); err != nil {
		return err
	}
	// The caller is one of procs' goroutines, so the count is above zero and
	// this Go cannot race with Destroy's Wait.
	child := &fakeEnv{sandbox: e.sandbox, env: forkEnv(e.env, behaviour, arg)}
	e.sandbox.procs.Go(func() { run(child, behaviour, arg) })
	return nil
}

// fakeOutput serialises the behaviours' writes to Spec.Stdout and
// Spec.Stderr, as a pipe would, and drops every write after Destroy.
type fakeOutput struct {
	mu             sync.Mutex
	stdout, stderr io.Writer // nil discards
	closed         bool
}

func (o *fakeOutput) writer(stdout bool) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		o.mu.Lock()
		defer o.mu.Unlock()
		if o.closed {
			return 0, os.ErrClosed
		}
		w := o.stderr
		if stdout {
			w = o.stdout
		}
		if w == nil {
			return len(p), nil
		}
		return w.Write(p)
	})
}

func (o *fakeOutput) close() {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// serveFake serves a sandbox's handler on a loopback port.
func serveFake(h http.Handler) (*sandbox.Endpoint, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return sandbox.ServeEndpoint(l, h, log.New(io.Discard, "", 0)), nil
}
