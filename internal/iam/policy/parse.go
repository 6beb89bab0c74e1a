package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
)

// The policy language versions. Policy variables are active only in
// Version2012; a document without a Version is read as Version2008, where
// "${aws:username}" is literal text.
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// Policy is a parsed and compiled identity or session policy. It is
// immutable and safe for concurrent use.
type Policy struct {
	version    string
	statements []statement
	allows     []*statement
	denies     []*statement
}

// Version returns the policy language version the document declared, or
// Version2008 when it declared none.
func (p *Policy) Version() string { return p.version }

// Len returns the number of statements.
func (p *Policy) Len() int { return len(p.statements) }

type statement struct {
	index       int
	sid         string
	deny        bool
	notAction   bool
	actions     []pattern
	notResource bool
	resources   []pattern
	conditions  []condition
	vars        variables
}

// IAM's MalformedPolicyDocument messages, which errors begin with.
const (
	msgInvalidJSON  = "This policy contains invalid Json"
	msgSyntax       = "Syntax errors in policy."
	msgLegacy       = "The policy failed legacy parsing"
	msgPrincipal    = "Policy document should not specify a principal."
	msgNoActions    = "Policy statement must contain actions."
	msgNoResources  = "Policy statement must contain resources."
	msgVendor       = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
	msgSidChars     = "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*"
	msgSidUnique    = "Statement IDs (SID) in a single policy must be unique."
	msgResourceVend = "Resource vendor must be fully qualified and cannot contain regexes."
)

// malformed builds a parse error: IAM's message, then where in the document
// and what exactly, so that a user can find and fix it.
func malformed(message, where, detail string) error {
	if detail == "" {
		return errdefs.New(errdefs.ErrValidation, "%s (%s)", message, where)
	}
	return errdefs.New(errdefs.ErrValidation, "%s (%s: %s)", message, where, detail)
}

// Parse parses and validates an identity or session policy document and
// compiles it for evaluation. Errors wrap errdefs.ErrValidation; their
// message starts with IAM's MalformedPolicyDocument wording and names the
// statement and element at fault. Size limits are the caller's.
func Parse(doc []byte) (*Policy, error) {
	root, err := decodeJSON(doc)
	if err != nil {
		return nil, err
	}
	if root.kind != nodeObject {
		return nil, malformed(msgSyntax, "policy", "the document must be a JSON object")
	}
	p := &Policy{version: Version2008}
	var stmts *node
	for i := range root.members {
		m := &root.members[i]
		switch m.key {
		case "Version":
			if m.value.kind != nodeString {
				return nil, malformed(msgLegacy, "Version", "must be a string")
			}
			if v := m.value.text; v != Version2012 && v != Version2008 {
				return nil, malformed(msgLegacy, "Version", fmt.Sprintf("%q is not %q or %q", v, Version2012, Version2008))
			}
			p.version = m.value.text
		case "Id":
			if m.value.kind != nodeString {
				return nil, malformed(msgSyntax, "Id", "must be a string")
			}
		case "Statement":
			stmts = &m.value
		default:
			return nil, malformed(msgSyntax, "policy", fmt.Sprintf("unknown element %q (expected Version, Id, Statement)", m.key))
		}
	}
	if stmts == nil {
		return nil, malformed(msgSyntax, "policy", "missing Statement")
	}
	var list []node
	switch stmts.kind {
	case nodeObject:
		list = []node{*stmts}
	case nodeArray:
		list = stmts.items
	default:
		return nil, malformed(msgSyntax, "Statement", "must be an object or an array of objects")
	}
	if len(list) == 0 {
		return nil, malformed(msgSyntax, "Statement", "has no statements")
	}
	p.statements = make([]statement, len(list))
	sids := make(map[string]int)
	for i := range list {
		s := &p.statements[i]
		if err := s.compile(i, &list[i], p.version == Version2012); err != nil {
			return nil, err
		}
		if s.sid != "" {
			if j, dup := sids[s.sid]; dup {
				return nil, malformed(msgSidUnique, s.where(), fmt.Sprintf("Statement[%d] has the same Sid", j))
			}
			sids[s.sid] = i
		}
	}
	for i := range p.statements {
		s := &p.statements[i]
		if s.deny {
			p.denies = append(p.denies, s)
		} else {
			p.allows = append(p.allows, s)
		}
	}
	return p, nil
}

