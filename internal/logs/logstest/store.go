// Package logstest holds what tests of logs.Store need: the conformance
// suite every implementation must pass (StoreConformance) and an in-memory
// Store for tests of its users (Fake), which passes the suite too, so that
// it cannot drift from the real stores.
//
// A backend proves itself by running the suite with a constructor of empty
// stores:
//
//	func TestLogStoreSQLiteConformance(t *testing.T) {
//		logstest.StoreConformance(t, func(t *testing.T) logs.Store {
//			return open(t, filepath.Join(t.TempDir(), "bulkhead.db")).Logs()
//		})
//	}
package logstest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/logs"
)

// StoreConformance checks that the stores newStore makes keep the contract of
// logs.Store. newStore is called once per subtest, possibly from several
// subtests at once; each call must return an empty store independent of the
// others, and release it through t.Cleanup.
//
// Beyond what logs.go states, the suite holds stores to these choices:
//   - Times are kept to the nanosecond and come back in UTC.
//   - Strings are kept byte for byte, NUL and invalid UTF-8 included.
//   - IDs are positive and never reused, not even after Prune removed every
//     record, so a follower's AfterID stays valid.
//   - A follower that queries with AfterID set to the last ID it saw misses
//     no record, however many are appended concurrently: IDs are assigned in
//     the order appends commit.
//   - Text matches bytes, as strings.Contains does: no pattern characters,
//     no case folding, no normalization.
//   - A Limit above MaxLimit is cut to MaxLimit; a negative one, a missing
//     Function, is ErrInvalidArgument.
//   - "Older than before" is strictly before; Prune with a zero before
//     removes nothing by age. "The oldest" records Prune removes by size are
//     those appended first (lowest IDs), whatever their times; sizes are
//     Message lengths in bytes.
func StoreConformance(t *testing.T, newStore func(t *testing.T) logs.Store) {
	tests := []struct {
		name string
		test func(t *testing.T, s logs.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"OrderByID", testOrderByID},
		{"QueryInvalid", testQueryInvalid},
		{"QueryFilters", testQueryFilters},
		{"QueryText", testQueryText},
		{"QueryLimit", testQueryLimit},
		{"TenantIsolationConcurrent", testTenantIsolationConcurrent},
		{"PruneByAge", testPruneByAge},
		{"PruneBySize", testPruneBySize},
		{"PruneByAgeThenSize", testPruneByAgeThenSize},
		{"IDsNeverReused", testIDsNeverReused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.test(t, newStore(t))
		})
	}
}

// sampleTime has nanoseconds and a zone other than UTC, so a round trip shows
// what a store does to times.
var sampleTime = time.Date(2026, 11, 23, 10, 11, 12, 345678901, time.FixedZone("CET", 60*60))

// at is sampleTime plus s seconds.
func at(s int) time.Time { return sampleTime.Add(time.Duration(s) * time.Second) }

// stored is what a store gives back for r with id.
func stored(id int64, r logs.Record) logs.Stored {
	r.Time = r.Time.UTC()
	return logs.Stored{ID: id, Record: r}
}

// timeOptions compare times by instant and location.
var timeOptions = cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) && a.Location() == b.Location() })

func diff(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got, timeOptions); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

func appendOK(t *testing.T, s logs.Store, records ...logs.Record) {
	t.Helper()
	if err := s.Append(t.Context(), records); err != nil {
		t.Fatalf("Append(%d records): %v", len(records), err)
	}
}

func query(t *testing.T, s logs.Store, q logs.Query) []logs.Stored {
	t.Helper()
	got, err := s.Query(t.Context(), q)
	if err != nil {
		t.Fatalf("Query(%+v): %v", q, err)
	}
	return got
}

func prune(t *testing.T, s logs.Store, before time.Time, maxBytes int64) int64 {
	t.Helper()
	n, err := s.Prune(t.Context(), before, maxBytes)
	if err != nil {
		t.Fatalf("Prune(%v, %d): %v", before, maxBytes, err)
	}
	return n
}

func messages(ss []logs.Stored) []string {
	ms := make([]string, len(ss))
	for i, s := range ss {
		ms[i] = s.Message
	}
	return ms
}

