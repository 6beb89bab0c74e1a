package dataapi

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/bulkhead-dev/bulkhead/internal/data/ddb"
	"github.com/bulkhead-dev/bulkhead/internal/data/store"
)

// maxPage is how much item data one Query or Scan page reads before its
// filter applies: DynamoDB's 1 MB.
const maxPage = 1 << 20

// readRequest is what Query and Scan share.
type readRequest struct {
	TableName                 *string           `json:"TableName"`
	IndexName                 *string           `json:"IndexName"`
	Select                    *string           `json:"Select"`
	Limit                     *int64            `json:"Limit"`
	ConsistentRead            *bool             `json:"ConsistentRead"`
	ExclusiveStartKey         itemArg           `json:"ExclusiveStartKey"`
	FilterExpression          *string           `json:"FilterExpression"`
	ProjectionExpression      *string           `json:"ProjectionExpression"`
	ExpressionAttributeNames  map[string]string `json:"ExpressionAttributeNames"`
	ExpressionAttributeValues itemArg           `json:"ExpressionAttributeValues"`
	ReturnConsumedCapacity    *string           `json:"ReturnConsumedCapacity"`
	AttributesToGet           json.RawMessage   `json:"AttributesToGet"`
	ConditionalOperator       json.RawMessage   `json:"ConditionalOperator"`
}

func (r *readRequest) check(v *constraints) {
	v.tableName(r.TableName, "tableName", false)
	v.tableName(r.IndexName, "indexName", true)
	v.enum(r.Select, "select", selectValues...)
	v.atLeast(r.Limit, "limit", 1)
	v.enum(r.ReturnConsumedCapacity, "returnConsumedCapacity", returnConsumedCapacityValues...)
}

// checkSelect applies DynamoDB's rules for Select with a projection.
// envelope words the errors as Query does.
func (r *readRequest) checkSelect(envelope bool) error {
	msg := ""
	projected := r.ProjectionExpression != nil
	switch str(r.Select) {
	case "COUNT":
		if projected {
			msg = "Cannot specify the ProjectionExpression when choosing to get only the Count"
		}
	case "ALL_ATTRIBUTES":
		if projected {
			msg = "Cannot specify the ProjectionExpression when choosing to get ALL_ATTRIBUTES"
		}
	case "ALL_PROJECTED_ATTRIBUTES":
		if projected {
			msg = "Cannot specify the ProjectionExpression when choosing to get ALL_PROJECTED_ATTRIBUTES"
		} else if r.IndexName == nil {
			msg = "ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName"
		}
	case "SPECIFIC_ATTRIBUTES":
		if !projected {
			msg = "Must specify the ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES"
		}
	}
	if msg == "" {
		return nil
	}
	if envelope {
		msg = "1 validation error detected: " + msg
	}
	return validationError("%s", msg)
}

// page reads one page of rows: it decodes them, counts them, applies the
// filter and the projection, and stops at the limit or when maxPage of item
// data has been read, remembering the last row read for LastEvaluatedKey.
type page struct {
	filter     *ddb.Condition
	projection *ddb.Projection
	countOnly  bool
	limit      int

	out      []byte // the Items members written so far
	count    int
	scanned  int
	size     int
	last     ddb.Item
	full     bool // stopped by the limit or the page size
	err      error
	firstOut bool
}

func (p *page) row(it store.Item) bool {
	item, err := decodeStored(&it)
	if err != nil {
		p.err = err
		return false
	}
	p.scanned++
	p.size += ddb.Size(item)
	p.last = item
	if p.filter == nil || p.filter.Eval(item) {
		p.count++
		if !p.countOnly {
			if p.firstOut {
				p.out = append(p.out, ',')
			}
			p.firstOut = true
			if p.projection != nil {
				p.out = ddb.AppendItemJSON(p.out, p.projection.Apply(item))
			} else {
				p.out = append(p.out, it.Data...)
			}
		}
	}
	if (p.limit > 0 && p.scanned >= p.limit) || p.size >= maxPage {
		p.full = true
		return false
	}
	return true
}

// response writes the page as Query and Scan answer it.
func (p *page) response(d *definition, capacity string, consistent bool) []byte {
	b := make([]byte, 0, len(p.out)+128)
	b = append(b, '{')
	if !p.countOnly {
		b = append(b, `"Items":[`...)
		b = append(b, p.out...)
		b = append(b, "],"...)
	}
	b = append(b, `"Count":`...)
	b = strconv.AppendInt(b, int64(p.count), 10)
	b = append(b, `,"ScannedCount":`...)
	b = strconv.AppendInt(b, int64(p.scanned), 10)
	if p.full && p.last != nil {
		b = append(b, `,"LastEvaluatedKey":`...)
		b = ddb.AppendItemJSON(b, d.schema.Key(p.last))
	}
	b = appendCapacity(b, true, capacity, d.name, readUnits(p.size, consistent), true)
	return append(b, '}')
}

