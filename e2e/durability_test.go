package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// TestDurabilityKill9 checks invariant 5: what was acknowledged survives
// kill -9 of the server.
func TestDurabilityKill9(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	s := startServer(t, dataDir)
	c := s.client()
	type want struct{ name, sha, version string }
	var acked []want
	for i := range 5 {
		name := fmt.Sprintf("durable-%d", i)
		out, err := c.CreateFunction(ctx(t), createInput(t, name))
		if err != nil {
			t.Fatal(err)
		}
		acked = append(acked, want{name, aws.ToString(out.CodeSha256), "$LATEST"})
	}
	v, err := c.PublishVersion(ctx(t), &lambda.PublishVersionInput{FunctionName: aws.String("durable-0")})
	if err != nil {
		t.Fatal(err)
	}
	acked = append(acked, want{"durable-0", aws.ToString(v.CodeSha256), "1"})
	if _, err := c.CreateAlias(ctx(t), &lambda.CreateAliasInput{FunctionName: aws.String("durable-0"), Name: aws.String("live"), FunctionVersion: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	newZip := bootstrapZip(t, "updated")
	if _, err := c.UpdateFunctionCode(ctx(t), &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("durable-1"), ZipFile: newZip}); err != nil {
		t.Fatal(err)
	}
	acked[1].sha = codeSHA256(newZip)
	if _, err := c.DeleteFunction(ctx(t), &lambda.DeleteFunctionInput{FunctionName: aws.String("durable-4")}); err != nil {
		t.Fatal(err)
	}
	acked = acked[:4:4]
	acked = append(acked, want{"durable-0", aws.ToString(v.CodeSha256), "1"})

	s.kill9()
	s2 := startServer(t, dataDir)
	c2 := s2.client()
	for _, w := range acked {
		cfg, err := c2.GetFunctionConfiguration(ctx(t), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(w.name), Qualifier: aws.String(w.version)})
		if err != nil {
			t.Errorf("after kill -9: %s:%s lost: %v", w.name, w.version, err)
			continue
		}
		if aws.ToString(cfg.CodeSha256) != w.sha {
			t.Errorf("after kill -9: %s:%s has code %s, want %s", w.name, w.version, aws.ToString(cfg.CodeSha256), w.sha)
		}
	}
	if a, err := c2.GetAlias(ctx(t), &lambda.GetAliasInput{FunctionName: aws.String("durable-0"), Name: aws.String("live")}); err != nil || aws.ToString(a.FunctionVersion) != "1" {
		t.Errorf("after kill -9: alias = %v, %v", a, err)
	}
	if _, err := c2.GetFunction(ctx(t), &lambda.GetFunctionInput{FunctionName: aws.String("durable-4")}); err == nil {
		t.Error("after kill -9: a deleted function came back")
	}
}

// TestShutdownSIGTERM checks that the server exits cleanly and promptly on
// SIGTERM and leaves its data usable.
func TestShutdownSIGTERM(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	s := startServer(t, dataDir)
	if _, err := s.client().CreateFunction(ctx(t), createInput(t, "before-stop")); err != nil {
		t.Fatal(err)
	}
	if err := s.stop(10 * time.Second); err != nil {
		t.Fatalf("exit after SIGTERM = %v, want status 0\n%s", err, s.output)
	}
	s2 := startServer(t, dataDir)
	if _, err := s2.client().GetFunction(ctx(t), &lambda.GetFunctionInput{FunctionName: aws.String("before-stop")}); err != nil {
		t.Fatalf("after restart: %v", err)
	}
}
