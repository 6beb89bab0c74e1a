package dataapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/data/ddb"
	"github.com/bulkhead-dev/bulkhead/internal/data/store"
	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/uuid"
)

// The tenancies of a table, chosen at CreateTable with the TagTenancy tag.
const (
	// TenancyPool: rows of many tenants in one table; a row belongs to the
	// tenant its partition key starts with, up to the first delimiter.
	TenancyPool = "pool"
	// TenancySilo: a table of one tenant (TagTenant); every row is its.
	TenancySilo = "silo"
	// TenancyShared: rows no tenant owns; only service principals see them.
	TenancyShared = "shared"
)

// The tags that choose a table's tenancy at CreateTable.
const (
	// TagTenancy is pool (the default), silo or shared.
	TagTenancy = "bulkhead:tenancy"
	// TagTenant names the tenant of a silo table.
	TagTenant = "bulkhead:tenant"
	// TagTenantDelimiter is the text that ends the tenant prefix of a pool
	// table's partition keys; "#" by default.
	TagTenantDelimiter = "bulkhead:tenant-delimiter"
)

// definitionVersion is the version of the stored definition's layout.
const definitionVersion = 1

// definition is what the data API keeps of a table in
// store.Table.Definition: the table's key schema and tenancy, and what
// DescribeTable reports back. It is JSON, versioned.
type definition struct {
	Version   int       `json:"version"`
	TableID   string    `json:"table_id"`
	Partition keyColumn `json:"partition"`
	Sort      keyColumn `json:"sort,omitzero"`
	Tenancy   string    `json:"tenancy"`
	// Delimiter ends a pool table's tenant prefix.
	Delimiter string `json:"delimiter,omitempty"`
	// Tenant owns every row of a silo table.
	Tenant      string `json:"tenant,omitempty"`
	BillingMode string `json:"billing_mode"`
	Read        int64  `json:"read_capacity,omitempty"`
	Write       int64  `json:"write_capacity,omitempty"`
	Tags        []tag  `json:"tags,omitempty"`

	// Derived when loaded, not stored.
	name   string
	arn    string
	schema ddb.KeySchema
}

type keyColumn struct {
	Name string `json:"name"`
	Type string `json:"type"` // S, N or B
}

type tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// parseDefinition reads a stored definition and checks it, so that a
// damaged catalogue entry fails the request rather than misplacing rows.
func parseDefinition(name, arn string, raw []byte) (*definition, error) {
	var d definition
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("table %q: definition: %w", name, err)
	}
	if d.Version != definitionVersion {
		return nil, fmt.Errorf("table %q: definition version %d, want %d", name, d.Version, definitionVersion)
	}
	pt, ok := ddb.ParseType(d.Partition.Type)
	if !ok || !pt.IsScalarKey() || d.Partition.Name == "" {
		return nil, fmt.Errorf("table %q: definition: bad partition key %+v", name, d.Partition)
	}
	d.schema.Partition = ddb.KeyAttribute{Name: d.Partition.Name, Type: pt}
	if d.Sort.Name != "" {
		st, ok := ddb.ParseType(d.Sort.Type)
		if !ok || !st.IsScalarKey() {
			return nil, fmt.Errorf("table %q: definition: bad sort key %+v", name, d.Sort)
		}
		d.schema.Sort = ddb.KeyAttribute{Name: d.Sort.Name, Type: st}
	}
	switch d.Tenancy {
	case TenancyPool:
		if d.Delimiter == "" || pt != ddb.TypeS {
			return nil, fmt.Errorf("table %q: definition: pool table without a delimiter or a string partition key", name)
		}
	case TenancySilo:
		if d.Tenant == "" {
			return nil, fmt.Errorf("table %q: definition: silo table without a tenant", name)
		}
	case TenancyShared:
	default:
		return nil, fmt.Errorf("table %q: definition: tenancy %q", name, d.Tenancy)
	}
	d.name, d.arn = name, arn
	return &d, nil
}

// owner returns the tenant that owns the row of an item (or a key) in this
// table: the partition key's prefix in a pool table, the table's tenant in a
// silo, no one ("") in a shared table. It is computed from the key alone,
// never from what the client claims, so every row's owner follows from its
// key and the table's tenancy.
func (d *definition) owner(item ddb.Item) string {
	switch d.Tenancy {
	case TenancyPool:
		pk := item[d.schema.Partition.Name].S()
		if i := strings.Index(pk, d.Delimiter); i >= 0 {
			return pk[:i]
		}
		return pk
	case TenancySilo:
		return d.Tenant
	}
	return ""
}

