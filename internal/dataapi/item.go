package dataapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/bulkhead-dev/bulkhead/internal/data/ddb"
	"github.com/bulkhead-dev/bulkhead/internal/data/store"
)

// Single-item operations. Each runs in the same order: decode; input
// constraints; legacy parameters; the table (a missing one is authorized
// first, then ResourceNotFoundException); expressions; authorization with
// the condition keys computed from the request; key and item validation;
// the front end's tenant check on writes; the store.

// itemRequest is what the single-item operations share.
type itemRequest struct {
	TableName                           *string           `json:"TableName"`
	Key                                 itemArg           `json:"Key"`
	ConditionExpression                 *string           `json:"ConditionExpression"`
	ExpressionAttributeNames            map[string]string `json:"ExpressionAttributeNames"`
	ExpressionAttributeValues           itemArg           `json:"ExpressionAttributeValues"`
	ReturnValues                        *string           `json:"ReturnValues"`
	ReturnValuesOnConditionCheckFailure *string           `json:"ReturnValuesOnConditionCheckFailure"`
	ReturnConsumedCapacity              *string           `json:"ReturnConsumedCapacity"`
	ReturnItemCollectionMetrics         *string           `json:"ReturnItemCollectionMetrics"`
	Expected                            json.RawMessage   `json:"Expected"`
	ConditionalOperator                 json.RawMessage   `json:"ConditionalOperator"`
}

// check applies the constraints every write shares, the table name first.
func (r *itemRequest) check(v *constraints, returnValues []string) {
	v.enum(r.ReturnConsumedCapacity, "returnConsumedCapacity", returnConsumedCapacityValues...)
	v.enum(r.ReturnItemCollectionMetrics, "returnItemCollectionMetrics", returnItemCollectionMetricsValues...)
	v.enum(r.ReturnValues, "returnValues", returnValues...)
	v.enum(r.ReturnValuesOnConditionCheckFailure, "returnValuesOnConditionCheckFailure", returnValuesOnConditionCheckValues...)
}

func (r *itemRequest) legacy() error {
	return legacy(
		legacyParam{"Expected", "ConditionExpression", given(r.Expected)},
		legacyParam{"ConditionalOperator", "ConditionExpression", given(r.ConditionalOperator)},
	)
}

// valuesWithoutExpression refuses ExpressionAttributeValues on a request
// with no expression that reads values.
func valuesWithoutExpression(values *itemArg, expressions ...*string) error {
	if !values.present() {
		return nil
	}
	for _, e := range expressions {
		if e != nil {
			return nil
		}
	}
	return validationError("ExpressionAttributeValues can only be specified when using expressions")
}

// checkWrite applies the checks PutItem, UpdateItem and DeleteItem share:
// the table name, the required member (arg, named name), the shared enums,
// then the legacy parameters.
func (r *itemRequest) checkWrite(arg *itemArg, name string) error {
	var v constraints
	v.tableName(r.TableName, "tableName", false)
	if !arg.present() {
		v.add(nil, name, "Member must not be null")
	}
	r.check(&v, returnValuesValues)
	if err := v.err(); err != nil {
		return err
	}
	return r.legacy()
}

// authorizeItem authorizes a single-item request on table d: its leading
// key is item's partition key, its attributes those item and parsed name.
func (c *call) authorizeItem(action string, d *definition, item ddb.Item, parsed *ddb.Parsed, returnValues, returnConsumedCapacity *string) error {
	lk := leadingKeys{partition: d.schema.Partition.Name}
	lk.add(item)
	return c.authorize(access{action: action, resource: d.arn, leadingKeys: lk.values,
		attributes: ddb.Attributes(parsed, []ddb.Item{item}), returnValues: returnValues,
		returnConsumedCapacity: returnConsumedCapacity})
}

// returnOld reports whether a failed condition returns the old item.
func (r *itemRequest) returnOld() bool {
	return str(r.ReturnValuesOnConditionCheckFailure) == "ALL_OLD"
}

// missingTable authorizes a request on a table that does not exist — with
// no leading keys, since there is no schema to find them by — and, if the
// policy allows it, answers ResourceNotFoundException.
func (c *call) missingTable(items ...ddb.Item) error {
	if err := c.authorize(access{action: "dynamodb:" + c.op, resource: c.resource, attributes: ddb.Attributes(nil, items)}); err != nil {
		return err
	}
	return errResourceNotFound
}

