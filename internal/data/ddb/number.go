package ddb

import (
	"math/big"
	"strconv"
	"strings"
)

// Number limits. DynamoDB's developer guide (Constraints, "Data types"): up to
// 38 significant digits, magnitude from 1E-130 to 9.9999999999999999999999999999999999999E+125.
const (
	maxNumberDigits = 38
	// decimal.exp bounds: value = 0.d1d2... × 10^exp, so 1E-130 has exp
	// -129 and 9.99…E+125 has exp 126.
	minNumberExp = -129
	maxNumberExp = 126
)

// Number error messages, as DynamoDB words them. Sources: architect/dynalite
// validations/index.js (checkNum), tested against DynamoDB; the wording of the
// empty string ("...numeric value: " with the colon) is the current layer
// captured in paritysuite/dynamodb-conformance
// tests/tier3/error-messages/valueLayers.test.ts (2026-10).
const (
	msgNotNumeric      = "The parameter cannot be converted to a numeric value: "
	msgNumberOverflow  = "Number overflow. Attempting to store a number with magnitude larger than supported range"
	msgNumberUnderflow = "Number underflow. Attempting to store a number with magnitude smaller than supported range"
	msgNumberPrecision = "Attempting to store more than 38 significant digits in a Number"
)

// decimal is a DynamoDB number: value = (-1 if neg) × 0.digits × 10^exp.
// digits has no leading or trailing zeros; zero is digits == "" (and never
// negative).
type decimal struct {
	neg    bool
	digits string
	exp    int
}

// parseDecimal parses a number in the syntax Java's BigDecimal accepts —
// [+-] digits [. digits] [(e|E) [+-] digits], with digits on at least one
// side of the point — and checks DynamoDB's range and precision.
func parseDecimal(s string) (decimal, *Error) {
	var d decimal
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		d.neg = s[i] == '-'
		i++
	}
	intStart := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intEnd := i
	fracStart, fracEnd := i, i
	if i < len(s) && s[i] == '.' {
		i++
		fracStart = i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		fracEnd = i
	}
	if intEnd == intStart && fracEnd == fracStart {
		return decimal{}, validation(msgNotNumeric + s)
	}
	exp := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		if i == len(s) {
			return decimal{}, validation(msgNotNumeric + s)
		}
		for i < len(s) && isDigit(s[i]) {
			// Saturate: any exponent past a billion is out of range whatever
			// the significand (DynamoDB answers 1e99999999999 with overflow).
			if exp < 1_000_000_000 {
				exp = exp*10 + int(s[i]-'0')
			}
			i++
		}
		if eneg {
			exp = -exp
		}
	}
	if i != len(s) {
		return decimal{}, validation(msgNotNumeric + s)
	}
	intDigits, fracDigits := s[intStart:intEnd], s[fracStart:fracEnd]
	// Leading zeros of the integer part, then of the fraction if the
	// integer part was all zeros.
	lead := 0
	for lead < len(intDigits) && intDigits[lead] == '0' {
		lead++
	}
	var sig string
	pointAt := len(intDigits) - lead // digits of sig before the point
	if lead < len(intDigits) {
		sig = intDigits[lead:] + fracDigits
	} else {
		f := 0
		for f < len(fracDigits) && fracDigits[f] == '0' {
			f++
		}
		sig = fracDigits[f:]
		pointAt = -f
	}
	sig = strings.TrimRight(sig, "0")
	if sig == "" {
		return decimal{}, nil // zero, whatever its sign or exponent
	}
	d.digits = sig
	d.exp = pointAt + exp
	if err := d.check(); err != nil {
		return decimal{}, err
	}
	return d, nil
}

