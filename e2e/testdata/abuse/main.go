//go:build linux

// Command abuse is a Lambda function, built on the unmodified aws-lambda-go,
// that tries to break out of its sandbox: the e2e abuse suite invokes it
// with {"action": "...", "arg": "..."}, and it makes one attempt and reports
// what the kernel told it, so the test asserts on the errno seen inside.
//
// The same binary is its own child: re-executed with ABUSE_ROLE set, it
// sleeps (the fork bomb's children) or daemonizes (the leftover check)
// instead of serving.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"golang.org/x/sys/unix"
)

type request struct {
	Action string `json:"action"`
	Arg    string `json:"arg"`
}

// result is what every action answers. Err and Errno describe the attempt's
// failure: the error's text and, when it carries one, the errno's name
// ("EPERM").
type result struct {
	OK    bool              `json:"ok"`
	Err   string            `json:"err,omitempty"`
	Errno string            `json:"errno,omitempty"`
	Count int               `json:"count,omitempty"`
	Bytes int64             `json:"bytes,omitempty"`
	Pids  []int             `json:"pids,omitempty"`
	Names []string          `json:"names,omitempty"`
	Text  string            `json:"text,omitempty"`
	Info  map[string]string `json:"info,omitempty"`
}

// outcome turns one attempt's error into a result.
func outcome(err error) result {
	if err == nil {
		return result{OK: true}
	}
	r := result{Err: err.Error()}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		r.Errno = unix.ErrnoName(errno)
	}
	return r
}

// startFDs are the descriptors the program was started with, as
// "fd -> target", read before the runtime opens its own.
var startFDs = listFDs()

