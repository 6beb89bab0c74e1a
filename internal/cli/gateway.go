package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/gateway/catalog"
	"github.com/bulkhead-dev/bulkhead/internal/gateway/plan"
	"github.com/bulkhead-dev/bulkhead/internal/lambdaapi"
)

// The gateway's catalog: usage plans, API keys, authorizers and routes.

// PlansCmd is `bulkhead plans`.
type PlansCmd struct {
	Create PlansCreateCmd `cmd:"" help:"Create a usage plan from flags or a JSON file."`
	List   PlansListCmd   `cmd:"" help:"List usage plans."`
	Get    PlansGetCmd    `cmd:"" help:"Show a usage plan."`
	Update PlansUpdateCmd `cmd:"" help:"Replace a usage plan: what the flags or the file leave out is removed."`
	Delete PlansDeleteCmd `cmd:"" help:"Delete a usage plan that no tenant, API key or route uses."`
}

// planFlags are a usage plan's settings, as flags or as a file.
type planFlags struct {
	File          string   `type:"existingfile" placeholder:"FILE" help:"Read the plan from this JSON file, in the API's form, instead of the flags."`
	Rate          *float64 `placeholder:"R" help:"Throttle: requests a second over all routes (fractions allowed; with --burst; 0 and 0 refuse every request)."`
	Burst         *int     `placeholder:"B" help:"Throttle: requests allowed at once after an idle spell (with --rate)."`
	QuotaLimit    int64    `placeholder:"N" help:"Quota: requests allowed per period (with --quota-period)."`
	QuotaPeriod   string   `enum:",DAY,WEEK,MONTH" default:"" placeholder:"PERIOD" help:"Quota period: DAY, WEEK or MONTH, calendar periods in UTC."`
	QuotaOffset   int64    `placeholder:"N" help:"Quota: requests taken off the first period's limit."`
	RouteThrottle []string `sep:"none" placeholder:"PATH/METHOD=RATE:BURST" help:"Throttle of one route, e.g. \"/pets/{id}/GET=5:10\" (\"//GET\" for the root; repeatable)."`
}

func (f *planFlags) check() error {
	flags := f.Rate != nil || f.Burst != nil || f.QuotaLimit != 0 || f.QuotaPeriod != "" || f.QuotaOffset != 0 || len(f.RouteThrottle) > 0
	switch {
	case f.File != "" && flags:
		return errors.New("--file cannot be combined with the plan's flags")
	case (f.Rate == nil) != (f.Burst == nil):
		return errors.New("--rate and --burst go together")
	case (f.QuotaLimit == 0) != (f.QuotaPeriod == ""):
		return errors.New("--quota-limit and --quota-period go together")
	case f.QuotaOffset != 0 && f.QuotaLimit == 0:
		return errors.New("--quota-offset needs --quota-limit")
	}
	return nil
}

// plan builds the plan named name from the file or the flags.
func (f *planFlags) plan(name string) (plan.Plan, error) {
	if f.File != "" {
		var p plan.Plan
		if err := readJSONFile(f.File, &p); err != nil {
			return p, err
		}
		if p.Name != "" && p.Name != name {
			return p, fmt.Errorf("%s describes plan %q, not %q", f.File, p.Name, name)
		}
		p.Name = name
		return p, nil
	}
	p := plan.Plan{Name: name}
	if f.Rate != nil {
		p.Throttle = &plan.Throttle{RateLimit: *f.Rate, BurstLimit: *f.Burst}
	}
	if f.QuotaLimit != 0 {
		p.Quota = &plan.Quota{Limit: f.QuotaLimit, Offset: f.QuotaOffset, Period: f.QuotaPeriod}
	}
	for _, s := range f.RouteThrottle {
		key, t, err := parseRouteThrottle(s)
		if err != nil {
			return p, err
		}
		if _, dup := p.RouteThrottles[key]; dup {
			return p, fmt.Errorf("--route-throttle: %s is given twice", key)
		}
		if p.RouteThrottles == nil {
			p.RouteThrottles = map[string]plan.Throttle{}
		}
		p.RouteThrottles[key] = t
	}
	return p, nil
}

