package e2e

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/google/go-cmp/cmp"
)

func TestControlPlaneFunctionLifecycle(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	c := s.client()
	zip := bootstrapZip(t, "v1")

	in := &lambda.CreateFunctionInput{
		FunctionName:     aws.String("orders"),
		Role:             aws.String("arn:aws:iam::123456789012:role/orders"),
		Runtime:          types.RuntimeProvidedal2023,
		Handler:          aws.String("bootstrap"),
		Code:             &types.FunctionCode{ZipFile: zip},
		Description:      aws.String("order service"),
		MemorySize:       aws.Int32(256),
		Timeout:          aws.Int32(30),
		EphemeralStorage: &types.EphemeralStorage{Size: aws.Int32(1024)},
		Environment:      &types.Environment{Variables: map[string]string{"STAGE": "test"}},
		LoggingConfig:    &types.LoggingConfig{LogFormat: types.LogFormatJson},
		TenancyConfig:    &types.TenancyConfig{TenantIsolationMode: types.TenantIsolationModePerTenant},
		Tags:             map[string]string{"team": "payments"},
	}
	created, err := c.CreateFunction(ctx(t), in)
	if err != nil {
		t.Fatalf("CreateFunction: %v", err)
	}
	wantARN := "arn:aws:lambda:us-east-1:123456789012:function:orders"
	checks := []struct {
		field     string
		got, want any
	}{
		{"FunctionName", aws.ToString(created.FunctionName), "orders"},
		{"FunctionArn", aws.ToString(created.FunctionArn), wantARN},
		{"Version", aws.ToString(created.Version), "$LATEST"},
		{"Runtime", created.Runtime, types.RuntimeProvidedal2023},
		{"Handler", aws.ToString(created.Handler), "bootstrap"},
		{"Role", aws.ToString(created.Role), "arn:aws:iam::123456789012:role/orders"},
		{"MemorySize", aws.ToInt32(created.MemorySize), int32(256)},
		{"Timeout", aws.ToInt32(created.Timeout), int32(30)},
		{"EphemeralStorage", aws.ToInt32(created.EphemeralStorage.Size), int32(1024)},
		{"CodeSha256", aws.ToString(created.CodeSha256), codeSHA256(zip)},
		{"CodeSize", created.CodeSize, int64(len(zip))},
		{"Description", aws.ToString(created.Description), "order service"},
		{"Environment", created.Environment.Variables, map[string]string{"STAGE": "test"}},
		{"LogFormat", created.LoggingConfig.LogFormat, types.LogFormatJson},
		{"TenancyConfig", created.TenancyConfig.TenantIsolationMode, types.TenantIsolationModePerTenant},
		{"State", created.State, types.StateActive},
		{"PackageType", created.PackageType, types.PackageTypeZip},
		{"Architectures", created.Architectures, []types.Architecture{types.ArchitectureX8664}},
	}
	for _, c := range checks {
		if diff := cmp.Diff(c.want, c.got); diff != "" {
			t.Errorf("CreateFunction %s (-want +got):\n%s", c.field, diff)
		}
	}
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$`).MatchString(aws.ToString(created.LastModified)) {
		t.Errorf("LastModified = %q, not in Lambda's format", aws.ToString(created.LastModified))
	}

	// The SDK's own waiter sees it active.
	if err := lambda.NewFunctionActiveV2Waiter(c).Wait(ctx(t), &lambda.GetFunctionInput{FunctionName: aws.String("orders")}, 10e9); err != nil {
		t.Fatalf("FunctionActiveV2 waiter: %v", err)
	}

	got, err := c.GetFunction(ctx(t), &lambda.GetFunctionInput{FunctionName: aws.String("orders")})
	if err != nil {
		t.Fatalf("GetFunction: %v", err)
	}
	if aws.ToString(got.Configuration.RevisionId) != aws.ToString(created.RevisionId) || got.Tags["team"] != "payments" {
		t.Errorf("GetFunction = revision %q tags %v; want revision %q and the tags given", aws.ToString(got.Configuration.RevisionId), got.Tags, aws.ToString(created.RevisionId))
	}
	for _, name := range []string{wantARN, "123456789012:function:orders", "orders:$LATEST"} {
		cfg, err := c.GetFunctionConfiguration(ctx(t), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
		if err != nil || aws.ToString(cfg.FunctionName) != "orders" {
			t.Errorf("GetFunctionConfiguration(%q) = %v, %v", name, cfg, err)
		}
	}

	// Configuration update keeps tenancy and changes what was asked.
	upd, err := c.UpdateFunctionConfiguration(ctx(t), &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("orders"), MemorySize: aws.Int32(512), RevisionId: created.RevisionId,
	})
	if err != nil {
		t.Fatalf("UpdateFunctionConfiguration: %v", err)
	}
	if aws.ToInt32(upd.MemorySize) != 512 || aws.ToInt32(upd.Timeout) != 30 || upd.TenancyConfig == nil {
		t.Errorf("after update: memory %d timeout %d tenancy %v", aws.ToInt32(upd.MemorySize), aws.ToInt32(upd.Timeout), upd.TenancyConfig)
	}
	if aws.ToString(upd.RevisionId) == aws.ToString(created.RevisionId) {
		t.Error("RevisionId did not change on update")
	}
	// A stale revision id is refused.
	_, err = c.UpdateFunctionConfiguration(ctx(t), &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("orders"), Timeout: aws.Int32(5), RevisionId: created.RevisionId,
	})
	var pre *types.PreconditionFailedException
	if !errors.As(err, &pre) {
		t.Errorf("update with stale RevisionId = %v, want PreconditionFailedException", err)
	}

	// Code update changes the hash.
	zip2 := bootstrapZip(t, "v2")
	code, err := c.UpdateFunctionCode(ctx(t), &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("orders"), ZipFile: zip2})
	if err != nil {
		t.Fatalf("UpdateFunctionCode: %v", err)
	}
	if aws.ToString(code.CodeSha256) != codeSHA256(zip2) {
		t.Errorf("CodeSha256 after update = %q, want %q", aws.ToString(code.CodeSha256), codeSHA256(zip2))
	}

	if _, err := c.DeleteFunction(ctx(t), &lambda.DeleteFunctionInput{FunctionName: aws.String("orders")}); err != nil {
		t.Fatalf("DeleteFunction: %v", err)
	}
	_, err = c.GetFunction(ctx(t), &lambda.GetFunctionInput{FunctionName: aws.String("orders")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) || aws.ToString(nf.Message) != "Function not found: "+wantARN {
		t.Errorf("GetFunction after delete = %v, want ResourceNotFoundException %q", err, "Function not found: "+wantARN)
	}
}

func TestControlPlaneTenancyImmutable(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	c := s.client()
	if _, err := c.CreateFunction(ctx(t), createInput(t, "plain")); err != nil {
		t.Fatal(err)
	}
	// The SDK has no TenancyConfig member on UpdateFunctionConfiguration; a
	// hand-made request is how someone would try.
	resp, body := s.rawRequest("PUT", "/2015-03-31/functions/plain/configuration",
		[]byte(`{"TenancyConfig":{"TenantIsolationMode":"PER_TENANT"}}`), true, timeNow())
	if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-ErrorType") != "InvalidParameterValueException" {
		t.Fatalf("tenancy change = %d %s %s, want 400 InvalidParameterValueException", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), body)
	}
	cfg, err := c.GetFunctionConfiguration(ctx(t), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("plain")})
	if err != nil || cfg.TenancyConfig != nil {
		t.Fatalf("after refused change: tenancy %v, %v; want none", cfg.TenancyConfig, err)
	}
}

func TestControlPlaneListPagination(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	c := s.client()
	var want []string
	for i := range 7 {
		name := fmt.Sprintf("fn-%02d", i)
		want = append(want, name)
		if _, err := c.CreateFunction(ctx(t), createInput(t, name)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.PublishVersion(ctx(t), &lambda.PublishVersionInput{FunctionName: aws.String("fn-03")}); err != nil {
		t.Fatal(err)
	}

	var got []string
	pages := 0
	p := lambda.NewListFunctionsPaginator(c, &lambda.ListFunctionsInput{MaxItems: aws.Int32(3)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(out.Functions) > 3 {
			t.Errorf("page of %d functions, MaxItems was 3", len(out.Functions))
		}
		for _, f := range out.Functions {
			got = append(got, aws.ToString(f.FunctionName))
		}
	}
	if diff := cmp.Diff(want, got); diff != "" || pages != 3 {
		t.Errorf("paged list in %d pages (-want +got):\n%s", pages, diff)
	}

	// FunctionVersion=ALL lists every version, paged across functions.
	var all []string
	pa := lambda.NewListFunctionsPaginator(c, &lambda.ListFunctionsInput{FunctionVersion: types.FunctionVersionAll, MaxItems: aws.Int32(2)})
	for pa.HasMorePages() {
		out, err := pa.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range out.Functions {
			all = append(all, aws.ToString(f.FunctionName)+":"+aws.ToString(f.Version))
		}
	}
	if len(all) != 8 || !slices.Contains(all, "fn-03:1") || !slices.Contains(all, "fn-03:$LATEST") {
		t.Errorf("ALL versions = %v, want 8 entries with fn-03:$LATEST and fn-03:1", all)
	}
}

func TestControlPlaneVersionsAndAliases(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	c := s.client()
	if _, err := c.CreateFunction(ctx(t), createInput(t, "svc")); err != nil {
		t.Fatal(err)
	}
	v1, err := c.PublishVersion(ctx(t), &lambda.PublishVersionInput{FunctionName: aws.String("svc"), Description: aws.String("first")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(v1.Version) != "1" || aws.ToString(v1.FunctionArn) != "arn:aws:lambda:us-east-1:123456789012:function:svc:1" {
		t.Errorf("PublishVersion = %s %s", aws.ToString(v1.Version), aws.ToString(v1.FunctionArn))
	}
	// Nothing changed: Lambda returns the same version.
	again, err := c.PublishVersion(ctx(t), &lambda.PublishVersionInput{FunctionName: aws.String("svc")})
	if err != nil || aws.ToString(again.Version) != "1" {
		t.Errorf("republish unchanged = %v, %v; want version 1 again", again, err)
	}
	// A wrong CodeSha256 is refused.
	_, err = c.PublishVersion(ctx(t), &lambda.PublishVersionInput{FunctionName: aws.String("svc"), CodeSha256: aws.String("AAAA")})
	var ip *types.InvalidParameterValueException
	if !errors.As(err, &ip) {
		t.Errorf("publish with wrong CodeSha256 = %v, want InvalidParameterValueException", err)
	}
	zip2 := bootstrapZip(t, "svc v2")
	v2, err := c.UpdateFunctionCode(ctx(t), &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("svc"), ZipFile: zip2, Publish: true})
	if err != nil || aws.ToString(v2.Version) != "2" {
		t.Fatalf("UpdateFunctionCode with Publish = %v, %v; want version 2", v2, err)
	}

	alias, err := c.CreateAlias(ctx(t), &lambda.CreateAliasInput{FunctionName: aws.String("svc"), Name: aws.String("live"), FunctionVersion: aws.String("1")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(alias.AliasArn) != "arn:aws:lambda:us-east-1:123456789012:function:svc:live" {
		t.Errorf("AliasArn = %s", aws.ToString(alias.AliasArn))
	}
	_, err = c.CreateAlias(ctx(t), &lambda.CreateAliasInput{FunctionName: aws.String("svc"), Name: aws.String("live"), FunctionVersion: aws.String("2")})
	var conflict *types.ResourceConflictException
	if !errors.As(err, &conflict) {
		t.Errorf("duplicate alias = %v, want ResourceConflictException", err)
	}
	_, err = c.CreateAlias(ctx(t), &lambda.CreateAliasInput{FunctionName: aws.String("svc"), Name: aws.String("next"), FunctionVersion: aws.String("9")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("alias to a missing version = %v, want ResourceNotFoundException", err)
	}

	// Qualifiers resolve: $LATEST, numbers, aliases, in the name or the parameter.
	resolve := []struct{ name, qualifier, wantVersion, wantSHA string }{
		{"svc", "", "$LATEST", codeSHA256(zip2)},
		{"svc", "$LATEST", "$LATEST", codeSHA256(zip2)},
		{"svc", "1", "1", aws.ToString(v1.CodeSha256)},
		{"svc", "live", "1", aws.ToString(v1.CodeSha256)},
		{"svc:live", "", "1", aws.ToString(v1.CodeSha256)},
		{"arn:aws:lambda:us-east-1:123456789012:function:svc:2", "", "2", codeSHA256(zip2)},
		{"svc:2", "2", "2", codeSHA256(zip2)},
	}
	for _, r := range resolve {
		in := &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(r.name)}
		if r.qualifier != "" {
			in.Qualifier = aws.String(r.qualifier)
		}
		cfg, err := c.GetFunctionConfiguration(ctx(t), in)
		if err != nil || aws.ToString(cfg.Version) != r.wantVersion || aws.ToString(cfg.CodeSha256) != r.wantSHA {
			t.Errorf("resolve %s q=%q = %v, %v; want version %s", r.name, r.qualifier, cfg, err, r.wantVersion)
		}
	}
	_, err = c.GetFunctionConfiguration(ctx(t), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("svc:1"), Qualifier: aws.String("2")})
	if !errors.As(err, &ip) {
		t.Errorf("conflicting qualifiers = %v, want InvalidParameterValueException", err)
	}
	_, err = c.GetFunctionConfiguration(ctx(t), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("svc"), Qualifier: aws.String("nope")})
	if !errors.As(err, &nf) || aws.ToString(nf.Message) != "Function not found: arn:aws:lambda:us-east-1:123456789012:function:svc:nope" {
		t.Errorf("unknown alias = %v", err)
	}

	versions, err := c.ListVersionsByFunction(ctx(t), &lambda.ListVersionsByFunctionInput{FunctionName: aws.String("svc")})
	if err != nil {
		t.Fatal(err)
	}
	var vs []string
	for _, v := range versions.Versions {
		vs = append(vs, aws.ToString(v.Version))
	}
	if diff := cmp.Diff([]string{"$LATEST", "1", "2"}, vs); diff != "" {
		t.Errorf("ListVersionsByFunction (-want +got):\n%s", diff)
	}

	// A version an alias points to cannot be deleted.
	_, err = c.DeleteFunction(ctx(t), &lambda.DeleteFunctionInput{FunctionName: aws.String("svc"), Qualifier: aws.String("1")})
	if !errors.As(err, &conflict) || aws.ToString(conflict.Message) != "Unable to delete version because the following aliases reference it: [live]" {
		t.Errorf("delete aliased version = %v", err)
	}
	_, err = c.DeleteFunction(ctx(t), &lambda.DeleteFunctionInput{FunctionName: aws.String("svc"), Qualifier: aws.String("$LATEST")})
	if !errors.As(err, &ip) {
		t.Errorf("delete $LATEST by qualifier = %v, want InvalidParameterValueException", err)
	}

	upd, err := c.UpdateAlias(ctx(t), &lambda.UpdateAliasInput{FunctionName: aws.String("svc"), Name: aws.String("live"), FunctionVersion: aws.String("2"),
		RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"1": 0.1}}})
	if err != nil || aws.ToString(upd.FunctionVersion) != "2" || upd.RoutingConfig.AdditionalVersionWeights["1"] != 0.1 {
		t.Fatalf("UpdateAlias = %+v, %v", upd, err)
	}
	got, err := c.GetAlias(ctx(t), &lambda.GetAliasInput{FunctionName: aws.String("svc"), Name: aws.String("live")})
	if err != nil || aws.ToString(got.FunctionVersion) != "2" || aws.ToString(got.RevisionId) != aws.ToString(upd.RevisionId) {
		t.Errorf("GetAlias = %+v, %v", got, err)
	}
	if _, err := c.CreateAlias(ctx(t), &lambda.CreateAliasInput{FunctionName: aws.String("svc"), Name: aws.String("dev"), FunctionVersion: aws.String("$LATEST")}); err != nil {
		t.Fatal(err)
	}
	list, err := c.ListAliases(ctx(t), &lambda.ListAliasesInput{FunctionName: aws.String("svc")})
	if err != nil || len(list.Aliases) != 2 || aws.ToString(list.Aliases[0].Name) != "dev" {
		t.Errorf("ListAliases = %+v, %v; want dev and live", list, err)
	}
	if _, err := c.DeleteAlias(ctx(t), &lambda.DeleteAliasInput{FunctionName: aws.String("svc"), Name: aws.String("live")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteFunction(ctx(t), &lambda.DeleteFunctionInput{FunctionName: aws.String("svc"), Qualifier: aws.String("1")}); err != nil {
		t.Errorf("delete version 1 once no alias references it: %v", err)
	}
	// Numbers are never reused.
	if _, err := c.UpdateFunctionCode(ctx(t), &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("svc"), ZipFile: bootstrapZip(t, "v3")}); err != nil {
		t.Fatal(err)
	}
	v3, err := c.PublishVersion(ctx(t), &lambda.PublishVersionInput{FunctionName: aws.String("svc")})
	if err != nil || aws.ToString(v3.Version) != "3" {
		t.Errorf("publish after deleting version 1 = %v, %v; want version 3", v3, err)
	}
}
