package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/data/store"
)

// Benchmark measures a store's hot paths: Get, a Put through Mutate (a read
// and a write in one transaction) and a 20-row Query, each from one
// goroutine and from b.RunParallel's (GOMAXPROCS) goroutines. open is
// called once per benchmark and must return an empty store.
//
// The table holds benchPartitions partitions of 20 rows of 200 bytes, each
// partition owned by one of 10 tenants, and every operation acts in its
// owner's tenant scope: the path a tenant's request takes.
func Benchmark(b *testing.B, open func(b *testing.B) store.Store) {
	for _, parallel := range []bool{false, true} {
		mode := "Serial"
		if parallel {
			mode = "Parallel"
		}
		for _, op := range []string{"Get", "Put", "Query20"} {
			b.Run(op+"/"+mode, func(b *testing.B) {
				s := open(b)
				fill(b, s)
				run := benchOps[op]
				if !parallel {
					rng := rand.New(rand.NewPCG(1, 1))
					b.ReportAllocs()
					b.ResetTimer()
					for b.Loop() {
						run(b, s, rng)
					}
					return
				}
				var seed atomic.Uint64
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					rng := rand.New(rand.NewPCG(seed.Add(1), 2))
					for pb.Next() {
						run(b, s, rng)
					}
				})
			})
		}
	}
}

const (
	benchPartitions = 500
	benchRows       = 20
	benchTenants    = 10
)

func benchPK(p int) []byte { return fmt.Appendf(nil, "tenant-%d#customer-%05d", p%benchTenants, p) }

func benchScope(p int) store.Scope {
	return store.Scope{Tenant: fmt.Sprintf("tenant-%d", p%benchTenants)}
}

func benchSK(r int) []byte { return fmt.Appendf(nil, "order#%04d", r) }

var benchData = make([]byte, 200)

// fill writes the benchmark's table, one batch per partition.
func fill(b *testing.B, s store.Store) {
	ctx := context.Background()
	if err := s.CreateTable(ctx, store.Table{Name: "bench", Definition: []byte(`{}`), Created: time.Now()}); err != nil {
		b.Fatal(err)
	}
	for p := range benchPartitions {
		var cs []store.Change
		for r := range benchRows {
			cs = append(cs, store.Change{Kind: store.Put, Item: store.Item{
				Key: store.Key{PK: benchPK(p), SK: benchSK(r)}, Owner: benchScope(p).Tenant, Data: benchData,
			}})
		}
		if err := s.Write(ctx, benchScope(p), "bench", cs); err != nil {
			b.Fatal(err)
		}
	}
}

var benchOps = map[string]func(b *testing.B, s store.Store, rng *rand.Rand){
	"Get": func(b *testing.B, s store.Store, rng *rand.Rand) {
		p := rng.IntN(benchPartitions)
		_, ok, err := s.Get(context.Background(), benchScope(p), "bench", store.Key{PK: benchPK(p), SK: benchSK(rng.IntN(benchRows))})
		if err != nil || !ok {
			b.Errorf("Get: %v, %v", ok, err)
		}
	},
	"Put": func(b *testing.B, s store.Store, rng *rand.Rand) {
		p := rng.IntN(benchPartitions)
		sc := benchScope(p)
		k := store.Key{PK: benchPK(p), SK: benchSK(rng.IntN(benchRows))}
		err := s.Mutate(context.Background(), sc, "bench", k, func(old *store.Item) (store.Change, error) {
			return store.Change{Kind: store.Put, Item: store.Item{Owner: sc.Tenant, Data: benchData}}, nil
		})
		if err != nil {
			b.Errorf("Mutate: %v", err)
		}
	},
	"Query20": func(b *testing.B, s store.Store, rng *rand.Rand) {
		p := rng.IntN(benchPartitions)
		n := 0
		q := store.Query{Table: "bench", PK: benchPK(p), SK: store.SKCond{Op: store.SKBeginsWith, A: []byte("order#")}, Limit: benchRows}
		err := s.Query(context.Background(), benchScope(p), q, func(store.Item) bool { n++; return true })
		if err != nil || n != benchRows {
			b.Errorf("Query: %d rows, %v", n, err)
		}
	},
}