// checkOwner is the front end's tenant check on a write: for a tenant's
// request, the row the item or key would have must be the tenant's. It
// decides from the key and the table's tenancy alone, so it says nothing of
// whether a row exists, and it makes a tenant's deletes of other tenants'
// keys fail the same way whether or not the row is there. SkipPolicy skips
// it with the policy check, leaving the store's owner check alone.
func (c *call) checkOwner(d *definition, item ddb.Item) error {
	if c.h.cfg.SkipPolicy || c.scope.Service {
		return nil
	}
	if d.owner(item) != c.scope.Tenant {
		return c.accessDenied()
	}
	return nil
}

// decodeStored decodes a row the store returned.
func decodeStored(it *store.Item) (ddb.Item, error) {
	if it == nil {
		return nil, nil
	}
	item, err := ddb.DecodeItem(it.Data)
	if err != nil {
		// %v, not %w: a damaged row is the server's fault, not the
		// client's ValidationException.
		return nil, fmt.Errorf("dataapi: stored item does not decode: %v", err)
	}
	if item == nil {
		item = ddb.Item{}
	}
	return item, nil
}

type getItemInput struct {
	TableName                *string           `json:"TableName"`
	Key                      itemArg           `json:"Key"`
	ProjectionExpression     *string           `json:"ProjectionExpression"`
	ExpressionAttributeNames map[string]string `json:"ExpressionAttributeNames"`
	ConsistentRead           *bool             `json:"ConsistentRead"`
	ReturnConsumedCapacity   *string           `json:"ReturnConsumedCapacity"`
	AttributesToGet          json.RawMessage   `json:"AttributesToGet"`
}

func (in *getItemInput) args() []*itemArg { return []*itemArg{&in.Key} }

func (c *call) getItem(body []byte) ([]byte, error) {
	var in getItemInput
	if err := decode(body, &in, false); err != nil {
		return nil, err
	}
	var v constraints
	v.tableName(in.TableName, "tableName", false)
	if !in.Key.present() {
		v.add(nil, "key", "Member must not be null")
	}
	v.enum(in.ReturnConsumedCapacity, "returnConsumedCapacity", returnConsumedCapacityValues...)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := legacy(legacyParam{"AttributesToGet", "ProjectionExpression", given(in.AttributesToGet)}); err != nil {
		return nil, err
	}
	d, err := c.itemTable(*in.TableName)
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, c.missingTable(in.Key.Item)
	}
	parsed, err := (&ddb.Expressions{
		ProjectionExpression:     in.ProjectionExpression,
		ExpressionAttributeNames: in.ExpressionAttributeNames,
		Schema:                   d.schema,
	}).Parse()
	if err != nil {
		return nil, err
	}
	if err := c.authorizeItem("dynamodb:GetItem", d, in.Key.Item, parsed, nil, in.ReturnConsumedCapacity); err != nil {
		return nil, err
	}
	if err := d.schema.ValidateKey(in.Key.Item); err != nil {
		return nil, err
	}
	k, err := d.key(in.Key.Item)
	if err != nil {
		return nil, err
	}
	row, found, err := c.h.cfg.Store.Get(c.ctx, c.scope, d.name, k)
	if err != nil {
		return nil, err
	}
	capacity := capacityMode(in.ReturnConsumedCapacity)
	out := make([]byte, 0, len(row.Data)+64)
	out = append(out, '{')
	if found && parsed.Projection == nil && capacity == "" {
		// The stored form is the wire form: no need to decode it.
		out = append(out, `"Item":`...)
		out = append(out, row.Data...)
		return append(out, '}'), nil
	}
	size := 0
	if found {
		item, err := decodeStored(&row)
		if err != nil {
			return nil, err
		}
		size = ddb.Size(item)
		if parsed.Projection != nil {
			item = parsed.Projection.Apply(item)
		}
		out = append(out, `"Item":`...)
		out = ddb.AppendItemJSON(out, item)
	}
	out = appendCapacity(out, found, capacity, d.name, readUnits(size, in.ConsistentRead != nil && *in.ConsistentRead), true)
	return append(out, '}'), nil
}

