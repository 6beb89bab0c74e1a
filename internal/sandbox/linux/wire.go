package linux

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
)

// The spawner protocol. The server and its spawner talk over a
// SOCK_SEQPACKET socket pair: each datagram is one message, and the
// descriptors that go with it travel beside it (SCM_RIGHTS). Every message
// is about one start, named by an id the server chose.
//
//	offset  size  field
//	0       1     op
//	1       1     stdio   opStart: which of stdout, stderr follow the code's descriptor
//	2       8     id      little-endian, as the rest
//	10      4     a       opStart: RLIMIT_NOFILE; opStarted: pid; opExited: exit status, -1 after a signal
//	14      4     b       opExited: the signal that ended the process, 0 for none
//	18      …     text    opFailed: why, UTF-8, 1 to maxText bytes; nothing for the other ops
//
//	op         from     descriptors
//	opStart    server   config (read), status (write), code, [stdout], [stderr], each cgroup.procs (write)
//	opStarted  spawner  the init's pidfd
//	opFailed   spawner  none
//	opExited   spawner  none
//
// A start gets opStarted or opFailed, and after opStarted, once, opExited.
// A malformed message is the end of the conversation: the server kills the
// spawner, as it would a spawner that died.
type op uint8

const (
	opStart   op = 1 // server: clone an init with these descriptors
	opStarted op = 2 // spawner: the init runs, attached to its cgroups, its open files limited
	opFailed  op = 3 // spawner: it could not; the init, if cloned, is killed
	opExited  op = 4 // spawner: the sandbox's main process exited, and was reaped
)

func (o op) String() string {
	switch o {
	case opStart:
		return "start"
	case opStarted:
		return "started"
	case opFailed:
		return "failed"
	case opExited:
		return "exited"
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// Bits of message.stdio: which standard streams an opStart passes.
const (
	stdioOut = 1 << iota
	stdioErr
)

const (
	headerSize = 18
	// maxText bounds an opFailed's reason; longer reasons are cut.
	maxText = 1024
	// maxMessage is the largest message: a receive buffer of this size
	// never truncates one.
	maxMessage = headerSize + maxText
	// maxCgroupFiles bounds an opStart's cgroup.procs descriptors: one per
	// hierarchy the cgroup package uses (memory, cpu, pids at most).
	maxCgroupFiles = 3
	// maxFiles is the most descriptors any message carries.
	maxFiles = 5 + maxCgroupFiles
)

// message is one message of the spawner protocol; which fields an op uses
// is in the table above, the others are zero.
type message struct {
	op        op
	id        uint64
	stdio     uint8  // opStart
	openFiles uint32 // opStart
	pid       int32  // opStarted
	status    int32  // opExited: exit status, or -1 when a signal ended the process
	signal    int32  // opExited
	text      string // opFailed
}

// files returns how many descriptors a well-formed m carries, beside its
// cgroup.procs files for an opStart.
func (m message) files() int {
	switch m.op {
	case opStart:
		n := 3
		if m.stdio&stdioOut != 0 {
			n++
		}
		if m.stdio&stdioErr != 0 {
			n++
		}
		return n
	case opStarted:
		return 1
	}
	return 0
}

// encode returns m as a datagram. It cuts text at maxText bytes (on a rune
// boundary) and gives an opFailed without one a reason, so that whatever it
// returns decodes.
func (m message) encode() []byte {
	var a, b uint32
	switch m.op {
	case opStart:
		a = m.openFiles
	case opStarted:
		a = uint32(m.pid)
	case opExited:
		a, b = uint32(m.status), uint32(m.signal)
	}
	text := ""
	if m.op == opFailed {
		text = cut(m.text, maxText)
		if text == "" {
			text = "the spawner gave no reason"
		}
	}
	buf := make([]byte, headerSize, headerSize+len(text))
	buf[0] = byte(m.op)
	if m.op == opStart {
		buf[1] = m.stdio
	}
	binary.LittleEndian.PutUint64(buf[2:], m.id)
	binary.LittleEndian.PutUint32(buf[10:], a)
	binary.LittleEndian.PutUint32(buf[14:], b)
	return append(buf, text...)
}

// errMessage is what decode's errors wrap.
var errMessage = errors.New("malformed spawner message")

// decode parses a datagram into a message, refusing anything encode would
// not have made.
func decode(buf []byte) (message, error) {
	if len(buf) < headerSize {
		return message{}, fmt.Errorf("%w: %d bytes, want at least %d", errMessage, len(buf), headerSize)
	}
	m := message{op: op(buf[0]), id: binary.LittleEndian.Uint64(buf[2:])}
	stdio := buf[1]
	a := binary.LittleEndian.Uint32(buf[10:])
	b := binary.LittleEndian.Uint32(buf[14:])
	text := buf[headerSize:]
	if m.op != opStart && stdio != 0 {
		return message{}, fmt.Errorf("%w: %v with stdio bits %#x", errMessage, m.op, stdio)
	}
	if m.op != opFailed && len(text) != 0 {
		return message{}, fmt.Errorf("%w: %v with %d bytes of text", errMessage, m.op, len(text))
	}
	if m.op != opExited && b != 0 || m.op == opFailed && a != 0 {
		return message{}, fmt.Errorf("%w: %v with fields it does not have", errMessage, m.op)
	}
	switch m.op {
	case opStart:
		if stdio&^(stdioOut|stdioErr) != 0 {
			return message{}, fmt.Errorf("%w: unknown stdio bits %#x", errMessage, stdio)
		}
		m.stdio, m.openFiles = stdio, a
	case opStarted:
		m.pid = int32(a)
		if m.pid <= 0 {
			return message{}, fmt.Errorf("%w: started with pid %d", errMessage, m.pid)
		}
	case opFailed:
		if len(text) == 0 || len(text) > maxText || !utf8.Valid(text) {
			return message{}, fmt.Errorf("%w: a reason of %d bytes, want 1 to %d of UTF-8", errMessage, len(text), maxText)
		}
		m.text = string(text)
	case opExited:
		m.status, m.signal = int32(a), int32(b)
		if m.status < -1 || m.status > 255 || m.signal < 0 || m.signal > 64 || (m.status == -1) != (m.signal != 0) {
			return message{}, fmt.Errorf("%w: exit status %d with signal %d", errMessage, m.status, m.signal)
		}
	default:
		return message{}, fmt.Errorf("%w: unknown op %d", errMessage, buf[0])
	}
	return m, nil
}

// cut returns s cut to at most n bytes, on a rune boundary, with invalid
// UTF-8 replaced.
func cut(s string, n int) string {
	s = string([]rune(s)) // replaces invalid bytes
	for len(s) > n {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}
