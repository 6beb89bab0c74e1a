// Package audit is the control plane's audit log: every change, and every
// refused attempt at one, with who made it, what, when and from where.
// Entries are only ever appended.
package audit

import (
	"context"
	"time"
)

// Entry is one change or attempt.
type Entry struct {
	ID        int64
	Time      time.Time
	RequestID string
	Principal string // the access key id that signed the request
	Source    string // the client's address
	Operation string // CreateFunction, DeleteAlias, ...
	Resource  string // the request's path and query
	Outcome   string // "ok", or the error's exception name
}

// Log stores entries. Append is durable when it returns nil.
type Log interface {
	Append(ctx context.Context, e Entry) error
	// Entries returns entries at or after since with an ID above after,
	// oldest first, at most limit; operation, when not empty, selects one.
	Entries(ctx context.Context, since time.Time, operation string, after int64, limit int) ([]Entry, error)
}
