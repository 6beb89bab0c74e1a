package function

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"maps"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/uuid"
)

// Packages is what the registry needs from the code package store; satisfied
// by *artifact.Store.
type Packages interface {
	// Put validates a zip, stores it durably and returns its identity.
	// entrypoint names the executable the runtime starts ("bootstrap").
	Put(zip []byte, entrypoint string) (Code, error)
	// Remove deletes a package; an absent package is not an error.
	Remove(sha256 string) error
	// List returns the digests of all stored packages.
	List() ([]string, error)
}

// Resolved is a version of a function as an operation returns it, with the
// alias it was reached through, if any.
type Resolved struct {
	Function Function
	Version  Version
	Alias    string
}

// CreateRequest is a CreateFunction call, decoded.
type CreateRequest struct {
	Name      string
	Config    Config // defaults not yet applied
	PerTenant bool
	Tags      map[string]string
	Zip       []byte
	Publish   bool
}

// Registry is the function registry: functions, versions and aliases, their
// validation, and the code packages they reference. It is safe for concurrent
// use; mutations are serialised (see mu).
type Registry struct {
	store    Store
	packages Packages
	arns     ARNs
	now      func() time.Time
	log      *slog.Logger
	changed  func(name string)

	// mu serialises mutations. Each reads, decides and writes, and code
	// garbage collection must not remove a package that a concurrent create is
	// about to reference. Control-plane rates are low (Lambda allows 15/s).
	mu sync.Mutex

	// resolved caches Resolve's answers, so an invocation does not query
	// the store (it was 14% of the server's CPU under warm load). Every
	// mutation bumps gen after its store writes and before anyone is
	// notified; an entry is used only while gen is what it was before the
	// entry's queries began. It assumes this registry is the store's only
	// writer, as it is in one server; a shared store needs invalidation
	// from the other writers.
	gen      atomic.Uint64
	cacheMu  sync.RWMutex
	resolved map[Ref]cachedResolve
}

// cachedResolve is a resolution and the generation it was read at.
type cachedResolve struct {
	gen uint64
	res Resolved
}

// maxResolved bounds the cache; it starts again empty when full.
const maxResolved = 10000

// lock and unlock bracket a mutation; unlock invalidates the cache.
func (r *Registry) lock() { r.mu.Lock() }

func (r *Registry) unlock() {
	r.gen.Add(1)
	r.mu.Unlock()
}

// NewRegistry returns a registry over store and packages that names
// functions with arns.
func NewRegistry(store Store, packages Packages, arns ARNs, log *slog.Logger) *Registry {
	return &Registry{store: store, packages: packages, arns: arns, now: time.Now, log: log}
}

// OnChange registers f, called after a function's code or configuration is
// updated or the function (or one of its versions) is deleted, so that
// environments running the old state are retired. Set it before use.
func (r *Registry) OnChange(f func(name string)) { r.changed = f }

func (r *Registry) notify(name string) {
	// Whoever reacts to the change must resolve the new state.
	r.gen.Add(1)
	if r.changed != nil {
		r.changed(name)
	}
}

// Version returns one version of a function by number, as stored.
func (r *Registry) Version(ctx context.Context, name string, number int) (Version, error) {
	v, err := r.store.Version(ctx, name, number)
	if err != nil {
		return Version{}, r.notFound(err, Ref{Name: name, Qualifier: VersionString(number)})
	}
	return v, nil
}

// ARNs returns the ARN maker of this deployment.
func (r *Registry) ARNs() ARNs { return r.arns }

