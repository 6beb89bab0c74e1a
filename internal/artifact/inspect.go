package artifact

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
)

const (
	// Linux's NAME_MAX and PATH_MAX less the terminating NUL. Longer names
	// and link targets cannot be created, or not used, on the host.
	maxComponent = 255
	maxPath      = 4095
	// maxLinkDepth is how many symbolic links a resolution follows before
	// giving up, as Linux does (ELOOP).
	maxLinkDepth = 40
	// flagEncrypted is bit 0 of a zip entry's general purpose flags.
	flagEncrypted = 0x1
	// Creators (high byte of "version made by") whose external attributes
	// hold a Unix mode. Zips made on Windows (FAT, NTFS) hold none.
	creatorUnix  = 3
	creatorMacOS = 19
)

// unzipMessage is Lambda's message for a zip it cannot read.
const unzipMessage = "Could not unzip uploaded file. Please check your file, then try to upload again."

func errUnzip() error { return errdefs.New(errdefs.ErrInvalidArgument, "%s", unzipMessage) }

func errUnzippedSize(limit int64) error {
	return errdefs.New(errdefs.ErrInvalidArgument, "Unzipped size must be smaller than %d bytes", limit)
}

func errOutside(name string) error {
	return errdefs.New(errdefs.ErrInvalidArgument,
		"Could not unzip uploaded file: entry %q would be written outside the package root.", shown(name))
}

// kind is what an entry becomes on disk.
type kind uint8

const (
	kindDir kind = iota
	kindFile
	kindSymlink
)

// node is one path of the package: an entry of the zip, or a directory that
// entries imply (zips need not list directories).
type node struct {
	name     string // cleaned, relative to the root; "." for the root
	kind     kind
	parent   *node // nil for the root
	children map[string]*node
	file     *zip.File // nil for the root and implied directories
	// impliedBy is the raw name of an entry under an implied directory.
	impliedBy string
	target    string // of a symbolic link

	// Resolution of a symbolic link, computed once (see follow).
	state    resolveState
	outcome  outcome
	resolved *node
}

type resolveState uint8

const (
	unvisited resolveState = iota
	resolving
	resolved
)

// outcome is where following a symbolic link ends.
type outcome uint8

const (
	found    outcome = iota // at a node of the package
	dangling                // at a missing path, or through a file: harmless
	escapes                 // above the root
	loops                   // nowhere: a cycle, or too many links in a chain
)

// manifest is a package whose directory has passed every check: what
// unpack needs to write it.
type manifest struct {
	root    *node
	entries []*node // files and symbolic links, in zip order
}

