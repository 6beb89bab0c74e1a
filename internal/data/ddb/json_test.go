package ddb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"pgregory.net/rapid"
)

func TestDDBJSONDecode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want AttributeValue
	}{
		{`{"S":"x"}`, S("x")},
		{`{"S":""}`, S("")},
		{`{"S":"a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"}`, S("a\"\\/\b\f\n\r\té😀")},
		{`{"N":"1.50"}`, Int(0)}, // replaced below
		{`{"B":"AAEC"}`, B([]byte{0, 1, 2})},
		{`{"B":""}`, B(nil)},
		{`{"BOOL":true}`, Bool(true)},
		{`{"BOOL":false}`, Bool(false)},
		{`{"BOOL":"yes"}`, Bool(true)},
		{`{"NULL":true}`, Null()},
		{`{"SS":["b","a"]}`, ss(t, "a", "b")},
		{`{"NS":["10","9.0"]}`, ns(t, "9", "10")},
		{`{"L":[]}`, L()},
		{`{"L":[{"S":"a"},{"N":"1"}]}`, L(S("a"), Int(1))},
		{`{"M":{}}`, M(nil)},
		{`{"M":{"k":{"M":{"j":{"NULL":true}}}}}`, M(map[string]AttributeValue{"k": M(map[string]AttributeValue{"j": Null()})})},
		{` { "S" : "x" , "Unknown" : [1, {"a": [true]}] } `, S("x")},
		{`{"N":null,"S":"x"}`, S("x")},
	} {
		if tc.in == `{"N":"1.50"}` {
			tc.want = n(t, "1.5")
		}
		var v AttributeValue
		if err := json.Unmarshal([]byte(tc.in), &v); err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if !Equal(v, tc.want) {
			t.Errorf("%s decoded to %s, want %s", tc.in, v, tc.want)
		}
	}
}

// Wording: dynalite validations/index.js (checkTypes, validateAttributeValue),
// nubo-db and paritysuite dynamodb-conformance captures.
func TestDDBJSONDecodeErrors(t *testing.T) {
	t.Parallel()
	const (
		v = ValidationException
		s = SerializationException
	)
	for _, tc := range []struct {
		in, typ, msg string
	}{
		{`{}`, v, msgEmptyValue},
		{`{"X":"a"}`, v, msgEmptyValue},
		{`{"S":null}`, v, msgEmptyValue},
		{`null`, v, msgEmptyValue},
		{`{"S":"a","N":"1"}`, v, msgSeveralTypes},
		{`{"S":"a","N":"x"}`, v, "The parameter cannot be converted to a numeric value: x"},
		{`{"NULL":false}`, v, "One or more parameter values were invalid: Null attribute value types must have the value of true"},
		{`{"SS":[]}`, v, "One or more parameter values were invalid: An string set  may not be empty"},
		{`{"NS":[]}`, v, "One or more parameter values were invalid: An number set  may not be empty"},
		{`{"BS":[]}`, v, "One or more parameter values were invalid: Binary sets should not be empty"},
		{`{"SS":["a","a"]}`, v, `One or more parameter values were invalid: Input collection ["a", "a"] contains duplicates.`},
		{`{"NS":["1","1.0"]}`, v, "One or more parameter values were invalid: Input collection contains duplicates."},
		{`{"BS":["Yg==","Yg=="]}`, v, `One or more parameter values were invalid: Input collection ["Yg==","Yg=="]of type BS contains duplicates.`},
		{`{"NS":["1","x"]}`, v, "The parameter cannot be converted to a numeric value: x"},
		{`{"N":""}`, v, "The parameter cannot be converted to a numeric value: "},
		{`{"N":"1e126"}`, v, msgNumberOverflow},
		{`{"L":[{"S":"a"},{}]}`, v, msgEmptyValue},
		{`{"M":{"a":{"NULL":false}}}`, v, "One or more parameter values were invalid: Null attribute value types must have the value of true"},
		{`{"S":5}`, s, "NUMBER_VALUE cannot be converted to String"},
		{`{"S":5.5}`, s, "DECIMAL_VALUE cannot be converted to String"},
		{`{"S":true}`, s, "TRUE_VALUE cannot be converted to String"},
		{`{"S":false}`, s, "FALSE_VALUE cannot be converted to String"},
		{`{"S":{}}`, s, "Start of structure or map found where not expected"},
		{`{"S":[]}`, s, "Unrecognized collection type class java.lang.String"},
		{`{"N":1}`, s, "NUMBER_VALUE cannot be converted to String"},
		{`{"B":1}`, s, "only base-64-encoded strings are convertible to bytes"},
		{`{"B":[]}`, s, "Unrecognized collection type class java.nio.ByteBuffer"},
		{`{"B":"abc"}`, s, "Base64 encoded length is expected a multiple of 4 bytes but found: 3"},
		{`{"B":"a==="}`, s, "Invalid last non-pad Base64 character dectected"},
		{`{"BOOL":1}`, s, "NUMBER_VALUE cannot be converted to Boolean"},
		{`{"BOOL":"maybe"}`, s, "Unexpected token received from parser"},
		{`{"BOOL":[]}`, s, "Unrecognized collection type class java.lang.Boolean"},
		{`{"SS":"a"}`, s, "Unexpected field type"},
		{`{"SS":{}}`, s, "Start of structure or map found where not expected"},
		{`{"SS":[1]}`, s, "NUMBER_VALUE cannot be converted to String"},
		{`{"L":{}}`, s, "Start of structure or map found where not expected"},
		{`{"L":1}`, s, "Unexpected field type"},
		{`{"M":[]}`, s, "Unrecognized collection type java.util.Map<java.lang.String, com.amazonaws.dynamodb.v20120810.AttributeValue>"},
		{`{"M":"a"}`, s, "Unexpected field type"},
		{`[]`, s, "Unrecognized collection type class com.amazonaws.dynamodb.v20120810.AttributeValue"},
		{`"x"`, s, "Unexpected value type in payload"},
		// A serialization error anywhere wins over a validation error before it.
		{`{"L":[{},{"S":1}]}`, s, "NUMBER_VALUE cannot be converted to String"},
	} {
		var val AttributeValue
		err := val.UnmarshalJSON([]byte(tc.in))
		t.Run(tc.in, func(t *testing.T) { wantError(t, err, tc.typ, tc.msg) })
	}
}

