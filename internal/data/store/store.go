package store

import (
	"context"
	"fmt"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
)

// Store keeps the data API's tables and items. Implementations:
// embedded.Store (SQLite) and postgres.Store; both pass
// storetest.Conformance.
//
// Table operations are administrative and take no Scope. Item operations
// take the Scope the request acts for and see only the rows it may see; on a
// table that does not exist they return an error wrapping
// errdefs.ErrNotFound. A zero Scope is refused with errdefs.ErrForbidden
// before anything is read.
type Store interface {
	// CreateTable creates t; errdefs.ErrAlreadyExists if a table of that
	// name exists. t.Created is stored at millisecond precision.
	CreateTable(ctx context.Context, t Table) error
	// Table returns the table named name; errdefs.ErrNotFound if none.
	Table(ctx context.Context, name string) (Table, error)
	// Tables returns up to limit tables (0: all) whose names sort
	// bytewise after after, in name order.
	Tables(ctx context.Context, after string, limit int) ([]Table, error)
	// DeleteTable deletes a table and all its items in one transaction;
	// errdefs.ErrNotFound if none.
	DeleteTable(ctx context.Context, name string) error

	// Get returns the row at k if s sees it. A row owned by another tenant
	// is reported exactly as a missing one.
	Get(ctx context.Context, s Scope, table string, k Key) (Item, bool, error)
	// Mutate reads the row at k as s sees it (nil if there is none or
	// another tenant owns it), passes it to fn, and applies fn's Change
	// atomically: nothing else changes the row between the read and the
	// write. The Change's Item.Key is ignored; the row written is k. If fn
	// returns an error, nothing is written and Mutate returns that error
	// unwrapped (a failed condition keeps its own type).
	//
	// fn may be called more than once (a backend retries after a
	// conflicting concurrent write) and runs while the row is locked: it
	// must be quick, must not call the Store, and must have no effect
	// other than its result. A Put or Delete that the scope may not make
	// returns an error wrapping ErrOutOfScope.
	Mutate(ctx context.Context, s Scope, table string, k Key, fn func(old *Item) (Change, error)) error
	// Write applies puts and deletes atomically: all of them or, on any
	// error, none. Two changes to one key are refused with
	// errdefs.ErrInvalidArgument. Keep changes are skipped.
	Write(ctx context.Context, s Scope, table string, changes []Change) error
	// Query calls fn for each row s sees whose partition key is q.PK and
	// whose sort key matches q.SK, in sort-key order (descending if
	// q.Backward), starting after q.After, at most q.Limit rows, until fn
	// returns false. fn runs while the backend holds a read snapshot and
	// must not call the Store. The Items passed to fn are fn's to keep.
	Query(ctx context.Context, s Scope, q Query, fn func(Item) bool) error
	// Scan calls fn for every row of the table that s sees, in (PK, SK)
	// order, starting after the key after (nil: from the start), at most
	// limit rows (0: no limit), until fn returns false. fn is as in Query.
	Scan(ctx context.Context, s Scope, table string, after *Key, limit int, fn func(Item) bool) error

	// Close releases the store's connections; everything acknowledged is
	// durable already.
	Close() error
}

// Scope is who an item operation acts for. The store is the second wall
// under the front end's policy check: whatever that check decided, a tenant
// scope sees and writes only rows whose Owner is its Tenant.
type Scope struct {
	// Tenant, when not empty, makes this a tenant's scope: rows owned by
	// anyone else do not exist for it, and it may write only items whose
	// Owner is Tenant, at keys that are free or already its own.
	Tenant string
	// Service marks a principal with no tenant (the admin key, a role
	// session without a TenantID tag): it sees and writes every row,
	// whatever its owner. Service with a Tenant is refused.
	Service bool
}

// Validate returns nil for a tenant scope or the service scope, and an error
// wrapping errdefs.ErrForbidden for anything else: the zero Scope (a request
// whose principal was never resolved) and one that claims both.
func (s Scope) Validate() error {
	switch {
	case s.Tenant != "" && !s.Service:
		return nil
	case s.Tenant == "" && s.Service:
		return nil
	case s.Service:
		return fmt.Errorf("data store: a scope is a tenant's or the service's, not both: %w", errdefs.ErrForbidden)
	default:
		return fmt.Errorf("data store: no scope (neither a tenant nor the service): %w", errdefs.ErrForbidden)
	}
}

// Sees reports whether a row owned by owner exists for s. It is false for
// every owner if s is not valid.
func (s Scope) Sees(owner string) bool {
	if s.Validate() != nil {
		return false
	}
	return s.Service || owner == s.Tenant
}

// ErrOutOfScope is what a write that the scope may not make wraps: a Put
// whose Item.Owner is not the scope's tenant, or a Put or Delete at a key
// whose row another tenant owns. It says no more than that, so that a
// refusal does not describe the other tenant's row.
var ErrOutOfScope = fmt.Errorf("the key or the item's owner is outside the request's tenant: %w", errdefs.ErrForbidden)

