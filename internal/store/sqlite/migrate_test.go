package sqlite

import (
	"database/sql"
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/bulkhead-dev/bulkhead/internal/store/migration"
)

// openRaw opens a database with the store's settings but no migrations.
func openRaw(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", dsn(path, syncFull))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

type applied struct {
	version   int
	appliedAt string
}

func appliedMigrations(t *testing.T, db *sql.DB) []applied {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT version, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var as []applied
	for rows.Next() {
		var a applied
		if err := rows.Scan(&a.version, &a.appliedAt); err != nil {
			t.Fatal(err)
		}
		as = append(as, a)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return as
}

func tables(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	return names
}

func embedded(t *testing.T) []migration.Migration {
	t.Helper()
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	ms, err := migration.Load(sub)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func TestStoreSQLiteMigrateFreshAndReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bulkhead.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db := openRaw(t, path)
	first := appliedMigrations(t, db)
	if len(first) != len(embedded(t)) || first[0].version != 1 {
		t.Fatalf("a fresh database recorded %v, want versions 1…%d", first, len(embedded(t)))
	}
	want := []string{"alias_weights", "aliases", "api_keys", "audit", "authorizers", "event_invocations", "functions", "logs", "quota_counters", "roles", "routes", "schema_migrations", "sqlite_sequence", "tenants", "usage", "usage_plans", "versions"}
	if got := tables(t, db); !slices.Equal(got, want) {
		t.Errorf("tables = %q, want %q", got, want)
	}

	// Opening again applies nothing and records nothing.
	s, err = Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if again := appliedMigrations(t, db); !slices.Equal(again, first) {
		t.Errorf("reopening changed schema_migrations from %v to %v", first, again)
	}
}

func TestStoreSQLiteMigrateRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bulkhead.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db := openRaw(t, path)
	newer := len(embedded(t)) + 1
	if _, err := db.ExecContext(t.Context(), `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 'later')`, newer); err != nil {
		t.Fatal(err)
	}

	_, err = Open(path)
	if !errors.Is(err, errNewerSchema) {
		t.Fatalf("Open of a newer database: err = %v, want errNewerSchema", err)
	}
	if msg := err.Error(); !strings.Contains(msg, path) {
		t.Errorf("the error does not name the database: %s", msg)
	}
	if got := appliedMigrations(t, db); len(got) != newer {
		t.Errorf("the refused open changed schema_migrations: %v", got)
	}
}

func TestStoreSQLiteMigrateSteps(t *testing.T) {
	v1 := &fstest.MapFile{Data: []byte(`CREATE TABLE a (x INTEGER); CREATE TABLE b (y INTEGER);`)}
	v2 := &fstest.MapFile{Data: []byte(`ALTER TABLE a ADD COLUMN z TEXT;`)}
	broken := &fstest.MapFile{Data: []byte(`CREATE TABLE c (x INTEGER); THIS IS NOT SQL;`)}
	db := openRaw(t, filepath.Join(t.TempDir(), "test.db"))
	ctx := t.Context()
	run := func(files fstest.MapFS) error {
		t.Helper()
		ms, err := migration.Load(files)
		if err != nil {
			t.Fatal(err)
		}
		return migration.SQLite(ctx, db, ms, errNewerSchema)
	}

	// Every statement of a file runs, not only the first.
	if err := run(fstest.MapFS{"0001_init.sql": v1}); err != nil {
		t.Fatal(err)
	}
	if got := tables(t, db); !slices.Equal(got, []string{"a", "b", "schema_migrations"}) {
		t.Fatalf("after 0001: tables %q", got)
	}
	// Only the pending migration runs; 0001 again would fail on its CREATE.
	if err := run(fstest.MapFS{"0001_init.sql": v1, "0002_more.sql": v2}); err != nil {
		t.Fatalf("pending 0002: %v", err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO a (x, z) VALUES (1, 'z')`); err != nil {
		t.Errorf("0002 did not run: %v", err)
	}
	// A failing migration leaves neither its changes nor its record.
	err := run(fstest.MapFS{"0001_init.sql": v1, "0002_more.sql": v2, "0003_broken.sql": broken})
	if err == nil || !strings.Contains(err.Error(), "0003_broken.sql") {
		t.Fatalf("broken 0003: err = %v, want one naming the file", err)
	}
	if got := tables(t, db); slices.Contains(got, "c") {
		t.Errorf("the failed migration left table c behind: %q", got)
	}
	if got := appliedMigrations(t, db); len(got) != 2 {
		t.Errorf("recorded %v after the failed 0003, want versions 1 and 2", got)
	}
}

func TestStoreSQLiteMigrateLoadRejectsBadNames(t *testing.T) {
	file := &fstest.MapFile{Data: []byte(`SELECT 1;`)}
	for name, files := range map[string]fstest.MapFS{
		"a gap":          {"0001_a.sql": file, "0003_c.sql": file},
		"a duplicate":    {"0001_a.sql": file, "0001_b.sql": file},
		"not from 1":     {"0002_b.sql": file},
		"a bad name":     {"0001_a.sql": file, "0002-b.sql": file},
		"an unnumbered":  {"0001_a.sql": file, "init.sql": file},
		"a short number": {"1_a.sql": file},
	} {
		if ms, err := migration.Load(files); err == nil {
			t.Errorf("%s: loaded %d migrations, want an error", name, len(ms))
		}
	}
}
