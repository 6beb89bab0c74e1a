package initprocess

import (
	"errors"
	"strconv"
	"syscall"
)

// Arg0 is argv[0] of the sandbox's init: the server's binary, re-executed,
// recognises the role by it.
const Arg0 = "bulkhead-sandbox-init"

// The init's inherited descriptors.
const (
	FDConfig   = 3 // read: the encoded Config, then end of file
	FDStatus   = 4 // write: why setup failed; end of file when exec succeeded
	FDCode     = 5 // a detached mount of the code directory (open_tree), to attach at CodeDir
	FDLifeline = 6 // write end of a pipe whose only reader is the spawner: POLLERR once it has died
)

// Paths and users inside the sandbox.
const (
	CodeDir = "/var/task"
	TmpDir  = "/tmp"
	// RootID is the init's uid and gid inside its user namespace; UserID the
	// program's, which has no capabilities.
	RootID = 0
	UserID = 1000
)

// Config is what the driver tells the init, over FDConfig, when the init
// may go ahead. The init's own environment is empty; Env is the program's.
type Config struct {
	Program  string   // path inside the sandbox
	Args     []string // argv
	Env      []string
	TmpBytes int64    // size of /tmp
	Hostname string   // the UTS namespace's hostname
	Binds    []Bind   // read-only host directories the runtime needs
	Links    []Link   // symbolic links in the root (merged /usr: /bin -> usr/bin)
	Devices  []string // host device nodes bound into /dev
	// Seccomp is the filter loaded just before exec, assembled by the
	// driver; empty for none.
	Seccomp []syscall.SockFilter
	// Landlock is the domain the init enters just before the filter; nil
	// where the kernel has no Landlock.
	Landlock *Landlock
}

// Bind is a host directory bound read-only into the sandbox.
type Bind struct{ Host, Sandbox string }

// Link is a symbolic link in the sandbox's root.
type Link struct{ Target, Path string }

// Landlock is a Landlock ruleset, in the kernel's terms, for the ABI the
// driver found: the access rights it handles, and the ones it allows.
type Landlock struct {
	HandledFS  uint64 // landlock_ruleset_attr.handled_access_fs
	HandledNet uint64 // handled_access_net (ABI 4)
	Scoped     uint64 // scoped (ABI 6)
	Paths      []PathRule
	// ConnectPort is the one TCP port the program may connect to, 0 for
	// none; meaningful when HandledNet is not zero.
	ConnectPort uint16
}

// PathRule allows Rights below Path; a Path missing from the sandbox is
// skipped.
type PathRule struct {
	Path   string
	Rights uint64
}

// The encoding: a magic, then the fields in order, integers little-endian,
// a string as its length (uint32) and bytes, a list as its length (uint32)
// and elements, Landlock as a presence byte and, when 1, its fields.
const magic = "BHI\x01"

// MaxConfig bounds an encoded Config.
const MaxConfig = 1 << 20

// Encode returns c in the form ParseConfig reads.
func (c *Config) Encode() []byte {
	var e encoder
	e.b = append(e.b, magic...)
	e.string(c.Program)
	e.strings(c.Args)
	e.strings(c.Env)
	e.uint64(uint64(c.TmpBytes))
	e.string(c.Hostname)
	e.uint32(uint32(len(c.Binds)))
	for _, b := range c.Binds {
		e.string(b.Host)
		e.string(b.Sandbox)
	}
	e.uint32(uint32(len(c.Links)))
	for _, l := range c.Links {
		e.string(l.Target)
		e.string(l.Path)
	}
	e.strings(c.Devices)
	e.uint32(uint32(len(c.Seccomp)))
	for _, in := range c.Seccomp {
		e.b = append(e.b, byte(in.Code), byte(in.Code>>8), in.Jt, in.Jf)
		e.uint32(in.K)
	}
	if c.Landlock == nil {
		e.b = append(e.b, 0)
		return e.b
	}
	l := c.Landlock
	e.b = append(e.b, 1)
	e.uint64(l.HandledFS)
	e.uint64(l.HandledNet)
	e.uint64(l.Scoped)
	e.uint32(uint32(len(l.Paths)))
	for _, p := range l.Paths {
		e.string(p.Path)
		e.uint64(p.Rights)
	}
	e.b = append(e.b, byte(l.ConnectPort), byte(l.ConnectPort>>8))
	return e.b
}

type encoder struct{ b []byte }

