package ddb

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
)

// Type is the data type of an AttributeValue, named as on the wire.
type Type uint8

// The ten DynamoDB data types. The zero Type is no type: the zero
// AttributeValue, which is not a valid value.
const (
	TypeS Type = iota + 1
	TypeN
	TypeB
	TypeBOOL
	TypeNULL
	TypeSS
	TypeNS
	TypeBS
	TypeL
	TypeM
)

var typeNames = [...]string{"", "S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS", "L", "M"}

// String returns the wire name: "S", "N", ..., "M"; "" for the zero Type.
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// ParseType returns the Type with the given wire name.
func ParseType(name string) (Type, bool) {
	for i, n := range typeNames {
		if i > 0 && n == name {
			return Type(i), true
		}
	}
	return 0, false
}

// IsScalarKey reports whether a key attribute may have this type (S, N, B).
func (t Type) IsScalarKey() bool { return t == TypeS || t == TypeN || t == TypeB }

func (t Type) isSet() bool { return t == TypeSS || t == TypeNS || t == TypeBS }

// member is the scalar type of a set's members.
func (t Type) member() Type {
	switch t {
	case TypeSS:
		return TypeS
	case TypeNS:
		return TypeN
	case TypeBS:
		return TypeB
	}
	return 0
}

// AttributeValue is one DynamoDB value. It is immutable: constructors copy
// what they are given and accessors return copies, so values can be shared
// between items. Numbers are held in canonical form (see N) and set members in
// a canonical order — strings and binaries by bytes, numbers numerically — so
// equal values have equal encodings.
type AttributeValue struct {
	typ     Type
	boolean bool
	// str holds S, the canonical text of N, and the bytes of B.
	str string
	// list holds L, and the members of SS, NS and BS as S, N and B values.
	list []AttributeValue
	m    map[string]AttributeValue
}

// S returns a string value. DynamoDB allows the empty string except in keys.
func S(s string) AttributeValue { return AttributeValue{typ: TypeS, str: s} }

// N parses a number: Java BigDecimal syntax ("-1.5", "1E-3", ".5"), at most 38
// significant digits, magnitude 1E-130 to 9.99...E+125. Errors are
// ValidationExceptions in DynamoDB's wording.
func N(s string) (AttributeValue, error) {
	d, err := parseDecimal(s)
	if err != nil {
		return AttributeValue{}, err
	}
	return AttributeValue{typ: TypeN, str: d.String()}, nil
}

// Int returns the number i.
func Int(i int64) AttributeValue {
	return AttributeValue{typ: TypeN, str: strconv.FormatInt(i, 10)}
}

// B returns a binary value holding a copy of b.
func B(b []byte) AttributeValue { return AttributeValue{typ: TypeB, str: string(b)} }

// Bool returns a BOOL value.
func Bool(b bool) AttributeValue { return AttributeValue{typ: TypeBOOL, boolean: b} }

// Null returns the NULL value ({"NULL":true}).
func Null() AttributeValue { return AttributeValue{typ: TypeNULL, boolean: true} }

// L returns a list of the given elements.
func L(elems ...AttributeValue) AttributeValue {
	return AttributeValue{typ: TypeL, list: slices.Clone(elems)}
}

// M returns a map holding a copy of m.
func M(m map[string]AttributeValue) AttributeValue {
	c := make(map[string]AttributeValue, len(m))
	for k, v := range m {
		c[k] = v
	}
	return AttributeValue{typ: TypeM, m: c}
}

// SS returns a string set. DynamoDB refuses empty sets and duplicates.
func SS(members ...string) (AttributeValue, error) {
	vals := make([]AttributeValue, len(members))
	for i, s := range members {
		vals[i] = S(s)
	}
	return newSet(TypeSS, vals)
}

// NS returns a number set; each member is parsed as by N, and members equal
// as numbers ("1" and "1.0") are duplicates.
func NS(members ...string) (AttributeValue, error) {
	vals := make([]AttributeValue, len(members))
	for i, s := range members {
		v, err := N(s)
		if err != nil {
			return AttributeValue{}, err
		}
		vals[i] = v
	}
	return newSet(TypeNS, vals)
}

// BS returns a binary set.
func BS(members ...[]byte) (AttributeValue, error) {
	vals := make([]AttributeValue, len(members))
	for i, b := range members {
		vals[i] = B(b)
	}
	return newSet(TypeBS, vals)
}

