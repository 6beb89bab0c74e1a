package tenant

import (
	"context"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
)

// Status is a registered tenant's state.
type Status string

// The statuses. A suspended tenant's requests are refused and its
// environments drained; resuming it lets it in again.
const (
	Active    Status = "active"
	Suspended Status = "suspended"
)

// Limits on a tenant record.
const (
	MaxDisplayName   = 256
	MaxMetadata      = 50
	MaxMetadataKey   = 128
	MaxMetadataValue = 256
)

// Tenant is a registered tenant.
type Tenant struct {
	ID          ID
	DisplayName string
	Status      Status
	// Plan names the usage plan the gateway applies to the tenant's
	// requests when its credential names none ("" for none).
	Plan string
	// Concurrency bounds the tenant's concurrent invocations of each
	// function; 0 means the server's default (--max-per-tenant).
	Concurrency int
	Metadata    map[string]string
	Created     time.Time
	Updated     time.Time
}

// Validate checks what a client can set.
func (t Tenant) Validate() error {
	if t.ID.IsNone() {
		return errdefs.New(errdefs.ErrInvalidArgument, "A tenant needs an id.")
	}
	if len(t.DisplayName) > MaxDisplayName || !utf8.ValidString(t.DisplayName) {
		return errdefs.New(errdefs.ErrInvalidArgument, "DisplayName must be valid UTF-8 of at most %d bytes.", MaxDisplayName)
	}
	switch t.Status {
	case Active, Suspended:
	default:
		return errdefs.New(errdefs.ErrInvalidArgument, "Status %q is not one of active, suspended.", t.Status)
	}
	if t.Concurrency < 0 {
		return errdefs.New(errdefs.ErrInvalidArgument, "Concurrency must not be negative.")
	}
	if len(t.Metadata) > MaxMetadata {
		return errdefs.New(errdefs.ErrInvalidArgument, "Metadata has %d entries; at most %d are allowed.", len(t.Metadata), MaxMetadata)
	}
	for k, v := range t.Metadata {
		if k == "" || len(k) > MaxMetadataKey || !utf8.ValidString(k) {
			return errdefs.New(errdefs.ErrInvalidArgument, "Metadata keys must be 1 to %d bytes of UTF-8.", MaxMetadataKey)
		}
		if len(v) > MaxMetadataValue || !utf8.ValidString(v) {
			return errdefs.New(errdefs.ErrInvalidArgument, "Metadata value of %q must be at most %d bytes of UTF-8.", k, MaxMetadataValue)
		}
	}
	return nil
}

// Store keeps tenant records durably.
type Store interface {
	// CreateTenant stores a new tenant; ErrAlreadyExists if its id is taken.
	CreateTenant(ctx context.Context, t Tenant) error
	// UpdateTenant replaces a tenant's record; ErrNotFound if there is none.
	UpdateTenant(ctx context.Context, t Tenant) error
	// DeleteTenant removes a tenant's record; ErrNotFound if there is none.
	DeleteTenant(ctx context.Context, id ID) error
	// ListTenants returns every tenant.
	ListTenants(ctx context.Context) ([]Tenant, error)
}

// Registry is the tenant registry: the store, with every record held in
// memory so that the invocation path checks a tenant without a query.
// Writes go to the store first and reach memory only once durable.
type Registry struct {
	store Store
	now   func() time.Time

	mu       sync.RWMutex // guards byID and hooks
	byID     map[ID]Tenant
	hooks    []func(before, after *Tenant)
	writeMu  sync.Mutex // serialises writes, so memory follows the store's order
	validate func(Tenant) error
}

// NewRegistry loads every tenant from store. check, if not nil, is asked to
// validate what refers outside the registry (the usage plan's name).
func NewRegistry(ctx context.Context, store Store, check func(Tenant) error) (*Registry, error) {
	all, err := store.ListTenants(ctx)
	if err != nil {
		return nil, err
	}
	r := &Registry{store: store, now: time.Now, byID: make(map[ID]Tenant, len(all)), validate: check}
	for _, t := range all {
		r.byID[t.ID] = t
	}
	return r, nil
}

