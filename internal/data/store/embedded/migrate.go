package embedded

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"time"
)

// migrationFiles are the schema's history: migrations/NNNN_name.sql,
// numbered from 0001 without gaps. A released file is never edited; a change
// is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one numbered schema change.
type migration struct {
	version int
	file    string
	sql     string
}

var migrationName = regexp.MustCompile(`^([0-9]{4})_[a-z0-9_]+\.sql$`)

// errNewerSchema marks a database that a newer binary has migrated.
var errNewerSchema = errors.New("data database schema is newer than this binary")

// loadMigrations reads the migrations at the root of fsys, in order.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, ".") // sorted by name
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migration %q: name is not NNNN_name.sql", e.Name())
		}
		version, _ := strconv.Atoi(m[1])
		if version != len(ms)+1 {
			return nil, fmt.Errorf("migration %q: want number %04d next", e.Name(), len(ms)+1)
		}
		text, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: version, file: e.Name(), sql: string(text)})
	}
	return ms, nil
}

// migrate brings db to the last of ms, one migration per transaction
// recorded in schema_migrations, and refuses a database migrated beyond ms.
// db's transactions begin IMMEDIATE, so two processes opening one file
// cannot apply a migration twice: the second waits for the write lock and
// then finds the migration recorded.
func migrate(ctx context.Context, db *sql.DB, ms []migration) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		applied_at TEXT    NOT NULL
	) STRICT`); err != nil {
		return err
	}
	for {
		done, err := migrateOne(ctx, db, ms)
		if done || err != nil {
			return err
		}
	}
}

// migrateOne applies the first pending migration and reports whether none
// was left.
func migrateOne(ctx context.Context, db *sql.DB, ms []migration) (done bool, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return false, err
	}
	switch {
	case current > len(ms):
		return false, fmt.Errorf("%w: it is at version %d, this binary knows versions up to %d; run a newer Bulkhead", errNewerSchema, current, len(ms))
	case current == len(ms):
		return true, nil
	}
	m := ms[current]
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, fmt.Errorf("migration %s: %w", m.file, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`,
		m.version, time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
		return false, fmt.Errorf("migration %s: %w", m.file, err)
	}
	return false, tx.Commit()
}
