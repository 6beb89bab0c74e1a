package e2e

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

var (
	zipsOnce sync.Once
	zips     = map[string][]byte{}
	zipsErr  error
)

// goZip builds a Go main package as a Lambda deployment package: a zip with
// the binary as an executable bootstrap.
func goZip(t testing.TB, name string) []byte {
	t.Helper()
	zipsOnce.Do(func() {
		dir, err := os.MkdirTemp("", "e2e-zips-")
		if err != nil {
			zipsErr = err
			return
		}
		defer os.RemoveAll(dir)
		for name, pkg := range map[string]string{"counter": "../examples/counter", "handler": "../internal/runtimeapi/testdata/handler", "stubborn": "./testdata/stubborn"} {
			out := filepath.Join(dir, name)
			cmd := exec.Command("go", "build", "-o", out, pkg)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if b, err := cmd.CombinedOutput(); err != nil {
				zipsErr = fmt.Errorf("build %s: %v\n%s", pkg, err, b)
				return
			}
			bin, err := os.ReadFile(out)
			if err != nil {
				zipsErr = err
				return
			}
			zips[name] = makeZip(t, zipFile{name: "bootstrap", body: string(bin), mode: 0o755})
		}
	})
	if zipsErr != nil {
		t.Fatal(zipsErr)
	}
	return zips[name]
}

func createGo(t testing.TB, c *lambda.Client, name, code string, perTenant bool, timeout int32) {
	t.Helper()
	in := createInput(t, name)
	in.Code.ZipFile = goZip(t, code)
	in.Timeout = aws.Int32(timeout)
	if perTenant {
		in.TenancyConfig = &types.TenancyConfig{TenantIsolationMode: types.TenantIsolationModePerTenant}
	}
	if _, err := c.CreateFunction(ctx(t), in); err != nil {
		t.Fatalf("CreateFunction %s: %v", name, err)
	}
}

type counterResponse struct {
	Tenant, FirstTenant, Environment string
	Count, TmpCount                  int
	TmpTenants                       []string
}

// invokeOK invokes fn as tenantID with an empty payload and returns the
// response, failing the test on any error, function errors included.
func invokeOK(t testing.TB, c *lambda.Client, fn, tenantID string) []byte {
	t.Helper()
	out, err := c.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String(fn), TenantId: aws.String(tenantID), Payload: []byte(`{}`)})
	if err != nil {
		t.Fatalf("Invoke %s as %q: %v", fn, tenantID, err)
	}
	if out.FunctionError != nil {
		t.Fatalf("Invoke %s as %q: function error %s: %s", fn, tenantID, aws.ToString(out.FunctionError), out.Payload)
	}
	return out.Payload
}

func invokeCounter(t testing.TB, c *lambda.Client, fn, tenantID string) counterResponse {
	t.Helper()
	payload := invokeOK(t, c, fn, tenantID)
	var r counterResponse
	if err := json.Unmarshal(payload, &r); err != nil {
		t.Fatalf("payload %s: %v", payload, err)
	}
	return r
}

func TestInvokePerTenantEnvironments(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	c := s.client()
	createGo(t, c, "counter", "counter", true, 10)

	for i := 1; i <= 3; i++ {
		r := invokeCounter(t, c, "counter", "blue")
		if r.Tenant != "blue" || r.Count != i || r.TmpCount != i {
			t.Errorf("blue invocation %d = %+v; want tenant blue and counts %d (warm reuse)", i, r, i)
		}
	}
	blue := invokeCounter(t, c, "counter", "blue")
	red := invokeCounter(t, c, "counter", "red tenant:1")
	if red.Tenant != "red tenant:1" || red.Count != 1 || red.Environment == blue.Environment {
		t.Errorf("red = %+v; want a fresh environment of its own", red)
	}
	if len(red.TmpTenants) != 1 {
		t.Errorf("red's temp dir shows tenants %q; want only its own", red.TmpTenants)
	}
}

