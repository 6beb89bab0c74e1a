package execenv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/logs"
)

// Bounds on what an environment's output may put in the log.
const (
	// maxLine is the longest record a line becomes; longer lines are cut
	// into records of this size (CloudWatch's event limit is 256 KB).
	maxLine = 256 << 10
	// maxInvocationLog bounds the bytes one invocation (or an init) may
	// log; what comes after is dropped, counted, and reported in a
	// platform.logsDropped record.
	maxInvocationLog = 10 << 20
	// tailBytes is what LogType Tail returns: the last 4 KB.
	tailBytes = 4096
)

// capture receives an environment's stdout and stderr. It keeps the last
// 4 KB of the current invocation's output for Tail, and turns each line into
// a log record attributed to the invocation running when the line arrived
// (the caller flushes the sandbox's output before it ends an invocation, so
// a line written before the runtime answered is attributed to it).
type capture struct {
	sink logs.Sink // nil: no records, only the tail
	base logs.Record

	mu        sync.Mutex
	requestID string // "" between invocations and during the init
	tenant    string
	tail      []byte
	used      int // bytes logged in the current invocation or init
	dropped   int // lines dropped over maxInvocationLog
	droppedB  int
	partial   map[string][]byte // each stream's unfinished line
}

func newCapture(sink logs.Sink, base logs.Record) *capture {
	return &capture{sink: sink, base: base, partial: map[string][]byte{}}
}

// writer returns the io.Writer for one stream ("stdout" or "stderr").
func (c *capture) writer(stream string) io.Writer { return streamWriter{c, stream} }

type streamWriter struct {
	c      *capture
	stream string
}

func (w streamWriter) Write(p []byte) (int, error) {
	w.c.write(w.stream, p)
	return len(p), nil
}

func (c *capture) write(stream string, p []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tail = append(c.tail, p...)
	if over := len(c.tail) - tailBytes; over > 0 {
		c.tail = append(c.tail[:0], c.tail[over:]...)
	}
	if c.sink == nil {
		return
	}
	line := c.partial[stream]
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			line = append(line, p...)
			for len(line) >= maxLine {
				c.emit(stream, line[:maxLine])
				line = line[maxLine:]
			}
			break
		}
		line = append(line, p[:i]...)
		p = p[i+1:]
		for len(line) > maxLine {
			c.emit(stream, line[:maxLine])
			line = line[maxLine:]
		}
		c.emit(stream, line)
		line = line[:0]
	}
	c.partial[stream] = append([]byte(nil), line...)
}

// emit sends one line as a record, within the invocation's budget. c.mu is
// held.
func (c *capture) emit(stream string, line []byte) {
	if c.used+len(line) > maxInvocationLog {
		c.dropped++
		c.droppedB += len(line)
		return
	}
	c.used += len(line)
	r := c.base
	r.Time = time.Now()
	r.Type = logs.TypeFunction
	r.Stream = stream
	r.RequestID = c.requestID
	r.Tenant = c.tenant
	r.Message = string(line)
	c.sink.Add(r)
}

// begin starts attributing output to an invocation.
func (c *capture) begin(requestID, tenant string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requestID, c.tenant = requestID, tenant
	c.tail = c.tail[:0]
	c.used, c.dropped, c.droppedB = 0, 0, 0
}

// end closes the current invocation (or the init): unfinished lines become
// records, a count of dropped lines a platform.logsDropped record, and later
// output belongs to no invocation. It returns the invocation's tail.
func (c *capture) end() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sink != nil {
		for _, stream := range []string{"stdout", "stderr"} {
			if line := c.partial[stream]; len(line) > 0 {
				c.emit(stream, line)
				c.partial[stream] = nil
			}
		}
		if c.dropped > 0 {
			c.sink.Add(c.platform(logs.TypeLogsDropped, map[string]any{
				"droppedRecords": c.dropped, "droppedBytes": c.droppedB,
				"reason": fmt.Sprintf("Some logs were dropped because the invocation logged more than %d bytes.", maxInvocationLog),
			}))
		}
	}
	tail := append([]byte(nil), c.tail...)
	c.requestID, c.tenant = "", ""
	c.used, c.dropped, c.droppedB = 0, 0, 0
	return tail
}

// bytes returns the tail so far.
func (c *capture) bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.tail...)
}

// add sends a platform record of the current invocation (or of the init,
// between invocations).
func (c *capture) add(typ string, record map[string]any) {
	if c.sink == nil {
		return
	}
	c.mu.Lock()
	r := c.platform(typ, record)
	c.mu.Unlock()
	c.sink.Add(r)
}

// platform makes a platform record of the current invocation; c.mu is held.
func (c *capture) platform(typ string, record map[string]any) logs.Record {
	r := c.base
	r.Time = time.Now()
	r.Type = typ
	r.RequestID = c.requestID
	r.Tenant = c.tenant
	if c.requestID != "" {
		record["requestId"] = c.requestID
	}
	if c.tenant != "" {
		record["tenantId"] = c.tenant
	}
	doc, _ := json.Marshal(record)
	r.Message = string(doc)
	return r
}
