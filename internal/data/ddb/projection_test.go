package ddb

import (
	"testing"
)

func TestDDBProjectionApply(t *testing.T) {
	t.Parallel()
	item := decodeItem(t, `{
		"pk": {"S": "p"}, "a": {"N": "1"}, "status": {"S": "on"},
		"m": {"M": {"x": {"N": "1"}, "y": {"M": {"z": {"S": "deep"}, "w": {"S": "no"}}}}},
		"l": {"L": [{"S": "l0"}, {"M": {"k": {"S": "v"}, "j": {"S": "no"}}}, {"S": "l2"}, {"S": "l3"}]}
	}`)
	for _, tc := range []struct{ expr, want string }{
		{"a", `{"a":{"N":"1"}}`},
		{"pk, a", `{"pk":{"S":"p"},"a":{"N":"1"}}`},
		{"absent", `{}`},
		{"a, absent, m.absent, l[9]", `{"a":{"N":"1"}}`},
		{"#s", `{"status":{"S":"on"}}`},
		{"m.y.z", `{"m":{"M":{"y":{"M":{"z":{"S":"deep"}}}}}}`},
		{"m.x, m.y.z", `{"m":{"M":{"x":{"N":"1"},"y":{"M":{"z":{"S":"deep"}}}}}}`},
		{"l[3], l[1].k", `{"l":{"L":[{"M":{"k":{"S":"v"}}},{"S":"l3"}]}}`},
		{"l[2]", `{"l":{"L":[{"S":"l2"}]}}`},
		{"m . x , l [ 0 ]", `{"m":{"M":{"x":{"N":"1"}}},"l":{"L":[{"S":"l0"}]}}`},
	} {
		pr, err := ParseProjection(tc.expr, &Params{Names: map[string]string{"#s": "status"}})
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		got := pr.Apply(item)
		if want := decodeItem(t, tc.want); !Equal(M(got), M(want)) {
			t.Errorf("%s:\n got %s\nwant %s", tc.expr, jsonOf(got), jsonOf(want))
		}
	}
}

// Messages: dynalite test/getItem.js against DynamoDB; nubo-db and
// paritysuite dynamodb-conformance getItem and transactGetItems.
func TestDDBProjectionErrors(t *testing.T) {
	t.Parallel()
	const prefix = "Invalid ProjectionExpression: "
	for _, tc := range []struct{ expr, msg string }{
		{"", "The expression can not be empty;"},
		{"!!! INVALID !!!", `Syntax error; token: "!", near: "!!"`},
		{"!!!", `Syntax error; token: "!", near: "!!"`},
		{"a,", `Syntax error; token: "<EOF>", near: ","`},
		{"a b", `Syntax error; token: "b", near: "a b"`},
		{":a", `Syntax error; token: ":a", near: ":a"`},
		{"a-b", `Syntax error; token: "-", near: "a-b"`},
		{"a[-1]", `Syntax error; token: "-", near: "[-1"`},
		{"a, Status", "Attribute name is a reserved keyword; reserved keyword: Status"},
		{"a, #undef", "An expression attribute name used in the document path is not defined; attribute name: #undef"},
		{"a, a.b", "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a, b]"},
		{"a.b, #a", "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a, b], path two: [a]"},
		{"a[1], a.b", "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, [1]], path two: [a, b]"},
	} {
		_, err := ParseProjection(tc.expr, &Params{Names: map[string]string{"#a": "a"}})
		t.Run(tc.expr, func(t *testing.T) { wantValidation(t, err, prefix+tc.msg) })
	}
}

func TestDDBExpressionsParse(t *testing.T) {
	t.Parallel()
	e := &Expressions{
		UpdateExpression:    str("SET #c = #c + :one, tags = list_append(tags, :t) REMOVE stale.part"),
		ConditionExpression: str("attribute_exists(pk) AND #c < :max"),
		ExpressionAttributeNames: map[string]string{
			"#c": "count",
		},
		ExpressionAttributeValues: map[string]AttributeValue{":one": Int(1), ":max": Int(10), ":t": L(S("x"))},
		Schema:                    numberKeys,
	}
	parsed, err := e.Parse()
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Update == nil || parsed.Condition == nil || parsed.Filter != nil || parsed.KeyCondition != nil || parsed.Projection != nil {
		t.Errorf("parsed %+v", parsed)
	}
	item := Item{"pk": S("p"), "sk": Int(1), "count": Int(3), "tags": L(), "stale": M(map[string]AttributeValue{"part": Null()}), "keep": S("k")}
	if !parsed.Condition.Eval(item) {
		t.Error("condition false")
	}
	got, err := parsed.Update.Apply(item)
	if err != nil {
		t.Fatal(err)
	}
	if got["count"].N() != "4" || got["tags"].Len() != 1 || got["stale"].Len() != 0 || got["keep"].S() != "k" {
		t.Errorf("updated %s", jsonOf(got))
	}
	if old := Project(item, parsed.Update.Paths()); jsonOf(old) != `{"count":{"N":"3"},"stale":{"M":{"part":{"NULL":true}}},"tags":{"L":[]}}` {
		t.Errorf("UPDATED_OLD = %s", jsonOf(old))
	}
	if attrs := Attributes(parsed, []Item{{"pk": S("p"), "sk": Int(1)}}); join(attrs) != "count,pk,sk,stale,tags" {
		t.Errorf("Attributes = %q", attrs)
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ","
		}
		out += x
	}
	return out
}