// parseRouteThrottle parses "/pets/{id}/GET=5:10". The key is checked by
// the server, which knows the rules.
func parseRouteThrottle(s string) (string, plan.Throttle, error) {
	bad := fmt.Errorf("--route-throttle %q: want PATH/METHOD=RATE:BURST, e.g. \"/pets/{id}/GET=5:10\"", s)
	i := strings.LastIndexByte(s, '=')
	if i <= 0 {
		return "", plan.Throttle{}, bad
	}
	rate, burst, ok := strings.Cut(s[i+1:], ":")
	if !ok {
		return "", plan.Throttle{}, bad
	}
	r, err := strconv.ParseFloat(rate, 64)
	if err != nil {
		return "", plan.Throttle{}, bad
	}
	b, err := strconv.Atoi(burst)
	if err != nil {
		return "", plan.Throttle{}, bad
	}
	return s[:i], plan.Throttle{RateLimit: r, BurstLimit: b}, nil
}

// PlansCreateCmd is `bulkhead plans create`.
type PlansCreateCmd struct {
	ClientFlags `embed:""`
	Name        string `arg:"" help:"Plan name: 1-64 letters, digits, hyphens or underscores."`
	planFlags   `embed:""`
}

func (c *PlansCreateCmd) Validate() error { return c.planFlags.check() }

func (c *PlansCreateCmd) Run(e *env) error {
	return putPlan(e, &c.ClientFlags, &c.planFlags, c.Name, true)
}

// PlansUpdateCmd is `bulkhead plans update`.
type PlansUpdateCmd struct {
	ClientFlags `embed:""`
	Name        string `arg:"" help:"Plan name."`
	planFlags   `embed:""`
}

func (c *PlansUpdateCmd) Validate() error { return c.planFlags.check() }

func (c *PlansUpdateCmd) Run(e *env) error {
	return putPlan(e, &c.ClientFlags, &c.planFlags, c.Name, false)
}

func putPlan(e *env, f *ClientFlags, pf *planFlags, name string, create bool) error {
	p, err := pf.plan(name)
	if err != nil {
		return err
	}
	cl, err := f.client(e)
	if err != nil {
		return err
	}
	method, path := "POST", frontdoorPath("plans")
	if !create {
		method, path = "PUT", frontdoorPath("plans", name)
	}
	var out plan.Plan
	raw, err := cl.do(e.ctx, method, path, nil, p, &out)
	if err != nil {
		return err
	}
	return f.print(e.stdout, raw, func(w io.Writer) { printPlan(w, out) })
}

// PlansListCmd is `bulkhead plans list`.
type PlansListCmd struct {
	ClientFlags `embed:""`
}

func (c *PlansListCmd) Run(e *env) error {
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	var out struct{ Plans []plan.Plan }
	raw, err := cl.do(e.ctx, "GET", frontdoorPath("plans"), nil, nil, &out)
	if err != nil {
		return err
	}
	return c.print(e.stdout, raw, func(w io.Writer) {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tTHROTTLE\tQUOTA\tROUTE THROTTLES")
		for _, p := range out.Plans {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", p.Name, throttle(p.Throttle), quota(p.Quota), len(p.RouteThrottles))
		}
		tw.Flush()
	})
}

// PlansGetCmd is `bulkhead plans get`.
type PlansGetCmd struct {
	ClientFlags `embed:""`
	Name        string `arg:"" help:"Plan name."`
}

func (c *PlansGetCmd) Run(e *env) error {
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	var out plan.Plan
	raw, err := cl.do(e.ctx, "GET", frontdoorPath("plans", c.Name), nil, nil, &out)
	if err != nil {
		return err
	}
	return c.print(e.stdout, raw, func(w io.Writer) { printPlan(w, out) })
}