// newSet validates members (already of the member type) and sorts them.
func newSet(t Type, members []AttributeValue) (AttributeValue, error) {
	if len(members) == 0 {
		return AttributeValue{}, emptySetError(t)
	}
	sorted := slices.Clone(members)
	slices.SortFunc(sorted, compareScalar)
	for i := 1; i < len(sorted); i++ {
		if compareScalar(sorted[i-1], sorted[i]) == 0 {
			return AttributeValue{}, duplicateError(t, members)
		}
	}
	return AttributeValue{typ: t, list: sorted}, nil
}

// Empty-set messages: dynalite validations/index.js, confirmed by
// nubo-db/dynamodb-conformance tests/tier3/error-messages/putItem.test.ts
// (the doubled space is DynamoDB's).
func emptySetError(t Type) *Error {
	switch t {
	case TypeSS:
		return invalidParameter("An string set  may not be empty")
	case TypeNS:
		return invalidParameter("An number set  may not be empty")
	}
	return invalidParameter("Binary sets should not be empty")
}

// duplicateError words a duplicate set member as DynamoDB's current
// validation layer does (paritysuite/dynamodb-conformance valueLayers.test.ts,
// 2026-10): the members in byte order up to the first repeat, then the
// repeat, then the rest as sent; strings quoted and ", "-separated, binaries
// base64, quoted and ","-separated, with no space before "of type BS"; a
// number set names no members.
func duplicateError(t Type, members []AttributeValue) *Error {
	if t == TypeNS {
		return invalidParameter("Input collection contains duplicates.")
	}
	var seen []AttributeValue
	repeat := 0
	for i, m := range members {
		at, found := slices.BinarySearchFunc(seen, m, compareScalar)
		if found {
			repeat = i
			break
		}
		seen = slices.Insert(seen, at, m)
	}
	shown := append(append(seen, members[repeat]), members[repeat+1:]...)
	var b strings.Builder
	b.WriteByte('[')
	for i, m := range shown {
		if i > 0 {
			if t == TypeSS {
				b.WriteString(", ")
			} else {
				b.WriteByte(',')
			}
		}
		if t == TypeSS {
			b.Write(AppendJSONString(nil, m.str))
		} else {
			b.WriteByte('"')
			b.WriteString(base64Encode(m.str))
			b.WriteByte('"')
		}
	}
	b.WriteByte(']')
	if t == TypeSS {
		return invalidParameter("Input collection %s contains duplicates.", b.String())
	}
	return invalidParameter("Input collection %sof type BS contains duplicates.", b.String())
}

// Type returns the value's data type; 0 for the zero AttributeValue.
func (v AttributeValue) Type() Type { return v.typ }

// IsZero reports whether v is the zero AttributeValue, which holds no value.
func (v AttributeValue) IsZero() bool { return v.typ == 0 }

// S returns the string of an S value, "" for other types.
func (v AttributeValue) S() string {
	if v.typ != TypeS {
		return ""
	}
	return v.str
}

// N returns the canonical text of an N value, "" for other types.
func (v AttributeValue) N() string {
	if v.typ != TypeN {
		return ""
	}
	return v.str
}

// B returns a copy of the bytes of a B value, nil for other types.
func (v AttributeValue) B() []byte {
	if v.typ != TypeB {
		return nil
	}
	return []byte(v.str)
}

// Bool returns the value of a BOOL value, false for other types.
func (v AttributeValue) Bool() bool { return v.typ == TypeBOOL && v.boolean }

// SS returns the members of an SS value in byte order, nil for other types.
func (v AttributeValue) SS() []string {
	return members(v, TypeSS, func(m AttributeValue) string { return m.str })
}

// NS returns the canonical members of an NS value in numeric order, nil for
// other types.
func (v AttributeValue) NS() []string {
	return members(v, TypeNS, func(m AttributeValue) string { return m.str })
}

// BS returns copies of the members of a BS value in byte order, nil for other
// types.
func (v AttributeValue) BS() [][]byte {
	return members(v, TypeBS, func(m AttributeValue) []byte { return []byte(m.str) })
}

func members[T any](v AttributeValue, t Type, f func(AttributeValue) T) []T {
	if v.typ != t {
		return nil
	}
	out := make([]T, len(v.list))
	for i, m := range v.list {
		out[i] = f(m)
	}
	return out
}

// L returns a copy of the elements of an L value, nil for other types.
func (v AttributeValue) L() []AttributeValue {
	if v.typ != TypeL {
		return nil
	}
	return slices.Clone(v.list)
}

