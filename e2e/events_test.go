package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// waitOutput waits until the server has written a line containing every
// one of parts, and reports whether it did.
func (s *server) waitOutput(timeout time.Duration, parts ...string) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(s.output.String(), "\n") {
			all := true
			for _, p := range parts {
				all = all && strings.Contains(line, p)
			}
			if all {
				return true
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

func eventServer(t *testing.T, dataDir string) *server {
	return startServerArgs(t, dataDir, "--event-retry-delay", "100ms")
}

func TestInvokeEvent(t *testing.T) {
	t.Parallel()
	s := eventServer(t, t.TempDir())
	c := s.client()
	createGo(t, c, "counter", "counter", true, 10)
	createGo(t, c, "failing", "handler", false, 5)

	out, err := c.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("counter"), TenantId: aws.String("blue"), InvocationType: types.InvocationTypeEvent})
	if err != nil || out.StatusCode != 202 || len(out.Payload) != 0 {
		t.Fatalf("Event invoke = %+v, %v; want 202 and no body", out, err)
	}
	if !s.waitOutput(10*time.Second, "event invocation finished", "function=counter", "status=succeeded") {
		t.Fatalf("the accepted event never ran:\n%s", s.output)
	}
	// It ran in blue's environment: blue's next invocation is its second.
	if r := invokeCounter(t, c, "counter", "blue"); r.Count != 2 {
		t.Errorf("blue's count after the event = %d, want 2", r.Count)
	}

	// A function error is retried twice, then recorded as failed.
	if _, err := c.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("failing"), InvocationType: types.InvocationTypeEvent,
		Payload: []byte(`{"action":"error","message":"boom"}`)}); err != nil {
		t.Fatal(err)
	}
	if !s.waitOutput(15*time.Second, "event invocation finished", "function=failing", "attempt=3", "status=failed", "error=errorString") {
		t.Fatalf("the failing event was not retried twice and recorded:\n%s", s.output)
	}
	if !s.waitOutput(time.Second, "event invocation failed; retrying", "function=failing", "attempt=2") {
		t.Error("no second attempt logged")
	}

	// Validation happens before acceptance.
	_, err = c.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("counter"), InvocationType: types.InvocationTypeEvent})
	assertAPIError(t, err, "InvalidParameterValueException", 400, "The invoked function is enabled with tenancy configuration. Add a valid tenant ID in your request and try again.")
	_, err = c.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("failing"), InvocationType: types.InvocationTypeEvent,
		Payload: []byte(`"` + strings.Repeat("x", 1<<20) + `"`)})
	assertAPIError(t, err, "RequestEntityTooLargeException", 413, "1048578 byte payload is too large for the Event invocation type (limit 1048576 bytes)")
}

// TestDurabilityEventKill9 checks invariant 5 for Event invocations: one
// accepted and running when the server is killed runs again after restart.
func TestDurabilityEventKill9(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	s := eventServer(t, data)
	c := s.client()
	createGo(t, c, "slow", "handler", false, 10)
	if _, err := c.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("slow"), InvocationType: types.InvocationTypeEvent,
		Payload: []byte(`{"action":"sleep","millis":2000}`)}); err != nil {
		t.Fatal(err)
	}
	started := s.waitOutput(5*time.Second, "event invocation started", "function=slow")
	time.Sleep(300 * time.Millisecond) // running its 2 s sleep
	s.kill9()
	if strings.Contains(s.output.String(), "event invocation finished") {
		t.Fatal("the event finished before the kill; the test proves nothing")
	}
	s2 := eventServer(t, data)
	// Once started, it was running at the kill and must be recovered; not yet
	// started, it is still pending and simply runs.
	if started && !s2.waitOutput(5*time.Second, "event invocations recovered", "count=1") {
		t.Errorf("restart did not recover the running event:\n%s", s2.output)
	}
	if !s2.waitOutput(15*time.Second, "event invocation finished", "function=slow", "status=succeeded") {
		t.Fatalf("the accepted event did not run after kill -9:\n%s", s2.output)
	}
}
