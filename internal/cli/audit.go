package cli

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/lambdaapi"
)

// AuditCmd is `bulkhead audit`.
type AuditCmd struct {
	ClientFlags `embed:""`
	Since       string `default:"24h" help:"Entries since this RFC 3339 time, or this long ago."`
	Operation   string `help:"Only this operation (CreateFunction, DeleteAlias, ...)."`
}

func (c *AuditCmd) Run(e *env) error {
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	q := url.Values{"since": {c.Since}}
	if c.Operation != "" {
		q.Set("operation", c.Operation)
	}
	after := int64(0)
	for {
		q.Set("after", strconv.FormatInt(after, 10))
		var out lambdaapi.AuditOutput
		if _, err := cl.do(e.ctx, "GET", lambdaapi.AuditPath, q, nil, &out); err != nil {
			return err
		}
		for _, a := range out.Entries {
			if c.JSON {
				line, _ := json.Marshal(a)
				fmt.Fprintf(e.stdout, "%s\n", line)
				continue
			}
			fmt.Fprintf(e.stdout, "%s %s %s %s %s %s\n", a.Time.Format(time.RFC3339), a.Principal, a.Source, a.Operation, a.Resource, a.Outcome)
		}
		if len(out.Entries) == 0 {
			return nil
		}
		after = out.NextAfter
	}
}
