package ddb

import (
	"strings"
)

// Condition is a parsed ConditionExpression or FilterExpression, ready to be
// evaluated against items. It is immutable and safe for concurrent use.
//
// Grammar (developer guide, "Condition and filter expressions"), by
// precedence from loose to tight: OR, AND, NOT, then a comparison
// (= <> < <= > >=), BETWEEN ... AND ..., IN (...) or a function —
// attribute_exists(path), attribute_not_exists(path), attribute_type(path,
// :type), begins_with(path, :prefix), contains(path, :operand) — with size(path)
// usable as an operand. Parentheses group; doubled parentheses are refused.
type Condition struct {
	root *cond
}

// ParseCondition parses a ConditionExpression. Names and values come from
// params, which records those used (see Params.CheckUnused).
func ParseCondition(expr string, params *Params) (*Condition, error) {
	return parseCondition(kindCondition, expr, params)
}

// ParseFilter parses a FilterExpression: the same language as a
// ConditionExpression, with its own name in messages.
func ParseFilter(expr string, params *Params) (*Condition, error) {
	return parseCondition(kindFilter, expr, params)
}

func parseCondition(kind, expr string, params *Params) (*Condition, error) {
	root, err := parseConditionTree(kind, expr, params)
	if err != nil {
		return nil, err
	}
	return &Condition{root: root}, nil
}

// parseConditionTree parses and validates; a KeyConditionExpression adds its
// own checks on the result.
func parseConditionTree(kind, expr string, params *Params) (*cond, *Error) {
	p, err := newParser(kind, expr, params)
	if err != nil {
		return nil, err
	}
	p.isKeyword = isConditionKeyword
	c := &condParser{parser: p}
	root, err := c.parse()
	if err != nil {
		return nil, err
	}
	if err := c.validate(root); err != nil {
		return nil, err
	}
	return root, nil
}

func isConditionKeyword(s string) bool {
	switch strings.ToUpper(s) {
	case "AND", "OR", "NOT", "BETWEEN", "IN":
		return true
	}
	return false
}

type condOp uint8

const (
	opAnd condOp = iota + 1
	opOr
	opNot
	opCompare
	opBetween
	opIn
	opFunction // a function call used as a condition
)

// cond is a node of a condition: a connective or a leaf.
type cond struct {
	op     condOp
	tok    int        // the operator's or function's token
	cmp    tokKind    // opCompare: tEq, tNe, tLt, tLe, tGt, tGe
	sub    []*cond    // opAnd, opOr: two; opNot: one
	args   []*operand // opCompare: two; opBetween: three; opIn: 1+n; opFunction: the call
	parens int
}

type operandKind uint8

const (
	operandPath operandKind = iota + 1
	operandValue
	operandCall
)

// operand is a path, a :value or a function call.
type operand struct {
	kind   operandKind
	tok    int
	parens int
	raw    rawPath        // operandPath, as written
	ref    string         // operandValue, as written
	fn     string         // operandCall
	args   []*operand     // operandCall
	path   Path           // operandPath, resolved
	value  AttributeValue // operandValue, resolved
}

type condParser struct {
	*parser
	redundant bool
}

// pnode is what a parenthesised group held: a condition or a bare operand.
type pnode struct {
	c *cond
	o *operand
}

func (c *condParser) parse() (*cond, *Error) {
	n, err := c.or(false)
	if err != nil {
		return nil, err
	}
	if c.peekKind() != tEOF {
		return nil, c.syntaxError(c.pos)
	}
	return n.c, nil
}

// or, and, not and primary descend by precedence. bareOK is true directly
// inside a parenthesis, where a lone operand may stand: "(a) = :v".
func (c *condParser) or(bareOK bool) (pnode, *Error) {
	left, err := c.and(bareOK)
	if err != nil || left.o != nil {
		return left, err
	}
	for c.keyword("OR") {
		tok := c.pos
		c.pos++
		right, err := c.and(false)
		if err != nil {
			return pnode{}, err
		}
		left = pnode{c: &cond{op: opOr, tok: tok, sub: []*cond{left.c, right.c}}}
	}
	return left, nil
}

func (c *condParser) and(bareOK bool) (pnode, *Error) {
	left, err := c.not(bareOK)
	if err != nil || left.o != nil {
		return left, err
	}
	for c.keyword("AND") {
		tok := c.pos
		c.pos++
		right, err := c.not(false)
		if err != nil {
			return pnode{}, err
		}
		left = pnode{c: &cond{op: opAnd, tok: tok, sub: []*cond{left.c, right.c}}}
	}
	return left, nil
}

