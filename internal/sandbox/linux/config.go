package linux

// initArg0 is argv[0] of the sandbox's init: the server's own binary,
// re-executed, recognises the role by it (see init.go).
const initArg0 = "bulkhead-sandbox-init"

// The init's inherited descriptors, in exec.Cmd.ExtraFiles order.
const (
	fdConfig = 3 // read: the initConfig as JSON, then end of file
	fdStatus = 4 // write, close-on-exec: why setup failed; end of file when exec succeeded
	fdCode   = 5 // a detached mount of the code directory (open_tree), to attach at /var/task
)

// Paths inside the sandbox.
const (
	codeDir    = "/var/task"
	tmpDir     = "/tmp"
	endpointIP = "127.0.0.1"
	// endpointPort is where the Runtime API listens inside the sandbox's
	// network namespace, as in Lambda.
	endpointPort = 9001
)

// The ids the sandbox's processes have inside their user namespace: the init
// runs as root there (and nowhere else), the program as an unprivileged user
// with no capabilities.
const (
	nsRootID = 0
	nsUserID = 1000
)

// initConfig is what the server tells the init, over fdConfig. The init's own
// environment is empty; Env is the program's.
type initConfig struct {
	Program  string   // path inside the sandbox
	Args     []string // argv
	Env      []string
	TmpBytes int64    // size of /tmp
	Hostname string   // the UTS namespace's hostname
	Binds    []bind   // read-only host directories the runtime needs
	Links    []link   // symbolic links in the root (merged /usr: /bin -> usr/bin)
	Devices  []string // host device nodes bound into /dev
	Seccomp  bool     // load the seccomp filter before exec
	Landlock bool     // apply Landlock, where the kernel has it
	Port     int      // the endpoint's port, the only TCP port the program may connect to; 0 for none
}

type bind struct{ Host, Sandbox string }

type link struct{ Target, Path string }
