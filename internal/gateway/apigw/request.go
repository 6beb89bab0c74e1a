package apigw

import (
	"encoding/base64"
	"hash/fnv"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// RequestInfo is what the gateway knows of a request beyond the HTTP request
// itself: where it arrived and who the authorizer said sent it. Empty fields
// are sent empty, except where a field says otherwise.
type RequestInfo struct {
	Region         string // in the method ARN an authorizer sees
	AccountID      string
	APIID          string
	Stage          string
	StageVariables map[string]string
	RequestID      string    // also sent as v1's extendedRequestId
	DomainName     string    // "" means the request's Host without its port
	SourceIP       string    // "" means the host of the request's RemoteAddr
	Time           time.Time // when the request arrived; zero means now

	// Authorizer is what a Lambda authorizer contributed. In a v1 event it
	// is requestContext.authorizer: build it with Decision.RequestAuthorizer.
	// In a v2 event it is requestContext.authorizer.lambda: use
	// Decision.Context.
	Authorizer map[string]any
	// JWT is what a JWT authorizer validated: v2's authorizer.jwt; in v1,
	// "claims" and "scopes" keys of requestContext.authorizer.
	JWT *JWT

	APIKey   string // the key the caller presented, when the route needs one
	APIKeyID string
}

// JWT holds a validated token's claims, each rendered as a string as API
// Gateway does, and its scopes.
type JWT struct {
	Claims map[string]string `json:"claims"`
	Scopes []string          `json:"scopes,omitempty"`
}

// Route is a matched route: the pattern, which a Table's values usually
// carry, and the path parameters Table.Lookup returned.
type Route struct {
	Pattern Pattern
	Params  map[string]string // decoded; nil when the route has none
}

// EventV1 is the payload format 1.0 event of a REST API's Lambda proxy
// integration (aws-lambda-go events.APIGatewayProxyRequest; spec §7.1).
// Empty maps are null and an empty body is null, as API Gateway sends them.
type EventV1 struct {
	Resource                        string              `json:"resource"`
	Path                            string              `json:"path"`
	HTTPMethod                      string              `json:"httpMethod"`
	Headers                         map[string]string   `json:"headers"`
	MultiValueHeaders               map[string][]string `json:"multiValueHeaders"`
	QueryStringParameters           map[string]string   `json:"queryStringParameters"`
	MultiValueQueryStringParameters map[string][]string `json:"multiValueQueryStringParameters"`
	PathParameters                  map[string]string   `json:"pathParameters"`
	StageVariables                  map[string]string   `json:"stageVariables"`
	RequestContext                  RequestContextV1    `json:"requestContext"`
	Body                            *string             `json:"body"`
	IsBase64Encoded                 bool                `json:"isBase64Encoded"`
}

// RequestContextV1 is EventV1's requestContext.
type RequestContextV1 struct {
	AccountID         string         `json:"accountId"`
	APIID             string         `json:"apiId"`
	Authorizer        map[string]any `json:"authorizer"`
	DomainName        string         `json:"domainName"`
	DomainPrefix      string         `json:"domainPrefix"`
	ExtendedRequestID string         `json:"extendedRequestId"`
	HTTPMethod        string         `json:"httpMethod"`
	Identity          Identity       `json:"identity"`
	Path              string         `json:"path"`
	Protocol          string         `json:"protocol"`
	RequestID         string         `json:"requestId"`
	RequestTime       string         `json:"requestTime"`      // "15/May/2020:06:01:09 +0000"
	RequestTimeEpoch  int64          `json:"requestTimeEpoch"` // milliseconds
	ResourceID        string         `json:"resourceId"`
	ResourcePath      string         `json:"resourcePath"`
	Stage             string         `json:"stage"`
}

// Identity is the caller as v1 events and REQUEST authorizer events describe
// it. The API key fields are null when the caller presented none.
type Identity struct {
	SourceIP  string  `json:"sourceIp"`
	UserAgent string  `json:"userAgent"`
	APIKey    *string `json:"apiKey"`
	APIKeyID  *string `json:"apiKeyId"`
}

// EventV2 is the payload format 2.0 event of an HTTP API
// (aws-lambda-go events.APIGatewayV2HTTPRequest; spec §7.2). Empty optional
// members are left out, as API Gateway leaves them out.
type EventV2 struct {
	Version               string            `json:"version"` // "2.0"
	RouteKey              string            `json:"routeKey"`
	RawPath               string            `json:"rawPath"`
	RawQueryString        string            `json:"rawQueryString"`
	Cookies               []string          `json:"cookies,omitempty"`
	Headers               map[string]string `json:"headers"`
	QueryStringParameters map[string]string `json:"queryStringParameters,omitempty"`
	PathParameters        map[string]string `json:"pathParameters,omitempty"`
	StageVariables        map[string]string `json:"stageVariables,omitempty"`
	RequestContext        RequestContextV2  `json:"requestContext"`
	Body                  string            `json:"body,omitempty"`
	IsBase64Encoded       bool              `json:"isBase64Encoded"`
}

// RequestContextV2 is EventV2's requestContext.
type RequestContextV2 struct {
	AccountID    string        `json:"accountId"`
	APIID        string        `json:"apiId"`
	Authorizer   *AuthorizerV2 `json:"authorizer,omitempty"`
	DomainName   string        `json:"domainName"`
	DomainPrefix string        `json:"domainPrefix"`
	HTTP         HTTPV2        `json:"http"`
	RequestID    string        `json:"requestId"`
	RouteKey     string        `json:"routeKey"`
	Stage        string        `json:"stage"`
	Time         string        `json:"time"`      // "12/Mar/2020:19:03:58 +0000"
	TimeEpoch    int64         `json:"timeEpoch"` // milliseconds
}

// AuthorizerV2 is what an HTTP API's authorizer contributed to the event.
type AuthorizerV2 struct {
	JWT    *JWT           `json:"jwt,omitempty"`
	Lambda map[string]any `json:"lambda,omitempty"`
}

// HTTPV2 is RequestContextV2's http member.
type HTTPV2 struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Protocol  string `json:"protocol"`
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent"`
}