func ids(ss []logs.Stored) []int64 {
	is := make([]int64, len(ss))
	for i, s := range ss {
		is[i] = s.ID
	}
	return is
}

// wantIncreasing checks that ss are in strictly increasing ID order, IDs
// positive.
func wantIncreasing(t *testing.T, what string, ss []logs.Stored) {
	t.Helper()
	for i, s := range ss {
		if s.ID <= 0 || i > 0 && s.ID <= ss[i-1].ID {
			t.Errorf("%s: IDs %v are not positive and increasing", what, ids(ss))
			return
		}
	}
}

func testRoundTrip(t *testing.T, s logs.Store) {
	full := logs.Record{
		Time:      sampleTime,
		Tenant:    "tenant-1",
		Function:  "every-field",
		Version:   "3",
		RequestID: "8f5c1d9e-3b1a-4c3e-9a57-1d2b3c4d5e6f",
		EnvID:     "env-42",
		Type:      logs.TypeFunction,
		Stream:    "stderr",
		Message:   "a line\twith tabs, 'quotes', \"double\", é, 🙂, NUL \x00 and invalid UTF-8 \xff\xfe",
	}
	sparse := logs.Record{
		Time:     sampleTime.Add(-time.Hour),
		Function: "zero-values",
		Type:     logs.TypeInitStart,
	}
	if err := s.Append(t.Context(), nil); err != nil {
		t.Errorf("Append(nil) = %v, want nil", err)
	}
	appendOK(t, s, full)
	appendOK(t, s, sparse)

	gotFull := query(t, s, logs.Query{Function: "every-field"})
	gotSparse := query(t, s, logs.Query{Function: "zero-values"})
	if len(gotFull) != 1 || len(gotSparse) != 1 {
		t.Fatalf("Query returned %d and %d records, want 1 each", len(gotFull), len(gotSparse))
	}
	diff(t, "record with every field", []logs.Stored{stored(gotFull[0].ID, full)}, gotFull)
	diff(t, "record with zero values", []logs.Stored{stored(gotSparse[0].ID, sparse)}, gotSparse)
	if gotFull[0].ID <= 0 || gotSparse[0].ID <= gotFull[0].ID {
		t.Errorf("IDs %d then %d: want positive and growing in append order", gotFull[0].ID, gotSparse[0].ID)
	}
	// The tenant "" is a tenant like any other.
	diff(t, `tenant ""`, gotSparse, query(t, s, logs.Query{Function: "zero-values", TenantSet: true}))
	diff(t, `tenant "" of a function with a tenant`, []logs.Stored(nil),
		query(t, s, logs.Query{Function: "every-field", TenantSet: true}))
}

func testOrderByID(t *testing.T, s logs.Store) {
	// Times run backwards and repeat: the order is the order of appending.
	var want []string
	for batch := range 3 {
		var rs []logs.Record
		for i := range 4 {
			msg := fmt.Sprintf("batch %d record %d", batch, i)
			rs = append(rs, logs.Record{Time: at(-batch - i%2), Function: "f", Type: logs.TypeFunction, Message: msg})
			want = append(want, msg)
		}
		appendOK(t, s, rs...)
	}
	got := query(t, s, logs.Query{Function: "f"})
	if !slices.Equal(messages(got), want) {
		t.Errorf("order = %q, want the order of appending %q", messages(got), want)
	}
	wantIncreasing(t, "records", got)
}

func testQueryInvalid(t *testing.T, s logs.Store) {
	appendOK(t, s, logs.Record{Time: sampleTime, Function: "f", Message: "m"})
	for _, q := range []logs.Query{
		{},
		{Tenant: "a", TenantSet: true, RequestID: "r", Text: "m"},
		{Function: "f", Limit: -1},
		{Function: "f", Limit: -logs.MaxLimit},
	} {
		got, err := s.Query(t.Context(), q)
		if !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("Query(%+v) = %d records, %v; want ErrInvalidArgument", q, len(got), err)
		}
	}
}