// key returns the store key of an item or key valid for the schema.
func (d *definition) key(item ddb.Item) (store.Key, error) {
	pk, err := ddb.EncodeKey(item[d.schema.Partition.Name])
	if err != nil {
		return store.Key{}, err
	}
	k := store.Key{PK: pk}
	if d.schema.HasSort() {
		if k.SK, err = ddb.EncodeKey(item[d.schema.Sort.Name]); err != nil {
			return store.Key{}, err
		}
	}
	return k, nil
}

// keyID is a map key for a store key, to find duplicates in batches.
func keyID(k store.Key) string {
	return fmt.Sprintf("%d:%s%s", len(k.PK), k.PK, k.SK)
}

// tableCache keeps parsed definitions by table name, each with the raw
// definition and creation time it was parsed from: a table dropped and
// made again under the same name has another, so an entry is used only
// while the store still returns the same bytes. It spares each request a
// JSON decode; the store is still asked for the table every time.
type tableCache struct {
	mu sync.Mutex
	m  map[string]cachedDefinition
}

type cachedDefinition struct {
	raw     []byte
	created time.Time
	def     *definition
}

// maxCachedTables bounds the cache; past it, the cache starts again.
const maxCachedTables = 4096

func (tc *tableCache) get(t store.Table, arn string) (*definition, error) {
	tc.mu.Lock()
	e, ok := tc.m[t.Name]
	tc.mu.Unlock()
	if ok && e.created.Equal(t.Created) && string(e.raw) == string(t.Definition) {
		return e.def, nil
	}
	d, err := parseDefinition(t.Name, arn, t.Definition)
	if err != nil {
		return nil, err
	}
	tc.mu.Lock()
	if tc.m == nil || len(tc.m) >= maxCachedTables {
		tc.m = make(map[string]cachedDefinition)
	}
	tc.m[t.Name] = cachedDefinition{raw: t.Definition, created: t.Created, def: d}
	tc.mu.Unlock()
	return d, nil
}

// tableARN is the ARN of a table.
func (h *handler) tableARN(name string) string {
	return "arn:aws:dynamodb:" + h.cfg.Region + ":" + h.cfg.Account + ":table/" + name
}

