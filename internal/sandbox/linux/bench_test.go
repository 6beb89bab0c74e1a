package linux

import (
	"fmt"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bulkhead-dev/bulkhead/internal/sandbox"
	"github.com/bulkhead-dev/bulkhead/internal/sandbox/process"
	"github.com/bulkhead-dev/bulkhead/internal/sandbox/sandboxtest"
)

// BenchmarkColdStart measures Start until the program's first request
// reaches its endpoint — the part of a cold start the sandbox adds to — for
// the Linux sandbox and, as the floor, a plain process running the same
// program (this test binary). It reports the median and p99, the server's
// own CPU time per start (this process's user and system time over Start
// and the first request, every thread counted) and, for the Linux sandbox,
// the spawner's. Destroy is not timed.
//
// The ballast variants hold 500 MiB of touched heap while they start
// sandboxes, as a server with a few thousand live environments does: a start
// whose cost grows with the server's memory shows there.
func BenchmarkColdStart(b *testing.B) {
	for _, c := range []struct {
		name      string
		driver    string
		ballastMB int
	}{
		{"linux", "linux", 0},
		{"process", "process", 0},
		{"linux-ballast-500MB", "linux", 500},
		{"process-ballast-500MB", "process", 500},
	} {
		b.Run(c.name, func(b *testing.B) {
			d := benchDriver(b, c.driver)
			code := b.TempDir()
			os.Chmod(code, 0o755)
			sandboxtest.Install(b, code)
			command, env := sandboxtest.Program("ping-endpoint", "")
			ballast := makeBallast(c.ballastMB)
			var (
				times           []time.Duration
				cpu, spawnerCPU time.Duration
				spawnerCPUWorks = true
			)
			i := 0
			for b.Loop() {
				i++
				first := make(chan struct{})
				var once sync.Once
				spec := sandbox.Spec{
					ID:      "bench-" + strconv.Itoa(i),
					Code:    code,
					Command: command,
					Env:     env,
					Endpoint: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						once.Do(func() { close(first) })
						w.Write([]byte("pong"))
					}),
					EndpointEnv: sandboxtest.EndpointEnv,
					Limits:      sandbox.Limits{InitCPUMilli: 2000},
				}
				cpu0, spawner0 := processCPU(), spawnerTime(d)
				t0 := time.Now()
				sb, err := d.Start(b.Context(), spec)
				if err != nil {
					b.Fatal(err)
				}
				select {
				case <-first:
				case <-time.After(10 * time.Second):
					b.Fatal("no request from the program")
				}
				times = append(times, time.Since(t0))
				cpu += processCPU() - cpu0
				if spawner1 := spawnerTime(d); spawner0 >= 0 && spawner1 >= 0 {
					spawnerCPU += spawner1 - spawner0
				} else {
					spawnerCPUWorks = false
				}
				b.StopTimer()
				if err := sb.Destroy(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			runtime.KeepAlive(ballast)
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "ms-p50")
			b.ReportMetric(float64(times[len(times)*99/100].Microseconds())/1000, "ms-p99")
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(len(times)), "server-cpu-ms/start")
			if c.driver == "linux" && spawnerCPUWorks {
				b.ReportMetric(float64(spawnerCPU.Microseconds())/1000/float64(len(times)), "spawner-cpu-ms/start")
			}
		})
	}
}

// makeBallast returns mb MiB of heap with every page written, so that the
// process's page tables map all of it.
func makeBallast(mb int) [][]byte {
	ballast := make([][]byte, mb)
	for i := range ballast {
		ballast[i] = make([]byte, 1<<20)
		for j := 0; j < len(ballast[i]); j += os.Getpagesize() {
			ballast[i][j] = 1
		}
	}
	return ballast
}

// spawnerTime is the CPU time d's spawner has used, all its threads
// counted (from each thread's schedstat), or -1 when d is no Linux driver
// or the kernel does not say.
func spawnerTime(d sandbox.Driver) time.Duration {
	ld, ok := d.(*Driver)
	if !ok {
		return -1
	}
	pid := spawnerPid(ld)
	tasks, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	if err != nil {
		return -1
	}
	var total time.Duration
	for _, task := range tasks {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + task.Name() + "/schedstat")
		if err != nil {
			return -1
		}
		var ns int64
		if _, err := fmt.Sscan(string(b), &ns); err != nil {
			return -1
		}
		total += time.Duration(ns)
	}
	return total
}

// processCPU is the user and system time this process has used, all its
// threads counted.
func processCPU() time.Duration {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchDriver returns a driver of the named kind for a benchmark.
func benchDriver(b *testing.B, name string) sandbox.Driver {
	b.Helper()
	if name == "process" {
		d, err := process.New(b.TempDir(), nil)
		if err != nil {
			b.Fatal(err)
		}
		return d
	}
	if os.Geteuid() != 0 {
		b.Skip("skipping: the Linux sandbox needs root")
	}
	d, err := New(Options{Key: b.Name() + strconv.FormatInt(time.Now().UnixNano(), 10)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.cgroups.Sweep(); d.Close() })
	return d
}

// BenchmarkListenInside measures what the Runtime API transport costs at
// each sandbox start: entering a sandbox's network namespace, bringing lo
// up, listening on 127.0.0.1:9001 and returning.
func BenchmarkListenInside(b *testing.B) {
	d := benchDriver(b, "linux")
	code := b.TempDir()
	os.Chmod(code, 0o755)
	sandboxtest.Install(b, code)
	command, env := sandboxtest.Program("sleep-forever", "")
	sb, err := d.Start(b.Context(), sandbox.Spec{ID: "bench-listen", Code: code, Command: command, Env: env})
	if err != nil {
		b.Fatal(err)
	}
	defer sb.Destroy()
	pidfd := sb.(*linuxSandbox).pidfd
	var times []time.Duration
	for b.Loop() {
		t0 := time.Now()
		l, err := listenInside(pidfd)
		if err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(t0))
		l.Close()
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Microseconds()), "µs-p50")
	b.ReportMetric(float64(times[len(times)*99/100].Microseconds()), "µs-p99")
}
