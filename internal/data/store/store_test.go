package store_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/bulkhead-dev/bulkhead/internal/data/store"
	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
)

func TestScopeValidate(t *testing.T) {
	tests := []struct {
		scope store.Scope
		ok    bool
	}{
		{store.Scope{Tenant: "t1"}, true},
		{store.Scope{Service: true}, true},
		{store.Scope{}, false},
		{store.Scope{Tenant: "t1", Service: true}, false},
	}
	for _, tt := range tests {
		err := tt.scope.Validate()
		if tt.ok != (err == nil) || !tt.ok && !errors.Is(err, errdefs.ErrForbidden) {
			t.Errorf("%+v.Validate() = %v, want ok %v or ErrForbidden", tt.scope, err, tt.ok)
		}
	}
}

func TestScopeSees(t *testing.T) {
	tests := []struct {
		scope store.Scope
		owner string
		want  bool
	}{
		{store.Scope{Tenant: "t1"}, "t1", true},
		{store.Scope{Tenant: "t1"}, "t2", false},
		{store.Scope{Tenant: "t1"}, "", false},
		{store.Scope{Tenant: "t1"}, "t1 ", false},
		{store.Scope{Service: true}, "t1", true},
		{store.Scope{Service: true}, "", true},
		{store.Scope{}, "", false},
		{store.Scope{Tenant: "t1", Service: true}, "t1", false},
	}
	for _, tt := range tests {
		if got := tt.scope.Sees(tt.owner); got != tt.want {
			t.Errorf("%+v.Sees(%q) = %v, want %v", tt.scope, tt.owner, got, tt.want)
		}
	}
}

func TestPrefixEnd(t *testing.T) {
	tests := []struct{ prefix, want []byte }{
		{nil, nil},
		{[]byte{}, nil},
		{[]byte("a"), []byte("b")},
		{[]byte("ab"), []byte("ac")},
		{[]byte{'a', 0xFF}, []byte("b")},
		{[]byte{'a', 0xFF, 0xFF}, []byte("b")},
		{[]byte{0xFF}, nil},
		{[]byte{0xFF, 0xFF}, nil},
		{[]byte{0x00}, []byte{0x01}},
		{[]byte{0xFE, 0xFF}, []byte{0xFF}},
	}
	for _, tt := range tests {
		in := bytes.Clone(tt.prefix)
		if got := store.PrefixEnd(in); !bytes.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
			t.Errorf("PrefixEnd(%x) = %x, want %x", tt.prefix, got, tt.want)
		}
		if !bytes.Equal(in, tt.prefix) {
			t.Errorf("PrefixEnd(%x) changed its argument", tt.prefix)
		}
	}
}

func TestSKCondRange(t *testing.T) {
	b := func(s string) []byte { return []byte(s) }
	tests := []struct {
		name string
		cond store.SKCond
		in   []string
		out  []string
	}{
		{"Any", store.SKCond{}, []string{"", "a", "\xff"}, nil},
		{"Equal", store.SKCond{Op: store.SKEqual, A: b("b")}, []string{"b"}, []string{"", "a", "b\x00", "ba"}},
		{"EqualEmpty", store.SKCond{Op: store.SKEqual}, []string{""}, []string{"\x00", "a"}},
		{"Less", store.SKCond{Op: store.SKLess, A: b("b")}, []string{"", "a", "a\xff"}, []string{"b", "b\x00"}},
		{"LessEqual", store.SKCond{Op: store.SKLessEqual, A: b("b")}, []string{"a", "b"}, []string{"b\x00", "c"}},
		{"Greater", store.SKCond{Op: store.SKGreater, A: b("b")}, []string{"b\x00", "c"}, []string{"", "b"}},
		{"GreaterEqual", store.SKCond{Op: store.SKGreaterEqual, A: b("b")}, []string{"b", "c"}, []string{"a\xff"}},
		{"Between", store.SKCond{Op: store.SKBetween, A: b("b"), B: b("d")}, []string{"b", "c", "d"}, []string{"a", "d\x00"}},
		{"BetweenPoint", store.SKCond{Op: store.SKBetween, A: b("b"), B: b("b")}, []string{"b"}, []string{"a", "b\x00"}},
		{"BeginsWith", store.SKCond{Op: store.SKBeginsWith, A: b("ab")}, []string{"ab", "ab\x00", "ab\xff\xff"}, []string{"a", "a\xff", "ac", "b"}},
		{"BeginsWithFF", store.SKCond{Op: store.SKBeginsWith, A: b("\xff")}, []string{"\xff", "\xff\xff\xff"}, []string{"\xfe\xff"}},
		{"BeginsWithEmpty", store.SKCond{Op: store.SKBeginsWith, A: b("")}, []string{"", "\xff"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := tt.cond.Range()
			if err != nil {
				t.Fatal(err)
			}
			for _, sk := range tt.in {
				if !r.Contains(b(sk)) || !tt.cond.Match(b(sk)) {
					t.Errorf("%q: in range %v, matches %v; want both", sk, r.Contains(b(sk)), tt.cond.Match(b(sk)))
				}
			}
			for _, sk := range tt.out {
				if r.Contains(b(sk)) || tt.cond.Match(b(sk)) {
					t.Errorf("%q: in range %v, matches %v; want neither", sk, r.Contains(b(sk)), tt.cond.Match(b(sk)))
				}
			}
		})
	}
}

