package dataapi

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/bulkhead-dev/bulkhead/internal/data/store"
	"github.com/bulkhead-dev/bulkhead/internal/data/store/postgres"
	"github.com/bulkhead-dev/bulkhead/internal/iam/policy"
	"github.com/bulkhead-dev/bulkhead/internal/pgtest"
)

// isolationTenants are the 50 tenants of the property test: ordinary ids,
// ids that are prefixes of others, and ids with the policy language's
// wildcards in them, which must stay literal text.
func isolationTenants() []string {
	out := []string{"t0", "t1", "a*", "a?", "ab", "*", "?"}
	for i := 0; len(out) < 50; i++ {
		out = append(out, fmt.Sprintf("t%02d", i))
	}
	return out
}

// isolationModel is what the table must hold: per partition key, sort key
// to value.
type isolationModel map[string]map[string]string

func (m isolationModel) items(pk string) []string {
	var out []string
	for _, sk := range slices.Sorted(maps.Keys(m[pk])) {
		out = append(out, pk+"/"+sk+"="+m[pk][sk])
	}
	return out
}

func (m isolationModel) all() []string {
	var out []string
	for _, pk := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m.items(pk)...)
	}
	return out
}

func rows(items []map[string]types.AttributeValue) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, sval(it, "pk")+"/"+sval(it, "sk")+"="+sval(it, "v"))
	}
	slices.Sort(out)
	return out
}

