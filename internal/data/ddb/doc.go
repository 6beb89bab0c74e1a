// Package ddb is the pure logic of Bulkhead's DynamoDB-compatible data API:
// attribute values and items, their wire form, order-preserving key
// encodings, and DynamoDB's expression languages, with DynamoDB's validation
// behaviour and its exact error wording. The storage engine and the
// awsJson1_0 front end both build on it; it does no I/O and knows no tables,
// tenants or HTTP.
//
// # Values
//
// AttributeValue holds one of the ten types (S, N, B, BOOL, NULL, SS, NS, BS,
// L, M). It is immutable; numbers are kept in DynamoDB's canonical form (plain
// notation, no leading or trailing zeros: "1.50E2" is "150") and compared
// numerically, set members in a canonical order. Item is a map of attribute
// names to values; Size measures it as DynamoDB does against MaxItemSize.
// The JSON codec (UnmarshalJSON, DecodeItem, AppendJSON) reads and writes the
// wire form with DynamoDB's SerializationException and ValidationException
// messages; encoding is deterministic.
//
// # Keys
//
// KeySchema names a table's or index's key attributes and validates keys and
// items against them. EncodeKey maps an S, N or B key value to bytes that
// sort (bytes.Compare) as DynamoDB sorts the values; the type comes from the
// schema, so the encoding does not carry it:
//
//	S    the UTF-8 bytes as they are     begins_with is a prefix test
//	B    the bytes as they are           on the encoding
//	N    0x03 e d1 ... dn                positive: e = exponent+129, digits in ASCII
//	     0x02                            zero
//	     0x01 ^e 9-d1 ... 9-dn 0xFF      negative: exponent and digits inverted
//
// for a number 0.d1d2...dn × 10^exponent with no leading or trailing zero
// digits; DynamoDB's range, 1E-130 to 9.99E+125, needs exactly 256 exponents.
//
// # Expressions
//
//	ConditionExpression, FilterExpression   ParseCondition, ParseFilter -> *Condition, Eval(item)
//	KeyConditionExpression                  ParseKeyCondition -> *KeyCondition (partition value, sort range)
//	UpdateExpression                        ParseUpdate -> *Update, Apply(item)
//	ProjectionExpression                    ParseProjection -> *Projection, Apply(item)
//
// Each parser substitutes #names and :values from a Params, which records
// what was used; Expressions.Parse parses all of a request's expressions
// against one Params and then refuses unused names and values, as DynamoDB
// does. Validation follows DynamoDB's order — syntax, then the checks
// DynamoDB makes before it looks at data — and reports the first problem.
// Attributes lists the top-level names a request touches, for the IAM
// condition key dynamodb:Attributes.
//
// # Errors
//
// Every error a caller of DynamoDB could see is an *Error carrying the
// exception name (Type) and DynamoDB's message; it unwraps to
// errdefs.ErrValidation, or errdefs.ErrPrecondition for
// ConditionalCheckFailedException. Where the wording comes from — DynamoDB
// captures in public conformance suites, the developer guide, DynamoDB's own
// messages quoted in issue threads, or dynalite, which is tested against
// DynamoDB — is noted beside each message; the few messages no source gave are
// marked as this package's.
package ddb
