package ddb

import (
	"errors"
	"slices"
)

// Expressions are the expression parameters of one request, as on the wire:
// an absent expression is nil, an empty one "" (which DynamoDB refuses).
// Schema is the key schema of the table, or of the index a Query reads; a
// KeyConditionExpression needs it, and an UpdateExpression uses it to refuse
// updates of key attributes.
type Expressions struct {
	ConditionExpression       *string
	FilterExpression          *string
	KeyConditionExpression    *string
	UpdateExpression          *string
	ProjectionExpression      *string
	ExpressionAttributeNames  map[string]string
	ExpressionAttributeValues map[string]AttributeValue
	Schema                    KeySchema
}

// Parsed holds the parsed expressions of a request; absent ones are nil.
type Parsed struct {
	Condition    *Condition
	Filter       *Condition
	KeyCondition *KeyCondition
	Update       *Update
	Projection   *Projection

	// attributes: the top-level names the expressions refer to.
	attributes []string
}

// Parse parses every expression of the request against the one set of
// names and values, then refuses names and values none of them used. The
// order is DynamoDB's (dynalite validations/index.js validateExpressions):
// the parameter maps, then UpdateExpression, ConditionExpression,
// KeyConditionExpression, FilterExpression, ProjectionExpression, then unused
// names, then unused values, then (in a Query) a filter on a key attribute
// of Schema. Which expressions an operation accepts, and the
// "can only be specified when using expressions" errors that depend on it,
// are the caller's.
func (e *Expressions) Parse() (*Parsed, error) {
	params := &Params{Names: e.ExpressionAttributeNames, Values: e.ExpressionAttributeValues}
	if err := params.Validate(); err != nil {
		return nil, err
	}
	hasExpression := e.ConditionExpression != nil || e.FilterExpression != nil || e.KeyConditionExpression != nil ||
		e.UpdateExpression != nil || e.ProjectionExpression != nil
	if e.ExpressionAttributeNames != nil && !hasExpression {
		return nil, validation("ExpressionAttributeNames can only be specified when using expressions")
	}
	out := &Parsed{}
	var attrs, filterPaths []Path
	if e.UpdateExpression != nil {
		u, err := parseUpdate(*e.UpdateExpression, params, e.Schema)
		if err != nil {
			return nil, err
		}
		out.Update = u
		u.walkOperands(func(o *operand) *Error {
			attrs = appendResolved(attrs, o)
			return nil
		})
		attrs = append(attrs, u.Paths()...)
	}
	if e.ConditionExpression != nil {
		root, err := parseConditionTree(kindCondition, *e.ConditionExpression, params)
		if err != nil {
			return nil, err
		}
		out.Condition = &Condition{root: root}
		attrs = appendConditionPaths(attrs, root)
	}
	if e.KeyConditionExpression != nil {
		if e.Schema.Partition.Name == "" {
			return nil, errors.New("ddb: a KeyConditionExpression needs the key schema")
		}
		kc, err := parseKeyCondition(*e.KeyConditionExpression, params, e.Schema)
		if err != nil {
			return nil, err
		}
		out.KeyCondition = kc
		attrs = append(attrs, Path{{Name: e.Schema.Partition.Name}})
		if kc.Sort != nil {
			attrs = append(attrs, Path{{Name: e.Schema.Sort.Name}})
		}
	}
	if e.FilterExpression != nil {
		root, err := parseConditionTree(kindFilter, *e.FilterExpression, params)
		if err != nil {
			return nil, err
		}
		out.Filter = &Condition{root: root}
		filterPaths = appendConditionPaths(nil, root)
		attrs = append(attrs, filterPaths...)
	}
	if e.ProjectionExpression != nil {
		pr, err := parseProjection(*e.ProjectionExpression, params)
		if err != nil {
			return nil, err
		}
		out.Projection = pr
		attrs = append(attrs, pr.paths...)
	}
	if err := params.CheckUnused(); err != nil {
		return nil, err
	}
	if out.KeyCondition != nil {
		// A Query filters on what the key condition cannot: dynalite's tests
		// against DynamoDB (test/query.js).
		for _, p := range filterPaths {
			if e.Schema.IsKey(p.Attribute()) {
				return nil, validationf("Filter Expression can only contain non-primary key attributes: Primary key attribute: %s", p.Attribute())
			}
		}
	}
	for _, p := range attrs {
		out.attributes = append(out.attributes, p.Attribute())
	}
	slices.Sort(out.attributes)
	out.attributes = slices.Compact(out.attributes)
	return out, nil
}

func appendResolved(paths []Path, o *operand) []Path {
	if o.kind == operandPath && o.path != nil {
		paths = append(paths, o.path)
	}
	return paths
}

func appendConditionPaths(paths []Path, root *cond) []Path {
	root.walk(func(n *cond) *Error {
		return n.walkOperands(func(o *operand) *Error {
			paths = appendResolved(paths, o)
			return nil
		})
	})
	return paths
}

// Attributes returns the distinct top-level attribute names a request reads
// or writes, sorted: the values of the IAM condition key dynamodb:Attributes.
// It counts every name the parsed expressions refer to (condition, filter,
// key condition, the targets of an update and the paths its values read,
// projection), every attribute of the given items — the Key of GetItem,
// UpdateItem and DeleteItem, the Item of PutItem, an ExclusiveStartKey, the
// keys and items of batches and transactions — and names given directly,
// such as the legacy AttributesToGet.
//
// AWS defines the key as "a list of the attribute names in a request, or the
// attributes that are returned from a request", attributes "read, written,
// or evaluated in a conditional write or scan filter", and requires a policy
// that restricts it to list every key attribute (developer guide,
// specifying-conditions). An unreported name is a permission check skipped,
// so this errs on the side of including one. It cannot name what a request
// returns without naming it — a read without a projection, ReturnValues
// ALL_OLD or ALL_NEW — which AWS's own policies close through dynamodb:Select
// and dynamodb:ReturnValues; the policy check must do the same.
func Attributes(parsed *Parsed, items []Item, names ...string) []string {
	var out []string
	if parsed != nil {
		out = append(out, parsed.attributes...)
	}
	for _, it := range items {
		for name := range it {
			out = append(out, name)
		}
	}
	out = append(out, names...)
	slices.Sort(out)
	return slices.Compact(out)
}
