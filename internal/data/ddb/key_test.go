package ddb

import (
	"bytes"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// anyNumber generates numbers across DynamoDB's whole range, in varied
// notation, biased towards the interesting places: zero, signs, the
// exponent extremes, shared digit prefixes.
func anyNumber() *rapid.Generator[AttributeValue] {
	return rapid.Custom(func(t *rapid.T) AttributeValue {
		s := canonicalNumber().Draw(t, "n")
		if rapid.Bool().Draw(t, "prefix") {
			// Extend or cut the digits of a small fixed set to get numbers
			// sharing prefixes: 0.12, 0.123, 0.1203, -0.12...
			s = rapid.SampledFrom([]string{"0.12", "0.123", "0.1203", "0.129", "1.2", "12", "120", "-0.12", "-0.123", "-0.129", "-12", "-120", "1E-130", "-1E-130", "9.9999999999999999999999999999999999999E+125", "-9.9999999999999999999999999999999999999E+125", "0"}).Draw(t, "fixed")
		}
		v, err := N(s)
		if err != nil {
			t.Fatalf("N(%q): %v", s, err)
		}
		return v
	})
}

// Property: bytes.Compare on encodings agrees with numeric comparison, and
// DecodeKey inverts EncodeKey.
func TestDDBKeyNumberOrder(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		a, b := anyNumber().Draw(t, "a"), anyNumber().Draw(t, "b")
		ea, err := EncodeKey(a)
		if err != nil {
			t.Fatal(err)
		}
		eb, _ := EncodeKey(b)
		want, _ := Compare(a, b)
		if got := bytes.Compare(ea, eb); sgn(got) != sgn(want) {
			t.Fatalf("Compare(%s, %s) = %d but encodings %x, %x compare %d", a.N(), b.N(), want, ea, eb, got)
		}
		back, err := DecodeKey(TypeN, ea)
		if err != nil || !Equal(back, a) {
			t.Fatalf("DecodeKey(EncodeKey(%s)) = %v, %v", a.N(), back, err)
		}
	})
}

func TestDDBKeyNumberOrderTable(t *testing.T) {
	t.Parallel()
	ordered := []string{
		"-9.9999999999999999999999999999999999999E+125", "-1E125", "-120", "-12", "-1.2",
		"-0.129", "-0.123", "-0.1203", "-0.12", "-1E-130", "0", "1E-130", "0.12", "0.1203",
		"0.123", "0.129", "1.2", "12", "120", "1E125", "9.9999999999999999999999999999999999999E+125",
	}
	var prev []byte
	for i, s := range ordered {
		e, err := EncodeKey(n(t, s))
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && bytes.Compare(prev, e) >= 0 {
			t.Errorf("encoding of %s (%x) does not sort after %s (%x)", s, e, ordered[i-1], prev)
		}
		prev = e
	}
}

// Property: S and B encodings order as the values and keep prefixes.
func TestDDBKeyStringsAndBinaries(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		a, b := rapid.String().Draw(t, "a"), rapid.String().Draw(t, "b")
		ea, _ := EncodeKey(S(a))
		eb, _ := EncodeKey(S(b))
		if sgn(bytes.Compare(ea, eb)) != sgn(strings.Compare(a, b)) {
			t.Fatalf("order of %q, %q not kept", a, b)
		}
		if strings.HasPrefix(a, b) != bytes.HasPrefix(ea, eb) {
			t.Fatalf("prefix relation of %q, %q not kept", a, b)
		}
		raw := rapid.SliceOf(rapid.Byte()).Draw(t, "raw")
		e, _ := EncodeKey(B(raw))
		back, err := DecodeKey(TypeB, e)
		if err != nil || !bytes.Equal(back.B(), raw) {
			t.Fatalf("binary %x does not round trip", raw)
		}
		back, err = DecodeKey(TypeS, ea)
		if err != nil || back.S() != a {
			t.Fatalf("string %q does not round trip", a)
		}
	})
}

func TestDDBKeyErrors(t *testing.T) {
	t.Parallel()
	for _, v := range []AttributeValue{Bool(true), Null(), ss(t, "a"), L(), M(nil), {}} {
		if _, err := EncodeKey(v); err == nil {
			t.Errorf("EncodeKey(%s) did not fail", v)
		}
	}
	for _, b := range [][]byte{nil, {0}, {keyZero, 1}, {keyPositive, 1}, {keyPositive, 1, '0'}, {keyPositive, 1, '1', '0'},
		{keyPositive, 1, 'x'}, {keyNegative, 1, '1'}, {keyNegative, 1, keyEnd}, {keyNegative, 1, 'x', keyEnd},
		append([]byte{keyPositive, 1}, strings.Repeat("1", 39)...)} {
		if v, err := DecodeKey(TypeN, b); err == nil {
			t.Errorf("DecodeKey(N, %x) = %s, want an error", b, v)
		}
	}
	if _, err := DecodeKey(TypeBOOL, []byte{1}); err == nil {
		t.Error("DecodeKey(BOOL) did not fail")
	}
}

func TestDDBKeySchemaValidation(t *testing.T) {
	t.Parallel()
	schema := KeySchema{Partition: KeyAttribute{"pk", TypeS}, Sort: KeyAttribute{"sk", TypeN}}
	hashOnly := KeySchema{Partition: KeyAttribute{"pk", TypeB}}
	const mismatch = "The provided key element does not match the schema"
	for _, tc := range []struct {
		schema KeySchema
		key    Item
		msg    string
	}{
		{schema, Item{"pk": S("a"), "sk": Int(1)}, ""},
		{schema, Item{"pk": S("a")}, mismatch},
		{schema, Item{"pk": S("a"), "sk": S("1")}, mismatch},
		{schema, Item{"pk": S("a"), "other": Int(1)}, mismatch},
		{schema, Item{"pk": S("a"), "sk": Int(1), "x": Int(1)}, mismatch},
		{schema, Item{"pk": S(""), "sk": Int(1)}, "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: pk"},
		{hashOnly, Item{"pk": B(nil)}, "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty binary value. Key: pk"},
		{schema, Item{"pk": S(strings.Repeat("x", 2049)), "sk": Int(1)}, "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes"},
		{schema, Item{"pk": S(strings.Repeat("x", 2048)), "sk": Int(1)}, ""},
		{KeySchema{Partition: KeyAttribute{"pk", TypeS}, Sort: KeyAttribute{"sk", TypeS}}, Item{"pk": S("a"), "sk": S(strings.Repeat("x", 1025))}, "One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes"},
	} {
		err := tc.schema.ValidateKey(tc.key)
		if tc.msg == "" {
			if err != nil {
				t.Errorf("ValidateKey(%s): %v", jsonOf(tc.key), err)
			}
			continue
		}
		wantValidation(t, err, tc.msg)
	}
	wantValidation(t, schema.ValidateItem(Item{"sk": Int(1)}), "One or more parameter values were invalid: Missing the key pk in the item")
	wantValidation(t, schema.ValidateItem(Item{"pk": S("a"), "sk": S("1")}), "One or more parameter values were invalid: Type mismatch for key sk expected: N actual: S")
	if err := schema.ValidateItem(Item{"pk": S("a"), "sk": Int(1), "x": Null()}); err != nil {
		t.Error(err)
	}
	if k := schema.Key(Item{"pk": S("a"), "sk": Int(1), "x": Null()}); len(k) != 2 || k["pk"].S() != "a" {
		t.Errorf("Key = %s", jsonOf(k))
	}
}