// requestTimeLayout is API Gateway's $context.requestTime, always in UTC.
const requestTimeLayout = "02/Jan/2006:15:04:05 -0700"

// NewEventV1 builds the REST API event for r, whose body the caller has read
// (within its size limit) into body.
//
//   - path and requestContext.path are r.URL.Path, decoded; mount the gateway
//     under http.StripPrefix to take a prefix off.
//   - headers hold each header's last value, multiValueHeaders all of them,
//     under Go's canonical names ("Content-Type"), with Host added.
//   - query parameters are decoded; queryStringParameters holds each name's
//     last value. Both maps are null when the query is empty.
//   - the body is sent as text when it is valid UTF-8, otherwise base64 with
//     isBase64Encoded true. (API Gateway decides by the API's binary media
//     types; a gateway with no such list can only look at the bytes.)
//   - requestContext.resourceId, which API Gateway assigns per resource, is
//     derived from the resource path, so it is stable across requests.
func NewEventV1(r *http.Request, body []byte, route Route, info RequestInfo) EventV1 {
	headers, multi := headersV1(r)
	query, multiQuery := queryV1(r.URL.RawQuery)
	at, domain := requestTime(info), domainName(r, info)
	ev := EventV1{
		Resource:                        route.Pattern.Path,
		Path:                            r.URL.Path,
		HTTPMethod:                      r.Method,
		Headers:                         headers,
		MultiValueHeaders:               multi,
		QueryStringParameters:           query,
		MultiValueQueryStringParameters: multiQuery,
		PathParameters:                  nonEmpty(route.Params),
		StageVariables:                  nonEmpty(info.StageVariables),
		RequestContext: RequestContextV1{
			AccountID:         info.AccountID,
			APIID:             info.APIID,
			Authorizer:        authorizerV1(info),
			DomainName:        domain,
			DomainPrefix:      domainPrefix(domain),
			ExtendedRequestID: info.RequestID,
			HTTPMethod:        r.Method,
			Identity:          identity(r, info),
			Path:              r.URL.Path,
			Protocol:          r.Proto,
			RequestID:         info.RequestID,
			RequestTime:       at.Format(requestTimeLayout),
			RequestTimeEpoch:  at.UnixMilli(),
			ResourceID:        resourceID(route.Pattern.Path),
			ResourcePath:      route.Pattern.Path,
			Stage:             info.Stage,
		},
	}
	if len(body) > 0 {
		text, b64 := encodeBody(body)
		ev.Body, ev.IsBase64Encoded = &text, b64
	}
	return ev
}

