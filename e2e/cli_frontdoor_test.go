package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// cliStep is one command of a CLI session and what it must answer.
type cliStep struct {
	args   []string
	code   int
	stdout []string // what stdout must contain
	stderr []string // what stderr must contain
	absent []string // what neither may contain
}

// session runs steps in order against s, stopping at the first that
// answers otherwise.
func (s *server) session(t *testing.T, steps []cliStep) {
	t.Helper()
	for _, st := range steps {
		out, errOut, code := s.run(st.args...)
		checkStep(t, st, out, errOut, code)
	}
}

func checkStep(t *testing.T, st cliStep, out, errOut string, code int) {
	t.Helper()
	ok := code == st.code
	for _, want := range st.stdout {
		ok = ok && strings.Contains(out, want)
	}
	for _, want := range st.stderr {
		ok = ok && strings.Contains(errOut, want)
	}
	for _, not := range st.absent {
		ok = ok && !strings.Contains(out+errOut, not)
	}
	if !ok {
		t.Fatalf("bulkhead %s = %d, want %d with %q on stdout, %q on stderr, and no %q\nstdout:\n%s\nstderr:\n%s",
			strings.Join(st.args, " "), code, st.code, st.stdout, st.stderr, st.absent, out, errOut)
	}
}

// runEnv is run with extra environment variables.
func (s *server) runEnv(env []string, args ...string) (string, string, int) {
	s.t.Helper()
	cmd := exec.Command(bulkheadBin, args...)
	cmd.Env = append(os.Environ(),
		"BULKHEAD_ENDPOINT=http://"+s.api,
		"BULKHEAD_ACCESS_KEY_ID="+testAccessKey,
		"BULKHEAD_SECRET_ACCESS_KEY="+testSecret)
	cmd.Env = append(cmd.Env, env...)
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

// runJSON runs a command with --json, which must succeed, and decodes its
// output into v.
func (s *server) runJSON(t *testing.T, v any, args ...string) string {
	t.Helper()
	out, errOut, code := s.run(append(args, "--json")...)
	if code != 0 {
		t.Fatalf("bulkhead %s --json = %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("bulkhead %s --json: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func argv(s ...string) []string { return s }

func TestCLITenants(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	s.session(t, []cliStep{
		{args: argv("plans", "create", "gold", "--rate", "10", "--burst", "20", "--quota-limit", "1000", "--quota-period", "DAY"),
			stdout: []string{"Name:     gold", "Throttle: 10/s, burst 20", "Quota:    1000 a day"}},
		{args: argv("tenants", "create", "acme", "--name", "Acme Corp", "--plan", "gold", "--concurrency", "5", "--meta", "tier=gold", "--meta", "region=eu"),
			stdout: []string{"ID:          acme\n", "Name:        Acme Corp\n", "Status:      active\n", "Plan:        gold\n", "Concurrency: 5\n", "Metadata:    region=eu tier=gold\n"}},
		{args: argv("tenants", "create", "beta"), stdout: []string{"Plan:        -\n", "Concurrency: server default\n"}},
		{args: argv("tenants", "create", "gamma/eu-1")},

		// Refusals are the server's, said plainly, with exit code 1.
		{args: argv("tenants", "create", "bad$id"), code: 1,
			stderr: []string{`InvalidParameterValueException: Invalid tenant ID: character '$' at position 4 is not allowed`}},
		{args: argv("tenants", "create", "delta", "--plan", "platinum"), code: 1,
			stderr: []string{"InvalidParameterValueException: Usage plan not found: platinum"}},
		{args: argv("tenants", "create", "acme"), code: 1, stderr: []string{"ResourceConflictException"}},
		{args: argv("tenants", "get", "delta"), code: 1, stderr: []string{"ResourceNotFoundException: Tenant not found: delta"}},
		// A command line that cannot work is refused before asking the server.
		{args: argv("tenants", "update", "acme"), code: 2, stderr: []string{"nothing to change"}},

		{args: argv("tenants", "list"), stdout: []string{"ID ", "NAME ", "STATUS ", "Acme Corp", "beta", "gamma/eu-1"}},
		{args: argv("tenants", "list", "--limit", "2"), stdout: []string{"acme", "beta"}, stderr: []string{`--after "beta"`}, absent: []string{"gamma"}},
		{args: argv("tenants", "list", "--after", "beta"), stdout: []string{"gamma/eu-1"}, absent: []string{"acme", "beta"}},

		// Only the flags given change.
		{args: argv("tenants", "update", "acme", "--concurrency", "7"),
			stdout: []string{"Name:        Acme Corp\n", "Plan:        gold\n", "Concurrency: 7\n", "Metadata:    region=eu tier=gold\n"}},
		{args: argv("tenants", "update", "acme", "--plan", "", "--meta", "tier=silver"),
			stdout: []string{"Plan:        -\n", "Metadata:    tier=silver\n", "Concurrency: 7\n"}},
		{args: argv("tenants", "update", "acme", "--plan", "gold", "--clear-meta"), stdout: []string{"Plan:        gold\n"}, absent: []string{"Metadata:"}},
		{args: argv("tenants", "get", "gamma/eu-1"), stdout: []string{"ID:          gamma/eu-1\n"}},

		{args: argv("tenants", "suspend", "acme"), stdout: []string{"Status:      suspended\n"}},
		{args: argv("tenants", "resume", "acme"), stdout: []string{"Status:      active\n"}},
		{args: argv("tenants", "drain", "acme"), stdout: []string{"Drained 0 environments of tenant acme.\n"}},
		{args: argv("tenants", "quota", "acme"), stdout: []string{"Used:      0 of 1000\n", "Remaining: 1000\n"}},
		{args: argv("tenants", "quota", "beta"), code: 1, stderr: []string{"ResourceNotFoundException: No usage plan applies."}},

		{args: argv("plans", "delete", "gold"), code: 1, stderr: []string{"ResourceConflictException: Usage plan gold is the plan of tenant acme."}},
		{args: argv("tenants", "delete", "acme", "--purge"), stdout: []string{"Deleted tenant acme, its logs and its usage.\n"}},
		{args: argv("tenants", "delete", "gamma/eu-1"), stdout: []string{"Deleted tenant gamma/eu-1.\n"}},
		{args: argv("tenants", "get", "acme"), code: 1, stderr: []string{"ResourceNotFoundException: Tenant not found: acme"}},
		{args: argv("plans", "delete", "gold"), stdout: []string{"Deleted usage plan gold.\n"}},
	})

	var page struct {
		Tenants []struct {
			ID          string            `json:"id"`
			DisplayName string            `json:"displayName"`
			Status      string            `json:"status"`
			Metadata    map[string]string `json:"metadata"`
		} `json:"tenants"`
		Next string `json:"next"`
	}
	for _, id := range []string{"epsilon", "zeta"} {
		if _, errOut, code := s.run("tenants", "create", id, "--meta", "k=v;w"); code != 0 {
			t.Fatalf("tenants create %s = %d %s", id, code, errOut)
		}
	}
	s.runJSON(t, &page, "tenants", "list", "--limit", "2")
	if len(page.Tenants) != 2 || page.Tenants[0].ID != "beta" || page.Next != "epsilon" {
		t.Errorf("tenants list --limit 2 --json = %+v", page)
	}
	page.Next = ""
	s.runJSON(t, &page, "tenants", "list")
	if len(page.Tenants) != 3 || page.Next != "" || page.Tenants[2].ID != "zeta" || page.Tenants[2].Metadata["k"] != "v;w" ||
		page.Tenants[2].Status != "active" {
		t.Errorf("tenants list --json = %+v", page)
	}
}

func TestCLIPlansAndKeys(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	planFile := writeFile(t, "basic.json", `{
		"throttle": {"rateLimit": 0.5, "burstLimit": 1},
		"quota": {"limit": 100, "offset": 10, "period": "MONTH"},
		"routeThrottles": {"/pets/{id}/GET": {"rateLimit": 5, "burstLimit": 10}}
	}`)
	typo := writeFile(t, "typo.json", `{"throtle": {"rateLimit": 1, "burstLimit": 1}}`)
	s.session(t, []cliStep{
		{args: argv("plans", "create", "basic", "--file", planFile),
			stdout: []string{"Throttle: 0.5/s, burst 1\n", "Quota:    100 a month (90 in the first)\n", "/pets/{id}/GET  5/s, burst 10\n"}},
		{args: argv("plans", "create", "routes", "--route-throttle", "/pets/{id}/GET=5:10", "--route-throttle", "//POST=0:0"),
			stdout: []string{"Throttle: none\n", "Quota:    none\n", "//POST          every request refused\n"}},
		{args: argv("plans", "create", "typo", "--file", typo), code: 1, stderr: []string{`unknown field "throtle"`}},
		{args: argv("plans", "create", "both", "--file", planFile, "--rate", "1", "--burst", "1"), code: 2, stderr: []string{"--file cannot be combined"}},
		{args: argv("plans", "create", "half", "--rate", "1"), code: 2, stderr: []string{"--rate and --burst go together"}},
		{args: argv("plans", "create", "bad", "--quota-limit", "5", "--quota-period", "DAY", "--quota-offset", "5"), code: 1,
			stderr: []string{"InvalidParameterValueException", "offset: 5 must be less than limit (5)"}},
		{args: argv("plans", "create", "basic", "--rate", "1", "--burst", "1"), code: 1, stderr: []string{"ResourceConflictException"}},
		{args: argv("plans", "list"), stdout: []string{"NAME ", "basic ", "0.5/s, burst 1", "routes "}},
		// PUT replaces the whole plan: the route throttles go.
		{args: argv("plans", "update", "routes", "--rate", "2", "--burst", "4"), stdout: []string{"Throttle: 2/s, burst 4\n"}, absent: []string{"Route throttles"}},
		{args: argv("plans", "get", "routes"), stdout: []string{"Throttle: 2/s, burst 4\n"}},
		{args: argv("tenants", "create", "acme")},
		{args: argv("keys", "create", "--tenant", "nobody"), code: 1, stderr: []string{"InvalidParameterValueException: An API key needs a registered tenant"}},
		{args: argv("keys", "create", "--tenant", "acme", "--plan", "platinum"), code: 1, stderr: []string{"Usage plan not found: platinum"}},
	})

	var got struct {
		Name  string
		Quota struct{ Limit, Offset int64 }
	}
	s.runJSON(t, &got, "plans", "get", "basic")
	if got.Name != "basic" || got.Quota.Limit != 100 || got.Quota.Offset != 10 {
		t.Errorf("plans get basic --json = %+v", got)
	}

	// The value is printed once, at creation, and never again.
	out, errOut, code := s.run("keys", "create", "--tenant", "acme", "--plan", "basic", "--name", "ci")
	m := regexp.MustCompile(`(?m)^ID: +(key-\w+)\n(?s:.*)^Value: +(bh_\S+)\n\nStore the value now: it cannot be shown again.`).FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("keys create = %d\n%s%s", code, out, errOut)
	}
	keyID, value := m[1], m[2]
	chosen := "my-own-key-value-0123456789-abcdefghij"
	var created struct{ ID, Value, Tenant string }
	s.runJSON(t, &created, "keys", "create", "--tenant", "acme", "--value", chosen)
	if created.Value != chosen || created.Tenant != "acme" || !strings.HasPrefix(created.ID, "key-") {
		t.Errorf("keys create --value --json = %+v", created)
	}
	secrets := []string{value, chosen}
	s.session(t, []cliStep{
		{args: argv("keys", "list"), stdout: []string{"PREFIX", keyID, created.ID, value[:8] + "…", "basic"}, absent: secrets},
		{args: argv("keys", "list", "--json"), stdout: []string{keyID, created.ID, `"prefix": "` + value[:8] + `"`}, absent: secrets},
		{args: argv("keys", "list", "--tenant", "acme"), stdout: []string{keyID}, absent: secrets},
		{args: argv("tenants", "quota", "acme", "--key", keyID), stdout: []string{"Used:      0 of 90\n"}},
		{args: argv("plans", "delete", "basic"), code: 1, stderr: []string{"ResourceConflictException: Usage plan basic is used by API key " + keyID}},
		{args: argv("keys", "revoke", keyID), stdout: []string{"Revoked API key " + keyID + ".\n"}},
		{args: argv("plans", "delete", "basic"), stdout: []string{"Deleted usage plan basic.\n"}},
	})
	var keys struct {
		Keys []struct {
			ID      string
			Revoked *string
		}
	}
	s.runJSON(t, &keys, "keys", "list")
	for _, k := range keys.Keys {
		if (k.ID == keyID) != (k.Revoked != nil) {
			t.Errorf("key %s revoked at %v", k.ID, k.Revoked)
		}
	}
}

func TestCLIAuthorizersAndRoutes(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	createGo(t, s.client(), "pets", "counter", true, 3)

	// The HMAC secret is read from the environment and never shown again.
	const secret = "an-hmac-secret-of-at-least-32-bytes-0123456789"
	jwt := argv("authorizers", "create", "tokens", "--type", "jwt", "--issuer", "https://issuer.example", "--audience", "pets-api",
		"--hmac-secret-env", "PETS_SECRET", "--tenant-claim", "tid", "--leeway", "10s")
	out, errOut, code := s.runEnv([]string{"PETS_SECRET=" + secret}, jwt...)
	checkStep(t, cliStep{args: jwt, stdout: []string{"Type:     jwt\n", "algorithms=HS256", "hmacSecret=(set)", "tenantClaim=tid", "leeway=10s"}, absent: []string{secret}},
		out, errOut, code)
	unset := argv("authorizers", "create", "other", "--type", "jwt", "--issuer", "i", "--audience", "a", "--hmac-secret-env", "CLI_TEST_UNSET_SECRET", "--tenant-claim", "tid")
	out, errOut, code = s.runEnv(nil, unset...)
	checkStep(t, cliStep{args: unset, code: 1, stderr: []string{"environment variable CLI_TEST_UNSET_SECRET is not set"}}, out, errOut, code)

	spec := writeFile(t, "decider.json", `{"type": "lambda", "lambda": {"function": "pets", "identitySources": ["query.token"], "ttlSeconds": 0}}`)
	s.session(t, []cliStep{
		{args: argv("authorizers", "list"), stdout: []string{"NAME ", "tokens ", "hmacSecret=(set)"}, absent: []string{secret}},
		{args: argv("authorizers", "list", "--json"), stdout: []string{`"hmacSecret": "(set)"`}, absent: []string{secret}},
		{args: argv("authorizers", "create", "decider", "--type", "lambda", "--function", "pets", "--identity-source", "header.Authorization", "--ttl", "1m"),
			stdout: []string{"function=pets identitySources=header.Authorization ttl=1m0s"}},
		{args: argv("authorizers", "update", "decider", "--type", "lambda", "--function", "pets", "--identity-source", "header.X-Token", "--tenant-key", "org"),
			stdout: []string{"identitySources=header.X-Token ttl=5m0s tenantKey=org"}},
		{args: argv("authorizers", "create", "filed", "--file", spec), stdout: []string{"identitySources=query.token ttl=0s"}},
		{args: argv("authorizers", "create", "mixed", "--type", "lambda", "--issuer", "i"), code: 2, stderr: []string{"are for --type jwt"}},
		{args: argv("authorizers", "create", "untyped"), code: 2, stderr: []string{"give --type jwt or --type lambda, or --file"}},
		{args: argv("authorizers", "create", "weak", "--type", "lambda", "--function", "pets"), code: 1,
			stderr: []string{"InvalidParameterValueException: Authorizer weak: identitySources must name at least one"}},
	})

	out, errOut, code = s.run("routes", "create", "--method", "get", "--path", "/pets/{id}", "--function", "pets", "--auth", "api_key")
	m := regexp.MustCompile(`(?m)^ID: +(r-\w+)$`).FindStringSubmatch(out)
	if code != 0 || m == nil || !strings.Contains(out, "Route:    GET /pets/{id}\n") || !strings.Contains(out, "Payload:  2.0\n") ||
		!strings.Contains(out, "Timeout:  29s\n") {
		t.Fatalf("routes create = %d\n%s%s", code, out, errOut)
	}
	keyRoute := m[1]
	var jwtRoute struct{ ID, Auth, Authorizer, Payload string }
	s.runJSON(t, &jwtRoute, "routes", "create", "--method", "POST", "--path", "/pets", "--function", "pets", "--auth", "jwt",
		"--authorizer", "tokens", "--scope", "pets:write", "--payload", "1.0", "--timeout", "10s")
	if jwtRoute.Auth != "jwt" || jwtRoute.Authorizer != "tokens" || jwtRoute.Payload != "1.0" {
		t.Errorf("routes create --json = %+v", jwtRoute)
	}
	s.session(t, []cliStep{
		// A route that names no tenant cannot lead to a per-tenant function.
		{args: argv("routes", "create", "--method", "GET", "--path", "/open", "--function", "pets", "--auth", "none"), code: 1,
			stderr: []string{"InvalidParameterValueException: Function pets runs per tenant: a route to it must identify the tenant"}},
		{args: argv("routes", "create", "--method", "GET", "--path", "/pets/{id}", "--function", "pets", "--auth", "api_key"), code: 1,
			stderr: []string{"ResourceConflictException"}},
		{args: argv("routes", "create", "--method", "GET", "--path", "/slow", "--function", "pets", "--auth", "api_key", "--timeout", "1500ms"), code: 1,
			stderr: []string{"--timeout 1.5s: give a whole number of seconds"}},
		{args: argv("routes", "create", "--method", "GET", "--path", "/t/{tenant}/pets", "--function", "pets", "--auth", "trusted", "--tenant-from", "path.tenant"),
			stdout: []string{"Auth:     trusted (tenant from path.tenant)\n"}},
		{args: argv("routes", "list"), stdout: []string{"METHOD ", keyRoute, jwtRoute.ID, "pets:write", "jwt (authorizer tokens; scopes pets:write)", "10s", "/t/{tenant}/pets"}},
		{args: argv("authorizers", "delete", "tokens"), code: 1, stderr: []string{"ResourceConflictException: Authorizer tokens is used by route " + jwtRoute.ID}},
		{args: argv("routes", "delete", jwtRoute.ID), stdout: []string{"Deleted route " + jwtRoute.ID + ".\n"}},
		{args: argv("routes", "list", "--json"), stdout: []string{keyRoute}, absent: []string{jwtRoute.ID}},
		{args: argv("routes", "delete", jwtRoute.ID), code: 1, stderr: []string{"ResourceNotFoundException"}},
		{args: argv("authorizers", "delete", "tokens"), stdout: []string{"Deleted authorizer tokens.\n"}},
		{args: argv("authorizers", "list"), absent: []string{"tokens"}},
	})
}
