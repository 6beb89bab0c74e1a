package ddb

import (
	"errors"
	"strings"
	"testing"
)

// Every parser must return a result or an *Error in its own expression's
// words, and never panic; what parses must evaluate or apply without
// panicking, and without changing its input.

func fuzzParams(t testing.TB) *Params {
	return &Params{
		Names: map[string]string{"#a": "a", "#b": "b", "#st": "status", "#d": "[3]", "#pk": "pk", "#e": ""},
		Values: decodeItem(t, `{":a": {"S": "a"}, ":b": {"S": "b"}, ":n": {"N": "1"}, ":big": {"N": "9.9E125"},
			":t": {"BOOL": true}, ":l": {"L": [{"S": "x"}]}, ":m": {"M": {"k": {"N": "2"}}}, ":ss": {"SS": ["a"]},
			":ns": {"NS": ["1", "2"]}, ":bs": {"BS": ["AA=="]}, ":bin": {"B": "AQ=="}, ":nul": {"NULL": true}, ":S": {"S": "S"}}`),
	}
}

func fuzzItem(t testing.TB) Item {
	return decodeItem(t, `{"pk": {"S": "p"}, "sk": {"N": "1"}, "a": {"S": "abc"}, "b": {"N": "5"},
		"m": {"M": {"k": {"L": [{"N": "1"}, {"M": {"x": {"S": "y"}}}]}}}, "l": {"L": [{"S": "x"}, {"N": "2"}, {"L": []}]},
		"s": {"SS": ["a", "b"]}, "n": {"NS": ["1"]}, "status": {"S": "on"}}`)
}

func checkFuzzError(t *testing.T, err error, kind string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is %T, not *Error", err, err)
	}
	if e.Type != ValidationException {
		t.Fatalf("error type %s", e.Type)
	}
	if !strings.HasPrefix(e.Message, "Invalid "+kind+": ") && !strings.HasPrefix(e.Message, "One or more parameter values") &&
		!strings.HasPrefix(e.Message, "Query ") && !strings.HasPrefix(e.Message, "The number of query conditions") &&
		!strings.HasPrefix(e.Message, "Key attributes must be scalars") {
		t.Fatalf("message %q does not name %s", e.Message, kind)
	}
}

var conditionSeeds = []string{
	"a = :a", "attribute_exists(pk) AND NOT (#a <> :n OR b BETWEEN :n AND :big)", "size(l) > :n",
	"begins_with(a, :a)", "contains(s, :a) OR contains(l, :l)", "a IN (:a, :b, :n)", "((a = :a))",
	"attribute_type(m.k[1].x, :S)", "#st = :a", "status = :a", "a = :nope", "m.k[0] < :n", "(a) = :a",
	"NOT NOT a = :a", "a = a", "foo(a)", "size(a)", "a BETWEEN :b AND :a", "a-b", "!!", "",
	"a = :a AND", "#d = :a", "#e = :a", "l[4294967296] = :a", "a.b.c.d.e.f[1][2][3] = :m",
}

func FuzzCondition(f *testing.F) {
	for _, s := range conditionSeeds {
		f.Add(s)
	}
	item := fuzzItem(f)
	f.Fuzz(func(t *testing.T, expr string) {
		c, err := ParseCondition(expr, fuzzParams(t))
		if err != nil {
			checkFuzzError(t, err, kindCondition)
			return
		}
		before := jsonOf(item)
		c.Eval(item)
		c.Eval(nil)
		if jsonOf(item) != before {
			t.Fatal("Eval changed the item")
		}
	})
}

func FuzzKeyCondition(f *testing.F) {
	for _, s := range append(conditionSeeds, "pk = :a AND sk > :n", "pk = :a AND sk BETWEEN :n AND :n",
		"begins_with(sk, :a) AND #pk = :a", "pk = :a AND sk = :a", "pk = :n", "pk < :a") {
		f.Add(s)
	}
	schema := KeySchema{Partition: KeyAttribute{"pk", TypeS}, Sort: KeyAttribute{"sk", TypeN}}
	f.Fuzz(func(t *testing.T, expr string) {
		kc, err := ParseKeyCondition(expr, fuzzParams(t), schema)
		if err != nil {
			checkFuzzError(t, err, kindKeyCondition)
			return
		}
		if kc.Partition.Type() != TypeS {
			t.Fatalf("partition %s", kc.Partition)
		}
		if kc.Sort != nil {
			k, _ := EncodeKey(Int(1))
			kc.Sort.Match(k)
		}
	})
}

