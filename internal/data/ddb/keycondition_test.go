package ddb

import (
	"bytes"
	"testing"
)

var (
	stringKeys = KeySchema{Partition: KeyAttribute{"pk", TypeS}, Sort: KeyAttribute{"sk", TypeS}}
	numberKeys = KeySchema{Partition: KeyAttribute{"pk", TypeS}, Sort: KeyAttribute{"sk", TypeN}}
	hashKeys   = KeySchema{Partition: KeyAttribute{"pk", TypeS}}
)

func keyValues(t testing.TB) map[string]AttributeValue {
	return decodeItem(t, `{":p": {"S": "tenant#1"}, ":a": {"S": "a"}, ":b": {"S": "b"}, ":n1": {"N": "1"}, ":n5": {"N": "5"},
		":t": {"BOOL": true}, ":f": {"BOOL": false}, ":empty": {"S": ""}, ":bin": {"B": "AQ=="}}`)
}

func TestDDBKeyConditionParse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		schema   KeySchema
		expr     string
		sortOp   SortOp // 0: no sort condition
		value    string // the sort operand's S or N
		upper    string
		matching []AttributeValue
		failing  []AttributeValue
	}{
		{schema: hashKeys, expr: "pk = :p"},
		{schema: stringKeys, expr: "pk = :p"},
		{schema: stringKeys, expr: ":p = pk"},
		{schema: stringKeys, expr: "#k = :p", sortOp: 0},
		{stringKeys, "pk = :p AND sk = :a", SortEqual, "a", "", []AttributeValue{S("a")}, []AttributeValue{S("ab"), S("")}},
		{stringKeys, "sk < :b AND pk = :p", SortLess, "b", "", []AttributeValue{S("a"), S("")}, []AttributeValue{S("b"), S("ba")}},
		{stringKeys, "pk = :p AND sk <= :b", SortLessOrEqual, "b", "", []AttributeValue{S("b")}, []AttributeValue{S("ba")}},
		{stringKeys, "pk = :p AND :b > sk", SortLess, "b", "", []AttributeValue{S("a")}, []AttributeValue{S("b")}},
		{numberKeys, "pk = :p AND sk > :n1", SortGreater, "1", "", []AttributeValue{Int(2), Int(100)}, []AttributeValue{Int(1), Int(-5)}},
		{numberKeys, "pk = :p AND :n1 <= sk", SortGreaterOrEqual, "1", "", []AttributeValue{Int(1)}, []AttributeValue{Int(0)}},
		{numberKeys, "(pk = :p) AND (sk BETWEEN :n1 AND :n5)", SortBetween, "1", "5", []AttributeValue{Int(1), Int(3), Int(5)}, []AttributeValue{Int(0), Int(6)}},
		{stringKeys, "pk = :p AND begins_with(sk, :a)", SortBeginsWith, "a", "", []AttributeValue{S("a"), S("abc")}, []AttributeValue{S("b"), S("")}},
	} {
		params := &Params{Names: map[string]string{"#k": "pk"}, Values: keyValues(t)}
		kc, err := ParseKeyCondition(tc.expr, params, tc.schema)
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		if kc.Partition.S() != "tenant#1" || !bytes.Equal(kc.PartitionKey, []byte("tenant#1")) {
			t.Errorf("%s: partition %s %q", tc.expr, kc.Partition, kc.PartitionKey)
		}
		if tc.sortOp == 0 {
			if kc.Sort != nil {
				t.Errorf("%s: sort condition %+v", tc.expr, kc.Sort)
			}
			continue
		}
		s := kc.Sort
		if s == nil || s.Op != tc.sortOp || s.Value.S()+s.Value.N() != tc.value || s.Upper.S()+s.Upper.N() != tc.upper {
			t.Errorf("%s: sort condition %+v", tc.expr, s)
			continue
		}
		for _, v := range tc.matching {
			if k, _ := EncodeKey(v); !s.Match(k) {
				t.Errorf("%s: %s does not match", tc.expr, v)
			}
		}
		for _, v := range tc.failing {
			if k, _ := EncodeKey(v); s.Match(k) {
				t.Errorf("%s: %s matches", tc.expr, v)
			}
		}
	}
}