// itemTable loads the table an item operation names and sets the call's
// resource to it.
func (c *call) itemTable(name string) (*definition, error) {
	c.resource = c.h.tableARN(name)
	d, _, err := c.table(name)
	return d, err
}

type putItemInput struct {
	itemRequest
	Item itemArg `json:"Item"`
}

func (in *putItemInput) args() []*itemArg {
	return []*itemArg{&in.Item, &in.ExpressionAttributeValues}
}

func (c *call) putItem(body []byte) ([]byte, error) {
	var in putItemInput
	if err := decode(body, &in, true); err != nil {
		return nil, err
	}
	if err := in.checkWrite(&in.Item, "item"); err != nil {
		return nil, err
	}
	if rv := str(in.ReturnValues); rv != "" && rv != "NONE" && rv != "ALL_OLD" {
		return nil, validationError("ReturnValues can only be ALL_OLD or NONE")
	}
	if err := valuesWithoutExpression(&in.ExpressionAttributeValues, in.ConditionExpression); err != nil {
		return nil, err
	}
	d, err := c.itemTable(*in.TableName)
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, c.missingTable(in.Item.Item)
	}
	parsed, err := (&ddb.Expressions{
		ConditionExpression:       in.ConditionExpression,
		ExpressionAttributeNames:  in.ExpressionAttributeNames,
		ExpressionAttributeValues: in.ExpressionAttributeValues.values(),
		Schema:                    d.schema,
	}).Parse()
	if err != nil {
		return nil, err
	}
	item := in.Item.Item
	if err := c.authorizeItem("dynamodb:PutItem", d, item, parsed, in.ReturnValues, in.ReturnConsumedCapacity); err != nil {
		return nil, err
	}
	if err := d.schema.ValidateItem(item); err != nil {
		return nil, err
	}
	size := ddb.Size(item)
	if size > ddb.MaxItemSize {
		return nil, ddb.ErrItemTooLarge
	}
	if err := c.checkOwner(d, item); err != nil {
		return nil, err
	}
	k, err := d.key(item)
	if err != nil {
		return nil, err
	}
	data := ddb.AppendItemJSON(nil, item)
	owner := d.owner(item)
	var old ddb.Item
	err = c.h.cfg.Store.Mutate(c.ctx, c.scope, d.name, k, func(prev *store.Item) (store.Change, error) {
		var err error
		if old, err = decodeStored(prev); err != nil {
			return store.Change{}, err
		}
		if parsed.Condition != nil && !parsed.Condition.Eval(orEmpty(old)) {
			return store.Change{}, conditionFailed(old, in.returnOld())
		}
		return store.Change{Kind: store.Put, Item: store.Item{Owner: owner, Data: data}}, nil
	})
	if err != nil {
		return nil, err
	}
	out := []byte{'{'}
	if str(in.ReturnValues) == "ALL_OLD" && old != nil {
		out = appendAttributes(out, old)
	}
	units := writeUnits(max(size, ddb.Size(old)))
	out = appendCapacity(out, len(out) > 1, capacityMode(in.ReturnConsumedCapacity), d.name, units, false)
	return append(out, '}'), nil
}

type updateItemInput struct {
	itemRequest
	UpdateExpression *string         `json:"UpdateExpression"`
	AttributeUpdates json.RawMessage `json:"AttributeUpdates"`
}

func (in *updateItemInput) args() []*itemArg {
	return []*itemArg{&in.Key, &in.ExpressionAttributeValues}
}

