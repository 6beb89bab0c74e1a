package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
	"github.com/golang-jwt/jwt/v5"
)

// gatewayEcho is what e2e/testdata/gateway answers.
type gatewayEcho struct {
	Tenant, Path, RouteKey, Body, HeaderSent, APIKeyID, Environment string
	Params, Query, Claims                                           map[string]string
	Scopes                                                          []string
	Authorizer                                                      map[string]any
}

// createGatewayFn creates a function running e2e/testdata/gateway in mode.
func createGatewayFn(t testing.TB, c *lambda.Client, name, mode string, perTenant bool) {
	t.Helper()
	in := createInput(t, name)
	in.Code.ZipFile = storedGoZip(t, "./testdata/gateway")
	in.Environment = &types.Environment{Variables: map[string]string{"MODE": mode}}
	if perTenant {
		in.TenancyConfig = &types.TenancyConfig{TenantIsolationMode: types.TenantIsolationModePerTenant}
	}
	if _, err := c.CreateFunction(ctx(t), in); err != nil {
		t.Fatalf("CreateFunction %s: %v", name, err)
	}
}

// admin calls the admin API with a JSON body and wants status.
func (s *server) admin(t testing.TB, method, path string, in any, status int) []byte {
	t.Helper()
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			t.Fatal(err)
		}
	}
	resp, out := s.signedRequest(method, "/bulkhead/v1"+path, body, http.Header{"Content-Type": {"application/json"}})
	if resp.StatusCode != status {
		t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, out, status)
	}
	return out
}

// call sends a public request to the gateway.
func (s *server) call(t *testing.T, method, path string, headers map[string]string, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), method, "http://"+s.gateway+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, out
}

// want checks a gateway answer's status and, when it is 2xx, decodes the echo.
func want(t *testing.T, resp *http.Response, body []byte, status int, what string) gatewayEcho {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s: %d %s, want %d", what, resp.StatusCode, body, status)
	}
	var e gatewayEcho
	if status/100 == 2 {
		if err := json.Unmarshal(body, &e); err != nil {
			t.Fatalf("%s: body %s: %v", what, body, err)
		}
	}
	return e
}

func wantRefusal(t *testing.T, resp *http.Response, body []byte, status int, message, what string) {
	t.Helper()
	if resp.StatusCode != status || !strings.Contains(string(body), message) {
		t.Errorf("%s: %d %s, want %d with %q", what, resp.StatusCode, body, status, message)
	}
}

type jwksServer struct {
	*httptest.Server
	rsa *rsa.PrivateKey
	ec  *ecdsa.PrivateKey
}

func newJWKS(t *testing.T) *jwksServer {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b64 := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	doc, _ := json.Marshal(map[string]any{"keys": []map[string]string{
		{"kty": "RSA", "kid": "r1", "alg": "RS256", "use": "sig", "n": b64(rk.N.Bytes()), "e": b64(big.NewInt(int64(rk.E)).Bytes())},
		{"kty": "EC", "kid": "e1", "alg": "ES256", "use": "sig", "crv": "P-256", "x": b64(ek.X.FillBytes(make([]byte, 32))), "y": b64(ek.Y.FillBytes(make([]byte, 32)))},
	}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(doc)
	}))
	t.Cleanup(srv.Close)
	return &jwksServer{Server: srv, rsa: rk, ec: ek}
}

const (
	jwtIssuer   = "https://issuer.example"
	jwtAudience = "bulkhead-api"
)

