package policy

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A pattern is a policy string compiled once: literal text, policy
// variables, and (where the element allows them) the wildcards * and ?.
// A variable's value is substituted as literal text, never re-read as a
// pattern, so a tenant tag "a*" matches only the two characters "a*".
type pattern struct {
	raw   string
	parts []part
	all   bool // the pattern is a lone "*"
	plain bool // the pattern is one piece of literal text, parts[0].text (or empty)
}

type partKind uint8

const (
	partText partKind = iota // literal text
	partVar                  // a policy variable: literal text resolved per request
	partAny                  // *: any run of characters, including none
	partOne                  // ?: exactly one character
)

type part struct {
	kind partKind
	text string // partText: the text; partVar: the default value
	slot int    // partVar: index of the variable in its statement's table
}

// variables is a statement's table of policy variables: one slot per
// distinct key (compared case-insensitively). A slot is required when some
// use of it has no default: if it cannot be resolved, the statement does
// not apply.
type variables struct {
	keys     []string
	ascii    []bool
	required []bool
}

func (v *variables) slot(key string, required bool) int {
	a := isASCII(key)
	for i, k := range v.keys {
		if keyEqual(k, v.ascii[i], key, a) {
			v.required[i] = v.required[i] || required
			return i
		}
	}
	v.keys = append(v.keys, key)
	v.ascii = append(v.ascii, a)
	v.required = append(v.required, required)
	return len(v.keys) - 1
}

// bindings are a statement's variables resolved against one request.
type bindings struct {
	values   []string
	resolved []bool
}

func (b *bindings) text(p *part) string {
	if p.kind == partVar && b != nil && p.slot < len(b.resolved) && b.resolved[p.slot] {
		return b.values[p.slot]
	}
	return p.text
}

var (
	errUnterminatedVariable = errors.New("unterminated policy variable: a \"${\" has no closing \"}\"")
	errBadVariable          = errors.New("malformed policy variable: write ${service:key} or ${service:key, 'default'}")
)

// compilePattern compiles raw. With wildcards, * and ? are wildcards;
// without, they are literal characters. With vars (policy version
// 2012-10-17), ${key}, ${key, 'default'} and the escapes ${*}, ${?}, ${$}
// are recognised; without, "${" is literal text.
func compilePattern(raw string, wildcards bool, vars *variables) (pattern, error) {
	p := pattern{raw: raw}
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			p.parts = append(p.parts, part{kind: partText, text: text.String()})
			text.Reset()
		}
	}
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case vars != nil && c == '$' && i+1 < len(raw) && raw[i+1] == '{':
			end := variableEnd(raw, i+2)
			if end < 0 {
				return pattern{}, errUnterminatedVariable
			}
			body := raw[i+2 : end]
			i = end + 1
			switch body {
			case "*", "?", "$":
				text.WriteString(body)
				continue
			}
			key, def, hasDefault, err := parseVariable(body)
			if err != nil {
				return pattern{}, err
			}
			flush()
			p.parts = append(p.parts, part{kind: partVar, text: def, slot: vars.slot(key, !hasDefault)})
		case wildcards && c == '*':
			flush()
			if n := len(p.parts); n == 0 || p.parts[n-1].kind != partAny {
				p.parts = append(p.parts, part{kind: partAny})
			}
			i++
		case wildcards && c == '?':
			flush()
			p.parts = append(p.parts, part{kind: partOne})
			i++
		default:
			text.WriteByte(c)
			i++
		}
	}
	flush()
	switch {
	case len(p.parts) == 1 && p.parts[0].kind == partAny:
		p.all = true
	case len(p.parts) == 0:
		p.plain = true
		p.parts = []part{{kind: partText}}
	case len(p.parts) == 1 && p.parts[0].kind == partText:
		p.plain = true
	}
	return p, nil
}

// variableEnd returns the index of the "}" closing a variable whose body
// starts at from, skipping a quoted default, or -1.
func variableEnd(s string, from int) int {
	quoted := false
	for i := from; i < len(s); i++ {
		switch s[i] {
		case '\'':
			quoted = !quoted
		case '}':
			if !quoted {
				return i
			}
		}
	}
	return -1
}

// parseVariable splits the body of ${...} into its key and its default:
// "aws:PrincipalTag/team, 'none'" -> "aws:PrincipalTag/team", "none".
func parseVariable(body string) (key, def string, hasDefault bool, err error) {
	key = body
	if c := strings.IndexByte(body, ','); c >= 0 {
		key = body[:c]
		d := strings.TrimSpace(body[c+1:])
		if len(d) < 2 || d[0] != '\'' || d[len(d)-1] != '\'' || strings.IndexByte(d[1:len(d)-1], '\'') >= 0 {
			return "", "", false, errBadVariable
		}
		def, hasDefault = d[1:len(d)-1], true
	}
	key = strings.TrimSpace(key)
	if !validKey(key) || strings.ContainsAny(key, "${}' \t\r\n") {
		return "", "", false, errBadVariable
	}
	return key, def, hasDefault, nil
}

// hasVariables reports whether the pattern uses a policy variable.
func (p *pattern) hasVariables() bool {
	for i := range p.parts {
		if p.parts[i].kind == partVar {
			return true
		}
	}
	return false
}

