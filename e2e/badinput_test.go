package e2e

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
)

// zipRaw builds a zip whose entries are written with the given headers as
// they are (names unchecked), for packages no honest tool would make.
func zipRaw(t testing.TB, entries []zip.FileHeader, bodies []string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := range entries {
		h := entries[i]
		w, err := zw.CreateHeader(&h)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, bodies[i])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func header(name string, mode os.FileMode) zip.FileHeader {
	h := zip.FileHeader{Name: name, Method: zip.Deflate}
	h.SetMode(mode)
	return h
}

// bigZip is a stored (uncompressed) zip with a bootstrap and n random bytes.
func bigZip(t testing.TB, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Store}
	h.SetMode(0o755)
	w, _ := zw.CreateHeader(h)
	io.WriteString(w, "#!/bin/sh\n")
	h2 := &zip.FileHeader{Name: "blob", Method: zip.Store}
	h2.SetMode(0o644)
	w, _ = zw.CreateHeader(h2)
	rng := rand.NewChaCha8([32]byte{1})
	if _, err := io.CopyN(w, rng, int64(n)); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	return buf.Bytes()
}

// bombZip is a small zip that unpacks to more than 250 MB of zeros.
func bombZip(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	w, _ := zw.CreateHeader(h)
	io.WriteString(w, "#!/bin/sh\n")
	h2 := &zip.FileHeader{Name: "zeros", Method: zip.Deflate}
	h2.SetMode(0o644)
	w, _ = zw.CreateHeader(h2)
	zero := make([]byte, 1<<20)
	for range 251 {
		w.Write(zero)
	}
	zw.Close()
	if buf.Len() > 2<<20 {
		t.Fatalf("bomb is %d bytes; it should be small", buf.Len())
	}
	return buf.Bytes()
}

