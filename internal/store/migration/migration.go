// Package migration loads numbered schema migrations (NNNN_name.sql,
// numbered from 0001 without gaps) and applies them to SQLite databases.
// The control plane's store, the data API's embedded store and its
// PostgreSQL store share the loader; the PostgreSQL store applies them with
// its own runner, under an advisory lock.
package migration

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"sync"
	"time"
)

// Migration is one numbered schema change.
type Migration struct {
	Version int
	File    string
	SQL     string
}

var fileName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([0-9]{4})_[a-z0-9_]+\.sql$`) })

// Load reads the migrations at the root of fsys, in order. A released file
// is never edited; a change is a new file.
func Load(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".") // sorted by name
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, e := range entries {
		m := fileName().FindStringSubmatch(e.Name())
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
		ms = append(ms, Migration{Version: version, File: e.Name(), SQL: string(text)})
	}
	return ms, nil
}

// LoadDir is Load of the directory dir of fsys (an embed.FS's
// "migrations").
func LoadDir(fsys fs.FS, dir string) ([]Migration, error) {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		return nil, err
	}
	return Load(sub)
}

// SQLite brings db to the last of ms, one migration per transaction recorded
// in schema_migrations, and refuses a database migrated beyond ms with an
// error wrapping newer. db's transactions must begin IMMEDIATE
// (_txlock=immediate), so two processes opening one file cannot apply a
// migration twice: the second waits for the write lock and then finds the
// migration recorded. Migrations run inside transactions, so they cannot
// change PRAGMA foreign_keys.
func SQLite(ctx context.Context, db *sql.DB, ms []Migration, newer error) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		applied_at TEXT    NOT NULL
	) STRICT`); err != nil {
		return err
	}
	for {
		done, err := sqliteOne(ctx, db, ms, newer)
		if done || err != nil {
			return err
		}
	}
}

// sqliteOne applies the first pending migration and reports whether none
// was left.
func sqliteOne(ctx context.Context, db *sql.DB, ms []Migration, newer error) (done bool, err error) {
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
		return false, fmt.Errorf("%w: the database is at version %d, this binary knows versions up to %d; run a newer Bulkhead", newer, current, len(ms))
	case current == len(ms):
		return true, nil
	}
	m := ms[current]
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return false, fmt.Errorf("migration %s: %w", m.File, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`,
		m.Version, time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
		return false, fmt.Errorf("migration %s: %w", m.File, err)
	}
	return false, tx.Commit()
}