// PlansDeleteCmd is `bulkhead plans delete`.
type PlansDeleteCmd struct {
	ClientFlags `embed:""`
	Name        string `arg:"" help:"Plan name."`
}

func (c *PlansDeleteCmd) Run(e *env) error {
	return deleteResource(e, &c.ClientFlags, "usage plan "+c.Name, frontdoorPath("plans", c.Name))
}

func printPlan(w io.Writer, p plan.Plan) {
	fmt.Fprintf(w, "Name:     %s\n", p.Name)
	fmt.Fprintf(w, "Throttle: %s\n", throttle(p.Throttle))
	fmt.Fprintf(w, "Quota:    %s\n", quota(p.Quota))
	if len(p.RouteThrottles) > 0 {
		fmt.Fprintln(w, "Route throttles:")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, key := range slices.Sorted(maps.Keys(p.RouteThrottles)) {
			t := p.RouteThrottles[key]
			fmt.Fprintf(tw, "  %s\t%s\n", key, throttle(&t))
		}
		tw.Flush()
	}
}

func throttle(t *plan.Throttle) string {
	switch {
	case t == nil:
		return "none"
	case t.RateLimit == 0 && t.BurstLimit == 0:
		return "every request refused"
	}
	return fmt.Sprintf("%s/s, burst %d", strconv.FormatFloat(t.RateLimit, 'g', -1, 64), t.BurstLimit)
}

func quota(q *plan.Quota) string {
	if q == nil {
		return "none"
	}
	s := fmt.Sprintf("%d a %s", q.Limit, strings.ToLower(q.Period))
	if q.Offset > 0 {
		s += fmt.Sprintf(" (%d in the first)", q.Limit-q.Offset)
	}
	return s
}

// KeysCmd is `bulkhead keys`.
type KeysCmd struct {
	Create KeysCreateCmd `cmd:"" help:"Create an API key for a tenant and print its value, this once."`
	List   KeysListCmd   `cmd:"" help:"List API keys (never their values)."`
	Revoke KeysRevokeCmd `cmd:"" help:"Revoke an API key: the gateway refuses it from now on."`
}

// KeysCreateCmd is `bulkhead keys create`.
type KeysCreateCmd struct {
	ClientFlags `embed:""`
	Tenant      string `required:"" placeholder:"ID" help:"Registered tenant the key identifies."`
	Plan        string `placeholder:"NAME" help:"Usage plan for the key's requests (default: the tenant's plan)."`
	Name        string `help:"A label for the key, up to 128 bytes."`
	Value       string `help:"Use this value, 30-128 printable ASCII characters, instead of a generated one."`
}

func (c *KeysCreateCmd) Run(e *env) error {
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	in := lambdaapi.KeyInput{Tenant: c.Tenant, Plan: c.Plan, Name: c.Name, Value: c.Value}
	var out lambdaapi.Key
	raw, err := cl.do(e.ctx, "POST", frontdoorPath("keys"), nil, in, &out)
	if err != nil {
		return err
	}
	const note = "Store the value now: it cannot be shown again. Callers send it in the x-api-key header."
	if c.JSON {
		fmt.Fprintln(e.stderr, note)
	}
	return c.print(e.stdout, raw, func(w io.Writer) {
		fmt.Fprintf(w, "ID:     %s\n", out.ID)
		fmt.Fprintf(w, "Tenant: %s\n", out.Tenant)
		fmt.Fprintf(w, "Plan:   %s\n", orDash(out.Plan))
		if out.Name != "" {
			fmt.Fprintf(w, "Name:   %s\n", out.Name)
		}
		fmt.Fprintf(w, "Value:  %s\n\n%s\n", out.Value, note)
	})
}

