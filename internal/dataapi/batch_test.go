package dataapi

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestDataAPIBatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createTable("Tbl", false)
	e.createTable("Hash", true)
	ctx := t.Context()
	var tbl, hash []types.WriteRequest
	for i := range 20 {
		tbl = append(tbl, types.WriteRequest{PutRequest: &types.PutRequest{Item: item("a#1", fmt.Sprint(i), "n", i, "x", "y")}})
	}
	for i := range 5 {
		hash = append(hash, types.WriteRequest{PutRequest: &types.PutRequest{Item: item(fmt.Sprintf("a#%d", i), "", "n", i)}})
	}
	out, err := e.admin.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"Tbl": tbl, "Hash": hash}})
	if err != nil || len(out.UnprocessedItems) != 0 {
		t.Fatalf("BatchWriteItem = %+v, %v", out, err)
	}
	// Deletes and puts together.
	out, err = e.admin.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{
		"Hash": {{DeleteRequest: &types.DeleteRequest{Key: key("a#0", "")}}, {DeleteRequest: &types.DeleteRequest{Key: key("a#missing", "")}},
			{PutRequest: &types.PutRequest{Item: item("a#9", "", "n", 9)}}},
	}})
	if err != nil || len(out.UnprocessedItems) != 0 {
		t.Fatalf("BatchWriteItem deletes = %+v, %v", out, err)
	}

	var keys []map[string]types.AttributeValue
	for i := range 22 { // two past the items written
		keys = append(keys, key("a#1", fmt.Sprint(i)))
	}
	got, err := e.admin.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
		"Tbl":  {Keys: keys, ProjectionExpression: aws.String("#n, sk"), ExpressionAttributeNames: map[string]string{"#n": "n"}},
		"Hash": {Keys: []map[string]types.AttributeValue{key("a#0", ""), key("a#1", ""), key("a#9", "")}, ConsistentRead: aws.Bool(true)},
	}})
	if err != nil || len(got.UnprocessedKeys) != 0 {
		t.Fatalf("BatchGetItem = %+v, %v", got, err)
	}
	if n := len(got.Responses["Tbl"]); n != 20 {
		t.Fatalf("BatchGetItem Tbl: %d items, want 20", n)
	}
	for _, it := range got.Responses["Tbl"] {
		if len(it) != 2 || it["x"] != nil {
			t.Fatalf("projected item %v, want n and sk", it)
		}
	}
	var hashKeys []string
	for _, it := range got.Responses["Hash"] {
		hashKeys = append(hashKeys, sval(it, "pk"))
	}
	slices.Sort(hashKeys)
	if strings.Join(hashKeys, ",") != "a#1,a#9" {
		t.Fatalf("BatchGetItem Hash = %v, want a#1 and a#9 (a#0 deleted)", hashKeys)
	}

	// A batch that fails validation in its second table writes nothing.
	_, err = e.admin.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{
		"Hash": {{PutRequest: &types.PutRequest{Item: item("a#50", "")}}},
		"Tbl":  {{PutRequest: &types.PutRequest{Item: key("a#50", "")}}},
	}})
	wantAPIError(t, err, "ValidationException", "One or more parameter values were invalid: Missing the key sk in the item")
	g, err := e.admin.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("Hash"), Key: key("a#50", "")})
	if err != nil || g.Item != nil {
		t.Fatalf("a#50 was written by a refused batch: %v, %v", g.Item, err)
	}
}

func TestDataAPIBatchGetUnprocessed(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 20 MB")
	}
	t.Parallel()
	e := newEnv(t)
	e.createTable("Tbl", false)
	big := strings.Repeat("z", 390*1024)
	var keys []map[string]types.AttributeValue
	for b := range 2 {
		var reqs []types.WriteRequest
		for i := range 25 {
			k := fmt.Sprintf("%02d", b*25+i)
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item("a#1", k, "big", big)}})
			keys = append(keys, key("a#1", k))
		}
		if _, err := e.admin.BatchWriteItem(t.Context(), &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"Tbl": reqs}}); err != nil {
			t.Fatal(err)
		}
	}
	// 50 items of 390 KB are more than a 16 MB response: the rest come
	// back as UnprocessedKeys, which the next call reads.
	request := map[string]types.KeysAndAttributes{"Tbl": {Keys: keys}}
	seen := 0
	for calls := 0; len(request) > 0; calls++ {
		if calls == 3 {
			t.Fatal("UnprocessedKeys never emptied")
		}
		out, err := e.admin.BatchGetItem(t.Context(), &dynamodb.BatchGetItemInput{RequestItems: request})
		if err != nil {
			t.Fatal(err)
		}
		n := len(out.Responses["Tbl"])
		if n == 0 || n*390*1024 > maxBatchResponse+390*1024 {
			t.Fatalf("call %d returned %d items", calls, n)
		}
		seen += n
		request = out.UnprocessedKeys
	}
	if seen != 50 {
		t.Fatalf("read %d items, want 50", seen)
	}
}
