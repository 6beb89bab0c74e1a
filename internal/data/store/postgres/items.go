package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bulkhead-dev/bulkhead/internal/data/store"
	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
)

// The statements. None of them names an owner to filter by: for a tenant
// scope the policy on bulkhead_data.items is the only filter, and the only
// check on what is written.
const (
	// setTenant starts every tenant transaction. true: the setting is
	// the transaction's own and is gone when it ends.
	setTenant = `SELECT set_config('bulkhead.tenant', $1, true)`

	tableIDSQL = `SELECT id FROM ` + schema + `.tables WHERE name = $1`

	// getSQL tells a missing table (no row) from a missing item (a row of
	// NULLs) in one statement.
	getSQL = `SELECT i.owner, i.data FROM ` + schema + `.tables t
		LEFT JOIN ` + schema + `.items i ON i.table_id = t.id AND i.pk = $2 AND i.sk = $3
		WHERE t.name = $1`

	// lockSQL reads the row Mutate decides on and locks it until commit.
	lockSQL = `SELECT owner, data FROM ` + schema + `.items
		WHERE table_id = (SELECT id FROM ` + schema + `.tables WHERE name = $1) AND pk = $2 AND sk = $3
		FOR UPDATE`

	// insertSQL fails with a unique violation if the key is taken, by a
	// row inserted since the read or by a row the tenant cannot see.
	insertSQL = `INSERT INTO ` + schema + `.items (table_id, pk, sk, owner, data) VALUES ($1, $2, $3, $4, $5)`
	updateSQL = `UPDATE ` + schema + `.items SET owner = $4, data = $5 WHERE table_id = $1 AND pk = $2 AND sk = $3`
	deleteSQL = `DELETE FROM ` + schema + `.items WHERE table_id = $1 AND pk = $2 AND sk = $3`

	// upsertSQL is Write's put. On a key whose row the tenant cannot see
	// the DO UPDATE fails the policy (42501) rather than skipping it.
	upsertSQL = `INSERT INTO ` + schema + `.items (table_id, pk, sk, owner, data)
		SELECT id, $2, $3, $4, $5 FROM ` + schema + `.tables WHERE name = $1
		ON CONFLICT (table_id, pk, sk) DO UPDATE SET owner = EXCLUDED.owner, data = EXCLUDED.data`
	deleteByNameSQL = `DELETE FROM ` + schema + `.items
		WHERE table_id = (SELECT id FROM ` + schema + `.tables WHERE name = $1) AND pk = $2 AND sk = $3`
)

// probe is how a tenant transaction learns, without bypassing the policy,
// whether a key it sees no row at is free or holds a row it cannot see: it
// inserts a row of its own there inside a savepoint and rolls that back.
// The primary key is checked against every row, visible or not, so the
// insert fails with a unique violation exactly when the key is taken. The
// failure aborts the transaction, and with it whatever the transaction
// wrote: the refusal is all or nothing.
func queueProbe(b *pgx.Batch, table int64, k store.Key, tenant string) {
	b.Queue(`SAVEPOINT probe`)
	b.Queue(insertSQL, table, k.PK, nonNil(k.SK), tenant, []byte{})
	b.Queue(`ROLLBACK TO SAVEPOINT probe`)
}

// errFn stands for fn's error inside run, so that nothing fn returns is
// taken for a reason to retry.
var errFn = errors.New("mutate function failed")

