package sts

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/bulkhead-dev/bulkhead/internal/tenant"
)

// environmentSession is the template of environment env of tenant.
func environmentSession(env, tenantID string) Session {
	return Session{
		Account: testAccount, RoleName: ordersRole.Name, RoleARN: ordersRole.ARN, RoleID: ordersRole.ID,
		SessionName: env,
		Tags:        Tags{{TenantTag, tenantID}, {"FunctionName", "orders-api"}, {"EnvironmentId", env}},
		Environment: env,
		Tenant:      mustTenant(tenantID),
	}
}

func newEnv(t testing.TB, s Session) *EnvCredentials {
	t.Helper()
	e, err := NewEnvCredentials(testIssuer(t), s, EnvOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestEnvCredentialsSDKDefaultChain: the unmodified SDK, configured by
// environment variables only, finds the credentials and uses them.
func TestEnvCredentialsSDKDefaultChain(t *testing.T) {
	env := newEnv(t, environmentSession("env-a", "acme-corp"))
	mux := http.NewServeMux()
	mux.Handle("GET /credentials/env-a", env)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_CONTAINER_CREDENTIALS_FULL_URI":     srv.URL + "/credentials/env-a",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN":      env.Token(),
		"AWS_REGION":                             testRegion,
		"AWS_CONFIG_FILE":                        filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE":            filepath.Join(dir, "credentials"),
		"AWS_ACCESS_KEY_ID":                      "",
		"AWS_SECRET_ACCESS_KEY":                  "",
		"AWS_SESSION_TOKEN":                      "",
		"AWS_PROFILE":                            "",
		"AWS_WEB_IDENTITY_TOKEN_FILE":            "",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": "",
		"AWS_EC2_METADATA_DISABLED":              "true",
	} {
		t.Setenv(k, v)
	}
	cfg, err := config.LoadDefaultConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got, err := cfg.Credentials.Retrieve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	s, secret, err := testIssuer(t).Open(got.AccessKeyID, got.SessionToken, time.Now())
	if err != nil {
		t.Fatalf("the SDK's credentials do not open: %v", err)
	}
	if secret != got.SecretAccessKey || s.Environment != "env-a" || s.Tenant != mustTenant("acme-corp") || got.AccountID != testAccount {
		t.Errorf("SDK got %s for environment %q, tenant %v, account %q", got.AccessKeyID, s.Environment, s.Tenant, got.AccountID)
	}
	// The SDK's cache refreshes five minutes before Expiration.
	if !got.CanExpire || !got.Expires.Equal(s.Expires.Add(-5*time.Minute)) {
		t.Errorf("SDK expiry %v (can expire %v), session expires %v", got.Expires, got.CanExpire, s.Expires)
	}

	// And the SDK signs with them: STS knows who it is.
	sts := newSTSFixture(t, nil)
	out, err := awssts.NewFromConfig(cfg, func(o *awssts.Options) { o.BaseEndpoint = aws.String(sts.srv.URL) }).
		GetCallerIdentity(t.Context(), &awssts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if *out.Arn != "arn:aws:sts::123456789012:assumed-role/orders-data/env-a" {
		t.Errorf("caller = %s", *out.Arn)
	}
}

// TestEnvCredentialsSDKProvider uses the SDK's endpointcreds provider.
func TestEnvCredentialsSDKProvider(t *testing.T) {
	env := newEnv(t, environmentSession("env-a", "acme-corp"))
	srv := httptest.NewServer(env)
	defer srv.Close()
	p := endpointcreds.New(srv.URL, func(o *endpointcreds.Options) { o.AuthorizationToken = env.Token() })
	got, err := p.Retrieve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := testIssuer(t).Open(got.AccessKeyID, got.SessionToken, time.Now()); err != nil {
		t.Fatal(err)
	}
	bad := endpointcreds.New(srv.URL, func(o *endpointcreds.Options) { o.AuthorizationToken = "nope" })
	if _, err := bad.Retrieve(t.Context()); err == nil {
		t.Fatal("a wrong token retrieved credentials")
	}
}

// TestEnvCredentialsIsolation: two environments' endpoints, fetched
// concurrently, never hand out each other's credentials, and neither answers
// the other's token.
func TestEnvCredentialsIsolation(t *testing.T) {
	envs := map[string]*EnvCredentials{
		"env-a": newEnv(t, environmentSession("env-a", "acme-corp")),
		"env-b": newEnv(t, environmentSession("env-b", "globex")),
	}
	tenants := map[string]tenant.ID{"env-a": mustTenant("acme-corp"), "env-b": mustTenant("globex")}
	mux := http.NewServeMux()
	for id, e := range envs {
		mux.Handle("GET /credentials/"+id, e)
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()

	var mu sync.Mutex
	keys := map[string]string{} // access key id → environment
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			id := "env-a"
			if i%2 == 1 {
				id = "env-b"
			}
			c, status := fetchEnv(t, srv.URL+"/credentials/"+id, envs[id].Token())
			if status != http.StatusOK {
				t.Errorf("%s: status %d", id, status)
				return
			}
			s, _, err := testIssuer(t).Open(c.AccessKeyID, c.Token, time.Now())
			if err != nil {
				t.Error(err)
				return
			}
			if s.Environment != id || s.Tenant != tenants[id] {
				t.Errorf("endpoint %s handed out credentials of environment %s, tenant %v", id, s.Environment, s.Tenant)
			}
			mu.Lock()
			if other, ok := keys[c.AccessKeyID]; ok && other != id {
				t.Errorf("access key %s served by %s and %s", c.AccessKeyID, other, id)
			}
			keys[c.AccessKeyID] = id
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(keys) != 2 {
		t.Errorf("%d access keys handed out, want one per environment (cached): %v", len(keys), keys)
	}
	for id, other := range map[string]string{"env-a": "env-b", "env-b": "env-a"} {
		if _, status := fetchEnv(t, srv.URL+"/credentials/"+id, envs[other].Token()); status != http.StatusForbidden {
			t.Errorf("%s answered %s's token with %d, want 403", id, other, status)
		}
	}
}

type envResponse struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Token           string `json:"Token"`
	Expiration      string `json:"Expiration"`
	AccountID       string `json:"AccountId"`
	Code            string `json:"code"`
	Message         string `json:"message"`
}

func fetchEnv(t testing.TB, url, token string) (envResponse, int) {
	r, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Error(err)
		return envResponse{}, 0
	}
	if token != "" {
		r.Header.Set("Authorization", token)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Error(err)
		return envResponse{}, 0
	}
	defer resp.Body.Close()
	var out envResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Errorf("body is not JSON: %v", err)
	}
	return out, resp.StatusCode
}