type queryInput struct {
	readRequest
	KeyConditionExpression *string         `json:"KeyConditionExpression"`
	ScanIndexForward       *bool           `json:"ScanIndexForward"`
	KeyConditions          json.RawMessage `json:"KeyConditions"`
	QueryFilter            json.RawMessage `json:"QueryFilter"`
}

func (in *queryInput) args() []*itemArg {
	return []*itemArg{&in.ExclusiveStartKey, &in.ExpressionAttributeValues}
}

func (c *call) query(body []byte) ([]byte, error) {
	var in queryInput
	if err := decode(body, &in, false); err != nil {
		return nil, err
	}
	var v constraints
	in.check(&v)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := legacy(
		legacyParam{"KeyConditions", "KeyConditionExpression", given(in.KeyConditions)},
		legacyParam{"QueryFilter", "FilterExpression", given(in.QueryFilter)},
		legacyParam{"AttributesToGet", "ProjectionExpression", given(in.AttributesToGet)},
		legacyParam{"ConditionalOperator", "FilterExpression", given(in.ConditionalOperator)},
	); err != nil {
		return nil, err
	}
	if in.KeyConditionExpression == nil {
		return nil, validationError("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.")
	}
	if err := in.checkSelect(true); err != nil {
		return nil, err
	}
	d, err := c.itemTable(*in.TableName)
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, c.missingTable(in.ExclusiveStartKey.Item)
	}
	if in.IndexName != nil {
		return nil, c.missingIndex(*in.IndexName, in.ExclusiveStartKey.Item)
	}
	parsed, err := (&ddb.Expressions{
		KeyConditionExpression:    in.KeyConditionExpression,
		FilterExpression:          in.FilterExpression,
		ProjectionExpression:      in.ProjectionExpression,
		ExpressionAttributeNames:  in.ExpressionAttributeNames,
		ExpressionAttributeValues: in.ExpressionAttributeValues.values(),
		Schema:                    d.schema,
	}).Parse()
	if err != nil {
		return nil, err
	}
	kc := parsed.KeyCondition
	var items []ddb.Item
	if in.ExclusiveStartKey.present() {
		items = append(items, in.ExclusiveStartKey.Item)
	}
	if err := c.authorize(access{action: "dynamodb:Query", resource: d.arn, leadingKeys: []string{leadingKey(kc.Partition)},
		attributes: ddb.Attributes(parsed, items), selectValue: in.Select,
		returnConsumedCapacity: in.ReturnConsumedCapacity}); err != nil {
		return nil, err
	}
	q := store.Query{Table: d.name, PK: kc.PartitionKey, Backward: in.ScanIndexForward != nil && !*in.ScanIndexForward}
	if s := kc.Sort; s != nil {
		// ddb.ParseKeyCondition has refused a BETWEEN with reversed bounds.
		q.SK = store.SKCond{Op: sortOps[s.Op], A: s.Key, B: s.UpperKey}
	}
	p := &page{filter: parsed.Filter, projection: parsed.Projection, countOnly: str(in.Select) == "COUNT"}
	if in.Limit != nil {
		p.limit = int(*in.Limit)
		q.Limit = p.limit
	}
	if esk := in.ExclusiveStartKey.Item; esk != nil {
		if err := d.schema.ValidateKey(esk); err != nil {
			return nil, validationError("The provided starting key is invalid: %s", messageOf(err))
		}
		k, err := d.key(esk)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(k.PK, kc.PartitionKey) || (kc.Sort != nil && !kc.Sort.Match(k.SK)) {
			return nil, validationError("The provided starting key is outside query boundaries based on provided conditions")
		}
		if !d.schema.HasSort() {
			// The partition's one row was the start key: nothing follows.
			return p.response(d, capacityMode(in.ReturnConsumedCapacity), in.ConsistentRead != nil && *in.ConsistentRead), nil
		}
		q.After = k.SK
	}
	if err := c.h.cfg.Store.Query(c.ctx, c.scope, q, p.row); err != nil {
		return nil, err
	}
	if p.err != nil {
		return nil, p.err
	}
	return p.response(d, capacityMode(in.ReturnConsumedCapacity), in.ConsistentRead != nil && *in.ConsistentRead), nil
}

