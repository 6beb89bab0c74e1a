package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bulkhead-dev/bulkhead/internal/data/store"
	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
)

// Store is the PostgreSQL backend of store.Store. It is safe for concurrent
// use. Tenant scopes run on the app role's pool and are walled in by
// row-level security alone; the service scope and table operations run on
// the service role's pool.
type Store struct {
	app     *pool // tenant scopes: NOBYPASSRLS
	service *pool // the service scope and table operations: BYPASSRLS
}

var _ store.Store = (*Store)(nil)

// Open provisions the database if cfg has an OwnerDSN, connects as the app
// and service roles, and checks that each role is what it must be (see
// checkRole) and the schema is this binary's; it refuses to open
// otherwise.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	appConfig, _ := pgx.ParseConfig(cfg.AppDSN)
	serviceConfig, _ := pgx.ParseConfig(cfg.ServiceDSN)
	for _, c := range []*pgx.ConnConfig{appConfig, serviceConfig} {
		if c.RuntimeParams == nil {
			c.RuntimeParams = map[string]string{}
		}
		if c.RuntimeParams["application_name"] == "" {
			c.RuntimeParams["application_name"] = "bulkhead-data"
		}
	}
	if cfg.OwnerDSN != "" {
		owner, err := pgx.Connect(ctx, cfg.OwnerDSN)
		if err != nil {
			return nil, fmt.Errorf("postgres data store: connect as owner: %w", err)
		}
		err = provision(ctx, owner,
			role{name: appConfig.User, password: appConfig.Password},
			role{name: serviceConfig.User, password: serviceConfig.Password, bypassRLS: true})
		owner.Close(context.Background())
		if err != nil {
			return nil, fmt.Errorf("postgres data store: provision: %w", err)
		}
	}
	size := cfg.MaxConns
	if size == 0 {
		size = DefaultMaxConns
	}
	s := &Store{app: newPool(appConfig, size), service: newPool(serviceConfig, size)}
	for _, check := range []struct {
		p      *pool
		bypass bool
	}{{s.app, false}, {s.service, true}} {
		c, err := check.p.acquire(ctx)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("postgres data store: connect as %q: %w", check.p.config.User, err)
		}
		err = checkRole(ctx, c, check.bypass)
		check.p.release(c)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("postgres data store: %w", err)
		}
	}
	return s, nil
}

// Close closes the pools' connections.
func (s *Store) Close() error {
	s.app.close()
	s.service.close()
	return nil
}

// maxAttempts bounds the retries of a transaction that a concurrent one
// upset: a serialization failure or deadlock PostgreSQL reported, or an
// insert that found its key taken after the read found it free.
const maxAttempts = 5

// errRaced is a transaction's report that a concurrent write got in
// between its read and its write; run retries it.
var errRaced = errors.New("raced a concurrent write")

// run runs fn with a connection of the pool that serves sc, and runs it
// again, after a short random pause, if it failed in a way that a retry
// can cure. fn gets the attempt number, from 1. A connection fn leaves in
// a transaction is rolled back (or closed) before it is reused.
func (s *Store) run(ctx context.Context, sc store.Scope, fn func(c *pgx.Conn, attempt int) error) error {
	p := s.app
	if sc.Service {
		p = s.service
	}
	for attempt := 1; ; attempt++ {
		c, err := p.acquire(ctx)
		if err == nil {
			err = fn(c, attempt)
			if c.PgConn().TxStatus() != 'I' {
				rollback(c)
			}
			p.release(c)
		}
		if attempt >= maxAttempts || !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(rand.Int64N(int64(attempt) * int64(2*time.Millisecond)))):
		}
	}
}

// retryable reports whether running the same transaction again may
// succeed.
func retryable(err error) bool {
	if errors.Is(err, errRaced) || pgconn.SafeToRetry(err) {
		return true
	}
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01")
}

func rollback(c *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Exec(ctx, "ROLLBACK"); err != nil {
		c.Close(ctx) // release will drop it
	}
}

