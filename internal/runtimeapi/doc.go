// Package runtimeapi is the Lambda Runtime API (2018-06-01) of one execution
// environment: the http.Handler its runtime polls for invocations and posts
// results to, and the Go API (WaitInit, Invoke, Close) through which the
// environment drives it. It speaks the protocol as Lambda and the Runtime
// Interface Emulator do, so unmodified runtimes work (spec/lambda.md §3);
// its tests run the real aws-lambda-go against it.
//
// # Routes
//
//	GET  /2018-06-01/runtime/invocation/next            200, the invocation; waits while Idle
//	POST /2018-06-01/runtime/invocation/{id}/response   202 {"status":"OK"}; 413 over MaxResponseBytes
//	POST /2018-06-01/runtime/invocation/{id}/error      202; the body (≤ 1 MiB) is the error document
//	POST /2018-06-01/runtime/init/error                 202; WaitInit returns an *InitError
//	anything else                                       404 UnknownPath
//
// Refusals carry {"errorMessage","errorType"} with the RIE's names:
// 403 InvalidStateTransition (a request the state does not allow: /next while
// the runtime has an invocation, a second response, a late one), 400
// InvalidRequestID (a response for another id), 413 RequestEntityTooLarge,
// 400 TruncatedHTTPRequest, 500 InternalServerError once closed. errors.go
// holds the one table.
//
// # States
//
//	           GET /next             Invoke            GET /next, or the one
//	Starting ────────────► Idle ─────────────► Queued ──── waiting in Idle ────► Running
//	   │                  ▲  ↺ GET /next waits                                      │
//	   │ POST /init/error │    here; a newer one                                    │ POST /response
//	   ▼                  │    takes its place                                      │ or /error
//	InitFailed            │                                                         ▼
//	                      └──────────── Complete: the result goes to Invoke ─── Responding
//
//	Queued, Running, Responding ──Invoke's ctx ends──► Abandoned
//	every state ──Close──► Closed
//
// Idle means no invocation is outstanding, whether or not a GET /next is
// waiting: after a response the runtime's next GET /next may come after the
// next Invoke, which then waits in Queued. A waiting GET /next is woken by
// Invoke and takes the invocation itself; one whose runtime hung up takes
// nothing, and the invocation stays Queued for the next GET /next. Abandoned and InitFailed are ends:
// every request is refused there and the caller destroys the environment.
// state.go holds the transition table; one transition function applies it.
//
// # What it owns and what it does not
//
// It owns the protocol and the hand-over of one invocation at a time between
// Invoke and the runtime, including the bounds on what it buffers (the
// response within MaxResponseBytes+1 bytes, error documents within 1 MiB)
// and the translation of runtime failures into results (an error trailer, an
// oversized or truncated response).
//
// It does not start, watch or kill processes: the environment does, and
// calls Close when the process exits or is destroyed. It does not time
// invocations out: the caller's ctx does, derived from the deadline. It
// knows nothing of tenants beyond passing Invocation.TenantID to the runtime
// as a header, nor of functions beyond the ARN it is given. It serves no
// listener: the sandbox serves the handler on the environment's endpoint. It
// does not implement the Extensions, Telemetry or restore APIs, nor response
// streaming beyond reading a chunked body within MaxResponseBytes.
//
// # Concurrency
//
// One mutex guards all state (see Server). The package starts no goroutines.
package runtimeapi
