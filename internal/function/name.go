package function

import (
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
)

// LatestQualifier is the qualifier of the unpublished version.
const LatestQualifier = "$LATEST"

var (
	namePattern  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9_-]+$`) })
	aliasPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9_-]+$`) })
	digits       = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]+$`) })
)

// Ref is a parsed function reference: a name and an optional qualifier,
// taken from any of the forms Lambda accepts for FunctionName.
type Ref struct {
	Name      string
	Qualifier string // "" when the reference carries none
}

// ARNs makes the Amazon Resource Names of this deployment's functions.
type ARNs struct {
	Region  string
	Account string
}

// Function returns the unqualified ARN of a function.
func (a ARNs) Function(name string) string {
	return "arn:aws:lambda:" + a.Region + ":" + a.Account + ":function:" + name
}

// Qualified returns the ARN of a function version or alias.
func (a ARNs) Qualified(name, qualifier string) string {
	return a.Function(name) + ":" + qualifier
}

// Version returns the ARN of a version; $LATEST is qualified explicitly, as
// Lambda does in version listings.
func (a ARNs) Version(name string, number int) string {
	return a.Qualified(name, VersionString(number))
}

// VersionString renders a version number as Lambda does: "$LATEST" or "N".
func VersionString(number int) string {
	if number == Latest {
		return LatestQualifier
	}
	return strconv.Itoa(number)
}

// ParseRef parses FunctionName as Lambda accepts it: a bare name
// ("my-function"), a name with a qualifier ("my-function:v1"), a partial ARN
// ("123456789012:function:my-function[:q]") or a full ARN
// ("arn:aws:lambda:us-east-1:123456789012:function:my-function[:q]"). An ARN
// must name this deployment's region and account.
func (a ARNs) ParseRef(s string) (Ref, error) {
	if s == "" {
		return Ref{}, ConstraintError(Violation(s, "functionName", "Member must have length greater than or equal to 1"))
	}
	if len(s) > 256 {
		return Ref{}, ConstraintError(Violation(s, "functionName", "Member must have length less than or equal to 256"))
	}
	parts := strings.Split(s, ":")
	var rest []string
	switch {
	case parts[0] == "arn":
		// arn:aws:lambda:region:account:function:name[:qualifier]
		if len(parts) < 7 || len(parts) > 8 || parts[2] != "lambda" || parts[5] != "function" || !strings.HasPrefix(parts[1], "aws") {
			return Ref{}, badName(s)
		}
		if parts[3] != a.Region {
			return Ref{}, errdefs.New(errdefs.ErrInvalidArgument,
				"Functions from '%s' are not reachable in this region ('%s')", parts[3], a.Region)
		}
		if parts[4] != a.Account {
			return Ref{}, errdefs.New(errdefs.ErrNotFound, "Function not found: %s", s)
		}
		rest = parts[6:]
	case len(parts) >= 3 && parts[1] == "function":
		// account:function:name[:qualifier]
		if len(parts) > 4 || !digits().MatchString(parts[0]) || len(parts[0]) != 12 {
			return Ref{}, badName(s)
		}
		if parts[0] != a.Account {
			return Ref{}, errdefs.New(errdefs.ErrNotFound, "Function not found: %s", a.Function(parts[2]))
		}
		rest = parts[2:]
	default:
		if len(parts) > 2 {
			return Ref{}, badName(s)
		}
		rest = parts
	}
	ref := Ref{Name: rest[0]}
	if len(rest) == 2 {
		ref.Qualifier = rest[1]
		if err := checkQualifier(ref.Qualifier); err != nil {
			return Ref{}, err
		}
	}
	if err := CheckName(ref.Name); err != nil {
		return Ref{}, err
	}
	return ref, nil
}

// CheckName reports whether name is a valid bare function name: 1–64
// characters of letters, digits, hyphens and underscores.
func CheckName(name string) error {
	var errs []string
	if len(name) == 0 {
		errs = append(errs, Violation(name, "functionName", "Member must have length greater than or equal to 1"))
	}
	if len(name) > 64 {
		errs = append(errs, Violation(name, "functionName", "Member must have length less than or equal to 64"))
	}
	if len(name) > 0 && !namePattern().MatchString(name) {
		errs = append(errs, Violation(name, "functionName", "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+"))
	}
	return ConstraintError(errs...)
}

func badName(s string) error {
	return ConstraintError(Violation(s, "functionName",
		"Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?"))
}

// checkQualifier validates a qualifier's form: $LATEST, a version number or an
// alias name.
func checkQualifier(q string) error {
	if q == LatestQualifier || digits().MatchString(q) {
		return nil
	}
	if len(q) == 0 || len(q) > 128 || !aliasPattern().MatchString(q) {
		return ConstraintError(Violation(q, "qualifier",
			"Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)"))
	}
	return nil
}

// CheckAliasName validates a new alias's name: 1–128 characters of letters,
// digits, hyphens and underscores, not all digits (that would read as a
// version).
func CheckAliasName(name string) error {
	var errs []string
	if len(name) == 0 || len(name) > 128 {
		errs = append(errs, Violation(name, "name", "Member must have length between 1 and 128"))
	}
	if !aliasPattern().MatchString(name) || digits().MatchString(name) {
		errs = append(errs, Violation(name, "name", "Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)"))
	}
	return ConstraintError(errs...)
}

// ParseVersion parses "$LATEST" or a published version number.
func ParseVersion(s string) (int, bool) {
	if s == LatestQualifier {
		return Latest, true
	}
	if !digits().MatchString(s) || len(s) > 9 {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, false
	}
	return n, true
}
