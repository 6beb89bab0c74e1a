package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"sync"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/function"
	"github.com/bulkhead-dev/bulkhead/internal/store/migration"
)

// Store is the SQLite backend of function.Store. It is safe for concurrent
// use: reads run in deferred transactions or single statements, which in WAL
// mode see a snapshot and never wait for writers; writes run in immediate
// transactions, which take SQLite's one write lock at BEGIN, so what a write
// checks cannot change before it commits.
type Store struct {
	db *sql.DB
	// stmts are the prepared statements of prepared, by query.
	stmts sync.Map
	// quotas batches quota takes into group commits (see QuotaStore).
	quotas quotaBatcher
}

var _ function.Store = (*Store)(nil)

// busyTimeoutMillis is how long a write waits for another connection's, or
// another process's, write transaction to finish.
const busyTimeoutMillis = 5000

// Open opens the database at path, creating it if need be, and brings its
// schema up to date. It refuses a database whose schema a newer binary wrote.
func Open(path string) (*Store, error) { return openWith(path, syncFull) }

// OpenLogs opens a database for the function log only (Logs): the same
// schema, but synchronous=NORMAL. A commit survives the process being killed
// (the WAL is in the kernel's page cache); only a power loss may take the
// last commits. Log records are never acknowledged to anyone, and keeping
// them out of the main database keeps their batches from holding the write
// lock that invocations' usage commits wait for, and from an fsync each.
func OpenLogs(path string) (*Store, error) { return openWith(path, syncNormal) }

// The synchronous levels Open and OpenLogs use, as PRAGMA synchronous
// reports them.
const (
	syncNormal = 1
	syncFull   = 2
)