// table loads a table's definition; a missing table is (nil, nil), for the
// caller to authorize before it answers ResourceNotFoundException.
func (c *call) table(name string) (*definition, time.Time, error) {
	t, err := c.h.cfg.Store.Table(c.ctx, name)
	if errors.Is(err, errdefs.ErrNotFound) {
		return nil, time.Time{}, nil
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	d, err := c.h.tables.get(t, c.h.tableARN(name))
	if err != nil {
		return nil, time.Time{}, err
	}
	return d, t.Created, nil
}

// Table operations.

type keySchemaElement struct {
	AttributeName *string `json:"AttributeName"`
	KeyType       *string `json:"KeyType"`
}

type attributeDefinition struct {
	AttributeName *string `json:"AttributeName"`
	AttributeType *string `json:"AttributeType"`
}

type provisionedThroughput struct {
	ReadCapacityUnits  *int64 `json:"ReadCapacityUnits"`
	WriteCapacityUnits *int64 `json:"WriteCapacityUnits"`
}

type createTableInput struct {
	TableName              *string                `json:"TableName"`
	KeySchema              []keySchemaElement     `json:"KeySchema"`
	AttributeDefinitions   []attributeDefinition  `json:"AttributeDefinitions"`
	BillingMode            *string                `json:"BillingMode"`
	ProvisionedThroughput  *provisionedThroughput `json:"ProvisionedThroughput"`
	Tags                   []tagInput             `json:"Tags"`
	GlobalSecondaryIndexes json.RawMessage        `json:"GlobalSecondaryIndexes"`
	LocalSecondaryIndexes  json.RawMessage        `json:"LocalSecondaryIndexes"`
	StreamSpecification    *struct {
		StreamEnabled *bool `json:"StreamEnabled"`
	} `json:"StreamSpecification"`
}

type tagInput struct {
	Key   *string `json:"Key"`
	Value *string `json:"Value"`
}

func (*createTableInput) args() []*itemArg { return nil }

// maxCapacityUnits is DynamoDB's bound on provisioned capacity units.
const maxCapacityUnits = 1_000_000_000_000

func (c *call) createTable(body []byte) ([]byte, error) {
	var in createTableInput
	if err := decode(body, &in, false); err != nil {
		return nil, err
	}
	var v constraints
	if in.AttributeDefinitions == nil {
		v.add(nil, "attributeDefinitions", "Member must not be null")
	}
	v.tableName(in.TableName, "tableName", false)
	if in.KeySchema == nil {
		v.add(nil, "keySchema", "Member must not be null")
	} else if n := len(in.KeySchema); n < 1 || n > 2 {
		s := fmt.Sprint(len(in.KeySchema))
		rule := "Member must have length less than or equal to 2"
		if n < 1 {
			rule = "Member must have length greater than or equal to 1"
		}
		v.add(&s, "keySchema", rule)
	}
	for i, ks := range in.KeySchema {
		path := fmt.Sprintf("keySchema.%d.member", i+1)
		if ks.AttributeName == nil {
			v.add(nil, path+".attributeName", "Member must not be null")
		}
		if ks.KeyType == nil {
			v.add(nil, path+".keyType", "Member must not be null")
		}
		v.enum(ks.KeyType, path+".keyType", "HASH", "RANGE")
	}
	for i, ad := range in.AttributeDefinitions {
		path := fmt.Sprintf("attributeDefinitions.%d.member", i+1)
		if ad.AttributeName == nil {
			v.add(nil, path+".attributeName", "Member must not be null")
		}
		if ad.AttributeType == nil {
			v.add(nil, path+".attributeType", "Member must not be null")
		}
		v.enum(ad.AttributeType, path+".attributeType", "B", "N", "S")
	}
	v.enum(in.BillingMode, "billingMode", "PROVISIONED", "PAY_PER_REQUEST")
	if pt := in.ProvisionedThroughput; pt != nil {
		v.atLeast(pt.ReadCapacityUnits, "provisionedThroughput.readCapacityUnits", 1)
		v.atLeast(pt.WriteCapacityUnits, "provisionedThroughput.writeCapacityUnits", 1)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	name := *in.TableName
	c.resource = c.h.tableARN(name)
	if err := c.authorizeTable("CreateTable", in.Tags); err != nil {
		return nil, err
	}
	d, err := newDefinition(&in)
	if err != nil {
		return nil, err
	}
	created := c.now.UTC().Truncate(time.Millisecond)
	err = c.h.cfg.Store.CreateTable(c.ctx, store.Table{Name: name, Definition: mustMarshal(d), Created: created})
	if errors.Is(err, errdefs.ErrAlreadyExists) {
		return nil, newError("ResourceInUseException", "Table already exists: "+name)
	}
	if err != nil {
		return nil, err
	}
	d.name, d.arn = name, c.resource
	return marshal(map[string]any{"TableDescription": c.describe(d, created, "ACTIVE", 0, 0)})
}

// newDefinition checks a CreateTable request past its constraints, as
// DynamoDB does (messages from architect/dynalite validations/createTable.js,
// tested against DynamoDB), and makes the table's definition.
func newDefinition(in *createTableInput) (*definition, error) {
	if given(in.GlobalSecondaryIndexes) || given(in.LocalSecondaryIndexes) {
		return nil, validationError("Bulkhead's data API does not support secondary indexes yet: remove GlobalSecondaryIndexes and LocalSecondaryIndexes")
	}
	if in.StreamSpecification != nil && in.StreamSpecification.StreamEnabled != nil && *in.StreamSpecification.StreamEnabled {
		return nil, validationError("Bulkhead's data API does not support DynamoDB Streams: StreamSpecification.StreamEnabled must be false")
	}
	d := &definition{Version: definitionVersion, TableID: uuid.New(), BillingMode: "PROVISIONED"}
	if in.BillingMode != nil {
		d.BillingMode = *in.BillingMode
	}
	pt := in.ProvisionedThroughput
	if d.BillingMode == "PAY_PER_REQUEST" {
		if pt != nil {
			return nil, validationError("One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST")
		}
	} else {
		if pt == nil || pt.ReadCapacityUnits == nil || pt.WriteCapacityUnits == nil {
			return nil, validationError("One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED")
		}
		if *pt.ReadCapacityUnits > maxCapacityUnits {
			return nil, validationError("Given value %d for ReadCapacityUnits is out of bounds", *pt.ReadCapacityUnits)
		}
		if *pt.WriteCapacityUnits > maxCapacityUnits {
			return nil, validationError("Given value %d for WriteCapacityUnits is out of bounds", *pt.WriteCapacityUnits)
		}
		d.Read, d.Write = *pt.ReadCapacityUnits, *pt.WriteCapacityUnits
	}
	defs := make([]string, len(in.AttributeDefinitions))
	types := make(map[string]string, len(defs))
	for i, ad := range in.AttributeDefinitions {
		defs[i] = *ad.AttributeName
		types[*ad.AttributeName] = *ad.AttributeType
	}
	keys := make([]string, len(in.KeySchema))
	for i, ks := range in.KeySchema {
		keys[i] = *ks.AttributeName
	}
	if len(keys) > len(defs) {
		return nil, validationError("Invalid KeySchema: Some index key attribute have no definition")
	}
	for _, k := range keys {
		if _, ok := types[k]; !ok {
			return nil, validationError("One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [%s], AttributeDefinitions: [%s]",
				strings.Join(keys, ", "), strings.Join(defs, ", "))
		}
	}
	if len(keys) == 2 && keys[0] == keys[1] {
		return nil, validationError("Both the Hash Key and the Range Key element in the KeySchema have the same name")
	}
	if *in.KeySchema[0].KeyType != "HASH" {
		return nil, validationError("Invalid KeySchema: The first KeySchemaElement is not a HASH key type")
	}
	if len(keys) == 2 && *in.KeySchema[1].KeyType != "RANGE" {
		return nil, validationError("Invalid KeySchema: The second KeySchemaElement is not a RANGE key type")
	}
	if len(keys) != len(defs) {
		return nil, validationError("One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions")
	}
	d.Partition = keyColumn{Name: keys[0], Type: types[keys[0]]}
	if len(keys) == 2 {
		d.Sort = keyColumn{Name: keys[1], Type: types[keys[1]]}
	}
	if err := d.applyTags(in.Tags); err != nil {
		return nil, err
	}
	pt0, _ := ddb.ParseType(d.Partition.Type)
	d.schema.Partition = ddb.KeyAttribute{Name: d.Partition.Name, Type: pt0}
	if d.Sort.Name != "" {
		st, _ := ddb.ParseType(d.Sort.Type)
		d.schema.Sort = ddb.KeyAttribute{Name: d.Sort.Name, Type: st}
	}
	return d, nil
}

// applyTags checks the request's tags (DynamoDB's limits: keys of 1 to 128
// characters, values of up to 256, at most 50, no key twice) and reads the
// tenancy from them.
func (d *definition) applyTags(tags []tagInput) error {
	if len(tags) > 50 {
		return validationError("One or more parameter values were invalid: The number of tags exceeds the limit of 50")
	}
	seen := make(map[string]bool, len(tags))
	for _, t := range tags {
		if t.Key == nil || t.Value == nil {
			return validationError("One or more parameter values were invalid: A tag must have a Key and a Value")
		}
		if n := utf8Len(*t.Key); n < 1 || n > 128 {
			return validationError("One or more parameter values were invalid: Tag key %q must be 1 to 128 characters long", *t.Key)
		}
		if utf8Len(*t.Value) > 256 {
			return validationError("One or more parameter values were invalid: The value of tag %q must be at most 256 characters long", *t.Key)
		}
		if seen[*t.Key] {
			return validationError("One or more parameter values were invalid: Duplicate tag key: %s", *t.Key)
		}
		seen[*t.Key] = true
		d.Tags = append(d.Tags, tag{Key: *t.Key, Value: *t.Value})
	}
	value := func(key string) (string, bool) {
		i := slices.IndexFunc(d.Tags, func(t tag) bool { return t.Key == key })
		if i < 0 {
			return "", false
		}
		return d.Tags[i].Value, true
	}
	d.Tenancy = TenancyPool
	if v, ok := value(TagTenancy); ok {
		d.Tenancy = v
	}
	tenant, hasTenant := value(TagTenant)
	delimiter, hasDelimiter := value(TagTenantDelimiter)
	switch d.Tenancy {
	case TenancyPool:
		if d.Partition.Type != "S" {
			return validationError("A %s=pool table needs a string (S) partition key: the tenant is its prefix", TagTenancy)
		}
		d.Delimiter = "#"
		if hasDelimiter {
			if delimiter == "" {
				return validationError("The tag %s must not be empty", TagTenantDelimiter)
			}
			d.Delimiter = delimiter
		}
		if hasTenant {
			return validationError("The tag %s applies only to %s=silo tables", TagTenant, TagTenancy)
		}
	case TenancySilo:
		if tenant == "" {
			return validationError("A %s=silo table needs the tag %s naming its tenant", TagTenancy, TagTenant)
		}
		d.Tenant = tenant
	case TenancyShared:
		if hasTenant {
			return validationError("The tag %s applies only to %s=silo tables", TagTenant, TagTenancy)
		}
	default:
		return validationError("The tag %s must be pool, silo or shared, not %q", TagTenancy, d.Tenancy)
	}
	if hasDelimiter && d.Tenancy != TenancyPool {
		return validationError("The tag %s applies only to %s=pool tables", TagTenantDelimiter, TagTenancy)
	}
	return nil
}

func utf8Len(s string) int { return len([]rune(s)) }

func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("dataapi: marshal %T: %v", v, err))
	}
	return b
}

