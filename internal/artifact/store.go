package artifact

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/function"
)

// Limits bound what Put accepts.
type Limits struct {
	// MaxZipped is the largest zip accepted, in bytes (Lambda: 50 MiB).
	MaxZipped int64
	// MaxUnzipped is the largest total of the entries' uncompressed sizes, in
	// bytes (Lambda: 250 MiB). Bytes are counted as they are extracted, not
	// taken from the zip's headers.
	MaxUnzipped int64
	// MaxFiles is the most entries (files, directories and symbolic links) a
	// zip may hold. Lambda states no such limit; ours bounds the work and the
	// inodes one upload can cost.
	MaxFiles int
}

// DefaultLimits returns Lambda's limits for zip packages uploaded through the
// API, and a file count no real package reaches.
func DefaultLimits() Limits {
	return Limits{MaxZipped: 52428800, MaxUnzipped: 262144000, MaxFiles: 20000}
}

func (l Limits) validate() error {
	if l.MaxZipped <= 0 || l.MaxUnzipped <= 0 || l.MaxFiles <= 0 {
		return fmt.Errorf("artifact: limits must be positive: %+v", l)
	}
	return nil
}

// Store is the content-addressed store of code packages under one directory
// (the layout is in the package doc). It is safe for concurrent use. One Store
// owns its directory: Open empties tmp/, which another process sharing the
// directory would be writing in.
type Store struct {
	dir    string
	limits Limits

	// Lock order: mu is held only to find or drop a digest's lock, never
	// while waiting for one; a goroutine holds at most one digest lock.
	mu      sync.Mutex
	digests map[string]*digestLock // guarded by mu
}

var _ function.Packages = (*Store)(nil)

// digestLock serialises the writers (Put, Remove) of one package, so that
// concurrent Puts of the same zip unpack it once and a Remove never runs
// between a Put's check and its write.
type digestLock struct {
	sync.Mutex
	users int // guarded by Store.mu
}

// Open returns the store under dir, creating its directories as needed. It
// removes what a crash left behind: everything in tmp/, and trees whose zip
// is gone; and it finishes trees installed but not yet made read-only.
func Open(dir string, limits Limits) (*Store, error) {
	if err := limits.validate(); err != nil {
		return nil, err
	}
	s := &Store{dir: dir, limits: limits, digests: make(map[string]*digestLock)}
	for _, d := range []string{s.zipDir(), s.treeDir(), s.tmpDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("artifact: %w", err)
		}
	}
	if err := s.recover(); err != nil {
		return nil, fmt.Errorf("artifact: recover %s: %w", dir, err)
	}
	return s, nil
}

func (s *Store) recover() error {
	staged, err := os.ReadDir(s.tmpDir())
	if err != nil {
		return err
	}
	for _, e := range staged {
		if err := removeTree(filepath.Join(s.tmpDir(), e.Name())); err != nil {
			return err
		}
	}
	trees, err := os.ReadDir(s.treeDir())
	if err != nil {
		return err
	}
	for _, e := range trees {
		digest := e.Name()
		if !validDigest(digest) {
			continue // not ours; leave it for a person to look at
		}
		tree := filepath.Join(s.treeDir(), digest)
		switch _, err := os.Lstat(s.zipPath(digest)); {
		case errors.Is(err, fs.ErrNotExist):
			// Put writes the zip before the tree and Remove removes the tree
			// first, so an orphan tree was left by hand or by a broken disk.
			if err := removeTree(tree); err != nil {
				return err
			}
			continue
		case err != nil:
			return err
		}
		// A crash between install's rename and its chmod leaves the root
		// of an otherwise complete tree writable.
		info, err := os.Lstat(tree)
		if err != nil {
			return err
		}
		if info.IsDir() && info.Mode().Perm() != 0o555 {
			if err := os.Chmod(tree, 0o555); err != nil {
				return err
			}
			if err := syncDir(tree); err != nil {
				return err
			}
		}
	}
	return nil
}

