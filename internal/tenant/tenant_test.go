package tenant

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
)

func TestTenantParse(t *testing.T) {
	valid := []string{"a", "blue tenant:1", "t/1=x+y-z@host.example", strings.Repeat("x", 256), "A.B_C"}
	for _, s := range valid {
		id, err := Parse(s)
		if err != nil || id.String() != s {
			t.Errorf("Parse(%q) = %q, %v", s, id.String(), err)
		}
	}
	invalid := map[string]string{
		"":                       "it is empty",
		strings.Repeat("x", 257): "it has 257 characters",
		"a\nb":                   `character '\n' at position 2`,
		"tenant#1":               "character '#' at position 7",
		"a\x00":                  `character '\x00' at position 2`,
		"ümlaut":                 "position 1",
		"../etc":                 "", // valid by Lambda's rule: paths must encode it
	}
	for s, want := range invalid {
		_, err := Parse(s)
		if want == "" {
			if err != nil {
				t.Errorf("Parse(%q) = %v; Lambda's rule allows it", s, err)
			}
			continue
		}
		if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v; want InvalidArgument containing %q", s, err, want)
		}
	}
}

func TestTenantPathSegmentIsSafeAndDistinct(t *testing.T) {
	seen := map[string]string{}
	for _, s := range []string{"../etc", "a/b", "A", "a", ".", "..", " ", "x=y", strings.Repeat("z", 100), strings.Repeat("z", 101), strings.Repeat("z", 256)} {
		id, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		p := id.PathSegment()
		if strings.ContainsAny(p, "/.\\ \x00") || p == "" || len(p) > 255 {
			t.Errorf("PathSegment(%q) = %q is not a safe file name", s, p)
		}
		if other, dup := seen[p]; dup {
			t.Errorf("PathSegment(%q) = PathSegment(%q) = %q", s, other, p)
		}
		seen[p] = s
	}
	if None.PathSegment() != "none" || seen["none"] != "" {
		t.Error("None's segment collides or is not \"none\"")
	}
}

func TestTenantLoggedQuoted(t *testing.T) {
	id, _ := Parse("evil tenant")
	if got := id.LogValue().String(); got != `"evil tenant"` {
		t.Errorf("LogValue = %s", got)
	}
	if got := fmt.Sprintf("%v|%s", id, id); got != `"evil tenant"|"evil tenant"` {
		t.Errorf("formatted = %s", got)
	}
}

func TestTenantRequiredFailsClosed(t *testing.T) {
	if _, err := Required(context.Background()); !errors.Is(err, ErrMissing) {
		t.Errorf("Required(no tenant) = %v, want ErrMissing", err)
	}
	id, _ := Parse("t1")
	got, err := Required(WithID(context.Background(), id))
	if err != nil || got != id {
		t.Errorf("Required = %v, %v", got, err)
	}
	none, err := Required(WithID(context.Background(), None))
	if err != nil || !none.IsNone() {
		t.Errorf("explicit None = %v, %v", none, err)
	}
}
