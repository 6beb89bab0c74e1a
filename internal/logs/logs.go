// Package logs is the platform's log of function executions: every line an
// environment writes and the platform's own records about each invocation,
// each attributed to a tenant, function, version, request and environment.
// Records flow from the environments through a Pipeline, which never blocks
// them and never buffers without bound, into a Store, which answers queries.
//
// A query for one tenant never returns another tenant's records: the tenant
// is part of every record and an exact filter of every query that names one.
package logs

import (
	"context"
	"time"
)

// Record types besides TypeFunction follow Lambda's telemetry names.
const (
	TypeFunction    = "function"             // a line the function wrote
	TypeInitStart   = "platform.initStart"   // an environment's init began
	TypeStart       = "platform.start"       // an invocation began
	TypeRuntimeDone = "platform.runtimeDone" // the runtime answered (or failed)
	TypeReport      = "platform.report"      // an invocation's figures
	TypeLogsDropped = "platform.logsDropped" // lines dropped over a bound
	TypeInitReport  = "platform.initReport"  // an environment's init ended
)

// Record is one log record.
type Record struct {
	Time      time.Time
	Tenant    string // "" for a function without tenancy
	Function  string
	Version   string
	RequestID string // "" for records of an environment's init
	EnvID     string
	Type      string // TypeFunction or a platform.* type
	// Stream is "stdout" or "stderr" for function records, "" otherwise.
	Stream string
	// Message is the line as the function wrote it, without its newline
	// (function records), or the record's JSON object in Lambda's shape
	// (platform records).
	Message string
}

// Stored is a Record as the Store keeps it, with its position: IDs grow in
// the order records were appended, so a follower asks for records after the
// last ID it saw.
type Stored struct {
	ID int64
	Record
}

// Query selects records. Function is required; every other field narrows.
type Query struct {
	Function string
	// Tenant, when TenantSet, selects exactly that tenant's records ("" is
	// the tenant of functions without tenancy). Unset: every tenant's.
	Tenant    string
	TenantSet bool
	RequestID string
	Since     time.Time // inclusive; zero for no bound
	Until     time.Time // exclusive; zero for no bound
	Text      string    // a substring of Message, case-sensitive; "" for any
	AfterID   int64     // only records with a greater ID (following)
	Limit     int       // at most this many, oldest first; 0 means DefaultLimit
}

// DefaultLimit and MaxLimit bound a query's answer.
const (
	DefaultLimit = 1000
	MaxLimit     = 10000
)

// Store keeps records and answers queries. Implementations must be safe for
// concurrent use and pass logstest.StoreConformance.
type Store interface {
	// Append stores records, in order, atomically.
	Append(ctx context.Context, records []Record) error
	// Query returns the records q selects, oldest first (by ID).
	Query(ctx context.Context, q Query) ([]Stored, error)
	// Prune removes records older than before, then the oldest until the
	// records' total Message bytes are at most maxBytes (0: no size bound).
	// It returns how many it removed.
	Prune(ctx context.Context, before time.Time, maxBytes int64) (int64, error)
}

// Sink receives records; *Pipeline is the platform's. Add must not block.
type Sink interface {
	Add(Record)
}
