package linux

import (
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/sandbox"
	"github.com/bulkhead-dev/bulkhead/internal/sandbox/process"
	"github.com/bulkhead-dev/bulkhead/internal/sandbox/sandboxtest"
)

// BenchmarkColdStart measures Start until the program's first request
// reaches its endpoint — the part of a cold start the sandbox adds to — for
// the Linux sandbox and, as the floor, a plain process running the same
// program (this test binary). It reports the median and p99; Destroy is not
// timed.
func BenchmarkColdStart(b *testing.B) {
	for _, name := range []string{"linux", "process"} {
		b.Run(name, func(b *testing.B) {
			d := benchDriver(b, name)
			code := b.TempDir()
			os.Chmod(code, 0o755)
			sandboxtest.Install(b, code)
			command, env := sandboxtest.Program("ping-endpoint", "")
			var times []time.Duration
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
				b.StopTimer()
				if err := sb.Destroy(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "ms-p50")
			b.ReportMetric(float64(times[len(times)*99/100].Microseconds())/1000, "ms-p99")
		})
	}
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
	pid := sb.(*linuxSandbox).pid
	var times []time.Duration
	for b.Loop() {
		t0 := time.Now()
		l, err := listenInside(pid)
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
