package ddb

import (
	"bytes"
	"encoding/base64"
	"errors"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// The wire form of a value is a one-member JSON object: {"S":"x"},
// {"N":"1.5"}, {"B":"<base64>"}, {"BOOL":true}, {"NULL":true}, {"SS":[...]},
// {"NS":[...]}, {"BS":[...]}, {"L":[...]}, {"M":{...}}.
//
// Decoding is strict in DynamoDB's way. A member of the wrong JSON type is a
// SerializationException worded as DynamoDB's Coral front end words it
// (architect/dynalite validations/index.js checkTypes, which mirrors it);
// these abort decoding. Everything else — no type, two types, NULL false, an
// empty or duplicated set, a bad number, nesting past 32 levels — is a
// ValidationException; decoding carries on past the first one so that a
// SerializationException later in the input still wins, as it does in
// DynamoDB, which checks types before values. Members DynamoDB does not know
// are ignored, and a member whose value is null counts as absent.
//
// Encoding is deterministic: numbers canonical, set members in canonical
// order, map members sorted by name.

// Messages for a value with no type or several (dynalite
// validations/index.js validateAttributeValue; nubo-db/dynamodb-conformance
// putItem tests).
const (
	msgEmptyValue     = "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
	msgSeveralTypes   = "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes"
	msgNullNotTrue    = "Null attribute value types must have the value of true"
	attributeValueCls = "com.amazonaws.dynamodb.v20120810.AttributeValue"
)

// UnmarshalJSON decodes the wire form of one value.
func (v *AttributeValue) UnmarshalJSON(data []byte) error {
	d := decoder{data: data}
	val, err := d.value(1)
	if err == nil {
		err = d.end()
	}
	if err != nil {
		return err
	}
	if d.invalid != nil {
		return d.invalid
	}
	*v = val
	return nil
}

// MarshalJSON encodes v in its wire form. The zero AttributeValue has none.
func (v AttributeValue) MarshalJSON() ([]byte, error) {
	if v.typ == 0 {
		return nil, errors.New("ddb: cannot marshal the zero AttributeValue")
	}
	return AppendJSON(nil, v), nil
}

// UnmarshalJSON decodes an item (or a key): a JSON object of attribute values.
func (it *Item) UnmarshalJSON(data []byte) error {
	item, err := DecodeItem(data)
	if err != nil {
		return err
	}
	*it = item
	return nil
}

// MarshalJSON encodes the item with its attributes sorted by name.
func (it Item) MarshalJSON() ([]byte, error) {
	for _, v := range it {
		if v.typ == 0 {
			return nil, errors.New("ddb: cannot marshal the zero AttributeValue")
		}
	}
	return AppendItemJSON(nil, it), nil
}

// DecodeItem decodes a JSON object of attribute values — an Item, a Key, an
// ExclusiveStartKey, ExpressionAttributeValues. JSON null decodes to a nil
// Item.
func DecodeItem(data []byte) (Item, error) {
	d := decoder{data: data}
	d.space()
	if d.literal("null") {
		if err := d.end(); err != nil {
			return nil, err
		}
		return nil, nil
	}
	if d.peek() != '{' {
		return nil, d.typeError("Map")
	}
	m, err := d.members(0)
	if err == nil {
		err = d.end()
	}
	if err != nil {
		return nil, err
	}
	if d.invalid != nil {
		return nil, d.invalid
	}
	return Item(m), nil
}

// AppendJSON appends the wire form of v to dst. The zero AttributeValue
// appends {}.
func AppendJSON(dst []byte, v AttributeValue) []byte {
	dst = append(dst, '{')
	if v.typ == 0 {
		return append(dst, '}')
	}
	dst = append(dst, '"')
	dst = append(dst, v.typ.String()...)
	dst = append(dst, '"', ':')
	switch v.typ {
	case TypeS:
		dst = AppendJSONString(dst, v.str)
	case TypeN:
		dst = append(dst, '"')
		dst = append(dst, v.str...)
		dst = append(dst, '"')
	case TypeB:
		dst = appendBase64(dst, v.str)
	case TypeBOOL, TypeNULL:
		dst = strconv.AppendBool(dst, v.boolean)
	case TypeSS, TypeNS, TypeBS:
		dst = append(dst, '[')
		for i, m := range v.list {
			if i > 0 {
				dst = append(dst, ',')
			}
			switch v.typ {
			case TypeSS:
				dst = AppendJSONString(dst, m.str)
			case TypeNS:
				dst = append(dst, '"')
				dst = append(dst, m.str...)
				dst = append(dst, '"')
			default:
				dst = appendBase64(dst, m.str)
			}
		}
		dst = append(dst, ']')
	case TypeL:
		dst = append(dst, '[')
		for i, e := range v.list {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendJSON(dst, e)
		}
		dst = append(dst, ']')
	case TypeM:
		dst = appendMembers(dst, v.m)
	}
	return append(dst, '}')
}

// AppendItemJSON appends the JSON object of an item, attributes sorted by
// name.
func AppendItemJSON(dst []byte, it Item) []byte {
	return appendMembers(dst, it)
}

func appendMembers(dst []byte, m map[string]AttributeValue) []byte {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	dst = append(dst, '{')
	for i, k := range names {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendJSONString(dst, k)
		dst = append(dst, ':')
		dst = AppendJSON(dst, m[k])
	}
	return append(dst, '}')
}

func appendBase64(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, []byte(s))
	return append(dst, '"')
}