var sortOps = map[ddb.SortOp]store.SKOp{
	ddb.SortEqual:          store.SKEqual,
	ddb.SortLess:           store.SKLess,
	ddb.SortLessOrEqual:    store.SKLessEqual,
	ddb.SortGreater:        store.SKGreater,
	ddb.SortGreaterOrEqual: store.SKGreaterEqual,
	ddb.SortBetween:        store.SKBetween,
	ddb.SortBeginsWith:     store.SKBeginsWith,
}

// missingIndex answers a request that names an index: tables have none
// yet. It is authorized on the index's ARN first, without leading keys
// (there is no index schema to find them by).
func (c *call) missingIndex(index string, items ...ddb.Item) error {
	c.resource += "/index/" + index
	if err := c.authorize(access{action: "dynamodb:" + c.op, resource: c.resource, attributes: ddb.Attributes(nil, items)}); err != nil {
		return err
	}
	return validationError("The table does not have the specified index: %s", index)
}

// messageOf is the message of a *ddb.Error, or the error's text.
func messageOf(err error) string {
	if de, ok := err.(*ddb.Error); ok {
		return de.Message
	}
	return err.Error()
}

type scanInput struct {
	readRequest
	Segment       *int64          `json:"Segment"`
	TotalSegments *int64          `json:"TotalSegments"`
	ScanFilter    json.RawMessage `json:"ScanFilter"`
}

func (in *scanInput) args() []*itemArg {
	return []*itemArg{&in.ExclusiveStartKey, &in.ExpressionAttributeValues}
}

// scan answers Scan. Scan carries no dynamodb:LeadingKeys (DynamoDB does not
// restrict it by leading keys), so a pool policy must not grant it; when one
// does, a tenant's scan still sees only its own rows, through the store's
// owner check.
func (c *call) scan(body []byte) ([]byte, error) {
	var in scanInput
	if err := decode(body, &in, false); err != nil {
		return nil, err
	}
	var v constraints
	in.check(&v)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := legacy(
		legacyParam{"ScanFilter", "FilterExpression", given(in.ScanFilter)},
		legacyParam{"AttributesToGet", "ProjectionExpression", given(in.AttributesToGet)},
		legacyParam{"ConditionalOperator", "FilterExpression", given(in.ConditionalOperator)},
	); err != nil {
		return nil, err
	}
	if in.Segment != nil || in.TotalSegments != nil {
		return nil, validationError("Bulkhead's data API does not support parallel scans yet: remove Segment and TotalSegments")
	}
	if err := in.checkSelect(false); err != nil {
		return nil, err
	}
	if err := valuesWithoutExpression(&in.ExpressionAttributeValues, in.FilterExpression); err != nil {
		return nil, err
	}
	d, err := c.itemTable(*in.TableName)
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, c.missingTable(in.ExclusiveStartKey.Item)
	}
	if in.IndexName != nil {
		return nil, c.missingIndex(*in.IndexName, in.ExclusiveStartKey.Item)
	}
	parsed, err := (&ddb.Expressions{
		FilterExpression:          in.FilterExpression,
		ProjectionExpression:      in.ProjectionExpression,
		ExpressionAttributeNames:  in.ExpressionAttributeNames,
		ExpressionAttributeValues: in.ExpressionAttributeValues.values(),
		Schema:                    d.schema,
	}).Parse()
	if err != nil {
		return nil, err
	}
	var items []ddb.Item
	if in.ExclusiveStartKey.present() {
		items = append(items, in.ExclusiveStartKey.Item)
	}
	if err := c.authorize(access{action: "dynamodb:Scan", resource: d.arn,
		attributes: ddb.Attributes(parsed, items), selectValue: in.Select,
		returnConsumedCapacity: in.ReturnConsumedCapacity}); err != nil {
		return nil, err
	}
	p := &page{filter: parsed.Filter, projection: parsed.Projection, countOnly: str(in.Select) == "COUNT"}
	limit := 0
	if in.Limit != nil {
		p.limit = int(*in.Limit)
		limit = p.limit
	}
	var after *store.Key
	if esk := in.ExclusiveStartKey.Item; esk != nil {
		if err := d.schema.ValidateKey(esk); err != nil {
			return nil, validationError("The provided starting key is invalid: %s", messageOf(err))
		}
		k, err := d.key(esk)
		if err != nil {
			return nil, err
		}
		after = &k
	}
	if err := c.h.cfg.Store.Scan(c.ctx, c.scope, d.name, after, limit, p.row); err != nil {
		return nil, err
	}
	if p.err != nil {
		return nil, p.err
	}
	return p.response(d, capacityMode(in.ReturnConsumedCapacity), in.ConsistentRead != nil && *in.ConsistentRead), nil
}
