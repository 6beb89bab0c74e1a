package gateway

import (
	"context"
	"errors"

	"github.com/bulkhead-dev/bulkhead/internal/tenant"
)

// Tenant operations that reach beyond the registry: suspension drains a
// tenant's environments, deletion revokes its keys, forgets its quota
// counters and, on request, its logs and usage.

// CreateTenant registers a tenant.
func (g *Gateway) CreateTenant(ctx context.Context, t tenant.Tenant) (tenant.Tenant, error) {
	return g.tenants.Create(ctx, t)
}

// UpdateTenant changes a tenant's record.
func (g *Gateway) UpdateTenant(ctx context.Context, id tenant.ID, change func(*tenant.Tenant) error) (tenant.Tenant, error) {
	t, err := g.tenants.Update(ctx, id, change)
	if err == nil && t.Status == tenant.Suspended {
		g.drain(id)
	}
	return t, err
}

// SetTenantStatus suspends (and drains) or resumes a tenant.
func (g *Gateway) SetTenantStatus(ctx context.Context, id tenant.ID, s tenant.Status) (tenant.Tenant, error) {
	t, err := g.tenants.SetStatus(ctx, id, s)
	if err == nil && s == tenant.Suspended {
		g.drain(id)
	}
	return t, err
}

// DrainTenant destroys a tenant's idle environments now and its busy ones
// as their invocations finish; it returns how many were live.
func (g *Gateway) DrainTenant(id tenant.ID) int { return g.drain(id) }

func (g *Gateway) drain(id tenant.ID) int {
	if g.drainer == nil {
		return 0
	}
	n := g.drainer(id)
	g.log.Info("tenant drained", "tenant", id, "environments", n)
	return n
}

// DeleteTenant unregisters a tenant: its environments are drained, its API
// keys deleted and its quota counters dropped; with purge, its logs and
// usage records are deleted too.
func (g *Gateway) DeleteTenant(ctx context.Context, id tenant.ID, purge bool) error {
	if _, err := g.tenants.Get(id); err != nil {
		return err
	}
	// Refuse first, then drain: no new request of the tenant gets through
	// once it is suspended, so the drain leaves nothing behind.
	if _, err := g.tenants.SetStatus(ctx, id, tenant.Suspended); err != nil {
		return err
	}
	g.drain(id)
	subjects := []string{"tenant:" + id.String()}
	for _, k := range g.Keys(id) {
		subjects = append(subjects, "key:"+k.ID)
	}
	for _, r := range g.Routes() {
		subjects = append(subjects, routeSubject(r.ID, id))
	}
	err := g.change(ctx, func(*snapshot) error { return g.store.DeleteKeysOf(ctx, id) })
	if err != nil {
		return err
	}
	if g.purger != nil {
		if err := g.purger.DeleteQuotas(ctx, subjects); err != nil {
			return err
		}
		if purge {
			if err := g.purger.DeleteRecords(ctx, id); err != nil {
				return err
			}
		}
	} else if purge {
		return errors.New("purge is not available")
	}
	return g.tenants.Delete(ctx, id)
}

// Purger deletes what a deleted tenant leaves in the stores.
type Purger interface {
	// DeleteQuotas drops the quota counters of subjects.
	DeleteQuotas(ctx context.Context, subjects []string) error
	// DeleteRecords deletes the tenant's logs and usage.
	DeleteRecords(ctx context.Context, id tenant.ID) error
}

// routeSubject is the usage-plan subject of a tenant's requests on a route
// whose plan applies because no key or tenant plan does.
func routeSubject(routeID string, id tenant.ID) string {
	return "route:" + routeID + ":tenant:" + id.String()
}