// check applies DynamoDB's range and precision, range first as dynalite does.
func (d decimal) check() *Error {
	if d.digits == "" {
		return nil
	}
	if d.exp > maxNumberExp {
		return validation(msgNumberOverflow)
	}
	if d.exp < minNumberExp {
		return validation(msgNumberUnderflow)
	}
	if len(d.digits) > maxNumberDigits {
		return validation(msgNumberPrecision)
	}
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// String is the canonical form DynamoDB returns: plain notation, no exponent,
// no leading or trailing zeros ("1.5E2" is "150", "0042.1200" is "42.12",
// "1E125" is 1 followed by 125 zeros — paritysuite/dynamodb-conformance
// tests/tier3/limits/numberByteSize.test.ts), and "0" for every zero.
func (d decimal) String() string {
	if d.digits == "" {
		return "0"
	}
	var b strings.Builder
	n := len(d.digits)
	size := n + 2
	if d.exp <= 0 {
		size += -d.exp + 1
	} else if d.exp > n {
		size += d.exp - n
	}
	b.Grow(size)
	if d.neg {
		b.WriteByte('-')
	}
	switch {
	case d.exp <= 0:
		b.WriteString("0.")
		for range -d.exp {
			b.WriteByte('0')
		}
		b.WriteString(d.digits)
	case d.exp >= n:
		b.WriteString(d.digits)
		for range d.exp - n {
			b.WriteByte('0')
		}
	default:
		b.WriteString(d.digits[:d.exp])
		b.WriteByte('.')
		b.WriteString(d.digits[d.exp:])
	}
	return b.String()
}

// size is the bytes a number costs in an item: 1, plus one per base-100
// digit between the first and last significant digit, plus 1 if negative.
// This reproduces the 23 figures captured against DynamoDB in
// paritysuite/dynamodb-conformance src/item-size.ts (2026-08): "1.5" costs 3
// and "15" costs 2 because the pairs are aligned on the decimal point. The
// developer guide's "(digits/2) + 1" is an approximation of it.
func (d decimal) size() int {
	if d.digits == "" {
		return 1
	}
	// Digit k (0-based) has place value 10^(exp-1-k); it belongs to the
	// base-100 digit floor((exp-1-k)/2).
	first := floorDiv2(d.exp - 1)
	last := floorDiv2(d.exp - len(d.digits))
	n := 1 + first - last + 1
	if d.neg {
		n++
	}
	return n
}

func floorDiv2(x int) int {
	if x >= 0 {
		return x / 2
	}
	return -((-x + 1) / 2)
}

// compareCanonical orders two canonical number strings (decimal.String)
// numerically without parsing them into digits and exponent.
func compareCanonical(a, b string) int {
	an, bn := strings.HasPrefix(a, "-"), strings.HasPrefix(b, "-")
	as, bs := sign(a, an), sign(b, bn)
	if as != bs {
		if as < bs {
			return -1
		}
		return 1
	}
	if as == 0 {
		return 0
	}
	c := compareMagnitude(strings.TrimPrefix(a, "-"), strings.TrimPrefix(b, "-"))
	if an {
		return -c
	}
	return c
}

func sign(s string, neg bool) int {
	switch {
	case s == "0":
		return 0
	case neg:
		return -1
	}
	return 1
}

// compareMagnitude compares two non-negative canonical numbers.
func compareMagnitude(a, b string) int {
	ai, af, _ := strings.Cut(a, ".")
	bi, bf, _ := strings.Cut(b, ".")
	if ai == "0" {
		ai = ""
	}
	if bi == "0" {
		bi = ""
	}
	if len(ai) != len(bi) {
		if len(ai) < len(bi) {
			return -1
		}
		return 1
	}
	if c := strings.Compare(ai, bi); c != 0 {
		return c
	}
	// Fractions carry no trailing zeros, so a proper prefix is the smaller.
	return strings.Compare(af, bf)
}

// decimalOf parses a canonical number string. It cannot fail on the output
// of decimal.String.
func decimalOf(canonical string) decimal {
	d, err := parseDecimal(canonical)
	if err != nil {
		panic("ddb: non-canonical number " + canonical)
	}
	return d
}

// addDecimals returns a+b (b negated when subtract), exactly, then checks
// range and precision: DynamoDB refuses a sum it cannot store rather than
// rounding it.
func addDecimals(a, b decimal, subtract bool) (decimal, *Error) {
	if subtract {
		b.neg = !b.neg && b.digits != ""
	}
	if a.digits == "" {
		return b, b.check()
	}
	if b.digits == "" {
		return a, nil
	}
	if x, ok := a.smallInt(); ok {
		if y, ok := b.smallInt(); ok {
			// Counters: both integers of at most 18 digits cannot overflow.
			return decimalOf(strconv.FormatInt(x+y, 10)), nil
		}
	}
	// Each operand as coefficient × 10^(exp-len(digits)); align on the
	// smaller power.
	pa, pb := a.exp-len(a.digits), b.exp-len(b.digits)
	low := min(pa, pb)
	ca, cb := coefficient(a, pa-low), coefficient(b, pb-low)
	sum := new(big.Int).Add(ca, cb)
	if sum.Sign() == 0 {
		return decimal{}, nil
	}
	var r decimal
	r.neg = sum.Sign() < 0
	text := sum.Abs(sum).String()
	r.exp = len(text) + low
	r.digits = strings.TrimRight(text, "0")
	return r, r.check()
}

// smallInt returns d as an int64 when it is an integer of at most 18 digits.
func (d decimal) smallInt() (int64, bool) {
	if d.exp < len(d.digits) || d.exp > 18 {
		return 0, false
	}
	var x int64
	for i := 0; i < d.exp; i++ {
		x *= 10
		if i < len(d.digits) {
			x += int64(d.digits[i] - '0')
		}
	}
	if d.neg {
		x = -x
	}
	return x, true
}

func coefficient(d decimal, shift int) *big.Int {
	c, _ := new(big.Int).SetString(d.digits+strings.Repeat("0", shift), 10)
	if d.neg {
		c.Neg(c)
	}
	return c
}
