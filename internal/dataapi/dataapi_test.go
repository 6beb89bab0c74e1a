package dataapi

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestDataAPITableLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	before := time.Now().Add(-time.Second)
	out, err := e.admin.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:             aws.String("Orders"),
		AttributeDefinitions:  []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}, {AttributeName: aws.String("sk"), AttributeType: types.ScalarAttributeTypeN}},
		KeySchema:             []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}, {AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange}},
		ProvisionedThroughput: &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(5), WriteCapacityUnits: aws.Int64(7)},
		Tags:                  []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}},
	})
	if err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	td := out.TableDescription
	if aws.ToString(td.TableName) != "Orders" || td.TableStatus != types.TableStatusActive ||
		aws.ToString(td.TableArn) != "arn:aws:dynamodb:us-east-1:123456789012:table/Orders" || aws.ToString(td.TableId) == "" ||
		len(td.KeySchema) != 2 || td.KeySchema[1].KeyType != types.KeyTypeRange || td.AttributeDefinitions[1].AttributeType != types.ScalarAttributeTypeN ||
		aws.ToInt64(td.ProvisionedThroughput.ReadCapacityUnits) != 5 || aws.ToInt64(td.ProvisionedThroughput.WriteCapacityUnits) != 7 {
		t.Fatalf("CreateTable description = %+v", td)
	}
	if td.CreationDateTime == nil || td.CreationDateTime.Before(before) || td.CreationDateTime.After(time.Now().Add(time.Second)) {
		t.Fatalf("CreationDateTime = %v", td.CreationDateTime)
	}

	// The SDK's waiter reads TableStatus.
	waiter := dynamodb.NewTableExistsWaiter(e.admin, func(o *dynamodb.TableExistsWaiterOptions) { o.MinDelay = 10 * time.Millisecond })
	desc, err := waiter.WaitForOutput(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("Orders")}, 5*time.Second)
	if err != nil {
		t.Fatalf("TableExistsWaiter: %v", err)
	}
	if aws.ToString(desc.Table.TableId) != aws.ToString(td.TableId) || !desc.Table.CreationDateTime.Equal(*td.CreationDateTime) {
		t.Fatalf("DescribeTable = %+v, want the created table", desc.Table)
	}

	for i := range 3 {
		if _, err := e.admin.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("Orders"),
			Item: map[string]types.AttributeValue{"pk": S("t#1"), "sk": N(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	desc, err = e.admin.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("Orders")})
	if err != nil || aws.ToInt64(desc.Table.ItemCount) != 3 || aws.ToInt64(desc.Table.TableSizeBytes) == 0 {
		t.Fatalf("DescribeTable after 3 puts = %+v, %v", desc, err)
	}

	_, err = e.admin.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String("Orders"),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
	})
	var inUse *types.ResourceInUseException
	if !errors.As(err, &inUse) || aws.ToString(inUse.Message) != "Table already exists: Orders" {
		t.Fatalf("second CreateTable: %v, want ResourceInUseException", err)
	}

	del, err := e.admin.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String("Orders")})
	if err != nil || del.TableDescription.TableStatus != types.TableStatusDeleting {
		t.Fatalf("DeleteTable = %+v, %v", del, err)
	}
	_, err = e.admin.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("Orders")})
	var notFound *types.ResourceNotFoundException
	if !errors.As(err, &notFound) || aws.ToString(notFound.Message) != "Requested resource not found: Table: Orders not found" {
		t.Fatalf("DescribeTable after delete: %v", err)
	}
	_, err = e.admin.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String("Orders")})
	if !errors.As(err, &notFound) {
		t.Fatalf("DeleteTable twice: %v", err)
	}
	_, err = e.admin.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("Orders"), Key: key("t#1", "")})
	if !errors.As(err, &notFound) || aws.ToString(notFound.Message) != "Requested resource not found" {
		t.Fatalf("GetItem on a deleted table: %v", err)
	}
}

func TestDataAPIListTables(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	names := []string{"aaa", "bbb", "ccc", "ddd", "eee"}
	for _, n := range names {
		e.createTable(n, true)
	}
	var got []string
	pages := 0
	p := dynamodb.NewListTablesPaginator(e.admin, &dynamodb.ListTablesInput{Limit: aws.Int32(2)})
	for p.HasMorePages() {
		out, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		got = append(got, out.TableNames...)
	}
	if strings.Join(got, ",") != strings.Join(names, ",") || pages != 3 {
		t.Fatalf("ListTables pages = %d, names %v", pages, got)
	}
	out, err := e.admin.ListTables(t.Context(), &dynamodb.ListTablesInput{ExclusiveStartTableName: aws.String("ccc")})
	if err != nil || strings.Join(out.TableNames, ",") != "ddd,eee" || out.LastEvaluatedTableName != nil {
		t.Fatalf("ListTables after ccc = %+v, %v", out, err)
	}
	_, err = e.admin.ListTables(t.Context(), &dynamodb.ListTablesInput{Limit: aws.Int32(101)})
	wantAPIError(t, err, "ValidationException", "1 validation error detected: Value '101' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100")
}

func TestDataAPICreateTableValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pk := types.AttributeDefinition{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}
	nk := types.AttributeDefinition{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeN}
	hash := types.KeySchemaElement{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}
	ppr := types.BillingModePayPerRequest
	tag := func(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }
	tests := []struct {
		name string
		in   dynamodb.CreateTableInput
		msg  string
	}{
		{"bad name", dynamodb.CreateTableInput{TableName: aws.String("a!"), BillingMode: ppr, AttributeDefinitions: []types.AttributeDefinition{pk}, KeySchema: []types.KeySchemaElement{hash}},
			"2 validation errors detected: Value 'a!' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; Value 'a!' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 3"},
		{"provisioned without throughput", dynamodb.CreateTableInput{TableName: aws.String("ttt"), AttributeDefinitions: []types.AttributeDefinition{pk}, KeySchema: []types.KeySchemaElement{hash}},
			"One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED"},
		{"undefined key", dynamodb.CreateTableInput{TableName: aws.String("ttt"), BillingMode: ppr, AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("x"), AttributeType: types.ScalarAttributeTypeS}}, KeySchema: []types.KeySchemaElement{hash}},
			"One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [pk], AttributeDefinitions: [x]"},
		{"extra definition", dynamodb.CreateTableInput{TableName: aws.String("ttt"), BillingMode: ppr, AttributeDefinitions: []types.AttributeDefinition{pk, {AttributeName: aws.String("x"), AttributeType: types.ScalarAttributeTypeS}}, KeySchema: []types.KeySchemaElement{hash}},
			"One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions"},
		{"range first", dynamodb.CreateTableInput{TableName: aws.String("ttt"), BillingMode: ppr, AttributeDefinitions: []types.AttributeDefinition{pk}, KeySchema: []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeRange}}},
			"Invalid KeySchema: The first KeySchemaElement is not a HASH key type"},
		{"gsi", dynamodb.CreateTableInput{TableName: aws.String("ttt"), BillingMode: ppr, AttributeDefinitions: []types.AttributeDefinition{pk}, KeySchema: []types.KeySchemaElement{hash},
			GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{IndexName: aws.String("gsi"), KeySchema: []types.KeySchemaElement{hash}, Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll}}}},
			"Bulkhead's data API does not support secondary indexes yet: remove GlobalSecondaryIndexes and LocalSecondaryIndexes"},
		{"pool with a number key", dynamodb.CreateTableInput{TableName: aws.String("ttt"), BillingMode: ppr, AttributeDefinitions: []types.AttributeDefinition{nk}, KeySchema: []types.KeySchemaElement{hash}},
			"A bulkhead:tenancy=pool table needs a string (S) partition key: the tenant is its prefix"},
		{"silo without tenant", dynamodb.CreateTableInput{TableName: aws.String("ttt"), BillingMode: ppr, AttributeDefinitions: []types.AttributeDefinition{pk}, KeySchema: []types.KeySchemaElement{hash}, Tags: []types.Tag{tag(TagTenancy, "silo")}},
			"A bulkhead:tenancy=silo table needs the tag bulkhead:tenant naming its tenant"},
		{"unknown tenancy", dynamodb.CreateTableInput{TableName: aws.String("ttt"), BillingMode: ppr, AttributeDefinitions: []types.AttributeDefinition{pk}, KeySchema: []types.KeySchemaElement{hash}, Tags: []types.Tag{tag(TagTenancy, "mixed")}},
			`The tag bulkhead:tenancy must be pool, silo or shared, not "mixed"`},
		{"empty delimiter", dynamodb.CreateTableInput{TableName: aws.String("ttt"), BillingMode: ppr, AttributeDefinitions: []types.AttributeDefinition{pk}, KeySchema: []types.KeySchemaElement{hash}, Tags: []types.Tag{tag(TagTenantDelimiter, "")}},
			"The tag bulkhead:tenant-delimiter must not be empty"},
		{"tenant on a pool", dynamodb.CreateTableInput{TableName: aws.String("ttt"), BillingMode: ppr, AttributeDefinitions: []types.AttributeDefinition{pk}, KeySchema: []types.KeySchemaElement{hash}, Tags: []types.Tag{tag(TagTenant, "x")}},
			"The tag bulkhead:tenant applies only to bulkhead:tenancy=silo tables"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.admin.CreateTable(t.Context(), &tt.in)
			wantAPIError(t, err, "ValidationException", tt.msg)
		})
	}
	// None of them made a table.
	out, err := e.admin.ListTables(t.Context(), &dynamodb.ListTablesInput{})
	if err != nil || len(out.TableNames) != 0 {
		t.Fatalf("ListTables = %v, %v; want none", out.TableNames, err)
	}
}

func TestDataAPIItemLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createTable("Tbl", false)
	ctx := t.Context()
	c := e.admin
	tbl := aws.String("Tbl")

	put, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: tbl, Item: item("a#1", "x", "n", 1, "s", "one"), ReturnValues: types.ReturnValueAllOld})
	if err != nil || len(put.Attributes) != 0 {
		t.Fatalf("first PutItem = %+v, %v", put, err)
	}
	put, err = c.PutItem(ctx, &dynamodb.PutItemInput{TableName: tbl, Item: item("a#1", "x", "n", 2, "s", "two"), ReturnValues: types.ReturnValueAllOld})
	if err != nil || sval(put.Attributes, "s") != "one" {
		t.Fatalf("second PutItem ALL_OLD = %+v, %v", put.Attributes, err)
	}
	got, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: tbl, Key: key("a#1", "x"), ConsistentRead: aws.Bool(true)})
	if err != nil || sval(got.Item, "s") != "two" || sval(got.Item, "n") != "2" || len(got.Item) != 4 {
		t.Fatalf("GetItem = %+v, %v", got.Item, err)
	}
	got, err = c.GetItem(ctx, &dynamodb.GetItemInput{TableName: tbl, Key: key("a#1", "x"), ProjectionExpression: aws.String("#s"),
		ExpressionAttributeNames: map[string]string{"#s": "s"}})
	if err != nil || len(got.Item) != 1 || sval(got.Item, "s") != "two" {
		t.Fatalf("GetItem projected = %+v, %v", got.Item, err)
	}
	got, err = c.GetItem(ctx, &dynamodb.GetItemInput{TableName: tbl, Key: key("a#1", "missing")})
	if err != nil || got.Item != nil {
		t.Fatalf("GetItem missing = %+v, %v", got.Item, err)
	}

	// A failed condition, with and without the old item.
	_, err = c.PutItem(ctx, &dynamodb.PutItemInput{TableName: tbl, Item: item("a#1", "x"), ConditionExpression: aws.String("attribute_not_exists(pk)")})
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) || aws.ToString(ccf.Message) != "The conditional request failed" || ccf.Item != nil {
		t.Fatalf("conditional PutItem: %v", err)
	}
	_, err = c.PutItem(ctx, &dynamodb.PutItemInput{TableName: tbl, Item: item("a#1", "x"), ConditionExpression: aws.String("attribute_not_exists(pk)"),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
	if !errors.As(err, &ccf) || sval(ccf.Item, "s") != "two" {
		t.Fatalf("conditional PutItem with ALL_OLD: %v (item %v)", err, ccf)
	}

	// UpdateItem: every ReturnValues.
	upd := func(expr string, rv types.ReturnValue, values map[string]types.AttributeValue) map[string]types.AttributeValue {
		t.Helper()
		out, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: tbl, Key: key("a#1", "x"), UpdateExpression: aws.String(expr),
			ExpressionAttributeValues: values, ReturnValues: rv})
		if err != nil {
			t.Fatalf("UpdateItem %q %s: %v", expr, rv, err)
		}
		return out.Attributes
	}
	if a := upd("SET n = n + :one", types.ReturnValueUpdatedNew, map[string]types.AttributeValue{":one": N(1)}); len(a) != 1 || sval(a, "n") != "3" {
		t.Fatalf("UPDATED_NEW = %v", a)
	}
	if a := upd("SET n = n + :one", types.ReturnValueUpdatedOld, map[string]types.AttributeValue{":one": N(1)}); len(a) != 1 || sval(a, "n") != "3" {
		t.Fatalf("UPDATED_OLD = %v", a)
	}
	if a := upd("REMOVE s", types.ReturnValueAllNew, nil); len(a) != 3 || sval(a, "n") != "4" {
		t.Fatalf("ALL_NEW = %v", a)
	}
	if a := upd("SET s = :s", types.ReturnValueAllOld, map[string]types.AttributeValue{":s": S("back")}); len(a) != 3 || a["s"] != nil {
		t.Fatalf("ALL_OLD = %v", a)
	}
	if a := upd("SET s = :s", types.ReturnValueNone, map[string]types.AttributeValue{":s": S("again")}); a != nil {
		t.Fatalf("NONE = %v", a)
	}

	// UpdateItem creates a missing item from its key.
	out, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: tbl, Key: key("a#2", "y"), UpdateExpression: aws.String("ADD c :one"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": N(1)}, ReturnValues: types.ReturnValueAllNew})
	if err != nil || sval(out.Attributes, "pk") != "a#2" || sval(out.Attributes, "c") != "1" {
		t.Fatalf("UpdateItem of a missing item = %+v, %v", out, err)
	}
	_, err = c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: tbl, Key: key("a#3", "y"), UpdateExpression: aws.String("SET c = :one"),
		ConditionExpression: aws.String("attribute_exists(pk)"), ExpressionAttributeValues: map[string]types.AttributeValue{":one": N(1)}})
	if !errors.As(err, &ccf) {
		t.Fatalf("conditional UpdateItem of a missing item: %v", err)
	}
	_, err = c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: tbl, Key: key("a#2", "y"), UpdateExpression: aws.String("SET pk = :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": S("b")}})
	wantAPIError(t, err, "ValidationException", "One or more parameter values were invalid: Cannot update attribute pk. This attribute is part of the key")

	// DeleteItem.
	_, err = c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: tbl, Key: key("a#2", "y"), ConditionExpression: aws.String("c = :two"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":two": N(2)}})
	if !errors.As(err, &ccf) {
		t.Fatalf("conditional DeleteItem: %v", err)
	}
	del, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: tbl, Key: key("a#2", "y"), ReturnValues: types.ReturnValueAllOld})
	if err != nil || sval(del.Attributes, "c") != "1" {
		t.Fatalf("DeleteItem ALL_OLD = %+v, %v", del, err)
	}
	del, err = c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: tbl, Key: key("a#2", "y"), ReturnValues: types.ReturnValueAllOld})
	if err != nil || del.Attributes != nil {
		t.Fatalf("DeleteItem of a missing item = %+v, %v", del, err)
	}
}

