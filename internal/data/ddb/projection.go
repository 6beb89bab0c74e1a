package ddb

import (
	"slices"
)

// Projection is a parsed ProjectionExpression: the document paths to return.
// It is immutable and safe for concurrent use.
type Projection struct {
	paths []Path
}

// ParseProjection parses a ProjectionExpression, a comma-separated list of
// document paths. Checks, in dynalite's order (db/projectionParser.pegjs):
// reserved words, undefined names, overlapping then conflicting paths.
func ParseProjection(expr string, params *Params) (*Projection, error) {
	pr, err := parseProjection(expr, params)
	if err != nil {
		return nil, err
	}
	return pr, nil
}

func parseProjection(expr string, params *Params) (*Projection, *Error) {
	p, err := newParser(kindProjection, expr, params)
	if err != nil {
		return nil, err
	}
	var raws []rawPath
	for {
		rp, err := p.path()
		if err != nil {
			return nil, err
		}
		raws = append(raws, rp)
		if p.peekKind() != tComma {
			break
		}
		p.pos++
	}
	if p.peekKind() != tEOF {
		return nil, p.syntaxError(p.pos)
	}
	for _, rp := range raws {
		if w, ok := rp.reservedIn(); ok {
			return nil, p.errorf("Attribute name is a reserved keyword; reserved keyword: %s", w)
		}
		if len(rp) > maxPathDepth {
			return nil, p.depthError(len(rp))
		}
	}
	pr := &Projection{paths: make([]Path, len(raws))}
	for i, rp := range raws {
		if pr.paths[i], err = p.resolve(rp); err != nil {
			return nil, err
		}
	}
	if err := p.checkPaths(pr.paths); err != nil {
		return nil, err
	}
	return pr, nil
}

// Paths returns the projected paths in the order written.
func (pr *Projection) Paths() []Path { return slices.Clone(pr.paths) }

// Apply returns the parts of item the projection names.
func (pr *Projection) Apply(item Item) Item { return Project(item, pr.paths) }

// Project returns the parts of item at the given paths, as DynamoDB returns a
// projection or the UPDATED_OLD and UPDATED_NEW of an update: each path's
// value nested as in item, paths item lacks left out, and the elements taken
// from a list packed in index order ("a[3], a[1]" gives a list of two). The
// paths must not overlap.
func Project(item Item, paths []Path) Item {
	root := &projNode{}
	for _, p := range paths {
		v, ok := p.Get(item)
		if !ok {
			continue
		}
		n := root
		for _, e := range p {
			n = n.child(e)
		}
		n.value, n.leaf = v, true
	}
	out := make(Item, len(root.keys))
	for name, n := range root.keys {
		out[name] = n.build()
	}
	return out
}

type projNode struct {
	leaf  bool
	value AttributeValue
	keys  map[string]*projNode
	index map[int]*projNode
}

func (n *projNode) child(e PathElement) *projNode {
	if e.IsIndex {
		if n.index == nil {
			n.index = map[int]*projNode{}
		}
		c, ok := n.index[e.Index]
		if !ok {
			c = &projNode{}
			n.index[e.Index] = c
		}
		return c
	}
	if n.keys == nil {
		n.keys = map[string]*projNode{}
	}
	c, ok := n.keys[e.Name]
	if !ok {
		c = &projNode{}
		n.keys[e.Name] = c
	}
	return c
}

func (n *projNode) build() AttributeValue {
	if n.leaf {
		return n.value
	}
	if n.index != nil {
		idx := make([]int, 0, len(n.index))
		for i := range n.index {
			idx = append(idx, i)
		}
		slices.Sort(idx)
		list := make([]AttributeValue, len(idx))
		for j, i := range idx {
			list[j] = n.index[i].build()
		}
		return AttributeValue{typ: TypeL, list: list}
	}
	m := make(map[string]AttributeValue, len(n.keys))
	for k, c := range n.keys {
		m[k] = c.build()
	}
	return AttributeValue{typ: TypeM, m: m}
}
