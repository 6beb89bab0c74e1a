package functiontest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/function"
)

// StoreConformance checks that the stores newStore makes keep the contract of
// function.Store. newStore is called once per subtest, possibly from several
// subtests at once; each call must return an empty store independent of the
// others, and release it through t.Cleanup.
//
// Beyond what store.go states, the suite holds stores to these choices:
//   - Times are kept to the millisecond (truncated, as Lambda reports them)
//     and come back in UTC.
//   - A nil map and an empty map are the same value.
//   - What a store returns does not share memory with what it was given.
//   - PublishVersion returns the version as Version would read it back.
//   - Deleting a function forgets its version numbers: a function created
//     again under the same name publishes from 1, as Lambda does.
//   - DeleteVersion refuses $LATEST with an error.
//   - Function names and alias names sort bytewise (Go's string order), so
//     a PostgreSQL backend needs COLLATE "C".
func StoreConformance(t *testing.T, newStore func(t *testing.T) function.Store) {
	tests := []struct {
		name string
		test func(t *testing.T, s function.Store)
	}{
		{"CreateRoundTrip", testCreateRoundTrip},
		{"CreateDuplicate", testCreateDuplicate},
		{"CreateConcurrent", testCreateConcurrent},
		{"NotFound", testNotFound},
		{"FunctionsPages", testFunctionsPages},
		{"VersionsPages", testVersionsPages},
		{"AliasesPages", testAliasesPages},
		{"UpdateLatest", testUpdateLatest},
		{"UpdateLatestConcurrent", testUpdateLatestConcurrent},
		{"PublishNumbers", testPublishNumbers},
		{"PublishNeverReusesNumbers", testPublishNeverReusesNumbers},
		{"PublishNumbersPerFunction", testPublishNumbersPerFunction},
		{"PublishConcurrent", testPublishConcurrent},
		{"DeleteFunction", testDeleteFunction},
		{"DeleteVersion", testDeleteVersion},
		{"DeleteVersionReferenced", testDeleteVersionReferenced},
		{"CreateAlias", testCreateAlias},
		{"UpdateAlias", testUpdateAlias},
		{"DeleteAlias", testDeleteAlias},
		{"CodeInUse", testCodeInUse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.test(t, newStore(t))
		})
	}
}

// cmpOptions compare as the suite's rules say: times by instant and
// location, nil maps equal to empty ones.
var cmpOptions = cmp.Options{
	cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) && a.Location() == b.Location() }),
	cmpopts.EquateEmpty(),
}

func diff(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got, cmpOptions); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

func wantKind(t *testing.T, what string, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Errorf("%s: err = %v, want %v", what, err, kind)
	}
}

// storedTime is what a store gives back for tm.
func storedTime(tm time.Time) time.Time { return tm.Truncate(time.Millisecond).UTC() }

// storedFunction and storedVersion are what a store gives back for f and v;
// they copy the maps, so the caller may change the originals.
func storedFunction(f function.Function) function.Function {
	f.Tags = maps.Clone(f.Tags)
	f.CreatedAt = storedTime(f.CreatedAt)
	return f
}

func storedVersion(v function.Version) function.Version {
	v.Config.Environment = maps.Clone(v.Config.Environment)
	v.LastModified = storedTime(v.LastModified)
	return v
}

func create(t *testing.T, s function.Store, name string) (function.Function, function.Version) {
	t.Helper()
	f, latest := Sample(name)
	if err := s.CreateFunction(t.Context(), f, latest); err != nil {
		t.Fatalf("CreateFunction(%q): %v", name, err)
	}
	return f, latest
}

// publish publishes a version of name with code of its own, so versions
// differ from one another.
func publish(t *testing.T, s function.Store, name string) function.Version {
	t.Helper()
	latest, err := s.Version(t.Context(), name, function.Latest)
	if err != nil {
		t.Fatalf("Version(%q, Latest): %v", name, err)
	}
	latest.Code = Code(fmt.Sprintf("code of %s published after %s", name, latest.RevisionID))
	latest.RevisionID += "-published"
	v, err := s.PublishVersion(t.Context(), latest)
	if err != nil {
		t.Fatalf("PublishVersion(%q): %v", name, err)
	}
	return v
}

func createAlias(t *testing.T, s function.Store, a function.Alias) {
	t.Helper()
	if err := s.CreateAlias(t.Context(), a); err != nil {
		t.Fatalf("CreateAlias(%q, %q): %v", a.Function, a.Name, err)
	}
}

func numbers(vs []function.Version) []int {
	ns := make([]int, len(vs))
	for i, v := range vs {
		ns[i] = v.Number
	}
	return ns
}

