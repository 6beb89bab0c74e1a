package logs_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/logs"
	"github.com/bulkhead-dev/bulkhead/internal/logs/logstest"
)

// testStore is a logstest.Fake that a test can hold up and make fail.
type testStore struct {
	logstest.Fake
	// gate, when not nil, holds each Append until it is closed.
	gate chan struct{}

	mu      sync.Mutex
	err     error // Append's error while set
	batches []int // the size of each Append, failed ones included
}

var errStore = errors.New("disk on fire")

func (s *testStore) Append(ctx context.Context, records []logs.Record) error {
	if s.gate != nil {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	s.batches = append(s.batches, len(records))
	err := s.err
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return s.Fake.Append(ctx, records)
}

func (s *testStore) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

func (s *testStore) appends() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.batches)
}

// all returns every record of function f, following past MaxLimit.
func (s *testStore) all(t *testing.T) []logs.Stored {
	t.Helper()
	var out []logs.Stored
	for {
		q := logs.Query{Function: "f", Limit: logs.MaxLimit}
		if len(out) > 0 {
			q.AfterID = out[len(out)-1].ID
		}
		page, err := s.Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return out
		}
		out = append(out, page...)
	}
}

func messages(ss []logs.Stored) []string {
	ms := make([]string, len(ss))
	for i, s := range ss {
		ms[i] = s.Message
	}
	return ms
}

// record is a function record of f for tenant and version.
func record(tenant, version, message string) logs.Record {
	return logs.Record{
		Time: time.Unix(1e9, 0), Tenant: tenant, Function: "f", Version: version, RequestID: "r", EnvID: "e",
		Type: logs.TypeFunction, Stream: "stdout", Message: message,
	}
}

func flush(t *testing.T, p *logs.Pipeline) {
	t.Helper()
	if err := p.Flush(t.Context()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

// summary is the TypeLogsDropped record the pipeline appends for a loss.
func summary(tenant, version string, records, bytes int, reason string) logs.Record {
	return logs.Record{
		Tenant: tenant, Function: "f", Version: version, Type: logs.TypeLogsDropped,
		Message: fmt.Sprintf(`{"droppedRecords":%d,"droppedBytes":%d,"reason":%q}`, records, bytes, reason),
	}
}

// withoutTime returns the records of ss without their times.
func withoutTime(ss []logs.Stored) []logs.Record {
	rs := make([]logs.Record, len(ss))
	for i, s := range ss {
		rs[i] = s.Record
		rs[i].Time = time.Time{}
	}
	return rs
}

// TestPipelineFlushReadsYourWrites checks that Flush returns once what was
// added is in the store, in order, in batches of at most BatchSize.
func TestPipelineFlushReadsYourWrites(t *testing.T) {
	store := &testStore{}
	p := logs.NewPipeline(store, logs.PipelineOptions{BatchSize: 100, FlushInterval: time.Hour})
	defer p.Close()
	var want []string
	for i := range 1234 {
		want = append(want, fmt.Sprint(i))
		p.Add(record("t", "1", want[i]))
	}
	flush(t, p)
	if got := messages(store.all(t)); !slices.Equal(got, want) {
		t.Errorf("after Flush the store holds %d records, want the %d added, in order", len(got), len(want))
	}
	total := 0
	for _, n := range store.appends() {
		if n < 1 || n > 100 {
			t.Errorf("an Append of %d records, want 1…100", n)
		}
		total += n
	}
	if total != 1234 || p.Dropped() != 0 {
		t.Errorf("appended %d records and dropped %d, want 1234 and 0", total, p.Dropped())
	}
	// Flush with nothing waiting returns at once.
	flush(t, p)
}

// TestPipelineFlushInterval checks when records are written without Flush:
// a full batch at once, a partial one FlushInterval after its first record
// came, however many came after it.
func TestPipelineFlushInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &testStore{}
		p := logs.NewPipeline(store, logs.PipelineOptions{BatchSize: 3, FlushInterval: time.Second})
		count := func() int {
			synctest.Wait()
			return len(store.all(t))
		}

		for i := range 3 {
			p.Add(record("t", "1", fmt.Sprint(i)))
		}
		if n := count(); n != 3 {
			t.Errorf("a full batch: %d records written at once, want 3", n)
		}

		p.Add(record("t", "1", "3"))
		time.Sleep(500 * time.Millisecond)
		p.Add(record("t", "1", "4"))
		time.Sleep(499 * time.Millisecond)
		if n := count(); n != 3 {
			t.Errorf("%d records written before FlushInterval, want 3", n)
		}
		time.Sleep(time.Millisecond)
		if n := count(); n != 5 {
			t.Errorf("%d records written at FlushInterval after the first waiting one, want 5", n)
		}
		time.Sleep(time.Minute) // nothing to do: the writer sleeps
		if n := len(store.appends()); n != 2 {
			t.Errorf("%d Appends, want 2", n)
		}
		p.Close()
	})
}