// KeysListCmd is `bulkhead keys list`.
type KeysListCmd struct {
	ClientFlags `embed:""`
	Tenant      string `placeholder:"ID" help:"Only this tenant's keys."`
}

func (c *KeysListCmd) Run(e *env) error {
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	var q url.Values
	if c.Tenant != "" {
		q = url.Values{"tenant": {c.Tenant}}
	}
	var out struct{ Keys []lambdaapi.Key }
	raw, err := cl.do(e.ctx, "GET", frontdoorPath("keys"), q, nil, &out)
	if err != nil {
		return err
	}
	return c.print(e.stdout, raw, func(w io.Writer) {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tTENANT\tPLAN\tNAME\tPREFIX\tCREATED\tREVOKED")
		for _, k := range out.Keys {
			revoked := "-"
			if k.Revoked != nil {
				revoked = timestamp(*k.Revoked)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s…\t%s\t%s\n", k.ID, k.Tenant, orDash(k.Plan), orDash(k.Name), k.Prefix, timestamp(k.Created), revoked)
		}
		tw.Flush()
	})
}

// KeysRevokeCmd is `bulkhead keys revoke`.
type KeysRevokeCmd struct {
	ClientFlags `embed:""`
	ID          string `arg:"" help:"Key id (key-…), as keys list shows it."`
}

func (c *KeysRevokeCmd) Run(e *env) error {
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	if _, err := cl.do(e.ctx, "DELETE", frontdoorPath("keys", c.ID), nil, nil, nil); err != nil {
		return err
	}
	if !c.JSON {
		fmt.Fprintf(e.stdout, "Revoked API key %s.\n", c.ID)
	}
	return nil
}

// AuthorizersCmd is `bulkhead authorizers`.
type AuthorizersCmd struct {
	Create AuthorizersCreateCmd `cmd:"" help:"Create an authorizer from flags or a JSON file."`
	List   AuthorizersListCmd   `cmd:"" help:"List authorizers, secrets redacted."`
	Update AuthorizersUpdateCmd `cmd:"" help:"Replace an authorizer: give every setting again, an HMAC secret too."`
	Delete AuthorizersDeleteCmd `cmd:"" help:"Delete an authorizer that no route uses."`
}

// authorizerFlags are an authorizer's settings, as flags or as a file.
type authorizerFlags struct {
	File string `type:"existingfile" placeholder:"FILE" help:"Read the authorizer from this JSON file, in the API's form, instead of the flags (--hmac-secret-env may add the secret)."`
	Type string `enum:",jwt,lambda" default:"" placeholder:"jwt|lambda" help:"jwt: verify bearer tokens; lambda: run a function that decides."`

	Issuer        string         `group:"JWT authorizers" placeholder:"ISSUER" help:"Issuer (iss) a token must name."`
	Audience      []string       `group:"JWT authorizers" sep:"none" placeholder:"AUDIENCE" help:"Audience (aud) a token may name (repeatable)."`
	Algorithm     []string       `group:"JWT authorizers" sep:"none" placeholder:"ALG" help:"Signing algorithm accepted: RS256, ES256 or HS256 (repeatable; default HS256 with --hmac-secret-env, else RS256)."`
	JWKSURL       string         `group:"JWT authorizers" name:"jwks-url" placeholder:"URL" help:"URL of the JSON Web Key Set that verifies RS256 and ES256 tokens."`
	JWKSFile      string         `group:"JWT authorizers" name:"jwks-file" placeholder:"FILE" help:"Path, on the server, of a JSON Web Key Set file."`
	HMACSecretEnv string         `group:"JWT authorizers" name:"hmac-secret-env" placeholder:"VAR" help:"Environment variable holding the HS256 secret, at least 32 bytes (never a flag, so it stays out of shell history)."`
	TenantClaim   string         `group:"JWT authorizers" placeholder:"CLAIM" help:"Claim holding the tenant id."`
	Leeway        *time.Duration `group:"JWT authorizers" placeholder:"DURATION" help:"Clock skew allowed on exp, nbf and iat, up to 5m (default 30s)."`

	Function       string         `group:"Lambda authorizers" placeholder:"NAME" help:"Function that decides."`
	Qualifier      string         `group:"Lambda authorizers" placeholder:"VERSION|ALIAS" help:"Version or alias of the function (default $LATEST)."`
	IdentitySource []string       `group:"Lambda authorizers" sep:"none" placeholder:"header.NAME|query.NAME" help:"Request part that identifies the caller (repeatable); a request without it is refused without running the function."`
	TTL            *time.Duration `group:"Lambda authorizers" name:"ttl" placeholder:"DURATION" help:"How long a decision is cached, up to 1h; 0 to ask every time (default 5m)."`
	TenantKey      string         `group:"Lambda authorizers" placeholder:"KEY" help:"Key of the decision's context that holds the tenant id (default tenantId)."`
}

func (f *authorizerFlags) jwtFlags() bool {
	return f.Issuer != "" || len(f.Audience) > 0 || len(f.Algorithm) > 0 || f.JWKSURL != "" || f.JWKSFile != "" ||
		f.TenantClaim != "" || f.Leeway != nil
}

func (f *authorizerFlags) lambdaFlags() bool {
	return f.Function != "" || f.Qualifier != "" || len(f.IdentitySource) > 0 || f.TTL != nil || f.TenantKey != ""
}

func (f *authorizerFlags) check() error {
	switch {
	case f.File != "" && (f.Type != "" || f.jwtFlags() || f.lambdaFlags()):
		return errors.New("--file cannot be combined with the authorizer's flags, --hmac-secret-env aside")
	case f.File != "":
		return nil
	case f.Type == "":
		return errors.New("give --type jwt or --type lambda, or --file")
	case f.Type == catalog.AuthorizerJWT && f.lambdaFlags():
		return errors.New("--function, --qualifier, --identity-source, --ttl and --tenant-key are for --type lambda")
	case f.Type == catalog.AuthorizerLambda && (f.jwtFlags() || f.HMACSecretEnv != ""):
		return errors.New("--issuer, --audience, --algorithm, --jwks-url, --jwks-file, --hmac-secret-env, --tenant-claim and --leeway are for --type jwt")
	}
	return nil
}

// authorizer builds the authorizer named name from the file or the flags,
// reading the HMAC secret from the environment.
func (f *authorizerFlags) authorizer(e *env, name string) (catalog.Authorizer, error) {
	var secret string
	if f.HMACSecretEnv != "" {
		if secret = e.getenv(f.HMACSecretEnv); secret == "" {
			return catalog.Authorizer{}, fmt.Errorf("--hmac-secret-env: environment variable %s is not set", f.HMACSecretEnv)
		}
	}
	if f.File != "" {
		var a catalog.Authorizer
		if err := readJSONFile(f.File, &a); err != nil {
			return a, err
		}
		if a.Name != "" && a.Name != name {
			return a, fmt.Errorf("%s describes authorizer %q, not %q", f.File, a.Name, name)
		}
		a.Name = name
		if secret != "" {
			if a.JWT == nil {
				return a, fmt.Errorf("--hmac-secret-env: %s describes no jwt authorizer", f.File)
			}
			a.JWT.HMACSecret = secret
		}
		return a, nil
	}
	a := catalog.Authorizer{Name: name, Type: f.Type}
	switch f.Type {
	case catalog.AuthorizerJWT:
		algorithms := f.Algorithm
		if len(algorithms) == 0 {
			algorithms = []string{"RS256"}
			if secret != "" {
				algorithms = []string{"HS256"}
			}
		}
		a.JWT = &catalog.JWTConfig{Issuer: f.Issuer, Audiences: f.Audience, Algorithms: algorithms, JWKSURL: f.JWKSURL,
			JWKSFile: f.JWKSFile, HMACSecret: secret, TenantClaim: f.TenantClaim}
		if f.Leeway != nil {
			s, err := wholeSeconds("--leeway", *f.Leeway)
			if err != nil {
				return a, err
			}
			a.JWT.LeewaySeconds = s
		}
	case catalog.AuthorizerLambda:
		ttl := 300
		if f.TTL != nil {
			var err error
			if ttl, err = wholeSeconds("--ttl", *f.TTL); err != nil {
				return a, err
			}
		}
		a.Lambda = &catalog.LambdaConfig{Function: f.Function, Qualifier: f.Qualifier, IdentitySources: f.IdentitySource,
			TTLSeconds: ttl, TenantKey: f.TenantKey}
	}
	return a, nil
}

// AuthorizersCreateCmd is `bulkhead authorizers create`.
type AuthorizersCreateCmd struct {
	ClientFlags     `embed:""`
	Name            string `arg:"" help:"Authorizer name: 1-64 letters, digits, hyphens or underscores."`
	authorizerFlags `embed:""`
}

func (c *AuthorizersCreateCmd) Validate() error { return c.authorizerFlags.check() }

func (c *AuthorizersCreateCmd) Run(e *env) error {
	return putAuthorizer(e, &c.ClientFlags, &c.authorizerFlags, c.Name, true)
}

// AuthorizersUpdateCmd is `bulkhead authorizers update`.
type AuthorizersUpdateCmd struct {
	ClientFlags     `embed:""`
	Name            string `arg:"" help:"Authorizer name."`
	authorizerFlags `embed:""`
}

func (c *AuthorizersUpdateCmd) Validate() error { return c.authorizerFlags.check() }

func (c *AuthorizersUpdateCmd) Run(e *env) error {
	return putAuthorizer(e, &c.ClientFlags, &c.authorizerFlags, c.Name, false)
}

func putAuthorizer(e *env, f *ClientFlags, af *authorizerFlags, name string, create bool) error {
	a, err := af.authorizer(e, name)
	if err != nil {
		return err
	}
	cl, err := f.client(e)
	if err != nil {
		return err
	}
	method, path := "POST", frontdoorPath("authorizers")
	if !create {
		method, path = "PUT", frontdoorPath("authorizers", name)
	}
	var out catalog.Authorizer
	raw, err := cl.do(e.ctx, method, path, nil, a, &out)
	if err != nil {
		return err
	}
	return f.print(e.stdout, raw, func(w io.Writer) {
		fmt.Fprintf(w, "Name:     %s\n", out.Name)
		fmt.Fprintf(w, "Type:     %s\n", out.Type)
		fmt.Fprintf(w, "Settings: %s\n", authorizerSettings(out))
	})
}

// AuthorizersListCmd is `bulkhead authorizers list`.
type AuthorizersListCmd struct {
	ClientFlags `embed:""`
}

func (c *AuthorizersListCmd) Run(e *env) error {
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	var out struct{ Authorizers []catalog.Authorizer }
	raw, err := cl.do(e.ctx, "GET", frontdoorPath("authorizers"), nil, nil, &out)
	if err != nil {
		return err
	}
	return c.print(e.stdout, raw, func(w io.Writer) {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tTYPE\tSETTINGS")
		for _, a := range out.Authorizers {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", a.Name, a.Type, authorizerSettings(a))
		}
		tw.Flush()
	})
}

// AuthorizersDeleteCmd is `bulkhead authorizers delete`.
type AuthorizersDeleteCmd struct {
	ClientFlags `embed:""`
	Name        string `arg:"" help:"Authorizer name."`
}

func (c *AuthorizersDeleteCmd) Run(e *env) error {
	return deleteResource(e, &c.ClientFlags, "authorizer "+c.Name, frontdoorPath("authorizers", c.Name))
}

// authorizerSettings says an authorizer's settings on one line, the secret
// as the API shows it (redacted).
func authorizerSettings(a catalog.Authorizer) string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	if j := a.JWT; j != nil {
		add("issuer", j.Issuer)
		add("audiences", strings.Join(j.Audiences, ","))
		add("algorithms", strings.Join(j.Algorithms, ","))
		add("jwksUrl", j.JWKSURL)
		add("jwksFile", j.JWKSFile)
		add("hmacSecret", j.HMACSecret)
		add("tenantClaim", j.TenantClaim)
		if j.LeewaySeconds != 0 {
			add("leeway", (time.Duration(j.LeewaySeconds) * time.Second).String())
		}
	}
	if l := a.Lambda; l != nil {
		add("function", l.Function)
		add("qualifier", l.Qualifier)
		add("identitySources", strings.Join(l.IdentitySources, ","))
		add("ttl", (time.Duration(l.TTLSeconds) * time.Second).String())
		add("tenantKey", l.TenantKey)
	}
	return strings.Join(parts, " ")
}

