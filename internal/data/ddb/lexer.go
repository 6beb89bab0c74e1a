package ddb

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// tokKind is the kind of an expression token.
type tokKind uint8

const (
	tEOF      tokKind = iota
	tIdent            // a name or keyword: [A-Za-z_][A-Za-z0-9_]*
	tAlias            // #name, an ExpressionAttributeNames key
	tValueRef         // :name, an ExpressionAttributeValues key
	tNumber           // [0-9]+, a list index
	tLParen
	tRParen
	tLBracket
	tRBracket
	tDot
	tComma
	tEq
	tNe
	tLt
	tLe
	tGt
	tGe
	tPlus
	tMinus
	tOther // any other character, including a bare # or :
)

// token is a span of the expression's source.
type token struct {
	kind       tokKind
	start, end int
}

// lex splits src into tokens, ending with a tEOF at len(src). It never
// fails: a character no expression accepts becomes a tOther token and the
// parser reports it as DynamoDB does, as the offending token.
func lex(src string) []token {
	toks := make([]token, 0, len(src)/3+2)
	i := 0
	for i < len(src) {
		c := src[i]
		start := i
		kind := tOther
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
			continue
		case isIdentStart(c):
			i = scanIdent(src, i+1)
			kind = tIdent
		case isDigit(c):
			for i < len(src) && isDigit(src[i]) {
				i++
			}
			kind = tNumber
		case c == '#' || c == ':':
			i = scanIdent(src, i+1)
			if i == start+1 {
				kind = tOther
			} else if c == '#' {
				kind = tAlias
			} else {
				kind = tValueRef
			}
		case c == '<':
			i++
			kind = tLt
			if i < len(src) && src[i] == '=' {
				i++
				kind = tLe
			} else if i < len(src) && src[i] == '>' {
				i++
				kind = tNe
			}
		case c == '>':
			i++
			kind = tGt
			if i < len(src) && src[i] == '=' {
				i++
				kind = tGe
			}
		default:
			i++
			switch c {
			case '(':
				kind = tLParen
			case ')':
				kind = tRParen
			case '[':
				kind = tLBracket
			case ']':
				kind = tRBracket
			case '.':
				kind = tDot
			case ',':
				kind = tComma
			case '=':
				kind = tEq
			case '+':
				kind = tPlus
			case '-':
				kind = tMinus
			default:
				if c >= utf8.RuneSelf {
					_, size := utf8.DecodeRuneInString(src[start:])
					i = start + size
				}
			}
		}
		toks = append(toks, token{kind: kind, start: start, end: i})
	}
	return append(toks, token{kind: tEOF, start: len(src), end: len(src)})
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

func isIdentPart(c byte) bool { return isIdentStart(c) || isDigit(c) }

func scanIdent(src string, i int) int {
	for i < len(src) && isIdentPart(src[i]) {
		i++
	}
	return i
}

// The expression parameter names, which prefix every message about one
// ("Invalid ConditionExpression: ...").
const (
	kindCondition    = "ConditionExpression"
	kindFilter       = "FilterExpression"
	kindKeyCondition = "KeyConditionExpression"
	kindUpdate       = "UpdateExpression"
	kindProjection   = "ProjectionExpression"
)

// Expression limits (developer guide, Constraints, "Expression parameters").
const (
	maxExpressionBytes = 4096 // measured on the raw string, before substitution
	maxOperators       = 300
	maxInOperands      = 100
	maxPathDepth       = 32
	maxParamKeyBytes   = 255
)

// parser is shared by the four expression grammars.
type parser struct {
	kind   string // the parameter name, for messages
	src    string
	toks   []token
	pos    int
	params *Params
	// isKeyword reports the identifiers the grammar reserves for itself
	// (AND, OR, ... in conditions; SET, REMOVE, ... in updates), which
	// cannot name an attribute even through a path's later steps.
	isKeyword func(string) bool
}

func newParser(kind, src string, params *Params) (*parser, *Error) {
	if params == nil {
		params = &Params{}
	}
	p := &parser{kind: kind, src: src, params: params}
	if src == "" {
		// dynalite validations/index.js parse; nubo-db/dynamodb-conformance.
		return nil, p.errorf("The expression can not be empty;")
	}
	if len(src) > maxExpressionBytes {
		// "Invalid FilterExpression: Expression size has exceeded the maximum
		// allowed size; expression size: 4109" (pynamodb/PynamoDB#979).
		return nil, p.errorf("Expression size has exceeded the maximum allowed size; expression size: %d", len(src))
	}
	p.toks = lex(src)
	return p, nil
}

// errorf is a ValidationException about this expression.
func (p *parser) errorf(format string, args ...any) *Error {
	if len(args) > 0 {
		format = fmt.Sprintf(format, args...)
	}
	return validation("Invalid " + p.kind + ": " + format)
}

func (p *parser) tok() token        { return p.toks[p.pos] }
func (p *parser) peekKind() tokKind { return p.toks[p.pos].kind }
func (p *parser) text(i int) string {
	t := p.toks[i]
	return p.src[t.start:t.end]
}

