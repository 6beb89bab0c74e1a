package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/bulkhead-dev/bulkhead/internal/pgtest"
)

// ordersPolicy is the pool model's canonical policy (identity-data.md
// §1.8): a tenant's session may touch only items whose partition key
// starts with its TenantID and "#", and may not Scan.
const ordersPolicy = `{
  "Version": "2012-10-17",
  "Statement": [{
    "Effect": "Allow",
    "Action": ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem",
               "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"],
    "Resource": ["arn:aws:dynamodb:*:*:table/Orders"],
    "Condition": {
      "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["${aws:PrincipalTag/TenantID}#*"]},
      "Null": {"dynamodb:LeadingKeys": "false"}
    }
  }, {
    "Effect": "Allow",
    "Action": ["sts:AssumeRole", "sts:TagSession"],
    "Resource": "*"
  }]
}`

// dataAnswer is what e2e/testdata/tenantdata answers.
type dataAnswer struct {
	Tenant string
	Code   string
	Values []string
	Count  int
	Key    string
	Env    map[string]string
	Creds  *aws.Credentials
}

// dataEvent is what it is asked.
type dataEvent struct {
	Op    string
	Table string           `json:",omitempty"`
	Keys  []string         `json:",omitempty"`
	Value string           `json:",omitempty"`
	With  *aws.Credentials `json:",omitempty"`
}

// dataClient is an unmodified DynamoDB client for the server's data API.
func (s *server) dataClient(p aws.CredentialsProvider) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{Region: testRegion, BaseEndpoint: aws.String("http://" + s.api), Credentials: p, Retryer: aws.NopRetryer{}})
}

func (s *server) stsClient(p aws.CredentialsProvider) *sts.Client {
	return sts.New(sts.Options{Region: testRegion, BaseEndpoint: aws.String("http://" + s.api), Credentials: p, Retryer: aws.NopRetryer{}})
}

var adminCreds = credentials.NewStaticCredentialsProvider(testAccessKey, testSecret, "")

// setupOrders makes the role, the table and the per-tenant function that
// reads and writes it as the invoking tenant.
func setupOrders(t *testing.T, s *server) {
	t.Helper()
	s.admin(t, "POST", "/roles", map[string]any{"name": "orders", "policy": json.RawMessage(ordersPolicy)}, http.StatusCreated)
	_, err := s.dataClient(adminCreds).CreateTable(ctx(t), &dynamodb.CreateTableInput{
		TableName: aws.String("Orders"),
		KeySchema: []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: ddbtypes.KeyTypeRange}},
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		BillingMode: ddbtypes.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	in := createInput(t, "orders")
	in.Code.ZipFile = storedGoZip(t, "./testdata/tenantdata")
	in.Role = aws.String("arn:aws:iam::" + testAccount + ":role/orders")
	in.MemorySize = aws.Int32(1024) // the SDK's start needs more than 7% of a CPU
	in.Timeout = aws.Int32(20)
	in.TenancyConfig = &types.TenancyConfig{TenantIsolationMode: types.TenantIsolationModePerTenant}
	if _, err := s.client().CreateFunction(ctx(t), in); err != nil {
		t.Fatalf("CreateFunction: %v", err)
	}
}

// data invokes the orders function as tenant.
func (s *server) data(t testing.TB, tenant string, e dataEvent) dataAnswer {
	t.Helper()
	payload, _ := json.Marshal(e)
	out, err := s.client().Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("orders"), TenantId: aws.String(tenant), Payload: payload})
	if err != nil {
		t.Fatalf("invoke as %s %+v: %v", tenant, e, err)
	}
	if out.FunctionError != nil {
		t.Fatalf("invoke as %s %+v: function error %s", tenant, e, out.Payload)
	}
	var a dataAnswer
	if err := json.Unmarshal(out.Payload, &a); err != nil {
		t.Fatalf("answer %s: %v", out.Payload, err)
	}
	if a.Tenant != tenant {
		t.Fatalf("answer from tenant %q's environment, want %q", a.Tenant, tenant)
	}
	return a
}

// TestDataTenantIsolationProperty runs the unmodified AWS SDK's DynamoDB
// client, with the default credential chain and one cached client per
// process, inside 50 tenants' environments at once, each reading and
// writing its own items and aiming every kind of request at others' — by
// key, Query, batch and Scan. Each tenant sees exactly its own items; every
// attempt on another's is AccessDenied.
func TestDataTenantIsolationProperty(t *testing.T) {
	t.Parallel()
	s := startServerArgs(t, t.TempDir(), "--max-concurrency", "64")
	runIsolationProperty(t, s)
}