// tableDescription is DynamoDB's TableDescription, the members the SDK's
// waiters and ordinary callers read.
type tableDescription struct {
	AttributeDefinitions      []attributeDefinitionOut `json:"AttributeDefinitions"`
	KeySchema                 []keySchemaOut           `json:"KeySchema"`
	TableName                 string                   `json:"TableName"`
	TableStatus               string                   `json:"TableStatus"`
	CreationDateTime          json.Number              `json:"CreationDateTime"`
	ProvisionedThroughput     throughputOut            `json:"ProvisionedThroughput"`
	TableSizeBytes            int64                    `json:"TableSizeBytes"`
	ItemCount                 int64                    `json:"ItemCount"`
	TableArn                  string                   `json:"TableArn"`
	TableId                   string                   `json:"TableId"`
	BillingModeSummary        *billingModeSummary      `json:"BillingModeSummary,omitempty"`
	DeletionProtectionEnabled bool                     `json:"DeletionProtectionEnabled"`
}

type attributeDefinitionOut struct {
	AttributeName string `json:"AttributeName"`
	AttributeType string `json:"AttributeType"`
}

type keySchemaOut struct {
	AttributeName string `json:"AttributeName"`
	KeyType       string `json:"KeyType"`
}

type throughputOut struct {
	NumberOfDecreasesToday int64 `json:"NumberOfDecreasesToday"`
	ReadCapacityUnits      int64 `json:"ReadCapacityUnits"`
	WriteCapacityUnits     int64 `json:"WriteCapacityUnits"`
}

