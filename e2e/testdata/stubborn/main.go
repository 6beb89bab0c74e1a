// Command stubborn is a minimal Lambda runtime that answers every invocation
// with "{}" and, unlike aws-lambda-go, does not exit when its Runtime API goes
// away: it sleeps forever instead. A server crash must still kill it.
package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	api := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/invocation/"
	for {
		resp, err := http.Get(api + "next")
		if err != nil {
			for {
				time.Sleep(time.Hour)
			}
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
		if r, err := http.Post(api+id+"/response", "application/json", bytes.NewReader([]byte("{}"))); err == nil {
			r.Body.Close()
		}
	}
}
