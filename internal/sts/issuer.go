package sts

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/tenant"
)

// KeyFileName is the sealing key's file inside the data directory.
const KeyFileName = "sts.key"

// KeySize is the sealing key's size: AES-256.
const KeySize = 32

// MaxTokenSize is the longest session token Issue mints, in bytes. AWS's
// tokens stay under 4 KB and clients are written for that; a session whose
// token would be longer (a long policy with many long tags) is refused with
// errdefs.ErrTooLarge, which AssumeRole reports as PackedPolicyTooLarge.
const MaxTokenSize = 4096

// The token errors Open returns. Both mean the request is not authenticated;
// they differ in what AWS tells the caller.
var (
	// ErrInvalidToken: the token is malformed, was not minted with this key,
	// was altered, or belongs to another access key id ("The security token
	// included in the request is invalid.").
	ErrInvalidToken = errors.New("sts: invalid security token")
	// ErrExpiredToken: the token is authentic but its session has expired
	// ("The security token included in the request is expired").
	ErrExpiredToken = errors.New("sts: expired security token")
)

// tokenVersion is the first byte of every token. A new format takes a new
// version; Open refuses versions it does not know.
const tokenVersion byte = 1

const (
	nonceSize = 12 // AES-GCM's standard nonce
	tagSize   = 16
	// maxEncoded bounds the token text Open decodes, so a hostile header
	// cannot make it allocate much.
	maxEncoded = 2 * MaxTokenSize
)

