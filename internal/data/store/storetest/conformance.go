package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/bulkhead-dev/bulkhead/internal/data/store"
	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
)

// The scopes the suite acts in. tenantB's name and data must never appear
// in an error that tenantA gets.
var (
	service = store.Scope{Service: true}
	tenantA = store.Scope{Tenant: "tenant-a"}
	tenantB = store.Scope{Tenant: "tenant-b"}
)

// Conformance runs the store.Store contract against the stores open
// returns. open is called at least once per subtest; each call must return
// a store with no tables, closed by the test's cleanup. Every backend's
// tests call it, so the backends cannot drift from the contract or from
// each other.
func Conformance(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s store.Store)
	}{
		{"Tables", testTables},
		{"MissingTable", testMissingTable},
		{"Items", testItems},
		{"MutateFunc", testMutateFunc},
		{"InvalidArguments", testInvalidArguments},
		{"ZeroScope", testZeroScope},
		{"MutateConcurrent", testMutateConcurrent},
		{"WriteAtomic", testWriteAtomic},
		{"WriteVisibleAtOnce", testWriteVisibleAtOnce},
		{"QueryOperators", testQueryOperators},
		{"QueryPartitions", testQueryPartitions},
		{"ScanPaging", testScanPaging},
		{"OwnerReads", testOwnerReads},
		{"OwnerWrites", testOwnerWrites},
		{"OwnerErrorsSayNothing", testOwnerErrorsSayNothing},
		{"ServiceWrites", testServiceWrites},
		{"LargeItems", testLargeItems},
		{"BinaryKeys", testBinaryKeys},
		{"DeleteTableRemovesItems", testDeleteTableRemovesItems},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, open(t)) })
	}
	t.Run("Model", func(t *testing.T) { testModel(t, open(t)) })
}

// Helpers. They fail the test on an unexpected error.

func createTable(t testing.TB, s store.Store, name string) {
	t.Helper()
	if err := s.CreateTable(context.Background(), store.Table{Name: name, Definition: []byte(`{}`), Created: time.Now()}); err != nil {
		t.Fatalf("CreateTable(%q): %v", name, err)
	}
}

func key(pk, sk string) store.Key { return store.Key{PK: []byte(pk), SK: []byte(sk)} }

func item(owner, pk, sk, data string) store.Item {
	return store.Item{Key: key(pk, sk), Owner: owner, Data: []byte(data)}
}

// putFn and deleteFn are Mutate functions that write it unconditionally.
func putFn(it store.Item) func(*store.Item) (store.Change, error) {
	return func(*store.Item) (store.Change, error) { return store.Change{Kind: store.Put, Item: it}, nil }
}

func deleteFn(*store.Item) (store.Change, error) { return store.Change{Kind: store.Delete}, nil }

// put writes it through Mutate in scope sc.
func put(t testing.TB, s store.Store, sc store.Scope, table string, it store.Item) {
	t.Helper()
	if err := s.Mutate(context.Background(), sc, table, it.Key, putFn(it)); err != nil {
		t.Fatalf("put %q/%q as %+v: %v", it.Key.PK, it.Key.SK, sc, err)
	}
}

// get returns the row at k as sc sees it.
func get(t testing.TB, s store.Store, sc store.Scope, table string, k store.Key) (store.Item, bool) {
	t.Helper()
	it, ok, err := s.Get(context.Background(), sc, table, k)
	if err != nil {
		t.Fatalf("Get(%q/%q) as %+v: %v", k.PK, k.SK, sc, err)
	}
	return it, ok
}

func query(t testing.TB, s store.Store, sc store.Scope, q store.Query) []store.Item {
	t.Helper()
	var got []store.Item
	if err := s.Query(context.Background(), sc, q, func(it store.Item) bool { got = append(got, it); return true }); err != nil {
		t.Fatalf("Query(%+v) as %+v: %v", q, sc, err)
	}
	return got
}

func scan(t testing.TB, s store.Store, sc store.Scope, table string, after *store.Key, limit int) []store.Item {
	t.Helper()
	var got []store.Item
	if err := s.Scan(context.Background(), sc, table, after, limit, func(it store.Item) bool { got = append(got, it); return true }); err != nil {
		t.Fatalf("Scan(%q) as %+v: %v", table, sc, err)
	}
	return got
}

// itemsEqual compares items with nil and empty slices equal: SK nil and SK
// empty are one key.
var itemsEqual = cmpopts.EquateEmpty()

func diffItems(want, got any) string { return cmp.Diff(want, got, itemsEqual) }