func TestDDBExpressionsQuery(t *testing.T) {
	t.Parallel()
	e := &Expressions{
		KeyConditionExpression:    str("pk = :p AND begins_with(sk, :pre)"),
		FilterExpression:          str("#st = :on"),
		ProjectionExpression:      str("sk, #st, payload.a"),
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ExpressionAttributeValues: map[string]AttributeValue{":p": S("t1"), ":pre": S("order#"), ":on": S("on")},
		Schema:                    stringKeys,
	}
	parsed, err := e.Parse()
	if err != nil {
		t.Fatal(err)
	}
	if parsed.KeyCondition.Partition.S() != "t1" || parsed.KeyCondition.Sort.Op != SortBeginsWith {
		t.Errorf("key condition %+v", parsed.KeyCondition)
	}
	if attrs := Attributes(parsed, nil, "legacy"); join(attrs) != "legacy,payload,pk,sk,status" {
		t.Errorf("Attributes = %q", attrs)
	}
}

func TestDDBExpressionsErrors(t *testing.T) {
	t.Parallel()
	values := map[string]AttributeValue{":v": S("v"), ":w": S("w")}
	for _, tc := range []struct {
		name string
		e    Expressions
		msg  string
	}{
		{"unused value across expressions",
			Expressions{UpdateExpression: str("SET a = :v"), ConditionExpression: str("b = :v"), ExpressionAttributeValues: values},
			"Value provided in ExpressionAttributeValues unused in expressions: keys: {:w}"},
		{"unused names before unused values",
			Expressions{UpdateExpression: str("SET a = :v"), ExpressionAttributeNames: map[string]string{"#b": "b", "#a": "a"}, ExpressionAttributeValues: values},
			"Value provided in ExpressionAttributeNames unused in expressions: keys: {#a, #b}"},
		{"undefined in the condition of an update",
			Expressions{UpdateExpression: str("SET b = :v"), ConditionExpression: str("a = :x"), ExpressionAttributeValues: values},
			"Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :x"},
		{"update before condition",
			Expressions{UpdateExpression: str("SET b = :x"), ConditionExpression: str("a = :y"), ExpressionAttributeValues: values},
			"Invalid UpdateExpression: An expression attribute value used in expression is not defined; attribute value: :x"},
		{"filter before projection",
			Expressions{FilterExpression: str("a = :x"), ProjectionExpression: str("#n"), ExpressionAttributeValues: values},
			"Invalid FilterExpression: An expression attribute value used in expression is not defined; attribute value: :x"},
		{"empty names",
			Expressions{ConditionExpression: str("a = :v"), ExpressionAttributeNames: map[string]string{}},
			"ExpressionAttributeNames must not be empty"},
		{"empty values",
			Expressions{ConditionExpression: str("a = :v"), ExpressionAttributeValues: map[string]AttributeValue{}},
			"ExpressionAttributeValues must not be empty"},
		{"bad name key",
			Expressions{ConditionExpression: str("a = :v"), ExpressionAttributeNames: map[string]string{"a": "a"}},
			`ExpressionAttributeNames contains invalid key: Syntax error; key: "a"`},
		{"bad value key",
			Expressions{ConditionExpression: str("a = :v"), ExpressionAttributeValues: map[string]AttributeValue{"b": S("x")}},
			`ExpressionAttributeValues contains invalid key: Syntax error; key: "b"`},
		{"names without expressions",
			Expressions{ExpressionAttributeNames: map[string]string{"#a": "a"}},
			"ExpressionAttributeNames can only be specified when using expressions"},
		{"filter on the partition key",
			Expressions{KeyConditionExpression: str("pk = :v"), FilterExpression: str("attribute_exists(x.y) AND pk = :w"), ExpressionAttributeValues: values, Schema: stringKeys},
			"Filter Expression can only contain non-primary key attributes: Primary key attribute: pk"},
		{"filter on the sort key",
			Expressions{KeyConditionExpression: str("pk = :v"), FilterExpression: str("sk[1] = :w"), ExpressionAttributeValues: values, Schema: stringKeys},
			"Filter Expression can only contain non-primary key attributes: Primary key attribute: sk"},
		{"empty expression",
			Expressions{ProjectionExpression: str("")},
			"Invalid ProjectionExpression: The expression can not be empty;"},
	} {
		_, err := tc.e.Parse()
		t.Run(tc.name, func(t *testing.T) { wantValidation(t, err, tc.msg) })
	}
	if _, err := (&Expressions{KeyConditionExpression: str("pk = :v"), ExpressionAttributeValues: values}).Parse(); err == nil {
		t.Error("a key condition without a schema parsed")
	}
}

func TestDDBAttributesOfItems(t *testing.T) {
	t.Parallel()
	got := Attributes(nil, []Item{{"pk": S("a"), "b": Null()}, {"pk": S("b"), "c": Null()}})
	if join(got) != "b,c,pk" {
		t.Errorf("Attributes = %q", got)
	}
}
