package ddb

import (
	"maps"
	"slices"
	"strings"
)

// Update is a parsed UpdateExpression. It is immutable and safe for
// concurrent use.
//
// Grammar (developer guide, "Update expressions"): one or more sections, each
// keyword at most once, in any order —
//
//	SET path = value, ...      value: operand, operand + operand, operand - operand
//	REMOVE path, ...           operand: path, :value, if_not_exists(path, operand),
//	ADD path :value, ...                list_append(operand, operand)
//	DELETE path :value, ...
type Update struct {
	actions []action
}

type actionKind uint8

const (
	actSet actionKind = iota + 1
	actRemove
	actAdd
	actDelete
)

// action is one comma-separated clause of a section.
type action struct {
	kind   actionKind
	target *operand // the path written to, as an operand for the walkers
	raw    rawPath
	path   Path
	value  *operand // SET: the value; ADD, DELETE: the :value
}

// Messages of a failed update, from dynalite actions/updateItem.js, whose
// tests run against DynamoDB.
var (
	errMissingOperand = validation("The provided expression refers to an attribute that does not exist in the item")
	errOperandType    = validation("An operand in the update expression has an incorrect data type")
)

// ParseUpdate parses an UpdateExpression. schema is the table's key schema:
// DynamoDB refuses an update of a key attribute.
func ParseUpdate(expr string, params *Params, schema KeySchema) (*Update, error) {
	u, err := parseUpdate(expr, params, schema)
	if err != nil {
		return nil, err
	}
	return u, nil
}

func isSectionKeyword(s string) bool {
	switch strings.ToUpper(s) {
	case "SET", "REMOVE", "ADD", "DELETE":
		return true
	}
	return false
}

type updateParser struct {
	*parser
	duplicate string // the first section keyword written twice
}

func parseUpdate(expr string, params *Params, schema KeySchema) (*Update, *Error) {
	p, err := newParser(kindUpdate, expr, params)
	if err != nil {
		return nil, err
	}
	p.isKeyword = isSectionKeyword
	up := &updateParser{parser: p}
	u := &Update{}
	seen := map[string]bool{}
	for {
		t := up.tok()
		if t.kind != tIdent || !isSectionKeyword(up.text(up.pos)) {
			return nil, up.syntaxError(up.pos)
		}
		section := strings.ToUpper(up.text(up.pos))
		if seen[section] && up.duplicate == "" {
			up.duplicate = section
		}
		seen[section] = true
		up.pos++
		for {
			a, err := up.action(section)
			if err != nil {
				return nil, err
			}
			u.actions = append(u.actions, a)
			if up.peekKind() != tComma {
				break
			}
			up.pos++
		}
		if up.peekKind() == tEOF {
			break
		}
	}
	if err := up.validate(u, schema); err != nil {
		return nil, err
	}
	return u, nil
}

func (up *updateParser) action(section string) (action, *Error) {
	a := action{}
	tok := up.pos
	rp, err := up.path()
	if err != nil {
		return action{}, err
	}
	a.raw = rp
	a.target = &operand{kind: operandPath, tok: tok, raw: rp}
	switch section {
	case "SET":
		a.kind = actSet
		if err := up.expect(tEq); err != nil {
			return action{}, err
		}
		a.value, err = up.setValue()
	case "REMOVE":
		a.kind = actRemove
	case "ADD", "DELETE":
		a.kind = actAdd
		if section == "DELETE" {
			a.kind = actDelete
		}
		t := up.tok()
		if t.kind != tValueRef {
			return action{}, up.syntaxError(up.pos)
		}
		a.value = &operand{kind: operandValue, tok: up.pos, ref: up.src[t.start:t.end]}
		up.pos++
	}
	return a, err
}

// setValue parses the right of SET's "=": an operand or a sum or difference
// of two, optionally in one pair of parentheses (dynalite's grammar, whose
// syntax-error cases were checked against DynamoDB).
func (up *updateParser) setValue() (*operand, *Error) {
	if up.peekKind() != tLParen {
		return up.arithmetic()
	}
	up.pos++
	v, err := up.arithmetic()
	if err != nil {
		return nil, err
	}
	if err := up.expect(tRParen); err != nil {
		return nil, err
	}
	if v.kind == operandCall && (v.fn == "+" || v.fn == "-") {
		return v, nil
	}
	// "(a) + :n": the parentheses held the left operand.
	return up.arithmeticFrom(v)
}

