package ddb

import (
	"fmt"
	"strings"
	"testing"
)

// condItem is the item the evaluation cases read.
func condItem(t testing.TB) Item {
	return decodeItem(t, `{
		"pk": {"S": "user#1"},
		"n": {"N": "10"},
		"f": {"N": "1.5"},
		"s": {"S": "hello world"},
		"u": {"S": "é𝄞"},
		"b": {"B": "AAEC"},
		"t": {"BOOL": true},
		"z": {"NULL": true},
		"ss": {"SS": ["a", "b"]},
		"ns": {"NS": ["1", "2.5"]},
		"bs": {"BS": ["AA==", "AQ=="]},
		"l": {"L": [{"S": "x"}, {"N": "7"}, {"M": {"k": {"S": "v"}}}]},
		"m": {"M": {"a": {"M": {"b": {"L": [{"N": "1"}, {"N": "2"}, {"M": {"c": {"S": "deep"}}}]}}}, "status": {"S": "on"}}},
		"status": {"S": "active"},
		"empty": {"S": ""}
	}`)
}

func condValues(t testing.TB) map[string]AttributeValue {
	it := decodeItem(t, `{
		":ten": {"N": "10.0"}, ":nine": {"N": "9"}, ":eleven": {"N": "11"}, ":one": {"N": "1"}, ":two": {"N": "2"}, ":three": {"N": "3"},
		":hello": {"S": "hello world"}, ":he": {"S": "he"}, ":wor": {"S": "wor"}, ":x": {"S": "x"}, ":a": {"S": "a"},
		":b01": {"B": "AAE="}, ":b1": {"B": "AQ=="}, ":b0": {"B": "AA=="},
		":true": {"BOOL": true}, ":null": {"NULL": true},
		":ss": {"SS": ["b", "a"]}, ":seven": {"N": "7"}, ":kv": {"M": {"k": {"S": "v"}}},
		":S": {"S": "S"}, ":N": {"S": "N"}, ":SS": {"S": "SS"}, ":L": {"S": "L"}, ":M": {"S": "M"}, ":BOOL": {"S": "BOOL"}, ":NULL": {"S": "NULL"}, ":B": {"S": "B"},
		":active": {"S": "active"}, ":deep": {"S": "deep"}, ":empty": {"S": ""}
	}`)
	return it
}

