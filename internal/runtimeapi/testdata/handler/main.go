// Command handler is a Lambda function built with the unmodified aws-lambda-go,
// for the runtimeapi tests: it reports what the library told it and misbehaves
// on request.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// request selects what the handler does.
type request struct {
	// Action: "" (echo), "error", "panic", "sleep", "big", "exit", "brokenreader".
	Action  string `json:"action"`
	Message string `json:"message,omitempty"` // the error or panic text
	Millis  int    `json:"millis,omitempty"`  // how long "sleep" sleeps
	Bytes   int    `json:"bytes,omitempty"`   // the length of the string "big" returns
}

// echo is what the handler saw.
type echo struct {
	RequestID   string            `json:"requestId"`
	FunctionARN string            `json:"functionArn"`
	TenantID    string            `json:"tenantId"`
	Custom      map[string]string `json:"custom"`
	DeadlineMs  int64             `json:"deadlineMs"`
	PID         int               `json:"pid"`
	TraceID     string            `json:"traceId"` // as aws-lambda-go puts it in the context
}

// brokenReader fails after its first bytes, so aws-lambda-go reports the
// failure in the response's trailers. It has no exported fields: the library
// encodes it as "{}" and therefore streams it as a reader.
type brokenReader struct{ sent bool }

func (r *brokenReader) Read(p []byte) (int, error) {
	if r.sent {
		return 0, errors.New("disk on fire")
	}
	r.sent = true
	return copy(p, `{"partial":`), nil
}

func handle(ctx context.Context, req request) (any, error) {
	switch req.Action {
	case "error":
		return nil, errors.New(req.Message)
	case "panic":
		panic(req.Message)
	case "sleep":
		time.Sleep(time.Duration(req.Millis) * time.Millisecond)
	case "big":
		return strings.Repeat("x", req.Bytes), nil
	case "exit":
		os.Exit(3)
	case "log": // Message on stdout, then on stderr, then answer
		fmt.Println(req.Message)
		fmt.Fprintln(os.Stderr, req.Message)
	case "alloc": // touch Bytes of memory, page by page, and keep it
		hoard = make([]byte, req.Bytes)
		for i := 0; i < len(hoard); i += 4096 {
			hoard[i] = 1
		}
	case "brokenreader":
		return &brokenReader{}, nil
	}
	lc, _ := lambdacontext.FromContext(ctx)
	deadline, _ := ctx.Deadline()
	return echo{
		RequestID:   lc.AwsRequestID,
		FunctionARN: lc.InvokedFunctionArn,
		TenantID:    lc.TenantID,
		Custom:      lc.ClientContext.Custom,
		DeadlineMs:  deadline.UnixMilli(),
		PID:         os.Getpid(),
		TraceID:     traceID(ctx),
	}, nil
}

// traceID is the trace header aws-lambda-go stores in the context.
func traceID(ctx context.Context) string {
	id, _ := ctx.Value("x-amzn-trace-id").(string)
	return id
}

// hoard keeps what the alloc action allocated alive.
var hoard []byte

func main() { lambda.Start(handle) }
