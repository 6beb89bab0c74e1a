package lambdaapi

import (
	"maps"
	"strconv"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/function"
)

// The types in this file are Lambda's JSON shapes (spec/lambda.md §2), with
// the field names Lambda uses. Bulkhead's CLI decodes them too.

// FunctionConfiguration is a version's configuration as Lambda reports it.
type FunctionConfiguration struct {
	FunctionName     string
	FunctionArn      string
	Runtime          string
	Role             string
	Handler          string
	CodeSize         int64
	Description      string
	Timeout          int
	MemorySize       int
	LastModified     string
	CodeSha256       string
	Version          string
	Environment      *EnvironmentResponse `json:",omitempty"`
	TracingConfig    TracingConfig
	RevisionId       string
	State            string
	LastUpdateStatus string
	PackageType      string
	Architectures    []string
	EphemeralStorage EphemeralStorage
	LoggingConfig    LoggingConfig
	TenancyConfig    *TenancyConfig `json:",omitempty"`
}

type EnvironmentResponse struct {
	Variables map[string]string
}

type TracingConfig struct {
	Mode string
}

type EphemeralStorage struct {
	Size int
}

type LoggingConfig struct {
	LogFormat           string `json:",omitempty"`
	ApplicationLogLevel string `json:",omitempty"`
	SystemLogLevel      string `json:",omitempty"`
	LogGroup            string `json:",omitempty"`
}

type TenancyConfig struct {
	TenantIsolationMode string
}

// GetFunctionOutput is GetFunction's response.
type GetFunctionOutput struct {
	Configuration FunctionConfiguration
	Code          FunctionCodeLocation
	Tags          map[string]string `json:",omitempty"`
}

type FunctionCodeLocation struct {
	RepositoryType string
	Location       string `json:",omitempty"`
}

type ListFunctionsOutput struct {
	Functions  []FunctionConfiguration
	NextMarker string `json:",omitempty"`
}

type ListVersionsByFunctionOutput struct {
	Versions   []FunctionConfiguration
	NextMarker string `json:",omitempty"`
}

// AliasConfiguration is an alias as Lambda reports it.
type AliasConfiguration struct {
	AliasArn        string
	Name            string
	FunctionVersion string
	Description     string
	RoutingConfig   *AliasRoutingConfiguration `json:",omitempty"`
	RevisionId      string
}

type AliasRoutingConfiguration struct {
	AdditionalVersionWeights map[string]float64
}

type ListAliasesOutput struct {
	Aliases    []AliasConfiguration
	NextMarker string `json:",omitempty"`
}

// Requests. Pointers mark members a caller may leave out.

type createFunctionInput struct {
	FunctionName     string
	Runtime          string
	Role             string
	Handler          string
	Description      string
	Timeout          *int
	MemorySize       *int
	Publish          bool
	PackageType      string
	Code             *functionCode
	Environment      *struct{ Variables map[string]string }
	EphemeralStorage *EphemeralStorage
	Architectures    []string
	LoggingConfig    *LoggingConfig
	TenancyConfig    *TenancyConfig
	Tags             map[string]string
	Layers           []string
}

type functionCode struct {
	ZipFile  []byte // base64 in JSON, as the SDK sends a blob
	S3Bucket string
	S3Key    string
	ImageUri string
}

type updateFunctionCodeInput struct {
	ZipFile    []byte
	S3Bucket   string
	S3Key      string
	ImageUri   string
	Publish    bool
	DryRun     bool
	RevisionId string
}

type updateFunctionConfigurationInput struct {
	Role             *string
	Handler          *string
	Description      *string
	Timeout          *int
	MemorySize       *int
	Runtime          *string
	Environment      *struct{ Variables map[string]string }
	EphemeralStorage *EphemeralStorage
	LoggingConfig    *LoggingConfig
	RevisionId       string
	Layers           []string
	// TenancyConfig is not a member of UpdateFunctionConfiguration: tenancy is
	// fixed at creation. It is decoded only to refuse it clearly.
	TenancyConfig any
}

type publishVersionInput struct {
	CodeSha256  string
	Description string
	RevisionId  string
}

type createAliasInput struct {
	Name            string
	FunctionVersion string
	Description     string
	RoutingConfig   *AliasRoutingConfiguration
}

type updateAliasInput struct {
	FunctionVersion *string
	Description     *string
	RoutingConfig   *AliasRoutingConfiguration
	RevisionId      string
}

// lastModified renders a time as Lambda does: 2020-04-10T19:06:32.563+0000.
func lastModified(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000-0700")
}

// configuration renders a resolved version as FunctionConfiguration.
func configuration(arns function.ARNs, r function.Resolved) FunctionConfiguration {
	v, c := r.Version, r.Version.Config
	arn := arns.Function(v.Function)
	if v.Number != function.Latest {
		arn = arns.Version(v.Function, v.Number)
	}
	out := FunctionConfiguration{
		FunctionName:     v.Function,
		FunctionArn:      arn,
		Runtime:          c.Runtime,
		Role:             c.Role,
		Handler:          c.Handler,
		CodeSize:         v.Code.Size,
		Description:      c.Description,
		Timeout:          c.Timeout,
		MemorySize:       c.MemorySize,
		LastModified:     lastModified(v.LastModified),
		CodeSha256:       v.Code.Base64(),
		Version:          function.VersionString(v.Number),
		TracingConfig:    TracingConfig{Mode: "PassThrough"},
		RevisionId:       v.RevisionID,
		State:            "Active",
		LastUpdateStatus: "Successful",
		PackageType:      "Zip",
		Architectures:    []string{c.Architecture},
		EphemeralStorage: EphemeralStorage{Size: c.EphemeralStorage},
		LoggingConfig: LoggingConfig{
			LogFormat:           c.Logging.Format,
			ApplicationLogLevel: c.Logging.ApplicationLogLevel,
			SystemLogLevel:      c.Logging.SystemLogLevel,
			LogGroup:            c.Logging.LogGroup,
		},
	}
	if out.LoggingConfig.LogGroup == "" {
		out.LoggingConfig.LogGroup = "/aws/lambda/" + v.Function
	}
	if len(c.Environment) > 0 {
		out.Environment = &EnvironmentResponse{Variables: maps.Clone(c.Environment)}
	}
	if r.Function.PerTenant {
		out.TenancyConfig = &TenancyConfig{TenantIsolationMode: function.TenantIsolationPerTenant}
	}
	return out
}

func aliasConfiguration(arns function.ARNs, a function.Alias) AliasConfiguration {
	out := AliasConfiguration{
		AliasArn:        arns.Qualified(a.Function, a.Name),
		Name:            a.Name,
		FunctionVersion: function.VersionString(a.Version),
		Description:     a.Description,
		RevisionId:      a.RevisionID,
	}
	if len(a.AdditionalWeights) > 0 {
		out.RoutingConfig = &AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{}}
		for n, w := range a.AdditionalWeights {
			out.RoutingConfig.AdditionalVersionWeights[strconv.Itoa(n)] = w
		}
	}
	return out
}