func TestDDBConditionEval(t *testing.T) {
	t.Parallel()
	item := condItem(t)
	names := map[string]string{"#st": "status", "#m": "m", "#dot": "a.b"}
	for _, tc := range []struct {
		expr string
		want bool
	}{
		{"n = :ten", true},
		{"n <> :ten", false},
		{"n = :nine", false},
		{"n <> :nine", true},
		{"n < :eleven", true},
		{"n <= :ten", true},
		{"n > :nine", true},
		{"n >= :eleven", false},
		{":nine < n", true},
		{"n BETWEEN :nine AND :eleven", true},
		{"n BETWEEN :ten AND :ten", true},
		{"n between :eleven and :eleven", false},
		{"n IN (:one, :ten)", true},
		{"n IN (:one, :two)", false},
		{"s = :hello", true},
		{"s < :x", true},
		{"s > :he", true},
		{"b > :b01", true},    // 00 01 02 > 00 01
		{"b < :b1", true},     // 00 01 02 < 01
		{"n = :hello", false}, // mismatched types are false, not errors
		{"n < :hello", false},
		{"n <> :hello", true},
		{"absent = :one", false},
		{"absent <> :one", true}, // an absent attribute is unequal to everything
		{"absent < :one", false},
		{"absent BETWEEN :one AND :two", false},
		{"absent IN (:one)", false},
		{"attribute_exists(n)", true},
		{"attribute_exists(absent)", false},
		{"attribute_not_exists(absent)", true},
		{"attribute_not_exists(pk)", false},
		{"attribute_exists(m.a.b[2].c)", true},
		{"attribute_exists(m.a.b[3])", false},
		{"attribute_exists(l[0].k)", false},
		{"attribute_exists(#m.#st)", true},
		{"attribute_exists(#dot)", false},
		{"m.a.b[2].c = :deep", true},
		{"m.a.b[0] < :two", true},
		{"attribute_type(n, :N)", true},
		{"attribute_type(n, :S)", false},
		{"attribute_type(ss, :SS)", true},
		{"attribute_type(l, :L)", true},
		{"attribute_type(m, :M)", true},
		{"attribute_type(t, :BOOL)", true},
		{"attribute_type(z, :NULL)", true},
		{"attribute_type(b, :B)", true},
		{"attribute_type(absent, :S)", false},
		{"begins_with(s, :he)", true},
		{"begins_with(s, :wor)", false},
		{"begins_with(s, :empty)", true},
		{"begins_with(b, :b0)", true},
		{"begins_with(b, :b1)", false},
		{"begins_with(n, :he)", false},
		{"contains(s, :wor)", true},
		{"contains(s, :x)", false},
		{"contains(ss, :a)", true},
		{"contains(ss, :x)", false},
		{"contains(ns, :one)", true},
		{"contains(ns, :two)", false},
		{"contains(bs, :b1)", true},
		{"contains(b, :b01)", true},
		{"contains(l, :x)", true},
		{"contains(l, :seven)", true},
		{"contains(l, :kv)", true},
		{"contains(l, :a)", false},
		{"contains(ss, :ss)", false},
		{"size(s) = :eleven", true},
		{"size(u) = :three", true}, // UTF-16 code units: é is 1, 𝄞 is 2
		{"size(b) = :three", true},
		{"size(ss) = :two", true},
		{"size(l) > :two", true},
		{"size(m) = :two", true},
		{"size(n) = :two", false},
		{"size(n) <> :two", true},
		{"size(absent) < :ten", false},
		{"size(s) BETWEEN :ten AND :eleven", true},
		{"#st = :active", true},
		{"NOT #st = :active", false},
		{"NOT (n = :nine)", true},
		{"n = :ten AND s = :hello", true},
		{"n = :ten AND s = :x", false},
		{"n = :nine OR s = :hello", true},
		{"n = :nine OR s = :x", false},
		// AND binds tighter than OR; NOT tighter than AND.
		{"n = :ten OR n = :nine AND s = :x", true},
		{"(n = :ten OR n = :nine) AND s = :x", false},
		{"NOT n = :nine AND n = :ten", true},
		{"NOT (n = :nine AND n = :ten)", true},
		{"not not n = :ten", true},
		{"(n) = :ten", true},
		{"(size(s)) > (:ten)", true},
		{"(attribute_exists(n)) AND (n = :ten OR n = :one)", true},
		{"t = :true", true},
		{"z = :null", true},
		{"ss = :ss", true}, // sets compare as sets
		{"l[2] = :kv", true},
		{":one = :one", true},
		{":one < :two", true},
		{"pk BETWEEN :a AND :x", true},
	} {
		params := &Params{Names: names, Values: condValues(t)}
		c, err := ParseCondition(tc.expr, params)
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		if got := c.Eval(item); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.expr, got, tc.want)
		}
	}
}

func TestDDBConditionEvalMissingItem(t *testing.T) {
	t.Parallel()
	c, err := ParseCondition("attribute_not_exists(pk) AND NOT begins_with(pk, :p)", &Params{Values: map[string]AttributeValue{":p": S("x")}})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Eval(nil) {
		t.Error("attribute_not_exists on a absent item is false")
	}
}

