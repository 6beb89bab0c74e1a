// Package postgres is the PostgreSQL backend of store.Store, through pgx
// v5. PostgreSQL's row-level security is the tenant wall: the statements a
// tenant scope runs filter by no owner and check no owner; the policy on
// bulkhead_data.items does both, so the wall holds even if this package's
// Go code or the front end above it is wrong. It passes
// storetest.Conformance; TestPostgresRLSAlone drives the app role with
// unfiltered SQL of its own to show the policy alone refuses.
//
// # Roles
//
// Three roles, so that the one serving tenants can neither bypass the
// policy nor change it:
//
//	owner    owns schema bulkhead_data; runs migrations (Config.OwnerDSN,
//	         optional: used by Open only)
//	app      tenant scopes: LOGIN NOSUPERUSER NOBYPASSRLS, not the owner nor
//	         a member of it; SELECT, INSERT, UPDATE, DELETE on items only
//	service  the service scope and table operations: BYPASSRLS, not the
//	         owner, not a superuser
//
// Open checks each role (checkRole) and refuses to serve through one that
// is a superuser, owns items or belongs to its owner, may TRUNCATE it, has
// the wrong BYPASSRLS, or finds row-level security not enabled and forced;
// and refuses a schema of another version.
//
// With an OwnerDSN, Open provisions under an advisory lock (so servers
// starting together take turns; every step is idempotent): it creates the
// app and service roles if missing, with the user and password of their
// DSNs (the owner needs CREATEROLE, and must be a superuser to create the
// BYPASSRLS service role), the schema, the pending migrations (numbered,
// each in a transaction, recorded in bulkhead_data.schema_migrations), and
// the grants. By hand, an operator runs, as a superuser:
//
//	CREATE ROLE bulkhead_owner LOGIN PASSWORD '…';
//	CREATE DATABASE bulkhead OWNER bulkhead_owner;
//	CREATE ROLE bulkhead_app LOGIN PASSWORD '…' NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
//	CREATE ROLE bulkhead_service LOGIN PASSWORD '…' NOSUPERUSER BYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
//
// and then starts Bulkhead once with the owner's DSN, or, connected to
// database bulkhead as bulkhead_owner, applies the schema itself:
//
//	CREATE SCHEMA bulkhead_data;
//	CREATE TABLE bulkhead_data.schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL);
//	-- each migrations/NNNN_*.sql in order, then: INSERT INTO bulkhead_data.schema_migrations VALUES (N, now());
//	GRANT USAGE ON SCHEMA bulkhead_data TO "bulkhead_app", "bulkhead_service"
//	GRANT SELECT ON bulkhead_data.schema_migrations, bulkhead_data.tables TO "bulkhead_app", "bulkhead_service"
//	GRANT SELECT, INSERT, UPDATE, DELETE ON bulkhead_data.items TO "bulkhead_app", "bulkhead_service"
//	GRANT INSERT, UPDATE, DELETE ON bulkhead_data.tables TO "bulkhead_service"
//
// (TestPostgresDocGrants keeps those GRANT lines equal to what Open runs.)
//
// # Tenant context
//
// Every tenant transaction begins with
//
//	SELECT set_config('bulkhead.tenant', $1, true)
//
// transaction-local, never a session SET. The policy, for reads (USING)
// and writes (WITH CHECK), is
//
//	owner = NULLIF(current_setting('bulkhead.tenant', true), '')
//
// which is NULL, and matches no row, in a transaction that did not set the
// tenant (the setting is then unset, or empty once a transaction-local value
// has come and gone), whatever the connection did before
// (TestPostgresPooledConnectionsForget). The pools close any connection
// released inside a transaction.
//
// # Statements and round trips
//
// Reads are one pgx batch, one round trip, which PostgreSQL runs as one
// implicit transaction: set_config, the table's id, the read. Mutate is
// two: BEGIN, set_config, the table's id and SELECT ... FOR UPDATE of the
// row; then fn; then the write and COMMIT. Write is one (BEGIN ... COMMIT),
// or two for a tenant batch with deletes.
//
// Concurrency: READ COMMITTED with SELECT ... FOR UPDATE, not SERIALIZABLE.
// Mutate touches one row: locking it serializes exactly the writers of that
// row, and a waiter reads the committed row when it gets the lock, where
// SERIALIZABLE would abort and redo more transactions than conflict (its
// predicate locks are coarser than one key). The one gap, a row that does
// not exist and so cannot be locked, is closed by the primary key: the
// later of two inserts fails with a unique violation, and Mutate runs again
// (fn may run more than once), now reading the row. Write locks its rows in
// key order, so two batches do not deadlock; deadlocks and serialization
// failures that happen anyway are retried (up to 5 attempts).
//
// Refusals: a put over a row the tenant cannot see fails the policy (the
// DO UPDATE of an upsert, 42501) or the primary key (an insert, 23505);
// either is store.ErrOutOfScope, without PostgreSQL's message. A delete
// cannot see another tenant's row to refuse it, so a tenant's delete that
// removes nothing probes: inside a savepoint it inserts a row of its own at
// the key and rolls it back; the primary key is checked against all rows,
// so the insert fails exactly when the key is taken. Both leave the
// transaction aborted: a refused batch writes nothing. A key found taken is
// retried once before it is refused, in case a concurrent insert of the
// tenant's own came between the read and the write.
//
// # Limits
//
// The primary key's index holds (table_id, pk, sk): an index entry cannot
// exceed about 2.7 KB, so PK and SK together are limited to about 2.6 KB
// (DynamoDB allows 2,048 + 1,024 bytes); longer keys fail with
// errdefs.ErrTooLarge. A tenant's Scan filters by owner after the index:
// it reads the whole table, as a Scan of a pool table does in DynamoDB;
// the data API does not offer Scan on pool tables. The pools are this
// package's own (pool.go): pgxpool needs github.com/jackc/puddle/v2,
// which is not among the module's requirements.
//
// Benchmarks (storetest.Benchmark: 500 partitions × 20 rows of 200 bytes,
// tenant scope, pgtest's cluster over a unix socket with fsync and
// synchronous_commit off, so Put pays no disk flush; 2-core VM shared with
// other jobs, load ~6; go test -bench . -benchtime 2s):
//
//	Get       serial 128 µs/op   51 allocs    parallel 101 µs/op
//	Put       serial 188 µs/op  110 allocs    parallel 252 µs/op   (Mutate: 2 round trips)
//	Query 20  serial 124 µs/op  194 allocs    parallel 217 µs/op
package postgres