// isolationProperty runs seeded random item operations from 50 tenants,
// each with the canonical pool policy, aimed at their own keys and at other
// tenants', on store s. With the policy in force (skipPolicy false), every
// cross-tenant attempt must be AccessDeniedException and every own-tenant
// one must succeed and agree with a model. With skipPolicy, only the
// store's owner check stands: cross-tenant writes are refused or change
// nothing, cross-tenant reads find nothing. Either way the table must end
// exactly as the model says.
func isolationProperty(t *testing.T, s store.Store, skipPolicy bool, seed uint64, ops int) {
	e := newEnvOn(t, s, func(c *Config) { c.SkipPolicy = skipPolicy })
	e.createTable("Orders", false)
	ctx := t.Context()
	tenants := isolationTenants()
	clients := map[string]*dynamodb.Client{}
	model := isolationModel{}
	var seedWrites []types.WriteRequest
	flush := func() {
		if len(seedWrites) == 0 {
			return
		}
		if _, err := e.admin.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"Orders": seedWrites}}); err != nil {
			t.Fatal(err)
		}
		seedWrites = nil
	}
	for _, tn := range tenants {
		clients[tn] = e.client(e.addTenant(tn, "Orders"))
		pk := tn + "#orders"
		model[pk] = map[string]string{}
		for i := range 3 {
			sk, v := fmt.Sprint(i), fmt.Sprintf("seed-%s-%d", tn, i)
			model[pk][sk] = v
			seedWrites = append(seedWrites, types.WriteRequest{PutRequest: &types.PutRequest{Item: item(pk, sk, "v", v)}})
			if len(seedWrites) == 25 {
				flush()
			}
		}
	}
	flush()

	rng := rand.New(rand.NewPCG(seed, 0))
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	counts := map[string]int{}
	for step := range ops {
		actor := pick(tenants)
		target := actor
		if rng.IntN(2) == 0 {
			for target == actor {
				target = pick(tenants)
			}
		}
		cross := target != actor
		c := clients[actor]
		pk := target + "#orders"
		sk := fmt.Sprint(rng.IntN(5))
		value := fmt.Sprintf("v%d", step)
		op := []string{"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "BatchGetItem", "BatchWriteItem", "Scan"}[rng.IntN(8)]
		what := fmt.Sprintf("step %d: %s as %q on %q (seed %d)", step, op, actor, pk+"/"+sk, seed)
		counts[op+map[bool]string{true: " cross", false: " own"}[cross]]++
		denied := func(err error) {
			t.Helper()
			if code, _ := apiCode(err); code != "AccessDeniedException" {
				t.Fatalf("%s: error %v, want AccessDeniedException", what, err)
			}
		}
		ok := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		}
		switch op {
		case "GetItem":
			out, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("Orders"), Key: key(pk, sk)})
			switch {
			case cross && !skipPolicy:
				denied(err)
			case cross:
				ok(err)
				if out.Item != nil {
					t.Fatalf("%s: read another tenant's item %v", what, out.Item)
				}
			default:
				ok(err)
				if want, has := model[pk][sk]; has != (out.Item != nil) || sval(out.Item, "v") != want {
					t.Fatalf("%s: item %v, want v=%q (exists %v)", what, out.Item, want, has)
				}
			}
		case "PutItem":
			_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("Orders"), Item: item(pk, sk, "v", value)})
			if cross {
				denied(err) // the policy, or else the store: the owner is not the caller
				break
			}
			ok(err)
			model[pk][sk] = value
		case "UpdateItem":
			_, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String("Orders"), Key: key(pk, sk),
				UpdateExpression: aws.String("SET v = :v"), ExpressionAttributeValues: map[string]types.AttributeValue{":v": S(value)}})
			if cross {
				denied(err)
				break
			}
			ok(err)
			model[pk][sk] = value
		case "DeleteItem":
			_, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String("Orders"), Key: key(pk, sk)})
			switch {
			case cross && !skipPolicy:
				denied(err)
			case cross:
				ok(err) // the row is not there for the caller: nothing to delete
			default:
				ok(err)
				delete(model[pk], sk)
			}
		case "Query":
			out, err := c.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("Orders"), KeyConditionExpression: aws.String("pk = :p"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":p": S(pk)}})
			switch {
			case cross && !skipPolicy:
				denied(err)
			case cross:
				ok(err)
				if len(out.Items) != 0 {
					t.Fatalf("%s: query saw another tenant's items %v", what, rows(out.Items))
				}
			default:
				ok(err)
				if got, want := rows(out.Items), model.items(pk); !slices.Equal(got, want) {
					t.Fatalf("%s: query = %v, want %v", what, got, want)
				}
			}
		case "BatchGetItem":
			own := actor + "#orders"
			keys := []map[string]types.AttributeValue{key(own, "0"), key(own, "3")}
			if cross {
				keys = append(keys, key(pk, sk))
			}
			out, err := c.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{"Orders": {Keys: keys}}})
			if cross && !skipPolicy {
				denied(err)
				break
			}
			ok(err)
			var want []string
			for _, sk := range []string{"0", "3"} {
				if v, has := model[own][sk]; has {
					want = append(want, own+"/"+sk+"="+v)
				}
			}
			if got := rows(out.Responses["Orders"]); !slices.Equal(got, want) {
				t.Fatalf("%s: batch get = %v, want %v", what, got, want)
			}
		case "BatchWriteItem":
			own := actor + "#orders"
			reqs := []types.WriteRequest{{PutRequest: &types.PutRequest{Item: item(own, "4", "v", value)}}}
			crossDelete := rng.IntN(2) == 0
			if cross {
				if crossDelete {
					reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: key(pk, sk)}})
				} else {
					reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item(pk, sk, "v", value)}})
				}
			}
			_, err := c.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"Orders": reqs}})
			_, targetExists := model[pk][sk]
			switch {
			case cross && !skipPolicy:
				denied(err)
			case cross && (!crossDelete || targetExists):
				denied(err) // the store refuses the whole batch
			default:
				// Own writes only, or (the store alone) a delete of another
				// tenant's key where there is no row: nothing to refuse.
				ok(err)
				model[own]["4"] = value
			}
		case "Scan":
			out, err := c.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("Orders")})
			if !skipPolicy {
				denied(err) // the canonical pool policy does not grant Scan
				break
			}
			ok(err)
			if got, want := rows(out.Items), model.items(actor+"#orders"); !slices.Equal(got, want) {
				t.Fatalf("%s: scan = %v, want only the caller's %v", what, got, want)
			}
		}
	}
	t.Logf("seed %d, %d operations: %v", seed, ops, counts)

	// The table holds exactly what the model says: no cross-tenant attempt
	// changed anything.
	var all []map[string]types.AttributeValue
	pg := dynamodb.NewScanPaginator(e.admin, &dynamodb.ScanInput{TableName: aws.String("Orders")})
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, out.Items...)
	}
	got, want := rows(all), model.all()
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("table after the run:\n%v\nwant\n%v", got, want)
	}
}

func TestIsolationProperty(t *testing.T) {
	t.Parallel()
	for _, seed := range []uint64{1, 2} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			isolationProperty(t, newEnv(t).store, false, seed, 400)
		})
	}
}

func TestIsolationPropertyStoreWallAlone(t *testing.T) {
	t.Parallel()
	for _, seed := range []uint64{3, 4} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			isolationProperty(t, newEnv(t).store, true, seed, 400)
		})
	}
}

