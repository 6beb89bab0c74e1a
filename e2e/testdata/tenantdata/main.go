// Command tenantdata is the e2e tests' function for tenant-scoped data: an
// aws-lambda-go handler that uses the unmodified AWS SDK v2 DynamoDB client
// with the default credential chain, made once at init and shared by every
// invocation — with its credentials cache keyed by nothing, the pattern that
// leaks across tenants when one process serves several (identity-data.md
// §5). Each event names an operation and the keys to touch; the handler
// answers what DynamoDB said, so the tests can aim a tenant at its own
// items and at other tenants'.
package main

import (
	"context"
	"errors"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// Event is one request to the handler.
type Event struct {
	Op    string   // put, get, query, delete, update, batchget, batchwrite, scan, creds, env
	Table string   // default "Orders"
	Keys  []string // partition keys (pk); sort key "item"
	Value string
	// With, when set, are credentials (another environment's, say) the
	// operation signs with instead of the environment's own.
	With *aws.Credentials
}

// Answer is what the handler returns.
type Answer struct {
	Tenant string            // lambdacontext's tenant
	Code   string            `json:",omitempty"` // the DynamoDB error code, "" on success
	Values []string          `json:",omitempty"` // the "v" attribute of items read, in order
	Count  int               // items read
	Key    string            `json:",omitempty"` // creds: the access key id the client signs with
	Env    map[string]string `json:",omitempty"` // env: the credential and endpoint variables
	Creds  *aws.Credentials  `json:",omitempty"` // creds: the credentials themselves (for the refusal tests)
}

var (
	cfg    aws.Config
	client *dynamodb.Client
)

func main() {
	var err error
	// One config and one client for the process, credentials cached by the
	// SDK without any tenant in the key.
	cfg, err = config.LoadDefaultConfig(context.Background())
	if err != nil {
		panic(err)
	}
	client = dynamodb.NewFromConfig(cfg)
	lambda.Start(handle)
}

func handle(ctx context.Context, e Event) (Answer, error) {
	lc, _ := lambdacontext.FromContext(ctx)
	a := Answer{Tenant: lc.TenantID}
	table := e.Table
	if table == "" {
		table = "Orders"
	}
	key := func(pk string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: "item"}}
	}
	client := client
	if e.With != nil {
		client = dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
			o.Credentials = credentials.StaticCredentialsProvider{Value: *e.With}
		})
	}
	var err error
	switch e.Op {
	case "put":
		for _, pk := range e.Keys {
			item := key(pk)
			item["v"] = &types.AttributeValueMemberS{Value: e.Value}
			if _, err = client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: item}); err != nil {
				break
			}
		}
	case "get":
		for _, pk := range e.Keys {
			var out *dynamodb.GetItemOutput
			if out, err = client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &table, Key: key(pk)}); err != nil {
				break
			}
			a.collect(out.Item)
		}
	case "update":
		for _, pk := range e.Keys {
			if _, err = client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &table, Key: key(pk),
				UpdateExpression:          aws.String("SET v = :v"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberS{Value: e.Value}}}); err != nil {
				break
			}
		}
	case "delete":
		for _, pk := range e.Keys {
			if _, err = client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &table, Key: key(pk)}); err != nil {
				break
			}
		}
	case "query":
		for _, pk := range e.Keys {
			var out *dynamodb.QueryOutput
			if out, err = client.Query(ctx, &dynamodb.QueryInput{TableName: &table,
				KeyConditionExpression:    aws.String("pk = :pk"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: pk}}}); err != nil {
				break
			}
			for _, it := range out.Items {
				a.collect(it)
			}
		}
	case "batchget":
		keys := make([]map[string]types.AttributeValue, 0, len(e.Keys))
		for _, pk := range e.Keys {
			keys = append(keys, key(pk))
		}
		var out *dynamodb.BatchGetItemOutput
		if out, err = client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{table: {Keys: keys}}}); err == nil {
			for _, it := range out.Responses[table] {
				a.collect(it)
			}
		}
	case "batchwrite":
		var reqs []types.WriteRequest
		for _, pk := range e.Keys {
			item := key(pk)
			item["v"] = &types.AttributeValueMemberS{Value: e.Value}
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		}
		_, err = client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{table: reqs}})
	case "scan":
		var out *dynamodb.ScanOutput
		if out, err = client.Scan(ctx, &dynamodb.ScanInput{TableName: &table}); err == nil {
			for _, it := range out.Items {
				a.collect(it)
			}
		}
	case "creds":
		var c aws.Credentials
		if c, err = cfg.Credentials.Retrieve(ctx); err == nil {
			a.Key, a.Creds = c.AccessKeyID, &c
		}
	case "env":
		a.Env = map[string]string{}
		for _, k := range []string{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_ENDPOINT_URL_DYNAMODB",
			"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION"} {
			if v, ok := os.LookupEnv(k); ok {
				a.Env[k] = v
			}
		}
	default:
		return a, errors.New("unknown op " + e.Op)
	}
	if err != nil {
		var api smithy.APIError
		if !errors.As(err, &api) {
			return a, err
		}
		a.Code = api.ErrorCode()
	}
	return a, nil
}

func (a *Answer) collect(item map[string]types.AttributeValue) {
	if item == nil {
		return
	}
	a.Count++
	if v, ok := item["v"].(*types.AttributeValueMemberS); ok {
		a.Values = append(a.Values, v.Value)
	}
}
