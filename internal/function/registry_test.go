package function_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/function"
	"github.com/bulkhead-dev/bulkhead/internal/store/sqlite"
)

// fakePackages stands in for the code package store: the registry's logic
// only needs identities, presence and removal.
type fakePackages struct {
	mu      sync.Mutex
	present map[string]bool
}

func (p *fakePackages) Put(zip []byte, entrypoint string) (function.Code, error) {
	if string(zip) == "bad" {
		return function.Code{}, errdefs.New(errdefs.ErrInvalidArgument, "Could not unzip uploaded file.")
	}
	sum := sha256.Sum256(zip)
	code := function.Code{SHA256: hex.EncodeToString(sum[:]), Size: int64(len(zip))}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.present[code.SHA256] = true
	return code, nil
}

func (p *fakePackages) Remove(sha string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.present, sha)
	return nil
}

func (p *fakePackages) List() ([]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for k := range p.present {
		out = append(out, k)
	}
	slices.Sort(out)
	return out, nil
}

func (p *fakePackages) has(zip string) bool {
	sum := sha256.Sum256([]byte(zip))
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.present[hex.EncodeToString(sum[:])]
}

func newRegistry(t *testing.T) (*function.Registry, *fakePackages) {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	pk := &fakePackages{present: map[string]bool{}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return function.NewRegistry(db, pk, function.ARNs{Region: "us-east-1", Account: "123456789012"}, log), pk
}

func create(t *testing.T, r *function.Registry, name, zip string) function.Resolved {
	t.Helper()
	res, err := r.Create(context.Background(), function.CreateRequest{
		Name: name, Zip: []byte(zip),
		Config: function.Config{Runtime: function.RuntimeProvidedAL2023, Handler: "bootstrap", Role: "arn:aws:iam::123456789012:role/r"},
	})
	if err != nil {
		t.Fatalf("Create(%s): %v", name, err)
	}
	return res
}

func TestRegistryPublishReturnsSameVersionWhenUnchanged(t *testing.T) {
	r, _ := newRegistry(t)
	ctx := context.Background()
	create(t, r, "f", "code1")
	v1, err := r.Publish(ctx, "f", "", "first release", "")
	if err != nil || v1.Version.Number != 1 || v1.Version.Config.Description != "first release" {
		t.Fatalf("first publish = %+v, %v", v1.Version, err)
	}
	again, err := r.Publish(ctx, "f", "", "", "")
	if err != nil || again.Version.Number != 1 {
		t.Fatalf("unchanged publish = version %d, %v; want 1", again.Version.Number, err)
	}
	if _, err := r.UpdateConfig(ctx, "f", func(c *function.Config) { c.Timeout = 10 }, ""); err != nil {
		t.Fatal(err)
	}
	v2, err := r.Publish(ctx, "f", "", "", "")
	if err != nil || v2.Version.Number != 2 || v2.Version.Config.Timeout != 10 {
		t.Fatalf("publish after a config change = %+v, %v; want version 2 with timeout 10", v2.Version, err)
	}
}

func TestRegistryCollectsUnreferencedPackages(t *testing.T) {
	r, pk := newRegistry(t)
	ctx := context.Background()
	create(t, r, "a", "shared")
	create(t, r, "b", "shared")
	if _, err := r.Publish(ctx, "a", "", "", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := r.UpdateCode(ctx, "a", []byte("new"), false, ""); err != nil {
		t.Fatal(err)
	}
	if !pk.has("shared") {
		t.Fatal("package still referenced by a:1 and b was removed")
	}
	if err := r.Delete(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	if !pk.has("shared") {
		t.Fatal("package still referenced by a:1 was removed when b was deleted")
	}
	if err := r.Delete(ctx, "a", "1"); err != nil {
		t.Fatal(err)
	}
	if pk.has("shared") {
		t.Error("package referenced by nothing was kept")
	}
	if !pk.has("new") {
		t.Error("a's current package was removed")
	}
	// A refused create leaves no package behind.
	if _, err := r.Create(ctx, function.CreateRequest{Name: "a", Zip: []byte("dup"),
		Config: function.Config{Runtime: function.RuntimeProvided, Handler: "h", Role: "arn:aws:iam::123456789012:role/r"}}); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Fatalf("duplicate create = %v", err)
	}
	if pk.has("dup") {
		t.Error("a refused create left its package")
	}
}

func TestRegistrySweepPackages(t *testing.T) {
	r, pk := newRegistry(t)
	create(t, r, "a", "kept")
	pk.Put([]byte("orphan"), "bootstrap") // as after a crash before the row committed
	n, err := r.SweepPackages(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("SweepPackages = %d, %v; want 1 removed", n, err)
	}
	if pk.has("orphan") || !pk.has("kept") {
		t.Errorf("after sweep: orphan present %v, kept present %v", pk.has("orphan"), pk.has("kept"))
	}
}

func TestRegistryListAllVersionsPages(t *testing.T) {
	r, _ := newRegistry(t)
	ctx := context.Background()
	var want []string
	for i := range 4 {
		name := fmt.Sprintf("f%d", i)
		create(t, r, name, name)
		want = append(want, name+":$LATEST")
		for v := 1; v <= i; v++ {
			if _, err := r.UpdateConfig(ctx, name, func(c *function.Config) { c.Timeout = 3 + v }, ""); err != nil {
				t.Fatal(err)
			}
			if _, err := r.Publish(ctx, name, "", "", ""); err != nil {
				t.Fatal(err)
			}
			want = append(want, fmt.Sprintf("%s:%d", name, v))
		}
	}
	for _, size := range []int{1, 2, 3, 50} {
		var got []string
		marker := ""
		for pages := 0; ; pages++ {
			if pages > 20 {
				t.Fatalf("page size %d: paging does not end", size)
			}
			page, next, err := r.List(ctx, marker, size, true)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > size {
				t.Fatalf("page size %d: got %d items", size, len(page))
			}
			for _, p := range page {
				got = append(got, p.Function.Name+":"+function.VersionString(p.Version.Number))
			}
			if next == "" {
				break
			}
			marker = next
		}
		if !slices.Equal(got, want) {
			t.Errorf("page size %d:\n got %v\nwant %v", size, got, want)
		}
	}
}

func TestRegistryConcurrentCreatesOfOneName(t *testing.T) {
	r, _ := newRegistry(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, exists := 0, 0
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := r.Create(context.Background(), function.CreateRequest{Name: "race", Zip: fmt.Appendf(nil, "z%d", i),
				Config: function.Config{Runtime: function.RuntimeProvided, Handler: "h", Role: "arn:aws:iam::123456789012:role/r"}})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, errdefs.ErrAlreadyExists):
				exists++
			default:
				t.Errorf("create: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok != 1 || exists != 7 {
		t.Errorf("8 concurrent creates: %d succeeded, %d already existed; want 1 and 7", ok, exists)
	}
}

func TestRegistryAliasRules(t *testing.T) {
	r, _ := newRegistry(t)
	ctx := context.Background()
	create(t, r, "f", "c1")
	r.Publish(ctx, "f", "", "", "")
	r.UpdateCode(ctx, "f", []byte("c2"), true, "")
	tests := []struct {
		name  string
		alias function.Alias
		kind  error
	}{
		{"to $LATEST", function.Alias{Name: "dev", Version: function.Latest}, nil},
		{"weighted", function.Alias{Name: "canary", Version: 2, AdditionalWeights: map[int]float64{1: 0.2}}, nil},
		{"weight over 1", function.Alias{Name: "w", Version: 2, AdditionalWeights: map[int]float64{1: 1.5}}, errdefs.ErrValidation},
		{"weighted $LATEST", function.Alias{Name: "w", Version: function.Latest, AdditionalWeights: map[int]float64{1: 0.5}}, errdefs.ErrInvalidArgument},
		{"weight on own version", function.Alias{Name: "w", Version: 2, AdditionalWeights: map[int]float64{2: 0.5}}, errdefs.ErrInvalidArgument},
		{"missing version", function.Alias{Name: "w", Version: 9}, errdefs.ErrNotFound},
		{"numeric name", function.Alias{Name: "12", Version: 1}, errdefs.ErrValidation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.CreateAlias(ctx, "f", tt.alias)
			if (tt.kind == nil && err != nil) || (tt.kind != nil && !errors.Is(err, tt.kind)) {
				t.Fatalf("CreateAlias = %v, want kind %v", err, tt.kind)
			}
		})
	}
	// The canary alias pins version 1 through its weights.
	if err := r.Delete(ctx, "f", "1"); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("delete version 1 referenced by weights = %v, want conflict", err)
	}
	page, _, err := r.Aliases(ctx, "f", "2", "", 50)
	if err != nil || len(page) != 1 || page[0].Name != "canary" {
		t.Errorf("Aliases(FunctionVersion=2) = %+v, %v", page, err)
	}
}

