package artifact

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/function"
	"github.com/google/go-cmp/cmp"
)

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func TestArtifactRoundTrip(t *testing.T) {
	s, base := newStore(t, DefaultLimits())
	zipData := makeZip(t,
		bootstrap,
		dir("empty/"),
		file("lib/data.txt", 0o644, "some data"),
		file("lib/tool", 0o700, "tool"),
		file("a/b/c.txt", 0o600, "deep"),
		link("current", "lib/data.txt"),
	)
	opts := "bootstrap"

	code, err := s.Put(zipData, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := function.Code{SHA256: sha256Hex(zipData), Size: int64(len(zipData))}
	if code != want {
		t.Fatalf("Put: got %+v, want %+v", code, want)
	}

	t.Run("tree", func(t *testing.T) {
		tree := s.Tree(code.SHA256)
		if tree != filepath.Join(base, "tree", code.SHA256) {
			t.Errorf("Tree: got %s", tree)
		}
		wantTree := map[string]string{
			".":            "dir 0555",
			"bootstrap":    "file 0555 #!/bin/sh\n",
			"empty":        "dir 0555",
			"lib":          "dir 0555",
			"lib/data.txt": "file 0444 some data",
			"lib/tool":     "file 0555 tool",
			"a":            "dir 0555",
			"a/b":          "dir 0555",
			"a/b/c.txt":    "file 0444 deep",
			"current":      "link lib/data.txt",
		}
		if diff := cmp.Diff(wantTree, snapshot(t, tree)); diff != "" {
			t.Errorf("tree (-want +got):\n%s", diff)
		}
	})

	t.Run("zip", func(t *testing.T) {
		info, err := os.Lstat(filepath.Join(base, "zip", code.SHA256+".zip"))
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode() != 0o444 {
			t.Errorf("zip mode: got %v, want -r--r--r--", info.Mode())
		}
		rc, err := s.Open(code.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		got, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, zipData) {
			t.Error("Open returned other bytes than were put")
		}
	})

	t.Run("idempotent", func(t *testing.T) {
		before := snapshot(t, base)
		again, err := s.Put(bytes.Clone(zipData), opts)
		if err != nil {
			t.Fatal(err)
		}
		if again != code {
			t.Errorf("second Put: got %+v, want %+v", again, code)
		}
		if diff := cmp.Diff(before, snapshot(t, base)); diff != "" {
			t.Errorf("second Put changed the store (-before +after):\n%s", diff)
		}
	})

	t.Run("idempotent put still checks the entrypoint", func(t *testing.T) {
		other := makeZip(t, file("index.js", 0o644, "x"))
		if _, err := s.Put(other, ""); err != nil {
			t.Fatal(err)
		}
		_, err := s.Put(other, opts)
		assertRefused(t, err, errdefs.ErrInvalidArgument, msgNoBootstrap)
		if err := s.Remove(sha256Hex(other)); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("list", func(t *testing.T) {
		second, err := s.Put(makeZip(t, file("bootstrap", 0o755, "other")), opts)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.List()
		if err != nil {
			t.Fatal(err)
		}
		want := []string{code.SHA256, second.SHA256}
		if want[0] > want[1] {
			want[0], want[1] = want[1], want[0]
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("List (-want +got):\n%s", diff)
		}
		if err := s.Remove(second.SHA256); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("remove", func(t *testing.T) {
		if err := s.Remove(code.SHA256); err != nil {
			t.Fatal(err)
		}
		assertNoLeftovers(t, base)
		if got, err := s.List(); err != nil || len(got) != 0 {
			t.Errorf("List after Remove: %v, %v", got, err)
		}
		if _, err := s.Open(code.SHA256); !errors.Is(err, errdefs.ErrNotFound) {
			t.Errorf("Open after Remove: got %v, want ErrNotFound", err)
		}
		if err := s.Remove(code.SHA256); err != nil {
			t.Errorf("Remove of an absent package: %v", err)
		}
		// Put again after Remove stores it afresh.
		if _, err := s.Put(zipData, opts); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Lstat(filepath.Join(s.Tree(code.SHA256), "bootstrap")); err != nil {
			t.Error(err)
		}
	})
}

func TestArtifactDigestArguments(t *testing.T) {
	s, dir := newStore(t, DefaultLimits())
	absent := sha256Hex([]byte("absent"))
	if got := s.Tree(absent); got != filepath.Join(dir, "tree", absent) {
		t.Errorf("Tree(%s) = %q", absent, got)
	}
	if _, err := s.Open(absent); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Open(absent): got %v, want ErrNotFound", err)
	}
	for _, bad := range []string{
		"",
		"../../../../etc/passwd",
		strings.ToUpper(absent),
		absent[:63],
		absent + "0",
		absent[:62] + "/.",
		"../tree/" + absent[8:],
		strings.Repeat("g", 64),
	} {
		t.Run(bad, func(t *testing.T) {
			if got := s.Tree(bad); got != "" {
				t.Errorf("Tree: got %q, want \"\"", got)
			}
			if _, err := s.Open(bad); !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Errorf("Open: got %v, want ErrInvalidArgument", err)
			}
			if err := s.Remove(bad); !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Errorf("Remove: got %v, want ErrInvalidArgument", err)
			}
		})
	}
}

func TestArtifactOpenLimits(t *testing.T) {
	for _, l := range []Limits{{}, {MaxZipped: 1, MaxUnzipped: 1}, {MaxZipped: -1, MaxUnzipped: 1, MaxFiles: 1}} {
		if _, err := Open(t.TempDir(), l); err == nil {
			t.Errorf("Open with %+v: accepted", l)
		}
	}
	if got, want := DefaultLimits(), (Limits{MaxZipped: 52428800, MaxUnzipped: 262144000, MaxFiles: 20000}); got != want {
		t.Errorf("DefaultLimits: got %+v, want %+v", got, want)
	}
}

func TestArtifactRecovery(t *testing.T) {
	zipData := makeZip(t, bootstrap, file("lib/data.txt", 0o644, "data"))
	opts := "bootstrap"
	digest := sha256Hex(zipData)
	wantTree := map[string]string{
		".": "dir 0555", "bootstrap": "file 0555 #!/bin/sh\n", "lib": "dir 0555", "lib/data.txt": "file 0444 data",
	}

	t.Run("leftovers in tmp removed", func(t *testing.T) {
		s, dir := newStore(t, DefaultLimits())
		if _, err := s.Put(zipData, opts); err != nil {
			t.Fatal(err)
		}
		// A half-unpacked tree, already partly read-only, and a half-written zip.
		tmp := filepath.Join(dir, "tmp")
		half := filepath.Join(tmp, "tree-123", "lib")
		if err := os.MkdirAll(half, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(half, "x"), []byte("x"), 0o444); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(half, 0o555); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tmp, "zip-456"), zipData[:10], 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(dir, DefaultLimits()); err != nil {
			t.Fatal(err)
		}
		if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
			t.Errorf("tmp/ not emptied: %v", entries)
		}
		if diff := cmp.Diff(wantTree, snapshot(t, filepath.Join(dir, "tree", digest))); diff != "" {
			t.Errorf("stored tree touched (-want +got):\n%s", diff)
		}
	})

	t.Run("zip without tree unpacked by Put", func(t *testing.T) {
		s, dir := newStore(t, DefaultLimits())
		if _, err := s.Put(zipData, opts); err != nil {
			t.Fatal(err)
		}
		// A crash between writing the zip and installing the tree.
		if err := removeTree(s.Tree(digest)); err != nil {
			t.Fatal(err)
		}
		s, err := Open(dir, DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.List(); err != nil || !cmp.Equal(got, []string{digest}) {
			t.Errorf("List: got %v, %v; want the zip's digest", got, err)
		}
		if _, err := s.Put(zipData, opts); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(wantTree, snapshot(t, s.Tree(digest))); diff != "" {
			t.Errorf("tree (-want +got):\n%s", diff)
		}
	})

	t.Run("tree without zip removed", func(t *testing.T) {
		s, dir := newStore(t, DefaultLimits())
		if _, err := s.Put(zipData, opts); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(dir, "zip", digest+".zip")); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(dir, DefaultLimits()); err != nil {
			t.Fatal(err)
		}
		assertNoLeftovers(t, dir)
	})

	t.Run("tree root left writable made read-only", func(t *testing.T) {
		s, dir := newStore(t, DefaultLimits())
		if _, err := s.Put(zipData, opts); err != nil {
			t.Fatal(err)
		}
		// A crash between install's rename and its chmod.
		if err := os.Chmod(s.Tree(digest), 0o755); err != nil {
			t.Fatal(err)
		}
		s, err := Open(dir, DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(wantTree, snapshot(t, s.Tree(digest))); diff != "" {
			t.Errorf("tree (-want +got):\n%s", diff)
		}
	})

	t.Run("remove interrupted after moving the tree", func(t *testing.T) {
		s, dir := newStore(t, DefaultLimits())
		if _, err := s.Put(zipData, opts); err != nil {
			t.Fatal(err)
		}
		// Remove's first step, then a crash: the tree is in tmp/, the zip remains.
		if err := os.Chmod(s.Tree(digest), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(s.Tree(digest), filepath.Join(dir, "tmp", "rm-1")); err != nil {
			t.Fatal(err)
		}
		s, err := Open(dir, DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Remove(digest); err != nil {
			t.Fatal(err)
		}
		assertNoLeftovers(t, dir)
	})

	t.Run("unknown names left alone", func(t *testing.T) {
		_, dir := newStore(t, DefaultLimits())
		for _, p := range []string{"zip/README", "tree/notes"} {
			if err := os.WriteFile(filepath.Join(dir, p), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		s, err := Open(dir, DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.List(); err != nil || len(got) != 0 {
			t.Errorf("List: got %v, %v; want none", got, err)
		}
		for _, p := range []string{"zip/README", "tree/notes"} {
			if _, err := os.Lstat(filepath.Join(dir, p)); err != nil {
				t.Error(err)
			}
		}
	})
}

func TestArtifactConcurrentPut(t *testing.T) {
	s, dir := newStore(t, DefaultLimits())
	opts := "bootstrap"
	bodies := []string{"one", "two", "three"}
	var packages [][]byte
	for _, body := range bodies {
		packages = append(packages, makeZip(t, file("bootstrap", 0o755, body), file("lib/"+body, 0o644, body)))
	}
	const n = 30
	codes := make([]function.Code, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { codes[i], errs[i] = s.Put(packages[i%len(packages)], opts) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Put %d: %v", i, errs[i])
		}
		zipData := packages[i%len(packages)]
		if want := (function.Code{SHA256: sha256Hex(zipData), Size: int64(len(zipData))}); codes[i] != want {
			t.Errorf("Put %d: got %+v, want %+v", i, codes[i], want)
		}
	}
	got, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(packages) {
		t.Errorf("List: got %d packages, want %d", len(got), len(packages))
	}
	for i, body := range bodies {
		zipData := packages[i]
		want := map[string]string{".": "dir 0555", "bootstrap": "file 0555 " + body, "lib": "dir 0555", "lib/" + body: "file 0444 " + body}
		if diff := cmp.Diff(want, snapshot(t, s.Tree(sha256Hex(zipData)))); diff != "" {
			t.Errorf("tree of %s (-want +got):\n%s", body, diff)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(entries) != 0 {
		t.Errorf("tmp/ not empty: %v", entries)
	}
}

// TestArtifactConcurrentPutRemove races Put and Remove of one package: at the
// end it is either wholly present or wholly absent.
func TestArtifactConcurrentPutRemove(t *testing.T) {
	s, dir := newStore(t, DefaultLimits())
	zipData := makeZip(t, bootstrap, file("lib/data", 0o644, "data"))
	digest := sha256Hex(zipData)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if i%2 == 0 {
				if _, err := s.Put(zipData, "bootstrap"); err != nil {
					t.Error(err)
				}
			} else if err := s.Remove(digest); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	hasZip, _ := exists(filepath.Join(dir, "zip", digest+".zip"))
	hasTree, _ := exists(s.Tree(digest))
	if hasZip != hasTree {
		t.Errorf("zip present %v, tree present %v", hasZip, hasTree)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(entries) != 0 {
		t.Errorf("tmp/ not empty: %v", entries)
	}
}

func TestArtifactCopyCountsActualBytes(t *testing.T) {
	errRead := errors.New("disk on fire")
	tests := []struct {
		name    string
		src     io.Reader
		limit   int64
		written int64
		err     error
	}{
		{name: "under", src: strings.NewReader("12345"), limit: 6, written: 5},
		{name: "at", src: strings.NewReader("123456"), limit: 6, written: 6},
		{name: "over", src: strings.NewReader("1234567"), limit: 6, written: 0, err: errLimit},
		{name: "over after many reads", src: io.LimitReader(zeroReader{}, 1<<20), limit: 100 << 10, written: 96 << 10, err: errLimit},
		{name: "read error", src: io.MultiReader(strings.NewReader("12"), errReader{errRead}), limit: 6, written: 2, err: errRead},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var dst bytes.Buffer
			written, err := copyLimited(&dst, tt.src, tt.limit)
			if !errors.Is(err, tt.err) {
				t.Errorf("error: got %v, want %v", err, tt.err)
			}
			if tt.err == errRead && !errors.As(err, new(readError)) {
				t.Errorf("read error %v not marked as the zip's", err)
			}
			if written != tt.written || int64(dst.Len()) != written {
				t.Errorf("written: got %d (%d in dst), want %d", written, dst.Len(), tt.written)
			}
			if int64(dst.Len()) > tt.limit {
				t.Errorf("wrote %d bytes past a limit of %d", dst.Len(), tt.limit)
			}
		})
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// TestArtifactTreeModes checks modes with Lstat, since root, running the
// tests, writes through any permission.
func TestArtifactTreeModes(t *testing.T) {
	s, _ := newStore(t, DefaultLimits())
	code, err := s.Put(makeZip(t, bootstrap, file("a/b/c", 0o777, "c"), file("a/d", 0o666, "d")), "bootstrap")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]fs.FileMode{
		".": fs.ModeDir | 0o555, "bootstrap": 0o555, "a": fs.ModeDir | 0o555, "a/b": fs.ModeDir | 0o555,
		"a/b/c": 0o555, "a/d": 0o444,
	}
	for name, mode := range want {
		info, err := os.Lstat(filepath.Join(s.Tree(code.SHA256), name))
		if err != nil {
			t.Error(err)
			continue
		}
		if info.Mode() != mode {
			t.Errorf("%s: mode %v, want %v", name, info.Mode(), mode)
		}
	}
}
