// Package sqlite is the embedded backend of function.Store: one SQLite file
// in the data directory, through the pure-Go driver modernc.org/sqlite (see
// docs/adr/0001-embedded-store.md). It passes functiontest.StoreConformance.
//
// Durability: WAL journal with synchronous=FULL, so a method that returns nil
// has its commit on disk; TestStoreSQLiteDurability kills a writer with
// SIGKILL and finds every acknowledged write. Write transactions begin
// IMMEDIATE: a write holds SQLite's one write lock from its first check to its
// commit, so checks (does the version exist, does an alias point to it, is the
// revision current) and writes are atomic, and concurrent writers queue on
// the lock rather than fail mid-way.
//
// Schema (migrations/0001_init.sql):
//
//	functions      name ─┬─ per_tenant, tags (JSON), created_at, next_version
//	                     │
//	versions       (function_name, number) ─ config (JSON), code_sha256*, code_size,
//	                     │                    revision_id, last_modified
//	                     │                    number 0 is $LATEST
//	aliases        (function_name, name) ─ version*, description, revision_id
//	alias_weights  (function_name, alias_name, version*) ─ weight
//
//	* indexed: CodeInUse and DeleteVersion's reference check are queries.
//
// migrations/0002_events.sql holds the Event invocation queue (events.go);
// migrations/0003_logs.sql the function log (logs.go, LogStore, which passes
// logstest.StoreConformance): one row per record, an AUTOINCREMENT id so a
// follower's position survives pruning, indexes for a tenant's records, a
// request's and retention by time.
//
// Key columns are real columns; a version's configuration is a JSON document
// (config.go) so that it can grow without a migration. Times are Unix
// milliseconds, read back in UTC. functions.next_version only grows, so a
// deleted version's number is never reused; deleting the function deletes the
// row, and a function created again under the name starts from 1, as in
// Lambda.
//
// Migrations are numbered SQL files embedded in the binary, each applied in
// its own transaction and recorded in schema_migrations; Open applies the
// pending ones and refuses a database that a newer binary has migrated.
//
// The queries use $N placeholders and nothing PostgreSQL lacks (RETURNING,
// EXISTS, UNION), so a PostgreSQL backend can share their text; the
// migrations are SQLite's own (STRICT tables, json_valid).
package sqlite
