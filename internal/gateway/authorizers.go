package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"sync"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/gateway/apigw"
	"github.com/bulkhead-dev/bulkhead/internal/gateway/catalog"
	"github.com/bulkhead-dev/bulkhead/internal/gateway/jwtauth"
	"github.com/bulkhead-dev/bulkhead/internal/invoke"
)

// maxCachedDecisions bounds the Lambda authorizer cache; past it, expired
// entries are dropped, then the cache is emptied (a cache miss costs one
// authorizer invocation, never a wrong answer).
const maxCachedDecisions = 10000

// authorizers holds what authorizers need between requests: a JWT
// verifier per jwt authorizer (built on first use, as it fetches keys), and
// Lambda authorizers' cached decisions.
type authorizers struct {
	g *Gateway

	mu        sync.Mutex
	verifiers map[string]verifierEntry
	decisions map[decisionKey]cachedDecision
}

type verifierEntry struct {
	spec catalog.Authorizer
	v    *jwtauth.Verifier
}

// decisionKey is what a decision is cached under: the authorizer (its
// whole spec's hash, so a changed authorizer never reuses a decision), the
// method ARN, and the identity's values.
type decisionKey struct {
	authorizer [32]byte
	methodARN  string
	identity   [32]byte
}

type cachedDecision struct {
	d       apigw.Decision
	expires time.Time
}

func newAuthorizers(g *Gateway) *authorizers {
	return &authorizers{g: g, verifiers: map[string]verifierEntry{}, decisions: map[decisionKey]cachedDecision{}}
}

// forget drops the verifiers of authorizers changed or deleted.
func (a *authorizers) forget(current map[string]catalog.Authorizer) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for name, e := range a.verifiers {
		if spec, ok := current[name]; !ok || !reflect.DeepEqual(spec, e.spec) {
			e.v.Close()
			delete(a.verifiers, name)
		}
	}
}

func (a *authorizers) close() {
	a.forget(nil)
}

// jwt returns the verifier of a jwt authorizer.
func (a *authorizers) jwt(ctx context.Context, spec catalog.Authorizer) (*jwtauth.Verifier, error) {
	a.mu.Lock()
	e, ok := a.verifiers[spec.Name]
	a.mu.Unlock()
	if ok && reflect.DeepEqual(e.spec, spec) {
		return e.v, nil
	}
	if spec.JWT == nil {
		return nil, errors.New("not a jwt authorizer")
	}
	j := spec.JWT
	v, err := jwtauth.New(context.WithoutCancel(ctx), jwtauth.Config{
		Issuer: j.Issuer, Audiences: j.Audiences, Algorithms: j.Algorithms, JWKSURL: j.JWKSURL, JWKSFile: j.JWKSFile,
		HMACSecret: []byte(j.HMACSecret), TenantClaim: j.TenantClaim, Leeway: time.Duration(j.LeewaySeconds) * time.Second,
		Logger: a.g.log,
	})
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if e, ok := a.verifiers[spec.Name]; ok { // another request built one meanwhile
		if reflect.DeepEqual(e.spec, spec) {
			v.Close()
			return e.v, nil
		}
		e.v.Close()
	}
	a.verifiers[spec.Name] = verifierEntry{spec: spec, v: v}
	return v, nil
}

// lambda runs (or recalls) a Lambda authorizer for a request.
func (a *authorizers) lambda(r *http.Request, spec catalog.Authorizer, route *catalog.Route, params map[string]string, info apigw.RequestInfo) (apigw.Decision, apigw.Kind, string) {
	l := spec.Lambda
	if l == nil {
		return apigw.Decision{}, apigw.AuthorizerConfigurationError, "not a lambda authorizer"
	}
	ident := sha256.New()
	for _, src := range l.IdentitySources {
		where, name, _ := catalog.ParseIdentitySource(src)
		var v string
		if where == "header" {
			v = r.Header.Get(name)
		} else {
			v = r.URL.Query().Get(name)
		}
		if v == "" {
			return apigw.Decision{}, apigw.Unauthorized, "identity source " + src + " missing"
		}
		ident.Write([]byte(src + "\x00" + v + "\x00"))
	}
	event := apigw.NewAuthorizerEvent(r, apigw.Route{Pattern: mustPattern(route), Params: params}, info)
	methodARN := event.MethodARN
	specJSON, _ := json.Marshal(spec)
	key := decisionKey{authorizer: sha256.Sum256(specJSON), methodARN: methodARN}
	copy(key.identity[:], ident.Sum(nil))
	now := a.g.now()
	if l.TTLSeconds > 0 {
		a.mu.Lock()
		c, ok := a.decisions[key]
		a.mu.Unlock()
		if ok && now.Before(c.expires) {
			return decide(c.d)
		}
	}
	payload, err := json.Marshal(event)
	if err != nil {
		return apigw.Decision{}, apigw.AuthorizerFailure, "authorizer event encoding"
	}
	resp, err := a.g.invoker.Invoke(r.Context(), invoke.Request{Function: l.Function, Qualifier: l.Qualifier, Payload: payload})
	switch {
	case errors.Is(err, errdefs.ErrNotFound), errors.Is(err, errdefs.ErrInvalidArgument):
		a.g.log.Error("lambda authorizer cannot be invoked", "authorizer", spec.Name, "err", err)
		return apigw.Decision{}, apigw.AuthorizerConfigurationError, "authorizer function not invocable"
	case err != nil:
		a.g.log.Warn("lambda authorizer failed", "authorizer", spec.Name, "err", err)
		return apigw.Decision{}, apigw.AuthorizerFailure, "authorizer invocation failed"
	case resp.FunctionError != "" && apigw.IsUnauthorized(resp.Payload):
		return apigw.Decision{}, apigw.Unauthorized, "authorizer said Unauthorized"
	case resp.FunctionError != "":
		return apigw.Decision{}, apigw.AuthorizerFailure, "authorizer function error"
	}
	d, err := apigw.ParseDecision(resp.Payload, methodARN)
	if err != nil {
		return apigw.Decision{}, apigw.AuthorizerFailure, "authorizer answer malformed: " + err.Error()
	}
	if l.TTLSeconds > 0 {
		a.mu.Lock()
		if len(a.decisions) >= maxCachedDecisions {
			for k, c := range a.decisions {
				if !now.Before(c.expires) {
					delete(a.decisions, k)
				}
			}
			if len(a.decisions) >= maxCachedDecisions {
				clear(a.decisions)
			}
		}
		a.decisions[key] = cachedDecision{d: d, expires: now.Add(time.Duration(l.TTLSeconds) * time.Second)}
		a.mu.Unlock()
	}
	return decide(d)
}

func decide(d apigw.Decision) (apigw.Decision, apigw.Kind, string) {
	if !d.Allow {
		return d, apigw.AccessDenied, "authorizer denied"
	}
	return d, "", ""
}
