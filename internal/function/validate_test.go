package function

import (
	"errors"
	"strings"
	"testing"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
)

func validConfig() Config {
	return Config{
		Runtime: RuntimeProvidedAL2023,
		Handler: "bootstrap",
		Role:    "arn:aws:iam::123456789012:role/r",
	}.WithDefaults()
}

func TestFunctionConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Config)
		kind    error
		message string // exact message; "" means valid
	}{
		{name: "defaults", mutate: func(*Config) {}},
		{name: "memory too small", mutate: func(c *Config) { c.MemorySize = 100 }, kind: errdefs.ErrValidation,
			message: "1 validation error detected: Value '100' at 'memorySize' failed to satisfy constraint: Member must have value greater than or equal to 128"},
		{name: "memory too large", mutate: func(c *Config) { c.MemorySize = 10241 }, kind: errdefs.ErrValidation,
			message: "1 validation error detected: Value '10241' at 'memorySize' failed to satisfy constraint: Member must have value less than or equal to 10240"},
		{name: "timeout too large", mutate: func(c *Config) { c.Timeout = 901 }, kind: errdefs.ErrValidation,
			message: "1 validation error detected: Value '901' at 'timeout' failed to satisfy constraint: Member must have value less than or equal to 900"},
		{name: "two errors", mutate: func(c *Config) { c.Timeout = 901; c.EphemeralStorage = 100 }, kind: errdefs.ErrValidation,
			message: "2 validation errors detected: Value '901' at 'timeout' failed to satisfy constraint: Member must have value less than or equal to 900; Value '100' at 'ephemeralStorage.size' failed to satisfy constraint: Member must have value greater than or equal to 512"},
		{name: "unknown runtime", mutate: func(c *Config) { c.Runtime = "cobol85" }, kind: errdefs.ErrValidation,
			message: "1 validation error detected: Value 'cobol85' at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: ["},
		{name: "lambda runtime bulkhead lacks", mutate: func(c *Config) { c.Runtime = "python3.12" }, kind: errdefs.ErrInvalidArgument,
			message: "The runtime parameter of python3.12 is not supported by Bulkhead."},
		{name: "no handler", mutate: func(c *Config) { c.Handler = "" }, kind: errdefs.ErrInvalidArgument,
			message: "Runtime and Handler are mandatory parameters for functions created with deployment packages."},
		{name: "bad role", mutate: func(c *Config) { c.Role = "admin" }, kind: errdefs.ErrValidation, message: "at 'role' failed to satisfy constraint"},
		{name: "foreign architecture", mutate: func(c *Config) {
			c.Architecture = map[string]string{ArchitectureX8664: ArchitectureARM64, ArchitectureARM64: ArchitectureX8664}[hostArchitecture]
		}, kind: errdefs.ErrInvalidArgument, message: "cannot run on this Bulkhead host"},
		{name: "levels need JSON", mutate: func(c *Config) { c.Logging.ApplicationLogLevel = "DEBUG" }, kind: errdefs.ErrInvalidArgument,
			message: "ApplicationLogLevel and SystemLogLevel can only be set when LogFormat is JSON."},
		{name: "reserved variable", mutate: func(c *Config) { c.Environment = map[string]string{"AWS_REGION": "x", "OK": "1"} }, kind: errdefs.ErrInvalidArgument,
			message: "Reserved keys used in this request: AWS_REGION"},
		{name: "bad variable name", mutate: func(c *Config) { c.Environment = map[string]string{"1BAD": "x"} }, kind: errdefs.ErrValidation,
			message: "at 'environment.variables'"},
		{name: "variables over 4 KB", mutate: func(c *Config) { c.Environment = map[string]string{"BIG": strings.Repeat("x", 4090)} }, kind: errdefs.ErrInvalidArgument,
			message: "exceeded the 4KB limit. String measured: {\"BIG\":"},
		{name: "variables at 4 KB", mutate: func(c *Config) { c.Environment = map[string]string{"BIG": strings.Repeat("x", 4096-len(`{"BIG":""}`))} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mutate(&c)
			err := c.Validate("f")
			if tt.kind == nil {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.kind) {
				t.Fatalf("Validate = %v, want kind %v", err, tt.kind)
			}
			if msg, _ := errdefs.Message(err); !strings.HasPrefix(msg, tt.message) && !strings.Contains(msg, tt.message) {
				t.Fatalf("message = %q\nwant      %q", msg, tt.message)
			}
		})
	}
}

func TestFunctionViolationNull(t *testing.T) {
	got := Violation(nil, "code", "Member must not be null")
	if want := "Value null at 'code' failed to satisfy constraint: Member must not be null"; got != want {
		t.Errorf("Violation(nil) = %q, want %q", got, want)
	}
}

func TestFunctionConfigDefaults(t *testing.T) {
	c := Config{}.WithDefaults()
	if c.MemorySize != 128 || c.Timeout != 3 || c.EphemeralStorage != 512 || c.Architecture != ArchitectureX8664 || c.Logging.Format != "Text" {
		t.Errorf("defaults = %+v", c)
	}
	j := Config{Logging: Logging{Format: "JSON"}}.WithDefaults()
	if j.Logging.ApplicationLogLevel != "INFO" || j.Logging.SystemLogLevel != "INFO" {
		t.Errorf("JSON logging defaults = %+v", j.Logging)
	}
}

func TestFunctionCheckTags(t *testing.T) {
	if err := CheckTags(map[string]string{"team": "a"}); err != nil {
		t.Errorf("CheckTags(valid) = %v", err)
	}
	if err := CheckTags(map[string]string{"aws:x": "a"}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("CheckTags(aws: prefix) = %v", err)
	}
	many := map[string]string{}
	for i := range 51 {
		many[strings.Repeat("k", i+1)] = "v"
	}
	if err := CheckTags(many); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("CheckTags(51 tags) = %v", err)
	}
}