func base64Encode(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string. Bytes that are not UTF-8 are
// written as U+FFFD, as encoding/json does.
func AppendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// decoder reads the wire form from data. Serialization errors are returned
// at once; the first validation error is kept in invalid while decoding goes
// on.
type decoder struct {
	data    []byte
	pos     int
	invalid *Error
}

func (d *decoder) fail(e *Error) {
	if d.invalid == nil {
		d.invalid = e
	}
}

func (d *decoder) space() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *decoder) peek() byte {
	d.space()
	if d.pos < len(d.data) {
		return d.data[d.pos]
	}
	return 0
}

func (d *decoder) end() error {
	d.space()
	if d.pos != len(d.data) {
		return d.syntaxError()
	}
	return nil
}

func (d *decoder) syntaxError() *Error {
	if d.pos >= len(d.data) {
		return serialization("Unexpected end-of-input")
	}
	return serializationf("Unexpected character (%q) at offset %d", rune(d.data[d.pos]), d.pos)
}

func (d *decoder) literal(word string) bool {
	d.space()
	if bytes.HasPrefix(d.data[d.pos:], []byte(word)) {
		d.pos += len(word)
		return true
	}
	return false
}

// expect consumes c or fails with a syntax error.
func (d *decoder) expect(c byte) error {
	if d.peek() != c {
		return d.syntaxError()
	}
	d.pos++
	return nil
}

// jsonKind classifies the next JSON value without consuming it.
type jsonKind int

const (
	kindBad jsonKind = iota
	kindObject
	kindArray
	kindString
	kindNumber
	kindTrue
	kindFalse
	kindNull
)

func (d *decoder) kind() jsonKind {
	switch c := d.peek(); {
	case c == '{':
		return kindObject
	case c == '[':
		return kindArray
	case c == '"':
		return kindString
	case c == '-' || isDigit(c):
		return kindNumber
	case c == 't':
		return kindTrue
	case c == 'f':
		return kindFalse
	case c == 'n':
		return kindNull
	}
	return kindBad
}

// typeError words a JSON value of the wrong kind where a member of Coral
// type want ("String", "Boolean", "Blob", "List", "Map") was expected. It
// does not consume the value.
func (d *decoder) typeError(want string) *Error {
	k := d.kind()
	switch want {
	case "Blob":
		switch k {
		case kindObject:
			return serialization("Start of structure or map found where not expected")
		case kindArray:
			return serialization("Unrecognized collection type class java.nio.ByteBuffer")
		}
		return serialization("only base-64-encoded strings are convertible to bytes")
	case "List":
		if k == kindObject {
			return serialization("Start of structure or map found where not expected")
		}
		return serialization("Unexpected field type")
	case "Map":
		if k == kindArray {
			return serialization("Unrecognized collection type java.util.Map<java.lang.String, " + attributeValueCls + ">")
		}
		return serialization("Unexpected field type")
	}
	switch k {
	case kindObject:
		return serialization("Start of structure or map found where not expected")
	case kindArray:
		return serialization("Unrecognized collection type class java.lang." + want)
	case kindNumber:
		if d.isInteger() {
			return serialization("NUMBER_VALUE cannot be converted to " + want)
		}
		return serialization("DECIMAL_VALUE cannot be converted to " + want)
	case kindTrue:
		return serialization("TRUE_VALUE cannot be converted to " + want)
	case kindFalse:
		return serialization("FALSE_VALUE cannot be converted to " + want)
	case kindString:
		return serialization("STRING_VALUE cannot be converted to " + want)
	}
	return d.syntaxError()
}

