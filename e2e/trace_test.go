package e2e

import (
	"encoding/json"
	"net/http"
	"testing"
)

// TestTraceReachesHandler sends a W3C traceparent and an X-Amzn-Trace-Id
// through the Lambda API and checks what aws-lambda-go hands the function.
func TestTraceReachesHandler(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	createGo(t, s.client(), "traced", "handler", true, 10)
	for _, tt := range []struct{ header, value, want string }{
		{"X-Amzn-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"},
		{"Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "Root=1-4bf92f35-77b34da6a3ce929d0e0e4736;Parent=00f067aa0ba902b7;Sampled=1"},
	} {
		resp, body := s.signedRequest("POST", "/2015-03-31/functions/traced/invocations", []byte(`{}`), http.Header{
			"X-Amz-Tenant-Id": {"blue"}, tt.header: {tt.value},
		})
		var echo struct{ TraceID string }
		if resp.StatusCode != 200 || json.Unmarshal(body, &echo) != nil || echo.TraceID != tt.want {
			t.Errorf("with %s: %d %s; want the function to see trace %s", tt.header, resp.StatusCode, body, tt.want)
		}
	}
}