// deep wraps a leaf in n single-member maps, as the nesting captures do.
func deep(n int) string {
	s := `{"S":"leaf"}`
	for range n {
		s = `{"M":{"n":` + s + `}}`
	}
	return s
}

// paritysuite/dynamodb-conformance tests/tier3/limits/nestingDepth.test.ts:
// an attribute is level 1; 31 wraps (leaf at level 32) is accepted, 32 wraps
// refused.
func TestDDBJSONNestingDepth(t *testing.T) {
	t.Parallel()
	if _, err := DecodeItem([]byte(`{"data":` + deep(31) + `}`)); err != nil {
		t.Errorf("31 levels of nesting: %v", err)
	}
	_, err := DecodeItem([]byte(`{"data":` + deep(32) + `}`))
	wantValidation(t, err, "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit")
	var v AttributeValue
	wantValidation(t, v.UnmarshalJSON([]byte(deep(32))), errNesting.Message)
	// Far deeper input is refused without recursing into it.
	wantValidation(t, v.UnmarshalJSON([]byte(strings.Repeat(`{"L":[`, 100000)+`{"S":"x"}`+strings.Repeat(`]}`, 100000))), errNesting.Message)
}

func TestDDBJSONEncode(t *testing.T) {
	t.Parallel()
	item := Item{
		"z":  S("q\"\\\n\x01é"),
		"n":  n(t, "150.0"),
		"b":  B([]byte{0xff, 0}),
		"t":  Bool(true),
		"nl": Null(),
		"ss": ss(t, "b", "a"),
		"ns": ns(t, "2", "10", "-1"),
		"l":  L(Int(1), M(map[string]AttributeValue{"y": Bool(false), "x": L()})),
		"bs": func() AttributeValue { v, _ := BS([]byte("b"), []byte("a")); return v }(),
	}
	want := `{"b":{"B":"/wA="},"bs":{"BS":["YQ==","Yg=="]},"l":{"L":[{"N":"1"},{"M":{"x":{"L":[]},"y":{"BOOL":false}}}]},` +
		`"n":{"N":"150"},"nl":{"NULL":true},"ns":{"NS":["-1","2","10"]},"ss":{"SS":["a","b"]},"t":{"BOOL":true},` +
		`"z":{"S":"q\"\\\n\u0001é"}}`
	for range 3 {
		got, err := json.Marshal(item)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Fatalf("encoded\n got %s\nwant %s", got, want)
		}
	}
	back := decodeItem(t, want)
	if !Equal(M(back), M(item)) {
		t.Errorf("round trip changed the item: %s", jsonOf(back))
	}
	if _, err := json.Marshal(Item{"a": {}}); err == nil {
		t.Error("marshalled the zero AttributeValue")
	}
	if got := AppendJSON(nil, S("\xff")); string(got) != `{"S":"\ufffd"}` {
		t.Errorf("invalid UTF-8 encoded as %s", got)
	}
}

