package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/invoke"
)

var _ invoke.Queue = (*Store)(nil)

// Enqueue implements invoke.Queue.
func (s *Store) Enqueue(ctx context.Context, e invoke.QueuedEvent) error {
	var tenant sql.NullString
	if e.Tenant != nil {
		tenant = sql.NullString{String: *e.Tenant, Valid: true}
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO event_invocations
			(id, function_name, qualifier, tenant, client_context, payload, attempts, state, not_before, enqueued_at, trace)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9, $10)`,
			e.ID, e.Function, e.Qualifier, tenant, e.ClientContext, e.Payload, e.Attempts,
			e.NotBefore.UnixMilli(), e.Enqueued.UnixMilli(), e.Trace)
		if err != nil {
			return fmt.Errorf("sqlite: enqueue event %s: %w", e.ID, err)
		}
		return nil
	})
}

// Due implements invoke.Queue.
func (s *Store) Due(ctx context.Context, now time.Time, limit int) ([]invoke.QueuedEvent, error) {
	var out []invoke.QueuedEvent
	err := s.write(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		rows, err := tx.QueryContext(ctx, `UPDATE event_invocations SET state = 'running'
			WHERE id IN (SELECT id FROM event_invocations WHERE state = 'pending' AND not_before <= $1
			             ORDER BY not_before, enqueued_at LIMIT $2)
			RETURNING id, function_name, qualifier, tenant, client_context, payload, attempts, not_before, enqueued_at, trace`,
			now.UnixMilli(), limit)
		if err != nil {
			return fmt.Errorf("sqlite: claim events: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var e invoke.QueuedEvent
			var tenant sql.NullString
			var notBefore, enqueued int64
			if err := rows.Scan(&e.ID, &e.Function, &e.Qualifier, &tenant, &e.ClientContext, &e.Payload, &e.Attempts, &notBefore, &enqueued, &e.Trace); err != nil {
				return err
			}
			if tenant.Valid {
				t := tenant.String
				e.Tenant = &t
			}
			e.NotBefore, e.Enqueued = time.UnixMilli(notBefore).UTC(), time.UnixMilli(enqueued).UTC()
			out = append(out, e)
		}
		return rows.Err()
	})
	// RETURNING does not keep the subquery's order.
	slices.SortFunc(out, func(a, b invoke.QueuedEvent) int {
		if c := a.NotBefore.Compare(b.NotBefore); c != 0 {
			return c
		}
		return a.Enqueued.Compare(b.Enqueued)
	})
	return out, err
}

// Retry implements invoke.Queue.
func (s *Store) Retry(ctx context.Context, id string, attempts int, notBefore time.Time) error {
	return s.change(ctx, id, `UPDATE event_invocations SET state = 'pending', attempts = $2, not_before = $3
		WHERE id = $1 AND state = 'running'`, attempts, notBefore.UnixMilli())
}

// Finish implements invoke.Queue.
func (s *Store) Finish(ctx context.Context, id, status, errorType string, at time.Time) error {
	if status != "succeeded" && status != "failed" {
		return errdefs.New(errdefs.ErrInvalidArgument, "event status %q is neither succeeded nor failed", status)
	}
	return s.change(ctx, id, `UPDATE event_invocations SET state = $2, error_type = $3, finished_at = $4, payload = NULL
		WHERE id = $1 AND state = 'running'`, status, errorType, at.UnixMilli())
}

// Recover implements invoke.Queue.
func (s *Store) Recover(ctx context.Context) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE event_invocations SET state = 'pending' WHERE state = 'running'`)
		if err != nil {
			return fmt.Errorf("sqlite: recover events: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// change runs an update of one running event; ErrNotFound when there is none.
func (s *Store) change(ctx context.Context, id, query string, args ...any) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, append([]any{id}, args...)...)
		if err != nil {
			return fmt.Errorf("sqlite: event %s: %w", id, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("event %s is not running: %w", id, errdefs.ErrNotFound)
		}
		return nil
	})
}

// PendingEvents counts the Event invocations accepted and not yet finished
// (pending or running): the queue's depth.
func (s *Store) PendingEvents(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM event_invocations WHERE state IN ('pending', 'running')`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlite: pending events: %w", err)
	}
	return n, nil
}