// Put validates zipData and, if it is a valid package, stores it durably and
// unpacks it, returning its Code (the hex SHA-256 of zipData and its size).
//
// entrypoint, when not "", names the file the runtime starts: "bootstrap" for
// the provided runtimes. It must be at the root of the package, be a regular
// file, or a symbolic link resolving to one inside the package, and have an
// executable bit in the zip.
// When Put returns without error the zip and its tree are on disk and survive
// a crash.
//
// A refused package is reported with an errdefs error (ErrTooLarge for a zip
// over MaxZipped, ErrInvalidArgument otherwise) whose message tells the user
// what to fix; nothing of it is left in the store. Everything but the
// entries' contents is checked before anything is written; contents (CRC,
// actual sizes) are checked while unpacking into tmp/.
//
// Put is idempotent: for a package already present it repeats only the checks
// of the zip's directory, not the unpacking, and returns the same Code. A zip
// present without its tree (a crash between the two) is unpacked again. Put is
// safe for concurrent use with the same or different packages.
func (s *Store) Put(zipData []byte, entrypoint string) (function.Code, error) {
	if int64(len(zipData)) > s.limits.MaxZipped {
		return function.Code{}, errdefs.New(errdefs.ErrTooLarge,
			"Zipped size must be smaller than %d bytes", s.limits.MaxZipped)
	}
	if err := checkEntrypointName(entrypoint); err != nil {
		return function.Code{}, err
	}
	m, err := inspect(zipData, s.limits, entrypoint)
	if err != nil {
		return function.Code{}, err
	}
	sum := sha256.Sum256(zipData)
	digest := hex.EncodeToString(sum[:])
	code := function.Code{SHA256: digest, Size: int64(len(zipData))}

	unlock := s.lock(digest)
	defer unlock()
	hasZip, err := exists(s.zipPath(digest))
	if err != nil {
		return function.Code{}, fmt.Errorf("artifact: %w", err)
	}
	hasTree, err := exists(s.treePath(digest))
	if err != nil {
		return function.Code{}, fmt.Errorf("artifact: %w", err)
	}
	if hasZip && hasTree {
		return code, nil
	}

	// Unpack first: it is the last check of the package, and a refused
	// package must not leave its zip behind.
	var staged string
	if !hasTree {
		if staged, err = s.unpack(m); err != nil {
			return function.Code{}, err
		}
		defer func() {
			if staged != "" {
				_ = removeTree(staged)
			}
		}()
	}
	// The zip goes in before the tree, so that a tree never exists without
	// its zip and a crash in between leaves a state Put repairs.
	if !hasZip {
		if err := s.writeZip(digest, zipData); err != nil {
			return function.Code{}, err
		}
	}
	if !hasTree {
		if err := s.install(staged, digest); err != nil {
			return function.Code{}, err
		}
		staged = ""
	}
	return code, nil
}

// Tree returns the path of the unpacked tree of the package with the given
// digest, for mounting read-only at /var/task. It returns "" when sha256 is not
// a digest (64 lowercase hex digits), and does not check that the package is
// present.
func (s *Store) Tree(sha256 string) string {
	if !validDigest(sha256) {
		return ""
	}
	return s.treePath(sha256)
}

// Open returns the zip of the package with the given digest, as uploaded. It
// fails with errdefs.ErrNotFound when the package is absent and
// errdefs.ErrInvalidArgument when sha256 is not a digest.
func (s *Store) Open(sha256 string) (io.ReadCloser, error) {
	if err := checkDigest(sha256); err != nil {
		return nil, err
	}
	f, err := os.Open(s.zipPath(sha256))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("code package %s: %w", sha256, errdefs.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("artifact: %w", err)
	}
	return f, nil
}

// Remove deletes the package with the given digest, its zip and its tree. An
// absent package is not an error. The caller must know that nothing uses the
// package: no version references it and no sandbox has its tree mounted.
func (s *Store) Remove(sha256 string) error {
	if err := checkDigest(sha256); err != nil {
		return err
	}
	unlock := s.lock(sha256)
	defer unlock()

	// The tree leaves tree/ in one rename, so a crash never leaves a partly
	// deleted tree that Put would take for a complete one; the copy in tmp/ is
	// deleted below, or by the next Open.
	var trash string
	tree := s.treePath(sha256)
	if ok, err := exists(tree); err != nil {
		return fmt.Errorf("artifact: %w", err)
	} else if ok {
		// Moving a directory to another parent rewrites its "..", which
		// needs write permission on it.
		if err := os.Chmod(tree, 0o755); err != nil {
			return fmt.Errorf("artifact: %w", err)
		}
		if trash, err = os.MkdirTemp(s.tmpDir(), "rm-"); err != nil {
			return fmt.Errorf("artifact: %w", err)
		}
		if err := os.Rename(tree, filepath.Join(trash, "tree")); err != nil {
			_ = removeTree(trash)
			return fmt.Errorf("artifact: %w", err)
		}
		if err := syncDir(s.treeDir()); err != nil {
			return fmt.Errorf("artifact: %w", err)
		}
	}
	if err := os.Remove(s.zipPath(sha256)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("artifact: %w", err)
	}
	if err := syncDir(s.zipDir()); err != nil {
		return fmt.Errorf("artifact: %w", err)
	}
	if trash != "" {
		if err := removeTree(trash); err != nil {
			return fmt.Errorf("artifact: %w", err)
		}
	}
	return nil
}

