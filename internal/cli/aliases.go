package cli

import (
	"fmt"
	"io"
	"net/url"
	"text/tabwriter"

	"github.com/bulkhead-dev/bulkhead/internal/lambdaapi"
)

// AliasesCmd is `bulkhead aliases`.
type AliasesCmd struct {
	Create AliasesCreateCmd `cmd:"" help:"Create an alias pointing at a version."`
	List   AliasesListCmd   `cmd:"" help:"List a function's aliases."`
	Get    AliasesGetCmd    `cmd:"" help:"Show an alias."`
	Update AliasesUpdateCmd `cmd:"" help:"Point an alias at another version, or change its description."`
	Delete AliasesDeleteCmd `cmd:"" help:"Delete an alias."`
}

// AliasesCreateCmd is `bulkhead aliases create`.
type AliasesCreateCmd struct {
	ClientFlags `embed:""`
	Function    string `arg:"" help:"Function name or ARN."`
	Name        string `arg:"" help:"Alias name: letters, digits, hyphens, underscores; not all digits."`
	Version     string `required:"" help:"Version the alias points at: a number or $LATEST."`
	Description string `help:"Description."`
}

func (c *AliasesCreateCmd) Run(e *env) error {
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	in := map[string]any{"Name": c.Name, "FunctionVersion": c.Version}
	if c.Description != "" {
		in["Description"] = c.Description
	}
	var out lambdaapi.AliasConfiguration
	raw, err := cl.do(e.ctx, "POST", functionPath(c.Function, "aliases"), nil, in, &out)
	if err != nil {
		return err
	}
	return c.print(e.stdout, raw, func(w io.Writer) { printAlias(w, out) })
}

// AliasesListCmd is `bulkhead aliases list`.
type AliasesListCmd struct {
	ClientFlags `embed:""`
	Function    string `arg:"" help:"Function name or ARN."`
}

func (c *AliasesListCmd) Run(e *env) error {
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	var all []lambdaapi.AliasConfiguration
	q := url.Values{}
	for {
		var page lambdaapi.ListAliasesOutput
		if _, err := cl.do(e.ctx, "GET", functionPath(c.Function, "aliases"), q, nil, &page); err != nil {
			return err
		}
		all = append(all, page.Aliases...)
		if page.NextMarker == "" {
			break
		}
		q.Set("Marker", page.NextMarker)
	}
	if c.JSON {
		return printJSON(e.stdout, lambdaapi.ListAliasesOutput{Aliases: all})
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tDESCRIPTION")
	for _, a := range all {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", a.Name, a.FunctionVersion, a.Description)
	}
	return tw.Flush()
}

// AliasesGetCmd is `bulkhead aliases get`.
type AliasesGetCmd struct {
	ClientFlags `embed:""`
	Function    string `arg:"" help:"Function name or ARN."`
	Name        string `arg:"" help:"Alias name."`
}

func (c *AliasesGetCmd) Run(e *env) error {
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	var out lambdaapi.AliasConfiguration
	raw, err := cl.do(e.ctx, "GET", functionPath(c.Function, "aliases", c.Name), nil, nil, &out)
	if err != nil {
		return err
	}
	return c.print(e.stdout, raw, func(w io.Writer) { printAlias(w, out) })
}

// AliasesUpdateCmd is `bulkhead aliases update`.
type AliasesUpdateCmd struct {
	ClientFlags `embed:""`
	Function    string  `arg:"" help:"Function name or ARN."`
	Name        string  `arg:"" help:"Alias name."`
	Version     string  `help:"New version: a number or $LATEST."`
	Description *string `help:"New description."`
}

func (c *AliasesUpdateCmd) Run(e *env) error {
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	in := map[string]any{}
	if c.Version != "" {
		in["FunctionVersion"] = c.Version
	}
	if c.Description != nil {
		in["Description"] = *c.Description
	}
	var out lambdaapi.AliasConfiguration
	raw, err := cl.do(e.ctx, "PUT", functionPath(c.Function, "aliases", c.Name), nil, in, &out)
	if err != nil {
		return err
	}
	return c.print(e.stdout, raw, func(w io.Writer) { printAlias(w, out) })
}

// AliasesDeleteCmd is `bulkhead aliases delete`.
type AliasesDeleteCmd struct {
	ClientFlags `embed:""`
	Function    string `arg:"" help:"Function name or ARN."`
	Name        string `arg:"" help:"Alias name."`
}

func (c *AliasesDeleteCmd) Run(e *env) error {
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	if _, err := cl.do(e.ctx, "DELETE", functionPath(c.Function, "aliases", c.Name), nil, nil, nil); err != nil {
		return err
	}
	if !c.JSON {
		fmt.Fprintf(e.stdout, "Deleted alias %s of %s.\n", c.Name, c.Function)
	}
	return nil
}

func printAlias(w io.Writer, a lambdaapi.AliasConfiguration) {
	fmt.Fprintf(w, "Alias:       %s\n", a.Name)
	fmt.Fprintf(w, "ARN:         %s\n", a.AliasArn)
	fmt.Fprintf(w, "Version:     %s\n", a.FunctionVersion)
	if a.Description != "" {
		fmt.Fprintf(w, "Description: %s\n", a.Description)
	}
	fmt.Fprintf(w, "Revision:    %s\n", a.RevisionId)
}