var (
	tokenEncoding = base64.RawURLEncoding.Strict()
	keyIDEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)
	// sessionName is RoleSessionName's pattern ([\w+=,.@-]{2,64}).
	sessionName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[\w+=,.@-]{2,64}$`) })
)

// Issuer mints temporary credentials whose session token is a sealed capsule
// of the session, and opens such tokens again. It keeps no state but its key:
// any Issuer with the same key opens any token, so the data plane needs no
// lookup. It is safe for concurrent use.
//
// A token is URL-safe base64 (no padding) of
//
//	version (1 byte) | nonce (12 bytes) | AES-256-GCM(session, secret) with its 16-byte tag
//
// sealed with the version byte and the access key id as additional data.
type Issuer struct {
	aead cipher.AEAD
	// random, when set, replaces crypto/rand for minting, so a test can
	// mint the same token in every process.
	random io.Reader
}

// NewIssuer returns an Issuer whose key is <dataDir>/sts.key, generating the
// file (32 random bytes, mode 0600) on first start. It refuses a key file
// that group or others may read, or that is not 32 bytes long.
func NewIssuer(dataDir string) (*Issuer, error) {
	key, err := ensureKey(filepath.Join(dataDir, KeyFileName))
	if err != nil {
		return nil, err
	}
	return NewIssuerFromKey(key)
}

// NewIssuerFromKey returns an Issuer sealing with key, which must be KeySize
// bytes. Tests use it; the server uses NewIssuer.
func NewIssuerFromKey(key []byte) (*Issuer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("sts: the sealing key has %d bytes; it must have %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Issuer{aead: aead}, nil
}

// Issue mints credentials for s: a new access key id (ASIA and 16 base32
// characters), a 40-character secret key and a session token sealing s.
// Issue sets s's ID and AccessKeyID and rounds Issued (time.Now if zero) and
// Expires down to whole seconds; Expiration is Expires.
//
// s must be valid, else an errdefs.ErrValidation error: Account, RoleARN,
// RoleName and RoleID set; SessionName of 2 to 64 characters [\w+=,.@-];
// at most MaxTags tags with keys of 1 to MaxTagKeyLength characters, values
// of at most MaxTagValueLength, each key once (case-insensitively); Tenant
// equal to the TenantID tag's value (tenant.None without the tag); Expires
// after Issued. A token longer than MaxTokenSize is an errdefs.ErrTooLarge
// error.
func (i *Issuer) Issue(s Session) (Credentials, error) {
	c, _, err := i.issue(&s, 0)
	return c, err
}

// issue is Issue with the token padded to at least minSize bytes (AssumeRole's
// MinimumSessionTokenSize). It completes *s as it seals it (ID, AccessKeyID,
// rounded times), and also returns the token's size, even when that is too
// large.
func (i *Issuer) issue(s *Session, minSize int) (Credentials, int, error) {
	if s.Issued.IsZero() {
		s.Issued = time.Now()
	}
	s.Issued = s.Issued.UTC().Truncate(time.Second)
	s.Expires = s.Expires.UTC().Truncate(time.Second)
	if err := s.validate(); err != nil {
		return Credentials{}, 0, err
	}
	// One read for all the randomness: the session id, the secret, the
	// access key id (10 bytes, 16 base32 characters) and the nonce.
	var random [idSize + secretSize + 10 + nonceSize]byte
	if i.random != nil {
		if _, err := io.ReadFull(i.random, random[:]); err != nil {
			return Credentials{}, 0, err
		}
	} else {
		_, _ = rand.Read(random[:]) // crypto/rand.Read does not fail (Go 1.24+)
	}
	id := (*[idSize]byte)(random[:idSize])
	secret := (*[secretSize]byte)(random[idSize : idSize+secretSize])
	keyID := random[idSize+secretSize : idSize+secretSize+10]
	s.ID = hex.EncodeToString(id[:])
	s.AccessKeyID = "ASIA" + keyIDEncoding.EncodeToString(keyID)

	const header = 1 + nonceSize
	buf := make([]byte, header, header+256+len(s.SessionPolicy)+tagSize)
	buf[0] = tokenVersion
	copy(buf[1:header], random[len(random)-nonceSize:])
	plaintext := appendSession(buf[header:], s, id, secret, 0)
	if padding := paddingFor(len(plaintext), minSize); padding > 0 {
		plaintext = appendSession(buf[header:header], s, id, secret, padding)
	}
	sealed := i.aead.Seal(buf[:header], buf[1:header], plaintext, additionalData(s.AccessKeyID))
	size := tokenEncoding.EncodedLen(len(sealed))
	if size > MaxTokenSize {
		return Credentials{}, size, errdefs.New(errdefs.ErrTooLarge,
			"the session token would have %d bytes; at most %d are allowed (shorten the session policy or the tags)", size, MaxTokenSize)
	}
	return Credentials{
		AccessKeyID:     s.AccessKeyID,
		SecretAccessKey: base64.StdEncoding.EncodeToString(secret[:]),
		SessionToken:    tokenEncoding.EncodeToString(sealed),
		Expiration:      s.Expires,
	}, size, nil
}

// paddingFor returns how many zero bytes of padding make the token of an
// unpadded plaintext of n bytes at least minSize bytes long. Each byte of
// padding adds one byte to the sealed token, so the token reaches minSize
// exactly, or one more where base64 has no encoding of that length.
func paddingFor(n, minSize int) uint16 {
	sealed := 1 + nonceSize + n + tagSize
	if tokenEncoding.EncodedLen(sealed) >= minSize {
		return 0
	}
	padding := max(0, minSize*3/4-sealed-1) // a little short: the loop finishes
	for tokenEncoding.EncodedLen(sealed+padding) < minSize {
		padding++
	}
	return uint16(padding)
}

// Open recovers the session and secret key that token seals, checking that it
// was issued with accessKeyID and that its session has not expired at now:
// credentials are valid strictly before Expires. It fails with
// ErrInvalidToken (wrapped) for a token it cannot open and with
// ErrExpiredToken for an expired session, returning no session.
func (i *Issuer) Open(accessKeyID, token string, now time.Time) (Session, string, error) {
	if len(token) == 0 || len(token) > maxEncoded || strings.ContainsAny(token, "\r\n") {
		// The decoder skips CR and LF; a token containing them is not one
		// Issue minted.
		return Session{}, "", ErrInvalidToken
	}
	raw, err := tokenEncoding.DecodeString(token)
	if err != nil || len(raw) < 1+nonceSize+tagSize || raw[0] != tokenVersion {
		return Session{}, "", ErrInvalidToken
	}
	nonce, sealed := raw[1:1+nonceSize], raw[1+nonceSize:]
	plaintext, err := i.aead.Open(sealed[:0], nonce, sealed, additionalData(accessKeyID))
	if err != nil {
		return Session{}, "", ErrInvalidToken
	}
	s, secret, err := decodeSession(plaintext)
	if err != nil {
		// Authentic but unreadable: only a bug in this package mints that.
		return Session{}, "", fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if !now.Before(s.Expires) {
		return Session{}, "", ErrExpiredToken
	}
	s.AccessKeyID = accessKeyID
	return s, base64.StdEncoding.EncodeToString(secret[:]), nil
}

// additionalData binds a token to its version and its access key id.
func additionalData(accessKeyID string) []byte {
	ad := make([]byte, 0, 1+len(accessKeyID))
	ad = append(ad, tokenVersion)
	return append(ad, accessKeyID...)
}

// validate checks what Issue requires of a session (see Issue).
func (s *Session) validate() error {
	invalid := func(format string, args ...any) error {
		return fmt.Errorf("sts: session: "+format+": %w", append(args, errdefs.ErrValidation)...)
	}
	for _, f := range []struct{ name, value string }{
		{"account", s.Account}, {"role ARN", s.RoleARN}, {"role name", s.RoleName}, {"role id", s.RoleID},
	} {
		if f.value == "" || !utf8.ValidString(f.value) {
			return invalid("the %s is empty or not UTF-8", f.name)
		}
	}
	if !sessionName().MatchString(s.SessionName) {
		return invalid("session name %q does not match [\\w+=,.@-]{2,64}", s.SessionName)
	}
	if !utf8.ValidString(s.Environment) || !utf8.ValidString(s.SessionPolicy) {
		return invalid("the environment or the session policy is not UTF-8")
	}
	if len(s.Tags) > MaxTags {
		return invalid("%d tags; at most %d are allowed", len(s.Tags), MaxTags)
	}
	for i, t := range s.Tags {
		switch {
		case !utf8.ValidString(t.Key) || !utf8.ValidString(t.Value):
			return invalid("tag %d is not UTF-8", i+1)
		case t.Key == "" || utf8.RuneCountInString(t.Key) > MaxTagKeyLength:
			return invalid("tag key %q must have 1 to %d characters", t.Key, MaxTagKeyLength)
		case utf8.RuneCountInString(t.Value) > MaxTagValueLength:
			return invalid("the value of tag %q has more than %d characters", t.Key, MaxTagValueLength)
		}
		for _, earlier := range s.Tags[:i] {
			if strings.EqualFold(earlier.Key, t.Key) {
				return invalid("tag keys %q and %q are the same (tag keys are case-insensitive)", earlier.Key, t.Key)
			}
		}
	}
	want := tenant.None
	if v, ok := s.Tags.Get(TenantTag); ok && v != "" {
		id, err := tenant.Parse(v)
		if err != nil {
			return invalid("the %s tag: %w", TenantTag, err)
		}
		want = id
	}
	if s.Tenant != want {
		return invalid("tenant %v does not match the %s tag (%v)", s.Tenant.LogValue(), TenantTag, want.LogValue())
	}
	issued, expires := s.Issued.Unix(), s.Expires.Unix()
	switch {
	case issued < 0 || issued >= maxUnix:
		return invalid("issued at %s, out of range", s.Issued.Format(time.RFC3339))
	case expires <= issued || expires-issued > maxLifetime:
		return invalid("expires at %s, not after issued at %s (or too late)", s.Expires.Format(time.RFC3339), s.Issued.Format(time.RFC3339))
	}
	return nil
}

// ensureKey loads the key file at path, creating it when absent. Creation is
// atomic and never replaces a file: two servers starting at once on one data
// directory end up with the same key.
func ensureKey(path string) ([]byte, error) {
	key, err := loadKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	key = make([]byte, KeySize)
	_, _ = rand.Read(key)
	if err := writeKey(path, key); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return loadKey(path)
		}
		return nil, err
	}
	return key, nil
}

func loadKey(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("sts key file %s has mode %#o: others can read it; run chmod 600 %s", path, info.Mode().Perm(), path)
	}
	key, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("sts key file %s has %d bytes, not %d: it is damaged; remove it to generate a new key (every session token minted so far becomes invalid)", path, len(key), KeySize)
	}
	return key, nil
}

// writeKey stores key at path with mode 0600: temp file, fsync, hard link
// (which fails if path exists), fsync the directory.
func writeKey(path string, key []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".sts-key-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(key); err != nil {
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
	if err := os.Link(f.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