func runIsolationProperty(t *testing.T, s *server) {
	setupOrders(t, s)
	const tenants = 50
	names := make([]string, tenants)
	for i := range names {
		names[i] = fmt.Sprintf("tenant-%02d", i)
	}
	// Each tenant's own items, and what it last wrote to them: only the
	// tenant's own goroutine changes its entry.
	owned := func(tn string, k int) string { return fmt.Sprintf("%s#%d", tn, k) }
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, tn := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			rng := rand.New(rand.NewPCG(seed, uint64(i)))
			model := map[string]string{}
			put := func(keys []string, v string, a dataAnswer) {
				if a.Code == "" {
					for _, k := range keys {
						model[k] = v
					}
				}
			}
			a := s.data(t, tn, dataEvent{Op: "put", Keys: []string{owned(tn, 0), owned(tn, 1)}, Value: "v0"})
			if a.Code != "" {
				t.Errorf("%s writing its own items: %s", tn, a.Code)
				return
			}
			put([]string{owned(tn, 0), owned(tn, 1)}, "v0", a)
			for step := range 8 {
				other := names[(i+1+rng.IntN(tenants-1))%tenants]
				victim := owned(other, rng.IntN(2))
				own := owned(tn, rng.IntN(3)) // #2 may not exist yet
				ops := []string{"get", "put", "update", "delete", "query", "batchget", "batchwrite", "scan"}
				op := ops[rng.IntN(len(ops))]
				value := fmt.Sprintf("v%d", step+1)
				// Its own item: works, and reads what the tenant wrote.
				if op != "scan" {
					keys := []string{own}
					if op == "query" {
						keys = []string{own} // pk = own
					}
					a := s.data(t, tn, dataEvent{Op: op, Keys: keys, Value: value})
					if a.Code != "" {
						t.Errorf("%s %s of its own %s: %s", tn, op, own, a.Code)
						continue
					}
					switch op {
					case "put", "update", "batchwrite":
						put(keys, value, a)
					case "delete":
						delete(model, own)
					case "get", "query", "batchget":
						want := []string(nil)
						if v, ok := model[own]; ok {
							want = []string{v}
						}
						if !slices.Equal(a.Values, want) {
							t.Errorf("%s %s of its own %s read %q, want %q", tn, op, own, a.Values, want)
						}
					}
				}
				// Another tenant's: refused, whatever the request.
				keys := []string{victim}
				if op == "batchget" || op == "batchwrite" {
					keys = []string{own, victim} // one foreign key spoils the batch
				}
				a := s.data(t, tn, dataEvent{Op: op, Keys: keys, Value: "stolen"})
				if a.Code != "AccessDeniedException" || a.Count != 0 {
					t.Errorf("%s %s aimed at %s's %s: code %q, read %d items %q; want AccessDeniedException and nothing",
						tn, op, other, victim, a.Code, a.Count, a.Values)
				}
			}
			// What it holds at the end is exactly what it wrote.
			var keys []string
			for k := range 3 {
				keys = append(keys, owned(tn, k))
			}
			a = s.data(t, tn, dataEvent{Op: "batchget", Keys: keys})
			var want []string
			for _, k := range keys {
				if v, ok := model[k]; ok {
					want = append(want, v)
				}
			}
			slices.Sort(a.Values)
			slices.Sort(want)
			if a.Code != "" || !slices.Equal(a.Values, want) {
				t.Errorf("%s at the end holds %q (%s), want %q", tn, a.Values, a.Code, want)
			}
		}()
	}
	wg.Wait()
	// Nothing another tenant tried to write got in.
	out, err := s.dataClient(adminCreds).Scan(ctx(t), &dynamodb.ScanInput{TableName: aws.String("Orders")})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range out.Items {
		if v, ok := it["v"].(*ddbtypes.AttributeValueMemberS); ok && v.Value == "stolen" {
			t.Errorf("a cross-tenant write landed: %v", it["pk"])
		}
	}
}

// apiCode is the error code a data API or STS call failed with.
func apiCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

