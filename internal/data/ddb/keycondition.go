package ddb

import (
	"bytes"
	"strings"
)

// KeyCondition is a parsed KeyConditionExpression, resolved against the key
// schema of the table or index queried: the partition key's value and, if
// the expression constrains the sort key, that condition. Key values are
// also given in EncodeKey's encoding, for a storage engine to range over.
type KeyCondition struct {
	Partition    AttributeValue
	PartitionKey []byte
	Sort         *SortCondition // nil when only the partition key is given
}

// SortOp is the comparison a KeyConditionExpression applies to the sort key.
type SortOp uint8

// The sort key conditions DynamoDB allows (developer guide, "Key condition
// expressions for the Query operation").
const (
	SortEqual          SortOp = iota + 1 // sk = :v
	SortLess                             // sk < :v
	SortLessOrEqual                      // sk <= :v
	SortGreater                          // sk > :v
	SortGreaterOrEqual                   // sk >= :v
	SortBetween                          // sk BETWEEN :lo AND :hi
	SortBeginsWith                       // begins_with(sk, :prefix)
)

// SortCondition is a condition on the sort key. Value is its operand (the
// lower bound of BETWEEN), Upper the upper bound of BETWEEN; Key and UpperKey
// are their encodings.
type SortCondition struct {
	Op       SortOp
	Value    AttributeValue
	Upper    AttributeValue
	Key      []byte
	UpperKey []byte
}

// Match reports whether a sort key, in EncodeKey's encoding, satisfies the
// condition. begins_with is a byte-prefix test, which the encoding preserves
// for S and B (DynamoDB refuses it on N keys).
func (s *SortCondition) Match(key []byte) bool {
	c := bytes.Compare(key, s.Key)
	switch s.Op {
	case SortEqual:
		return c == 0
	case SortLess:
		return c < 0
	case SortLessOrEqual:
		return c <= 0
	case SortGreater:
		return c > 0
	case SortGreaterOrEqual:
		return c >= 0
	case SortBetween:
		return c >= 0 && bytes.Compare(key, s.UpperKey) <= 0
	case SortBeginsWith:
		return bytes.HasPrefix(key, s.Key)
	}
	return false
}

// keyClause is one condition of a KeyConditionExpression, normalised so the
// key attribute is on the left.
type keyClause struct {
	name   string
	op     SortOp
	values []AttributeValue
}

// ParseKeyCondition parses a Query's KeyConditionExpression against the key
// schema of the table or index queried. It applies the whole condition
// language's checks first, then the key condition's own: no OR, NOT, IN or
// <>, no function but begins_with, one condition per key attribute, an
// equality on the partition key, operands of the key's type.
func ParseKeyCondition(expr string, params *Params, schema KeySchema) (*KeyCondition, error) {
	kc, err := parseKeyCondition(expr, params, schema)
	if err != nil {
		return nil, err
	}
	return kc, nil
}