// BenchmarkRegistryResolve measures resolving a function for an invocation
// (the warm path does it on every call).
func BenchmarkRegistryResolve(b *testing.B) {
	db, err := sqlite.Open(filepath.Join(b.TempDir(), "db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	r := function.NewRegistry(db, &fakePackages{present: map[string]bool{}}, function.ARNs{Region: "us-east-1", Account: "123456789012"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if _, err := r.Create(context.Background(), function.CreateRequest{Name: "f", Zip: []byte("z"),
		Config: function.Config{Runtime: function.RuntimeProvided, Handler: "h", Role: "arn:aws:iam::123456789012:role/r"}}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := r.Resolve(context.Background(), "f", ""); err != nil {
			b.Fatal(err)
		}
	}
}

// countingStore counts the store's Function reads, to see Resolve's cache.
type countingStore struct {
	function.Store
	mu    sync.Mutex
	reads int
}

func (s *countingStore) Function(ctx context.Context, name string) (function.Function, error) {
	s.mu.Lock()
	s.reads++
	s.mu.Unlock()
	return s.Store.Function(ctx, name)
}

func (s *countingStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads
}

// TestRegistryResolveCacheFollowsEveryChange resolves from memory while
// nothing changes, and sees each kind of change at once: configuration,
// code, publish, aliases and deletion, including from the OnChange
// callback, which retires environments and must not rebuild them from the
// old state.
func TestRegistryResolveCacheFollowsEveryChange(t *testing.T) {
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store := &countingStore{Store: db}
	r := function.NewRegistry(store, &fakePackages{present: map[string]bool{}}, function.ARNs{Region: "us-east-1", Account: "123456789012"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx := context.Background()
	var seenByCallback []int
	r.OnChange(func(name string) {
		if res, err := r.Resolve(ctx, name, ""); err == nil {
			seenByCallback = append(seenByCallback, res.Version.Config.Timeout)
		}
	})
	create(t, r, "f", "code1")
	timeout := func(qualifier string) int {
		t.Helper()
		res, err := r.Resolve(ctx, "f", qualifier)
		if err != nil {
			t.Fatalf("Resolve(f, %q): %v", qualifier, err)
		}
		return res.Version.Config.Timeout
	}

	timeout("")
	reads := store.count()
	for range 5 {
		timeout("")
	}
	if got := store.count(); got != reads {
		t.Errorf("5 unchanged resolves read the store %d times; want 0 (cached)", got-reads)
	}

	if _, err := r.UpdateConfig(ctx, "f", func(c *function.Config) { c.Timeout = 10 }, ""); err != nil {
		t.Fatal(err)
	}
	if got := timeout(""); got != 10 {
		t.Errorf("after UpdateConfig: timeout %d, want 10", got)
	}
	if len(seenByCallback) != 1 || seenByCallback[0] != 10 {
		t.Errorf("OnChange resolved timeouts %v; want [10], the new configuration", seenByCallback)
	}
	if _, err := r.Publish(ctx, "f", "", "", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := r.CreateAlias(ctx, "f", function.Alias{Name: "live", Version: 1}); err != nil {
		t.Fatal(err)
	}
	if got := timeout("live"); got != 10 {
		t.Errorf("live → 1: timeout %d, want 10", got)
	}
	if _, err := r.UpdateConfig(ctx, "f", func(c *function.Config) { c.Timeout = 20 }, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Publish(ctx, "f", "", "", ""); err != nil {
		t.Fatal(err)
	}
	if got := timeout("live"); got != 10 {
		t.Errorf("live still → 1: timeout %d, want 10", got)
	}
	if _, err := r.UpdateAlias(ctx, "f", "live", func(a *function.Alias) { a.Version = 2 }, ""); err != nil {
		t.Fatal(err)
	}
	if got := timeout("live"); got != 20 {
		t.Errorf("after moving live to 2: timeout %d, want 20", got)
	}
	before, err := r.Resolve(ctx, "f", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.UpdateCode(ctx, "f", []byte("code2"), false, ""); err != nil {
		t.Fatal(err)
	}
	after, err := r.Resolve(ctx, "f", "")
	if err != nil || after.Version.Code.SHA256 == before.Version.Code.SHA256 {
		t.Errorf("after UpdateCode: code %s (was %s), %v; want the new code", after.Version.Code.SHA256, before.Version.Code.SHA256, err)
	}
	if err := r.Delete(ctx, "f", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Resolve(ctx, "f", ""); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("after Delete: Resolve = %v, want not found", err)
	}
	if _, err := r.Resolve(ctx, "f", "live"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("after Delete: Resolve(live) = %v, want not found", err)
	}
}