func (c *condParser) not(bareOK bool) (pnode, *Error) {
	if !c.keyword("NOT") {
		return c.primary(bareOK)
	}
	tok := c.pos
	c.pos++
	inner, err := c.not(false)
	if err != nil {
		return pnode{}, err
	}
	return pnode{c: &cond{op: opNot, tok: tok, sub: []*cond{inner.c}}}, nil
}

func isComparator(k tokKind) bool {
	switch k {
	case tEq, tNe, tLt, tLe, tGt, tGe:
		return true
	}
	return false
}

func (c *condParser) primary(bareOK bool) (pnode, *Error) {
	var left pnode
	if c.peekKind() == tLParen {
		g, err := c.group()
		if err != nil {
			return pnode{}, err
		}
		left = g
	} else {
		o, err := c.operand()
		if err != nil {
			return pnode{}, err
		}
		left = pnode{o: o}
	}
	if left.c != nil {
		if isComparator(c.peekKind()) || c.keyword("BETWEEN") || c.keyword("IN") {
			return pnode{}, c.syntaxError(c.pos)
		}
		return left, nil
	}
	o := left.o
	switch {
	case isComparator(c.peekKind()):
		tok := c.pos
		c.pos++
		right, err := c.operandParens()
		if err != nil {
			return pnode{}, err
		}
		return pnode{c: &cond{op: opCompare, tok: tok, cmp: c.toks[tok].kind, args: []*operand{o, right}}}, nil
	case c.keyword("BETWEEN"):
		tok := c.pos
		c.pos++
		lo, err := c.operandParens()
		if err != nil {
			return pnode{}, err
		}
		if !c.keyword("AND") {
			return pnode{}, c.syntaxError(c.pos)
		}
		c.pos++
		hi, err := c.operandParens()
		if err != nil {
			return pnode{}, err
		}
		return pnode{c: &cond{op: opBetween, tok: tok, args: []*operand{o, lo, hi}}}, nil
	case c.keyword("IN"):
		tok := c.pos
		c.pos++
		if err := c.expect(tLParen); err != nil {
			return pnode{}, err
		}
		args := []*operand{o}
		for {
			e, err := c.operandParens()
			if err != nil {
				return pnode{}, err
			}
			args = append(args, e)
			if c.peekKind() != tComma {
				break
			}
			c.pos++
		}
		if err := c.expect(tRParen); err != nil {
			return pnode{}, err
		}
		return pnode{c: &cond{op: opIn, tok: tok, args: args}}, nil
	}
	if bareOK && c.peekKind() == tRParen {
		// "(a) = :v", "(size(a)) > :n", "(attribute_exists(a))": the
		// caller decides what the group was.
		return left, nil
	}
	if o.kind == operandCall {
		return pnode{c: &cond{op: opFunction, tok: o.tok, args: []*operand{o}, parens: o.parens}}, nil
	}
	return pnode{}, c.syntaxError(c.pos)
}

// group parses "(" condition-or-operand ")".
func (c *condParser) group() (pnode, *Error) {
	c.pos++
	inner, err := c.or(true)
	if err != nil {
		return pnode{}, err
	}
	if err := c.expect(tRParen); err != nil {
		return pnode{}, err
	}
	var parens *int
	if inner.c != nil {
		parens = &inner.c.parens
	} else {
		parens = &inner.o.parens
	}
	if *parens > 0 {
		c.redundant = true
	}
	*parens++
	return inner, nil
}

// operandParens parses an operand in any number of parentheses.
func (c *condParser) operandParens() (*operand, *Error) {
	if c.peekKind() != tLParen {
		return c.operand()
	}
	c.pos++
	o, err := c.operandParens()
	if err != nil {
		return nil, err
	}
	if err := c.expect(tRParen); err != nil {
		return nil, err
	}
	if o.parens > 0 {
		c.redundant = true
	}
	o.parens++
	return o, nil
}

// operand parses a :value, a function call or a path.
func (c *condParser) operand() (*operand, *Error) {
	t := c.tok()
	switch t.kind {
	case tValueRef:
		c.pos++
		return &operand{kind: operandValue, tok: c.pos - 1, ref: c.src[t.start:t.end]}, nil
	case tIdent:
		if isConditionKeyword(c.src[t.start:t.end]) {
			return nil, c.syntaxError(c.pos)
		}
		if c.toks[c.pos+1].kind == tLParen {
			return c.call()
		}
	case tAlias:
	default:
		return nil, c.syntaxError(c.pos)
	}
	tok := c.pos
	rp, err := c.path()
	if err != nil {
		return nil, err
	}
	return &operand{kind: operandPath, tok: tok, raw: rp}, nil
}

