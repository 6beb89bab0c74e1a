package plan

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
)

// Window returns the calendar period of the given kind that contains now, in
// UTC, as [start, end): a DAY starts at 00:00, a WEEK on Monday at 00:00, a
// MONTH on the 1st at 00:00. An unknown period gives two zero times; Validate
// rejects a quota with one.
func Window(period string, now time.Time) (start, end time.Time) {
	u := now.UTC()
	day := time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC)
	switch period {
	case PeriodDay:
		return day, day.AddDate(0, 0, 1)
	case PeriodWeek:
		start = day.AddDate(0, 0, -(int(day.Weekday())+6)%7) // days since Monday
		return start, start.AddDate(0, 0, 7)
	case PeriodMonth:
		start = time.Date(u.Year(), u.Month(), 1, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 1, 0)
	}
	return time.Time{}, time.Time{}
}

// LimitAt returns how many requests q allows in the window containing now,
// for a subject that the plan has applied to since the given time: Limit,
// less Offset in the window that contains since. A zero since has no first
// window, so Offset never applies. A now before since's window is counted as
// the first window, the stricter choice.
func (q Quota) LimitAt(since, now time.Time) int64 {
	if since.IsZero() {
		return q.Limit
	}
	start, _ := Window(q.Period, now)
	first, _ := Window(q.Period, since)
	if start.After(first) {
		return q.Limit
	}
	return q.Limit - q.Offset
}

// QuotaStore counts requests per (key, window start) durably. The Enforcer
// is its user; MemoryQuotas and the SQLite store satisfy it, and
// plantest.QuotaStoreConformance holds every implementation to this contract.
//
// Keys are UTF-8 strings without NUL, compared byte for byte.
// Windows are window starts from Window, UTC midnights; a store may keep them
// to the second, and must treat equal instants as the same window whatever
// their time.Location. A store counts nothing for a done ctx and returns an
// error wrapping ctx.Err().
type QuotaStore interface {
	// Take adds n to the count of (key, window) if the result stays ≤ limit,
	// atomically, and returns the count after (or the unchanged count and
	// false when it would exceed). n < 1 or limit < 0 is an
	// errdefs.ErrInvalidArgument. Counts near math.MaxInt64 must not
	// overflow: the check is n ≤ limit − count.
	Take(ctx context.Context, key string, window time.Time, n, limit int64) (used int64, ok bool, err error)
	// Used returns the count of (key, window), 0 if none.
	Used(ctx context.Context, key string, window time.Time) (int64, error)
}

// MemoryQuotas is a QuotaStore in memory, for tests and for a single process
// that may forget its counts when it stops. It keeps every (key, window) it
// has counted; one mutex guards them.
type MemoryQuotas struct {
	mu     sync.Mutex
	counts map[counter]int64
}

var _ QuotaStore = (*MemoryQuotas)(nil)

// counter identifies a count: the window as seconds and nanoseconds, so that
// the same instant in any time.Location is the same window.
type counter struct {
	key  string
	sec  int64
	nsec int
}

func counterOf(key string, window time.Time) counter {
	return counter{key: key, sec: window.Unix(), nsec: window.Nanosecond()}
}

// NewMemoryQuotas returns an empty MemoryQuotas.
func NewMemoryQuotas() *MemoryQuotas {
	return &MemoryQuotas{counts: make(map[counter]int64)}
}

// Take implements QuotaStore.
func (m *MemoryQuotas) Take(ctx context.Context, key string, window time.Time, n, limit int64) (int64, bool, error) {
	if err := checkTake(key, n, limit); err != nil {
		return 0, false, err
	}
	if err := ctx.Err(); err != nil {
		return 0, false, fmt.Errorf("quota %q: %w", key, err)
	}
	c := counterOf(key, window)
	m.mu.Lock()
	defer m.mu.Unlock()
	used := m.counts[c]
	if n > limit-used { // limit ≥ 0 and used ≥ 0, so this cannot overflow
		return used, false, nil
	}
	used += n
	m.counts[c] = used
	return used, true, nil
}

// Used implements QuotaStore.
func (m *MemoryQuotas) Used(ctx context.Context, key string, window time.Time) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("quota %q: %w", key, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.counts[counterOf(key, window)], nil
}

// checkTake rejects the arguments QuotaStore.Take does not accept.
func checkTake(key string, n, limit int64) error {
	switch {
	case n < 1:
		return errdefs.New(errdefs.ErrInvalidArgument, "quota %q: cannot take %d requests", key, n)
	case limit < 0:
		return errdefs.New(errdefs.ErrInvalidArgument, "quota %q: limit %d is negative", key, limit)
	}
	return nil
}