func (c *call) updateItem(body []byte) ([]byte, error) {
	var in updateItemInput
	if err := decode(body, &in, true); err != nil {
		return nil, err
	}
	if err := in.checkWrite(&in.Key, "key"); err != nil {
		return nil, err
	}
	if err := legacy(legacyParam{"AttributeUpdates", "UpdateExpression", given(in.AttributeUpdates)}); err != nil {
		return nil, err
	}
	if err := valuesWithoutExpression(&in.ExpressionAttributeValues, in.ConditionExpression, in.UpdateExpression); err != nil {
		return nil, err
	}
	d, err := c.itemTable(*in.TableName)
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, c.missingTable(in.Key.Item)
	}
	parsed, err := (&ddb.Expressions{
		UpdateExpression:          in.UpdateExpression,
		ConditionExpression:       in.ConditionExpression,
		ExpressionAttributeNames:  in.ExpressionAttributeNames,
		ExpressionAttributeValues: in.ExpressionAttributeValues.values(),
		Schema:                    d.schema,
	}).Parse()
	if err != nil {
		var de *ddb.Error
		if errors.As(err, &de) && strings.HasPrefix(de.Message, "Invalid ConditionExpression") {
			return nil, de.Enveloped() // as DynamoDB's UpdateItem words it
		}
		return nil, err
	}
	key := in.Key.Item
	if err := c.authorizeItem("dynamodb:UpdateItem", d, key, parsed, in.ReturnValues, in.ReturnConsumedCapacity); err != nil {
		return nil, err
	}
	if err := d.schema.ValidateKey(key); err != nil {
		return nil, err
	}
	if err := c.checkOwner(d, key); err != nil {
		return nil, err
	}
	k, err := d.key(key)
	if err != nil {
		return nil, err
	}
	owner := d.owner(key)
	var old, updated ddb.Item
	err = c.h.cfg.Store.Mutate(c.ctx, c.scope, d.name, k, func(prev *store.Item) (store.Change, error) {
		var err error
		if old, err = decodeStored(prev); err != nil {
			return store.Change{}, err
		}
		if parsed.Condition != nil && !parsed.Condition.Eval(orEmpty(old)) {
			return store.Change{}, conditionFailed(old, in.returnOld())
		}
		updated = old
		if updated == nil {
			updated = ddb.Item{}
			for name, v := range key {
				updated[name] = v
			}
		}
		if parsed.Update != nil {
			if updated, err = parsed.Update.Apply(updated); err != nil {
				return store.Change{}, err
			}
		}
		if ddb.Size(updated) > ddb.MaxItemSize {
			return store.Change{}, ddb.ErrUpdatedItemTooLarge
		}
		return store.Change{Kind: store.Put, Item: store.Item{Owner: owner, Data: ddb.AppendItemJSON(nil, updated)}}, nil
	})
	if err != nil {
		return nil, err
	}
	var attrs ddb.Item
	switch str(in.ReturnValues) {
	case "ALL_OLD":
		attrs = old
	case "ALL_NEW":
		attrs = updated
	case "UPDATED_OLD":
		if parsed.Update != nil && old != nil {
			attrs = ddb.Project(old, parsed.Update.Paths())
		}
	case "UPDATED_NEW":
		if parsed.Update != nil {
			attrs = ddb.Project(updated, parsed.Update.Paths())
		}
	}
	out := []byte{'{'}
	if len(attrs) > 0 {
		out = appendAttributes(out, attrs)
	}
	units := writeUnits(max(ddb.Size(updated), ddb.Size(old)))
	out = appendCapacity(out, len(out) > 1, capacityMode(in.ReturnConsumedCapacity), d.name, units, false)
	return append(out, '}'), nil
}

type deleteItemInput struct {
	itemRequest
}

func (in *deleteItemInput) args() []*itemArg {
	return []*itemArg{&in.Key, &in.ExpressionAttributeValues}
}

