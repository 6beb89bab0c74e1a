package sandbox

import (
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
)

// Check reports whether spec keeps the rules of Spec that every driver
// enforces alike: a valid ID, an absolute Code directory, a variable name for
// an endpoint, and a Command whose program is absolute or stays inside the
// code directory. Its errors wrap errdefs.ErrInvalidArgument.
func Check(spec Spec) error {
	if !ValidID(spec.ID) {
		return fmt.Errorf("invalid sandbox ID: want 1 to 64 characters of [a-z0-9-]: %w", errdefs.ErrInvalidArgument)
	}
	if !filepath.IsAbs(spec.Code) {
		return fmt.Errorf("code directory %q is not an absolute path: %w", spec.Code, errdefs.ErrInvalidArgument)
	}
	if spec.Endpoint != nil && (spec.EndpointEnv == "" || strings.ContainsAny(spec.EndpointEnv, "=\x00")) {
		return fmt.Errorf("endpoint variable %q is not a variable name: %w", spec.EndpointEnv, errdefs.ErrInvalidArgument)
	}
	if len(spec.Command) == 0 || spec.Command[0] == "" {
		return fmt.Errorf("no command: %w", errdefs.ErrInvalidArgument)
	}
	if program := spec.Command[0]; !filepath.IsAbs(program) && !filepath.IsLocal(program) {
		return fmt.Errorf("command %q leads outside the code directory: %w", program, errdefs.ErrInvalidArgument)
	}
	return nil
}

// Program returns the path of the program a Check'ed spec runs, for a
// sandbox that sees the code directory at codeDir: Command[0] when absolute,
// else Command[0] inside codeDir.
func Program(spec Spec, codeDir string) string {
	program := spec.Command[0]
	if filepath.IsAbs(program) {
		return program
	}
	return path.Join(codeDir, program)
}

// EndpointPlaceholder, in a value of Spec.Env, stands for the endpoint's
// host:port as the program reaches it, which only the driver knows: a URL
// of another service on the endpoint is "http://" + EndpointPlaceholder +
// "/path".
const EndpointPlaceholder = "{{endpoint}}"

// Environment returns spec.Env with TMPDIR set to tmp and, when addr is not
// empty, EndpointEnv set to addr and EndpointPlaceholder replaced by it,
// replacing any entries the caller set for those names.
func Environment(spec Spec, tmp, addr string) []string {
	env := slices.DeleteFunc(slices.Clone(spec.Env), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return k == "TMPDIR" || addr != "" && k == spec.EndpointEnv
	})
	if addr != "" {
		for i, kv := range env {
			if strings.Contains(kv, EndpointPlaceholder) {
				env[i] = strings.ReplaceAll(kv, EndpointPlaceholder, addr)
			}
		}
	}
	env = append(env, "TMPDIR="+tmp)
	if addr != "" {
		env = append(env, spec.EndpointEnv+"="+addr)
	}
	return env
}