func parseKeyCondition(expr string, params *Params, schema KeySchema) (*KeyCondition, *Error) {
	root, err := parseConditionTree(kindKeyCondition, expr, params)
	if err != nil {
		return nil, err
	}
	p := &parser{kind: kindKeyCondition}
	var clauses []keyClause
	// The shape checks, in dynalite's order (validations/index.js
	// checkExpr): each node before its operands, clauses as written.
	err = root.walk(func(n *cond) *Error {
		switch n.op {
		case opAnd:
			return nil
		case opOr, opNot, opIn:
			return p.errorf("Invalid operator used in KeyConditionExpression: %s", strings.ToUpper(n.opName()))
		case opCompare:
			if n.cmp == tNe {
				return p.errorf("Invalid operator used in KeyConditionExpression: <>")
			}
		case opFunction:
			if fn := n.args[0].fn; fn != "begins_with" {
				return p.errorf("Invalid operator used in KeyConditionExpression: %s", fn)
			}
		}
		operands := n.args
		if n.op == opFunction {
			operands = n.args[0].args
		}
		for _, o := range operands {
			if o.kind == operandCall {
				return p.errorf("KeyConditionExpressions cannot contain nested operations")
			}
		}
		if (n.op == opBetween || n.op == opFunction) && operands[0].kind != operandPath {
			name := "BETWEEN"
			if n.op == opFunction {
				name = "begins_with"
			}
			return p.errorf("Invalid condition in KeyConditionExpression: %s operator must have the key attribute as its first operand", name)
		}
		at := -1
		for i, o := range operands {
			if o.kind != operandPath {
				continue
			}
			if at >= 0 {
				return p.errorf("Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition")
			}
			if len(o.path) > 1 {
				return p.errorf("KeyConditionExpressions cannot have conditions on nested attributes")
			}
			at = i
		}
		if at < 0 {
			return p.errorf("Invalid condition in KeyConditionExpression: No key attribute specified")
		}
		name := operands[at].path[0].Name
		for _, c := range clauses {
			if c.name == name {
				return p.errorf("KeyConditionExpressions must only contain one condition per key")
			}
		}
		clause := keyClause{name: name}
		switch n.op {
		case opBetween:
			clause.op = SortBetween
			clause.values = []AttributeValue{operands[1].value, operands[2].value}
		case opFunction:
			clause.op = SortBeginsWith
			clause.values = []AttributeValue{operands[1].value}
		default:
			clause.op = sortOp(n.cmp, at == 1)
			clause.values = []AttributeValue{operands[1-at].value}
		}
		clauses = append(clauses, clause)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return resolveKeyClauses(clauses, schema)
}

// sortOp maps a comparator to a SortOp, flipped when the key attribute was
// written on the right (":v < sk" is "sk > :v").
func sortOp(cmp tokKind, flipped bool) SortOp {
	if flipped {
		switch cmp {
		case tLt:
			cmp = tGt
		case tLe:
			cmp = tGe
		case tGt:
			cmp = tLt
		case tGe:
			cmp = tLe
		}
	}
	switch cmp {
	case tLt:
		return SortLess
	case tLe:
		return SortLessOrEqual
	case tGt:
		return SortGreater
	case tGe:
		return SortGreaterOrEqual
	}
	return SortEqual
}

func (n *cond) opName() string {
	switch n.op {
	case opOr:
		return "OR"
	case opNot:
		return "NOT"
	case opIn:
		return "IN"
	}
	return ""
}

var errConditionType = invalidParameter("Condition parameter type does not match schema type")

// resolveKeyClauses checks the clauses against the schema. Messages:
// nubo-db/dynamodb-conformance error-messages/query.test.ts and
// paritysuite/dynamodb-conformance queryKeyConditionOperands.test.ts (2026-10);
// "Query key condition not supported" for a partition key compared other than
// by equality, from dynalite's tests against DynamoDB.
func resolveKeyClauses(clauses []keyClause, schema KeySchema) (*KeyCondition, *Error) {
	attrs := schema.attributes()
	if len(clauses) > len(attrs) {
		return nil, validationf("The number of query conditions (%d) exceeds the number of key attributes defined in the schema (%d)", len(clauses), len(attrs))
	}
	var part, sort *keyClause
	for i := range clauses {
		switch name := clauses[i].name; {
		case name == schema.Partition.Name:
			part = &clauses[i]
		case schema.HasSort() && name == schema.Sort.Name:
			sort = &clauses[i]
		}
	}
	if part == nil {
		return nil, validationf("Query condition missed key schema element: %s", schema.Partition.Name)
	}
	if len(clauses) == 2 && sort == nil {
		return nil, validationf("Query condition missed key schema element: %s", schema.Sort.Name)
	}
	if part.op != SortEqual {
		return nil, validation("Query key condition not supported")
	}
	if part.values[0].typ != schema.Partition.Type {
		return nil, errConditionType
	}
	if err := checkKeyValue(schema.Partition, part.values[0], true); err != nil {
		return nil, err.(*Error)
	}
	kc := &KeyCondition{Partition: part.values[0]}
	kc.PartitionKey, _ = EncodeKey(kc.Partition)
	if sort == nil {
		return kc, nil
	}
	for _, v := range sort.values {
		if v.typ != schema.Sort.Type {
			return nil, errConditionType
		}
	}
	sc := &SortCondition{Op: sort.op, Value: sort.values[0]}
	sc.Key, _ = EncodeKey(sc.Value)
	if sort.op == SortBetween {
		sc.Upper = sort.values[1]
		sc.UpperKey, _ = EncodeKey(sc.Upper)
	}
	kc.Sort = sc
	return kc, nil
}