// Create creates a function with its $LATEST version, and version 1 too when
// req.Publish is set.
func (r *Registry) Create(ctx context.Context, req CreateRequest) (Resolved, error) {
	ref, err := r.arns.ParseRef(req.Name)
	if err != nil {
		return Resolved{}, err
	}
	if ref.Qualifier != "" {
		return Resolved{}, errdefs.New(errdefs.ErrInvalidArgument, "Unsupported: a qualifier (%q) cannot be given when creating a function.", ref.Qualifier)
	}
	cfg := req.Config.WithDefaults()
	if err := cfg.Validate(ref.Name); err != nil {
		return Resolved{}, err
	}
	if err := CheckTags(req.Tags); err != nil {
		return Resolved{}, err
	}
	if len(req.Zip) == 0 {
		return Resolved{}, errdefs.New(errdefs.ErrInvalidArgument, "Code must include a ZipFile: Bulkhead accepts zip deployment packages only.")
	}

	r.lock()
	defer r.unlock()
	if _, err := r.store.Function(ctx, ref.Name); err == nil {
		return Resolved{}, errdefs.New(errdefs.ErrAlreadyExists, "Function already exist: %s", ref.Name)
	} else if !errors.Is(err, errdefs.ErrNotFound) {
		return Resolved{}, err
	}
	code, err := r.packages.Put(req.Zip, "bootstrap")
	if err != nil {
		return Resolved{}, err
	}
	now := r.now().UTC()
	f := Function{Name: ref.Name, PerTenant: req.PerTenant, Tags: req.Tags, CreatedAt: now}
	latest := Version{Function: ref.Name, Number: Latest, Config: cfg, Code: code, RevisionID: uuid.New(), LastModified: now}
	if err := r.store.CreateFunction(ctx, f, latest); err != nil {
		r.collect(ctx, code.SHA256)
		if errors.Is(err, errdefs.ErrAlreadyExists) {
			return Resolved{}, errdefs.New(errdefs.ErrAlreadyExists, "Function already exist: %s", ref.Name)
		}
		return Resolved{}, err
	}
	r.log.InfoContext(ctx, "function created", "function", ref.Name, "code_sha256", code.SHA256, "per_tenant", req.PerTenant)
	if req.Publish {
		v, err := r.publish(ctx, f, latest, "")
		if err != nil {
			return Resolved{}, err
		}
		return Resolved{Function: f, Version: v}, nil
	}
	return Resolved{Function: f, Version: latest}, nil
}

// Resolve finds the version that nameOrARN and qualifier designate. The
// qualifier may come inside the name ("f:live"), as the parameter, or both
// when they agree; without one it is $LATEST.
func (r *Registry) Resolve(ctx context.Context, nameOrARN, qualifier string) (Resolved, error) {
	ref, err := r.ref(nameOrARN, qualifier)
	if err != nil {
		return Resolved{}, err
	}
	gen := r.gen.Load()
	r.cacheMu.RLock()
	c, ok := r.resolved[ref]
	r.cacheMu.RUnlock()
	if ok && c.gen == gen {
		return c.res, nil
	}
	res, err := r.resolve(ctx, ref)
	if err != nil {
		return Resolved{}, err
	}
	r.cacheMu.Lock()
	if r.resolved == nil || len(r.resolved) >= maxResolved {
		r.resolved = make(map[Ref]cachedResolve)
	}
	r.resolved[ref] = cachedResolve{gen: gen, res: res}
	r.cacheMu.Unlock()
	return res, nil
}

func (r *Registry) ref(nameOrARN, qualifier string) (Ref, error) {
	ref, err := r.arns.ParseRef(nameOrARN)
	if err != nil {
		return Ref{}, err
	}
	if qualifier != "" {
		if err := checkQualifier(qualifier); err != nil {
			return Ref{}, err
		}
		if ref.Qualifier != "" && ref.Qualifier != qualifier {
			return Ref{}, errdefs.New(errdefs.ErrInvalidArgument, "The derived qualifier from the function name does not match the specified qualifier.")
		}
		ref.Qualifier = qualifier
	}
	return ref, nil
}

func (r *Registry) resolve(ctx context.Context, ref Ref) (Resolved, error) {
	f, err := r.store.Function(ctx, ref.Name)
	if err != nil {
		return Resolved{}, r.notFound(err, ref)
	}
	number, isVersion := ParseVersion(ref.Qualifier)
	if ref.Qualifier == "" {
		number, isVersion = Latest, true
	}
	var alias string
	if !isVersion {
		if digits().MatchString(ref.Qualifier) {
			return Resolved{}, errdefs.New(errdefs.ErrNotFound, "Function not found: %s", r.arns.Qualified(ref.Name, ref.Qualifier))
		}
		a, err := r.store.Alias(ctx, ref.Name, ref.Qualifier)
		if err != nil {
			return Resolved{}, r.notFound(err, ref)
		}
		number, alias = a.Version, a.Name
	}
	v, err := r.store.Version(ctx, ref.Name, number)
	if err != nil {
		return Resolved{}, r.notFound(err, ref)
	}
	return Resolved{Function: f, Version: v, Alias: alias}, nil
}

