package ddb

import (
	"fmt"
	"strings"
	"testing"
)

var updateSchema = KeySchema{Partition: KeyAttribute{"pk", TypeS}, Sort: KeyAttribute{"sk", TypeN}}

func updateValues(t testing.TB) map[string]AttributeValue {
	return decodeItem(t, `{
		":one": {"N": "1"}, ":two": {"N": "2"}, ":half": {"N": "0.5"}, ":x": {"S": "x"}, ":y": {"S": "y"},
		":l": {"L": [{"S": "c"}]}, ":empty": {"L": []}, ":ss": {"SS": ["b", "z"]}, ":ns": {"NS": ["1", "3"]},
		":bs": {"BS": ["AQ=="]}, ":m": {"M": {"k": {"S": "v"}}}, ":t": {"BOOL": true}, ":nul": {"NULL": true},
		":b": {"B": "AQ=="}, ":big": {"N": "99999999999999999999999999999999999999"}
	}`)
}

func TestDDBUpdateApply(t *testing.T) {
	t.Parallel()
	base := `"pk":{"S":"p"},"sk":{"N":"1"}`
	for _, tc := range []struct {
		name, item, expr, want string
	}{
		{"set new", `{` + base + `}`, "SET a = :x", `{` + base + `,"a":{"S":"x"}}`},
		{"set replace", `{` + base + `,"a":{"N":"5"}}`, "SET a = :x", `{` + base + `,"a":{"S":"x"}}`},
		{"set from path", `{` + base + `,"a":{"N":"5"}}`, "SET b = a", `{` + base + `,"a":{"N":"5"},"b":{"N":"5"}}`},
		{"set reads key", `{` + base + `}`, "SET pkcopy = pk", `{` + base + `,"pkcopy":{"S":"p"}}`},
		{"plus", `{` + base + `,"n":{"N":"5"}}`, "SET n = n + :half", `{` + base + `,"n":{"N":"5.5"}}`},
		{"minus", `{` + base + `,"n":{"N":"5"}}`, "SET n = n - :two", `{` + base + `,"n":{"N":"3"}}`},
		{"values on both sides", `{` + base + `}`, "SET n = :one + :two", `{` + base + `,"n":{"N":"3"}}`},
		{"parenthesised", `{` + base + `,"n":{"N":"5"}}`, "SET n = (n + :one)", `{` + base + `,"n":{"N":"6"}}`},
		{"parenthesised operand", `{` + base + `,"n":{"N":"5"}}`, "SET n = (n) - :one", `{` + base + `,"n":{"N":"4"}}`},
		{"if_not_exists absent", `{` + base + `}`, "SET n = if_not_exists(n, :one)", `{` + base + `,"n":{"N":"1"}}`},
		{"if_not_exists present", `{` + base + `,"n":{"N":"5"}}`, "SET n = if_not_exists(n, :one)", `{` + base + `,"n":{"N":"5"}}`},
		{"counter", `{` + base + `}`, "SET n = if_not_exists(n, :one) + :two", `{` + base + `,"n":{"N":"3"}}`},
		{"list_append", `{` + base + `,"l":{"L":[{"S":"a"}]}}`, "SET l = list_append(l, :l)", `{` + base + `,"l":{"L":[{"S":"a"},{"S":"c"}]}}`},
		{"list_append prepend", `{` + base + `,"l":{"L":[{"S":"a"}]}}`, "SET l = list_append(:l, l)", `{` + base + `,"l":{"L":[{"S":"c"},{"S":"a"}]}}`},
		{"list_append if_not_exists", `{` + base + `}`, "SET l = list_append(if_not_exists(l, :empty), :l)", `{` + base + `,"l":{"L":[{"S":"c"}]}}`},
		{"all values read before", `{` + base + `,"a":{"N":"1"},"b":{"N":"2"}}`, "SET a = b, b = a", `{` + base + `,"a":{"N":"2"},"b":{"N":"1"}}`},
		{"nested map", `{` + base + `,"m":{"M":{"x":{"N":"1"}}}}`, "SET m.y = :x", `{` + base + `,"m":{"M":{"x":{"N":"1"},"y":{"S":"x"}}}}`},
		{"nested list replace", `{` + base + `,"l":{"L":[{"S":"a"},{"S":"b"}]}}`, "SET l[1] = :x", `{` + base + `,"l":{"L":[{"S":"a"},{"S":"x"}]}}`},
		{"list index past end appends", `{` + base + `,"l":{"L":[{"S":"a"}]}}`, "SET l[5] = :x, l[9] = :y", `{` + base + `,"l":{"L":[{"S":"a"},{"S":"x"},{"S":"y"}]}}`},
		{"deep", `{` + base + `,"m":{"M":{"l":{"L":[{"M":{}}]}}}}`, "SET m.l[0].k = :x", `{` + base + `,"m":{"M":{"l":{"L":[{"M":{"k":{"S":"x"}}}]}}}}`},
		{"alias", `{` + base + `}`, "SET #s = :x", `{` + base + `,"status":{"S":"x"}}`},
		{"remove", `{` + base + `,"a":{"N":"1"},"b":{"N":"2"}}`, "REMOVE a", `{` + base + `,"b":{"N":"2"}}`},
		{"remove absent", `{` + base + `,"m":{"M":{}}}`, "REMOVE a, m.x", `{` + base + `,"m":{"M":{}}}`},
		{"remove nested", `{` + base + `,"m":{"M":{"x":{"N":"1"},"y":{"N":"2"}}}}`, "REMOVE m.x", `{` + base + `,"m":{"M":{"y":{"N":"2"}}}}`},
		{"remove list indexes of the old list", `{` + base + `,"l":{"L":[{"N":"0"},{"N":"1"},{"N":"2"},{"N":"3"}]}}`, "REMOVE l[0], l[2]", `{` + base + `,"l":{"L":[{"N":"1"},{"N":"3"}]}}`},
		{"remove past end", `{` + base + `,"l":{"L":[{"N":"0"}]}}`, "REMOVE l[3]", `{` + base + `,"l":{"L":[{"N":"0"}]}}`},
		{"remove and set in one list", `{` + base + `,"l":{"L":[{"N":"0"},{"N":"1"},{"N":"2"}]}}`, "REMOVE l[0] SET l[1] = :x, l[7] = :y", `{` + base + `,"l":{"L":[{"S":"x"},{"N":"2"},{"S":"y"}]}}`},
		{"remove inside a list element first", `{` + base + `,"l":{"L":[{"N":"0"},{"L":[{"N":"1"},{"N":"2"}]}]}}`, "REMOVE l[0], l[1][0]", `{` + base + `,"l":{"L":[{"L":[{"N":"2"}]}]}}`},
		{"add number new", `{` + base + `}`, "ADD n :two", `{` + base + `,"n":{"N":"2"}}`},
		{"add number", `{` + base + `,"n":{"N":"-2"}}`, "ADD n :half", `{` + base + `,"n":{"N":"-1.5"}}`},
		{"add to set", `{` + base + `,"s":{"SS":["a","b"]}}`, "ADD s :ss", `{` + base + `,"s":{"SS":["a","b","z"]}}`},
		{"add set new", `{` + base + `}`, "add s :ns", `{` + base + `,"s":{"NS":["1","3"]}}`},
		{"add nested", `{` + base + `,"m":{"M":{}}}`, "ADD m.c :one", `{` + base + `,"m":{"M":{"c":{"N":"1"}}}}`},
		{"delete from set", `{` + base + `,"s":{"SS":["a","b"]}}`, "DELETE s :ss", `{` + base + `,"s":{"SS":["a"]}}`},
		{"delete empties set", `{` + base + `,"s":{"NS":["1","3"]}}`, "DELETE s :ns", `{` + base + `}`},
		{"delete absent", `{` + base + `}`, "DELETE s :ns", `{` + base + `}`},
		{"sections in any order", `{` + base + `,"a":{"N":"1"},"s":{"SS":["z"]}}`, "delete s :ss add n :one remove a set b = :x", `{` + base + `,"b":{"S":"x"},"n":{"N":"1"}}`},
	} {
		params := &Params{Names: map[string]string{"#s": "status"}, Values: updateValues(t)}
		u, err := ParseUpdate(tc.expr, params, updateSchema)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		before := decodeItem(t, tc.item)
		snapshot := jsonOf(before)
		got, err := u.Apply(before)
		if err != nil {
			t.Errorf("%s: Apply: %v", tc.name, err)
			continue
		}
		if want := decodeItem(t, tc.want); !Equal(M(got), M(want)) {
			t.Errorf("%s: %s\n got %s\nwant %s", tc.name, tc.expr, jsonOf(got), jsonOf(want))
		}
		if jsonOf(before) != snapshot {
			t.Errorf("%s: Apply changed its input: %s", tc.name, jsonOf(before))
		}
	}
}

