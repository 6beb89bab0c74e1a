package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/data/store"
)

// The model test's size: rounds of steps, each round on a fresh table, by
// modelTenants tenants and the service. With them drawing keys from a small
// space most keys end up contested. The cost is bounded rather than left
// to a property-testing library's defaults: it runs under the race
// detector, in which an embedded SQLite statement is several times slower.
const (
	modelTenants = 50
	modelRounds  = 8
	modelSteps   = 60
)

// model is the reference: the rows of one table, by key.
type model struct {
	rows map[string]store.Item
}

func modelKey(k store.Key) string { return fmt.Sprintf("%d:%s%s", len(k.PK), k.PK, k.SK) }

// allows reports whether sc may make change c according to the owner
// rules, written from the contract.
func (m *model) allows(sc store.Scope, c store.Change) bool {
	if sc.Service {
		return true
	}
	existing, exists := m.rows[modelKey(c.Item.Key)]
	if exists && existing.Owner != sc.Tenant {
		return false
	}
	return c.Kind != store.Put || c.Item.Owner == sc.Tenant
}

func (m *model) apply(c store.Change) {
	switch c.Kind {
	case store.Put:
		m.rows[modelKey(c.Item.Key)] = c.Item
	case store.Delete:
		delete(m.rows, modelKey(c.Item.Key))
	}
}

func (m *model) items() []store.Item {
	var all []store.Item
	for _, it := range m.rows {
		all = append(all, it)
	}
	return all
}

// modelRun is one round: a table, its model and the random source.
type modelRun struct {
	t      *testing.T
	s      store.Store
	table  string
	m      *model
	rng    *rand.Rand
	scopes []store.Scope
	step   int
	// log is the round's steps so far, printed when one fails.
	log []string
}

// Small key spaces with 0x00 and 0xFF, so that keys collide and orders
// matter.
var (
	modelPKs = [][]byte{[]byte("a"), []byte("a\x00"), []byte("b"), {0xFF}, {0x00}}
	modelSKs = [][]byte{nil, []byte("1"), []byte("1\x00"), []byte("2"), {0xFF, 0x01}}
)

