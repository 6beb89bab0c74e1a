package adminkey

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestAdminKeyGeneratedOnceAndReused(t *testing.T) {
	dir := t.TempDir()
	k1, generated, err := Ensure(dir, env(nil))
	if err != nil || !generated {
		t.Fatalf("first Ensure = %v, generated %v; want a new key", err, generated)
	}
	info, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode = %#o, want 0600", perm)
	}
	k2, generated, err := Ensure(dir, env(nil))
	if err != nil || generated {
		t.Fatalf("second Ensure = %v, generated %v; want the stored key", err, generated)
	}
	if k1 != k2 {
		t.Errorf("second start got a different key")
	}
	if len(k1.AccessKeyID) != 20 || len(k1.SecretAccessKey) != 40 {
		t.Errorf("key shape = %d/%d chars, want 20/40", len(k1.AccessKeyID), len(k1.SecretAccessKey))
	}
}

func TestAdminKeyEnvironmentWins(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := Ensure(dir, env(nil)); err != nil {
		t.Fatal(err)
	}
	k, generated, err := Ensure(dir, env(map[string]string{EnvAccessKeyID: "AKID", EnvSecretAccessKey: "s3cret"}))
	if err != nil || generated || k.AccessKeyID != "AKID" || k.SecretAccessKey != "s3cret" {
		t.Fatalf("Ensure = %v, %v, %v; want the environment's key", k, generated, err)
	}
	if _, err := Load(dir, env(map[string]string{EnvAccessKeyID: "AKID"})); err == nil {
		t.Error("Load with only the id set succeeded; want an error naming both variables")
	}
}

func TestAdminKeyRefusesLooseFile(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := Ensure(dir, env(nil)); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, FileName), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(dir, env(nil))
	if err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("Load of a 0644 key file = %v, want a refusal that says how to fix it", err)
	}
}

func TestAdminKeyNeverPrintsSecret(t *testing.T) {
	k := Generate()
	if s := k.String(); strings.Contains(s, k.SecretAccessKey) {
		t.Fatalf("String() = %q contains the secret", s)
	}
	if _, ok := k.Secret(k.AccessKeyID + "x"); ok {
		t.Error("Secret accepted a different access key id")
	}
	if s, ok := k.Secret(k.AccessKeyID); !ok || s != k.SecretAccessKey {
		t.Error("Secret refused the key's own id")
	}
}
