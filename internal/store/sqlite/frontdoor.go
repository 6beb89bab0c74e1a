package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/gateway/catalog"
	"github.com/bulkhead-dev/bulkhead/internal/gateway/plan"
	"github.com/bulkhead-dev/bulkhead/internal/tenant"
)

var (
	_ tenant.Store    = (*Store)(nil)
	_ catalog.Store   = (*Store)(nil)
	_ plan.QuotaStore = QuotaStore{}
)

// CreateTenant stores a new tenant.
func (s *Store) CreateTenant(ctx context.Context, t tenant.Tenant) error {
	meta, err := json.Marshal(orEmpty(t.Metadata))
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO tenants (id, display_name, status, plan, concurrency, metadata, created, updated)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, t.ID.String(), t.DisplayName, string(t.Status), t.Plan, t.Concurrency, string(meta),
		t.Created.UnixMilli(), t.Updated.UnixMilli())
	if err != nil {
		err = fail(err, "create tenant")
		if errors.Is(err, errdefs.ErrAlreadyExists) {
			return errdefs.New(errdefs.ErrAlreadyExists, "Tenant already exists: %s", t.ID.String())
		}
	}
	return err
}

// UpdateTenant replaces a tenant's record.
func (s *Store) UpdateTenant(ctx context.Context, t tenant.Tenant) error {
	meta, err := json.Marshal(orEmpty(t.Metadata))
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `UPDATE tenants SET display_name = ?, status = ?, plan = ?, concurrency = ?, metadata = ?, updated = ?
		WHERE id = ?`, t.DisplayName, string(t.Status), t.Plan, t.Concurrency, string(meta), t.Updated.UnixMilli(), t.ID.String())
	return oneRow(res, err, "Tenant not found: "+t.ID.String())
}

// DeleteTenant removes a tenant's record.
func (s *Store) DeleteTenant(ctx context.Context, id tenant.ID) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM tenants WHERE id = ?`, id.String())
	return oneRow(res, err, "Tenant not found: "+id.String())
}

// ListTenants returns every tenant.
func (s *Store) ListTenants(ctx context.Context) ([]tenant.Tenant, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, display_name, status, plan, concurrency, metadata, created, updated FROM tenants`)
	if err != nil {
		return nil, fail(err, "list tenants")
	}
	defer rows.Close()
	var out []tenant.Tenant
	for rows.Next() {
		var t tenant.Tenant
		var id, status, meta string
		var created, updated int64
		if err := rows.Scan(&id, &t.DisplayName, &status, &t.Plan, &t.Concurrency, &meta, &created, &updated); err != nil {
			return nil, fail(err, "list tenants")
		}
		if t.ID, err = tenant.Parse(id); err != nil {
			return nil, fmt.Errorf("sqlite: tenant %q stored invalid: %w", id, err)
		}
		t.Status = tenant.Status(status)
		if err := json.Unmarshal([]byte(meta), &t.Metadata); err != nil {
			return nil, fmt.Errorf("sqlite: tenant %q metadata: %w", id, err)
		}
		t.Created, t.Updated = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
		out = append(out, t)
	}
	return out, rows.Err()
}

// PutPlan creates (create) or replaces a usage plan.
func (s *Store) PutPlan(ctx context.Context, p plan.Plan, create bool) error {
	return s.putSpec(ctx, "usage_plans", "Usage plan", p.Name, p, create)
}

// DeletePlan removes a usage plan.
func (s *Store) DeletePlan(ctx context.Context, name string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM usage_plans WHERE name = ?`, name)
	return oneRow(res, err, "Usage plan not found: "+name)
}

// PutAuthorizer creates (create) or replaces an authorizer.
func (s *Store) PutAuthorizer(ctx context.Context, a catalog.Authorizer, create bool) error {
	return s.putSpec(ctx, "authorizers", "Authorizer", a.Name, a, create)
}

// DeleteAuthorizer removes an authorizer.
func (s *Store) DeleteAuthorizer(ctx context.Context, name string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM authorizers WHERE name = ?`, name)
	return oneRow(res, err, "Authorizer not found: "+name)
}

// putSpec writes a named JSON document into table (usage_plans or
// authorizers, fixed strings).
func (s *Store) putSpec(ctx context.Context, table, kind, name string, v any, create bool) error {
	spec, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if create {
		_, err = s.db.ExecContext(ctx, `INSERT INTO `+table+` (name, spec) VALUES (?, ?)`, name, string(spec))
		if err != nil {
			if err = fail(err, "create %s", kind); errors.Is(err, errdefs.ErrAlreadyExists) {
				return errdefs.New(errdefs.ErrAlreadyExists, "%s already exists: %s", kind, name)
			}
		}
		return err
	}
	res, err := s.db.ExecContext(ctx, `UPDATE `+table+` SET spec = ? WHERE name = ?`, string(spec), name)
	return oneRow(res, err, kind+" not found: "+name)
}

