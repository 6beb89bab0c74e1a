package store

import (
	"bytes"
	"fmt"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
)

// SKOp is a sort-key test of a KeyConditionExpression.
type SKOp int

// The sort-key tests. The zero value, SKAny, matches every sort key.
const (
	SKAny          SKOp = iota // no sort-key condition
	SKEqual                    // sk = A
	SKLess                     // sk < A
	SKLessEqual                // sk <= A
	SKGreater                  // sk > A
	SKGreaterEqual             // sk >= A
	SKBetween                  // A <= sk <= B
	SKBeginsWith               // begins_with(sk, A)
)

// SKCond is a sort-key condition: Op applied to the operands A and B (B for
// SKBetween only), which are encoded as keys are.
type SKCond struct {
	Op   SKOp
	A, B []byte
}

// Match reports whether sk satisfies c. An invalid condition matches
// nothing.
func (c SKCond) Match(sk []byte) bool {
	switch c.Op {
	case SKAny:
		return true
	case SKEqual:
		return bytes.Equal(sk, c.A)
	case SKLess:
		return bytes.Compare(sk, c.A) < 0
	case SKLessEqual:
		return bytes.Compare(sk, c.A) <= 0
	case SKGreater:
		return bytes.Compare(sk, c.A) > 0
	case SKGreaterEqual:
		return bytes.Compare(sk, c.A) >= 0
	case SKBetween:
		return bytes.Compare(c.A, c.B) <= 0 && bytes.Compare(sk, c.A) >= 0 && bytes.Compare(sk, c.B) <= 0
	case SKBeginsWith:
		return bytes.HasPrefix(sk, c.A)
	}
	return false
}

// Range is an interval of byte strings in bytes.Compare order, which a
// backend turns into an index range: Low and High nil are unbounded (an
// empty, non-nil Low is the empty string, which is the least anyway).
type Range struct {
	Low, High                   []byte
	LowInclusive, HighInclusive bool
}

// Range returns the interval of sort keys c matches. It refuses an unknown
// operator (errdefs.ErrInvalidArgument) and a BETWEEN whose bounds are
// reversed (errdefs.ErrValidation, in DynamoDB's words).
func (c SKCond) Range() (Range, error) {
	switch c.Op {
	case SKAny:
		return Range{}, nil
	case SKEqual:
		return Range{Low: nonNil(c.A), LowInclusive: true, High: nonNil(c.A), HighInclusive: true}, nil
	case SKLess:
		return Range{High: nonNil(c.A)}, nil
	case SKLessEqual:
		return Range{High: nonNil(c.A), HighInclusive: true}, nil
	case SKGreater:
		return Range{Low: nonNil(c.A)}, nil
	case SKGreaterEqual:
		return Range{Low: nonNil(c.A), LowInclusive: true}, nil
	case SKBetween:
		if bytes.Compare(c.A, c.B) > 0 {
			return Range{}, errdefs.New(errdefs.ErrValidation, "Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound")
		}
		return Range{Low: nonNil(c.A), LowInclusive: true, High: nonNil(c.B), HighInclusive: true}, nil
	case SKBeginsWith:
		// Every string with prefix A is >= A and < the least string
		// greater than all of them.
		return Range{Low: nonNil(c.A), LowInclusive: true, High: PrefixEnd(c.A)}, nil
	}
	return Range{}, fmt.Errorf("data store: sort-key operator %d: %w", c.Op, errdefs.ErrInvalidArgument)
}

// Contains reports whether b is in r.
func (r Range) Contains(b []byte) bool {
	if r.Low != nil {
		if c := bytes.Compare(b, r.Low); c < 0 || c == 0 && !r.LowInclusive {
			return false
		}
	}
	if r.High != nil {
		if c := bytes.Compare(b, r.High); c > 0 || c == 0 && !r.HighInclusive {
			return false
		}
	}
	return true
}

// above narrows r to strings greater than after.
func (r Range) above(after []byte) Range {
	if r.Low == nil || bytes.Compare(after, r.Low) >= 0 {
		r.Low, r.LowInclusive = nonNil(after), false
	}
	return r
}

// below narrows r to strings less than before.
func (r Range) below(before []byte) Range {
	if r.High == nil || bytes.Compare(before, r.High) <= 0 {
		r.High, r.HighInclusive = nonNil(before), false
	}
	return r
}

// PrefixEnd returns the least byte string greater than every string that
// begins with prefix, or nil if there is none (prefix is empty or all 0xFF
// bytes): the exclusive upper bound of a prefix scan.
func PrefixEnd(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xFF {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// nonNil keeps an empty operand a bound: nil means unbounded in a Range.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
