package cli

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/bulkhead-dev/bulkhead/internal/lambdaapi"
)

// FunctionsCmd is `bulkhead functions`.
type FunctionsCmd struct {
	Create     FunctionsCreateCmd     `cmd:"" help:"Create a function from a zip with an executable bootstrap."`
	List       FunctionsListCmd       `cmd:"" help:"List functions."`
	Get        FunctionsGetCmd        `cmd:"" help:"Show a function's configuration."`
	UpdateCode FunctionsUpdateCodeCmd `cmd:"" name:"update-code" help:"Replace a function's code."`
	Publish    FunctionsPublishCmd    `cmd:"" help:"Publish $LATEST as a new numbered version."`
	Delete     FunctionsDeleteCmd     `cmd:"" help:"Delete a function, or one version of it with --qualifier."`
}

// FunctionsCreateCmd is `bulkhead functions create`.
type FunctionsCreateCmd struct {
	ClientFlags `embed:""`
	Name        string            `arg:"" help:"Function name: 1-64 letters, digits, hyphens or underscores."`
	Zip         string            `required:"" type:"existingfile" placeholder:"FILE" help:"Deployment package: a zip with an executable named bootstrap at its root."`
	Runtime     string            `default:"provided.al2023" enum:"provided.al2023,provided.al2,provided" help:"Runtime (${enum})."`
	Handler     string            `default:"bootstrap" help:"Handler string passed to the runtime as _HANDLER."`
	Role        string            `default:"arn:aws:iam::000000000000:role/bulkhead-function" help:"Execution role ARN; when it names a Bulkhead role (bulkhead roles), each environment gets credentials for it, scoped to its tenant."`
	Memory      int               `default:"128" help:"Memory in MB, 128-10240."`
	Timeout     int               `default:"3" help:"Timeout in seconds, 1-900."`
	TmpSize     int               `name:"ephemeral-storage" default:"512" help:"Size of /tmp in MB, 512-10240."`
	Env         map[string]string `placeholder:"KEY=VALUE;..." help:"Environment variables."`
	Tags        map[string]string `placeholder:"KEY=VALUE;..." help:"Tags."`
	Description string            `help:"Description."`
	PerTenant   bool              `name:"per-tenant" help:"Isolate tenants: every invocation names a tenant and environments serve one tenant only. Fixed at creation."`
	Publish     bool              `help:"Publish version 1 as well."`
}

func (c *FunctionsCreateCmd) Run(e *env) error {
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	zip, err := os.ReadFile(c.Zip)
	if err != nil {
		return err
	}
	in := map[string]any{
		"FunctionName":     c.Name,
		"Runtime":          c.Runtime,
		"Handler":          c.Handler,
		"Role":             c.Role,
		"MemorySize":       c.Memory,
		"Timeout":          c.Timeout,
		"EphemeralStorage": map[string]int{"Size": c.TmpSize},
		"Code":             map[string][]byte{"ZipFile": zip},
		"Publish":          c.Publish,
	}
	if c.Description != "" {
		in["Description"] = c.Description
	}
	if len(c.Env) > 0 {
		in["Environment"] = map[string]any{"Variables": c.Env}
	}
	if len(c.Tags) > 0 {
		in["Tags"] = c.Tags
	}
	if c.PerTenant {
		in["TenancyConfig"] = map[string]string{"TenantIsolationMode": "PER_TENANT"}
	}
	var out lambdaapi.FunctionConfiguration
	raw, err := cl.do(e.ctx, "POST", "/2015-03-31/functions", nil, in, &out)
	if err != nil {
		return err
	}
	return c.print(e.stdout, raw, func(w io.Writer) { printConfiguration(w, out) })
}

// FunctionsListCmd is `bulkhead functions list`.
type FunctionsListCmd struct {
	ClientFlags `embed:""`
	AllVersions bool `help:"List every published version too."`
}

