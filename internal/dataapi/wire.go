package dataapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/bulkhead-dev/bulkhead/internal/data/ddb"
)

// Request decoding. A request body is decoded with encoding/json into the
// operation's input struct, whose items, keys and value maps are itemArgs:
// they keep their own decoding error instead of stopping the decoder, so
// that decode can report, as DynamoDB does, a member of the wrong JSON type
// anywhere in the request before any invalid attribute value. Members
// DynamoDB does not know are ignored, and a member whose value is null
// counts as absent, as in DynamoDB. (encoding/json matches member names
// without regard to case, which DynamoDB does not; a client that sends
// "tablename" is served rather than refused.)

// itemArg is a request member holding an item, a key or
// ExpressionAttributeValues: a JSON object of attribute values.
type itemArg struct {
	Item ddb.Item // nil when absent or null
	err  error
}

// UnmarshalJSON decodes the member, keeping any error for decode to rank.
func (a *itemArg) UnmarshalJSON(b []byte) error {
	a.Item, a.err = ddb.DecodeItem(b)
	if a.err != nil {
		a.Item = nil
	}
	return nil
}

// present reports whether the member was given (and not null).
func (a *itemArg) present() bool { return a.Item != nil }

// values returns the member as ExpressionAttributeValues.
func (a *itemArg) values() map[string]ddb.AttributeValue {
	if a.Item == nil {
		return nil
	}
	return a.Item
}

// input is an operation's decoded request.
type input interface {
	// args lists the input's item members, in request order.
	args() []*itemArg
}

// decode decodes body into in. A member of the wrong JSON type is a
// SerializationException; then the first invalid attribute value,
// serialization problems first. envelope wraps attribute value validation
// errors in "1 validation error detected: ", as DynamoDB's PutItem,
// UpdateItem and DeleteItem do.
func decode(body []byte, in input, envelope bool) error {
	if err := json.Unmarshal(body, in); err != nil {
		return serializationError(err)
	}
	args := in.args()
	for _, a := range args {
		var de *ddb.Error
		if errors.As(a.err, &de) && de.Type == ddb.SerializationException {
			return de
		}
	}
	for _, a := range args {
		if a.err == nil {
			continue
		}
		var de *ddb.Error
		if envelope && errors.As(a.err, &de) && de.Type == ddb.ValidationException {
			return de.Enveloped()
		}
		return a.err
	}
	return nil
}

// serializationError words an encoding/json failure as DynamoDB's front end
// words the same mismatch (architect/dynalite validations/index.js, which
// mirrors it).
func serializationError(err error) error {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return errSerialization("")
	}
	got := te.Value
	if i := strings.IndexByte(got, ' '); i >= 0 {
		got = got[:i] // "number 1.5"
	}
	switch got {
	case "array":
		return errSerialization("Start of list found where not expected")
	case "object":
		return errSerialization("Start of structure or map found where not expected.")
	}
	var want string
	kind := reflect.Invalid
	if te.Type != nil {
		kind = te.Type.Kind()
	}
	switch kind {
	case reflect.Slice:
		return errSerialization("Expected list or null")
	case reflect.Map:
		return errSerialization("Expected map or null")
	case reflect.Struct:
		return errSerialization("Expected null")
	case reflect.String:
		want = "an String"
	case reflect.Bool:
		want = "an Boolean"
	case reflect.Int, reflect.Int32, reflect.Int64:
		want = "an Integer"
	default:
		return errSerialization("")
	}
	class := map[string]string{"number": "java.lang.Integer", "string": "java.lang.String", "bool": "java.lang.Boolean"}[got]
	if class == "" {
		return errSerialization("")
	}
	return errSerialization("class " + class + " can not be converted to " + want)
}

// constraints collects DynamoDB's input constraint violations, reported
// together: "2 validation errors detected: Value null at 'tableName' failed
// to satisfy constraint: Member must not be null; ...".
type constraints struct{ msgs []string }

// add records that value (nil: null) at path breaks rule.
func (c *constraints) add(value *string, path, rule string) {
	v := "null"
	if value != nil {
		v = "'" + *value + "'"
	}
	c.msgs = append(c.msgs, "Value "+v+" at '"+path+"' failed to satisfy constraint: "+rule)
}

// err returns the violations as one ValidationException, or nil.
func (c *constraints) err() error {
	switch len(c.msgs) {
	case 0:
		return nil
	case 1:
		return &apiError{namespace: nsValidate, code: "ValidationException", status: 400,
			message: "1 validation error detected: " + c.msgs[0]}
	}
	return &apiError{namespace: nsValidate, code: "ValidationException", status: 400,
		message: strconv.Itoa(len(c.msgs)) + " validation errors detected: " + strings.Join(c.msgs, "; ")}
}

var tableNamePattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`) })

// tableName checks a table (or index) name at path: present unless optional,
// [a-zA-Z0-9_.-]+, 3 to 255 characters.
func (c *constraints) tableName(name *string, path string, optional bool) {
	if name == nil {
		if !optional {
			c.add(nil, path, "Member must not be null")
		}
		return
	}
	if !tableNamePattern().MatchString(*name) {
		c.add(name, path, "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
	}
	if len(*name) < 3 {
		c.add(name, path, "Member must have length greater than or equal to 3")
	}
	if len(*name) > 255 {
		c.add(name, path, "Member must have length less than or equal to 255")
	}
}

// enum checks that value, when given, is one of allowed.
func (c *constraints) enum(value *string, path string, allowed ...string) {
	if value == nil {
		return
	}
	for _, a := range allowed {
		if *value == a {
			return
		}
	}
	c.add(value, path, "Member must satisfy enum value set: ["+strings.Join(allowed, ", ")+"]")
}

// atLeast checks that value, when given, is at least min.
func (c *constraints) atLeast(value *int64, path string, min int64) {
	if value != nil && *value < min {
		s := strconv.FormatInt(*value, 10)
		c.add(&s, path, "Member must have value greater than or equal to "+strconv.FormatInt(min, 10))
	}
}

// The enum value sets of the parameters shared by several operations, in
// DynamoDB's order.
var (
	returnConsumedCapacityValues       = []string{"INDEXES", "TOTAL", "NONE"}
	returnItemCollectionMetricsValues  = []string{"SIZE", "NONE"}
	returnValuesValues                 = []string{"NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"}
	returnValuesOnConditionCheckValues = []string{"ALL_OLD", "NONE"}
	selectValues                       = []string{"ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES", "SPECIFIC_ATTRIBUTES", "COUNT"}
)

// legacy refuses the pre-expression parameters this API does not
// implement, naming the first one given and its replacement.
func legacy(params ...legacyParam) error {
	for _, p := range params {
		if p.given {
			return validationError("Bulkhead's data API does not support the legacy parameter %s; use %s instead", p.name, p.instead)
		}
	}
	return nil
}

type legacyParam struct {
	name, instead string
	given         bool
}

// given reports whether a raw member was present and not null.
func given(raw json.RawMessage) bool {
	return len(raw) > 0 && string(raw) != "null"
}

// str returns *p, or "" for nil.
func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// Response encoding: responses are built by appending to a byte slice.
// Items are written with ddb.AppendItemJSON, which is deterministic; the
// rest are a few fixed members.

// appendFloat appends a JSON number.
func appendFloat(b []byte, f float64) []byte {
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}

// marshal encodes a control-plane response with encoding/json.
func marshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("dataapi: encode response: %w", err)
	}
	return b, nil
}
