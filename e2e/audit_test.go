package e2e

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/bulkhead-dev/bulkhead/internal/lambdaapi"
)

// TestAuditLog makes control-plane changes, a refused one, an invocation and
// an unsigned attempt, and checks the audit log holds exactly the changes
// and the refusal, with who, what and from where — also after a restart.
func TestAuditLog(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, dir)
	c := s.client()
	createGo(t, c, "audited", "counter", true, 10)
	if _, err := c.UpdateFunctionConfiguration(ctx(t), &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("audited"), MemorySize: aws.Int32(256)}); err != nil {
		t.Fatal(err)
	}
	in := createInput(t, "audited")
	in.Code.ZipFile = goZip(t, "counter")
	if _, err := c.CreateFunction(ctx(t), in); err == nil {
		t.Fatal("creating a function twice succeeded")
	}
	invokeCounter(t, c, "audited", "blue")                                          // the data plane: not audited
	s.rawRequest("DELETE", "/2015-03-31/functions/audited", nil, false, time.Now()) // unsigned: refused, not audited
	if _, err := c.DeleteFunction(ctx(t), &lambda.DeleteFunctionInput{FunctionName: aws.String("audited")}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"CreateFunction /2015-03-31/functions ok",
		"UpdateFunctionConfiguration /2015-03-31/functions/audited/configuration ok",
		"CreateFunction /2015-03-31/functions ResourceConflictException",
		"DeleteFunction /2015-03-31/functions/audited ok",
	}
	check := func(s *server, when string) {
		t.Helper()
		out := getJSON[lambdaapi.AuditOutput](s, lambdaapi.AuditPath, url.Values{"since": {"1h"}})
		var got []string
		for _, e := range out.Entries {
			got = append(got, e.Operation+" "+e.Resource+" "+e.Outcome)
			if e.Principal != testAccessKey || !strings.HasPrefix(e.Source, "127.0.0.1:") || e.RequestID == "" || time.Since(e.Time) > time.Minute {
				t.Errorf("%s: entry %+v lacks who, where or when", when, e)
			}
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: audit log:\n%s\nwant:\n%s", when, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	check(s, "before restart")
	if err := s.stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	s2 := startServer(t, dir)
	check(s2, "after restart")
	out, errOut, code := s2.run("audit", "--operation", "DeleteFunction")
	if code != 0 || !strings.Contains(out, "DeleteFunction /2015-03-31/functions/audited ok") || strings.Count(out, "\n") != 1 {
		t.Errorf("bulkhead audit --operation DeleteFunction = %d %q %q", code, out, errOut)
	}
}
