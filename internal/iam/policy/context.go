package policy

import (
	"iter"
	"strings"
	"unicode/utf8"
)

// Request is what a policy is asked about: an action ("dynamodb:GetItem"),
// the ARN of the resource it touches, and the request's condition keys.
type Request struct {
	Action   string
	Resource string
	Context  Context
}

// Context holds a request's condition keys. A key has one or more string
// values; a key with several (dynamodb:LeadingKeys, dynamodb:Attributes) is
// added once per value. Key names compare case-insensitively, as in IAM.
// Principal tags, aws:username, aws:userid, aws:PrincipalArn,
// aws:CurrentTime, aws:EpochTime, aws:SecureTransport, aws:SourceIp and
// aws:TokenIssueTime are ordinary keys here: the evaluator fills in nothing.
//
// The zero value is empty and ready to use. A Context is a small slice of
// key/value pairs: building one costs one allocation (none with Grow and
// Reset on a reused Context), and a lookup is a scan, which for the dozen
// keys a request carries is faster than a map. A Context must not be
// changed while a policy is being evaluated against it.
type Context struct {
	pairs []pair
}

type pair struct {
	key, value string
	ascii      bool // key is all ASCII, so a length mismatch means no match
}

// Grow makes room for n more values without another allocation.
func (c *Context) Grow(n int) {
	if n > cap(c.pairs)-len(c.pairs) {
		pairs := make([]pair, len(c.pairs), len(c.pairs)+n)
		copy(pairs, c.pairs)
		c.pairs = pairs
	}
}

// Add adds value to key's values.
func (c *Context) Add(key, value string) {
	c.pairs = append(c.pairs, pair{key: key, value: value, ascii: isASCII(key)})
}

// Set replaces key's values with values; Set(key) with none removes the key.
func (c *Context) Set(key string, values ...string) {
	kept := c.pairs[:0]
	for _, p := range c.pairs {
		if !keyEqual(p.key, p.ascii, key, isASCII(key)) {
			kept = append(kept, p)
		}
	}
	clear(c.pairs[len(kept):])
	c.pairs = kept
	for _, v := range values {
		c.Add(key, v)
	}
}

// Lookup returns key's value when key has exactly one; a missing key and a
// key with several values both report false. This is how a policy
// variable such as ${aws:PrincipalTag/TenantID} is resolved.
func (c *Context) Lookup(key string) (string, bool) {
	return c.lookup(key, isASCII(key))
}

// Values yields key's values in the order they were added.
func (c *Context) Values(key string) iter.Seq[string] {
	ascii := isASCII(key)
	return func(yield func(string) bool) {
		for _, p := range c.pairs {
			if keyEqual(p.key, p.ascii, key, ascii) && !yield(p.value) {
				return
			}
		}
	}
}

// Has reports whether key has at least one value.
func (c *Context) Has(key string) bool {
	return c.count(key, isASCII(key)) > 0
}

// Len returns the number of key/value pairs.
func (c *Context) Len() int { return len(c.pairs) }

// Reset empties c and keeps its storage for reuse.
func (c *Context) Reset() {
	clear(c.pairs)
	c.pairs = c.pairs[:0]
}

func (c *Context) lookup(key string, ascii bool) (string, bool) {
	var value string
	n := 0
	for i := range c.pairs {
		p := &c.pairs[i]
		if keyEqual(p.key, p.ascii, key, ascii) {
			value = p.value
			n++
		}
	}
	return value, n == 1
}

func (c *Context) count(key string, ascii bool) int {
	n := 0
	for i := range c.pairs {
		p := &c.pairs[i]
		if keyEqual(p.key, p.ascii, key, ascii) {
			n++
		}
	}
	return n
}

// keyEqual compares condition key names case-insensitively. Unicode case
// folding can change a string's length in bytes ("K", the Kelvin sign, is
// three bytes and folds to "k"), so the cheap length check applies only
// when both names are ASCII.
func keyEqual(a string, aASCII bool, b string, bASCII bool) bool {
	if len(a) != len(b) {
		if aASCII && bASCII {
			return false
		}
	} else if a == b { // the usual case: the same spelling on both sides
		return true
	}
	return strings.EqualFold(a, b)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
