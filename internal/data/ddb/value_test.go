package ddb

import (
	"errors"
	"strings"
	"testing"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
)

func TestDDBNumberCanonical(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"0", "0"},
		{"-0", "0"},
		{"0.000", "0"},
		{"0e99999999999", "0"},
		{"00042", "42"},
		{"0042.1200", "42.12"}, // paritysuite numberByteSize.test.ts
		{"1.0", "1"},
		{"3.1400", "3.14"},
		{"1.5E2", "150"},
		{"1E2", "100"},
		{"1e+2", "100"},
		{"-1.5e-3", "-0.0015"},
		{"+7", "7"},
		{".5", "0.5"},
		{"5.", "5"},
		{"1E-130", "0." + strings.Repeat("0", 129) + "1"},
		{"1E125", "1" + strings.Repeat("0", 125)},
		{"9.9999999999999999999999999999999999999E+125", "99999999999999999999999999999999999999" + strings.Repeat("0", 88)},
		{"-9.9999999999999999999999999999999999999E+125", "-99999999999999999999999999999999999999" + strings.Repeat("0", 88)},
		{"12345678901234567890123456789012345678", "12345678901234567890123456789012345678"},
		{"0.00000000000000000000000000000000000001", "0.00000000000000000000000000000000000001"},
		{"1234567890123456789012345678901234567800000", "1234567890123456789012345678901234567800000"},
	} {
		v, err := N(tc.in)
		if err != nil {
			t.Errorf("N(%q): %v", tc.in, err)
			continue
		}
		if v.N() != tc.want {
			t.Errorf("N(%q) = %q, want %q", tc.in, v.N(), tc.want)
		}
	}
}

// The messages are DynamoDB's current layer, captured in
// paritysuite/dynamodb-conformance valueLayers.test.ts.
func TestDDBNumberErrors(t *testing.T) {
	t.Parallel()
	const notNumeric = "The parameter cannot be converted to a numeric value: "
	for _, tc := range []struct{ in, msg string }{
		{"abc", notNumeric + "abc"},
		{"1.2.3", notNumeric + "1.2.3"},
		{"", notNumeric},
		{" 1", notNumeric + " 1"},
		{"1 ", notNumeric + "1 "},
		{"0x10", notNumeric + "0x10"},
		{"1e", notNumeric + "1e"},
		{"1e+", notNumeric + "1e+"},
		{"NaN", notNumeric + "NaN"},
		{"Infinity", notNumeric + "Infinity"},
		{"-", notNumeric + "-"},
		{".", notNumeric + "."},
		{"1e126", msgNumberOverflow},
		{"1E+126", msgNumberOverflow},
		{"-1E+126", msgNumberOverflow},
		{"1e99999999999", msgNumberOverflow},
		{"-1e99999999999", msgNumberOverflow},
		{"1e2147483648", msgNumberOverflow},
		{"1e2147483647", msgNumberOverflow},
		{"1e-131", msgNumberUnderflow},
		{"1e-99999999999", msgNumberUnderflow},
		{"1e-2147483648", msgNumberUnderflow},
		{"123456789012345678901234567890123456789", msgNumberPrecision},
		{"1234567890123456789012345678901234567890", msgNumberPrecision},
	} {
		_, err := N(tc.in)
		wantValidation(t, err, tc.msg)
	}
}

func TestDDBNumberCompare(t *testing.T) {
	t.Parallel()
	ordered := []string{
		"-9.9999999999999999999999999999999999999E+125", "-1E125", "-100", "-10.5", "-10", "-1",
		"-0.5", "-0.05", "-1E-130", "0", "1E-130", "0.001", "0.0011", "0.01", "0.1",
		"1", "1.5", "9", "10", "10.01", "100", "1E125", "9.9999999999999999999999999999999999999E+125",
	}
	for i, a := range ordered {
		for j, b := range ordered {
			c, ok := Compare(n(t, a), n(t, b))
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if !ok || sgn(c) != want {
				t.Errorf("Compare(%s, %s) = %d, %v; want %d", a, b, c, ok, want)
			}
		}
	}
	if !Equal(n(t, "1.0"), n(t, "1")) || !Equal(n(t, "100"), n(t, "1E2")) {
		t.Error("numerically equal numbers are not Equal")
	}
	if _, ok := Compare(S("1"), n(t, "1")); ok {
		t.Error("Compare of S and N is ok")
	}
	if _, ok := Compare(ss(t, "a"), ss(t, "a")); ok {
		t.Error("Compare of sets is ok")
	}
}

