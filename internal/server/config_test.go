package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfigDefaultsValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
}

func TestConfigValidateNamesFields(t *testing.T) {
	c := DefaultConfig()
	c.Region = "mars"
	c.AccountID = "123"
	c.APIAddr = "nope"
	c.LogLevel = "loud"
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate accepted a bad config")
	}
	for _, field := range []string{"region:", "account-id:", "api-addr:", "log-level:"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("error %q does not name %s", err, field)
		}
	}
}

func TestConfigFile(t *testing.T) {
	write := func(t *testing.T, body string) string {
		p := filepath.Join(t.TempDir(), "bulkhead.yaml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Run("known keys", func(t *testing.T) {
		c := DefaultConfig()
		if err := c.LoadFile(write(t, "region: eu-west-1\naccount-id: \"123456789012\"\nshutdown-timeout: 5s\n")); err != nil {
			t.Fatal(err)
		}
		if c.Region != "eu-west-1" || c.AccountID != "123456789012" || c.ShutdownTimeout != 5*time.Second {
			t.Errorf("loaded %+v", c)
		}
		if c.APIAddr != "127.0.0.1:9000" {
			t.Errorf("a key absent from the file changed its default: api-addr = %q", c.APIAddr)
		}
	})
	t.Run("unknown key has line and column", func(t *testing.T) {
		c := DefaultConfig()
		err := c.LoadFile(write(t, "region: eu-west-1\n  \napi-adr: 127.0.0.1:1\n"))
		if err == nil {
			t.Fatal("unknown key accepted")
		}
		if !strings.Contains(err.Error(), "[3:1]") || !strings.Contains(err.Error(), "api-adr") {
			t.Errorf("error %q does not point at line 3, column 1 and name the key", err)
		}
	})
}
