// Package initprocess is the Linux sandbox's init: the server's binary,
// cloned by the sandbox driver's spawner into new namespaces with argv[0]
// Arg0, which builds the sandbox's root, drops its privileges, confines
// itself and executes the program (see internal/sandbox/linux and
// docs/adr/0004-linux-sandbox.md).
//
// It owns the init's side of the handshake — the descriptors it inherits,
// the Config it reads, what it reports on the status pipe — and applies
// what the Config says. It does not decide the policy: the driver computes
// the seccomp filter and the Landlock rules and passes them in the Config,
// so this package needs neither the seccomp assembler nor golang.org/x/sys.
//
// # Why a package of its own
//
// A package init function recognises the role, before main runs. Go runs
// package initialisers in dependency order and, among the packages ready,
// in import-path order, so the fewer packages this one imports, the sooner
// it runs: importing only the standard library's os, syscall and what they
// need, it runs after about twenty packages, where the driver's package
// runs after some hundred and thirty of the server's (the SQLite library,
// OpenTelemetry, protobuf, YAML, the seccomp tables…), whose initialisers
// would otherwise run, for nothing, at every sandbox start. Keep its imports
// to the standard library, and out of encoding/json and friends, which come
// late.
package initprocess