func (j *jwksServer) token(t *testing.T, method jwt.SigningMethod, claims jwt.MapClaims) string {
	t.Helper()
	base := jwt.MapClaims{"iss": jwtIssuer, "aud": jwtAudience, "sub": "user-1", "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()}
	for k, v := range claims {
		if v == nil {
			delete(base, k)
		} else {
			base[k] = v
		}
	}
	tok := jwt.NewWithClaims(method, base)
	var key any
	switch method {
	case jwt.SigningMethodRS256:
		tok.Header["kid"], key = "r1", j.rsa
	case jwt.SigningMethodES256:
		tok.Header["kid"], key = "e1", j.ec
	case jwt.SigningMethodNone:
		key = jwt.UnsafeAllowNoneSignatureType
	case jwt.SigningMethodHS256:
		key = []byte("an attacker's secret of 32 bytes or more!")
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestGatewayTenantComesFromVerifiedIdentity runs the three identities a
// route may require — an API key, a JWT from a JWKS the test serves, and a
// Lambda authorizer — against aws-lambda-go handlers, with spoofing
// attempts each time: the handler only ever sees the verified tenant.
func TestGatewayTenantComesFromVerifiedIdentity(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	c := s.client()
	createGatewayFn(t, c, "pets", "v2", true)
	createGatewayFn(t, c, "legacy", "v1", true)
	createGatewayFn(t, c, "authz", "authorizer", false)
	for _, id := range []string{"blue", "green"} {
		s.admin(t, "POST", "/tenants", map[string]any{"id": id}, 201)
	}
	keys := map[string]string{}
	for _, id := range []string{"blue", "green"} {
		var k struct{ ID, Value string }
		json.Unmarshal(s.admin(t, "POST", "/keys", map[string]any{"tenant": id, "name": "app"}, 201), &k)
		if len(k.Value) < 30 || k.ID == "" {
			t.Fatalf("key created as %+v", k)
		}
		keys[id], keys[id+"-id"] = k.Value, k.ID
	}

	t.Run("APIKey", func(t *testing.T) {
		s.admin(t, "POST", "/routes", map[string]any{"method": "GET", "path": "/pets/{id}", "function": "pets", "auth": "api_key"}, 201)
		for _, id := range []string{"blue", "green"} {
			resp, body := s.call(t, "GET", "/pets/7?x=1", map[string]string{"x-api-key": keys[id]}, "")
			e := want(t, resp, body, 200, "key of "+id)
			if e.Tenant != id || e.Params["id"] != "7" || e.Query["x"] != "1" || e.RouteKey != "GET /pets/{id}" {
				t.Errorf("key of %s: handler saw %+v", id, e)
			}
			if got := resp.Header.Values("Set-Cookie"); len(got) != 2 || got[1] != "tenant="+id {
				t.Errorf("cookies %q", got)
			}
		}
		// A tenant header contradicting the key changes nothing.
		resp, body := s.call(t, "GET", "/pets/7", map[string]string{"x-api-key": keys["blue"], "X-Amz-Tenant-Id": "green"}, "")
		if e := want(t, resp, body, 200, "spoofed header"); e.Tenant != "blue" || e.HeaderSent != "green" {
			t.Errorf("with a green tenant header and blue's key the handler ran for %q (header seen %q)", e.Tenant, e.HeaderSent)
		}
		resp, body = s.call(t, "GET", "/pets/7", nil, "")
		wantRefusal(t, resp, body, 403, `{"message":"Forbidden"}`, "no key")
		resp, body = s.call(t, "GET", "/pets/7", map[string]string{"x-api-key": keys["blue"] + "x"}, "")
		wantRefusal(t, resp, body, 403, `{"message":"Forbidden"}`, "wrong key")
		resp, body = s.call(t, "GET", "/nowhere", map[string]string{"x-api-key": keys["blue"]}, "")
		wantRefusal(t, resp, body, 404, `{"message":"Not Found"}`, "unknown route")
	})

	t.Run("JWT", func(t *testing.T) {
		j := newJWKS(t)
		s.admin(t, "POST", "/authorizers", map[string]any{"name": "idp", "type": "jwt", "jwt": map[string]any{
			"issuer": jwtIssuer, "audiences": []string{jwtAudience}, "algorithms": []string{"RS256", "ES256"},
			"jwksUrl": j.URL, "tenantClaim": "custom:tenant_id"}}, 201)
		s.admin(t, "POST", "/routes", map[string]any{"method": "POST", "path": "/orders", "function": "pets", "auth": "jwt", "authorizer": "idp"}, 201)
		s.admin(t, "POST", "/routes", map[string]any{"method": "GET", "path": "/admin", "function": "pets", "auth": "jwt", "authorizer": "idp", "scopes": []string{"admin"}}, 201)
		bearer := func(tok string) map[string]string {
			return map[string]string{"Authorization": "Bearer " + tok, "X-Amz-Tenant-Id": "blue"}
		}
		for _, m := range []jwt.SigningMethod{jwt.SigningMethodRS256, jwt.SigningMethodES256} {
			tok := j.token(t, m, jwt.MapClaims{"custom:tenant_id": "green", "scope": "read write"})
			resp, body := s.call(t, "POST", "/orders", bearer(tok), `{"n":1}`)
			e := want(t, resp, body, 200, m.Alg()+" token")
			if e.Tenant != "green" || e.Claims["custom:tenant_id"] != "green" || e.Body != `{"n":1}` || len(e.Scopes) != 2 {
				t.Errorf("%s token for green (blue header): handler saw %+v", m.Alg(), e)
			}
		}
		for name, tok := range map[string]string{
			"expired":         j.token(t, jwt.SigningMethodRS256, jwt.MapClaims{"custom:tenant_id": "green", "exp": time.Now().Add(-time.Hour).Unix()}),
			"other audience":  j.token(t, jwt.SigningMethodRS256, jwt.MapClaims{"custom:tenant_id": "green", "aud": "another-api"}),
			"other issuer":    j.token(t, jwt.SigningMethodRS256, jwt.MapClaims{"custom:tenant_id": "green", "iss": "https://evil.example"}),
			"alg none":        j.token(t, jwt.SigningMethodNone, jwt.MapClaims{"custom:tenant_id": "green"}),
			"HS256 forgery":   j.token(t, jwt.SigningMethodHS256, jwt.MapClaims{"custom:tenant_id": "green"}),
			"no tenant claim": j.token(t, jwt.SigningMethodRS256, jwt.MapClaims{}),
			"unsigned":        strings.Join(strings.Split(j.token(t, jwt.SigningMethodRS256, jwt.MapClaims{"custom:tenant_id": "green"}), ".")[:2], ".") + ".",
			"garbage":         "not-a-token",
		} {
			resp, body := s.call(t, "POST", "/orders", bearer(tok), "")
			wantRefusal(t, resp, body, 401, `{"message":"Unauthorized"}`, name)
		}
		resp, body := s.call(t, "POST", "/orders", map[string]string{"X-Amz-Tenant-Id": "blue"}, "")
		wantRefusal(t, resp, body, 401, `{"message":"Unauthorized"}`, "no token, a tenant header")
		resp, body = s.call(t, "GET", "/admin", bearer(j.token(t, jwt.SigningMethodRS256, jwt.MapClaims{"custom:tenant_id": "green", "scope": "read"})), "")
		wantRefusal(t, resp, body, 403, `{"message":"Forbidden"}`, "token without the route's scope")
		resp, body = s.call(t, "GET", "/admin", bearer(j.token(t, jwt.SigningMethodRS256, jwt.MapClaims{"custom:tenant_id": "green", "scp": []string{"admin"}})), "")
		want(t, resp, body, 200, "token with the route's scope")
	})

	t.Run("LambdaAuthorizer", func(t *testing.T) {
		s.admin(t, "POST", "/authorizers", map[string]any{"name": "lam", "type": "lambda", "lambda": map[string]any{
			"function": "authz", "identitySources": []string{"header.Authorization"}, "ttlSeconds": 300}}, 201)
		s.admin(t, "POST", "/routes", map[string]any{"method": "ANY", "path": "/v1/items/{proxy+}", "function": "legacy", "payload": "1.0", "auth": "lambda", "authorizer": "lam"}, 201)
		var first string
		for i := range 2 {
			resp, body := s.call(t, "PUT", "/v1/items/a/b", map[string]string{"Authorization": "allow:blue", "X-Amz-Tenant-Id": "green"}, "x")
			e := want(t, resp, body, 201, "allowed by the authorizer")
			if e.Tenant != "blue" || e.Params["proxy"] != "a/b" || e.Authorizer["tenantId"] != "blue" || e.Authorizer["principalId"] != "user-blue" {
				t.Errorf("authorizer said blue (green header): handler saw %+v", e)
			}
			if got := resp.Header.Values("X-Multi"); len(got) != 2 {
				t.Errorf("multiValueHeaders became %q", got)
			}
			decided, _ := e.Authorizer["decidedAt"].(string)
			if i == 0 {
				first = decided
			} else if decided != first {
				t.Errorf("the second request ran the authorizer again (decided %s, then %s): its decision was not cached", first, decided)
			}
		}
		for name, c := range map[string]struct {
			token, message string
			status         int
		}{
			"deny":         {"deny", "explicit deny", 403},
			"unauthorized": {"unauthorized", `{"message":"Unauthorized"}`, 401},
			"no identity":  {"", `{"message":"Unauthorized"}`, 401},
			"garbage":      {"garbage", `"message":null`, 500},
			"failure":      {"boom", `"message":null`, 500},
		} {
			h := map[string]string{"X-Amz-Tenant-Id": "blue"}
			if c.token != "" {
				h["Authorization"] = c.token
			}
			resp, body := s.call(t, "GET", "/v1/items/x", h, "")
			wantRefusal(t, resp, body, c.status, c.message, name)
		}
	})

	t.Run("TrustedRoute", func(t *testing.T) {
		s.admin(t, "POST", "/routes", map[string]any{"method": "GET", "path": "/internal/{tenant}/ping", "function": "pets", "auth": "trusted", "tenantFrom": "path.tenant"}, 201)
		resp, body := s.call(t, "GET", "/internal/green/ping", map[string]string{"X-Amz-Tenant-Id": "blue"}, "")
		if e := want(t, resp, body, 200, "trusted route"); e.Tenant != "green" {
			t.Errorf("trusted route named green: handler ran for %q", e.Tenant)
		}
		resp, body = s.call(t, "GET", "/internal/bad%09id/ping", nil, "")
		wantRefusal(t, resp, body, 403, "Forbidden", "trusted route with an invalid tenant")
	})

	t.Run("IntegrationAnswers", func(t *testing.T) {
		s.admin(t, "POST", "/routes", map[string]any{"method": "POST", "path": "/slow", "function": "pets", "auth": "api_key", "timeoutSeconds": 1}, 201)
		key := map[string]string{"x-api-key": keys["green"]}
		resp, body := s.call(t, "GET", "/pets/1?status=418", key, "")
		want(t, resp, body, 418, "a handler's status code")
		resp, body = s.call(t, "GET", "/pets/1?fail=yes", key, "")
		wantRefusal(t, resp, body, 502, `"Internal server error"`, "a handler's error")
		resp, body = s.call(t, "POST", "/slow?sleep=3000", key, "")
		wantRefusal(t, resp, body, 504, `{"message":"Endpoint request timed out"}`, "past the route's timeout")
		resp, body = s.call(t, "POST", "/slow", key, strings.Repeat("x", 10<<20+1))
		wantRefusal(t, resp, body, 413, "", "a body over 10 MB")
		resp, body = s.call(t, "POST", "/slow", key, strings.Repeat("x", 7<<20))
		wantRefusal(t, resp, body, 413, "", "a body over the function's 6 MB")
	})

	t.Run("RevokedKeyAndSuspendedTenant", func(t *testing.T) {
		s.admin(t, "DELETE", "/keys/"+keys["green-id"], nil, 204)
		resp, body := s.call(t, "GET", "/pets/1", map[string]string{"x-api-key": keys["green"]}, "")
		wantRefusal(t, resp, body, 403, `{"message":"Forbidden"}`, "revoked key")

		s.admin(t, "POST", "/tenants/blue/suspend", nil, 200)
		resp, body = s.call(t, "GET", "/pets/1", map[string]string{"x-api-key": keys["blue"]}, "")
		wantRefusal(t, resp, body, 403, `{"message":"Forbidden"}`, "suspended tenant's key")
		_, err := c.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("pets"), TenantId: aws.String("blue"), Payload: []byte(`{}`)})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" {
			t.Errorf("Lambda API invoke of a suspended tenant: %v, want AccessDeniedException", err)
		}
		s.admin(t, "POST", "/tenants/blue/resume", nil, 200)
		resp, body = s.call(t, "GET", "/pets/1", map[string]string{"x-api-key": keys["blue"]}, "")
		want(t, resp, body, 200, "resumed tenant's key")
	})
}

