package plan_test

import (
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/bulkhead-dev/bulkhead/internal/gateway/plan"
	"github.com/bulkhead-dev/bulkhead/internal/gateway/plan/plantest"
)

func TestMemoryQuotasConformance(t *testing.T) {
	plantest.QuotaStoreConformance(t, func(t *testing.T) plan.QuotaStore { return plan.NewMemoryQuotas() })
}

func date(year int, month time.Month, day int) time.Time {
	return time.Date(year, month, day, 0, 0, 0, 0, time.UTC)
}

func TestQuotaWindow(t *testing.T) {
	t.Parallel()
	plus5 := time.FixedZone("+05:00", 5*3600)
	minus8 := time.FixedZone("-08:00", -8*3600)
	tests := []struct {
		name       string
		period     string
		now        time.Time
		start, end time.Time
	}{
		{"DayMidDay", plan.PeriodDay, time.Date(2026, 3, 15, 13, 45, 0, 0, time.UTC), date(2026, 3, 15), date(2026, 3, 16)},
		{"DayAtMidnight", plan.PeriodDay, date(2026, 3, 15), date(2026, 3, 15), date(2026, 3, 16)},
		{"DayLastNanosecond", plan.PeriodDay, date(2026, 3, 16).Add(-1), date(2026, 3, 15), date(2026, 3, 16)},
		{"DayLocalIsUTC", plan.PeriodDay, time.Date(2026, 3, 15, 1, 0, 0, 0, plus5), date(2026, 3, 14), date(2026, 3, 15)},
		{"DayWestOfUTC", plan.PeriodDay, time.Date(2026, 3, 15, 20, 0, 0, 0, minus8), date(2026, 3, 16), date(2026, 3, 17)},
		{"DayLeap", plan.PeriodDay, time.Date(2028, 2, 29, 23, 0, 0, 0, time.UTC), date(2028, 2, 29), date(2028, 3, 1)},
		{"DayYearEnd", plan.PeriodDay, time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC), date(2026, 12, 31), date(2027, 1, 1)},

		{"WeekMonday", plan.PeriodWeek, date(2026, 3, 16), date(2026, 3, 16), date(2026, 3, 23)},
		{"WeekSundayNight", plan.PeriodWeek, date(2026, 3, 16).Add(-time.Nanosecond), date(2026, 3, 9), date(2026, 3, 16)},
		{"WeekWednesday", plan.PeriodWeek, time.Date(2026, 3, 18, 12, 0, 0, 0, time.UTC), date(2026, 3, 16), date(2026, 3, 23)},
		{"WeekAcrossYear", plan.PeriodWeek, date(2026, 1, 1), date(2025, 12, 29), date(2026, 1, 5)},
		{"WeekAcrossMonth", plan.PeriodWeek, date(2026, 3, 1), date(2026, 2, 23), date(2026, 3, 2)},
		{"WeekAcrossLeapDay", plan.PeriodWeek, date(2028, 3, 1), date(2028, 2, 28), date(2028, 3, 6)},
		{"WeekLocalMonday", plan.PeriodWeek, time.Date(2026, 3, 16, 3, 0, 0, 0, plus5), date(2026, 3, 9), date(2026, 3, 16)},

		{"MonthFirst", plan.PeriodMonth, date(2026, 3, 1), date(2026, 3, 1), date(2026, 4, 1)},
		{"MonthLastNanosecondOf31", plan.PeriodMonth, date(2026, 2, 1).Add(-1), date(2026, 1, 1), date(2026, 2, 1)},
		{"MonthFebruary", plan.PeriodMonth, date(2026, 2, 28), date(2026, 2, 1), date(2026, 3, 1)},
		{"MonthLeapFebruary", plan.PeriodMonth, time.Date(2028, 2, 29, 12, 0, 0, 0, time.UTC), date(2028, 2, 1), date(2028, 3, 1)},
		{"MonthCenturyNotLeap", plan.PeriodMonth, date(2100, 2, 28), date(2100, 2, 1), date(2100, 3, 1)},
		{"MonthApril30", plan.PeriodMonth, time.Date(2026, 4, 30, 23, 0, 0, 0, time.UTC), date(2026, 4, 1), date(2026, 5, 1)},
		{"MonthDecember", plan.PeriodMonth, time.Date(2026, 12, 31, 23, 59, 59, 999999999, time.UTC), date(2026, 12, 1), date(2027, 1, 1)},
		{"MonthLocalIsUTC", plan.PeriodMonth, time.Date(2026, 4, 1, 2, 0, 0, 0, plus5), date(2026, 3, 1), date(2026, 4, 1)},

		{"Unknown", "YEAR", date(2026, 3, 1), time.Time{}, time.Time{}},
		{"LowerCase", "day", date(2026, 3, 1), time.Time{}, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, end := plan.Window(tt.period, tt.now)
			if !start.Equal(tt.start) || !end.Equal(tt.end) {
				t.Errorf("Window(%s, %v) = [%v, %v), want [%v, %v)", tt.period, tt.now, start, end, tt.start, tt.end)
			}
			if !start.IsZero() && (start.Location() != time.UTC || end.Location() != time.UTC) {
				t.Errorf("Window(%s, %v) is in %v, want UTC", tt.period, tt.now, start.Location())
			}
		})
	}
}

