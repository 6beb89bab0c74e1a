package postgres

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/bulkhead-dev/bulkhead/internal/data/store"
	"github.com/bulkhead-dev/bulkhead/internal/data/store/storetest"
	"github.com/bulkhead-dev/bulkhead/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// The roles the tests' stores connect as. Roles belong to the cluster, not
// a database, so every test database shares them; each database gets its
// own grants.
const (
	appRole     = "bulkhead_app"
	serviceRole = "bulkhead_service"
)

func config(c *pgtest.Cluster) Config {
	return Config{OwnerDSN: c.DSN(), AppDSN: c.DSNAs(appRole), ServiceDSN: c.DSNAs(serviceRole)}
}

// open provisions a fresh database and opens a store on it.
func open(t testing.TB) (*Store, *pgtest.Cluster) {
	t.Helper()
	c := pgtest.Start(t)
	s, err := Open(context.Background(), config(c))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, c
}

// connect opens a connection of the test's own.
func connect(t testing.TB, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestPostgresConformance(t *testing.T) {
	storetest.Conformance(t, func(t *testing.T) store.Store {
		s, _ := open(t)
		return s
	})
}

func BenchmarkPostgres(b *testing.B) {
	storetest.Benchmark(b, func(b *testing.B) store.Store {
		s, _ := open(b)
		return s
	})
}
