package function

import "context"

// Store is what the registry needs from durable storage. It is satisfied by
// *sqlite.Store (internal/store/sqlite) and, later, a PostgreSQL backend; every
// implementation passes functiontest.StoreConformance.
//
// A method that returns nil has made its change durable. Errors carry
// errdefs kinds: ErrNotFound when a named function, version or alias does not
// exist, ErrAlreadyExists on a duplicate, ErrPrecondition when an ifRevision
// does not match, ErrConflict when a version is still referenced by an alias.
// The store does not validate configuration; the registry does.
//
// What every implementation keeps, as the suite checks: times to the
// millisecond (Lambda's precision), returned in UTC; a nil map and an empty
// one alike; no map shared with the caller; names ordered byte by byte (a
// PostgreSQL backend needs COLLATE "C"). A limit below 1 is ErrInvalidArgument.
type Store interface {
	// CreateFunction stores f and its $LATEST version in one transaction;
	// latest.Function and latest.Number are ignored (f.Name and Latest).
	CreateFunction(ctx context.Context, f Function, latest Version) error
	// Function returns the function named name.
	Function(ctx context.Context, name string) (Function, error)
	// Functions returns up to limit functions in ascending name order whose
	// names sort after the given one ("" for the first page).
	Functions(ctx context.Context, after string, limit int) ([]Function, error)
	// DeleteFunction removes a function with all its versions and aliases.
	DeleteFunction(ctx context.Context, name string) error

	// Version returns one version of a function; number Latest is $LATEST.
	Version(ctx context.Context, name string, number int) (Version, error)
	// Versions returns up to limit versions of a function in ascending number
	// order ($LATEST first) whose numbers are greater than after (-1 for the
	// first page). ErrNotFound when the function does not exist.
	Versions(ctx context.Context, name string, after int, limit int) ([]Version, error)
	// UpdateLatest replaces the function's $LATEST with v (v.Number is
	// ignored). When ifRevision is not empty, it must equal the stored
	// $LATEST's RevisionID.
	UpdateLatest(ctx context.Context, v Version, ifRevision string) error
	// PublishVersion stores v as the function's next version number — one
	// more than the highest number ever published for it, even if that version
	// was deleted — and returns it exactly as Version will read it back. A
	// function deleted and created again numbers from 1, as Lambda does.
	PublishVersion(ctx context.Context, v Version) (Version, error)
	// DeleteVersion removes a published version. ErrConflict when an alias
	// points at it (as primary or additional version); ErrInvalidArgument for
	// $LATEST, which goes only with the function.
	DeleteVersion(ctx context.Context, name string, number int) error

	// CreateAlias stores a new alias. ErrNotFound when the function or the
	// version it points to does not exist.
	CreateAlias(ctx context.Context, a Alias) error
	// Alias returns one alias of a function.
	Alias(ctx context.Context, function, name string) (Alias, error)
	// Aliases returns up to limit aliases of a function in ascending name
	// order after the given name. ErrNotFound when the function does not exist.
	Aliases(ctx context.Context, function, after string, limit int) ([]Alias, error)
	// UpdateAlias replaces an existing alias. When ifRevision is not empty, it
	// must equal the stored alias's RevisionID. ErrNotFound when a version it
	// points to does not exist.
	UpdateAlias(ctx context.Context, a Alias, ifRevision string) error
	// DeleteAlias removes an alias.
	DeleteAlias(ctx context.Context, function, name string) error

	// CodeInUse reports whether any version of any function references the
	// code package with this SHA-256 (hex).
	CodeInUse(ctx context.Context, sha256 string) (bool, error)
}
