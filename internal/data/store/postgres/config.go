package postgres

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
)

// Config is how Open reaches the database: three roles, so that the one
// that serves tenants can neither bypass row-level security nor change it.
type Config struct {
	// OwnerDSN, if set, connects as the role that owns (or will own) the
	// schema. Open uses it only to provision: create the app and service
	// roles if they are missing and it may (CREATEROLE; BYPASSRLS needs a
	// superuser), apply migrations, and grant the two roles their
	// privileges. Empty: Open expects an operator to have done that (see
	// the package documentation) and checks that they have.
	OwnerDSN string
	// AppDSN connects as the application role, which serves tenant scopes:
	// not the owner, not a superuser, NOBYPASSRLS.
	AppDSN string
	// ServiceDSN connects as the service role, which serves the service
	// scope and table operations: BYPASSRLS, not the owner, not a
	// superuser.
	ServiceDSN string
	// MaxConns is the most connections each of the app and service pools
	// opens; 0 means DefaultMaxConns.
	MaxConns int
}

// DefaultMaxConns is the pool size when Config.MaxConns is 0.
const DefaultMaxConns = 8

// Validate checks that the DSNs parse, that the app and service roles are
// two roles, and that neither is the owner.
func (c Config) Validate() error {
	var errs []error
	users := map[string]string{}
	for _, f := range []struct{ field, dsn string }{{"OwnerDSN", c.OwnerDSN}, {"AppDSN", c.AppDSN}, {"ServiceDSN", c.ServiceDSN}} {
		if f.dsn == "" {
			if f.field != "OwnerDSN" {
				errs = append(errs, fmt.Errorf("%s: required", f.field))
			}
			continue
		}
		pc, err := pgx.ParseConfig(f.dsn)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.field, err))
			continue
		}
		if other, dup := users[pc.User]; dup {
			errs = append(errs, fmt.Errorf("%s and %s both connect as %q: the owner, app and service roles must be three roles", other, f.field, pc.User))
		}
		users[pc.User] = f.field
	}
	if c.MaxConns < 0 {
		errs = append(errs, fmt.Errorf("MaxConns: %d is negative", c.MaxConns))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("postgres data store config: %w: %w", errdefs.ErrInvalidArgument, err)
	}
	return nil
}
