package ddb

// Item is a DynamoDB item, or a key: attribute names to values. Items are
// treated as values; functions that change one return a new Item.
type Item map[string]AttributeValue

// MaxItemSize is DynamoDB's item size limit, 400 KB: an item of exactly
// 409,600 bytes (by Size) is accepted and one of 409,601 refused
// (paritysuite/dynamodb-conformance src/item-size.ts, captured 2026-08).
const MaxItemSize = 400 * 1024

// The errors for an item over MaxItemSize: the first from PutItem and the
// batch and transaction writes, the second from UpdateItem (dynalite
// actions/updateItem.js; nubo-db/dynamodb-conformance limits/itemSize).
var (
	ErrItemTooLarge         = validation("Item size has exceeded the maximum allowed size")
	ErrUpdatedItemTooLarge  = validation("Item size to update has exceeded the maximum allowed size")
	errDocumentPathNotValid = validation("The document path provided in the update expression is invalid for update")
)

// Size returns the bytes the item counts against MaxItemSize and capacity,
// by DynamoDB's rules (developer guide, "Item sizes and formats"): each
// attribute's name in UTF-8 bytes plus its value — a string's UTF-8 bytes, a
// binary's bytes, 1 for BOOL and NULL, a number by its significant digits
// (see decimal.size), a set the sum of its members, and a list or map 3 bytes
// plus, per element, 1 byte and its size (a map member's name included).
func Size(item Item) int {
	n := 0
	for name, v := range item {
		n += len(name) + valueSize(v)
	}
	return n
}

func valueSize(v AttributeValue) int {
	switch v.typ {
	case TypeS, TypeB:
		return len(v.str)
	case TypeN:
		return decimalOf(v.str).size()
	case TypeBOOL, TypeNULL:
		return 1
	case TypeSS, TypeNS, TypeBS:
		n := 0
		for _, m := range v.list {
			n += valueSize(m)
		}
		return n
	case TypeL:
		n := 3
		for _, e := range v.list {
			n += 1 + valueSize(e)
		}
		return n
	case TypeM:
		n := 3
		for name, e := range v.m {
			n += 1 + len(name) + valueSize(e)
		}
		return n
	}
	return 0
}

// KeyAttribute names a key attribute and its type (S, N or B).
type KeyAttribute struct {
	Name string
	Type Type
}

// KeySchema is the primary key of a table or an index: a partition key and,
// optionally, a sort key (Sort.Name == "" when there is none).
type KeySchema struct {
	Partition KeyAttribute
	Sort      KeyAttribute
}

// HasSort reports whether the schema has a sort key.
func (s KeySchema) HasSort() bool { return s.Sort.Name != "" }

// IsKey reports whether name is one of the schema's key attributes.
func (s KeySchema) IsKey(name string) bool {
	return name != "" && (name == s.Partition.Name || name == s.Sort.Name)
}

func (s KeySchema) attributes() []KeyAttribute {
	if s.HasSort() {
		return []KeyAttribute{s.Partition, s.Sort}
	}
	return []KeyAttribute{s.Partition}
}

// Key limits (developer guide, Constraints): partition key values up to
// 2048 bytes, sort key values up to 1024.
const (
	maxPartitionKeyBytes = 2048
	maxSortKeyBytes      = 1024
)

var errKeySchema = validation("The provided key element does not match the schema")

// ValidateKey checks a request's Key (GetItem, UpdateItem, DeleteItem, a batch
// or transaction key, ExclusiveStartKey) against the schema: exactly the key
// attributes, of the schema's types, not empty, within the size limits.
func (s KeySchema) ValidateKey(key Item) error {
	attrs := s.attributes()
	if len(key) != len(attrs) {
		return errKeySchema
	}
	for i, a := range attrs {
		v, ok := key[a.Name]
		if !ok || v.typ != a.Type {
			return errKeySchema
		}
		if err := checkKeyValue(a, v, i == 0); err != nil {
			return err
		}
	}
	return nil
}

// ValidateItem checks that an item to be written (PutItem, a batch or
// transaction Put) carries the schema's key attributes with the right types.
func (s KeySchema) ValidateItem(item Item) error {
	for i, a := range s.attributes() {
		v, ok := item[a.Name]
		if !ok {
			return invalidParameter("Missing the key %s in the item", a.Name)
		}
		if v.typ != a.Type {
			return invalidParameter("Type mismatch for key %s expected: %s actual: %s", a.Name, a.Type, v.typ)
		}
		if err := checkKeyValue(a, v, i == 0); err != nil {
			return err
		}
	}
	return nil
}

// Key returns the key attributes of item (which must carry them).
func (s KeySchema) Key(item Item) Item {
	key := Item{s.Partition.Name: item[s.Partition.Name]}
	if s.HasSort() {
		key[s.Sort.Name] = item[s.Sort.Name]
	}
	return key
}

// checkKeyValue words an empty or oversized key value as DynamoDB does
// (paritysuite/dynamodb-conformance error-messages/updateItem.test.ts for
// the empty value; dynalite db/index.js checkKeySize for the sizes, the
// missing space in "of2048" included).
func checkKeyValue(a KeyAttribute, v AttributeValue, partition bool) error {
	if v.typ == TypeN {
		return nil
	}
	if v.str == "" {
		kind := "string"
		if v.typ == TypeB {
			kind = "binary"
		}
		return validationf("One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty %s value. Key: %s", kind, a.Name)
	}
	if partition && len(v.str) > maxPartitionKeyBytes {
		return invalidParameter("Size of hashkey has exceeded the maximum size limit of2048 bytes")
	}
	if !partition && len(v.str) > maxSortKeyBytes {
		return invalidParameter("Aggregated size of all range keys has exceeded the size limit of 1024 bytes")
	}
	return nil
}
