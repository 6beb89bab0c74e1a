package function

import (
	"encoding/json"
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
)

// Defaults Lambda applies when CreateFunction leaves a field out.
const (
	DefaultMemorySize       = 128
	DefaultTimeout          = 3
	DefaultEphemeralStorage = 512
)

// Limits from Lambda's quotas (spec/lambda.md §4).
const (
	MinMemorySize, MaxMemorySize             = 128, 10240
	MinTimeout, MaxTimeout                   = 1, 900
	MinEphemeralStorage, MaxEphemeralStorage = 512, 10240
	MaxEnvironmentBytes                      = 4096
	MaxDescription                           = 256
	MaxHandler                               = 128
	MaxTags                                  = 50
)

// SupportedRuntimes are the runtimes Bulkhead runs.
var SupportedRuntimes = []string{RuntimeProvided, RuntimeProvidedAL2, RuntimeProvidedAL2023}

// awsRuntimes are runtime identifiers Lambda knows but Bulkhead does not run
// (yet); they get a "not supported" answer rather than an enum violation.
var awsRuntimes = []string{
	"nodejs18.x", "nodejs20.x", "nodejs22.x", "nodejs24.x",
	"python3.9", "python3.10", "python3.11", "python3.12", "python3.13", "python3.14",
	"java8.al2", "java11", "java17", "java21", "java25",
	"dotnet8", "dotnet10", "ruby3.2", "ruby3.3", "ruby3.4", "go1.x",
}

// reservedEnvironment are the variables Lambda sets itself; a function may not
// override them.
var reservedEnvironment = []string{
	"_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
	"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
	"AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
	"AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
}