func (up *updateParser) arithmetic() (*operand, *Error) {
	left, err := up.operandParens()
	if err != nil {
		return nil, err
	}
	return up.arithmeticFrom(left)
}

func (up *updateParser) arithmeticFrom(left *operand) (*operand, *Error) {
	k := up.peekKind()
	if k != tPlus && k != tMinus {
		return left, nil
	}
	tok := up.pos
	up.pos++
	right, err := up.operandParens()
	if err != nil {
		return nil, err
	}
	return &operand{kind: operandCall, tok: tok, fn: up.text(tok), args: []*operand{left, right}}, nil
}

func (up *updateParser) operandParens() (*operand, *Error) {
	if up.peekKind() != tLParen {
		return up.operand()
	}
	up.pos++
	o, err := up.operand()
	if err != nil {
		return nil, err
	}
	return o, up.expect(tRParen)
}

func (up *updateParser) operand() (*operand, *Error) {
	t := up.tok()
	switch t.kind {
	case tValueRef:
		up.pos++
		return &operand{kind: operandValue, tok: up.pos - 1, ref: up.src[t.start:t.end]}, nil
	case tIdent:
		if isSectionKeyword(up.text(up.pos)) {
			return nil, up.syntaxError(up.pos)
		}
		if up.toks[up.pos+1].kind == tLParen {
			o := &operand{kind: operandCall, tok: up.pos, fn: up.text(up.pos)}
			up.pos += 2
			for {
				a, err := up.operandParens()
				if err != nil {
					return nil, err
				}
				o.args = append(o.args, a)
				if up.peekKind() != tComma {
					break
				}
				up.pos++
			}
			return o, up.expect(tRParen)
		}
	case tAlias:
	default:
		return nil, up.syntaxError(up.pos)
	}
	tok := up.pos
	rp, err := up.path()
	if err != nil {
		return nil, err
	}
	return &operand{kind: operandPath, tok: tok, raw: rp}, nil
}

var updateFunctions = map[string]int{"if_not_exists": 2, "list_append": 2}

// walkOperands visits the operands of every action in source order, the
// target path first. Calls are visited after their arguments, as DynamoDB
// checks them.
func (u *Update) walkOperands(f func(o *operand) *Error) *Error {
	var post func(o *operand) *Error
	post = func(o *operand) *Error {
		for _, a := range o.args {
			if err := post(a); err != nil {
				return err
			}
		}
		return f(o)
	}
	for i := range u.actions {
		a := &u.actions[i]
		if err := f(a.target); err != nil {
			return err
		}
		if a.value != nil {
			if err := post(a.value); err != nil {
				return err
			}
		}
	}
	return nil
}

