package ddb

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// benchItemJSON is a typical 1 KB item: keys, strings, numbers, a flag, a
// string set, a small list and a nested map.
func benchItemJSON() []byte {
	var b strings.Builder
	b.WriteString(`{"pk":{"S":"tenant#8f14e45f#order#2024-06-01T12:00:00Z"},"sk":{"N":"1717243200"},`)
	b.WriteString(`"status":{"S":"shipped"},"total":{"N":"129.95"},"currency":{"S":"EUR"},"gift":{"BOOL":false},`)
	b.WriteString(`"tags":{"SS":["express","fragile","priority"]},"version":{"N":"7"},`)
	b.WriteString(`"entries":{"L":[`)
	for i := range 4 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"M":{"sku":{"S":"SKU-%06d"},"qty":{"N":"%d"},"price":{"N":"%d.99"},"name":{"S":"Product number %d with a longer name"}}}`, i*7919, i+1, 10+i, i)
	}
	b.WriteString(`]},"address":{"M":{"street":{"S":"12 Example Street"},"city":{"S":"Amsterdam"},"zip":{"S":"1011AB"},"country":{"S":"NL"}}},`)
	b.WriteString(`"note":{"S":"` + strings.Repeat("Leave at the door if nobody answers. ", 6) + `"}}`)
	return []byte(b.String())
}

func BenchmarkDecodeItem1KB(b *testing.B) {
	data := benchItemJSON()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeItem(data); err != nil {
			b.Fatal(err)
		}
	}
}

// The same item through encoding/json, as the front end decodes a request.
func BenchmarkDecodeItem1KBViaEncodingJSON(b *testing.B) {
	data := []byte(`{"TableName":"Orders","Item":` + string(benchItemJSON()) + `}`)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var req struct {
			TableName string
			Item      Item
		}
		if err := json.Unmarshal(data, &req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeItem1KB(b *testing.B) {
	item := decodeItem(b, string(benchItemJSON()))
	buf := AppendItemJSON(nil, item)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendItemJSON(buf[:0], item)
	}
}

const benchCondition = "attribute_exists(pk) AND #st IN (:pending, :shipped) AND version < :v AND NOT contains(tags, :blocked) AND entries[0].qty >= :one"

func benchParams(b *testing.B) *Params {
	return &Params{
		Names: map[string]string{"#st": "status"},
		Values: map[string]AttributeValue{":pending": S("pending"), ":shipped": S("shipped"), ":v": Int(8),
			":blocked": S("blocked"), ":one": Int(1)},
	}
}

func BenchmarkConditionParseEval(b *testing.B) {
	item := decodeItem(b, string(benchItemJSON()))
	params := benchParams(b)
	b.ReportAllocs()
	for b.Loop() {
		c, err := ParseCondition(benchCondition, params)
		if err != nil {
			b.Fatal(err)
		}
		if !c.Eval(item) {
			b.Fatal("condition false")
		}
	}
}

func BenchmarkConditionEval(b *testing.B) {
	item := decodeItem(b, string(benchItemJSON()))
	c, err := ParseCondition(benchCondition, benchParams(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if !c.Eval(item) {
			b.Fatal("condition false")
		}
	}
}

const benchUpdate = "SET #st = :shipped, version = version + :one, entries[1].qty = :one, updatedAt = :now " +
	"ADD tags :tags REMOVE note"

func benchUpdateParams() *Params {
	tags, _ := SS("tracked")
	return &Params{
		Names:  map[string]string{"#st": "status"},
		Values: map[string]AttributeValue{":shipped": S("shipped"), ":one": Int(1), ":now": S("2024-06-02T08:00:00Z"), ":tags": tags},
	}
}

func BenchmarkUpdateParseApply(b *testing.B) {
	item := decodeItem(b, string(benchItemJSON()))
	schema := KeySchema{Partition: KeyAttribute{"pk", TypeS}, Sort: KeyAttribute{"sk", TypeN}}
	b.ReportAllocs()
	for b.Loop() {
		u, err := ParseUpdate(benchUpdate, benchUpdateParams(), schema)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := u.Apply(item); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUpdateApply(b *testing.B) {
	item := decodeItem(b, string(benchItemJSON()))
	schema := KeySchema{Partition: KeyAttribute{"pk", TypeS}, Sort: KeyAttribute{"sk", TypeN}}
	u, err := ParseUpdate(benchUpdate, benchUpdateParams(), schema)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := u.Apply(item); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeKeyNumber(b *testing.B) {
	v := n(b, "-12345.678")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeKey(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSize1KB(b *testing.B) {
	item := decodeItem(b, string(benchItemJSON()))
	b.ReportAllocs()
	for b.Loop() {
		Size(item)
	}
}