// OnChange registers fn to be called after each change, with the record
// before (nil on create) and after (nil on delete). fn must not call back
// into the registry's writes.
func (r *Registry) OnChange(fn func(before, after *Tenant)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hooks = append(r.hooks, fn)
}

// Get returns a tenant; ErrNotFound when it is not registered.
func (r *Registry) Get(id ID) (Tenant, error) {
	r.mu.RLock()
	t, ok := r.byID[id]
	r.mu.RUnlock()
	if !ok {
		return Tenant{}, notFound(id)
	}
	return clone(t), nil
}

// Lookup returns a tenant and whether it is registered.
func (r *Registry) Lookup(id ID) (Tenant, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t, ok := r.byID[id]
	return t, ok
}

// Len returns how many tenants are registered.
func (r *Registry) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.byID)
}

// List returns up to limit tenants whose ids sort after `after`, in id
// order.
func (r *Registry) List(after string, limit int) []Tenant {
	r.mu.RLock()
	ids := make([]string, 0, len(r.byID))
	for id := range r.byID {
		if id.s > after {
			ids = append(ids, id.s)
		}
	}
	r.mu.RUnlock()
	sort.Strings(ids)
	if len(ids) > limit {
		ids = ids[:limit]
	}
	out := make([]Tenant, 0, len(ids))
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, s := range ids {
		if t, ok := r.byID[ID{s}]; ok {
			out = append(out, clone(t))
		}
	}
	return out
}

// Create registers t (Status defaults to active).
func (r *Registry) Create(ctx context.Context, t Tenant) (Tenant, error) {
	if t.Status == "" {
		t.Status = Active
	}
	if err := r.check(t); err != nil {
		return Tenant{}, err
	}
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	t.Created = r.now().UTC().Truncate(time.Millisecond)
	t.Updated = t.Created
	if err := r.store.CreateTenant(ctx, t); err != nil {
		return Tenant{}, err
	}
	r.apply(nil, &t)
	return clone(t), nil
}

// Update applies change to a tenant's record and stores it.
func (r *Registry) Update(ctx context.Context, id ID, change func(*Tenant) error) (Tenant, error) {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	before, ok := r.Lookup(id)
	if !ok {
		return Tenant{}, notFound(id)
	}
	after := clone(before)
	if err := change(&after); err != nil {
		return Tenant{}, err
	}
	after.ID, after.Created = before.ID, before.Created
	if err := r.check(after); err != nil {
		return Tenant{}, err
	}
	after.Updated = r.now().UTC().Truncate(time.Millisecond)
	if err := r.store.UpdateTenant(ctx, after); err != nil {
		return Tenant{}, err
	}
	r.apply(&before, &after)
	return clone(after), nil
}

// SetStatus suspends or resumes a tenant.
func (r *Registry) SetStatus(ctx context.Context, id ID, s Status) (Tenant, error) {
	return r.Update(ctx, id, func(t *Tenant) error { t.Status = s; return nil })
}

// Delete removes a tenant's record.
func (r *Registry) Delete(ctx context.Context, id ID) error {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	before, ok := r.Lookup(id)
	if !ok {
		return notFound(id)
	}
	if err := r.store.DeleteTenant(ctx, id); err != nil {
		return err
	}
	r.apply(&before, nil)
	return nil
}

func (r *Registry) check(t Tenant) error {
	if err := t.Validate(); err != nil {
		return err
	}
	if r.validate != nil {
		return r.validate(t)
	}
	return nil
}

// apply updates memory and runs the hooks, with writeMu held.
func (r *Registry) apply(before, after *Tenant) {
	r.mu.Lock()
	switch {
	case after == nil:
		delete(r.byID, before.ID)
	default:
		r.byID[after.ID] = clone(*after)
	}
	hooks := slices.Clone(r.hooks)
	r.mu.Unlock()
	for _, h := range hooks {
		h(before, after)
	}
}

func clone(t Tenant) Tenant {
	t.Metadata = maps.Clone(t.Metadata)
	return t
}

func notFound(id ID) error {
	return errdefs.New(errdefs.ErrNotFound, "Tenant not found: %s", id.s)
}