// fail wraps err with the operation that failed and the errdefs kind the
// contract promises. For a tenant scope a refusal by row-level security (a
// policy violation, 42501) or by the primary key (a row the tenant cannot
// see, 23505) is ErrOutOfScope, with nothing of PostgreSQL's message,
// which may describe the row.
func fail(sc store.Scope, err error, format string, args ...any) error {
	op := fmt.Sprintf(format, args...)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case !sc.Service && (pgErr.Code == "42501" || pgErr.Code == "23505"):
			err = store.ErrOutOfScope
		case pgErr.Code == "23505":
			err = fmt.Errorf("%w: %w", errdefs.ErrConflict, err)
		case pgErr.Code == "23503": // the table was deleted under the write
			err = fmt.Errorf("the table was deleted: %w", errdefs.ErrNotFound)
		case pgErr.Code == "54000": // an index row too large: the key
			err = fmt.Errorf("key too large for the index: %w: %w", errdefs.ErrTooLarge, err)
		case pgErr.Code == "40001" || pgErr.Code == "40P01":
			err = fmt.Errorf("%w: %w", errdefs.ErrConflict, err)
		}
	}
	return fmt.Errorf("data store: %s: %w", op, err)
}

func errNoTable(name string) error {
	return fmt.Errorf("table %q: %w", name, errdefs.ErrNotFound)
}

// Tables. They run as the service role.

// CreateTable creates t.
func (s *Store) CreateTable(ctx context.Context, t store.Table) error {
	if t.Name == "" {
		return fmt.Errorf("data store: create table: empty name: %w", errdefs.ErrInvalidArgument)
	}
	err := s.run(ctx, service, func(c *pgx.Conn, _ int) error {
		_, err := c.Exec(ctx, `INSERT INTO `+schema+`.tables (name, definition, created_at) VALUES ($1, $2, $3)`,
			t.Name, nonNil(t.Definition), t.Created.UnixMilli())
		return err
	})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return fmt.Errorf("data store: create table %q: %w", t.Name, errdefs.ErrAlreadyExists)
	}
	if err != nil {
		return fail(service, err, "create table %q", t.Name)
	}
	return nil
}

// Table returns the table named name.
func (s *Store) Table(ctx context.Context, name string) (store.Table, error) {
	var t store.Table
	err := s.run(ctx, service, func(c *pgx.Conn, _ int) error {
		var err error
		t, err = scanTable(c.QueryRow(ctx, `SELECT name, definition, created_at FROM `+schema+`.tables WHERE name = $1`, name))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		err = errNoTable(name)
	}
	if err != nil {
		return store.Table{}, fail(service, err, "get table %q", name)
	}
	return t, nil
}

// Tables returns up to limit tables after the name after, by name.
func (s *Store) Tables(ctx context.Context, after string, limit int) ([]store.Table, error) {
	if err := store.CheckLimit(limit); err != nil {
		return nil, err
	}
	var ts []store.Table
	err := s.run(ctx, service, func(c *pgx.Conn, _ int) error {
		ts = nil
		rows, err := c.Query(ctx, `SELECT name, definition, created_at FROM `+schema+`.tables
			WHERE name > $1 ORDER BY name LIMIT $2`, after, sqlLimit(limit))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			t, err := scanTable(rows)
			if err != nil {
				return err
			}
			ts = append(ts, t)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fail(service, err, "list tables")
	}
	return ts, nil
}

// DeleteTable deletes a table; the foreign key's cascade deletes its items
// in the same statement.
func (s *Store) DeleteTable(ctx context.Context, name string) error {
	err := s.run(ctx, service, func(c *pgx.Conn, _ int) error {
		tag, err := c.Exec(ctx, `DELETE FROM `+schema+`.tables WHERE name = $1`, name)
		if err == nil && tag.RowsAffected() == 0 {
			err = errNoTable(name)
		}
		return err
	})
	if err != nil {
		return fail(service, err, "delete table %q", name)
	}
	return nil
}

// service is the scope of table operations.
var service = store.Scope{Service: true}

func scanTable(row pgx.Row) (store.Table, error) {
	var t store.Table
	var created int64
	if err := row.Scan(&t.Name, &t.Definition, &created); err != nil {
		return store.Table{}, err
	}
	t.Created = time.UnixMilli(created).UTC()
	return t, nil
}

// sqlLimit is limit as LIMIT reads it: NULL for none.
func sqlLimit(limit int) *int64 {
	if limit == 0 {
		return nil
	}
	l := int64(limit)
	return &l
}

// nonNil sends an empty bytea rather than NULL for a nil slice.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}
