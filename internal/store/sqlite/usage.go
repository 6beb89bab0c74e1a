package sqlite

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/usage"
)

// UsageStore is the SQLite usage.Store, in the same database.
type UsageStore struct{ db *Store }

var _ usage.Store = (*UsageStore)(nil)

// Usage returns the usage store.
func (s *Store) Usage() *UsageStore { return &UsageStore{db: s} }

// Add adds rows' counts to the stored ones in one immediate transaction,
// committed (synchronous=FULL) before it returns.
func (u *UsageStore) Add(ctx context.Context, rows []usage.Row) error {
	tx, err := u.db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: usage: %w", err)
	}
	defer tx.Rollback()
	stmt, err := u.db.prepared(ctx, tx, `INSERT INTO usage (function_name, tenant, hour, invocations, errors, throttles,
		mb_millis, environments, cold_starts, bytes_in, bytes_out) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (function_name, tenant, hour) DO UPDATE SET
		invocations = invocations + excluded.invocations, errors = errors + excluded.errors,
		throttles = throttles + excluded.throttles, mb_millis = mb_millis + excluded.mb_millis,
		environments = environments + excluded.environments, cold_starts = cold_starts + excluded.cold_starts,
		bytes_in = bytes_in + excluded.bytes_in, bytes_out = bytes_out + excluded.bytes_out`)
	if err != nil {
		return fmt.Errorf("sqlite: usage: %w", err)
	}
	defer stmt.Close()
	for _, r := range rows {
		c := r.Counts
		if _, err := stmt.ExecContext(ctx, r.Function, r.Tenant, usage.Hour(r.Hour).Unix(), c.Invocations, c.Errors, c.Throttles,
			c.MBMillis, c.Environments, c.ColdStarts, c.BytesIn, c.BytesOut); err != nil {
			return fmt.Errorf("sqlite: usage: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: usage: %w", err)
	}
	return nil
}

// Query returns the rows f selects, by function, tenant and hour.
func (u *UsageStore) Query(ctx context.Context, f usage.Filter) ([]usage.Row, error) {
	var where []string
	var args []any
	if f.Function != "" {
		where, args = append(where, "function_name = ?"), append(args, f.Function)
	}
	if f.TenantSet || f.Tenant != "" {
		where, args = append(where, "tenant = ?"), append(args, f.Tenant)
	}
	if !f.From.IsZero() {
		where, args = append(where, "hour >= ?"), append(args, usage.Hour(f.From).Unix())
	}
	if !f.To.IsZero() {
		where, args = append(where, "hour < ?"), append(args, f.To.Unix())
	}
	q := `SELECT function_name, tenant, hour, invocations, errors, throttles, mb_millis, environments, cold_starts,
		bytes_in, bytes_out FROM usage`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY function_name, tenant, hour"
	rs, err := u.db.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: usage: %w", err)
	}
	defer rs.Close()
	var rows []usage.Row
	for rs.Next() {
		var r usage.Row
		var hour int64
		c := &r.Counts
		if err := rs.Scan(&r.Function, &r.Tenant, &hour, &c.Invocations, &c.Errors, &c.Throttles, &c.MBMillis,
			&c.Environments, &c.ColdStarts, &c.BytesIn, &c.BytesOut); err != nil {
			return nil, fmt.Errorf("sqlite: usage: %w", err)
		}
		r.Hour = time.Unix(hour, 0).UTC()
		rows = append(rows, r)
	}
	return rows, rs.Err()
}

// DeleteTenant deletes a tenant's usage rows and returns how many.
func (u *UsageStore) DeleteTenant(ctx context.Context, tenant string) (int64, error) {
	res, err := u.db.db.ExecContext(ctx, `DELETE FROM usage WHERE tenant = ?`, tenant)
	if err != nil {
		return 0, fmt.Errorf("sqlite: usage: %w", err)
	}
	return res.RowsAffected()
}
