//go:build linux

package e2e

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"golang.org/x/sys/unix"
)

// The abuse suite runs testdata/abuse, a function that tries to get out of
// its Linux sandbox, as tenant "abuser", next to a warm environment of
// tenant "bystander" of another function. Each attempt reports the errno it
// saw inside; after each case the server must answer /healthz and the
// bystander's environment must still answer, warm. At the end, deleting the
// abuser's functions must leave nothing of them on the host: no process, no
// cgroup, no mount.

// The abuser's functions, all with EphemeralStorage 512. abuseFunction
// has the smallest Lambda shape and a short timeout. Its CPU share, 72
// millicores in proportion to MemorySize, is small enough to matter on a
// virtual machine: filling memory or /tmp takes it most of three seconds, so
// abuseSlowFunction, the same shape with a longer timeout, tries those; and
// starting a thousand processes would take it a minute, so the process
// limit is tried with abuseBigFunction, which has one CPU.
const (
	abuseFunction     = "abuse"      // MemorySize 128, Timeout 3
	abuseSlowFunction = "abuse-slow" // MemorySize 128, Timeout 10
	abuseBigFunction  = "abuse-big"  // MemorySize 1769, Timeout 10
	abuseTimeout      = 3 * time.Second
	timeoutSlack      = 400 * time.Millisecond
)

// The host ids of a sandbox's users (internal/sandbox/linux): its init's
// and its program's.
const (
	sandboxRootHostID = 100000
	sandboxUserHostID = 101000
)

var (
	storedZipsMu sync.Mutex
	storedZips   = map[string][]byte{}
)

// storedGoZip builds the Go main package pkg as a deployment package, as
// goZip does, but stored rather than deflated: deflating a binary takes
// seconds in a test binary built with -race.
func storedGoZip(t testing.TB, pkg string) []byte {
	t.Helper()
	storedZipsMu.Lock()
	defer storedZipsMu.Unlock()
	if z, ok := storedZips[pkg]; ok {
		return z
	}
	out := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, b)
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Store}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err == nil {
		_, err = w.Write(bin)
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	storedZips[pkg] = buf.Bytes()
	return buf.Bytes()
}

// abuseResult is what testdata/abuse answers.
type abuseResult struct {
	OK    bool              `json:"ok"`
	Err   string            `json:"err"`
	Errno string            `json:"errno"`
	Count int               `json:"count"`
	Bytes int64             `json:"bytes"`
	Pids  []int             `json:"pids"`
	Names []string          `json:"names"`
	Text  string            `json:"text"`
	Info  map[string]string `json:"info"`
}

func (r abuseResult) String() string {
	if r.OK {
		return "ok"
	}
	return fmt.Sprintf("%s (%s)", r.Err, r.Errno)
}

// functionError is the error document of a failed invocation.
type functionError struct {
	ErrorType    string `json:"errorType"`
	ErrorMessage string `json:"errorMessage"`
	tail         string // the end of the environment's output
}

func (e *functionError) String() string {
	if e == nil {
		return "no function error"
	}
	return e.ErrorType + ": " + e.ErrorMessage
}

// abuseSuite is the server and what the checks after each case compare
// with.
type abuseSuite struct {
	s         *server
	c         *lambda.Client
	serverPID int
	bystander counterResponse // its warm environment, as last seen
	cgroups   []string        // the server's sandbox cgroup directories, one per hierarchy
}

// invoke runs action as the abuser of function fn and returns the
// function's result, or its error document when the invocation failed, and
// how long the invocation took.
func (a *abuseSuite) invoke(t *testing.T, fn, action, arg string) (abuseResult, *functionError, time.Duration) {
	t.Helper()
	r, ferr, took, err := a.tryInvoke(ctx(t), fn, action, arg)
	if err != nil {
		t.Fatal(err)
	}
	return r, ferr, took
}

// tryInvoke is invoke for goroutines other than the test's.
func (a *abuseSuite) tryInvoke(ctx context.Context, fn, action, arg string) (abuseResult, *functionError, time.Duration, error) {
	payload, _ := json.Marshal(map[string]string{"action": action, "arg": arg})
	start := time.Now()
	out, err := a.c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(fn), TenantId: aws.String("abuser"),
		Payload: payload, LogType: types.LogTypeTail})
	took := time.Since(start)
	if err != nil {
		return abuseResult{}, nil, took, fmt.Errorf("invoke %s %s %q: %w", fn, action, arg, err)
	}
	if out.FunctionError != nil {
		var doc functionError
		if err := json.Unmarshal(out.Payload, &doc); err != nil {
			return abuseResult{}, nil, took, fmt.Errorf("invoke %s %s %q: function error %s with payload %s", fn, action, arg, aws.ToString(out.FunctionError), out.Payload)
		}
		tail, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
		doc.tail = string(tail)
		return abuseResult{}, &doc, took, nil
	}
	var r abuseResult
	if err := json.Unmarshal(out.Payload, &r); err != nil {
		return abuseResult{}, nil, took, fmt.Errorf("invoke %s %s %q: payload %s: %w", fn, action, arg, out.Payload, err)
	}
	return r, nil, took, nil
}

