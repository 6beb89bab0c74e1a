package ddb

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Path is a document path with aliases substituted: a top-level attribute
// name followed by map keys and list indexes, as in a.b[2].c.
type Path []PathElement

// PathElement is one step of a Path: a map key (or, first, an attribute
// name) or a list index.
type PathElement struct {
	Name    string // the key, when !IsIndex
	Index   int    // the index, when IsIndex
	IsIndex bool
}

// String renders the path as DynamoDB's messages do: [a, b, [2], c].
func (p Path) String() string {
	var b strings.Builder
	b.WriteByte('[')
	for i, e := range p {
		if i > 0 {
			b.WriteString(", ")
		}
		if e.IsIndex {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(e.Index))
			b.WriteByte(']')
		} else {
			b.WriteString(e.Name)
		}
	}
	b.WriteByte(']')
	return b.String()
}

// Attribute returns the top-level attribute name the path starts from.
func (p Path) Attribute() string { return p[0].Name }

// Get returns the value at the path in item.
func (p Path) Get(item Item) (AttributeValue, bool) {
	v, ok := item[p[0].Name]
	if !ok {
		return AttributeValue{}, false
	}
	for _, e := range p[1:] {
		if e.IsIndex {
			v, ok = v.Index(e.Index)
		} else {
			v, ok = v.Member(e.Name)
		}
		if !ok {
			return AttributeValue{}, false
		}
	}
	return v, true
}

// pathRelation compares two paths as DynamoDB does when it refuses to let
// one expression name the same document twice: paths that meet at a step
// where one takes a map key and the other a list index conflict; a path
// that is a prefix of the other (or equal to it) overlaps it; otherwise they
// are disjoint.
type pathRelation int

const (
	disjoint pathRelation = iota
	overlapping
	conflicting
)

func relate(a, b Path) pathRelation {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i].IsIndex != b[i].IsIndex {
			return conflicting
		}
		if a[i] != b[i] {
			return disjoint
		}
	}
	return overlapping
}

// checkPaths refuses two paths in one expression that overlap or conflict,
// reporting the first overlap in the order the paths were written, else the
// first conflict (dynalite db/updateParser.pegjs and projectionParser.pegjs;
// its tests against DynamoDB expect an overlap to be reported ahead of an
// earlier conflict). "path one" is the one written first.
func (p *parser) checkPaths(paths []Path) *Error {
	var conflict *Error
	for j := 1; j < len(paths); j++ {
		for i := 0; i < j; i++ {
			switch relate(paths[i], paths[j]) {
			case overlapping:
				return p.errorf("Two document paths overlap with each other; must remove or rewrite one of these paths; path one: %s, path two: %s", paths[i], paths[j])
			case conflicting:
				if conflict == nil {
					conflict = p.errorf("Two document paths conflict with each other; must remove or rewrite one of these paths; path one: %s, path two: %s", paths[i], paths[j])
				}
			}
		}
	}
	return conflict
}

// Params are a request's ExpressionAttributeNames and
// ExpressionAttributeValues. One Params is shared by every expression of a
// request, and records which aliases and values they used, so that
// CheckUnused can refuse the rest as DynamoDB does. A Params is not safe for
// concurrent use.
type Params struct {
	Names  map[string]string
	Values map[string]AttributeValue

	usedNames  map[string]bool
	usedValues map[string]bool
}

var (
	nameKey  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^#[0-9a-zA-Z_]+$`) })
	valueKey = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^:[0-9a-zA-Z_]+$`) })
)

// Validate checks the maps themselves: not empty when present, keys of the
// form #name and :name (dynalite validations/index.js validateExpressions,
// confirmed by nubo-db/dynamodb-conformance), keys at most 255 bytes (the
// developer guide's limit; the wording of that message is this package's).
// The values were validated when they were decoded.
func (p *Params) Validate() error {
	if p == nil {
		return nil
	}
	if p.Names != nil && len(p.Names) == 0 {
		return validation("ExpressionAttributeNames must not be empty")
	}
	for _, k := range sortedKeys(p.Names) {
		if !nameKey().MatchString(k) {
			return validationf("ExpressionAttributeNames contains invalid key: Syntax error; key: \"%s\"", k)
		}
		if len(k) > maxParamKeyBytes {
			return validationf("ExpressionAttributeNames contains invalid key: The key exceeds the maximum length of %d bytes; key: \"%s\"", maxParamKeyBytes, k)
		}
	}
	if p.Values != nil && len(p.Values) == 0 {
		return validation("ExpressionAttributeValues must not be empty")
	}
	for _, k := range sortedKeys(p.Values) {
		if !valueKey().MatchString(k) {
			return validationf("ExpressionAttributeValues contains invalid key: Syntax error; key: \"%s\"", k)
		}
		if len(k) > maxParamKeyBytes {
			return validationf("ExpressionAttributeValues contains invalid key: The key exceeds the maximum length of %d bytes; key: \"%s\"", maxParamKeyBytes, k)
		}
	}
	return nil
}

// CheckUnused refuses aliases and values that no expression parsed with p
// used, names first: "Value provided in ExpressionAttributeNames unused in
// expressions: keys: {#a, #b}" (dynalite; nubo-db/dynamodb-conformance).
// DynamoDB lists the keys in no fixed order; this lists them sorted.
func (p *Params) CheckUnused() error {
	if p == nil {
		return nil
	}
	if unused := unusedKeys(p.Names, p.usedNames); len(unused) > 0 {
		return validationf("Value provided in ExpressionAttributeNames unused in expressions: keys: {%s}", strings.Join(unused, ", "))
	}
	if unused := unusedKeys(p.Values, p.usedValues); len(unused) > 0 {
		return validationf("Value provided in ExpressionAttributeValues unused in expressions: keys: {%s}", strings.Join(unused, ", "))
	}
	return nil
}

func unusedKeys[V any](m map[string]V, used map[string]bool) []string {
	var out []string
	for _, k := range sortedKeys(m) {
		if !used[k] {
			out = append(out, k)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (p *Params) name(alias string) (string, bool) {
	n, ok := p.Names[alias]
	if ok {
		if p.usedNames == nil {
			p.usedNames = make(map[string]bool)
		}
		p.usedNames[alias] = true
	}
	return n, ok
}

func (p *Params) value(ref string) (AttributeValue, bool) {
	v, ok := p.Values[ref]
	if ok {
		if p.usedValues == nil {
			p.usedValues = make(map[string]bool)
		}
		p.usedValues[ref] = true
	}
	return v, ok
}
