package policy

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPolicyMatch(t *testing.T) {
	tests := []struct {
		pattern string
		s       string
		fold    bool
		arn     bool
		want    bool
	}{
		{"*", "", false, false, true},
		{"*", "anything:at/all", false, false, true},
		{"", "", false, false, true},
		{"", "x", false, false, false},
		{"abc", "abc", false, false, true},
		{"abc", "abC", false, false, false},
		{"abc", "abC", true, false, true},
		{"a*c", "ac", false, false, true},
		{"a*c", "abbbc", false, false, true},
		{"a*c", "abbbd", false, false, false},
		{"a?c", "abc", false, false, true},
		{"a?c", "ac", false, false, false},
		{"a?c", "aéc", false, false, true}, // ? is one character, not one byte
		{"*a*b*c*", "xxaxxbxxcxx", false, false, true},
		{"*a*b*c*", "xxaxxcxxbxx", false, false, false},
		{"a**b", "ab", false, false, true},
		{"*?", "", false, false, false},
		{"*?", "é", false, false, true},
		{"dynamodb:get*", "DynamoDB:GetItem", true, false, true},
		{"iam:*accesskey*", "IAM:ListAccessKeys", true, false, true},
		{"x:straße", "X:STRASSE", true, false, false}, // simple folding only, as strings.EqualFold
		{"x:k", "x:\u212a", true, false, true},        // Kelvin sign folds to k
		{"arn:aws:s3:::b/*", "arn:aws:s3:::b/a/b/c", false, false, true},
		{"arn:aws:s3:::b/*", "arn:aws:s3:::c/a", false, false, false},
		// ArnLike: components matched one by one.
		{"arn:aws:sns:*:123:t", "arn:aws:sns:us-east-1:123:t", false, true, true},
		{"arn:aws:sns:*:123:t", "arn:aws:sns:us-east-1:9:x:123:t", false, true, false},
		{"arn:aws:sns:*:123:t", "arn:aws:sns:us-east-1:9:x:123:t", false, false, true},
		{"arn:aws:sns:??:123:t", "arn:aws:sns:a:b:123:t", false, true, false},  // ? does not match ':'
		{"arn:aws:sns:???:123:t", "arn:aws:sns:a:b:123:t", false, false, true}, // without arn, ? matches ":"
		{"arn:aws:sns:???:123:*", "arn:aws:sns:a:b:123:t", false, false, true},
		{"arn:aws:s3:::b/*", "arn:aws:s3:::b/x:y:z", false, true, true},
		{"arn:aws:s3:::b/?:y", "arn:aws:s3:::b/x:y", false, true, true},
		{"arn:aws:s3:::*", "arn:aws:s3:::", false, true, true},
		{"arn:*:*:*:*:*", "arn:aws:s3:::b", false, true, true},
		{"arn:*:*:*:*:*", "arn:aws:s3::b", false, true, false}, // not an ARN: four colons
		{"*", "arn:aws:s3:::b", false, true, false},
	}
	for _, tt := range tests {
		p, err := compilePattern(tt.pattern, true, nil)
		if err != nil {
			t.Fatalf("compile %q: %v", tt.pattern, err)
		}
		if got := p.match(tt.s, nil, tt.fold, tt.arn); got != tt.want {
			t.Errorf("match(%q, %q, fold=%v, arn=%v) = %v, want %v", tt.pattern, tt.s, tt.fold, tt.arn, got, tt.want)
		}
		if want := oracle(t, p.parts, nil, tt.fold, tt.arn).MatchString(tt.s); want != tt.want && (!tt.arn || hasFiveColons(tt.s)) {
			t.Errorf("test table disagrees with the regexp oracle on %q, %q", tt.pattern, tt.s)
		}
	}
}