func serveEnv(e *EnvCredentials, method, token string) (*httptest.ResponseRecorder, envResponse) {
	r := httptest.NewRequest(method, "/", nil)
	if token != "" {
		r.Header.Set("Authorization", token)
	}
	w := httptest.NewRecorder()
	e.ServeHTTP(w, r)
	var out envResponse
	_ = json.Unmarshal(w.Body.Bytes(), &out)
	return w, out
}

func TestEnvCredentialsRefusals(t *testing.T) {
	e := newEnv(t, environmentSession("env-a", "acme-corp"))
	for _, tc := range []struct {
		name, method, token string
		status              int
		code                string
	}{
		{"no Authorization", http.MethodGet, "", 401, "Unauthorized"},
		{"wrong token", http.MethodGet, e.Token() + "x", 403, "AccessDenied"},
		{"token prefix", http.MethodGet, e.Token()[:10], 403, "AccessDenied"},
		{"POST", http.MethodPost, e.Token(), 405, "MethodNotAllowed"},
		{"right token", http.MethodGet, e.Token(), 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, out := serveEnv(e, tc.method, tc.token)
			if w.Code != tc.status || out.Code != tc.code || w.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("got %d %s (%s), want %d %s", w.Code, out.Code, w.Header().Get("Content-Type"), tc.status, tc.code)
			}
			if tc.status != 200 && (out.Message == "" || out.AccessKeyID != "") {
				t.Errorf("refusal body %s", w.Body)
			}
			if tc.status == 200 {
				exp, err := time.Parse(time.RFC3339, out.Expiration)
				if err != nil || exp.Location() != time.UTC || out.AccountID != testAccount || out.Token == "" || out.SecretAccessKey == "" {
					t.Errorf("credentials document %s", w.Body)
				}
			}
		})
	}
	t.Run("revoked", func(t *testing.T) {
		e.Revoke()
		w, out := serveEnv(e, http.MethodGet, e.Token())
		if w.Code != http.StatusForbidden || out.Code != "AccessDenied" || out.AccessKeyID != "" {
			t.Fatalf("after Revoke: %d %s", w.Code, w.Body)
		}
	})
}

