package cli

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/gateway/plan"
	"github.com/bulkhead-dev/bulkhead/internal/lambdaapi"
)

// TenantsCmd is `bulkhead tenants`.
type TenantsCmd struct {
	Create  TenantsCreateCmd  `cmd:"" help:"Register a tenant."`
	List    TenantsListCmd    `cmd:"" help:"List tenants, in id order."`
	Get     TenantsGetCmd     `cmd:"" help:"Show a tenant."`
	Update  TenantsUpdateCmd  `cmd:"" help:"Change a tenant's name, plan, concurrency or metadata; what is not given stays as it is."`
	Suspend TenantsSuspendCmd `cmd:"" help:"Suspend a tenant: its requests are refused and its environments drained."`
	Resume  TenantsResumeCmd  `cmd:"" help:"Resume a suspended tenant."`
	Drain   TenantsDrainCmd   `cmd:"" help:"Destroy a tenant's environments: idle ones now, busy ones as their invocations finish."`
	Delete  TenantsDeleteCmd  `cmd:"" help:"Delete a tenant, its API keys and its quota counters."`
	Quota   TenantsQuotaCmd   `cmd:"" help:"Show a tenant's (or one of its API keys') use of its usage plan's quota."`
}

// TenantsCreateCmd is `bulkhead tenants create`.
type TenantsCreateCmd struct {
	ClientFlags `embed:""`
	ID          string            `arg:"" help:"Tenant id: 1-256 letters, digits, spaces and . _ : / = + - @, as invocations name it."`
	Name        string            `placeholder:"NAME" help:"Display name."`
	Plan        string            `placeholder:"NAME" help:"Usage plan the gateway applies to the tenant's requests when its API key names none."`
	Concurrency int               `placeholder:"N" help:"Concurrent invocations of each function for this tenant (default: the server's --max-per-tenant)."`
	Meta        map[string]string `mapsep:"none" placeholder:"KEY=VALUE" help:"Metadata entry (repeatable)."`
}

func (c *TenantsCreateCmd) Run(e *env) error {
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	in := lambdaapi.TenantInput{ID: c.ID}
	if c.Name != "" {
		in.DisplayName = &c.Name
	}
	if c.Plan != "" {
		in.Plan = &c.Plan
	}
	if c.Concurrency != 0 {
		in.Concurrency = &c.Concurrency
	}
	if len(c.Meta) > 0 {
		in.Metadata = &c.Meta
	}
	var out lambdaapi.Tenant
	raw, err := cl.do(e.ctx, "POST", frontdoorPath("tenants"), nil, in, &out)
	if err != nil {
		return err
	}
	return c.print(e.stdout, raw, func(w io.Writer) { printTenant(w, out) })
}

// TenantsListCmd is `bulkhead tenants list`.
type TenantsListCmd struct {
	ClientFlags `embed:""`
	After       string `placeholder:"ID" help:"Start after this tenant id."`
	Limit       int    `placeholder:"N" help:"Show one page of at most this many tenants, 1-1000 (default: every tenant)."`
}

