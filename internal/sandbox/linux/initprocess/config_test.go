package initprocess

import (
	"bytes"
	"errors"
	"reflect"
	"syscall"
	"testing"
)

func fullConfig() *Config {
	return &Config{
		Program:  "/var/task/bootstrap",
		Args:     []string{"bootstrap", "-v", ""},
		Env:      []string{"TMPDIR=/tmp", "AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001"},
		TmpBytes: 512 << 20,
		Hostname: "sandbox",
		Binds:    []Bind{{Host: "/usr", Sandbox: "/usr"}, {Host: "/lib", Sandbox: "/lib"}},
		Links:    []Link{{Target: "usr/bin", Path: "/bin"}},
		Devices:  []string{"/dev/null", "/dev/urandom"},
		Seccomp:  []syscall.SockFilter{{Code: 0x20, K: 4}, {Code: 0x15, Jt: 1, Jf: 2, K: 0xc000003e}, {Code: 0x6, K: 0x7fff0000}},
		Landlock: &Landlock{
			HandledFS: 0xffff, HandledNet: 3, Scoped: 3,
			Paths:       []PathRule{{Path: "/usr", Rights: 0x7}, {Path: "/tmp", Rights: 0x7ff}},
			ConnectPort: 9001,
		},
	}
}

func TestSandboxLinuxInitConfigRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		c    *Config
	}{
		{"Zero", &Config{}},
		{"Full", fullConfig()},
		{"NoLandlock", func() *Config { c := fullConfig(); c.Landlock = nil; return c }()},
		{"EmptyLandlock", &Config{Landlock: &Landlock{}}},
		{"NegativeTmp", &Config{TmpBytes: -1}}, // not the decoder's to judge
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseConfig(tt.c.Encode())
			if err != nil {
				t.Fatalf("ParseConfig(Encode()) = %v", err)
			}
			if !reflect.DeepEqual(got, tt.c) {
				t.Errorf("ParseConfig(Encode(%+v)) = %+v", tt.c, got)
			}
		})
	}
}

func TestSandboxLinuxInitConfigRefuses(t *testing.T) {
	good := fullConfig().Encode()
	tests := []struct {
		name string
		b    []byte
	}{
		{"Empty", nil},
		{"BadMagic", append([]byte("BHI\x02"), good[4:]...)},
		{"CutShort", good[:len(good)-1]},
		{"LeftOver", append(bytes.Clone(good), 0)},
		{"LandlockPresence2", append(bytes.Clone((&Config{}).Encode()[:len((&Config{}).Encode())-1]), 2)},
		// An Args count of 2^32-1 in a short message must not allocate.
		{"HugeCount", append([]byte(magic+"\x00\x00\x00\x00"), 0xff, 0xff, 0xff, 0xff)},
		{"HugeString", append([]byte(magic), 0xff, 0xff, 0xff, 0x7f, 'x')},
		{"TooLarge", append([]byte(magic), make([]byte, MaxConfig)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfig(tt.b)
			if !errors.Is(err, ErrConfig) {
				t.Errorf("ParseConfig = %+v, %v; want an error wrapping ErrConfig", c, err)
			}
		})
	}
}

// FuzzSandboxLinuxInitConfig checks that ParseConfig never panics and that
// what it accepts is what Encode makes.
func FuzzSandboxLinuxInitConfig(f *testing.F) {
	f.Add(fullConfig().Encode())
	f.Add((&Config{}).Encode())
	f.Add((&Config{Landlock: &Landlock{Paths: []PathRule{{}}}}).Encode())
	f.Add([]byte(magic))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b)
		if err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("error %v does not wrap ErrConfig", err)
			}
			return
		}
		if again := c.Encode(); !bytes.Equal(again, b) {
			t.Fatalf("ParseConfig(%q) = %+v, which encodes to %q", truncate(b), c, truncate(again))
		}
	})
}

func truncate(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}

func BenchmarkSandboxLinuxInitConfigParse(b *testing.B) {
	enc := fullConfig().Encode()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseConfig(enc); err != nil {
			b.Fatal(err)
		}
	}
}
