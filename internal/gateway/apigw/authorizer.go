package apigw

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// ErrMalformedAuthorizerResponse is the kind of every error ParseDecision
// returns: the authorizer answered something that is neither a policy nor a
// simple response. The gateway answers AuthorizerFailure (500).
var ErrMalformedAuthorizerResponse = errors.New("malformed authorizer response")

// AuthorizerEvent is the event a REST API's REQUEST Lambda authorizer
// receives (aws-lambda-go events.APIGatewayCustomAuthorizerRequestTypeRequest;
// spec §7.3). Headers and query parameters are as in EventV1.
type AuthorizerEvent struct {
	Type                            string              `json:"type"` // "REQUEST"
	MethodARN                       string              `json:"methodArn"`
	Resource                        string              `json:"resource"`
	Path                            string              `json:"path"`
	HTTPMethod                      string              `json:"httpMethod"`
	Headers                         map[string]string   `json:"headers"`
	MultiValueHeaders               map[string][]string `json:"multiValueHeaders"`
	QueryStringParameters           map[string]string   `json:"queryStringParameters"`
	MultiValueQueryStringParameters map[string][]string `json:"multiValueQueryStringParameters"`
	PathParameters                  map[string]string   `json:"pathParameters"`
	StageVariables                  map[string]string   `json:"stageVariables"`
	RequestContext                  AuthorizerContext   `json:"requestContext"`
}

// AuthorizerContext is AuthorizerEvent's requestContext.
type AuthorizerContext struct {
	AccountID    string   `json:"accountId"`
	APIID        string   `json:"apiId"`
	HTTPMethod   string   `json:"httpMethod"`
	Identity     Identity `json:"identity"`
	Path         string   `json:"path"`
	RequestID    string   `json:"requestId"`
	ResourceID   string   `json:"resourceId"`
	ResourcePath string   `json:"resourcePath"`
	Stage        string   `json:"stage"`
}

// NewAuthorizerEvent builds the REQUEST authorizer event for r on route.
// Its methodArn is MethodARN(info, r.Method, r.URL.Path).
func NewAuthorizerEvent(r *http.Request, route Route, info RequestInfo) AuthorizerEvent {
	headers, multi := headersV1(r)
	query, multiQuery := queryV1(r.URL.RawQuery)
	return AuthorizerEvent{
		Type:                            "REQUEST",
		MethodARN:                       MethodARN(info, r.Method, r.URL.Path),
		Resource:                        route.Pattern.Path,
		Path:                            r.URL.Path,
		HTTPMethod:                      r.Method,
		Headers:                         headers,
		MultiValueHeaders:               multi,
		QueryStringParameters:           query,
		MultiValueQueryStringParameters: multiQuery,
		PathParameters:                  nonEmpty(route.Params),
		StageVariables:                  nonEmpty(info.StageVariables),
		RequestContext: AuthorizerContext{
			AccountID:    info.AccountID,
			APIID:        info.APIID,
			HTTPMethod:   r.Method,
			Identity:     identity(r, info),
			Path:         r.URL.Path,
			RequestID:    info.RequestID,
			ResourceID:   resourceID(route.Pattern.Path),
			ResourcePath: route.Pattern.Path,
			Stage:        info.Stage,
		},
	}
}

// MethodARN names the method a request invokes, as authorizer policies
// match it: arn:aws:execute-api:<region>:<account>:<api>/<stage>/<VERB>/<path>,
// where VERB is the request's method (never ANY) and path the request's
// decoded path without its leading "/" — the concrete path, not the
// resource, so policies can allow "GET/pets/*" or one pet.
func MethodARN(info RequestInfo, method, path string) string {
	return fmt.Sprintf("arn:aws:execute-api:%s:%s:%s/%s/%s/%s",
		info.Region, info.AccountID, info.APIID, info.Stage, method, strings.TrimPrefix(path, "/"))
}

// Decision is what an authorizer answered.
type Decision struct {
	PrincipalID string // "" for a simple response
	Allow       bool
	// Context holds the authorizer's context values: string, bool or
	// json.Number (numbers keep their exact text).
	Context map[string]any
	// UsageIdentifierKey is the API key to meter the request against, when
	// the API takes its keys from the authorizer.
	UsageIdentifierKey string
}

