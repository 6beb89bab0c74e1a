// Package sandbox is the isolation contract: what an execution environment
// needs from the thing that runs its process. It knows nothing of tenants,
// functions or Lambda; it runs a command with code, a private scratch
// directory, limits, an output sink and one HTTP endpoint it may reach.
//
// Implementations: internal/sandbox/process (a plain child process, no
// isolation beyond its own directories and process group) and, later, a
// Linux driver with namespaces and cgroups. sandboxtest.Fake runs programs
// in-process for fast unit tests. Every implementation passes
// sandboxtest.Conformance.
//
// A sandbox's life:
//
//	Driver.Start ──► running ──process exits──► exited (Done closed, Err set)
//	                    │                          │
//	                    └──────── Destroy ─────────┴──► destroyed: every process
//	                                                    gone, endpoint closed,
//	                                                    directories removed
package sandbox

import (
	"context"
	"io"
	"net/http"
	"strconv"
)

// Spec describes one sandbox.
type Spec struct {
	// ID names the sandbox in host paths and logs: 1–64 characters of
	// [a-z0-9-]. The caller makes it unique among live sandboxes.
	ID string
	// Code is a host directory holding the code, read-only to the sandbox.
	// Where it appears inside is Driver.CodeDir(Code). Its files must be
	// readable (and the program executable) by any user: an isolating driver
	// runs the program as an unprivileged user of its own. The directories
	// above it need not be.
	Code string
	// Command is the program and its arguments. A relative program name is
	// resolved inside the code directory ("bootstrap").
	Command []string
	// Env is the process's entire environment, as "KEY=value". The driver
	// adds TMPDIR (the private scratch directory) and EndpointEnv, replacing
	// any entries Env has for them, and nothing else (no PATH, HOME, ...).
	Env []string
	// Endpoint is served to the sandbox, and only to it, at a loopback
	// address reachable from inside; the address ("host:port") is put in the
	// environment as EndpointEnv, which must then be set. nil means no
	// endpoint, and no EndpointEnv in the environment.
	Endpoint    http.Handler
	EndpointEnv string
	// Stdout and Stderr receive the process's output as it is written. They
	// must not block for long: a slow writer stalls the process. nil
	// discards. Each is written by one goroutine at a time, but the two may
	// be written at once: a writer passed as both must be safe for that.
	// Everything the main process wrote has been delivered when Done is
	// closed; nothing is written after Destroy returns.
	Stdout, Stderr io.Writer
	// Limits bound what the sandbox may use. Drivers that cannot enforce a
	// limit say so in their documentation; none ignores one silently.
	Limits Limits
}

// Limits are a sandbox's resource bounds. Zero means the driver's default.
type Limits struct {
	MemoryMB  int // memory, no swap
	TmpMB     int // size of the private scratch directory
	Processes int // processes and threads
	CPUMilli  int // CPU time per second, in thousandths of a CPU, once EndInit is called
	// InitCPUMilli is the CPU limit from the start until EndInit: a
	// program's initialisation gets more CPU than its steady state, as in
	// Lambda's init phase. Zero means CPUMilli from the start.
	InitCPUMilli int
	OpenFiles    int // file descriptors
	OutputBytes  int // bytes of output per second before output is dropped
}

// Driver starts sandboxes.
type Driver interface {
	// Start creates a sandbox from spec and starts its command. It returns
	// once the process runs; a command that cannot start is an error and
	// leaves nothing behind. So is a spec that breaks a rule above (an ID
	// outside [a-z0-9-]{1,64}, an empty Command). ctx bounds only the start,
	// not the sandbox's life.
	Start(ctx context.Context, spec Spec) (Sandbox, error)
	// CodeDir returns where a Spec.Code directory appears inside this
	// driver's sandboxes ("/var/task" for an isolating driver).
	CodeDir(code string) string
}

// Sandbox is one started sandbox.
type Sandbox interface {
	// Done is closed when the sandbox's main process has exited. The other
	// processes of the sandbox may live on until Destroy, or die with the
	// main process (a driver with a pid namespace kills them then).
	Done() <-chan struct{}
	// Err returns, after Done, why the process exited: nil for status 0, an
	// *ExitError otherwise (Code -1 and the signal when Destroy killed it).
	Err() error
	// Destroy kills every process of the sandbox, including any the command
	// started, closes the endpoint and removes the scratch directory. It
	// returns when all is gone: Done is closed, the endpoint's handler is not
	// running and is not called again. It is idempotent and safe to call at
	// any time. Every started sandbox must be destroyed, even after its
	// process exited.
	Destroy() error
	// Usage reports resources used so far, as far as the driver measures them.
	Usage() Usage
	// FlushOutput returns once everything the sandbox's processes wrote
	// before the call has been delivered to Stdout and Stderr: what a program
	// wrote before it answered a request is delivered by the time the caller
	// has the answer and flushes.
	FlushOutput()
	// EndInit ends the initialisation phase: from now on Limits.CPUMilli
	// applies instead of Limits.InitCPUMilli. Drivers that do not limit CPU
	// do nothing.
	EndInit() error
}

// Usage is what a sandbox has consumed.
type Usage struct {
	MaxMemoryBytes int64 // peak memory, 0 if the driver cannot measure it
	OOMKills       int64 // processes killed for exceeding MemoryMB, 0 if the driver cannot tell
}

// ExitError reports a main process that ended with a non-zero status or a
// signal.
type ExitError struct {
	Code   int    // exit status, or -1 when killed by a signal
	Signal string // the signal's name when killed by one ("SIGKILL")
}

func (e *ExitError) Error() string {
	if e.Signal != "" {
		return "process killed by signal " + e.Signal
	}
	return "process exited with status " + strconv.Itoa(e.Code)
}
