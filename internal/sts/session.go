package sts

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/tenant"
)

// Session tag limits (AWS STS's): at most MaxTags tags, keys of 1 to
// MaxTagKeyLength characters, values of at most MaxTagValueLength.
const (
	MaxTags           = 50
	MaxTagKeyLength   = 128
	MaxTagValueLength = 256
)

// TenantTag is the session tag that names the session's tenant; policies read
// it as ${aws:PrincipalTag/TenantID}. Tag keys compare case-insensitively.
const TenantTag = "TenantID"

// Session is what a set of temporary credentials stands for: an assumed role,
// its tags and session policy, and its lifetime. The session token carries
// all of it, so whoever holds the Issuer's key recovers a Session from a token
// without a lookup.
type Session struct {
	ID          string // random, 32 hex digits; set by Issue
	AccessKeyID string // ASIA…; set by Issue
	Account     string // the account the role belongs to
	RoleName    string // the role's name, without its path
	RoleARN     string // arn:aws:iam::<account>:role/<path><name>
	RoleID      string // the role's unique id (AROA…), the first half of the caller's UserId
	SessionName string // RoleSessionName; the last element of the assumed-role ARN
	Tags        Tags   // session tags, in the order given
	// SessionPolicy is the inline session policy, raw JSON, or "" for none. It
	// only narrows what the role's policy allows.
	SessionPolicy string
	Issued        time.Time // whole seconds, UTC
	Expires       time.Time // whole seconds, UTC; the credentials are valid before it
	// Environment is the execution environment the credentials were minted
	// for, or "" for sessions from AssumeRole called by the admin key. A
	// session assumed with another session's credentials (role chaining)
	// inherits its Environment, so refusing an environment's sessions covers
	// the chain.
	Environment string
	// Tenant is the value of the TenantID tag, or tenant.None without one.
	Tenant tenant.ID
}

// AssumedRoleARN returns the session's principal ARN,
// arn:aws:sts::<account>:assumed-role/<role>/<session name>.
func (s *Session) AssumedRoleARN() string {
	return "arn:aws:sts::" + s.Account + ":assumed-role/" + s.RoleName + "/" + s.SessionName
}

// AssumedRoleID returns the session's user id, <role id>:<session name>.
func (s *Session) AssumedRoleID() string { return s.RoleID + ":" + s.SessionName }

// LogValue renders the session for logs: who, for whom, until when. It holds
// no secret (the secret key and token are not part of a Session) and leaves
// out the policy, which can be long.
func (s Session) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("id", s.ID),
		slog.String("access_key_id", s.AccessKeyID),
		slog.String("role", s.RoleARN),
		slog.String("session_name", s.SessionName),
		slog.Any("tenant", s.Tenant),
		slog.String("environment", s.Environment),
		slog.Time("expires", s.Expires),
	)
}

// String summarises the session as LogValue does.
func (s Session) String() string {
	return fmt.Sprintf("session %s (%s as %s, tenant %v, environment %q, expires %s)",
		s.ID, s.AccessKeyID, s.AssumedRoleARN(), s.Tenant.LogValue(), s.Environment, s.Expires.Format(time.RFC3339))
}

// Tag is one session tag.
type Tag struct {
	Key   string
	Value string
}

// Tags is an ordered list of session tags. Keys are case-insensitive but
// keep the case they were given in; a valid list has each key once.
type Tags []Tag

// Get returns the value of key, compared case-insensitively.
func (t Tags) Get(key string) (string, bool) {
	for _, tag := range t {
		if strings.EqualFold(tag.Key, key) {
			return tag.Value, true
		}
	}
	return "", false
}

// Credentials are temporary credentials in AWS's shape. String, GoString and
// LogValue hide the secret key and the session token, so printing or logging
// a Credentials by mistake leaks neither.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
}

const redacted = "<redacted>"

var (
	_ slog.LogValuer = Credentials{}
	_ fmt.Stringer   = Credentials{}
	_ fmt.GoStringer = Credentials{}
	_ slog.LogValuer = Session{}
)

// String shows the access key id and the expiry only.
func (c Credentials) String() string {
	return "Credentials{AccessKeyID: " + c.AccessKeyID + ", SecretAccessKey: " + redacted +
		", SessionToken: " + redacted + ", Expiration: " + c.Expiration.UTC().Format(time.RFC3339) + "}"
}

// GoString is String, for %#v.
func (c Credentials) GoString() string { return c.String() }

// LogValue shows the access key id and the expiry only.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("access_key_id", c.AccessKeyID),
		slog.String("secret_access_key", redacted),
		slog.String("session_token", redacted),
		slog.Time("expiration", c.Expiration),
	)
}
