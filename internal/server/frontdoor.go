package server

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/gateway"
	"github.com/bulkhead-dev/bulkhead/internal/store/sqlite"
	"github.com/bulkhead-dev/bulkhead/internal/tenant"
)

// openGateway loads the tenant registry and the gateway's catalog, and
// makes the invocation service ask the registry about each tenant.
func (s *Server) openGateway(cfg Config, log *slog.Logger) error {
	ctx := context.Background()
	var err error
	s.tenants, err = tenant.NewRegistry(ctx, s.db, func(t tenant.Tenant) error { return s.front.PlanExists(t) })
	if err != nil {
		return fmt.Errorf("tenant registry: %w", err)
	}
	s.front, err = gateway.New(ctx, gateway.Config{
		Invoker: s.invoker, Tenants: s.tenants, Store: s.db, Quotas: s.db.Quotas(),
		PerTenant: func(ctx context.Context, name string) (bool, error) {
			res, err := s.registry.Resolve(ctx, name, "")
			return res.Function.PerTenant, err
		},
		Drain:   s.invoker.Pool().DrainTenant,
		Purge:   purger{quotas: s.db.Quotas(), usage: s.db.Usage(), logs: s.logStore},
		Metrics: s.metrics, Region: cfg.Region, AccountID: cfg.AccountID, Log: log,
	})
	if err != nil {
		return err
	}
	require := cfg.RequireRegisteredTenants
	s.invoker.AdmitTenants(func(id tenant.ID) error {
		t, ok := s.tenants.Lookup(id)
		switch {
		case !ok && require:
			return errdefs.New(errdefs.ErrForbidden, "Tenant %s is not registered, and this server serves registered tenants only.", id.String())
		case ok && t.Status == tenant.Suspended:
			return errdefs.New(errdefs.ErrForbidden, "Tenant %s is suspended.", id.String())
		}
		return nil
	})
	return nil
}

// purger deletes a deleted tenant's quota counters and, on request, its
// logs and usage.
type purger struct {
	quotas sqlite.QuotaStore
	usage  *sqlite.UsageStore
	logs   *sqlite.LogStore
}

func (p purger) DeleteQuotas(ctx context.Context, subjects []string) error {
	return p.quotas.DeleteSubjects(ctx, subjects)
}

func (p purger) DeleteRecords(ctx context.Context, id tenant.ID) error {
	if _, err := p.usage.DeleteTenant(ctx, id.String()); err != nil {
		return err
	}
	_, err := p.logs.DeleteTenant(ctx, id.String())
	return err
}
