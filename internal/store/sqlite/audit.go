package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/audit"
)

// AuditLog is the SQLite audit.Log, in the same database.
type AuditLog struct{ s *Store }

var _ audit.Log = AuditLog{}

// Audit returns the audit log.
func (s *Store) Audit() AuditLog { return AuditLog{s} }

// Append adds an entry, durably, before it returns.
func (l AuditLog) Append(ctx context.Context, e audit.Entry) error {
	s := l.s
	_, err := s.db.ExecContext(ctx, `INSERT INTO audit (time, request_id, principal, source, operation, resource, outcome)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, e.Time.UnixNano(), e.RequestID, e.Principal, e.Source, e.Operation, e.Resource, e.Outcome)
	if err != nil {
		return fmt.Errorf("sqlite: audit: %w", err)
	}
	return nil
}

// Entries returns entries at or after since with an ID above after, oldest
// first, at most limit; operation, when not empty, selects one operation.
func (l AuditLog) Entries(ctx context.Context, since time.Time, operation string, after int64, limit int) ([]audit.Entry, error) {
	s := l.s
	q := `SELECT id, time, request_id, principal, source, operation, resource, outcome FROM audit WHERE id > ? AND time >= ?`
	args := []any{after, since.UnixNano()}
	if operation != "" {
		q += ` AND operation = ?`
		args = append(args, operation)
	}
	q += ` ORDER BY id LIMIT ?`
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: audit: %w", err)
	}
	defer rows.Close()
	var out []audit.Entry
	for rows.Next() {
		var e audit.Entry
		var t int64
		if err := rows.Scan(&e.ID, &t, &e.RequestID, &e.Principal, &e.Source, &e.Operation, &e.Resource, &e.Outcome); err != nil {
			return nil, fmt.Errorf("sqlite: audit: %w", err)
		}
		e.Time = time.Unix(0, t).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}