// CreateKey stores an API key (its hash).
func (s *Store) CreateKey(ctx context.Context, k catalog.APIKey) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO api_keys (id, hash, name, tenant, plan, prefix, created) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.Hash[:], k.Name, k.Tenant.String(), k.Plan, k.Prefix, k.Created.UnixMilli())
	if err != nil {
		if err = fail(err, "create api key"); errors.Is(err, errdefs.ErrAlreadyExists) {
			return errdefs.New(errdefs.ErrAlreadyExists, "An API key with this value or id exists already.")
		}
	}
	return err
}

// RevokeKey marks a key revoked; revoking a revoked key changes nothing.
func (s *Store) RevokeKey(ctx context.Context, id string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE api_keys SET revoked = coalesce(revoked, ?) WHERE id = ?`, at.UnixMilli(), id)
	return oneRow(res, err, "API key not found: "+id)
}

// DeleteKeysOf deletes a tenant's keys.
func (s *Store) DeleteKeysOf(ctx context.Context, t tenant.ID) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM api_keys WHERE tenant = ?`, t.String())
	if err != nil {
		return fail(err, "delete api keys")
	}
	return nil
}

// CreateRoute stores a route.
func (s *Store) CreateRoute(ctx context.Context, r catalog.Route) error {
	spec, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO routes (id, method, path, spec) VALUES (?, ?, ?, ?)`, r.ID, r.Method, r.Path, string(spec))
	if err != nil {
		if err = fail(err, "create route"); errors.Is(err, errdefs.ErrAlreadyExists) {
			return errdefs.New(errdefs.ErrAlreadyExists, "A route for %s %s exists already.", r.Method, r.Path)
		}
	}
	return err
}

// DeleteRoute removes a route.
func (s *Store) DeleteRoute(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM routes WHERE id = ?`, id)
	return oneRow(res, err, "Route not found: "+id)
}

