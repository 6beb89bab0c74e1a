//go:build linux && !(mips || mipsle || mips64 || mips64le)

package initprocess

// sysBase is where this architecture's system call numbers start.
const sysBase = 0
