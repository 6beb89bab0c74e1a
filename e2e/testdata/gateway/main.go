// Command gateway is the e2e tests' function behind the gateway, written
// with aws-lambda-go's own event types. MODE picks what it is: "v2" (an HTTP
// API handler), "v1" (a REST API proxy handler) or "authorizer" (a REQUEST
// Lambda authorizer). The handlers echo what they were given, so the tests
// can check what reached the function.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// Echo is what the v1 and v2 handlers answer in their body.
type Echo struct {
	Tenant      string            // lambdacontext's: the tenant the platform ran this environment for
	Path        string            // rawPath (v2) or path (v1)
	RouteKey    string            `json:",omitempty"`
	Params      map[string]string // path parameters
	Query       map[string]string
	Body        string
	HeaderSent  string            // the X-Amz-Tenant-Id header the client sent, if any
	Claims      map[string]string `json:",omitempty"`
	Scopes      []string          `json:",omitempty"`
	Authorizer  map[string]any    `json:",omitempty"`
	APIKeyID    string            `json:",omitempty"`
	Environment string            // this process, to tell environments apart
}

var started = strconv.FormatInt(time.Now().UnixNano(), 36)

func tenantOf(ctx context.Context) string {
	lc, _ := lambdacontext.FromContext(ctx)
	if lc == nil {
		return ""
	}
	return lc.TenantID
}

func v2(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	e := Echo{Tenant: tenantOf(ctx), Path: req.RawPath, RouteKey: req.RouteKey, Params: req.PathParameters,
		Query: req.QueryStringParameters, Body: req.Body, HeaderSent: req.Headers["x-amz-tenant-id"], Environment: started}
	if a := req.RequestContext.Authorizer; a != nil {
		if a.JWT != nil {
			e.Claims, e.Scopes = a.JWT.Claims, a.JWT.Scopes
		}
		e.Authorizer = a.Lambda
	}
	if ms, err := strconv.Atoi(req.QueryStringParameters["sleep"]); err == nil {
		time.Sleep(time.Duration(ms) * time.Millisecond)
	}
	if req.QueryStringParameters["raw"] == "yes" { // not a proxy response: HTTP APIs answer it as JSON
		return events.APIGatewayV2HTTPResponse{}, nil
	}
	if req.QueryStringParameters["fail"] == "yes" {
		return events.APIGatewayV2HTTPResponse{}, errors.New("asked to fail")
	}
	body, _ := json.Marshal(e)
	status := 200
	if s, err := strconv.Atoi(req.QueryStringParameters["status"]); err == nil {
		status = s
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: status, Body: string(body),
		Headers: map[string]string{"Content-Type": "application/json", "X-Handled-For": e.Tenant},
		Cookies: []string{"seen=1; Path=/", "tenant=" + e.Tenant}}, nil
}

func v1(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	e := Echo{Tenant: tenantOf(ctx), Path: req.Path, Params: req.PathParameters, Query: req.QueryStringParameters,
		Body: req.Body, HeaderSent: req.Headers["X-Amz-Tenant-Id"], Authorizer: req.RequestContext.Authorizer,
		APIKeyID: req.RequestContext.Identity.APIKeyID, Environment: started}
	body, _ := json.Marshal(e)
	return events.APIGatewayProxyResponse{StatusCode: 201, Body: string(body),
		MultiValueHeaders: map[string][]string{"X-Multi": {"a", "b"}}, Headers: map[string]string{"Content-Type": "application/json"}}, nil
}

// authorize reads "Authorization: allow:TENANT", "deny", "unauthorized" or
// "garbage".
func authorize(ctx context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (any, error) {
	token := req.Headers["Authorization"]
	switch {
	case strings.HasPrefix(token, "allow:"):
		return events.APIGatewayCustomAuthorizerResponse{
			PrincipalID: "user-" + token[6:],
			PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{Version: "2012-10-17", Statement: []events.IAMPolicyStatement{
				{Action: []string{"execute-api:Invoke"}, Effect: "Allow", Resource: []string{req.MethodArn}},
			}},
			Context: map[string]any{"tenantId": token[6:], "decidedAt": strconv.FormatInt(time.Now().UnixNano(), 10)},
		}, nil
	case token == "deny":
		return events.APIGatewayCustomAuthorizerResponse{
			PrincipalID: "nobody",
			PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{Version: "2012-10-17", Statement: []events.IAMPolicyStatement{
				{Action: []string{"execute-api:Invoke"}, Effect: "Deny", Resource: []string{"*"}},
			}},
		}, nil
	case token == "unauthorized":
		return nil, errors.New("Unauthorized")
	case token == "garbage":
		return map[string]any{"hello": "world"}, nil
	}
	return nil, errors.New("unexpected token")
}

func main() {
	switch os.Getenv("MODE") {
	case "v1":
		lambda.Start(v1)
	case "authorizer":
		lambda.Start(authorize)
	default:
		lambda.Start(v2)
	}
}