// RoutesCmd is `bulkhead routes`.
type RoutesCmd struct {
	Create RoutesCreateCmd `cmd:"" help:"Route a gateway method and path to a function."`
	List   RoutesListCmd   `cmd:"" help:"List routes, by path and method."`
	Delete RoutesDeleteCmd `cmd:"" help:"Delete a route."`
}

// RoutesCreateCmd is `bulkhead routes create`.
type RoutesCreateCmd struct {
	ClientFlags    `embed:""`
	Method         string        `required:"" placeholder:"METHOD" help:"HTTP method (GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS), or ANY for all of them."`
	Path           string        `required:"" placeholder:"PATTERN" help:"Path pattern: literal segments, {name} parameters and a last greedy {name+}, e.g. /pets/{id}."`
	Function       string        `required:"" placeholder:"NAME" help:"Function the route invokes."`
	Qualifier      string        `placeholder:"VERSION|ALIAS" help:"Version or alias of the function (default $LATEST)."`
	Payload        string        `default:"2.0" enum:"1.0,2.0" help:"Event format: 2.0 (HTTP API) or 1.0 (REST API proxy)."`
	Auth           string        `required:"" enum:"api_key,jwt,lambda,trusted,none" placeholder:"MODE" help:"How a request names its tenant: api_key (the x-api-key header), jwt or lambda (an authorizer), trusted (the caller says so, for internal callers only) or none (functions without tenancy only)."`
	Authorizer     string        `placeholder:"NAME" help:"Authorizer of an --auth jwt or lambda route."`
	Scope          []string      `sep:"none" placeholder:"SCOPE" help:"Scope a token must hold, one of those given (--auth jwt; repeatable)."`
	APIKeyRequired bool          `name:"api-key-required" help:"Also require an x-api-key of the same tenant (a usage plan per key on a jwt or lambda route)."`
	TenantFrom     string        `name:"tenant-from" placeholder:"header.NAME|query.NAME|path.NAME" help:"Where an --auth trusted route reads the tenant id."`
	Plan           string        `placeholder:"NAME" help:"Usage plan for the requests no API key's or tenant's plan covers."`
	Timeout        time.Duration `placeholder:"DURATION" help:"How long the function may take to answer, 1s to 29s (default 29s)."`
}

