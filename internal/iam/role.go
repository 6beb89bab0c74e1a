package iam

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/iam/policy"
)

// Limits on a role, as IAM sets them.
const (
	// MaxPolicySize is IAM's limit on a role's inline policies, in
	// characters, whitespace excluded.
	MaxPolicySize = 10240
	// MaxDescription is IAM's limit on a role's description.
	MaxDescription = 1000
	// DefaultMaxSessionDuration and the bounds of MaxSessionDuration, in
	// seconds.
	DefaultMaxSessionDuration = 3600
	MinMaxSessionDuration     = 3600
	MaxMaxSessionDuration     = 43200
)

// Role is a named identity policy that functions and STS sessions act
// under. Its policy is the role's one inline identity policy.
type Role struct {
	Name        string
	ID          string // "AROA" and 17 characters, assigned at creation
	Description string
	// Policy is the identity policy document as the client gave it.
	Policy json.RawMessage
	// MaxSessionDuration bounds the credentials STS issues for the role,
	// in seconds.
	MaxSessionDuration int
	Created            time.Time
	Updated            time.Time
}

// ARN is the role's ARN in account.
func (r Role) ARN(account string) string { return "arn:aws:iam::" + account + ":role/" + r.Name }

var roleName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[\w+=,.@-]{1,64}$`) })

// ParseRoleARN returns the account and name of a role ARN
// (arn:aws:iam::ACCOUNT:role/[PATH/]NAME); the path is not part of the name.
func ParseRoleARN(arn string) (account, name string, ok bool) {
	rest, found := strings.CutPrefix(arn, "arn:aws:iam::")
	if !found {
		return "", "", false
	}
	account, rest, found = strings.Cut(rest, ":role/")
	if !found || len(account) != 12 {
		return "", "", false
	}
	if i := strings.LastIndexByte(rest, '/'); i >= 0 {
		rest = rest[i+1:]
	}
	if !roleName().MatchString(rest) {
		return "", "", false
	}
	return account, rest, true
}

// validate checks what a client sets and compiles the policy.
func (r Role) validate() (*policy.Policy, error) {
	if !roleName().MatchString(r.Name) {
		return nil, errdefs.New(errdefs.ErrInvalidArgument, "The specified value for roleName is invalid. It must contain only alphanumeric characters and/or the following: +=,.@_- (1 to 64 characters).")
	}
	if len(r.Description) > MaxDescription || !utf8.ValidString(r.Description) {
		return nil, errdefs.New(errdefs.ErrInvalidArgument, "Description must be valid UTF-8 of at most %d characters.", MaxDescription)
	}
	if r.MaxSessionDuration < MinMaxSessionDuration || r.MaxSessionDuration > MaxMaxSessionDuration {
		return nil, errdefs.New(errdefs.ErrInvalidArgument, "The requested MaxSessionDuration %d exceeds the allowed range: it must be between %d and %d seconds.", r.MaxSessionDuration, MinMaxSessionDuration, MaxMaxSessionDuration)
	}
	if len(r.Policy) == 0 {
		return nil, errdefs.New(errdefs.ErrInvalidArgument, "A role needs a policy document.")
	}
	if n := policySize(r.Policy); n > MaxPolicySize {
		return nil, errdefs.New(errdefs.ErrInvalidArgument, "Maximum policy size of %d bytes exceeded for role %s (the policy has %d characters without whitespace).", MaxPolicySize, r.Name, n)
	}
	p, err := policy.Parse(r.Policy)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// policySize counts a document's characters as IAM does for its limit:
// whitespace outside strings does not count.
func policySize(doc []byte) int {
	n, inString, escaped := 0, false, false
	for _, c := range string(doc) {
		switch {
		case inString:
			n++
			if escaped {
				escaped = false
			} else if c == '\\' {
				escaped = true
			} else if c == '"' {
				inString = false
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
		default:
			n++
			inString = c == '"'
		}
	}
	return n
}

// Store keeps roles durably.
type Store interface {
	CreateRole(ctx context.Context, r Role) error // errdefs.ErrAlreadyExists
	UpdateRole(ctx context.Context, r Role) error // errdefs.ErrNotFound
	DeleteRole(ctx context.Context, name string) error
	ListRoles(ctx context.Context) ([]Role, error)
}

// Registry is the roles, kept in Store and in memory with their compiled
// policies, so an authorisation looks a role up without a query. It is safe
// for concurrent use.
type Registry struct {
	store   Store
	account string
	now     func() time.Time

	mu    sync.RWMutex
	roles map[string]*entry // by name
}

type entry struct {
	role   Role
	policy *policy.Policy
}

// NewRegistry loads the roles from store. A stored policy that no longer
// parses (a newer parser is stricter) is kept and reported: its role
// authorises nothing until it is updated.
func NewRegistry(ctx context.Context, store Store, account string) (*Registry, []error, error) {
	r := &Registry{store: store, account: account, now: time.Now, roles: map[string]*entry{}}
	roles, err := store.ListRoles(ctx)
	if err != nil {
		return nil, nil, err
	}
	var bad []error
	for _, role := range roles {
		p, err := policy.Parse(role.Policy)
		if err != nil {
			bad = append(bad, errdefs.New(errdefs.ErrValidation, "role %s: its stored policy does not parse and allows nothing: %v", role.Name, err))
		}
		r.roles[role.Name] = &entry{role: role, policy: p}
	}
	return r, bad, nil
}

// Account is the account id the roles' ARNs carry.
func (r *Registry) Account() string { return r.account }

// Create validates and stores a new role; zero MaxSessionDuration means
// the default.
func (r *Registry) Create(ctx context.Context, role Role) (Role, error) {
	if role.MaxSessionDuration == 0 {
		role.MaxSessionDuration = DefaultMaxSessionDuration
	}
	p, err := role.validate()
	if err != nil {
		return Role{}, err
	}
	role.ID = newRoleID()
	role.Created = r.now().UTC().Truncate(time.Millisecond)
	role.Updated = role.Created
	role.Policy = compact(role.Policy)
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.roles[role.Name]; ok {
		return Role{}, errdefs.New(errdefs.ErrAlreadyExists, "Role with name %s already exists.", role.Name)
	}
	if err := r.store.CreateRole(ctx, role); err != nil {
		return Role{}, err
	}
	r.roles[role.Name] = &entry{role: role, policy: p}
	return role, nil
}

// Update replaces a role's description, policy and session limit; its name
// and id stay. Sessions already issued for the role are authorised by the
// new policy from their next request.
func (r *Registry) Update(ctx context.Context, role Role) (Role, error) {
	if role.MaxSessionDuration == 0 {
		role.MaxSessionDuration = DefaultMaxSessionDuration
	}
	p, err := role.validate()
	if err != nil {
		return Role{}, err
	}
	role.Policy = compact(role.Policy)
	r.mu.Lock()
	defer r.mu.Unlock()
	old, ok := r.roles[role.Name]
	if !ok {
		return Role{}, notFound(role.Name)
	}
	role.ID, role.Created, role.Updated = old.role.ID, old.role.Created, r.now().UTC().Truncate(time.Millisecond)
	if err := r.store.UpdateRole(ctx, role); err != nil {
		return Role{}, err
	}
	r.roles[role.Name] = &entry{role: role, policy: p}
	return role, nil
}

// Delete removes a role; sessions issued for it are refused from then on.
func (r *Registry) Delete(ctx context.Context, name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.roles[name]; !ok {
		return notFound(name)
	}
	if err := r.store.DeleteRole(ctx, name); err != nil {
		return err
	}
	delete(r.roles, name)
	return nil
}

// Get returns a role by name.
func (r *Registry) Get(name string) (Role, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, ok := r.roles[name]
	if !ok {
		return Role{}, notFound(name)
	}
	return e.role, nil
}

// List returns the roles by name.
func (r *Registry) List() []Role {
	r.mu.RLock()
	out := make([]Role, 0, len(r.roles))
	for _, e := range r.roles {
		out = append(out, e.role)
	}
	r.mu.RUnlock()
	slices.SortFunc(out, func(a, b Role) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Policy returns a role's compiled policy, and false when the role does
// not exist or its stored policy no longer parses.
func (r *Registry) Policy(name string) (*policy.Policy, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, ok := r.roles[name]
	if !ok || e.policy == nil {
		return nil, false
	}
	return e.policy, true
}

// ByARN returns the role an ARN names in this registry's account.
func (r *Registry) ByARN(arn string) (Role, bool) {
	account, name, ok := ParseRoleARN(arn)
	if !ok || account != r.account {
		return Role{}, false
	}
	role, err := r.Get(name)
	return role, err == nil
}

func notFound(name string) error {
	return errdefs.New(errdefs.ErrNotFound, "The role with name %s cannot be found.", name)
}

// newRoleID is "AROA" and 17 random base32 characters, the shape of IAM's
// role ids.
func newRoleID() string {
	var b [11]byte
	rand.Read(b[:])
	return "AROA" + base32.StdEncoding.EncodeToString(b[:])[:17]
}

// compact strips insignificant whitespace; the document was validated.
func compact(doc json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, doc); err != nil {
		return doc
	}
	return json.RawMessage(b.Bytes())
}