// attempt runs action on abuseFunction and fails the test unless the
// invocation returned normally.
func (a *abuseSuite) attempt(t *testing.T, action, arg string) abuseResult {
	t.Helper()
	r, ferr, _ := a.invoke(t, abuseFunction, action, arg)
	if ferr != nil {
		t.Fatalf("%s %q: %s\n%s", action, arg, ferr, ferr.tail)
	}
	return r
}

// expectErrno runs action and checks that the attempt failed with one of
// the errnos.
func (a *abuseSuite) expectErrno(t *testing.T, action, arg string, errnos ...string) {
	t.Helper()
	r := a.attempt(t, action, arg)
	t.Logf("%s %s: %v", action, arg, r)
	if r.OK || !slices.Contains(errnos, r.Errno) {
		t.Errorf("%s %s = %v (%q %.200q); want one of %v", action, arg, r, r.Names, r.Text, errnos)
	}
}

// expectTimeout checks that an invocation of abuseFunction timed out, and
// was answered soon after its timeout: one that times out quietly is
// answered within about 0.1 s.
func expectTimeout(t *testing.T, what string, ferr *functionError, took time.Duration) {
	t.Helper()
	t.Logf("%s: %s after %v", what, ferr, took.Round(time.Millisecond))
	if ferr == nil || ferr.ErrorType != "Sandbox.Timedout" || !strings.HasSuffix(ferr.ErrorMessage, "Task timed out after 3.00 seconds") {
		t.Errorf("%s = %s; want Sandbox.Timedout: Task timed out after 3.00 seconds", what, ferr)
	}
	if took > abuseTimeout+timeoutSlack {
		t.Errorf("%s: the timeout was answered after %v; want within %v of the %v timeout", what, took.Round(time.Millisecond), timeoutSlack, abuseTimeout)
	}
}

// checkAfter is run after every case: the server answers /healthz, the
// bystander's environment is the one it was, warm, counting on, and no
// process of a sandbox user is outside the sandboxes' cgroups.
func (a *abuseSuite) checkAfter(t *testing.T) {
	t.Helper()
	resp, err := http.Get("http://" + a.s.api + "/healthz")
	if err != nil {
		t.Fatalf("after the abuse: /healthz: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("after the abuse: /healthz = %d; want 200", resp.StatusCode)
	}
	r := invokeCounter(t, a.c, "bystander", "bystander")
	if r.Environment != a.bystander.Environment || r.Count != a.bystander.Count+1 || r.Tenant != "bystander" {
		t.Errorf("after the abuse: bystander = %+v; want its warm environment %s at count %d", r, a.bystander.Environment, a.bystander.Count+1)
	}
	a.bystander = r
	for _, p := range outsideSandboxCgroups(t) {
		t.Errorf("ESCAPE: host process %v runs as a sandbox user outside every sandbox cgroup", p)
	}
}

// outsideSandboxCgroups returns the processes of sandbox users that are in
// no sandbox's cgroup and stay so. An init is cloned, already as the
// sandbox's root, moments before the spawner attaches it to its cgroups; it
// runs none of its own code until then (it waits for its configuration),
// and the pool may be starting environments when the check runs (a blank
// refilling, say). So a process seen outside is looked at again for up to
// 2 s: one that is still outside, alive and the same process, is reported.
func outsideSandboxCgroups(t testing.TB) []hostProcess {
	t.Helper()
	outside := func() map[int]hostProcess {
		m := map[int]hostProcess{}
		for _, p := range sandboxProcesses(t) {
			if !strings.Contains(p.cgroup, "/bulkhead-") {
				m[p.pid] = p
			}
		}
		return m
	}
	suspects := outside()
	for deadline := time.Now().Add(2 * time.Second); len(suspects) > 0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		now := outside()
		for pid := range suspects {
			if _, still := now[pid]; !still {
				delete(suspects, pid)
			}
		}
	}
	return slices.Collect(maps.Values(suspects))
}

// plantDescriptor opens a file of the host's, without close-on-exec, in
// the test process: a server started before closeDescriptor inherits it,
// as a server inherits whatever its parent leaves open. A sandbox must not.
func plantDescriptor(t *testing.T) (path, secret string, closeDescriptor func()) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "host-secret")
	secret = "host secret " + strconv.FormatInt(time.Now().UnixNano(), 36)
	if err := os.WriteFile(path, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	// A high number, clear of the descriptors a child is given (0-2 and
	// the ExtraFiles after them), and without close-on-exec.
	high := 200
	for ; high < 1000; high++ {
		if _, err := unix.FcntlInt(uintptr(high), unix.F_GETFD, 0); err == unix.EBADF {
			break
		}
	}
	if err := unix.Dup3(fd, high, 0); err != nil {
		t.Fatal(err)
	}
	closeDescriptor = sync.OnceFunc(func() { syscall.Close(high) })
	t.Cleanup(closeDescriptor)
	return path, secret, closeDescriptor
}