// keyTaken reports whether err is a unique violation: a key found taken
// by an insert.
func keyTaken(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// taken is what a tenant transaction makes of finding a key taken that its
// read found free: on the first attempt, a concurrent insert may have got
// in between, and run tries again (and then sees that row, if it is the
// tenant's); on a later one, the row is another owner's.
func taken(sc store.Scope, attempt int) error {
	if !sc.Service && attempt > 1 {
		return store.ErrOutOfScope
	}
	return errRaced
}

// Get returns the row at k if s sees it: one round trip.
func (s *Store) Get(ctx context.Context, sc store.Scope, table string, k store.Key) (store.Item, bool, error) {
	if err := checkKey(sc, k); err != nil {
		return store.Item{}, false, err
	}
	var it store.Item
	var found bool
	err := s.run(ctx, sc, func(c *pgx.Conn, _ int) error {
		b := &pgx.Batch{}
		if !sc.Service {
			b.Queue(setTenant, sc.Tenant)
		}
		b.Queue(getSQL, table, k.PK, nonNil(k.SK))
		br := c.SendBatch(ctx, b)
		defer br.Close()
		if !sc.Service {
			if _, err := br.Exec(); err != nil {
				return err
			}
		}
		var owner *string
		var data []byte
		if err := br.QueryRow().Scan(&owner, &data); err != nil {
			return err
		}
		found = owner != nil
		if found {
			it = store.Item{Key: cloneKey(k), Owner: *owner, Data: nonNil(data)}
		}
		return br.Close()
	})
	if errors.Is(err, pgx.ErrNoRows) {
		err = errNoTable(table)
	}
	if err != nil {
		return store.Item{}, false, fail(sc, err, "get item from %q", table)
	}
	return it, found, nil
}

// Mutate reads and locks the row at k (SELECT ... FOR UPDATE, in a READ
// COMMITTED transaction), asks fn, and writes: two round trips. A
// concurrent Mutate of the same row waits for the lock and then reads what
// this one committed. A row that did not exist cannot be locked, so two
// Mutates may both read nil; the second one's insert then fails on the
// primary key, and it runs again, now reading the first one's row.
func (s *Store) Mutate(ctx context.Context, sc store.Scope, table string, k store.Key, fn func(old *store.Item) (store.Change, error)) error {
	if err := checkKey(sc, k); err != nil {
		return err
	}
	var fnErr error
	err := s.run(ctx, sc, func(c *pgx.Conn, attempt int) error {
		b := &pgx.Batch{}
		b.Queue(`BEGIN`)
		if !sc.Service {
			b.Queue(setTenant, sc.Tenant)
		}
		b.Queue(tableIDSQL, table)
		b.Queue(lockSQL, table, k.PK, nonNil(k.SK))
		br := c.SendBatch(ctx, b)
		var id int64
		var old *store.Item
		err := func() error {
			defer br.Close()
			if _, err := br.Exec(); err != nil {
				return err
			}
			if !sc.Service {
				if _, err := br.Exec(); err != nil {
					return err
				}
			}
			if err := br.QueryRow().Scan(&id); errors.Is(err, pgx.ErrNoRows) {
				return errNoTable(table)
			} else if err != nil {
				return err
			}
			var owner string
			var data []byte
			switch err := br.QueryRow().Scan(&owner, &data); {
			case err == nil:
				old = &store.Item{Key: cloneKey(k), Owner: owner, Data: nonNil(data)}
			case !errors.Is(err, pgx.ErrNoRows):
				return err
			}
			return br.Close()
		}()
		if err != nil {
			return err
		}

		ch, err := fn(old)
		if err != nil {
			fnErr = err
			return errFn
		}
		if err := ch.Validate(); err != nil {
			return err
		}
		b = &pgx.Batch{}
		probing := false
		switch ch.Kind {
		case store.Put:
			if old != nil {
				b.Queue(updateSQL, id, k.PK, nonNil(k.SK), ch.Item.Owner, nonNil(ch.Item.Data))
			} else {
				b.Queue(insertSQL, id, k.PK, nonNil(k.SK), ch.Item.Owner, nonNil(ch.Item.Data))
			}
		case store.Delete:
			if old != nil {
				b.Queue(deleteSQL, id, k.PK, nonNil(k.SK))
			} else if !sc.Service {
				// Nothing to delete, or a row the tenant may not
				// delete?
				queueProbe(b, id, k, sc.Tenant)
				probing = true
			}
		}
		b.Queue(`COMMIT`)
		err = c.SendBatch(ctx, b).Close()
		if keyTaken(err) && (ch.Kind == store.Put || probing) {
			return taken(sc, attempt)
		}
		return err
	})
	switch {
	case fnErr != nil:
		return fnErr
	case errors.Is(err, errRaced):
		return fail(sc, fmt.Errorf("%w: %d attempts found the key taken", errdefs.ErrConflict, maxAttempts), "write item in %q", table)
	case err != nil:
		return fail(sc, err, "write item in %q", table)
	}
	return nil
}

// Write applies changes in one transaction, in key order so that two
// batches lock rows in one order. Puts are upserts; a tenant's delete that
// finds no row is probed. One round trip, or two if there are such
// deletes.
func (s *Store) Write(ctx context.Context, sc store.Scope, table string, changes []store.Change) error {
	if err := sc.Validate(); err != nil {
		return err
	}
	if err := store.ValidateChanges(changes); err != nil {
		return err
	}
	changes = slices.DeleteFunc(slices.Clone(changes), func(c store.Change) bool { return c.Kind == store.Keep })
	slices.SortFunc(changes, func(a, b store.Change) int {
		if c := bytes.Compare(a.Item.Key.PK, b.Item.Key.PK); c != 0 {
			return c
		}
		return bytes.Compare(a.Item.Key.SK, b.Item.Key.SK)
	})
	hasDeletes := slices.ContainsFunc(changes, func(c store.Change) bool { return c.Kind == store.Delete })
	err := s.run(ctx, sc, func(c *pgx.Conn, attempt int) error {
		b := &pgx.Batch{}
		b.Queue(`BEGIN`)
		if !sc.Service {
			b.Queue(setTenant, sc.Tenant)
		}
		b.Queue(tableIDSQL, table)
		for _, ch := range changes {
			k := ch.Item.Key
			if ch.Kind == store.Put {
				b.Queue(upsertSQL, table, k.PK, nonNil(k.SK), ch.Item.Owner, nonNil(ch.Item.Data))
			} else {
				b.Queue(deleteByNameSQL, table, k.PK, nonNil(k.SK))
			}
		}
		// With no delete that may need a probe, commit in this round
		// trip: an error anywhere skips the COMMIT.
		oneTrip := sc.Service || !hasDeletes
		if oneTrip {
			b.Queue(`COMMIT`)
		}
		br := c.SendBatch(ctx, b)
		var id int64
		var unseen []store.Key // deletes that found no row
		err := func() error {
			defer br.Close()
			if _, err := br.Exec(); err != nil {
				return err
			}
			if !sc.Service {
				if _, err := br.Exec(); err != nil {
					return err
				}
			}
			if err := br.QueryRow().Scan(&id); errors.Is(err, pgx.ErrNoRows) {
				return errNoTable(table)
			} else if err != nil {
				return err
			}
			for _, ch := range changes {
				tag, err := br.Exec()
				if err != nil {
					return err
				}
				if ch.Kind == store.Delete && tag.RowsAffected() == 0 {
					unseen = append(unseen, ch.Item.Key)
				}
			}
			return br.Close()
		}()
		if err != nil || oneTrip {
			return err
		}
		b = &pgx.Batch{}
		for _, k := range unseen {
			queueProbe(b, id, k, sc.Tenant)
		}
		b.Queue(`COMMIT`)
		err = c.SendBatch(ctx, b).Close()
		if keyTaken(err) {
			return taken(sc, attempt)
		}
		return err
	})
	if errors.Is(err, errRaced) {
		err = fmt.Errorf("%w: %d attempts found a key taken", errdefs.ErrConflict, maxAttempts)
	}
	if err != nil {
		return fail(sc, err, "write items in %q", table)
	}
	return nil
}

// Query streams one partition's rows in sort-key order: a range scan of
// the primary key's index, in one round trip with the tenant's set_config
// and the table's lookup (a batch runs as one implicit transaction).
func (s *Store) Query(ctx context.Context, sc store.Scope, q store.Query, fn func(store.Item) bool) error {
	if err := sc.Validate(); err != nil {
		return err
	}
	if err := q.Validate(); err != nil {
		return err
	}
	r, err := q.Range()
	if err != nil {
		return err
	}
	query, args := queryStatement(q, r)
	return s.stream(ctx, sc, q.Table, query, args, q.PK, fn)
}

// queryStatement is Query's statement for the sort keys in r.
func queryStatement(q store.Query, r store.Range) (string, []any) {
	var b strings.Builder
	args := []any{q.Table, q.PK}
	b.WriteString(`SELECT sk, owner, data FROM ` + schema + `.items
		WHERE table_id = (SELECT id FROM ` + schema + `.tables WHERE name = $1) AND pk = $2`)
	if r.Low != nil {
		args = append(args, r.Low)
		fmt.Fprintf(&b, ` AND sk %s $%d`, lowOp(r.LowInclusive), len(args))
	}
	if r.High != nil {
		args = append(args, r.High)
		fmt.Fprintf(&b, ` AND sk %s $%d`, highOp(r.HighInclusive), len(args))
	}
	if q.Backward {
		b.WriteString(` ORDER BY sk DESC`)
	} else {
		b.WriteString(` ORDER BY sk`)
	}
	args = append(args, sqlLimit(q.Limit))
	fmt.Fprintf(&b, ` LIMIT $%d`, len(args))
	return b.String(), args
}

// Scan streams a table's rows in key order.
func (s *Store) Scan(ctx context.Context, sc store.Scope, table string, after *store.Key, limit int, fn func(store.Item) bool) error {
	if err := sc.Validate(); err != nil {
		return err
	}
	if err := store.CheckLimit(limit); err != nil {
		return err
	}
	query, args := scanStatement(table, after, limit)
	return s.stream(ctx, sc, table, query, args, nil, fn)
}

// scanStatement is Scan's statement. The row comparison is a range of the
// primary key's index.
func scanStatement(table string, after *store.Key, limit int) (string, []any) {
	query := `SELECT pk, sk, owner, data FROM ` + schema + `.items
		WHERE table_id = (SELECT id FROM ` + schema + `.tables WHERE name = $1)`
	args := []any{table}
	if after != nil {
		query += ` AND (pk, sk) > ($2, $3)`
		args = append(args, nonNil(after.PK), nonNil(after.SK))
	}
	args = append(args, sqlLimit(limit))
	return query + fmt.Sprintf(` ORDER BY pk, sk LIMIT $%d`, len(args)), args
}

// stream runs a Query's or Scan's statement after the tenant's set_config
// and the table's lookup, all in one batch, and calls fn for each row. A
// statement with pk set selects (sk, owner, data) of that partition, one
// without (pk, sk, owner, data).
func (s *Store) stream(ctx context.Context, sc store.Scope, table, query string, args []any, pk []byte, fn func(store.Item) bool) error {
	err := s.run(ctx, sc, func(c *pgx.Conn, _ int) error {
		b := &pgx.Batch{}
		if !sc.Service {
			b.Queue(setTenant, sc.Tenant)
		}
		b.Queue(tableIDSQL, table)
		b.Queue(query, args...)
		br := c.SendBatch(ctx, b)
		defer br.Close()
		if !sc.Service {
			if _, err := br.Exec(); err != nil {
				return err
			}
		}
		var id int64
		if err := br.QueryRow().Scan(&id); errors.Is(err, pgx.ErrNoRows) {
			return errNoTable(table)
		} else if err != nil {
			return err
		}
		rows, err := br.Query()
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			it := store.Item{Key: store.Key{PK: bytes.Clone(pk)}}
			if pk == nil {
				err = rows.Scan(&it.Key.PK, &it.Key.SK, &it.Owner, &it.Data)
			} else {
				err = rows.Scan(&it.Key.SK, &it.Owner, &it.Data)
			}
			if err != nil {
				return err
			}
			it.Key.SK = nilIfEmpty(it.Key.SK)
			it.Data = nonNil(it.Data)
			if !fn(it) {
				break
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		return br.Close()
	})
	if err != nil {
		return fail(sc, err, "read %q", table)
	}
	return nil
}

// checkKey refuses an invalid scope before a key that lacks a partition
// key, so that a request with no scope learns nothing else.
func checkKey(sc store.Scope, k store.Key) error {
	if err := sc.Validate(); err != nil {
		return err
	}
	return k.Validate()
}

// cloneKey copies k for an Item the caller keeps, as reads return it.
func cloneKey(k store.Key) store.Key {
	return store.Key{PK: bytes.Clone(k.PK), SK: nilIfEmpty(bytes.Clone(k.SK))}
}

// lowOp and highOp are the comparisons for a range's bounds.
func lowOp(inclusive bool) string {
	if inclusive {
		return ">="
	}
	return ">"
}

func highOp(inclusive bool) string {
	if inclusive {
		return "<="
	}
	return "<"
}
