package lambdaapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/artifact"
	"github.com/bulkhead-dev/bulkhead/internal/function"
	"github.com/bulkhead-dev/bulkhead/internal/sigv4"
	"github.com/bulkhead-dev/bulkhead/internal/store/sqlite"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// The clock every golden request is signed at, and the server's clock.
var goldenNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

var goldenCreds = sigv4.Credentials{AccessKeyID: "AKIDGOLDEN0000000000", SecretAccessKey: "golden-secret"}

// newTestAPI serves the Lambda API over a real registry in a temp dir.
func newTestAPI(t *testing.T) *httptest.Server {
	t.Helper()
	dir := t.TempDir()
	db, err := sqlite.Open(filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	packages, err := artifact.Open(filepath.Join(dir, "code"), artifact.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := function.NewRegistry(db, packages, function.ARNs{Region: "us-east-1", Account: "123456789012"}, log)
	verifier := &sigv4.Verifier{Service: "lambda", Region: "us-east-1", Now: func() time.Time { return goldenNow },
		Secret: func(id string) (string, bool) {
			return goldenCreds.SecretAccessKey, id == goldenCreds.AccessKeyID
		}}
	srv := httptest.NewServer(New(Config{Registry: reg, Verifier: verifier, Log: log}))
	t.Cleanup(srv.Close)
	return srv
}

type goldenRequest struct {
	method, path, body string
	sign               func(*http.Request, []byte) // nil: sign with the admin key at goldenNow
}

func send(t *testing.T, srv *httptest.Server, g goldenRequest) *http.Response {
	t.Helper()
	req, err := http.NewRequest(g.method, srv.URL+g.path, strings.NewReader(g.body))
	if err != nil {
		t.Fatal(err)
	}
	if g.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if g.sign != nil {
		g.sign(req, []byte(g.body))
	} else if err := sigv4.Sign(req, []byte(g.body), goldenCreds, "us-east-1", "lambda", goldenNow); err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func zipJSON(t *testing.T, name string) string {
	t.Helper()
	var buf bytes.Buffer
	fmt.Fprintf(&buf, `{"FunctionName":%q,"Role":"arn:aws:iam::123456789012:role/r","Runtime":"provided.al2023","Handler":"bootstrap","Code":{"ZipFile":%q}}`,
		name, base64.StdEncoding.EncodeToString(mustZip(t)))
	return buf.String()
}

// TestLambdaAPIErrorGolden pins the wire shape — status, error headers and
// body — of each error the control plane sends.
func TestLambdaAPIErrorGolden(t *testing.T) {
	srv := newTestAPI(t)
	// State the error cases need: a function with a version and an alias.
	for _, g := range []goldenRequest{
		{method: "POST", path: "/2015-03-31/functions", body: zipJSON(t, "f")},
		{method: "POST", path: "/2015-03-31/functions/f/versions", body: `{}`},
		{method: "POST", path: "/2015-03-31/functions/f/aliases", body: `{"Name":"live","FunctionVersion":"1"}`},
	} {
		if resp := send(t, srv, g); resp.StatusCode/100 != 2 {
			t.Fatalf("setup %s %s = %d", g.method, g.path, resp.StatusCode)
		}
	}
	wrongSecret := func(r *http.Request, b []byte) {
		sigv4.Sign(r, b, sigv4.Credentials{AccessKeyID: goldenCreds.AccessKeyID, SecretAccessKey: "wrong"}, "us-east-1", "lambda", goldenNow)
	}
	cases := map[string]goldenRequest{
		"missing-authentication": {method: "GET", path: "/2015-03-31/functions", sign: func(*http.Request, []byte) {}},
		"unrecognized-client": {method: "GET", path: "/2015-03-31/functions", sign: func(r *http.Request, b []byte) {
			sigv4.Sign(r, b, sigv4.Credentials{AccessKeyID: "AKIDUNKNOWN", SecretAccessKey: "x"}, "us-east-1", "lambda", goldenNow)
		}},
		"invalid-signature": {method: "GET", path: "/2015-03-31/functions", sign: wrongSecret},
		"signature-expired": {method: "GET", path: "/2015-03-31/functions", sign: func(r *http.Request, b []byte) {
			sigv4.Sign(r, b, goldenCreds, "us-east-1", "lambda", goldenNow.Add(-10*time.Minute))
		}},
		"function-not-found":      {method: "GET", path: "/2015-03-31/functions/nope"},
		"alias-not-found":         {method: "GET", path: "/2015-03-31/functions/f/aliases/nope"},
		"validation-memory":       {method: "PUT", path: "/2015-03-31/functions/f/configuration", body: `{"MemorySize":64,"Timeout":1000}`},
		"invalid-parameter-env":   {method: "PUT", path: "/2015-03-31/functions/f/configuration", body: `{"Environment":{"Variables":{"AWS_REGION":"x"}}}`},
		"invalid-request-content": {method: "PUT", path: "/2015-03-31/functions/f/configuration", body: `{"MemorySize":`},
		"tenancy-change":          {method: "PUT", path: "/2015-03-31/functions/f/configuration", body: `{"TenancyConfig":{"TenantIsolationMode":"PER_TENANT"}}`},
		"function-exists":         {method: "POST", path: "/2015-03-31/functions", body: zipJSON(t, "f")},
		"version-in-use":          {method: "DELETE", path: "/2015-03-31/functions/f?Qualifier=1"},
		"revision-mismatch":       {method: "PUT", path: "/2015-03-31/functions/f/configuration", body: `{"Timeout":5,"RevisionId":"stale"}`},
		"request-too-large":       {method: "PUT", path: "/2015-03-31/functions/f/configuration", body: `{"Description":"` + strings.Repeat("x", 1<<20) + `"}`},
		"unknown-operation":       {method: "GET", path: "/2015-03-31/nothing-here"},
		"not-a-zip":               {method: "PUT", path: "/2015-03-31/functions/f/code", body: `{"ZipFile":"bm90IGEgemlw"}`},
	}
	for name, g := range cases {
		t.Run(name, func(t *testing.T) {
			resp := send(t, srv, g)
			got := renderResponse(t, resp)
			path := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("wire shape changed (go test -update rewrites it if intended)\n--- got\n%s--- want\n%s", got, want)
			}
		})
	}
}

// renderResponse prints what a client relies on: status, the error headers and
// the body, with the random request id replaced.
func renderResponse(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP %d\n", resp.StatusCode)
	for _, h := range []string{"Content-Type", "X-Amzn-Errortype"} {
		fmt.Fprintf(&b, "%s: %s\n", h, resp.Header.Get(h))
	}
	if resp.Header.Get("X-Amzn-Requestid") == "" {
		t.Error("response has no X-Amzn-RequestId")
	}
	if resp.Header.Get("Date") == "" {
		t.Error("response has no Date header (the SDK corrects clock skew from it)")
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, body, "", "  "); err != nil {
		t.Fatalf("body %q is not JSON: %v", body, err)
	}
	b.WriteString("\n")
	b.Write(pretty.Bytes())
	return b.Bytes()
}