func (d *decoder) isInteger() bool {
	for i := d.pos; i < len(d.data); i++ {
		switch d.data[i] {
		case '.', 'e', 'E':
			return false
		case '-', '+', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			continue
		}
		break
	}
	return true
}

// value decodes one attribute value at nesting level depth.
func (d *decoder) value(depth int) (AttributeValue, error) {
	switch d.kind() {
	case kindObject:
	case kindArray:
		return AttributeValue{}, serialization("Unrecognized collection type class " + attributeValueCls)
	case kindNull:
		if !d.literal("null") {
			return AttributeValue{}, d.syntaxError()
		}
		d.fail(validation(msgEmptyValue))
		return AttributeValue{}, nil
	case kindBad:
		return AttributeValue{}, d.syntaxError()
	default:
		return AttributeValue{}, serialization("Unexpected value type in payload")
	}
	d.pos++ // {
	var v AttributeValue
	types := 0
	first := true
	for {
		if d.peek() == '}' {
			d.pos++
			break
		}
		if !first {
			if err := d.expect(','); err != nil {
				return AttributeValue{}, err
			}
		}
		first = false
		if d.peek() != '"' {
			return AttributeValue{}, d.syntaxError()
		}
		t, known, err := d.typeName()
		if err != nil {
			return AttributeValue{}, err
		}
		if err := d.expect(':'); err != nil {
			return AttributeValue{}, err
		}
		if !known || d.kind() == kindNull {
			if err := d.skip(); err != nil {
				return AttributeValue{}, err
			}
			continue
		}
		member, err := d.typed(t, depth)
		if err != nil {
			return AttributeValue{}, err
		}
		types++
		if types == 1 {
			v = member
		}
	}
	switch {
	case types == 0:
		d.fail(validation(msgEmptyValue))
	case types > 1:
		d.fail(validation(msgSeveralTypes))
	}
	return v, nil
}

var typesByName = func() map[string]Type {
	m := make(map[string]Type, len(typeNames))
	for i, n := range typeNames[1:] {
		m[n] = Type(i + 1)
	}
	return m
}()

// typeName reads a member name of an attribute value, without allocating
// for the common unescaped names.
func (d *decoder) typeName() (Type, bool, error) {
	end := bytes.IndexByte(d.data[d.pos+1:], '"')
	if end >= 0 && bytes.IndexByte(d.data[d.pos+1:d.pos+1+end], '\\') < 0 {
		name := d.data[d.pos+1 : d.pos+1+end]
		d.pos += end + 2
		t, ok := typesByName[string(name)]
		return t, ok, nil
	}
	name, err := d.str()
	if err != nil {
		return 0, false, err
	}
	t, ok := typesByName[name]
	return t, ok, nil
}

// typed decodes the JSON value of member t of an attribute value.
func (d *decoder) typed(t Type, depth int) (AttributeValue, error) {
	switch t {
	case TypeS:
		s, err := d.stringOf("String")
		return S(s), err
	case TypeN:
		s, err := d.stringOf("String")
		if err != nil {
			return AttributeValue{}, err
		}
		n, nerr := parseDecimal(s)
		if nerr != nil {
			d.fail(nerr)
			return AttributeValue{}, nil
		}
		return AttributeValue{typ: TypeN, str: n.String()}, nil
	case TypeB:
		b, err := d.blob()
		return AttributeValue{typ: TypeB, str: b}, err
	case TypeBOOL, TypeNULL:
		b, err := d.boolean()
		if err != nil {
			return AttributeValue{}, err
		}
		if t == TypeNULL && !b {
			d.fail(invalidParameter(msgNullNotTrue))
		}
		return AttributeValue{typ: t, boolean: b}, nil
	case TypeSS, TypeNS, TypeBS:
		return d.set(t)
	case TypeL:
		if d.kind() != kindArray {
			return AttributeValue{}, d.typeError("List")
		}
		d.pos++
		var elems []AttributeValue
		for i := 0; ; i++ {
			if d.peek() == ']' {
				d.pos++
				break
			}
			if i > 0 {
				if err := d.expect(','); err != nil {
					return AttributeValue{}, err
				}
			}
			e, err := d.nested(depth)
			if err != nil {
				return AttributeValue{}, err
			}
			elems = append(elems, e)
		}
		if elems == nil {
			elems = []AttributeValue{}
		}
		return AttributeValue{typ: TypeL, list: elems}, nil
	case TypeM:
		if d.kind() != kindObject {
			return AttributeValue{}, d.typeError("Map")
		}
		m, err := d.members(depth)
		return AttributeValue{typ: TypeM, m: m}, err
	}
	return AttributeValue{}, d.syntaxError()
}

