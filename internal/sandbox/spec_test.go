package sandbox

import (
	"slices"
	"testing"
)

func TestEnvironmentSetsEndpointAndPlaceholders(t *testing.T) {
	spec := Spec{EndpointEnv: "AWS_LAMBDA_RUNTIME_API", Env: []string{
		"TMPDIR=/elsewhere", "AWS_LAMBDA_RUNTIME_API=spoofed", "A=1",
		"URL=http://" + EndpointPlaceholder + "/creds", "TWICE=" + EndpointPlaceholder + "," + EndpointPlaceholder,
	}}
	got := Environment(spec, "/tmp", "127.0.0.1:9001")
	want := []string{"A=1", "URL=http://127.0.0.1:9001/creds", "TWICE=127.0.0.1:9001,127.0.0.1:9001", "TMPDIR=/tmp", "AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001"}
	if !slices.Equal(got, want) {
		t.Errorf("Environment = %q\nwant %q", got, want)
	}
	// Without an endpoint nothing is substituted or set.
	got = Environment(Spec{Env: []string{"URL=" + EndpointPlaceholder}}, "/tmp", "")
	if want := []string{"URL=" + EndpointPlaceholder, "TMPDIR=/tmp"}; !slices.Equal(got, want) {
		t.Errorf("without an endpoint: %q, want %q", got, want)
	}
}