// List returns the digests of the packages present, sorted. A package is
// present when its zip is, whether or not its tree is.
func (s *Store) List() ([]string, error) {
	entries, err := os.ReadDir(s.zipDir())
	if err != nil {
		return nil, fmt.Errorf("artifact: %w", err)
	}
	var digests []string
	for _, e := range entries {
		if digest, ok := strings.CutSuffix(e.Name(), ".zip"); ok && validDigest(digest) && e.Type().IsRegular() {
			digests = append(digests, digest)
		}
	}
	return digests, nil
}

// lock takes the lock of one digest and returns its release.
func (s *Store) lock(digest string) (unlock func()) {
	s.mu.Lock()
	l := s.digests[digest]
	if l == nil {
		l = &digestLock{}
		s.digests[digest] = l
	}
	l.users++
	s.mu.Unlock()

	l.Lock()
	return func() {
		l.Unlock()
		s.mu.Lock()
		if l.users--; l.users == 0 {
			delete(s.digests, digest)
		}
		s.mu.Unlock()
	}
}

// writeZip stores zipData as zip/<digest>.zip: written and synced in tmp/,
// then renamed into place, so zip/ only ever holds complete files.
func (s *Store) writeZip(digest string, zipData []byte) (err error) {
	f, err := os.CreateTemp(s.tmpDir(), "zip-")
	if err != nil {
		return fmt.Errorf("artifact: %w", err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(zipData); err != nil {
		return fmt.Errorf("artifact: write zip: %w", err)
	}
	if err := f.Chmod(0o444); err != nil {
		return fmt.Errorf("artifact: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("artifact: sync zip: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("artifact: %w", err)
	}
	if err := os.Rename(f.Name(), s.zipPath(digest)); err != nil {
		return fmt.Errorf("artifact: %w", err)
	}
	if err := syncDir(s.zipDir()); err != nil {
		return fmt.Errorf("artifact: %w", err)
	}
	return nil
}

// install moves a staged, synced tree to tree/<digest> and makes its root
// read-only. The root is chmodded after the rename because moving a
// directory to another parent needs write permission on it.
func (s *Store) install(staged, digest string) error {
	dst := s.treePath(digest)
	if err := os.Rename(staged, dst); err != nil {
		// Another writer (a second process on the same directory, against
		// the rules, or a lock bug) installed the same content first.
		if errors.Is(err, fs.ErrExist) {
			return nil
		}
		return fmt.Errorf("artifact: %w", err)
	}
	if err := os.Chmod(dst, 0o555); err != nil {
		return fmt.Errorf("artifact: %w", err)
	}
	if err := syncDir(dst); err != nil {
		return fmt.Errorf("artifact: %w", err)
	}
	if err := syncDir(s.treeDir()); err != nil {
		return fmt.Errorf("artifact: %w", err)
	}
	return nil
}

func (s *Store) zipDir() string  { return filepath.Join(s.dir, "zip") }
func (s *Store) treeDir() string { return filepath.Join(s.dir, "tree") }
func (s *Store) tmpDir() string  { return filepath.Join(s.dir, "tmp") }

// zipPath and treePath take only digests that passed validDigest.
func (s *Store) zipPath(digest string) string  { return filepath.Join(s.zipDir(), digest+".zip") }
func (s *Store) treePath(digest string) string { return filepath.Join(s.treeDir(), digest) }

// validDigest reports whether s is a hex SHA-256 as Put names packages: 64
// lowercase hex digits, and so safe as a file name.
func validDigest(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for i := range len(s) {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func checkDigest(s string) error {
	if !validDigest(s) {
		return errdefs.New(errdefs.ErrInvalidArgument, "%q is not a code SHA-256 (64 lowercase hex digits).", shown(s))
	}
	return nil
}

func exists(path string) (bool, error) {
	_, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// syncDir makes the entries of a directory (creations, renames, removals)
// durable.
func syncDir(path string) error {
	d, err := os.Open(path)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// removeTree removes path and everything under it. Trees are read-only: root
// ignores that, anyone else must first make the directories writable.
func removeTree(path string) error {
	_ = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		// WalkDir reports types from lstat, so this never chmods through a
		// symbolic link.
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o755)
		}
		return nil
	})
	return os.RemoveAll(path)
}