// where names the statement for messages: Statement[2] (Sid "ReadOrders").
func (s *statement) where() string {
	if s.sid != "" {
		return fmt.Sprintf("Statement[%d] (Sid %q)", s.index, s.sid)
	}
	return fmt.Sprintf("Statement[%d]", s.index)
}

func (s *statement) compile(index int, n *node, varsActive bool) error {
	s.index = index
	if n.kind != nodeObject {
		return malformed(msgSyntax, s.where(), "a statement must be a JSON object")
	}
	elems := make(map[string]*node, len(n.members))
	unknown := ""
	for i := range n.members {
		m := &n.members[i]
		switch m.key {
		case "Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition",
			"Principal", "NotPrincipal": // Principal is rejected below
			elems[m.key] = &m.value
		default:
			if unknown == "" {
				unknown = m.key
			}
		}
	}
	// The Sid first, so that later messages can name the statement by it.
	if v, ok := elems["Sid"]; ok {
		if v.kind != nodeString {
			return malformed(msgSyntax, s.where(), "Sid must be a string")
		}
		if !validSid(v.text) {
			return malformed(msgSidChars, s.where(), fmt.Sprintf("Sid %q", v.text))
		}
		s.sid = v.text
	}
	if unknown != "" {
		return malformed(msgSyntax, s.where(), fmt.Sprintf("unknown element %q (expected Sid, Effect, Action or NotAction, Resource or NotResource, Condition)", unknown))
	}
	for _, k := range []string{"Principal", "NotPrincipal"} {
		if _, ok := elems[k]; ok {
			return malformed(msgPrincipal, s.where(), k)
		}
	}

	effect, ok := elems["Effect"]
	switch {
	case !ok:
		return malformed(msgSyntax, s.where(), "missing Effect")
	case effect.kind != nodeString || (effect.text != "Allow" && effect.text != "Deny"):
		return malformed(msgSyntax, s.where(), fmt.Sprintf("Effect must be \"Allow\" or \"Deny\", not %s", effect.describe()))
	}
	s.deny = effect.text == "Deny"

	var vars *variables
	if varsActive {
		vars = &s.vars
	}
	if err := s.compileActions(elems); err != nil {
		return err
	}
	if err := s.compileResources(elems, vars); err != nil {
		return err
	}
	if c, ok := elems["Condition"]; ok {
		if err := s.compileConditions(c, vars); err != nil {
			return err
		}
	}
	return nil
}

func (s *statement) compileActions(elems map[string]*node) error {
	a, hasAction := elems["Action"]
	na, hasNotAction := elems["NotAction"]
	switch {
	case hasAction && hasNotAction:
		return malformed(msgSyntax, s.where(), "a statement has Action or NotAction, not both")
	case !hasAction && !hasNotAction:
		return malformed(msgNoActions, s.where(), "")
	case hasNotAction:
		a, s.notAction = na, true
	}
	element := "Action"
	if s.notAction {
		element = "NotAction"
	}
	values, err := stringList(a, false)
	if err != nil {
		return malformed(msgSyntax, s.where(), element+" "+err.Error())
	}
	if len(values) == 0 {
		return malformed(msgNoActions, s.where(), element+" is empty")
	}
	for _, v := range values {
		if v == "*" {
			s.actions = append(s.actions, pattern{raw: v, all: true, parts: []part{{kind: partAny}}})
			continue
		}
		vendor, name, ok := strings.Cut(v, ":")
		if !ok || vendor == "" {
			return malformed(msgVendor, s.where(), fmt.Sprintf("%s %q", element, v))
		}
		if !validVendor(vendor) {
			return malformed(fmt.Sprintf("Vendor %s is not valid", vendor), s.where(), fmt.Sprintf("%s %q: a service prefix has only letters, digits and hyphens", element, v))
		}
		if !validActionName(name) {
			return malformed(msgSyntax, s.where(), fmt.Sprintf("%s %q: an action name has only letters, digits and the wildcards * and ?", element, v))
		}
		p, err := compilePattern(v, true, nil)
		if err != nil {
			return malformed(msgSyntax, s.where(), fmt.Sprintf("%s %q: %v", element, v, err))
		}
		s.actions = append(s.actions, p)
	}
	return nil
}