// Messages: dynalite's tests against DynamoDB (test/*.js), nubo-db and
// paritysuite dynamodb-conformance captures, and issue threads quoting
// DynamoDB; the sources are on the messages in the package.
func TestDDBConditionErrors(t *testing.T) {
	t.Parallel()
	const prefix = "Invalid ConditionExpression: "
	names := map[string]string{"#a": "a", "#b": "b"}
	values := map[string]AttributeValue{
		":a": S("a"), ":b": S("b"), ":n": Int(1), ":t": Bool(true), ":l": L(), ":nul": Null(), ":ss": ss(t, "a"),
	}
	for _, tc := range []struct{ expr, msg string }{
		{"", "The expression can not be empty;"},
		{"a-b", `Syntax error; token: "-", near: "a-b"`},
		{"!!! INVALID !!!", `Syntax error; token: "!", near: "!!"`},
		{"a", `Syntax error; token: "<EOF>", near: "a"`},
		{"a = ", `Syntax error; token: "<EOF>", near: "= "`},
		{"a = :a AND", `Syntax error; token: "<EOF>", near: "AND"`},
		{"a = :a b = :b", `Syntax error; token: "b", near: ":a b ="`},
		{"a AND b = :a", `Syntax error; token: "AND", near: "a AND b"`},
		{"a = :a = :b", `Syntax error; token: "=", near: ":a = :b"`},
		{"a BETWEEN :a OR :b", `Syntax error; token: "OR", near: ":a OR :b"`},
		{"a IN :a", `Syntax error; token: ":a", near: "IN :a"`},
		{"(a = :a) = :b", `Syntax error; token: "=", near: ") = :b"`},
		{"a = (b = :a)", `Syntax error; token: "=", near: "b = :a"`},
		{"size() = :n", `Syntax error; token: ")", near: "() ="`},
		{"a.and = :a", `Syntax error; token: "and", near: ".and ="`},
		{"a[x] = :a", `Syntax error; token: "x", near: "[x]"`},
		{"a = # OR b", `Syntax error; token: "#", near: "= # OR"`},
		{"a = :a)", `Syntax error; token: ")", near: ":a)"`},
		{"((a = :a))", "The expression has redundant parentheses;"},
		{"((a)) = :a", "The expression has redundant parentheses;"},
		{"a = ((:a))", "The expression has redundant parentheses;"},
		{"foo(a) = :a", "Invalid function name; function: foo"},
		{"a = :a AND bar(a)", "Invalid function name; function: bar"},
		{"attribute_exists(a) = :a", "The function is not allowed to be used this way in an expression; function: attribute_exists"},
		{"size(a)", "The function is not allowed to be used this way in an expression; function: size"},
		{"a IN (:a, begins_with(a, :a))", "The function is not allowed to be used this way in an expression; function: begins_with"},
		{"contains(attribute_type(a, :a), :a)", "The function is not allowed to be used this way in an expression; function: attribute_type"},
		{"status = :a", "Attribute name is a reserved keyword; reserved keyword: status"},
		{"a.Name = :a", "Attribute name is a reserved keyword; reserved keyword: Name"},
		{"#c = :a", "An expression attribute name used in the document path is not defined; attribute name: #c"},
		{"a = :c", "An expression attribute value used in expression is not defined; attribute value: :c"},
		{"attribute_exists(a, b)", "Incorrect number of operands for operator or function; operator or function: attribute_exists, number of operands: 2"},
		{"begins_with(a)", "Incorrect number of operands for operator or function; operator or function: begins_with, number of operands: 1"},
		{"size(a, b) = :n", "Incorrect number of operands for operator or function; operator or function: size, number of operands: 2"},
		{"a = a", "The first operand must be distinct from the remaining operands for this operator or function; operator: =, first operand: [a]"},
		{"#a.b <> a.#b", "The first operand must be distinct from the remaining operands for this operator or function; operator: <>, first operand: [a, b]"},
		{"begins_with(a, #a)", "The first operand must be distinct from the remaining operands for this operator or function; operator: begins_with, first operand: [a]"},
		{"attribute_exists(:a)", "Operator or function requires a document path; operator or function: attribute_exists"},
		{"attribute_not_exists(size(a))", "Operator or function requires a document path; operator or function: attribute_not_exists"},
		{"attribute_type(a, :n)", "Incorrect operand type for operator or function; operator or function: attribute_type, operand type: N"},
		{"attribute_type(a, :a)", "Invalid attribute type name found; type: a, valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}"},
		{"begins_with(a, :n)", "Incorrect operand type for operator or function; operator or function: begins_with, operand type: N"},
		{"begins_with(a, :t)", "Incorrect operand type for operator or function; operator or function: begins_with, operand type: BOOL"},
		{"size(:n) = :n", "Incorrect operand type for operator or function; operator or function: size, operand type: N"},
		{"a < :t", "Incorrect operand type for operator or function; operator or function: <, operand type: BOOL"},
		{":l >= a", "Incorrect operand type for operator or function; operator or function: >=, operand type: L"},
		{"a BETWEEN :nul AND :a", "Incorrect operand type for operator or function; operator or function: BETWEEN, operand type: NULL"},
		{"a BETWEEN :n AND :a", "The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: {N:1}, upper bound operand: AttributeValue: {S:a}"},
		{"a BETWEEN :b AND :a", "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {S:b}, upper bound operand: AttributeValue: {S:a}"},
		// Order: clause by clause as written (paritysuite validation-ordering).
		{"a = :missing AND begins_with(b, :n)", "An expression attribute value used in expression is not defined; attribute value: :missing"},
		{"begins_with(b, :n) AND a = :missing", "Incorrect operand type for operator or function; operator or function: begins_with, operand type: N"},
		// Whole-expression checks come before clause checks.
		{"a = :missing AND status = :a", "Attribute name is a reserved keyword; reserved keyword: status"},
		{"#missing = :a AND foo(a)", "Invalid function name; function: foo"},
		{"((a = :missing)) AND foo(a)", "The expression has redundant parentheses;"},
	} {
		params := &Params{Names: names, Values: values}
		_, err := ParseCondition(tc.expr, params)
		t.Run(tc.expr, func(t *testing.T) { wantValidation(t, err, prefix+tc.msg) })
	}
}