func TestSKCondRangeRefuses(t *testing.T) {
	_, err := store.SKCond{Op: store.SKBetween, A: []byte("b"), B: []byte("a")}.Range()
	if msg, _ := errdefs.Message(err); !errors.Is(err, errdefs.ErrValidation) || msg != "Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound" {
		t.Errorf("reversed BETWEEN: %v", err)
	}
	if _, err := (store.SKCond{Op: 99}).Range(); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("unknown operator: %v, want ErrInvalidArgument", err)
	}
}

func TestValidateChanges(t *testing.T) {
	k := store.Key{PK: []byte("p"), SK: []byte("s")}
	tests := []struct {
		name    string
		changes []store.Change
		want    error
	}{
		{"Empty", nil, nil},
		{"Distinct", []store.Change{{Kind: store.Put, Item: store.Item{Key: k}}, {Kind: store.Delete, Item: store.Item{Key: store.Key{PK: []byte("ps")}}}}, nil},
		{"Duplicate", []store.Change{{Kind: store.Put, Item: store.Item{Key: k}}, {Kind: store.Delete, Item: store.Item{Key: k}}}, errdefs.ErrInvalidArgument},
		{"KeepsIgnored", []store.Change{{Kind: store.Keep}, {Kind: store.Keep}}, nil},
		{"NoPK", []store.Change{{Kind: store.Delete}}, errdefs.ErrInvalidArgument},
		{"TooLarge", []store.Change{{Kind: store.Put, Item: store.Item{Key: k, Data: make([]byte, store.MaxData+1)}}}, errdefs.ErrTooLarge},
		{"UnknownKind", []store.Change{{Kind: 7, Item: store.Item{Key: k}}}, errdefs.ErrInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := store.ValidateChanges(tt.changes)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// FuzzQueryRange checks that the index range a backend scans holds exactly
// the sort keys the condition matches and After admits.
func FuzzQueryRange(f *testing.F) {
	seeds := []struct {
		op             int
		a, b, after, k []byte
		backward       bool
	}{
		{int(store.SKBeginsWith), []byte{'a', 0xFF}, nil, nil, []byte{'a', 0xFF, 0x00}, false},
		{int(store.SKBeginsWith), []byte{0xFF}, nil, []byte{0xFF, 0x01}, []byte{0xFF, 0x00}, true},
		{int(store.SKBetween), []byte("a"), []byte("c"), []byte("b"), []byte("b\x00"), false},
		{int(store.SKLess), []byte(""), nil, nil, []byte(""), false},
		{int(store.SKGreaterEqual), []byte("x"), nil, []byte("a"), []byte("x"), true},
		{int(store.SKEqual), nil, nil, []byte{}, nil, false},
	}
	for _, s := range seeds {
		f.Add(s.op, s.a, s.b, s.after, s.k, s.backward, s.after == nil)
	}
	f.Fuzz(func(t *testing.T, op int, a, b, after, sk []byte, backward, noAfter bool) {
		q := store.Query{PK: []byte("p"), SK: store.SKCond{Op: store.SKOp(op), A: a, B: b}, Backward: backward, After: after}
		if noAfter {
			q.After = nil
		} else if q.After == nil {
			q.After = []byte{}
		}
		r, err := q.Range()
		if err != nil {
			return
		}
		want := q.SK.Match(sk)
		if q.After != nil {
			c := bytes.Compare(sk, q.After)
			want = want && (!backward && c > 0 || backward && c < 0)
		}
		if got := r.Contains(sk); got != want {
			t.Errorf("Query{SK: %d %x %x, After %x, Backward %v}: Range %+v contains %x = %v, want %v", op, a, b, q.After, backward, r, sk, got, want)
		}
	})
}
