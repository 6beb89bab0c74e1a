package dataapi

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/bulkhead-dev/bulkhead/internal/data/ddb"
	"github.com/bulkhead-dev/bulkhead/internal/data/store"
)

// DynamoDB's batch limits.
const (
	maxBatchGet      = 100      // keys in one BatchGetItem
	maxBatchWrite    = 25       // requests in one BatchWriteItem
	maxBatchResponse = 16 << 20 // bytes of items one BatchGetItem returns; the rest are UnprocessedKeys
)

var errDuplicateKeys = validationError("Provided list of item keys contains duplicates")

type keysAndAttributes struct {
	Keys                     []itemArg         `json:"Keys"`
	ProjectionExpression     *string           `json:"ProjectionExpression"`
	ExpressionAttributeNames map[string]string `json:"ExpressionAttributeNames"`
	ConsistentRead           *bool             `json:"ConsistentRead"`
	AttributesToGet          json.RawMessage   `json:"AttributesToGet"`
}

type batchGetInput struct {
	RequestItems           map[string]*keysAndAttributes `json:"RequestItems"`
	ReturnConsumedCapacity *string                       `json:"ReturnConsumedCapacity"`
}

func (in *batchGetInput) args() []*itemArg {
	var out []*itemArg
	for _, name := range slices.Sorted(maps.Keys(in.RequestItems)) {
		if ka := in.RequestItems[name]; ka != nil {
			for i := range ka.Keys {
				out = append(out, &ka.Keys[i])
			}
		}
	}
	return out
}

// batchGetTable is one table of a BatchGetItem, checked and authorized.
type batchGetTable struct {
	def        *definition
	request    *keysAndAttributes
	projection *ddb.Projection
	keys       []store.Key
}

// batchGetItem answers BatchGetItem: every table is checked and authorized
// — one policy evaluation per table, with the union of its keys' partition
// values as dynamodb:LeadingKeys, as AWS does — before any item is read.
func (c *call) batchGetItem(body []byte) ([]byte, error) {
	var in batchGetInput
	if err := decode(body, &in, false); err != nil {
		return nil, err
	}
	names := slices.Sorted(maps.Keys(in.RequestItems))
	var v constraints
	switch {
	case in.RequestItems == nil:
		v.add(nil, "requestItems", "Member must not be null")
	case len(in.RequestItems) == 0:
		s := "{}"
		v.add(&s, "requestItems", "Member must have length greater than or equal to 1")
	}
	total := 0
	for _, name := range names {
		v.tableName(&name, "requestItems."+name+".member.tableName", false)
		ka := in.RequestItems[name]
		path := "requestItems." + name + ".member.keys"
		switch {
		case ka == nil || ka.Keys == nil:
			v.add(nil, path, "Member must not be null")
		case len(ka.Keys) == 0:
			s := "[]"
			v.add(&s, path, "Member must have length greater than or equal to 1")
		case len(ka.Keys) > maxBatchGet:
			s := strconv.Itoa(len(ka.Keys))
			v.add(&s, path, "Member must have length less than or equal to 100")
		}
		if ka != nil {
			total += len(ka.Keys)
		}
	}
	v.enum(in.ReturnConsumedCapacity, "returnConsumedCapacity", returnConsumedCapacityValues...)
	if err := v.err(); err != nil {
		return nil, err
	}
	for _, name := range names {
		if err := legacy(legacyParam{"AttributesToGet", "ProjectionExpression", given(in.RequestItems[name].AttributesToGet)}); err != nil {
			return nil, err
		}
	}
	if total > maxBatchGet {
		return nil, validationError("Too many items requested for the BatchGetItem call")
	}
	tables := make([]batchGetTable, 0, len(names))
	for _, name := range names {
		ka := in.RequestItems[name]
		keys := make([]ddb.Item, len(ka.Keys))
		for i := range ka.Keys {
			keys[i] = ka.Keys[i].Item
		}
		d, err := c.itemTable(name)
		if err != nil {
			return nil, err
		}
		if d == nil {
			return nil, c.missingTable(keys...)
		}
		parsed, err := (&ddb.Expressions{
			ProjectionExpression:     ka.ProjectionExpression,
			ExpressionAttributeNames: ka.ExpressionAttributeNames,
			Schema:                   d.schema,
		}).Parse()
		if err != nil {
			return nil, err
		}
		lk := leadingKeys{partition: d.schema.Partition.Name}
		for _, k := range keys {
			lk.add(k)
		}
		if err := c.authorize(access{action: "dynamodb:BatchGetItem", resource: d.arn, leadingKeys: lk.values,
			attributes: ddb.Attributes(parsed, keys), returnConsumedCapacity: in.ReturnConsumedCapacity}); err != nil {
			return nil, err
		}
		t := batchGetTable{def: d, request: ka, projection: parsed.Projection, keys: make([]store.Key, len(keys))}
		seen := make(map[string]bool, len(keys))
		for i, key := range keys {
			if err := d.schema.ValidateKey(key); err != nil {
				return nil, err
			}
			if t.keys[i], err = d.key(key); err != nil {
				return nil, err
			}
			id := keyID(t.keys[i])
			if seen[id] {
				return nil, errDuplicateKeys
			}
			seen[id] = true
		}
		tables = append(tables, t)
	}

	capacity := capacityMode(in.ReturnConsumedCapacity)
	out := append(make([]byte, 0, 256), `{"Responses":{`...)
	var unprocessed []byte
	var capacities []byte
	size := 0
	for ti, t := range tables {
		if ti > 0 {
			out = append(out, ',')
		}
		c.resource = t.def.arn
		out = ddb.AppendJSONString(out, t.def.name)
		out = append(out, ":["...)
		read, found := 0, 0
		var rest []ddb.Item
		for i, k := range t.keys {
			if size > maxBatchResponse {
				rest = append(rest, t.request.Keys[i].Item)
				continue
			}
			row, ok, err := c.h.cfg.Store.Get(c.ctx, c.scope, t.def.name, k)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			item, err := decodeStored(&row)
			if err != nil {
				return nil, err
			}
			read += ddb.Size(item)
			if found > 0 {
				out = append(out, ',')
			}
			found++
			n := len(out)
			if t.projection != nil {
				out = ddb.AppendItemJSON(out, t.projection.Apply(item))
			} else {
				out = append(out, row.Data...)
			}
			size += len(out) - n
		}
		out = append(out, ']')
		if len(rest) > 0 {
			unprocessed = appendUnprocessedKeys(unprocessed, t, rest)
		}
		if capacity != "" {
			if len(capacities) > 0 {
				capacities = append(capacities, ',')
			}
			consistent := t.request.ConsistentRead != nil && *t.request.ConsistentRead
			capacities = appendCapacityValue(capacities, capacity, t.def.name, readUnits(read, consistent), true)
		}
	}
	out = append(out, `},"UnprocessedKeys":{`...)
	out = append(out, unprocessed...)
	out = append(out, '}')
	if capacity != "" {
		out = append(out, `,"ConsumedCapacity":[`...)
		out = append(out, capacities...)
		out = append(out, ']')
	}
	return append(out, '}'), nil
}