func TestSandboxAbuse(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skipf("the Linux sandbox needs root; running as uid %d", os.Geteuid())
	}
	// Not parallel: the limits under test (CPU, memory, processes) and the
	// server's RSS are measured best on a machine the suite has to itself.
	start := time.Now()
	abuseCode := storedGoZip(t, "./testdata/abuse")
	counterCode := storedGoZip(t, "../examples/counter")
	projectDir, _ := os.Getwd()
	dataDir := t.TempDir()
	secretPath, secret, closeDescriptor := plantDescriptor(t)
	s := startServer(t, dataDir)
	closeDescriptor()
	a := &abuseSuite{s: s, c: s.client(), serverPID: s.cmd.Process.Pid}
	a.cgroups = sandboxCgroups(t, a.serverPID, dataDir)

	in := createInput(t, "bystander")
	in.Code.ZipFile = counterCode
	in.TenancyConfig = &types.TenancyConfig{TenantIsolationMode: types.TenantIsolationModePerTenant}
	if _, err := a.c.CreateFunction(ctx(t), in); err != nil {
		t.Fatalf("CreateFunction bystander: %v", err)
	}
	a.bystander = invokeCounter(t, a.c, "bystander", "bystander")
	// The bystander's environments (its warm one, and the blank started
	// after its first invocation) are all the host may hold of sandboxes
	// once the abuser's functions are gone.
	beforeProcs := stableSandboxProcesses(t, a)
	beforeCgroups := envCgroups(t, a.cgroups)
	beforeMounts := hostMounts(t)
	t.Logf("before the abuser: sandbox processes %v, cgroups %v", beforeProcs, beforeCgroups)

	for _, f := range []struct {
		name            string
		memory, timeout int32
	}{{abuseFunction, 128, 3}, {abuseSlowFunction, 128, 10}, {abuseBigFunction, 1769, 10}} {
		in := createInput(t, f.name)
		in.Code.ZipFile = abuseCode
		in.MemorySize = aws.Int32(f.memory)
		in.Timeout = aws.Int32(f.timeout)
		in.EphemeralStorage = &types.EphemeralStorage{Size: aws.Int32(512)}
		in.TenancyConfig = &types.TenancyConfig{TenantIsolationMode: types.TenantIsolationModePerTenant}
		if _, err := a.c.CreateFunction(ctx(t), in); err != nil {
			t.Fatalf("CreateFunction %s: %v", f.name, err)
		}
	}

	t.Run("own view", func(t *testing.T) {
		r := a.attempt(t, "whoami", "")
		t.Logf("inside: %v", r.Info)
		want := map[string]string{
			"hostname": "sandbox", "pid": "1", "Uid": "1000 1000 1000 1000", "Gid": "1000 1000 1000 1000", "Groups": "",
			"CapEff": "0000000000000000", "CapPrm": "0000000000000000", "CapInh": "0000000000000000", "CapAmb": "0000000000000000",
			"NoNewPrivs": "1", "Seccomp": "2",
		}
		for k, v := range want {
			if r.Info[k] != v {
				t.Errorf("%s = %q; want %q", k, r.Info[k], v)
			}
		}
		for _, host := range []string{dataDir, projectDir, "/work"} {
			for line := range strings.Lines(r.Info["/proc/self/mountinfo"]) {
				if !strings.Contains(line, host) {
					continue
				}
				// Known and documented (ADR 0004): the code's mount is a
				// bind of the code store, and mountinfo gives a bind's root
				// as its path on the host file system. It names where the
				// code is stored, nothing more: the path is not reachable.
				if fields := strings.Fields(line); len(fields) > 4 && fields[4] == "/var/task" && strings.Contains(fields[3], "/code/") {
					t.Logf("known: the code mount's root names its host path: %s", strings.TrimSpace(line))
					continue
				}
				t.Errorf("LEAK: the sandbox's /proc/self/mountinfo names the host path %s: %s", host, strings.TrimSpace(line))
			}
		}
		for _, kv := range r.Names {
			if strings.HasPrefix(kv, "BULKHEAD_") || strings.Contains(kv, testSecret) {
				t.Errorf("LEAK: the sandbox's environment holds the server's %s", kv)
			}
		}
		for _, fd := range strings.Split(r.Info["fds"], "\n") {
			n, target, _ := strings.Cut(fd, " -> ")
			if n == "0" || n == "1" || n == "2" {
				continue
			}
			t.Errorf("LEAK: the program started with descriptor %s: the server passes on every descriptor it inherited without close-on-exec", fd)
			if strings.Contains(target, "host-secret") {
				got := a.attempt(t, "read-fd", n)
				if strings.Contains(got.Text, secret) {
					t.Errorf("ESCAPE: through descriptor %s the function read the host file %s, which the test process had open when it started the server: %q", n, secretPath, got.Text)
				}
			}
		}
		a.checkAfter(t)
	})

	t.Run("processes", func(t *testing.T) {
		r := a.attempt(t, "ps", "")
		t.Logf("/proc inside: %v %v", r.Pids, r.Info)
		if !slices.Equal(r.Pids, []int{1}) {
			t.Errorf("pids in /proc = %v; want only 1, the program", r.Pids)
		}
		a.expectErrno(t, "kill", strconv.Itoa(a.serverPID), "ESRCH", "EPERM")
		a.expectErrno(t, "kill", "-1", "ESRCH", "EPERM") // every process it may signal: none but itself
		a.checkAfter(t)
	})

	t.Run("files", func(t *testing.T) {
		server := strconv.Itoa(a.serverPID)
		for _, path := range []string{
			"/etc/shadow", "/root", dataDir, filepath.Join(dataDir, "bulkhead.db"), projectDir, "/work", secretPath,
			"/proc/" + server + "/environ", "/proc/" + server + "/root/etc/shadow", "/proc/1/root/etc/shadow",
			"/sys/fs/cgroup", "/dev/kmsg", "/dev/mem", "/dev/vda", "/dev/sda", "/home", "/var/lib",
		} {
			a.expectErrno(t, "read", path, "ENOENT", "EACCES")
		}
		if r := a.attempt(t, "read", "/var/task"); !r.OK || !slices.Contains(r.Names, "bootstrap") {
			t.Errorf("read /var/task = %v %q; want its code", r, r.Names)
		}
		a.checkAfter(t)
	})

	t.Run("privileges", func(t *testing.T) {
		// The seccomp filter answers EPERM to what it denies (ENOSYS to
		// clone3, so that callers fall back to clone, which it can check).
		for _, tt := range []struct{ action, arg string }{
			{"ptrace-traceme", ""},
			{"ptrace-attach", "1"},
			{"ptrace-attach", "child"},
			{"mount", "/tmp"},
			{"unshare", ""},
			{"clone-newuser", ""},
			{"socket", "raw"},
			{"socket", "packet"},
			{"syscall", "bpf"},
			{"syscall", "io_uring_setup"},
			{"syscall", "userfaultfd"},
			{"syscall", "keyctl"},
			{"syscall", "perf_event_open"},
			{"syscall", "open_by_handle_at"},
			{"syscall", "sethostname"},
			{"syscall", "setuid0"},
			{"syscall", "chroot"},
		} {
			a.expectErrno(t, tt.action, tt.arg, "EPERM")
		}
		a.expectErrno(t, "syscall", "mknod", "EPERM", "EACCES") // no CAP_MKNOD; Landlock: no device nodes in /tmp
		a.expectErrno(t, "syscall", "clone3", "ENOSYS")
		a.checkAfter(t)
	})

	t.Run("network", func(t *testing.T) {
		// Inside its network namespace 127.0.0.1 is the sandbox's own
		// loopback: nothing listens on the server's ports there, and
		// Landlock allows TCP connections to the Runtime API's port only.
		a.expectErrno(t, "connect", a.s.api, "ECONNREFUSED", "EACCES")
		a.expectErrno(t, "connect", a.s.gateway, "ECONNREFUSED", "EACCES")
		a.expectErrno(t, "connect", "[::1]:9001", "ECONNREFUSED", "EACCES", "EADDRNOTAVAIL", "ENETUNREACH")
		a.expectErrno(t, "connect", "1.1.1.1:80", "ENETUNREACH", "EACCES")
		for _, ip := range hostAddresses(t) {
			a.expectErrno(t, "connect", net.JoinHostPort(ip, "22"), "ENETUNREACH", "EACCES")
		}
		a.expectErrno(t, "udp", "1.1.1.1:53", "ENETUNREACH") // Landlock does not cover UDP: only the missing route stops it
		if r := a.attempt(t, "connect", "127.0.0.1:9001"); !r.OK {
			t.Errorf("connect to its own Runtime API = %v; want it to succeed", r)
		}
		r := a.attempt(t, "interfaces", "")
		t.Logf("interfaces: %q", r.Names)
		if len(r.Names) != 1 || !strings.HasPrefix(r.Names[0], "lo ") {
			t.Errorf("interfaces = %q; want only lo", r.Names)
		}
		// Every environment's Runtime API is 127.0.0.1:9001 in its own
		// namespace: the abuser's knows it is mid-invocation and no other
		// request id, and the bystander's environment goes on unharmed.
		r = a.attempt(t, "runtime-api", "next")
		t.Logf("GET /next from inside an invocation: %d %s", r.Count, r.Text)
		if r.Count != 403 || !strings.Contains(r.Text, "InvalidStateTransition") {
			t.Errorf("GET /next from inside = %d %s; want 403 InvalidStateTransition from its own API", r.Count, r.Text)
		}
		r = a.attempt(t, "runtime-api", "0d5f8e4c-0000-4000-8000-000000000000")
		t.Logf("POST a response for another request id: %d %s", r.Count, r.Text)
		if r.Count != 400 || !strings.Contains(r.Text, "InvalidRequestID") {
			t.Errorf("response for another request id = %d %s; want 400 InvalidRequestID", r.Count, r.Text)
		}
		a.checkAfter(t)
	})

	t.Run("read-only code", func(t *testing.T) {
		a.expectErrno(t, "write", "/var/task/owned", "EROFS")
		a.expectErrno(t, "write", "/var/task/bootstrap", "EROFS", "EACCES")
		a.expectErrno(t, "write", "/etc/passwd", "EROFS")
		a.expectErrno(t, "write", "/owned", "EROFS")
		a.expectErrno(t, "write", "/usr/bin/owned", "EROFS", "EACCES")
		a.expectErrno(t, "write", "/proc/sys/kernel/hostname", "EROFS", "EACCES", "EPERM")
		a.checkAfter(t)
	})

	t.Run("fill tmp", func(t *testing.T) {
		// With memory to spare, /tmp is bounded by EphemeralStorage: ENOSPC
		// inside.
		r, ferr, _ := a.invoke(t, abuseBigFunction, "fill", "/tmp")
		if ferr != nil {
			t.Fatalf("filling /tmp (EphemeralStorage 512 MB, MemorySize 1769) = %s; want ENOSPC inside\n%s", ferr, ferr.tail)
		}
		t.Logf("fill /tmp: %v after %d MiB", r, r.Bytes>>20)
		if r.Errno != "ENOSPC" || r.Bytes > 513<<20 || r.Bytes < 500<<20 {
			t.Errorf("fill /tmp = %v after %d bytes; want ENOSPC after about 512 MiB", r, r.Bytes)
		}
		a.checkAfter(t)
	})

	t.Run("fill tmp beyond memory", func(t *testing.T) {
		// /tmp is a tmpfs, charged to the environment's memory (documented
		// in ADR 0004): with MemorySize 128, filling it ends the invocation
		// as running out of memory does, and harms no one else.
		_, ferr, took := a.invoke(t, abuseSlowFunction, "fill", "/tmp")
		if ferr == nil || ferr.ErrorType != "Runtime.OutOfMemory" {
			t.Fatalf("filling /tmp with MemorySize 128 = %v; want Runtime.OutOfMemory", ferr)
		}
		t.Logf("fill /tmp at 128 MB: %s after %v", ferr, took.Round(time.Millisecond))
		a.checkAfter(t)
	})

	t.Run("memory", func(t *testing.T) {
		r, ferr, took := a.invoke(t, abuseSlowFunction, "alloc", "512")
		switch {
		case ferr == nil:
			t.Errorf("allocating 512 MiB with MemorySize 128 = %v; want a function error", r)
		case ferr.ErrorType == "Runtime.OutOfMemory" || ferr.ErrorType == "Runtime.ExitError":
			t.Logf("alloc 512 MiB: %s after %v", ferr, took.Round(time.Millisecond))
		default:
			t.Errorf("alloc 512 MiB = %s after %v; want Runtime.OutOfMemory or Runtime.ExitError\n%s", ferr, took, ferr.tail)
		}
		a.checkAfter(t)
	})

	t.Run("fork bomb", func(t *testing.T) {
		// One CPU, so that it gets to the limit of 1024 processes and
		// threads: with 72 millicores it starts fewer than 50 children in
		// ten seconds, and their runtimes' own threads take the rest.
		r, ferr, took := a.invoke(t, abuseBigFunction, "forkbomb", "exec")
		if ferr != nil {
			t.Fatalf("fork bomb: %s\n%s", ferr, ferr.tail)
		}
		t.Logf("fork bomb: %v after %d children, in %v", r, r.Count, took.Round(time.Millisecond))
		if r.Errno != "EAGAIN" || r.Count == 0 {
			t.Errorf("fork bomb = %v after %d children; want EAGAIN", r, r.Count)
		}
		a.checkAfter(t)
	})

	t.Run("fork bomb left behind", func(t *testing.T) {
		// Forks until the timeout is near and leaves every child running
		// for the platform to kill. What the environment's cgroup holds
		// meanwhile is sampled, to show where the time goes.
		env := a.attempt(t, "whoami", "").Info["environment"]
		stop := make(chan struct{})
		samples := make(chan string, 1)
		go func() {
			var log []string
			start := time.Now()
			for {
				select {
				case <-stop:
					samples <- strings.Join(log, "\n")
					return
				case <-t.Context().Done():
					return
				case <-time.After(250 * time.Millisecond):
				}
				pids, ok := cgroupValue(a.cgroups, env, "pids.current", "")
				throttled, _ := cgroupValue(a.cgroups, env, "cpu.stat", "nr_throttled ")
				if ok {
					log = append(log, fmt.Sprintf("%6v: %4d tasks, throttled in %d periods", time.Since(start).Round(time.Millisecond), pids, throttled))
				}
			}
		}()
		_, ferr, took := a.invoke(t, abuseFunction, "forkbomb", "fork-leave")
		close(stop)
		t.Logf("the environment's cgroup, every 250 ms until the answer:\n%s", <-samples)
		expectTimeout(t, "fork bomb left behind", ferr, took)
		if took > abuseTimeout+timeoutSlack {
			t.Errorf("the answer waited for the environment's teardown: killing pid 1 of its pid namespace returns only when " +
				"every process in it has exited, and each exit runs under the environment's own CPU quota (72 millicores here), " +
				"so a function that leaves processes behind delays its timeout's answer, and holds its lease and billed duration, " +
				"by milliseconds per process")
		}
		if left := waitGone(t, env); len(left) > 0 {
			t.Errorf("after its environment was destroyed, %d of its processes remain on the host: %v", len(left), left)
		}
		a.checkAfter(t)
	})

	t.Run("cpu", func(t *testing.T) {
		r := a.attempt(t, "spin", "0.5")
		t.Logf("spin 0.5 s: %v on %d goroutines", r, r.Count)
		env := a.attempt(t, "whoami", "").Info["environment"]
		type result struct {
			ferr *functionError
			took time.Duration
			err  error
		}
		done := make(chan result, 1)
		go func() {
			_, ferr, took, err := a.tryInvoke(t.Context(), abuseFunction, "spin", "forever")
			done <- result{ferr, took, err}
		}()
		time.Sleep(500 * time.Millisecond)
		throttled := cpuThrottled(t, a.cgroups, env)
		for range 3 {
			start := time.Now()
			b := invokeCounter(t, a.c, "bystander", "bystander")
			if took := time.Since(start); took > time.Second || b.Environment != a.bystander.Environment || b.Count != a.bystander.Count+1 {
				t.Errorf("while the abuser spins: bystander = %+v after %v; want its warm environment, within a second", b, took)
			}
			a.bystander = b
			time.Sleep(200 * time.Millisecond)
		}
		if later := cpuThrottled(t, a.cgroups, env); later <= throttled {
			t.Errorf("the spinning environment's cgroup was throttled %d times, then %d; want its CPU quota to bite", throttled, later)
		} else {
			t.Logf("the spinning environment's CPU quota throttled it %d times in 600 ms", later-throttled)
		}
		res := <-done
		if res.err != nil {
			t.Fatal(res.err)
		}
		expectTimeout(t, "spin forever", res.ferr, res.took)
		a.checkAfter(t)
	})

	t.Run("stdout flood", func(t *testing.T) {
		before := rssKB(t, a.serverPID)
		r := a.attempt(t, "flood", "100")
		after := rssKB(t, a.serverPID)
		t.Logf("flood: %v after %d bytes; server RSS %d kB -> %d kB", r, r.Bytes, before, after)
		if !r.OK || r.Bytes < 100e6 {
			t.Errorf("flood = %v after %d bytes; want 100 MB written", r, r.Bytes)
		}
		if after-before > 50<<10 {
			t.Errorf("the server's RSS grew by %d kB while the function wrote 100 MB; want under 50 MB", after-before)
		}
		if strings.Contains(a.s.output.String(), "flood flood") {
			t.Errorf("the function's output reached the platform log")
		}
		a.checkAfter(t)
	})

	t.Run("exit and hang", func(t *testing.T) {
		_, ferr, _ := a.invoke(t, abuseFunction, "exit", "3")
		t.Logf("exit 3: %s", ferr)
		if ferr == nil || ferr.ErrorType != "Runtime.ExitError" || !strings.Contains(ferr.ErrorMessage, "status 3") {
			t.Errorf("exit 3 = %s; want Runtime.ExitError with status 3", ferr)
		}
		_, ferr, took := a.invoke(t, abuseFunction, "hang", "")
		expectTimeout(t, "hang", ferr, took)
		a.checkAfter(t)
	})

	t.Run("daemon", func(t *testing.T) {
		r := a.attempt(t, "daemon", "")
		env := a.attempt(t, "whoami", "").Info["environment"]
		t.Logf("daemon: %v, pid %v inside (%s), environment %s", r, r.Pids, strings.TrimSpace(r.Text), env)
		if !r.OK || len(r.Pids) != 1 {
			t.Fatalf("daemon = %v", r)
		}
		alive := envProcesses(t, env)
		t.Logf("the environment's processes on the host: %v", alive)
		if !slices.ContainsFunc(alive, func(p hostProcess) bool { return p.innerPID() == r.Pids[0] }) {
			t.Errorf("the daemon (pid %d inside) is not among the environment's processes on the host %v", r.Pids[0], alive)
		}
		// Updating the function retires its environments.
		if _, err := a.c.UpdateFunctionConfiguration(ctx(t), &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String(abuseFunction),
			Description: aws.String("retire the daemon's environment")}); err != nil {
			t.Fatal(err)
		}
		if left := waitGone(t, env); len(left) > 0 {
			t.Errorf("after its environment was retired, its processes remain on the host: %v", left)
		}
		a.checkAfter(t)
	})

	for _, fn := range []string{abuseFunction, abuseSlowFunction, abuseBigFunction} {
		if _, err := a.c.DeleteFunction(ctx(t), &lambda.DeleteFunctionInput{FunctionName: aws.String(fn)}); err != nil {
			t.Fatalf("DeleteFunction %s: %v", fn, err)
		}
	}
	samePIDs := func(x, y hostProcess) bool { return x.pid == y.pid }
	var (
		procs   []hostProcess
		cgroups []string
	)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		procs, cgroups = sandboxProcessesOf(t, a.cgroups), envCgroups(t, a.cgroups)
		if slices.EqualFunc(procs, beforeProcs, samePIDs) && slices.Equal(cgroups, beforeCgroups) {
			break
		}
	}
	if !slices.EqualFunc(procs, beforeProcs, samePIDs) {
		t.Errorf("after deleting the abuser's functions, the sandbox processes are %v; want only the bystander's %v", procs, beforeProcs)
	}
	if !slices.Equal(cgroups, beforeCgroups) {
		t.Errorf("after deleting the abuser's functions, the sandbox cgroups are %v; want only the bystander's %v", cgroups, beforeCgroups)
	}
	for _, m := range hostMounts(t) {
		if !slices.Contains(beforeMounts, m) {
			t.Errorf("a mount appeared on the host during the abuse: %s", m)
		}
	}
	a.checkAfter(t)
	t.Logf("abuse suite: %v", time.Since(start).Round(time.Millisecond))
}