func sgn(c int) int {
	switch {
	case c < 0:
		return -1
	case c > 0:
		return 1
	}
	return 0
}

func TestDDBNumberArithmetic(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b     string
		subtract bool
		want     string
		msg      string
	}{
		{a: "1", b: "2", want: "3"},
		{a: "1.5", b: "2.25", want: "3.75"},
		{a: "0.1", b: "0.2", want: "0.3"},
		{a: "1", b: "1", subtract: true, want: "0"},
		{a: "1", b: "3", subtract: true, want: "-2"},
		{a: "-1.5", b: "-1.5", subtract: true, want: "0"},
		{a: "0", b: "5", subtract: true, want: "-5"},
		{a: "1E100", b: "1", want: "1" + strings.Repeat("0", 99) + "1", msg: msgNumberPrecision},
		{a: "1E30", b: "1", want: "1" + strings.Repeat("0", 29) + "1"},
		{a: "9.9999999999999999999999999999999999999E+125", b: "1E+125", msg: msgNumberOverflow},
		{a: "1E-130", b: "1E-130", subtract: true, want: "0"},
		{a: "99999999999999999999999999999999999999", b: "1", want: "1" + strings.Repeat("0", 38)},
	} {
		r, err := addDecimals(decimalOf(n(t, tc.a).N()), decimalOf(n(t, tc.b).N()), tc.subtract)
		if tc.msg != "" {
			wantValidation(t, err, tc.msg)
			continue
		}
		if err != nil {
			t.Errorf("%s ± %s: %v", tc.a, tc.b, err)
			continue
		}
		if r.String() != tc.want {
			t.Errorf("%s ± %s (subtract %v) = %s, want %s", tc.a, tc.b, tc.subtract, r, tc.want)
		}
	}
}

// The 23 number sizes measured against DynamoDB's 400 KB gate
// (paritysuite/dynamodb-conformance src/item-size.ts, 2026-08).
func TestDDBSizeOfNumbers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		literal string
		bytes   int
	}{
		{"0", 1}, {"1", 2}, {"12", 2}, {"123", 3}, {"1234", 3},
		{"12345678901234567890123456789012345678", 20},
		{"0042", 2}, {"100", 2}, {"1010", 3}, {"0.0000001", 2}, {"1E125", 2}, {"1E-100", 2},
		{"1.5", 3}, {"15", 2}, {"1.2", 3}, {"1.200", 3}, {"1.234", 4}, {"3.14159", 5},
		{"123456", 4}, {"100.5", 4}, {"0.15", 2}, {"-42", 3}, {"-0", 1},
	} {
		if got := Size(Item{"n": n(t, tc.literal)}) - 1; got != tc.bytes {
			t.Errorf("size of %s = %d, want %d", tc.literal, got, tc.bytes)
		}
	}
}