// notFound turns a store's not-found into Lambda's message for ref.
func (r *Registry) notFound(err error, ref Ref) error {
	if !errors.Is(err, errdefs.ErrNotFound) {
		return err
	}
	if ref.Qualifier == "" {
		return errdefs.New(errdefs.ErrNotFound, "Function not found: %s", r.arns.Function(ref.Name))
	}
	return errdefs.New(errdefs.ErrNotFound, "Function not found: %s", r.arns.Qualified(ref.Name, ref.Qualifier))
}

// List returns a page of functions ($LATEST of each), or of every version of
// every function when all is set. marker is the NextMarker of the previous
// page ("" for the first); the returned marker is "" on the last page.
func (r *Registry) List(ctx context.Context, marker string, max int, all bool) ([]Resolved, string, error) {
	name, after, err := decodeMarker(marker)
	if err != nil {
		return nil, "", err
	}
	var page []Resolved
	if !all {
		fs, err := r.store.Functions(ctx, name, max+1)
		if err != nil {
			return nil, "", err
		}
		next := ""
		if len(fs) > max {
			fs = fs[:max]
			next = encodeMarker(fs[max-1].Name, Latest)
		}
		for _, f := range fs {
			v, err := r.store.Version(ctx, f.Name, Latest)
			if errors.Is(err, errdefs.ErrNotFound) {
				continue // deleted between the two reads
			} else if err != nil {
				return nil, "", err
			}
			page = append(page, Resolved{Function: f, Version: v})
		}
		return page, next, nil
	}

	// Every version: the marker names the function to continue in and the
	// last version listed from it.
	following := func(name string) (Function, bool, error) {
		fs, err := r.store.Functions(ctx, name, 1)
		if err != nil || len(fs) == 0 {
			return Function{}, false, err
		}
		return fs[0], true, nil
	}
	var f Function
	ok := false
	if name != "" {
		f, err = r.store.Function(ctx, name)
		ok = err == nil
	}
	if !ok {
		f, ok, err = following(name)
		after = -1
	}
	for ok && err == nil {
		vs, verr := r.store.Versions(ctx, f.Name, after, max-len(page))
		if verr != nil && !errors.Is(verr, errdefs.ErrNotFound) {
			return nil, "", verr
		}
		for _, v := range vs {
			page = append(page, Resolved{Function: f, Version: v})
		}
		if len(page) == max {
			last := page[max-1]
			return page, encodeMarker(last.Function.Name, last.Version.Number), nil
		}
		f, ok, err = following(f.Name)
		after = -1
	}
	return page, "", err
}

// Versions returns a page of a function's versions, $LATEST first.
func (r *Registry) Versions(ctx context.Context, nameOrARN, marker string, max int) ([]Resolved, string, error) {
	ref, err := r.unqualified(nameOrARN)
	if err != nil {
		return nil, "", err
	}
	after := -1
	if marker != "" {
		n, ok := ParseVersion(marker)
		if !ok {
			return nil, "", errdefs.New(errdefs.ErrInvalidArgument, "Invalid marker: %q", marker)
		}
		after = n
	}
	f, err := r.store.Function(ctx, ref.Name)
	if err != nil {
		return nil, "", r.notFound(err, ref)
	}
	vs, err := r.store.Versions(ctx, ref.Name, after, max+1)
	if err != nil {
		return nil, "", r.notFound(err, ref)
	}
	next := ""
	if len(vs) > max {
		vs = vs[:max]
		next = VersionString(vs[max-1].Number)
	}
	out := make([]Resolved, len(vs))
	for i, v := range vs {
		out[i] = Resolved{Function: f, Version: v}
	}
	return out, next, nil
}

