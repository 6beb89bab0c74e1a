package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/lambdaapi"
)

// RolesCmd is `bulkhead roles`.
type RolesCmd struct {
	Create RolesCreateCmd `cmd:"" help:"Create a role from an IAM policy document."`
	List   RolesListCmd   `cmd:"" help:"List roles."`
	Get    RolesGetCmd    `cmd:"" help:"Show a role and its policy."`
	Update RolesUpdateCmd `cmd:"" help:"Replace a role's policy, description and session limit; sessions already issued follow the new policy."`
	Delete RolesDeleteCmd `cmd:"" help:"Delete a role; credentials issued for it are refused from then on."`
}

// roleFlags are what a role is made of, besides its name.
type roleFlags struct {
	PolicyFile         string `name:"policy-file" required:"" type:"existingfile" placeholder:"FILE" help:"The role's identity policy: an IAM policy document (JSON)."`
	Description        string `help:"What the role is for."`
	MaxSessionDuration int    `name:"max-session-duration" placeholder:"SECONDS" help:"Longest STS session for the role, 3600-43200 seconds (default 3600)."`
}

func (f *roleFlags) input(name string) (lambdaapi.RoleInput, error) {
	doc, err := os.ReadFile(f.PolicyFile)
	if err != nil {
		return lambdaapi.RoleInput{}, err
	}
	if !json.Valid(doc) {
		return lambdaapi.RoleInput{}, fmt.Errorf("%s is not JSON", f.PolicyFile)
	}
	return lambdaapi.RoleInput{Name: name, Description: f.Description, Policy: doc, MaxSessionDuration: f.MaxSessionDuration}, nil
}

// RolesCreateCmd is `bulkhead roles create`.
type RolesCreateCmd struct {
	ClientFlags `embed:""`
	Name        string `arg:"" help:"Role name: 1-64 letters, digits and +=,.@_-. Functions name it as arn:aws:iam::ACCOUNT:role/NAME."`
	roleFlags   `embed:""`
}

func (c *RolesCreateCmd) Run(e *env) error {
	return putRole(e, &c.ClientFlags, &c.roleFlags, c.Name, true)
}

// RolesUpdateCmd is `bulkhead roles update`.
type RolesUpdateCmd struct {
	ClientFlags `embed:""`
	Name        string `arg:"" help:"Role name."`
	roleFlags   `embed:""`
}

func (c *RolesUpdateCmd) Run(e *env) error {
	return putRole(e, &c.ClientFlags, &c.roleFlags, c.Name, false)
}

func putRole(e *env, f *ClientFlags, rf *roleFlags, name string, create bool) error {
	in, err := rf.input(name)
	if err != nil {
		return err
	}
	cl, err := f.client(e)
	if err != nil {
		return err
	}
	method, path := "POST", frontdoorPath("roles")
	if !create {
		method, path = "PUT", frontdoorPath("roles", name)
	}
	var out lambdaapi.Role
	raw, err := cl.do(e.ctx, method, path, nil, in, &out)
	if err != nil {
		return err
	}
	return f.print(e.stdout, raw, func(w io.Writer) { printRole(w, out) })
}

// RolesListCmd is `bulkhead roles list`.
type RolesListCmd struct {
	ClientFlags `embed:""`
}

func (c *RolesListCmd) Run(e *env) error {
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	var out struct{ Roles []lambdaapi.Role }
	raw, err := cl.do(e.ctx, "GET", frontdoorPath("roles"), nil, nil, &out)
	if err != nil {
		return err
	}
	return c.print(e.stdout, raw, func(w io.Writer) {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tARN\tMAX SESSION\tUPDATED")
		for _, r := range out.Roles {
			fmt.Fprintf(tw, "%s\t%s\t%ds\t%s\n", r.Name, r.ARN, r.MaxSessionDuration, r.Updated.Format(time.RFC3339))
		}
		tw.Flush()
	})
}

// RolesGetCmd is `bulkhead roles get`.
type RolesGetCmd struct {
	ClientFlags `embed:""`
	Name        string `arg:"" help:"Role name."`
}

func (c *RolesGetCmd) Run(e *env) error {
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	var out lambdaapi.Role
	raw, err := cl.do(e.ctx, "GET", frontdoorPath("roles", c.Name), nil, nil, &out)
	if err != nil {
		return err
	}
	return c.print(e.stdout, raw, func(w io.Writer) { printRole(w, out) })
}

// RolesDeleteCmd is `bulkhead roles delete`.
type RolesDeleteCmd struct {
	ClientFlags `embed:""`
	Name        string `arg:"" help:"Role name."`
}

func (c *RolesDeleteCmd) Run(e *env) error {
	return deleteResource(e, &c.ClientFlags, "role "+c.Name, frontdoorPath("roles", c.Name))
}

func printRole(w io.Writer, r lambdaapi.Role) {
	fmt.Fprintf(w, "Name:        %s\n", r.Name)
	fmt.Fprintf(w, "ARN:         %s\n", r.ARN)
	fmt.Fprintf(w, "Id:          %s\n", r.ID)
	if r.Description != "" {
		fmt.Fprintf(w, "Description: %s\n", r.Description)
	}
	fmt.Fprintf(w, "Max session: %ds\n", r.MaxSessionDuration)
	fmt.Fprintf(w, "Created:     %s\n", r.Created.Format(time.RFC3339))
	fmt.Fprintf(w, "Updated:     %s\n", r.Updated.Format(time.RFC3339))
	var doc any
	if json.Unmarshal(r.Policy, &doc) == nil {
		pretty, _ := json.MarshalIndent(doc, "", "  ")
		fmt.Fprintf(w, "Policy:\n%s\n", pretty)
	}
}
