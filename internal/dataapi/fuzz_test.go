package dataapi

import (
	"bytes"
	"encoding/json"
	"hash/crc32"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bulkhead-dev/bulkhead/internal/data/ddb"
	"github.com/bulkhead-dev/bulkhead/internal/data/store"
	"github.com/bulkhead-dev/bulkhead/internal/data/store/embedded"
	"github.com/bulkhead-dev/bulkhead/internal/iam/policy"
)

var fuzzTargets = []string{"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem", "BatchWriteItem",
	"CreateTable", "DescribeTable", "ListTables", "DeleteTable", "TransactWriteItems", ""}

// FuzzDataAPIRequest sends arbitrary bodies to every operation, as the
// admin or as a tenant with the canonical pool policy, and checks that the
// handler always answers in DynamoDB's shape and never with a server error.
func FuzzDataAPIRequest(f *testing.F) {
	seeds := []struct {
		target int
		body   string
	}{
		{0, `{"TableName":"Tbl","Key":{"pk":{"S":"acme#1"},"sk":{"S":"a"}},"ProjectionExpression":"#a, b[1].c","ExpressionAttributeNames":{"#a":"a"}}`},
		{1, `{"TableName":"Tbl","Item":{"pk":{"S":"acme#1"},"sk":{"S":"a"},"n":{"N":"1.5e3"},"l":{"L":[{"M":{"x":{"BOOL":true}}}]},"b":{"B":"AQI="}},"ConditionExpression":"attribute_not_exists(pk)","ReturnValues":"ALL_OLD"}`},
		{2, `{"TableName":"Tbl","Key":{"pk":{"S":"acme#1"},"sk":{"S":"a"}},"UpdateExpression":"SET n = n + :one ADD s :s REMOVE x","ExpressionAttributeValues":{":one":{"N":"1"},":s":{"SS":["a"]}},"ReturnValues":"UPDATED_NEW"}`},
		{3, `{"TableName":"Tbl","Key":{"pk":{"S":"acme#1"},"sk":{"S":"a"}},"ConditionExpression":"n > :z","ExpressionAttributeValues":{":z":{"N":"0"}},"ReturnValuesOnConditionCheckFailure":"ALL_OLD"}`},
		{4, `{"TableName":"Tbl","KeyConditionExpression":"pk = :p AND begins_with(sk, :s)","FilterExpression":"size(l) > :z","ExpressionAttributeValues":{":p":{"S":"acme#1"},":s":{"S":"a"},":z":{"N":"0"}},"Limit":2,"ScanIndexForward":false,"ExclusiveStartKey":{"pk":{"S":"acme#1"},"sk":{"S":"b"}}}`},
		{5, `{"TableName":"Tbl","Select":"COUNT","ExclusiveStartKey":{"pk":{"S":"acme#1"},"sk":{"S":"a"}},"Limit":1}`},
		{6, `{"RequestItems":{"Tbl":{"Keys":[{"pk":{"S":"acme#1"},"sk":{"S":"a"}}],"ProjectionExpression":"pk"}},"ReturnConsumedCapacity":"TOTAL"}`},
		{7, `{"RequestItems":{"Tbl":[{"PutRequest":{"Item":{"pk":{"S":"acme#2"},"sk":{"S":"a"}}}},{"DeleteRequest":{"Key":{"pk":{"S":"acme#1"},"sk":{"S":"a"}}}}]}}`},
		{8, `{"TableName":"New","BillingMode":"PAY_PER_REQUEST","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"Tags":[{"Key":"bulkhead:tenancy","Value":"silo"},{"Key":"bulkhead:tenant","Value":"acme"}]}`},
		{9, `{"TableName":"Tbl"}`},
		{10, `{"Limit":1,"ExclusiveStartTableName":"Hash"}`},
		{11, `{"TableName":"Gone"}`},
		{0, `{"TableName":"Tbl","Key":{"pk":{"S":"acme#1"},"sk":{"NS":["1","1"]}}}`},
		{1, `{"TableName":"Tbl","Item":null,"Expected":{}}`},
		{4, `{"TableName":"Tbl","KeyConditionExpression":"pk = :p","ExpressionAttributeValues":{":p":{"S":"zeta#1"}}}`},
		{12, `{}`},
		{13, `[1,2,3]`},
	}
	for _, s := range seeds {
		f.Add(uint8(s.target), false, []byte(s.body))
		f.Add(uint8(s.target), true, []byte(s.body))
	}
	dir := f.TempDir()
	s, err := embedded.Open(filepath.Join(dir, "data.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	tenant := Principal{ARN: "arn:aws:sts::123456789012:assumed-role/r/acme", Tenant: "acme",
		Identity: []*policy.Policy{mustPolicy(f, canonicalPoolPolicy("Tbl"))}, Context: tenantContext("acme")}
	admin := Principal{ARN: "arn:aws:iam::123456789012:root", Admin: true}
	h := New(Config{Store: s, Region: testRegion, Account: testAccount, Authenticate: func(r *http.Request, _ []byte) (Principal, error) {
		if r.Header.Get("X-Test-Tenant") != "" {
			return tenant, nil
		}
		return admin, nil
	}})
	setup := func(target, body string) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-amz-json-1.0")
		req.Header.Set("X-Amz-Target", targetPrefix+target)
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			f.Fatalf("setup %s: %d %s", target, rec.Code, rec.Body)
		}
	}
	setup("CreateTable", `{"TableName":"Tbl","BillingMode":"PAY_PER_REQUEST","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"S"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}]}`)
	setup("CreateTable", `{"TableName":"Hash","BillingMode":"PAY_PER_REQUEST","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}]}`)

	f.Fuzz(func(t *testing.T, target uint8, asTenant bool, body []byte) {
		op := fuzzTargets[int(target)%len(fuzzTargets)]
		if op == "DeleteTable" && bytes.Contains(body, []byte("Tbl")) {
			return // keep the table the other inputs use
		}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-amz-json-1.0")
		if op != "" {
			req.Header.Set("X-Amz-Target", targetPrefix+op)
		}
		if asTenant {
			req.Header.Set("X-Test-Tenant", "acme")
		}
		h.ServeHTTP(rec, req)
		out := rec.Body.Bytes()
		if got, want := rec.Header().Get("X-Amz-Crc32"), strconv.FormatUint(uint64(crc32.ChecksumIEEE(out)), 10); got != want {
			t.Fatalf("CRC %s, want %s", got, want)
		}
		if rec.Header().Get("Date") == "" || rec.Header().Get("X-Amzn-Requestid") == "" {
			t.Fatalf("headers %v", rec.Header())
		}
		if !json.Valid(out) {
			t.Fatalf("%s: response is not JSON: %q", op, out)
		}
		switch rec.Code {
		case 200:
		case 400:
			var eb errorBody
			if err := json.Unmarshal(out, &eb); err != nil || !strings.Contains(eb.Type, "#") {
				t.Fatalf("%s: error body %s", op, out)
			}
			if asTenant && strings.HasSuffix(eb.Type, "#InternalServerError") {
				t.Fatalf("%s: %s", op, out)
			}
		default:
			t.Fatalf("%s %q: status %d, body %s", op, body, rec.Code, out)
		}
		// Whatever the tenant sent, it never wrote outside its prefix.
		if asTenant && rec.Code == 200 {
			checkOwners(t, s)
		}
	})
}