func (c *TenantsListCmd) Run(e *env) error {
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	q := url.Values{}
	if c.After != "" {
		q.Set("after", c.After)
	}
	if c.Limit != 0 {
		q.Set("limit", strconv.Itoa(c.Limit))
	}
	var all lambdaapi.TenantList
	for {
		var page lambdaapi.TenantList
		raw, err := cl.do(e.ctx, "GET", frontdoorPath("tenants"), q, nil, &page)
		if err != nil {
			return err
		}
		if c.Limit != 0 && c.JSON {
			return c.print(e.stdout, raw, nil)
		}
		all.Tenants = append(all.Tenants, page.Tenants...)
		all.Next = page.Next
		if page.Next == "" || c.Limit != 0 {
			break
		}
		q.Set("after", page.Next)
	}
	if c.JSON {
		return printJSON(e.stdout, all)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSTATUS\tPLAN\tCONCURRENCY\tCREATED")
	for _, t := range all.Tenants {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, orDash(t.DisplayName), t.Status, orDash(t.Plan), concurrency(t.Concurrency), timestamp(t.Created))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if all.Next != "" {
		fmt.Fprintf(e.stderr, "More tenants follow: list them with --after %s.\n", strconv.Quote(all.Next))
	}
	return nil
}

// TenantsGetCmd is `bulkhead tenants get`.
type TenantsGetCmd struct {
	ClientFlags `embed:""`
	ID          string `arg:"" help:"Tenant id."`
}

func (c *TenantsGetCmd) Run(e *env) error {
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	var out lambdaapi.Tenant
	raw, err := cl.do(e.ctx, "GET", frontdoorPath("tenants", c.ID), nil, nil, &out)
	if err != nil {
		return err
	}
	return c.print(e.stdout, raw, func(w io.Writer) { printTenant(w, out) })
}

// TenantsUpdateCmd is `bulkhead tenants update`. Pointers tell a flag left
// out (unchanged) from one set to its zero value (cleared).
type TenantsUpdateCmd struct {
	ClientFlags `embed:""`
	ID          string            `arg:"" help:"Tenant id."`
	Name        *string           `placeholder:"NAME" help:"New display name (\"\" to clear it)."`
	Plan        *string           `placeholder:"NAME" help:"New usage plan (\"\" for none)."`
	Concurrency *int              `placeholder:"N" help:"New bound on concurrent invocations of each function (0: the server's default)."`
	Meta        map[string]string `mapsep:"none" placeholder:"KEY=VALUE" help:"Metadata entry (repeatable); the entries given replace all the tenant's metadata."`
	ClearMeta   bool              `name:"clear-meta" help:"Remove all the tenant's metadata."`
}

// Validate refuses an update that would change nothing.
func (c *TenantsUpdateCmd) Validate() error {
	if c.Name == nil && c.Plan == nil && c.Concurrency == nil && len(c.Meta) == 0 && !c.ClearMeta {
		return errors.New("nothing to change: give --name, --plan, --concurrency, --meta or --clear-meta")
	}
	if c.ClearMeta && len(c.Meta) > 0 {
		return errors.New("--clear-meta and --meta cannot be used together (--meta alone replaces the metadata)")
	}
	return nil
}

func (c *TenantsUpdateCmd) Run(e *env) error {
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	in := lambdaapi.TenantInput{DisplayName: c.Name, Plan: c.Plan, Concurrency: c.Concurrency}
	switch {
	case len(c.Meta) > 0:
		in.Metadata = &c.Meta
	case c.ClearMeta:
		in.Metadata = &map[string]string{}
	}
	var out lambdaapi.Tenant
	raw, err := cl.do(e.ctx, "PATCH", frontdoorPath("tenants", c.ID), nil, in, &out)
	if err != nil {
		return err
	}
	return c.print(e.stdout, raw, func(w io.Writer) { printTenant(w, out) })
}

// TenantsSuspendCmd is `bulkhead tenants suspend`.
type TenantsSuspendCmd struct {
	ClientFlags `embed:""`
	ID          string `arg:"" help:"Tenant id."`
}

func (c *TenantsSuspendCmd) Run(e *env) error {
	return setTenantStatus(e, &c.ClientFlags, c.ID, "suspend")
}

// TenantsResumeCmd is `bulkhead tenants resume`.
type TenantsResumeCmd struct {
	ClientFlags `embed:""`
	ID          string `arg:"" help:"Tenant id."`
}

func (c *TenantsResumeCmd) Run(e *env) error {
	return setTenantStatus(e, &c.ClientFlags, c.ID, "resume")
}

func setTenantStatus(e *env, f *ClientFlags, id, action string) error {
	cl, err := f.client(e)
	if err != nil {
		return err
	}
	var out lambdaapi.Tenant
	raw, err := cl.do(e.ctx, "POST", frontdoorPath("tenants", id, action), nil, nil, &out)
	if err != nil {
		return err
	}
	return f.print(e.stdout, raw, func(w io.Writer) { printTenant(w, out) })
}

// TenantsDrainCmd is `bulkhead tenants drain`.
type TenantsDrainCmd struct {
	ClientFlags `embed:""`
	ID          string `arg:"" help:"Tenant id."`
}

func (c *TenantsDrainCmd) Run(e *env) error {
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	var out struct{ Drained int }
	raw, err := cl.do(e.ctx, "POST", frontdoorPath("tenants", c.ID, "drain"), nil, nil, &out)
	if err != nil {
		return err
	}
	return c.print(e.stdout, raw, func(w io.Writer) {
		fmt.Fprintf(w, "Drained %d %s of tenant %s.\n", out.Drained, plural(out.Drained, "environment", "environments"), c.ID)
	})
}

// TenantsDeleteCmd is `bulkhead tenants delete`.
type TenantsDeleteCmd struct {
	ClientFlags `embed:""`
	ID          string `arg:"" help:"Tenant id."`
	Purge       bool   `help:"Delete the tenant's function logs and usage records too."`
}

func (c *TenantsDeleteCmd) Run(e *env) error {
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	var q url.Values
	if c.Purge {
		q = url.Values{"purge": {"true"}}
	}
	if _, err := cl.do(e.ctx, "DELETE", frontdoorPath("tenants", c.ID), q, nil, nil); err != nil {
		return err
	}
	if !c.JSON {
		if c.Purge {
			fmt.Fprintf(e.stdout, "Deleted tenant %s, its logs and its usage.\n", c.ID)
		} else {
			fmt.Fprintf(e.stdout, "Deleted tenant %s.\n", c.ID)
		}
	}
	return nil
}

// TenantsQuotaCmd is `bulkhead tenants quota`.
type TenantsQuotaCmd struct {
	ClientFlags `embed:""`
	ID          string `arg:"" help:"Tenant id."`
	Key         string `placeholder:"KEYID" help:"Show the quota use of this API key of the tenant, under the key's plan."`
}

func (c *TenantsQuotaCmd) Run(e *env) error {
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	var q url.Values
	if c.Key != "" {
		q = url.Values{"key": {c.Key}}
	}
	var out plan.Usage
	raw, err := cl.do(e.ctx, "GET", frontdoorPath("tenants", c.ID, "quota"), q, nil, &out)
	if err != nil {
		return err
	}
	return c.print(e.stdout, raw, func(w io.Writer) {
		fmt.Fprintf(w, "Used:      %d of %d\n", out.Used, out.Limit)
		fmt.Fprintf(w, "Remaining: %d\n", out.Remaining)
		fmt.Fprintf(w, "Period:    %s to %s\n", timestamp(out.Start), timestamp(out.End))
	})
}

// frontdoorPath is the path of a tenant or gateway resource of the admin
// API, each part escaped as one segment.
func frontdoorPath(parts ...string) string {
	p := lambdaapi.FrontdoorPath
	for _, part := range parts {
		p += "/" + url.PathEscape(part)
	}
	return p
}

func printTenant(w io.Writer, t lambdaapi.Tenant) {
	fmt.Fprintf(w, "ID:          %s\n", t.ID)
	if t.DisplayName != "" {
		fmt.Fprintf(w, "Name:        %s\n", t.DisplayName)
	}
	fmt.Fprintf(w, "Status:      %s\n", t.Status)
	fmt.Fprintf(w, "Plan:        %s\n", orDash(t.Plan))
	fmt.Fprintf(w, "Concurrency: %s\n", concurrency(t.Concurrency))
	if len(t.Metadata) > 0 {
		fmt.Fprintf(w, "Metadata:    %s\n", keyValues(t.Metadata))
	}
	fmt.Fprintf(w, "Created:     %s\n", timestamp(t.Created))
	fmt.Fprintf(w, "Updated:     %s\n", timestamp(t.Updated))
}

func concurrency(n int) string {
	if n == 0 {
		return "server default"
	}
	return strconv.Itoa(n)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func timestamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
