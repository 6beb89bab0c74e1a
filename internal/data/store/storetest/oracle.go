package storetest

import (
	"bytes"
	"slices"

	"github.com/bulkhead-dev/bulkhead/internal/data/store"
)

// The oracle: what a Query or Scan must return, computed from a plain list
// of rows by definitions written out here rather than with the store
// package's Range, so that a mistake there cannot hide behind the same
// mistake in the expectation.

// skMatches is DynamoDB's sort-key test, written from the operator's
// definition.
func skMatches(c store.SKCond, sk []byte) bool {
	cmpA := bytes.Compare(sk, c.A)
	switch c.Op {
	case store.SKAny:
		return true
	case store.SKEqual:
		return cmpA == 0
	case store.SKLess:
		return cmpA < 0
	case store.SKLessEqual:
		return cmpA <= 0
	case store.SKGreater:
		return cmpA > 0
	case store.SKGreaterEqual:
		return cmpA >= 0
	case store.SKBetween:
		return cmpA >= 0 && bytes.Compare(sk, c.B) <= 0
	case store.SKBeginsWith:
		return len(sk) >= len(c.A) && bytes.Equal(sk[:len(c.A)], c.A)
	}
	panic("storetest: unknown sort-key operator")
}

// compareKeys orders keys as Scan returns them.
func compareKeys(a, b store.Key) int {
	if c := bytes.Compare(a.PK, b.PK); c != 0 {
		return c
	}
	return bytes.Compare(a.SK, b.SK)
}

// expectQuery returns the rows of all that q selects for scope s, in order.
func expectQuery(all []store.Item, s store.Scope, q store.Query) []store.Item {
	var out []store.Item
	for _, it := range all {
		if !bytes.Equal(it.Key.PK, q.PK) || !visible(s, it.Owner) || !skMatches(q.SK, it.Key.SK) {
			continue
		}
		if q.After != nil {
			c := bytes.Compare(it.Key.SK, q.After)
			if !q.Backward && c <= 0 || q.Backward && c >= 0 {
				continue
			}
		}
		out = append(out, it)
	}
	slices.SortFunc(out, func(a, b store.Item) int { return bytes.Compare(a.Key.SK, b.Key.SK) })
	if q.Backward {
		slices.Reverse(out)
	}
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out
}

// expectScan returns the rows of all that a Scan for s after after returns,
// in order, at most limit (0: all).
func expectScan(all []store.Item, s store.Scope, after *store.Key, limit int) []store.Item {
	var out []store.Item
	for _, it := range all {
		if visible(s, it.Owner) && (after == nil || compareKeys(it.Key, *after) > 0) {
			out = append(out, it)
		}
	}
	slices.SortFunc(out, func(a, b store.Item) int { return compareKeys(a.Key, b.Key) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// visible is the owner rule, written out: the service sees every row, a
// tenant its own.
func visible(s store.Scope, owner string) bool {
	return s.Service || s.Tenant != "" && owner == s.Tenant
}
