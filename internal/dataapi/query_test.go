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

// fill writes n items a#i (sk = %03d, n = i) into Tbl and b's items into
// another partition.
func fill(t *testing.T, e *env, n int, pad string) {
	t.Helper()
	var reqs []types.WriteRequest
	flush := func() {
		if len(reqs) == 0 {
			return
		}
		if _, err := e.admin.BatchWriteItem(t.Context(), &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"Tbl": reqs}}); err != nil {
			t.Fatal(err)
		}
		reqs = nil
	}
	for i := range n {
		it := item("a#1", fmt.Sprintf("%03d", i), "n", i, "even", fmt.Sprint(i%2 == 0))
		if pad != "" {
			it["pad"] = S(pad)
		}
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: it}})
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item("b#1", fmt.Sprintf("%03d", i))}})
		if len(reqs) >= 24 {
			flush()
		}
	}
	flush()
}

func sks(items []map[string]types.AttributeValue) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = sval(it, "sk")
	}
	return out
}

func TestDataAPIQuery(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createTable("Tbl", false)
	fill(t, e, 25, "")
	all := make([]string, 25)
	for i := range all {
		all[i] = fmt.Sprintf("%03d", i)
	}
	p := map[string]types.AttributeValue{":p": S("a#1")}
	with := func(kv ...any) map[string]types.AttributeValue {
		m := map[string]types.AttributeValue{":p": S("a#1")}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1].(types.AttributeValue)
		}
		return m
	}
	tests := []struct {
		name             string
		in               dynamodb.QueryInput
		want             []string
		count, scanned   int32
		lastKey          string // sk of LastEvaluatedKey, "" for none
		noItems          bool
		projectedOnlyAtt string
	}{
		{name: "partition", in: dynamodb.QueryInput{KeyConditionExpression: aws.String("pk = :p"), ExpressionAttributeValues: p},
			want: all, count: 25, scanned: 25},
		{name: "backward with limit", in: dynamodb.QueryInput{KeyConditionExpression: aws.String("pk = :p"), ExpressionAttributeValues: p, ScanIndexForward: aws.Bool(false), Limit: aws.Int32(3)},
			want: []string{"024", "023", "022"}, count: 3, scanned: 3, lastKey: "022"},
		{name: "begins_with", in: dynamodb.QueryInput{KeyConditionExpression: aws.String("pk = :p AND begins_with(sk, :s)"), ExpressionAttributeValues: with(":s", S("01"))},
			want: all[10:20], count: 10, scanned: 10},
		{name: "between", in: dynamodb.QueryInput{KeyConditionExpression: aws.String("#k = :p AND sk BETWEEN :lo AND :hi"), ExpressionAttributeNames: map[string]string{"#k": "pk"},
			ExpressionAttributeValues: with(":lo", S("005"), ":hi", S("007"))}, want: all[5:8], count: 3, scanned: 3},
		{name: "less than", in: dynamodb.QueryInput{KeyConditionExpression: aws.String("pk = :p AND sk < :s"), ExpressionAttributeValues: with(":s", S("002"))},
			want: all[:2], count: 2, scanned: 2},
		{name: "filter", in: dynamodb.QueryInput{KeyConditionExpression: aws.String("pk = :p"), FilterExpression: aws.String("n >= :ten AND even = :t"),
			ExpressionAttributeValues: with(":ten", N(10), ":t", S("true"))}, want: []string{"010", "012", "014", "016", "018", "020", "022", "024"}, count: 8, scanned: 25},
		{name: "filter with limit counts before the filter", in: dynamodb.QueryInput{KeyConditionExpression: aws.String("pk = :p"), FilterExpression: aws.String("even = :t"),
			ExpressionAttributeValues: with(":t", S("true")), Limit: aws.Int32(4)}, want: []string{"000", "002"}, count: 2, scanned: 4, lastKey: "003"},
		{name: "count", in: dynamodb.QueryInput{KeyConditionExpression: aws.String("pk = :p"), ExpressionAttributeValues: p, Select: types.SelectCount},
			count: 25, scanned: 25, noItems: true},
		{name: "projection", in: dynamodb.QueryInput{KeyConditionExpression: aws.String("pk = :p AND sk = :s"), ExpressionAttributeValues: with(":s", S("004")), ProjectionExpression: aws.String("n")},
			count: 1, scanned: 1, projectedOnlyAtt: "n"},
		{name: "start key", in: dynamodb.QueryInput{KeyConditionExpression: aws.String("pk = :p"), ExpressionAttributeValues: p, ExclusiveStartKey: key("a#1", "020")},
			want: all[21:], count: 4, scanned: 4},
		{name: "other partition is empty", in: dynamodb.QueryInput{KeyConditionExpression: aws.String("pk = :p"), ExpressionAttributeValues: map[string]types.AttributeValue{":p": S("c#1")}},
			want: []string{}, count: 0, scanned: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.TableName = aws.String("Tbl")
			out, err := e.admin.Query(t.Context(), &in)
			if err != nil {
				t.Fatal(err)
			}
			if out.Count != tt.count || out.ScannedCount != tt.scanned {
				t.Errorf("Count %d ScannedCount %d, want %d %d", out.Count, out.ScannedCount, tt.count, tt.scanned)
			}
			if got := sval(out.LastEvaluatedKey, "sk"); got != tt.lastKey {
				t.Errorf("LastEvaluatedKey = %v, want sk %q", out.LastEvaluatedKey, tt.lastKey)
			}
			switch {
			case tt.noItems:
				if out.Items != nil {
					t.Errorf("Items = %v, want none for COUNT", out.Items)
				}
			case tt.projectedOnlyAtt != "":
				if len(out.Items) != 1 || len(out.Items[0]) != 1 || out.Items[0][tt.projectedOnlyAtt] == nil {
					t.Errorf("Items = %v, want only %s", out.Items, tt.projectedOnlyAtt)
				}
			default:
				if got := sks(out.Items); !slices.Equal(got, tt.want) {
					t.Errorf("sort keys = %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestDataAPIQueryPaging(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createTable("Tbl", false)
	fill(t, e, 25, "")
	var got []string
	pages := 0
	pg := dynamodb.NewQueryPaginator(e.admin, &dynamodb.QueryInput{TableName: aws.String("Tbl"), KeyConditionExpression: aws.String("pk = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": S("a#1")}, Limit: aws.Int32(10)})
	for pg.HasMorePages() {
		out, err := pg.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		got = append(got, sks(out.Items)...)
	}
	if pages != 3 || len(got) != 25 || !slices.IsSorted(got) {
		t.Fatalf("%d pages, %d items %v", pages, len(got), got)
	}
}

func TestDataAPIPageSize(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createTable("Tbl", false)
	// 25 items of about 100 KB: a page reads at most 1 MB of them.
	fill(t, e, 25, strings.Repeat("p", 100*1024))
	for _, op := range []string{"Query", "Scan"} {
		t.Run(op, func(t *testing.T) {
			var got []string
			pages := 0
			var start map[string]types.AttributeValue
			for {
				var items []map[string]types.AttributeValue
				var last map[string]types.AttributeValue
				if op == "Query" {
					out, err := e.admin.Query(t.Context(), &dynamodb.QueryInput{TableName: aws.String("Tbl"), KeyConditionExpression: aws.String("pk = :p"),
						ExpressionAttributeValues: map[string]types.AttributeValue{":p": S("a#1")}, ExclusiveStartKey: start, ProjectionExpression: aws.String("sk")})
					if err != nil {
						t.Fatal(err)
					}
					items, last = out.Items, out.LastEvaluatedKey
				} else {
					out, err := e.admin.Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String("Tbl"), ExclusiveStartKey: start,
						FilterExpression: aws.String("begins_with(pk, :a)"), ExpressionAttributeValues: map[string]types.AttributeValue{":a": S("a#")}})
					if err != nil {
						t.Fatal(err)
					}
					items, last = out.Items, out.LastEvaluatedKey
				}
				pages++
				if len(items) > 11 {
					t.Fatalf("page %d has %d items of 100 KB, more than 1 MB", pages, len(items))
				}
				got = append(got, sks(items)...)
				if last == nil {
					break
				}
				start = last
			}
			if len(got) != 25 || pages < 3 {
				t.Fatalf("%d pages, %d items", pages, len(got))
			}
		})
	}
}

func TestDataAPIScan(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createTable("Tbl", false)
	fill(t, e, 10, "")
	var got []string
	pages := 0
	pg := dynamodb.NewScanPaginator(e.admin, &dynamodb.ScanInput{TableName: aws.String("Tbl"), Limit: aws.Int32(3)})
	for pg.HasMorePages() {
		out, err := pg.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if out.Count > 3 {
			t.Fatalf("page of %d > Limit 3", out.Count)
		}
		pages++
		for _, it := range out.Items {
			got = append(got, sval(it, "pk")+"/"+sval(it, "sk"))
		}
	}
	if len(got) != 20 || pages != 7 {
		t.Fatalf("%d pages, %d items: %v", pages, len(got), got)
	}
	seen := map[string]bool{}
	for _, k := range got {
		if seen[k] {
			t.Fatalf("item %s twice: %v", k, got)
		}
		seen[k] = true
	}
	out, err := e.admin.Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String("Tbl"), Select: types.SelectCount,
		FilterExpression: aws.String("attribute_exists(n)")})
	if err != nil || out.Count != 10 || out.ScannedCount != 20 || out.Items != nil {
		t.Fatalf("Scan COUNT = %+v, %v", out, err)
	}
}

func TestDataAPIQueryHashOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createTable("Hash", true)
	if _, err := e.admin.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String("Hash"), Item: item("a#1", "", "v", 1)}); err != nil {
		t.Fatal(err)
	}
	q := &dynamodb.QueryInput{TableName: aws.String("Hash"), KeyConditionExpression: aws.String("pk = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": S("a#1")}, Limit: aws.Int32(1)}
	out, err := e.admin.Query(t.Context(), q)
	if err != nil || out.Count != 1 || sval(out.LastEvaluatedKey, "pk") != "a#1" {
		t.Fatalf("Query = %+v, %v", out, err)
	}
	q.ExclusiveStartKey = out.LastEvaluatedKey
	out, err = e.admin.Query(t.Context(), q)
	if err != nil || out.Count != 0 || out.LastEvaluatedKey != nil {
		t.Fatalf("Query after the only item = %+v, %v", out, err)
	}
}