// waitGone waits up to five seconds for environment env's processes to
// leave the host, and returns those that remain.
func waitGone(t testing.TB, env string) []hostProcess {
	t.Helper()
	var left []hostProcess
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if left = envProcesses(t, env); len(left) == 0 {
			break
		}
	}
	return left
}

// cgroupValue reads key (a line "key value" of file, or the whole file
// when key is empty) of environment env's cgroup in whichever of dirs has
// the file.
func cgroupValue(dirs []string, env, file, key string) (int, bool) {
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, env, file))
		if err != nil {
			continue
		}
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(line, key); ok {
				n, err := strconv.Atoi(strings.TrimSpace(v))
				return n, err == nil
			}
		}
	}
	return 0, false
}

// cpuThrottled returns how many CFS periods environment env's cgroup has
// been throttled in.
func cpuThrottled(t testing.TB, dirs []string, env string) int {
	t.Helper()
	n, ok := cgroupValue(dirs, env, "cpu.stat", "nr_throttled ")
	if !ok {
		t.Fatalf("no cpu.stat for environment %q in %v", env, dirs)
	}
	return n
}

// hostProcess is a process of the host that runs as a sandbox user.
type hostProcess struct {
	pid    int
	uid    int
	nspid  []int  // its pid in each pid namespace, the host's first
	cgroup string // its memory cgroup (or the v2 one)
	cmd    string
}

