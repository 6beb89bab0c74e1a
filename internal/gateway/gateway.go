// Package gateway is Bulkhead's front door: public routes to functions, in
// API Gateway's proxy shapes, with the tenant derived from a verified
// identity only — an API key, a JWT, or a Lambda authorizer's decision — and
// usage plans (rate, burst, quota) applied per key or tenant. Routes
// explicitly marked trusted may take the tenant from the request, for
// internal callers. A client-sent tenant header is never read anywhere
// else: invariant 2.
package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/gateway/apigw"
	"github.com/bulkhead-dev/bulkhead/internal/gateway/catalog"
	"github.com/bulkhead-dev/bulkhead/internal/gateway/plan"
	"github.com/bulkhead-dev/bulkhead/internal/invoke"
	"github.com/bulkhead-dev/bulkhead/internal/metrics"
	"github.com/bulkhead-dev/bulkhead/internal/tenant"
	"github.com/bulkhead-dev/bulkhead/internal/uuid"
)

// MaxBody is the largest request body the gateway takes: API Gateway's
// 10 MB payload limit. (A function's own limit, 6 MB, applies after.)
const MaxBody = 10 << 20

// maxEvent is Lambda's synchronous payload limit, 6 MB, which the event
// (the body with the request around it) must fit.
const maxEvent = 6291456

// Invoker runs invocations; satisfied by *invoke.Service.
type Invoker interface {
	Invoke(ctx context.Context, req invoke.Request) (invoke.Response, error)
}

// Config is what a Gateway is built from.
type Config struct {
	Invoker Invoker
	Tenants *tenant.Registry
	Store   catalog.Store
	Quotas  plan.QuotaStore
	// PerTenant reports whether a function runs per tenant (nil: not
	// checked when routes are created).
	PerTenant func(ctx context.Context, function string) (bool, error)
	// Drain destroys a tenant's environments (idle now, busy when done)
	// and returns how many were live; nil: nothing to drain.
	Drain func(tenant.ID) int
	// Purge deletes what a deleted tenant leaves behind; nil: nothing.
	Purge Purger
	// Metrics counts requests by route, tenant and answer; nil: none.
	Metrics   *metrics.Registry
	Region    string
	AccountID string
	Log       *slog.Logger
}

// Gateway serves the public routes and manages what they need.
type Gateway struct {
	invoker   Invoker
	tenants   *tenant.Registry
	store     catalog.Store
	enforcer  *plan.Enforcer
	functions func(ctx context.Context, function string) (bool, error)
	drainer   func(tenant.ID) int
	purger    Purger
	metrics   *metrics.Registry
	region    string
	account   string
	log       *slog.Logger

	writeMu sync.Mutex // serialises catalog changes
	snap    atomic.Pointer[snapshot]
	auth    *authorizers
	now     func() time.Time
}

// APIID and Stage are the names a Bulkhead gateway gives itself in events
// and method ARNs.
const (
	APIID = "bulkhead"
	Stage = "$default"
)

// New loads the catalog and returns the gateway.
func New(ctx context.Context, c Config) (*Gateway, error) {
	g := &Gateway{
		invoker: c.Invoker, tenants: c.Tenants, store: c.Store, functions: c.PerTenant, drainer: c.Drain, purger: c.Purge, metrics: c.Metrics,
		enforcer: plan.NewEnforcer(plan.NewLimiter(), c.Quotas), region: c.Region, account: c.AccountID, log: c.Log, now: time.Now,
	}
	g.auth = newAuthorizers(g)
	if err := g.reload(ctx); err != nil {
		return nil, fmt.Errorf("gateway catalog: %w", err)
	}
	return g, nil
}

// Close releases the authorizers' resources (JWKS refreshes).
func (g *Gateway) Close() { g.auth.close() }

// caller is who a request is from, once verified.
type caller struct {
	tenant tenant.ID
	key    *catalog.APIKey // the API key presented, if any
	info   apigw.RequestInfo
}

