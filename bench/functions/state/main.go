// Command state is the benchmark's handler with a little state: at init it
// allocates STATE_BYTES (default 1 MiB) and writes every page of it, and each
// invocation writes every page again and counts, so an environment's memory
// holds a realistic working set that eviction must give back.
package main

import (
	"context"
	"encoding/json"
	"os"
	"strconv"

	"github.com/aws/aws-lambda-go/lambda"
)

const page = 4096

var (
	state []byte
	count int
)

// response tells the harness how many invocations this environment has
// served: 1 means it was new.
type response struct {
	Count int `json:"count"`
	Bytes int `json:"bytes"`
}

func touch() {
	for i := 0; i < len(state); i += page {
		state[i]++
	}
}

func handle(context.Context, json.RawMessage) (response, error) {
	touch()
	count++
	return response{Count: count, Bytes: len(state)}, nil
}

func main() {
	size := 1 << 20
	if n, err := strconv.Atoi(os.Getenv("STATE_BYTES")); err == nil && n >= 0 {
		size = n
	}
	state = make([]byte, size)
	touch()
	lambda.Start(handle)
}