// Table is a table's catalogue entry.
type Table struct {
	// Name identifies the table; the store requires only that it is not
	// empty.
	Name string
	// Definition is the front end's description of the table (key schema,
	// tenancy), opaque to the store.
	Definition []byte
	// Created is when the table was created, at millisecond precision, UTC
	// when read back.
	Created time.Time
}

// Key addresses one row: a partition key and a sort key, each an
// order-preserving encoding made by the front end, so bytes.Compare order
// is DynamoDB's order and, for string and binary keys, a byte prefix is a
// value prefix.
type Key struct {
	// PK is the partition key; it must not be empty.
	PK []byte
	// SK is the sort key; nil or empty for tables without one. The two are
	// the same key: reads return nil.
	SK []byte
}

// Validate checks what the store requires of a key: a partition key.
func (k Key) Validate() error {
	if len(k.PK) == 0 {
		return fmt.Errorf("data store: empty partition key: %w", errdefs.ErrInvalidArgument)
	}
	return nil
}

// Item is one row.
type Item struct {
	// Key is the row's key.
	Key Key
	// Owner is the tenant that owns the row; "" for a row no tenant owns,
	// which only the service scope sees. It is a column, not part of the
	// key: whoever holds a key holds it.
	Owner string
	// Data is the item as the front end encoded it, opaque to the store.
	Data []byte
}

// MaxData is the largest Item.Data the store accepts; larger is refused
// with errdefs.ErrTooLarge. DynamoDB's own limit, 400 KB, is the front end's
// to enforce on its measure of an item; MaxData leaves room for any
// encoding of such an item and keeps a runaway caller from filling the
// database one row at a time.
const MaxData = 1 << 20

// ChangeKind is what Mutate or Write does to a row.
type ChangeKind int

// The kinds of change. The zero value is Keep.
const (
	// Keep leaves the row as it is (Mutate: a read, or a failed
	// condition reported without an error).
	Keep ChangeKind = iota
	// Put writes Item over whatever is at its key.
	Put
	// Delete removes the row at the key; deleting a missing row is not an
	// error.
	Delete
)

// Change is one write.
type Change struct {
	// Kind is what to do.
	Kind ChangeKind
	// Item is the row to write (Put) or whose Key to delete (Delete). In
	// Mutate its Key is ignored.
	Item Item
}

// Validate checks c: a known kind and, for a Put, an item no larger than
// MaxData.
func (c Change) Validate() error {
	switch c.Kind {
	case Keep, Delete:
		return nil
	case Put:
		if len(c.Item.Data) > MaxData {
			return fmt.Errorf("data store: item of %d bytes, more than %d: %w", len(c.Item.Data), MaxData, errdefs.ErrTooLarge)
		}
		return nil
	default:
		return fmt.Errorf("data store: change kind %d: %w", c.Kind, errdefs.ErrInvalidArgument)
	}
}

// ValidateChanges checks a Write's changes: each valid, with a key, and no
// key twice. It returns the first problem.
func ValidateChanges(changes []Change) error {
	seen := make(map[string]struct{}, len(changes))
	for _, c := range changes {
		if err := c.Validate(); err != nil {
			return err
		}
		if c.Kind == Keep {
			continue
		}
		if err := c.Item.Key.Validate(); err != nil {
			return err
		}
		id := keyID(c.Item.Key)
		if _, dup := seen[id]; dup {
			return fmt.Errorf("data store: two changes to one key in a batch: %w", errdefs.ErrInvalidArgument)
		}
		seen[id] = struct{}{}
	}
	return nil
}

// keyID is a map key for k: the length of PK, then PK and SK, so that no
// two keys share an id.
func keyID(k Key) string {
	return fmt.Sprintf("%d:%s%s", len(k.PK), k.PK, k.SK)
}

// Query selects rows of one partition by sort key.
type Query struct {
	// Table is the table's name.
	Table string
	// PK is the partition key; it must not be empty.
	PK []byte
	// SK is the sort-key condition; the zero value matches every row.
	SK SKCond
	// Backward returns rows in descending sort-key order.
	Backward bool
	// After, when not nil, is an exclusive start: only sort keys after it
	// in the direction of the query are returned.
	After []byte
	// Limit is the most rows to return; 0 is no limit.
	Limit int
}

// Validate checks what the store requires of q: a partition key, a known
// sort-key condition and a limit that is not negative.
func (q Query) Validate() error {
	if err := (Key{PK: q.PK}).Validate(); err != nil {
		return err
	}
	if q.Limit < 0 {
		return fmt.Errorf("data store: limit %d: %w", q.Limit, errdefs.ErrInvalidArgument)
	}
	_, err := q.SK.Range()
	return err
}

// Range returns the sort keys q selects, its sort-key condition narrowed by
// After in the direction of the query.
func (q Query) Range() (Range, error) {
	r, err := q.SK.Range()
	if err != nil || q.After == nil {
		return r, err
	}
	if q.Backward {
		r = r.below(q.After)
	} else {
		r = r.above(q.After)
	}
	return r, nil
}

// CheckLimit refuses a negative page size; 0 means no limit.
func CheckLimit(limit int) error {
	if limit < 0 {
		return fmt.Errorf("data store: limit %d: %w", limit, errdefs.ErrInvalidArgument)
	}
	return nil
}
