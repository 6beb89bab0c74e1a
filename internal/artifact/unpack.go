package artifact

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// errLimit reports that an entry's content reached the unzipped-size limit.
var errLimit = errors.New("unzipped size limit reached")

// readError marks an error from reading the zip (the user's package is
// corrupt) as opposed to writing the tree (our disk is at fault).
type readError struct{ err error }

func (e readError) Error() string { return e.err.Error() }
func (e readError) Unwrap() error { return e.err }

// unpack writes the package m describes into a new directory under tmp/ and
// syncs it, files and directories, so that install need only rename it. It
// counts the bytes it writes, trusting no header, and stops at MaxUnzipped;
// the zip reader checks each entry's CRC and size. On error nothing is left.
//
// Everything is written through an os.Root on the staging directory: inspect
// has already refused names and links that leave the package, and the root
// makes sure no mistake there can write elsewhere. Links are created last, so
// nothing is ever written through one.
func (s *Store) unpack(m *manifest) (_ string, err error) {
	staged, err := os.MkdirTemp(s.tmpDir(), "tree-")
	if err != nil {
		return "", fmt.Errorf("artifact: %w", err)
	}
	defer func() {
		if err != nil {
			_ = removeTree(staged)
		}
	}()
	root, err := os.OpenRoot(staged)
	if err != nil {
		return "", fmt.Errorf("artifact: %w", err)
	}
	defer root.Close()

	dirs := m.dirs()
	for _, d := range dirs {
		if err := root.Mkdir(d.name, 0o755); err != nil {
			return "", fmt.Errorf("artifact: %w", err)
		}
	}
	remaining := s.limits.MaxUnzipped
	for _, n := range m.entries {
		if n.kind != kindFile {
			continue
		}
		written, err := writeFile(root, n, remaining)
		switch {
		case errors.Is(err, errLimit):
			return "", errUnzippedSize(s.limits.MaxUnzipped)
		case errors.As(err, new(readError)):
			return "", errUnzip()
		case err != nil:
			return "", fmt.Errorf("artifact: unpack %q: %w", n.name, err)
		}
		remaining -= written
	}
	for _, n := range m.entries {
		if n.kind == kindSymlink {
			if err := root.Symlink(n.target, n.name); err != nil {
				return "", fmt.Errorf("artifact: %w", err)
			}
		}
	}
	// Deepest first: a directory is made read-only, then synced (its
	// entries and its mode), once everything in it is written.
	for _, d := range slices.Backward(dirs) {
		if err := root.Chmod(d.name, 0o555); err != nil {
			return "", fmt.Errorf("artifact: %w", err)
		}
		if err := syncIn(root, d.name); err != nil {
			return "", fmt.Errorf("artifact: %w", err)
		}
	}
	// The staging root stays writable until install has renamed it.
	if err := os.Chmod(staged, 0o755); err != nil {
		return "", fmt.Errorf("artifact: %w", err)
	}
	if err := syncIn(root, "."); err != nil {
		return "", fmt.Errorf("artifact: %w", err)
	}
	return staged, nil
}

// writeFile writes one file entry, at most limit bytes of it, and syncs it.
// It returns the bytes written.
func writeFile(root *os.Root, n *node, limit int64) (int64, error) {
	rc, err := n.file.Open()
	if err != nil {
		return 0, readError{err}
	}
	defer rc.Close()
	// O_EXCL: inspect refused duplicates, so an existing file means a bug.
	f, err := root.OpenFile(n.name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return 0, err
	}
	written, err := copyLimited(f, rc, limit)
	if err == nil {
		err = f.Chmod(fileMode(n.file))
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return written, err
}

// copyLimited copies src to dst until src ends, failing with errLimit when
// src holds more than limit bytes, and marking src's errors as readError.
func copyLimited(dst io.Writer, src io.Reader, limit int64) (int64, error) {
	buf := make([]byte, 32*1024)
	var written int64
	for {
		n, rerr := src.Read(buf)
		if int64(n) > limit-written {
			return written, errLimit
		}
		if n > 0 {
			if _, err := dst.Write(buf[:n]); err != nil {
				return written, err
			}
			written += int64(n)
		}
		switch {
		case rerr == io.EOF:
			return written, nil
		case rerr != nil:
			return written, readError{rerr}
		}
	}
}

// dirs returns the package's directories but the root, parents before
// children, in a fixed order.
func (m *manifest) dirs() []*node {
	var out []*node
	stack := []*node{m.root}
	for len(stack) > 0 {
		d := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if d != m.root {
			out = append(out, d)
		}
		names := make([]string, 0, len(d.children))
		for c, n := range d.children {
			if n.kind == kindDir {
				names = append(names, c)
			}
		}
		slices.Sort(names)
		for _, c := range slices.Backward(names) {
			stack = append(stack, d.children[c])
		}
	}
	return out
}

func syncIn(root *os.Root, name string) error {
	d, err := root.Open(name)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