// TestDataCredentials checks how an environment's credentials reach the
// SDK and where they are refused: outside the environment, in another
// environment, tampered with; and that STS credentials die with their
// tenant.
func TestDataCredentials(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	setupOrders(t, s)

	env := s.data(t, "blue", dataEvent{Op: "env"}).Env
	if !strings.HasPrefix(env["AWS_CONTAINER_CREDENTIALS_FULL_URI"], "http://127.0.0.1:") || env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] == "" ||
		!strings.HasPrefix(env["AWS_ENDPOINT_URL_DYNAMODB"], "http://127.0.0.1:") {
		t.Errorf("environment variables %v: want the container credentials endpoint and the data API on loopback", env)
	}
	if _, ok := env["AWS_ACCESS_KEY_ID"]; ok {
		t.Errorf("static credentials in the environment (%v): they could never be refreshed", env)
	}
	blue := s.data(t, "blue", dataEvent{Op: "creds"})
	red := s.data(t, "red", dataEvent{Op: "creds"})
	if blue.Creds == nil || red.Creds == nil || blue.Key == red.Key || !strings.HasPrefix(blue.Key, "ASIA") {
		t.Fatalf("credentials blue %q red %q: want two distinct temporary keys", blue.Key, red.Key)
	}
	if a := s.data(t, "blue", dataEvent{Op: "put", Keys: []string{"blue#1"}, Value: "mine"}); a.Code != "" {
		t.Fatalf("blue writing its own item: %s", a.Code)
	}

	get := func(c *dynamodb.Client, pk string) error {
		_, err := c.GetItem(ctx(t), &dynamodb.GetItemInput{TableName: aws.String("Orders"),
			Key: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: pk}, "sk": &ddbtypes.AttributeValueMemberS{Value: "item"}}})
		return err
	}
	// Outside the environment, on the public listener: refused.
	outside := s.dataClient(credentials.StaticCredentialsProvider{Value: *blue.Creds})
	if code := apiCode(get(outside, "blue#1")); code != "UnrecognizedClientException" {
		t.Errorf("blue's environment credentials used outside it: %s, want UnrecognizedClientException", code)
	}
	// In red's environment, for red's own item: refused as foreign, not
	// judged by the policy.
	if a := s.data(t, "red", dataEvent{Op: "get", Keys: []string{"red#1"}, With: blue.Creds}); a.Code != "UnrecognizedClientException" {
		t.Errorf("blue's credentials used in red's environment: %q, want UnrecognizedClientException", a.Code)
	}
	// Tampered with: refused.
	forged := *blue.Creds
	forged.SessionToken = forged.SessionToken[:len(forged.SessionToken)-2] + "AA"
	if a := s.data(t, "blue", dataEvent{Op: "get", Keys: []string{"blue#1"}, With: &forged}); a.Code != "UnrecognizedClientException" {
		t.Errorf("tampered token: %q, want UnrecognizedClientException", a.Code)
	}
	// The genuine ones, in their own environment, work.
	if a := s.data(t, "blue", dataEvent{Op: "get", Keys: []string{"blue#1"}, With: blue.Creds}); a.Code != "" || !slices.Equal(a.Values, []string{"mine"}) {
		t.Errorf("blue's own credentials in its environment: %q %q", a.Code, a.Values)
	}

	// A backend's credentials from STS, for a registered tenant: they work
	// until the tenant is suspended, again once resumed, never after it is
	// deleted.
	s.admin(t, "POST", "/tenants", map[string]any{"id": "green"}, http.StatusCreated)
	out, err := s.stsClient(adminCreds).AssumeRole(ctx(t), &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::" + testAccount + ":role/orders"), RoleSessionName: aws.String("backend"),
		Tags: []ststypes.Tag{{Key: aws.String("TenantID"), Value: aws.String("green")}},
	})
	if err != nil {
		t.Fatalf("AssumeRole: %v", err)
	}
	c := out.Credentials
	green := s.dataClient(credentials.NewStaticCredentialsProvider(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken))
	if err := get(green, "green#1"); err != nil {
		t.Errorf("green's STS credentials on its own key: %v", err)
	}
	if code := apiCode(get(green, "blue#1")); code != "AccessDeniedException" {
		t.Errorf("green's STS credentials on blue's key: %s", code)
	}
	who, err := s.stsClient(credentials.NewStaticCredentialsProvider(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)).GetCallerIdentity(ctx(t), &sts.GetCallerIdentityInput{})
	if err != nil || *who.Arn != "arn:aws:sts::"+testAccount+":assumed-role/orders/backend" {
		t.Errorf("GetCallerIdentity = %v, %v", who, err)
	}
	s.admin(t, "POST", "/tenants/green/suspend", nil, http.StatusOK)
	if code := apiCode(get(green, "green#1")); code != "UnrecognizedClientException" {
		t.Errorf("suspended tenant's credentials: %s", code)
	}
	s.admin(t, "POST", "/tenants/green/resume", nil, http.StatusOK)
	if err := get(green, "green#1"); err != nil {
		t.Errorf("resumed tenant's credentials: %v", err)
	}
	s.admin(t, "DELETE", "/tenants/green", nil, http.StatusNoContent)
	s.admin(t, "POST", "/tenants", map[string]any{"id": "green"}, http.StatusCreated)
	if code := apiCode(get(green, "green#1")); code != "UnrecognizedClientException" {
		t.Errorf("credentials of a deleted tenant, replayed after it was created again: %s", code)
	}
	if os.Getenv("BULKHEAD_E2E_VERBOSE") != "" {
		t.Logf("server output:\n%s", s.output)
	}
}