// checkOwners fails if Tbl holds a row whose owner is not its key's
// prefix, or a row of acme's outside acme's prefix.
func checkOwners(t *testing.T, s store.Store) {
	err := s.Scan(t.Context(), store.Scope{Service: true}, "Tbl", nil, 0, func(it store.Item) bool {
		item, err := ddb.DecodeItem(it.Data)
		if err != nil {
			t.Fatalf("stored item %q: %v", it.Data, err)
		}
		pk := item["pk"].S()
		owner, _, _ := strings.Cut(pk, "#")
		if it.Owner != owner {
			t.Fatalf("row %q owned by %q", pk, it.Owner)
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
}

// FuzzDefinition parses arbitrary stored definitions: a damaged catalogue
// entry is an error, never a panic, and a definition that parses keeps its
// tenancy's rules.
func FuzzDefinition(f *testing.F) {
	f.Add([]byte(`{"version":1,"table_id":"x","partition":{"name":"pk","type":"S"},"sort":{"name":"sk","type":"N"},"tenancy":"pool","delimiter":"#","billing_mode":"PAY_PER_REQUEST"}`), "a#b")
	f.Add([]byte(`{"version":1,"partition":{"name":"pk","type":"B"},"tenancy":"silo","tenant":"acme"}`), "x")
	f.Add([]byte(`{"version":1,"partition":{"name":"pk","type":"S"},"tenancy":"shared"}`), "")
	f.Add([]byte(`{"version":1,"partition":{"name":"pk","type":"N"},"tenancy":"pool","delimiter":"#"}`), "1")
	f.Add([]byte(`{"version":2}`), "")
	f.Add([]byte(`null`), "")
	f.Fuzz(func(t *testing.T, raw []byte, pk string) {
		d, err := parseDefinition("T", "arn", raw)
		if err != nil {
			return
		}
		item := ddb.Item{d.schema.Partition.Name: ddb.S(pk)}
		owner := d.owner(item)
		switch d.Tenancy {
		case TenancyPool:
			if !strings.HasPrefix(pk, owner) || (owner != pk && !strings.HasPrefix(pk[len(owner):], d.Delimiter)) {
				t.Fatalf("pool owner %q of %q", owner, pk)
			}
		case TenancySilo:
			if owner != d.Tenant || owner == "" {
				t.Fatalf("silo owner %q, tenant %q", owner, d.Tenant)
			}
		case TenancyShared:
			if owner != "" {
				t.Fatalf("shared owner %q", owner)
			}
		}
		again, err := parseDefinition("T", "arn", mustMarshal(d))
		if err != nil || again.schema != d.schema || again.owner(item) != owner {
			t.Fatalf("round trip: %+v, %v", again, err)
		}
	})
}
