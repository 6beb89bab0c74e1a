package sqlite

import (
	"encoding/json"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/function"
)

// configJSON is how a version's function.Config is stored: a JSON document
// whose key names are part of the database format. They are spelled out here
// so that renaming a Go field cannot silently orphan what older databases
// hold: a rename breaks the conversions below at compile time, and a new
// field that is not added here fails the conformance round trip.
// Adding a key needs no migration; rows written before it decode as the
// zero value.
type configJSON struct {
	Runtime          string            `json:"runtime"`
	Handler          string            `json:"handler"`
	Role             string            `json:"role"`
	Description      string            `json:"description"`
	MemorySize       int               `json:"memory_size"`
	Timeout          int               `json:"timeout"`
	EphemeralStorage int               `json:"ephemeral_storage"`
	Environment      map[string]string `json:"environment"`
	Architecture     string            `json:"architecture"`
	Logging          loggingJSON       `json:"logging"`
}

type loggingJSON struct {
	Format              string `json:"format"`
	ApplicationLogLevel string `json:"application_log_level"`
	SystemLogLevel      string `json:"system_log_level"`
	LogGroup            string `json:"log_group"`
}

func encodeConfig(c function.Config) (string, error) {
	b, err := json.Marshal(configJSON{
		Runtime:          c.Runtime,
		Handler:          c.Handler,
		Role:             c.Role,
		Description:      c.Description,
		MemorySize:       c.MemorySize,
		Timeout:          c.Timeout,
		EphemeralStorage: c.EphemeralStorage,
		Environment:      c.Environment,
		Architecture:     c.Architecture,
		Logging: loggingJSON{
			Format:              c.Logging.Format,
			ApplicationLogLevel: c.Logging.ApplicationLogLevel,
			SystemLogLevel:      c.Logging.SystemLogLevel,
			LogGroup:            c.Logging.LogGroup,
		},
	})
	return string(b), err
}

func decodeConfig(text string) (function.Config, error) {
	var c configJSON
	if err := json.Unmarshal([]byte(text), &c); err != nil {
		return function.Config{}, err
	}
	return function.Config{
		Runtime:          c.Runtime,
		Handler:          c.Handler,
		Role:             c.Role,
		Description:      c.Description,
		MemorySize:       c.MemorySize,
		Timeout:          c.Timeout,
		EphemeralStorage: c.EphemeralStorage,
		Environment:      c.Environment,
		Architecture:     c.Architecture,
		Logging: function.Logging{
			Format:              c.Logging.Format,
			ApplicationLogLevel: c.Logging.ApplicationLogLevel,
			SystemLogLevel:      c.Logging.SystemLogLevel,
			LogGroup:            c.Logging.LogGroup,
		},
	}, nil
}

// Tags are a JSON object (null for none).
func encodeTags(tags map[string]string) (string, error) {
	b, err := json.Marshal(tags)
	return string(b), err
}

func decodeTags(text string) (map[string]string, error) {
	var tags map[string]string
	err := json.Unmarshal([]byte(text), &tags)
	return tags, err
}

// Times are stored as Unix milliseconds: the precision Lambda reports
// (LastModified is "2006-01-02T15:04:05.000+0000"), an integer both SQLite and
// PostgreSQL order and compare exactly, read back in UTC.
func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