// ServeHTTP answers one public request.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := g.now()
	requestID := uuid.New()
	log := g.log.With("gateway_request", requestID, "method", r.Method, "path", r.URL.Path)
	routeLabel, tenantLabel := "-", ""
	count := func(answer string) {
		if g.metrics != nil {
			g.metrics.GatewayRequest(routeLabel, tenantLabel, answer)
		}
	}
	fail := func(kind apigw.Kind, why string, args ...any) {
		log.Info("gateway refused", append([]any{"answer", string(kind), "why", why}, args...)...)
		count(string(kind))
		apigw.WriteError(w, kind, requestID)
	}
	s := g.snap.Load()
	route, params, resource, ok := s.routes.Lookup(r.Method, r.URL.EscapedPath())
	if ok {
		routeLabel = route.Method + " " + route.Path
	}
	if !ok {
		fail(apigw.NotFound, "no route")
		return
	}
	if r.ContentLength > MaxBody {
		fail(apigw.RequestTooLarge, "body too large")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBody))
	if err != nil {
		fail(apigw.RequestTooLarge, "body too large or unreadable", "err", err)
		return
	}
	info := apigw.RequestInfo{Region: g.region, AccountID: g.account, APIID: APIID, Stage: Stage, RequestID: requestID, Time: start}
	c, kind, why := g.identify(r, s, route, params, resource, info)
	if kind != "" {
		fail(kind, why)
		return
	}
	log = log.With("tenant", c.tenant)
	tenantLabel = c.tenant.String()
	if kind, why := g.admit(r.Context(), s, route, resource, c); kind != "" {
		fail(kind, why)
		return
	}
	matched := apigw.Route{Pattern: mustPattern(route), Params: params}
	var event any
	if route.Payload == catalog.PayloadV1 {
		event = apigw.NewEventV1(r, body, matched, c.info)
	} else {
		event = apigw.NewEventV2(r, body, matched, c.info)
	}
	payload, err := json.Marshal(event)
	if err != nil {
		fail(apigw.IntegrationFailure, "event encoding", "err", err)
		return
	}
	if len(payload) > maxEvent {
		fail(apigw.RequestTooLarge, "event over the function's 6 MB payload limit", "bytes", len(payload))
		return
	}
	req := invoke.Request{Function: route.Function, Qualifier: route.Qualifier, Payload: payload,
		TraceHeader: r.Header.Get("X-Amzn-Trace-Id"), TraceParent: r.Header.Get("Traceparent")}
	if !c.tenant.IsNone() {
		t := c.tenant.String()
		req.Tenant = &t
	}
	ctx, cancel := context.WithTimeout(r.Context(), route.Timeout())
	defer cancel()
	resp, err := g.invoker.Invoke(ctx, req)
	switch {
	case err != nil && ctx.Err() == context.DeadlineExceeded:
		fail(apigw.IntegrationTimeout, "integration timed out")
		return
	case errors.Is(err, errdefs.ErrTooManyRequests):
		fail(apigw.Throttled, "invocation throttled", "err", err)
		return
	case errors.Is(err, errdefs.ErrForbidden):
		fail(apigw.InvalidAPIKey, "tenant refused", "err", err)
		return
	case errors.Is(err, errdefs.ErrTooLarge):
		fail(apigw.RequestTooLarge, "payload too large for the function", "err", err)
		return
	case err != nil:
		log.Warn("gateway integration failed", "err", err)
		count(string(apigw.IntegrationFailure))
		apigw.WriteError(w, apigw.IntegrationFailure, requestID)
		return
	case resp.FunctionError != "":
		fail(apigw.IntegrationFailure, "function error")
		return
	}
	var out apigw.Response
	if route.Payload == catalog.PayloadV1 {
		out, err = apigw.ResponseV1(resp.Payload)
	} else {
		out, err = apigw.ResponseV2(resp.Payload)
	}
	if err != nil {
		fail(apigw.IntegrationFailure, "malformed proxy response", "err", err)
		return
	}
	out.Header.Set("x-amzn-RequestId", requestID)
	count("integrated")
	out.Send(w)
}

