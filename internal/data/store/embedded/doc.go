// Package embedded is the SQLite backend of store.Store: its own database
// file in the data directory (data.db, apart from the control plane's), via
// the pure-Go driver modernc.org/sqlite, with the conventions of
// internal/store/sqlite. It passes storetest.Conformance.
//
// Schema (migrations/0001_init.sql):
//
//	data_tables  id (AUTOINCREMENT) ─ name UNIQUE, definition, created_at
//	     │ ON DELETE CASCADE
//	data_items   (table_id, pk, sk) UNIQUE INDEX data_items_by_key ─ owner, data
//
// Every statement on items uses data_items_by_key: Get is an equality on
// it, Query a range of it (TestEmbeddedQueryPlans reads the plans of the
// statements as built), and no statement sorts.
//
// Durability and concurrency: WAL with synchronous=FULL, so a write is on
// disk when its call returns. Writes run on one connection in immediate
// transactions: they queue for it in the process, and hold SQLite's write
// lock from their first read to their commit, which is what makes Mutate's
// read-decide-write atomic. Reads are single statements on a pool of
// query_only connections (max(4, GOMAXPROCS)); in WAL mode each reads a
// snapshot without waiting for the writer. A Query's or Scan's fn runs
// while its statement holds that snapshot, which keeps a checkpoint from
// completing until it returns.
//
// The tenant wall is in this package's Go code, SQLite having no row-level
// security: every statement for a tenant scope carries the predicate
// owner = tenant (reads, and the UPDATE of an upsert and the DELETE, whose
// affected-row count tells a refused write); a Put naming another owner is
// refused before any statement; a tenant's delete that removed nothing
// looks, in the same transaction, whether a row is there, to refuse rather
// than report success.
//
// DeleteTable deletes the table's rows in its one transaction (the foreign
// key's cascade): for a table of millions of rows, writes wait for it.
//
// Benchmarks (storetest.Benchmark: 500 partitions × 20 rows of 200 bytes,
// tenant scope; 2-core VM shared with other jobs, load ~6, so figures are
// pessimistic; go test -bench . -benchtime 2s):
//
//	Get       serial  29 µs/op   42 allocs    parallel  59 µs/op
//	Put       serial 127 µs/op   99 allocs    parallel 183 µs/op   (Mutate; one fsync per op)
//	Query 20  serial 134 µs/op  248 allocs    parallel 500 µs/op
package embedded
