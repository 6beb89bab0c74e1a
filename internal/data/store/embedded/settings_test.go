package embedded

import (
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"
)

// TestEmbeddedSettings checks what durability and isolation rest on, on
// the connections the store uses: WAL with synchronous=FULL (an
// acknowledged write survives power loss), foreign keys (DeleteTable's
// cascade), and read connections that cannot write.
func TestEmbeddedSettings(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	for name, db := range map[string]*sql.DB{"write": s.write, "read": s.read} {
		var mode string
		var synchronous, foreignKeys int
		if err := db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&synchronous); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&foreignKeys); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" || synchronous != 2 || foreignKeys != 1 {
			t.Errorf("%s connection: journal_mode=%s synchronous=%d foreign_keys=%d, want wal, 2 (FULL), 1", name, mode, synchronous, foreignKeys)
		}
	}
	if _, err := s.read.ExecContext(ctx, `DELETE FROM data_items`); err == nil {
		t.Error("a read connection wrote")
	}
}

// TestEmbeddedOpenConcurrently opens one file from several stores at once,
// as two processes starting together would: migrations apply once.
func TestEmbeddedOpenConcurrently(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.db")
	var wg sync.WaitGroup
	errs := make([]error, 4)
	stores := make([]*Store, 4)
	for i := range stores {
		wg.Go(func() { stores[i], errs[i] = Open(path) })
	}
	wg.Wait()
	for i, s := range stores {
		if errs[i] != nil {
			t.Errorf("Open %d: %v", i, errs[i])
			continue
		}
		defer s.Close()
	}
	s := stores[0]
	if s == nil {
		t.FailNow()
	}
	var n int
	if err := s.read.QueryRowContext(t.Context(), `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != 1 {
		t.Errorf("schema_migrations has %d rows (%v), want 1", n, err)
	}
}

// TestEmbeddedRefusesNewerSchema opens a database a newer binary migrated.
func TestEmbeddedRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.write.ExecContext(t.Context(), `INSERT INTO schema_migrations (version, applied_at) VALUES (99, 'later')`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err := Open(path); !errors.Is(err, errNewerSchema) {
		if s != nil {
			s.Close()
		}
		t.Errorf("Open of a newer schema: %v, want errNewerSchema", err)
	}
}
