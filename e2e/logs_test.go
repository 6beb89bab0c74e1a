package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/bulkhead-dev/bulkhead/internal/lambdaapi"
)

// getJSON sends a signed GET of path with query q to one of Bulkhead's own
// APIs and decodes its 200 answer.
func getJSON[T any](s *server, path string, q url.Values) T {
	s.t.Helper()
	resp, body := s.rawRequest("GET", path+"?"+q.Encode(), nil, true, time.Now())
	if resp.StatusCode != 200 {
		s.t.Fatalf("GET %s?%s = %d %s", path, q.Encode(), resp.StatusCode, body)
	}
	var out T
	if err := json.Unmarshal(body, &out); err != nil {
		s.t.Fatal(err)
	}
	return out
}

// queryLogs asks the server's log API.
func (s *server) queryLogs(q url.Values) lambdaapi.QueryLogsOutput {
	s.t.Helper()
	return getJSON[lambdaapi.QueryLogsOutput](s, lambdaapi.LogsPath, q)
}

// waitLogs polls the log API until cond holds of the records q selects.
func (s *server) waitLogs(q url.Values, what string, cond func([]lambdaapi.LogRecord) bool) []lambdaapi.LogRecord {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		recs := s.queryLogs(q).Records
		if cond(recs) {
			return recs
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("after 10 s, the logs %s do not show %s: %d records", q.Encode(), what, len(recs))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestLogsPerTenant runs concurrent invocations of one function for many
// tenants, each logging lines that name its tenant, and checks that every
// record is attributed to the right tenant and request, and that a query for
// one tenant returns exactly that tenant's records.
func TestLogsPerTenant(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	c := s.client()
	createGo(t, c, "logger", "handler", true, 10)

	const tenants, each = 12, 4
	names := make([]string, tenants)
	for i := range names {
		names[i] = fmt.Sprintf("tenant %d/_=.", i) // "_" is a wildcard to a naive LIKE
	}
	names[1] = "tenant 1" // a prefix of tenant 1x
	requests := map[string][]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, tenant := range names {
		for n := range each {
			wg.Add(1)
			go func() {
				defer wg.Done()
				payload := fmt.Sprintf(`{"action":"log","message":"line %d of %s"}`, n, tenant)
				out, err := c.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("logger"), TenantId: aws.String(tenant), Payload: []byte(payload)})
				if err != nil {
					t.Errorf("invoke as %q: %v", tenant, err)
					return
				}
				if out.FunctionError != nil {
					t.Errorf("invoke as %q: function error %s", tenant, out.Payload)
					return
				}
				var echo struct{ RequestID string }
				if err := json.Unmarshal(out.Payload, &echo); err != nil {
					t.Error(err)
				}
				mu.Lock()
				requests[tenant] = append(requests[tenant], echo.RequestID)
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	for _, tenant := range names {
		q := url.Values{"function": {"logger"}, "tenant": {tenant}, "limit": {"10000"}}
		recs := s.waitLogs(q, "every report of "+tenant, func(recs []lambdaapi.LogRecord) bool {
			reports := 0
			for _, r := range recs {
				if r.Type == "platform.report" {
					reports++
				}
			}
			return reports == each
		})
		lines := 0
		for _, r := range recs {
			if r.TenantID != tenant {
				t.Fatalf("a query for %q returned a record of %q: %+v", tenant, r.TenantID, r)
			}
			mine := false
			for _, id := range requests[tenant] {
				mine = mine || r.RequestID == id
			}
			if !mine {
				t.Errorf("record %+v of %q names a request that is not one of the tenant's", r, tenant)
			}
			switch r.Type {
			case "function":
				lines++
				if !strings.HasSuffix(r.Message, " of "+tenant) {
					t.Errorf("function record of %q says %q", tenant, r.Message)
				}
			case "platform.start", "platform.runtimeDone", "platform.report":
				var doc map[string]any
				if err := json.Unmarshal([]byte(r.Message), &doc); err != nil || doc["tenantId"] != tenant || doc["requestId"] != r.RequestID {
					t.Errorf("%s of %q = %s: want its tenantId and requestId", r.Type, tenant, r.Message)
				}
			}
		}
		if lines != each*2 { // stdout and stderr
			t.Errorf("%q has %d function records, want %d", tenant, lines, each*2)
		}
	}

	// By request id: exactly that invocation's records, in order.
	id := requests[names[3]][0]
	var types []string
	for _, r := range s.queryLogs(url.Values{"function": {"logger"}, "requestId": {id}}).Records {
		types = append(types, r.Type)
	}
	if got, want := strings.Join(types, " "), "platform.start function function platform.runtimeDone platform.report"; got != want {
		t.Errorf("records of request %s: %s, want %s", id, got, want)
	}

	// Text search, and the CLI.
	out, errOut, code := s.run("logs", "--function", "logger", "--tenant", names[1], "--text", "line 2 of", "--json")
	if code != 0 {
		t.Fatalf("bulkhead logs: %d %s", code, errOut)
	}
	got := strings.Split(strings.TrimSpace(out), "\n")
	if len(got) != 2 {
		t.Fatalf("bulkhead logs --text printed %d records, want 2 (stdout and stderr):\n%s", len(got), out)
	}
	for _, line := range got {
		var r lambdaapi.LogRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil || r.TenantID != names[1] || r.Message != "line 2 of "+names[1] {
			t.Errorf("bulkhead logs printed %s", line)
		}
	}

	// Bad queries are refused in the API's shape.
	resp, body := s.rawRequest("GET", lambdaapi.LogsPath+"?tenant=x", nil, true, time.Now())
	assertWireError(t, resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"), body, 400, "InvalidParameterValueException", "…function…")
	resp, body = s.rawRequest("GET", lambdaapi.LogsPath+"?function=logger&since=yesterday", nil, true, time.Now())
	assertWireError(t, resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"), body, 400, "InvalidParameterValueException",
		`since: "yesterday" is neither an RFC 3339 time nor a duration such as 10m.`)
}

// TestLogsFlood has one tenant write 100 MB to stdout while another logs
// normally: the flooder's excess is dropped and counted in a visible
// platform.logsDropped record, the server's memory stays bounded, and the
// other tenant's records are all there.
func TestLogsFlood(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	c := s.client()
	in := createInput(t, "flood")
	in.Code.ZipFile = storedGoZip(t, "./testdata/abuse")
	in.MemorySize = aws.Int32(1769)
	in.Timeout = aws.Int32(60)
	in.TenancyConfig = &types.TenancyConfig{TenantIsolationMode: types.TenantIsolationModePerTenant}
	if _, err := c.CreateFunction(ctx(t), in); err != nil {
		t.Fatal(err)
	}
	createGo(t, c, "quiet", "handler", true, 10)
	rssBefore := rssKB(t, s.cmd.Process.Pid)

	done := make(chan error, 1)
	go func() {
		out, err := c.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("flood"), TenantId: aws.String("flooder"), Payload: []byte(`{"action":"flood","arg":"100"}`)})
		if err == nil && out.FunctionError != nil {
			err = fmt.Errorf("function error: %s", out.Payload)
		}
		done <- err
	}()
	for n := range 20 {
		payload := fmt.Sprintf(`{"action":"log","message":"quiet %d"}`, n)
		if _, err := c.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("quiet"), TenantId: aws.String("calm"), Payload: []byte(payload)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("flood: %v", err)
	}
	if grew := rssKB(t, s.cmd.Process.Pid) - rssBefore; grew > 64<<10 {
		t.Errorf("the server's RSS grew by %d MiB during a 100 MB flood", grew>>10)
	}

	s.waitLogs(url.Values{"function": {"quiet"}, "tenant": {"calm"}, "text": {"quiet "}, "limit": {"10000"}}, "every quiet line", func(recs []lambdaapi.LogRecord) bool {
		return len(recs) == 40 // 20 invocations, stdout and stderr
	})
	recs := s.waitLogs(url.Values{"function": {"flood"}, "tenant": {"flooder"}, "text": {"droppedRecords"}}, "a logsDropped record", func(recs []lambdaapi.LogRecord) bool {
		return len(recs) > 0
	})
	var dropped struct{ DroppedRecords, DroppedBytes int64 }
	if err := json.Unmarshal([]byte(recs[0].Message), &dropped); err != nil || recs[0].Type != "platform.logsDropped" || dropped.DroppedBytes < 80<<20 {
		t.Errorf("logsDropped = %s %s, want most of 100 MB counted", recs[0].Type, recs[0].Message)
	}
}