// NewEventV2 builds the HTTP API event for r, whose body the caller has read
// into body.
//
//   - routeKey is route.Pattern.Key(): "ANY /{proxy+}" when an ANY route
//     matched.
//   - rawPath is r.URL.EscapedPath(); requestContext.http.path is the decoded
//     r.URL.Path; rawQueryString is r.URL.RawQuery.
//   - cookies are the Cookie headers split at ";" (surrounding spaces
//     trimmed, empty pieces dropped), and the cookie header is not sent.
//   - headers have lower-case names and repeated headers joined with ",";
//     host is added.
//   - queryStringParameters are decoded, repeated names joined with ",".
//   - the body follows NewEventV1's UTF-8 rule.
func NewEventV2(r *http.Request, body []byte, route Route, info RequestInfo) EventV2 {
	at, domain := requestTime(info), domainName(r, info)
	ev := EventV2{
		Version:               "2.0",
		RouteKey:              route.Pattern.Key(),
		RawPath:               r.URL.EscapedPath(),
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies(r),
		Headers:               headersV2(r),
		QueryStringParameters: queryV2(r.URL.RawQuery),
		PathParameters:        nonEmpty(route.Params),
		StageVariables:        nonEmpty(info.StageVariables),
		RequestContext: RequestContextV2{
			AccountID:    info.AccountID,
			APIID:        info.APIID,
			DomainName:   domain,
			DomainPrefix: domainPrefix(domain),
			HTTP: HTTPV2{
				Method:    r.Method,
				Path:      r.URL.Path,
				Protocol:  r.Proto,
				SourceIP:  sourceIP(r, info),
				UserAgent: r.UserAgent(),
			},
			RequestID: info.RequestID,
			RouteKey:  route.Pattern.Key(),
			Stage:     info.Stage,
			Time:      at.Format(requestTimeLayout),
			TimeEpoch: at.UnixMilli(),
		},
	}
	if info.JWT != nil || len(info.Authorizer) > 0 {
		ev.RequestContext.Authorizer = &AuthorizerV2{JWT: info.JWT, Lambda: nonEmpty(info.Authorizer)}
	}
	if len(body) > 0 {
		ev.Body, ev.IsBase64Encoded = encodeBody(body)
	}
	return ev
}

// encodeBody is the text-or-binary rule of both payload formats.
func encodeBody(body []byte) (text string, isBase64 bool) {
	if utf8.Valid(body) {
		return string(body), false
	}
	return base64.StdEncoding.EncodeToString(body), true
}

func requestTime(info RequestInfo) time.Time {
	if info.Time.IsZero() {
		return time.Now().UTC()
	}
	return info.Time.UTC()
}

// headersV1 renders r's headers, Host included, in both v1 shapes.
func headersV1(r *http.Request) (map[string]string, map[string][]string) {
	single := make(map[string]string, len(r.Header)+1)
	multi := make(map[string][]string, len(r.Header)+1)
	for name, values := range r.Header {
		if len(values) == 0 {
			continue
		}
		single[name] = values[len(values)-1]
		multi[name] = append([]string(nil), values...)
	}
	if _, ok := r.Header["Host"]; !ok && r.Host != "" {
		single["Host"], multi["Host"] = r.Host, []string{r.Host}
	}
	return single, multi
}

