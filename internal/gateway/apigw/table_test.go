package apigw

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/google/go-cmp/cmp"
)

func mustParse(t testing.TB, method, path string) Pattern {
	t.Helper()
	p, err := Parse(method, path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestGatewayParse(t *testing.T) {
	for _, tc := range []struct{ method, path string }{
		{"GET", "/"},
		{"ANY", "/pets"},
		{"POST", "/pets/{id}"},
		{"PATCH", "/pets/{id}/toys/{toy_id}"},
		{"DELETE", "/files/{proxy+}"},
		{"OPTIONS", "/{proxy+}"},
		{"HEAD", "/v1.0/a-b_c~d:e@f"},
		{"PUT", "/{a.b-c}"},
	} {
		if _, err := Parse(tc.method, tc.path); err != nil {
			t.Errorf("Parse(%q, %q) = %v; want valid", tc.method, tc.path, err)
		}
	}
}

func TestGatewayParseRejects(t *testing.T) {
	for _, tc := range []struct{ method, path, why string }{
		{"get", "/pets", "is not one of"},
		{"TRACE", "/pets", "is not one of"},
		{"", "/pets", "is not one of"},
		{"GET", "", "must start with"},
		{"GET", "pets", "must start with"},
		{"GET", "/pets/", "must not end with"},
		{"GET", "//pets", "empty segment"},
		{"GET", "/a//b", "empty segment"},
		{"GET", "/pets/{id}/{id}", "appears twice"},
		{"GET", "/{id}/x/{id+}", "appears twice"},
		{"GET", "/{proxy+}/x", "must be the last"},
		{"GET", "/{id", "whole segment"},
		{"GET", "/id}", "whole segment"},
		{"GET", "/pet{id}", "whole segment"},
		{"GET", "/{id}s", "whole segment"},
		{"GET", "/{}", "no name"},
		{"GET", "/{+}", "no name"},
		{"GET", "/{a{b}}", "variable names are"},
		{"GET", "/{a b}", "variable names are"},
		{"GET", "/{a++}", "variable names are"},
		{"GET", "/a b", "a literal may not contain"},
		{"GET", "/a%20b", "a literal may not contain"},
		{"GET", "/a?b", "a literal may not contain"},
	} {
		_, err := Parse(tc.method, tc.path)
		if err == nil || !strings.Contains(err.Error(), tc.why) || !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("Parse(%q, %q) = %v; want an invalid-argument error saying %q", tc.method, tc.path, err, tc.why)
		}
	}
}

// precedenceTable is a table whose values are their own patterns' keys.
func precedenceTable(t *testing.T, keys ...string) *Table[string] {
	t.Helper()
	var tbl Table[string]
	for _, k := range keys {
		method, path, _ := strings.Cut(k, " ")
		if err := tbl.Add(mustParse(t, method, path), k); err != nil {
			t.Fatal(err)
		}
	}
	return &tbl
}

func TestGatewayTablePrecedence(t *testing.T) {
	tbl := precedenceTable(t,
		"GET /",
		"GET /pets",
		"GET /pets/dog",
		"GET /pets/{id}",
		"ANY /pets/{id}",
		"POST /pets/{id}/toys",
		"GET /pets/{id}/toys/{toy}",
		"GET /files/{path+}",
		"GET /a/{x}/c",
		"GET /{y}/b/{z}",
		"ANY /{proxy+}",
	)
	for _, tc := range []struct {
		method, path string
		want         string // the route's key; "" for no match
		params       map[string]string
	}{
		{"GET", "/", "GET /", nil},
		{"GET", "/pets", "GET /pets", nil},
		{"GET", "/pets/dog", "GET /pets/dog", nil}, // literal beats variable
		{"GET", "/pets/cat", "GET /pets/{id}", map[string]string{"id": "cat"}},
		{"DELETE", "/pets/cat", "ANY /pets/{id}", map[string]string{"id": "cat"}},          // ANY when no method route
		{"POST", "/pets/dog", "ANY /pets/{id}", map[string]string{"id": "dog"}},            // the literal has no POST
		{"POST", "/pets/cat/toys", "POST /pets/{id}/toys", map[string]string{"id": "cat"}}, // specific beats greedy
		{"GET", "/pets/cat/toys", "ANY /{proxy+}", map[string]string{"proxy": "pets/cat/toys"}},
		{"GET", "/pets/cat/toys/ball", "GET /pets/{id}/toys/{toy}", map[string]string{"id": "cat", "toy": "ball"}},
		{"GET", "/pets/a%20b", "GET /pets/{id}", map[string]string{"id": "a b"}},                // decoded
		{"GET", "/pets/a%2Fb", "GET /pets/{id}", map[string]string{"id": "a/b"}},                // one segment
		{"GET", "/pets/%64og", "GET /pets/dog", nil},                                            // literals compare decoded
		{"GET", "/files/a/b%2Fc/d", "GET /files/{path+}", map[string]string{"path": "a/b/c/d"}}, // greedy: decoded rest
		{"GET", "/files/a/", "GET /files/{path+}", map[string]string{"path": "a/"}},             // trailing slash kept
		{"GET", "/files/", "ANY /{proxy+}", map[string]string{"proxy": "files/"}},               // greedy needs a segment
		{"PUT", "/files/x", "ANY /{proxy+}", map[string]string{"proxy": "files/x"}},             // method falls through
		{"GET", "/a/b/c", "GET /a/{x}/c", map[string]string{"x": "b"}},                          // leftmost literal wins
		{"GET", "/a/b/d", "GET /{y}/b/{z}", map[string]string{"y": "a", "z": "d"}},              // after backtracking
		{"GET", "/pets/", "ANY /{proxy+}", map[string]string{"proxy": "pets/"}},                 // no empty {id}
		{"GET", "/pets/%zz", "", nil},                                                           // bad escape matches nothing
		{"POST", "/", "", nil},                                                                  // greedy needs a segment
		{"get", "/pets", "ANY /{proxy+}", map[string]string{"proxy": "pets"}},                   // methods are case-sensitive
		{"GET", "pets", "", nil},                                                                // not a path
	} {
		got, params, resource, ok := tbl.Lookup(tc.method, tc.path)
		if !ok {
			got = ""
		}
		if got != tc.want {
			t.Errorf("Lookup(%s %s) = %q; want %q", tc.method, tc.path, got, tc.want)
			continue
		}
		if diff := cmp.Diff(tc.params, params); diff != "" {
			t.Errorf("Lookup(%s %s) params (-want +got):\n%s", tc.method, tc.path, diff)
		}
		if _, path, _ := strings.Cut(tc.want, " "); ok && resource != path {
			t.Errorf("Lookup(%s %s) resource = %q; want %q", tc.method, tc.path, resource, path)
		}
	}
}

func TestGatewayTableMethods(t *testing.T) {
	tbl := precedenceTable(t, "GET /pets", "POST /pets", "GET /pets/{id}", "DELETE /pets/{id}", "ANY /files/{p+}", "PUT /pets/dog")
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/pets", []string{"GET", "POST"}},
		{"/pets/cat", []string{"DELETE", "GET"}},
		{"/pets/dog", []string{"DELETE", "GET", "PUT"}}, // every route the path matches
		{"/files/a/b", []string{"ANY"}},
		{"/nothing", nil},
		{"/", nil},
	} {
		if diff := cmp.Diff(tc.want, tbl.Methods(tc.path)); diff != "" {
			t.Errorf("Methods(%s) (-want +got):\n%s", tc.path, diff)
		}
	}
	// The two misses a caller tells apart.
	if _, _, _, ok := tbl.Lookup("PATCH", "/pets"); ok || len(tbl.Methods("/pets")) == 0 {
		t.Error("PATCH /pets: want no route, but methods for the path")
	}
	if _, _, _, ok := tbl.Lookup("GET", "/nothing"); ok || len(tbl.Methods("/nothing")) != 0 {
		t.Error("GET /nothing: want no route and no methods")
	}
}