// TestDataTenantIsolationPropertyPostgres is the property test with the
// data API's tables in PostgreSQL, where row-level security is the second
// wall: tenants' requests run as a role that is neither owner nor
// BYPASSRLS.
func TestDataTenantIsolationPropertyPostgres(t *testing.T) {
	t.Parallel()
	c := pgtest.Start(t)
	s := startServerArgs(t, t.TempDir(), "--max-concurrency", "64",
		"--data-postgres-owner-dsn", c.DSN(),
		"--data-postgres-app-dsn", c.DSNAs("bulkhead_app"),
		"--data-postgres-service-dsn", c.DSNAs("bulkhead_service"))
	runIsolationProperty(t, s)
}

// TestDataDurableAcrossKill9 checks invariant 5 for the data plane: a role,
// a table and every acknowledged item write survive kill -9 of the server,
// and a deleted item stays deleted.
func TestDataDurableAcrossKill9(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	s := startServer(t, dataDir)
	setupOrders(t, s)
	c := s.dataClient(adminCreds)
	item := func(pk, v string) map[string]ddbtypes.AttributeValue {
		return map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: pk},
			"sk": &ddbtypes.AttributeValueMemberS{Value: "item"}, "v": &ddbtypes.AttributeValueMemberS{Value: v}}
	}
	for i := range 20 {
		if _, err := c.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String("Orders"), Item: item(fmt.Sprintf("blue#%d", i), "v1")}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{TableName: aws.String("Orders"),
		Key:              map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "blue#0"}, "sk": &ddbtypes.AttributeValueMemberS{Value: "item"}},
		UpdateExpression: aws.String("SET v = :v"), ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":v": &ddbtypes.AttributeValueMemberS{Value: "v2"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteItem(ctx(t), &dynamodb.DeleteItemInput{TableName: aws.String("Orders"),
		Key: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "blue#19"}, "sk": &ddbtypes.AttributeValueMemberS{Value: "item"}}}); err != nil {
		t.Fatal(err)
	}

	s.kill9()
	s2 := startServer(t, dataDir)
	s2.admin(t, "GET", "/roles/orders", nil, http.StatusOK)
	out, err := s2.dataClient(adminCreds).Scan(ctx(t), &dynamodb.ScanInput{TableName: aws.String("Orders")})
	if err != nil {
		t.Fatalf("after kill -9: %v", err)
	}
	got := map[string]string{}
	for _, it := range out.Items {
		got[it["pk"].(*ddbtypes.AttributeValueMemberS).Value] = it["v"].(*ddbtypes.AttributeValueMemberS).Value
	}
	for i := range 19 {
		want := "v1"
		if i == 0 {
			want = "v2"
		}
		if pk := fmt.Sprintf("blue#%d", i); got[pk] != want {
			t.Errorf("after kill -9: %s = %q, want %q", pk, got[pk], want)
		}
	}
	if v, ok := got["blue#19"]; ok || len(got) != 19 {
		t.Errorf("after kill -9: %d items, the deleted blue#19 = %q; want 19 without it", len(got), v)
	}
	// Environments' credentials keep working with the same sealing key.
	if a := s2.data(t, "blue", dataEvent{Op: "get", Keys: []string{"blue#0"}}); a.Code != "" || !slices.Equal(a.Values, []string{"v2"}) {
		t.Errorf("after kill -9, blue's function reads %q %q", a.Code, a.Values)
	}
}