func (s *statement) compileResources(elems map[string]*node, vars *variables) error {
	r, hasResource := elems["Resource"]
	nr, hasNotResource := elems["NotResource"]
	switch {
	case hasResource && hasNotResource:
		return malformed(msgSyntax, s.where(), "a statement has Resource or NotResource, not both")
	case !hasResource && !hasNotResource:
		return malformed(msgNoResources, s.where(), "")
	case hasNotResource:
		r, s.notResource = nr, true
	}
	element := "Resource"
	if s.notResource {
		element = "NotResource"
	}
	values, err := stringList(r, false)
	if err != nil {
		return malformed(msgSyntax, s.where(), element+" "+err.Error())
	}
	if len(values) == 0 {
		return malformed(msgNoResources, s.where(), element+" is empty")
	}
	for _, v := range values {
		if v == "*" {
			s.resources = append(s.resources, pattern{raw: v, all: true, parts: []part{{kind: partAny}}})
			continue
		}
		fields := strings.SplitN(v, ":", 6)
		if len(fields) < 6 || fields[0] != "arn" || fields[1] == "" {
			return malformed(fmt.Sprintf("Resource %s must be in ARN format or \"*\".", v), s.where(), element)
		}
		if !validVendor(fields[2]) {
			return malformed(msgResourceVend, s.where(), fmt.Sprintf("%s %q", element, v))
		}
		head := v[:len(v)-len(fields[5])]
		if vars != nil && strings.Contains(head, "${") {
			return malformed(msgSyntax, s.where(), fmt.Sprintf("%s %q: policy variables are allowed only in the resource part of an ARN, after the fifth colon", element, v))
		}
		p, err := compilePattern(v, true, vars)
		if err != nil {
			return malformed(msgSyntax, s.where(), fmt.Sprintf("%s %q: %v", element, v, err))
		}
		s.resources = append(s.resources, p)
	}
	return nil
}

func (s *statement) compileConditions(n *node, vars *variables) error {
	if n.kind != nodeObject {
		return malformed(msgSyntax, s.where(), "Condition must be an object of operators")
	}
	for i := range n.members {
		opm := &n.members[i]
		op, set, ifExists, ok := parseOperator(opm.key)
		if !ok {
			return malformed(fmt.Sprintf("Invalid Condition type : %s.", opm.key), s.where(), "Condition")
		}
		where := "Condition " + opm.key
		if opm.value.kind != nodeObject {
			return malformed(msgSyntax, s.where(), where+" must be an object of condition keys")
		}
		if len(opm.value.members) == 0 {
			return malformed(msgSyntax, s.where(), where+" has no condition keys")
		}
		for j := range opm.value.members {
			km := &opm.value.members[j]
			if !validKey(km.key) || strings.Contains(km.key, "${") {
				return malformed(msgVendor, s.where(), fmt.Sprintf("%s: condition key %q", where, km.key))
			}
			values, err := stringList(&km.value, true)
			if err != nil {
				return malformed(msgSyntax, s.where(), fmt.Sprintf("%s %q %s", where, km.key, err))
			}
			if len(values) == 0 {
				return malformed(msgSyntax, s.where(), fmt.Sprintf("%s %q has no values", where, km.key))
			}
			c := condition{operator: opm.key, op: op, set: set, ifExists: ifExists, key: km.key, keyASCII: isASCII(km.key)}
			if err := c.compileValues(values, vars); err != nil {
				return malformed(msgSyntax, s.where(), fmt.Sprintf("%s %q: %v", where, km.key, err))
			}
			s.conditions = append(s.conditions, c)
		}
	}
	return nil
}