func (c *call) deleteItem(body []byte) ([]byte, error) {
	var in deleteItemInput
	if err := decode(body, &in, true); err != nil {
		return nil, err
	}
	if err := in.checkWrite(&in.Key, "key"); err != nil {
		return nil, err
	}
	if rv := str(in.ReturnValues); rv != "" && rv != "NONE" && rv != "ALL_OLD" {
		return nil, validationError("ReturnValues can only be ALL_OLD or NONE")
	}
	if err := valuesWithoutExpression(&in.ExpressionAttributeValues, in.ConditionExpression); err != nil {
		return nil, err
	}
	d, err := c.itemTable(*in.TableName)
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, c.missingTable(in.Key.Item)
	}
	parsed, err := (&ddb.Expressions{
		ConditionExpression:       in.ConditionExpression,
		ExpressionAttributeNames:  in.ExpressionAttributeNames,
		ExpressionAttributeValues: in.ExpressionAttributeValues.values(),
		Schema:                    d.schema,
	}).Parse()
	if err != nil {
		return nil, err
	}
	key := in.Key.Item
	if err := c.authorizeItem("dynamodb:DeleteItem", d, key, parsed, in.ReturnValues, in.ReturnConsumedCapacity); err != nil {
		return nil, err
	}
	if err := d.schema.ValidateKey(key); err != nil {
		return nil, err
	}
	if err := c.checkOwner(d, key); err != nil {
		return nil, err
	}
	k, err := d.key(key)
	if err != nil {
		return nil, err
	}
	var old ddb.Item
	err = c.h.cfg.Store.Mutate(c.ctx, c.scope, d.name, k, func(prev *store.Item) (store.Change, error) {
		var err error
		if old, err = decodeStored(prev); err != nil {
			return store.Change{}, err
		}
		if parsed.Condition != nil && !parsed.Condition.Eval(orEmpty(old)) {
			return store.Change{}, conditionFailed(old, in.returnOld())
		}
		if old == nil {
			// Nothing this scope sees is there: deleting it changes
			// nothing, whether the key is free or another tenant's.
			return store.Change{Kind: store.Keep}, nil
		}
		return store.Change{Kind: store.Delete}, nil
	})
	if err != nil {
		return nil, err
	}
	out := []byte{'{'}
	if str(in.ReturnValues) == "ALL_OLD" && old != nil {
		out = appendAttributes(out, old)
	}
	out = appendCapacity(out, len(out) > 1, capacityMode(in.ReturnConsumedCapacity), d.name, writeUnits(ddb.Size(old)), false)
	return append(out, '}'), nil
}

// conditionFailed is the error a write's failed condition returns from
// inside Mutate, with the old item when the request asked for it.
func conditionFailed(old ddb.Item, returnOld bool) error {
	if returnOld && old != nil {
		return errConditionFailed(old)
	}
	return errConditionFailed(nil)
}

// orEmpty is item, or the empty item a condition sees when there is none.
func orEmpty(item ddb.Item) ddb.Item {
	if item == nil {
		return ddb.Item{}
	}
	return item
}

func appendAttributes(b []byte, item ddb.Item) []byte {
	b = append(b, `"Attributes":`...)
	return ddb.AppendItemJSON(b, item)
}

// Consumed capacity, as DynamoDB counts it: a read is one unit per 4 KB of
// the items read (half for an eventually consistent read), a write one per
// 1 KB of the larger of the old and new item, each at least one.

// capacityMode returns the ReturnConsumedCapacity that asks for a report
// (TOTAL or INDEXES), or "".
func capacityMode(p *string) string {
	if s := str(p); s == "TOTAL" || s == "INDEXES" {
		return s
	}
	return ""
}

func readUnits(size int, consistent bool) float64 {
	units := math.Max(1, math.Ceil(float64(size)/4096))
	if !consistent {
		return units / 2
	}
	return units
}

func writeUnits(size int) float64 {
	return math.Max(1, math.Ceil(float64(size)/1024))
}

// appendCapacity appends the ConsumedCapacity member when mode asks for
// it; comma says whether a member precedes it.
func appendCapacity(b []byte, comma bool, mode, table string, units float64, read bool) []byte {
	if mode == "" {
		return b
	}
	if comma {
		b = append(b, ',')
	}
	b = append(b, `"ConsumedCapacity":`...)
	return appendCapacityValue(b, mode, table, units, read)
}

func appendCapacityValue(b []byte, mode, table string, units float64, read bool) []byte {
	kind := `"WriteCapacityUnits":`
	if read {
		kind = `"ReadCapacityUnits":`
	}
	b = append(b, `{"TableName":`...)
	b = ddb.AppendJSONString(b, table)
	b = append(b, `,"CapacityUnits":`...)
	b = appendFloat(b, units)
	b = append(b, ',')
	b = append(b, kind...)
	b = appendFloat(b, units)
	if mode == "INDEXES" {
		b = append(b, `,"Table":{"CapacityUnits":`...)
		b = appendFloat(b, units)
		b = append(b, ',')
		b = append(b, kind...)
		b = appendFloat(b, units)
		b = append(b, '}')
	}
	return append(b, '}')
}