// An Item inside a request decodes through encoding/json, as the front end
// will decode it.
func TestDDBJSONInRequest(t *testing.T) {
	t.Parallel()
	var req struct {
		TableName string
		Item      Item
		Values    map[string]AttributeValue `json:"ExpressionAttributeValues"`
	}
	body := `{"TableName":"T","Item":{"pk":{"S":"a"},"n":{"N":"01"}},"ExpressionAttributeValues":{":v":{"SS":["x"]}}}`
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		t.Fatal(err)
	}
	if req.Item["n"].N() != "1" || req.Item["pk"].S() != "a" || req.Values[":v"].Len() != 1 {
		t.Errorf("decoded %+v", req)
	}
	err := json.Unmarshal([]byte(`{"Item":{"a":{"S":1}}}`), &req)
	wantError(t, err, SerializationException, "NUMBER_VALUE cannot be converted to String")
}

// sdkClient is a DynamoDB client whose requests go to handler, through the
// SDK's own serializer and deserializer.
func sdkClient(t testing.TB, handler func(op string, body []byte) string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String("http://ddb.invalid"),
		Credentials:      aws.AnonymousCredentials{},
		RetryMaxAttempts: 1,
		HTTPClient: doerFunc(func(r *http.Request) (*http.Response, error) {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				return nil, err
			}
			op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_20120810.")
			resp := handler(op, body)
			return &http.Response{
				StatusCode: 200,
				Header:     http.Header{"Content-Type": {"application/x-amz-json-1.0"}},
				Body:       io.NopCloser(strings.NewReader(resp)),
				Request:    r,
			}, nil
		}),
	})
}

type doerFunc func(*http.Request) (*http.Response, error)