type billingModeSummary struct {
	BillingMode                       string      `json:"BillingMode"`
	LastUpdateToPayPerRequestDateTime json.Number `json:"LastUpdateToPayPerRequestDateTime,omitempty"`
}

// epochSeconds is a timestamp as awsJson1_0 sends it: seconds since the
// epoch, with milliseconds.
func epochSeconds(t time.Time) json.Number {
	return json.Number(string(appendFloat(nil, float64(t.UnixMilli())/1000)))
}

func (c *call) describe(d *definition, created time.Time, status string, items, bytes int64) tableDescription {
	td := tableDescription{
		TableName:             d.name,
		TableStatus:           status,
		CreationDateTime:      epochSeconds(created),
		ProvisionedThroughput: throughputOut{ReadCapacityUnits: d.Read, WriteCapacityUnits: d.Write},
		TableSizeBytes:        bytes,
		ItemCount:             items,
		TableArn:              d.arn,
		TableId:               d.TableID,
	}
	if d.BillingMode == "PAY_PER_REQUEST" {
		td.BillingModeSummary = &billingModeSummary{BillingMode: d.BillingMode, LastUpdateToPayPerRequestDateTime: epochSeconds(created)}
	}
	for _, k := range []keyColumn{d.Partition, d.Sort} {
		if k.Name == "" {
			continue
		}
		td.AttributeDefinitions = append(td.AttributeDefinitions, attributeDefinitionOut{AttributeName: k.Name, AttributeType: k.Type})
	}
	td.KeySchema = append(td.KeySchema, keySchemaOut{AttributeName: d.Partition.Name, KeyType: "HASH"})
	if d.Sort.Name != "" {
		td.KeySchema = append(td.KeySchema, keySchemaOut{AttributeName: d.Sort.Name, KeyType: "RANGE"})
	}
	return td
}