// validate checks in dynalite's order for update expressions
// (db/updateParser.pegjs checkErrors): the operator limit, reserved words,
// unknown functions, repeated sections, undefined names, undefined values,
// overlapping then conflicting paths, ADD and DELETE operand types, function
// operands; then the key attributes (actions/updateItem.js validateUpdates).
func (up *updateParser) validate(u *Update, schema KeySchema) *Error {
	ops := 0
	u.walkOperands(func(o *operand) *Error {
		if o.kind == operandCall {
			ops++
		}
		return nil
	})
	if ops > maxOperators {
		return up.tooManyOperators(ops)
	}
	if err := u.walkOperands(func(o *operand) *Error {
		if w, ok := o.raw.reservedIn(); ok {
			return up.errorf("Attribute name is a reserved keyword; reserved keyword: %s", w)
		}
		return nil
	}); err != nil {
		return err
	}
	if err := u.walkOperands(func(o *operand) *Error {
		if _, known := updateFunctions[o.fn]; o.kind == operandCall && o.fn != "+" && o.fn != "-" && !known {
			return up.errorf("Invalid function name; function: %s", o.fn)
		}
		return nil
	}); err != nil {
		return err
	}
	if up.duplicate != "" {
		return up.errorf("The \"%s\" section can only be used once in an update expression;", up.duplicate)
	}
	if err := u.walkOperands(func(o *operand) *Error {
		if len(o.raw) > maxPathDepth {
			return up.depthError(len(o.raw))
		}
		return nil
	}); err != nil {
		return err
	}
	for i := range u.actions {
		a := &u.actions[i]
		path, err := up.resolve(a.raw)
		if err != nil {
			return err
		}
		a.path = path
		if a.value != nil {
			if err := a.value.walk(func(o *operand) *Error {
				if o.kind != operandPath {
					return nil
				}
				o.path, err = up.resolve(o.raw)
				return err
			}); err != nil {
				return err
			}
		}
	}
	if err := u.walkOperands(func(o *operand) *Error {
		if o.kind != operandValue {
			return nil
		}
		var err *Error
		o.value, err = up.value(o.ref)
		return err
	}); err != nil {
		return err
	}
	targets := make([]Path, len(u.actions))
	for i, a := range u.actions {
		targets[i] = a.path
	}
	if err := up.checkPaths(targets); err != nil {
		return err
	}
	for _, a := range u.actions {
		if a.kind != actAdd && a.kind != actDelete {
			continue
		}
		t := a.value.value.typ
		if (a.kind == actAdd && (t == TypeN || t.isSet())) || (a.kind == actDelete && t.isSet()) {
			continue
		}
		name := "ADD"
		if a.kind == actDelete {
			name = "DELETE"
		}
		return up.errorf("Incorrect operand type for operator or function; operator: %s, operand type: %s", name, coralTypeName(t))
	}
	if err := u.walkOperands(up.checkCall); err != nil {
		return err
	}
	return checkKeyUpdates(u, schema)
}

// coralTypeName is the name ADD and DELETE messages give a type.
func coralTypeName(t Type) string {
	switch t {
	case TypeS:
		return "STRING"
	case TypeN:
		return "NUMBER"
	case TypeB:
		return "BINARY"
	case TypeBOOL:
		return "BOOLEAN"
	case TypeNULL:
		return "NULL"
	case TypeL:
		return "LIST"
	case TypeM:
		return "MAP"
	}
	return t.String()
}

func (up *updateParser) checkCall(o *operand) *Error {
	if o.kind != operandCall {
		return nil
	}
	if len(o.args) != 2 {
		return up.errorf("Incorrect number of operands for operator or function; operator or function: %s, number of operands: %d", o.fn, len(o.args))
	}
	switch o.fn {
	case "if_not_exists":
		if o.args[0].kind != operandPath {
			return up.errorf("Operator or function requires a document path; operator or function: %s", o.fn)
		}
	case "list_append", "+", "-":
		want := TypeL
		if o.fn != "list_append" {
			want = TypeN
		}
		for _, a := range o.args {
			if a.kind == operandValue && a.value.typ != want {
				return up.errorf("Incorrect operand type for operator or function; operator or function: %s, operand type: %s", o.fn, a.value.typ)
			}
		}
	}
	return nil
}

