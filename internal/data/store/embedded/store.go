package embedded

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/bulkhead-dev/bulkhead/internal/data/store"
	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/store/migration"
)

// Store is the SQLite backend of store.Store. It is safe for concurrent use.
// Writes go through one connection in immediate transactions: they queue in
// the process for that connection, and the connection holds SQLite's write
// lock from a write's first read to its commit. Reads are single statements
// on a pool of read-only connections; in WAL mode each sees a snapshot and
// neither waits for nor blocks the writer.
type Store struct {
	write *sql.DB // one connection, transactions BEGIN IMMEDIATE
	read  *sql.DB // readConns connections, query_only
	// readStmts are the hot reads, prepared once for the store's life (by
	// query text; the texts are a small fixed set): parsing and planning
	// them on every call cost more than running them. Writes are not: the
	// write pool's one connection is held by the transaction, and
	// preparing on the pool would wait for it.
	readStmts sync.Map
}

// prepared returns query prepared once on db, kept in cache.
func prepared(ctx context.Context, db *sql.DB, cache *sync.Map, query string) (*sql.Stmt, error) {
	if st, ok := cache.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := cache.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// queryRow runs a read statement, prepared once.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := prepared(ctx, s.read, &s.readStmts, query)
	if err != nil {
		return s.read.QueryRowContext(ctx, query, args...) // reports the error
	}
	return st.QueryRowContext(ctx, args...)
}

var _ store.Store = (*Store)(nil)

// busyTimeoutMillis is how long a connection waits for another process's
// write transaction (or, for a reader, a checkpoint) to finish.
const busyTimeoutMillis = 5000

// readConns is the size of the read pool: enough for every core to read
// while a write commits, few enough that idle connections cost little.
func readConns() int { return max(4, runtime.GOMAXPROCS(0)) }

// Open opens the data database at path (the data directory's data.db),
// creating it if need be, and brings its schema up to date. It refuses a
// database whose schema a newer binary wrote.
func Open(path string) (*Store, error) {
	w, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("data store: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	if err := setUp(context.Background(), w); err != nil {
		w.Close()
		return nil, fmt.Errorf("data store: open %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("data store: open %s: %w", path, err)
	}
	n := readConns()
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxIdleTime(0)
	return &Store{write: w, read: r}, nil
}

// dsn names the database file and the settings each connection gets. WAL
// with synchronous=FULL syncs the log at every commit, so a write is on disk
// before the call that made it returns; foreign keys make DeleteTable's
// cascade; transactions begin IMMEDIATE, taking the write lock before their
// first read, so what a write checks cannot change before it commits. Read
// connections are query_only: a bug cannot make them write.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMillis))
	q.Add("_pragma", "foreign_keys(ON)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	if readOnly {
		q.Add("_pragma", "query_only(ON)")
	}
	q.Set("_txlock", "immediate")
	// A file: URI, so that a '?' or '%' in the path is part of the path.
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// setUp checks that the settings took (a file system without shared memory
// would leave the database out of WAL mode) and applies pending migrations.
func setUp(ctx context.Context, db *sql.DB) error {
	var mode string
	var synchronous, foreignKeys int
	if err := db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		return err
	}
	if err := db.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&synchronous); err != nil {
		return err
	}
	if err := db.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&foreignKeys); err != nil {
		return err
	}
	const full = 2
	if mode != "wal" || synchronous != full || foreignKeys != 1 {
		return fmt.Errorf("settings did not take: journal_mode=%s synchronous=%d foreign_keys=%d, want wal, %d, 1", mode, synchronous, foreignKeys, full)
	}
	ms, err := migration.LoadDir(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	return migration.SQLite(ctx, db, ms, errNewerSchema)
}

// Close closes the database. Everything acknowledged is already on disk.
func (s *Store) Close() error {
	s.readStmts.Range(func(_, st any) bool {
		st.(*sql.Stmt).Close()
		return true
	})
	return errors.Join(s.read.Close(), s.write.Close())
}

// fail wraps err with the operation that failed. Errors that already carry
// a kind keep it; a duplicate key that SQLite refused is ErrAlreadyExists.
func fail(err error, format string, args ...any) error {
	op := fmt.Sprintf(format, args...)
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		switch coded.Code() {
		case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			return fmt.Errorf("data store: %s: %w: %w", op, errdefs.ErrAlreadyExists, err)
		}
	}
	return fmt.Errorf("data store: %s: %w", op, err)
}