// Load returns the whole catalog, in one read transaction.
func (s *Store) Load(ctx context.Context) (catalog.Snapshot, error) {
	var snap catalog.Snapshot
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return snap, fail(err, "load catalog")
	}
	defer tx.Rollback()
	if err := scanSpecs(ctx, tx, `SELECT spec FROM usage_plans ORDER BY name`, &snap.Plans); err != nil {
		return snap, err
	}
	if err := scanSpecs(ctx, tx, `SELECT spec FROM authorizers ORDER BY name`, &snap.Authorizers); err != nil {
		return snap, err
	}
	if err := scanSpecs(ctx, tx, `SELECT spec FROM routes ORDER BY id`, &snap.Routes); err != nil {
		return snap, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, hash, name, tenant, plan, prefix, created, revoked FROM api_keys ORDER BY id`)
	if err != nil {
		return snap, fail(err, "load api keys")
	}
	defer rows.Close()
	for rows.Next() {
		var k catalog.APIKey
		var hash []byte
		var tid string
		var created int64
		var revoked sql.NullInt64
		if err := rows.Scan(&k.ID, &hash, &k.Name, &tid, &k.Plan, &k.Prefix, &created, &revoked); err != nil {
			return snap, fail(err, "load api keys")
		}
		if len(hash) != len(k.Hash) {
			return snap, fmt.Errorf("sqlite: api key %s: stored hash has %d bytes", k.ID, len(hash))
		}
		copy(k.Hash[:], hash)
		if k.Tenant, err = tenant.Parse(tid); err != nil {
			return snap, fmt.Errorf("sqlite: api key %s: %w", k.ID, err)
		}
		k.Created = time.UnixMilli(created).UTC()
		if revoked.Valid {
			t := time.UnixMilli(revoked.Int64).UTC()
			k.Revoked = &t
		}
		snap.Keys = append(snap.Keys, k)
	}
	return snap, rows.Err()
}

func scanSpecs[T any](ctx context.Context, tx *sql.Tx, query string, out *[]T) error {
	rows, err := tx.QueryContext(ctx, query)
	if err != nil {
		return fail(err, "load catalog")
	}
	defer rows.Close()
	for rows.Next() {
		var spec string
		if err := rows.Scan(&spec); err != nil {
			return fail(err, "load catalog")
		}
		var v T
		if err := json.Unmarshal([]byte(spec), &v); err != nil {
			return fmt.Errorf("sqlite: stored catalog entry: %w", err)
		}
		*out = append(*out, v)
	}
	return rows.Err()
}

// QuotaStore is the SQLite plan.QuotaStore, in the same database. Takes
// are group-committed: a take waits while one transaction runs, then goes
// with every take that arrived meanwhile into the next, each applied in
// arrival order, and all are answered after that one commit
// (synchronous=FULL). A count is durable before its take returns, and
// concurrent takes share fsyncs instead of queueing on SQLite's busy handler,
// which sleeps and retries and starved some of 50 concurrent writers past
// busy_timeout.
type QuotaStore struct{ s *Store }

// Quotas returns the quota counters.
func (s *Store) Quotas() QuotaStore { return QuotaStore{s} }

// quotaBatcher gathers takes; the first to arrive when none is committing
// commits them, in a goroutine that ends when no take waits.
type quotaBatcher struct {
	mu      sync.Mutex
	pending []*quotaTake
	running bool
}

type quotaTake struct {
	key      string
	window   int64
	n, limit int64
	used     int64
	ok       bool
	err      error
	done     chan struct{}
}

// Take adds n to (key, window) unless that would pass limit. The check
// compares n with limit - used, which cannot overflow, where used + n could
// (SQLite would turn it into a float).
func (q QuotaStore) Take(ctx context.Context, key string, window time.Time, n, limit int64) (int64, bool, error) {
	if err := ctx.Err(); err != nil {
		return 0, false, err
	}
	if n <= 0 || limit < 0 {
		return 0, false, errdefs.New(errdefs.ErrInvalidArgument, "quota: take %d of a limit of %d", n, limit)
	}
	t := &quotaTake{key: key, window: window.Unix(), n: n, limit: limit, done: make(chan struct{})}
	b := &q.s.quotas
	b.mu.Lock()
	b.pending = append(b.pending, t)
	if !b.running {
		b.running = true
		go q.commitPending()
	}
	b.mu.Unlock()
	<-t.done // a few milliseconds at most: it is counted or not, whatever ctx says now
	return t.used, t.ok, t.err
}

// commitPending commits the pending takes, batch after batch, until none
// waits.
func (q QuotaStore) commitPending() {
	b := &q.s.quotas
	for {
		b.mu.Lock()
		batch := b.pending
		b.pending = nil
		if len(batch) == 0 {
			b.running = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		err := q.s.write(context.Background(), func(tx *sql.Tx) error {
			for _, t := range batch {
				if err := takeIn(tx, t); err != nil {
					return err
				}
			}
			return nil
		})
		for _, t := range batch {
			if err != nil { // rolled back: nothing was counted
				t.used, t.ok, t.err = 0, false, fail(err, "take quota")
			}
			close(t.done)
		}
	}
}

// takeIn applies one take inside a transaction.
func takeIn(tx *sql.Tx, t *quotaTake) error {
	err := tx.QueryRow(`INSERT INTO quota_counters (key, window, used) SELECT ?1, ?2, ?3 WHERE ?3 <= ?4
		ON CONFLICT (key, window) DO UPDATE SET used = used + excluded.used WHERE excluded.used <= ?4 - used
		RETURNING used`, t.key, t.window, t.n, t.limit).Scan(&t.used)
	if errors.Is(err, sql.ErrNoRows) {
		t.ok = false
		return tx.QueryRow(`SELECT coalesce((SELECT used FROM quota_counters WHERE key = ? AND window = ?), 0)`,
			t.key, t.window).Scan(&t.used)
	}
	t.ok = err == nil
	return err
}

// Used returns the count of (key, window).
func (q QuotaStore) Used(ctx context.Context, key string, window time.Time) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var used int64
	err := q.s.db.QueryRowContext(ctx, `SELECT used FROM quota_counters WHERE key = ? AND window = ?`, key, window.Unix()).Scan(&used)
	if err == sql.ErrNoRows {
		return 0, nil
	}
	if err != nil {
		return 0, fail(err, "read quota")
	}
	return used, nil
}

// DeleteSubjects drops the counters of subjects (a deleted tenant's and its
// keys'), whichever plan and period they were counted under.
func (q QuotaStore) DeleteSubjects(ctx context.Context, subjects []string) error {
	return q.s.write(ctx, func(tx *sql.Tx) error {
		for _, s := range subjects {
			if _, err := tx.ExecContext(ctx, `DELETE FROM quota_counters WHERE instr(key, ?) > 0`, plan.SubjectFragment(s)); err != nil {
				return fail(err, "delete quotas")
			}
		}
		return nil
	})
}

func oneRow(res sql.Result, err error, notFound string) error {
	if err != nil {
		return fail(err, "write")
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return errdefs.New(errdefs.ErrNotFound, "%s", notFound)
	}
	return nil
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