func (p hostProcess) innerPID() int { return p.nspid[len(p.nspid)-1] }

func (p hostProcess) String() string {
	return fmt.Sprintf("%d(uid %d, nspid %v, %s, %s)", p.pid, p.uid, p.nspid, p.cmd, filepath.Base(p.cgroup))
}

// sandboxProcesses lists the host's processes that run as a sandbox user.
func sandboxProcesses(t testing.TB) []hostProcess {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var procs []hostProcess
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		status, err := os.ReadFile("/proc/" + e.Name() + "/status")
		if err != nil {
			continue // exited meanwhile
		}
		p := hostProcess{pid: pid, uid: -1}
		for line := range strings.Lines(string(status)) {
			k, v, _ := strings.Cut(line, ":")
			f := strings.Fields(v)
			switch {
			case k == "Uid" && len(f) > 0:
				p.uid, _ = strconv.Atoi(f[0])
			case k == "NSpid":
				for _, s := range f {
					n, _ := strconv.Atoi(s)
					p.nspid = append(p.nspid, n)
				}
			case k == "Name" && len(f) > 0:
				p.cmd = f[0]
			}
		}
		if p.uid != sandboxRootHostID && p.uid != sandboxUserHostID {
			continue
		}
		cg, _ := os.ReadFile("/proc/" + e.Name() + "/cgroup")
		for line := range strings.Lines(string(cg)) {
			parts := strings.SplitN(strings.TrimSpace(line), ":", 3)
			if len(parts) == 3 && (slices.Contains(strings.Split(parts[1], ","), "memory") || parts[0] == "0" && p.cgroup == "") {
				p.cgroup = parts[2]
			}
		}
		procs = append(procs, p)
	}
	return procs
}

