package sts

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// parseParams parses an AWS Query request's form (the POST body or the GET
// query string). Each parameter may appear once.
func parseParams(raw string) (url.Values, error) {
	p, err := url.ParseQuery(raw)
	if err != nil {
		return nil, &apiError{http.StatusBadRequest, "MalformedQueryString", "The query string is malformed: " + err.Error()}
	}
	for name, values := range p {
		if len(values) > 1 {
			return nil, &apiError{http.StatusBadRequest, "MalformedQueryString", fmt.Sprintf("The parameter %q is specified more than once.", name)}
		}
	}
	return p, nil
}

// assumeRoleInput is a syntactically valid AssumeRole request.
type assumeRoleInput struct {
	RoleARN     string
	SessionName string
	Duration    time.Duration // 0: not given
	Policy      string        // "" : not given
	Tags        Tags
	// MinimumTokenSize pads the token to at least this many bytes (0: none).
	MinimumTokenSize int
}

// Parameter constraints, from the STS API model.
const (
	minDuration       = 900 * time.Second
	maxDuration       = 43200 * time.Second
	defaultDuration   = time.Hour
	chainedMax        = time.Hour // role chaining caps sessions at one hour
	maxPolicyLength   = 2048
	maxListIndex      = 1000 // indices above it are refused before counting
	maxTransitiveKeys = 50
)

var (
	tagPattern        = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`) })
	externalIDPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[\w+=,.@:/-]*$`) })
)

// validation gathers constraint violations and words them as AWS does:
// "2 validation errors detected: Value 'x' at 'roleSessionName' failed to
// satisfy constraint: Member must …; Value …".
type validation []string

func (v *validation) add(value *string, member, constraint string) {
	shown := "null"
	if value != nil {
		shown = "'" + *value + "'"
	}
	*v = append(*v, "Value "+shown+" at '"+member+"' failed to satisfy constraint: Member "+constraint)
}

func (v validation) err() error {
	switch len(v) {
	case 0:
		return nil
	case 1:
		return validationError("1 validation error detected: " + v[0])
	}
	return validationError(strconv.Itoa(len(v)) + " validation errors detected: " + strings.Join(v, "; "))
}

