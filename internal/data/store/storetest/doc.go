// Package storetest holds what every store.Store backend must pass,
// Conformance, and the benchmarks they share, Benchmark. Both backends'
// tests call them, so the backends cannot drift from the contract or from
// each other.
//
// Conformance covers: table create, get, list (bytewise, paged) and
// delete; every item method on a missing table; get, put, overwrite and
// delete through Mutate, what fn sees, and that fn's Keep and fn's error
// write nothing; argument checks; the zero scope refused by every method;
// Mutate's atomicity (goroutines incrementing one counter, which starts
// absent, lose no update); Write's atomicity (a refused change anywhere in
// a batch leaves the table as it was; a concurrent reader never sees half a
// batch); Query with every sort-key operator, both directions, After and
// Limit, against an oracle written here; partitions whose keys are
// prefixes of one another; Scan paging; the owner rules for Get, Query,
// Scan, Mutate and Write in both directions, for tenants, unowned rows and
// the service; refusals that name neither the other tenant nor its data;
// 400 KB items; keys with 0x00 and 0xFF bytes; DeleteTable taking its items
// with it. And a model test: random operations of 50 tenants and the
// service against a map, every answer and every tenant's view checked
// against the map filtered by owner.
package storetest