func testTables(t *testing.T, s store.Store) {
	ctx := t.Context()
	created := time.Date(2026, 3, 1, 12, 30, 45, 123456789, time.FixedZone("x", 3600))
	// Bytewise order differs from most collations' on case and punctuation.
	names := []string{"beta", "Alpha", "alpha", "_under", "Zed", "a.b", "a-b", "a_b"}
	for i, n := range names {
		def := []byte(fmt.Sprintf(`{"n":%d}`, i))
		if err := s.CreateTable(ctx, store.Table{Name: n, Definition: def, Created: created}); err != nil {
			t.Fatalf("CreateTable(%q): %v", n, err)
		}
	}
	err := s.CreateTable(ctx, store.Table{Name: "beta", Definition: []byte(`{}`), Created: created})
	if !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Errorf("CreateTable of an existing name: %v, want ErrAlreadyExists", err)
	}
	if err := s.CreateTable(ctx, store.Table{Name: ""}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("CreateTable with no name: %v, want ErrInvalidArgument", err)
	}
	got, err := s.Table(ctx, "beta")
	if err != nil {
		t.Fatalf("Table: %v", err)
	}
	want := store.Table{Name: "beta", Definition: []byte(`{"n":0}`), Created: created.Truncate(time.Millisecond).UTC()}
	if got.Name != want.Name || !bytes.Equal(got.Definition, want.Definition) || !got.Created.Equal(want.Created) || got.Created.Location() != time.UTC {
		t.Errorf("Table = %+v, want %+v (UTC)", got, want)
	}

	sorted := slices.Clone(names)
	slices.Sort(sorted) // Go compares strings bytewise
	list := func(after string, limit int) []string {
		t.Helper()
		ts, err := s.Tables(ctx, after, limit)
		if err != nil {
			t.Fatalf("Tables(%q, %d): %v", after, limit, err)
		}
		var ns []string
		for _, tb := range ts {
			ns = append(ns, tb.Name)
		}
		return ns
	}
	if got := list("", 0); !slices.Equal(got, sorted) {
		t.Errorf("Tables(all) = %q, want %q", got, sorted)
	}
	var paged []string
	for after := ""; len(paged) <= len(names); {
		page := list(after, 3)
		paged = append(paged, page...)
		if len(page) < 3 {
			break
		}
		after = page[len(page)-1]
	}
	if !slices.Equal(paged, sorted) {
		t.Errorf("Tables paged by 3 = %q, want %q", paged, sorted)
	}
	if got := list("a", 2); !slices.Equal(got, []string{"a-b", "a.b"}) {
		t.Errorf(`Tables("a", 2) = %q, want ["a-b" "a.b"]`, got)
	}
	if _, err := s.Tables(ctx, "", -1); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("Tables with limit -1: %v, want ErrInvalidArgument", err)
	}

	if err := s.DeleteTable(ctx, "beta"); err != nil {
		t.Fatalf("DeleteTable: %v", err)
	}
	if _, err := s.Table(ctx, "beta"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Table after DeleteTable: %v, want ErrNotFound", err)
	}
	if err := s.DeleteTable(ctx, "beta"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("DeleteTable again: %v, want ErrNotFound", err)
	}
	if got := list("", 0); slices.Contains(got, "beta") || len(got) != len(names)-1 {
		t.Errorf("Tables after DeleteTable = %q", got)
	}
}

func testMissingTable(t *testing.T, s store.Store) {
	ctx := t.Context()
	createTable(t, s, "present") // a store with tables, just not this one
	for _, sc := range []store.Scope{tenantA, service} {
		t.Run(fmt.Sprintf("%+v", sc), func(t *testing.T) {
			k := key("p", "s")
			if _, _, err := s.Get(ctx, sc, "absent", k); !errors.Is(err, errdefs.ErrNotFound) {
				t.Errorf("Get: %v, want ErrNotFound", err)
			}
			called := false
			err := s.Mutate(ctx, sc, "absent", k, func(*store.Item) (store.Change, error) {
				called = true
				return store.Change{}, nil
			})
			if !errors.Is(err, errdefs.ErrNotFound) || called {
				t.Errorf("Mutate: %v, fn called %v; want ErrNotFound, not called", err, called)
			}
			err = s.Write(ctx, sc, "absent", []store.Change{{Kind: store.Put, Item: item(sc.Tenant, "p", "s", "x")}})
			if !errors.Is(err, errdefs.ErrNotFound) {
				t.Errorf("Write: %v, want ErrNotFound", err)
			}
			err = s.Query(ctx, sc, store.Query{Table: "absent", PK: []byte("p")}, func(store.Item) bool { return true })
			if !errors.Is(err, errdefs.ErrNotFound) {
				t.Errorf("Query: %v, want ErrNotFound", err)
			}
			err = s.Scan(ctx, sc, "absent", nil, 0, func(store.Item) bool { return true })
			if !errors.Is(err, errdefs.ErrNotFound) {
				t.Errorf("Scan: %v, want ErrNotFound", err)
			}
		})
	}
}

func testItems(t *testing.T, s store.Store) {
	ctx := t.Context()
	for i, sc := range []store.Scope{tenantA, service} {
		t.Run(fmt.Sprintf("%+v", sc), func(t *testing.T) {
			table := fmt.Sprintf("t%d", i)
			createTable(t, s, table)
			pk := "items-" + sc.Tenant
			k := key(pk, "s")
			if _, ok := get(t, s, sc, table, k); ok {
				t.Fatal("Get of a key never written found a row")
			}
			put(t, s, sc, table, item(sc.Tenant, pk, "s", "v1"))
			got, ok := get(t, s, sc, table, k)
			if want := item(sc.Tenant, pk, "s", "v1"); !ok || diffItems(want, got) != "" {
				t.Fatalf("Get after put = %+v, %v; want %+v", got, ok, want)
			}
			put(t, s, sc, table, item(sc.Tenant, pk, "s", "v2"))
			if got, _ := get(t, s, sc, table, k); string(got.Data) != "v2" {
				t.Errorf("Get after overwrite: data %q, want v2", got.Data)
			}
			// An empty item, and a key with no sort key beside one with.
			put(t, s, sc, table, store.Item{Key: store.Key{PK: []byte(pk)}, Owner: sc.Tenant})
			if got, ok := get(t, s, sc, table, store.Key{PK: []byte(pk), SK: []byte{}}); !ok || len(got.Data) != 0 || len(got.Key.SK) != 0 {
				t.Errorf("Get of the key with no sort key = %+v, %v", got, ok)
			}
			if got, _ := get(t, s, sc, table, k); string(got.Data) != "v2" {
				t.Errorf("the sort-key-less key overwrote %q/s: data %q", pk, got.Data)
			}
			if err := s.Mutate(ctx, sc, table, k, deleteFn); err != nil {
				t.Fatalf("delete: %v", err)
			}
			if _, ok := get(t, s, sc, table, k); ok {
				t.Error("Get after delete found the row")
			}
			if err := s.Mutate(ctx, sc, table, key(pk, "never"), deleteFn); err != nil {
				t.Errorf("delete of a missing row: %v, want nil", err)
			}
			if got := scan(t, s, sc, table, nil, 0); len(got) != 1 || len(got[0].Key.SK) != 0 {
				t.Errorf("Scan after the deletes = %+v, want the one sort-key-less row", got)
			}
		})
	}
}