// stringList reads an element that is a string or an array of strings.
// With scalars, numbers and booleans are taken as written (condition
// values such as "NumericLessThan": {"s3:max-keys": 10}).
func stringList(n *node, scalars bool) ([]string, error) {
	one := func(n *node) (string, error) {
		switch {
		case n.kind == nodeString:
			return n.text, nil
		case scalars && (n.kind == nodeNumber || n.kind == nodeBool):
			return n.text, nil
		}
		if scalars {
			return "", fmt.Errorf("must be a string, number or boolean, or an array of them, not %s", n.describe())
		}
		return "", fmt.Errorf("must be a string or an array of strings, not %s", n.describe())
	}
	if n.kind != nodeArray {
		v, err := one(n)
		if err != nil {
			return nil, err
		}
		return []string{v}, nil
	}
	values := make([]string, 0, len(n.items))
	for i := range n.items {
		v, err := one(&n.items[i])
		if err != nil {
			return nil, err
		}
		values = append(values, v)
	}
	return values, nil
}

func validSid(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// validVendor reports whether s is a service prefix: letters, digits, '-'.
func validVendor(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '-' {
			return false
		}
	}
	return true
}

func validActionName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '*' && c != '?' {
			return false
		}
	}
	return true
}

// validKey reports whether s is a condition key: "service:name".
func validKey(s string) bool {
	vendor, name, ok := strings.Cut(s, ":")
	return ok && validVendor(vendor) && name != ""
}

// A node is a JSON value with its object members kept in order, so that
// duplicate keys (which encoding/json would silently merge) are seen.
type node struct {
	kind    nodeKind
	text    string // string; number as written; "true"/"false"
	members []member
	items   []node
}

type member struct {
	key   string
	value node
}

type nodeKind uint8

const (
	nodeString nodeKind = iota
	nodeNumber
	nodeBool
	nodeNull
	nodeObject
	nodeArray
)

func (n *node) describe() string {
	switch n.kind {
	case nodeString:
		return strconv.Quote(n.text)
	case nodeNumber, nodeBool:
		return n.text
	case nodeNull:
		return "null"
	case nodeObject:
		return "an object"
	}
	return "an array"
}

// maxDepth bounds nesting: a policy is at most
// document > Statement[] > statement > Condition > operator > values[].
const maxDepth = 6

func decodeJSON(doc []byte) (node, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	root, err := readNode(dec, "policy", 0)
	if err != nil {
		return node{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return node{}, malformed(msgInvalidJSON, "policy", "unexpected data after the document")
	}
	return root, nil
}

func readNode(dec *json.Decoder, path string, depth int) (node, error) {
	tok, err := dec.Token()
	if err != nil {
		return node{}, jsonError(err, dec)
	}
	switch t := tok.(type) {
	case json.Delim:
		if depth == maxDepth {
			return node{}, malformed(msgSyntax, path, "nested too deeply for a policy")
		}
		n := node{kind: nodeArray}
		if t == '{' {
			n.kind = nodeObject
		}
		for dec.More() {
			childPath := path
			if n.kind == nodeObject {
				kt, err := dec.Token()
				if err != nil {
					return node{}, jsonError(err, dec)
				}
				key, _ := kt.(string)
				for i := range n.members {
					if n.members[i].key == key {
						return node{}, malformed(msgSyntax, path, fmt.Sprintf("duplicate key %q", key))
					}
				}
				childPath = joinPath(path, key)
				v, err := readNode(dec, childPath, depth+1)
				if err != nil {
					return node{}, err
				}
				n.members = append(n.members, member{key: key, value: v})
			} else {
				childPath = fmt.Sprintf("%s[%d]", path, len(n.items))
				v, err := readNode(dec, childPath, depth+1)
				if err != nil {
					return node{}, err
				}
				n.items = append(n.items, v)
			}
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return node{}, jsonError(err, dec)
		}
		return n, nil
	case string:
		return node{kind: nodeString, text: t}, nil
	case json.Number:
		return node{kind: nodeNumber, text: t.String()}, nil
	case bool:
		return node{kind: nodeBool, text: strconv.FormatBool(t)}, nil
	case nil:
		return node{kind: nodeNull}, nil
	}
	return node{}, malformed(msgInvalidJSON, path, "unexpected token")
}

func joinPath(path, key string) string {
	if path == "policy" {
		return key
	}
	return path + "." + key
}

func jsonError(err error, dec *json.Decoder) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return malformed(msgInvalidJSON, "policy", "the document ends early")
	}
	return malformed(msgInvalidJSON, "policy", fmt.Sprintf("%v (near byte %d)", err, dec.InputOffset()))
}
