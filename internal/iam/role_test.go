package iam_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/iam"
	"github.com/bulkhead-dev/bulkhead/internal/iam/policy"
	"github.com/bulkhead-dev/bulkhead/internal/store/sqlite"
)

const poolPolicy = `{
  "Version": "2012-10-17",
  "Statement": [{
    "Effect": "Allow",
    "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
    "Resource": "arn:aws:dynamodb:*:*:table/Orders",
    "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["${aws:PrincipalTag/TenantID}#*"]}}
  }]
}`

func openRegistry(t *testing.T, path string) (*iam.Registry, *sqlite.Store) {
	t.Helper()
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	r, bad, err := iam.NewRegistry(context.Background(), db, "123456789012")
	if err != nil || len(bad) > 0 {
		t.Fatalf("NewRegistry: %v %v", bad, err)
	}
	return r, db
}

func TestRoleRegistryLifecycleSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db")
	r, db := openRegistry(t, path)
	role, err := r.Create(ctx, iam.Role{Name: "orders", Description: "tenant data", Policy: json.RawMessage(poolPolicy)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(role.ID, "AROA") || len(role.ID) != 21 || role.MaxSessionDuration != iam.DefaultMaxSessionDuration {
		t.Errorf("created %+v; want an AROA id of 21 characters and the default session duration", role)
	}
	if strings.ContainsAny(string(role.Policy), "\n ") {
		t.Errorf("stored policy %s keeps whitespace", role.Policy)
	}
	if _, err := r.Create(ctx, iam.Role{Name: "orders", Policy: json.RawMessage(poolPolicy)}); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Errorf("second create = %v, want already exists", err)
	}
	got, ok := r.ByARN("arn:aws:iam::123456789012:role/service/orders")
	if !ok || got.ID != role.ID {
		t.Errorf("ByARN with a path = %+v %v", got, ok)
	}
	if _, ok := r.ByARN("arn:aws:iam::999999999999:role/orders"); ok {
		t.Error("ByARN found a role in another account")
	}

	// The policy authorises as written.
	p, ok := r.Policy("orders")
	if !ok {
		t.Fatal("no compiled policy")
	}
	req := &policy.Request{Action: "dynamodb:GetItem", Resource: "arn:aws:dynamodb:us-east-1:123456789012:table/Orders"}
	req.Context.Set("aws:PrincipalTag/TenantID", "blue")
	req.Context.Set("dynamodb:LeadingKeys", "blue#1")
	if d := policy.Evaluate([]*policy.Policy{p}, nil, req); !d.Allowed {
		t.Errorf("blue reading blue#1: %+v", d)
	}
	req.Context.Set("dynamodb:LeadingKeys", "red#1")
	if d := policy.Evaluate([]*policy.Policy{p}, nil, req); d.Allowed {
		t.Error("blue may read red#1")
	}

	updated, err := r.Update(ctx, iam.Role{Name: "orders", Description: "changed", Policy: json.RawMessage(`{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}`), MaxSessionDuration: 7200})
	if err != nil || updated.ID != role.ID || updated.MaxSessionDuration != 7200 || !updated.Created.Equal(role.Created) {
		t.Fatalf("Update = %+v, %v", updated, err)
	}

	db.Close()
	again, _ := openRegistry(t, path)
	loaded, err := again.Get("orders")
	if err != nil || loaded.Description != "changed" || loaded.ID != role.ID || string(loaded.Policy) != string(updated.Policy) {
		t.Fatalf("after reopening: %+v, %v", loaded, err)
	}
	if err := again.Delete(ctx, "orders"); err != nil {
		t.Fatal(err)
	}
	if _, ok := again.Policy("orders"); ok {
		t.Error("a deleted role still has a policy")
	}
	if err := again.Delete(ctx, "orders"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("deleting twice = %v, want not found", err)
	}
}

func TestRoleRegistryRefusesBadRoles(t *testing.T) {
	r, _ := openRegistry(t, filepath.Join(t.TempDir(), "db"))
	big := `{"Version":"2012-10-17","Statement":[` + strings.Repeat(`{"Effect":"Allow","Action":"dynamodb:GetItem","Resource":"arn:aws:dynamodb:*:*:table/T"},`, 150) + `{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
	for _, tt := range []struct {
		name string
		role iam.Role
		want string
	}{
		{"bad name", iam.Role{Name: "no spaces", Policy: json.RawMessage(poolPolicy)}, "roleName"},
		{"long name", iam.Role{Name: strings.Repeat("a", 65), Policy: json.RawMessage(poolPolicy)}, "roleName"},
		{"no policy", iam.Role{Name: "r"}, "needs a policy"},
		{"malformed policy", iam.Role{Name: "r", Policy: json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"dynamodb:GetItem"}]}`)}, "Resource"},
		{"principal", iam.Role{Name: "r", Policy: json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}`)}, "principal"},
		{"too big", iam.Role{Name: "r", Policy: json.RawMessage(big)}, "Maximum policy size"},
		{"session too long", iam.Role{Name: "r", Policy: json.RawMessage(poolPolicy), MaxSessionDuration: 50000}, "MaxSessionDuration"},
		{"session too short", iam.Role{Name: "r", Policy: json.RawMessage(poolPolicy), MaxSessionDuration: 60}, "MaxSessionDuration"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.Create(context.Background(), tt.role)
			if err == nil || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(tt.want)) {
				t.Errorf("Create = %v, want an error about %q", err, tt.want)
			}
		})
	}
	if len(r.List()) != 0 {
		t.Errorf("refused roles were kept: %v", r.List())
	}
}

func TestParseRoleARN(t *testing.T) {
	for arn, want := range map[string]string{
		"arn:aws:iam::123456789012:role/orders":            "orders",
		"arn:aws:iam::123456789012:role/a/b/orders":        "orders",
		"arn:aws:iam::123456789012:role/bulkhead-function": "bulkhead-function",
		"arn:aws:iam::12345:role/orders":                   "",
		"arn:aws:iam::123456789012:user/orders":            "",
		"arn:aws:sts::123456789012:role/orders":            "",
		"arn:aws:iam::123456789012:role/":                  "",
	} {
		_, name, ok := iam.ParseRoleARN(arn)
		if name != want || ok != (want != "") {
			t.Errorf("ParseRoleARN(%q) = %q %v, want %q", arn, name, ok, want)
		}
	}
}