func openWith(path string, synchronous int) (*Store, error) {
	db, err := sql.Open("sqlite", dsn(path, synchronous))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// database/sql keeps 2 idle connections by default; under concurrent
	// queries each one beyond them opened a new SQLite connection (~0.65 ms,
	// the schema read again).
	db.SetMaxIdleConns(8)
	if err := setUp(context.Background(), db, synchronous); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// dsn names the database file and the settings every connection gets:
// WAL with synchronous=FULL syncs the log at each commit, so a commit is on
// disk before the call that made it returns; foreign keys back the checks the
// methods make; write transactions begin IMMEDIATE, so concurrent writers
// queue on the lock (up to busy_timeout) instead of failing with SQLITE_BUSY
// half-way through. Read transactions ask for ReadOnly, which the driver
// begins DEFERRED.
func dsn(path string, synchronous int) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMillis))
	q.Add("_pragma", "foreign_keys(ON)")
	q.Add("_pragma", "journal_mode(WAL)")
	if synchronous == syncFull {
		q.Add("_pragma", "synchronous(FULL)")
	} else {
		q.Add("_pragma", "synchronous(NORMAL)")
	}
	q.Set("_txlock", "immediate")
	// A file: URI, so that a '?' or '%' in the path is part of the path.
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// setUp checks that the settings took (a file system without shared memory
// would leave the database out of WAL mode) and applies pending migrations.
func setUp(ctx context.Context, db *sql.DB, wantSync int) error {
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
	if mode != "wal" || synchronous != wantSync || foreignKeys != 1 {
		return fmt.Errorf("settings did not take: journal_mode=%s synchronous=%d foreign_keys=%d, want wal, %d, 1", mode, synchronous, foreignKeys, wantSync)
	}
	ms, err := migration.LoadDir(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	return migration.SQLite(ctx, db, ms, errNewerSchema)
}

// Close closes the database. Everything acknowledged is already on disk.
func (s *Store) Close() error {
	s.stmts.Range(func(_, st any) bool {
		st.(*sql.Stmt).Close()
		return true
	})
	return s.db.Close()
}

// prepared returns query prepared once for the store's life, in tx: the
// hot writes (usage, log records) run it for every invocation, and parsing
// and planning it each time cost more than running it. database/sql keeps
// it prepared on each connection that has run it.
func (s *Store) prepared(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	st, ok := s.stmts.Load(query)
	if !ok {
		prepared, err := s.db.PrepareContext(ctx, query)
		if err != nil {
			return nil, err
		}
		var loaded bool
		if st, loaded = s.stmts.LoadOrStore(query, prepared); loaded {
			prepared.Close()
		}
	}
	return tx.StmtContext(ctx, st.(*sql.Stmt)), nil
}

// fail wraps err with the operation that failed. A constraint that SQLite
// enforced gets the errdefs kind the contract promises: a duplicate key is
// ErrAlreadyExists; a foreign key is ErrConflict (a row still referenced).
// The methods check references themselves first, to return ErrNotFound or
// ErrConflict with a useful message; the foreign keys are the backstop.
func fail(err error, format string, args ...any) error {
	op := fmt.Sprintf(format, args...)
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		switch coded.Code() {
		case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			return fmt.Errorf("sqlite: %s: %w: %w", op, errdefs.ErrAlreadyExists, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("sqlite: %s: %w: %w", op, errdefs.ErrConflict, err)
		}
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// write runs fn in an immediate transaction and commits when fn succeeds.
func (s *Store) write(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// read runs fn in a read-only transaction, so the statements it runs see one
// snapshot.
func (s *Store) read(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return fn(tx)
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// scanner is what *sql.Row and *sql.Rows share.
type scanner interface{ Scan(dest ...any) error }

// errNoFunction and the like give ErrNotFound a subject.
func errNoFunction(name string) error {
	return fmt.Errorf("function %q: %w", name, errdefs.ErrNotFound)
}

func errNoVersion(name string, number int) error {
	return fmt.Errorf("version %s of function %q: %w", function.VersionString(number), name, errdefs.ErrNotFound)
}

func errNoAlias(fn, name string) error {
	return fmt.Errorf("alias %q of function %q: %w", name, fn, errdefs.ErrNotFound)
}

// checkLimit refuses a page size below 1, which SQLite would read as "no
// limit" and PostgreSQL refuses.
func checkLimit(limit int) error {
	if limit < 1 {
		return fmt.Errorf("page size %d: %w", limit, errdefs.ErrInvalidArgument)
	}
	return nil
}

// exists reports whether query finds a row.
func exists(ctx context.Context, q querier, query string, args ...any) (bool, error) {
	var found bool
	err := q.QueryRowContext(ctx, `SELECT EXISTS (`+query+`)`, args...).Scan(&found)
	return found, err
}

func functionExists(ctx context.Context, q querier, name string) error {
	found, err := exists(ctx, q, `SELECT 1 FROM functions WHERE name = $1`, name)
	if err == nil && !found {
		err = errNoFunction(name)
	}
	return err
}

func versionExists(ctx context.Context, q querier, name string, number int) error {
	found, err := exists(ctx, q, `SELECT 1 FROM versions WHERE function_name = $1 AND number = $2`, name, number)
	if err == nil && !found {
		err = errNoVersion(name, number)
	}
	return err
}

// Functions.

const functionColumns = `name, per_tenant, tags, created_at`

func scanFunction(row scanner) (function.Function, error) {
	var f function.Function
	var tags string
	var created int64
	if err := row.Scan(&f.Name, &f.PerTenant, &tags, &created); err != nil {
		return function.Function{}, err
	}
	var err error
	f.Tags, err = decodeTags(tags)
	f.CreatedAt = fromMillis(created)
	return f, err
}

// CreateFunction stores f and its $LATEST version, latest, under f.Name.
func (s *Store) CreateFunction(ctx context.Context, f function.Function, latest function.Version) error {
	tags, err := encodeTags(f.Tags)
	if err != nil {
		return fail(err, "create function %q", f.Name)
	}
	config, err := encodeConfig(latest.Config)
	if err != nil {
		return fail(err, "create function %q", f.Name)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO functions (name, per_tenant, tags, created_at, next_version)
			VALUES ($1, $2, $3, $4, 1)`, f.Name, f.PerTenant, tags, millis(f.CreatedAt)); err != nil {
			return err
		}
		return insertVersion(ctx, tx, f.Name, function.Latest, config, latest)
	})
	if err != nil {
		return fail(err, "create function %q", f.Name)
	}
	return nil
}

// Function returns the function named name.
func (s *Store) Function(ctx context.Context, name string) (function.Function, error) {
	f, err := scanFunction(s.db.QueryRowContext(ctx, `SELECT `+functionColumns+` FROM functions WHERE name = $1`, name))
	if errors.Is(err, sql.ErrNoRows) {
		err = errNoFunction(name)
	}
	if err != nil {
		return function.Function{}, fail(err, "get function %q", name)
	}
	return f, nil
}

// Functions returns up to limit functions in bytewise name order after the
// name after.
func (s *Store) Functions(ctx context.Context, after string, limit int) ([]function.Function, error) {
	if err := checkLimit(limit); err != nil {
		return nil, fail(err, "list functions")
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+functionColumns+` FROM functions
		WHERE name > $1 ORDER BY name LIMIT $2`, after, limit)
	if err != nil {
		return nil, fail(err, "list functions")
	}
	defer rows.Close()
	var fs []function.Function
	for rows.Next() {
		f, err := scanFunction(rows)
		if err != nil {
			return nil, fail(err, "list functions")
		}
		fs = append(fs, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fail(err, "list functions")
	}
	return fs, nil
}

// DeleteFunction removes a function, its versions and its aliases.
func (s *Store) DeleteFunction(ctx context.Context, name string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := functionExists(ctx, tx, name); err != nil {
			return err
		}
		// Children first: the foreign keys are checked at each statement.
		for _, table := range []string{"alias_weights", "aliases", "versions"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE function_name = $1`, name); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM functions WHERE name = $1`, name)
		return err
	})
	if err != nil {
		return fail(err, "delete function %q", name)
	}
	return nil
}

// Versions.

const versionColumns = `function_name, number, config, code_sha256, code_size, revision_id, last_modified`

func scanVersion(row scanner) (function.Version, error) {
	var v function.Version
	var config string
	var modified int64
	if err := row.Scan(&v.Function, &v.Number, &config, &v.Code.SHA256, &v.Code.Size, &v.RevisionID, &modified); err != nil {
		return function.Version{}, err
	}
	var err error
	v.Config, err = decodeConfig(config)
	v.LastModified = fromMillis(modified)
	return v, err
}

// insertVersion stores v as version number of function name; config is
// v.Config encoded.
func insertVersion(ctx context.Context, tx *sql.Tx, name string, number int, config string, v function.Version) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO versions (`+versionColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		name, number, config, v.Code.SHA256, v.Code.Size, v.RevisionID, millis(v.LastModified))
	return err
}

// Version returns one version of a function; number function.Latest is
// $LATEST.
func (s *Store) Version(ctx context.Context, name string, number int) (function.Version, error) {
	v, err := scanVersion(s.db.QueryRowContext(ctx, `SELECT `+versionColumns+` FROM versions
		WHERE function_name = $1 AND number = $2`, name, number))
	if errors.Is(err, sql.ErrNoRows) {
		err = errNoVersion(name, number)
	}
	if err != nil {
		return function.Version{}, fail(err, "get version")
	}
	return v, nil
}

// Versions returns up to limit versions of a function numbered above after,
// $LATEST (0) first.
func (s *Store) Versions(ctx context.Context, name string, after, limit int) ([]function.Version, error) {
	if err := checkLimit(limit); err != nil {
		return nil, fail(err, "list versions of %q", name)
	}
	var vs []function.Version
	err := s.read(ctx, func(tx *sql.Tx) error {
		if err := functionExists(ctx, tx, name); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+versionColumns+` FROM versions
			WHERE function_name = $1 AND number > $2 ORDER BY number LIMIT $3`, name, after, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			v, err := scanVersion(rows)
			if err != nil {
				return err
			}
			vs = append(vs, v)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fail(err, "list versions of %q", name)
	}
	return vs, nil
}

// UpdateLatest replaces $LATEST of v.Function with v, if its revision is
// ifRevision or ifRevision is empty.
func (s *Store) UpdateLatest(ctx context.Context, v function.Version, ifRevision string) error {
	config, err := encodeConfig(v.Config)
	if err != nil {
		return fail(err, "update $LATEST of %q", v.Function)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		var current string
		err := tx.QueryRowContext(ctx, `SELECT revision_id FROM versions WHERE function_name = $1 AND number = $2`,
			v.Function, function.Latest).Scan(&current)
		if errors.Is(err, sql.ErrNoRows) {
			return errNoFunction(v.Function)
		} else if err != nil {
			return err
		}
		if ifRevision != "" && ifRevision != current {
			return fmt.Errorf("revision is %q, not %q: %w", current, ifRevision, errdefs.ErrPrecondition)
		}
		_, err = tx.ExecContext(ctx, `UPDATE versions
			SET config = $3, code_sha256 = $4, code_size = $5, revision_id = $6, last_modified = $7
			WHERE function_name = $1 AND number = $2`,
			v.Function, function.Latest, config, v.Code.SHA256, v.Code.Size, v.RevisionID, millis(v.LastModified))
		return err
	})
	if err != nil {
		return fail(err, "update $LATEST of %q", v.Function)
	}
	return nil
}

// PublishVersion stores v as the next version of v.Function and returns it
// as stored.
func (s *Store) PublishVersion(ctx context.Context, v function.Version) (function.Version, error) {
	config, err := encodeConfig(v.Config)
	if err != nil {
		return function.Version{}, fail(err, "publish version of %q", v.Function)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		// RETURNING reads the row as updated.
		err := tx.QueryRowContext(ctx, `UPDATE functions SET next_version = next_version + 1
			WHERE name = $1 RETURNING next_version - 1`, v.Function).Scan(&v.Number)
		if errors.Is(err, sql.ErrNoRows) {
			return errNoFunction(v.Function)
		} else if err != nil {
			return err
		}
		return insertVersion(ctx, tx, v.Function, v.Number, config, v)
	})
	if err != nil {
		return function.Version{}, fail(err, "publish version of %q", v.Function)
	}
	// As Version will read it back.
	v.Config.Environment = maps.Clone(v.Config.Environment)
	v.LastModified = fromMillis(millis(v.LastModified))
	return v, nil
}

// DeleteVersion removes a published version that no alias points to.
func (s *Store) DeleteVersion(ctx context.Context, name string, number int) error {
	if number == function.Latest {
		return fmt.Errorf("sqlite: delete version of %q: $LATEST is deleted only with its function: %w", name, errdefs.ErrInvalidArgument)
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := versionExists(ctx, tx, name, number); err != nil {
			return err
		}
		aliases, err := referringAliases(ctx, tx, name, number)
		if err != nil {
			return err
		}
		if len(aliases) > 0 {
			return fmt.Errorf("aliases %q point to it: %w", aliases, errdefs.ErrConflict)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM versions WHERE function_name = $1 AND number = $2`, name, number)
		return err
	})
	if err != nil {
		return fail(err, "delete version %d of %q", number, name)
	}
	return nil
}

// referringAliases returns the names of the aliases that point to a version,
// as primary or additional version.
func referringAliases(ctx context.Context, q querier, name string, number int) ([]string, error) {
	rows, err := q.QueryContext(ctx, `
		SELECT name FROM aliases WHERE function_name = $1 AND version = $2
		UNION
		SELECT alias_name FROM alias_weights WHERE function_name = $1 AND version = $2
		ORDER BY 1`, name, number)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	return names, rows.Err()
}

// Code.

// CodeInUse reports whether any version references the code package with
// this SHA-256.
func (s *Store) CodeInUse(ctx context.Context, sha256 string) (bool, error) {
	used, err := exists(ctx, s.db, `SELECT 1 FROM versions WHERE code_sha256 = $1`, sha256)
	if err != nil {
		return false, fail(err, "code %s in use", sha256)
	}
	return used, nil
}
