package e2e

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// The key the tests' servers use unless a test lets the server generate one.
const (
	testAccessKey = "BKHDE2ETESTKEY000001"
	testSecret    = "e2e-test-secret-0123456789abcdefghijklmn"
	testRegion    = "us-east-1"
	testAccount   = "123456789012"
)

var bulkheadBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bulkhead-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bulkheadBin = filepath.Join(dir, "bulkhead")
	build := exec.Command("go", "build", "-o", bulkheadBin, "../cmd/bulkhead")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building bulkhead:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is a running `bulkhead serve` process.
type server struct {
	t       testing.TB
	dataDir string
	cmd     *exec.Cmd
	api     string // host:port
	gateway string
	output  *lockedBuffer // everything the process wrote to stderr
	done    chan struct{} // closed when the process has exited
	exitErr error
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var listening = regexp.MustCompile(`Lambda API on http://(\S+), gateway on http://(\S+),`)

// startServer starts bulkhead serve on free ports with the test key.
func startServer(t testing.TB, dataDir string) *server {
	t.Helper()
	return startServerEnv(t, dataDir, testKeyEnv)
}

// startServerArgs starts bulkhead serve with the test key and extra flags.
func startServerArgs(t testing.TB, dataDir string, args ...string) *server {
	t.Helper()
	return startServerEnv(t, dataDir, testKeyEnv, args...)
}

// testKeyEnv gives a server the test key.
var testKeyEnv = []string{"BULKHEAD_ACCESS_KEY_ID=" + testAccessKey, "BULKHEAD_SECRET_ACCESS_KEY=" + testSecret}

// startServerEnv starts bulkhead serve with extra environment variables
// (and none of the caller's BULKHEAD_ ones).
func startServerEnv(t testing.TB, dataDir string, env []string, args ...string) *server {
	t.Helper()
	s := &server{t: t, dataDir: dataDir, output: &lockedBuffer{}, done: make(chan struct{})}
	args = append([]string{"serve", "--data-dir", dataDir, "--api-addr", "127.0.0.1:0", "--gateway-addr", "127.0.0.1:0",
		"--region", testRegion, "--account-id", testAccount, "--shutdown-timeout", "5s"}, args...)
	s.cmd = exec.Command(bulkheadBin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BULKHEAD_") {
			s.cmd.Env = append(s.cmd.Env, kv)
		}
	}
	s.cmd.Env = append(s.cmd.Env, env...)
	pr, pw := io.Pipe()
	s.cmd.Stderr = pw
	s.cmd.Stdout = s.output
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan [2]string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			s.output.Write([]byte(line + "\n"))
			if m := listening.FindStringSubmatch(line); m != nil {
				ready <- [2]string{m[1], m[2]}
			}
		}
	}()
	go func() {
		s.exitErr = s.cmd.Wait()
		pw.Close()
		close(s.done)
	}()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.done:
			case <-time.After(10 * time.Second):
				s.cmd.Process.Kill()
				<-s.done
			}
		}
		if t.Failed() {
			t.Logf("server output:\n%s", s.output)
		}
	})
	select {
	case addrs := <-ready:
		s.api, s.gateway = addrs[0], addrs[1]
	case <-s.done:
		t.Fatalf("bulkhead serve exited before listening: %v\n%s", s.exitErr, s.output)
	case <-time.After(30 * time.Second):
		t.Fatalf("bulkhead serve did not start within 30s:\n%s", s.output)
	}
	s.waitHealthy()
	return s
}

func (s *server) waitHealthy() {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + s.api + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("/healthz never answered 200:\n%s", s.output)
}

// kill9 kills the server without warning, as a crash or power cut would.
func (s *server) kill9() {
	s.t.Helper()
	if err := s.cmd.Process.Kill(); err != nil {
		s.t.Fatal(err)
	}
	<-s.done
}

// stop sends SIGTERM and waits for the process to exit; it returns the exit
// error (nil for status 0).
func (s *server) stop(timeout time.Duration) error {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		s.t.Fatal(err)
	}
	select {
	case <-s.done:
		return s.exitErr
	case <-time.After(timeout):
		s.t.Fatalf("server did not exit within %v of SIGTERM", timeout)
		return nil
	}
}

// client returns an unmodified AWS SDK Lambda client for the server, signing
// with the given key, without retries so every answer is seen as sent.
func (s *server) clientWith(accessKey, secret string) *lambda.Client {
	return lambda.New(lambda.Options{
		Region:       testRegion,
		BaseEndpoint: aws.String("http://" + s.api),
		Credentials:  credentials.NewStaticCredentialsProvider(accessKey, secret, ""),
		Retryer:      aws.NopRetryer{},
	})
}

func (s *server) client() *lambda.Client { return s.clientWith(testAccessKey, testSecret) }

// rawRequest sends a request signed with the SDK's own signer (or unsigned
// when sign is false) and returns the response with its body read.
func (s *server) rawRequest(method, path string, body []byte, sign bool, at time.Time) (*http.Response, []byte) {
	s.t.Helper()
	return s.request(method, path, body, nil, sign, at)
}

// signedRequest is rawRequest, signed now, with extra headers (signed too).
func (s *server) signedRequest(method, path string, body []byte, h http.Header) (*http.Response, []byte) {
	s.t.Helper()
	return s.request(method, path, body, h, true, time.Now())
}

func (s *server) request(method, path string, body []byte, h http.Header, sign bool, at time.Time) (*http.Response, []byte) {
	s.t.Helper()
	req, err := http.NewRequest(method, "http://"+s.api+path, bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	for k, vs := range h {
		req.Header[http.CanonicalHeaderKey(k)] = vs
	}
	if len(body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	if sign {
		sum := sha256.Sum256(body)
		err := v4.NewSigner().SignHTTP(context.Background(),
			aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecret},
			req, fmt.Sprintf("%x", sum), "lambda", testRegion, at)
		if err != nil {
			s.t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return resp, raw
}

// zipFile is one entry of a test package.
type zipFile struct {
	name string
	body string
	mode os.FileMode
}

// makeZip builds a zip of files.
func makeZip(t testing.TB, files ...zipFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.name, Method: zip.Deflate}
		h.SetMode(f.mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, f.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// bootstrapZip is a minimal valid package; body varies its hash.
func bootstrapZip(t testing.TB, body string) []byte {
	return makeZip(t, zipFile{name: "bootstrap", body: "#!/bin/sh\n# " + body + "\n", mode: 0o755})
}

func codeSHA256(zip []byte) string {
	sum := sha256.Sum256(zip)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// createInput is a valid CreateFunction request for name.
func createInput(t testing.TB, name string) *lambda.CreateFunctionInput {
	return &lambda.CreateFunctionInput{
		FunctionName: aws.String(name),
		Role:         aws.String("arn:aws:iam::" + testAccount + ":role/fn"),
		Runtime:      types.RuntimeProvidedal2023,
		Handler:      aws.String("bootstrap"),
		Code:         &types.FunctionCode{ZipFile: bootstrapZip(t, name)},
	}
}

func ctx(t testing.TB) context.Context { return t.Context() }
