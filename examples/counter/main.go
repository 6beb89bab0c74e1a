// Command counter is an example Bulkhead function built on the unmodified
// aws-lambda-go. It counts the invocations it has served, in memory and in a
// file in its temp directory, and reports the tenant it serves: invoked as
// two tenants of a PER_TENANT function, each tenant sees only its own counts,
// because each runs in environments of its own.
//
// It also reports what an isolation test needs to check that: the first
// tenant this process ever served and an id unique to the process.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// Response is what every invocation answers.
type Response struct {
	Tenant      string   `json:"tenant"`      // lambdacontext.TenantID of this invocation
	FirstTenant string   `json:"firstTenant"` // the tenant of this process's first invocation
	Environment string   `json:"environment"` // random id of this process
	PID         int      `json:"pid"`
	Count       int      `json:"count"`    // invocations served by this process
	TmpCount    int      `json:"tmpCount"` // invocations counted in the temp dir's file
	TmpTenants  []string `json:"tmpTenants"`
}

var (
	environment = newID()
	firstTenant *string
	count       int
)

func handle(ctx context.Context, _ map[string]any) (Response, error) {
	lc, _ := lambdacontext.FromContext(ctx)
	if firstTenant == nil {
		t := lc.TenantID
		firstTenant = &t
	}
	count++
	// The file lists the tenant of every invocation this temp dir has seen.
	file := filepath.Join(os.TempDir(), "bulkhead-counter")
	seen, _ := os.ReadFile(file)
	f, err := os.OpenFile(file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return Response{}, err
	}
	defer f.Close()
	if _, err := f.WriteString(strconv.Quote(lc.TenantID) + "\n"); err != nil {
		return Response{}, err
	}
	var tenants []string
	for _, line := range strings.Split(strings.TrimSpace(string(seen)), "\n") {
		if t, err := strconv.Unquote(line); err == nil {
			tenants = append(tenants, t)
		}
	}
	tenants = append(tenants, lc.TenantID)
	return Response{
		Tenant: lc.TenantID, FirstTenant: *firstTenant, Environment: environment, PID: os.Getpid(),
		Count: count, TmpCount: len(tenants), TmpTenants: tenants,
	}, nil
}

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func main() {
	lambda.Start(handle)
}
