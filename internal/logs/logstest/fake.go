package logstest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/logs"
)

// Fake is a logs.Store in memory, for tests of the Store's users. It passes
// StoreConformance. The zero value is an empty store.
type Fake struct {
	mu      sync.Mutex
	records []logs.Stored // by ID
	lastID  int64         // never reused, as a follower's AfterID needs
}

var _ logs.Store = (*Fake)(nil)

// Append implements logs.Store.
func (f *Fake) Append(ctx context.Context, records []logs.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range records {
		f.lastID++
		r.Time = r.Time.UTC()
		f.records = append(f.records, logs.Stored{ID: f.lastID, Record: r})
	}
	return nil
}

// Query implements logs.Store.
func (f *Fake) Query(ctx context.Context, q logs.Query) ([]logs.Stored, error) {
	limit, err := checkQuery(q)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []logs.Stored
	for _, s := range f.records {
		if len(out) == limit {
			break
		}
		if matches(q, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// Prune implements logs.Store.
func (f *Fake) Prune(ctx context.Context, before time.Time, maxBytes int64) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var kept []logs.Stored
	var total int64
	for _, s := range f.records {
		if before.IsZero() || !s.Time.Before(before) {
			kept = append(kept, s)
			total += int64(len(s.Message))
		}
	}
	first := 0 // of kept
	for maxBytes > 0 && total > maxBytes {
		total -= int64(len(kept[first].Message))
		first++
	}
	removed := int64(len(f.records) - len(kept) + first)
	f.records = kept[first:]
	return removed, nil
}

// checkQuery returns the error a Store returns for q, if any, and the
// number of records q may return.
func checkQuery(q logs.Query) (limit int, err error) {
	switch {
	case q.Function == "":
		return 0, fmt.Errorf("log query: a function is required: %w", errdefs.ErrInvalidArgument)
	case q.Limit < 0:
		return 0, fmt.Errorf("log query: limit %d: %w", q.Limit, errdefs.ErrInvalidArgument)
	case q.Limit == 0:
		return logs.DefaultLimit, nil
	}
	return min(q.Limit, logs.MaxLimit), nil
}

// matches reports whether q selects s; it ignores q.Limit.
func matches(q logs.Query, s logs.Stored) bool {
	return s.Function == q.Function &&
		(!q.TenantSet || s.Tenant == q.Tenant) &&
		(q.RequestID == "" || s.RequestID == q.RequestID) &&
		(q.Since.IsZero() || !s.Time.Before(q.Since)) &&
		(q.Until.IsZero() || s.Time.Before(q.Until)) &&
		strings.Contains(s.Message, q.Text) &&
		s.ID > q.AfterID
}