func testCreateRoundTrip(t *testing.T, s function.Store) {
	ctx := t.Context()
	full, fullLatest := Sample("every-field")
	sparse := function.Function{Name: "zero-values", CreatedAt: sampleTime}
	sparseLatest := function.Version{Function: "zero-values", Number: function.Latest, Code: Code("sparse"), LastModified: sampleTime}
	for _, c := range []struct {
		f      function.Function
		latest function.Version
	}{{full, fullLatest}, {sparse, sparseLatest}} {
		name := c.f.Name
		wantF, wantV := storedFunction(c.f), storedVersion(c.latest)
		if err := s.CreateFunction(ctx, c.f, c.latest); err != nil {
			t.Fatalf("CreateFunction(%q): %v", name, err)
		}
		// The store keeps its own copy of the maps it was given.
		if c.f.Tags != nil {
			c.f.Tags["team"] = "changed by the caller"
			c.latest.Config.Environment["STAGE"] = "changed by the caller"
		}
		got, err := s.Function(ctx, name)
		if err != nil {
			t.Fatalf("Function(%q): %v", name, err)
		}
		diff(t, "Function("+name+")", wantF, got)
		gotV, err := s.Version(ctx, name, function.Latest)
		if err != nil {
			t.Fatalf("Version(%q, Latest): %v", name, err)
		}
		diff(t, "Version("+name+", Latest)", wantV, gotV)

		// Nor does it share the maps it returns.
		if got.Tags != nil {
			got.Tags["team"] = "changed by the reader"
			gotV.Config.Environment["STAGE"] = "changed by the reader"
		}
		again, err := s.Function(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		diff(t, "Function("+name+") read again", wantF, again)
		againV, err := s.Version(ctx, name, function.Latest)
		if err != nil {
			t.Fatal(err)
		}
		diff(t, "Version("+name+", Latest) read again", wantV, againV)
	}
}

func testCreateDuplicate(t *testing.T, s function.Store) {
	ctx := t.Context()
	f, latest := create(t, s, "twice")
	f2, latest2 := Sample("twice")
	f2.PerTenant, f2.Tags = false, map[string]string{"second": "yes"}
	latest2.Code, latest2.RevisionID = Code("second upload"), "second-revision"
	wantKind(t, "second CreateFunction", s.CreateFunction(ctx, f2, latest2), errdefs.ErrAlreadyExists)

	got, err := s.Function(ctx, "twice")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "function after the refused create", storedFunction(f), got)
	gotV, err := s.Version(ctx, "twice", function.Latest)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "$LATEST after the refused create", storedVersion(latest), gotV)
	if used, err := s.CodeInUse(ctx, latest2.Code.SHA256); err != nil || used {
		t.Errorf("CodeInUse(code of the refused create) = %v, %v; want false, nil", used, err)
	}
}

func testCreateConcurrent(t *testing.T, s function.Store) {
	const racers = 8
	errs := make([]error, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			f, latest := Sample("contended")
			latest.RevisionID = fmt.Sprintf("racer-%d", i)
			errs[i] = s.CreateFunction(t.Context(), f, latest)
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("racers %d and %d both created the function", winner, i)
		case err == nil:
			winner = i
		default:
			wantKind(t, fmt.Sprintf("racer %d", i), err, errdefs.ErrAlreadyExists)
		}
	}
	if winner < 0 {
		t.Fatal("no racer created the function")
	}
	v, err := s.Version(t.Context(), "contended", function.Latest)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("racer-%d", winner); v.RevisionID != want {
		t.Errorf("$LATEST has revision %q, want the winner's %q", v.RevisionID, want)
	}
}