func testQueryFilters(t *testing.T, s logs.Store) {
	// Record k is at second k plus k nanoseconds, so bounds are exact to
	// the nanosecond.
	ns := func(k int) time.Time { return at(k).Add(time.Duration(k)) }
	rec := func(k int, function, tenant, requestID, message string) logs.Record {
		return logs.Record{
			Time: ns(k), Tenant: tenant, Function: function, Version: "1", RequestID: requestID,
			EnvID: "env", Type: logs.TypeFunction, Stream: "stdout", Message: message,
		}
	}
	records := []logs.Record{
		rec(0, "f", "a", "r1", "0 alpha start"),
		rec(1, "f", "a", "r1", "1 alpha done"),
		rec(2, "f", "ab", "r2", "2 beta start"),
		rec(3, "f", "", "", "3 init"),
		rec(4, "f", "a", "r3", "4 alpha again"),
		rec(5, "f", "ab", "r1", "5 beta, with a's request id"),
		rec(1, "g", "a", "r1", "6 alpha in g"),
		rec(6, "f", "A", "r4", "7 upper-case tenant"),
		rec(7, "f", "a ", "r5", "8 tenant with a trailing space"),
		rec(8, "f-", "a", "r1", "9 function whose name extends f"),
	}
	appendOK(t, s, records[:4]...)
	appendOK(t, s, records[4:]...)
	all := append(query(t, s, logs.Query{Function: "f"}), query(t, s, logs.Query{Function: "g"})...)
	all = append(all, query(t, s, logs.Query{Function: "f-"})...)
	slices.SortFunc(all, func(a, b logs.Stored) int { return int(a.ID - b.ID) })
	if len(all) != len(records) {
		t.Fatalf("stored %d records, found %d", len(records), len(all))
	}
	id := func(k int) int64 { return all[k].ID }
	for k, r := range records {
		diff(t, fmt.Sprint("record ", k), stored(id(k), r), all[k])
	}

	for _, c := range []struct {
		name string
		q    logs.Query
		want []int // indexes of records
	}{
		{"function", logs.Query{Function: "f"}, []int{0, 1, 2, 3, 4, 5, 7, 8}},
		{"another function", logs.Query{Function: "g"}, []int{6}},
		{"a function without records", logs.Query{Function: "h"}, nil},
		{"a function whose name extends another", logs.Query{Function: "f-"}, []int{9}},
		{"tenant", logs.Query{Function: "f", Tenant: "a", TenantSet: true}, []int{0, 1, 4}},
		{"tenant extended by another", logs.Query{Function: "f", Tenant: "ab", TenantSet: true}, []int{2, 5}},
		{"tenant with a trailing space", logs.Query{Function: "f", Tenant: "a ", TenantSet: true}, []int{8}},
		{"tenant in upper case", logs.Query{Function: "f", Tenant: "A", TenantSet: true}, []int{7}},
		{`tenant ""`, logs.Query{Function: "f", Tenant: "", TenantSet: true}, []int{3}},
		{"tenant without records", logs.Query{Function: "f", Tenant: "b", TenantSet: true}, nil},
		{"tenant not set", logs.Query{Function: "f", Tenant: "a"}, []int{0, 1, 2, 3, 4, 5, 7, 8}},
		{"request", logs.Query{Function: "f", RequestID: "r1"}, []int{0, 1, 5}},
		{"request of another tenant", logs.Query{Function: "f", Tenant: "a", TenantSet: true, RequestID: "r2"}, nil},
		{"request and tenant", logs.Query{Function: "f", Tenant: "a", TenantSet: true, RequestID: "r1"}, []int{0, 1}},
		{"request without records", logs.Query{Function: "f", RequestID: "r"}, nil},
		{"since, inclusive", logs.Query{Function: "f", Since: ns(4)}, []int{4, 5, 7, 8}},
		{"since, to the nanosecond", logs.Query{Function: "f", Since: ns(4).Add(1)}, []int{5, 7, 8}},
		{"since in another zone", logs.Query{Function: "f", Since: ns(4).In(time.FixedZone("X", -5*3600))}, []int{4, 5, 7, 8}},
		{"until, exclusive", logs.Query{Function: "f", Until: ns(2)}, []int{0, 1}},
		{"until, to the nanosecond", logs.Query{Function: "f", Until: ns(2).Add(1)}, []int{0, 1, 2}},
		{"since and until", logs.Query{Function: "f", Since: ns(1), Until: ns(4)}, []int{1, 2, 3}},
		{"since equal to until", logs.Query{Function: "f", Since: ns(1), Until: ns(1)}, nil},
		{"since after until", logs.Query{Function: "f", Since: ns(4), Until: ns(1)}, nil},
		{"text", logs.Query{Function: "f", Text: "alpha"}, []int{0, 1, 4}},
		{"text and tenant", logs.Query{Function: "f", Tenant: "ab", TenantSet: true, Text: "start"}, []int{2}},
		{"after id", logs.Query{Function: "f", AfterID: id(1)}, []int{2, 3, 4, 5, 7, 8}},
		{"after id, tenant", logs.Query{Function: "f", Tenant: "a", TenantSet: true, AfterID: id(1)}, []int{4}},
		{"after the last id", logs.Query{Function: "f", AfterID: id(9)}, nil},
		{"limit", logs.Query{Function: "f", Limit: 2}, []int{0, 1}},
		{"limit and tenant", logs.Query{Function: "f", Tenant: "ab", TenantSet: true, Limit: 1}, []int{2}},
		{"limit and after id", logs.Query{Function: "f", AfterID: id(2), Limit: 2}, []int{3, 4}},
		{"every filter", logs.Query{
			Function: "f", Tenant: "a", TenantSet: true, RequestID: "r1", Since: ns(0), Until: ns(2),
			Text: "done", AfterID: id(0), Limit: 5,
		}, []int{1}},
		{"every filter, one excluding", logs.Query{
			Function: "f", Tenant: "a", TenantSet: true, RequestID: "r1", Since: ns(0), Until: ns(1),
			Text: "done", AfterID: id(0), Limit: 5,
		}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			var want []logs.Stored
			for _, k := range c.want {
				want = append(want, all[k])
			}
			diff(t, fmt.Sprintf("Query(%+v)", c.q), want, query(t, s, c.q))
		})
	}
}