func (c *RoutesCreateCmd) Run(e *env) error {
	timeout, err := wholeSeconds("--timeout", c.Timeout)
	if err != nil {
		return err
	}
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	in := catalog.Route{Method: strings.ToUpper(c.Method), Path: c.Path, Function: c.Function, Qualifier: c.Qualifier,
		Payload: c.Payload, Auth: c.Auth, Authorizer: c.Authorizer, Scopes: c.Scope, APIKeyRequired: c.APIKeyRequired,
		TenantFrom: c.TenantFrom, Plan: c.Plan, TimeoutSeconds: timeout}
	var out catalog.Route
	raw, err := cl.do(e.ctx, "POST", frontdoorPath("routes"), nil, in, &out)
	if err != nil {
		return err
	}
	return c.print(e.stdout, raw, func(w io.Writer) {
		fmt.Fprintf(w, "ID:       %s\n", out.ID)
		fmt.Fprintf(w, "Route:    %s %s\n", out.Method, out.Path)
		fmt.Fprintf(w, "Function: %s\n", target(out))
		fmt.Fprintf(w, "Payload:  %s\n", out.Payload)
		fmt.Fprintf(w, "Auth:     %s\n", auth(out))
		fmt.Fprintf(w, "Plan:     %s\n", orDash(out.Plan))
		fmt.Fprintf(w, "Timeout:  %s\n", out.Timeout())
		fmt.Fprintf(w, "Created:  %s\n", timestamp(out.Created))
	})
}