// TestIsolationOracle runs randomized concurrent invocations over 120
// tenants and checks, from what each environment reports, that no
// environment served two tenants and no tenant saw another's memory or /tmp.
func TestIsolationOracle(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	c := s.client()
	createGo(t, c, "oracle", "counter", true, 30)

	const tenants, invocations, workers = 120, 480, 8
	var mu sync.Mutex
	envTenant := map[string]string{}
	var wg sync.WaitGroup
	work := make(chan string)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for tn := range work {
				out, err := c.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("oracle"), TenantId: aws.String(tn)})
				if err != nil {
					var tooMany *types.TooManyRequestsException
					if errors.As(err, &tooMany) {
						continue // refused by a limit is not a breach
					}
					t.Errorf("invoke as %s: %v", tn, err)
					continue
				}
				var r counterResponse
				if out.FunctionError != nil || json.Unmarshal(out.Payload, &r) != nil || r.Environment == "" {
					t.Errorf("invoke as %s: function error %v, payload %s", tn, aws.ToString(out.FunctionError), out.Payload)
					continue
				}
				if r.Tenant != tn || r.FirstTenant != tn {
					t.Errorf("BREACH: invocation for %q ran in an environment of %q (saw %q)", tn, r.FirstTenant, r.Tenant)
				}
				for _, other := range r.TmpTenants {
					if other != tn {
						t.Errorf("BREACH: tenant %q found tenant %q in its temp dir", tn, other)
					}
				}
				mu.Lock()
				if prev, ok := envTenant[r.Environment]; ok && prev != tn {
					t.Errorf("BREACH: environment %s served %q and %q", r.Environment, prev, tn)
				}
				envTenant[r.Environment] = tn
				mu.Unlock()
			}
		}()
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range invocations {
		work <- fmt.Sprintf("tenant-%03d", rng.IntN(tenants))
	}
	close(work)
	wg.Wait()
	if len(envTenant) < tenants/2 {
		t.Errorf("only %d environments answered; the oracle checked too little", len(envTenant))
	}
}

func TestInvokeTenancyAndRequestErrors(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	c := s.client()
	createGo(t, c, "tenanted", "counter", true, 10)
	createGo(t, c, "shared", "counter", false, 10)

	cases := []struct {
		name    string
		in      *lambda.InvokeInput
		code    string
		status  int
		message string
	}{
		{"no tenant for a per-tenant function", &lambda.InvokeInput{FunctionName: aws.String("tenanted")},
			"InvalidParameterValueException", 400, "The invoked function is enabled with tenancy configuration. Add a valid tenant ID in your request and try again."},
		{"tenant for a shared function", &lambda.InvokeInput{FunctionName: aws.String("shared"), TenantId: aws.String("blue")},
			"InvalidParameterValueException", 400, "The invoked function is not enabled with tenancy configuration. Remove the tenant ID from your request and try again."},
		{"tenant id with a bad character", &lambda.InvokeInput{FunctionName: aws.String("tenanted"), TenantId: aws.String("blue#1")},
			"InvalidParameterValueException", 400, "Invalid tenant ID: character '#' at position 5 is not allowed…"},
		{"tenant id too long", &lambda.InvokeInput{FunctionName: aws.String("tenanted"), TenantId: aws.String(strings.Repeat("t", 257))},
			"InvalidParameterValueException", 400, "Invalid tenant ID: it has 257 characters; at most 256 are allowed."},
		{"payload not JSON", &lambda.InvokeInput{FunctionName: aws.String("shared"), Payload: []byte("{not json")},
			"InvalidRequestContentException", 400, "Could not parse request body into json: Could not parse payload into json: …"},
		{"unknown function", &lambda.InvokeInput{FunctionName: aws.String("nope")},
			"ResourceNotFoundException", 404, "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope"},
		{"unknown qualifier", &lambda.InvokeInput{FunctionName: aws.String("shared"), Qualifier: aws.String("live")},
			"ResourceNotFoundException", 404, "Function not found: arn:aws:lambda:us-east-1:123456789012:function:shared:live"},
		{"payload over 6 MB", &lambda.InvokeInput{FunctionName: aws.String("shared"), Payload: []byte(`"` + strings.Repeat("x", 6291456) + `"`)},
			"RequestEntityTooLargeException", 413, "Request must be smaller than 6291456 bytes for the InvokeFunction operation"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Invoke(ctx(t), tt.in)
			assertAPIError(t, err, tt.code, tt.status, tt.message)
		})
	}

	t.Run("tenant header added after signing", func(t *testing.T) {
		// Invariant 2: the tenant comes only from a signed request.
		req, _ := http.NewRequest("POST", "http://"+s.api+"/2015-03-31/functions/tenanted/invocations", strings.NewReader("{}"))
		sum := sha256.Sum256([]byte("{}"))
		if err := v4.NewSigner().SignHTTP(t.Context(), aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecret},
			req, hex.EncodeToString(sum[:]), "lambda", testRegion, time.Now()); err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Amz-Tenant-Id", "blue")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assertWireError(t, resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), body, 403, "InvalidSignatureException",
			"There were headers present in the request which were not signed: x-amz-tenant-id")
	})
	t.Run("dry run", func(t *testing.T) {
		out, err := c.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("tenanted"), TenantId: aws.String("blue"), InvocationType: types.InvocationTypeDryRun})
		if err != nil || out.StatusCode != 204 {
			t.Fatalf("DryRun = %v, %v; want 204", out, err)
		}
	})
	t.Run("log tail and executed version", func(t *testing.T) {
		out, err := c.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("shared"), LogType: types.LogTypeTail})
		if err != nil || out.StatusCode != 200 || aws.ToString(out.ExecutedVersion) != "$LATEST" {
			t.Fatalf("Invoke = %+v, %v", out, err)
		}
		tail, err := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
		if err != nil || !strings.HasPrefix(string(tail), "START RequestId: ") || !strings.Contains(string(tail), "REPORT RequestId: ") {
			t.Errorf("LogResult = %q (%v); want base64 of START … REPORT", tail, err)
		}
	})
}

