package apigw

import (
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
)

// Table routes requests to values by Pattern, with API Gateway's precedence.
// The zero Table is empty and ready to use.
//
// Concurrency: Lookup and Methods never lock; they read an immutable trie
// through an atomic pointer. Add and Remove are serialised by one mutex and
// publish a freshly built trie, so a lookup sees the table before or after a
// change, never during one. Writes cost a rebuild of the whole table: they
// are meant to be occasional (deploys, configuration reloads).
type Table[V any] struct {
	mu     sync.Mutex              // serialises writers; guards routes
	routes map[Pattern]V           // what the published trie was built from
	root   atomic.Pointer[node[V]] // nil while empty
}

// node is one position in a resource path. It is never changed once
// published.
type node[V any] struct {
	literals   map[string]*node[V]
	param      *node[V] // child for {name}
	paramName  string
	greedy     *node[V] // child for {name+}; its routes end there
	greedyName string
	routes     map[string]leaf[V] // by method, Any included, for paths ending here
}

type leaf[V any] struct {
	pattern Pattern
	value   V
}

// Add routes p to v. It fails, changing nothing, when p is not valid (see
// Parse; errdefs.ErrInvalidArgument), when the table already has p
// (errdefs.ErrAlreadyExists), or when p names a variable differently from a
// route already at the same position, such as "/pets/{id}" beside
// "/pets/{name}/toys" (errdefs.ErrConflict): like API Gateway, one position
// has one variable name.
func (t *Table[V]) Add(p Pattern, v V) error {
	if _, err := Parse(p.Method, p.Path); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.routes[p]; ok {
		return errdefs.New(errdefs.ErrAlreadyExists, "route %q already exists", p.Key())
	}
	next := make(map[Pattern]V, len(t.routes)+1)
	for k, val := range t.routes {
		next[k] = val
	}
	next[p] = v
	root, err := build(next)
	if err != nil {
		return err
	}
	t.routes = next
	t.root.Store(root)
	return nil
}

// Remove deletes the route p and reports whether the table had it.
func (t *Table[V]) Remove(p Pattern) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.routes[p]; !ok {
		return false
	}
	next := make(map[Pattern]V, len(t.routes))
	for k, val := range t.routes {
		if k != p {
			next[k] = val
		}
	}
	root, err := build(next)
	if err != nil {
		// A subset of a table that built cannot conflict.
		panic("apigw: rebuilding a table after Remove: " + err.Error())
	}
	t.routes = next
	t.root.Store(root)
	return true
}

// build makes the trie for routes, which are valid patterns.
func build[V any](routes map[Pattern]V) (*node[V], error) {
	if len(routes) == 0 {
		return nil, nil
	}
	// Sorted so that the error for a conflict names the same routes each time.
	keys := make([]Pattern, 0, len(routes))
	for p := range routes {
		keys = append(keys, p)
	}
	slices.SortFunc(keys, func(a, b Pattern) int { return strings.Compare(a.Key(), b.Key()) })
	root := &node[V]{}
	owner := make(map[*node[V]]Pattern) // the first route that named a variable child
	for _, p := range keys {
		segs, _ := parsePath(p.Path)
		n := root
		for _, s := range segs {
			switch s.kind {
			case literal:
				if n.literals == nil {
					n.literals = make(map[string]*node[V])
				}
				child := n.literals[s.text]
				if child == nil {
					child = &node[V]{}
					n.literals[s.text] = child
				}
				n = child
			case param:
				if n.param == nil {
					n.param, n.paramName = &node[V]{}, s.text
					owner[n.param] = p
				} else if n.paramName != s.text {
					return nil, conflict(p, owner[n.param], s.text, n.paramName)
				}
				n = n.param
			case greedy:
				if n.greedy == nil {
					n.greedy, n.greedyName = &node[V]{}, s.text
					owner[n.greedy] = p
				} else if n.greedyName != s.text {
					return nil, conflict(p, owner[n.greedy], s.text+"+", n.greedyName+"+")
				}
				n = n.greedy
			}
		}
		if n.routes == nil {
			n.routes = make(map[string]leaf[V])
		}
		n.routes[p.Method] = leaf[V]{pattern: p, value: routes[p]}
	}
	return root, nil
}

func conflict(p, other Pattern, name, otherName string) error {
	return errdefs.New(errdefs.ErrConflict,
		"route %q: variable {%s} is at the position where route %q has {%s}; a position has one variable name",
		p.Key(), name, other.Key(), otherName)
}

