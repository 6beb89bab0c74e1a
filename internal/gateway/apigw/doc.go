// Package apigw speaks API Gateway's side of the Lambda proxy integration
// (spec/lambda.md §7): the routes, the events a function and a REQUEST
// authorizer receive, the reading of their answers, and the answers the
// gateway gives on its own account.
//
// It owns the wire shapes and API Gateway's rules: route precedence, null
// versus empty members, the policy evaluation of authorizer answers, and the
// exact bodies of gateway errors. It does not serve HTTP, invoke functions,
// read or limit request bodies, meter usage plans, or validate JWTs; the
// gateway does those and calls in here at each step:
//
//	request ──▶ Table.Lookup ── miss ──▶ WriteError(NotFound) (HTTP API)
//	               │ hit                 WriteError(MissingAuthenticationToken) (REST)
//	               ▼
//	   [authorizer] NewAuthorizerEvent ─▶ invoke ─┬─ function error: IsUnauthorized ─▶ Unauthorized
//	               │                              │                  otherwise ──────▶ AuthorizerFailure
//	               │                              └─ ParseDecision ── error ─────────▶ AuthorizerFailure
//	               │                                        └──────── !Allow ────────▶ AccessDenied
//	               ▼
//	   NewEventV1 | NewEventV2 ─▶ invoke ─┬─ function error ────────────────────────▶ IntegrationFailure
//	                                      └─ ResponseV1 | ResponseV2 ── error ───────▶ IntegrationFailure
//	                                                    └─ Response.Send(w)
//
// Payload format 1.0 (EventV1, ResponseV1) is a REST API's; 2.0 (EventV2,
// ResponseV2) an HTTP API's. The JSON shapes are this package's own structs
// with aws-lambda-go's member names; the tests decode every event into
// aws-lambda-go's events types, which are the oracle for what a function
// sees.
package apigw