func (e *encoder) uint32(v uint32) {
	e.b = append(e.b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
}

func (e *encoder) uint64(v uint64) {
	e.uint32(uint32(v))
	e.uint32(uint32(v >> 32))
}

func (e *encoder) string(s string) {
	e.uint32(uint32(len(s)))
	e.b = append(e.b, s...)
}

func (e *encoder) strings(ss []string) {
	e.uint32(uint32(len(ss)))
	for _, s := range ss {
		e.string(s)
	}
}

// ErrConfig is what ParseConfig's errors wrap.
var ErrConfig = errors.New("malformed sandbox init configuration")

// configError is an ErrConfig saying why.
type configError string

func (e configError) Error() string        { return ErrConfig.Error() + ": " + string(e) }
func (e configError) Is(target error) bool { return target == ErrConfig }

// ParseConfig reads a Config that Encode made. It refuses anything else:
// another magic, a length beyond the data, bytes left over, more than
// MaxConfig bytes.
func ParseConfig(b []byte) (*Config, error) {
	if len(b) > MaxConfig {
		return nil, configError(strconv.Itoa(len(b)) + " bytes, at most " + strconv.Itoa(MaxConfig))
	}
	if len(b) < len(magic) || string(b[:len(magic)]) != magic {
		return nil, configError("no magic")
	}
	d := decoder{b: b[len(magic):]}
	c := &Config{
		Program:  d.string(),
		Args:     d.strings(),
		Env:      d.strings(),
		TmpBytes: int64(d.uint64()),
		Hostname: d.string(),
	}
	for n := d.count(8); n > 0; n-- {
		c.Binds = append(c.Binds, Bind{Host: d.string(), Sandbox: d.string()})
	}
	for n := d.count(8); n > 0; n-- {
		c.Links = append(c.Links, Link{Target: d.string(), Path: d.string()})
	}
	c.Devices = d.strings()
	for n := d.count(8); n > 0; n-- {
		in := syscall.SockFilter{Code: uint16(d.byte()) | uint16(d.byte())<<8, Jt: d.byte(), Jf: d.byte()}
		in.K = d.uint32()
		c.Seccomp = append(c.Seccomp, in)
	}
	switch d.byte() {
	case 0:
	case 1:
		l := &Landlock{HandledFS: d.uint64(), HandledNet: d.uint64(), Scoped: d.uint64()}
		for n := d.count(12); n > 0; n-- {
			l.Paths = append(l.Paths, PathRule{Path: d.string(), Rights: d.uint64()})
		}
		l.ConnectPort = uint16(d.byte()) | uint16(d.byte())<<8
		c.Landlock = l
	default:
		d.fail("Landlock presence is neither 0 nor 1")
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail(strconv.Itoa(len(d.b)) + " bytes left over")
	}
	if d.err != nil {
		return nil, d.err
	}
	return c, nil
}

// decoder reads the encoding; after the first error it reads zeros.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(why string) {
	if d.err == nil {
		d.err = configError(why)
	}
	d.b = nil
}

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b) {
		d.fail("cut short")
		return nil
	}
	p := d.b[:n]
	d.b = d.b[n:]
	return p
}

func (d *decoder) byte() byte {
	if p := d.take(1); p != nil {
		return p[0]
	}
	return 0
}

func (d *decoder) uint32() uint32 {
	p := d.take(4)
	if p == nil {
		return 0
	}
	return uint32(p[0]) | uint32(p[1])<<8 | uint32(p[2])<<16 | uint32(p[3])<<24
}

func (d *decoder) uint64() uint64 {
	lo := d.uint32()
	return uint64(lo) | uint64(d.uint32())<<32
}

// count reads a list's length, each element at least min bytes: a length
// the remaining bytes cannot hold is an error, so no list is allocated
// beyond the input's size.
func (d *decoder) count(min int) int {
	n := d.uint32()
	if d.err == nil && uint64(n)*uint64(min) > uint64(len(d.b)) {
		d.fail("a list of " + strconv.FormatUint(uint64(n), 10) + " elements in " + strconv.Itoa(len(d.b)) + " bytes")
		return 0
	}
	return int(n)
}

func (d *decoder) string() string {
	n := d.uint32()
	return string(d.take(int(n)))
}

func (d *decoder) strings() []string {
	n := d.count(4)
	if n == 0 {
		return nil
	}
	ss := make([]string, 0, n)
	for ; n > 0; n-- {
		ss = append(ss, d.string())
	}
	return ss
}