func TestGatewayTableChanges(t *testing.T) {
	var tbl Table[int]
	if _, _, _, ok := tbl.Lookup("GET", "/"); ok {
		t.Fatal("the zero Table routes something")
	}
	pets := mustParse(t, "GET", "/pets/{id}")
	if err := tbl.Add(pets, 1); err != nil {
		t.Fatal(err)
	}
	if err := tbl.Add(pets, 2); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Errorf("Add of an existing route = %v; want ErrAlreadyExists", err)
	}
	err := tbl.Add(mustParse(t, "POST", "/pets/{name}/toys"), 3)
	if !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), "{name}") || !strings.Contains(err.Error(), "{id}") {
		t.Errorf("Add of a differently named variable = %v; want a conflict naming both", err)
	}
	err = tbl.Add(mustParse(t, "GET", "/f/{a+}"), 4)
	if err == nil {
		err = tbl.Add(mustParse(t, "PUT", "/f/{b+}"), 5)
	}
	if !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("Add of a differently named greedy variable = %v; want a conflict", err)
	}
	if err := tbl.Add(Pattern{Method: "GET", Path: "/x//y"}, 6); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("Add of an unparsed, invalid pattern = %v; want ErrInvalidArgument", err)
	}
	if v, _, _, ok := tbl.Lookup("GET", "/pets/1"); !ok || v != 1 {
		t.Errorf("after failed Adds, Lookup = %v, %v; want the first route unchanged", v, ok)
	}
	if !tbl.Remove(pets) || tbl.Remove(pets) {
		t.Error("Remove: want true once, then false")
	}
	if _, _, _, ok := tbl.Lookup("GET", "/pets/1"); ok {
		t.Error("a removed route still matches")
	}
	if err := tbl.Add(mustParse(t, "POST", "/pets/{name}/toys"), 3); err != nil {
		t.Errorf("Add after the conflicting route went: %v", err)
	}
}

