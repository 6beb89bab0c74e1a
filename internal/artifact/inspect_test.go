package artifact

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/google/go-cmp/cmp"
)

const msgUnzip = "Could not unzip uploaded file. Please check your file, then try to upload again."

func msgOutside(name string) string {
	return fmt.Sprintf("Could not unzip uploaded file: entry %q would be written outside the package root.", name)
}

func msgLinkOutside(name string) string {
	return fmt.Sprintf("Could not unzip uploaded file: entry %q is a symbolic link pointing outside the package root.", name)
}

func msgDuplicate(name string) string {
	return fmt.Sprintf("Could not unzip uploaded file: entry %q appears more than once in the package.", name)
}

func msgNotDir(entry, parent string) string {
	return fmt.Sprintf("Could not unzip uploaded file: entry %q is inside %q, which is a file or symbolic link, not a directory.", entry, parent)
}

func msgSpecial(name, what string) string {
	return fmt.Sprintf("Could not unzip uploaded file: entry %q is a %s; a deployment package may hold only regular files, directories and symbolic links.", name, what)
}

const (
	msgNoBootstrap  = "The deployment package has no file named bootstrap at its root. Runtimes provided, provided.al2 and provided.al2023 start the executable bootstrap."
	msgBootstrapDir = "The deployment package has a directory named bootstrap at its root, not a file. Runtimes provided, provided.al2 and provided.al2023 start the executable bootstrap."
	msgWindows      = "The file bootstrap in the deployment package is not executable: the zip records no Unix file modes, as zips made on Windows do not. Set its executable bit (chmod 755 bootstrap) and zip it on Linux or macOS, or with a tool that records Unix modes (such as build-lambda-zip)."
)

func msgNotExecutable(mode string) string {
	return "The file bootstrap in the deployment package is not executable (mode " + mode + "). Set its executable bit (chmod 755 bootstrap) before zipping."
}

var bootstrap = file("bootstrap", 0o755, "#!/bin/sh\n")