// parseAssumeRole reads and checks AssumeRole's parameters, except what needs
// the role or the caller (the duration's upper bound, the policy's content).
func parseAssumeRole(p url.Values) (assumeRoleInput, error) {
	for name := range p {
		if unsupported := unsupportedParameter(name); unsupported != "" {
			return assumeRoleInput{}, validationError(unsupported)
		}
	}
	var in assumeRoleInput
	var v validation

	if arn, ok := param(p, "RoleArn"); !ok {
		v.add(nil, "roleArn", "must not be null")
	} else {
		if n := utf8.RuneCountInString(arn); n < 20 {
			v.add(&arn, "roleArn", "must have length greater than or equal to 20")
		} else if n > 2048 {
			v.add(&arn, "roleArn", "must have length less than or equal to 2048")
		}
		in.RoleARN = arn
	}

	if name, ok := param(p, "RoleSessionName"); !ok {
		v.add(nil, "roleSessionName", "must not be null")
	} else {
		if n := utf8.RuneCountInString(name); n < 2 {
			v.add(&name, "roleSessionName", "must have length greater than or equal to 2")
		} else if n > 64 {
			v.add(&name, "roleSessionName", "must have length less than or equal to 64")
		}
		if !sessionNameChars().MatchString(name) {
			v.add(&name, "roleSessionName", `must satisfy regular expression pattern: [\w+=,.@-]*`)
		}
		in.SessionName = name
	}

	if s, ok := param(p, "DurationSeconds"); ok {
		n, err := strconv.Atoi(s)
		switch {
		case err != nil:
			v.add(&s, "durationSeconds", "must be an integer")
		case n < int(minDuration/time.Second):
			v.add(&s, "durationSeconds", "must have value greater than or equal to 900")
		case n > int(maxDuration/time.Second):
			v.add(&s, "durationSeconds", "must have value less than or equal to 43200")
		default:
			in.Duration = time.Duration(n) * time.Second
		}
	}

	if policy, ok := param(p, "Policy"); ok {
		shown := "(the policy)" // AWS does not echo a policy back
		switch n := utf8.RuneCountInString(policy); {
		case n < 1:
			v.add(&shown, "policy", "must have length greater than or equal to 1")
		case n > maxPolicyLength:
			v.add(&shown, "policy", "must have length less than or equal to 2048")
		case !policyChars(policy):
			v.add(&shown, "policy", `must satisfy regular expression pattern: [\u0009\u000A\u000D\u0020-\u00FF]+`)
		}
		in.Policy = policy
	}

	tags, tagErr := parseTags(p, &v)
	if tagErr != nil {
		return assumeRoleInput{}, tagErr
	}
	in.Tags = tags

	keys, err := parseList(p, "TransitiveTagKeys")
	if err != nil {
		return assumeRoleInput{}, err
	}
	if len(keys) > maxTransitiveKeys {
		shown := "[" + strings.Join(keys, ", ") + "]"
		v.add(&shown, "transitiveTagKeys", "must have length less than or equal to 50")
	}

	if id, ok := param(p, "ExternalId"); ok {
		if n := utf8.RuneCountInString(id); n < 2 || n > 1224 {
			v.add(&id, "externalId", "must have length between 2 and 1224")
		} else if !externalIDPattern().MatchString(id) {
			v.add(&id, "externalId", `must satisfy regular expression pattern: [\w+=,.@:\/-]*`)
		}
	}

	if s, ok := param(p, "MinimumSessionTokenSize"); ok {
		n, err := strconv.Atoi(s)
		switch {
		case err != nil:
			v.add(&s, "minimumSessionTokenSize", "must be an integer")
		case n < 0:
			v.add(&s, "minimumSessionTokenSize", "must have value greater than or equal to 0")
		case n > MaxTokenSize:
			v.add(&s, "minimumSessionTokenSize", "must have value less than or equal to 4096")
		default:
			in.MinimumTokenSize = n
		}
	}

	if err := v.err(); err != nil {
		return assumeRoleInput{}, err
	}
	// After the member checks, like AWS: duplicate keys are a request error
	// of their own.
	for i, t := range in.Tags {
		for _, earlier := range in.Tags[:i] {
			if strings.EqualFold(earlier.Key, t.Key) {
				return assumeRoleInput{}, validationError("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
			}
		}
	}
	return in, nil
}

var sessionNameChars = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[\w+=,.@-]*$`) })

// policyChars reports whether every character of policy is in the set STS
// allows: tab, LF, CR, and U+0020 to U+00FF.
func policyChars(policy string) bool {
	for _, c := range policy {
		if c != '\t' && c != '\n' && c != '\r' && (c < 0x20 || c > 0xff) {
			return false
		}
	}
	return true
}

// unsupportedParameter returns why Bulkhead refuses an AssumeRole parameter
// it recognises but does not implement, or "".
func unsupportedParameter(name string) string {
	switch {
	case strings.HasPrefix(name, "PolicyArns.member."):
		return "PolicyArns (managed session policies) are not supported by Bulkhead; pass the session policy inline in Policy."
	case name == "SerialNumber" || name == "TokenCode":
		return "Multi-factor authentication (SerialNumber, TokenCode) is not supported by Bulkhead."
	case name == "SourceIdentity":
		return "SourceIdentity is not supported by Bulkhead."
	case strings.HasPrefix(name, "ProvidedContexts.member."):
		return "ProvidedContexts are not supported by Bulkhead."
	}
	return ""
}

// param returns a parameter's value and whether it was given.
func param(p url.Values, name string) (string, bool) {
	values, ok := p[name]
	if !ok || len(values) == 0 {
		return "", false
	}
	return values[0], true
}

// parseTags reads Tags.member.N.Key and Tags.member.N.Value, N from 1 with no
// gaps. Member violations go to v; a list it cannot read is an error.
func parseTags(p url.Values, v *validation) (Tags, error) {
	members, err := listMembers(p, "Tags", func(field string) bool { return field == "Key" || field == "Value" })
	if err != nil {
		return nil, err
	}
	if len(members) > MaxTags {
		shown := fmt.Sprintf("[%d tags]", len(members))
		v.add(&shown, "tags", "must have length less than or equal to 50")
		return nil, nil
	}
	var tags Tags
	for i, m := range members {
		at := "tags." + strconv.Itoa(i+1) + ".member."
		key, hasKey := m["Key"]
		value, hasValue := m["Value"]
		switch {
		case !hasKey:
			v.add(nil, at+"key", "must not be null")
		case utf8.RuneCountInString(key) < 1:
			v.add(&key, at+"key", "must have length greater than or equal to 1")
		case utf8.RuneCountInString(key) > MaxTagKeyLength:
			v.add(&key, at+"key", "must have length less than or equal to 128")
		case !tagPattern().MatchString(key):
			v.add(&key, at+"key", `must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+`)
		case strings.HasPrefix(strings.ToLower(key), "aws:"):
			v.add(&key, at+"key", "must not begin with aws:, which is reserved")
		}
		switch {
		case !hasValue:
			v.add(nil, at+"value", "must not be null")
		case utf8.RuneCountInString(value) > MaxTagValueLength:
			v.add(&value, at+"value", "must have length less than or equal to 256")
		case !tagPattern().MatchString(value):
			v.add(&value, at+"value", `must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]*`)
		}
		tags = append(tags, Tag{Key: key, Value: value})
	}
	return tags, nil
}

// parseList reads a list of strings, name.member.N, N from 1 with no gaps.
func parseList(p url.Values, name string) ([]string, error) {
	members, err := listMembers(p, name, nil)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(members))
	for i, m := range members {
		out[i] = m[""]
	}
	return out, nil
}

// listMembers gathers the members of the list name: name.member.N (field "")
// when fields is nil, else name.member.N.<field> for each field fields
// accepts. The bare name with an empty value is an empty list, as the AWS
// SDKs send one.
func listMembers(p url.Values, name string, fields func(string) bool) ([]map[string]string, error) {
	prefix := name + ".member."
	byIndex := map[int]map[string]string{}
	for k, values := range p {
		if k == name {
			if values[0] != "" {
				return nil, validationError(fmt.Sprintf("The parameter %s is a list: send %smember.1 and so on.", name, name+"."))
			}
			continue
		}
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		index, field, _ := strings.Cut(rest, ".")
		n, err := strconv.Atoi(index)
		if err != nil || n < 1 || n > maxListIndex || strconv.Itoa(n) != index {
			return nil, validationError(fmt.Sprintf("The parameter %s has an invalid list index; members are numbered from 1.", k))
		}
		if (fields == nil) != (field == "") || (fields != nil && !fields(field)) {
			return nil, validationError(fmt.Sprintf("The parameter %s is not a member of the list %s.", k, name))
		}
		m := byIndex[n]
		if m == nil {
			m = map[string]string{}
			byIndex[n] = m
		}
		m[field] = values[0]
	}
	indices := make([]int, 0, len(byIndex))
	for n := range byIndex {
		indices = append(indices, n)
	}
	slices.Sort(indices)
	out := make([]map[string]string, len(indices))
	for i, n := range indices {
		if n != i+1 {
			return nil, validationError(fmt.Sprintf("The list %s skips member %d; members are numbered from 1 without gaps.", name, i+1))
		}
		out[i] = byIndex[n]
	}
	return out, nil
}

// apiError is an STS error in the protocol's own terms.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func validationError(message string) *apiError {
	return &apiError{http.StatusBadRequest, "ValidationError", message}
}