func TestDataAPIConsumedCapacity(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createTable("Tbl", false)
	ctx := context.Background()
	c := e.admin
	big := strings.Repeat("x", 5000)
	put, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("Tbl"), Item: item("a#1", "x", "big", big), ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil || put.ConsumedCapacity == nil || aws.ToFloat64(put.ConsumedCapacity.CapacityUnits) != 5 || aws.ToString(put.ConsumedCapacity.TableName) != "Tbl" {
		t.Fatalf("PutItem capacity = %+v, %v", put.ConsumedCapacity, err)
	}
	get, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("Tbl"), Key: key("a#1", "x"), ReturnConsumedCapacity: types.ReturnConsumedCapacityIndexes})
	if err != nil || get.ConsumedCapacity == nil || aws.ToFloat64(get.ConsumedCapacity.CapacityUnits) != 1 || get.ConsumedCapacity.Table == nil || len(get.Item) != 3 {
		t.Fatalf("GetItem capacity = %+v, %v", get.ConsumedCapacity, err)
	}
	q, err := c.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("Tbl"), KeyConditionExpression: aws.String("pk = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": S("a#1")}, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal, ConsistentRead: aws.Bool(true)})
	if err != nil || q.ConsumedCapacity == nil || aws.ToFloat64(q.ConsumedCapacity.CapacityUnits) != 2 {
		t.Fatalf("Query capacity = %+v, %v", q.ConsumedCapacity, err)
	}
	bw, err := c.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"Tbl": {
		{PutRequest: &types.PutRequest{Item: item("a#2", "x")}}}}, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil || len(bw.ConsumedCapacity) != 1 || aws.ToFloat64(bw.ConsumedCapacity[0].CapacityUnits) != 1 {
		t.Fatalf("BatchWriteItem capacity = %+v, %v", bw.ConsumedCapacity, err)
	}
	bg, err := c.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{"Tbl": {
		Keys: []map[string]types.AttributeValue{key("a#2", "x")}}}, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil || len(bg.ConsumedCapacity) != 1 || aws.ToFloat64(bg.ConsumedCapacity[0].CapacityUnits) != 0.5 {
		t.Fatalf("BatchGetItem capacity = %+v, %v", bg.ConsumedCapacity, err)
	}
	// Not asked for: none.
	get, err = c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("Tbl"), Key: key("a#1", "x")})
	if err != nil || get.ConsumedCapacity != nil {
		t.Fatalf("GetItem without ReturnConsumedCapacity = %+v, %v", get.ConsumedCapacity, err)
	}
}
