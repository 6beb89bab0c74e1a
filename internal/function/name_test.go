package function

import (
	"errors"
	"strings"
	"testing"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
)

var testARNs = ARNs{Region: "us-east-1", Account: "123456789012"}

func TestFunctionParseRef(t *testing.T) {
	long := strings.Repeat("a", 65)
	tests := []struct {
		in      string
		want    Ref
		kind    error
		message string // substring of the error message
	}{
		{in: "f", want: Ref{Name: "f"}},
		{in: "my-func_1", want: Ref{Name: "my-func_1"}},
		{in: "f:live", want: Ref{Name: "f", Qualifier: "live"}},
		{in: "f:$LATEST", want: Ref{Name: "f", Qualifier: "$LATEST"}},
		{in: "f:7", want: Ref{Name: "f", Qualifier: "7"}},
		{in: "123456789012:function:f", want: Ref{Name: "f"}},
		{in: "123456789012:function:f:3", want: Ref{Name: "f", Qualifier: "3"}},
		{in: "arn:aws:lambda:us-east-1:123456789012:function:f", want: Ref{Name: "f"}},
		{in: "arn:aws:lambda:us-east-1:123456789012:function:f:live", want: Ref{Name: "f", Qualifier: "live"}},
		{in: "arn:aws:lambda:eu-west-1:123456789012:function:f", kind: errdefs.ErrInvalidArgument, message: "Functions from 'eu-west-1' are not reachable in this region ('us-east-1')"},
		{in: "arn:aws:lambda:us-east-1:999999999999:function:f", kind: errdefs.ErrNotFound, message: "Function not found"},
		{in: "", kind: errdefs.ErrValidation, message: "Member must have length greater than or equal to 1"},
		{in: long, kind: errdefs.ErrValidation, message: "Member must have length less than or equal to 64"},
		{in: "bad name", kind: errdefs.ErrValidation, message: "regular expression pattern"},
		{in: "a/b", kind: errdefs.ErrValidation, message: "regular expression pattern"},
		{in: "f:a:b", kind: errdefs.ErrValidation, message: "regular expression pattern"},
		{in: "f:bad qualifier", kind: errdefs.ErrValidation, message: "'qualifier'"},
		{in: "arn:aws:s3:us-east-1:123456789012:function:f", kind: errdefs.ErrValidation, message: "regular expression pattern"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := testARNs.ParseRef(tt.in)
			if tt.kind == nil {
				if err != nil || got != tt.want {
					t.Fatalf("ParseRef(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
				}
				return
			}
			if !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.message) {
				t.Fatalf("ParseRef(%q) error = %v; want kind %v containing %q", tt.in, err, tt.kind, tt.message)
			}
		})
	}
}

func TestFunctionARNs(t *testing.T) {
	if got, want := testARNs.Function("f"), "arn:aws:lambda:us-east-1:123456789012:function:f"; got != want {
		t.Errorf("Function = %q, want %q", got, want)
	}
	if got, want := testARNs.Version("f", 3), "arn:aws:lambda:us-east-1:123456789012:function:f:3"; got != want {
		t.Errorf("Version = %q, want %q", got, want)
	}
	if got, want := testARNs.Version("f", Latest), "arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST"; got != want {
		t.Errorf("Version(Latest) = %q, want %q", got, want)
	}
}

func TestFunctionParseVersion(t *testing.T) {
	for in, want := range map[string]int{"$LATEST": Latest, "1": 1, "42": 42} {
		if n, ok := ParseVersion(in); !ok || n != want {
			t.Errorf("ParseVersion(%q) = %d, %v; want %d", in, n, ok, want)
		}
	}
	for _, in := range []string{"", "0", "-1", "live", "1.5", "9999999999"} {
		if _, ok := ParseVersion(in); ok {
			t.Errorf("ParseVersion(%q) accepted", in)
		}
	}
}

func TestFunctionCheckAliasName(t *testing.T) {
	for _, ok := range []string{"live", "v1", "a-b_c", "1a"} {
		if err := CheckAliasName(ok); err != nil {
			t.Errorf("CheckAliasName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "123", "a b", "$LATEST", strings.Repeat("a", 129)} {
		if err := CheckAliasName(bad); !errors.Is(err, errdefs.ErrValidation) {
			t.Errorf("CheckAliasName(%q) = %v, want a validation error", bad, err)
		}
	}
}