// RoutesListCmd is `bulkhead routes list`.
type RoutesListCmd struct {
	ClientFlags `embed:""`
}

func (c *RoutesListCmd) Run(e *env) error {
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	var out struct{ Routes []catalog.Route }
	raw, err := cl.do(e.ctx, "GET", frontdoorPath("routes"), nil, nil, &out)
	if err != nil {
		return err
	}
	return c.print(e.stdout, raw, func(w io.Writer) {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tMETHOD\tPATH\tFUNCTION\tPAYLOAD\tAUTH\tPLAN\tTIMEOUT")
		for _, r := range out.Routes {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Method, r.Path, target(r), r.Payload, auth(r), orDash(r.Plan), r.Timeout())
		}
		tw.Flush()
	})
}

// RoutesDeleteCmd is `bulkhead routes delete`.
type RoutesDeleteCmd struct {
	ClientFlags `embed:""`
	ID          string `arg:"" help:"Route id (r-…), as routes list shows it."`
}

func (c *RoutesDeleteCmd) Run(e *env) error {
	return deleteResource(e, &c.ClientFlags, "route "+c.ID, frontdoorPath("routes", c.ID))
}

func target(r catalog.Route) string {
	if r.Qualifier == "" {
		return r.Function
	}
	return r.Function + ":" + r.Qualifier
}

