package execenv

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/bulkhead-dev/bulkhead/internal/logs"
)

// sliceSink keeps what it is given.
type sliceSink struct {
	mu      sync.Mutex
	records []logs.Record
}

func (s *sliceSink) Add(r logs.Record) {
	s.mu.Lock()
	s.records = append(s.records, r)
	s.mu.Unlock()
}

func (s *sliceSink) all() []logs.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]logs.Record(nil), s.records...)
}

func TestCaptureLines(t *testing.T) {
	sink := &sliceSink{}
	c := newCapture(sink, logs.Record{Function: "f", Version: "$LATEST", EnvID: "env-1"})
	out, errOut := c.writer("stdout"), c.writer("stderr")

	out.Write([]byte("during init\n"))
	c.end()
	c.begin("req-1", "blue")
	out.Write([]byte("one\ntw"))
	errOut.Write([]byte("to stderr\n"))
	out.Write([]byte("o\nunfinished"))
	tail := c.end()
	c.begin("req-2", "blue")
	out.Write([]byte(strings.Repeat("x", maxLine+10) + "\n"))
	c.end()

	type line struct{ req, tenant, stream, msg string }
	var got []line
	for _, r := range sink.all() {
		if r.Type != logs.TypeFunction || r.Function != "f" || r.Version != "$LATEST" || r.EnvID != "env-1" || r.Time.IsZero() {
			t.Errorf("record %+v lacks its attribution", r)
		}
		msg := r.Message
		if len(msg) > 20 {
			msg = fmt.Sprintf("%s…(%d)", msg[:3], len(msg))
		}
		got = append(got, line{r.RequestID, r.Tenant, r.Stream, msg})
	}
	want := []line{
		{"", "", "stdout", "during init"},
		{"req-1", "blue", "stdout", "one"},
		{"req-1", "blue", "stderr", "to stderr"},
		{"req-1", "blue", "stdout", "two"},
		{"req-1", "blue", "stdout", "unfinished"},
		{"req-2", "blue", "stdout", fmt.Sprintf("xxx…(%d)", maxLine)},
		{"req-2", "blue", "stdout", "xxxxxxxxxx"},
	}
	if len(got) != len(want) {
		t.Fatalf("records = %q\nwant %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("record %d = %q, want %q", i, got[i], want[i])
		}
	}
	if string(tail) != "one\ntwto stderr\no\nunfinished" {
		t.Errorf("tail = %q", tail)
	}
}

func TestCaptureBoundsAnInvocation(t *testing.T) {
	sink := &sliceSink{}
	c := newCapture(sink, logs.Record{Function: "f"})
	out := c.writer("stdout")
	c.begin("req-1", "red")
	line := []byte(strings.Repeat("y", 1023) + "\n")
	n := maxInvocationLog/1023 + 100
	for range n {
		out.Write(line)
	}
	tail := c.end()
	if len(tail) != tailBytes {
		t.Errorf("tail holds %d bytes, want the last %d", len(tail), tailBytes)
	}
	records := sink.all()
	kept := 0
	var dropped *logs.Record
	for i, r := range records {
		switch r.Type {
		case logs.TypeFunction:
			kept++
		case logs.TypeLogsDropped:
			dropped = &records[i]
		}
	}
	if kept != maxInvocationLog/1023 {
		t.Errorf("kept %d lines, want %d", kept, maxInvocationLog/1023)
	}
	if dropped == nil {
		t.Fatal("no platform.logsDropped record")
	}
	var doc struct {
		DroppedRecords, DroppedBytes int
		RequestID                    string `json:"requestId"`
		TenantID                     string `json:"tenantId"`
	}
	if err := json.Unmarshal([]byte(dropped.Message), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.DroppedRecords != n-kept || doc.DroppedBytes != (n-kept)*1023 || doc.RequestID != "req-1" || doc.TenantID != "red" || dropped.Tenant != "red" {
		t.Errorf("logsDropped = %s (tenant %q), want %d records, %d bytes of req-1 for red", dropped.Message, dropped.Tenant, n-kept, (n-kept)*1023)
	}
	// The next invocation has its own budget.
	c.begin("req-2", "red")
	out.Write(line)
	c.end()
	if last := sink.all()[len(sink.all())-1]; last.RequestID != "req-2" || last.Type != logs.TypeFunction {
		t.Errorf("after the bound, the next invocation's line = %+v", last)
	}
}