func FuzzUpdate(f *testing.F) {
	for _, s := range []string{
		"SET a = :a", "SET b = b + :n, c = if_not_exists(c, :n) - :n REMOVE l[0], l[1]", "ADD s :ss, b :n DELETE n :ns",
		"SET l = list_append(l, :l), m.k[1].x = :a", "SET l[9] = :a REMOVE l[0]", "remove m.k[0], m.k[1]", "SET pk = :a",
		"SET #d = :a", "SET a = pk.x", "SET a = :a SET b = :b", "INVALID SYNTAX HERE", "SET a = (b) + :n", "SET a = :big + :big",
		"DELETE s :ss ADD n :ns", "SET #e = :a", "SET m.k[0] = :m, m.k[1].y = :nul", "",
	} {
		f.Add(s)
	}
	item := fuzzItem(f)
	schema := KeySchema{Partition: KeyAttribute{"pk", TypeS}, Sort: KeyAttribute{"sk", TypeN}}
	f.Fuzz(func(t *testing.T, expr string) {
		u, err := ParseUpdate(expr, fuzzParams(t), schema)
		if err != nil {
			checkFuzzError(t, err, kindUpdate)
			return
		}
		before := jsonOf(item)
		out, err := u.Apply(item)
		if jsonOf(item) != before {
			t.Fatal("Apply changed its input")
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Type != ValidationException {
				t.Fatalf("Apply error %v", err)
			}
			return
		}
		if _, err := DecodeItem(AppendItemJSON(nil, out)); err != nil {
			t.Fatalf("updated item does not round trip: %v", err)
		}
		Project(out, u.Paths())
		if _, err := u.Apply(nil); err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Apply(nil) error %v", err)
			}
		}
	})
}

func FuzzProjection(f *testing.F) {
	for _, s := range []string{"a", "a, b", "m.k[1].x, l[2], #st", "a, a.b", "a[1], a.b", "Status", "#nope", "!!!", "a,", "l[0], l[2], l[1]", ""} {
		f.Add(s)
	}
	item := fuzzItem(f)
	f.Fuzz(func(t *testing.T, expr string) {
		p, err := ParseProjection(expr, fuzzParams(t))
		if err != nil {
			checkFuzzError(t, err, kindProjection)
			return
		}
		out := p.Apply(item)
		if _, err := DecodeItem(AppendItemJSON(nil, out)); err != nil {
			t.Fatalf("projection does not round trip: %v", err)
		}
	})
}

// Whatever decodes re-encodes to a form that decodes to the same value and
// encodes the same again.
func FuzzAttributeValueJSON(f *testing.F) {
	for _, s := range []string{
		`{"S":"x"}`, `{"N":"-1.50e3"}`, `{"B":"AAEC"}`, `{"BOOL":"yes"}`, `{"NULL":true}`, `{"SS":["b","a"]}`,
		`{"NS":["1","1.0"]}`, `{"BS":["AA==","AQ=="]}`, `{"L":[{"S":"a"},{"M":{"k":{"N":"1"}}}]}`, `{"M":{"a":{"L":[]}}}`,
		`{"S":"\ud83d\ude00\u0000\"\\"}`, `{"S":1}`, `{}`, `{"S":"a","N":"1"}`, `{"X":[1,{"y":null}],"S":"z"}`,
		`{"L":[{"L":[{"L":[]}]}]}`, deep(33), `{"N":"1e126"}`, `{"S":"\xff"}`, `[`, `{"S":"`, `{"M":{"a":`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v AttributeValue
		if err := v.UnmarshalJSON(data); err != nil {
			var e *Error
			if !errors.As(err, &e) || (e.Type != ValidationException && e.Type != SerializationException) {
				t.Fatalf("error %v (%T)", err, err)
			}
			return
		}
		enc := AppendJSON(nil, v)
		var w AttributeValue
		if err := w.UnmarshalJSON(enc); err != nil {
			t.Fatalf("%s re-encoded as %s, which does not decode: %v", data, enc, err)
		}
		if !Equal(v, w) {
			t.Fatalf("%s re-encoded as %s decodes to another value", data, enc)
		}
		if again := AppendJSON(nil, w); string(again) != string(enc) {
			t.Fatalf("encoding is not stable: %s then %s", enc, again)
		}
	})
}