// nested decodes an element of an L or M at depth+1, refusing values deeper
// than DynamoDB allows without descending into them.
func (d *decoder) nested(depth int) (AttributeValue, error) {
	if depth+1 > maxDepth {
		d.fail(errNesting)
		return AttributeValue{}, d.skip()
	}
	return d.value(depth + 1)
}

// members decodes a JSON object of attribute values whose values sit at
// depth+1 (depth 0 for an item's attributes).
func (d *decoder) members(depth int) (map[string]AttributeValue, error) {
	d.pos++ // {
	m := make(map[string]AttributeValue, 8)
	for i := 0; ; i++ {
		if d.peek() == '}' {
			d.pos++
			return m, nil
		}
		if i > 0 {
			if err := d.expect(','); err != nil {
				return nil, err
			}
		}
		if d.peek() != '"' {
			return nil, d.syntaxError()
		}
		name, err := d.str()
		if err != nil {
			return nil, err
		}
		if err := d.expect(':'); err != nil {
			return nil, err
		}
		v, err := d.nested(depth)
		if err != nil {
			return nil, err
		}
		m[name] = v
	}
}

// set decodes the members of an SS, NS or BS and validates the set.
func (d *decoder) set(t Type) (AttributeValue, error) {
	if d.kind() != kindArray {
		return AttributeValue{}, d.typeError("List")
	}
	d.pos++
	var vals []AttributeValue
	bad := false
	for i := 0; ; i++ {
		if d.peek() == ']' {
			d.pos++
			break
		}
		if i > 0 {
			if err := d.expect(','); err != nil {
				return AttributeValue{}, err
			}
		}
		if d.kind() == kindNull {
			if !d.literal("null") {
				return AttributeValue{}, d.syntaxError()
			}
			continue
		}
		switch t {
		case TypeSS:
			s, err := d.stringOf("String")
			if err != nil {
				return AttributeValue{}, err
			}
			vals = append(vals, S(s))
		case TypeNS:
			s, err := d.stringOf("String")
			if err != nil {
				return AttributeValue{}, err
			}
			n, nerr := parseDecimal(s)
			if nerr != nil {
				d.fail(nerr)
				bad = true
				continue
			}
			vals = append(vals, AttributeValue{typ: TypeN, str: n.String()})
		case TypeBS:
			b, err := d.blob()
			if err != nil {
				return AttributeValue{}, err
			}
			vals = append(vals, AttributeValue{typ: TypeB, str: b})
		}
	}
	if bad {
		return AttributeValue{}, nil
	}
	set, err := newSet(t, vals)
	if err != nil {
		d.fail(err.(*Error))
		return AttributeValue{}, nil
	}
	return set, nil
}

// stringOf reads a JSON string where Coral expects a member of type want.
func (d *decoder) stringOf(want string) (string, error) {
	if d.kind() != kindString {
		return "", d.typeError(want)
	}
	return d.str()
}

// blob reads a base64 string as Coral reads a Blob member.
func (d *decoder) blob() (string, error) {
	if d.kind() != kindString {
		return "", d.typeError("Blob")
	}
	s, err := d.str()
	if err != nil {
		return "", err
	}
	if len(s)%4 != 0 {
		return "", serializationf("Base64 encoded length is expected a multiple of 4 bytes but found: %d", len(s))
	}
	b, berr := base64.StdEncoding.DecodeString(s)
	if berr != nil {
		// dynalite's wording (sic) for the other malformed base64 Coral
		// refuses.
		return "", serialization("Invalid last non-pad Base64 character dectected")
	}
	return string(b), nil
}