func (f doerFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

// sdkValue generates SDK attribute values in canonical form (numbers without
// redundant zeros, sets sorted and distinct), so that a faithful round trip
// gives back exactly what went in.
func sdkValue(depth int) *rapid.Generator[types.AttributeValue] {
	return rapid.Custom(func(t *rapid.T) types.AttributeValue {
		kinds := 8
		if depth < 3 {
			kinds = 10
		}
		switch rapid.IntRange(0, kinds-1).Draw(t, "kind") {
		case 0:
			return &types.AttributeValueMemberS{Value: rapid.String().Draw(t, "s")}
		case 1:
			return &types.AttributeValueMemberN{Value: canonicalNumber().Draw(t, "n")}
		case 2:
			return &types.AttributeValueMemberB{Value: rapid.SliceOf(rapid.Byte()).Draw(t, "b")}
		case 3:
			return &types.AttributeValueMemberBOOL{Value: rapid.Bool().Draw(t, "bool")}
		case 4:
			return &types.AttributeValueMemberNULL{Value: true}
		case 5:
			m := rapid.SliceOfNDistinct(rapid.String(), 1, 5, rapid.ID).Draw(t, "ss")
			slices.Sort(m)
			return &types.AttributeValueMemberSS{Value: m}
		case 6:
			m := rapid.SliceOfNDistinct(canonicalNumber(), 1, 5, rapid.ID).Draw(t, "ns")
			slices.SortFunc(m, compareCanonical)
			return &types.AttributeValueMemberNS{Value: m}
		case 7:
			m := rapid.SliceOfNDistinct(rapid.SliceOfN(rapid.Byte(), 0, 8), 1, 5, func(b []byte) string { return string(b) }).Draw(t, "bs")
			slices.SortFunc(m, bytes.Compare)
			return &types.AttributeValueMemberBS{Value: m}
		case 8:
			l := rapid.SliceOfN(sdkValue(depth+1), 0, 4).Draw(t, "l")
			if l == nil {
				l = []types.AttributeValue{}
			}
			return &types.AttributeValueMemberL{Value: l}
		default:
			m := rapid.MapOfN(rapid.String(), sdkValue(depth+1), 0, 4).Draw(t, "m")
			return &types.AttributeValueMemberM{Value: m}
		}
	})
}

// canonicalNumber generates numbers in DynamoDB's canonical text.
func canonicalNumber() *rapid.Generator[string] {
	return rapid.Custom(func(t *rapid.T) string {
		digits := rapid.StringMatching(`[1-9]([0-9]{0,36}[1-9])?`).Draw(t, "digits")
		exp := rapid.IntRange(minNumberExp, maxNumberExp).Draw(t, "exp")
		d := decimal{neg: rapid.Bool().Draw(t, "neg"), digits: digits, exp: exp}
		if rapid.IntRange(0, 20).Draw(t, "zero") == 0 {
			d = decimal{}
		}
		return d.String()
	})
}

// The SDK serializes an item (PutItem), this package decodes and re-encodes
// it (as PutItem's Attributes), the SDK deserializes the result: it must be
// what went in.
func TestDDBJSONRoundTripThroughSDK(t *testing.T) {
	t.Parallel()
	var sent []byte
	client := sdkClient(t, func(op string, body []byte) string {
		if op != "PutItem" {
			panic(op)
		}
		sent = body
		var req struct{ Item Item }
		if err := json.Unmarshal(body, &req); err != nil {
			return fmt.Sprintf(`{"__bad":%q}`, err)
		}
		return `{"Attributes":` + string(AppendItemJSON(nil, req.Item)) + `}`
	})
	rapid.Check(t, func(rt *rapid.T) {
		item := rapid.MapOfN(rapid.StringN(1, 8, 32), sdkValue(0), 1, 6).Draw(rt, "item")
		out, err := client.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String("T"), Item: item})
		if err != nil {
			rt.Fatalf("PutItem: %v", err)
		}
		if !reflect.DeepEqual(out.Attributes, item) {
			rt.Fatalf("round trip through %s\n got %s\nwant %s", sent, sdkString(out.Attributes), sdkString(item))
		}
	})
}

// The SDK's values as canonicalised by this package: numbers in another
// notation and sets in another order come back canonical.
func TestDDBJSONCanonicalisesSDKValues(t *testing.T) {
	t.Parallel()
	client := sdkClient(t, func(op string, body []byte) string {
		var req struct{ Item Item }
		if err := json.Unmarshal(body, &req); err != nil {
			panic(err)
		}
		return `{"Attributes":` + string(AppendItemJSON(nil, req.Item)) + `}`
	})
	in := map[string]types.AttributeValue{
		"n":  &types.AttributeValueMemberN{Value: "1.50E2"},
		"ns": &types.AttributeValueMemberNS{Value: []string{"10", "9", "0.50"}},
		"ss": &types.AttributeValueMemberSS{Value: []string{"b", "a"}},
	}
	out, err := client.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String("T"), Item: in})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]types.AttributeValue{
		"n":  &types.AttributeValueMemberN{Value: "150"},
		"ns": &types.AttributeValueMemberNS{Value: []string{"0.5", "9", "10"}},
		"ss": &types.AttributeValueMemberSS{Value: []string{"a", "b"}},
	}
	if !reflect.DeepEqual(out.Attributes, want) {
		t.Errorf("got %s, want %s", sdkString(out.Attributes), sdkString(want))
	}
}

func sdkString(m map[string]types.AttributeValue) string {
	var b strings.Builder
	for _, k := range sortedKeys(m) {
		fmt.Fprintf(&b, "%q:%s ", k, sdkValueString(m[k]))
	}
	return b.String()
}