func TestDDBUpdateApplyNew(t *testing.T) {
	t.Parallel()
	u, err := ParseUpdate("SET a = :x ADD n :one", &Params{Values: updateValues(t)}, updateSchema)
	if err != nil {
		t.Fatal(err)
	}
	got, err := u.Apply(nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := decodeItem(t, `{"a":{"S":"x"},"n":{"N":"1"}}`); !Equal(M(got), M(want)) {
		t.Errorf("got %s", jsonOf(got))
	}
	if paths := u.Paths(); len(paths) != 2 || paths[0].String() != "[a]" || paths[1].String() != "[n]" {
		t.Errorf("Paths = %v", paths)
	}
}

// Messages: dynalite actions/updateItem.js and its tests against DynamoDB.
func TestDDBUpdateApplyErrors(t *testing.T) {
	t.Parallel()
	item := `{"pk":{"S":"p"},"sk":{"N":"1"},"s":{"S":"str"},"n":{"N":"1"},"m":{"M":{}},"l":{"L":[]},"set":{"SS":["a"]},"big":{"N":"99999999999999999999999999999999999999"}}`
	const invalidPath = "The document path provided in the update expression is invalid for update"
	for _, tc := range []struct{ expr, msg string }{
		{"SET a = absent", "The provided expression refers to an attribute that does not exist in the item"},
		{"SET a = s + :one", "An operand in the update expression has an incorrect data type"},
		{"SET a = list_append(s, :l)", "An operand in the update expression has an incorrect data type"},
		{"ADD s :one", "An operand in the update expression has an incorrect data type"},
		{"ADD n :ss", "An operand in the update expression has an incorrect data type"},
		{"ADD #set :ns", "An operand in the update expression has an incorrect data type"},
		{"DELETE #set :ns", "An operand in the update expression has an incorrect data type"},
		{"SET absent.a = :x", invalidPath},
		{"SET s.a = :x", invalidPath},
		{"SET s[0] = :x", invalidPath},
		{"SET m[0] = :x", invalidPath},
		{"SET l.a = :x", invalidPath},
		{"SET l[0].a = :x", invalidPath},
		{"REMOVE absent.a", invalidPath},
		{"REMOVE s[1]", invalidPath},
		{"ADD absent.a :one", invalidPath},
		{"DELETE m.a.b :ss", invalidPath},
		{"ADD big :half", "Attempting to store more than 38 significant digits in a Number"},
		{"SET n = big + big", "Attempting to store more than 38 significant digits in a Number"},
	} {
		params := &Params{Names: map[string]string{"#set": "set"}, Values: updateValues(t)}
		u, err := ParseUpdate(tc.expr, params, updateSchema)
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		_, err = u.Apply(decodeItem(t, item))
		t.Run(tc.expr, func(t *testing.T) { wantValidation(t, err, tc.msg) })
	}
}

func TestDDBUpdateNesting(t *testing.T) {
	t.Parallel()
	values := map[string]AttributeValue{":deep": decodeItem(t, `{"v":`+deep(30)+`}`)["v"]}
	u, err := ParseUpdate("SET a.b = :deep", &Params{Values: values}, updateSchema)
	if err != nil {
		t.Fatal(err)
	}
	item := Item{"a": M(nil)}
	// a is level 1 and :deep (30 wraps around a leaf) fills levels 2 to 32.
	if _, err := u.Apply(item); err != nil {
		t.Errorf("32 levels: %v", err)
	}
	item = Item{"a": M(map[string]AttributeValue{"c": M(nil)})}
	u, _ = ParseUpdate("SET a.c.b = :deep", &Params{Values: values}, updateSchema)
	_, err = u.Apply(item)
	wantValidation(t, err, errNesting.Message)
}

func TestDDBUpdateErrors(t *testing.T) {
	t.Parallel()
	const prefix = "Invalid UpdateExpression: "
	names := map[string]string{"#a": "a", "#b": "b", "#c": "c", "#d": "[3]", "#pk": "pk"}
	values := updateValues(t)
	for _, tc := range []struct{ expr, msg string }{
		{"", prefix + "The expression can not be empty;"},
		{"INVALID SYNTAX HERE", prefix + `Syntax error; token: "INVALID", near: "INVALID SYNTAX"`},
		{"ADD hits : incr", prefix + `Syntax error; token: ":", near: "hits : incr"`},
		{"SET a = :x, #", prefix + `Syntax error; token: "#", near: ", #"`},
		{"whatever", prefix + `Syntax error; token: "whatever", near: "whatever"`},
		{"set a", prefix + `Syntax error; token: "<EOF>", near: "a"`},
		{"add a", prefix + `Syntax error; token: "<EOF>", near: "a"`},
		{"set a=set", prefix + `Syntax error; token: "set", near: "=set"`},
		{"remove a = b", prefix + `Syntax error; token: "=", near: "a = b"`},
		{"delete a b", prefix + `Syntax error; token: "b", near: "a b"`},
		{"set :a = b", prefix + `Syntax error; token: ":a", near: "set :a ="`},
		{"remove :a", prefix + `Syntax error; token: ":a", near: "remove :a"`},
		{"set a = b / c", prefix + `Syntax error; token: "/", near: "b / c"`},
		{"set a = b + c + d", prefix + `Syntax error; token: "+", near: "c + d"`},
		{"set (a = (b + c))", prefix + `Syntax error; token: "(", near: "set (a"`},
		{"set a = (b.c).d + e", prefix + `Syntax error; token: ".", near: ").d"`},
		{"SET a = :x,", prefix + `Syntax error; token: "<EOF>", near: ","`},
		{"SET a = :x, REMOVE b", prefix + `Syntax error; token: "REMOVE", near: ", REMOVE b"`},
		{"SET a = :x ADD b", prefix + `Syntax error; token: "<EOF>", near: "b"`},
		// Order (dynalite db/updateParser.pegjs): reserved words first...
		{" set #c = :c set abOrt = :x ", prefix + "Attribute name is a reserved keyword; reserved keyword: abOrt"},
		{"remove Absolute", prefix + "Attribute name is a reserved keyword; reserved keyword: Absolute"},
		{"set a = if_not_exist(:c) set c = :d", prefix + "Invalid function name; function: if_not_exist"},
		{"set a = #e set c = :d", prefix + `The "SET" section can only be used once in an update expression;`},
		{"remove #e set a = b remove e", prefix + `The "REMOVE" section can only be used once in an update expression;`},
		{"SET #e = :nope", prefix + "An expression attribute name used in the document path is not defined; attribute name: #e"},
		{"SET a = :nope, #e = :x", prefix + "An expression attribute name used in the document path is not defined; attribute name: #e"},
		{"SET a = :nope", prefix + "An expression attribute value used in expression is not defined; attribute value: :nope"},
		{"SET a = :x REMOVE a", prefix + "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]"},
		{"set d[1] = a, d.b = a, c[1].a = a, #c = if_not_exists(a)", prefix + "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [c, [1], a], path two: [c]"},
		{"set #c[3].#d = a, #c[3] = a", prefix + "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [c, [3], [3]], path two: [c, [3]]"},
		{"set #c[3].#d = a, #c.#d[3] = if_not_exists(a, :x)", prefix + "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [c, [3], [3]], path two: [c, [3], [3]]"},
		{"remove a.#c set a[1] = :x", prefix + "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, c], path two: [a, [1]]"},
		{"add a.b :x", prefix + "Incorrect operand type for operator or function; operator: ADD, operand type: STRING"},
		{"delete a.b :x", prefix + "Incorrect operand type for operator or function; operator: DELETE, operand type: STRING"},
		{"add a :nul", prefix + "Incorrect operand type for operator or function; operator: ADD, operand type: NULL"},
		{"add a :t", prefix + "Incorrect operand type for operator or function; operator: ADD, operand type: BOOLEAN"},
		{"add a :b", prefix + "Incorrect operand type for operator or function; operator: ADD, operand type: BINARY"},
		{"add a :m", prefix + "Incorrect operand type for operator or function; operator: ADD, operand type: MAP"},
		{"add a :l", prefix + "Incorrect operand type for operator or function; operator: ADD, operand type: LIST"},
		{"delete a :one", prefix + "Incorrect operand type for operator or function; operator: DELETE, operand type: NUMBER"},
		{"set a = if_not_exists(c)", prefix + "Incorrect number of operands for operator or function; operator or function: if_not_exists, number of operands: 1"},
		{"set a = list_append(c)", prefix + "Incorrect number of operands for operator or function; operator or function: list_append, number of operands: 1"},
		{"set a = if_not_exists(:x, c)", prefix + "Operator or function requires a document path; operator or function: if_not_exists"},
		{"set a = if_not_exists(if_not_exists(a, b), c)", prefix + "Operator or function requires a document path; operator or function: if_not_exists"},
		{"set a = list_append(:x, a)", prefix + "Incorrect operand type for operator or function; operator or function: list_append, operand type: S"},
		{"set a = list_append(a, :one)", prefix + "Incorrect operand type for operator or function; operator or function: list_append, operand type: N"},
		{"set a = a + :x", prefix + "Incorrect operand type for operator or function; operator or function: +, operand type: S"},
		{"set a = :ss - a", prefix + "Incorrect operand type for operator or function; operator or function: -, operand type: SS"},
		{"set a = a + :m", prefix + "Incorrect operand type for operator or function; operator or function: +, operand type: M"},
		// The key, after the expression itself (nubo-db/dynamodb-conformance).
		{"SET pk = :x", "One or more parameter values were invalid: Cannot update attribute pk. This attribute is part of the key"},
		{"REMOVE sk", "One or more parameter values were invalid: Cannot update attribute sk. This attribute is part of the key"},
		{"SET #pk.x = :x", "One or more parameter values were invalid: Cannot update attribute pk. This attribute is part of the key"},
		{"SET a = pk.x", "Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: Key: pk"},
	} {
		params := &Params{Names: names, Values: values}
		_, err := ParseUpdate(tc.expr, params, updateSchema)
		t.Run(tc.expr, func(t *testing.T) { wantValidation(t, err, tc.msg) })
	}
}

func TestDDBUpdateOperatorLimit(t *testing.T) {
	t.Parallel()
	values := map[string]AttributeValue{":v": Int(1)}
	sets := func(k int) string {
		parts := make([]string, k)
		for i := range parts {
			parts[i] = fmt.Sprintf("a%d=:v+:v", i)
		}
		return "SET " + strings.Join(parts, ",")
	}
	if _, err := ParseUpdate(sets(300), &Params{Values: values}, updateSchema); err != nil {
		t.Errorf("300 operators: %v", err)
	}
	_, err := ParseUpdate(sets(301), &Params{Values: values}, updateSchema)
	wantValidation(t, err, "Invalid UpdateExpression: The expression contains too many operators; operator count: 301")
}