// Delete deletes a whole function, or one published version when a
// qualifier names one.
func (r *Registry) Delete(ctx context.Context, nameOrARN, qualifier string) error {
	ref, err := r.ref(nameOrARN, qualifier)
	if err != nil {
		return err
	}
	r.lock()
	defer r.unlock()
	if ref.Qualifier == "" {
		vs, err := r.allVersions(ctx, ref)
		if err != nil {
			return err
		}
		if err := r.store.DeleteFunction(ctx, ref.Name); err != nil {
			return r.notFound(err, ref)
		}
		r.log.InfoContext(ctx, "function deleted", "function", ref.Name)
		r.notify(ref.Name)
		for _, v := range vs {
			r.collect(ctx, v.Code.SHA256)
		}
		return nil
	}
	number, ok := ParseVersion(ref.Qualifier)
	switch {
	case ok && number == Latest:
		return errdefs.New(errdefs.ErrInvalidArgument, "$LATEST version cannot be deleted without deleting the function.")
	case !ok:
		return errdefs.New(errdefs.ErrInvalidArgument, "Qualifier %q names an alias; delete aliases with DeleteAlias, or give a version number.", ref.Qualifier)
	}
	v, err := r.store.Version(ctx, ref.Name, number)
	if err != nil {
		return r.notFound(err, ref)
	}
	if err := r.store.DeleteVersion(ctx, ref.Name, number); err != nil {
		if errors.Is(err, errdefs.ErrConflict) {
			return errdefs.New(errdefs.ErrConflict, "Unable to delete version because the following aliases reference it: %s", r.aliasesOf(ctx, ref.Name, number))
		}
		return r.notFound(err, ref)
	}
	r.collect(ctx, v.Code.SHA256)
	r.notify(ref.Name)
	return nil
}

func (r *Registry) aliasesOf(ctx context.Context, name string, number int) string {
	var names []string
	after := ""
	for {
		as, err := r.store.Aliases(ctx, name, after, 100)
		if err != nil || len(as) == 0 {
			break
		}
		for _, a := range as {
			if _, weighted := a.AdditionalWeights[number]; a.Version == number || weighted {
				names = append(names, a.Name)
			}
		}
		after = as[len(as)-1].Name
	}
	return "[" + strings.Join(names, ", ") + "]"
}

// UpdateCode replaces $LATEST's code, and publishes a version when publish is
// set.
func (r *Registry) UpdateCode(ctx context.Context, nameOrARN string, zip []byte, publish bool, ifRevision string) (Resolved, error) {
	ref, err := r.unqualified(nameOrARN)
	if err != nil {
		return Resolved{}, err
	}
	if len(zip) == 0 {
		return Resolved{}, errdefs.New(errdefs.ErrInvalidArgument, "Please provide a source for function code: ZipFile is required (Bulkhead accepts zip deployment packages only).")
	}
	r.lock()
	defer r.unlock()
	cur, err := r.latest(ctx, ref, ifRevision)
	if err != nil {
		return Resolved{}, err
	}
	code, err := r.packages.Put(zip, "bootstrap")
	if err != nil {
		return Resolved{}, err
	}
	next := cur.Version
	next.Code, next.RevisionID, next.LastModified = code, uuid.New(), r.now().UTC()
	if err := r.store.UpdateLatest(ctx, next, cur.Version.RevisionID); err != nil {
		r.collect(ctx, code.SHA256)
		return Resolved{}, r.revisionError(err, ref)
	}
	r.collect(ctx, cur.Version.Code.SHA256)
	r.log.InfoContext(ctx, "function code updated", "function", ref.Name, "code_sha256", code.SHA256)
	r.notify(ref.Name)
	if publish {
		v, err := r.publish(ctx, cur.Function, next, "")
		if err != nil {
			return Resolved{}, err
		}
		return Resolved{Function: cur.Function, Version: v}, nil
	}
	return Resolved{Function: cur.Function, Version: next}, nil
}

// UpdateConfig applies mutate to a copy of $LATEST's configuration, validates
// the result and stores it.
func (r *Registry) UpdateConfig(ctx context.Context, nameOrARN string, mutate func(*Config), ifRevision string) (Resolved, error) {
	ref, err := r.unqualified(nameOrARN)
	if err != nil {
		return Resolved{}, err
	}
	r.lock()
	defer r.unlock()
	cur, err := r.latest(ctx, ref, ifRevision)
	if err != nil {
		return Resolved{}, err
	}
	next := cur.Version
	next.Config.Environment = maps.Clone(cur.Version.Config.Environment)
	mutate(&next.Config)
	next.Config = next.Config.withLoggingDefaults()
	if err := next.Config.Validate(ref.Name); err != nil {
		return Resolved{}, err
	}
	next.RevisionID, next.LastModified = uuid.New(), r.now().UTC()
	if err := r.store.UpdateLatest(ctx, next, cur.Version.RevisionID); err != nil {
		return Resolved{}, r.revisionError(err, ref)
	}
	r.log.InfoContext(ctx, "function configuration updated", "function", ref.Name)
	r.notify(ref.Name)
	return Resolved{Function: cur.Function, Version: next}, nil
}

