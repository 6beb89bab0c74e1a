package artifact

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
)

// FuzzArtifactPut feeds arbitrary bytes to Put. Whatever they are, Put must
// not panic, must refuse with a user-facing error and leave nothing behind,
// or store a tree with only the modes it promises and no link leading out;
// and nothing may appear beside the store's directory.
func FuzzArtifactPut(f *testing.F) {
	for _, seed := range [][]byte{
		makeZip(f, bootstrap, dir("empty/"), file("lib/data", 0o644, "data"), link("cur", "lib/data"), link("lib/up", "../bootstrap")),
		makeZip(f, file("../evil", 0o644, "x"), link("up", ".."), file("up/x", 0o644, "x")),
		makeZip(f, link("d/up", ".."), link("x", "d/up/.."), link("a", "b"), link("b", "a")),
		makeZip(f, winFile("bootstrap", "x"), file("a/b", 0o644, "x"), file("a", 0o644, "x")),
		makeZip(f, bootstrap, file("bomb", 0o644, strings.Repeat("\x00", 1<<20))),
		[]byte("PK\x05\x06" + strings.Repeat("\x00", 18)),
		{},
	} {
		f.Add(seed)
	}
	limits := Limits{MaxZipped: 1 << 20, MaxUnzipped: 256 << 10, MaxFiles: 64}
	f.Fuzz(func(t *testing.T, data []byte) {
		parent := t.TempDir()
		t.Cleanup(func() { _ = removeTree(parent) })
		dir := filepath.Join(parent, "store")
		s, err := Open(dir, limits)
		if err != nil {
			t.Fatal(err)
		}
		for _, opts := range []string{"", "bootstrap"} {
			code, err := s.Put(data, opts)
			if err != nil {
				if !errors.Is(err, errdefs.ErrInvalidArgument) && !errors.Is(err, errdefs.ErrTooLarge) {
					t.Fatalf("Put(%+v): error of no user-facing kind: %v", opts, err)
				}
				if _, ok := errdefs.Message(err); !ok {
					t.Fatalf("Put(%+v): error without a message: %v", opts, err)
				}
				if opts == "" {
					assertNoLeftovers(t, dir)
				}
				continue
			}
			if code.SHA256 != sha256Hex(data) || code.Size != int64(len(data)) {
				t.Fatalf("Put: got %+v for %d bytes", code, len(data))
			}
			checkTree(t, s.Tree(code.SHA256))
		}
		entries, err := os.ReadDir(parent)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].Name() != "store" {
			t.Fatalf("written beside the store: %v", entries)
		}
	})
}

// checkTree fails unless every directory and file under tree has a promised
// mode and every link's target stays inside the tree as written.
func checkTree(t *testing.T, tree string) {
	t.Helper()
	err := filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(tree, p)
		switch m := info.Mode(); {
		case m&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if j := path.Join(path.Dir(filepath.ToSlash(rel)), target); path.IsAbs(target) || j == ".." || strings.HasPrefix(j, "../") {
				t.Errorf("link %s -> %s leads out of the tree", rel, target)
			}
		case m.IsDir():
			if m.Perm() != 0o555 {
				t.Errorf("directory %s has mode %v", rel, m)
			}
		case m.IsRegular():
			if m.Perm() != 0o444 && m.Perm() != 0o555 {
				t.Errorf("file %s has mode %v", rel, m)
			}
		default:
			t.Errorf("%s is special: %v", rel, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