// TestPipelineDropsWhenFull checks that Add never waits for a stuck store,
// drops what the buffer cannot hold, counts it, and reports it in the
// store once there is room, after the records that were waiting and before
// those added later.
func TestPipelineDropsWhenFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &testStore{gate: make(chan struct{})}
		p := logs.NewPipeline(store, logs.PipelineOptions{Buffer: 10, BatchSize: 5, FlushInterval: time.Hour})
		var want []logs.Record
		for i := range 10 {
			r := record("a", "1", fmt.Sprint("kept ", i))
			p.Add(r)
			want = append(want, r)
			if i == 4 {
				synctest.Wait() // the first five are being written
			}
		}
		lostBytes := 0
		for i := range 1000 { // Add does not wait, even now
			r := record("a", "1", fmt.Sprint("lost ", i))
			p.Add(r)
			lostBytes += len(r.Message)
		}
		p.Add(record("b", "2", "lost!"))
		p.Add(record("", "1", ""))
		if n := p.Dropped(); n != 1002 {
			t.Errorf("Dropped = %d, want 1002", n)
		}

		close(store.gate)
		flush(t, p)
		after := record("a", "1", "added after the loss")
		p.Add(after)
		flush(t, p)

		// The summaries in the order of function, version and tenant.
		want = append(want,
			summary("", "1", 1, 0, "the log buffer was full"),
			summary("a", "1", 1000, lostBytes, "the log buffer was full"),
			summary("b", "2", 1, 5, "the log buffer was full"),
			after)
		got := store.all(t)
		for _, r := range got {
			if r.Type == logs.TypeLogsDropped && r.Time.IsZero() {
				t.Errorf("summary %q has no time", r.Message)
			}
		}
		for i := range want {
			want[i].Time = time.Time{}
		}
		if !slices.Equal(withoutTime(got), want) {
			t.Errorf("the store holds\n%q\nwant\n%q", messages(got), want)
		}
		if n := p.Dropped(); n != 1002 {
			t.Errorf("Dropped = %d after the summaries, want 1002", n)
		}
		p.Close()
	})
}

// TestPipelineBoundsBytes checks MaxBytes: long records fill the pipeline
// by their size, whatever their count.
func TestPipelineBoundsBytes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &testStore{gate: make(chan struct{})}
		p := logs.NewPipeline(store, logs.PipelineOptions{MaxBytes: 1000, BatchSize: 100, FlushInterval: time.Hour})
		long := strings.Repeat("x", 300)
		for range 5 {
			p.Add(record("a", "1", long))
		}
		if n := p.Dropped(); n != 2 {
			t.Errorf("Dropped = %d after 5 records of 300 bytes in 1000, want 2", n)
		}
		p.Add(record("a", "1", strings.Repeat("y", 100))) // still fits
		if n := p.Dropped(); n != 2 {
			t.Errorf("Dropped = %d, want a 100-byte record to fit", n)
		}
		close(store.gate)
		flush(t, p)
		p.Add(record("a", "1", long)) // room again once written
		flush(t, p)
		if n := p.Dropped(); n != 2 {
			t.Errorf("Dropped = %d after the store caught up, want 2", n)
		}
		p.Close()
	})
}

// TestPipelineStoreFails checks that a batch the store refuses is dropped,
// counted, logged and reported by Flush, not retried; that its summary waits
// for the store to accept records again; and that a lost summary's counts
// are not lost with it.
func TestPipelineStoreFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &testStore{}
		var log bytes.Buffer
		p := logs.NewPipeline(store, logs.PipelineOptions{
			FlushInterval: time.Second,
			Logger:        slog.New(slog.NewTextHandler(&log, nil)),
		})
		store.fail(errStore)
		for _, m := range []string{"one", "two", "three"} {
			p.Add(record("t", "1", m))
		}
		if err := p.Flush(t.Context()); !errors.Is(err, errStore) {
			t.Errorf("Flush of a batch the store refused = %v, want its error", err)
		}
		if n := p.Dropped(); n != 3 {
			t.Errorf("Dropped = %d, want 3", n)
		}
		if !strings.Contains(log.String(), "disk on fire") {
			t.Errorf("the store's error was not logged: %q", log.String())
		}

		// Nothing is retried while nothing new comes.
		time.Sleep(time.Minute)
		synctest.Wait()
		if n := len(store.appends()); n != 1 {
			t.Errorf("%d Appends while idle after a failure, want 1", n)
		}

		// Flush tries the summary once; it fails too.
		if err := p.Flush(t.Context()); !errors.Is(err, errStore) {
			t.Errorf("Flush of the summary the store refused = %v, want its error", err)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if n := len(store.appends()); n != 2 {
			t.Errorf("%d Appends, want 2", n)
		}

		// A new record while the store fails: lost too, and counted with
		// the others.
		p.Add(record("t", "1", "four"))
		time.Sleep(time.Second)
		synctest.Wait()

		store.fail(nil)
		p.Add(record("t", "1", "five"))
		flush(t, p)
		want := []logs.Record{
			record("t", "1", "five"),
			summary("t", "1", 4, 15, "the log store failed"),
		}
		if got := withoutTime(store.all(t)); len(got) != 2 || got[0].Message != "five" || got[1] != want[1] {
			t.Errorf("the store holds %q, want %q", messages(store.all(t)), want)
		}
		if n := p.Dropped(); n != 4 {
			t.Errorf("Dropped = %d, want 4", n)
		}
		p.Close()
	})
}