// sandboxProcessesOf lists the sandbox processes in the server's cgroups.
func sandboxProcessesOf(t testing.TB, cgroups []string) []hostProcess {
	t.Helper()
	var mine []hostProcess
	for _, p := range sandboxProcesses(t) {
		for _, dir := range cgroups {
			if strings.Contains(p.cgroup, "/"+filepath.Base(dir)+"/") {
				mine = append(mine, p)
				break
			}
		}
	}
	return mine
}

// stableSandboxProcesses waits until the server's sandbox processes stop
// changing (a blank environment may be starting) and returns them.
func stableSandboxProcesses(t testing.TB, a *abuseSuite) []hostProcess {
	t.Helper()
	prev := sandboxProcessesOf(t, a.cgroups)
	for stable := 0; stable < 5; stable++ {
		time.Sleep(100 * time.Millisecond)
		cur := sandboxProcessesOf(t, a.cgroups)
		if !slices.EqualFunc(cur, prev, func(x, y hostProcess) bool { return x.pid == y.pid }) {
			stable = 0
		}
		prev = cur
	}
	return prev
}

// envProcesses lists the host's processes in environment env's cgroup.
func envProcesses(t testing.TB, env string) []hostProcess {
	t.Helper()
	var procs []hostProcess
	for _, p := range sandboxProcesses(t) {
		if env != "" && strings.HasSuffix(p.cgroup, "/"+env) {
			procs = append(procs, p)
		}
	}
	return procs
}