// testMutateFunc checks what fn sees and that its Keep and its errors write
// nothing.
func testMutateFunc(t *testing.T, s store.Store) {
	ctx := t.Context()
	createTable(t, s, "t")
	k := key("m", "1")
	var seen []*store.Item
	record := func(c store.Change, err error) func(*store.Item) (store.Change, error) {
		return func(old *store.Item) (store.Change, error) {
			if old != nil {
				cp := *old
				old = &cp
			}
			seen = append(seen, old)
			return c, err
		}
	}
	last := func() *store.Item { return seen[len(seen)-1] }

	if err := s.Mutate(ctx, tenantA, "t", k, record(store.Change{Kind: store.Keep}, nil)); err != nil || last() != nil {
		t.Fatalf("Mutate of a missing row: %v, old %+v; want nil, nil", err, last())
	}
	if _, ok := get(t, s, tenantA, "t", k); ok {
		t.Fatal("Keep wrote a row")
	}
	// The Change's key is ignored: the row written is k.
	elsewhere := item("tenant-a", "elsewhere", "", "v1")
	if err := s.Mutate(ctx, tenantA, "t", k, record(store.Change{Kind: store.Put, Item: elsewhere}, nil)); err != nil {
		t.Fatal(err)
	}
	if got, ok := get(t, s, tenantA, "t", k); !ok || string(got.Data) != "v1" {
		t.Fatalf("Put through Mutate: Get(k) = %+v, %v", got, ok)
	}
	if _, ok := get(t, s, tenantA, "t", elsewhere.Key); ok {
		t.Error("Mutate wrote at its Change's key, not at k")
	}
	if err := s.Mutate(ctx, tenantA, "t", k, record(store.Change{Kind: store.Keep}, nil)); err != nil {
		t.Fatal(err)
	}
	if want := item("tenant-a", "m", "1", "v1"); last() == nil || diffItems(want, *last()) != "" {
		t.Errorf("fn saw %+v, want %+v", last(), want)
	}
	// fn's error comes back as it is, and nothing is written.
	failed := errors.New("the condition failed")
	err := s.Mutate(ctx, tenantA, "t", k, record(store.Change{Kind: store.Delete}, failed))
	if err != failed {
		t.Errorf("Mutate returned %v, want fn's error itself", err)
	}
	err = s.Mutate(ctx, tenantA, "t", k, record(store.Change{Kind: store.Put, Item: item("tenant-a", "m", "1", "v9")}, failed))
	if err != failed {
		t.Errorf("Mutate returned %v, want fn's error itself", err)
	}
	if got, ok := get(t, s, tenantA, "t", k); !ok || string(got.Data) != "v1" {
		t.Errorf("after fn failed: %+v, %v; want v1 untouched", got, ok)
	}
}

