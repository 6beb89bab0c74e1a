// Package adminkey owns the admin access key: the one key pair allowed to
// sign Lambda API requests. It comes from the environment
// (BULKHEAD_ACCESS_KEY_ID and BULKHEAD_SECRET_ACCESS_KEY) or, failing that,
// from a file in the data directory that the server generates on first start.
// It does not verify signatures (internal/sigv4 does).
package adminkey

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Environment variables that carry the key. They win over the file.
const (
	EnvAccessKeyID     = "BULKHEAD_ACCESS_KEY_ID"
	EnvSecretAccessKey = "BULKHEAD_SECRET_ACCESS_KEY"
)

// FileName is the key file's name inside the data directory.
const FileName = "admin-key.json"

// Key is an access key pair.
type Key struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
}

// String hides the secret so a key can never be logged by accident.
func (k Key) String() string { return k.AccessKeyID + "/<secret>" }

// Secret returns the secret for accessKeyID, comparing the id in constant time.
func (k Key) Secret(accessKeyID string) (string, bool) {
	if subtle.ConstantTimeCompare([]byte(accessKeyID), []byte(k.AccessKeyID)) != 1 {
		return "", false
	}
	return k.SecretAccessKey, true
}

// ErrNoKey means neither the environment nor the data directory has a key.
var ErrNoKey = errors.New("no admin key")

// Load returns the key from the environment (getenv) or from dataDir.
func Load(dataDir string, getenv func(string) string) (Key, error) {
	id, secret := getenv(EnvAccessKeyID), getenv(EnvSecretAccessKey)
	switch {
	case id != "" && secret != "":
		return Key{AccessKeyID: id, SecretAccessKey: secret}, nil
	case id != "" || secret != "":
		return Key{}, fmt.Errorf("set both %s and %s, or neither", EnvAccessKeyID, EnvSecretAccessKey)
	}
	path := filepath.Join(dataDir, FileName)
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Key{}, fmt.Errorf("%w: %s is not set and %s does not exist (start the server once to generate it)", ErrNoKey, EnvAccessKeyID, path)
	} else if err != nil {
		return Key{}, err
	}
	if info.Mode().Perm()&0o077 != 0 {
		return Key{}, fmt.Errorf("admin key file %s has mode %#o: others can read it; run chmod 600 %s", path, info.Mode().Perm(), path)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return Key{}, err
	}
	var k Key
	if err := json.Unmarshal(raw, &k); err != nil || k.AccessKeyID == "" || k.SecretAccessKey == "" {
		return Key{}, fmt.Errorf("admin key file %s is damaged; remove it to generate a new key", path)
	}
	return k, nil
}

// Ensure returns the key as Load does, generating and storing a new one in
// dataDir when there is none. generated tells the caller to show it once.
func Ensure(dataDir string, getenv func(string) string) (k Key, generated bool, err error) {
	k, err = Load(dataDir, getenv)
	if !errors.Is(err, ErrNoKey) {
		return k, false, err
	}
	k = Generate()
	if err := write(filepath.Join(dataDir, FileName), k); err != nil {
		return Key{}, false, err
	}
	return k, true, nil
}

// Generate returns a new random key pair shaped like AWS's: a 20-character
// id and a 40-character secret.
func Generate() Key {
	id := make([]byte, 10)
	secret := make([]byte, 30)
	_, _ = rand.Read(id) // crypto/rand.Read does not fail
	_, _ = rand.Read(secret)
	return Key{
		AccessKeyID:     "BKHD" + base32.StdEncoding.EncodeToString(id),
		SecretAccessKey: base64.StdEncoding.EncodeToString(secret),
	}
}

// write stores k durably with mode 0600: temp file, fsync, rename, fsync dir.
func write(path string, k Key) error {
	raw, err := json.MarshalIndent(k, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".admin-key-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(append(raw, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
