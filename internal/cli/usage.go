package cli

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/lambdaapi"
)

// UsageCmd is `bulkhead usage`.
type UsageCmd struct {
	ClientFlags `embed:""`
	TenantID    *string `name:"tenant" help:"Only this tenant (\"\" for functions without tenancy)."`
	Function    string  `help:"Only this function."`
	From        string  `default:"24h" help:"From this RFC 3339 time, or this long ago (by hour)."`
	To          string  `help:"Up to this RFC 3339 time, or this long ago (default now)."`
	CSV         bool    `name:"csv" help:"Print CSV."`
}

func (c *UsageCmd) Run(e *env) error {
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	q := url.Values{"from": {c.From}}
	if c.TenantID != nil {
		q.Set("tenant", *c.TenantID)
	}
	if c.Function != "" {
		q.Set("function", c.Function)
	}
	if c.To != "" {
		q.Set("to", c.To)
	}
	var out lambdaapi.UsageOutput
	raw, err := cl.do(e.ctx, "GET", lambdaapi.UsagePath, q, nil, &out)
	if err != nil {
		return err
	}
	if c.JSON {
		var v any
		json.Unmarshal(raw, &v)
		pretty, _ := json.MarshalIndent(v, "", "  ")
		fmt.Fprintf(e.stdout, "%s\n", pretty)
		return nil
	}
	header := []string{"tenant", "function", "hour", "invocations", "errors", "throttles", "gb_seconds", "environments", "cold_starts", "bytes_in", "bytes_out", "cost"}
	row := func(r lambdaapi.UsageRow, hour string) []string {
		return []string{r.TenantID, r.FunctionName, hour, i64(r.Invocations), i64(r.Errors), i64(r.Throttles),
			strconv.FormatFloat(r.GBSeconds, 'f', 6, 64), i64(r.Environments), i64(r.ColdStarts), i64(r.BytesIn), i64(r.BytesOut),
			strconv.FormatFloat(r.Cost, 'f', 6, 64)}
	}
	if c.CSV {
		w := csv.NewWriter(e.stdout)
		w.Write(header)
		for _, r := range out.Rows {
			w.Write(row(r, r.Hour.UTC().Format(time.RFC3339)))
		}
		w.Flush()
		return w.Error()
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	line := func(cells []string) {
		for i, cell := range cells {
			if i > 0 {
				fmt.Fprint(tw, "\t")
			}
			fmt.Fprint(tw, cell)
		}
		fmt.Fprintln(tw)
	}
	line(header)
	for _, r := range out.Rows {
		line(row(r, r.Hour.UTC().Format("2006-01-02T15Z")))
	}
	total := row(out.Total, "")
	total[0], total[2] = "TOTAL", ""
	line(total)
	return tw.Flush()
}

func i64(n int64) string { return strconv.FormatInt(n, 10) }