// Publish publishes $LATEST as a new version. codeSHA256 (base64, as Lambda
// reports it), when given, must match $LATEST's code. If neither code nor
// configuration changed since the last published version, that version is
// returned instead of a new one, as Lambda does.
func (r *Registry) Publish(ctx context.Context, nameOrARN, codeSHA256, description, ifRevision string) (Resolved, error) {
	ref, err := r.unqualified(nameOrARN)
	if err != nil {
		return Resolved{}, err
	}
	r.lock()
	defer r.unlock()
	cur, err := r.latest(ctx, ref, ifRevision)
	if err != nil {
		return Resolved{}, err
	}
	if have := cur.Version.Code.Base64(); codeSHA256 != "" && codeSHA256 != have {
		return Resolved{}, errdefs.New(errdefs.ErrInvalidArgument,
			"CodeSHA256 (%s) is different from current CodeSHA256 in $LATEST (%s). Please try again.", codeSHA256, have)
	}
	v, err := r.publish(ctx, cur.Function, cur.Version, description)
	if err != nil {
		return Resolved{}, err
	}
	return Resolved{Function: cur.Function, Version: v}, nil
}

func (r *Registry) publish(ctx context.Context, f Function, latest Version, description string) (Version, error) {
	vs, err := r.allVersions(ctx, Ref{Name: f.Name})
	if err != nil {
		return Version{}, err
	}
	if n := len(vs); n > 1 {
		// A version's description is its own (PublishVersion sets it), so it
		// does not count as a change of $LATEST.
		last := vs[n-1]
		cfg := last.Config
		cfg.Description = latest.Config.Description
		if last.Code == latest.Code && reflect.DeepEqual(cfg, latest.Config) {
			return last, nil
		}
	}
	v := latest
	v.RevisionID, v.LastModified = uuid.New(), r.now().UTC()
	if description != "" {
		v.Config.Description = description
	}
	v, err = r.store.PublishVersion(ctx, v)
	if err != nil {
		return Version{}, err
	}
	r.log.InfoContext(ctx, "version published", "function", f.Name, "version", v.Number)
	return v, nil
}

// allVersions returns every version of a function, $LATEST first.
func (r *Registry) allVersions(ctx context.Context, ref Ref) ([]Version, error) {
	var all []Version
	after := -1
	for {
		vs, err := r.store.Versions(ctx, ref.Name, after, 100)
		if err != nil {
			return nil, r.notFound(err, ref)
		}
		all = append(all, vs...)
		if len(vs) < 100 {
			return all, nil
		}
		after = vs[len(vs)-1].Number
	}
}

// CreateAlias creates an alias of a function.
func (r *Registry) CreateAlias(ctx context.Context, nameOrARN string, a Alias) (Alias, error) {
	ref, err := r.unqualified(nameOrARN)
	if err != nil {
		return Alias{}, err
	}
	if err := CheckAliasName(a.Name); err != nil {
		return Alias{}, err
	}
	a.Function = ref.Name
	if err := checkRouting(a); err != nil {
		return Alias{}, err
	}
	r.lock()
	defer r.unlock()
	if err := r.versionsExist(ctx, a); err != nil {
		return Alias{}, err
	}
	if _, err := r.store.Alias(ctx, ref.Name, a.Name); err == nil {
		return Alias{}, errdefs.New(errdefs.ErrAlreadyExists, "Alias already exists: %s", r.arns.Qualified(ref.Name, a.Name))
	}
	a.RevisionID = uuid.New()
	if err := r.store.CreateAlias(ctx, a); err != nil {
		if errors.Is(err, errdefs.ErrAlreadyExists) {
			return Alias{}, errdefs.New(errdefs.ErrAlreadyExists, "Alias already exists: %s", r.arns.Qualified(ref.Name, a.Name))
		}
		return Alias{}, r.notFound(err, ref)
	}
	return a, nil
}

