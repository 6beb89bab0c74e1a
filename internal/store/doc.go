// Package store holds the storage backends of Bulkhead's domain stores, one
// package per engine: sqlite for a single machine now, postgres when Bulkhead
// is scaled out.
//
// It owns no contract. Each store interface is defined by the domain package
// that consumes it (function.Store), and that package ships the conformance
// suite every backend must pass (functiontest.StoreConformance), so the
// backends cannot drift from the contract or from each other. Backends share
// hand-written SQL with $N placeholders, which SQLite and PostgreSQL both
// accept; each engine keeps its own migrations.
//
// It does not hold code packages (internal/artifact) or validate what it
// stores (the registry does).
package store
