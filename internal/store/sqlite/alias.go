package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/function"
)

const aliasColumns = `function_name, name, version, description, revision_id`

func scanAlias(row scanner) (function.Alias, error) {
	var a function.Alias
	err := row.Scan(&a.Function, &a.Name, &a.Version, &a.Description, &a.RevisionID)
	return a, err
}

// aliasTargetsExist checks that the function of a and every version it
// points to exist.
func aliasTargetsExist(ctx context.Context, tx *sql.Tx, a function.Alias) error {
	if err := functionExists(ctx, tx, a.Function); err != nil {
		return err
	}
	if err := versionExists(ctx, tx, a.Function, a.Version); err != nil {
		return err
	}
	for n := range a.AdditionalWeights {
		if err := versionExists(ctx, tx, a.Function, n); err != nil {
			return err
		}
	}
	return nil
}

func insertWeights(ctx context.Context, tx *sql.Tx, a function.Alias) error {
	for n, w := range a.AdditionalWeights {
		if _, err := tx.ExecContext(ctx, `INSERT INTO alias_weights (function_name, alias_name, version, weight)
			VALUES ($1, $2, $3, $4)`, a.Function, a.Name, n, w); err != nil {
			return err
		}
	}
	return nil
}

// CreateAlias stores a new alias.
func (s *Store) CreateAlias(ctx context.Context, a function.Alias) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := aliasTargetsExist(ctx, tx, a); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO aliases (`+aliasColumns+`) VALUES ($1, $2, $3, $4, $5)`,
			a.Function, a.Name, a.Version, a.Description, a.RevisionID); err != nil {
			return err
		}
		return insertWeights(ctx, tx, a)
	})
	if err != nil {
		return fail(err, "create alias %q of %q", a.Name, a.Function)
	}
	return nil
}

// Alias returns one alias of a function.
func (s *Store) Alias(ctx context.Context, fn, name string) (function.Alias, error) {
	var a function.Alias
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		a, err = scanAlias(tx.QueryRowContext(ctx, `SELECT `+aliasColumns+` FROM aliases
			WHERE function_name = $1 AND name = $2`, fn, name))
		if errors.Is(err, sql.ErrNoRows) {
			return errNoAlias(fn, name)
		} else if err != nil {
			return err
		}
		as := []function.Alias{a}
		err = readWeights(ctx, tx, as)
		a = as[0]
		return err
	})
	if err != nil {
		return function.Alias{}, fail(err, "get alias")
	}
	return a, nil
}

// Aliases returns up to limit aliases of a function in bytewise name order
// after the name after.
func (s *Store) Aliases(ctx context.Context, fn, after string, limit int) ([]function.Alias, error) {
	if err := checkLimit(limit); err != nil {
		return nil, fail(err, "list aliases of %q", fn)
	}
	var as []function.Alias
	err := s.read(ctx, func(tx *sql.Tx) error {
		if err := functionExists(ctx, tx, fn); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+aliasColumns+` FROM aliases
			WHERE function_name = $1 AND name > $2 ORDER BY name LIMIT $3`, fn, after, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			a, err := scanAlias(rows)
			if err != nil {
				return err
			}
			as = append(as, a)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return readWeights(ctx, tx, as)
	})
	if err != nil {
		return nil, fail(err, "list aliases of %q", fn)
	}
	return as, nil
}

// readWeights fills in the AdditionalWeights of as, aliases of one function
// in name order, with one query over their name range.
func readWeights(ctx context.Context, tx *sql.Tx, as []function.Alias) error {
	if len(as) == 0 {
		return nil
	}
	byName := make(map[string]*function.Alias, len(as))
	for i := range as {
		byName[as[i].Name] = &as[i]
	}
	rows, err := tx.QueryContext(ctx, `SELECT alias_name, version, weight FROM alias_weights
		WHERE function_name = $1 AND alias_name >= $2 AND alias_name <= $3`,
		as[0].Function, as[0].Name, as[len(as)-1].Name)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var version int
		var weight float64
		if err := rows.Scan(&name, &version, &weight); err != nil {
			return err
		}
		a := byName[name]
		if a == nil {
			continue // an alias in the range but beyond the page
		}
		if a.AdditionalWeights == nil {
			a.AdditionalWeights = map[int]float64{}
		}
		a.AdditionalWeights[version] = weight
	}
	return rows.Err()
}

// UpdateAlias replaces an alias, if its revision is ifRevision or ifRevision
// is empty.
func (s *Store) UpdateAlias(ctx context.Context, a function.Alias, ifRevision string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		var current string
		err := tx.QueryRowContext(ctx, `SELECT revision_id FROM aliases WHERE function_name = $1 AND name = $2`,
			a.Function, a.Name).Scan(&current)
		if errors.Is(err, sql.ErrNoRows) {
			return errNoAlias(a.Function, a.Name)
		} else if err != nil {
			return err
		}
		if ifRevision != "" && ifRevision != current {
			return fmt.Errorf("revision is %q, not %q: %w", current, ifRevision, errdefs.ErrPrecondition)
		}
		if err := aliasTargetsExist(ctx, tx, a); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE aliases SET version = $3, description = $4, revision_id = $5
			WHERE function_name = $1 AND name = $2`, a.Function, a.Name, a.Version, a.Description, a.RevisionID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM alias_weights WHERE function_name = $1 AND alias_name = $2`,
			a.Function, a.Name); err != nil {
			return err
		}
		return insertWeights(ctx, tx, a)
	})
	if err != nil {
		return fail(err, "update alias %q of %q", a.Name, a.Function)
	}
	return nil
}

// DeleteAlias removes an alias.
func (s *Store) DeleteAlias(ctx context.Context, fn, name string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM alias_weights WHERE function_name = $1 AND alias_name = $2`,
			fn, name); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM aliases WHERE function_name = $1 AND name = $2`, fn, name)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errNoAlias(fn, name)
		}
		return nil
	})
	if err != nil {
		return fail(err, "delete alias %q of %q", name, fn)
	}
	return nil
}
