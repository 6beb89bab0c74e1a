// Package cli is the bulkhead command: `serve` runs the server; the other
// commands are clients of a running server's Lambda API, signing requests
// with the admin key. cmd/bulkhead only calls Main.
package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/alecthomas/kong"

	"github.com/bulkhead-dev/bulkhead/internal/server"
)

// CLI is the command tree; kong builds the parser and the help from it.
type CLI struct {
	Serve     ServeCmd     `cmd:"" help:"Run Bulkhead: the Lambda API, the gateway and the function store."`
	Functions FunctionsCmd `cmd:"" help:"Create, inspect, update and delete functions."`
	Aliases   AliasesCmd   `cmd:"" help:"Manage aliases: names that point at a function version."`
	Invoke    InvokeCmd    `cmd:"" help:"Invoke a function and print its response."`
	Logs      LogsCmd      `cmd:"" help:"Show a function's logs, by tenant, request, time and text."`
	Usage     UsageCmd     `cmd:"" help:"Show metered usage and its cost, per tenant, function and hour."`
	Audit     AuditCmd     `cmd:"" help:"Show the audit log: every control-plane change, who made it, when and from where."`

	Tenants     TenantsCmd     `cmd:"" help:"Register tenants; suspend, resume, drain and delete them; show their quota use."`
	Plans       PlansCmd       `cmd:"" help:"Manage usage plans: the throttles and quotas the gateway holds callers to."`
	Keys        KeysCmd        `cmd:"" help:"Create, list and revoke the API keys callers present to the gateway."`
	Authorizers AuthorizersCmd `cmd:"" help:"Manage authorizers: how the gateway verifies a JWT, or asks a function, to learn the tenant."`
	Routes      RoutesCmd      `cmd:"" help:"Route gateway methods and paths to functions, and say how each names the tenant."`
	Roles       RolesCmd       `cmd:"" help:"Manage roles: the IAM policies that functions' tenant-scoped credentials and STS sessions act under."`
}

// env is what commands need from the process around them.
type env struct {
	ctx    context.Context
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

// exitCode is how kong's exit (after --help) unwinds out of Parse.
type exitCode int

// Main runs the bulkhead command with args (without the program name) and
// returns the process exit code: 0 success, 1 the command failed, 2 the
// command line was wrong.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) (code int) {
	var c CLI
	parser, err := kong.New(&c,
		kong.Name("bulkhead"),
		kong.Description("Bulkhead: a self-hosted, Lambda-compatible function platform with per-tenant execution environments."),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { panic(exitCode(code)) }),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
		kong.Vars{"data_dir": server.DefaultDataDir()},
	)
	if err != nil {
		fmt.Fprintf(stderr, "bulkhead: %v\n", err)
		return 2
	}
	defer func() {
		if r := recover(); r != nil {
			ec, ok := r.(exitCode)
			if !ok {
				panic(r)
			}
			code = int(ec)
		}
	}()
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "bulkhead: %v\nRun 'bulkhead --help' for usage.\n", err)
		return 2
	}
	if err := kctx.Run(&env{ctx: ctx, stdout: stdout, stderr: stderr, getenv: getenv}); err != nil {
		fmt.Fprintf(stderr, "bulkhead: %v\n", err)
		return 1
	}
	return 0
}
