package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// client speaks the Lambda REST API as bare SigV4-signed HTTP on kept-alive
// connections. The AWS SDK would do too, but its middleware adds about half
// a millisecond per call, which would sit inside every latency measured here.
type client struct {
	base   string // http://host:port
	http   *http.Client
	signer *v4.Signer
	creds  aws.Credentials
}

func newClient(api string) *client {
	return &client{
		base: "http://" + api,
		http: &http.Client{Transport: &http.Transport{
			// Enough idle connections for the highest concurrency, so no
			// measured request pays for a new connection.
			MaxIdleConns:        4096,
			MaxIdleConnsPerHost: 4096,
			IdleConnTimeout:     5 * time.Minute,
		}, Timeout: 2 * time.Minute},
		signer: v4.NewSigner(),
		creds:  aws.Credentials{AccessKeyID: accessKeyID, SecretAccessKey: secretAccessKey},
	}
}

// apiError is an answer other than 2xx, with the error type Lambda names.
type apiError struct {
	Status int
	Type   string
	Body   string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Type, e.Body)
}

// kind names the error for counting: the Lambda error type, else the
// status.
func (e *apiError) kind() string {
	if e.Type != "" {
		return e.Type
	}
	return fmt.Sprintf("HTTP %d", e.Status)
}

// functionError is an invocation answered 200 with X-Amz-Function-Error.
type functionError struct {
	Kind    string
	Payload string
}

func (e *functionError) Error() string { return "function error " + e.Kind + ": " + e.Payload }

// do sends one signed request and returns the response body; any answer
// other than 2xx is an *apiError.
func (c *client) do(ctx context.Context, method, path string, body []byte, header http.Header) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if len(body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	sum := sha256.Sum256(body)
	if err := c.signer.SignHTTP(ctx, c.creds, req, hex.EncodeToString(sum[:]), "lambda", region, time.Now()); err != nil {
		return nil, nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, nil, &apiError{Status: resp.StatusCode, Type: resp.Header.Get("X-Amzn-Errortype"), Body: string(raw)}
	}
	return raw, resp.Header, nil
}

// invoke runs fn as tenant synchronously and returns its payload; a
// function error is a *functionError.
func (c *client) invoke(ctx context.Context, fn, tenant string, payload []byte) ([]byte, error) {
	h := http.Header{"X-Amz-Tenant-Id": {tenant}}
	out, hdr, err := c.do(ctx, http.MethodPost, "/2015-03-31/functions/"+fn+"/invocations", payload, h)
	if err != nil {
		return nil, err
	}
	if kind := hdr.Get("X-Amz-Function-Error"); kind != "" {
		return nil, &functionError{Kind: kind, Payload: string(out)}
	}
	return out, nil
}

// function is what the benchmark deploys: a per-tenant provided.al2023
// function whose bootstrap is a Go binary.
type function struct {
	Name       string
	Binary     string // path of the bootstrap to package
	MemorySize int
	Env        map[string]string
}

// createFunction deploys f with CreateFunction, in the JSON the AWS SDK
// sends.
func (c *client) createFunction(ctx context.Context, f function) error {
	code, err := zipBootstrap(f.Binary)
	if err != nil {
		return err
	}
	in := map[string]any{
		"FunctionName":  f.Name,
		"Role":          "arn:aws:iam::" + accountID + ":role/bench",
		"Runtime":       "provided.al2023",
		"Handler":       "bootstrap",
		"MemorySize":    f.MemorySize,
		"Timeout":       30,
		"Code":          map[string]any{"ZipFile": code}, // []byte: base64, as the SDK sends a blob
		"TenancyConfig": map[string]string{"TenantIsolationMode": "PER_TENANT"},
	}
	if len(f.Env) > 0 {
		in["Environment"] = map[string]any{"Variables": f.Env}
	}
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	if _, _, err := c.do(ctx, http.MethodPost, "/2015-03-31/functions", body, nil); err != nil {
		return fmt.Errorf("CreateFunction %s: %w", f.Name, err)
	}
	return nil
}

// zipBootstrap packages the binary at path as a zip with one executable
// entry, bootstrap.
func zipBootstrap(path string) ([]byte, error) {
	bin, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(bin); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// metrics reads the server's Prometheus exposition and returns the samples
// without labels or with one label, keyed as written ("name" or
// `name{label="value"}`).
func (c *client) metrics(ctx context.Context, addr string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return parseExposition(string(raw)), nil
}