// Lookup finds the route for a request. path is the request's escaped path,
// r.URL.EscapedPath(): it is split on "/" before decoding, so "%2F" inside a
// segment stays part of that segment. It returns the route's value, the
// decoded path parameters (nil when the route has none), the route's
// resource path ("/pets/{id}"), and whether a route matched.
//
// Precedence is API Gateway's, segment by segment from the left: a literal
// beats {name}, which beats {name+}. Among routes for the same resource, one
// with the request's method beats ANY. The method takes part in matching: if
// the most specific resource has no route for the method, a less specific
// one that has is chosen (HTTP APIs do this: POST /pets/dog goes to ANY
// /{proxy+} when only GET /pets/dog exists). Methods are case-sensitive and
// HEAD does not fall back to GET.
//
// Path matching is exact: a trailing slash is an empty last segment, which
// only a greedy variable can take ("/files/a/" gives proxy "a/"). A variable
// never matches an empty segment; a segment that is not valid
// percent-encoding matches nothing.
func (t *Table[V]) Lookup(method, path string) (value V, params map[string]string, resource string, ok bool) {
	root := t.root.Load()
	segs, valid := splitPath(path)
	if root == nil || !valid {
		return value, nil, "", false
	}
	var m matcher[V]
	m.method, m.segs = method, segs
	if !m.match(root, 0) {
		return value, nil, "", false
	}
	if len(m.names) > 0 {
		params = make(map[string]string, len(m.names))
		for i, name := range m.names {
			params[name] = m.values[i]
		}
	}
	return m.found.value, params, m.found.pattern.Path, true
}

// Methods lists, sorted, the methods of every route whose resource matches
// path (ANY included as "ANY"); nil when there is none. With Lookup it tells the two misses apart:
// Lookup fails and Methods is empty — no route for the path (an HTTP API
// answers NotFound, a REST API MissingAuthenticationToken); Lookup fails and
// Methods is not — the path is routed, the method is not (both APIs answer
// as for an unknown route; the list suits an Allow header).
func (t *Table[V]) Methods(path string) []string {
	root := t.root.Load()
	segs, valid := splitPath(path)
	if root == nil || !valid {
		return nil
	}
	set := make(map[string]bool)
	collect(root, segs, 0, set)
	if len(set) == 0 {
		return nil
	}
	out := make([]string, 0, len(set))
	for m := range set {
		out = append(out, m)
	}
	slices.Sort(out)
	return out
}

// splitPath returns the raw segments of an escaped path: none for "/".
func splitPath(path string) ([]string, bool) {
	if !strings.HasPrefix(path, "/") {
		return nil, false
	}
	if path == "/" {
		return nil, true
	}
	return strings.Split(path[1:], "/"), true
}

// matcher is one Lookup's depth-first search with backtracking. The depth is
// bounded by the longest route, not by the request path.
type matcher[V any] struct {
	method string
	segs   []string // raw (escaped) segments
	names  []string // variables bound on the current branch
	values []string
	found  leaf[V]
}

func (m *matcher[V]) match(n *node[V], i int) bool {
	if i == len(m.segs) {
		if l, ok := n.routes[m.method]; ok {
			m.found = l
			return true
		}
		if l, ok := n.routes[Any]; ok {
			m.found = l
			return true
		}
		return false
	}
	seg, err := url.PathUnescape(m.segs[i])
	if err != nil {
		return false
	}
	if child := n.literals[seg]; child != nil && m.match(child, i+1) {
		return true
	}
	if n.param != nil && seg != "" {
		m.names, m.values = append(m.names, n.paramName), append(m.values, seg)
		if m.match(n.param, i+1) {
			return true
		}
		m.names, m.values = m.names[:len(m.names)-1], m.values[:len(m.values)-1]
	}
	if n.greedy != nil {
		rest, ok := remainder(m.segs[i:])
		if !ok {
			return false
		}
		if l, ok := n.greedy.routes[m.method]; ok {
			m.found = l
		} else if l, ok := n.greedy.routes[Any]; ok {
			m.found = l
		} else {
			return false
		}
		m.names, m.values = append(m.names, n.greedyName), append(m.values, rest)
		return true
	}
	return false
}

// remainder is what a greedy variable takes: the decoded rest of the path,
// which must not be empty.
func remainder(segs []string) (string, bool) {
	rest, err := url.PathUnescape(strings.Join(segs, "/"))
	return rest, err == nil && rest != ""
}

// collect adds to set the methods of every route matching segs[i:] below n.
func collect[V any](n *node[V], segs []string, i int, set map[string]bool) {
	if i == len(segs) {
		for m := range n.routes {
			set[m] = true
		}
		return
	}
	seg, err := url.PathUnescape(segs[i])
	if err != nil {
		return
	}
	if child := n.literals[seg]; child != nil {
		collect(child, segs, i+1, set)
	}
	if n.param != nil && seg != "" {
		collect(n.param, segs, i+1, set)
	}
	if n.greedy != nil {
		if _, ok := remainder(segs[i:]); ok {
			for m := range n.greedy.routes {
				set[m] = true
			}
		}
	}
}
