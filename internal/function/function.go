package function

import "time"

// Runtimes Bulkhead runs: a zip with an executable named bootstrap at its root,
// speaking the Lambda Runtime API.
const (
	RuntimeProvided          = "provided"
	RuntimeProvidedAL2       = "provided.al2"
	RuntimeProvidedAL2023    = "provided.al2023"
	ArchitectureX8664        = "x86_64"
	ArchitectureARM64        = "arm64"
	TenantIsolationPerTenant = "PER_TENANT"
)

// Latest is the version number of $LATEST, the function's mutable version.
// Published versions are numbered from 1 and never renumbered or reused.
const Latest = 0

// Function is what is shared by all versions of a function: its name, whether
// it isolates tenants, and its tags. PerTenant is fixed at creation.
type Function struct {
	Name      string
	PerTenant bool
	Tags      map[string]string
	CreatedAt time.Time
}

// Version is one version of a function: $LATEST (Number == Latest) or a
// published, immutable snapshot of $LATEST's configuration and code.
type Version struct {
	Function     string
	Number       int
	Config       Config
	Code         Code
	RevisionID   string
	LastModified time.Time
}

// Config is the configuration of one version, as CreateFunction and
// UpdateFunctionConfiguration set it.
type Config struct {
	Runtime          string
	Handler          string
	Role             string
	Description      string
	MemorySize       int // MiB, 128–10240
	Timeout          int // seconds, 1–900
	EphemeralStorage int // MiB of /tmp, 512–10240
	Environment      map[string]string
	Architecture     string
	Logging          Logging
}

// Logging is a version's LoggingConfig.
type Logging struct {
	Format              string // Text or JSON
	ApplicationLogLevel string
	SystemLogLevel      string
	LogGroup            string
}

// Code identifies a version's deployment package.
type Code struct {
	SHA256 string // hex of the SHA-256 of the zip as uploaded
	Size   int64  // bytes of the zip
}

// Alias is a named pointer to a version.
type Alias struct {
	Function    string
	Name        string
	Version     int // Latest or a published number
	Description string
	// AdditionalWeights routes a share of invocations to other versions
	// (RoutingConfig.AdditionalVersionWeights), version number → weight in [0, 1].
	AdditionalWeights map[int]float64
	RevisionID        string
}
