package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bulkhead-dev/bulkhead/internal/store/migration"
)

// schema is the PostgreSQL schema that holds the store's tables.
const schema = "bulkhead_data"

// errNewerSchema marks a database that a newer binary has migrated.
var errNewerSchema = errors.New("data schema is newer than this binary")

// migrationFiles are the schema's history: migrations/NNNN_name.sql,
// numbered from 0001 without gaps. A released file is never edited; a change
// is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLock is the advisory lock key under which provisioning runs, so
// that two servers starting at once take turns: "bulkhead" in ASCII.
const migrationLock int64 = 0x62756c6b68656164

// role is one of the two roles the store connects as.
type role struct {
	name, password string
	// bypassRLS is the service role's attribute; the app role must not
	// have it.
	bypassRLS bool
}

// provision does, as the owner, what the operator's SQL in the package
// documentation does by hand: roles, schema, migrations, grants. It holds
// an advisory lock throughout, so concurrent provisioners serialize, and
// each step is idempotent, so the second finds nothing to do.
func provision(ctx context.Context, owner *pgx.Conn, app, service role) error {
	if _, err := owner.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("take the migration lock: %w", err)
	}
	defer owner.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, migrationLock)

	for _, r := range []role{app, service} {
		if err := createRole(ctx, owner, r); err != nil {
			return err
		}
	}
	if _, err := owner.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+schema); err != nil {
		return fmt.Errorf("create schema %s: %w", schema, err)
	}
	if _, err := owner.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+schema+`.schema_migrations (
		version    integer     NOT NULL PRIMARY KEY,
		applied_at timestamptz NOT NULL
	)`); err != nil {
		return fmt.Errorf("create %s.schema_migrations: %w", schema, err)
	}
	ms, err := migration.LoadDir(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	for {
		done, err := migrateOne(ctx, owner, ms)
		if err != nil {
			return err
		}
		if done {
			break
		}
	}
	for _, stmt := range grants(app.name, service.name) {
		if _, err := owner.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	return nil
}

// grants are the privileges of the app and service roles; nothing else is
// granted, and in particular not TRUNCATE, which row-level security does
// not cover.
func grants(app, service string) []string {
	a, s := pgx.Identifier{app}.Sanitize(), pgx.Identifier{service}.Sanitize()
	return []string{
		`GRANT USAGE ON SCHEMA ` + schema + ` TO ` + a + `, ` + s,
		`GRANT SELECT ON ` + schema + `.schema_migrations, ` + schema + `.tables TO ` + a + `, ` + s,
		`GRANT SELECT, INSERT, UPDATE, DELETE ON ` + schema + `.items TO ` + a + `, ` + s,
		`GRANT INSERT, UPDATE, DELETE ON ` + schema + `.tables TO ` + s,
	}
}

// createRole creates r if it does not exist. It never alters an existing
// role: Open checks its attributes afterwards and refuses wrong ones.
func createRole(ctx context.Context, owner *pgx.Conn, r role) error {
	var exists bool
	if err := owner.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, r.name).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	stmt := `CREATE ROLE ` + pgx.Identifier{r.name}.Sanitize() + ` LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOINHERIT`
	if r.bypassRLS {
		stmt += ` BYPASSRLS`
	} else {
		stmt += ` NOBYPASSRLS`
	}
	if r.password != "" {
		// Role statements take no bind parameters: a string literal,
		// quotes doubled (standard_conforming_strings is on since
		// PostgreSQL 9.1, so backslashes are plain characters).
		stmt += ` PASSWORD '` + strings.ReplaceAll(r.password, `'`, `''`) + `'`
	}
	_, err := owner.Exec(ctx, stmt)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "42710" || pgErr.Code == "23505") {
		return nil // created meanwhile, by a server provisioning another database
	}
	if err != nil {
		return fmt.Errorf("create role %q (the owner needs CREATEROLE, and to be a superuser for a BYPASSRLS role; or create it by hand, see the package documentation): %w", r.name, err)
	}
	return nil
}

// migrateOne applies the first pending migration in a transaction and
// reports whether none was left.
func migrateOne(ctx context.Context, owner *pgx.Conn, ms []migration.Migration) (done bool, err error) {
	tx, err := owner.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback(context.Background())
	current, err := schemaVersion(ctx, tx)
	if err != nil {
		return false, err
	}
	switch {
	case current > len(ms):
		return false, fmt.Errorf("%w: it is at version %d, this binary knows versions up to %d; run a newer Bulkhead", errNewerSchema, current, len(ms))
	case current == len(ms):
		return true, nil
	}
	m := ms[current]
	if _, err := tx.Exec(ctx, m.SQL); err != nil {
		return false, fmt.Errorf("migration %s: %w", m.File, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO `+schema+`.schema_migrations (version, applied_at) VALUES ($1, $2)`, m.Version, time.Now()); err != nil {
		return false, fmt.Errorf("migration %s: %w", m.File, err)
	}
	return false, tx.Commit(ctx)
}

func schemaVersion(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) (int, error) {
	var v int
	err := q.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM `+schema+`.schema_migrations`).Scan(&v)
	return v, err
}

// checkRole refuses to serve through a connection whose role could get
// past the tenant wall when it should not, or whose schema is not this
// binary's. The app role must be subject to row-level security: not a
// superuser, not BYPASSRLS, not the items table's owner nor a member of
// the owner's role (who could turn the policy off), without TRUNCATE; the
// service role must have BYPASSRLS and be neither superuser nor owner.
func checkRole(ctx context.Context, c *pgx.Conn, wantBypass bool) error {
	ms, err := migration.LoadDir(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	v, err := schemaVersion(ctx, c)
	if err != nil {
		return fmt.Errorf("read the schema version (is the schema provisioned? Open with an OwnerDSN, or see the package documentation): %w", err)
	}
	switch {
	case v > len(ms):
		return fmt.Errorf("%w: it is at version %d, this binary knows versions up to %d; run a newer Bulkhead", errNewerSchema, v, len(ms))
	case v < len(ms):
		return fmt.Errorf("data schema is at version %d, this binary needs %d: open with an OwnerDSN to migrate", v, len(ms))
	}
	var user string
	var super, bypass, owns, truncate, rls, force bool
	err = c.QueryRow(ctx, `SELECT current_user, r.rolsuper, r.rolbypassrls,
			pg_has_role(current_user, cl.relowner, 'MEMBER'),
			has_table_privilege(current_user, cl.oid, 'TRUNCATE'),
			cl.relrowsecurity, cl.relforcerowsecurity
		FROM pg_roles r, pg_class cl
		WHERE r.rolname = current_user AND cl.oid = '`+schema+`.items'::regclass`).
		Scan(&user, &super, &bypass, &owns, &truncate, &rls, &force)
	if err != nil {
		return fmt.Errorf("read the role's attributes: %w", err)
	}
	var problems []string
	if super {
		problems = append(problems, "is a superuser")
	}
	if owns {
		problems = append(problems, "owns "+schema+".items or is a member of its owner")
	}
	if truncate {
		problems = append(problems, "may TRUNCATE "+schema+".items")
	}
	if bypass != wantBypass {
		problems = append(problems, fmt.Sprintf("has BYPASSRLS %v, want %v", bypass, wantBypass))
	}
	if !rls || !force {
		problems = append(problems, fmt.Sprintf("row-level security on %s.items is enabled %v, forced %v; want both", schema, rls, force))
	}
	if len(problems) > 0 {
		return fmt.Errorf("role %q %s: refusing to serve through it", user, strings.Join(problems, "; "))
	}
	return nil
}
