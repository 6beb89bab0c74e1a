package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// reportLatency adds the median and p99 of durations to the benchmark.
func reportLatency(b *testing.B, durations []time.Duration) {
	if len(durations) == 0 {
		return
	}
	slices.Sort(durations)
	at := func(q float64) float64 {
		return float64(durations[min(len(durations)-1, int(q*float64(len(durations))))].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op") // the whole loop's mean hides the tail; read the percentiles
}

// isolations runs a benchmark once per isolation level: the Linux sandbox
// (when this process may build it) and plain processes, the floor it is
// measured against.
func isolations(b *testing.B, bench func(b *testing.B, isolation string)) {
	for _, isolation := range []string{"linux", "process"} {
		b.Run("isolation="+isolation, func(b *testing.B) {
			if isolation == "linux" && os.Geteuid() != 0 {
				b.Skip("skipping: the Linux sandbox needs root")
			}
			bench(b, isolation)
		})
	}
}

// warmMemory are the function sizes the invoke benchmarks run at: 1769 MB,
// one full CPU in the Linux sandbox, shows the invocation path's latency;
// 128 MB shows what the proportional CPU quota (7% of a CPU) does to a
// function invoked back to back, or to a first invocation's cold code paths.
var warmMemory = []int32{1769, 128}

// setMemory changes a function's MemorySize.
func setMemory(b *testing.B, c *lambda.Client, fn string, mb int32) {
	b.Helper()
	if _, err := c.UpdateFunctionConfiguration(ctx(b), &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String(fn), MemorySize: aws.Int32(mb)}); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkInvokeWarm measures a warm invocation of a per-tenant aws-lambda-go
// function through the Lambda API with the AWS SDK, at concurrency 1.
func BenchmarkInvokeWarm(b *testing.B) {
	isolations(b, func(b *testing.B, isolation string) {
		for _, mb := range warmMemory {
			b.Run(fmt.Sprintf("memory=%d", mb), func(b *testing.B) {
				s := startServerArgs(b, b.TempDir(), "--isolation", isolation)
				c := s.client()
				createGo(b, c, "warm", "handler", true, 10)
				setMemory(b, c, "warm", mb)
				invokeOK(b, c, "warm", "bench") // cold start outside the measurement
				var d []time.Duration
				for b.Loop() {
					start := time.Now()
					invokeOK(b, c, "warm", "bench")
					d = append(d, time.Since(start))
				}
				reportLatency(b, d)
			})
		}
	})
}

// BenchmarkInvokeNewTenant measures the first invocation of a tenant that has
// no environment, with pre-initialised blanks off and on.
func BenchmarkInvokeNewTenant(b *testing.B) {
	isolations(b, func(b *testing.B, isolation string) { benchNewTenant(b, isolation) })
}

func benchNewTenant(b *testing.B, isolation string) {
	for _, mb := range warmMemory {
		for _, blanks := range []int{0, 1} {
			b.Run(fmt.Sprintf("memory=%d/blanks=%d", mb, blanks), func(b *testing.B) {
				s := startServerArgs(b, b.TempDir(), "--blanks", fmt.Sprint(blanks), "--isolation", isolation)
				c := s.client()
				createGo(b, c, "cold", "counter", true, 10)
				setMemory(b, c, "cold", mb)
				invokeCounter(b, c, "cold", "warmup") // the version's first invocation starts its blanks
				var d []time.Duration
				i := 0
				for b.Loop() {
					b.StopTimer()
					time.Sleep(300 * time.Millisecond) // let the blank refill finish, as between real arrivals
					b.StartTimer()
					i++
					start := time.Now()
					r := invokeCounter(b, c, "cold", fmt.Sprintf("tenant-%d", i))
					d = append(d, time.Since(start))
					if r.Count != 1 {
						b.Fatalf("tenant-%d was not new: count %d", i, r.Count)
					}
				}
				reportLatency(b, d)
			})
		}
	}
}

// BenchmarkInvokeWarmRawHTTP measures the same warm invocation as a bare
// signed HTTP request on a kept-alive connection, without the SDK's
// middleware: the figure to hold against the Runtime Interface Emulator's
// (which takes unauthenticated HTTP).
func BenchmarkInvokeWarmRawHTTP(b *testing.B) {
	isolations(b, func(b *testing.B, isolation string) {
		for _, mb := range warmMemory {
			b.Run(fmt.Sprintf("memory=%d", mb), func(b *testing.B) { benchWarmRawHTTP(b, isolation, mb) })
		}
	})
}

func benchWarmRawHTTP(b *testing.B, isolation string, mb int32) {
	s := startServerArgs(b, b.TempDir(), "--isolation", isolation)
	c := s.client()
	createGo(b, c, "warm", "handler", true, 10)
	setMemory(b, c, "warm", mb)
	invokeOK(b, c, "warm", "bench")
	client := &http.Client{}
	signer := v4.NewSigner()
	creds := aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecret}
	body := []byte(`{}`)
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	var d []time.Duration
	for b.Loop() {
		start := time.Now()
		req, _ := http.NewRequest("POST", "http://"+s.api+"/2015-03-31/functions/warm/invocations", bytes.NewReader(body))
		req.Header.Set("X-Amz-Tenant-Id", "bench")
		if err := signer.SignHTTP(b.Context(), creds, req, hash, "lambda", testRegion, time.Now()); err != nil {
			b.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("X-Amz-Function-Error") != "" {
			b.Fatalf("status %d", resp.StatusCode)
		}
		d = append(d, time.Since(start))
	}
	reportLatency(b, d)
}

// BenchmarkIdleEnvironmentMemory measures what an idle, warm environment of
// an aws-lambda-go function costs: the memory charged to the environments'
// cgroups (every process, kernel memory included), averaged over several
// tenants' environments. Linux sandbox only: plain processes have no cgroup.
func BenchmarkIdleEnvironmentMemory(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("skipping: the Linux sandbox needs root")
	}
	const tenants = 20
	for b.Loop() {
		dir := b.TempDir()
		s := startServerArgs(b, dir, "--blanks", "0")
		c := s.client()
		createGo(b, c, "idle", "counter", true, 10)
		for i := range tenants {
			invokeCounter(b, c, "idle", fmt.Sprintf("tenant-%d", i))
		}
		time.Sleep(200 * time.Millisecond) // let the last responses settle
		usage, n := envCgroupMemory(b, dir)
		if n != tenants {
			b.Fatalf("found %d environment cgroups, want %d", n, tenants)
		}
		b.ReportMetric(float64(usage)/float64(n)/(1<<20), "MiB/env")
		b.ReportMetric(0, "ns/op")
		s.stop(10 * time.Second)
	}
}

// envCgroupMemory sums memory.usage_in_bytes over the environment cgroups of
// the server whose data directory is dataDir.
func envCgroupMemory(b *testing.B, dataDir string) (usage int64, envs int) {
	b.Helper()
	for _, dir := range serverEnvCgroups(b, dataDir, "memory") {
		raw, err := os.ReadFile(filepath.Join(dir, "memory.usage_in_bytes"))
		if err != nil {
			b.Fatal(err)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
		if err != nil {
			b.Fatal(err)
		}
		usage += n
		envs++
	}
	return usage, envs
}
