package pgtest

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// TestPgtestCluster checks what Start promises: PostgreSQL 15 or later,
// reached by the unix socket only, with the speed settings, as a
// superuser, in an empty database of the test's own.
func TestPgtestCluster(t *testing.T) {
	c := Start(t)
	conn := connect(t, c.DSN())
	settings := map[string]string{
		"listen_addresses":   "",
		"fsync":              "off",
		"synchronous_commit": "off",
		"is_superuser":       "on",
	}
	for name, want := range settings {
		var got string
		if err := conn.QueryRow(t.Context(), `SELECT current_setting($1)`, name).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	var version int
	var database string
	if err := conn.QueryRow(t.Context(), `SELECT current_setting('server_version_num')::int, current_database()`).Scan(&version, &database); err != nil {
		t.Fatal(err)
	}
	if version < 150000 || database != c.Database() {
		t.Errorf("server %d, database %q; want 15 or later, %q", version, database, c.Database())
	}
	var tables int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&tables); err != nil || tables != 0 {
		t.Errorf("the new database has %d tables (%v)", tables, err)
	}
}

// TestPgtestDatabasesAreSeparate checks that two Starts give two databases
// in one cluster, and that the first is dropped when its test ends.
func TestPgtestDatabasesAreSeparate(t *testing.T) {
	var first string
	t.Run("first", func(t *testing.T) {
		c := Start(t)
		first = c.Database()
		conn := connect(t, c.DSN())
		if _, err := conn.Exec(t.Context(), `CREATE TABLE mine (x int)`); err != nil {
			t.Fatal(err)
		}
	})
	c := Start(t)
	if c.Database() == first {
		t.Fatalf("two Starts gave one database, %q", first)
	}
	conn := connect(t, c.DSN())
	var exists bool
	if err := conn.QueryRow(t.Context(), `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, first).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("database %q outlived its test", first)
	}
	// Another role reaches the same database.
	if _, err := conn.Exec(t.Context(), `CREATE ROLE someone LOGIN`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Exec(context.Background(), `DROP ROLE someone`) })
	var who string
	if err := connect(t, c.DSNAs("someone")).QueryRow(t.Context(), `SELECT current_user`).Scan(&who); err != nil || who != "someone" {
		t.Errorf("DSNAs(someone) connected as %q (%v)", who, err)
	}
}

func TestPgtestQuote(t *testing.T) {
	tests := map[string]string{
		"plain":     `'plain'`,
		"with'":     `'with\''`,
		`back\`:     `'back\\'`,
		"sp ace":    `'sp ace'`,
		"":          `''`,
		"/tmp/a b'": `'/tmp/a b\''`,
	}
	for in, want := range tests {
		if got := quote(in); got != want {
			t.Errorf("quote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestPgtestTraversable(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if traversableByAll(dir) {
		t.Errorf("%s (0700) reported traversable", dir)
	}
	if !traversableByAll("/") {
		t.Error("/ reported not traversable")
	}
}