func (c *condParser) call() (*operand, *Error) {
	o := &operand{kind: operandCall, tok: c.pos, fn: c.text(c.pos)}
	c.pos += 2 // name (
	for {
		a, err := c.operandParens()
		if err != nil {
			return nil, err
		}
		o.args = append(o.args, a)
		if c.peekKind() != tComma {
			break
		}
		c.pos++
	}
	if err := c.expect(tRParen); err != nil {
		return nil, err
	}
	return o, nil
}

// walk visits the nodes of a condition in the order they were written.
func (n *cond) walk(f func(*cond) *Error) *Error {
	if err := f(n); err != nil {
		return err
	}
	for _, s := range n.sub {
		if err := s.walk(f); err != nil {
			return err
		}
	}
	return nil
}

// walkOperands visits a leaf's operands, and the arguments of calls among
// them, in the order they were written.
func (n *cond) walkOperands(f func(*operand) *Error) *Error {
	for _, a := range n.args {
		if err := a.walk(f); err != nil {
			return err
		}
	}
	return nil
}

func (o *operand) walk(f func(*operand) *Error) *Error {
	if err := f(o); err != nil {
		return err
	}
	for _, a := range o.args {
		if err := a.walk(f); err != nil {
			return err
		}
	}
	return nil
}

// conditionFunctions are the functions and their operand counts.
var conditionFunctions = map[string]int{
	"attribute_exists":     1,
	"attribute_not_exists": 1,
	"attribute_type":       2,
	"begins_with":          2,
	"contains":             2,
	"size":                 1,
}

// validate checks what the grammar cannot, in DynamoDB's order (dynalite
// db/conditionParser.pegjs, whose order was fixed against DynamoDB; the
// per-clause source order is confirmed by paritysuite/dynamodb-conformance
// validation-ordering/queryKeyCondition.test.ts): the operator limit,
// redundant parentheses, unknown functions, misused functions, reserved
// words; then clause by clause as written, its undefined names and values,
// operand counts, repeated operands and operand types.
func (c *condParser) validate(root *cond) *Error {
	ops := 0
	root.walk(func(n *cond) *Error {
		ops++
		return n.walkOperands(func(o *operand) *Error {
			if o.kind == operandCall && (n.op != opFunction || o != n.args[0]) {
				ops++
			}
			return nil
		})
	})
	if ops > maxOperators {
		return c.tooManyOperators(ops)
	}
	if c.redundant {
		return c.errorf("The expression has redundant parentheses;")
	}
	leaves := func(f func(n *cond) *Error) *Error {
		return root.walk(func(n *cond) *Error {
			if n.op == opAnd || n.op == opOr || n.op == opNot {
				return nil
			}
			return f(n)
		})
	}
	if err := leaves(func(n *cond) *Error {
		return n.walkOperands(func(o *operand) *Error {
			if _, ok := conditionFunctions[o.fn]; o.kind == operandCall && !ok {
				return c.errorf("Invalid function name; function: %s", o.fn)
			}
			return nil
		})
	}); err != nil {
		return err
	}
	if err := leaves(c.checkMisused); err != nil {
		return err
	}
	if err := leaves(func(n *cond) *Error {
		return n.walkOperands(func(o *operand) *Error {
			if w, ok := o.raw.reservedIn(); ok {
				return c.errorf("Attribute name is a reserved keyword; reserved keyword: %s", w)
			}
			if len(o.raw) > maxPathDepth {
				return c.depthError(len(o.raw))
			}
			return nil
		})
	}); err != nil {
		return err
	}
	return leaves(func(n *cond) *Error {
		if err := n.walkOperands(c.resolveOperand); err != nil {
			return err
		}
		if err := c.checkCounts(n); err != nil {
			return err
		}
		if err := c.checkDistinct(n); err != nil {
			return err
		}
		return c.checkTypes(n)
	})
}

func (c *condParser) misused(fn string) *Error {
	return c.errorf("The function is not allowed to be used this way in an expression; function: %s", fn)
}