// identify derives the caller's tenant from the route's verified identity.
// A kind is returned when the request is refused.
func (g *Gateway) identify(r *http.Request, s *snapshot, route *catalog.Route, params map[string]string, resource string, info apigw.RequestInfo) (caller, apigw.Kind, string) {
	c := caller{info: info}
	var presented *catalog.APIKey
	if v := r.Header.Get("x-api-key"); v != "" {
		k, ok := s.keyByHash[catalog.HashKey(v)]
		if !ok || k.Revoked != nil {
			return c, apigw.InvalidAPIKey, "unknown or revoked API key"
		}
		presented = k
	}
	switch route.Auth {
	case catalog.AuthAPIKey:
		if presented == nil {
			return c, apigw.InvalidAPIKey, "no API key"
		}
		c.tenant = presented.Tenant
	case catalog.AuthJWT:
		a := s.authorizers[route.Authorizer]
		v, err := g.auth.jwt(r.Context(), a)
		if err != nil {
			g.log.Error("jwt authorizer unavailable", "authorizer", a.Name, "err", err)
			return c, apigw.AuthorizerConfigurationError, "jwt authorizer unavailable"
		}
		id, err := v.Verify(r.Context(), r.Header.Get("Authorization"))
		if err != nil {
			return c, apigw.Unauthorized, "token refused: " + err.Error()
		}
		if !id.HasAnyScope(route.Scopes) {
			return c, apigw.InvalidAPIKey, "token lacks the route's scopes"
		}
		t, err := tenant.Parse(id.Tenant)
		if err != nil {
			return c, apigw.InvalidAPIKey, "token's tenant is not a valid tenant id"
		}
		c.tenant = t
		c.info.JWT = &apigw.JWT{Claims: claimStrings(id.Claims), Scopes: id.Scopes}
	case catalog.AuthLambda:
		d, kind, why := g.auth.lambda(r, s.authorizers[route.Authorizer], route, params, info)
		if kind != "" {
			return c, kind, why
		}
		tenantKey := s.authorizers[route.Authorizer].Lambda.TenantKey
		if tenantKey == "" {
			tenantKey = "tenantId"
		}
		raw, _ := d.Context[tenantKey].(string)
		t, err := tenant.Parse(raw)
		if err != nil {
			return c, apigw.AccessDenied, "authorizer context names no valid tenant"
		}
		c.tenant = t
		c.info.Authorizer = d.RequestAuthorizer(0)
		if route.Payload == catalog.PayloadV2 {
			c.info.Authorizer = d.Context
		}
		if d.UsageIdentifierKey != "" && presented == nil {
			k, ok := s.keyByHash[catalog.HashKey(d.UsageIdentifierKey)]
			if !ok || k.Revoked != nil {
				return c, apigw.InvalidAPIKey, "authorizer's usage key unknown or revoked"
			}
			presented = k
		}
	case catalog.AuthTrusted:
		where, name, _ := strings.Cut(route.TenantFrom, ".")
		var raw string
		switch where {
		case "header":
			raw = r.Header.Get(name)
		case "query":
			raw = r.URL.Query().Get(name)
		case "path":
			raw = params[name]
		}
		t, err := tenant.Parse(raw)
		if err != nil {
			return c, apigw.InvalidAPIKey, "trusted route without a valid tenant in " + route.TenantFrom
		}
		c.tenant = t
	case catalog.AuthNone:
		c.tenant = tenant.None
	default:
		return c, apigw.InvalidAPIKey, "route has no known auth"
	}
	if route.APIKeyRequired && presented == nil {
		return c, apigw.InvalidAPIKey, "route requires an API key"
	}
	if presented != nil {
		if route.Auth != catalog.AuthNone && presented.Tenant != c.tenant {
			return c, apigw.InvalidAPIKey, "API key bound to another tenant"
		}
		c.key = presented
		c.info.APIKeyID = presented.ID
	}
	return c, "", ""
}

// admit refuses suspended tenants and applies the usage plan.
func (g *Gateway) admit(ctx context.Context, s *snapshot, route *catalog.Route, resource string, c caller) (apigw.Kind, string) {
	var planName string
	var subject plan.Subject
	if c.key != nil && c.key.Plan != "" {
		planName, subject = c.key.Plan, plan.Subject{Key: "key:" + c.key.ID, Since: c.key.Created}
	}
	if !c.tenant.IsNone() {
		t, registered := g.tenants.Lookup(c.tenant)
		if registered && t.Status == tenant.Suspended {
			return apigw.InvalidAPIKey, "tenant suspended"
		}
		if planName == "" && registered && t.Plan != "" {
			planName, subject = t.Plan, plan.Subject{Key: "tenant:" + t.ID.String(), Since: t.Created}
		}
	}
	if planName == "" && route.Plan != "" {
		planName, subject = route.Plan, plan.Subject{Key: routeSubject(route.ID, c.tenant), Since: route.Created}
	}
	if planName == "" {
		return "", ""
	}
	p, ok := s.plans[planName]
	if !ok {
		return apigw.InvalidAPIKey, "usage plan missing"
	}
	outcome, err := g.enforcer.Check(ctx, subject, p, plan.RouteKey(resource, route.Method), g.now())
	if err != nil {
		g.log.Error("usage plan check failed", "plan", planName, "err", err)
		return apigw.IntegrationFailure, "usage plan check failed"
	}
	switch outcome {
	case plan.Throttled:
		return apigw.Throttled, "rate or burst exceeded"
	case plan.QuotaExceeded:
		return apigw.QuotaExceeded, "quota exhausted"
	}
	return "", ""
}

// claimStrings renders claims as API Gateway passes them: every value a
// string (objects and arrays as JSON).
func claimStrings(claims map[string]any) map[string]string {
	out := make(map[string]string, len(claims))
	for k, v := range claims {
		switch v := v.(type) {
		case string:
			out[k] = v
		case json.Number:
			out[k] = v.String()
		default:
			b, _ := json.Marshal(v)
			out[k] = string(b)
		}
	}
	return out
}

func mustPattern(r *catalog.Route) apigw.Pattern {
	p, _ := apigw.Parse(r.Method, r.Path) // checked when the route was stored
	return p
}