func testNotFound(t *testing.T, s function.Store) {
	ctx := t.Context()
	_, latest := create(t, s, "present")
	v1 := publish(t, s, "present")
	live := function.Alias{Function: "present", Name: "live", Version: v1.Number, RevisionID: "r1"}
	createAlias(t, s, live)
	_, absentLatest := Sample("absent")

	// to returns an alias of present changed by change.
	to := func(change func(*function.Alias)) function.Alias {
		a := live
		change(&a)
		return a
	}
	ops := []struct {
		name string
		op   func() error
	}{
		{"Function of a missing function", func() error { _, err := s.Function(ctx, "absent"); return err }},
		{"Version of a missing function", func() error { _, err := s.Version(ctx, "absent", function.Latest); return err }},
		{"Version with a missing number", func() error { _, err := s.Version(ctx, "present", 2); return err }},
		{"Versions of a missing function", func() error { _, err := s.Versions(ctx, "absent", -1, 10); return err }},
		{"UpdateLatest of a missing function", func() error { return s.UpdateLatest(ctx, absentLatest, "") }},
		{"PublishVersion of a missing function", func() error { _, err := s.PublishVersion(ctx, absentLatest); return err }},
		{"DeleteFunction of a missing function", func() error { return s.DeleteFunction(ctx, "absent") }},
		{"DeleteVersion of a missing function", func() error { return s.DeleteVersion(ctx, "absent", 1) }},
		{"DeleteVersion with a missing number", func() error { return s.DeleteVersion(ctx, "present", 2) }},
		{"CreateAlias of a missing function", func() error {
			return s.CreateAlias(ctx, function.Alias{Function: "absent", Name: "new", Version: function.Latest})
		}},
		{"CreateAlias to a missing version", func() error {
			return s.CreateAlias(ctx, to(func(a *function.Alias) { a.Name, a.Version = "new", 2 }))
		}},
		{"CreateAlias with a missing additional version", func() error {
			return s.CreateAlias(ctx, to(func(a *function.Alias) { a.Name, a.AdditionalWeights = "new", map[int]float64{2: 0.5} }))
		}},
		{"Alias of a missing function", func() error { _, err := s.Alias(ctx, "absent", "live"); return err }},
		{"Alias with a missing name", func() error { _, err := s.Alias(ctx, "present", "missing"); return err }},
		{"Aliases of a missing function", func() error { _, err := s.Aliases(ctx, "absent", "", 10); return err }},
		{"UpdateAlias of a missing function", func() error {
			return s.UpdateAlias(ctx, to(func(a *function.Alias) { a.Function = "absent" }), "")
		}},
		{"UpdateAlias with a missing name", func() error {
			return s.UpdateAlias(ctx, to(func(a *function.Alias) { a.Name = "missing" }), "")
		}},
		{"UpdateAlias to a missing version", func() error {
			return s.UpdateAlias(ctx, to(func(a *function.Alias) { a.Version, a.RevisionID = 2, "r2" }), "")
		}},
		{"UpdateAlias with a missing additional version", func() error {
			return s.UpdateAlias(ctx, to(func(a *function.Alias) { a.AdditionalWeights, a.RevisionID = map[int]float64{3: 0.1}, "r2" }), "")
		}},
		{"DeleteAlias of a missing function", func() error { return s.DeleteAlias(ctx, "absent", "live") }},
		{"DeleteAlias with a missing name", func() error { return s.DeleteAlias(ctx, "present", "missing") }},
	}
	for _, o := range ops {
		wantKind(t, o.name, o.op(), errdefs.ErrNotFound)
	}

	// The refused operations changed nothing.
	if _, err := s.Function(ctx, "absent"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Function(absent) after the refused writes: err = %v, want ErrNotFound", err)
	}
	if used, err := s.CodeInUse(ctx, absentLatest.Code.SHA256); err != nil || used {
		t.Errorf("CodeInUse(code of absent) = %v, %v; want false, nil", used, err)
	}
	vs, err := s.Versions(ctx, "present", -1, 10)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "versions of present", []function.Version{storedVersion(latest), v1}, vs)
	as, err := s.Aliases(ctx, "present", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "aliases of present", []function.Alias{live}, as)
}

