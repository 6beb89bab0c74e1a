package server

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
)

// Config is the configuration of `bulkhead serve`. Flags and the config file
// set the same fields; flags win over the file, the file over the defaults.
// Secrets (the admin key) come from the environment only.
type Config struct {
	// DataDir holds everything Bulkhead stores: the database, code packages
	// and the generated admin key. Default: $XDG_DATA_HOME/bulkhead, or
	// ~/.local/share/bulkhead.
	DataDir string `yaml:"data-dir"`
	// APIAddr is where the Lambda API (and /healthz) listens.
	APIAddr string `yaml:"api-addr"`
	// GatewayAddr is where the public gateway listens.
	GatewayAddr string `yaml:"gateway-addr"`
	// Region is the AWS region name Bulkhead answers as: it appears in ARNs
	// and requests must be signed for it.
	Region string `yaml:"region"`
	// AccountID is the 12-digit account id in ARNs.
	AccountID string `yaml:"account-id"`
	// LogLevel is the platform log's level: debug, info, warn or error.
	LogLevel string `yaml:"log-level"`
	// ShutdownTimeout bounds how long in-flight requests may take to finish
	// after SIGINT or SIGTERM.
	ShutdownTimeout time.Duration `yaml:"shutdown-timeout"`
}

// DefaultAccountID is the account id ARNs carry unless configured.
const DefaultAccountID = "000000000000"

// DefaultConfig returns the configuration `bulkhead serve` uses with no flags
// and no file.
func DefaultConfig() Config {
	return Config{
		DataDir:         DefaultDataDir(),
		APIAddr:         "127.0.0.1:9000",
		GatewayAddr:     "127.0.0.1:8080",
		Region:          "us-east-1",
		AccountID:       DefaultAccountID,
		LogLevel:        "info",
		ShutdownTimeout: 30 * time.Second,
	}
}

// DefaultDataDir is $XDG_DATA_HOME/bulkhead, or ~/.local/share/bulkhead.
func DefaultDataDir() string {
	if x := os.Getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "bulkhead")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "bulkhead")
	}
	return "bulkhead-data"
}

var (
	regionPattern  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`)
	accountPattern = regexp.MustCompile(`^\d{12}$`)
)

// Validate reports every invalid field, each with its name.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if c.DataDir == "" {
		bad("data-dir", "must not be empty")
	}
	for field, addr := range map[string]string{"api-addr": c.APIAddr, "gateway-addr": c.GatewayAddr} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			bad(field, "%q is not host:port (%v)", addr, err)
		}
	}
	if c.APIAddr == c.GatewayAddr && !strings.HasSuffix(c.APIAddr, ":0") {
		bad("gateway-addr", "must differ from api-addr (both are %q)", c.APIAddr)
	}
	if !regionPattern.MatchString(c.Region) {
		bad("region", "%q is not a region name like us-east-1", c.Region)
	}
	if !accountPattern.MatchString(c.AccountID) {
		bad("account-id", "%q is not 12 digits", c.AccountID)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log-level", "%q is not one of debug, info, warn, error", c.LogLevel)
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown-timeout", "must be positive")
	}
	return errors.Join(errs...)
}

// LoadFile reads a YAML config file over c. Unknown keys are errors, reported
// with their line and column.
func (c *Config) LoadFile(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw), yaml.DisallowUnknownField())
	if err := dec.Decode(c); err != nil {
		return fmt.Errorf("config file %s:\n%s", path, yaml.FormatError(err, false, true))
	}
	return nil
}