// checkKeyUpdates refuses an update of a key attribute, and a nested path
// into one (dynalite db/index.js validateUpdates and validateKeyPaths; the
// first message is confirmed by nubo-db/dynamodb-conformance
// error-messages/updateItem.test.ts).
func checkKeyUpdates(u *Update, schema KeySchema) *Error {
	for _, a := range u.actions {
		if name := a.path.Attribute(); schema.IsKey(name) {
			return invalidParameter("Cannot update attribute %s. This attribute is part of the key", name)
		}
	}
	for _, a := range u.actions {
		if a.value == nil {
			continue
		}
		if err := a.value.walk(func(o *operand) *Error {
			if o.kind == operandPath && len(o.path) > 1 && schema.IsKey(o.path.Attribute()) {
				return validationf("Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: Key: %s", o.path.Attribute())
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// Paths returns the document paths the update writes, in the order written:
// what ReturnValues UPDATED_OLD and UPDATED_NEW return, through Project, from
// the item before and after.
func (u *Update) Paths() []Path {
	paths := make([]Path, len(u.actions))
	for i, a := range u.actions {
		paths[i] = a.path
	}
	return paths
}

// Apply applies the update to item and returns the new item; item is not
// changed. A nil item is an empty one; for an item that does not exist yet,
// pass its key attributes, from which UpdateItem creates it, so that the
// expression can read them.
//
// As in DynamoDB, every SET value is computed from item as it was before the
// update, and list indexes refer to the list before the update: REMOVE a[0],
// a[1] removes the first two elements, and SET a[i] past the end appends.
// The caller checks the new item's size (Size, MaxItemSize).
func (u *Update) Apply(item Item) (Item, error) {
	out, err := u.apply(item)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (u *Update) apply(item Item) (Item, *Error) {
	values := make([]AttributeValue, len(u.actions))
	for i, a := range u.actions {
		if a.kind == actSet {
			v, err := evalSetValue(a.value, item)
			if err != nil {
				return nil, err
			}
			values[i] = v
		}
	}
	out := make(Item, len(item)+len(u.actions))
	maps.Copy(out, item)
	var removals []Path
	for i, a := range u.actions {
		op := editOp{kind: a.kind}
		switch a.kind {
		case actSet:
			op.value = values[i]
		case actRemove:
			if last := len(a.path) - 1; a.path[last].IsIndex {
				list, ok := a.path[:last].Get(item)
				if !ok || list.typ != TypeL {
					return nil, errDocumentPathNotValid
				}
				if a.path[last].Index < len(list.list) {
					removals = append(removals, a.path)
				}
				continue
			}
		case actAdd, actDelete:
			op.value = a.value.value
		}
		if err := edit(out, a.path, op); err != nil {
			return nil, err
		}
	}
	// List elements go last, the highest index first, so that every index
	// means what it meant in the item as it was.
	slices.SortFunc(removals, func(a, b Path) int { return -comparePaths(a, b) })
	for _, p := range removals {
		if err := edit(out, p, editOp{kind: actRemove}); err != nil {
			return nil, err
		}
	}
	for _, a := range u.actions {
		if v, ok := out[a.path.Attribute()]; ok && v.depth() > maxDepth {
			return nil, errNesting
		}
	}
	return out, nil
}

func comparePaths(a, b Path) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		x, y := a[i], b[i]
		if x.IsIndex && y.IsIndex {
			if c := x.Index - y.Index; c != 0 {
				return c
			}
			continue
		}
		if c := strings.Compare(x.Name, y.Name); c != 0 {
			return c
		}
	}
	return len(a) - len(b)
}

func evalSetValue(o *operand, item Item) (AttributeValue, *Error) {
	switch o.kind {
	case operandPath:
		v, ok := o.path.Get(item)
		if !ok {
			return AttributeValue{}, errMissingOperand
		}
		return v, nil
	case operandValue:
		return o.value, nil
	}
	if o.fn == "if_not_exists" {
		if v, ok := o.args[0].path.Get(item); ok {
			return v, nil
		}
		return evalSetValue(o.args[1], item)
	}
	a, err := evalSetValue(o.args[0], item)
	if err != nil {
		return AttributeValue{}, err
	}
	b, err := evalSetValue(o.args[1], item)
	if err != nil {
		return AttributeValue{}, err
	}
	if o.fn == "list_append" {
		if a.typ != TypeL || b.typ != TypeL {
			return AttributeValue{}, errOperandType
		}
		return AttributeValue{typ: TypeL, list: slices.Concat(a.list, b.list)}, nil
	}
	if a.typ != TypeN || b.typ != TypeN {
		return AttributeValue{}, errOperandType
	}
	sum, err := addDecimals(decimalOf(a.str), decimalOf(b.str), o.fn == "-")
	if err != nil {
		return AttributeValue{}, err
	}
	return AttributeValue{typ: TypeN, str: sum.String()}, nil
}

// addTo is ADD: a number adds, a set takes the union, an absent attribute
// takes the value.
func addTo(old AttributeValue, exists bool, v AttributeValue) (AttributeValue, bool, *Error) {
	if !exists {
		return v, true, nil
	}
	if old.typ != v.typ {
		return AttributeValue{}, false, errOperandType
	}
	if v.typ == TypeN {
		sum, err := addDecimals(decimalOf(old.str), decimalOf(v.str), false)
		if err != nil {
			return AttributeValue{}, false, err
		}
		return AttributeValue{typ: TypeN, str: sum.String()}, true, nil
	}
	union := slices.Clone(old.list)
	for _, m := range v.list {
		if !old.setHas(m) {
			union = append(union, m)
		}
	}
	slices.SortFunc(union, compareScalar)
	return AttributeValue{typ: v.typ, list: union}, true, nil
}

// deleteFrom is DELETE: the set difference; an emptied set is removed.
func deleteFrom(old AttributeValue, exists bool, v AttributeValue) (AttributeValue, bool, *Error) {
	if !exists {
		return AttributeValue{}, false, nil
	}
	if old.typ != v.typ {
		return AttributeValue{}, false, errOperandType
	}
	var rest []AttributeValue
	for _, m := range old.list {
		if !v.setHas(m) {
			rest = append(rest, m)
		}
	}
	if len(rest) == 0 {
		return AttributeValue{}, false, nil
	}
	return AttributeValue{typ: v.typ, list: rest}, true, nil
}

// editOp is what an action does at its path: compute the new value from the
// old one; keep false removes it.
type editOp struct {
	kind  actionKind
	value AttributeValue
}

func (op editOp) apply(old AttributeValue, exists bool) (AttributeValue, bool, *Error) {
	switch op.kind {
	case actSet:
		return op.value, true, nil
	case actAdd:
		return addTo(old, exists, op.value)
	case actDelete:
		return deleteFrom(old, exists, op.value)
	}
	return AttributeValue{}, false, nil
}

// edit applies op at path in item, copying the containers on the way down so
// that values shared with other items are never changed. A path through a
// missing attribute, or through a value that is not the list or map the path
// expects, is invalid for update.
func edit(item Item, path Path, op editOp) *Error {
	name := path[0].Name
	cur, exists := item[name]
	if len(path) == 1 {
		v, keep, err := op.apply(cur, exists)
		if err != nil {
			return err
		}
		if keep {
			item[name] = v
		} else {
			delete(item, name)
		}
		return nil
	}
	if !exists {
		return errDocumentPathNotValid
	}
	v, err := editValue(cur, path[1:], op)
	if err != nil {
		return err
	}
	item[name] = v
	return nil
}

func editValue(v AttributeValue, path Path, op editOp) (AttributeValue, *Error) {
	e := path[0]
	if e.IsIndex {
		if v.typ != TypeL {
			return AttributeValue{}, errDocumentPathNotValid
		}
		list := slices.Clone(v.list)
		exists := e.Index < len(list)
		if len(path) > 1 {
			if !exists {
				return AttributeValue{}, errDocumentPathNotValid
			}
			child, err := editValue(list[e.Index], path[1:], op)
			if err != nil {
				return AttributeValue{}, err
			}
			list[e.Index] = child
			return AttributeValue{typ: TypeL, list: list}, nil
		}
		var old AttributeValue
		if exists {
			old = list[e.Index]
		}
		nv, keep, err := op.apply(old, exists)
		if err != nil {
			return AttributeValue{}, err
		}
		switch {
		case exists && keep:
			list[e.Index] = nv
		case exists:
			list = slices.Delete(list, e.Index, e.Index+1)
		case keep:
			list = append(list, nv)
		}
		return AttributeValue{typ: TypeL, list: list}, nil
	}
	if v.typ != TypeM {
		return AttributeValue{}, errDocumentPathNotValid
	}
	m := maps.Clone(v.m)
	if m == nil {
		m = map[string]AttributeValue{}
	}
	old, exists := m[e.Name]
	if len(path) > 1 {
		if !exists {
			return AttributeValue{}, errDocumentPathNotValid
		}
		child, err := editValue(old, path[1:], op)
		if err != nil {
			return AttributeValue{}, err
		}
		m[e.Name] = child
		return AttributeValue{typ: TypeM, m: m}, nil
	}
	nv, keep, err := op.apply(old, exists)
	if err != nil {
		return AttributeValue{}, err
	}
	if keep {
		m[e.Name] = nv
	} else {
		delete(m, e.Name)
	}
	return AttributeValue{typ: TypeM, m: m}, nil
}
