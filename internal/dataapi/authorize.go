package dataapi

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"

	"github.com/bulkhead-dev/bulkhead/internal/data/ddb"
	"github.com/bulkhead-dev/bulkhead/internal/iam/policy"
)

// access is what one policy evaluation is asked: an action on a resource,
// with the condition keys the handler computed from the request itself.
type access struct {
	action   string // "dynamodb:GetItem"
	resource string // the table's (or index's) ARN
	// leadingKeys are the partition-key values the request touches,
	// dynamodb:LeadingKeys; absent (nil) for Scan and table operations.
	leadingKeys []string
	// attributes are dynamodb:Attributes, the attribute names touched.
	attributes []string
	// The request's own parameters, each a condition key when given.
	selectValue, returnValues, returnConsumedCapacity *string
	// tags are the tags of a CreateTable, aws:RequestTag/<key> and
	// aws:TagKeys.
	tags []tagInput
}

// authorize evaluates the principal's identity and session policies for a,
// as IAM does for a role session. The admin key, and a handler with
// SkipPolicy, skip it. A denial is AccessDeniedException in IAM's words.
func (c *call) authorize(a access) error {
	if c.principal.Admin || c.h.cfg.SkipPolicy {
		return nil
	}
	pc := &c.policyContext
	pc.Reset()
	pc.Grow(8 + len(a.leadingKeys) + len(a.attributes) + 2*len(a.tags))
	if c.principal.Context != nil {
		c.principal.Context(pc)
	}
	for _, k := range a.leadingKeys {
		pc.Add("dynamodb:LeadingKeys", k)
	}
	for _, name := range a.attributes {
		pc.Add("dynamodb:Attributes", name)
	}
	if a.selectValue != nil {
		pc.Add("dynamodb:Select", *a.selectValue)
	}
	if a.returnValues != nil {
		pc.Add("dynamodb:ReturnValues", *a.returnValues)
	}
	if a.returnConsumedCapacity != nil {
		pc.Add("dynamodb:ReturnConsumedCapacity", *a.returnConsumedCapacity)
	}
	for _, t := range a.tags {
		if t.Key == nil {
			continue
		}
		pc.Add("aws:TagKeys", *t.Key)
		if t.Value != nil {
			pc.Add("aws:RequestTag/"+*t.Key, *t.Value)
		}
	}
	now := c.now.UTC()
	pc.Set("aws:CurrentTime", now.Format("2006-01-02T15:04:05Z"))
	pc.Set("aws:EpochTime", strconv.FormatInt(now.Unix(), 10))
	pc.Set("aws:SecureTransport", "false")
	pc.Set("aws:RequestedRegion", c.h.cfg.Region)
	req := policy.Request{Action: a.action, Resource: a.resource, Context: *pc}
	d := policy.Evaluate(c.principal.Identity, c.principal.Session, &req)
	if d.Allowed {
		return nil
	}
	return &apiError{namespace: nsCoral, code: "AccessDeniedException", status: http.StatusBadRequest,
		message: policy.AccessDeniedMessage(c.principal.ARN, &req, d)}
}

// authorizeTable authorizes a table operation on c.resource: no leading
// keys, no attributes.
func (c *call) authorizeTable(op string, tags []tagInput) error {
	return c.authorize(access{action: "dynamodb:" + op, resource: c.resource, tags: tags})
}

// leadingKey is a partition-key value as dynamodb:LeadingKeys carries it:
// a string as it is, a number in canonical form, a binary in base64.
func leadingKey(v ddb.AttributeValue) string {
	switch v.Type() {
	case ddb.TypeS:
		return v.S()
	case ddb.TypeN:
		return v.N()
	case ddb.TypeB:
		return base64.StdEncoding.EncodeToString(v.B())
	}
	return ""
}

// leadingKeys collects the distinct partition-key values of items: the
// values of dynamodb:LeadingKeys. An item without the attribute adds
// nothing; a request that carries no partition key at all therefore has no
// LeadingKeys, which a policy's Null check refuses.
type leadingKeys struct {
	partition string
	values    []string
}

func (l *leadingKeys) add(item ddb.Item) {
	v, ok := item[l.partition]
	if !ok {
		return
	}
	k := leadingKey(v)
	if !slices.Contains(l.values, k) {
		l.values = append(l.values, k)
	}
}