func headersV2(r *http.Request) map[string]string {
	out := make(map[string]string, len(r.Header)+1)
	for name, values := range r.Header {
		name = strings.ToLower(name)
		if name == "cookie" || len(values) == 0 {
			continue
		}
		if prev, ok := out[name]; ok {
			out[name] = prev + "," + strings.Join(values, ",")
		} else {
			out[name] = strings.Join(values, ",")
		}
	}
	if _, ok := out["host"]; !ok && r.Host != "" {
		out["host"] = r.Host
	}
	return out
}

func cookies(r *http.Request) []string {
	var out []string
	for _, line := range r.Header.Values("Cookie") {
		for c := range strings.SplitSeq(line, ";") {
			if c = strings.TrimSpace(c); c != "" {
				out = append(out, c)
			}
		}
	}
	return out
}

// queryPairs splits a raw query into decoded name/value pairs in order. It
// splits at "&" only (a ";" is data, as API Gateway treats it) and keeps a
// piece that does not decode as it came.
func queryPairs(raw string) [][2]string {
	var out [][2]string
	for piece := range strings.SplitSeq(raw, "&") {
		if piece == "" {
			continue
		}
		name, value, _ := strings.Cut(piece, "=")
		out = append(out, [2]string{unescapeQuery(name), unescapeQuery(value)})
	}
	return out
}

func unescapeQuery(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

func queryV1(raw string) (map[string]string, map[string][]string) {
	pairs := queryPairs(raw)
	if len(pairs) == 0 {
		return nil, nil
	}
	single := make(map[string]string)
	multi := make(map[string][]string)
	for _, p := range pairs {
		single[p[0]] = p[1]
		multi[p[0]] = append(multi[p[0]], p[1])
	}
	return single, multi
}

func queryV2(raw string) map[string]string {
	pairs := queryPairs(raw)
	if len(pairs) == 0 {
		return nil
	}
	out := make(map[string]string)
	for _, p := range pairs {
		if prev, ok := out[p[0]]; ok {
			out[p[0]] = prev + "," + p[1]
		} else {
			out[p[0]] = p[1]
		}
	}
	return out
}

// authorizerV1 merges a JWT authorizer's claims and scopes into the Lambda
// authorizer's map, as HTTP APIs do in format 1.0 (REST's Cognito
// authorizer sends claims the same way).
func authorizerV1(info RequestInfo) map[string]any {
	if info.JWT == nil {
		return nonEmpty(info.Authorizer)
	}
	out := make(map[string]any, len(info.Authorizer)+2)
	for k, v := range info.Authorizer {
		out[k] = v
	}
	out["claims"] = info.JWT.Claims
	if info.JWT.Scopes != nil {
		out["scopes"] = info.JWT.Scopes
	}
	return out
}

func identity(r *http.Request, info RequestInfo) Identity {
	id := Identity{SourceIP: sourceIP(r, info), UserAgent: r.UserAgent()}
	if info.APIKey != "" {
		id.APIKey = &info.APIKey
	}
	if info.APIKeyID != "" {
		id.APIKeyID = &info.APIKeyID
	}
	return id
}

func sourceIP(r *http.Request, info RequestInfo) string {
	if info.SourceIP != "" {
		return info.SourceIP
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

func domainName(r *http.Request, info RequestInfo) string {
	if info.DomainName != "" {
		return info.DomainName
	}
	if host, _, err := net.SplitHostPort(r.Host); err == nil {
		return host
	}
	return r.Host
}

// domainPrefix is the first label of the domain name, as API Gateway sends it.
func domainPrefix(domain string) string {
	prefix, _, _ := strings.Cut(domain, ".")
	return prefix
}

// resourceID stands in for the id API Gateway gives each resource: six
// lower-case letters and digits, derived from the resource path.
func resourceID(resource string) string {
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
	h := fnv.New32a()
	h.Write([]byte(resource))
	n := h.Sum32()
	var id [6]byte
	for i := range id {
		id[i] = alphabet[n%36]
		n /= 36
	}
	return string(id[:])
}

// nonEmpty returns m, or nil when m is empty, so that it encodes as null or
// is left out.
func nonEmpty[M ~map[K]V, K comparable, V any](m M) M {
	if len(m) == 0 {
		return nil
	}
	return m
}
