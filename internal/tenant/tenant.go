// Package tenant owns the tenant id: its validation (Parse is the only way to
// make an ID), how it travels (in a context.Context), and how it is shown in
// logs and file paths. It does not own the tenant registry (a later issue).
//
// Code that acts for a tenant takes the tenant from the context with
// Required, which fails closed: a missing tenant is an error, never a default.
// Functions without tenancy config run as None, set explicitly.
package tenant

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
)

// MaxLength is the longest tenant id Lambda accepts.
const MaxLength = 256

// ID is a validated tenant id. The zero value is None: the explicit tenant
// of functions without tenancy config.
type ID struct{ s string }

// None is the tenant of functions without tenancy config.
var None ID

// Parse validates s against Lambda's rule — 1 to 256 characters of
// letters, digits, space and . _ : / = + - @ — and returns it as an ID.
func Parse(s string) (ID, error) {
	if s == "" {
		return ID{}, errdefs.New(errdefs.ErrInvalidArgument, "Invalid tenant ID: it is empty; a tenant ID has 1 to %d characters.", MaxLength)
	}
	if len(s) > MaxLength {
		return ID{}, errdefs.New(errdefs.ErrInvalidArgument, "Invalid tenant ID: it has %d characters; at most %d are allowed.", len(s), MaxLength)
	}
	for i := 0; i < len(s); i++ {
		if !allowed(s[i]) {
			return ID{}, errdefs.New(errdefs.ErrInvalidArgument,
				"Invalid tenant ID: character %s at position %d is not allowed; a tenant ID may contain letters, digits, spaces and . _ : / = + - @",
				strconv.QuoteRune(rune(s[i])), i+1)
		}
	}
	return ID{s: s}, nil
}

func allowed(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '.', '_', ':', '/', '=', '+', '-', '@', ' ':
		return true
	}
	return false
}

// String returns the id as the client sent it ("" for None). Use it on the
// wire (the Runtime API header); logs use LogValue, paths PathSegment.
func (id ID) String() string { return id.s }

// IsNone reports whether id is None.
func (id ID) IsNone() bool { return id.s == "" }

// LogValue renders the id quoted, so no tenant-chosen text reaches a log
// line unescaped.
func (id ID) LogValue() slog.Value {
	if id.s == "" {
		return slog.StringValue("-")
	}
	return slog.StringValue(strconv.Quote(id.s))
}

var pathEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// PathSegment encodes the id as one file-name-safe path segment: "none" for
// None, "t" + lower-case base32 for ids up to 100 bytes, "h" + the hex
// SHA-256 for longer ones (base32 of 256 bytes would pass Linux's 255-byte
// name limit). No separators, no dots, distinct for distinct ids.
func (id ID) PathSegment() string {
	switch {
	case id.s == "":
		return "none"
	case len(id.s) <= 100:
		return "t" + pathEncoding.EncodeToString([]byte(id.s))
	default:
		sum := sha256.Sum256([]byte(id.s))
		return "h" + hex.EncodeToString(sum[:])
	}
}

// Format implements fmt.Formatter so that %v and %s print the quoted form
// too, like LogValue.
func (id ID) Format(f fmt.State, verb rune) {
	fmt.Fprint(f, id.LogValue().String())
}

type contextKey struct{}

// WithID returns a context carrying id.
func WithID(ctx context.Context, id ID) context.Context {
	return context.WithValue(ctx, contextKey{}, id)
}

// FromContext returns the tenant carried by ctx, if any.
func FromContext(ctx context.Context) (ID, bool) {
	id, ok := ctx.Value(contextKey{}).(ID)
	return id, ok
}

// ErrMissing: a tenant-scoped path ran without a tenant in its context.
var ErrMissing = errors.New("tenant: no tenant in context")

// Required returns the tenant carried by ctx, or ErrMissing. None counts as
// present only when it was set explicitly with WithID.
func Required(ctx context.Context) (ID, error) {
	id, ok := FromContext(ctx)
	if !ok {
		return ID{}, ErrMissing
	}
	return id, nil
}
