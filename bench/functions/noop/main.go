// Command noop is the benchmark's no-op aws-lambda-go handler: it answers
// every event with an empty JSON object, so an invocation measures only the
// platform's path.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
)

func handle(context.Context, json.RawMessage) (struct{}, error) { return struct{}{}, nil }

func main() { lambda.Start(handle) }
