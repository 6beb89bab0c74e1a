package dataapi

import (
	"strings"
	"testing"
)

// TestDataAPIValidation sends invalid requests as they are, signed by the
// admin, and checks DynamoDB's exception and message.
func TestDataAPIValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createTable("Tbl", false)
	e.createTable("Hash", true)
	big := strings.Repeat("x", 400*1024)
	// 200,000 control characters: 200 KB to DynamoDB, 1.2 MB as JSON, more
	// than the store keeps for one row.
	controls := strings.Repeat(`\u0001`, 200_000)
	tests := []struct {
		op, body string
		typ      string // exception name
		message  string
	}{
		// GetItem
		{"GetItem", `{"TableName":"Tbl"}`, "ValidationException",
			"1 validation error detected: Value null at 'key' failed to satisfy constraint: Member must not be null"},
		{"GetItem", `{"TableName":"x","ReturnConsumedCapacity":"ALL"}`, "ValidationException",
			"3 validation errors detected: Value 'x' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 3; " +
				"Value null at 'key' failed to satisfy constraint: Member must not be null; " +
				"Value 'ALL' at 'returnConsumedCapacity' failed to satisfy constraint: Member must satisfy enum value set: [INDEXES, TOTAL, NONE]"},
		{"GetItem", `{"TableName":"Tbl","Key":{"pk":{"S":"a"}}}`, "ValidationException", "The provided key element does not match the schema"},
		{"GetItem", `{"TableName":"Tbl","Key":{"pk":{"N":"1"},"sk":{"S":"a"}}}`, "ValidationException", "The provided key element does not match the schema"},
		{"GetItem", `{"TableName":"Tbl","Key":{"pk":{"S":""},"sk":{"S":"a"}}}`, "ValidationException",
			"One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: pk"},
		{"GetItem", `{"TableName":"Nope","Key":{"pk":{"S":"a"}}}`, "ResourceNotFoundException", "Requested resource not found"},
		{"GetItem", `{"TableName":"Tbl","Key":{"pk":{"S":"a"},"sk":{"S":"b"}},"AttributesToGet":["a"]}`, "ValidationException",
			"Bulkhead's data API does not support the legacy parameter AttributesToGet; use ProjectionExpression instead"},
		{"GetItem", `{"TableName":"Tbl","Key":{"pk":{"S":"a"},"sk":{"S":"b"}},"ProjectionExpression":""}`, "ValidationException",
			"Invalid ProjectionExpression: The expression can not be empty;"},
		{"GetItem", `{"TableName":"Tbl","Key":{"pk":{"S":"a"},"sk":{"S":"b"}},"ProjectionExpression":"a","ExpressionAttributeNames":{"#u":"u"}}`, "ValidationException",
			"Value provided in ExpressionAttributeNames unused in expressions: keys: {#u}"},
		{"GetItem", `{"TableName":"Tbl","Key":{"pk":{"S":"a"},"sk":{"SS":[]}}}`, "ValidationException",
			"One or more parameter values were invalid: An string set  may not be empty"},
		// PutItem
		{"PutItem", `{"TableName":"Tbl"}`, "ValidationException",
			"1 validation error detected: Value null at 'item' failed to satisfy constraint: Member must not be null"},
		{"PutItem", `{"TableName":"Tbl","Item":{"pk":{"S":"a"}}}`, "ValidationException", "One or more parameter values were invalid: Missing the key sk in the item"},
		{"PutItem", `{"TableName":"Tbl","Item":{"pk":{"S":"a"},"sk":{"N":"1"}}}`, "ValidationException",
			"One or more parameter values were invalid: Type mismatch for key sk expected: S actual: N"},
		{"PutItem", `{"TableName":"Tbl","Item":{"pk":{"S":"a"},"sk":{"S":"b"}},"ReturnValues":"ALL_NEW"}`, "ValidationException", "ReturnValues can only be ALL_OLD or NONE"},
		{"PutItem", `{"TableName":"Tbl","Item":{"pk":{"S":"a"},"sk":{"S":"b"}},"ReturnValues":"SOME"}`, "ValidationException",
			"1 validation error detected: Value 'SOME' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value set: [NONE, ALL_OLD, UPDATED_OLD, ALL_NEW, UPDATED_NEW]"},
		{"PutItem", `{"TableName":"Tbl","Item":{"pk":{"S":"a"},"sk":{"S":"b"},"big":{"S":"` + big + `"}}}`, "ValidationException", "Item size has exceeded the maximum allowed size"},
		{"PutItem", `{"TableName":"Tbl","Item":{"pk":{"S":"a"},"sk":{"S":"b"},"c":{"S":"` + controls + `"}}}`, "ValidationException", "Item size has exceeded the maximum allowed size"},
		{"PutItem", `{"TableName":"Tbl","Item":{"pk":{"S":"a"},"sk":{"S":"b"},"n":{"N":"x"}}}`, "ValidationException",
			"1 validation error detected: The parameter cannot be converted to a numeric value: x"},
		{"PutItem", `{"TableName":"Tbl","Item":{"pk":{"S":"a"},"sk":{"S":"b"}},"Expected":{"a":{"Exists":false}}}`, "ValidationException",
			"Bulkhead's data API does not support the legacy parameter Expected; use ConditionExpression instead"},
		{"PutItem", `{"TableName":"Tbl","Item":{"pk":{"S":"a"},"sk":{"S":"b"}},"ExpressionAttributeValues":{":v":{"S":"x"}}}`, "ValidationException",
			"ExpressionAttributeValues can only be specified when using expressions"},
		{"PutItem", `{"TableName":"Tbl","Item":{"pk":{"S":"a"},"sk":{"S":"b"}},"ConditionExpression":"a = :missing"}`, "ValidationException",
			"Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :missing"},
		{"PutItem", `{"TableName":"Tbl","Item":{"pk":{"S":"a"},"sk":{"B":1}}}`, "SerializationException",
			""},
		// UpdateItem
		{"UpdateItem", `{"TableName":"Tbl","Key":{"pk":{"S":"a"},"sk":{"S":"b"}},"AttributeUpdates":{"a":{"Action":"DELETE"}}}`, "ValidationException",
			"Bulkhead's data API does not support the legacy parameter AttributeUpdates; use UpdateExpression instead"},
		{"UpdateItem", `{"TableName":"Tbl","Key":{"pk":{"S":"a"},"sk":{"S":"b"}},"UpdateExpression":"SET a = :v","ConditionExpression":"a = :missing","ExpressionAttributeValues":{":v":{"S":"x"}}}`, "ValidationException",
			"1 validation error detected: Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :missing"},
		{"UpdateItem", `{"TableName":"Tbl","Key":{"pk":{"S":"a"},"sk":{"S":"b"}},"UpdateExpression":"SET big = :v","ExpressionAttributeValues":{":v":{"S":"` + big + `"}}}`, "ValidationException",
			"Item size to update has exceeded the maximum allowed size"},
		{"UpdateItem", `{"TableName":"Tbl","Key":{"pk":{"S":"a"},"sk":{"S":"b"}},"UpdateExpression":"SET n = n + :v","ExpressionAttributeValues":{":v":{"N":"1"}}}`, "ValidationException",
			"The provided expression refers to an attribute that does not exist in the item"},
		// DeleteItem
		{"DeleteItem", `{"TableName":"Tbl","Key":{"pk":{"S":"a"},"sk":{"S":"b"}},"ReturnValues":"ALL_NEW"}`, "ValidationException", "ReturnValues can only be ALL_OLD or NONE"},
		{"DeleteItem", `{"TableName":"Nope","Key":{"pk":{"S":"a"},"sk":{"S":"b"}}}`, "ResourceNotFoundException", "Requested resource not found"},
		// Query
		{"Query", `{"TableName":"Tbl"}`, "ValidationException", "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request."},
		{"Query", `{"TableName":"Tbl","KeyConditions":{}}`, "ValidationException",
			"Bulkhead's data API does not support the legacy parameter KeyConditions; use KeyConditionExpression instead"},
		{"Query", `{"TableName":"Tbl","KeyConditionExpression":"pk = :p","ExpressionAttributeValues":{":p":{"S":"a"}},"Select":"COUNT","ProjectionExpression":"a"}`, "ValidationException",
			"1 validation error detected: Cannot specify the ProjectionExpression when choosing to get only the Count"},
		{"Query", `{"TableName":"Tbl","KeyConditionExpression":"pk = :p","ExpressionAttributeValues":{":p":{"S":"a"}},"Limit":0}`, "ValidationException",
			"1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"Query", `{"TableName":"Tbl","KeyConditionExpression":"sk = :p","ExpressionAttributeValues":{":p":{"S":"a"}}}`, "ValidationException",
			"Query condition missed key schema element: pk"},
		{"Query", `{"TableName":"Tbl","KeyConditionExpression":"pk = :p AND sk BETWEEN :b AND :a","ExpressionAttributeValues":{":p":{"S":"a"},":a":{"S":"a"},":b":{"S":"b"}}}`, "ValidationException",
			"Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {S:b}, upper bound operand: AttributeValue: {S:a}"},
		{"Query", `{"TableName":"Tbl","IndexName":"byDate","KeyConditionExpression":"pk = :p","ExpressionAttributeValues":{":p":{"S":"a"}}}`, "ValidationException",
			"The table does not have the specified index: byDate"},
		{"Query", `{"TableName":"Tbl","KeyConditionExpression":"pk = :p","ExpressionAttributeValues":{":p":{"S":"a"}},"ExclusiveStartKey":{"pk":{"S":"a"}}}`, "ValidationException",
			"The provided starting key is invalid: The provided key element does not match the schema"},
		{"Query", `{"TableName":"Tbl","KeyConditionExpression":"pk = :p","ExpressionAttributeValues":{":p":{"S":"a"}},"ExclusiveStartKey":{"pk":{"S":"b"},"sk":{"S":"x"}}}`, "ValidationException",
			"The provided starting key is outside query boundaries based on provided conditions"},
		// Scan
		{"Scan", `{"TableName":"Tbl","Segment":0,"TotalSegments":2}`, "ValidationException",
			"Bulkhead's data API does not support parallel scans yet: remove Segment and TotalSegments"},
		{"Scan", `{"TableName":"Tbl","Select":"COUNT","ProjectionExpression":"a"}`, "ValidationException",
			"Cannot specify the ProjectionExpression when choosing to get only the Count"},
		{"Scan", `{"TableName":"Tbl","Select":"SPECIFIC_ATTRIBUTES"}`, "ValidationException",
			"Must specify the ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES"},
		{"Scan", `{"TableName":"Tbl","ScanFilter":{}}`, "ValidationException",
			"Bulkhead's data API does not support the legacy parameter ScanFilter; use FilterExpression instead"},
		// BatchGetItem
		{"BatchGetItem", `{}`, "ValidationException",
			"1 validation error detected: Value null at 'requestItems' failed to satisfy constraint: Member must not be null"},
		{"BatchGetItem", `{"RequestItems":{"Tbl":{"Keys":[]}}}`, "ValidationException",
			"1 validation error detected: Value '[]' at 'requestItems.Tbl.member.keys' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"BatchGetItem", `{"RequestItems":{"Tbl":{"Keys":[{"pk":{"S":"a"},"sk":{"S":"b"}},{"pk":{"S":"a"},"sk":{"S":"b"}}]}}}`, "ValidationException",
			"Provided list of item keys contains duplicates"},
		{"BatchGetItem", `{"RequestItems":{"Tbl":{"Keys":[` + repeatJSON(`{"pk":{"S":"a"},"sk":{"S":"%d"}}`, 101) + `]}}}`, "ValidationException",
			"1 validation error detected: Value '101' at 'requestItems.Tbl.member.keys' failed to satisfy constraint: Member must have length less than or equal to 100"},
		{"BatchGetItem", `{"RequestItems":{"Tbl":{"Keys":[` + repeatJSON(`{"pk":{"S":"a"},"sk":{"S":"%d"}}`, 60) + `]},"Hash":{"Keys":[` + repeatJSON(`{"pk":{"S":"%d"}}`, 41) + `]}}}`, "ValidationException",
			"Too many items requested for the BatchGetItem call"},
		{"BatchGetItem", `{"RequestItems":{"Nope":{"Keys":[{"pk":{"S":"a"}}]}}}`, "ResourceNotFoundException", "Requested resource not found"},
		// BatchWriteItem
		{"BatchWriteItem", `{"RequestItems":{"Tbl":[` + repeatJSON(`{"PutRequest":{"Item":{"pk":{"S":"a"},"sk":{"S":"%d"}}}}`, 26) + `]}}`, "ValidationException",
			"Too many items requested for the BatchWriteItem call"},
		{"BatchWriteItem", `{"RequestItems":{"Tbl":[{}]}}`, "ValidationException",
			"Supplied WriteRequest must contain exactly one of PutRequest and DeleteRequest"},
		{"BatchWriteItem", `{"RequestItems":{"Tbl":[{"PutRequest":{}}]}}`, "ValidationException",
			"1 validation error detected: Value null at 'requestItems.Tbl.member.1.member.putRequest.item' failed to satisfy constraint: Member must not be null"},
		{"BatchWriteItem", `{"RequestItems":{"Tbl":[{"PutRequest":{"Item":{"pk":{"S":"a"},"sk":{"S":"b"}}}},{"DeleteRequest":{"Key":{"pk":{"S":"a"},"sk":{"S":"b"}}}}]}}`, "ValidationException",
			"Provided list of item keys contains duplicates"},
		{"BatchWriteItem", `{"RequestItems":{"Tbl":[{"PutRequest":{"Item":{"pk":{"S":"a"}}}}]}}`, "ValidationException",
			"One or more parameter values were invalid: Missing the key sk in the item"},
	}
	for _, tt := range tests {
		name := tt.op + " " + tt.body
		if len(name) > 100 {
			name = name[:100]
		}
		t.Run(name, func(t *testing.T) {
			resp, body := e.raw(adminKey, targetPrefix+tt.op, tt.body)
			if resp.StatusCode != 400 {
				t.Fatalf("status %d, body %.300s", resp.StatusCode, body)
			}
			eb := parseError(t, body)
			if typ := eb.Type[strings.IndexByte(eb.Type, '#')+1:]; typ != tt.typ || (tt.message != "" && eb.Message != tt.message) {
				t.Fatalf("error = %s %q\nwant    %s %q", typ, eb.Message, tt.typ, tt.message)
			}
		})
	}
	// Nothing above wrote anything.
	resp, body := e.raw(adminKey, targetPrefix+"Scan", `{"TableName":"Tbl"}`)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"Count":0`) {
		t.Fatalf("Scan after the invalid requests: %d %s", resp.StatusCode, body)
	}
}

func repeatJSON(format string, n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = strings.ReplaceAll(format, "%d", itoa(i))
	}
	return strings.Join(parts, ",")
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}