func TestInvokeFailures(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	c := s.client()
	createGo(t, c, "misbehaving", "handler", false, 1)
	in := createInput(t, "broken-init")
	in.Code.ZipFile = makeZip(t, zipFile{name: "bootstrap", body: "#!/bin/sh\necho 'cannot start' >&2\nexit 7\n", mode: 0o755})
	if _, err := c.CreateFunction(ctx(t), in); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, function, payload, errorType, message string
	}{
		{"function error", "misbehaving", `{"action":"error","message":"boom"}`, "errorString", "boom"},
		{"timeout", "misbehaving", `{"action":"sleep","millis":5000}`, "Sandbox.Timedout", "Task timed out after 1.00 seconds"},
		{"process exit", "misbehaving", `{"action":"exit"}`, "Runtime.ExitError", "Runtime exited with error: process exited with status 3"},
		{"init failure", "broken-init", `{}`, "Runtime.InitError", "Runtime exited during init: process exited with status 7"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			out, err := c.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String(tt.function), Payload: []byte(tt.payload), LogType: types.LogTypeTail})
			if err != nil {
				t.Fatal(err)
			}
			var doc struct{ ErrorType, ErrorMessage string }
			json.Unmarshal(out.Payload, &doc)
			if out.StatusCode != 200 || aws.ToString(out.FunctionError) != "Unhandled" || doc.ErrorType != tt.errorType || !strings.Contains(doc.ErrorMessage, tt.message) {
				t.Errorf("= %d %s %s; want 200 Unhandled %s containing %q", out.StatusCode, aws.ToString(out.FunctionError), out.Payload, tt.errorType, tt.message)
			}
		})
	}
	// After a timeout and an exit, the function still works in a new environment.
	out, err := c.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("misbehaving"), Payload: []byte(`{}`)})
	if err != nil || out.FunctionError != nil {
		t.Errorf("invoke after failures = %v, %v", out, err)
	}
}

// TestServeExamples checks what `make run` relies on: serve --examples
// deploys each executable as a per-tenant function, ready to invoke, and a
// restart with the same directory keeps it as it is.
func TestServeExamples(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "counter"), "../examples/counter")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	os.WriteFile(filepath.Join(dir, "README.txt"), []byte("not executable: skipped"), 0o644)
	data := t.TempDir()
	s := startServerArgs(t, data, "--examples", dir)
	c := s.client()
	cfg, err := c.GetFunctionConfiguration(ctx(t), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("counter")})
	if err != nil || cfg.TenancyConfig == nil {
		t.Fatalf("example function = %v, %v; want a PER_TENANT function", cfg, err)
	}
	if r := invokeCounter(t, c, "counter", "blue"); r.Tenant != "blue" || r.Count != 1 {
		t.Errorf("example invocation = %+v", r)
	}
	if err := s.stop(10e9); err != nil {
		t.Fatal(err)
	}
	s2 := startServerArgs(t, data, "--examples", dir)
	again, err := s2.client().GetFunctionConfiguration(ctx(t), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("counter")})
	if err != nil || aws.ToString(again.RevisionId) != aws.ToString(cfg.RevisionId) {
		t.Errorf("restart with unchanged examples changed the function: %v, %v", again, err)
	}
}