func TestIsolationAccessDeniedMessage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createTable("Orders", false)
	c := e.client(e.addTenant("acme", "Orders"))
	_, err := c.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String("Orders"), Key: key("zeta#1", "x")})
	wantAPIError(t, err, "AccessDeniedException",
		"User: arn:aws:sts::123456789012:assumed-role/tenant-role/acme is not authorized to perform: dynamodb:GetItem on resource: "+
			"arn:aws:dynamodb:us-east-1:123456789012:table/Orders because no identity-based policy allows the dynamodb:GetItem action")
	// A missing table is denied the same way: its existence is not told.
	_, err = c.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String("Nope"), Key: key("acme#1", "x")})
	wantAPIError(t, err, "AccessDeniedException", "")
	// Own keys pass.
	if _, err := c.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String("Orders"), Item: item("acme#1", "x")}); err != nil {
		t.Fatal(err)
	}
	// A key without the delimiter is not under the tenant's prefix.
	_, err = c.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String("Orders"), Item: item("acme", "x")})
	wantAPIError(t, err, "AccessDeniedException", "")
	// Table operations are not granted.
	_, err = c.DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: aws.String("Orders")})
	wantAPIError(t, err, "AccessDeniedException", "")
}

func TestIsolationScan(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createTable("Orders", false)
	for _, tn := range []string{"acme", "zeta"} {
		for i := range 3 {
			if _, err := e.admin.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String("Orders"), Item: item(tn+"#o", fmt.Sprint(i), "v", tn)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The canonical pool policy does not grant Scan.
	canonical := e.client(e.addTenant("acme", "Orders"))
	_, err := canonical.Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String("Orders")})
	wantAPIError(t, err, "AccessDeniedException",
		"User: arn:aws:sts::123456789012:assumed-role/tenant-role/acme is not authorized to perform: dynamodb:Scan on resource: "+
			"arn:aws:dynamodb:us-east-1:123456789012:table/Orders because no identity-based policy allows the dynamodb:Scan action")

	// Nor would adding Scan to its ForAllValues statement: the Null check
	// fails for a request with no leading keys.
	withScan := strings.Replace(canonicalPoolPolicy("Orders"), `"dynamodb:GetItem",`, `"dynamodb:GetItem","dynamodb:Scan",`, 1)
	sneaky := e.client(e.addPrincipal("AKID-sneaky", Principal{ARN: "arn:aws:sts::123456789012:assumed-role/r/acme", Tenant: "acme",
		Identity: []*policy.Policy{mustPolicy(t, withScan)}, Context: tenantContext("acme")}))
	_, err = sneaky.Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String("Orders")})
	wantAPIError(t, err, "AccessDeniedException", "")

	// An explicit Scan grant lets the tenant scan, and the store still
	// shows it only its own rows, Count and DescribeTable's ItemCount alike.
	granted := e.client(e.addPrincipal("AKID-granted", Principal{ARN: "arn:aws:sts::123456789012:assumed-role/r/acme", Tenant: "acme",
		Identity: []*policy.Policy{mustPolicy(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["dynamodb:Scan","dynamodb:DescribeTable"],"Resource":"*"}]}`)},
		Context:  tenantContext("acme")}))
	out, err := granted.Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String("Orders")})
	if err != nil {
		t.Fatal(err)
	}
	if got := rows(out.Items); len(got) != 3 || !strings.HasPrefix(got[0], "acme#o/") || !strings.HasPrefix(got[2], "acme#o/") || out.ScannedCount != 3 {
		t.Fatalf("granted Scan = %v (scanned %d), want acme's 3 rows", got, out.ScannedCount)
	}
	// A start key inside another tenant's rows reveals nothing either.
	out, err = granted.Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String("Orders"), ExclusiveStartKey: key("zeta#o", "0")})
	if err != nil || len(out.Items) != 0 {
		t.Fatalf("Scan from zeta's key = %v, %v", rows(out.Items), err)
	}
	desc, err := granted.DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: aws.String("Orders")})
	if err != nil || aws.ToInt64(desc.Table.ItemCount) != 3 {
		t.Fatalf("DescribeTable as acme = %+v, %v; want ItemCount 3", desc, err)
	}
}

func TestIsolationWildcardTenants(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createTable("Orders", false)
	for _, pk := range []string{"ab#1", "a*#1", "a?#1", "abc#1"} {
		if _, err := e.admin.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String("Orders"), Item: item(pk, "x", "v", pk)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tn := range []string{"a*", "a?", "*", "?"} {
		c := e.client(e.addTenant(tn, "Orders"))
		own := tn + "#1"
		got, err := c.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String("Orders"), Key: key(own, "x")})
		if tn == "a*" || tn == "a?" {
			if err != nil || sval(got.Item, "v") != own {
				t.Fatalf("%q reading its own key: %v, %v", tn, got, err)
			}
		}
		for _, other := range []string{"ab#1", "abc#1", "a*#1", "a?#1"} {
			if other == own {
				continue
			}
			_, err := c.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String("Orders"), Key: key(other, "x")})
			wantAPIError(t, err, "AccessDeniedException", "")
			_, err = c.Query(t.Context(), &dynamodb.QueryInput{TableName: aws.String("Orders"), KeyConditionExpression: aws.String("pk = :p"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":p": S(other)}})
			wantAPIError(t, err, "AccessDeniedException", "")
			_, err = c.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String("Orders"), Item: item(other, "x")})
			wantAPIError(t, err, "AccessDeniedException", "")
		}
	}
}

func TestIsolationSiloAndShared(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.SkipPolicy = true }) // the store's wall alone
	e.createTable("AcmeOrders", false, types.Tag{Key: aws.String(TagTenancy), Value: aws.String(TenancySilo)}, types.Tag{Key: aws.String(TagTenant), Value: aws.String("acme")})
	e.createTable("Config", true, types.Tag{Key: aws.String(TagTenancy), Value: aws.String(TenancyShared)})
	e.createTable("Slash", true, types.Tag{Key: aws.String(TagTenantDelimiter), Value: aws.String("/")})
	ctx := t.Context()
	acme := e.client(e.addTenant("acme", "AcmeOrders"))
	zeta := e.client(e.addTenant("zeta", "AcmeOrders"))

	// Silo: any key is acme's.
	if _, err := acme.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("AcmeOrders"), Item: item("anything", "1", "v", "a")}); err != nil {
		t.Fatalf("acme writing its silo: %v", err)
	}
	_, err := zeta.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("AcmeOrders"), Item: item("zeta#x", "1")})
	wantAPIError(t, err, "AccessDeniedException", "")
	got, err := zeta.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("AcmeOrders"), Key: key("anything", "1")})
	if err != nil || got.Item != nil {
		t.Fatalf("zeta reading acme's silo: %v, %v", got, err)
	}

	// Shared: no tenant sees or writes rows; the admin does.
	if _, err := e.admin.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("Config"), Item: item("acme#flags", "", "v", "1")}); err != nil {
		t.Fatal(err)
	}
	got, err = acme.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("Config"), Key: key("acme#flags", "")})
	if err != nil || got.Item != nil {
		t.Fatalf("acme reading a shared row: %v, %v", got, err)
	}
	_, err = acme.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("Config"), Item: item("acme#flags", "")})
	wantAPIError(t, err, "AccessDeniedException", "")

	// A pool table with another delimiter.
	if _, err := acme.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("Slash"), Item: item("acme/1", "")}); err != nil {
		t.Fatalf("acme writing acme/1: %v", err)
	}
	_, err = acme.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("Slash"), Item: item("acme#1", "")})
	wantAPIError(t, err, "AccessDeniedException", "")
}

func TestIsolationSessionPolicy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createTable("Orders", false)
	// The role allows the pool statement; the session narrows it to reads.
	c := e.client(e.addPrincipal("AKID-ro", Principal{ARN: "arn:aws:sts::123456789012:assumed-role/r/acme", Tenant: "acme",
		Identity: []*policy.Policy{mustPolicy(t, canonicalPoolPolicy("Orders"))},
		Session:  mustPolicy(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"dynamodb:GetItem","Resource":"*"}]}`),
		Context:  tenantContext("acme")}))
	if _, err := c.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String("Orders"), Key: key("acme#1", "x")}); err != nil {
		t.Fatal(err)
	}
	_, err := c.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String("Orders"), Item: item("acme#1", "x")})
	wantAPIError(t, err, "AccessDeniedException",
		"User: arn:aws:sts::123456789012:assumed-role/r/acme is not authorized to perform: dynamodb:PutItem on resource: "+
			"arn:aws:dynamodb:us-east-1:123456789012:table/Orders because no session policy allows the dynamodb:PutItem action")
}