func (c *FunctionsListCmd) Run(e *env) error {
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	var all []lambdaapi.FunctionConfiguration
	q := url.Values{}
	if c.AllVersions {
		q.Set("FunctionVersion", "ALL")
	}
	for {
		var page lambdaapi.ListFunctionsOutput
		if _, err := cl.do(e.ctx, "GET", "/2015-03-31/functions", q, nil, &page); err != nil {
			return err
		}
		all = append(all, page.Functions...)
		if page.NextMarker == "" {
			break
		}
		q.Set("Marker", page.NextMarker)
	}
	if c.JSON {
		return printJSON(e.stdout, lambdaapi.ListFunctionsOutput{Functions: all})
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tRUNTIME\tMEMORY\tTIMEOUT\tTENANCY\tLAST MODIFIED")
	for _, f := range all {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d MB\t%d s\t%s\t%s\n", f.FunctionName, f.Version, f.Runtime, f.MemorySize, f.Timeout, tenancy(f), f.LastModified)
	}
	return tw.Flush()
}

// FunctionsGetCmd is `bulkhead functions get`.
type FunctionsGetCmd struct {
	ClientFlags `embed:""`
	Name        string `arg:"" help:"Function name or ARN."`
	Qualifier   string `help:"Version number or alias (default $LATEST)."`
}

func (c *FunctionsGetCmd) Run(e *env) error {
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	var out lambdaapi.GetFunctionOutput
	raw, err := cl.do(e.ctx, "GET", functionPath(c.Name), qualifier(c.Qualifier), nil, &out)
	if err != nil {
		return err
	}
	return c.print(e.stdout, raw, func(w io.Writer) {
		printConfiguration(w, out.Configuration)
		if len(out.Tags) > 0 {
			fmt.Fprintf(w, "Tags:          %s\n", keyValues(out.Tags))
		}
	})
}

// FunctionsUpdateCodeCmd is `bulkhead functions update-code`.
type FunctionsUpdateCodeCmd struct {
	ClientFlags `embed:""`
	Name        string `arg:"" help:"Function name or ARN."`
	Zip         string `required:"" type:"existingfile" placeholder:"FILE" help:"New deployment package."`
	Publish     bool   `help:"Publish a version with the new code."`
	RevisionID  string `name:"revision-id" help:"Update only if $LATEST still has this revision id."`
}

func (c *FunctionsUpdateCodeCmd) Run(e *env) error {
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	zip, err := os.ReadFile(c.Zip)
	if err != nil {
		return err
	}
	in := map[string]any{"ZipFile": zip, "Publish": c.Publish}
	if c.RevisionID != "" {
		in["RevisionId"] = c.RevisionID
	}
	var out lambdaapi.FunctionConfiguration
	raw, err := cl.do(e.ctx, "PUT", functionPath(c.Name, "code"), nil, in, &out)
	if err != nil {
		return err
	}
	return c.print(e.stdout, raw, func(w io.Writer) { printConfiguration(w, out) })
}

// FunctionsPublishCmd is `bulkhead functions publish`.
type FunctionsPublishCmd struct {
	ClientFlags `embed:""`
	Name        string `arg:"" help:"Function name or ARN."`
	Description string `help:"Description of the new version."`
}

func (c *FunctionsPublishCmd) Run(e *env) error {
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	in := map[string]any{}
	if c.Description != "" {
		in["Description"] = c.Description
	}
	var out lambdaapi.FunctionConfiguration
	raw, err := cl.do(e.ctx, "POST", functionPath(c.Name, "versions"), nil, in, &out)
	if err != nil {
		return err
	}
	return c.print(e.stdout, raw, func(w io.Writer) { printConfiguration(w, out) })
}

// FunctionsDeleteCmd is `bulkhead functions delete`.
type FunctionsDeleteCmd struct {
	ClientFlags `embed:""`
	Name        string `arg:"" help:"Function name or ARN."`
	Qualifier   string `help:"Delete only this published version."`
}

func (c *FunctionsDeleteCmd) Run(e *env) error {
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	if _, err := cl.do(e.ctx, "DELETE", functionPath(c.Name), qualifier(c.Qualifier), nil, nil); err != nil {
		return err
	}
	if !c.JSON {
		what := "function " + c.Name
		if c.Qualifier != "" {
			what = "version " + c.Qualifier + " of " + what
		}
		fmt.Fprintf(e.stdout, "Deleted %s.\n", what)
	}
	return nil
}

func qualifier(q string) url.Values {
	if q == "" {
		return nil
	}
	return url.Values{"Qualifier": {q}}
}

func tenancy(f lambdaapi.FunctionConfiguration) string {
	if f.TenancyConfig != nil {
		return f.TenancyConfig.TenantIsolationMode
	}
	return "-"
}

func printConfiguration(w io.Writer, f lambdaapi.FunctionConfiguration) {
	fmt.Fprintf(w, "Name:          %s\n", f.FunctionName)
	fmt.Fprintf(w, "ARN:           %s\n", f.FunctionArn)
	fmt.Fprintf(w, "Version:       %s\n", f.Version)
	fmt.Fprintf(w, "Runtime:       %s (handler %s, %s)\n", f.Runtime, f.Handler, strings.Join(f.Architectures, ","))
	fmt.Fprintf(w, "Memory:        %d MB, /tmp %d MB\n", f.MemorySize, f.EphemeralStorage.Size)
	fmt.Fprintf(w, "Timeout:       %d s\n", f.Timeout)
	fmt.Fprintf(w, "Tenancy:       %s\n", tenancy(f))
	fmt.Fprintf(w, "Code:          %d bytes, SHA-256 %s\n", f.CodeSize, f.CodeSha256)
	fmt.Fprintf(w, "Role:          %s\n", f.Role)
	if f.Description != "" {
		fmt.Fprintf(w, "Description:   %s\n", f.Description)
	}
	if f.Environment != nil && len(f.Environment.Variables) > 0 {
		fmt.Fprintf(w, "Environment:   %s\n", keyValues(f.Environment.Variables))
	}
	fmt.Fprintf(w, "State:         %s\n", f.State)
	fmt.Fprintf(w, "Last modified: %s (revision %s)\n", f.LastModified, f.RevisionId)
}