func listFDs() []string {
	// Raw calls: os.Open would start the runtime's poller, whose
	// descriptors would then be listed too.
	dir, err := unix.Open("/proc/self/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return []string{"error: " + err.Error()}
	}
	defer unix.Close(dir)
	var names []string
	buf := make([]byte, 8192)
	for {
		n, err := unix.ReadDirent(dir, buf)
		if err != nil || n <= 0 {
			break
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
	var fds []string
	for _, name := range names {
		if name == strconv.Itoa(dir) {
			continue // the listing's own
		}
		target, _ := os.Readlink("/proc/self/fd/" + name)
		fds = append(fds, name+" -> "+target)
	}
	return fds
}

// readFD reads, without taking it over, a descriptor the program was
// started with, if it is the file the test planted (named host-secret):
// the others may belong to whatever started the server.
func readFD(arg string) result {
	fd, err := strconv.Atoi(arg)
	if err != nil {
		return outcome(err)
	}
	target, err := os.Readlink("/proc/self/fd/" + arg)
	if err != nil {
		return outcome(err)
	}
	if !strings.Contains(target, "host-secret") {
		return result{Err: "not the planted file: " + target}
	}
	buf := make([]byte, 4096)
	n, err := unix.Pread(fd, buf, 0)
	r := outcome(err)
	r.Text = string(buf[:max(n, 0)])
	return r
}

func handle(ctx context.Context, req request) (result, error) {
	switch req.Action {
	case "read":
		return readPath(req.Arg), nil
	case "read-fd":
		return readFD(req.Arg), nil
	case "ps":
		return processes(), nil
	case "kill":
		pid, _ := strconv.Atoi(req.Arg)
		return outcome(unix.Kill(pid, unix.SIGKILL)), nil
	case "ptrace-traceme":
		return onOwnThread(func() error {
			_, _, errno := unix.RawSyscall(unix.SYS_PTRACE, unix.PTRACE_TRACEME, 0, 0)
			if errno != 0 {
				return errno
			}
			return nil
		}), nil
	case "ptrace-attach":
		return ptraceAttach(req.Arg), nil
	case "mount":
		return outcome(unix.Mount("tmpfs", req.Arg, "tmpfs", 0, "size=1m")), nil
	case "unshare":
		return onOwnThread(func() error { return unix.Unshare(unix.CLONE_NEWUSER) }), nil
	case "clone-newuser":
		cmd := child("sleep")
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWUSER}
		r := outcome(cmd.Start())
		if r.OK {
			cmd.Process.Kill()
			cmd.Wait()
		}
		return r, nil
	case "syscall":
		return deniedCall(req.Arg), nil
	case "socket":
		return openSocket(req.Arg), nil
	case "connect":
		c, err := net.DialTimeout("tcp", req.Arg, 2*time.Second)
		if err == nil {
			c.Close()
		}
		return outcome(err), nil
	case "udp":
		c, err := net.Dial("udp", req.Arg)
		if err == nil {
			_, err = c.Write([]byte("hello"))
			c.Close()
		}
		return outcome(err), nil
	case "interfaces":
		return interfaces(), nil
	case "runtime-api":
		return runtimeAPI(req.Arg), nil
	case "write":
		return outcome(os.WriteFile(req.Arg, []byte("owned\n"), 0o644)), nil
	case "fill":
		return fill(req.Arg), nil
	case "alloc":
		mib, _ := strconv.Atoi(req.Arg)
		return alloc(mib), nil
	case "forkbomb":
		return forkBomb(ctx, req.Arg), nil
	case "spin":
		return spin(req.Arg), nil
	case "flood":
		return flood(req.Arg), nil
	case "daemon":
		return daemon(), nil
	case "exit":
		code, _ := strconv.Atoi(req.Arg)
		os.Exit(code)
	case "hang":
		select {}
	case "whoami":
		return whoami(ctx), nil
	}
	return result{}, fmt.Errorf("unknown action %q", req.Action)
}

// alloc maps mib MiB, 16 MiB at a time, and touches every page. The
// kernel populates each mapping (MAP_POPULATE): faulting the pages in one by
// one from user space costs so much more, on a virtual machine, that the
// sandbox's CPU share would not reach the memory limit before the timeout.
func alloc(mib int) result {
	var maps [][]byte
	t0 := time.Now()
	for len(maps)*16 < mib {
		mem, err := unix.Mmap(-1, 0, 16<<20, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_POPULATE)
		if err != nil {
			r := outcome(err)
			r.Bytes = int64(len(maps)) << 24
			return r
		}
		for i := 0; i < len(mem); i += 4096 {
			mem[i] = 1
		}
		maps = append(maps, mem)
		fmt.Println("touched", len(maps)*16, "MiB after", time.Since(t0))
	}
	return result{OK: true, Bytes: int64(len(maps)) << 24}
}

func readPath(path string) result {
	f, err := os.Open(path)
	if err != nil {
		return outcome(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return outcome(err)
	}
	if fi.IsDir() {
		names, err := f.Readdirnames(-1)
		r := outcome(err)
		r.Names = names
		return r
	}
	b, err := io.ReadAll(io.LimitReader(f, 4096))
	r := outcome(err)
	r.Text = string(b)
	return r
}

// processes lists the pids in /proc, each with its /proc/<pid>/stat.
func processes() result {
	entries, err := os.ReadDir("/proc")
	r := outcome(err)
	r.Info = map[string]string{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		r.Pids = append(r.Pids, pid)
		stat, _ := os.ReadFile("/proc/" + e.Name() + "/stat")
		r.Info[e.Name()] = strings.TrimSpace(string(stat))
	}
	sort.Ints(r.Pids)
	return r
}

// onOwnThread runs f on a locked thread that is never given back: if f
// changed the thread (a successful unshare), the runtime ends the thread
// rather than let other goroutines run on it.
func onOwnThread(f func() error) result {
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		ch <- f()
	}()
	return outcome(<-ch)
}

// ptraceAttach attaches to pid, or to a child of its own when arg is
// "child": the kernel never lets a process attach to itself (pid 1 here),
// but to its own child only the seccomp filter stands in the way.
func ptraceAttach(arg string) result {
	pid, _ := strconv.Atoi(arg)
	if arg == "child" {
		cmd := child("sleep")
		if err := cmd.Start(); err != nil {
			return outcome(err)
		}
		defer func() {
			cmd.Process.Kill()
			cmd.Wait()
		}()
		pid = cmd.Process.Pid
	}
	return onOwnThread(func() error {
		err := unix.PtraceAttach(pid)
		if err == nil {
			unix.PtraceDetach(pid)
		}
		return err
	})
}

// deniedCall makes a system call the sandbox's filter denies, with
// arguments that would be harmless if it were allowed.
func deniedCall(name string) result {
	var errno syscall.Errno
	switch name {
	case "bpf":
		_, _, errno = unix.Syscall(unix.SYS_BPF, 0 /* BPF_MAP_CREATE */, 0, 0)
	case "io_uring_setup":
		var params [120]byte
		_, _, errno = unix.Syscall(unix.SYS_IO_URING_SETUP, 1, uintptr(unsafe.Pointer(&params)), 0)
	case "userfaultfd":
		_, _, errno = unix.Syscall(unix.SYS_USERFAULTFD, unix.O_CLOEXEC, 0, 0)
	case "keyctl":
		_, _, errno = unix.Syscall(unix.SYS_KEYCTL, unix.KEYCTL_GET_KEYRING_ID, uintptr(^uint32(2)) /* KEY_SPEC_SESSION_KEYRING, -3 */, 0)
	case "perf_event_open":
		var attr unix.PerfEventAttr
		attr.Size = uint32(unsafe.Sizeof(attr))
		attr.Type = unix.PERF_TYPE_SOFTWARE
		attr.Config = unix.PERF_COUNT_SW_CPU_CLOCK
		_, _, errno = unix.Syscall6(unix.SYS_PERF_EVENT_OPEN, uintptr(unsafe.Pointer(&attr)), 0, ^uintptr(0), ^uintptr(0), 0, 0)
	case "sethostname":
		errno = errnoOf(unix.Sethostname([]byte("escaped")))
	case "setuid0":
		errno = errnoOf(unix.Setresuid(0, 0, 0))
	case "chroot":
		errno = errnoOf(unix.Chroot("/tmp"))
	case "mknod":
		errno = errnoOf(unix.Mknod("/tmp/null", unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
	case "open_by_handle_at":
		_, _, errno = unix.Syscall6(unix.SYS_OPEN_BY_HANDLE_AT, ^uintptr(99) /* AT_FDCWD, -100 */, 0, 0, 0, 0, 0)
	case "clone3":
		_, _, errno = unix.Syscall(unix.SYS_CLONE3, 0, 0, 0)
	default:
		return result{Err: "unknown call " + name}
	}
	if errno == 0 {
		return result{OK: true}
	}
	return outcome(errno)
}

func errnoOf(err error) syscall.Errno {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return 0
}

func openSocket(kind string) result {
	var fd int
	var err error
	switch kind {
	case "raw":
		fd, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_ICMP)
	case "packet":
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, int(htons(unix.ETH_P_ALL)))
	default:
		return result{Err: "unknown socket " + kind}
	}
	if err == nil {
		unix.Close(fd)
	}
	return outcome(err)
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// interfaces lists the network interfaces and their addresses.
func interfaces() result {
	ifs, err := net.Interfaces()
	r := outcome(err)
	for _, i := range ifs {
		addrs, _ := i.Addrs()
		s := i.Name + " " + i.Flags.String()
		for _, a := range addrs {
			s += " " + a.String()
		}
		r.Names = append(r.Names, s)
	}
	return r
}

// runtimeAPI sends a request to the Runtime API this environment was given
// (127.0.0.1:9001): "next" asks for an invocation while one is running,
// anything else is taken as a request id to answer for.
func runtimeAPI(arg string) result {
	base := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/invocation/"
	c := &http.Client{Timeout: 2 * time.Second}
	var resp *http.Response
	var err error
	if arg == "next" {
		resp, err = c.Get(base + "next")
	} else {
		resp, err = c.Post(base+arg+"/response", "application/json", strings.NewReader(`{"stolen":true}`))
	}
	if err != nil {
		return outcome(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return result{OK: true, Count: resp.StatusCode, Text: string(body), Info: map[string]string{
		"api": os.Getenv("AWS_LAMBDA_RUNTIME_API"), "requestId": resp.Header.Get("Lambda-Runtime-Aws-Request-Id"),
	}}
}

// fill writes /tmp full in chunks of 1 MiB, then removes what it wrote.
func fill(dir string) result {
	file := filepath.Join(dir, "fill")
	f, err := os.Create(file)
	if err != nil {
		return outcome(err)
	}
	defer os.Remove(file)
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for i := range chunk {
		chunk[i] = byte(i)
	}
	var n int64
	t0 := time.Now()
	for {
		if n%(16<<20) == 0 {
			fmt.Println("wrote", n>>20, "MiB after", time.Since(t0))
		}
		w, err := f.Write(chunk)
		n += int64(w)
		if err != nil {
			r := outcome(err)
			r.Bytes = n
			return r
		}
		if n > 64<<30 {
			return result{OK: true, Bytes: n, Err: "wrote 64 GiB without an error"}
		}
	}
}

// forkBomb starts children until starting one fails or the timeout is
// near. With arg "exec" each child is this program re-executed, sleeping;
// when starting one fails it kills and reaps them all and reports the
// error. With "fork-leave" each is a bare fork that waits for a signal,
// which costs far less CPU, and they are left for the platform to kill
// when the invocation times out.
func forkBomb(ctx context.Context, arg string) result {
	deadline, _ := ctx.Deadline()
	leave := arg == "fork-leave"
	stop := deadline.Add(-500 * time.Millisecond) // time to clean up
	if leave {
		stop = deadline.Add(-100 * time.Millisecond)
	}
	var (
		cmds []*exec.Cmd
		pids []int
		err  error
	)
	t0 := time.Now()
	for time.Now().Before(stop) {
		if n := len(cmds) + len(pids); n%50 == 0 {
			fmt.Println(n, "children after", time.Since(t0))
		}
		if leave {
			pid, errno := rawFork()
			if errno != 0 {
				err = os.NewSyscallError("fork", errno)
				break
			}
			pids = append(pids, int(pid))
			continue
		}
		cmd := child("sleep")
		if err = cmd.Start(); err != nil {
			break
		}
		cmds = append(cmds, cmd)
	}
	r := outcome(err)
	if err == nil {
		r.Err = "no failure before the deadline"
	}
	r.Count = len(cmds) + len(pids)
	if leave {
		fmt.Println("leaving", r.Count, "children to the platform")
		select {}
	}
	for _, c := range cmds {
		c.Process.Kill()
	}
	for _, c := range cmds {
		c.Wait()
	}
	return r
}

// rawFork forks this process; the child, a copy of this thread alone,
// waits for a signal forever without running any Go code that could
// need the runtime.
//
//go:norace
//go:nosplit
func rawFork() (uintptr, syscall.Errno) {
	pid, _, errno := syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	if pid == 0 {
		for {
			syscall.RawSyscall6(unix.SYS_PPOLL, 0, 0, 0, 0, 0, 0)
		}
	}
	return pid, 0
}

// spin busy-loops on every CPU for arg seconds, or forever when arg is
// "forever".
func spin(arg string) result {
	secs, _ := strconv.ParseFloat(arg, 64)
	end := time.Now().Add(time.Duration(secs * float64(time.Second)))
	var loops atomic.Int64
	done := make(chan struct{})
	n := runtime.NumCPU()
	for range n {
		go func() {
			for i := 0; arg == "forever" || time.Now().Before(end); i++ {
				if i%1024 == 0 {
					loops.Add(1)
				}
			}
			done <- struct{}{}
		}()
	}
	for range n {
		<-done
	}
	return result{OK: true, Count: n, Bytes: loops.Load()}
}

// flood writes arg MB to stdout in 64 KiB chunks.
func flood(arg string) result {
	mb, _ := strconv.Atoi(arg)
	line := strings.Repeat("flood ", 64*1024/6) + "\n"
	var n int64
	for n < int64(mb)*1000*1000 {
		w, err := os.Stdout.WriteString(line)
		n += int64(w)
		if err != nil {
			r := outcome(err)
			r.Bytes = n
			return r
		}
	}
	return result{OK: true, Bytes: n}
}

// daemon double-forks: a child that calls setsid starts a grandchild that
// sleeps forever, reports its pid and exits, leaving it orphaned.
func daemon() result {
	cmd := child("daemonize")
	out, err := cmd.Output()
	if err != nil {
		return outcome(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		return outcome(fmt.Errorf("daemonize said %q", out))
	}
	// Its parent has exited: the grandchild is an orphan of pid 1 now.
	stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return result{OK: true, Pids: []int{pid}, Text: string(stat)}
}

// whoami reports the sandbox as the program sees it.
func whoami(ctx context.Context) result {
	r := result{OK: true, Info: map[string]string{}}
	r.Info["hostname"], _ = os.Hostname()
	status, _ := os.ReadFile("/proc/self/status")
	for line := range strings.Lines(string(status)) {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		switch k {
		case "Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp", "Seccomp_filters", "NSpid":
			r.Info[k] = strings.Join(strings.Fields(v), " ")
		}
	}
	for _, f := range []string{"/proc/self/mountinfo", "/proc/self/uid_map", "/proc/self/cgroup", "/proc/self/cmdline"} {
		b, _ := os.ReadFile(f)
		r.Info[f] = string(b)
	}
	lc, _ := lambdacontext.FromContext(ctx)
	stream := lambdacontext.LogStreamName
	if i := strings.LastIndex(stream, "]"); i >= 0 {
		r.Info["environment"] = stream[i+1:]
	}
	r.Info["tenant"] = lc.TenantID
	r.Info["pid"] = strconv.Itoa(os.Getpid())
	r.Info["fds"] = strings.Join(startFDs, "\n")
	r.Names = os.Environ()
	return r
}

func child(role string) *exec.Cmd {
	cmd := exec.Command("/proc/self/exe")
	cmd.Env = append(os.Environ(), "ABUSE_ROLE="+role, "GOMAXPROCS=1")
	return cmd
}

// runChild plays a child's role; it never returns.
func runChild(role string) {
	switch role {
	case "sleep":
		for {
			time.Sleep(time.Hour)
		}
	case "daemonize":
		if _, err := syscall.Setsid(); err != nil {
			fmt.Fprintln(os.Stderr, "setsid:", err)
			os.Exit(1)
		}
		gc := child("sleep")
		gc.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := gc.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(gc.Process.Pid)
		os.Exit(0)
	}
	os.Exit(2)
}

func main() {
	if role := os.Getenv("ABUSE_ROLE"); role != "" {
		runChild(role)
	}
	lambda.Start(handle)
}