var (
	rolePattern = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-/]+$`)
	})
	handlerPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[^\s]+$`) })
	envKeyPattern  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z]([a-zA-Z0-9_])+$`) })
)

// hostArchitecture is the Lambda architecture name of the machine Bulkhead
// runs on; code for another architecture could not execute here.
var hostArchitecture = map[string]string{"amd64": ArchitectureX8664, "arm64": ArchitectureARM64}[runtime.GOARCH]

// WithDefaults fills the fields CreateFunction may leave out.
func (c Config) WithDefaults() Config {
	if c.MemorySize == 0 {
		c.MemorySize = DefaultMemorySize
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.EphemeralStorage == 0 {
		c.EphemeralStorage = DefaultEphemeralStorage
	}
	if c.Architecture == "" {
		c.Architecture = ArchitectureX8664
	}
	return c.withLoggingDefaults()
}

// withLoggingDefaults fills LoggingConfig's members as Lambda does; JSON
// logs get levels.
func (c Config) withLoggingDefaults() Config {
	if c.Logging.Format == "" {
		c.Logging.Format = "Text"
	}
	if c.Logging.Format == "JSON" {
		if c.Logging.ApplicationLogLevel == "" {
			c.Logging.ApplicationLogLevel = "INFO"
		}
		if c.Logging.SystemLogLevel == "" {
			c.Logging.SystemLogLevel = "INFO"
		}
	}
	return c
}

// Validate checks a complete configuration (defaults applied) the way Lambda
// does: modelled constraints first, all reported together as one
// ValidationException; then semantic checks, each an
// InvalidParameterValueException.
func (c Config) Validate(functionName string) error {
	var errs []string
	check := func(bad bool, value any, field, constraint string) {
		if bad {
			errs = append(errs, Violation(value, field, constraint))
		}
	}
	check(c.MemorySize < MinMemorySize, c.MemorySize, "memorySize", fmt.Sprintf("Member must have value greater than or equal to %d", MinMemorySize))
	check(c.MemorySize > MaxMemorySize, c.MemorySize, "memorySize", fmt.Sprintf("Member must have value less than or equal to %d", MaxMemorySize))
	check(c.Timeout < MinTimeout, c.Timeout, "timeout", fmt.Sprintf("Member must have value greater than or equal to %d", MinTimeout))
	check(c.Timeout > MaxTimeout, c.Timeout, "timeout", fmt.Sprintf("Member must have value less than or equal to %d", MaxTimeout))
	check(c.EphemeralStorage < MinEphemeralStorage, c.EphemeralStorage, "ephemeralStorage.size", fmt.Sprintf("Member must have value greater than or equal to %d", MinEphemeralStorage))
	check(c.EphemeralStorage > MaxEphemeralStorage, c.EphemeralStorage, "ephemeralStorage.size", fmt.Sprintf("Member must have value less than or equal to %d", MaxEphemeralStorage))
	check(len(c.Description) > MaxDescription, c.Description, "description", fmt.Sprintf("Member must have length less than or equal to %d", MaxDescription))
	check(len(c.Handler) > MaxHandler, c.Handler, "handler", fmt.Sprintf("Member must have length less than or equal to %d", MaxHandler))
	check(c.Handler != "" && !handlerPattern().MatchString(c.Handler), c.Handler, "handler", `Member must satisfy regular expression pattern: [^\s]+`)
	check(!rolePattern().MatchString(c.Role), c.Role, "role", `Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+`)
	known := slices.Contains(SupportedRuntimes, c.Runtime) || slices.Contains(awsRuntimes, c.Runtime)
	check(c.Runtime != "" && !known, c.Runtime, "runtime", "Member must satisfy enum value set: ["+strings.Join(append(slices.Clone(SupportedRuntimes), awsRuntimes...), ", ")+"]")
	check(c.Architecture != ArchitectureX8664 && c.Architecture != ArchitectureARM64, []string{c.Architecture}, "architectures", "Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64]]")
	check(c.Logging.Format != "Text" && c.Logging.Format != "JSON", c.Logging.Format, "loggingConfig.logFormat", "Member must satisfy enum value set: [Text, JSON]")
	check(c.Logging.ApplicationLogLevel != "" && !slices.Contains([]string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}, c.Logging.ApplicationLogLevel),
		c.Logging.ApplicationLogLevel, "loggingConfig.applicationLogLevel", "Member must satisfy enum value set: [TRACE, DEBUG, INFO, WARN, ERROR, FATAL]")
	check(c.Logging.SystemLogLevel != "" && !slices.Contains([]string{"DEBUG", "INFO", "WARN"}, c.Logging.SystemLogLevel),
		c.Logging.SystemLogLevel, "loggingConfig.systemLogLevel", "Member must satisfy enum value set: [DEBUG, INFO, WARN]")
	if err := ConstraintError(errs...); err != nil {
		return err
	}

	if c.Runtime == "" || c.Handler == "" {
		return errdefs.New(errdefs.ErrInvalidArgument, "Runtime and Handler are mandatory parameters for functions created with deployment packages.")
	}
	if !slices.Contains(SupportedRuntimes, c.Runtime) {
		return errdefs.New(errdefs.ErrInvalidArgument,
			"The runtime parameter of %s is not supported by Bulkhead. Supported runtimes: %s (a zip with an executable bootstrap).",
			c.Runtime, strings.Join(SupportedRuntimes, ", "))
	}
	if c.Architecture != hostArchitecture {
		return errdefs.New(errdefs.ErrInvalidArgument,
			"Architecture %s cannot run on this Bulkhead host, which is %s.", c.Architecture, hostArchitecture)
	}
	if c.Logging.Format == "Text" && (c.Logging.ApplicationLogLevel != "" || c.Logging.SystemLogLevel != "") {
		return errdefs.New(errdefs.ErrInvalidArgument,
			"ApplicationLogLevel and SystemLogLevel can only be set when LogFormat is JSON.")
	}
	return checkEnvironment(c.Environment)
}

func checkEnvironment(env map[string]string) error {
	if len(env) == 0 {
		return nil
	}
	var reserved, badKeys []string
	for k := range env {
		if slices.Contains(reservedEnvironment, k) {
			reserved = append(reserved, k)
		} else if !envKeyPattern().MatchString(k) {
			badKeys = append(badKeys, k)
		}
	}
	sort.Strings(reserved)
	sort.Strings(badKeys)
	if len(reserved) > 0 {
		return errdefs.New(errdefs.ErrInvalidArgument,
			"Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: %s",
			strings.Join(reserved, ", "))
	}
	if len(badKeys) > 0 {
		return ConstraintError(Violation(badKeys, "environment.variables", "Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]"))
	}
	// Lambda measures the variables as the JSON object it stores.
	measured, err := json.Marshal(env)
	if err != nil {
		return fmt.Errorf("measure environment: %w", err)
	}
	if len(measured) > MaxEnvironmentBytes {
		return errdefs.New(errdefs.ErrInvalidArgument,
			"Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: %s", measured)
	}
	return nil
}

// CheckTags validates a function's tags.
func CheckTags(tags map[string]string) error {
	if len(tags) > MaxTags {
		return errdefs.New(errdefs.ErrInvalidArgument, "A function can have at most %d tags; the request has %d.", MaxTags, len(tags))
	}
	for k, v := range tags {
		if k == "" || len(k) > 128 || strings.HasPrefix(strings.ToLower(k), "aws:") {
			return errdefs.New(errdefs.ErrInvalidArgument, "Tag key %q is invalid: keys are 1 to 128 characters and may not start with aws:.", k)
		}
		if len(v) > 256 {
			return errdefs.New(errdefs.ErrInvalidArgument, "The value of tag %q is longer than 256 characters.", k)
		}
	}
	return nil
}

// Violation renders one constraint violation the way AWS's front end does:
// Value '<value>' at '<field>' failed to satisfy constraint: <constraint>.
func Violation(value any, field, constraint string) string {
	var v string
	switch x := value.(type) {
	case nil: // AWS writes a missing member unquoted: Value null at 'code'
		return fmt.Sprintf("Value null at '%s' failed to satisfy constraint: %s", field, constraint)
	case []string:
		v = "[" + strings.Join(x, ", ") + "]"
	default:
		v = fmt.Sprint(x)
	}
	return fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: %s", v, field, constraint)
}

// ConstraintError joins violations into one ErrValidation error worded as
// Lambda's ValidationException ("2 validation errors detected: …; …"), or
// returns nil when there are none.
func ConstraintError(errs ...string) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errdefs.New(errdefs.ErrValidation, "1 validation error detected: %s", errs[0])
	default:
		return errdefs.New(errdefs.ErrValidation, "%d validation errors detected: %s", len(errs), strings.Join(errs, "; "))
	}
}
