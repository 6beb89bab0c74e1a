// Package dataapi is Bulkhead's DynamoDB-compatible data API: an
// http.Handler that speaks DynamoDB's JSON protocol (awsJson1_0) to the
// unmodified AWS SDK, authorizes every request with IAM policy evaluation,
// and runs it against the data store in the caller's tenant scope.
//
// It owns the wire (targets, request members, responses, DynamoDB's error
// names and messages), table definitions and their tenancy, the condition
// keys computed from each request, and the mapping of items to store rows.
// It does not own authentication (Config.Authenticate, the server's SigV4
// and session-token check), the policy language (internal/iam/policy),
// attribute values and expressions (internal/data/ddb) or storage
// (internal/data/store).
//
// # A request
//
//	POST /  Content-Type: application/x-amz-json-1.0  X-Amz-Target: DynamoDB_20120810.<Op>
//	  body ≤ MaxRequest (16 MB)           else 413, before authentication
//	  method and content type             else 404 <UnknownOperationException/>, as DynamoDB
//	  JSON syntax                         else SerializationException
//	  target                              else UnknownOperationException
//	  Config.Authenticate                 its AuthError, as com.amazon.coral.service#<code>
//	  Config.Allow(tenant)                else ThrottlingException
//	  the operation: decode, constraints ("1 validation error detected: ..."), table,
//	    expressions, policy evaluation, key and item checks, tenant check, store
//
// Every response carries x-amzn-RequestId, Date (the SDK corrects its clock
// skew from it) and X-Amz-Crc32, the CRC32 of the body, which the SDK
// checks. Errors are {"__type":"<namespace>#<Exception>","message":...} with
// status 400, or 500 for InternalServerError, which is logged with the
// request id and tells the client nothing more.
//
// # Operations
//
// CreateTable, DescribeTable, ListTables, DeleteTable; GetItem, PutItem,
// UpdateItem, DeleteItem; Query, Scan; BatchGetItem, BatchWriteItem — with
// expressions (condition, filter, key condition, update, projection),
// ReturnValues, ReturnValuesOnConditionCheckFailure, Select, Limit and
// paging by LastEvaluatedKey (a page reads at most 1 MB before its filter,
// as in DynamoDB), and a plausible ConsumedCapacity when asked. Not
// supported yet, each refused with a ValidationException that says so:
// secondary indexes (GlobalSecondaryIndexes, LocalSecondaryIndexes,
// IndexName), parallel scans (Segment, TotalSegments), streams, and the
// legacy parameters (AttributesToGet, KeyConditions, QueryFilter,
// ScanFilter, Expected, ConditionalOperator, AttributeUpdates). Other
// DynamoDB operations (transactions, UpdateTable, tagging, backups,
// PartiQL, TTL) answer UnknownOperationException naming the operation.
// BatchWriteItem writes each table atomically and the tables one after the
// other; BatchGetItem and BatchWriteItem never leave unprocessed items except
// that BatchGetItem returns keys past a 16 MB response as UnprocessedKeys.
//
// # Tenancy
//
// Each table has a tenancy, chosen at CreateTable by its tags and kept in
// the store's table definition with the key schema:
//
//	bulkhead:tenancy=pool (default)  a row belongs to the tenant its partition key starts with:
//	                                 the key up to the first bulkhead:tenant-delimiter ("#" by
//	                                 default), or the whole key if it has none. The partition
//	                                 key must be a string. Tenant ids must not contain the
//	                                 delimiter (such a tenant can write none of its keys).
//	bulkhead:tenancy=silo            bulkhead:tenant=T is required; every row belongs to T.
//	bulkhead:tenancy=shared          rows belong to no tenant; only service principals see them.
//
// The owner of a row is always computed from its key and the table's
// tenancy, never taken from the client.
//
// # Two walls
//
// A tenant's request (Principal.Tenant set) is kept to its own rows twice.
// First the policy: the handler evaluates the principal's identity and
// session policies (internal/iam/policy) for dynamodb:<Op> on the table's
// ARN with condition keys it computes from the request itself —
// dynamodb:LeadingKeys (every partition-key value the request touches: Key,
// Item, the value the KeyConditionExpression binds to the partition key,
// every key of a batch, per table), dynamodb:Attributes, dynamodb:Select,
// dynamodb:ReturnValues and dynamodb:ReturnConsumedCapacity when given,
// aws:CurrentTime, aws:EpochTime, aws:SecureTransport (false),
// aws:RequestedRegion, and for CreateTable aws:RequestTag/* and aws:TagKeys
// — plus the principal's own keys from Principal.Context. Batch operations
// are evaluated once per table over the union of their keys, as in AWS. A
// write whose row would belong to another tenant is then refused by the
// front end itself, from the key alone. Second, the store: item operations
// run in store.Scope{Tenant: t}, and the store neither shows nor writes rows
// another tenant owns. The admin key and principals without a tenant run in
// the service scope; the admin key skips policy evaluation.
//
// Scan carries no dynamodb:LeadingKeys, as in AWS, so a policy that relies
// on ForAllValues must not grant it (the canonical pool policy, with its
// Null check, does not); a Scan that is granted returns only the tenant's
// rows. ItemCount and TableSizeBytes in DescribeTable likewise count only
// the rows the caller's scope sees.
//
// Refusals never say whether another tenant's row exists: reads of another
// tenant's key find nothing, and writes to it are AccessDeniedException
// whether or not a row is there. With Config.SkipPolicy (tests only), the
// store's wall stands alone: a DeleteItem of a row the caller cannot see
// then deletes nothing and succeeds, as a delete of a missing key does,
// and a BatchWriteItem delete of another tenant's existing row is refused.
package dataapi