func testQueryText(t *testing.T, s logs.Store) {
	lines := []string{
		"100%", "100 percent", "a_b", "axb", `back\slash`, "back/slash", `a\%b`, "[abc]", "a",
		"a*b", "^$", "MiXeD", "mixed", "é", "e\u0301", "quote'd", `dq"`, "nul\x00byte", "bad\x80utf8",
		"", "   ",
	}
	var rs []logs.Record
	for _, l := range lines {
		rs = append(rs, logs.Record{Time: sampleTime, Function: "f", Type: logs.TypeFunction, Message: l})
	}
	appendOK(t, s, rs...)
	for _, c := range []struct {
		text string
		want []string
	}{
		{"", lines},
		{"%", []string{"100%", `a\%b`}},
		{"0%", []string{"100%"}},
		{"_", []string{"a_b"}},
		{"a_b", []string{"a_b"}},
		{`\`, []string{`back\slash`, `a\%b`}},
		{`\%`, []string{`a\%b`}},
		{`\slash`, []string{`back\slash`}},
		{"[abc]", []string{"[abc]"}},
		{"[a", []string{"[abc]"}},
		{"*", []string{"a*b"}},
		{"^$", []string{"^$"}},
		{"mixed", []string{"mixed"}},
		{"MIXED", nil},
		{"é", []string{"é"}},
		{"e", []string{"100 percent", "MiXeD", "mixed", "e\u0301", "quote'd", "nul\x00byte"}},
		{"'", []string{"quote'd"}},
		{`"`, []string{`dq"`}},
		{"\x00b", []string{"nul\x00byte"}},
		{"\x80", []string{"bad\x80utf8"}},
		{" ", []string{"100 percent", "   "}},
		{"   ", []string{"   "}},
		{"100%!", nil},
	} {
		got := query(t, s, logs.Query{Function: "f", Text: c.text})
		if !slices.Equal(messages(got), c.want) {
			t.Errorf("Text %q: found %q, want %q", c.text, messages(got), c.want)
		}
	}
}

func testQueryLimit(t *testing.T, s logs.Store) {
	const n = logs.MaxLimit + 5
	rs := make([]logs.Record, n)
	for i := range rs {
		rs[i] = logs.Record{Time: sampleTime, Function: "f", Type: logs.TypeFunction, Message: fmt.Sprint(i)}
	}
	appendOK(t, s, rs...)
	for _, c := range []struct {
		limit, want int
	}{
		{0, logs.DefaultLimit},
		{1, 1},
		{7, 7},
		{logs.MaxLimit, logs.MaxLimit},
		{logs.MaxLimit + 1, logs.MaxLimit},
		{1 << 40, logs.MaxLimit},
	} {
		got := query(t, s, logs.Query{Function: "f", Limit: c.limit})
		if len(got) != c.want {
			t.Errorf("Limit %d: %d records, want %d", c.limit, len(got), c.want)
			continue
		}
		if got[0].Message != "0" || got[len(got)-1].Message != fmt.Sprint(c.want-1) {
			t.Errorf("Limit %d: records %q…%q, want the oldest", c.limit, got[0].Message, got[len(got)-1].Message)
		}
	}
	// Following through pages finds every record once, in order.
	var all []logs.Stored
	for after := int64(0); ; {
		page := query(t, s, logs.Query{Function: "f", AfterID: after, Limit: 3000})
		if len(page) == 0 {
			break
		}
		all = append(all, page...)
		after = page[len(page)-1].ID
	}
	if len(all) != n {
		t.Fatalf("paging found %d records, want %d", len(all), n)
	}
	for i, r := range all {
		if r.Message != fmt.Sprint(i) {
			t.Fatalf("paging: record %d is %q", i, r.Message)
		}
	}
	wantIncreasing(t, "pages", all)
}

// isolationTenants are tenants whose names a store could confuse: prefixes
// of one another, names with LIKE's and GLOB's pattern characters, spaces,
// separators, case and the tenant "".
var isolationTenants = func() []string {
	ts := []string{
		"", "a", "ab", "abc", "a ", " a", "a b", "A", "%", "a%", "_", "a_", "*", "a*", "?", "[a]",
		"/", "a/b", "a/", "=", "a=b", "a=", `\`, `a\`, `a\%`, "'", `"`, "a'b", ";", "a;b", ".", "..",
		"é", "e\u0301", "\x00", "a\x00", "\t", "%%", "__", "a.b", "a:b", "a,b", "🙂",
	}
	for i := len(ts); i < 50; i++ {
		ts = append(ts, fmt.Sprintf("t%d", i))
	}
	return ts
}()

// testTenantIsolationConcurrent has one goroutine per tenant, all at once, on
// one function. Each appends batches of its tenant's records and, after
// each, follows its tenant's records from the last ID it saw: it must never
// see another tenant's record, never one twice or out of order, and must see
// its own as soon as they are appended. Meanwhile one follower of the whole
// function must see every record once, in ID order.
func testTenantIsolationConcurrent(t *testing.T, s logs.Store) {
	const batches, perBatch = 5, 4
	tenants := isolationTenants
	message := func(tenant string, n int) string { return fmt.Sprintf("%q #%d", tenant, n) }
	ctx := t.Context()
	errs := make(chan error, len(tenants)+1)

	// follow pages through q's records after *last, at most 4 at a time,
	// and hands each to see.
	follow := func(q logs.Query, last *int64, see func(logs.Stored) error) error {
		q.Limit = 4
		for {
			q.AfterID = *last
			page, err := s.Query(ctx, q)
			if err != nil {
				return fmt.Errorf("Query(%+v): %w", q, err)
			}
			for _, r := range page {
				if r.ID <= *last {
					return fmt.Errorf("Query(%+v): ID %d after %d", q, r.ID, *last)
				}
				*last = r.ID
				if err := see(r); err != nil {
					return err
				}
			}
			if len(page) < q.Limit {
				return nil
			}
		}
	}

	var writers sync.WaitGroup
	for _, tenant := range tenants {
		writers.Go(func() {
			var seen int
			var last int64
			see := func(r logs.Stored) error {
				if r.Tenant != tenant || !strings.HasPrefix(r.Message, fmt.Sprintf("%q ", tenant)) {
					return fmt.Errorf("tenant %q's query returned a record of tenant %q: %q", tenant, r.Tenant, r.Message)
				}
				if want := message(tenant, seen); r.Message != want {
					return fmt.Errorf("tenant %q: record %q, want %q next", tenant, r.Message, want)
				}
				seen++
				return nil
			}
			for b := range batches {
				rs := make([]logs.Record, perBatch)
				for i := range rs {
					n := b*perBatch + i
					rs[i] = logs.Record{
						Time: at(n), Tenant: tenant, Function: "f", Version: "1", RequestID: fmt.Sprintf("%s/%d", tenant, b),
						Type: logs.TypeFunction, Stream: "stdout", Message: message(tenant, n),
					}
				}
				if err := s.Append(ctx, rs); err != nil {
					errs <- fmt.Errorf("tenant %q: Append: %w", tenant, err)
					return
				}
				if err := follow(logs.Query{Function: "f", Tenant: tenant, TenantSet: true}, &last, see); err != nil {
					errs <- err
					return
				}
				if seen != (b+1)*perBatch {
					errs <- fmt.Errorf("tenant %q: followed %d records after appending %d", tenant, seen, (b+1)*perBatch)
					return
				}
			}
		})
	}

	done := make(chan struct{})
	var follower sync.WaitGroup
	follower.Go(func() {
		next := make(map[string]int) // per tenant, the number of the next record
		var last int64
		see := func(r logs.Stored) error {
			if want := message(r.Tenant, next[r.Tenant]); r.Message != want {
				return fmt.Errorf("function follower: record %q of tenant %q, want %q next", r.Message, r.Tenant, want)
			}
			next[r.Tenant]++
			return nil
		}
		for {
			select {
			case <-done:
				// The writers are done: catch up, then all must be there.
				if err := follow(logs.Query{Function: "f"}, &last, see); err != nil {
					errs <- err
					return
				}
				for _, tenant := range tenants {
					if next[tenant] != batches*perBatch {
						errs <- fmt.Errorf("function follower: %d records of tenant %q, want %d", next[tenant], tenant, batches*perBatch)
						return
					}
				}
				return
			default:
			}
			if err := follow(logs.Query{Function: "f"}, &last, see); err != nil {
				errs <- err
				return
			}
		}
	})
	writers.Wait()
	close(done)
	follower.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// Once more at rest, whole answers.
	for _, tenant := range tenants {
		got := query(t, s, logs.Query{Function: "f", Tenant: tenant, TenantSet: true, Limit: logs.MaxLimit})
		for _, r := range got {
			if r.Tenant != tenant {
				t.Errorf("tenant %q's query returned a record of tenant %q", tenant, r.Tenant)
			}
		}
		if len(got) != batches*perBatch {
			t.Errorf("tenant %q: %d records, want %d", tenant, len(got), batches*perBatch)
		}
		one := query(t, s, logs.Query{Function: "f", Tenant: tenant, TenantSet: true, RequestID: tenant + "/0"})
		if len(one) != perBatch {
			t.Errorf("tenant %q, request %q: %d records, want %d", tenant, tenant+"/0", len(one), perBatch)
		}
	}
}

func testPruneByAge(t *testing.T, s logs.Store) {
	// Appended out of time order, over two functions and tenants.
	order := []int{3, 0, 7, 1, 9, 5, 2, 8, 4, 6}
	for _, sec := range order {
		appendOK(t, s, logs.Record{Time: at(sec), Tenant: fmt.Sprint(sec % 2), Function: fmt.Sprint("f", sec%3), Message: fmt.Sprint(sec)})
	}
	if n := prune(t, s, time.Time{}, 0); n != 0 {
		t.Errorf("Prune without bounds removed %d", n)
	}
	if n := prune(t, s, at(-1), 0); n != 0 {
		t.Errorf("Prune before the oldest removed %d", n)
	}
	// at(5) itself is not older than at(5).
	if n := prune(t, s, at(5), 0); n != 5 {
		t.Errorf("Prune(before at(5)) removed %d, want 5", n)
	}
	if n := prune(t, s, at(5), 0); n != 0 {
		t.Errorf("Prune again removed %d, want 0", n)
	}
	if n := prune(t, s, at(5).Add(1), 0); n != 1 {
		t.Errorf("Prune(before at(5)+1ns) removed %d, want 1", n)
	}
	var left []string
	for f := range 3 {
		for _, r := range query(t, s, logs.Query{Function: fmt.Sprint("f", f)}) {
			left = append(left, r.Message)
		}
	}
	slices.Sort(left)
	if want := []string{"6", "7", "8", "9"}; !slices.Equal(left, want) {
		t.Errorf("left %q, want %q", left, want)
	}
}

func testPruneBySize(t *testing.T, s logs.Store) {
	// Sizes in bytes 4, 4 (two characters), 10, 0, 3: 21 in all. Times run
	// backwards: the oldest by ID is the newest by time.
	msgs := []string{"aaaa", "éé", "bbbbbbbbbb", "", "ccc"}
	for i, m := range msgs {
		appendOK(t, s, logs.Record{Time: at(-i), Tenant: fmt.Sprint("t", i), Function: "f", Message: m})
	}
	left := func() []string { return messages(query(t, s, logs.Query{Function: "f"})) }
	for _, c := range []struct {
		maxBytes int64
		removed  int64
		left     []string
	}{
		{0, 0, msgs},  // no size bound
		{21, 0, msgs}, // at the bound
		{100, 0, msgs},
		{20, 1, msgs[1:]}, // 17 left
		{17, 0, msgs[1:]},
		{16, 1, msgs[2:]}, // bytes, not characters: 2 characters would leave 15
		{3, 1, msgs[3:]},  // 3 left; the empty message stays
		{2, 2, nil},
	} {
		if n := prune(t, s, time.Time{}, c.maxBytes); n != c.removed {
			t.Errorf("Prune(maxBytes %d) removed %d, want %d", c.maxBytes, n, c.removed)
		}
		if got := left(); !slices.Equal(got, c.left) {
			t.Errorf("after Prune(maxBytes %d): left %q, want %q", c.maxBytes, got, c.left)
		}
	}
}

func testPruneByAgeThenSize(t *testing.T, s logs.Store) {
	// Ten records of 10 bytes at seconds 0…9, then the same again for
	// another function at seconds 10…19.
	for _, f := range []string{"f", "g"} {
		var rs []logs.Record
		for i := range 10 {
			sec := i
			if f == "g" {
				sec += 10
			}
			rs = append(rs, logs.Record{Time: at(sec), Function: f, Message: fmt.Sprintf("%-10d", sec)})
		}
		appendOK(t, s, rs...)
	}
	// By age: seconds 0…4; then by size, 150 bytes down to 55: 10 more,
	// the oldest first (f's 5…9 and g's 10…14).
	if n := prune(t, s, at(5), 55); n != 15 {
		t.Errorf("Prune(at(5), 55) removed %d, want 15", n)
	}
	if got := query(t, s, logs.Query{Function: "f"}); len(got) != 0 {
		t.Errorf("f keeps %q", messages(got))
	}
	got := query(t, s, logs.Query{Function: "g"})
	if len(got) != 5 || got[0].Message != fmt.Sprintf("%-10d", 15) {
		t.Errorf("g keeps %q, want seconds 15…19", messages(got))
	}
}

func testIDsNeverReused(t *testing.T, s logs.Store) {
	r := logs.Record{Time: sampleTime, Function: "f", Message: "m"}
	appendOK(t, s, r, r, r)
	before := query(t, s, logs.Query{Function: "f"})
	if n := prune(t, s, at(1), 0); n != 3 {
		t.Fatalf("Prune removed %d, want all 3", n)
	}
	appendOK(t, s, r, r)
	after := query(t, s, logs.Query{Function: "f"})
	if len(before) != 3 || len(after) != 2 {
		t.Fatalf("found %d records before pruning and %d after, want 3 and 2", len(before), len(after))
	}
	if after[0].ID <= before[2].ID {
		t.Errorf("IDs %v after pruning IDs %v: an ID was reused", ids(after), ids(before))
	}
	// A follower that saw the last record before the prune sees the new ones.
	if got := query(t, s, logs.Query{Function: "f", AfterID: before[2].ID}); len(got) != 2 {
		t.Errorf("a follower after ID %d found %d records, want 2", before[2].ID, len(got))
	}
}