// ParseDecision reads an authorizer's answer to a request for methodARN.
// Two forms are accepted:
//
//   - a policy, {"principalId", "policyDocument", "context"?,
//     "usageIdentifierKey"?}: principalId must be a non-empty string. The
//     document's Statement (one object or a list) is evaluated as IAM
//     does, for the action execute-api:Invoke on methodARN: a matching Deny
//     denies; otherwise a matching Allow allows; otherwise the request is
//     denied. A statement matches when one of its Actions (a string or a
//     list, case-insensitive) and one of its Resources (likewise,
//     case-sensitive) match, where "*" stands for any run of characters
//     and "?" for one. Statements are Sid, Effect ("Allow" or "Deny"),
//     Action and Resource only: NotAction, NotResource, Condition and the
//     like are refused rather than misread.
//   - an HTTP API simple response, {"isAuthorized": bool, "context"?}.
//
// Context values must be strings, numbers or booleans. Anything else is an
// error of kind ErrMalformedAuthorizerResponse, which the gateway turns into
// AuthorizerFailure. A denial is not an error: it is Allow false, which the
// gateway turns into AccessDenied.
func ParseDecision(payload []byte, methodARN string) (Decision, error) {
	fields, err := authorizerObject(payload, "the answer")
	if err != nil {
		return Decision{}, err
	}
	var d Decision
	if d.Context, err = authorizerContext(fields["context"]); err != nil {
		return Decision{}, err
	}
	if doc, ok := fields["policyDocument"]; ok && !isNull(doc) {
		if err := decodeAuthorizer(fields["principalId"], &d.PrincipalID, "principalId"); err != nil || d.PrincipalID == "" {
			return Decision{}, fmt.Errorf("%w: a policy needs a principalId string", ErrMalformedAuthorizerResponse)
		}
		if raw, ok := fields["usageIdentifierKey"]; ok && !isNull(raw) {
			if err := decodeAuthorizer(raw, &d.UsageIdentifierKey, "usageIdentifierKey"); err != nil {
				return Decision{}, err
			}
		}
		if d.Allow, err = evaluate(doc, methodARN); err != nil {
			return Decision{}, err
		}
		return d, nil
	}
	if raw, ok := fields["isAuthorized"]; ok {
		var allow bool
		if isNull(raw) || json.Unmarshal(raw, &allow) != nil {
			return Decision{}, fmt.Errorf("%w: isAuthorized %s is not a boolean", ErrMalformedAuthorizerResponse, raw)
		}
		d.Allow = allow
		return d, nil
	}
	return Decision{}, fmt.Errorf("%w: neither a policyDocument nor isAuthorized", ErrMalformedAuthorizerResponse)
}

// RequestAuthorizer is d as a REST API passes it to the function, in v1's
// requestContext.authorizer: principalId, integrationLatency (the
// authorizer's latency in milliseconds) and each context key, its value
// turned into a string as API Gateway turns it.
func (d Decision) RequestAuthorizer(latency time.Duration) map[string]any {
	out := make(map[string]any, len(d.Context)+2)
	for k, v := range d.Context {
		out[k] = fmt.Sprint(v)
	}
	out["principalId"] = d.PrincipalID
	out["integrationLatency"] = latency.Milliseconds()
	return out
}

// IsUnauthorized reports whether an authorizer's function error — the
// Lambda error document {"errorMessage", "errorType", ...} — is the way
// authorizers say "no credentials": the message "Unauthorized", exactly
// (aws-lambda-go: return errors.New("Unauthorized")). The gateway answers
// Unauthorized (401) to it and AuthorizerFailure to any other error.
func IsUnauthorized(errorPayload []byte) bool {
	var doc struct {
		ErrorMessage string `json:"errorMessage"`
	}
	return json.Unmarshal(errorPayload, &doc) == nil && doc.ErrorMessage == "Unauthorized"
}

func authorizerObject(raw []byte, what string) (map[string]json.RawMessage, error) {
	trimmed := bytes.TrimSpace(raw)
	var fields map[string]json.RawMessage
	if len(trimmed) == 0 || trimmed[0] != '{' || json.Unmarshal(trimmed, &fields) != nil {
		return nil, fmt.Errorf("%w: %s is not a JSON object", ErrMalformedAuthorizerResponse, what)
	}
	return fields, nil
}

func decodeAuthorizer(raw json.RawMessage, v any, member string) error {
	if raw == nil || isNull(raw) {
		return fmt.Errorf("%w: %s is missing", ErrMalformedAuthorizerResponse, member)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrMalformedAuthorizerResponse, member, err)
	}
	return nil
}