// checkMisused refuses a function where DynamoDB does not take it: any but
// size as an operand, and size as a condition.
func (c *condParser) checkMisused(n *cond) *Error {
	var inner func(o *operand) *Error
	inner = func(o *operand) *Error {
		for _, a := range o.args {
			if a.kind == operandCall && a.fn != "size" {
				return c.misused(a.fn)
			}
			if err := inner(a); err != nil {
				return err
			}
		}
		return nil
	}
	if n.op == opFunction {
		if n.args[0].fn == "size" {
			return c.misused("size")
		}
		return inner(n.args[0])
	}
	for _, a := range n.args {
		if a.kind == operandCall && a.fn != "size" {
			return c.misused(a.fn)
		}
		if err := inner(a); err != nil {
			return err
		}
	}
	return nil
}

func (c *condParser) resolveOperand(o *operand) *Error {
	var err *Error
	switch o.kind {
	case operandPath:
		o.path, err = c.resolve(o.raw)
	case operandValue:
		o.value, err = c.value(o.ref)
	}
	return err
}

func (c *condParser) checkCounts(n *cond) *Error {
	if n.op == opIn && len(n.args)-1 > maxInOperands {
		// "Invalid FilterExpression: The IN operator is provided with too
		// many operands; number of operands: 163" (reapit/foundations#8255).
		return c.errorf("The IN operator is provided with too many operands; number of operands: %d", len(n.args)-1)
	}
	return n.walkOperands(func(o *operand) *Error {
		if o.kind == operandCall && len(o.args) != conditionFunctions[o.fn] {
			return c.errorf("Incorrect number of operands for operator or function; operator or function: %s, number of operands: %d", o.fn, len(o.args))
		}
		return nil
	})
}

func (c *condParser) checkDistinct(n *cond) *Error {
	same := func(a, b *operand) bool {
		return a.kind == operandPath && b.kind == operandPath && pathsEqual(a.path, b.path)
	}
	if n.op == opCompare && same(n.args[0], n.args[1]) {
		return c.errorf("The first operand must be distinct from the remaining operands for this operator or function; operator: %s, first operand: %s", c.text(n.tok), n.args[0].path)
	}
	return n.walkOperands(func(o *operand) *Error {
		if o.kind == operandCall && len(o.args) == 2 && same(o.args[0], o.args[1]) {
			return c.errorf("The first operand must be distinct from the remaining operands for this operator or function; operator: %s, first operand: %s", o.fn, o.args[0].path)
		}
		return nil
	})
}

func pathsEqual(a, b Path) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// staticType is an operand's type when it is known before evaluation: a
// value's, or N for size().
func staticType(o *operand) (Type, bool) {
	switch {
	case o.kind == operandValue:
		return o.value.typ, true
	case o.kind == operandCall && o.fn == "size":
		return TypeN, true
	}
	return 0, false
}

func (c *condParser) operandTypeError(op string, t Type) *Error {
	return c.errorf("Incorrect operand type for operator or function; operator or function: %s, operand type: %s", op, t)
}

func (c *condParser) checkTypes(n *cond) *Error {
	if err := n.walkOperands(func(o *operand) *Error {
		if o.kind != operandCall {
			return nil
		}
		return c.checkCall(o)
	}); err != nil {
		return err
	}
	switch n.op {
	case opCompare:
		if n.cmp == tEq || n.cmp == tNe {
			return nil
		}
		for _, a := range n.args {
			if t, ok := staticType(a); ok && !t.IsScalarKey() {
				return c.operandTypeError(c.text(n.tok), t)
			}
		}
	case opBetween:
		for _, a := range n.args {
			if t, ok := staticType(a); ok && !t.IsScalarKey() {
				return c.operandTypeError("BETWEEN", t)
			}
		}
		lo, hi := n.args[1], n.args[2]
		if lo.kind == operandValue && hi.kind == operandValue {
			if lo.value.typ != hi.value.typ {
				return c.errorf("The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: %s, upper bound operand: AttributeValue: %s", brief(lo.value), brief(hi.value))
			}
			if compareScalar(lo.value, hi.value) > 0 {
				return c.errorf("The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: %s, upper bound operand: AttributeValue: %s", brief(lo.value), brief(hi.value))
			}
		}
	}
	return nil
}

