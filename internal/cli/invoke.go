package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/sigv4"
)

// InvokeCmd is `bulkhead invoke`.
type InvokeCmd struct {
	ClientFlags `embed:""`
	Name        string `arg:"" help:"Function name or ARN."`
	TenantID    string `name:"tenant-id" help:"Tenant the invocation runs for (required for per-tenant functions)."`
	Payload     string `default:"{}" help:"JSON event, or @FILE to read it from a file."`
	Qualifier   string `help:"Version number or alias (default $LATEST)."`
	LogTail     bool   `name:"log-tail" help:"Also print the last 4 KB of the invocation's output (to stderr)."`
	Async       bool   `help:"Invoke asynchronously (InvocationType Event)."`
}

func (c *InvokeCmd) Run(e *env) error {
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	payload := []byte(c.Payload)
	if file, ok := strings.CutPrefix(c.Payload, "@"); ok {
		if payload, err = os.ReadFile(file); err != nil {
			return err
		}
	}
	h := http.Header{}
	if c.TenantID != "" {
		h.Set("X-Amz-Tenant-Id", c.TenantID)
	}
	if c.LogTail {
		h.Set("X-Amz-Log-Type", "Tail")
	}
	if c.Async {
		h.Set("X-Amz-Invocation-Type", "Event")
	}
	resp, body, err := cl.raw(e.ctx, "POST", functionPath(c.Name, "invocations"), qualifier(c.Qualifier), h, payload)
	if err != nil {
		return err
	}
	if tail := resp.Header.Get("X-Amz-Log-Result"); tail != "" {
		if raw, err := base64.StdEncoding.DecodeString(tail); err == nil {
			fmt.Fprintf(e.stderr, "%s", raw)
		}
	}
	if resp.StatusCode == http.StatusAccepted {
		fmt.Fprintln(e.stdout, "Accepted.")
		return nil
	}
	e.stdout.Write(body)
	if len(body) > 0 && body[len(body)-1] != '\n' {
		fmt.Fprintln(e.stdout)
	}
	if fe := resp.Header.Get("X-Amz-Function-Error"); fe != "" {
		return fmt.Errorf("the function failed (%s); its error document is above", fe)
	}
	return nil
}

// raw sends a signed request with a raw body and extra headers, and returns
// a 2xx response with its body, or the API's error.
func (c *client) raw(ctx context.Context, method, path string, query url.Values, h http.Header, body []byte) (*http.Response, []byte, error) {
	target := strings.TrimSuffix(c.endpoint.String(), "/") + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	creds := sigv4.Credentials{AccessKeyID: c.key.AccessKeyID, SecretAccessKey: c.key.SecretAccessKey}
	if err := sigv4.Sign(req, body, creds, c.region, "lambda", time.Now()); err != nil {
		return nil, nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot reach Bulkhead at %s: %w", c.endpoint, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, nil, decodeError(resp, raw)
	}
	return resp, raw, nil
}
