package artifact

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
)

// zipEntry is one entry of a zip a test builds.
type zipEntry struct {
	name    string
	mode    fs.FileMode
	windows bool // no Unix mode, as zips made on Windows
	body    string
	// raw, when set, is written as is (CreateRaw) with rawData: for entries
	// no honest zip writer makes.
	raw     *zip.FileHeader
	rawData []byte
}

func file(name string, mode fs.FileMode, body string) zipEntry {
	return zipEntry{name: name, mode: mode, body: body}
}

func dir(name string) zipEntry { return zipEntry{name: name, mode: fs.ModeDir | 0o755} }

func link(name, target string) zipEntry {
	return zipEntry{name: name, mode: fs.ModeSymlink | 0o777, body: target}
}

func winFile(name, body string) zipEntry { return zipEntry{name: name, windows: true, body: body} }

func raw(h *zip.FileHeader, data []byte) zipEntry { return zipEntry{raw: h, rawData: data} }

// stored returns the header of an uncompressed entry holding data.
func stored(name string, data []byte) *zip.FileHeader {
	h := &zip.FileHeader{Name: name, Method: zip.Store, CRC32: crc32.ChecksumIEEE(data),
		CompressedSize64: uint64(len(data)), UncompressedSize64: uint64(len(data))}
	h.SetMode(0o644)
	return h
}

func makeZip(t testing.TB, entries ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, e := range entries {
		if e.raw != nil {
			fw, err := w.CreateRaw(e.raw)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := fw.Write(e.rawData); err != nil {
				t.Fatal(err)
			}
			continue
		}
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if !e.windows {
			h.SetMode(e.mode)
		}
		fw, err := w.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func deflate(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	fw, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// newStore opens a store in a fresh directory that the test's end removes,
// read-only trees included.
func newStore(t testing.TB, limits Limits) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	// Runs before TempDir's own removal, which fails on read-only
	// directories when the tests do not run as root.
	t.Cleanup(func() { _ = removeTree(dir) })
	s, err := Open(dir, limits)
	if err != nil {
		t.Fatal(err)
	}
	return s, dir
}

// snapshot describes every path under root: "dir 0555", "file 0444 <content>"
// or "link <target>".
func snapshot(t testing.TB, root string) map[string]string {
	t.Helper()
	out := make(map[string]string)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch perm := info.Mode().Perm(); {
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out[rel] = "link " + target
		case info.IsDir():
			out[rel] = fmt.Sprintf("dir %04o", perm)
		case info.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[rel] = fmt.Sprintf("file %04o %s", perm, b)
		default:
			out[rel] = "special " + info.Mode().String()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// assertNoLeftovers fails unless zip/, tree/ and tmp/ are all empty.
func assertNoLeftovers(t testing.TB, dir string) {
	t.Helper()
	for _, sub := range []string{"zip", "tree", "tmp"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			t.Errorf("%s/%s left behind", sub, e.Name())
		}
	}
}

// assertRefused fails unless err is of kind and carries exactly msg.
func assertRefused(t testing.TB, err, kind error, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted; want refusal %q", msg)
	}
	if !errors.Is(err, kind) {
		t.Errorf("error kind: got %v, want %v (error %q)", err, kind, err)
	}
	got, ok := errdefs.Message(err)
	if !ok {
		t.Fatalf("error %q carries no caller-facing message", err)
	}
	if got != msg {
		t.Errorf("message:\n got %s\nwant %s", got, msg)
	}
}