// TestGatewayTableConcurrent has lookups race with changes; run with -race.
// A route that is never removed must be found throughout.
func TestGatewayTableConcurrent(t *testing.T) {
	var tbl Table[string]
	stable := mustParse(t, "GET", "/stable/{id}")
	if err := tbl.Add(stable, "stable"); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var writer, readers sync.WaitGroup
	writer.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			p := Pattern{Method: "GET", Path: fmt.Sprintf("/churn/%d/{x}", i%7)}
			_ = tbl.Add(p, p.Path)
			tbl.Remove(p)
		}
	})
	for range 4 {
		readers.Go(func() {
			for range 2000 {
				v, params, _, ok := tbl.Lookup("GET", "/stable/9")
				if !ok || v != "stable" || params["id"] != "9" {
					t.Errorf("Lookup during changes = %q, %v, %v", v, params, ok)
					return
				}
				tbl.Lookup("GET", "/churn/3/y")
				tbl.Methods("/churn/3/y")
			}
		})
	}
	readers.Wait()
	close(stop)
	writer.Wait()
}

// A gateway keeps the pattern in each route's value, so that the events can
// name the route.
func ExampleTable() {
	type target struct {
		pattern  Pattern
		function string
	}
	var routes Table[target]
	for _, r := range []struct{ method, path, function string }{
		{"GET", "/pets/{id}", "get-pet"},
		{"ANY", "/{proxy+}", "catch-all"},
	} {
		p, err := Parse(r.method, r.path)
		if err != nil {
			panic(err)
		}
		if err := routes.Add(p, target{p, r.function}); err != nil {
			panic(err)
		}
	}
	t, params, resource, ok := routes.Lookup("GET", "/pets/7")
	route := Route{Pattern: t.pattern, Params: params}
	fmt.Println(ok, t.function, resource, params["id"], route.Pattern.Key())
	t, params, _, _ = routes.Lookup("DELETE", "/pets/7")
	fmt.Println(t.function, params["proxy"])
	// Output:
	// true get-pet /pets/{id} 7 GET /pets/{id}
	// catch-all pets/7
}