func TestPolicyCompilePattern(t *testing.T) {
	tests := []struct {
		raw       string
		wildcards bool
		vars      bool
		want      string // parts: T(text) V(slot,default) * ?
		err       bool
	}{
		{raw: "a*b?c", wildcards: true, want: "T(a)*T(b)?T(c)"},
		{raw: "a*b?c", want: "T(a*b?c)"},
		{raw: "a**b", wildcards: true, want: "T(a)*T(b)"},
		{raw: "${aws:username}", vars: true, want: "V(0,)"},
		{raw: "${aws:username}", want: "T(${aws:username})"},
		{raw: "x${aws:PrincipalTag/team, 'none'}y", vars: true, wildcards: true, want: "T(x)V(0,none)T(y)"},
		{raw: "${aws:a,'d}'}", vars: true, want: "V(0,d})"},
		{raw: "${ aws:a ,  'd' }", vars: true, want: "V(0,d)"},
		{raw: "${*}${?}${$}", vars: true, wildcards: true, want: "T(*?$)"},
		{raw: "${aws:a}${AWS:A}${aws:b}", vars: true, want: "V(0,)V(0,)V(1,)"},
		{raw: "$x{", vars: true, want: "T($x{)"},
		{raw: "${aws:a", vars: true, err: true},
		{raw: "${}", vars: true, err: true},
		{raw: "${username}", vars: true, err: true},
		{raw: "${aws:a, none}", vars: true, err: true},
		{raw: "${aws:a, 'x'y'}", vars: true, err: true},
		{raw: "${aws:a b}", vars: true, err: true},
		{raw: "${aws:a, 'x}", vars: true, err: true},
	}
	for _, tt := range tests {
		var vars *variables
		if tt.vars {
			vars = &variables{}
		}
		p, err := compilePattern(tt.raw, tt.wildcards, vars)
		if tt.err {
			if err == nil {
				t.Errorf("compile %q: no error, parts %s", tt.raw, describeParts(p.parts))
			}
			continue
		}
		if err != nil {
			t.Errorf("compile %q: %v", tt.raw, err)
			continue
		}
		if got := describeParts(p.parts); got != tt.want {
			t.Errorf("compile %q = %s, want %s", tt.raw, got, tt.want)
		}
	}
}

func describeParts(parts []part) string {
	var b strings.Builder
	for _, p := range parts {
		switch p.kind {
		case partText:
			b.WriteString("T(" + p.text + ")")
		case partVar:
			b.WriteString("V(" + string(rune('0'+p.slot)) + "," + p.text + ")")
		case partAny:
			b.WriteString("*")
		case partOne:
			b.WriteString("?")
		}
	}
	return b.String()
}

// oracle builds the regular expression equivalent to a compiled pattern:
// text and variable values quoted, * as .*, ? as one character; under arn,
// wildcards before the fifth colon of the pattern do not match ':'.
func oracle(t testing.TB, parts []part, b *bindings, fold, arn bool) *regexp.Regexp {
	var re strings.Builder
	re.WriteString("^(?s)")
	if fold {
		re.WriteString("(?i)")
	}
	colons := 0
	for i := range parts {
		p := &parts[i]
		switch p.kind {
		case partText, partVar:
			text := b.text(p)
			colons += strings.Count(text, ":")
			re.WriteString(regexp.QuoteMeta(text))
		case partAny:
			if arn && colons < 5 {
				re.WriteString("[^:]*")
			} else {
				re.WriteString(".*")
			}
		case partOne:
			if arn && colons < 5 {
				re.WriteString("[^:]")
			} else {
				re.WriteString(".")
			}
		}
	}
	re.WriteString("$")
	r, err := regexp.Compile(re.String())
	if err != nil {
		t.Fatalf("oracle %q: %v", re.String(), err)
	}
	return r
}

// FuzzMatch checks the wildcard matcher against regexp, with a policy
// variable whose value must stay literal text.
func FuzzMatch(f *testing.F) {
	seeds := []struct {
		pattern, value, s string
		fold, arn         bool
	}{
		{"*", "", "abc", false, false},
		{"a*b?c", "", "axxbyc", false, false},
		{"${aws:v}#*", "t1", "t1#order", false, false},
		{"${aws:v}#*", "a*", "abc#order", false, false},
		{"${aws:v}#*", "a*", "a*#order", false, false},
		{"arn:aws:s3:::${aws:v}/*", "b", "arn:aws:s3:::b/k", false, true},
		{"arn:aws:*:*:1:x", "", "arn:aws:s3:a:b:1:x", false, true},
		{"dynamodb:Get*", "", "DYNAMODB:getitem", true, false},
		{"*?*?", "?", "é?", false, false},
		{"x:\u212a*", "", "X:kelvin", true, false},
	}
	for _, s := range seeds {
		f.Add(s.pattern, s.value, s.s, s.fold, s.arn)
	}
	f.Fuzz(func(t *testing.T, raw, value, s string, fold, arn bool) {
		if !utf8.ValidString(raw) || !utf8.ValidString(value) || !utf8.ValidString(s) {
			t.Skip("the regexp oracle needs valid UTF-8")
		}
		if len(raw) > 200 || len(value) > 50 || len(s) > 400 {
			t.Skip("the regexp oracle is quadratic on long inputs")
		}
		vars := &variables{}
		p, err := compilePattern(raw, true, vars)
		if err != nil {
			return
		}
		b := &bindings{values: make([]string, len(vars.keys)), resolved: make([]bool, len(vars.keys))}
		for i := range b.values {
			b.values[i], b.resolved[i] = value, true
		}
		got := p.match(s, b, fold, arn)
		want := oracle(t, p.parts, b, fold, arn).MatchString(s)
		if arn && !hasFiveColons(s) {
			want = false
		}
		if got != want {
			t.Fatalf("match(%q with value %q, %q, fold=%v, arn=%v) = %v, regexp says %v", raw, value, s, fold, arn, got, want)
		}
	})
}