// TestEnvCredentialsRefresh follows one environment through fake time: the
// credentials are cached until fewer than 15 minutes remain.
func TestEnvCredentialsRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, err := NewEnvCredentials(testIssuer(t), environmentSession("env-a", "acme-corp"), EnvOptions{})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		fetch := func() envResponse {
			w, out := serveEnv(e, http.MethodGet, e.Token())
			if w.Code != 200 {
				t.Fatalf("status %d", w.Code)
			}
			return out
		}
		first := fetch()
		if first.Expiration != start.Add(time.Hour).UTC().Format(time.RFC3339) {
			t.Errorf("first expiry %s, want an hour from %s", first.Expiration, start)
		}
		time.Sleep(45 * time.Minute) // exactly 15 minutes remain: still cached
		if got := fetch(); got.AccessKeyID != first.AccessKeyID {
			t.Errorf("re-minted with 15 minutes left")
		}
		time.Sleep(time.Second)
		second := fetch()
		if second.AccessKeyID == first.AccessKeyID {
			t.Fatalf("not re-minted with under 15 minutes left")
		}
		if second.Expiration != time.Now().Add(time.Hour).UTC().Format(time.RFC3339) {
			t.Errorf("second expiry %s", second.Expiration)
		}
		if got := fetch(); got.AccessKeyID != second.AccessKeyID {
			t.Errorf("the new credentials are not cached")
		}
	})
}

func TestEnvCredentialsConcurrentFirstFetch(t *testing.T) {
	e := newEnv(t, environmentSession("env-a", "acme-corp"))
	var wg sync.WaitGroup
	ids := make([]string, 32)
	for i := range ids {
		wg.Go(func() {
			_, out := serveEnv(e, http.MethodGet, e.Token())
			ids[i] = out.AccessKeyID
		})
	}
	wg.Go(func() { _ = e.Token() })
	wg.Wait()
	for _, id := range ids {
		if id == "" || id != ids[0] {
			t.Fatalf("concurrent fetches got %v", ids)
		}
	}
}

func TestNewEnvCredentialsChecks(t *testing.T) {
	iss := testIssuer(t)
	noEnv := environmentSession("env-a", "acme-corp")
	noEnv.Environment = ""
	badTenant := environmentSession("env-a", "acme-corp")
	badTenant.Tenant = mustTenant("globex")
	for _, tc := range []struct {
		name     string
		issuer   *Issuer
		template Session
		lifetime time.Duration
	}{
		{"no issuer", nil, environmentSession("env-a", "acme-corp"), 0},
		{"no environment", iss, noEnv, 0},
		{"tenant differs from the tag", iss, badTenant, 0},
		{"lifetime of 15 minutes", iss, environmentSession("env-a", "acme-corp"), EnvRefreshBefore},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewEnvCredentials(tc.issuer, tc.template, EnvOptions{Lifetime: tc.lifetime}); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	e, err := NewEnvCredentials(iss, environmentSession("env-a", "acme-corp"), EnvOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Token()) < 40 {
		t.Errorf("token of %d characters", len(e.Token()))
	}
	var logged strings.Builder
	fmt.Fprintf(&logged, "%v %+v %#v %s", e, e, e, e)
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("env", "endpoint", e)
	if strings.Contains(logged.String(), e.Token()) || !strings.Contains(logged.String(), "env-a") {
		t.Errorf("printing the endpoint shows its token, or not its environment: %s", logged.String())
	}
}
