package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// run runs the bulkhead CLI against s and returns stdout, stderr and the exit
// code.
func (s *server) run(args ...string) (string, string, int) {
	s.t.Helper()
	cmd := exec.Command(bulkheadBin, args...)
	cmd.Env = append(os.Environ(),
		"BULKHEAD_ENDPOINT=http://"+s.api,
		"BULKHEAD_ACCESS_KEY_ID="+testAccessKey,
		"BULKHEAD_SECRET_ACCESS_KEY="+testSecret)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		s.t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

func TestCLIFunctionsAndAliases(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	zipPath := filepath.Join(t.TempDir(), "fn.zip")
	if err := os.WriteFile(zipPath, bootstrapZip(t, "cli"), 0o644); err != nil {
		t.Fatal(err)
	}

	out, errOut, code := s.run("functions", "create", "cli-fn", "--zip", zipPath, "--memory", "256", "--per-tenant", "--env", "STAGE=test;REGION_NAME=x")
	if code != 0 || !strings.Contains(out, "Tenancy:       PER_TENANT") || !strings.Contains(out, "256 MB") {
		t.Fatalf("functions create = %d\n%s%s", code, out, errOut)
	}
	out, _, code = s.run("functions", "list")
	if code != 0 || !strings.Contains(out, "NAME") || !strings.Contains(out, "cli-fn") {
		t.Fatalf("functions list = %d\n%s", code, out)
	}
	out, _, code = s.run("functions", "get", "cli-fn", "--json")
	var got struct{ Configuration struct{ MemorySize int } }
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil || got.Configuration.MemorySize != 256 {
		t.Fatalf("functions get --json = %d\n%s", code, out)
	}
	if out, errOut, code = s.run("functions", "publish", "cli-fn"); code != 0 || !strings.Contains(out, "Version:       1") {
		t.Fatalf("functions publish = %d\n%s%s", code, out, errOut)
	}
	if out, errOut, code = s.run("functions", "update-code", "cli-fn", "--zip", zipPath); code != 0 {
		t.Fatalf("functions update-code = %d\n%s%s", code, out, errOut)
	}
	if out, errOut, code = s.run("aliases", "create", "cli-fn", "live", "--version", "1"); code != 0 || !strings.Contains(out, "function:cli-fn:live") {
		t.Fatalf("aliases create = %d\n%s%s", code, out, errOut)
	}
	if out, _, code = s.run("aliases", "list", "cli-fn"); code != 0 || !strings.Contains(out, "live") {
		t.Fatalf("aliases list = %d\n%s", code, out)
	}
	if out, errOut, code = s.run("aliases", "update", "cli-fn", "live", "--version", "$LATEST"); code != 0 || !strings.Contains(out, "$LATEST") {
		t.Fatalf("aliases update = %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code = s.run("aliases", "delete", "cli-fn", "live"); code != 0 {
		t.Fatalf("aliases delete = %d %s", code, errOut)
	}
	if _, errOut, code = s.run("functions", "delete", "cli-fn"); code != 0 {
		t.Fatalf("functions delete = %d %s", code, errOut)
	}

	// Errors are the API's, said plainly, with a failing exit code.
	_, errOut, code = s.run("functions", "get", "cli-fn")
	if code != 1 || !strings.Contains(errOut, "ResourceNotFoundException: Function not found: arn:aws:lambda:us-east-1:123456789012:function:cli-fn") {
		t.Errorf("get of a deleted function = %d %q", code, errOut)
	}
	_, errOut, code = s.run("functions", "create", "x", "--zip", zipPath, "--memory", "64")
	if code != 1 || !strings.Contains(errOut, "ValidationException") {
		t.Errorf("create with 64 MB = %d %q", code, errOut)
	}
	_, errOut, code = s.run("functions", "create", "x")
	if code != 2 || !strings.Contains(errOut, "missing flags: --zip=FILE") || !strings.Contains(errOut, "bulkhead --help") {
		t.Errorf("create without --zip = %d %q", code, errOut)
	}
	_, errOut, code = s.run("functions", "create", "--zip", zipPath)
	if code != 2 || !strings.Contains(errOut, `expected "<name>"`) {
		t.Errorf("create without a name = %d %q", code, errOut)
	}
}

func TestCLIHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--help"}, {"functions", "create", "--help"}, {"serve", "--help"}} {
		cmd := exec.Command(bulkheadBin, args...)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Usage: bulkhead") {
			t.Errorf("bulkhead %v = %v\n%s", args, err, out)
		}
	}
}

func TestCLIConfigFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("region: us-east-1\nlisten: 1\n"), 0o600)
	cmd := exec.Command(bulkheadBin, "serve", "--config", bad, "--data-dir", filepath.Join(dir, "data"))
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "[2:1]") || !strings.Contains(string(out), "listen") {
		t.Errorf("serve with an unknown config key = %v\n%s", err, out)
	}
}

func TestCLIInvoke(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	zipPath := filepath.Join(t.TempDir(), "counter.zip")
	if err := os.WriteFile(zipPath, goZip(t, "counter"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := s.run("functions", "create", "counter", "--zip", zipPath, "--per-tenant"); code != 0 {
		t.Fatalf("create: %s", errOut)
	}
	for i, want := range []string{`"count":1`, `"count":2`} {
		out, errOut, code := s.run("invoke", "counter", "--tenant-id", "blue", "--log-tail")
		if code != 0 || !strings.Contains(out, `"tenant":"blue"`) || !strings.Contains(out, want) || !strings.Contains(errOut, "REPORT RequestId:") {
			t.Fatalf("invoke %d = %d\n%s\n%s", i+1, code, out, errOut)
		}
	}
	out, _, code := s.run("invoke", "counter", "--tenant-id", "red", "--payload", `{"x":1}`)
	if code != 0 || !strings.Contains(out, `"tenant":"red"`) || !strings.Contains(out, `"count":1`) {
		t.Fatalf("invoke as red = %d %s", code, out)
	}
	if out, errOut, code := s.run("invoke", "counter", "--tenant-id", "blue", "--async"); code != 0 || strings.TrimSpace(out) != "Accepted." {
		t.Errorf("invoke --async = %d %q %q", code, out, errOut)
	}
	_, errOut, code := s.run("invoke", "counter")
	if code != 1 || !strings.Contains(errOut, "InvalidParameterValueException: The invoked function is enabled with tenancy configuration.") {
		t.Errorf("invoke without a tenant = %d %q", code, errOut)
	}
}