// match reports whether s matches the pattern. fold compares letters
// case-insensitively (actions). arn confines wildcards to one
// colon-separated component of an ARN's first five (ArnLike); s must then
// have at least five colons.
func (p *pattern) match(s string, b *bindings, fold, arn bool) bool {
	if arn {
		if !hasFiveColons(s) {
			return false
		}
	} else if p.all {
		return true
	}
	if p.plain && !arn {
		if fold {
			t := p.parts[0].text
			return t == s || strings.EqualFold(t, s)
		}
		return p.parts[0].text == s
	}
	return globMatch(p.parts, b, s, fold, arn)
}

func hasFiveColons(s string) bool {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			if n++; n == 5 {
				return true
			}
		}
	}
	return false
}

// globMatch matches s against parts in one pass, backtracking only to the
// most recent *: the classic linear-space wildcard match. A run of literal
// text (or a variable's value) is compared at once, and a failed * is moved
// straight to the next occurrence of the text after it, instead of one
// character at a time. Under arn, a wildcard may not consume a colon until
// s's fifth colon has been passed: the components are then matched
// independently, so moving back to a * of an earlier component can never
// succeed and the match fails there.
func globMatch(parts []part, b *bindings, s string, fold, arn bool) bool {
	pi, po := 0, 0 // part index, and byte offset within its text (fold only)
	si := 0        // byte offset in s
	colons := 0    // colons of s consumed so far (arn)
	starPi, starSi, starColons := -1, 0, 0
	for {
		if pi == len(parts) {
			if si == len(s) {
				return true
			}
		} else {
		step:
			switch pt := &parts[pi]; pt.kind {
			case partAny:
				pi, po = pi+1, 0
				starPi, starSi, starColons = pi, si, colons
				continue
			case partOne:
				if si < len(s) && !(arn && colons < 5 && s[si] == ':') {
					if s[si] == ':' {
						colons++
					}
					_, w := utf8.DecodeRuneInString(s[si:])
					si += w
					pi, po = pi+1, 0
					continue
				}
			default:
				t := b.text(pt)
				if !fold {
					if strings.HasPrefix(s[si:], t) {
						if arn && colons < 5 {
							colons += strings.Count(t, ":")
						}
						si += len(t)
						pi++
						continue
					}
					break
				}
				if po == 0 {
					switch asciiFoldPrefix(s[si:], t) {
					case foldMatch:
						if arn && colons < 5 {
							colons += strings.Count(t, ":")
						}
						si += len(t)
						pi++
						continue
					case foldMismatch:
						break step
					}
				}
				// Beyond ASCII, text goes a character at a time: folding can
				// pair characters of different widths ("K", the Kelvin
				// sign, is three bytes and folds to "k").
				if po == len(t) {
					pi, po = pi+1, 0
					continue
				}
				if si < len(s) {
					if pw, sw, ok := matchChar(t[po:], s[si:], fold); ok {
						if s[si] == ':' {
							colons++
						}
						po += pw
						si += sw
						continue
					}
				}
			}
		}
		// Mismatch: let the last * take more of s, if it may.
		if starPi < 0 || starSi >= len(s) {
			return false
		}
		_, w := utf8.DecodeRuneInString(s[starSi:])
		next := starSi + w
		if !fold && starPi < len(parts) && parts[starPi].kind != partAny && parts[starPi].kind != partOne {
			// The * is followed by text: skip to where that text occurs next.
			t := b.text(&parts[starPi])
			i := strings.Index(s[next:], t)
			if i < 0 {
				return false
			}
			next += i
		}
		if arn && starColons < 5 && strings.IndexByte(s[starSi:next], ':') >= 0 {
			return false
		}
		starSi = next
		pi, po, si, colons = starPi, 0, starSi, starColons
	}
}

const (
	foldMatch = iota
	foldMismatch
	foldUnicode // non-ASCII bytes: the answer needs Unicode folding
)

// asciiFoldPrefix reports whether s starts with t, ignoring ASCII case.
func asciiFoldPrefix(s, t string) int {
	result := foldMatch
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c >= utf8.RuneSelf {
			return foldUnicode
		}
		if i >= len(s) {
			result = foldMismatch
			continue
		}
		if s[i] >= utf8.RuneSelf {
			return foldUnicode
		}
		if result == foldMatch && lowerASCII(c) != lowerASCII(s[i]) {
			result = foldMismatch
		}
	}
	return result
}

// matchChar compares the first character of t with the first of s and
// returns their widths in bytes.
func matchChar(t, s string, fold bool) (tw, sw int, ok bool) {
	if !fold || (t[0] < utf8.RuneSelf && s[0] < utf8.RuneSelf) {
		a, c := t[0], s[0]
		if fold {
			a, c = lowerASCII(a), lowerASCII(c)
		}
		return 1, 1, a == c
	}
	tr, tw := utf8.DecodeRuneInString(t)
	sr, sw := utf8.DecodeRuneInString(s)
	if (tr == utf8.RuneError && tw == 1) || (sr == utf8.RuneError && sw == 1) {
		// Invalid UTF-8 matches only the same byte.
		return tw, sw, tw == sw && t[0] == s[0]
	}
	return tw, sw, equalFoldRune(tr, sr)
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// equalFoldRune reports whether a and b are the same letter under Unicode
// simple case folding (the rule strings.EqualFold uses).
func equalFoldRune(a, b rune) bool {
	if a == b {
		return true
	}
	for r := unicode.SimpleFold(a); r != a; r = unicode.SimpleFold(r) {
		if r == b {
			return true
		}
	}
	return false
}