// inWrite runs fn in an immediate transaction on the write connection and
// commits when fn succeeds.
func (s *Store) inWrite(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

func errNoTable(name string) error {
	return fmt.Errorf("table %q: %w", name, errdefs.ErrNotFound)
}

// Tables.

// CreateTable creates t.
func (s *Store) CreateTable(ctx context.Context, t store.Table) error {
	if t.Name == "" {
		return fmt.Errorf("data store: create table: empty name: %w", errdefs.ErrInvalidArgument)
	}
	err := s.inWrite(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO data_tables (name, definition, created_at) VALUES ($1, $2, $3)`,
			t.Name, nonNil(t.Definition), t.Created.UnixMilli())
		return err
	})
	if err != nil {
		return fail(err, "create table %q", t.Name)
	}
	return nil
}

// Table returns the table named name.
func (s *Store) Table(ctx context.Context, name string) (store.Table, error) {
	t, err := scanTable(s.queryRow(ctx, `SELECT name, definition, created_at FROM data_tables WHERE name = $1`, name))
	if errors.Is(err, sql.ErrNoRows) {
		err = errNoTable(name)
	}
	if err != nil {
		return store.Table{}, fail(err, "get table %q", name)
	}
	return t, nil
}

// Tables returns up to limit tables after the name after, by name.
func (s *Store) Tables(ctx context.Context, after string, limit int) ([]store.Table, error) {
	if err := store.CheckLimit(limit); err != nil {
		return nil, err
	}
	rows, err := s.read.QueryContext(ctx, `SELECT name, definition, created_at FROM data_tables
		WHERE name > $1 ORDER BY name LIMIT $2`, after, sqlLimit(limit))
	if err != nil {
		return nil, fail(err, "list tables")
	}
	defer rows.Close()
	var ts []store.Table
	for rows.Next() {
		t, err := scanTable(rows)
		if err != nil {
			return nil, fail(err, "list tables")
		}
		ts = append(ts, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fail(err, "list tables")
	}
	return ts, nil
}

// DeleteTable deletes a table; the foreign key's cascade deletes its items
// in the same transaction.
func (s *Store) DeleteTable(ctx context.Context, name string) error {
	err := s.inWrite(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM data_tables WHERE name = $1`, name)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errNoTable(name)
		}
		return nil
	})
	if err != nil {
		return fail(err, "delete table %q", name)
	}
	return nil
}

func scanTable(row interface{ Scan(...any) error }) (store.Table, error) {
	var t store.Table
	var created int64
	if err := row.Scan(&t.Name, &t.Definition, &created); err != nil {
		return store.Table{}, err
	}
	t.Created = time.UnixMilli(created).UTC()
	return t, nil
}

// Items.

// Get returns the row at k if s sees it. One statement: the join tells a
// missing table (no row) from a missing item (a row of NULLs).
func (s *Store) Get(ctx context.Context, sc store.Scope, table string, k store.Key) (store.Item, bool, error) {
	if err := checkKey(sc, k); err != nil {
		return store.Item{}, false, err
	}
	query, args := getStatement(sc, table, k)
	var owner sql.NullString
	var data []byte
	err := s.queryRow(ctx, query, args...).Scan(&owner, &data)
	if errors.Is(err, sql.ErrNoRows) {
		err = errNoTable(table)
	}
	if err != nil {
		return store.Item{}, false, fail(err, "get item from %q", table)
	}
	if !owner.Valid {
		return store.Item{}, false, nil
	}
	return store.Item{Key: cloneKey(k), Owner: owner.String, Data: nonNil(data)}, true, nil
}

func getStatement(sc store.Scope, table string, k store.Key) (string, []any) {
	query := `SELECT i.owner, i.data FROM data_tables t
		LEFT JOIN data_items i ON i.table_id = t.id AND i.pk = $2 AND i.sk = $3`
	args := []any{table, k.PK, nonNil(k.SK)}
	if !sc.Service {
		query += ` AND i.owner = $4`
		args = append(args, sc.Tenant)
	}
	return query + ` WHERE t.name = $1`, args
}