func TestDDBSize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		item Item
		want int
	}{
		// The developer guide's example ("Item size"): 23 bytes.
		{"guide example", Item{"shirt-color": S("R"), "shirt-size": S("M")}, 23},
		{"utf-8 bytes", Item{"é": S("日本")}, 2 + 6},
		{"binary", Item{"b": B([]byte{0, 1, 2})}, 1 + 3},
		{"bool and null", Item{"t": Bool(true), "z": Null()}, 2 + 2},
		{"empty list and map", Item{"l": L(), "m": M(nil)}, (1 + 3) + (1 + 3)},
		{"list", Item{"l": L(S("ab"), Bool(false))}, 1 + 3 + (1 + 2) + (1 + 1)},
		{"map counts member names", Item{"m": M(map[string]AttributeValue{"key": S("v")})}, 1 + 3 + 1 + 3 + 1},
		{"string set", Item{"s": ss(t, "a", "bc")}, 1 + 3},
		{"number set", Item{"s": ns(t, "1", "1.5")}, 1 + 2 + 3},
	} {
		if got := Size(tc.item); got != tc.want {
			t.Errorf("%s: Size = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestDDBSets(t *testing.T) {
	t.Parallel()
	v := ss(t, "b", "a", "c")
	if got := v.SS(); strings.Join(got, ",") != "a,b,c" {
		t.Errorf("SS order = %q", got)
	}
	if !Equal(v, ss(t, "c", "b", "a")) {
		t.Error("sets with the same members in another order are not Equal")
	}
	if got := ns(t, "10", "9", "-1", "1.5").NS(); strings.Join(got, ",") != "-1,1.5,9,10" {
		t.Errorf("NS order = %q", got)
	}

	_, err := SS()
	wantValidation(t, err, "One or more parameter values were invalid: An string set  may not be empty")
	_, err = NS()
	wantValidation(t, err, "One or more parameter values were invalid: An number set  may not be empty")
	_, err = BS()
	wantValidation(t, err, "One or more parameter values were invalid: Binary sets should not be empty")

	// paritysuite valueLayers.test.ts: SS b, a, b; BS /w==, AA==, AA==; NS 2, 1, 2.
	_, err = SS("b", "a", "b")
	wantValidation(t, err, `One or more parameter values were invalid: Input collection ["a", "b", "b"] contains duplicates.`)
	_, err = BS([]byte{0xff}, []byte{0}, []byte{0})
	wantValidation(t, err, `One or more parameter values were invalid: Input collection ["AA==","/w==","AA=="]of type BS contains duplicates.`)
	_, err = NS("2", "1", "2")
	wantValidation(t, err, "One or more parameter values were invalid: Input collection contains duplicates.")
	_, err = NS("1", "1.0")
	wantValidation(t, err, "One or more parameter values were invalid: Input collection contains duplicates.")
	// nubo-db/dynamodb-conformance putItem.test.ts: ["a", "a"] (its older
	// capture printed the members unquoted).
	_, err = SS("a", "a")
	wantValidation(t, err, `One or more parameter values were invalid: Input collection ["a", "a"] contains duplicates.`)
}

func TestDDBValueAccessors(t *testing.T) {
	t.Parallel()
	raw := []byte{1, 2}
	b := B(raw)
	raw[0] = 9
	if got := b.B(); got[0] != 1 {
		t.Error("B does not copy its input")
	}
	b.B()[0] = 7
	if b.B()[0] != 1 {
		t.Error("B() does not return a copy")
	}
	l := L(S("a"))
	l.L()[0] = S("changed")
	if e, _ := l.Index(0); e.S() != "a" {
		t.Error("L() does not return a copy")
	}
	m := M(map[string]AttributeValue{"k": S("v")})
	m.M()["k"] = S("changed")
	if e, _ := m.Member("k"); e.S() != "v" {
		t.Error("M() does not return a copy")
	}
	if S("x").N() != "" || Int(3).S() != "" || Int(-42).N() != "-42" {
		t.Error("accessor of the wrong type returns a value")
	}
	if !Equal(Null(), Null()) || Equal(Bool(true), Bool(false)) || Equal(S("1"), Int(1)) {
		t.Error("Equal is wrong on scalars")
	}
	for tt := TypeS; tt <= TypeM; tt++ {
		if got, ok := ParseType(tt.String()); !ok || got != tt {
			t.Errorf("ParseType(%q) = %v, %v", tt.String(), got, ok)
		}
	}
	if _, ok := ParseType("X"); ok {
		t.Error("ParseType accepts X")
	}
}

func TestDDBErrorKinds(t *testing.T) {
	t.Parallel()
	_, err := N("x")
	if !errors.Is(err, errdefs.ErrValidation) {
		t.Errorf("validation error does not wrap errdefs.ErrValidation: %v", err)
	}
	if !errors.Is(ErrConditionalCheckFailed, errdefs.ErrPrecondition) {
		t.Error("ConditionalCheckFailedException does not wrap errdefs.ErrPrecondition")
	}
	var e *Error
	errors.As(err, &e)
	if got := e.Enveloped().Message; got != "1 validation error detected: The parameter cannot be converted to a numeric value: x" {
		t.Errorf("Enveloped = %q", got)
	}
	if e.Error() != "ValidationException: The parameter cannot be converted to a numeric value: x" {
		t.Errorf("Error() = %q", e.Error())
	}
}

func TestDDBReservedWords(t *testing.T) {
	t.Parallel()
	if got := len(reserved); got != 573 {
		t.Errorf("%d reserved words, want the developer guide's 573", got)
	}
	for _, w := range []string{"status", "STATUS", "Name", "data", "count", "items", "abOrt", "flattern", "ttl", "zone"} {
		if !IsReserved(w) {
			t.Errorf("IsReserved(%q) = false", w)
		}
	}
	for _, w := range []string{"pk", "sk", "statuses", "attr1", "", "a_b", "abortabortabortabort"} {
		if IsReserved(w) {
			t.Errorf("IsReserved(%q) = true", w)
		}
	}
}
