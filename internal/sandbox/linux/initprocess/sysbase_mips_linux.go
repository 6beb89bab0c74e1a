//go:build linux && (mips || mipsle)

package initprocess

// sysBase is where this architecture's system call numbers start: the o32
// ABI's.
const sysBase = 4000