func TestControlPlaneBadInput(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	s := startServer(t, dataDir)
	c := s.client()
	if _, err := c.CreateFunction(ctx(t), createInput(t, "taken")); err != nil {
		t.Fatal(err)
	}

	withZip := func(name string, zip []byte) func(*lambda.CreateFunctionInput) {
		return func(in *lambda.CreateFunctionInput) { in.FunctionName = aws.String(name); in.Code.ZipFile = zip }
	}
	tests := []struct {
		name    string
		mutate  func(*lambda.CreateFunctionInput)
		code    string
		status  int
		message string // exact, or a prefix when it ends in "…"
	}{
		{"not a zip", withZip("f", []byte("this is not a zip")),
			"InvalidParameterValueException", 400, "Could not unzip uploaded file. Please check your file, then try to upload again."},
		{"no bootstrap", withZip("f", makeZip(t, zipFile{"main.sh", "#!/bin/sh", 0o755})),
			"InvalidParameterValueException", 400, "The deployment package has no file named bootstrap at its root.…"},
		{"bootstrap not executable", withZip("f", makeZip(t, zipFile{"bootstrap", "#!/bin/sh", 0o644})),
			"InvalidParameterValueException", 400, "The file bootstrap in the deployment package is not executable (mode 0644).…"},
		{"path escapes with ..", withZip("f", zipRaw(t, []zip.FileHeader{header("bootstrap", 0o755), header("../../etc/evil", 0o644)}, []string{"#!/bin/sh", "x"})),
			"InvalidParameterValueException", 400, `Could not unzip uploaded file: entry "../../etc/evil" would be written outside the package root.`},
		{"absolute path", withZip("f", zipRaw(t, []zip.FileHeader{header("bootstrap", 0o755), header("/etc/evil", 0o644)}, []string{"#!/bin/sh", "x"})),
			"InvalidParameterValueException", 400, `Could not unzip uploaded file: entry "/etc/evil" would be written outside the package root.`},
		{"symlink outside", withZip("f", zipRaw(t, []zip.FileHeader{header("bootstrap", 0o755), header("link", os.ModeSymlink|0o777)}, []string{"#!/bin/sh", "../../../etc/shadow"})),
			"InvalidParameterValueException", 400, `…entry "link" is a symbolic link pointing outside the package root.`},
		{"zip bomb", withZip("f", bombZip(t)),
			"InvalidParameterValueException", 400, "Unzipped size must be smaller than 262144000 bytes"},
		{"zipped over 50 MB", withZip("f", bigZip(t, 50<<20+100)),
			"RequestEntityTooLargeException", 413, "Zipped size must be smaller than 52428800 bytes"},
		{"request over the API limit", withZip("f", bigZip(t, 53<<20)),
			"RequestEntityTooLargeException", 413, "Request must be smaller than 70167211 bytes for the CreateFunction operation"},
		{"unknown runtime", func(in *lambda.CreateFunctionInput) { in.Runtime = "cobol85" },
			"ValidationException", 400, "1 validation error detected: Value 'cobol85' at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: […"},
		{"runtime bulkhead lacks", func(in *lambda.CreateFunctionInput) { in.Runtime = types.RuntimePython312 },
			"InvalidParameterValueException", 400, "The runtime parameter of python3.12 is not supported by Bulkhead.…"},
		{"memory too small", func(in *lambda.CreateFunctionInput) { in.MemorySize = aws.Int32(100) },
			"ValidationException", 400, "1 validation error detected: Value '100' at 'memorySize' failed to satisfy constraint: Member must have value greater than or equal to 128"},
		{"memory too large", func(in *lambda.CreateFunctionInput) { in.MemorySize = aws.Int32(10241) },
			"ValidationException", 400, "1 validation error detected: Value '10241' at 'memorySize' failed to satisfy constraint: Member must have value less than or equal to 10240"},
		{"memory zero", func(in *lambda.CreateFunctionInput) { in.MemorySize = aws.Int32(0) },
			"ValidationException", 400, "1 validation error detected: Value '0' at 'memorySize' failed to satisfy constraint: Member must have value greater than or equal to 128"},
		{"timeout too long", func(in *lambda.CreateFunctionInput) { in.Timeout = aws.Int32(901) },
			"ValidationException", 400, "1 validation error detected: Value '901' at 'timeout' failed to satisfy constraint: Member must have value less than or equal to 900"},
		{"ephemeral storage too small", func(in *lambda.CreateFunctionInput) {
			in.EphemeralStorage = &types.EphemeralStorage{Size: aws.Int32(256)}
		},
			"ValidationException", 400, "1 validation error detected: Value '256' at 'ephemeralStorage.size' failed to satisfy constraint: Member must have value greater than or equal to 512"},
		{"environment over 4 KB", func(in *lambda.CreateFunctionInput) {
			in.Environment = &types.Environment{Variables: map[string]string{"BIG": strings.Repeat("x", 4100)}}
		}, "InvalidParameterValueException", 400, "Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit.…"},
		{"reserved variable", func(in *lambda.CreateFunctionInput) {
			in.Environment = &types.Environment{Variables: map[string]string{"AWS_LAMBDA_RUNTIME_API": "evil:1"}}
		}, "InvalidParameterValueException", 400, "…Reserved keys used in this request: AWS_LAMBDA_RUNTIME_API"},
		{"duplicate name", func(in *lambda.CreateFunctionInput) { in.FunctionName = aws.String("taken") },
			"ResourceConflictException", 409, "Function already exist: taken"},
		{"name over 64 characters", func(in *lambda.CreateFunctionInput) { in.FunctionName = aws.String(strings.Repeat("n", 65)) },
			"ValidationException", 400, "1 validation error detected: Value '" + strings.Repeat("n", 65) + "' at 'functionName' failed to satisfy constraint: Member must have length less than or equal to 64"},
		{"illegal characters", func(in *lambda.CreateFunctionInput) { in.FunctionName = aws.String("bad$name") },
			"ValidationException", 400, "…at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: …"},
		{"bad role", func(in *lambda.CreateFunctionInput) { in.Role = aws.String("root") },
			"ValidationException", 400, "1 validation error detected: Value 'root' at 'role' failed to satisfy constraint: …"},
	}
	zipsBefore := dirEntries(t, filepath.Join(dataDir, "code", "zip"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := createInput(t, "f")
			tt.mutate(in)
			_, err := c.CreateFunction(ctx(t), in)
			assertAPIError(t, err, tt.code, tt.status, tt.message)
			// Nothing half-written: no new function, no stored package.
			if name := aws.ToString(in.FunctionName); name != "taken" {
				_, err := c.GetFunction(ctx(t), &lambda.GetFunctionInput{FunctionName: aws.String("f")})
				var nf *types.ResourceNotFoundException
				if !errors.As(err, &nf) {
					t.Errorf("after refusal, GetFunction(f) = %v; want ResourceNotFoundException", err)
				}
			}
			if got := dirEntries(t, filepath.Join(dataDir, "code", "zip")); got != zipsBefore {
				t.Errorf("code packages on disk: %d before, %d after a refused create", zipsBefore, got)
			}
			if got := dirEntries(t, filepath.Join(dataDir, "code", "tmp")); got != 0 {
				t.Errorf("%d staging leftovers after a refused create", got)
			}
		})
	}
}