// boolean reads a Coral Boolean: JSON true or false, or the strings Coral
// converts ("true", "1", "yes" and "false", "0", "no", any case).
func (d *decoder) boolean() (bool, error) {
	switch d.kind() {
	case kindTrue, kindFalse:
		v := d.kind() == kindTrue
		if !d.literal(strconv.FormatBool(v)) {
			return false, d.syntaxError()
		}
		return v, nil
	case kindString:
		s, err := d.str()
		if err != nil {
			return false, err
		}
		switch strings.ToUpper(s) {
		case "TRUE", "1", "YES":
			return true, nil
		case "FALSE", "0", "NO":
			return false, nil
		}
		return false, serialization("Unexpected token received from parser")
	}
	return false, d.typeError("Boolean")
}

// str reads a JSON string, the decoder positioned at its opening quote.
// Bytes that are not UTF-8 become U+FFFD, as in encoding/json.
func (d *decoder) str() (string, error) {
	d.pos++ // "
	start := d.pos
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			s := d.data[start:d.pos]
			d.pos++
			if utf8.Valid(s) {
				return string(s), nil
			}
			return strings.ToValidUTF8(string(s), "\ufffd"), nil
		case c == '\\':
			return d.escapedStr(start)
		case c < 0x20:
			return "", d.syntaxError()
		}
		d.pos++
	}
	return "", d.syntaxError()
}

func (d *decoder) escapedStr(start int) (string, error) {
	buf := append([]byte(nil), d.data[start:d.pos]...)
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			return strings.ToValidUTF8(string(buf), "\ufffd"), nil
		case c < 0x20:
			return "", d.syntaxError()
		case c != '\\':
			buf = append(buf, c)
			d.pos++
			continue
		}
		d.pos++
		if d.pos >= len(d.data) {
			return "", d.syntaxError()
		}
		e := d.data[d.pos]
		d.pos++
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return "", d.syntaxError()
			}
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if d.pos+1 < len(d.data) && d.data[d.pos] == '\\' && d.data[d.pos+1] == 'u' {
					save := d.pos
					d.pos += 2
					if lo, ok := d.hex4(); ok {
						if dec := utf16.DecodeRune(r, lo); dec != utf8.RuneError {
							r2 = dec
						} else {
							d.pos = save
						}
					} else {
						d.pos = save
					}
				}
				r = r2
			}
			buf = utf8.AppendRune(buf, r)
		default:
			d.pos--
			return "", d.syntaxError()
		}
	}
	return "", d.syntaxError()
}

func (d *decoder) hex4() (rune, bool) {
	if d.pos+4 > len(d.data) {
		return 0, false
	}
	var r rune
	for _, c := range d.data[d.pos : d.pos+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	d.pos += 4
	return r, true
}

// skip consumes one JSON value of any kind, iteratively so hostile nesting
// cannot grow the stack.
func (d *decoder) skip() error {
	open := 0
	for {
		switch d.kind() {
		case kindObject, kindArray:
			d.pos++
			open++
			if c := d.peek(); c == '}' || c == ']' {
				d.pos++
				open--
				break
			}
			continue
		case kindString:
			if _, err := d.str(); err != nil {
				return err
			}
		case kindNumber:
			d.number()
		case kindTrue, kindFalse, kindNull:
			if !d.literal("true") && !d.literal("false") && !d.literal("null") {
				return d.syntaxError()
			}
		default:
			return d.syntaxError()
		}
		// After a value: close any containers that end here, then expect a
		// separator before the next value.
		for {
			if open == 0 {
				return nil
			}
			c := d.peek()
			if c == '}' || c == ']' {
				d.pos++
				open--
				continue
			}
			if c != ',' && c != ':' {
				return d.syntaxError()
			}
			d.pos++
			break
		}
	}
}

func (d *decoder) number() {
	for d.pos < len(d.data) {
		switch c := d.data[d.pos]; {
		case isDigit(c), c == '-', c == '+', c == '.', c == 'e', c == 'E':
			d.pos++
		default:
			return
		}
	}
}
