package cli

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/lambdaapi"
)

// LogsCmd is `bulkhead logs`.
type LogsCmd struct {
	ClientFlags `embed:""`
	Function    string        `required:"" help:"Function whose logs to show."`
	TenantID    *string       `name:"tenant" help:"Only this tenant's records (\"\" for a function without tenancy)."`
	RequestID   string        `name:"request-id" help:"Only this invocation's records."`
	Since       string        `default:"10m" help:"Records since this RFC 3339 time, or this long ago."`
	Until       string        `help:"Records before this RFC 3339 time, or this long ago."`
	Text        string        `help:"Only records whose message contains this text."`
	Follow      bool          `short:"f" help:"Keep printing new records as they arrive, until interrupted."`
	Poll        time.Duration `default:"1s" hidden:"" help:"How often --follow asks for new records."`
}

func (c *LogsCmd) Run(e *env) error {
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	q := url.Values{"function": {c.Function}}
	if c.TenantID != nil {
		q.Set("tenant", *c.TenantID)
	}
	for k, v := range map[string]string{"requestId": c.RequestID, "since": c.Since, "until": c.Until, "text": c.Text} {
		if v != "" {
			q.Set(k, v)
		}
	}
	after := int64(0)
	for {
		q.Set("after", strconv.FormatInt(after, 10))
		var out lambdaapi.QueryLogsOutput
		if _, err := cl.do(e.ctx, "GET", lambdaapi.LogsPath, q, nil, &out); err != nil {
			if e.ctx.Err() != nil && c.Follow {
				return nil
			}
			return err
		}
		for _, r := range out.Records {
			if c.JSON {
				line, _ := json.Marshal(r)
				fmt.Fprintf(e.stdout, "%s\n", line)
				continue
			}
			tenant := r.TenantID
			if tenant == "" {
				tenant = "-"
			}
			req := r.RequestID
			if req == "" {
				req = "-"
			}
			fmt.Fprintf(e.stdout, "%s %s %s %s %s\n", r.Time.Format(time.RFC3339Nano), strconv.Quote(tenant), req, r.Type, r.Message)
		}
		after = out.NextAfter
		if len(out.Records) > 0 {
			continue // the next page, at once
		}
		if !c.Follow {
			return nil
		}
		select {
		case <-e.ctx.Done():
			return nil
		case <-time.After(c.Poll):
		}
	}
}