func TestArtifactPutRefusals(t *testing.T) {
	withBootstrap := "bootstrap"
	small := Limits{MaxZipped: 1 << 20, MaxUnzipped: 1 << 20, MaxFiles: 10}
	zeros := bytes.Repeat([]byte{0}, 8<<20)
	valid := makeZip(t, bootstrap, file("lib/data.txt", 0o644, strings.Repeat("data ", 100)))

	lyingSize := stored("small.txt", []byte("hello"))
	lyingSize.UncompressedSize64 = 1 << 40
	// Deflated zeros whose headers say they are ten bytes.
	lyingBomb := &zip.FileHeader{Name: "bomb", Method: zip.Deflate, UncompressedSize64: 10}
	lyingBomb.SetMode(0o644)
	lyingBombData := deflate(t, zeros)
	lyingBomb.CompressedSize64 = uint64(len(lyingBombData))
	badCRC := stored("data.txt", []byte("hello"))
	badCRC.CRC32++
	garbage := []byte("this is not a deflate stream at all, not at all")
	corrupt := stored("data.txt", garbage)
	corrupt.Method = zip.Deflate
	corrupt.UncompressedSize64 = 100
	bzip2 := stored("data.txt", []byte("hello"))
	bzip2.Method = 12
	encrypted := stored("data.txt", []byte("hello"))
	encrypted.Flags |= 0x1

	tests := []struct {
		name   string
		zip    []byte
		opts   string
		limits Limits // zero: DefaultLimits
		kind   error
		msg    string
	}{
		// Size and format.
		{name: "zipped size over limit", zip: valid, opts: withBootstrap, limits: Limits{MaxZipped: 100, MaxUnzipped: 1 << 20, MaxFiles: 10},
			kind: errdefs.ErrTooLarge, msg: "Zipped size must be smaller than 100 bytes"},
		{name: "not a zip", zip: []byte("hello, world"), kind: errdefs.ErrInvalidArgument, msg: msgUnzip},
		{name: "empty", zip: []byte{}, kind: errdefs.ErrInvalidArgument, msg: msgUnzip},
		{name: "truncated", zip: valid[:len(valid)/2], kind: errdefs.ErrInvalidArgument, msg: msgUnzip},
		{name: "trailing central directory cut", zip: valid[:len(valid)-10], kind: errdefs.ErrInvalidArgument, msg: msgUnzip},
		{name: "CRC mismatch", zip: makeZip(t, bootstrap, raw(badCRC, []byte("hello"))), opts: withBootstrap,
			kind: errdefs.ErrInvalidArgument, msg: msgUnzip},
		{name: "corrupt deflate stream", zip: makeZip(t, bootstrap, raw(corrupt, garbage)), opts: withBootstrap,
			kind: errdefs.ErrInvalidArgument, msg: msgUnzip},
		{name: "unsupported compression method", zip: makeZip(t, bootstrap, raw(bzip2, []byte("hello"))), opts: withBootstrap,
			kind: errdefs.ErrInvalidArgument, msg: msgUnzip},
		{name: "encrypted entry", zip: makeZip(t, bootstrap, raw(encrypted, []byte("hello"))), opts: withBootstrap,
			kind: errdefs.ErrInvalidArgument, msg: msgUnzip},

		// Unzipped size.
		{name: "unzipped size over limit", zip: makeZip(t, bootstrap, file("big", 0o644, strings.Repeat("x", 1001))),
			limits: Limits{MaxZipped: 1 << 20, MaxUnzipped: 1000, MaxFiles: 10}, opts: withBootstrap,
			kind: errdefs.ErrInvalidArgument, msg: "Unzipped size must be smaller than 1000 bytes"},
		{name: "zip bomb", zip: makeZip(t, bootstrap, file("bomb", 0o644, string(zeros))), limits: small, opts: withBootstrap,
			kind: errdefs.ErrInvalidArgument, msg: "Unzipped size must be smaller than 1048576 bytes"},
		{name: "entries adding up over limit", zip: makeZip(t, bootstrap,
			file("a", 0o644, string(zeros[:400<<10])), file("b", 0o644, string(zeros[:400<<10])), file("c", 0o644, string(zeros[:400<<10]))),
			limits: small, opts: withBootstrap, kind: errdefs.ErrInvalidArgument, msg: "Unzipped size must be smaller than 1048576 bytes"},
		{name: "header claims a huge size", zip: makeZip(t, bootstrap, raw(lyingSize, []byte("hello"))), opts: withBootstrap,
			kind: errdefs.ErrInvalidArgument, msg: "Unzipped size must be smaller than 262144000 bytes"},
		{name: "header hides a bomb", zip: makeZip(t, bootstrap, raw(lyingBomb, lyingBombData)), limits: small, opts: withBootstrap,
			kind: errdefs.ErrInvalidArgument, msg: msgUnzip},
		{name: "too many entries", zip: makeZip(t, bootstrap, file("a", 0o644, ""), file("b", 0o644, ""), dir("c/")),
			limits: Limits{MaxZipped: 1 << 20, MaxUnzipped: 1 << 20, MaxFiles: 3}, opts: withBootstrap,
			kind: errdefs.ErrInvalidArgument, msg: "Could not unzip uploaded file: it has 4 entries; a deployment package may have at most 3 files, directories and symbolic links."},

		// Names.
		{name: "parent", zip: makeZip(t, bootstrap, file("../evil", 0o644, "x")), kind: errdefs.ErrInvalidArgument, msg: msgOutside("../evil")},
		{name: "parent after a directory", zip: makeZip(t, bootstrap, file("a/../../evil", 0o644, "x")),
			kind: errdefs.ErrInvalidArgument, msg: msgOutside("a/../../evil")},
		{name: "dot dot", zip: makeZip(t, bootstrap, dir("../")), kind: errdefs.ErrInvalidArgument, msg: msgOutside("../")},
		{name: "absolute", zip: makeZip(t, bootstrap, file("/etc/cron.d/evil", 0o644, "x")),
			kind: errdefs.ErrInvalidArgument, msg: msgOutside("/etc/cron.d/evil")},
		{name: "backslash separators", zip: makeZip(t, bootstrap, file(`..\..\evil`, 0o644, "x")),
			kind: errdefs.ErrInvalidArgument, msg: msgOutside(`..\..\evil`)},
		{name: "backslash inside", zip: makeZip(t, bootstrap, file(`bin\tool`, 0o755, "x")),
			kind: errdefs.ErrInvalidArgument, msg: msgOutside(`bin\tool`)},
		{name: "NUL", zip: makeZip(t, bootstrap, file("a\x00b", 0o644, "x")), kind: errdefs.ErrInvalidArgument, msg: msgOutside("a\x00b")},
		{name: "drive letter", zip: makeZip(t, bootstrap, file("C:/evil", 0o644, "x")), kind: errdefs.ErrInvalidArgument, msg: msgOutside("C:/evil")},
		{name: "drive letter relative", zip: makeZip(t, bootstrap, file("c:evil", 0o644, "x")), kind: errdefs.ErrInvalidArgument, msg: msgOutside("c:evil")},
		{name: "empty name", zip: makeZip(t, bootstrap, file("", 0o644, "x")), kind: errdefs.ErrInvalidArgument, msg: msgOutside("")},
		{name: "file that is the root", zip: makeZip(t, bootstrap, file("a/..", 0o644, "x")), kind: errdefs.ErrInvalidArgument, msg: msgOutside("a/..")},
		{name: "component too long", zip: makeZip(t, bootstrap, file(strings.Repeat("n", 256), 0o644, "x")),
			kind: errdefs.ErrInvalidArgument, msg: fmt.Sprintf("Could not unzip uploaded file: entry %q has a name longer than Linux allows (255 bytes a component, 4095 in all).", strings.Repeat("n", 256))},
		{name: "path too deep", zip: makeZip(t, bootstrap, file(strings.Repeat("d/", 2048)+"f", 0o644, "x")),
			kind: errdefs.ErrInvalidArgument, msg: fmt.Sprintf("Could not unzip uploaded file: entry %q has a name longer than Linux allows (255 bytes a component, 4095 in all).", strings.Repeat("d/", 128)+"...")},

		// Duplicates and conflicts.
		{name: "same name twice", zip: makeZip(t, bootstrap, file("a.txt", 0o644, "1"), file("a.txt", 0o644, "2")),
			kind: errdefs.ErrInvalidArgument, msg: msgDuplicate("a.txt")},
		{name: "same name after cleaning", zip: makeZip(t, bootstrap, file("lib/a.txt", 0o644, "1"), file("lib//./a.txt", 0o644, "2")),
			kind: errdefs.ErrInvalidArgument, msg: msgDuplicate("lib//./a.txt")},
		{name: "bootstrap twice", zip: makeZip(t, bootstrap, file("./bootstrap", 0o644, "2")), opts: withBootstrap,
			kind: errdefs.ErrInvalidArgument, msg: msgDuplicate("./bootstrap")},
		{name: "file then directory", zip: makeZip(t, bootstrap, file("x", 0o644, "1"), dir("x/")),
			kind: errdefs.ErrInvalidArgument, msg: msgDuplicate("x/")},
		{name: "file then entry inside it", zip: makeZip(t, bootstrap, file("a", 0o644, "1"), file("a/b", 0o644, "2")),
			kind: errdefs.ErrInvalidArgument, msg: msgNotDir("a/b", "a")},
		{name: "entry inside then file", zip: makeZip(t, bootstrap, file("a/b/c", 0o644, "1"), file("a/b", 0o644, "2")),
			kind: errdefs.ErrInvalidArgument, msg: msgNotDir("a/b/c", "a/b")},
		{name: "entry inside a link", zip: makeZip(t, bootstrap, dir("real/"), link("lib", "real"), file("lib/x", 0o644, "1")),
			kind: errdefs.ErrInvalidArgument, msg: msgNotDir("lib/x", "lib")},
		{name: "entry through an escaping link", zip: makeZip(t, bootstrap, link("up", ".."), file("up/evil", 0o644, "1")),
			kind: errdefs.ErrInvalidArgument, msg: msgNotDir("up/evil", "up")},

		// Special files.
		{name: "named pipe", zip: makeZip(t, bootstrap, file("fifo", fs.ModeNamedPipe|0o644, "")),
			kind: errdefs.ErrInvalidArgument, msg: msgSpecial("fifo", "named pipe")},
		{name: "socket", zip: makeZip(t, bootstrap, file("sock", fs.ModeSocket|0o644, "")),
			kind: errdefs.ErrInvalidArgument, msg: msgSpecial("sock", "socket")},
		{name: "character device", zip: makeZip(t, bootstrap, file("null", fs.ModeDevice|fs.ModeCharDevice|0o666, "")),
			kind: errdefs.ErrInvalidArgument, msg: msgSpecial("null", "device file")},
		{name: "block device", zip: makeZip(t, bootstrap, file("sda", fs.ModeDevice|0o660, "")),
			kind: errdefs.ErrInvalidArgument, msg: msgSpecial("sda", "device file")},
		{name: "link named as a directory", zip: makeZip(t, bootstrap, link("l/", "")),
			kind: errdefs.ErrInvalidArgument, msg: msgSpecial("l/", "special file")},

		// Symbolic links.
		{name: "link absolute", zip: makeZip(t, bootstrap, link("passwd", "/etc/passwd")),
			kind: errdefs.ErrInvalidArgument, msg: msgLinkOutside("passwd")},
		{name: "link to parent", zip: makeZip(t, bootstrap, link("up", "..")), kind: errdefs.ErrInvalidArgument, msg: msgLinkOutside("up")},
		{name: "link climbing from a directory", zip: makeZip(t, bootstrap, link("lib/x", "../../etc/passwd")),
			kind: errdefs.ErrInvalidArgument, msg: msgLinkOutside("lib/x")},
		{name: "link escaping through another link", zip: makeZip(t, bootstrap, link("d/up", ".."), link("x", "d/up/..")),
			kind: errdefs.ErrInvalidArgument, msg: msgLinkOutside("x")},
		{name: "link escaping through a later link", zip: makeZip(t, bootstrap, link("x", "a/b/../.."), link("a/b", "..")),
			kind: errdefs.ErrInvalidArgument, msg: msgLinkOutside("x")},
		{name: "link climbing through a missing directory", zip: makeZip(t, bootstrap, link("docs", "missing/../../x")),
			kind: errdefs.ErrInvalidArgument, msg: msgLinkOutside("docs")},
		{name: "link loop", zip: makeZip(t, bootstrap, link("a", "b"), link("b", "a")),
			kind: errdefs.ErrInvalidArgument, msg: `Could not unzip uploaded file: entry "a" is a symbolic link that never resolves (a loop, or more than 40 links in a chain).`},
		{name: "link to itself", zip: makeZip(t, bootstrap, link("self", "./self")),
			kind: errdefs.ErrInvalidArgument, msg: `Could not unzip uploaded file: entry "self" is a symbolic link that never resolves (a loop, or more than 40 links in a chain).`},
		{name: "link empty target", zip: makeZip(t, bootstrap, link("l", "")),
			kind: errdefs.ErrInvalidArgument, msg: `Could not unzip uploaded file: entry "l" is a symbolic link with an empty or invalid target.`},
		{name: "link target with NUL", zip: makeZip(t, bootstrap, link("l", "a\x00b")),
			kind: errdefs.ErrInvalidArgument, msg: `Could not unzip uploaded file: entry "l" is a symbolic link with an empty or invalid target.`},
		{name: "link target too long", zip: makeZip(t, bootstrap, link("l", strings.Repeat("a/", 2048))),
			kind: errdefs.ErrInvalidArgument, msg: `Could not unzip uploaded file: entry "l" is a symbolic link whose target is longer than 4095 bytes.`},

		// Entrypoint.
		{name: "no bootstrap", zip: makeZip(t, file("main", 0o755, "x")), opts: withBootstrap,
			kind: errdefs.ErrInvalidArgument, msg: msgNoBootstrap},
		{name: "empty package", zip: makeZip(t), opts: withBootstrap, kind: errdefs.ErrInvalidArgument, msg: msgNoBootstrap},
		{name: "bootstrap not at the root", zip: makeZip(t, file("bin/bootstrap", 0o755, "x")), opts: withBootstrap,
			kind: errdefs.ErrInvalidArgument, msg: msgNoBootstrap},
		{name: "bootstrap in other case", zip: makeZip(t, file("Bootstrap", 0o755, "x")), opts: withBootstrap,
			kind: errdefs.ErrInvalidArgument, msg: msgNoBootstrap},
		{name: "bootstrap not executable", zip: makeZip(t, file("bootstrap", 0o644, "x")), opts: withBootstrap,
			kind: errdefs.ErrInvalidArgument, msg: msgNotExecutable("0644")},
		{name: "bootstrap mode 0", zip: makeZip(t, file("bootstrap", 0, "x")), opts: withBootstrap,
			kind: errdefs.ErrInvalidArgument, msg: msgNotExecutable("0000")},
		{name: "bootstrap from Windows", zip: makeZip(t, winFile("bootstrap", "x")), opts: withBootstrap,
			kind: errdefs.ErrInvalidArgument, msg: msgWindows},
		{name: "bootstrap directory", zip: makeZip(t, dir("bootstrap/")), opts: withBootstrap,
			kind: errdefs.ErrInvalidArgument, msg: msgBootstrapDir},
		{name: "bootstrap implied directory", zip: makeZip(t, file("bootstrap/main", 0o755, "x")), opts: withBootstrap,
			kind: errdefs.ErrInvalidArgument, msg: msgBootstrapDir},
		{name: "bootstrap link to a directory", zip: makeZip(t, file("bin/main", 0o755, "x"), link("bootstrap", "bin")), opts: withBootstrap,
			kind: errdefs.ErrInvalidArgument, msg: msgBootstrapDir},
		{name: "bootstrap link to a file not executable", zip: makeZip(t, file("bin/main", 0o644, "x"), link("bootstrap", "bin/main")), opts: withBootstrap,
			kind: errdefs.ErrInvalidArgument, msg: msgNotExecutable("0644")},
		{name: "bootstrap link dangling", zip: makeZip(t, link("bootstrap", "bin/main")), opts: withBootstrap,
			kind: errdefs.ErrInvalidArgument, msg: `The file bootstrap in the deployment package is a symbolic link to "bin/main", which is not a file in the package.`},
		{name: "bootstrap link outside", zip: makeZip(t, link("bootstrap", "/bin/sh")), opts: withBootstrap,
			kind: errdefs.ErrInvalidArgument, msg: msgLinkOutside("bootstrap")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			limits := tt.limits
			if limits == (Limits{}) {
				limits = DefaultLimits()
			}
			s, dir := newStore(t, limits)
			code, err := s.Put(tt.zip, tt.opts)
			if tt.kind == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted as %+v; want %q", code, tt.msg)
			}
			assertRefused(t, err, tt.kind, tt.msg)
			assertNoLeftovers(t, dir)
		})
	}
}