func testFunctionsPages(t *testing.T, s function.Store) {
	ctx := t.Context()
	if fs, err := s.Functions(ctx, "", 10); err != nil || len(fs) != 0 {
		t.Fatalf("Functions of an empty store = %v, %v; want none", fs, err)
	}
	// Created out of order; bytewise the order is -y 1 B _x a a-1 a_ ab b.
	names := []string{"b", "a_", "B", "_x", "ab", "-y", "1", "a", "a-1"}
	var want []function.Function
	for i, n := range names {
		f, latest := Sample(n)
		f.PerTenant = i%2 == 0 // records differ in more than their names
		if err := s.CreateFunction(ctx, f, latest); err != nil {
			t.Fatal(err)
		}
		want = append(want, storedFunction(f))
	}
	slices.SortFunc(want, func(a, b function.Function) int { return strings.Compare(a.Name, b.Name) })

	all, err := s.Functions(ctx, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if got := functionNames(all); !slices.Equal(got, []string{"-y", "1", "B", "_x", "a", "a-1", "a_", "ab", "b"}) {
		t.Errorf("Functions order = %q, want bytewise order", got)
	}
	for _, limit := range []int{1, 2, 3, 9} {
		t.Run(fmt.Sprint("limit=", limit), func(t *testing.T) {
			var got []function.Function
			after := ""
			for pages := 0; ; pages++ {
				if pages > len(names)+1 {
					t.Fatalf("still paging after %d pages", pages)
				}
				page, err := s.Functions(ctx, after, limit)
				if err != nil {
					t.Fatalf("Functions(%q, %d): %v", after, limit, err)
				}
				if len(page) > limit {
					t.Fatalf("Functions(%q, %d) returned %d functions", after, limit, len(page))
				}
				if len(page) == 0 {
					break
				}
				got = append(got, page...)
				after = page[len(page)-1].Name
			}
			// Records are checked whole once, order and completeness per limit.
			if limit == 1 {
				diff(t, "functions, one page at a time", want, got)
			} else if !slices.Equal(functionNames(got), functionNames(want)) {
				t.Errorf("pages of %d = %q, want %q", limit, functionNames(got), functionNames(want))
			}
		})
	}
	for _, c := range []struct {
		after string
		limit int
		want  []string
	}{
		{"a", 2, []string{"a-1", "a_"}},
		{"aa", 5, []string{"ab", "b"}}, // after a name that does not exist
		{"b", 5, nil},
		{"zzz", 5, nil},
	} {
		page, err := s.Functions(ctx, c.after, c.limit)
		if err != nil {
			t.Fatal(err)
		}
		if got := functionNames(page); !slices.Equal(got, c.want) {
			t.Errorf("Functions(%q, %d) = %q, want %q", c.after, c.limit, got, c.want)
		}
	}
}

func functionNames(fs []function.Function) []string {
	var ns []string
	for _, f := range fs {
		ns = append(ns, f.Name)
	}
	return ns
}

func testVersionsPages(t *testing.T, s function.Store) {
	ctx := t.Context()
	_, fLatest := create(t, s, "f")
	_, gLatest := create(t, s, "g")
	only, err := s.Versions(ctx, "f", -1, 10)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "versions of an unpublished function", []function.Version{storedVersion(fLatest)}, only)

	all := []function.Version{storedVersion(fLatest)}
	for range 5 {
		all = append(all, publish(t, s, "f"))
	}
	gv := publish(t, s, "g")

	got, err := s.Versions(ctx, "f", -1, 100)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "all versions of f", all, got)
	for _, c := range []struct {
		after, limit int
		want         []int
	}{
		{-1, 2, []int{0, 1}},
		{1, 2, []int{2, 3}},
		{3, 2, []int{4, 5}},
		{5, 2, nil}, // the empty last page
		{0, 3, []int{1, 2, 3}},
		{4, 10, []int{5}},
		{99, 10, nil},
	} {
		page, err := s.Versions(ctx, "f", c.after, c.limit)
		if err != nil {
			t.Fatalf("Versions(f, %d, %d): %v", c.after, c.limit, err)
		}
		if got := numbers(page); !slices.Equal(got, c.want) {
			t.Errorf("Versions(f, %d, %d) = %v, want %v", c.after, c.limit, got, c.want)
		}
	}

	if err := s.DeleteVersion(ctx, "f", 2); err != nil {
		t.Fatal(err)
	}
	page, err := s.Versions(ctx, "f", 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got := numbers(page); !slices.Equal(got, []int{3, 4}) {
		t.Errorf("Versions(f, 1, 2) after deleting 2 = %v, want [3 4]", got)
	}

	gs, err := s.Versions(ctx, "g", -1, 100)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "versions of g", []function.Version{storedVersion(gLatest), gv}, gs)
}

func testAliasesPages(t *testing.T, s function.Store) {
	ctx := t.Context()
	create(t, s, "f")
	create(t, s, "g")
	if as, err := s.Aliases(ctx, "f", "", 10); err != nil || len(as) != 0 {
		t.Fatalf("Aliases of a function without aliases = %v, %v; want none", as, err)
	}
	v1, v2 := publish(t, s, "f"), publish(t, s, "f")
	publish(t, s, "g")

	// Created out of order; bytewise the order is -y 1 B _x a b.
	var want []function.Alias
	for i, n := range []string{"b", "_x", "B", "a", "-y", "1"} {
		a := function.Alias{Function: "f", Name: n, Version: v1.Number, Description: "alias " + n, RevisionID: "r-" + n}
		if i%2 == 0 {
			a.AdditionalWeights = map[int]float64{v2.Number: float64(i+1) / 10}
		}
		createAlias(t, s, a)
		want = append(want, a)
	}
	slices.SortFunc(want, func(a, b function.Alias) int { return strings.Compare(a.Name, b.Name) })
	// Another function's alias of the same name is not f's.
	createAlias(t, s, function.Alias{Function: "g", Name: "a", Version: 1, RevisionID: "g-a"})

	for _, limit := range []int{1, 2, 3, 6} {
		var got []function.Alias
		after := ""
		for pages := 0; ; pages++ {
			if pages > len(want)+1 {
				t.Fatalf("still paging after %d pages", pages)
			}
			page, err := s.Aliases(ctx, "f", after, limit)
			if err != nil {
				t.Fatalf("Aliases(f, %q, %d): %v", after, limit, err)
			}
			if len(page) > limit {
				t.Fatalf("Aliases(f, %q, %d) returned %d aliases", after, limit, len(page))
			}
			if len(page) == 0 {
				break
			}
			got = append(got, page...)
			after = page[len(page)-1].Name
		}
		diff(t, fmt.Sprintf("aliases of f in pages of %d", limit), want, got)
	}
	page, err := s.Aliases(ctx, "f", "Z", 2) // after a name that does not exist
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "Aliases(f, Z, 2)", want[3:5], page)
}