type tableNameInput struct {
	TableName *string `json:"TableName"`
}

func (*tableNameInput) args() []*itemArg { return nil }

// describedTable decodes a DescribeTable or DeleteTable request, authorizes
// it and loads the table.
func (c *call) describedTable(body []byte) (*definition, time.Time, error) {
	var in tableNameInput
	if err := decode(body, &in, false); err != nil {
		return nil, time.Time{}, err
	}
	var v constraints
	v.tableName(in.TableName, "tableName", false)
	if err := v.err(); err != nil {
		return nil, time.Time{}, err
	}
	name := *in.TableName
	c.resource = c.h.tableARN(name)
	if err := c.authorizeTable(c.op, nil); err != nil {
		return nil, time.Time{}, err
	}
	d, created, err := c.table(name)
	if err != nil {
		return nil, time.Time{}, err
	}
	if d == nil {
		return nil, time.Time{}, errTableNotFound(name)
	}
	return d, created, nil
}

// describeTable answers DescribeTable. ItemCount and TableSizeBytes count
// the rows the caller's scope sees — a tenant learns nothing of other
// tenants' rows, not even how many there are — and TableSizeBytes counts
// the stored encoding. DynamoDB refreshes both about every six hours; these
// are exact, and cost a scan of the rows counted.
func (c *call) describeTable(body []byte) ([]byte, error) {
	d, created, err := c.describedTable(body)
	if err != nil {
		return nil, err
	}
	var items, size int64
	err = c.h.cfg.Store.Scan(c.ctx, c.scope, d.name, nil, 0, func(it store.Item) bool {
		items++
		size += int64(len(it.Data))
		return true
	})
	if errors.Is(err, errdefs.ErrNotFound) {
		return nil, errTableNotFound(d.name)
	}
	if err != nil {
		return nil, err
	}
	return marshal(map[string]any{"Table": c.describe(d, created, "ACTIVE", items, size)})
}

func (c *call) deleteTable(body []byte) ([]byte, error) {
	d, created, err := c.describedTable(body)
	if err != nil {
		return nil, err
	}
	err = c.h.cfg.Store.DeleteTable(c.ctx, d.name)
	if errors.Is(err, errdefs.ErrNotFound) {
		return nil, errTableNotFound(d.name)
	}
	if err != nil {
		return nil, err
	}
	return marshal(map[string]any{"TableDescription": c.describe(d, created, "DELETING", 0, 0)})
}

type listTablesInput struct {
	ExclusiveStartTableName *string `json:"ExclusiveStartTableName"`
	Limit                   *int64  `json:"Limit"`
}

func (*listTablesInput) args() []*itemArg { return nil }

// listTables answers ListTables: up to Limit (1 to 100, default 100) names
// after ExclusiveStartTableName, and LastEvaluatedTableName when more
// follow.
func (c *call) listTables(body []byte) ([]byte, error) {
	var in listTablesInput
	if err := decode(body, &in, false); err != nil {
		return nil, err
	}
	var v constraints
	v.tableName(in.ExclusiveStartTableName, "exclusiveStartTableName", true)
	v.atLeast(in.Limit, "limit", 1)
	if in.Limit != nil && *in.Limit > 100 {
		s := fmt.Sprint(*in.Limit)
		v.add(&s, "limit", "Member must have value less than or equal to 100")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	c.resource = "*"
	if err := c.authorizeTable("ListTables", nil); err != nil {
		return nil, err
	}
	limit := 100
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	tables, err := c.h.cfg.Store.Tables(c.ctx, str(in.ExclusiveStartTableName), limit+1)
	if err != nil {
		return nil, err
	}
	out := struct {
		TableNames             []string `json:"TableNames"`
		LastEvaluatedTableName string   `json:"LastEvaluatedTableName,omitempty"`
	}{TableNames: []string{}}
	for i, t := range tables {
		if i == limit {
			out.LastEvaluatedTableName = out.TableNames[limit-1]
			break
		}
		out.TableNames = append(out.TableNames, t.Name)
	}
	return marshal(out)
}