// appendUnprocessedKeys appends one table's member of UnprocessedKeys: the
// keys not read, with the table's request parameters, ready to send again.
func appendUnprocessedKeys(b []byte, t batchGetTable, keys []ddb.Item) []byte {
	if len(b) > 0 {
		b = append(b, ',')
	}
	b = ddb.AppendJSONString(b, t.def.name)
	b = append(b, `:{"Keys":[`...)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = ddb.AppendItemJSON(b, k)
	}
	b = append(b, ']')
	if p := t.request.ProjectionExpression; p != nil {
		b = append(b, `,"ProjectionExpression":`...)
		b = ddb.AppendJSONString(b, *p)
	}
	if names := t.request.ExpressionAttributeNames; names != nil {
		b = append(b, `,"ExpressionAttributeNames":{`...)
		for i, k := range slices.Sorted(maps.Keys(names)) {
			if i > 0 {
				b = append(b, ',')
			}
			b = ddb.AppendJSONString(b, k)
			b = append(b, ':')
			b = ddb.AppendJSONString(b, names[k])
		}
		b = append(b, '}')
	}
	if cr := t.request.ConsistentRead; cr != nil {
		b = append(b, `,"ConsistentRead":`...)
		b = strconv.AppendBool(b, *cr)
	}
	return append(b, '}')
}

type putRequest struct {
	Item itemArg `json:"Item"`
}

type deleteRequest struct {
	Key itemArg `json:"Key"`
}

type writeRequest struct {
	PutRequest    *putRequest    `json:"PutRequest"`
	DeleteRequest *deleteRequest `json:"DeleteRequest"`
}

type batchWriteInput struct {
	RequestItems                map[string][]writeRequest `json:"RequestItems"`
	ReturnConsumedCapacity      *string                   `json:"ReturnConsumedCapacity"`
	ReturnItemCollectionMetrics *string                   `json:"ReturnItemCollectionMetrics"`
}

func (in *batchWriteInput) args() []*itemArg {
	var out []*itemArg
	for _, name := range slices.Sorted(maps.Keys(in.RequestItems)) {
		reqs := in.RequestItems[name]
		for i := range reqs {
			if p := reqs[i].PutRequest; p != nil {
				out = append(out, &p.Item)
			}
			if d := reqs[i].DeleteRequest; d != nil {
				out = append(out, &d.Key)
			}
		}
	}
	return out
}

// batchWriteTable is one table's writes, checked and authorized.
type batchWriteTable struct {
	def     *definition
	changes []store.Change
	units   float64
}