func testInvalidArguments(t *testing.T, s store.Store) {
	ctx := t.Context()
	createTable(t, s, "t")
	noPK := store.Key{SK: []byte("s")}
	big := store.Item{Key: key("p", "s"), Owner: "tenant-a", Data: make([]byte, store.MaxData+1)}
	tests := []struct {
		name string
		want error
		call func() error
	}{
		{"GetNoPK", errdefs.ErrInvalidArgument, func() error { _, _, err := s.Get(ctx, tenantA, "t", noPK); return err }},
		{"MutateNoPK", errdefs.ErrInvalidArgument, func() error {
			return s.Mutate(ctx, tenantA, "t", noPK, putFn(item("tenant-a", "", "s", "x")))
		}},
		{"WriteNoPK", errdefs.ErrInvalidArgument, func() error {
			return s.Write(ctx, tenantA, "t", []store.Change{{Kind: store.Put, Item: store.Item{Key: noPK, Owner: "tenant-a"}}})
		}},
		{"WriteDuplicateKeys", errdefs.ErrInvalidArgument, func() error {
			return s.Write(ctx, tenantA, "t", []store.Change{
				{Kind: store.Put, Item: item("tenant-a", "p", "s", "1")},
				{Kind: store.Delete, Item: item("", "p", "s", "")},
			})
		}},
		{"WriteUnknownKind", errdefs.ErrInvalidArgument, func() error {
			return s.Write(ctx, tenantA, "t", []store.Change{{Kind: 99, Item: item("tenant-a", "p", "s", "1")}})
		}},
		{"MutateUnknownKind", errdefs.ErrInvalidArgument, func() error {
			return s.Mutate(ctx, tenantA, "t", key("p", "s"), func(*store.Item) (store.Change, error) { return store.Change{Kind: 99}, nil })
		}},
		{"MutateTooLarge", errdefs.ErrTooLarge, func() error { return s.Mutate(ctx, tenantA, "t", big.Key, putFn(big)) }},
		{"WriteTooLarge", errdefs.ErrTooLarge, func() error {
			return s.Write(ctx, tenantA, "t", []store.Change{{Kind: store.Put, Item: big}})
		}},
		{"QueryNoPK", errdefs.ErrInvalidArgument, func() error {
			return s.Query(ctx, tenantA, store.Query{Table: "t"}, func(store.Item) bool { return true })
		}},
		{"QueryNegativeLimit", errdefs.ErrInvalidArgument, func() error {
			return s.Query(ctx, tenantA, store.Query{Table: "t", PK: []byte("p"), Limit: -1}, func(store.Item) bool { return true })
		}},
		{"QueryUnknownOperator", errdefs.ErrInvalidArgument, func() error {
			return s.Query(ctx, tenantA, store.Query{Table: "t", PK: []byte("p"), SK: store.SKCond{Op: 99}}, func(store.Item) bool { return true })
		}},
		{"QueryBetweenReversed", errdefs.ErrValidation, func() error {
			q := store.Query{Table: "t", PK: []byte("p"), SK: store.SKCond{Op: store.SKBetween, A: []byte("b"), B: []byte("a")}}
			return s.Query(ctx, tenantA, q, func(store.Item) bool { return true })
		}},
		{"ScanNegativeLimit", errdefs.ErrInvalidArgument, func() error {
			return s.Scan(ctx, tenantA, "t", nil, -1, func(store.Item) bool { return true })
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	if got := scan(t, s, service, "t", nil, 0); len(got) != 0 {
		t.Errorf("refused calls wrote %d rows", len(got))
	}
	// MaxData itself is accepted.
	put(t, s, tenantA, "t", store.Item{Key: key("p", "max"), Owner: "tenant-a", Data: make([]byte, store.MaxData)})
}

func testZeroScope(t *testing.T, s store.Store) {
	ctx := t.Context()
	createTable(t, s, "t")
	put(t, s, service, "t", item("", "p", "s", "unowned"))
	put(t, s, tenantA, "t", item("tenant-a", "q", "s", "a's"))
	for _, sc := range []store.Scope{{}, {Tenant: "tenant-a", Service: true}} {
		t.Run(fmt.Sprintf("%+v", sc), func(t *testing.T) {
			called := false
			calls := map[string]func() error{
				"Get": func() error { _, _, err := s.Get(ctx, sc, "t", key("p", "s")); return err },
				"Mutate": func() error {
					return s.Mutate(ctx, sc, "t", key("p", "s"), func(*store.Item) (store.Change, error) {
						called = true
						return store.Change{Kind: store.Put, Item: item("", "p", "s", "x")}, nil
					})
				},
				"Write": func() error {
					return s.Write(ctx, sc, "t", []store.Change{{Kind: store.Delete, Item: item("", "p", "s", "")}})
				},
				"Query": func() error {
					return s.Query(ctx, sc, store.Query{Table: "t", PK: []byte("p")}, func(store.Item) bool { called = true; return true })
				},
				"Scan": func() error {
					return s.Scan(ctx, sc, "t", nil, 0, func(store.Item) bool { called = true; return true })
				},
				// Refused before anything else is checked.
				"GetMissingTable": func() error { _, _, err := s.Get(ctx, sc, "absent", key("p", "s")); return err },
				"GetNoPK":         func() error { _, _, err := s.Get(ctx, sc, "t", store.Key{}); return err },
			}
			for name, call := range calls {
				if err := call(); !errors.Is(err, errdefs.ErrForbidden) {
					t.Errorf("%s: %v, want ErrForbidden", name, err)
				}
			}
			if called {
				t.Error("a callback ran for a refused scope")
			}
		})
	}
	if got := scan(t, s, service, "t", nil, 0); len(got) != 2 || string(got[0].Data) != "unowned" {
		t.Errorf("after refused calls the table holds %+v", got)
	}
}

// testMutateConcurrent increments counters from many goroutines: every
// increment must count. The key starts absent, so the first writers race
// to create the row.
func testMutateConcurrent(t *testing.T, s store.Store) {
	createTable(t, s, "t")
	const workers, each = 8, 15
	for _, sc := range []store.Scope{tenantA, service} {
		t.Run(fmt.Sprintf("%+v", sc), func(t *testing.T) {
			k := key("counter-"+sc.Tenant, "")
			incr := func(old *store.Item) (store.Change, error) {
				n := 0
				if old != nil {
					var err error
					if n, err = strconv.Atoi(string(old.Data)); err != nil {
						return store.Change{}, err
					}
				}
				return store.Change{Kind: store.Put, Item: store.Item{Owner: sc.Tenant, Data: []byte(strconv.Itoa(n + 1))}}, nil
			}
			var wg sync.WaitGroup
			errs := make(chan error, workers*each)
			for range workers {
				wg.Go(func() {
					for range each {
						if err := s.Mutate(t.Context(), sc, "t", k, incr); err != nil {
							errs <- err
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Errorf("Mutate: %v", err)
			}
			got, _ := get(t, s, sc, "t", k)
			if string(got.Data) != strconv.Itoa(workers*each) {
				t.Errorf("counter = %q after %d increments", got.Data, workers*each)
			}
		})
	}
}

func testWriteAtomic(t *testing.T, s store.Store) {
	ctx := t.Context()
	createTable(t, s, "t")
	put(t, s, tenantA, "t", item("tenant-a", "a", "old", "keep me"))
	put(t, s, tenantB, "t", item("tenant-b", "b", "1", "b's"))
	before := scan(t, s, service, "t", nil, 0)

	var batch []store.Change
	for i := range 10 {
		batch = append(batch, store.Change{Kind: store.Put, Item: item("tenant-a", "a", fmt.Sprintf("new%02d", i), "x")})
	}
	batch = append(batch, store.Change{Kind: store.Delete, Item: item("", "a", "old", "")})
	failing := map[string]store.Change{
		"PutAtOtherTenantsKey":  {Kind: store.Put, Item: item("tenant-a", "b", "1", "mine now")},
		"DeleteOtherTenantsRow": {Kind: store.Delete, Item: item("", "b", "1", "")},
		"PutForOtherOwner":      {Kind: store.Put, Item: item("tenant-b", "a", "zz", "for b")},
	}
	for name, bad := range failing {
		for _, at := range []int{0, len(batch)} { // the bad change first, and last
			t.Run(fmt.Sprintf("%s/at%d", name, at), func(t *testing.T) {
				changes := slices.Insert(slices.Clone(batch), at, bad)
				err := s.Write(ctx, tenantA, "t", changes)
				if !errors.Is(err, errdefs.ErrForbidden) {
					t.Errorf("Write: %v, want ErrForbidden", err)
				}
				if d := diffItems(before, scan(t, s, service, "t", nil, 0)); d != "" {
					t.Errorf("a refused Write changed the table (-before +after):\n%s", d)
				}
			})
		}
	}
	// Keep changes are skipped; the rest apply together.
	if err := s.Write(ctx, tenantA, "t", append([]store.Change{{Kind: store.Keep}}, batch...)); err != nil {
		t.Fatalf("Write: %v", err)
	}
	got := scan(t, s, tenantA, "t", nil, 0)
	if len(got) != 10 || string(got[0].Key.SK) != "new00" {
		t.Errorf("after the batch tenant-a has %d rows, first %+v; want the 10 new ones", len(got), got[0])
	}
	if err := s.Write(ctx, tenantA, "t", nil); err != nil {
		t.Errorf("empty Write: %v", err)
	}
}

// testWriteVisibleAtOnce has a reader scan while batches rewrite every row:
// each scan must see one batch's rows, never a mix.
func testWriteVisibleAtOnce(t *testing.T, s store.Store) {
	createTable(t, s, "t")
	const rows, batches = 10, 30
	batch := func(v int) []store.Change {
		var cs []store.Change
		for i := range rows {
			cs = append(cs, store.Change{Kind: store.Put, Item: item("tenant-a", "p", strconv.Itoa(i), strconv.Itoa(v))})
		}
		return cs
	}
	if err := s.Write(t.Context(), tenantA, "t", batch(0)); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			var got []store.Item
			err := s.Query(t.Context(), tenantA, store.Query{Table: "t", PK: []byte("p")}, func(it store.Item) bool {
				got = append(got, it)
				return true
			})
			if err != nil {
				t.Errorf("Query: %v", err)
				return
			}
			if len(got) != rows {
				t.Errorf("a query saw %d rows, want %d", len(got), rows)
				return
			}
			for _, it := range got[1:] {
				if !bytes.Equal(it.Data, got[0].Data) {
					t.Errorf("a query saw two batches: %q and %q", got[0].Data, it.Data)
					return
				}
			}
		}
	})
	for v := 1; v <= batches; v++ {
		if err := s.Write(t.Context(), tenantA, "t", batch(v)); err != nil {
			t.Error(err)
			break
		}
	}
	close(done)
	wg.Wait()
}

// sortKeys are the sort keys of the partition testQueryOperators queries:
// neighbours in bytes.Compare order, prefixes of each other, 0x00 and 0xFF.
var sortKeys = []string{"", "\x00", "a", "a\x00", "a\xff", "ab", "abc", "ac", "b", "b\xff\xff", "\xff", "\xff\xff"}

// operands are the condition operands tried: the keys themselves and values
// between them.
var operands = []string{"", "\x00", "a", "a\x01", "a\xff", "ab", "b", "\xff", "\xff\xff\xff"}

func testQueryOperators(t *testing.T, s store.Store) {
	createTable(t, s, "t")
	var all []store.Item
	for i, sk := range sortKeys {
		it := item("tenant-a", "p", sk, strconv.Itoa(i))
		all = append(all, it)
		put(t, s, tenantA, "t", it)
	}
	var conds []store.SKCond
	conds = append(conds, store.SKCond{Op: store.SKAny})
	for _, op := range []store.SKOp{store.SKEqual, store.SKLess, store.SKLessEqual, store.SKGreater, store.SKGreaterEqual, store.SKBeginsWith} {
		for _, a := range operands {
			conds = append(conds, store.SKCond{Op: op, A: []byte(a)})
		}
	}
	for i, a := range operands {
		for _, b := range operands[i:] {
			if a <= b {
				conds = append(conds, store.SKCond{Op: store.SKBetween, A: []byte(a), B: []byte(b)})
			}
		}
	}
	afters := [][]byte{nil, []byte(""), []byte("a\x01"), []byte("\xff\xff\xff")}
	checked := 0
	for _, c := range conds {
		for _, backward := range []bool{false, true} {
			for _, after := range afters {
				for _, limit := range []int{0, 2} {
					q := store.Query{Table: "t", PK: []byte("p"), SK: c, Backward: backward, After: after, Limit: limit}
					want := expectQuery(all, tenantA, q)
					got := query(t, s, tenantA, q)
					if d := diffItems(want, got); d != "" {
						t.Fatalf("Query(op %d A %q B %q backward %v after %q limit %d) (-want +got):\n%s",
							c.Op, c.A, c.B, backward, after, limit, d)
					}
					checked++
				}
			}
		}
	}
	// fn returning false stops the query.
	n := 0
	err := s.Query(t.Context(), tenantA, store.Query{Table: "t", PK: []byte("p")}, func(store.Item) bool { n++; return n < 2 })
	if err != nil || n != 2 {
		t.Errorf("Query stopped by fn after %d rows (%v), want 2", n, err)
	}
	t.Logf("%d queries checked", checked)
}

// testQueryPartitions checks that a Query returns its partition only, even
// beside partition keys that are its prefixes and extensions, and only rows
// the scope sees.
func testQueryPartitions(t *testing.T, s store.Store) {
	createTable(t, s, "t")
	pks := []string{"p", "p\x00", "p\xff", "pp", "o\xff", "q", "\xffp"}
	var all []store.Item
	for _, pk := range pks {
		for i, sc := range []store.Scope{tenantA, tenantB, service} {
			it := item(sc.Tenant, pk, fmt.Sprintf("%d-%s", i, sc.Tenant), "x")
			all = append(all, it)
			put(t, s, sc, "t", it)
		}
	}
	for _, pk := range pks {
		for _, sc := range []store.Scope{tenantA, tenantB, service} {
			q := store.Query{Table: "t", PK: []byte(pk)}
			if d := diffItems(expectQuery(all, sc, q), query(t, s, sc, q)); d != "" {
				t.Errorf("Query(%q) as %+v (-want +got):\n%s", pk, sc, d)
			}
		}
	}
	q := store.Query{Table: "t", PK: []byte("absent")}
	if got := query(t, s, service, q); len(got) != 0 {
		t.Errorf("Query of an absent partition = %+v", got)
	}
}

func testScanPaging(t *testing.T, s store.Store) {
	createTable(t, s, "t")
	rng := rand.New(rand.NewPCG(1, 2))
	var all []store.Item
	for i := range 60 {
		sc := []store.Scope{tenantA, tenantB, service}[rng.IntN(3)]
		it := item(sc.Tenant, fmt.Sprintf("p%02d", rng.IntN(12)), fmt.Sprintf("s%03d", i), strconv.Itoa(i))
		all = append(all, it)
		put(t, s, sc, "t", it)
	}
	for _, sc := range []store.Scope{tenantA, tenantB, service} {
		t.Run(fmt.Sprintf("%+v", sc), func(t *testing.T) {
			want := expectScan(all, sc, nil, 0)
			if d := diffItems(want, scan(t, s, sc, "t", nil, 0)); d != "" {
				t.Fatalf("Scan (-want +got):\n%s", d)
			}
			for _, limit := range []int{1, 4, 7} {
				var paged []store.Item
				var after *store.Key
				for pages := 0; ; pages++ {
					if pages > len(want) {
						t.Fatalf("Scan paged by %d: no end after %d pages", limit, pages)
					}
					page := scan(t, s, sc, "t", after, limit)
					paged = append(paged, page...)
					if len(page) < limit {
						break
					}
					after = &page[len(page)-1].Key
				}
				if d := diffItems(want, paged); d != "" {
					t.Errorf("Scan paged by %d (-want +got):\n%s", limit, d)
				}
			}
			// After a key that is not in the table, and one with a sort key
			// past every row of its partition.
			for _, after := range []store.Key{key("p05", ""), key("p05", "\xff"), key("", "")} {
				if d := diffItems(expectScan(all, sc, &after, 0), scan(t, s, sc, "t", &after, 0)); d != "" {
					t.Errorf("Scan after %q/%q (-want +got):\n%s", after.PK, after.SK, d)
				}
			}
		})
	}
}

// ownerFixture is a table where tenant-b owns b/1 and b/2, tenant-a owns
// a/1, and nobody owns n/1.
func ownerFixture(t *testing.T, s store.Store) {
	createTable(t, s, "t")
	put(t, s, tenantB, "t", item("tenant-b", "b", "1", "b secret 1"))
	put(t, s, tenantB, "t", item("tenant-b", "b", "2", "b secret 2"))
	put(t, s, tenantA, "t", item("tenant-a", "a", "1", "a's"))
	put(t, s, service, "t", item("", "n", "1", "nobody's"))
}

func testOwnerReads(t *testing.T, s store.Store) {
	ownerFixture(t, s)
	for _, k := range []store.Key{key("b", "1"), key("n", "1")} {
		if got, ok := get(t, s, tenantA, "t", k); ok {
			t.Errorf("tenant-a got %q/%q: %+v", k.PK, k.SK, got)
		}
		if _, ok := get(t, s, service, "t", k); !ok {
			t.Errorf("the service cannot get %q/%q", k.PK, k.SK)
		}
	}
	if got := query(t, s, tenantA, store.Query{Table: "t", PK: []byte("b")}); len(got) != 0 {
		t.Errorf("tenant-a's Query of b = %+v", got)
	}
	if got := query(t, s, tenantB, store.Query{Table: "t", PK: []byte("b")}); len(got) != 2 {
		t.Errorf("tenant-b's Query of b = %+v, want its 2 rows", got)
	}
	if got := scan(t, s, tenantA, "t", nil, 0); len(got) != 1 || got[0].Owner != "tenant-a" {
		t.Errorf("tenant-a's Scan = %+v, want its one row", got)
	}
	if got := scan(t, s, service, "t", nil, 0); len(got) != 4 {
		t.Errorf("the service's Scan = %d rows, want 4", len(got))
	}
	var saw *store.Item
	err := s.Mutate(t.Context(), tenantA, "t", key("b", "1"), func(old *store.Item) (store.Change, error) {
		saw = old
		return store.Change{Kind: store.Keep}, nil
	})
	if err != nil || saw != nil {
		t.Errorf("tenant-a's Mutate of b/1: %v, saw %+v; want nil, nil", err, saw)
	}
	// A tenant with a name that is a prefix or extension of another's.
	for _, sc := range []store.Scope{{Tenant: "tenant"}, {Tenant: "tenant-bb"}, {Tenant: "TENANT-B"}} {
		if got := scan(t, s, sc, "t", nil, 0); len(got) != 0 {
			t.Errorf("%+v's Scan = %+v", sc, got)
		}
	}
}

func testOwnerWrites(t *testing.T, s store.Store) {
	ctx := t.Context()
	ownerFixture(t, s)
	before := scan(t, s, service, "t", nil, 0)
	tests := []struct {
		name string
		call func() error
	}{
		{"MutatePutOverOthersRow", func() error {
			return s.Mutate(ctx, tenantA, "t", key("b", "1"), putFn(item("tenant-a", "", "", "mine")))
		}},
		{"MutateDeleteOthersRow", func() error { return s.Mutate(ctx, tenantA, "t", key("b", "1"), deleteFn) }},
		{"MutatePutOverUnownedRow", func() error {
			return s.Mutate(ctx, tenantA, "t", key("n", "1"), putFn(item("tenant-a", "", "", "mine")))
		}},
		{"MutateDeleteUnownedRow", func() error { return s.Mutate(ctx, tenantA, "t", key("n", "1"), deleteFn) }},
		{"MutatePutForOtherOwnerAtFreeKey", func() error {
			return s.Mutate(ctx, tenantA, "t", key("free", "1"), putFn(item("tenant-b", "", "", "for b")))
		}},
		{"MutatePutForOtherOwnerAtOwnKey", func() error {
			return s.Mutate(ctx, tenantA, "t", key("a", "1"), putFn(item("tenant-b", "", "", "given away")))
		}},
		{"MutatePutUnownedAtOwnKey", func() error {
			return s.Mutate(ctx, tenantA, "t", key("a", "1"), putFn(item("", "", "", "given away")))
		}},
		{"WritePutOverOthersRow", func() error {
			return s.Write(ctx, tenantA, "t", []store.Change{{Kind: store.Put, Item: item("tenant-a", "b", "2", "mine")}})
		}},
		{"WriteDeleteOthersRow", func() error {
			return s.Write(ctx, tenantA, "t", []store.Change{{Kind: store.Delete, Item: item("", "b", "2", "")}})
		}},
		{"WritePutForOtherOwner", func() error {
			return s.Write(ctx, tenantA, "t", []store.Change{{Kind: store.Put, Item: item("tenant-b", "free", "2", "for b")}})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, errdefs.ErrForbidden) || !errors.Is(err, store.ErrOutOfScope) {
				t.Errorf("got %v, want ErrOutOfScope (ErrForbidden)", err)
			}
			if d := diffItems(before, scan(t, s, service, "t", nil, 0)); d != "" {
				t.Errorf("a refused write changed the table (-before +after):\n%s", d)
			}
		})
	}
	// What a tenant may do: write and delete its own rows and free keys.
	put(t, s, tenantA, "t", item("tenant-a", "a", "1", "a's again"))
	put(t, s, tenantA, "t", item("tenant-a", "free", "1", "new"))
	if err := s.Write(ctx, tenantA, "t", []store.Change{
		{Kind: store.Delete, Item: item("", "a", "1", "")},
		{Kind: store.Delete, Item: item("", "never", "1", "")},
		{Kind: store.Put, Item: item("tenant-a", "free", "2", "new")},
	}); err != nil {
		t.Errorf("tenant-a's Write of its own keys: %v", err)
	}
	if got := scan(t, s, tenantA, "t", nil, 0); len(got) != 2 {
		t.Errorf("tenant-a's rows = %+v, want free/1 and free/2", got)
	}
	if got := scan(t, s, tenantB, "t", nil, 0); len(got) != 2 || string(got[0].Data) != "b secret 1" {
		t.Errorf("tenant-b's rows = %+v, want untouched", got)
	}
}

// testOwnerErrorsSayNothing checks that a refusal does not carry the other
// tenant's name or data, and reads the same whether the row it collided
// with exists or the item merely named another owner.
func testOwnerErrorsSayNothing(t *testing.T, s store.Store) {
	ctx := t.Context()
	ownerFixture(t, s)
	overRow := s.Mutate(ctx, tenantA, "t", key("b", "1"), putFn(item("tenant-a", "", "", "x")))
	otherOwner := s.Mutate(ctx, tenantA, "t", key("free", "1"), putFn(item("tenant-c", "", "", "x")))
	deleteRow := s.Mutate(ctx, tenantA, "t", key("b", "1"), deleteFn)
	writeRow := s.Write(ctx, tenantA, "t", []store.Change{{Kind: store.Put, Item: item("tenant-a", "b", "1", "x")}})
	writeOwner := s.Write(ctx, tenantA, "t", []store.Change{{Kind: store.Put, Item: item("tenant-c", "free", "1", "x")}})
	for _, err := range []error{overRow, otherOwner, deleteRow, writeRow, writeOwner} {
		if err == nil {
			t.Fatal("a write outside the scope succeeded")
		}
		if msg := err.Error(); strings.Contains(msg, "tenant-b") || strings.Contains(msg, "secret") {
			t.Errorf("error %q names the other tenant or its data", msg)
		}
	}
	if overRow.Error() != otherOwner.Error() || overRow.Error() != deleteRow.Error() {
		t.Errorf("Mutate refusals differ:\n%v\n%v\n%v", overRow, otherOwner, deleteRow)
	}
	if writeRow.Error() != writeOwner.Error() {
		t.Errorf("Write refusals differ:\n%v\n%v", writeRow, writeOwner)
	}
}

func testServiceWrites(t *testing.T, s store.Store) {
	ctx := t.Context()
	ownerFixture(t, s)
	// The service may write any owner's rows and hand a row to another owner.
	put(t, s, service, "t", item("tenant-a", "b", "1", "moved to a"))
	if got, ok := get(t, s, tenantA, "t", key("b", "1")); !ok || string(got.Data) != "moved to a" {
		t.Errorf("tenant-a after the service moved b/1 to it: %+v, %v", got, ok)
	}
	if _, ok := get(t, s, tenantB, "t", key("b", "1")); ok {
		t.Error("tenant-b still sees b/1")
	}
	if err := s.Write(ctx, service, "t", []store.Change{
		{Kind: store.Delete, Item: item("", "b", "2", "")},
		{Kind: store.Put, Item: item("tenant-b", "n", "1", "now b's")},
	}); err != nil {
		t.Fatal(err)
	}
	if got := scan(t, s, tenantB, "t", nil, 0); len(got) != 1 || string(got[0].Data) != "now b's" {
		t.Errorf("tenant-b's rows = %+v", got)
	}
	var saw *store.Item
	err := s.Mutate(ctx, service, "t", key("a", "1"), func(old *store.Item) (store.Change, error) {
		saw = old
		return store.Change{Kind: store.Delete}, nil
	})
	if err != nil || saw == nil || saw.Owner != "tenant-a" {
		t.Errorf("the service's Mutate of tenant-a's row: %v, saw %+v", err, saw)
	}
}

func testLargeItems(t *testing.T, s store.Store) {
	createTable(t, s, "t")
	rng := rand.New(rand.NewPCG(3, 4))
	big := make([]byte, 400*1024)
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	var want []store.Item
	for i := range 3 {
		it := store.Item{Key: key("big", strconv.Itoa(i)), Owner: "tenant-a", Data: append([]byte{byte(i)}, big...)}
		want = append(want, it)
		put(t, s, tenantA, "t", it)
	}
	if got, ok := get(t, s, tenantA, "t", key("big", "1")); !ok || !bytes.Equal(got.Data, want[1].Data) {
		t.Errorf("Get of a 400 KB item: %d bytes, %v", len(got.Data), ok)
	}
	// Compared by hand: cmp walks a []byte element by element.
	got := query(t, s, tenantA, store.Query{Table: "t", PK: []byte("big")})
	if len(got) != len(want) {
		t.Fatalf("Query of 400 KB items returned %d items, want %d", len(got), len(want))
	}
	for i := range want {
		if compareKeys(got[i].Key, want[i].Key) != 0 || got[i].Owner != want[i].Owner || !bytes.Equal(got[i].Data, want[i].Data) {
			t.Errorf("Query of 400 KB items: item %d is not the one written", i)
		}
	}
	if err := s.Write(t.Context(), tenantA, "t", []store.Change{{Kind: store.Put, Item: want[0]}, {Kind: store.Delete, Item: want[1]}}); err != nil {
		t.Errorf("Write of a 400 KB item: %v", err)
	}
}

func testBinaryKeys(t *testing.T, s store.Store) {
	createTable(t, s, "t")
	parts := [][]byte{{0x00}, {0x00, 0x00}, {0x00, 0xFF}, {0x01}, {0x7F}, {0x80}, {0xFF}, {0xFF, 0x00}, {0xFF, 0xFF}}
	var all []store.Item
	for i, pk := range parts {
		for j, sk := range parts {
			if (i+j)%2 == 0 {
				continue
			}
			it := store.Item{Key: store.Key{PK: pk, SK: sk}, Owner: "tenant-a", Data: []byte{byte(i), byte(j), 0x00, 0xFF}}
			all = append(all, it)
			put(t, s, tenantA, "t", it)
		}
	}
	if d := diffItems(expectScan(all, tenantA, nil, 0), scan(t, s, tenantA, "t", nil, 0)); d != "" {
		t.Errorf("Scan is not in bytes.Compare order (-want +got):\n%s", d)
	}
	for _, pk := range parts {
		for _, prefix := range [][]byte{{0x00}, {0xFF}, {0xFF, 0xFF}, {0x7F}, {}} {
			for _, backward := range []bool{false, true} {
				q := store.Query{Table: "t", PK: pk, SK: store.SKCond{Op: store.SKBeginsWith, A: prefix}, Backward: backward}
				if d := diffItems(expectQuery(all, tenantA, q), query(t, s, tenantA, q)); d != "" {
					t.Errorf("Query(%x, begins_with %x, backward %v) (-want +got):\n%s", pk, prefix, backward, d)
				}
			}
		}
		k := store.Key{PK: pk, SK: []byte{0xFF, 0x00}}
		_, ok := get(t, s, tenantA, "t", k)
		_, want := findItem(all, k)
		if ok != want {
			t.Errorf("Get(%x/%x) found %v, want %v", k.PK, k.SK, ok, want)
		}
	}
}

func findItem(all []store.Item, k store.Key) (store.Item, bool) {
	for _, it := range all {
		if compareKeys(it.Key, k) == 0 {
			return it, true
		}
	}
	return store.Item{}, false
}

func testDeleteTableRemovesItems(t *testing.T, s store.Store) {
	ctx := t.Context()
	createTable(t, s, "t")
	createTable(t, s, "other")
	for i := range 50 {
		put(t, s, tenantA, "t", item("tenant-a", "p", strconv.Itoa(i), "x"))
	}
	put(t, s, tenantA, "other", item("tenant-a", "p", "0", "stays"))
	if err := s.DeleteTable(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	createTable(t, s, "t")
	if got := scan(t, s, service, "t", nil, 0); len(got) != 0 {
		t.Errorf("the table created again holds %d rows of the deleted one", len(got))
	}
	if _, ok := get(t, s, tenantA, "t", key("p", "0")); ok {
		t.Error("Get found a row of the deleted table")
	}
	if got, ok := get(t, s, tenantA, "other", key("p", "0")); !ok || string(got.Data) != "stays" {
		t.Errorf("another table's row after DeleteTable: %+v, %v", got, ok)
	}
}
