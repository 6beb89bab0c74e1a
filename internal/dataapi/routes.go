package dataapi

// operation serves one DynamoDB operation: it decodes and checks the
// request body, authorizes it and runs it, returning the response body or
// an error for writeError (through call.translate).
type operation func(c *call, body []byte) ([]byte, error)

// routes is every operation of the data API, on one screen: the
// X-Amz-Target suffix (DynamoDB_20120810.<name>) to its handler.
func (h *handler) routes() map[string]operation {
	return map[string]operation{
		"CreateTable":   (*call).createTable,
		"DescribeTable": (*call).describeTable,
		"ListTables":    (*call).listTables,
		"DeleteTable":   (*call).deleteTable,

		"GetItem":    (*call).getItem,
		"PutItem":    (*call).putItem,
		"UpdateItem": (*call).updateItem,
		"DeleteItem": (*call).deleteItem,

		"Query": (*call).query,
		"Scan":  (*call).scan,

		"BatchGetItem":   (*call).batchGetItem,
		"BatchWriteItem": (*call).batchWriteItem,
	}
}

// unimplemented are DynamoDB operations the data API does not have: they
// are refused with UnknownOperationException saying so, rather than as
// unknown names.
var unimplemented = map[string]bool{
	"BatchExecuteStatement": true, "CreateBackup": true, "CreateGlobalTable": true, "DeleteBackup": true,
	"DeleteResourcePolicy": true, "DescribeBackup": true, "DescribeContinuousBackups": true,
	"DescribeContributorInsights": true, "DescribeEndpoints": true, "DescribeExport": true,
	"DescribeGlobalTable": true, "DescribeGlobalTableSettings": true, "DescribeImport": true,
	"DescribeKinesisStreamingDestination": true, "DescribeLimits": true, "DescribeTableReplicaAutoScaling": true,
	"DescribeTimeToLive": true, "DisableKinesisStreamingDestination": true, "EnableKinesisStreamingDestination": true,
	"ExecuteStatement": true, "ExecuteTransaction": true, "ExportTableToPointInTime": true, "GetResourcePolicy": true,
	"ImportTable": true, "ListBackups": true, "ListContributorInsights": true, "ListExports": true,
	"ListGlobalTables": true, "ListImports": true, "ListTagsOfResource": true, "PutResourcePolicy": true,
	"RestoreTableFromBackup": true, "RestoreTableToPointInTime": true, "TagResource": true,
	"TransactGetItems": true, "TransactWriteItems": true, "UntagResource": true, "UpdateContinuousBackups": true,
	"UpdateContributorInsights": true, "UpdateGlobalTable": true, "UpdateGlobalTableSettings": true,
	"UpdateKinesisStreamingDestination": true, "UpdateTable": true, "UpdateTableReplicaAutoScaling": true,
	"UpdateTimeToLive": true,
}