// Messages: nubo-db/dynamodb-conformance error-messages/query.test.ts,
// paritysuite/dynamodb-conformance queryKeyConditionOperands and
// validation-ordering/queryKeyCondition (DynamoDB, 2026), dynalite's
// validations/index.js checkExpr for the shape checks.
func TestDDBKeyConditionErrors(t *testing.T) {
	t.Parallel()
	const prefix = "Invalid KeyConditionExpression: "
	const schemaType = "One or more parameter values were invalid: Condition parameter type does not match schema type"
	for _, tc := range []struct {
		schema    KeySchema
		expr, msg string
	}{
		{stringKeys, "", prefix + "The expression can not be empty;"},
		{stringKeys, "pk = :p AND", prefix + `Syntax error; token: "<EOF>", near: "AND"`},
		{stringKeys, "sk = :a", "Query condition missed key schema element: pk"},
		{stringKeys, "attr1 = :a", "Query condition missed key schema element: pk"},
		{stringKeys, "pk = :p AND extra = :a", "Query condition missed key schema element: sk"},
		{numberKeys, "pk = :p AND sk > :n1 AND extra = :n5", "The number of query conditions (3) exceeds the number of key attributes defined in the schema (2)"},
		{hashKeys, "pk = :p AND sk = :a", "The number of query conditions (2) exceeds the number of key attributes defined in the schema (1)"},
		{numberKeys, "pk = :p AND sk > :n1 AND sk < :n5", prefix + "KeyConditionExpressions must only contain one condition per key"},
		{stringKeys, "pk > :p", "Query key condition not supported"},
		{stringKeys, "begins_with(pk, :p)", "Query key condition not supported"},
		{stringKeys, "pk = :p OR sk = :a", prefix + "Invalid operator used in KeyConditionExpression: OR"},
		{stringKeys, "pk = :p AND NOT sk = :a", prefix + "Invalid operator used in KeyConditionExpression: NOT"},
		{stringKeys, "pk IN (:p)", prefix + "Invalid operator used in KeyConditionExpression: IN"},
		{stringKeys, "pk <> :p", prefix + "Invalid operator used in KeyConditionExpression: <>"},
		{stringKeys, "pk = :p AND attribute_exists(sk)", prefix + "Invalid operator used in KeyConditionExpression: attribute_exists"},
		{stringKeys, "pk = :p AND contains(sk, :a)", prefix + "Invalid operator used in KeyConditionExpression: contains"},
		{stringKeys, "pk = :p AND size(sk) > :n1", prefix + "KeyConditionExpressions cannot contain nested operations"},
		{stringKeys, "pk = :p AND :a BETWEEN sk AND :b", prefix + "Invalid condition in KeyConditionExpression: BETWEEN operator must have the key attribute as its first operand"},
		{stringKeys, "pk = :p AND sk = pk", prefix + "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition"},
		{stringKeys, "pk.x = :p", prefix + "KeyConditionExpressions cannot have conditions on nested attributes"},
		{stringKeys, "pk = :p AND :a = :b", prefix + "Invalid condition in KeyConditionExpression: No key attribute specified"},
		{stringKeys, "pk = :n1", schemaType},
		{stringKeys, "pk = :p AND sk = :n1", schemaType},
		{numberKeys, "pk = :p AND begins_with(sk, :a)", schemaType},
		{numberKeys, "pk = :p AND sk = :t", schemaType},
		{stringKeys, "pk = :p AND begins_with(sk, :n1)", prefix + "Incorrect operand type for operator or function; operator or function: begins_with, operand type: N"},
		{numberKeys, "pk = :p AND begins_with(sk, :n1)", prefix + "Incorrect operand type for operator or function; operator or function: begins_with, operand type: N"},
		{stringKeys, "pk = :p AND begins_with(sk, :t)", prefix + "Incorrect operand type for operator or function; operator or function: begins_with, operand type: BOOL"},
		{numberKeys, "pk = :p AND sk < :t", prefix + "Incorrect operand type for operator or function; operator or function: <, operand type: BOOL"},
		{numberKeys, "pk = :p AND :t >= sk", prefix + "Incorrect operand type for operator or function; operator or function: >=, operand type: BOOL"},
		{numberKeys, "pk = :p AND sk BETWEEN :f AND :t", prefix + "Incorrect operand type for operator or function; operator or function: BETWEEN, operand type: BOOL"},
		{numberKeys, "pk = :p AND sk BETWEEN :n5 AND :n1", prefix + "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {N:5}, upper bound operand: AttributeValue: {N:1}"},
		{stringKeys, "pk = :missing AND begins_with(sk, :n1)", prefix + "An expression attribute value used in expression is not defined; attribute value: :missing"},
		{stringKeys, "begins_with(sk, :n1) AND pk = :missing", prefix + "Incorrect operand type for operator or function; operator or function: begins_with, operand type: N"},
		{stringKeys, "pk = :p AND begins_with(sk, :n1) AND sk > :a", prefix + "Incorrect operand type for operator or function; operator or function: begins_with, operand type: N"},
		{stringKeys, "pk = :empty", "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: pk"},
	} {
		params := &Params{Values: keyValues(t)}
		_, err := ParseKeyCondition(tc.expr, params, tc.schema)
		t.Run(tc.expr, func(t *testing.T) { wantValidation(t, err, tc.msg) })
	}
}

func TestDDBKeyConditionBinaryPrefix(t *testing.T) {
	t.Parallel()
	schema := KeySchema{Partition: KeyAttribute{"pk", TypeS}, Sort: KeyAttribute{"sk", TypeB}}
	kc, err := ParseKeyCondition("pk = :p AND begins_with(sk, :bin)", &Params{Values: keyValues(t)}, schema)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key  []byte
		want bool
	}{{[]byte{1}, true}, {[]byte{1, 0}, true}, {[]byte{0, 1}, false}, {nil, false}} {
		if got := kc.Sort.Match(tc.key); got != tc.want {
			t.Errorf("begins_with(%x, 01) = %v", tc.key, got)
		}
	}
}