// TestPipelineFlushContext checks that Flush gives up when its context ends
// and the records are written all the same.
func TestPipelineFlushContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &testStore{gate: make(chan struct{})}
		p := logs.NewPipeline(store, logs.PipelineOptions{})
		p.Add(record("t", "1", "m"))
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if err := p.Flush(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Flush with a stuck store = %v, want DeadlineExceeded", err)
		}
		close(store.gate)
		flush(t, p)
		if n := len(store.all(t)); n != 1 {
			t.Errorf("%d records, want 1", n)
		}
		p.Close()
	})
}

// TestPipelineClose checks that Close writes what is waiting and stops the
// writer (synctest.Test fails if a goroutine of the bubble is left), and that
// records added afterwards are dropped.
func TestPipelineClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &testStore{}
		p := logs.NewPipeline(store, logs.PipelineOptions{FlushInterval: time.Hour})
		for i := range 7 {
			p.Add(record("t", "1", fmt.Sprint(i)))
		}
		p.Close()
		if n := len(store.all(t)); n != 7 {
			t.Errorf("Close left %d records written, want 7", n)
		}
		p.Add(record("t", "1", "late"))
		if n := p.Dropped(); n != 1 {
			t.Errorf("Dropped = %d after an Add after Close, want 1", n)
		}
		flush(t, p)
		p.Close()
		if n := len(store.all(t)); n != 7 {
			t.Errorf("%d records after a late Add, want 7", n)
		}
	})
}

// TestPipelineZeroTime checks that Add stamps a record without a time.
func TestPipelineZeroTime(t *testing.T) {
	store := &testStore{}
	p := logs.NewPipeline(store, logs.PipelineOptions{})
	defer p.Close()
	before := time.Now().Round(0)
	r := record("t", "1", "m")
	r.Time = time.Time{}
	p.Add(r)
	flush(t, p)
	got := store.all(t)
	if len(got) != 1 || got[0].Time.Before(before) || got[0].Time.After(time.Now()) {
		t.Errorf("stored %+v, want the time of Add", got)
	}
}

// TestPipelineConcurrent adds from many goroutines into a small buffer, with
// Flushes among them, and checks the books: every record is in the store or
// counted in a summary, each tenant's in the order added, and the summaries
// add up to Dropped.
func TestPipelineConcurrent(t *testing.T) {
	const goroutines, each = 8, 3000
	store := &testStore{}
	p := logs.NewPipeline(store, logs.PipelineOptions{Buffer: 64, BatchSize: 16, FlushInterval: time.Millisecond})
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				p.Add(record(fmt.Sprint("t", g), "1", fmt.Sprint(i)))
				if i%500 == 0 {
					if err := p.Flush(t.Context()); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	p.Close()

	var written, summarized int64
	last := make(map[string]int)
	for _, r := range store.all(t) {
		switch r.Type {
		case logs.TypeFunction:
			written++
			var n int
			fmt.Sscan(r.Message, &n)
			if prev, ok := last[r.Tenant]; ok && n <= prev {
				t.Fatalf("tenant %s: record %d after %d", r.Tenant, n, prev)
			}
			last[r.Tenant] = n
		case logs.TypeLogsDropped:
			var n int64
			if _, err := fmt.Sscanf(r.Message, `{"droppedRecords":%d,`, &n); err != nil {
				t.Fatalf("summary %q: %v", r.Message, err)
			}
			summarized += n
		}
	}
	if written+summarized != goroutines*each || summarized != p.Dropped() {
		t.Errorf("%d records written, %d summarized, %d dropped; want written+summarized = %d and summarized = dropped",
			written, summarized, p.Dropped(), goroutines*each)
	}
	t.Logf("%d written, %d dropped", written, p.Dropped())
}
