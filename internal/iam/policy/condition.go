package policy

import (
	"encoding/base64"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// opKind is an operator family: how a request value is compared with a
// policy value. Negation, IfExists and the set qualifiers are separate.
type opKind uint8

const (
	opStringEquals opKind = iota
	opStringEqualsIgnoreCase
	opStringLike
	opNumericEquals
	opNumericLessThan
	opNumericLessThanEquals
	opNumericGreaterThan
	opNumericGreaterThanEquals
	opDateEquals
	opDateLessThan
	opDateLessThanEquals
	opDateGreaterThan
	opDateGreaterThanEquals
	opBool
	opBinaryEquals
	opIPAddress
	opArnLike
	opNull
)

type operator struct {
	kind    opKind
	negated bool
}

// operators maps IAM's operator names (case-sensitive, as IAM has them)
// to what they do. ArnEquals and ArnLike are the same operator in IAM.
var operators = map[string]operator{
	"StringEquals":              {opStringEquals, false},
	"StringNotEquals":           {opStringEquals, true},
	"StringEqualsIgnoreCase":    {opStringEqualsIgnoreCase, false},
	"StringNotEqualsIgnoreCase": {opStringEqualsIgnoreCase, true},
	"StringLike":                {opStringLike, false},
	"StringNotLike":             {opStringLike, true},
	"NumericEquals":             {opNumericEquals, false},
	"NumericNotEquals":          {opNumericEquals, true},
	"NumericLessThan":           {opNumericLessThan, false},
	"NumericLessThanEquals":     {opNumericLessThanEquals, false},
	"NumericGreaterThan":        {opNumericGreaterThan, false},
	"NumericGreaterThanEquals":  {opNumericGreaterThanEquals, false},
	"DateEquals":                {opDateEquals, false},
	"DateNotEquals":             {opDateEquals, true},
	"DateLessThan":              {opDateLessThan, false},
	"DateLessThanEquals":        {opDateLessThanEquals, false},
	"DateGreaterThan":           {opDateGreaterThan, false},
	"DateGreaterThanEquals":     {opDateGreaterThanEquals, false},
	"Bool":                      {opBool, false},
	"BinaryEquals":              {opBinaryEquals, false},
	"IpAddress":                 {opIPAddress, false},
	"NotIpAddress":              {opIPAddress, true},
	"ArnEquals":                 {opArnLike, false},
	"ArnNotEquals":              {opArnLike, true},
	"ArnLike":                   {opArnLike, false},
	"ArnNotLike":                {opArnLike, true},
	"Null":                      {opNull, false},
}

type setKind uint8

const (
	setNone setKind = iota
	setForAllValues
	setForAnyValue
)

// condition is one key under one operator: "StringLike": {"s3:prefix": [...]}.
type condition struct {
	operator string // as written, for messages
	op       operator
	set      setKind
	ifExists bool
	key      string
	keyASCII bool

	// The policy values, compiled for the operator's family (one slice set).
	patterns []pattern // String*, Arn*
	numbers  []float64
	times    []time.Time
	bools    []bool   // Bool, Null
	binaries []string // decoded bytes
	prefixes []netip.Prefix
}

// parseOperator splits "ForAllValues:StringLikeIfExists" into its parts.
func parseOperator(name string) (op operator, set setKind, ifExists bool, ok bool) {
	base := name
	switch {
	case strings.HasPrefix(base, "ForAllValues:"):
		set, base = setForAllValues, strings.TrimPrefix(base, "ForAllValues:")
	case strings.HasPrefix(base, "ForAnyValue:"):
		set, base = setForAnyValue, strings.TrimPrefix(base, "ForAnyValue:")
	}
	if strings.HasSuffix(base, "IfExists") {
		ifExists, base = true, strings.TrimSuffix(base, "IfExists")
	}
	op, ok = operators[base]
	if ok && op.kind == opNull && (ifExists || set != setNone) {
		// Null asks whether the key exists; IfExists and set qualifiers
		// have no meaning on it.
		ok = false
	}
	return op, set, ifExists, ok
}

// compileValues validates and compiles a condition's policy values for its
// operator. vars is nil when policy variables are not active.
func (c *condition) compileValues(values []string, vars *variables) error {
	switch c.op.kind {
	case opStringEquals, opStringEqualsIgnoreCase, opStringLike, opArnLike:
		wild := c.op.kind == opStringLike || c.op.kind == opArnLike
		for _, v := range values {
			p, err := compilePattern(v, wild, vars)
			if err != nil {
				return fmt.Errorf("value %q: %w", v, err)
			}
			if c.op.kind == opArnLike && !p.hasVariables() && strings.Count(v, ":") < 5 {
				return fmt.Errorf("value %q is not an ARN (arn:partition:service:region:account:resource); %s compares ARNs component by component", v, c.operator)
			}
			c.patterns = append(c.patterns, p)
		}
		return nil
	}
	for _, v := range values {
		if vars != nil && strings.Contains(v, "${") {
			return fmt.Errorf("value %q: policy variables are allowed only with String and Arn operators, not %s", v, c.operator)
		}
	}
	switch c.op.kind {
	case opNumericEquals, opNumericLessThan, opNumericLessThanEquals, opNumericGreaterThan, opNumericGreaterThanEquals:
		for _, v := range values {
			n, ok := parseNumber(v)
			if !ok {
				return fmt.Errorf("value %q is not a number", v)
			}
			c.numbers = append(c.numbers, n)
		}
	case opDateEquals, opDateLessThan, opDateLessThanEquals, opDateGreaterThan, opDateGreaterThanEquals:
		for _, v := range values {
			t, ok := parseDate(v)
			if !ok {
				return fmt.Errorf("value %q is not an ISO 8601 date (2006-01-02T15:04:05Z) or epoch seconds", v)
			}
			c.times = append(c.times, t)
		}
	case opBool, opNull:
		for _, v := range values {
			b, ok := parseBool(v)
			if !ok {
				return fmt.Errorf("value %q is neither \"true\" nor \"false\"", v)
			}
			c.bools = append(c.bools, b)
		}
	case opBinaryEquals:
		for _, v := range values {
			b, err := base64.StdEncoding.Strict().DecodeString(v)
			if err != nil {
				return fmt.Errorf("value %q is not base64", v)
			}
			c.binaries = append(c.binaries, string(b))
		}
	case opIPAddress:
		for _, v := range values {
			p, ok := parsePrefix(v)
			if !ok {
				return fmt.Errorf("value %q is not an IP address or CIDR block", v)
			}
			c.prefixes = append(c.prefixes, p)
		}
	}
	return nil
}

// outcome is a condition's result for one request. failed means a request
// value could not be read as the operator's type (a number that is not
// one); the statement then resolves toward deny.
type outcome uint8

const (
	outFalse outcome = iota
	outTrue
	outFailed
)

// eval evaluates the condition against the request context.
//
// For each request value r, m(r) is "r matches some policy value" (OR),
// or for a negated operator "r matches none" (NOR). Then:
//
//	key absent:       Null -> its value is "true"; IfExists -> true;
//	                  ForAllValues -> true (vacuous); ForAnyValue -> false;
//	                  otherwise positive -> false, negated -> true
//	ForAllValues:     m(r) for every r
//	ForAnyValue:      m(r) for some r
//	no qualifier:     positive: m(r) for some r; negated: m(r) for every r
//
// The last line decides a single-valued operator against a key with several
// values. IAM says only "use a set operator"; we choose "any value matches"
// for positive operators, as a multi-valued key's values are each a value
// of the request, and keep negated operators their exact complement (none
// matches), so StringNotEquals always means "not StringEquals".
func (c *condition) eval(ctx *Context, b *bindings) outcome {
	n := ctx.count(c.key, c.keyASCII)
	if c.op.kind == opNull {
		for _, wantAbsent := range c.bools {
			if wantAbsent == (n == 0) {
				return outTrue
			}
		}
		return outFalse
	}
	if n == 0 {
		switch {
		case c.ifExists, c.set == setForAllValues:
			return outTrue
		case c.set == setForAnyValue:
			return outFalse
		}
		return boolOutcome(c.op.negated)
	}
	all := c.set == setForAllValues || (c.set == setNone && c.op.negated)
	for i := range ctx.pairs {
		p := &ctx.pairs[i]
		if !keyEqual(p.key, p.ascii, c.key, c.keyASCII) {
			continue
		}
		m, ok := c.matchValue(p.value, b)
		if !ok {
			return outFailed
		}
		if c.op.negated {
			m = !m
		}
		if all && !m {
			return outFalse
		}
		if !all && m {
			return outTrue
		}
	}
	return boolOutcome(all)
}

func boolOutcome(b bool) outcome {
	if b {
		return outTrue
	}
	return outFalse
}

// matchValue reports whether request value r matches any policy value
// under the positive form of the operator; ok is false when r cannot be
// read as the operator's type.
func (c *condition) matchValue(r string, b *bindings) (matched, ok bool) {
	switch c.op.kind {
	case opStringEquals, opStringEqualsIgnoreCase, opStringLike, opArnLike:
		fold := c.op.kind == opStringEqualsIgnoreCase
		arn := c.op.kind == opArnLike
		for i := range c.patterns {
			if c.patterns[i].match(r, b, fold, arn) {
				return true, true
			}
		}
		return false, true
	case opNumericEquals, opNumericLessThan, opNumericLessThanEquals, opNumericGreaterThan, opNumericGreaterThanEquals:
		x, ok := parseNumber(r)
		if !ok {
			return false, false
		}
		for _, y := range c.numbers {
			if compareOp(c.op.kind, cmpFloat(x, y)) {
				return true, true
			}
		}
		return false, true
	case opDateEquals, opDateLessThan, opDateLessThanEquals, opDateGreaterThan, opDateGreaterThanEquals:
		x, ok := parseDate(r)
		if !ok {
			return false, false
		}
		for _, y := range c.times {
			if compareOp(c.op.kind, x.Compare(y)) {
				return true, true
			}
		}
		return false, true
	case opBool:
		x, ok := parseBool(r)
		if !ok {
			return false, false
		}
		for _, y := range c.bools {
			if x == y {
				return true, true
			}
		}
		return false, true
	case opBinaryEquals:
		for _, y := range c.binaries {
			if r == y {
				return true, true
			}
		}
		return false, true
	case opIPAddress:
		addr, err := netip.ParseAddr(r)
		if err != nil {
			return false, false
		}
		addr = addr.Unmap()
		for _, p := range c.prefixes {
			if p.Contains(addr) {
				return true, true
			}
		}
		return false, true
	}
	return false, false
}

func cmpFloat(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// compareOp applies an ordering operator to cmp, the sign of request value
// minus policy value.
func compareOp(k opKind, cmp int) bool {
	switch k {
	case opNumericEquals, opDateEquals:
		return cmp == 0
	case opNumericLessThan, opDateLessThan:
		return cmp < 0
	case opNumericLessThanEquals, opDateLessThanEquals:
		return cmp <= 0
	case opNumericGreaterThan, opDateGreaterThan:
		return cmp > 0
	case opNumericGreaterThanEquals, opDateGreaterThanEquals:
		return cmp >= 0
	}
	return false
}

// parseNumber reads an integer or decimal; NaN and infinities are not
// numbers a policy or request carries.
func parseNumber(s string) (float64, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// dateLayouts are the W3C profile of ISO 8601 that IAM documents for Date
// operators, with and without a zone (no zone means UTC).
// time.Parse accepts a fractional second after the seconds field even
// where the layout has none.
var dateLayouts = []string{
	time.RFC3339,             // 2006-01-02T15:04:05Z07:00
	"2006-01-02T15:04Z07:00", // minutes only
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04",
	"2006-01-02",
	"2006-01",
	"2006",
}

// parseDate reads an ISO 8601 date or date-time, or epoch seconds
// (aws:EpochTime), possibly with a fraction.
func parseDate(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	if isEpoch(s) {
		sec, frac, _ := strings.Cut(s, ".")
		n, err := strconv.ParseInt(sec, 10, 64)
		if err != nil {
			return time.Time{}, false
		}
		var nanos int64
		if frac != "" {
			if len(frac) > 9 {
				frac = frac[:9]
			}
			f, err := strconv.ParseInt(frac, 10, 64)
			if err != nil {
				return time.Time{}, false
			}
			for i := len(frac); i < 9; i++ {
				f *= 10
			}
			nanos = f
		}
		return time.Unix(n, nanos).UTC(), true
	}
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// isEpoch reports whether s is digits with at most one '.' and at least one
// digit before it. Four digits alone ("2026") are read as a year, not as
// seconds since 1970, as ISO 8601 reads them.
func isEpoch(s string) bool {
	dot := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
		case c == '.' && !dot && i > 0 && i < len(s)-1:
			dot = true
		default:
			return false
		}
	}
	if !dot && len(s) == 4 {
		return false
	}
	return true
}

func parseBool(s string) (bool, bool) {
	switch {
	case strings.EqualFold(s, "true"):
		return true, true
	case strings.EqualFold(s, "false"):
		return false, true
	}
	return false, false
}

// parsePrefix reads a CIDR block, or an address alone as a block of one
// (IAM's default /32, and /128 for IPv6).
func parsePrefix(s string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}
