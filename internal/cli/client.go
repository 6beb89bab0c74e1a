package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/adminkey"
	"github.com/bulkhead-dev/bulkhead/internal/sigv4"
)

// ClientFlags are the flags every client command takes.
type ClientFlags struct {
	Endpoint string `help:"URL of the Bulkhead Lambda API." default:"http://127.0.0.1:9000" env:"BULKHEAD_ENDPOINT"`
	Region   string `help:"Region the server answers as (its --region)." default:"us-east-1"`
	DataDir  string `help:"Data directory to read the admin key from when BULKHEAD_ACCESS_KEY_ID is not set." default:"${data_dir}" placeholder:"DIR"`
	JSON     bool   `help:"Print the API's JSON response instead of text."`
}

// client calls the Lambda API, signing each request with the admin key.
type client struct {
	endpoint *url.URL
	region   string
	key      adminkey.Key
	http     *http.Client
}

func (f *ClientFlags) client(e *env) (*client, error) {
	u, err := url.Parse(f.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--endpoint %q is not an http(s) URL", f.Endpoint)
	}
	key, err := adminkey.Load(f.DataDir, e.getenv)
	if err != nil {
		return nil, fmt.Errorf("admin key: %w", err)
	}
	return &client{endpoint: u, region: f.Region, key: key, http: &http.Client{Timeout: 5 * time.Minute}}, nil
}

// apiError is an error the Lambda API answered with.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("%s (HTTP %d)", e.Code, e.Status)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// do sends in (nil for no body) as JSON and decodes a 2xx response into out
// (nil to ignore it), returning the raw response body too.
func (c *client) do(ctx context.Context, method, path string, query url.Values, in, out any) ([]byte, error) {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return nil, err
		}
	}
	// path is already escaped segment by segment (functionPath).
	target := strings.TrimSuffix(c.endpoint.String(), "/") + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	creds := sigv4.Credentials{AccessKeyID: c.key.AccessKeyID, SecretAccessKey: c.key.SecretAccessKey}
	if err := sigv4.Sign(req, body, creds, c.region, "lambda", time.Now()); err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach Bulkhead at %s: %w", c.endpoint, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, decodeError(resp, raw)
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return nil, fmt.Errorf("unexpected response from %s: %w", path, err)
		}
	}
	return raw, nil
}

// functionPath is the API path of a function, its name escaped as one segment.
func functionPath(name string, rest ...string) string {
	p := "/2015-03-31/functions/" + url.PathEscape(name)
	for _, r := range rest {
		p += "/" + url.PathEscape(r)
	}
	return p
}

// decodeError turns a non-2xx answer into an *apiError.
func decodeError(resp *http.Response, raw []byte) error {
	e := &apiError{Status: resp.StatusCode, Code: resp.Header.Get("X-Amzn-ErrorType")}
	var m map[string]any
	if json.Unmarshal(raw, &m) == nil {
		for _, k := range []string{"message", "Message"} {
			if s, ok := m[k].(string); ok {
				e.Message = s
			}
		}
	}
	if e.Code == "" {
		e.Code = http.StatusText(resp.StatusCode)
	}
	return e
}