// batchWriteItem answers BatchWriteItem. Every table is checked and
// authorized before anything is written; each table's writes then go to the
// store in one atomic Write, tables in name order. A failure in a later
// table leaves the earlier tables written, as DynamoDB's BatchWriteItem is
// not a transaction either; UnprocessedItems is always empty.
func (c *call) batchWriteItem(body []byte) ([]byte, error) {
	var in batchWriteInput
	if err := decode(body, &in, true); err != nil {
		return nil, err
	}
	names := slices.Sorted(maps.Keys(in.RequestItems))
	var v constraints
	switch {
	case in.RequestItems == nil:
		v.add(nil, "requestItems", "Member must not be null")
	case len(in.RequestItems) == 0:
		s := "{}"
		v.add(&s, "requestItems", "Member must have length greater than or equal to 1")
	}
	total := 0
	for _, name := range names {
		v.tableName(&name, "requestItems."+name+".member.tableName", false)
		reqs := in.RequestItems[name]
		path := "requestItems." + name + ".member"
		if len(reqs) == 0 {
			s := "[]"
			v.add(&s, path, "Member must have length greater than or equal to 1")
		}
		for i, r := range reqs {
			rp := fmt.Sprintf("%s.%d.member", path, i+1)
			if r.PutRequest != nil && !r.PutRequest.Item.present() {
				v.add(nil, rp+".putRequest.item", "Member must not be null")
			}
			if r.DeleteRequest != nil && !r.DeleteRequest.Key.present() {
				v.add(nil, rp+".deleteRequest.key", "Member must not be null")
			}
		}
		total += len(reqs)
	}
	v.enum(in.ReturnConsumedCapacity, "returnConsumedCapacity", returnConsumedCapacityValues...)
	v.enum(in.ReturnItemCollectionMetrics, "returnItemCollectionMetrics", returnItemCollectionMetricsValues...)
	if err := v.err(); err != nil {
		return nil, err
	}
	if total > maxBatchWrite {
		return nil, validationError("Too many items requested for the BatchWriteItem call")
	}
	for _, name := range names {
		for _, r := range in.RequestItems[name] {
			if (r.PutRequest == nil) == (r.DeleteRequest == nil) {
				return nil, validationError("Supplied WriteRequest must contain exactly one of PutRequest and DeleteRequest")
			}
		}
	}
	tables := make([]batchWriteTable, 0, len(names))
	for _, name := range names {
		reqs := in.RequestItems[name]
		items := make([]ddb.Item, len(reqs))
		for i, r := range reqs {
			if r.PutRequest != nil {
				items[i] = r.PutRequest.Item.Item
			} else {
				items[i] = r.DeleteRequest.Key.Item
			}
		}
		d, err := c.itemTable(name)
		if err != nil {
			return nil, err
		}
		if d == nil {
			return nil, c.missingTable(items...)
		}
		lk := leadingKeys{partition: d.schema.Partition.Name}
		for _, it := range items {
			lk.add(it)
		}
		if err := c.authorize(access{action: "dynamodb:BatchWriteItem", resource: d.arn, leadingKeys: lk.values,
			attributes: ddb.Attributes(nil, items), returnConsumedCapacity: in.ReturnConsumedCapacity}); err != nil {
			return nil, err
		}
		t := batchWriteTable{def: d, changes: make([]store.Change, len(reqs))}
		seen := make(map[string]bool, len(reqs))
		for i, r := range reqs {
			it := items[i]
			if r.PutRequest != nil {
				if err := d.schema.ValidateItem(it); err != nil {
					return nil, err
				}
				size := ddb.Size(it)
				if size > ddb.MaxItemSize {
					return nil, ddb.ErrItemTooLarge
				}
				t.units += writeUnits(size)
				t.changes[i] = store.Change{Kind: store.Put, Item: store.Item{Owner: d.owner(it), Data: ddb.AppendItemJSON(nil, it)}}
			} else {
				if err := d.schema.ValidateKey(it); err != nil {
					return nil, err
				}
				t.units += writeUnits(0)
				t.changes[i] = store.Change{Kind: store.Delete}
			}
			if err := c.checkOwner(d, it); err != nil {
				return nil, err
			}
			k, err := d.key(it)
			if err != nil {
				return nil, err
			}
			id := keyID(k)
			if seen[id] {
				return nil, errDuplicateKeys
			}
			seen[id] = true
			t.changes[i].Item.Key = k
		}
		tables = append(tables, t)
	}
	for _, t := range tables {
		c.resource = t.def.arn
		if err := c.h.cfg.Store.Write(c.ctx, c.scope, t.def.name, t.changes); err != nil {
			return nil, err
		}
	}
	out := append(make([]byte, 0, 128), `{"UnprocessedItems":{}`...)
	if mode := capacityMode(in.ReturnConsumedCapacity); mode != "" {
		out = append(out, `,"ConsumedCapacity":[`...)
		for i, t := range tables {
			if i > 0 {
				out = append(out, ',')
			}
			out = appendCapacityValue(out, mode, t.def.name, t.units, false)
		}
		out = append(out, ']')
	}
	return append(out, '}'), nil
}