// TestGatewayUsagePlans checks rate and burst, and a quota that holds across
// a restart.
func TestGatewayUsagePlans(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, dir)
	createGatewayFn(t, s.client(), "pets", "v2", true)
	s.admin(t, "POST", "/plans", map[string]any{"name": "tiny", "throttle": map[string]any{"rateLimit": 0.01, "burstLimit": 2}}, 201)
	s.admin(t, "POST", "/plans", map[string]any{"name": "three", "quota": map[string]any{"limit": 3, "period": "DAY"}}, 201)
	s.admin(t, "POST", "/tenants", map[string]any{"id": "blue", "plan": "three"}, 201)
	s.admin(t, "POST", "/tenants", map[string]any{"id": "green"}, 201)
	var tiny, three struct{ Value string }
	json.Unmarshal(s.admin(t, "POST", "/keys", map[string]any{"tenant": "green", "plan": "tiny"}, 201), &tiny)
	json.Unmarshal(s.admin(t, "POST", "/keys", map[string]any{"tenant": "blue"}, 201), &three) // blue's plan: three
	s.admin(t, "POST", "/routes", map[string]any{"method": "GET", "path": "/pets", "function": "pets", "auth": "api_key"}, 201)

	// Burst 2 at 0.01 requests per second: two pass, the third is throttled.
	for i := range 3 {
		resp, body := s.call(t, "GET", "/pets", map[string]string{"x-api-key": tiny.Value}, "")
		if i < 2 {
			want(t, resp, body, 200, "within the burst")
		} else {
			wantRefusal(t, resp, body, 429, `{"message":"Too Many Requests"}`, "over the burst")
		}
	}
	// A quota of 3 a day: three pass, then "Limit Exceeded", also after a restart.
	for i := range 4 {
		resp, body := s.call(t, "GET", "/pets", map[string]string{"x-api-key": three.Value}, "")
		if i < 3 {
			want(t, resp, body, 200, "within the quota")
		} else {
			wantRefusal(t, resp, body, 429, `{"message":"Limit Exceeded"}`, "over the quota")
		}
	}
	var u struct{ Limit, Used, Remaining int64 }
	json.Unmarshal(s.admin(t, "GET", "/tenants/blue/quota", nil, 200), &u)
	if u.Limit != 3 || u.Used != 3 || u.Remaining != 0 {
		t.Errorf("quota usage %+v, want 3 of 3 used", u)
	}
	if err := s.stop(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	s = startServer(t, dir)
	resp, body := s.call(t, "GET", "/pets", map[string]string{"x-api-key": three.Value}, "")
	wantRefusal(t, resp, body, 429, `{"message":"Limit Exceeded"}`, "over the quota after a restart")
	resp, body = s.call(t, "GET", "/pets", map[string]string{"x-api-key": tiny.Value}, "")
	want(t, resp, body, 200, "throttle buckets start full after a restart")

	// Deleting blue with purge: its key dies, its usage and logs go; green's stay.
	type usageOut struct{ Rows []struct{ TenantID string } }
	type logsOut struct{ Records []struct{ TenantID string } }
	var before usageOut
	json.Unmarshal(s.admin(t, "GET", "/usage?tenant=blue", nil, 200), &before)
	if len(before.Rows) == 0 {
		t.Fatal("blue has no usage to purge")
	}
	s.admin(t, "DELETE", "/tenants/blue?purge=true", nil, 204)
	resp, body = s.call(t, "GET", "/pets", map[string]string{"x-api-key": three.Value}, "")
	wantRefusal(t, resp, body, 403, `{"message":"Forbidden"}`, "a deleted tenant's key")
	s.admin(t, "GET", "/tenants/blue", nil, 404)
	var after, green usageOut
	json.Unmarshal(s.admin(t, "GET", "/usage?tenant=blue", nil, 200), &after)
	json.Unmarshal(s.admin(t, "GET", "/usage?tenant=green", nil, 200), &green)
	if len(after.Rows) != 0 || len(green.Rows) == 0 {
		t.Errorf("after purging blue: blue has %d usage rows (want 0), green %d (want some)", len(after.Rows), len(green.Rows))
	}
	var blueLogs, greenLogs logsOut
	json.Unmarshal(s.admin(t, "GET", "/logs?function=pets&tenant=blue", nil, 200), &blueLogs)
	json.Unmarshal(s.admin(t, "GET", "/logs?function=pets&tenant=green", nil, 200), &greenLogs)
	if len(blueLogs.Records) != 0 || len(greenLogs.Records) == 0 {
		t.Errorf("after purging blue: blue has %d log records (want 0), green %d (want some)", len(blueLogs.Records), len(greenLogs.Records))
	}
}

// TestRequireRegisteredTenants: with the option, the Lambda API refuses a
// tenant until it is registered.
func TestRequireRegisteredTenants(t *testing.T) {
	t.Parallel()
	s := startServerArgs(t, t.TempDir(), "--require-registered-tenants")
	c := s.client()
	createGatewayFn(t, c, "pets", "v2", true)
	invoke := func() error {
		_, err := c.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("pets"), TenantId: aws.String("newcomer"), Payload: []byte(`{}`)})
		return err
	}
	var ae smithy.APIError
	if err := invoke(); !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" || !strings.Contains(ae.ErrorMessage(), "not registered") {
		t.Fatalf("unregistered tenant: %v, want AccessDeniedException naming registration", err)
	}
	s.admin(t, "POST", "/tenants", map[string]any{"id": "newcomer"}, 201)
	if err := invoke(); err != nil {
		t.Errorf("registered tenant: %v", err)
	}
}