// changed returns v with every stored field changed.
func changed(v function.Version, revision string) function.Version {
	v.Config = function.Config{
		Runtime:          function.RuntimeProvidedAL2,
		Handler:          "other.handler",
		Role:             v.Config.Role + "-2",
		Description:      "changed",
		MemorySize:       512,
		Timeout:          60,
		EphemeralStorage: 2048,
		Environment:      map[string]string{"OTHER": revision},
		Architecture:     function.ArchitectureX8664,
		Logging:          function.Logging{Format: "Text", ApplicationLogLevel: "INFO", SystemLogLevel: "DEBUG", LogGroup: "/other/" + revision},
	}
	v.Code = Code("code of " + revision)
	v.RevisionID = revision
	v.LastModified = v.LastModified.Add(time.Hour + 7*time.Millisecond)
	return v
}

func testUpdateLatest(t *testing.T, s function.Store) {
	ctx := t.Context()
	f, latest := create(t, s, "f")
	v1 := publish(t, s, "f")
	current := latest
	check := func(what string, want function.Version) {
		t.Helper()
		got, err := s.Version(ctx, "f", function.Latest)
		if err != nil {
			t.Fatal(err)
		}
		diff(t, what, storedVersion(want), got)
	}

	second := changed(current, "second")
	wantKind(t, "UpdateLatest with a wrong revision", s.UpdateLatest(ctx, second, "wrong"), errdefs.ErrPrecondition)
	check("$LATEST after a refused update", current)

	if err := s.UpdateLatest(ctx, second, current.RevisionID); err != nil {
		t.Fatalf("UpdateLatest with the current revision: %v", err)
	}
	check("$LATEST after an update with the current revision", second)

	third := changed(second, "third")
	if err := s.UpdateLatest(ctx, third, ""); err != nil {
		t.Fatalf("UpdateLatest without a revision: %v", err)
	}
	check("$LATEST after an update without a revision", third)

	wantKind(t, "UpdateLatest with a stale revision", s.UpdateLatest(ctx, changed(third, "fourth"), second.RevisionID), errdefs.ErrPrecondition)
	check("$LATEST after a stale update", third)

	got, err := s.Version(ctx, "f", v1.Number)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "published version after updates of $LATEST", v1, got)
	gotF, err := s.Function(ctx, "f")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "function after updates of $LATEST", storedFunction(f), gotF)
}

func testUpdateLatestConcurrent(t *testing.T, s function.Store) {
	_, latest := create(t, s, "f")
	const racers = 8
	errs := make([]error, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			errs[i] = s.UpdateLatest(t.Context(), changed(latest, fmt.Sprintf("racer-%d", i)), latest.RevisionID)
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("racers %d and %d both updated revision %q", winner, i, latest.RevisionID)
		case err == nil:
			winner = i
		default:
			wantKind(t, fmt.Sprintf("racer %d", i), err, errdefs.ErrPrecondition)
		}
	}
	if winner < 0 {
		t.Fatal("no racer updated $LATEST")
	}
	got, err := s.Version(t.Context(), "f", function.Latest)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "$LATEST", storedVersion(changed(latest, fmt.Sprintf("racer-%d", winner))), got)
}

func testPublishNumbers(t *testing.T, s function.Store) {
	ctx := t.Context()
	_, latest := create(t, s, "f")
	for want := 1; want <= 3; want++ {
		next := changed(latest, fmt.Sprintf("revision-%d", want))
		next.Number = 42 // ignored: the store numbers
		v, err := s.PublishVersion(ctx, next)
		if err != nil {
			t.Fatal(err)
		}
		if v.Number != want {
			t.Fatalf("published version number %d, want %d", v.Number, want)
		}
		next.Number = want
		diff(t, fmt.Sprintf("version %d as returned", want), storedVersion(next), v)
		got, err := s.Version(ctx, "f", want)
		if err != nil {
			t.Fatal(err)
		}
		diff(t, fmt.Sprintf("version %d read back", want), v, got)
	}
	got, err := s.Version(ctx, "f", function.Latest)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "$LATEST after publishing", storedVersion(latest), got)
}