func TestDDBConditionLimits(t *testing.T) {
	t.Parallel()
	values := map[string]AttributeValue{":v": S("x")}
	in := func(k int) string { return "a IN (" + strings.TrimSuffix(strings.Repeat(":v,", k), ",") + ")" }
	if _, err := ParseFilter(in(100), &Params{Values: values}); err != nil {
		t.Errorf("IN with 100 operands: %v", err)
	}
	_, err := ParseFilter(in(101), &Params{Values: values})
	wantValidation(t, err, "Invalid FilterExpression: The IN operator is provided with too many operands; number of operands: 101")

	// 150 comparisons joined by 149 ORs: 299 operators; 151 and 150 is 301.
	chain := func(k int) string {
		parts := make([]string, k)
		for i := range parts {
			parts[i] = fmt.Sprintf("a%d = :v", i)
		}
		return strings.Join(parts, " OR ")
	}
	if _, err := ParseFilter(chain(150), &Params{Values: values}); err != nil {
		t.Errorf("299 operators: %v", err)
	}
	_, err = ParseFilter(chain(151), &Params{Values: values})
	wantValidation(t, err, "Invalid FilterExpression: The expression contains too many operators; operator count: 301")

	// 4096 bytes accepted, 4097 refused, measured before substitution.
	long := "attribute_exists(" + strings.Repeat("a", 4096-len("attribute_exists()")) + ")"
	if _, err := ParseCondition(long, nil); err != nil {
		t.Errorf("4096-byte expression: %v", err)
	}
	_, err = ParseCondition(long+" ", nil)
	wantValidation(t, err, "Invalid ConditionExpression: Expression size has exceeded the maximum allowed size; expression size: 4097")

	path := func(k int) string { return "attribute_exists(a" + strings.Repeat(".b", k-1) + ")" }
	if _, err := ParseCondition(path(32), nil); err != nil {
		t.Errorf("32-level path: %v", err)
	}
	_, err = ParseCondition(path(33), nil)
	wantValidation(t, err, "Invalid ConditionExpression: The document path has too many nesting levels; nesting levels: 33, maximum: 32")
}

func TestDDBConditionMarksUsed(t *testing.T) {
	t.Parallel()
	params := &Params{Names: map[string]string{"#a": "a", "#u": "u"}, Values: map[string]AttributeValue{":v": Int(1), ":w": Int(2)}}
	if _, err := ParseCondition("#a = :v", params); err != nil {
		t.Fatal(err)
	}
	wantValidation(t, params.CheckUnused(), "Value provided in ExpressionAttributeNames unused in expressions: keys: {#u}")
	params.Names = map[string]string{"#a": "a"}
	wantValidation(t, params.CheckUnused(), "Value provided in ExpressionAttributeValues unused in expressions: keys: {:w}")
}