// versionsExist checks that the function and every version an alias points
// to exist.
func (r *Registry) versionsExist(ctx context.Context, a Alias) error {
	if _, err := r.store.Function(ctx, a.Function); err != nil {
		return r.notFound(err, Ref{Name: a.Function})
	}
	numbers := []int{a.Version}
	for n := range a.AdditionalWeights {
		numbers = append(numbers, n)
	}
	for _, n := range numbers {
		if _, err := r.store.Version(ctx, a.Function, n); err != nil {
			return r.notFound(err, Ref{Name: a.Function, Qualifier: VersionString(n)})
		}
	}
	return nil
}

func checkRouting(a Alias) error {
	if len(a.AdditionalWeights) == 0 {
		return nil
	}
	if len(a.AdditionalWeights) > 1 {
		return errdefs.New(errdefs.ErrInvalidArgument, "RoutingConfig may name only one additional version.")
	}
	if a.Version == Latest {
		return errdefs.New(errdefs.ErrInvalidArgument, "$LATEST is not supported for an alias pointing to more than 1 version")
	}
	for n, w := range a.AdditionalWeights {
		if n == Latest {
			return errdefs.New(errdefs.ErrInvalidArgument, "$LATEST is not supported for an alias pointing to more than 1 version")
		}
		if n == a.Version {
			return errdefs.New(errdefs.ErrInvalidArgument, "Version %d is the alias's primary version; an additional version must differ from it.", n)
		}
		if w < 0 || w > 1 {
			return ConstraintError(Violation(w, "routingConfig.additionalVersionWeights", "Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0]"))
		}
	}
	return nil
}

// Alias returns an alias of a function.
func (r *Registry) Alias(ctx context.Context, nameOrARN, name string) (Alias, error) {
	ref, err := r.unqualified(nameOrARN)
	if err != nil {
		return Alias{}, err
	}
	a, err := r.store.Alias(ctx, ref.Name, name)
	if errors.Is(err, errdefs.ErrNotFound) {
		return Alias{}, errdefs.New(errdefs.ErrNotFound, "Alias not found: %s", r.arns.Qualified(ref.Name, name))
	}
	return a, err
}

// UpdateAlias applies mutate to a copy of an alias, validates and stores it.
func (r *Registry) UpdateAlias(ctx context.Context, nameOrARN, name string, mutate func(*Alias), ifRevision string) (Alias, error) {
	ref, err := r.unqualified(nameOrARN)
	if err != nil {
		return Alias{}, err
	}
	r.lock()
	defer r.unlock()
	cur, err := r.store.Alias(ctx, ref.Name, name)
	if errors.Is(err, errdefs.ErrNotFound) {
		return Alias{}, errdefs.New(errdefs.ErrNotFound, "Alias not found: %s", r.arns.Qualified(ref.Name, name))
	} else if err != nil {
		return Alias{}, err
	}
	if err := checkRevision(ifRevision, cur.RevisionID); err != nil {
		return Alias{}, err
	}
	next := cur
	next.AdditionalWeights = maps.Clone(cur.AdditionalWeights)
	mutate(&next)
	next.Function, next.Name = cur.Function, cur.Name
	if err := checkRouting(next); err != nil {
		return Alias{}, err
	}
	if err := r.versionsExist(ctx, next); err != nil {
		return Alias{}, err
	}
	next.RevisionID = uuid.New()
	if err := r.store.UpdateAlias(ctx, next, cur.RevisionID); err != nil {
		return Alias{}, r.revisionError(err, ref)
	}
	return next, nil
}

// DeleteAlias deletes an alias. Deleting an absent alias of an existing
// function succeeds, as in Lambda.
func (r *Registry) DeleteAlias(ctx context.Context, nameOrARN, name string) error {
	ref, err := r.unqualified(nameOrARN)
	if err != nil {
		return err
	}
	r.lock()
	defer r.unlock()
	if _, err := r.store.Function(ctx, ref.Name); err != nil {
		return r.notFound(err, ref)
	}
	if err := r.store.DeleteAlias(ctx, ref.Name, name); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		return err
	}
	return nil
}

