package policy

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestPolicyPoolProperty: for random tenant ids and random partition keys,
// the pool policy allows exactly the requests whose every key starts with
// "<tenant>#" (and that carry at least one key). Tenant ids and keys are
// drawn from an alphabet full of characters that mean something to the
// matcher or the variable syntax, so substitution must stay literal.
func TestPolicyPoolProperty(t *testing.T) {
	p := mustParse(t, poolPolicy)
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "ab1*?#${}':/-_ é"
	randString := func(max int) string {
		n := rng.IntN(max + 1)
		var b strings.Builder
		for range n {
			b.WriteRune([]rune(alphabet)[rng.IntN(len([]rune(alphabet)))])
		}
		return b.String()
	}
	randKey := func(tenant string) string {
		switch rng.IntN(5) {
		case 0, 1: // the tenant's own key
			return tenant + "#" + randString(6)
		case 2: // a near miss: the tenant id with a character changed, dropped or added
			if tenant == "" {
				return randString(4) + "#" + randString(3)
			}
			r := []rune(tenant)
			i := rng.IntN(len(r))
			switch rng.IntN(3) {
			case 0:
				r[i] = []rune(alphabet)[rng.IntN(len([]rune(alphabet)))]
			case 1:
				r = append(r[:i], r[i+1:]...)
			default:
				r = append(r[:i], append([]rune{'*'}, r[i:]...)...)
			}
			return string(r) + "#" + randString(3)
		case 3: // the tenant id without the separator
			return tenant + randString(3)
		}
		return randString(10)
	}
	allowedByTenants := 0
	for i := range 20000 {
		tenant := randString(6)
		keys := make([]string, rng.IntN(4)) // zero keys: the Null check must deny
		for k := range keys {
			keys[k] = randKey(tenant)
		}
		req := &Request{Action: "dynamodb:BatchGetItem", Resource: orders}
		req.Context.Add(tenantTag, tenant)
		want := len(keys) > 0
		for _, k := range keys {
			req.Context.Add(leading, k)
			want = want && strings.HasPrefix(k, tenant+"#")
		}
		if got := Evaluate([]*Policy{p}, nil, req).Allowed; got != want {
			t.Fatalf("case %d: tenant %q keys %q: Allowed = %v, want %v", i, tenant, keys, got, want)
		}
		if want {
			allowedByTenants++
		}
	}
	// The generator must exercise both answers, or the property says little.
	if allowedByTenants < 2000 || allowedByTenants > 18000 {
		t.Fatalf("only %d of 20000 cases allowed: generator is lopsided", allowedByTenants)
	}
}