// checkCall checks a function's operands (dynalite conditionParser.pegjs
// checkFunction).
func (c *condParser) checkCall(o *operand) *Error {
	switch o.fn {
	case "attribute_exists", "attribute_not_exists":
		if o.args[0].kind != operandPath {
			return c.errorf("Operator or function requires a document path; operator or function: %s", o.fn)
		}
	case "attribute_type":
		if o.args[0].kind != operandPath {
			return c.errorf("Operator or function requires a document path; operator or function: %s", o.fn)
		}
		t, ok := staticType(o.args[1])
		if !ok {
			return c.errorf("Incorrect operand type for operator or function; operator or function: %s, operand type: {NS,SS,L,BS,N,M,B,BOOL,NULL,S}", o.fn)
		}
		if t != TypeS {
			return c.operandTypeError(o.fn, t)
		}
		if _, ok := ParseType(o.args[1].value.str); !ok {
			return c.errorf("Invalid attribute type name found; type: %s, valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}", o.args[1].value.str)
		}
	case "begins_with":
		for _, a := range o.args {
			if t, ok := staticType(a); ok && t != TypeS && t != TypeB {
				return c.operandTypeError(o.fn, t)
			}
		}
	case "size":
		if t, ok := staticType(o.args[0]); ok && (t == TypeN || t == TypeBOOL || t == TypeNULL) {
			return c.operandTypeError(o.fn, t)
		}
	}
	return nil
}

// brief renders a scalar as DynamoDB's BETWEEN messages do: {S:b}, {N:1}.
func brief(v AttributeValue) string {
	s := v.str
	switch v.typ {
	case TypeB:
		s = base64Encode(v.str)
	case TypeBOOL, TypeNULL:
		if v.boolean {
			s = "true"
		} else {
			s = "false"
		}
	case TypeS, TypeN:
	default:
		return v.String()
	}
	return "{" + v.typ.String() + ":" + s + "}"
}

// Eval evaluates the condition against item (nil for an item that does not
// exist). A comparison between values of different types, or with a missing
// attribute, is false, not an error, as in DynamoDB; <> is its negation.
func (c *Condition) Eval(item Item) bool { return c.root.eval(item) }

func (n *cond) eval(item Item) bool {
	switch n.op {
	case opAnd:
		return n.sub[0].eval(item) && n.sub[1].eval(item)
	case opOr:
		return n.sub[0].eval(item) || n.sub[1].eval(item)
	case opNot:
		return !n.sub[0].eval(item)
	case opCompare:
		a, aok := n.args[0].eval(item)
		b, bok := n.args[1].eval(item)
		switch n.cmp {
		case tEq:
			return aok && bok && Equal(a, b)
		case tNe:
			return !(aok && bok && Equal(a, b))
		}
		if !aok || !bok {
			return false
		}
		r, ok := Compare(a, b)
		if !ok {
			return false
		}
		switch n.cmp {
		case tLt:
			return r < 0
		case tLe:
			return r <= 0
		case tGt:
			return r > 0
		}
		return r >= 0
	case opBetween:
		v, ok := n.args[0].eval(item)
		lo, lok := n.args[1].eval(item)
		hi, hok := n.args[2].eval(item)
		if !ok || !lok || !hok {
			return false
		}
		a, aok := Compare(lo, v)
		b, bok := Compare(v, hi)
		return aok && bok && a <= 0 && b <= 0
	case opIn:
		v, ok := n.args[0].eval(item)
		if !ok {
			return false
		}
		for _, a := range n.args[1:] {
			if w, ok := a.eval(item); ok && Equal(v, w) {
				return true
			}
		}
		return false
	case opFunction:
		return n.args[0].call(item)
	}
	return false
}

// eval returns an operand's value for item; ok is false for a missing
// attribute or a size() of one that has none.
func (o *operand) eval(item Item) (AttributeValue, bool) {
	switch o.kind {
	case operandPath:
		return o.path.Get(item)
	case operandValue:
		return o.value, true
	}
	// size, the only function an operand can be.
	v, ok := o.args[0].eval(item)
	if !ok {
		return AttributeValue{}, false
	}
	n, ok := v.sizeFunction()
	if !ok {
		return AttributeValue{}, false
	}
	return Int(int64(n)), true
}

// call evaluates a function used as a condition.
func (o *operand) call(item Item) bool {
	v, ok := o.args[0].eval(item)
	switch o.fn {
	case "attribute_exists":
		return ok
	case "attribute_not_exists":
		return !ok
	}
	if !ok {
		return false
	}
	arg, aok := o.args[1].eval(item)
	if !aok {
		return false
	}
	switch o.fn {
	case "attribute_type":
		return arg.typ == TypeS && v.typ.String() == arg.str
	case "begins_with":
		return (v.typ == TypeS || v.typ == TypeB) && v.typ == arg.typ && strings.HasPrefix(v.str, arg.str)
	case "contains":
		return v.contains(arg)
	}
	return false
}