// TestQuotaWindowProperties checks, for any time and period, that the window
// contains the time, starts at a UTC midnight on the right day, and is
// followed directly by the next window.
func TestQuotaWindowProperties(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(rt *rapid.T) {
		period := rapid.SampledFrom([]string{plan.PeriodDay, plan.PeriodWeek, plan.PeriodMonth}).Draw(rt, "period")
		sec := rapid.Int64Range(date(1970, 1, 1).Unix(), date(2200, 1, 1).Unix()).Draw(rt, "sec")
		zone := time.FixedZone("z", rapid.IntRange(-12, 14).Draw(rt, "zone")*3600)
		now := time.Unix(sec, rapid.Int64Range(0, 999999999).Draw(rt, "nsec")).In(zone)

		start, end := plan.Window(period, now)
		if now.Before(start) || !now.Before(end) {
			rt.Fatalf("Window(%s, %v) = [%v, %v) does not contain it", period, now, start, end)
		}
		if start.Location() != time.UTC || !start.Equal(start.Truncate(24*time.Hour)) {
			rt.Fatalf("Window(%s, %v) starts at %v, not a UTC midnight", period, now, start)
		}
		switch period {
		case plan.PeriodDay:
			if end.Sub(start) != 24*time.Hour {
				rt.Fatalf("day window [%v, %v) is not 24 h", start, end)
			}
		case plan.PeriodWeek:
			if start.Weekday() != time.Monday || end.Sub(start) != 7*24*time.Hour {
				rt.Fatalf("week window [%v, %v) is not Monday to Monday", start, end)
			}
		case plan.PeriodMonth:
			if start.Day() != 1 || end.Day() != 1 || !end.AddDate(0, -1, 0).Equal(start) {
				rt.Fatalf("month window [%v, %v) is not one calendar month", start, end)
			}
		}
		if next, _ := plan.Window(period, end); !next.Equal(end) {
			rt.Fatalf("the window after [%v, %v) starts at %v", start, end, next)
		}
		if prev, _ := plan.Window(period, start.Add(-time.Nanosecond)); prev.After(start) || !prev.Before(start) {
			rt.Fatalf("the window before [%v, %v) starts at %v", start, end, prev)
		}
	})
}

func TestQuotaLimitAt(t *testing.T) {
	t.Parallel()
	since := time.Date(2026, 3, 15, 17, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		period string
		since  time.Time
		now    time.Time
		want   int64
	}{
		{"MonthFirst", plan.PeriodMonth, since, date(2026, 3, 31), 70},
		{"MonthSameInstant", plan.PeriodMonth, since, since, 70},
		{"MonthBeforeSinceSameWindow", plan.PeriodMonth, since, date(2026, 3, 2), 70},
		{"MonthSecond", plan.PeriodMonth, since, date(2026, 4, 1), 100},
		{"MonthYearLater", plan.PeriodMonth, since, date(2027, 3, 20), 100},
		{"MonthEarlierWindow", plan.PeriodMonth, since, date(2026, 2, 10), 70}, // before it applied: the stricter limit
		{"DayFirst", plan.PeriodDay, since, time.Date(2026, 3, 15, 23, 59, 59, 0, time.UTC), 70},
		{"DaySecond", plan.PeriodDay, since, date(2026, 3, 16), 100},
		{"WeekFirst", plan.PeriodWeek, since, date(2026, 3, 15), 70}, // Sunday: the week began on the 9th
		{"WeekSecond", plan.PeriodWeek, since, date(2026, 3, 16), 100},
		{"SinceInAnotherZone", plan.PeriodDay, time.Date(2026, 3, 16, 1, 0, 0, 0, time.FixedZone("+05:00", 5*3600)), date(2026, 3, 15), 70},
		{"NoSince", plan.PeriodMonth, time.Time{}, date(2026, 3, 31), 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := plan.Quota{Limit: 100, Offset: 30, Period: tt.period}
			if got := q.LimitAt(tt.since, tt.now); got != tt.want {
				t.Errorf("LimitAt(%v, %v) = %d, want %d", tt.since, tt.now, got, tt.want)
			}
		})
	}
}