// Aliases returns a page of a function's aliases, only those pointing at
// version when it is not "".
func (r *Registry) Aliases(ctx context.Context, nameOrARN, version, marker string, max int) ([]Alias, string, error) {
	ref, err := r.unqualified(nameOrARN)
	if err != nil {
		return nil, "", err
	}
	filter := -1
	if version != "" {
		n, ok := ParseVersion(version)
		if !ok {
			return nil, "", errdefs.New(errdefs.ErrInvalidArgument, "FunctionVersion %q is not a version number or $LATEST.", version)
		}
		filter = n
	}
	var page []Alias
	after := marker
	for len(page) < max {
		as, err := r.store.Aliases(ctx, ref.Name, after, max)
		if err != nil {
			return nil, "", r.notFound(err, ref)
		}
		for _, a := range as {
			if filter == -1 || a.Version == filter {
				page = append(page, a)
				if len(page) == max {
					return page, a.Name, nil
				}
			}
		}
		if len(as) < max {
			return page, "", nil
		}
		after = as[len(as)-1].Name
	}
	return page, "", nil
}

// SweepPackages removes stored code packages that no version references:
// leftovers of a crash between storing a package and committing the version
// that references it, or between deleting a version and its package.
func (r *Registry) SweepPackages(ctx context.Context) (int, error) {
	r.lock()
	defer r.unlock()
	digests, err := r.packages.List()
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, d := range digests {
		if used, err := r.store.CodeInUse(ctx, d); err != nil {
			return removed, err
		} else if !used {
			if err := r.packages.Remove(d); err != nil {
				return removed, err
			}
			removed++
		}
	}
	return removed, nil
}

// collect removes a package no version references any more. Failures are
// logged: the startup sweep retries them.
func (r *Registry) collect(ctx context.Context, sha256 string) {
	used, err := r.store.CodeInUse(ctx, sha256)
	if err == nil && !used {
		err = r.packages.Remove(sha256)
	}
	if err != nil {
		r.log.WarnContext(ctx, "code package not collected", "code_sha256", sha256, "err", err)
	}
}

func (r *Registry) unqualified(nameOrARN string) (Ref, error) {
	ref, err := r.arns.ParseRef(nameOrARN)
	if err != nil {
		return Ref{}, err
	}
	if ref.Qualifier != "" {
		return Ref{}, errdefs.New(errdefs.ErrInvalidArgument, "This operation does not take a qualifier; %q names one.", nameOrARN)
	}
	return ref, nil
}

func (r *Registry) revisionError(err error, ref Ref) error {
	if errors.Is(err, errdefs.ErrPrecondition) {
		return errRevision
	}
	return r.notFound(err, ref)
}

var errRevision = errdefs.New(errdefs.ErrPrecondition,
	"The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")

// latest returns a function's $LATEST for a change that the caller, holding
// mu, is about to make, after checking the caller's expected revision.
func (r *Registry) latest(ctx context.Context, ref Ref, ifRevision string) (Resolved, error) {
	cur, err := r.resolve(ctx, ref)
	if err != nil {
		return Resolved{}, err
	}
	return cur, checkRevision(ifRevision, cur.Version.RevisionID)
}

func checkRevision(want, have string) error {
	if want != "" && want != have {
		return errRevision
	}
	return nil
}

// Base64 returns the package's SHA-256 in base64, as Lambda reports CodeSha256.
func (c Code) Base64() string {
	raw, err := hex.DecodeString(c.SHA256)
	if err != nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(raw)
}

// encodeMarker makes an opaque ListFunctions marker from the last item of a
// page.
func encodeMarker(name string, number int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(name + ":" + strconv.Itoa(number)))
}

func decodeMarker(marker string) (string, int, error) {
	if marker == "" {
		return "", -1, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(marker)
	name, num, ok := strings.Cut(string(raw), ":")
	n, nerr := strconv.Atoi(num)
	if err != nil || !ok || nerr != nil || CheckName(name) != nil {
		return "", 0, errdefs.New(errdefs.ErrInvalidArgument, "Invalid marker: %q", marker)
	}
	return name, n, nil
}
