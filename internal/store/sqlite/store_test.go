package sqlite

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/function"
	"github.com/bulkhead-dev/bulkhead/internal/function/functiontest"
)

func open(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestStoreSQLiteConformance(t *testing.T) {
	functiontest.StoreConformance(t, func(t *testing.T) function.Store {
		return open(t, filepath.Join(t.TempDir(), "bulkhead.db"))
	})
}

// TestStoreSQLiteSettings checks that every connection of the pool, not only
// the first, runs with the settings durability and the checks depend on.
func TestStoreSQLiteSettings(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "bulkhead.db"))
	ctx := t.Context()
	for i := range 3 { // held at once, so they are three connections
		conn, err := s.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var mode string
		var synchronous, foreignKeys, busyTimeout int
		for _, p := range []struct {
			pragma string
			dest   any
		}{{"journal_mode", &mode}, {"synchronous", &synchronous}, {"foreign_keys", &foreignKeys}, {"busy_timeout", &busyTimeout}} {
			if err := conn.QueryRowContext(ctx, "PRAGMA "+p.pragma).Scan(p.dest); err != nil {
				t.Fatalf("PRAGMA %s: %v", p.pragma, err)
			}
		}
		if mode != "wal" || synchronous != 2 || foreignKeys != 1 || busyTimeout != busyTimeoutMillis {
			t.Errorf("connection %d: journal_mode=%s synchronous=%d foreign_keys=%d busy_timeout=%d; want wal 2 1 %d",
				i, mode, synchronous, foreignKeys, busyTimeout, busyTimeoutMillis)
		}
	}
}

// TestStoreSQLitePath opens a database whose path holds characters that mean
// something in a URI.
func TestStoreSQLitePath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data dir?x=1#%41")
	path := filepath.Join(dir, "bulkhead.db")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	s := open(t, path)
	f, latest := functiontest.Sample("f")
	if err := s.CreateFunction(t.Context(), f, latest); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database is not at %s: %v", path, err)
	}
}

// TestStoreSQLiteConfigFormat pins the stored JSON of a configuration: its
// key names are the database format, and changing one orphans what older
// databases hold.
func TestStoreSQLiteConfigFormat(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "bulkhead.db"))
	f, latest := functiontest.Sample("f")
	if err := s.CreateFunction(t.Context(), f, latest); err != nil {
		t.Fatal(err)
	}
	var config, tags string
	if err := s.db.QueryRowContext(t.Context(), `SELECT config FROM versions WHERE function_name = 'f'`).Scan(&config); err != nil {
		t.Fatal(err)
	}
	if err := s.db.QueryRowContext(t.Context(), `SELECT tags FROM functions WHERE name = 'f'`).Scan(&tags); err != nil {
		t.Fatal(err)
	}
	const wantConfig = `{"runtime":"provided.al2023","handler":"bootstrap","role":"arn:aws:iam::123456789012:role/f",` +
		`"description":"sample function f","memory_size":256,"timeout":30,"ephemeral_storage":1024,` +
		`"environment":{"EMPTY":"","STAGE":"test"},"architecture":"arm64",` +
		`"logging":{"format":"JSON","application_log_level":"DEBUG","system_log_level":"WARN","log_group":"/aws/lambda/f"}}`
	if config != wantConfig {
		t.Errorf("stored config\n got %s\nwant %s", config, wantConfig)
	}
	if want := `{"cost-center":"4711","team":"payments"}`; tags != want {
		t.Errorf("stored tags = %s, want %s", tags, want)
	}

	// A key this binary does not know (written by a newer one) is ignored,
	// and a key it knows but the row lacks (written by an older one) is zero.
	if _, err := s.db.ExecContext(t.Context(), `UPDATE versions SET config = '{"runtime":"provided","future_key":1}' WHERE function_name = 'f'`); err != nil {
		t.Fatal(err)
	}
	v, err := s.Version(t.Context(), "f", function.Latest)
	if err != nil {
		t.Fatal(err)
	}
	if want := (function.Config{Runtime: "provided"}); !reflect.DeepEqual(v.Config, want) {
		t.Errorf("config from a row of another version = %+v, want %+v", v.Config, want)
	}
}

// TestStoreSQLiteConstraints checks the mapping of the constraints SQLite
// enforces to errdefs kinds, for writes that bypass the methods' own checks.
func TestStoreSQLiteConstraints(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "bulkhead.db"))
	ctx := t.Context()
	f, latest := functiontest.Sample("f")
	if err := s.CreateFunction(ctx, f, latest); err != nil {
		t.Fatal(err)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO functions (name, per_tenant, tags, created_at, next_version) VALUES ('f', 0, 'null', 0, 1)`)
	if err := fail(err, "insert"); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Errorf("duplicate key: %v, want ErrAlreadyExists", err)
	}
	_, err = s.db.ExecContext(ctx, `DELETE FROM functions WHERE name = 'f'`)
	if err := fail(err, "delete"); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("deleting a referenced row: %v, want ErrConflict", err)
	}
	if err := fail(errors.New("disk on fire"), "anything"); errors.Is(err, errdefs.ErrConflict) || errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Errorf("another error got a kind: %v", err)
	}
}

// TestStoreSQLiteDeleteLatest checks the kind DeleteVersion gives $LATEST,
// which the contract leaves open.
func TestStoreSQLiteDeleteLatest(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "bulkhead.db"))
	f, latest := functiontest.Sample("f")
	if err := s.CreateFunction(t.Context(), f, latest); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteVersion(t.Context(), "f", function.Latest); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("DeleteVersion(f, Latest) = %v, want ErrInvalidArgument", err)
	}
}

// TestStoreSQLitePageSize checks that a page size below 1 is refused rather
// than read by SQLite as "no limit".
func TestStoreSQLitePageSize(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "bulkhead.db"))
	ctx := t.Context()
	f, latest := functiontest.Sample("f")
	if err := s.CreateFunction(ctx, f, latest); err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{0, -1} {
		_, err := s.Functions(ctx, "", limit)
		wantInvalid(t, "Functions", limit, err)
		_, err = s.Versions(ctx, "f", -1, limit)
		wantInvalid(t, "Versions", limit, err)
		_, err = s.Aliases(ctx, "f", "", limit)
		wantInvalid(t, "Aliases", limit, err)
	}
}

func wantInvalid(t *testing.T, method string, limit int, err error) {
	t.Helper()
	if !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("%s with limit %d: err = %v, want ErrInvalidArgument", method, limit, err)
	}
}