// auth says how a route identifies the tenant: its mode and what it needs.
func auth(r catalog.Route) string {
	var details []string
	if r.Authorizer != "" {
		details = append(details, "authorizer "+r.Authorizer)
	}
	if len(r.Scopes) > 0 {
		details = append(details, "scopes "+strings.Join(r.Scopes, ","))
	}
	if r.TenantFrom != "" {
		details = append(details, "tenant from "+r.TenantFrom)
	}
	if r.APIKeyRequired {
		details = append(details, "API key required")
	}
	if len(details) == 0 {
		return r.Auth
	}
	return r.Auth + " (" + strings.Join(details, "; ") + ")"
}

// deleteResource deletes what path names and says so.
func deleteResource(e *env, f *ClientFlags, what, path string) error {
	cl, err := f.client(e)
	if err != nil {
		return err
	}
	if _, err := cl.do(e.ctx, "DELETE", path, nil, nil, nil); err != nil {
		return err
	}
	if !f.JSON {
		fmt.Fprintf(e.stdout, "Deleted %s.\n", what)
	}
	return nil
}

// readJSONFile decodes the JSON document in path into v, refusing fields v
// does not have, so that a misspelt setting is not silently dropped.
func readJSONFile(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if dec.More() {
		return fmt.Errorf("%s: more than one JSON document", path)
	}
	return nil
}

// wholeSeconds converts a duration flag to the seconds the API takes.
func wholeSeconds(flag string, d time.Duration) (int, error) {
	if d < 0 || d%time.Second != 0 {
		return 0, fmt.Errorf("%s %s: give a whole number of seconds, such as 30s", flag, d)
	}
	return int(d / time.Second), nil
}
