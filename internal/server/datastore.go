package server

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/data/store"
	"github.com/bulkhead-dev/bulkhead/internal/data/store/embedded"
	"github.com/bulkhead-dev/bulkhead/internal/data/store/postgres"
)

// PostgresConfig connects the data API's store to PostgreSQL.
type PostgresConfig struct {
	// OwnerDSN connects as the role that owns the schema: it runs the
	// migrations (and creates the two roles below when it may).
	OwnerDSN string `yaml:"owner-dsn"`
	// AppDSN connects as the role tenants' requests run as: not the owner,
	// not a superuser, NOBYPASSRLS, so row-level security applies.
	AppDSN string `yaml:"app-dsn"`
	// ServiceDSN connects as the role requests without a tenant run as
	// (BYPASSRLS, not the owner).
	ServiceDSN string `yaml:"service-dsn"`
}

func (p PostgresConfig) set() bool { return p.OwnerDSN != "" || p.AppDSN != "" || p.ServiceDSN != "" }

// openDataStore opens the data API's store: PostgreSQL when configured,
// else the embedded store in the data directory.
func openDataStore(cfg Config) (store.Store, error) {
	if cfg.DataPostgres.set() {
		return openPostgres(cfg.DataPostgres)
	}
	st, err := embedded.Open(filepath.Join(cfg.DataDir, "data.db"))
	if err != nil {
		return nil, fmt.Errorf("open data store: %w", err)
	}
	return st, nil
}

// openPostgres opens the PostgreSQL store, provisioning it (roles,
// migrations, grants) when an owner DSN is given.
func openPostgres(p PostgresConfig) (store.Store, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := postgres.Open(ctx, postgres.Config{OwnerDSN: p.OwnerDSN, AppDSN: p.AppDSN, ServiceDSN: p.ServiceDSN})
	if err != nil {
		return nil, fmt.Errorf("open the PostgreSQL data store: %w", err)
	}
	return st, nil
}