// inspect checks everything about a zip but its entries' contents (CRC,
// actual sizes), which unpack checks as it writes them: names, types,
// duplicates, declared sizes, symbolic links and the entrypoint.
func inspect(data []byte, limits Limits, entrypoint string) (*manifest, error) {
	r, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	// ErrInsecurePath (GODEBUG zipinsecurepath=0) comes with a usable
	// reader; names are judged below, with a message naming the entry.
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, errUnzip()
	}
	if len(r.File) > limits.MaxFiles {
		return nil, errdefs.New(errdefs.ErrInvalidArgument,
			"Could not unzip uploaded file: it has %d entries; a deployment package may have at most %d files, directories and symbolic links.",
			len(r.File), limits.MaxFiles)
	}
	m := &manifest{root: &node{name: ".", kind: kindDir}}
	var declared uint64
	for _, f := range r.File {
		if f.Flags&flagEncrypted != 0 || (f.Method != zip.Store && f.Method != zip.Deflate) {
			return nil, errUnzip()
		}
		if f.UncompressedSize64 > uint64(limits.MaxUnzipped)-declared {
			return nil, errUnzippedSize(limits.MaxUnzipped)
		}
		declared += f.UncompressedSize64

		name, err := cleanName(f.Name)
		if err != nil {
			return nil, err
		}
		k, err := entryKind(f)
		if err != nil {
			return nil, err
		}
		if name == "." {
			if k == kindDir {
				continue // "./": the root itself
			}
			return nil, errOutside(f.Name)
		}
		n, err := m.insert(name, f, k)
		if err != nil {
			return nil, err
		}
		if k != kindDir {
			m.entries = append(m.entries, n)
		}
	}
	// Links are judged once all entries are known: a link may point at, or
	// through, an entry that comes later in the zip.
	for _, n := range m.entries {
		if n.kind == kindSymlink {
			if err := readTarget(n); err != nil {
				return nil, err
			}
		}
	}
	for _, n := range m.entries {
		if n.kind == kindSymlink {
			if err := m.checkLink(n); err != nil {
				return nil, err
			}
		}
	}
	if entrypoint != "" {
		if err := m.checkEntrypoint(entrypoint); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// cleanName returns the path an entry name designates inside the package,
// cleaned, or an error if it designates none: absolute names, Windows drive
// letters or backslash separators, NUL, and ".." climbing above the root.
// "a/../b" is "b".
func cleanName(raw string) (string, error) {
	if raw == "" || strings.ContainsAny(raw, "\x00\\") || strings.HasPrefix(raw, "/") || hasDriveLetter(raw) {
		return "", errOutside(raw)
	}
	name := path.Clean(raw)
	if name == ".." || strings.HasPrefix(name, "../") {
		return "", errOutside(raw)
	}
	tooLong := len(name) > maxPath
	for c := range strings.SplitSeq(name, "/") {
		tooLong = tooLong || len(c) > maxComponent
	}
	if tooLong {
		return "", errdefs.New(errdefs.ErrInvalidArgument,
			"Could not unzip uploaded file: entry %q has a name longer than Linux allows (%d bytes a component, %d in all).",
			shown(raw), maxComponent, maxPath)
	}
	return name, nil
}

func hasDriveLetter(name string) bool {
	return len(name) >= 2 && name[1] == ':' && ('a' <= name[0]|0x20 && name[0]|0x20 <= 'z')
}

// entryKind returns what f becomes on disk, refusing devices, pipes, sockets
// and contradictory modes. A name ending in "/" is a directory whatever the
// mode says, as Go's zip reader and unzip take it.
func entryKind(f *zip.File) (kind, error) {
	t := f.Mode().Type()
	switch t {
	case 0:
		return kindFile, nil
	case fs.ModeDir:
		return kindDir, nil
	case fs.ModeSymlink:
		return kindSymlink, nil
	}
	what := "special file"
	switch {
	case t == fs.ModeNamedPipe:
		what = "named pipe"
	case t == fs.ModeSocket:
		what = "socket"
	case t&fs.ModeDevice != 0:
		what = "device file"
	}
	return 0, errdefs.New(errdefs.ErrInvalidArgument,
		"Could not unzip uploaded file: entry %q is a %s; a deployment package may hold only regular files, directories and symbolic links.",
		shown(f.Name), what)
}

// insert adds the entry f, of kind k and cleaned name, and the directories
// its name implies. It refuses a name given twice (two directories excepted)
// and a path that is both a directory and something else.
func (m *manifest) insert(name string, f *zip.File, k kind) (*node, error) {
	dir, rest := m.root, name
	for {
		c, after, more := strings.Cut(rest, "/")
		child := dir.children[c]
		if !more {
			switch {
			case child == nil:
				child = dir.add(c, k)
				child.file = f
				return child, nil
			case child.kind == kindDir && k == kindDir:
				if child.file == nil {
					child.file = f
				}
				return child, nil
			case child.file != nil:
				return nil, errdefs.New(errdefs.ErrInvalidArgument,
					"Could not unzip uploaded file: entry %q appears more than once in the package.", shown(f.Name))
			default: // an implied directory
				return nil, errNotDir(child.impliedBy, f.Name)
			}
		}
		switch {
		case child == nil:
			child = dir.add(c, kindDir)
			child.impliedBy = f.Name
		case child.kind != kindDir:
			return nil, errNotDir(f.Name, child.file.Name)
		}
		dir, rest = child, after
	}
}

func errNotDir(entry, parent string) error {
	return errdefs.New(errdefs.ErrInvalidArgument,
		"Could not unzip uploaded file: entry %q is inside %q, which is a file or symbolic link, not a directory.",
		shown(entry), shown(parent))
}

func (dir *node) add(c string, k kind) *node {
	name := c
	if dir.parent != nil {
		name = dir.name + "/" + c
	}
	n := &node{name: name, kind: k, parent: dir}
	if dir.children == nil {
		dir.children = make(map[string]*node)
	}
	dir.children[c] = n
	return n
}

// readTarget reads a symbolic link's target, the content of its entry,
// reading no more than a target can be.
func readTarget(n *node) error {
	rc, err := n.file.Open()
	if err != nil {
		return errUnzip()
	}
	defer rc.Close()
	// Reading to EOF makes the zip reader check the CRC and the size.
	b, err := io.ReadAll(io.LimitReader(rc, maxPath+1))
	if err != nil {
		return errUnzip()
	}
	if len(b) > maxPath {
		return errdefs.New(errdefs.ErrInvalidArgument,
			"Could not unzip uploaded file: entry %q is a symbolic link whose target is longer than %d bytes.",
			shown(n.file.Name), maxPath)
	}
	if len(b) == 0 || bytes.IndexByte(b, 0) >= 0 {
		return errdefs.New(errdefs.ErrInvalidArgument,
			"Could not unzip uploaded file: entry %q is a symbolic link with an empty or invalid target.", shown(n.file.Name))
	}
	n.target = string(b)
	return nil
}

// checkLink refuses a symbolic link that is absolute or leads above the
// root, judged both by its text and by following it through the package as
// the kernel would (a link through another link to ".." escapes although its
// text stays inside). Links that lead nowhere inside are harmless and kept.
func (m *manifest) checkLink(n *node) error {
	outside := errdefs.New(errdefs.ErrInvalidArgument,
		"Could not unzip uploaded file: entry %q is a symbolic link pointing outside the package root.", shown(n.file.Name))
	if path.IsAbs(n.target) {
		return outside
	}
	if t := path.Join(n.parent.name, n.target); t == ".." || strings.HasPrefix(t, "../") {
		return outside
	}
	switch _, out := m.follow(n, 0); out {
	case escapes:
		return outside
	case loops:
		return errdefs.New(errdefs.ErrInvalidArgument,
			"Could not unzip uploaded file: entry %q is a symbolic link that never resolves (a loop, or more than %d links in a chain).",
			shown(n.file.Name), maxLinkDepth)
	}
	return nil
}

// follow returns where the symbolic link n leads. The answer depends only on
// n (a relative target is resolved from n's real parent), so it is computed
// once: links are followed once each, however many paths go through them.
func (m *manifest) follow(n *node, depth int) (*node, outcome) {
	switch {
	case n.state == resolved:
		return n.resolved, n.outcome
	case n.state == resolving || depth >= maxLinkDepth:
		return nil, loops
	}
	n.state = resolving
	n.resolved, n.outcome = m.walk(n.parent, n.target, depth+1)
	n.state = resolved
	return n.resolved, n.outcome
}

// walk resolves p from the directory dir, following links, as path
// resolution in the kernel does: ".." goes to the real parent, and a missing
// component or one that is not a directory ends the walk.
func (m *manifest) walk(dir *node, p string, depth int) (*node, outcome) {
	if path.IsAbs(p) {
		return nil, escapes
	}
	cur := dir
	for c := range strings.SplitSeq(p, "/") {
		if cur.kind != kindDir {
			return nil, dangling // ENOTDIR
		}
		switch c {
		case "", ".":
			continue
		case "..":
			if cur.parent == nil {
				return nil, escapes
			}
			cur = cur.parent
			continue
		}
		next := cur.children[c]
		if next == nil {
			return nil, dangling
		}
		if next.kind == kindSymlink {
			var out outcome
			if next, out = m.follow(next, depth); out != found {
				return nil, out
			}
		}
		cur = next
	}
	return cur, found
}

// checkEntrypoint requires a regular file named entrypoint at the root, or a
// link resolving to one, with an executable bit.
func (m *manifest) checkEntrypoint(entrypoint string) error {
	n := m.root.children[entrypoint]
	if n == nil {
		return errdefs.New(errdefs.ErrInvalidArgument,
			"The deployment package has no file named %[1]s at its root. Runtimes provided, provided.al2 and provided.al2023 start the executable %[1]s.",
			entrypoint)
	}
	if n.kind == kindSymlink {
		t, out := m.follow(n, 0)
		if out != found {
			return errdefs.New(errdefs.ErrInvalidArgument,
				"The file %s in the deployment package is a symbolic link to %q, which is not a file in the package.",
				entrypoint, shown(n.target))
		}
		n = t
	}
	if n.kind == kindDir {
		return errdefs.New(errdefs.ErrInvalidArgument,
			"The deployment package has a directory named %[1]s at its root, not a file. Runtimes provided, provided.al2 and provided.al2023 start the executable %[1]s.",
			entrypoint)
	}
	if !hasUnixMode(n.file) {
		return errdefs.New(errdefs.ErrInvalidArgument,
			"The file %[1]s in the deployment package is not executable: the zip records no Unix file modes, as zips made on Windows do not. Set its executable bit (chmod 755 %[1]s) and zip it on Linux or macOS, or with a tool that records Unix modes (such as build-lambda-zip).",
			entrypoint)
	}
	if mode := n.file.Mode().Perm(); mode&0o111 == 0 {
		return errdefs.New(errdefs.ErrInvalidArgument,
			"The file %[1]s in the deployment package is not executable (mode %04[2]o). Set its executable bit (chmod 755 %[1]s) before zipping.",
			entrypoint, uint32(mode))
	}
	return nil
}

// checkEntrypointName refuses an entrypoint that is not a plain file name:
// a caller's mistake, not the user's.
func checkEntrypointName(e string) error {
	if e != "" && (e == "." || e == ".." || strings.ContainsAny(e, "/\\\x00")) {
		return fmt.Errorf("artifact: entrypoint %q is not a file name", e)
	}
	return nil
}

func hasUnixMode(f *zip.File) bool {
	switch f.CreatorVersion >> 8 {
	case creatorUnix, creatorMacOS:
		return true
	}
	return false
}

// fileMode is the mode of an unpacked file: read-only, executable by all
// when the entry is executable by anyone. Set-id and sticky bits are dropped.
func fileMode(f *zip.File) fs.FileMode {
	if hasUnixMode(f) && f.Mode().Perm()&0o111 != 0 {
		return 0o555
	}
	return 0o444
}

// shown returns a name as messages quote it: cut short if it is long.
func shown(name string) string {
	const max = 256
	if len(name) > max {
		return name[:max] + "..."
	}
	return name
}
