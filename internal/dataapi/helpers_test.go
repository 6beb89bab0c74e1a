package dataapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/bulkhead-dev/bulkhead/internal/data/store"
	"github.com/bulkhead-dev/bulkhead/internal/data/store/embedded"
	"github.com/bulkhead-dev/bulkhead/internal/iam/policy"
	"github.com/bulkhead-dev/bulkhead/internal/sigv4"
)

const (
	testRegion  = "us-east-1"
	testAccount = "123456789012"
	adminKey    = "AKIDADMIN"
)

// canonicalPoolPolicy is the pool-model statement of the spec (§1.8) for
// table T, with the Null check that keeps ForAllValues from being vacuous.
func canonicalPoolPolicy(table string) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
 "Action":["dynamodb:GetItem","dynamodb:BatchGetItem","dynamodb:Query","dynamodb:PutItem",
           "dynamodb:UpdateItem","dynamodb:DeleteItem","dynamodb:BatchWriteItem"],
 "Resource":["arn:aws:dynamodb:*:*:table/%[1]s","arn:aws:dynamodb:*:*:table/%[1]s/index/*"],
 "Condition":{"ForAllValues:StringLike":{"dynamodb:LeadingKeys":["${aws:PrincipalTag/TenantID}#*"]},
              "Null":{"dynamodb:LeadingKeys":"false"}}}]}`, table)
}

func mustPolicy(t testing.TB, doc string) *policy.Policy {
	t.Helper()
	p, err := policy.Parse([]byte(doc))
	if err != nil {
		t.Fatalf("policy.Parse: %v\n%s", err, doc)
	}
	return p
}

// testAuthError is the test authenticator's error: a sigv4 failure in the
// shape the handler renders.
type testAuthError struct{ err *sigv4.Error }

func (e testAuthError) Error() string { return e.err.Error() }

func (e testAuthError) DynamoDBError() (string, string, int) {
	return e.err.Code, e.err.Message, http.StatusBadRequest
}

var _ AuthError = testAuthError{}

// env is a data API over an embedded store, served by httptest, with
// principals by access key (the secret is the access key reversed).
type env struct {
	t      testing.TB
	store  store.Store
	srv    *httptest.Server
	mu     sync.Mutex
	users  map[string]Principal
	cfg    Config
	admin  *dynamodb.Client
	region string
}

type envOption func(*Config)

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	s, err := embedded.Open(filepath.Join(t.TempDir(), "data.db"))
	if err != nil {
		t.Fatalf("embedded.Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return newEnvOn(t, s, opts...)
}

func newEnvOn(t testing.TB, s store.Store, opts ...envOption) *env {
	t.Helper()
	e := &env{t: t, store: s, users: map[string]Principal{}, region: testRegion}
	e.users[adminKey] = Principal{ARN: "arn:aws:iam::" + testAccount + ":root", Admin: true}
	verifier := &sigv4.Verifier{Service: "dynamodb", Region: testRegion, Secret: func(id string) (string, bool) {
		e.mu.Lock()
		defer e.mu.Unlock()
		if _, ok := e.users[id]; !ok {
			return "", false
		}
		return secretOf(id), true
	}}
	e.cfg = Config{
		Store: s, Region: testRegion, Account: testAccount,
		Authenticate: func(r *http.Request, body []byte) (Principal, error) {
			id, err := verifier.Verify(r, body)
			if err != nil {
				var se *sigv4.Error
				if errors.As(err, &se) {
					return Principal{}, testAuthError{se}
				}
				return Principal{}, err
			}
			e.mu.Lock()
			defer e.mu.Unlock()
			return e.users[id.AccessKeyID], nil
		},
	}
	for _, o := range opts {
		o(&e.cfg)
	}
	e.srv = httptest.NewServer(New(e.cfg))
	t.Cleanup(e.srv.Close)
	e.admin = e.client(adminKey)
	return e
}

func secretOf(accessKey string) string {
	b := []byte(accessKey)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return "secret-" + string(b)
}

// addTenant adds a tenant principal with the canonical pool policy on
// table and returns its access key.
func (e *env) addTenant(tenant, table string) string {
	return e.addPrincipal("AKID-"+tenant, Principal{
		ARN:      "arn:aws:sts::" + testAccount + ":assumed-role/tenant-role/" + tenant,
		Tenant:   tenant,
		Identity: []*policy.Policy{mustPolicy(e.t, canonicalPoolPolicy(table))},
		Context:  tenantContext(tenant),
	})
}

func tenantContext(tenant string) func(*policy.Context) {
	return func(c *policy.Context) { c.Add("aws:PrincipalTag/TenantID", tenant) }
}

func (e *env) addPrincipal(accessKey string, p Principal) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.users[accessKey] = p
	return accessKey
}

// client returns an SDK client signing with accessKey's credentials; it
// does not retry, so a test sees each answer.
func (e *env) client(accessKey string, opts ...func(*dynamodb.Options)) *dynamodb.Client {
	cfg := aws.Config{
		Region:           e.region,
		Credentials:      credentials.NewStaticCredentialsProvider(accessKey, secretOf(accessKey), ""),
		HTTPClient:       e.srv.Client(),
		RetryMaxAttempts: 1,
	}
	return dynamodb.NewFromConfig(cfg, append([]func(*dynamodb.Options){func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(e.srv.URL)
	}}, opts...)...)
}

// createTable creates a table as the admin: partition key pk (S), sort key
// sk (S) unless noSort, with the given tags.
func (e *env) createTable(name string, noSort bool, tags ...types.Tag) {
	e.t.Helper()
	in := &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
		Tags:                 tags,
	}
	if !noSort {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{AttributeName: aws.String("sk"), AttributeType: types.ScalarAttributeTypeS})
		in.KeySchema = append(in.KeySchema, types.KeySchemaElement{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange})
	}
	if _, err := e.admin.CreateTable(context.Background(), in); err != nil {
		e.t.Fatalf("CreateTable %s: %v", name, err)
	}
}

// raw sends a request as it is, signed with accessKey's credentials unless
// accessKey is "", and returns the response with its body read.
func (e *env) raw(accessKey, target string, body string, header ...string) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/", bytes.NewReader([]byte(body)))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	if accessKey != "" {
		err := sigv4.Sign(req, []byte(body), sigv4.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretOf(accessKey)},
			testRegion, "dynamodb", time.Now())
		if err != nil {
			e.t.Fatal(err)
		}
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, b
}

// errorBody is DynamoDB's error body.
type errorBody struct {
	Type    string `json:"__type"`
	Message string `json:"message"`
	Msg2    string `json:"Message"`
}

func parseError(t testing.TB, b []byte) errorBody {
	t.Helper()
	var eb errorBody
	if err := json.Unmarshal(b, &eb); err != nil {
		t.Fatalf("error body %q: %v", b, err)
	}
	if eb.Message == "" {
		eb.Message = eb.Msg2
	}
	return eb
}

// apiCode returns the error code and message of an SDK error, or "" for nil.
func apiCode(err error) (code, message string) {
	if err == nil {
		return "", ""
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode(), ae.ErrorMessage()
	}
	return "not an API error: " + err.Error(), ""
}

// wantAPIError fails unless err is an API error with code and, if message
// is not empty, that message.
func wantAPIError(t testing.TB, err error, code, message string) {
	t.Helper()
	gotCode, gotMessage := apiCode(err)
	if gotCode != code || (message != "" && gotMessage != message) {
		t.Fatalf("error = %v (code %q, message %q), want code %q message %q", err, gotCode, gotMessage, code, message)
	}
}

// S, N are SDK attribute values.
func S(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
func N(n int) types.AttributeValue    { return &types.AttributeValueMemberN{Value: strconv.Itoa(n)} }

func key(pk, sk string) map[string]types.AttributeValue {
	k := map[string]types.AttributeValue{"pk": S(pk)}
	if sk != "" {
		k["sk"] = S(sk)
	}
	return k
}

func item(pk, sk string, attrs ...any) map[string]types.AttributeValue {
	it := key(pk, sk)
	for i := 0; i+1 < len(attrs); i += 2 {
		switch v := attrs[i+1].(type) {
		case string:
			it[attrs[i].(string)] = S(v)
		case int:
			it[attrs[i].(string)] = N(v)
		case types.AttributeValue:
			it[attrs[i].(string)] = v
		}
	}
	return it
}

func sval(it map[string]types.AttributeValue, name string) string {
	if v, ok := it[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	if v, ok := it[name].(*types.AttributeValueMemberN); ok {
		return v.Value
	}
	return ""
}
