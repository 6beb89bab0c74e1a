// Package store is the contract of the data store behind Bulkhead's
// DynamoDB-compatible data API: tables, and items addressed by
// order-preserving key encodings, each row owned by a tenant. It owns the
// contract (Store and its types), the owner rules every backend enforces,
// and the sort-key arithmetic (SKCond.Range, PrefixEnd) backends turn into
// index ranges. It does not own the DynamoDB wire, attribute values,
// expressions or policies (the front end does), nor any storage engine:
//
//	embedded   SQLite in its own file, the tenant wall in Go (the default)
//	postgres   PostgreSQL, the tenant wall in row-level security
//	storetest  the conformance suite both pass, and their benchmarks
//
// # Rows
//
// A row is keyed by (table, PK, SK); PK and SK are byte strings whose
// bytes.Compare order is DynamoDB's order, so a Query is one range of an
// index:
//
//	table ─┬─ PK ─┬─ SK ─── Owner, Data
//	       │      └─ SK ─── Owner, Data      Query: one PK, a range of SK
//	       └─ PK ──── SK ── Owner, Data      Scan:  (PK, SK) order
//
// Data is opaque; Owner is the tenant that owns the row ("" for none). The
// owner is a column, not part of the key: two tenants cannot both hold a
// key, whoever has it has it.
//
// # The tenant wall
//
// The store is the second wall under the front end's policy check, and
// holds even if that check is wrong or disabled. A Scope says who a request
// acts for:
//
//	Scope{Tenant: "t1"}    sees and writes only rows owned by t1; may put
//	                       only items owned by t1, at keys free or t1's
//	Scope{Service: true}   sees and writes every row (the admin key, a
//	                       role session without a TenantID tag)
//	Scope{}                refused with errdefs.ErrForbidden: fail closed
//
// Rows of another owner do not exist for a tenant: Get reports them
// missing, Query and Scan skip them, Mutate passes fn nil. A write the
// tenant may not make fails with ErrOutOfScope (errdefs.ErrForbidden) and
// writes nothing. The refusal reads the same whatever caused it (an item
// naming another owner, or a key another owner holds) and names neither
// the owner nor the data. What cannot be hidden: that a key is taken.
// A put at a free key succeeds where one at a taken key is refused, as a
// delete of a missing row succeeds where one of another's row is refused;
// a tenant can learn that a key is held by someone, never by whom or what
// it holds. Pool tables make that moot in practice: the front end derives
// keys from the tenant, so tenants' keys do not meet.
//
// Sizes: Data up to MaxData (1 MiB; DynamoDB's 400 KB limit is the front
// end's); keys as long as the backend's index allows (see each backend).
package store