func testPublishNeverReusesNumbers(t *testing.T, s function.Store) {
	ctx := t.Context()
	create(t, s, "f")
	for range 3 {
		publish(t, s, "f")
	}
	if err := s.DeleteVersion(ctx, "f", 3); err != nil {
		t.Fatal(err)
	}
	if v := publish(t, s, "f"); v.Number != 4 {
		t.Errorf("after deleting the highest version 3, published %d, want 4", v.Number)
	}
	for _, n := range []int{4, 2} {
		if err := s.DeleteVersion(ctx, "f", n); err != nil {
			t.Fatal(err)
		}
	}
	if v := publish(t, s, "f"); v.Number != 5 {
		t.Errorf("after deleting 4 and 2, published %d, want 5", v.Number)
	}
	vs, err := s.Versions(ctx, "f", -1, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got := numbers(vs); !slices.Equal(got, []int{0, 1, 5}) {
		t.Errorf("versions = %v, want [0 1 5]", got)
	}
}

func testPublishNumbersPerFunction(t *testing.T, s function.Store) {
	create(t, s, "f")
	create(t, s, "g")
	for _, step := range []struct {
		function string
		want     int
	}{{"f", 1}, {"f", 2}, {"f", 3}, {"g", 1}, {"f", 4}, {"g", 2}} {
		v := publish(t, s, step.function)
		if v.Number != step.want || v.Function != step.function {
			t.Errorf("published %s:%d, want %s:%d", v.Function, v.Number, step.function, step.want)
		}
	}
	v, err := s.Version(t.Context(), "g", 2)
	if err != nil {
		t.Fatal(err)
	}
	if v.Function != "g" {
		t.Errorf("Version(g, 2).Function = %q", v.Function)
	}
}

func testPublishConcurrent(t *testing.T, s function.Store) {
	ctx := t.Context()
	const workers, each = 4, 5 // per function
	fns := []string{"f", "g"}
	latest := map[string]function.Version{}
	for _, n := range fns {
		_, latest[n] = create(t, s, n)
	}
	var (
		mu  sync.Mutex
		got = map[string][]int{}
		wg  sync.WaitGroup
	)
	for _, n := range fns {
		for range workers {
			wg.Go(func() {
				for range each {
					v, err := s.PublishVersion(ctx, latest[n])
					if err != nil {
						t.Errorf("PublishVersion(%q): %v", n, err)
						return
					}
					mu.Lock()
					got[n] = append(got[n], v.Number)
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	want := make([]int, workers*each)
	for i := range want {
		want[i] = i + 1
	}
	for _, n := range fns {
		slices.Sort(got[n])
		if !slices.Equal(got[n], want) {
			t.Errorf("concurrent publishes of %s got numbers %v, want 1…%d once each", n, got[n], len(want))
		}
		vs, err := s.Versions(ctx, n, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if ns := numbers(vs); !slices.Equal(ns, want) {
			t.Errorf("stored versions of %s = %v, want 1…%d", n, ns, len(want))
		}
	}
}

func testDeleteFunction(t *testing.T, s function.Store) {
	ctx := t.Context()
	create(t, s, "f")
	f1, f2 := publish(t, s, "f"), publish(t, s, "f")
	createAlias(t, s, sampleAlias("f", "live", f1.Number, f2.Number))
	_, gLatest := create(t, s, "g")
	g1 := publish(t, s, "g")
	gAlias := sampleAlias("g", "live", g1.Number, function.Latest)
	gAlias.AdditionalWeights = nil
	createAlias(t, s, gAlias)

	if err := s.DeleteFunction(ctx, "f"); err != nil {
		t.Fatalf("DeleteFunction(f): %v", err)
	}
	if _, err := s.Function(ctx, "f"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Function(f) after delete: err = %v, want ErrNotFound", err)
	}
	for _, n := range []int{function.Latest, f1.Number, f2.Number} {
		if _, err := s.Version(ctx, "f", n); !errors.Is(err, errdefs.ErrNotFound) {
			t.Errorf("Version(f, %d) after delete: err = %v, want ErrNotFound", n, err)
		}
	}
	if _, err := s.Versions(ctx, "f", -1, 10); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Versions(f) after delete: err = %v, want ErrNotFound", err)
	}
	if _, err := s.Alias(ctx, "f", "live"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Alias(f, live) after delete: err = %v, want ErrNotFound", err)
	}
	if _, err := s.Aliases(ctx, "f", "", 10); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Aliases(f) after delete: err = %v, want ErrNotFound", err)
	}
	for _, v := range []function.Version{f1, f2} {
		if used, err := s.CodeInUse(ctx, v.Code.SHA256); err != nil || used {
			t.Errorf("CodeInUse(code of deleted f:%d) = %v, %v; want false, nil", v.Number, used, err)
		}
	}
	wantKind(t, "DeleteFunction(f) again", s.DeleteFunction(ctx, "f"), errdefs.ErrNotFound)

	// g is untouched.
	gs, err := s.Versions(ctx, "g", -1, 10)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "versions of g", []function.Version{storedVersion(gLatest), g1}, gs)
	ga, err := s.Aliases(ctx, "g", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "aliases of g", []function.Alias{gAlias}, ga)
	fs, err := s.Functions(ctx, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if got := functionNames(fs); !slices.Equal(got, []string{"g"}) {
		t.Errorf("Functions after deleting f = %q, want [g]", got)
	}

	// A function created again under the name starts afresh.
	_, latest := create(t, s, "f")
	vs, err := s.Versions(ctx, "f", -1, 10)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "versions of the recreated f", []function.Version{storedVersion(latest)}, vs)
	if as, err := s.Aliases(ctx, "f", "", 10); err != nil || len(as) != 0 {
		t.Errorf("Aliases of the recreated f = %v, %v; want none", as, err)
	}
	if v := publish(t, s, "f"); v.Number != 1 {
		t.Errorf("the recreated f published version %d, want 1", v.Number)
	}
}

func testDeleteVersion(t *testing.T, s function.Store) {
	ctx := t.Context()
	_, latest := create(t, s, "f")
	publish(t, s, "f")
	v2 := publish(t, s, "f")
	if err := s.DeleteVersion(ctx, "f", 1); err != nil {
		t.Fatalf("DeleteVersion(f, 1): %v", err)
	}
	if _, err := s.Version(ctx, "f", 1); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Version(f, 1) after delete: err = %v, want ErrNotFound", err)
	}
	wantKind(t, "DeleteVersion(f, 1) again", s.DeleteVersion(ctx, "f", 1), errdefs.ErrNotFound)

	if err := s.DeleteVersion(ctx, "f", function.Latest); err == nil {
		t.Error("DeleteVersion(f, Latest) succeeded; $LATEST goes only with its function")
	}
	vs, err := s.Versions(ctx, "f", -1, 10)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "versions after the deletes", []function.Version{storedVersion(latest), v2}, vs)
}

func testDeleteVersionReferenced(t *testing.T, s function.Store) {
	ctx := t.Context()
	create(t, s, "f")
	for range 4 {
		publish(t, s, "f")
	}
	primary := function.Alias{Function: "f", Name: "primary", Version: 1, RevisionID: "p1"}
	createAlias(t, s, primary)
	weighted := sampleAlias("f", "weighted", 2, 3)
	createAlias(t, s, weighted)
	// g's alias of g:4 does not hold f:4.
	create(t, s, "g")
	for range 4 {
		publish(t, s, "g")
	}
	createAlias(t, s, function.Alias{Function: "g", Name: "primary", Version: 4, RevisionID: "g4"})

	for _, c := range []struct {
		number int
		why    string
	}{{1, "primary version of primary"}, {2, "primary version of weighted"}, {3, "additional version of weighted"}} {
		wantKind(t, fmt.Sprintf("DeleteVersion(f, %d), the %s", c.number, c.why), s.DeleteVersion(ctx, "f", c.number), errdefs.ErrConflict)
		if _, err := s.Version(ctx, "f", c.number); err != nil {
			t.Errorf("Version(f, %d) after the refused delete: %v", c.number, err)
		}
	}
	if err := s.DeleteVersion(ctx, "f", 4); err != nil {
		t.Errorf("DeleteVersion(f, 4), referenced only by another function's alias: %v", err)
	}

	primary.Version, primary.RevisionID = function.Latest, "p2"
	if err := s.UpdateAlias(ctx, primary, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteVersion(ctx, "f", 1); err != nil {
		t.Errorf("DeleteVersion(f, 1) after its alias moved: %v", err)
	}
	weighted.AdditionalWeights, weighted.RevisionID = nil, "w2"
	if err := s.UpdateAlias(ctx, weighted, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteVersion(ctx, "f", 3); err != nil {
		t.Errorf("DeleteVersion(f, 3) after its weight was removed: %v", err)
	}
	wantKind(t, "DeleteVersion(f, 2), still primary of weighted", s.DeleteVersion(ctx, "f", 2), errdefs.ErrConflict)
	if err := s.DeleteAlias(ctx, "f", "weighted"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteVersion(ctx, "f", 2); err != nil {
		t.Errorf("DeleteVersion(f, 2) after its alias was deleted: %v", err)
	}
}

func testCreateAlias(t *testing.T, s function.Store) {
	ctx := t.Context()
	create(t, s, "f")
	publish(t, s, "f")
	publish(t, s, "f")
	live := sampleAlias("f", "live", 1, 2)
	want := live
	want.AdditionalWeights = maps.Clone(live.AdditionalWeights)
	createAlias(t, s, live)
	live.AdditionalWeights[2] = 0.9 // the store kept its own copy

	got, err := s.Alias(ctx, "f", "live")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "Alias(f, live)", want, got)

	again := sampleAlias("f", "live", 2, 1)
	again.RevisionID = "second"
	wantKind(t, "second CreateAlias(f, live)", s.CreateAlias(ctx, again), errdefs.ErrAlreadyExists)
	got, err = s.Alias(ctx, "f", "live")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "Alias(f, live) after the refused create", want, got)

	latest := function.Alias{Function: "f", Name: "edge", Version: function.Latest, RevisionID: "e1"}
	createAlias(t, s, latest)
	got, err = s.Alias(ctx, "f", "edge")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "Alias(f, edge), an alias of $LATEST", latest, got)
}

func testUpdateAlias(t *testing.T, s function.Store) {
	ctx := t.Context()
	create(t, s, "f")
	for range 3 {
		publish(t, s, "f")
	}
	live := function.Alias{Function: "f", Name: "live", Version: 1, Description: "first", RevisionID: "r1"}
	createAlias(t, s, live)
	current := live
	check := func(what string) {
		t.Helper()
		got, err := s.Alias(ctx, "f", "live")
		if err != nil {
			t.Fatal(err)
		}
		diff(t, what, current, got)
	}

	second := sampleAlias("f", "live", 2, 3)
	second.RevisionID = "r2"
	wantKind(t, "UpdateAlias with a wrong revision", s.UpdateAlias(ctx, second, "wrong"), errdefs.ErrPrecondition)
	check("alias after a refused update")

	if err := s.UpdateAlias(ctx, second, "r1"); err != nil {
		t.Fatalf("UpdateAlias with the current revision: %v", err)
	}
	current = second
	check("alias after an update with the current revision")

	third := function.Alias{Function: "f", Name: "live", Version: 3, RevisionID: "r3"}
	if err := s.UpdateAlias(ctx, third, ""); err != nil {
		t.Fatalf("UpdateAlias without a revision: %v", err)
	}
	current = third
	check("alias after an update that dropped its weights")

	wantKind(t, "UpdateAlias with a stale revision", s.UpdateAlias(ctx, second, "r2"), errdefs.ErrPrecondition)
	check("alias after a stale update")
}

func testDeleteAlias(t *testing.T, s function.Store) {
	ctx := t.Context()
	create(t, s, "f")
	publish(t, s, "f")
	publish(t, s, "f")
	createAlias(t, s, sampleAlias("f", "live", 1, 2))
	createAlias(t, s, function.Alias{Function: "f", Name: "other", Version: 2, RevisionID: "o1"})
	if err := s.DeleteAlias(ctx, "f", "live"); err != nil {
		t.Fatalf("DeleteAlias(f, live): %v", err)
	}
	if _, err := s.Alias(ctx, "f", "live"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Alias(f, live) after delete: err = %v, want ErrNotFound", err)
	}
	wantKind(t, "DeleteAlias(f, live) again", s.DeleteAlias(ctx, "f", "live"), errdefs.ErrNotFound)
	if _, err := s.Alias(ctx, "f", "other"); err != nil {
		t.Errorf("Alias(f, other) after deleting live: %v", err)
	}

	// Nothing of the deleted alias lingers under its name.
	live := function.Alias{Function: "f", Name: "live", Version: 2, RevisionID: "l2"}
	createAlias(t, s, live)
	got, err := s.Alias(ctx, "f", "live")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "alias created again under a deleted name", live, got)
}

func testCodeInUse(t *testing.T, s function.Store) {
	ctx := t.Context()
	inUse := func(what string, sha string, want bool) {
		t.Helper()
		used, err := s.CodeInUse(ctx, sha)
		if err != nil {
			t.Fatalf("CodeInUse(%s): %v", what, err)
		}
		if used != want {
			t.Errorf("CodeInUse(%s) = %v, want %v", what, used, want)
		}
	}
	a, b, c := Code("A").SHA256, Code("B").SHA256, Code("C").SHA256
	inUse("code never stored", a, false)

	f, latest := Sample("f")
	latest.Code = Code("A")
	if err := s.CreateFunction(ctx, f, latest); err != nil {
		t.Fatal(err)
	}
	inUse("A, $LATEST of f", a, true)
	v1, err := s.PublishVersion(ctx, latest)
	if err != nil {
		t.Fatal(err)
	}
	latest.Code = Code("B")
	if err := s.UpdateLatest(ctx, latest, ""); err != nil {
		t.Fatal(err)
	}
	inUse("A, f:1 only", a, true)
	inUse("B, new $LATEST of f", b, true)
	if err := s.DeleteVersion(ctx, "f", v1.Number); err != nil {
		t.Fatal(err)
	}
	inUse("A after deleting f:1", a, false)

	g, gLatest := Sample("g")
	gLatest.Code = Code("B")
	if err := s.CreateFunction(ctx, g, gLatest); err != nil {
		t.Fatal(err)
	}
	latest.Code = Code("C")
	if err := s.UpdateLatest(ctx, latest, ""); err != nil {
		t.Fatal(err)
	}
	inUse("B, still $LATEST of g", b, true)
	inUse("C, $LATEST of f", c, true)
	if err := s.DeleteFunction(ctx, "g"); err != nil {
		t.Fatal(err)
	}
	inUse("B after deleting g", b, false)
	if err := s.DeleteFunction(ctx, "f"); err != nil {
		t.Fatal(err)
	}
	inUse("C after deleting f", c, false)
}