func sdkValueString(v types.AttributeValue) string {
	switch v := v.(type) {
	case *types.AttributeValueMemberL:
		parts := make([]string, len(v.Value))
		for i, e := range v.Value {
			parts[i] = sdkValueString(e)
		}
		return "L[" + strings.Join(parts, ",") + "]"
	case *types.AttributeValueMemberM:
		return "M{" + sdkString(v.Value) + "}"
	}
	return fmt.Sprintf("%T%+v", v, v)
}

func TestDDBDecodeItemShapes(t *testing.T) {
	t.Parallel()
	if it, err := DecodeItem([]byte(" null ")); err != nil || it != nil {
		t.Errorf("null decoded to %v, %v", it, err)
	}
	if it, err := DecodeItem([]byte("{}")); err != nil || it == nil || len(it) != 0 {
		t.Errorf("{} decoded to %v, %v", it, err)
	}
	_, err := DecodeItem([]byte(`[]`))
	wantError(t, err, SerializationException, "Unrecognized collection type java.util.Map<java.lang.String, com.amazonaws.dynamodb.v20120810.AttributeValue>")
	_, err = DecodeItem([]byte(`{"a":{"S":"x"}} x`))
	wantError(t, err, SerializationException, `Unexpected character ('x') at offset 16`)
	_, err = DecodeItem([]byte(`{"a":{"S":"x"}`))
	wantError(t, err, SerializationException, "Unexpected end-of-input")
}

// An UpdateItem request as the SDK writes it goes through the pieces the
// front end will use — decode, Expressions.Parse, Condition.Eval,
// Update.Apply, Project — and the SDK reads back UPDATED_NEW.
func TestDDBUpdateItemThroughSDK(t *testing.T) {
	t.Parallel()
	schema := KeySchema{Partition: KeyAttribute{"pk", TypeS}}
	stored := decodeItem(t, `{"pk":{"S":"t1#a"},"n":{"N":"41"},"tags":{"SS":["x"]}}`)
	client := sdkClient(t, func(op string, body []byte) string {
		var req struct {
			Key                       Item
			UpdateExpression          *string
			ConditionExpression       *string
			ExpressionAttributeNames  map[string]string
			ExpressionAttributeValues map[string]AttributeValue
		}
		if err := json.Unmarshal(body, &req); err != nil {
			panic(err)
		}
		if err := schema.ValidateKey(req.Key); err != nil {
			panic(err)
		}
		parsed, err := (&Expressions{
			UpdateExpression: req.UpdateExpression, ConditionExpression: req.ConditionExpression,
			ExpressionAttributeNames: req.ExpressionAttributeNames, ExpressionAttributeValues: req.ExpressionAttributeValues,
			Schema: schema,
		}).Parse()
		if err != nil {
			panic(err)
		}
		if !parsed.Condition.Eval(stored) {
			return `{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"}`
		}
		updated, err := parsed.Update.Apply(stored)
		if err != nil {
			panic(err)
		}
		return `{"Attributes":` + string(AppendItemJSON(nil, Project(updated, parsed.Update.Paths()))) + `}`
	})
	out, err := client.UpdateItem(t.Context(), &dynamodb.UpdateItemInput{
		TableName:                aws.String("T"),
		Key:                      map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "t1#a"}},
		UpdateExpression:         aws.String("SET #n = #n + :one ADD tags :t"),
		ConditionExpression:      aws.String("attribute_exists(pk) AND #n < :max"),
		ExpressionAttributeNames: map[string]string{"#n": "n"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":one": &types.AttributeValueMemberN{Value: "1"},
			":max": &types.AttributeValueMemberN{Value: "100"},
			":t":   &types.AttributeValueMemberSS{Value: []string{"y"}},
		},
		ReturnValues: types.ReturnValueUpdatedNew,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]types.AttributeValue{
		"n":    &types.AttributeValueMemberN{Value: "42"},
		"tags": &types.AttributeValueMemberSS{Value: []string{"x", "y"}},
	}
	if !reflect.DeepEqual(out.Attributes, want) {
		t.Errorf("UPDATED_NEW = %s", sdkString(out.Attributes))
	}
}
