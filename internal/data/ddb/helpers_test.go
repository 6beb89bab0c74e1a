package ddb

import (
	"errors"
	"testing"
)

// n is a number value for tests; it fails the test on a bad literal.
func n(t testing.TB, s string) AttributeValue {
	t.Helper()
	v, err := N(s)
	if err != nil {
		t.Fatalf("N(%q): %v", s, err)
	}
	return v
}

func ss(t testing.TB, members ...string) AttributeValue {
	t.Helper()
	v, err := SS(members...)
	if err != nil {
		t.Fatalf("SS(%q): %v", members, err)
	}
	return v
}

func ns(t testing.TB, members ...string) AttributeValue {
	t.Helper()
	v, err := NS(members...)
	if err != nil {
		t.Fatalf("NS(%q): %v", members, err)
	}
	return v
}

func str(s string) *string { return &s }

// decodeItem decodes wire JSON written in a test.
func decodeItem(t testing.TB, js string) Item {
	t.Helper()
	it, err := DecodeItem([]byte(js))
	if err != nil {
		t.Fatalf("DecodeItem(%s): %v", js, err)
	}
	return it
}

// wantError checks that err is an *Error of the given type and message.
func wantError(t testing.TB, err error, typ, msg string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want %s %q", err, err, typ, msg)
	}
	if e.Type != typ || e.Message != msg {
		t.Fatalf("error\n got %s: %q\nwant %s: %q", e.Type, e.Message, typ, msg)
	}
}

func wantValidation(t testing.TB, err error, msg string) {
	t.Helper()
	wantError(t, err, ValidationException, msg)
}

// jsonOf renders an item for failure messages.
func jsonOf(it Item) string { return string(AppendItemJSON(nil, it)) }
