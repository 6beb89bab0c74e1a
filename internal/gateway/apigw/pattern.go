package apigw

import (
	"strings"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
)

// Any is the method of a route that serves every method the resource has no
// route of its own for.
const Any = "ANY"

// methods are the route methods API Gateway accepts, in the order errors list them.
var methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", Any}

// Pattern is a route as API Gateway writes one: a method and a resource path
// such as "/pets/{id}" or "/files/{proxy+}". Only Parse makes a valid
// Pattern; a Table re-checks the ones it is given. Patterns are comparable.
type Pattern struct {
	Method string // upper case; Any matches every method
	Path   string // the resource: "/", "/pets", "/pets/{id}", "/files/{proxy+}"
}

// Key is the route key of an HTTP API, "GET /pets/{id}": the event's routeKey.
func (p Pattern) Key() string { return p.Method + " " + p.Path }

// String returns p.Key().
func (p Pattern) String() string { return p.Key() }

// segment is one part of a parsed resource path.
type segment struct {
	kind segmentKind
	text string // the literal, or the variable's name without braces and "+"
}

type segmentKind uint8

const (
	literal segmentKind = iota // "pets"
	param                      // "{id}": one non-empty segment
	greedy                     // "{proxy+}": one or more segments, last only
)

// Parse validates a route. The method is one of GET, POST, PUT, PATCH,
// DELETE, HEAD, OPTIONS or ANY, in upper case. The path starts with "/" and
// is "/" or a sequence of non-empty segments, each one of:
//
//   - a literal of letters, digits and - . _ ~ ! $ & ' ( ) * + , ; = : @
//     (matched case-sensitively against the request's decoded segment);
//   - {name}, a variable matching one non-empty segment;
//   - {name+}, a greedy variable matching the rest of the path (one segment
//     or more), allowed as the last segment only.
//
// Names are letters, digits, '_', '-' and '.', and are unique within a path.
// Errors are of kind errdefs.ErrInvalidArgument and say what is wrong.
func Parse(method, path string) (Pattern, error) {
	p := Pattern{Method: method, Path: path}
	if !validMethod(method) {
		return Pattern{}, errdefs.New(errdefs.ErrInvalidArgument,
			"route %q: method %q is not one of %s", p.Key(), method, strings.Join(methods, ", "))
	}
	if _, err := parsePath(path); err != nil {
		return Pattern{}, errdefs.New(errdefs.ErrInvalidArgument, "route %q: %s", p.Key(), err.Error())
	}
	return p, nil
}

func validMethod(m string) bool {
	for _, v := range methods {
		if m == v {
			return true
		}
	}
	return false
}

// pathError is a reason Parse rejects a path; Parse adds the route to it.
type pathError string

func (e pathError) Error() string { return string(e) }

// parsePath splits a resource path into segments. "/" has none.
func parsePath(path string) ([]segment, error) {
	if !strings.HasPrefix(path, "/") {
		return nil, pathError("the path must start with \"/\"")
	}
	if path == "/" {
		return nil, nil
	}
	parts := strings.Split(path[1:], "/")
	segs := make([]segment, 0, len(parts))
	seen := make(map[string]bool)
	for i, part := range parts {
		if part == "" {
			if i == len(parts)-1 {
				return nil, pathError("the path must not end with \"/\"")
			}
			return nil, pathError("empty segment (\"//\")")
		}
		s, err := parseSegment(part)
		if err != nil {
			return nil, err
		}
		if s.kind == greedy && i != len(parts)-1 {
			return nil, pathError("greedy variable {" + s.text + "+} must be the last segment")
		}
		if s.kind != literal {
			if seen[s.text] {
				return nil, pathError("variable {" + s.text + "} appears twice")
			}
			seen[s.text] = true
		}
		segs = append(segs, s)
	}
	return segs, nil
}

func parseSegment(part string) (segment, error) {
	open, closing := strings.Contains(part, "{"), strings.Contains(part, "}")
	if !open && !closing {
		for _, c := range []byte(part) {
			if !literalByte(c) {
				return segment{}, pathError("segment " + quote(part) + " has a character a literal may not contain (" + quote(string(c)) + ")")
			}
		}
		return segment{kind: literal, text: part}, nil
	}
	if part[0] != '{' || part[len(part)-1] != '}' {
		return segment{}, pathError("segment " + quote(part) + ": a variable must be a whole segment, {name} or {name+}")
	}
	name, kind := part[1:len(part)-1], param
	if n, ok := strings.CutSuffix(name, "+"); ok {
		name, kind = n, greedy
	}
	if name == "" {
		return segment{}, pathError("segment " + quote(part) + ": the variable has no name")
	}
	for _, c := range []byte(name) {
		if !nameByte(c) {
			return segment{}, pathError("segment " + quote(part) + ": variable names are letters, digits, '_', '-' and '.'")
		}
	}
	return segment{kind: kind, text: name}, nil
}

func quote(s string) string { return `"` + s + `"` }

func alnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// literalByte: RFC 3986 pchar without percent-encoding, so a literal is its
// own decoded form.
func literalByte(c byte) bool {
	return alnum(c) || strings.IndexByte("-._~!$&'()*+,;=:@", c) >= 0
}

func nameByte(c byte) bool { return alnum(c) || c == '_' || c == '-' || c == '.' }