// TestIsolationConditionKeys checks the condition keys the handler computes
// from requests, with policies that allow exactly one value.
func TestIsolationConditionKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createTable("Orders", false)
	allow := func(cond string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"dynamodb:*","Resource":"*","Condition":` + cond + `}]}`
	}
	client := func(name, doc string) *dynamodb.Client {
		return e.client(e.addPrincipal("AKID-"+name, Principal{ARN: "arn:aws:sts::123456789012:assumed-role/r/" + name,
			Identity: []*policy.Policy{mustPolicy(t, doc)}}))
	}
	ctx := context.Background()
	// dynamodb:Attributes: only pk, sk and v may be touched.
	attrs := client("attrs", allow(`{"ForAllValues:StringEquals":{"dynamodb:Attributes":["pk","sk","v"]},"StringEqualsIfExists":{"dynamodb:Select":"SPECIFIC_ATTRIBUTES","dynamodb:ReturnValues":["NONE","UPDATED_OLD","UPDATED_NEW"]}}`))
	if _, err := attrs.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String("Orders"), Key: key("a#1", "x"),
		UpdateExpression: aws.String("SET v = :v"), ExpressionAttributeValues: map[string]types.AttributeValue{":v": S("1")}, ReturnValues: types.ReturnValueUpdatedNew}); err != nil {
		t.Fatalf("update of v: %v", err)
	}
	_, err := attrs.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String("Orders"), Key: key("a#1", "x"),
		UpdateExpression: aws.String("SET secret = :v"), ExpressionAttributeValues: map[string]types.AttributeValue{":v": S("1")}})
	wantAPIError(t, err, "AccessDeniedException", "")
	_, err = attrs.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String("Orders"), Key: key("a#1", "x"),
		UpdateExpression: aws.String("SET v = :v"), ExpressionAttributeValues: map[string]types.AttributeValue{":v": S("1")}, ReturnValues: types.ReturnValueAllNew})
	wantAPIError(t, err, "AccessDeniedException", "")
	_, err = attrs.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("Orders"), KeyConditionExpression: aws.String("pk = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": S("a#1")}, Select: types.SelectAllAttributes})
	wantAPIError(t, err, "AccessDeniedException", "")
	if _, err := attrs.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("Orders"), KeyConditionExpression: aws.String("pk = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": S("a#1")}, Select: types.SelectSpecificAttributes, ProjectionExpression: aws.String("v")}); err != nil {
		t.Fatalf("projected query: %v", err)
	}

	// dynamodb:LeadingKeys of a Query is the value bound to the partition
	// key, whatever the alias; of a batch, every key.
	lead := client("lead", allow(`{"ForAllValues:StringEquals":{"dynamodb:LeadingKeys":["a#1"]},"Null":{"dynamodb:LeadingKeys":"false"}}`))
	if _, err := lead.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("Orders"), KeyConditionExpression: aws.String("#k = :p AND sk > :s"),
		ExpressionAttributeNames: map[string]string{"#k": "pk"}, ExpressionAttributeValues: map[string]types.AttributeValue{":p": S("a#1"), ":s": S("a#2")}}); err != nil {
		t.Fatalf("query of a#1 (the sort value a#2 is not a leading key): %v", err)
	}
	_, err = lead.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{"Orders": {
		Keys: []map[string]types.AttributeValue{key("a#1", "x"), key("a#2", "x")}}}})
	wantAPIError(t, err, "AccessDeniedException", "")
	if _, err := lead.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{"Orders": {
		Keys: []map[string]types.AttributeValue{key("a#1", "x"), key("a#1", "y")}}}}); err != nil {
		t.Fatalf("batch get of a#1 only: %v", err)
	}
	// A request with no partition key at all has no leading keys: the Null
	// check refuses it rather than ForAllValues passing vacuously.
	_, err = lead.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("Orders"), Key: map[string]types.AttributeValue{"sk": S("x")}})
	wantAPIError(t, err, "AccessDeniedException", "")
}

// TestMain shares one throwaway PostgreSQL cluster between the tests that
// ask for one; it starts only if one does.
func TestMain(m *testing.M) { pgtest.Main(m) }

// TestIsolationPostgres runs the property test, both walls and the store's
// alone, against the PostgreSQL backend, whose owner check is row-level
// security under a role that cannot bypass it. pgtest skips it, saying why,
// where PostgreSQL is not installed.
func TestIsolationPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	for _, skipPolicy := range []bool{false, true} {
		t.Run(fmt.Sprintf("SkipPolicy=%v", skipPolicy), func(t *testing.T) {
			c := pgtest.Start(t)
			s, err := postgres.Open(t.Context(), postgres.Config{OwnerDSN: c.DSN(),
				AppDSN: c.DSNAs("bulkhead_data_app"), ServiceDSN: c.DSNAs("bulkhead_data_service")})
			if err != nil {
				t.Fatalf("postgres.Open: %v", err)
			}
			t.Cleanup(func() { s.Close() })
			isolationProperty(t, s, skipPolicy, 5, 300)
		})
	}
}
