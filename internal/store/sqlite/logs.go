package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/logs"
)

// LogStore is the SQLite backend of logs.Store: the table logs
// (migrations/0003_logs.sql) in the database of the Store it came from. It
// passes logstest.StoreConformance.
//
// Append writes a batch in one immediate transaction, so a batch costs one
// commit. Prune deletes in chunks of pruneChunk records, each in its own
// transaction, so that appends are not held up behind a long prune.
//
// The writes made through one LogStore queue for their turn before they ask
// SQLite for its write lock: SQLite lets a waiting writer poll with growing
// sleeps, so with dozens of appenders one can starve past busy_timeout; the
// queue hands the turn on as soon as a write ends. Writes through separate
// LogStores, or the function store, wait on SQLite's lock as before.
type LogStore struct {
	s    *Store
	turn chan struct{} // holds a value while a write has its turn
}

var _ logs.Store = (*LogStore)(nil)

// Logs returns a log store in s's database. It shares s's connections and
// is closed with s.
func (s *Store) Logs() *LogStore { return &LogStore{s: s, turn: make(chan struct{}, 1)} }

// write runs fn in an immediate transaction, in turn with the other writes of
// l. It takes a connection before its turn, since opening one (when none is
// idle) is slow and need not hold up the others.
func (l *LogStore) write(ctx context.Context, fn func(*sql.Tx) error) error {
	conn, err := l.s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	select {
	case l.turn <- struct{}{}:
		defer func() { <-l.turn }()
	case <-ctx.Done():
		return ctx.Err()
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// pruneChunk is how many records one transaction of Prune deletes at most.
const pruneChunk = 10000

const logColumns = `time, tenant, function_name, version, request_id, env_id, type, stream, message`

// Append implements logs.Store.
func (l *LogStore) Append(ctx context.Context, records []logs.Record) error {
	if len(records) == 0 {
		return nil
	}
	err := l.write(ctx, func(tx *sql.Tx) error {
		stmt, err := l.s.prepared(ctx, tx, `INSERT INTO logs (`+logColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, r := range records {
			if _, err := stmt.ExecContext(ctx, nanos(r.Time), r.Tenant, r.Function, r.Version, r.RequestID,
				r.EnvID, r.Type, r.Stream, r.Message); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fail(err, "append %d log records", len(records))
	}
	return nil
}

// Query implements logs.Store.
func (l *LogStore) Query(ctx context.Context, q logs.Query) ([]logs.Stored, error) {
	query, args, err := logQuery(q)
	if err != nil {
		return nil, err
	}
	rows, err := l.s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fail(err, "query logs of %q", q.Function)
	}
	defer rows.Close()
	var out []logs.Stored
	for rows.Next() {
		var r logs.Stored
		var t int64
		if err := rows.Scan(&r.ID, &t, &r.Tenant, &r.Function, &r.Version, &r.RequestID,
			&r.EnvID, &r.Type, &r.Stream, &r.Message); err != nil {
			return nil, fail(err, "query logs of %q", q.Function)
		}
		r.Time = time.Unix(0, t).UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fail(err, "query logs of %q", q.Function)
	}
	return out, nil
}

// logQuery returns the statement that answers q, and its arguments. It
// refuses a query without a function or with a negative limit.
//
// Text is matched with instr() on both sides cast to BLOB: a byte-for-byte
// substring, where LIKE would read '%', '_' and '\' as patterns and fold
// ASCII case, and instr() on TEXT would step over bytes that are not valid
// UTF-8.
func logQuery(q logs.Query) (query string, args []any, err error) {
	limit, err := logLimit(q)
	if err != nil {
		return "", nil, err
	}
	where := []string{`function_name = $1`}
	args = []any{q.Function}
	and := func(cond string, arg any) {
		args = append(args, arg)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if q.TenantSet {
		and(`tenant = $%d`, q.Tenant)
	}
	if q.RequestID != "" {
		and(`request_id = $%d`, q.RequestID)
	}
	if !q.Since.IsZero() {
		and(`time >= $%d`, nanos(q.Since))
	}
	if !q.Until.IsZero() {
		and(`time < $%d`, nanos(q.Until))
	}
	if q.Text != "" {
		and(`instr(CAST(message AS BLOB), CAST($%d AS BLOB)) > 0`, q.Text)
	}
	if q.AfterID != 0 {
		and(`id > $%d`, q.AfterID)
	}
	args = append(args, limit)
	return `SELECT id, ` + logColumns + ` FROM logs WHERE ` + strings.Join(where, " AND ") +
		fmt.Sprintf(` ORDER BY id LIMIT $%d`, len(args)), args, nil
}

// logLimit returns how many records q may return.
func logLimit(q logs.Query) (int, error) {
	switch {
	case q.Function == "":
		return 0, fmt.Errorf("sqlite: query logs: a function is required: %w", errdefs.ErrInvalidArgument)
	case q.Limit < 0:
		return 0, fmt.Errorf("sqlite: query logs: limit %d: %w", q.Limit, errdefs.ErrInvalidArgument)
	case q.Limit == 0:
		return logs.DefaultLimit, nil
	}
	return min(q.Limit, logs.MaxLimit), nil
}

// Prune implements logs.Store. Records appended while it runs are neither
// removed nor counted, so the size bound may be exceeded by them until the
// next Prune.
func (l *LogStore) Prune(ctx context.Context, before time.Time, maxBytes int64) (int64, error) {
	var removed int64
	if !before.IsZero() {
		n, err := l.deleteChunks(ctx, `SELECT id FROM logs WHERE time < $1`, nanos(before))
		removed += n
		if err != nil {
			return removed, fail(err, "prune logs before %s", before)
		}
	}
	if maxBytes > 0 {
		cut, err := l.sizeCut(ctx, maxBytes)
		if err == nil && cut > 0 {
			var n int64
			n, err = l.deleteChunks(ctx, `SELECT id FROM logs WHERE id <= $1 ORDER BY id`, cut)
			removed += n
		}
		if err != nil {
			return removed, fail(err, "prune logs to %d bytes", maxBytes)
		}
	}
	return removed, nil
}

// sizeCut returns the ID of the newest record that must go for the records
// to hold at most maxBytes of messages: it and every older record. 0 means
// none. It reads from the newest record back only as far as the records
// kept, plus one.
func (l *LogStore) sizeCut(ctx context.Context, maxBytes int64) (int64, error) {
	var cut int64
	err := l.s.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, octet_length(message) FROM logs ORDER BY id DESC`)
		if err != nil {
			return err
		}
		defer rows.Close()
		var kept int64
		for rows.Next() {
			var id, size int64
			if err := rows.Scan(&id, &size); err != nil {
				return err
			}
			if kept += size; kept > maxBytes {
				cut = id
				return nil
			}
		}
		return rows.Err()
	})
	return cut, err
}

// deleteChunks deletes the records whose IDs selection selects, pruneChunk
// at a time, each chunk in its own transaction, and returns how many it
// deleted.
func (l *LogStore) deleteChunks(ctx context.Context, selection string, arg any) (int64, error) {
	var removed int64
	for {
		var n int64
		err := l.write(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `DELETE FROM logs WHERE id IN (`+selection+` LIMIT $2)`, arg, pruneChunk)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		removed += n
		if err != nil || n < pruneChunk {
			return removed, err
		}
	}
}

// nanos is t in Unix nanoseconds, clamped to what an int64 holds (from 1677
// to 2262), so a far bound stays a bound.
func nanos(t time.Time) int64 {
	switch {
	case t.Before(minNanos):
		return math.MinInt64
	case t.After(maxNanos):
		return math.MaxInt64
	}
	return t.UnixNano()
}

var (
	minNanos = time.Unix(0, math.MinInt64)
	maxNanos = time.Unix(0, math.MaxInt64)
)

// DeleteTenant deletes every record of a tenant (a deleted tenant's, on
// request), in chunks, and returns how many it deleted.
func (l *LogStore) DeleteTenant(ctx context.Context, tenant string) (int64, error) {
	return l.deleteChunks(ctx, `SELECT id FROM logs WHERE tenant = $1`, tenant)
}