// testModel runs random operations of modelTenants tenants and the service
// against one store and a map, and checks each answer against the map;
// after each step the acting scope's view, and after each round every
// scope's, must equal the map filtered by owner. The seeds are fixed, plus
// one drawn per run and logged, so that CI repeats what failed and new runs
// still explore.
func testModel(t *testing.T, s store.Store) {
	scopes := []store.Scope{service}
	for i := range modelTenants {
		scopes = append(scopes, store.Scope{Tenant: fmt.Sprintf("t%02d", i)})
	}
	seeds := make([]uint64, 0, modelRounds)
	for i := range modelRounds - 1 {
		seeds = append(seeds, uint64(i+1))
	}
	seeds = append(seeds, uint64(time.Now().UnixNano()))
	for round, seed := range seeds {
		t.Logf("round %d: seed %d", round, seed)
		r := &modelRun{
			t: t, s: s, table: fmt.Sprintf("model-%d", round), m: &model{rows: map[string]store.Item{}},
			rng: rand.New(rand.NewPCG(seed, seed)), scopes: scopes,
		}
		if err := s.CreateTable(t.Context(), store.Table{Name: r.table, Definition: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
		for r.step = 0; r.step < modelSteps; r.step++ {
			sc := r.scope()
			switch r.rng.IntN(4) {
			case 0, 1:
				r.mutate(sc)
			case 2:
				r.write(sc)
			case 3:
				if r.rng.IntN(2) == 0 {
					r.get(sc)
				} else {
					r.query(sc)
				}
			}
			r.checkView(sc)
		}
		for _, sc := range scopes {
			r.checkView(sc)
		}
	}
}

func joinLines(lines []string) string {
	var b []byte
	for _, l := range lines {
		b = fmt.Appendf(b, "  %s\n", l)
	}
	return string(b)
}

func (r *modelRun) fatalf(format string, args ...any) {
	r.t.Helper()
	r.t.Fatalf("step %d: %s\nsteps so far:\n%s", r.step, fmt.Sprintf(format, args...), joinLines(r.log))
}

func (r *modelRun) logf(format string, args ...any) {
	r.log = append(r.log, fmt.Sprintf("%d: ", r.step)+fmt.Sprintf(format, args...))
}

func (r *modelRun) scope() store.Scope { return r.scopes[r.rng.IntN(len(r.scopes))] }

func (r *modelRun) key() store.Key {
	return store.Key{PK: modelPKs[r.rng.IntN(len(modelPKs))], SK: modelSKs[r.rng.IntN(len(modelSKs))]}
}

// change draws a Put (most often of sc's own item, sometimes naming
// another owner) or a Delete at k.
func (r *modelRun) change(sc store.Scope, k store.Key) store.Change {
	if r.rng.IntN(4) == 0 {
		return store.Change{Kind: store.Delete, Item: store.Item{Key: k}}
	}
	owner := sc.Tenant
	if r.rng.IntN(10) == 0 {
		owner = r.scope().Tenant
	}
	return store.Change{Kind: store.Put, Item: store.Item{Key: k, Owner: owner, Data: fmt.Appendf(nil, "v%d", r.step)}}
}

func (r *modelRun) checkRefusal(op string, allowed bool, err error) {
	r.t.Helper()
	switch {
	case allowed && err != nil:
		r.fatalf("%s: %v, want success", op, err)
	case !allowed && !errors.Is(err, store.ErrOutOfScope):
		r.fatalf("%s: %v, want ErrOutOfScope", op, err)
	}
}

func describe(sc store.Scope, c store.Change) string {
	return fmt.Sprintf("%+v kind %d %q/%q owner %q", sc, c.Kind, c.Item.Key.PK, c.Item.Key.SK, c.Item.Owner)
}

func (r *modelRun) mutate(sc store.Scope) {
	k := r.key()
	c := r.change(sc, k)
	want, exists := r.m.rows[modelKey(k)]
	wantVisible := exists && visible(sc, want.Owner)
	var calls int
	err := r.s.Mutate(context.Background(), sc, r.table, k, func(old *store.Item) (store.Change, error) {
		calls++
		if (old != nil) != wantVisible || old != nil && diffItems(want, *old) != "" {
			return store.Change{}, fmt.Errorf("fn saw %+v, want %+v (visible %v)", old, want, wantVisible)
		}
		return c, nil
	})
	r.logf("Mutate %s: %v", describe(sc, c), err)
	if calls == 0 {
		r.fatalf("Mutate did not call fn: %v", err)
	}
	r.checkRefusal("Mutate "+describe(sc, c), r.m.allows(sc, c), err)
	if err == nil {
		r.m.apply(c)
	}
}

func (r *modelRun) write(sc store.Scope) {
	var changes []store.Change
	seen := map[string]bool{}
	allowed := true
	for range 1 + r.rng.IntN(4) {
		k := r.key()
		if seen[modelKey(k)] {
			continue
		}
		seen[modelKey(k)] = true
		c := r.change(sc, k)
		allowed = allowed && r.m.allows(sc, c)
		changes = append(changes, c)
	}
	err := r.s.Write(context.Background(), sc, r.table, changes)
	var desc []string
	for _, c := range changes {
		desc = append(desc, describe(sc, c))
	}
	r.logf("Write %q: %v", desc, err)
	r.checkRefusal(fmt.Sprintf("Write %q", desc), allowed, err)
	if err == nil {
		for _, c := range changes {
			r.m.apply(c)
		}
	}
}

func (r *modelRun) get(sc store.Scope) {
	k := r.key()
	got, ok, err := r.s.Get(context.Background(), sc, r.table, k)
	r.logf("Get %+v %q/%q: %v, %v", sc, k.PK, k.SK, ok, err)
	want, wantOK := r.m.rows[modelKey(k)]
	wantOK = wantOK && visible(sc, want.Owner)
	if err != nil || ok != wantOK || ok && diffItems(want, got) != "" {
		r.fatalf("Get(%q/%q) as %+v = %+v, %v, %v; want %+v, %v", k.PK, k.SK, sc, got, ok, err, want, wantOK)
	}
}

func (r *modelRun) query(sc store.Scope) {
	q := store.Query{
		Table:    r.table,
		PK:       modelPKs[r.rng.IntN(len(modelPKs))],
		SK:       store.SKCond{Op: store.SKOp(r.rng.IntN(8)), A: modelSKs[r.rng.IntN(len(modelSKs))]},
		Backward: r.rng.IntN(2) == 0,
		Limit:    r.rng.IntN(4),
	}
	if q.SK.Op == store.SKBetween {
		q.SK.B = modelSKs[r.rng.IntN(len(modelSKs))]
		if string(q.SK.A) > string(q.SK.B) {
			q.SK.A, q.SK.B = q.SK.B, q.SK.A
		}
	}
	if r.rng.IntN(2) == 0 {
		q.After = modelSKs[r.rng.IntN(len(modelSKs))]
	}
	var got []store.Item
	err := r.s.Query(context.Background(), sc, q, func(it store.Item) bool { got = append(got, it); return true })
	r.logf("Query %+v %+v: %d rows, %v", sc, q, len(got), err)
	if err != nil {
		r.fatalf("Query(%+v): %v", q, err)
	}
	if d := diffItems(expectQuery(r.m.items(), sc, q), got); d != "" {
		r.fatalf("Query(%+v) as %+v (-want +got):\n%s", q, sc, d)
	}
}

// checkView compares sc's Scan of the table with the model filtered by
// owner.
func (r *modelRun) checkView(sc store.Scope) {
	var got []store.Item
	if err := r.s.Scan(context.Background(), sc, r.table, nil, 0, func(it store.Item) bool { got = append(got, it); return true }); err != nil {
		r.fatalf("Scan as %+v: %v", sc, err)
	}
	if d := diffItems(expectScan(r.m.items(), sc, nil, 0), got); d != "" {
		r.fatalf("%+v's view differs from the model (-want +got):\n%s", sc, d)
	}
	if sc.Service && len(got) != len(r.m.rows) {
		r.fatalf("the service sees %d rows, the model has %d", len(got), len(r.m.rows))
	}
	if !sc.Service && slices.ContainsFunc(got, func(it store.Item) bool { return it.Owner != sc.Tenant }) {
		r.fatalf("%+v sees another owner's row", sc)
	}
}
