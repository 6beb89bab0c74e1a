package linux

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSandboxLinuxWireRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		m     message
		files int
	}{
		{"StartBare", message{op: opStart, id: 1, openFiles: 1024}, 3},
		{"StartStdout", message{op: opStart, id: 2, stdio: stdioOut, openFiles: 1}, 4},
		{"StartStdio", message{op: opStart, id: 1<<64 - 1, stdio: stdioOut | stdioErr, openFiles: 1<<32 - 1}, 5},
		{"Started", message{op: opStarted, id: 3, pid: 1<<31 - 1}, 1},
		{"Failed", message{op: opFailed, id: 4, text: "starting the sandbox's init: fork/exec: no space"}, 0},
		{"FailedUTF8", message{op: opFailed, id: 4, text: "naïve ✓"}, 0},
		{"ExitedZero", message{op: opExited, id: 5}, 0},
		{"ExitedStatus", message{op: opExited, id: 5, status: 255}, 0},
		{"ExitedSignal", message{op: opExited, id: 6, status: -1, signal: 9}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.m.encode()
			got, err := decode(b)
			if err != nil {
				t.Fatalf("decode(encode(%+v)) = %v", tt.m, err)
			}
			if got != tt.m {
				t.Errorf("decode(encode(%+v)) = %+v", tt.m, got)
			}
			if n := got.files(); n != tt.files {
				t.Errorf("files() = %d, want %d", n, tt.files)
			}
		})
	}
}

func TestSandboxLinuxWireEncodeFixesText(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"Empty", "", "the spawner gave no reason"},
		{"Long", strings.Repeat("x", maxText+10), strings.Repeat("x", maxText)},
		// A three-byte rune straddling the limit goes whole.
		{"LongRune", strings.Repeat("x", maxText-1) + "✓", strings.Repeat("x", maxText-1)},
		{"Invalid", "bad \xff byte", "bad \uFFFD byte"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := decode(message{op: opFailed, id: 1, text: tt.text}.encode())
			if err != nil {
				t.Fatal(err)
			}
			if m.text != tt.want {
				t.Errorf("text = %q (%d bytes), want %q", truncateForLog(m.text), len(m.text), truncateForLog(tt.want))
			}
		})
	}
}

func truncateForLog(s string) string {
	if len(s) > 40 {
		return s[:20] + "…" + s[len(s)-20:]
	}
	return s
}

// header builds a datagram field by field, to make the malformed ones.
func header(o op, stdio uint8, id uint64, a, b uint32, text string) []byte {
	buf := make([]byte, headerSize)
	buf[0], buf[1] = byte(o), stdio
	binary.LittleEndian.PutUint64(buf[2:], id)
	binary.LittleEndian.PutUint32(buf[10:], a)
	binary.LittleEndian.PutUint32(buf[14:], b)
	return append(buf, text...)
}

func TestSandboxLinuxWireDecodeRefuses(t *testing.T) {
	minus := func(n int32) uint32 { return uint32(n) }
	tests := []struct {
		name string
		b    []byte
	}{
		{"Empty", nil},
		{"Short", header(opStarted, 0, 1, 5, 0, "")[:headerSize-1]},
		{"UnknownOp", header(9, 0, 1, 0, 0, "")},
		{"ZeroOp", header(0, 0, 1, 0, 0, "")},
		{"StartUnknownStdio", header(opStart, 4, 1, 10, 0, "")},
		{"StartWithSignal", header(opStart, 0, 1, 10, 9, "")},
		{"StartWithText", header(opStart, 0, 1, 10, 0, "x")},
		{"StartedStdio", header(opStarted, stdioOut, 1, 5, 0, "")},
		{"StartedPidZero", header(opStarted, 0, 1, 0, 0, "")},
		{"StartedPidNegative", header(opStarted, 0, 1, minus(-5), 0, "")},
		{"FailedNoText", header(opFailed, 0, 1, 0, 0, "")},
		{"FailedLong", header(opFailed, 0, 1, 0, 0, strings.Repeat("x", maxText+1))},
		{"FailedInvalidUTF8", header(opFailed, 0, 1, 0, 0, "\xff")},
		{"FailedWithSignal", header(opFailed, 0, 1, 0, 1, "x")},
		{"FailedWithA", header(opFailed, 0, 1, 7, 0, "x")},
		{"ExitedStatusTooBig", header(opExited, 0, 1, 256, 0, "")},
		{"ExitedStatusNegative", header(opExited, 0, 1, minus(-2), 0, "")},
		{"ExitedSignalWithStatus", header(opExited, 0, 1, 1, 9, "")},
		{"ExitedMinusOneNoSignal", header(opExited, 0, 1, minus(-1), 0, "")},
		{"ExitedSignalTooBig", header(opExited, 0, 1, minus(-1), 65, "")},
		{"ExitedWithText", header(opExited, 0, 1, 0, 0, "x")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := decode(tt.b)
			if !errors.Is(err, errMessage) {
				t.Errorf("decode = %+v, %v; want an error wrapping errMessage", m, err)
			}
		})
	}
}

// FuzzSandboxLinuxWireDecode checks that decode never panics, that what it
// accepts encodes back to the same bytes, and that it accepts nothing
// beyond the format.
func FuzzSandboxLinuxWireDecode(f *testing.F) {
	for _, m := range []message{
		{op: opStart, id: 7, stdio: stdioOut | stdioErr, openFiles: 1024},
		{op: opStarted, id: 8, pid: 4242},
		{op: opFailed, id: 9, text: "limiting open files: operation not permitted"},
		{op: opExited, id: 10, status: -1, signal: 9},
		{op: opExited, id: 11, status: 3},
	} {
		f.Add(m.encode())
	}
	f.Add(header(opStart, 0xff, 1, 0, 0, "x"))
	f.Add(header(opFailed, 0, 1, 0x30303030, 0, "000000000000")) // found by fuzzing: a stray field
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decode(b)
		if err != nil {
			if !errors.Is(err, errMessage) {
				t.Fatalf("decode error %v does not wrap errMessage", err)
			}
			return
		}
		if again := m.encode(); !bytes.Equal(again, b) {
			t.Fatalf("decode(%x) = %+v, which encodes to %x", b, m, again)
		}
		if len(b) > maxMessage || !utf8.ValidString(m.text) {
			t.Fatalf("decode accepted %d bytes with text %q", len(b), m.text)
		}
	})
}

func BenchmarkSandboxLinuxWireDecode(b *testing.B) {
	enc := message{op: opFailed, id: 42, text: "starting the sandbox's init: fork/exec /proc/self/exe: resource temporarily unavailable"}.encode()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}
