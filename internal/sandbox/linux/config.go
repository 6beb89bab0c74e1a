package linux

import "github.com/bulkhead-dev/bulkhead/internal/sandbox/linux/initprocess"

// The server's own binary, re-executed, plays two roles, which it
// recognises by argv[0]: the spawner that clones every sandbox
// (spawner_main.go), and each sandbox's init (package initprocess).
const spawnerArg0 = "bulkhead-sandbox-spawner"

// The spawner's inherited descriptor.
const fdSpawnerSocket = 3 // the spawner's end of its SOCK_SEQPACKET socket pair with the server

// Paths inside the sandbox.
const (
	codeDir    = initprocess.CodeDir
	tmpDir     = initprocess.TmpDir
	endpointIP = "127.0.0.1"
	// endpointPort is where the Runtime API listens inside the sandbox's
	// network namespace, as in Lambda.
	endpointPort = 9001
)

// The ids the sandbox's processes have inside their user namespace: the init
// runs as root there (and nowhere else), the program as an unprivileged user
// with no capabilities.
const (
	nsRootID = initprocess.RootID
	nsUserID = initprocess.UserID
)
