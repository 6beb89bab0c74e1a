package usage

import (
	"context"
	"sync"
	"testing"
	"time"
)

// gateStore blocks each Add until the gate opens, and keeps the totals.
type gateStore struct {
	gate chan struct{}
	mu   sync.Mutex
	sum  map[Key]Counts
	adds int
}

func (s *gateStore) Add(ctx context.Context, rows []Row) error {
	<-s.gate
	s.mu.Lock()
	defer s.mu.Unlock()
	s.adds++
	for _, r := range rows {
		c := s.sum[r.Key]
		c.Add(r.Counts)
		s.sum[r.Key] = c
	}
	return nil
}

func (s *gateStore) Query(context.Context, Filter) ([]Row, error) { return nil, nil }

func TestRecorderSyncWaitsAndMerges(t *testing.T) {
	store := &gateStore{gate: make(chan struct{}), sum: map[Key]Counts{}}
	r := NewRecorder(store, true, nil)
	k := Key{Tenant: "t", Function: "f", Hour: time.Date(2026, 1, 1, 10, 30, 0, 0, time.UTC)}
	returned := make(chan struct{})
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() { defer wg.Done(); r.Record(context.Background(), k, Counts{Invocations: 1, MBMillis: 128}) }()
	}
	go func() { wg.Wait(); close(returned) }()
	select {
	case <-returned:
		t.Fatal("synchronous Record returned before the store had the usage")
	case <-time.After(50 * time.Millisecond):
	}
	close(store.gate)
	<-returned
	want := Counts{Invocations: 10, MBMillis: 1280}
	k.Hour = Hour(k.Hour)
	if got := store.sum[k]; got != want || store.adds > 10 {
		t.Errorf("stored %+v in %d commits, want %+v", got, store.adds, want)
	}
}

func TestRecorderAsyncDoesNotWait(t *testing.T) {
	store := &gateStore{gate: make(chan struct{}), sum: map[Key]Counts{}}
	r := NewRecorder(store, false, nil)
	done := make(chan error, 1)
	go func() { done <- r.Record(context.Background(), Key{Function: "f"}, Counts{Invocations: 1}) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("asynchronous Record waited for the store")
	}
	close(store.gate)
}

func TestPriceCost(t *testing.T) {
	p := Price{PerMillionRequests: 0.20, PerGBSecond: 0.0000166667, PerEnvironment: 0.001}
	c := Counts{Invocations: 1_000_000, MBMillis: 1024 * 1000 * 100, Environments: 3}
	if got, want := p.Cost(c), 0.20+100*0.0000166667+0.003; got-want > 1e-6 || want-got > 1e-6 {
		t.Errorf("Cost = %v, want %v", got, want)
	}
}
