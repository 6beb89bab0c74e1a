// Package pgtest starts throwaway PostgreSQL clusters for tests, in the
// manner of NATS's RunServer: a real server inside the test binary's
// reach, gone when the tests are.
//
// A test calls Start and gets an empty database of its own:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) } // one cluster per test binary
//
//	func TestSomething(t *testing.T) {
//		c := pgtest.Start(t)            // skips if PostgreSQL is missing
//		conn, err := pgx.Connect(ctx, c.DSN())
//
// Without Main in TestMain, each Start starts (and stops) a cluster of its
// own, which costs initdb's second or two per test.
//
// The cluster: initdb and postgres from /usr/lib/postgresql/15/bin (or
// pg_config --bindir, version 15 or later), run as the postgres user when
// the test runs as root (PostgreSQL refuses root), as the test's own user
// otherwise; a new directory under the temporary directory holding the data
// directory, the server log and the unix socket, the only way in
// (listen_addresses is empty: no TCP); trust authentication, since only
// the socket's owner (and root) can reach it; fsync, synchronous_commit and
// full_page_writes off, because a crash loses nothing worth keeping. Each
// Start creates a database, test_N, which the test's cleanup drops; the
// cluster is stopped with a fast shutdown and its directory removed.
//
// What it does not do: survive the test binary being killed (a SIGKILL
// leaves the postgres process and its directory behind, bulkhead-pg-* in
// the temporary directory) or offer TCP.
package pgtest