func TestControlPlaneBadRequests(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	tests := []struct {
		name, method, path, body string
		status                   int
		code, message            string
	}{
		{"body not JSON", "POST", "/2015-03-31/functions", "{not json", 400, "InvalidRequestContentException", "Could not parse request body into json: …"},
		{"wrong JSON type", "POST", "/2015-03-31/functions", `{"MemorySize":"big"}`, 400, "InvalidRequestContentException", "Could not parse request body into json: …"},
		{"no code", "POST", "/2015-03-31/functions", `{"FunctionName":"f","Role":"arn:aws:iam::123456789012:role/r","Runtime":"provided","Handler":"h"}`, 400, "ValidationException", "1 validation error detected: Value null at 'code' failed to satisfy constraint: Member must not be null"},
		{"S3 code", "POST", "/2015-03-31/functions", `{"FunctionName":"f","Role":"arn:aws:iam::123456789012:role/r","Runtime":"provided","Handler":"h","Code":{"S3Bucket":"b","S3Key":"k"}}`, 400, "InvalidParameterValueException", "Bulkhead takes code as ZipFile only; S3Bucket and S3Key are not supported."},
		{"unknown operation", "GET", "/2015-03-31/nothing", "", 404, "UnknownOperationException", "Unknown operation"},
		{"bad MaxItems", "GET", "/2015-03-31/functions?MaxItems=0", "", 400, "ValidationException", "1 validation error detected: Value '0' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"bad marker", "GET", "/2015-03-31/functions?Marker=%21%21", "", 400, "InvalidParameterValueException", `Invalid marker: "!!"`},
		{"foreign region ARN", "GET", "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Af", "", 400, "InvalidParameterValueException", "Functions from 'eu-west-1' are not reachable in this region ('us-east-1')"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := s.rawRequest(tt.method, tt.path, []byte(tt.body), true, timeNow())
			assertWireError(t, resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), body, tt.status, tt.code, tt.message)
		})
	}
}

// assertAPIError checks an SDK error's code, HTTP status and message.
func assertAPIError(t *testing.T, err error, code string, status int, message string) {
	t.Helper()
	var api smithy.APIError
	if !errors.As(err, &api) {
		t.Fatalf("error = %v; want API error %s", err, code)
	}
	if api.ErrorCode() != code {
		t.Errorf("code = %s (%s); want %s", api.ErrorCode(), api.ErrorMessage(), code)
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() != status {
		t.Errorf("status = %d; want %d", re.HTTPStatusCode(), status)
	}
	if !messageMatches(api.ErrorMessage(), message) {
		t.Errorf("message = %q\nwant      %q", api.ErrorMessage(), message)
	}
}

func assertWireError(t *testing.T, gotStatus int, gotCode string, body []byte, status int, code, message string) {
	t.Helper()
	if gotStatus != status || gotCode != code {
		t.Errorf("answer = %d %s; want %d %s (body %s)", gotStatus, gotCode, status, code, body)
	}
	var m map[string]string
	if err := jsonUnmarshal(body, &m); err != nil {
		t.Fatalf("error body %q is not JSON: %v", body, err)
	}
	msg := m["message"] + m["Message"]
	if !messageMatches(msg, message) {
		t.Errorf("message = %q\nwant      %q", msg, message)
	}
	if m["Type"] != "User" {
		t.Errorf("Type = %q, want User", m["Type"])
	}
}

// messageMatches compares exactly, except that a leading or trailing "…" in
// want allows any text there.
func messageMatches(got, want string) bool {
	prefix := strings.HasSuffix(want, "…")
	suffix := strings.HasPrefix(want, "…")
	core := strings.TrimSuffix(strings.TrimPrefix(want, "…"), "…")
	switch {
	case prefix && suffix:
		return strings.Contains(got, core)
	case prefix:
		return strings.HasPrefix(got, core)
	case suffix:
		return strings.HasSuffix(got, core)
	}
	return got == want
}

func dirEntries(t *testing.T, dir string) int {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return len(es)
}