func TestArtifactPutAccepts(t *testing.T) {
	withBootstrap := "bootstrap"
	tests := []struct {
		name    string
		entries []zipEntry
		opts    string
		want    map[string]string
	}{
		{
			name:    "bootstrap executable by owner only",
			entries: []zipEntry{file("bootstrap", 0o100, "x")},
			opts:    withBootstrap,
			want:    map[string]string{".": "dir 0555", "bootstrap": "file 0555 x"},
		},
		{
			name:    "bootstrap executable by others only",
			entries: []zipEntry{file("bootstrap", 0o641, "x")},
			opts:    withBootstrap,
			want:    map[string]string{".": "dir 0555", "bootstrap": "file 0555 x"},
		},
		{
			name:    "set-id and sticky bits dropped",
			entries: []zipEntry{file("bootstrap", fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky|0o755, "x")},
			opts:    withBootstrap,
			want:    map[string]string{".": "dir 0555", "bootstrap": "file 0555 x"},
		},
		{
			name:    "bootstrap named with dot",
			entries: []zipEntry{file("./bootstrap", 0o755, "x")},
			opts:    withBootstrap,
			want:    map[string]string{".": "dir 0555", "bootstrap": "file 0555 x"},
		},
		{
			name:    "bootstrap link to an executable",
			entries: []zipEntry{link("bootstrap", "bin/app"), file("bin/app", 0o755, "x")},
			opts:    withBootstrap,
			want: map[string]string{".": "dir 0555", "bootstrap": "link bin/app",
				"bin": "dir 0555", "bin/app": "file 0555 x"},
		},
		{
			name:    "bootstrap link through links",
			entries: []zipEntry{link("bootstrap", "current/app"), link("current", "releases/v2"), file("releases/v2/app", 0o755, "x")},
			opts:    withBootstrap,
			want: map[string]string{".": "dir 0555", "bootstrap": "link current/app", "current": "link releases/v2",
				"releases": "dir 0555", "releases/v2": "dir 0555", "releases/v2/app": "file 0555 x"},
		},
		{
			name:    "no entrypoint required",
			entries: []zipEntry{file("index.js", 0o644, "x")},
			want:    map[string]string{".": "dir 0555", "index.js": "file 0444 x"},
		},
		{
			name:    "zip from Windows without entrypoint",
			entries: []zipEntry{winFile("app.exe", "x"), winFile("lib/", "")},
			want:    map[string]string{".": "dir 0555", "app.exe": "file 0444 x", "lib": "dir 0555"},
		},
		{
			name: "links inside kept, dangling ones too",
			entries: []zipEntry{bootstrap, file("lib/v1/data", 0o644, "d"), link("lib/cur", "v1"), link("lib/up", "../bootstrap"),
				link("lib/self", "."), link("docs", "missing/file"), link("via", "lib/cur/../v1/data")},
			opts: withBootstrap,
			want: map[string]string{".": "dir 0555", "bootstrap": "file 0555 #!/bin/sh\n", "lib": "dir 0555", "lib/v1": "dir 0555",
				"lib/v1/data": "file 0444 d", "lib/cur": "link v1", "lib/up": "link ../bootstrap", "lib/self": "link .",
				"docs": "link missing/file", "via": "link lib/cur/../v1/data"},
		},
		{
			name:    "names cleaned",
			entries: []zipEntry{bootstrap, file("a/../b.txt", 0o644, "b"), file("c//d/./e", 0o644, "e"), dir("./")},
			opts:    withBootstrap,
			want: map[string]string{".": "dir 0555", "bootstrap": "file 0555 #!/bin/sh\n", "b.txt": "file 0444 b",
				"c": "dir 0555", "c/d": "dir 0555", "c/d/e": "file 0444 e"},
		},
		{
			name:    "directory listed twice and after its content",
			entries: []zipEntry{bootstrap, file("a/b", 0o644, "b"), dir("a/"), dir("a/"), dir("empty/")},
			opts:    withBootstrap,
			want: map[string]string{".": "dir 0555", "bootstrap": "file 0555 #!/bin/sh\n", "a": "dir 0555", "a/b": "file 0444 b",
				"empty": "dir 0555"},
		},
		{
			name:    "empty files and long names",
			entries: []zipEntry{bootstrap, file(strings.Repeat("n", 255), 0o644, "")},
			opts:    withBootstrap,
			want: map[string]string{".": "dir 0555", "bootstrap": "file 0555 #!/bin/sh\n",
				strings.Repeat("n", 255): "file 0444 "},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newStore(t, DefaultLimits())
			code, err := s.Put(makeZip(t, tt.entries...), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, snapshot(t, s.Tree(code.SHA256))); diff != "" {
				t.Errorf("tree (-want +got):\n%s", diff)
			}
		})
	}
}

func TestArtifactEntrypointName(t *testing.T) {
	s, _ := newStore(t, DefaultLimits())
	for _, e := range []string{"bin/bootstrap", "..", ".", "/bootstrap", `a\b`} {
		t.Run(e, func(t *testing.T) {
			_, err := s.Put(makeZip(t, bootstrap), e)
			if err == nil {
				t.Fatal("accepted")
			}
			if _, ok := errdefs.Message(err); ok {
				t.Errorf("a caller's mistake reported as the user's: %v", err)
			}
		})
	}
}