// authorizerContext decodes a context map of scalars; nil when absent.
func authorizerContext(raw json.RawMessage) (map[string]any, error) {
	if raw == nil || isNull(raw) {
		return nil, nil
	}
	fields, err := authorizerObject(raw, "context")
	if err != nil {
		return nil, err
	}
	out := make(map[string]any, len(fields))
	for k, v := range fields {
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.UseNumber()
		var value any
		if err := dec.Decode(&value); err != nil {
			return nil, fmt.Errorf("%w: context %q: %v", ErrMalformedAuthorizerResponse, k, err)
		}
		switch value.(type) {
		case string, bool, json.Number:
			out[k] = value
		default:
			return nil, fmt.Errorf("%w: context %q is not a string, number or boolean", ErrMalformedAuthorizerResponse, k)
		}
	}
	return out, nil
}

// evaluate applies a policy document to the invocation of methodARN.
func evaluate(doc json.RawMessage, methodARN string) (allow bool, err error) {
	fields, err := authorizerObject(doc, "policyDocument")
	if err != nil {
		return false, err
	}
	var statements []json.RawMessage
	if raw := bytes.TrimSpace(fields["Statement"]); len(raw) > 0 && raw[0] == '{' {
		statements = []json.RawMessage{raw}
	} else if raw != nil && !isNull(raw) {
		if err := json.Unmarshal(raw, &statements); err != nil {
			return false, fmt.Errorf("%w: Statement is neither a statement nor a list", ErrMalformedAuthorizerResponse)
		}
	}
	for i, raw := range statements {
		s, err := parseStatement(raw)
		if err != nil {
			return false, fmt.Errorf("%w (statement %d)", err, i)
		}
		if !s.matches(methodARN) {
			continue
		}
		if s.deny {
			return false, nil // a Deny wins whatever else matches
		}
		allow = true
	}
	return allow, nil
}

type statement struct {
	deny      bool
	actions   []string
	resources []string
}

func parseStatement(raw json.RawMessage) (statement, error) {
	fields, err := authorizerObject(raw, "a statement")
	if err != nil {
		return statement{}, err
	}
	for k := range fields {
		switch k {
		case "Sid", "Effect", "Action", "Resource":
		default:
			return statement{}, fmt.Errorf("%w: statement element %q is not supported", ErrMalformedAuthorizerResponse, k)
		}
	}
	var s statement
	var effect string
	if err := decodeAuthorizer(fields["Effect"], &effect, "Effect"); err != nil {
		return statement{}, err
	}
	switch effect {
	case "Allow":
	case "Deny":
		s.deny = true
	default:
		return statement{}, fmt.Errorf("%w: Effect %q is neither Allow nor Deny", ErrMalformedAuthorizerResponse, effect)
	}
	if s.actions, err = stringOrList(fields["Action"], "Action"); err != nil {
		return statement{}, err
	}
	if s.resources, err = stringOrList(fields["Resource"], "Resource"); err != nil {
		return statement{}, err
	}
	return s, nil
}

func stringOrList(raw json.RawMessage, member string) ([]string, error) {
	var one string
	if raw != nil && json.Unmarshal(raw, &one) == nil && !isNull(raw) {
		return []string{one}, nil
	}
	var list []string
	if err := decodeAuthorizer(raw, &list, member); err != nil {
		return nil, fmt.Errorf("%w: %s must be a string or a list of strings", ErrMalformedAuthorizerResponse, member)
	}
	return list, nil
}

// invokeAction is the only action a gateway authorizes.
const invokeAction = "execute-api:invoke"

func (s statement) matches(methodARN string) bool {
	action := false
	for _, a := range s.actions {
		if wildcard(strings.ToLower(a), invokeAction) {
			action = true
			break
		}
	}
	if !action {
		return false
	}
	for _, r := range s.resources {
		if wildcard(r, methodARN) {
			return true
		}
	}
	return false
}

// wildcard matches s against pattern, where "*" is any run of characters
// and "?" one character. It runs in time linear in len(pattern)×len(s) at
// worst, with no recursion.
func wildcard(pattern, s string) bool {
	p, t := []rune(pattern), []rune(s)
	pi, ti := 0, 0
	starP, starT := -1, 0 // the last "*" seen and where its match ends now
	for ti < len(t) {
		switch {
		case pi < len(p) && p[pi] == '*':
			starP, starT = pi, ti
			pi++
		case pi < len(p) && (p[pi] == '?' || p[pi] == t[ti]):
			pi++
			ti++
		case starP >= 0:
			starT++
			pi, ti = starP+1, starT
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
