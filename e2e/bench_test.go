package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
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

// BenchmarkInvokeWarm measures a warm invocation of a per-tenant aws-lambda-go
// function through the Lambda API with the AWS SDK, at concurrency 1.
func BenchmarkInvokeWarm(b *testing.B) {
	s := startServer(b, b.TempDir())
	c := s.client()
	createGo(b, c, "warm", "counter", true, 10)
	invokeCounter(b, c, "warm", "bench") // cold start outside the measurement
	var d []time.Duration
	for b.Loop() {
		start := time.Now()
		invokeCounter(b, c, "warm", "bench")
		d = append(d, time.Since(start))
	}
	reportLatency(b, d)
}

// BenchmarkInvokeNewTenant measures the first invocation of a tenant that has
// no environment, with pre-initialised blanks off and on.
func BenchmarkInvokeNewTenant(b *testing.B) {
	for _, blanks := range []int{0, 1} {
		b.Run(fmt.Sprintf("blanks=%d", blanks), func(b *testing.B) {
			s := startServerArgs(b, b.TempDir(), "--blanks", fmt.Sprint(blanks))
			c := s.client()
			createGo(b, c, "cold", "counter", true, 10)
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

// BenchmarkInvokeWarmRawHTTP measures the same warm invocation as a bare
// signed HTTP request on a kept-alive connection, without the SDK's
// middleware: the figure to hold against the Runtime Interface Emulator's
// (which takes unauthenticated HTTP).
func BenchmarkInvokeWarmRawHTTP(b *testing.B) {
	s := startServer(b, b.TempDir())
	c := s.client()
	createGo(b, c, "warm", "counter", true, 10)
	invokeCounter(b, c, "warm", "bench")
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
