package e2e

import (
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/bulkhead-dev/bulkhead/internal/lambdaapi"
)

// queryUsage asks the server's usage API.
func (s *server) queryUsage(q url.Values) lambdaapi.UsageOutput {
	s.t.Helper()
	return getJSON[lambdaapi.UsageOutput](s, lambdaapi.UsagePath, q)
}

// TestUsageExact invokes a function concurrently for several tenants, a
// known number of times each with known payloads and some errors, and checks
// the metered usage equals what was done, exactly, per tenant — also after
// the server is killed with SIGKILL and restarted: every acknowledged
// invocation was metered before it was answered.
func TestUsageExact(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, dir)
	c := s.client()
	createGo(t, c, "metered", "handler", true, 10)

	tenants := []string{"alpha", "beta", "gamma", "delta"}
	type want struct{ invocations, errors, bytesIn int64 }
	wants := map[string]*want{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, tenant := range tenants {
		wants[tenant] = &want{}
		for n := range 6 + i {
			wg.Add(1)
			go func() {
				defer wg.Done()
				payload := `{}`
				if n%3 == 2 {
					payload = `{"action":"error","message":"boom"}`
				}
				out, err := c.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("metered"), TenantId: aws.String(tenant), Payload: []byte(payload)})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				w := wants[tenant]
				w.invocations++
				w.bytesIn += int64(len(payload))
				if out.FunctionError != nil {
					w.errors++
				}
			}()
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	check := func(s *server, when string) {
		t.Helper()
		for _, tenant := range tenants {
			out := s.queryUsage(url.Values{"tenant": {tenant}, "function": {"metered"}})
			got, w := out.Total, wants[tenant]
			if got.Invocations != w.invocations || got.Errors != w.errors || got.BytesIn != w.bytesIn {
				t.Errorf("%s, %s: invocations %d, errors %d, bytes in %d; want %d, %d, %d",
					when, tenant, got.Invocations, got.Errors, got.BytesIn, w.invocations, w.errors, w.bytesIn)
			}
			if got.Environments < 1 || got.Environments > got.Invocations || got.GBSeconds <= 0 || got.BytesOut <= 0 || got.Cost <= 0 {
				t.Errorf("%s, %s: %+v: want environments, GB-seconds, bytes out and a cost", when, tenant, got)
			}
			for _, r := range out.Rows {
				if r.TenantID != tenant {
					t.Errorf("%s: a usage query for %q returned a row of %q", when, tenant, r.TenantID)
				}
			}
		}
	}
	check(s, "before the crash")
	s.kill9()
	s2 := startServer(t, dir)
	check(s2, "after kill -9")

	// The CLI prints the same totals.
	out, errOut, code := s2.run("usage", "--tenant", "beta", "--csv")
	if code != 0 {
		t.Fatalf("bulkhead usage: %d %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	sum := 0
	for _, line := range lines[1:] {
		var inv int
		fields := strings.Split(line, ",")
		fmt.Sscan(fields[3], &inv)
		sum += inv
	}
	if lines[0] != "tenant,function,hour,invocations,errors,throttles,gb_seconds,environments,cold_starts,bytes_in,bytes_out,cost" || int64(sum) != wants["beta"].invocations {
		t.Errorf("bulkhead usage --csv for beta:\n%s\nwant %d invocations", out, wants["beta"].invocations)
	}
}