// sandboxCgroups returns the server's sandbox cgroup directory,
// <hierarchy>/<server's cgroup>/bulkhead-<hash of the data directory>, in
// each hierarchy that serves memory, cpu or pids.
func sandboxCgroups(t testing.TB, serverPID int, dataDir string) []string {
	t.Helper()
	sum := sha256.Sum256([]byte(dataDir))
	name := "bulkhead-" + hex.EncodeToString(sum[:6])
	own, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", serverPID))
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for line := range strings.Lines(string(own)) {
		parts := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(parts) != 3 {
			continue
		}
		for mount := range strings.Lines(string(info)) {
			fields := strings.Fields(mount)
			sep := slices.Index(fields, "-")
			if sep < 0 || sep+3 >= len(fields) || fields[3] != "/" {
				continue
			}
			fstype, options := fields[sep+1], strings.Split(fields[sep+3], ",")
			v1 := fstype == "cgroup" && parts[1] != "" && slices.ContainsFunc(strings.Split(parts[1], ","), func(c string) bool {
				return (c == "memory" || c == "cpu" || c == "pids") && slices.Contains(options, c)
			})
			v2 := fstype == "cgroup2" && parts[0] == "0"
			if !v1 && !v2 {
				continue
			}
			dir := filepath.Join(fields[4], parts[2], name)
			if _, err := os.Stat(dir); err == nil && !slices.Contains(dirs, dir) {
				dirs = append(dirs, dir)
			}
		}
	}
	if len(dirs) == 0 {
		t.Fatalf("no cgroup directory %s of the server's: the checks of what is left would be empty", name)
	}
	t.Logf("the server's sandbox cgroups: %v", dirs)
	return dirs
}

// envCgroups lists the environments' cgroups, as "<dir>/<env id>", sorted.
func envCgroups(t testing.TB, dirs []string) []string {
	t.Helper()
	var envs []string
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.IsDir() {
				envs = append(envs, filepath.Join(dir, e.Name()))
			}
		}
	}
	slices.Sort(envs)
	return envs
}

// hostMounts lists the test process's mounts as "mount point type source".
func hostMounts(t testing.TB) []string {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		sep := slices.Index(fields, "-")
		if sep < 0 || sep+2 >= len(fields) {
			continue
		}
		out = append(out, fields[4]+" "+fields[sep+1]+" "+fields[sep+2])
	}
	return out
}

// hostAddresses returns the host's non-loopback IPv4 addresses.
func hostAddresses(t testing.TB) []string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	var ips []string
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			ips = append(ips, n.IP.String())
		}
	}
	return ips
}

// rssKB returns VmRSS of process pid.
func rssKB(t testing.TB, pid int) int {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}
