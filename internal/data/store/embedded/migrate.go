package embedded

import (
	"embed"
	"errors"
)

// migrationFiles are the schema's history: migrations/NNNN_name.sql,
// numbered from 0001 without gaps, applied by package migration. A released
// file is never edited; a change is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// errNewerSchema marks a database that a newer binary has migrated.
var errNewerSchema = errors.New("data database schema is newer than this binary")
