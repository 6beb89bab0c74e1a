package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/invoke"
)

func TestStoreSQLiteEventQueue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	t0 := time.UnixMilli(1_700_000_000_000).UTC()
	blue := "blue tenant"
	for i, id := range []string{"a", "b", "c"} {
		e := invoke.QueuedEvent{ID: id, Function: "f", Payload: []byte(`{"n":1}`), NotBefore: t0.Add(time.Duration(i) * time.Second), Enqueued: t0}
		if id == "a" {
			e.Tenant = &blue
		}
		if err := s.Enqueue(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	due, err := s.Due(ctx, t0.Add(time.Second), 10)
	if err != nil || len(due) != 2 || due[0].ID != "a" || due[1].ID != "b" {
		t.Fatalf("Due = %+v, %v; want a and b, oldest first", due, err)
	}
	if due[0].Tenant == nil || *due[0].Tenant != blue || due[1].Tenant != nil || string(due[0].Payload) != `{"n":1}` {
		t.Errorf("claimed events lost fields: %+v", due)
	}
	if again, _ := s.Due(ctx, t0.Add(time.Second), 10); len(again) != 0 {
		t.Errorf("running events claimed twice: %+v", again)
	}
	if err := s.Retry(ctx, "a", 1, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.Finish(ctx, "b", "succeeded", "", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.Finish(ctx, "b", "failed", "x", t0); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("finishing a finished event = %v, want ErrNotFound", err)
	}
	// c is claimed and the server dies: after reopening, Recover requeues it.
	if due, _ := s.Due(ctx, t0.Add(2*time.Second), 10); len(due) != 1 || due[0].ID != "c" {
		t.Fatalf("Due = %+v; want c", due)
	}
	s.Close()
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, err := s.Recover(ctx); err != nil || n != 1 {
		t.Fatalf("Recover = %d, %v; want 1", n, err)
	}
	due, _ = s.Due(ctx, t0.Add(time.Hour), 10)
	if len(due) != 2 || due[0].ID != "c" || due[1].ID != "a" || due[1].Attempts != 1 {
		t.Errorf("after recovery Due = %+v; want c then a (attempt 1)", due)
	}
}