// M returns a copy of the members of an M value, nil for other types.
func (v AttributeValue) M() map[string]AttributeValue {
	if v.typ != TypeM {
		return nil
	}
	c := make(map[string]AttributeValue, len(v.m))
	for k, e := range v.m {
		c[k] = e
	}
	return c
}

// Len returns the number of elements of an L, members of an M or a set, and
// 0 for other types.
func (v AttributeValue) Len() int {
	if v.typ == TypeM {
		return len(v.m)
	}
	return len(v.list)
}

// Index returns element i of an L value.
func (v AttributeValue) Index(i int) (AttributeValue, bool) {
	if v.typ != TypeL || i < 0 || i >= len(v.list) {
		return AttributeValue{}, false
	}
	return v.list[i], true
}

// Member returns member name of an M value.
func (v AttributeValue) Member(name string) (AttributeValue, bool) {
	if v.typ != TypeM {
		return AttributeValue{}, false
	}
	e, ok := v.m[name]
	return e, ok
}

// Equal reports whether a and b are the same value: the same type and, for
// numbers, numerically equal ("1.0" equals "1"); sets compare as sets, lists
// element by element, maps member by member.
func Equal(a, b AttributeValue) bool {
	if a.typ != b.typ || a.boolean != b.boolean || a.str != b.str || len(a.list) != len(b.list) || len(a.m) != len(b.m) {
		return false
	}
	for i := range a.list {
		if !Equal(a.list[i], b.list[i]) {
			return false
		}
	}
	for k, av := range a.m {
		bv, ok := b.m[k]
		if !ok || !Equal(av, bv) {
			return false
		}
	}
	return true
}

// Compare orders two values of the same scalar type (S, N, B) as DynamoDB
// orders them: strings and binaries by bytes, numbers numerically. ok is false
// when the types differ or are not S, N or B.
func Compare(a, b AttributeValue) (c int, ok bool) {
	if a.typ != b.typ || !a.typ.IsScalarKey() {
		return 0, false
	}
	return compareScalar(a, b), true
}

// compareScalar orders two S, N or B values of one type.
func compareScalar(a, b AttributeValue) int {
	if a.typ == TypeN {
		return compareCanonical(a.str, b.str)
	}
	return strings.Compare(a.str, b.str)
}

// setHas reports whether set v has member m (of the member type).
func (v AttributeValue) setHas(m AttributeValue) bool {
	_, found := slices.BinarySearchFunc(v.list, m, compareScalar)
	return found
}

// depth is the nesting level of v, counting v itself as 1.
func (v AttributeValue) depth() int {
	d := 0
	switch v.typ {
	case TypeL:
		for _, e := range v.list {
			d = max(d, e.depth())
		}
	case TypeM:
		for _, e := range v.m {
			d = max(d, e.depth())
		}
	}
	return d + 1
}

// maxDepth is DynamoDB's nesting limit: an attribute is level 1, and a value
// 32 levels deep is accepted, 33 refused (paritysuite/dynamodb-conformance
// tests/tier3/limits/nestingDepth.test.ts, 2026-06).
const maxDepth = 32

var errNesting = validation("Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit")

// sizeFunction is the size() of a condition expression: the length of an S
// in UTF-16 code units (what DynamoDB counts: ExtendDB/extenddb PR #67,
// verified against DynamoDB), of a B in bytes, the number of elements of a
// set, list or map. ok is false for N, BOOL and NULL.
func (v AttributeValue) sizeFunction() (int, bool) {
	switch v.typ {
	case TypeS:
		n := 0
		for _, r := range v.str {
			n += utf16.RuneLen(r)
		}
		return n, true
	case TypeB:
		return len(v.str), true
	case TypeSS, TypeNS, TypeBS, TypeL, TypeM:
		return v.Len(), true
	}
	return 0, false
}

// contains is the contains() function: a substring of an S, a sub-slice of
// a B, a member of a set, an element of a list.
func (v AttributeValue) contains(x AttributeValue) bool {
	switch v.typ {
	case TypeS:
		return x.typ == TypeS && strings.Contains(v.str, x.str)
	case TypeB:
		return x.typ == TypeB && bytes.Contains([]byte(v.str), []byte(x.str))
	case TypeSS, TypeNS, TypeBS:
		return x.typ == v.typ.member() && v.setHas(x)
	case TypeL:
		for _, e := range v.list {
			if Equal(e, x) {
				return true
			}
		}
	}
	return false
}

// String renders v as its wire JSON, for messages and debugging.
func (v AttributeValue) String() string { return string(AppendJSON(nil, v)) }
