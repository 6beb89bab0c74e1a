//go:build linux && (mips64 || mips64le)

package initprocess

// sysBase is where this architecture's system call numbers start: the n64
// ABI's.
const sysBase = 5000
