package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/iam"
)

var _ iam.Store = (*Store)(nil)

// CreateRole stores a new role.
func (s *Store) CreateRole(ctx context.Context, r iam.Role) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO roles (name, id, description, policy, max_session, created, updated)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, r.Name, r.ID, r.Description, string(r.Policy), r.MaxSessionDuration,
		r.Created.UnixMilli(), r.Updated.UnixMilli())
	if err != nil {
		if err = fail(err, "create role"); errors.Is(err, errdefs.ErrAlreadyExists) {
			return errdefs.New(errdefs.ErrAlreadyExists, "Role with name %s already exists.", r.Name)
		}
	}
	return err
}

// UpdateRole replaces a role's description, policy and session limit.
func (s *Store) UpdateRole(ctx context.Context, r iam.Role) error {
	res, err := s.db.ExecContext(ctx, `UPDATE roles SET description = ?, policy = ?, max_session = ?, updated = ? WHERE name = ?`,
		r.Description, string(r.Policy), r.MaxSessionDuration, r.Updated.UnixMilli(), r.Name)
	return oneRow(res, err, "The role with name "+r.Name+" cannot be found.")
}

// DeleteRole removes a role.
func (s *Store) DeleteRole(ctx context.Context, name string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM roles WHERE name = ?`, name)
	return oneRow(res, err, "The role with name "+name+" cannot be found.")
}

// ListRoles returns every role.
func (s *Store) ListRoles(ctx context.Context) ([]iam.Role, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, id, description, policy, max_session, created, updated FROM roles ORDER BY name`)
	if err != nil {
		return nil, fail(err, "list roles")
	}
	defer rows.Close()
	var out []iam.Role
	for rows.Next() {
		var r iam.Role
		var doc string
		var created, updated int64
		if err := rows.Scan(&r.Name, &r.ID, &r.Description, &doc, &r.MaxSessionDuration, &created, &updated); err != nil {
			return nil, fail(err, "list roles")
		}
		r.Policy = json.RawMessage(doc)
		r.Created, r.Updated = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}