// Mutate reads the row at k and applies fn's change in one immediate
// transaction, which holds the write lock throughout.
func (s *Store) Mutate(ctx context.Context, sc store.Scope, table string, k store.Key, fn func(old *store.Item) (store.Change, error)) error {
	if err := checkKey(sc, k); err != nil {
		return err
	}
	var fnErr error
	err := s.inWrite(ctx, func(tx *sql.Tx) error {
		id, err := tableID(ctx, tx, table)
		if err != nil {
			return err
		}
		query := `SELECT owner, data FROM data_items WHERE table_id = $1 AND pk = $2 AND sk = $3`
		args := []any{id, k.PK, nonNil(k.SK)}
		if !sc.Service {
			query += ` AND owner = $4`
			args = append(args, sc.Tenant)
		}
		var owner string
		var data []byte
		var old *store.Item
		switch err := tx.QueryRowContext(ctx, query, args...).Scan(&owner, &data); {
		case err == nil:
			old = &store.Item{Key: cloneKey(k), Owner: owner, Data: nonNil(data)}
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		c, err := fn(old)
		if err != nil {
			fnErr = err
			return err
		}
		if err := c.Validate(); err != nil {
			return err
		}
		c.Item.Key = k
		return apply(ctx, tx, sc, id, c)
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fail(err, "write item in %q", table)
	}
	return nil
}

// Write applies changes in one immediate transaction.
func (s *Store) Write(ctx context.Context, sc store.Scope, table string, changes []store.Change) error {
	if err := sc.Validate(); err != nil {
		return err
	}
	if err := store.ValidateChanges(changes); err != nil {
		return err
	}
	err := s.inWrite(ctx, func(tx *sql.Tx) error {
		id, err := tableID(ctx, tx, table)
		if err != nil {
			return err
		}
		for _, c := range changes {
			if c.Kind == store.Keep {
				continue
			}
			if err := apply(ctx, tx, sc, id, c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fail(err, "write items in %q", table)
	}
	return nil
}

// apply makes change c in the table with id, inside a write transaction, for
// scope sc. Every statement for a tenant carries the owner predicate, and a
// write that the predicate stopped is ErrOutOfScope: the row is there and
// is someone else's.
func apply(ctx context.Context, tx *sql.Tx, sc store.Scope, id int64, c store.Change) error {
	k := c.Item.Key
	switch c.Kind {
	case store.Keep:
		return nil
	case store.Put:
		if !sc.Service && c.Item.Owner != sc.Tenant {
			return store.ErrOutOfScope
		}
		query := `INSERT INTO data_items (table_id, pk, sk, owner, data) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (table_id, pk, sk) DO UPDATE SET owner = excluded.owner, data = excluded.data`
		args := []any{id, k.PK, nonNil(k.SK), c.Item.Owner, nonNil(c.Item.Data)}
		if !sc.Service {
			query += ` WHERE data_items.owner = $6`
			args = append(args, sc.Tenant)
		}
		n, err := execCount(ctx, tx, query, args...)
		if err != nil {
			return err
		}
		if n != 1 {
			return store.ErrOutOfScope
		}
		return nil
	case store.Delete:
		query := `DELETE FROM data_items WHERE table_id = $1 AND pk = $2 AND sk = $3`
		args := []any{id, k.PK, nonNil(k.SK)}
		if !sc.Service {
			query += ` AND owner = $4`
			args = append(args, sc.Tenant)
		}
		n, err := execCount(ctx, tx, query, args...)
		if err != nil || n == 1 || sc.Service {
			return err
		}
		// Nothing deleted: is the row missing (fine) or someone else's?
		var exists bool
		err = tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM data_items WHERE table_id = $1 AND pk = $2 AND sk = $3)`,
			id, k.PK, nonNil(k.SK)).Scan(&exists)
		if err != nil {
			return err
		}
		if exists {
			return store.ErrOutOfScope
		}
		return nil
	}
	return fmt.Errorf("change kind %d: %w", c.Kind, errdefs.ErrInvalidArgument)
}

// Query streams one partition's rows in sort-key order: one statement, a
// range scan of data_items_by_key.
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
	query, args := queryStatement(sc, q, r)
	return s.stream(ctx, q.Table, query, args, q.PK, fn)
}

// queryStatement is Query's statement for the sort keys in r.
func queryStatement(sc store.Scope, q store.Query, r store.Range) (string, []any) {
	var b strings.Builder
	args := []any{q.Table, q.PK}
	b.WriteString(`SELECT sk, owner, data FROM data_items
		WHERE table_id = (SELECT id FROM data_tables WHERE name = $1) AND pk = $2`)
	if r.Low != nil {
		args = append(args, r.Low)
		fmt.Fprintf(&b, ` AND sk %s $%d`, lowOp(r.LowInclusive), len(args))
	}
	if r.High != nil {
		args = append(args, r.High)
		fmt.Fprintf(&b, ` AND sk %s $%d`, highOp(r.HighInclusive), len(args))
	}
	if !sc.Service {
		args = append(args, sc.Tenant)
		fmt.Fprintf(&b, ` AND owner = $%d`, len(args))
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
	query, args := scanStatement(sc, table, after, limit)
	return s.stream(ctx, table, query, args, nil, fn)
}

// scanStatement is Scan's statement.
func scanStatement(sc store.Scope, table string, after *store.Key, limit int) (string, []any) {
	var b strings.Builder
	args := []any{table}
	b.WriteString(`SELECT pk, sk, owner, data FROM data_items
		WHERE table_id = (SELECT id FROM data_tables WHERE name = $1)`)
	if after != nil {
		args = append(args, nonNil(after.PK), nonNil(after.SK))
		b.WriteString(` AND (pk, sk) > ($2, $3)`)
	}
	if !sc.Service {
		args = append(args, sc.Tenant)
		fmt.Fprintf(&b, ` AND owner = $%d`, len(args))
	}
	args = append(args, sqlLimit(limit))
	fmt.Fprintf(&b, ` ORDER BY pk, sk LIMIT $%d`, len(args))
	return b.String(), args
}

// stream runs a Query's or Scan's statement and calls fn for each row. A
// query with pk set selects (sk, owner, data) of that partition, one without
// (pk, sk, owner, data). If no row comes back, stream tells a missing table
// from an empty result with a second statement.
func (s *Store) stream(ctx context.Context, table, query string, args []any, pk []byte, fn func(store.Item) bool) error {
	st, err := prepared(ctx, s.read, &s.readStmts, query)
	if err != nil {
		return fail(err, "read %q", table)
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return fail(err, "read %q", table)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
		it := store.Item{Key: store.Key{PK: bytes.Clone(pk)}}
		if pk == nil {
			err = rows.Scan(&it.Key.PK, &it.Key.SK, &it.Owner, &it.Data)
		} else {
			err = rows.Scan(&it.Key.SK, &it.Owner, &it.Data)
		}
		if err != nil {
			return fail(err, "read %q", table)
		}
		it.Key.SK = nilIfEmpty(it.Key.SK)
		it.Data = nonNil(it.Data)
		if !fn(it) {
			return nil
		}
	}
	if err := rows.Err(); err != nil {
		return fail(err, "read %q", table)
	}
	if n == 0 {
		if _, err := tableID(ctx, s.read, table); err != nil {
			return fail(err, "read %q", table)
		}
	}
	return nil
}

// tableID returns the id of the table named name, or ErrNotFound.
func tableID(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, name string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM data_tables WHERE name = $1`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, errNoTable(name)
	}
	return id, err
}

func execCount(ctx context.Context, tx *sql.Tx, query string, args ...any) (int64, error) {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// checkKey refuses an invalid scope before a key that lacks a partition
// key, so that a request with no scope learns nothing else.
func checkKey(sc store.Scope, k store.Key) error {
	if err := sc.Validate(); err != nil {
		return err
	}
	return k.Validate()
}

// sqlLimit is limit as SQLite's LIMIT reads it: -1 for none.
func sqlLimit(limit int) int64 {
	if limit == 0 {
		return -1
	}
	return int64(limit)
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

// nonNil binds an empty blob rather than NULL for a nil slice.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// cloneKey copies k for an Item the caller keeps, as reads return it.
func cloneKey(k store.Key) store.Key {
	return store.Key{PK: bytes.Clone(k.PK), SK: nilIfEmpty(bytes.Clone(k.SK))}
}

func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}