// keyword reports whether the current token is the identifier kw, in any
// case.
func (p *parser) keyword(kw string) bool {
	t := p.tok()
	return t.kind == tIdent && strings.EqualFold(p.src[t.start:t.end], kw)
}

// syntaxError reports token i as DynamoDB does:
// `Syntax error; token: "-", near: "a-b"`, near being the source from the
// token before it to the token after it (captures: `"ADD hits : incr"` gives
// token ":" near "hits : incr", aws/aws-cdk#7591; "INVALID SYNTAX HERE" gives
// token "INVALID" near "INVALID SYNTAX" and "!!! INVALID !!!" token "!" near
// "!!", nubo-db/dynamodb-conformance). The end of input is the token <EOF>.
func (p *parser) syntaxError(i int) *Error {
	t := p.toks[i]
	text := p.src[t.start:t.end]
	if t.kind == tEOF {
		text = "<EOF>"
	}
	from := t.start
	if i > 0 {
		from = p.toks[i-1].start
	}
	to := t.end
	if i+1 < len(p.toks) && p.toks[i+1].kind != tEOF {
		to = p.toks[i+1].end
	}
	if t.kind == tEOF {
		to = len(p.src)
	}
	return p.errorf("Syntax error; token: \"%s\", near: \"%s\"", text, p.src[from:to])
}

// expect consumes a token of kind k or reports the current one.
func (p *parser) expect(k tokKind) *Error {
	if p.peekKind() != k {
		return p.syntaxError(p.pos)
	}
	p.pos++
	return nil
}

// path parses a document path: name or #alias, then any of .name, .#alias,
// [n]. Names are resolved later, so that errors come in DynamoDB's order.
func (p *parser) path() (rawPath, *Error) {
	var rp rawPath
	for {
		t := p.tok()
		switch t.kind {
		case tIdent, tAlias:
			if t.kind == tIdent && p.isKeyword != nil && p.isKeyword(p.src[t.start:t.end]) {
				return nil, p.syntaxError(p.pos)
			}
			rp = append(rp, rawElem{name: p.src[t.start:t.end], alias: t.kind == tAlias})
			p.pos++
		default:
			return nil, p.syntaxError(p.pos)
		}
		for p.peekKind() == tLBracket {
			p.pos++
			nt := p.tok()
			if nt.kind != tNumber {
				return nil, p.syntaxError(p.pos)
			}
			n, ok := parseIndex(p.src[nt.start:nt.end])
			if !ok {
				return nil, p.syntaxError(p.pos)
			}
			p.pos++
			if err := p.expect(tRBracket); err != nil {
				return nil, err
			}
			rp = append(rp, rawElem{index: n, isIndex: true})
		}
		if p.peekKind() != tDot {
			return rp, nil
		}
		p.pos++
	}
}

func parseIndex(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
		if n > 1<<31-1 {
			return 0, false
		}
	}
	return n, true
}

// rawPath is a document path as written, before alias substitution.
type rawPath []rawElem

type rawElem struct {
	name    string
	alias   bool // name is a #alias
	index   int
	isIndex bool
}

// reservedIn returns the first reserved word used as a bare name in rp.
func (rp rawPath) reservedIn() (string, bool) {
	for _, e := range rp {
		if !e.isIndex && !e.alias && IsReserved(e.name) {
			return e.name, true
		}
	}
	return "", false
}

// resolve substitutes aliases, marking them used.
func (p *parser) resolve(rp rawPath) (Path, *Error) {
	path := make(Path, len(rp))
	for i, e := range rp {
		switch {
		case e.isIndex:
			path[i] = PathElement{Index: e.index, IsIndex: true}
		case e.alias:
			name, ok := p.params.name(e.name)
			if !ok {
				return nil, p.errorf("An expression attribute name used in the document path is not defined; attribute name: %s", e.name)
			}
			path[i] = PathElement{Name: name}
		default:
			path[i] = PathElement{Name: e.name}
		}
	}
	return path, nil
}

// value looks up a :value reference, marking it used.
func (p *parser) value(ref string) (AttributeValue, *Error) {
	v, ok := p.params.value(ref)
	if !ok {
		return AttributeValue{}, p.errorf("An expression attribute value used in expression is not defined; attribute value: %s", ref)
	}
	return v, nil
}

// depthError is this package's wording for a document path deeper than
// DynamoDB's 32 levels; no capture of DynamoDB's own was found.
func (p *parser) depthError(n int) *Error {
	return p.errorf("The document path has too many nesting levels; nesting levels: %d, maximum: %d", n, maxPathDepth)
}

// tooManyOperators: "Invalid FilterExpression: The expression contains too
// many operators; operator count: 301" (aws/aws-sdk-js#3721).
func (p *parser) tooManyOperators(n int) *Error {
	return p.errorf("The expression contains too many operators; operator count: %d", n)
}
