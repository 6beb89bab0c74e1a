package tenant_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/store/sqlite"
	"github.com/bulkhead-dev/bulkhead/internal/tenant"
)

func openRegistry(t *testing.T, path string) *tenant.Registry {
	t.Helper()
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	r, err := tenant.NewRegistry(t.Context(), s, func(tn tenant.Tenant) error {
		if tn.Plan != "" && tn.Plan != "gold" {
			return errdefs.New(errdefs.ErrInvalidArgument, "Usage plan not found: %s", tn.Plan)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func id(t *testing.T, s string) tenant.ID {
	t.Helper()
	v, err := tenant.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestRegistryLifecycleIsDurable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bulkhead.db")
	r := openRegistry(t, path)
	ctx := t.Context()
	var changes []string
	r.OnChange(func(before, after *tenant.Tenant) {
		switch {
		case before == nil:
			changes = append(changes, "create "+after.ID.String())
		case after == nil:
			changes = append(changes, "delete "+before.ID.String())
		default:
			changes = append(changes, fmt.Sprintf("%s %s→%s", after.ID.String(), before.Status, after.Status))
		}
	})
	created, err := r.Create(ctx, tenant.Tenant{ID: id(t, "blue"), DisplayName: "Blue", Plan: "gold", Metadata: map[string]string{"a": "b"}})
	if err != nil {
		t.Fatal(err)
	}
	if created.Status != tenant.Active || created.Created.IsZero() {
		t.Errorf("created %+v: want active with a creation time", created)
	}
	if _, err := r.Create(ctx, tenant.Tenant{ID: id(t, "blue")}); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Errorf("duplicate create: %v", err)
	}
	if _, err := r.Create(ctx, tenant.Tenant{ID: id(t, "red"), Plan: "platinum"}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("create with an unknown plan: %v", err)
	}
	if _, err := r.SetStatus(ctx, id(t, "blue"), tenant.Suspended); err != nil {
		t.Fatal(err)
	}
	if _, err := r.SetStatus(ctx, id(t, "blue"), "frozen"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("bad status: %v", err)
	}
	// A returned record is a copy: changing it changes nothing stored.
	got, _ := r.Get(id(t, "blue"))
	got.Metadata["a"] = "changed"
	if again, _ := r.Get(id(t, "blue")); again.Metadata["a"] != "b" {
		t.Error("a caller's change to a returned record reached the registry")
	}

	// Reopen: the registry is what the store holds.
	r2 := openRegistry(t, path)
	if tn, err := r2.Get(id(t, "blue")); err != nil || tn.Status != tenant.Suspended || tn.DisplayName != "Blue" {
		t.Errorf("after reopen: %+v, %v", tn, err)
	}
	if err := r.Delete(ctx, id(t, "blue")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Get(id(t, "blue")); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("get after delete: %v", err)
	}
	if err := r.Delete(ctx, id(t, "blue")); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	if want := "create blue,blue active→suspended,delete blue"; strings.Join(changes, ",") != want {
		t.Errorf("changes %q, want %q", strings.Join(changes, ","), want)
	}
}

func TestRegistryValidation(t *testing.T) {
	r := openRegistry(t, filepath.Join(t.TempDir(), "bulkhead.db"))
	big := map[string]string{}
	for i := range tenant.MaxMetadata + 1 {
		big[fmt.Sprint(i)] = "v"
	}
	for name, tn := range map[string]tenant.Tenant{
		"no id":           {},
		"long name":       {ID: id(t, "a"), DisplayName: strings.Repeat("x", tenant.MaxDisplayName+1)},
		"negative limit":  {ID: id(t, "a"), Concurrency: -1},
		"too much meta":   {ID: id(t, "a"), Metadata: big},
		"empty meta key":  {ID: id(t, "a"), Metadata: map[string]string{"": "v"}},
		"invalid utf8":    {ID: id(t, "a"), DisplayName: "\xff"},
		"long meta value": {ID: id(t, "a"), Metadata: map[string]string{"k": strings.Repeat("v", tenant.MaxMetadataValue+1)}},
	} {
		if _, err := r.Create(t.Context(), tn); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("%s: %v, want ErrInvalidArgument", name, err)
		}
	}
	if r.Len() != 0 {
		t.Errorf("%d tenants registered from invalid records", r.Len())
	}
}

func TestRegistryListPagesInOrderUnderConcurrentWrites(t *testing.T) {
	r := openRegistry(t, filepath.Join(t.TempDir(), "bulkhead.db"))
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			if _, err := r.Create(t.Context(), tenant.Tenant{ID: id(t, fmt.Sprintf("t%02d", i))}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	var all []string
	after := ""
	for {
		page := r.List(after, 7)
		if len(page) == 0 {
			break
		}
		for _, tn := range page {
			all = append(all, tn.ID.String())
		}
		after = page[len(page)-1].ID.String()
	}
	if len(all) != 40 || all[0] != "t00" || all[39] != "t39" {
		t.Errorf("listed %d tenants from %v", len(all), all)
	}
}
