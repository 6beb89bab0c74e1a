package sts

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mathrand "math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/tenant"
)

var testNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func testIssuer(t testing.TB) *Issuer {
	t.Helper()
	iss, err := NewIssuerFromKey(bytes.Repeat([]byte{7}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

// envSession is what an execution environment's credentials stand for.
func envSession() Session {
	return Session{
		Account:     "123456789012",
		RoleName:    "orders-data",
		RoleARN:     "arn:aws:iam::123456789012:role/service/orders-data",
		RoleID:      "AROAEXAMPLE0000000001",
		SessionName: "env-6f1c2b9e-4d3a-4c55-9a7e-0c1d2e3f4a5b",
		Tags: Tags{
			{TenantTag, "acme-corp"},
			{"FunctionName", "orders-api"},
			{"EnvironmentId", "6f1c2b9e-4d3a-4c55-9a7e-0c1d2e3f4a5b"},
		},
		Issued:      testNow,
		Expires:     testNow.Add(time.Hour),
		Environment: "6f1c2b9e-4d3a-4c55-9a7e-0c1d2e3f4a5b",
		Tenant:      mustTenant("acme-corp"),
	}
}

func mustTenant(s string) tenant.ID {
	id, err := tenant.Parse(s)
	if err != nil {
		panic(err)
	}
	return id
}

var (
	accessKeyIDPattern = regexp.MustCompile(`^ASIA[A-Z2-7]{16}$`)
	secretPattern      = regexp.MustCompile(`^[A-Za-z0-9+/]{40}$`)
	tokenPattern       = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

func TestIssuerRoundTrip(t *testing.T) {
	iss := testIssuer(t)
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"dynamodb:GetItem","Resource":"*"}]}`
	for _, tc := range []struct {
		name   string
		change func(*Session)
	}{
		{"environment session", func(*Session) {}},
		{"no tags, no tenant", func(s *Session) { s.Tags, s.Tenant, s.Environment = nil, tenant.None, "" }},
		{"session policy", func(s *Session) { s.SessionPolicy = policy }},
		{"empty TenantID tag is tenant.None", func(s *Session) { s.Tags[0].Value, s.Tenant = "", tenant.None }},
		{"case-insensitive tenant tag", func(s *Session) { s.Tags[0].Key = "tenantid" }},
		{"unicode tag", func(s *Session) { s.Tags = append(s.Tags, Tag{"Größe", "groß ü"}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := envSession()
			in.Tags = append(Tags(nil), in.Tags...)
			tc.change(&in)
			creds, err := iss.Issue(in)
			if err != nil {
				t.Fatal(err)
			}
			if !accessKeyIDPattern.MatchString(creds.AccessKeyID) || !secretPattern.MatchString(creds.SecretAccessKey) || !tokenPattern.MatchString(creds.SessionToken) {
				t.Fatalf("credentials not in AWS's shape: %q %q %q", creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken)
			}
			if !creds.Expiration.Equal(in.Expires) {
				t.Errorf("Expiration = %s, want %s", creds.Expiration, in.Expires)
			}
			got, secret, err := iss.Open(creds.AccessKeyID, creds.SessionToken, testNow)
			if err != nil {
				t.Fatal(err)
			}
			if secret != creds.SecretAccessKey {
				t.Errorf("secret = %q, want %q", secret, creds.SecretAccessKey)
			}
			if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(got.ID) {
				t.Errorf("session ID = %q, want 32 hex digits", got.ID)
			}
			want := in
			want.ID, want.AccessKeyID = got.ID, creds.AccessKeyID
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(tenant.ID{})); diff != "" {
				t.Errorf("opened session differs (-want +got):\n%s", diff)
			}
		})
	}
}

// TestIssuerTokenSize reports the size of a typical token and keeps it well
// under AWS's 4 KB.
func TestIssuerTokenSize(t *testing.T) {
	creds, err := testIssuer(t).Issue(envSession())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("typical environment session: token of %d bytes", len(creds.SessionToken))
	if len(creds.SessionToken) > 1024 {
		t.Errorf("typical token has %d bytes; want at most 1024", len(creds.SessionToken))
	}
}

func TestIssuerFreshCredentialsEachTime(t *testing.T) {
	iss := testIssuer(t)
	a, errA := iss.Issue(envSession())
	b, errB := iss.Issue(envSession())
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	if a.AccessKeyID == b.AccessKeyID || a.SecretAccessKey == b.SecretAccessKey || a.SessionToken == b.SessionToken {
		t.Errorf("two issues share a key id, secret or token")
	}
}

// TestIssuerTamper changes every character of a token, and every bit of its
// bytes: nothing opens.
func TestIssuerTamper(t *testing.T) {
	iss := testIssuer(t)
	creds, err := iss.Issue(envSession())
	if err != nil {
		t.Fatal(err)
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	token := creds.SessionToken
	for i := range token {
		c := alphabet[(strings.IndexByte(alphabet, token[i])+1)%len(alphabet)]
		tampered := token[:i] + string(c) + token[i+1:]
		if _, _, err := iss.Open(creds.AccessKeyID, tampered, testNow); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("character %d changed: err = %v, want ErrInvalidToken", i, err)
		}
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		t.Fatal(err)
	}
	for i := range len(raw) * 8 {
		flipped := bytes.Clone(raw)
		flipped[i/8] ^= 1 << (i % 8)
		if _, _, err := iss.Open(creds.AccessKeyID, base64.RawURLEncoding.EncodeToString(flipped), testNow); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("bit %d flipped: err = %v, want ErrInvalidToken", i, err)
		}
	}
	for _, cut := range []int{1, len(raw) / 2, len(raw) - 1} {
		if _, _, err := iss.Open(creds.AccessKeyID, base64.RawURLEncoding.EncodeToString(raw[:cut]), testNow); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("truncated to %d bytes: err = %v, want ErrInvalidToken", cut, err)
		}
	}
}

func TestIssuerRejects(t *testing.T) {
	iss := testIssuer(t)
	creds, err := iss.Issue(envSession())
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewIssuerFromKey(bytes.Repeat([]byte{8}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(creds.SessionToken)
	version2 := bytes.Clone(raw)
	version2[0] = 2
	for _, tc := range []struct {
		name          string
		issuer        *Issuer
		keyID, token  string
		now           time.Time
		wantErr       error
		wantNotOpened bool
	}{
		{"another access key id", iss, "ASIAAAAAAAAAAAAAAAAA", creds.SessionToken, testNow, ErrInvalidToken, true},
		{"another issuer's key", other, creds.AccessKeyID, creds.SessionToken, testNow, ErrInvalidToken, true},
		{"empty", iss, creds.AccessKeyID, "", testNow, ErrInvalidToken, true},
		{"not base64", iss, creds.AccessKeyID, "!!!!", testNow, ErrInvalidToken, true},
		{"padded base64", iss, creds.AccessKeyID, base64.URLEncoding.EncodeToString(raw) + "=", testNow, ErrInvalidToken, true},
		{"standard base64", iss, creds.AccessKeyID, base64.StdEncoding.EncodeToString(raw), testNow, ErrInvalidToken, true},
		{"line break inside", iss, creds.AccessKeyID, creds.SessionToken[:10] + "\n" + creds.SessionToken[10:], testNow, ErrInvalidToken, true},
		{"unknown version", iss, creds.AccessKeyID, base64.RawURLEncoding.EncodeToString(version2), testNow, ErrInvalidToken, true},
		{"far too long", iss, creds.AccessKeyID, strings.Repeat("A", 3*MaxTokenSize), testNow, ErrInvalidToken, true},
		{"expired exactly at Expires", iss, creds.AccessKeyID, creds.SessionToken, creds.Expiration, ErrExpiredToken, true},
		{"expired after", iss, creds.AccessKeyID, creds.SessionToken, creds.Expiration.Add(time.Hour), ErrExpiredToken, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, secret, err := tc.issuer.Open(tc.keyID, tc.token, tc.now)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if s.ID != "" || secret != "" {
				t.Errorf("a failed Open returned a session or a secret")
			}
		})
	}
	t.Run("valid just before Expires", func(t *testing.T) {
		if _, _, err := iss.Open(creds.AccessKeyID, creds.SessionToken, creds.Expiration.Add(-time.Nanosecond)); err != nil {
			t.Fatalf("err = %v, want nil", err)
		}
	})
}

func TestIssuerValidatesSession(t *testing.T) {
	iss := testIssuer(t)
	manyTags := make(Tags, MaxTags+1)
	for i := range manyTags {
		manyTags[i] = Tag{fmt.Sprintf("k%d", i), "v"}
	}
	for _, tc := range []struct {
		name   string
		change func(*Session)
	}{
		{"no role ARN", func(s *Session) { s.RoleARN = "" }},
		{"no account", func(s *Session) { s.Account = "" }},
		{"no role id", func(s *Session) { s.RoleID = "" }},
		{"session name too short", func(s *Session) { s.SessionName = "a" }},
		{"session name too long", func(s *Session) { s.SessionName = strings.Repeat("a", 65) }},
		{"session name with a slash", func(s *Session) { s.SessionName = "a/b" }},
		{"51 tags", func(s *Session) { s.Tags, s.Tenant = manyTags, tenant.None }},
		{"empty tag key", func(s *Session) { s.Tags = append(s.Tags, Tag{"", "v"}) }},
		{"tag key of 129 characters", func(s *Session) { s.Tags = append(s.Tags, Tag{strings.Repeat("k", 129), "v"}) }},
		{"tag value of 257 characters", func(s *Session) { s.Tags = append(s.Tags, Tag{"k", strings.Repeat("ü", 257)}) }},
		{"duplicate keys differing in case", func(s *Session) { s.Tags = append(s.Tags, Tag{"functionname", "x"}) }},
		{"tag not UTF-8", func(s *Session) { s.Tags = append(s.Tags, Tag{"k", "\xff"}) }},
		{"tenant without the tag", func(s *Session) { s.Tags = s.Tags[1:] }},
		{"tag without the tenant", func(s *Session) { s.Tenant = tenant.None }},
		{"tenant other than the tag", func(s *Session) { s.Tenant = mustTenant("globex") }},
		{"TenantID not a tenant id", func(s *Session) { s.Tags[0].Value, s.Tenant = "a\u00e9b", tenant.None }},
		{"expires at issue", func(s *Session) { s.Expires = s.Issued }},
		{"expires before issue", func(s *Session) { s.Expires = s.Issued.Add(-time.Hour) }},
		{"issued before 1970", func(s *Session) { s.Issued = time.Unix(-10, 0) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := envSession()
			s.Tags = append(Tags(nil), s.Tags...)
			tc.change(&s)
			if _, err := iss.Issue(s); !errors.Is(err, errdefs.ErrValidation) {
				t.Fatalf("err = %v, want ErrValidation", err)
			}
		})
	}
}

func TestIssuerTooLarge(t *testing.T) {
	s := envSession()
	for i := len(s.Tags); i < MaxTags; i++ {
		s.Tags = append(s.Tags, Tag{fmt.Sprintf("key-%03d-%s", i, strings.Repeat("k", 100)), strings.Repeat("v", 200)})
	}
	if _, err := testIssuer(t).Issue(s); !errors.Is(err, errdefs.ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

func TestIssuerMinimumTokenSize(t *testing.T) {
	iss := testIssuer(t)
	for _, minSize := range []int{0, 100, 1000, 1001, 1002, 1003, 2500, MaxTokenSize - 3, MaxTokenSize - 2, MaxTokenSize - 1, MaxTokenSize} {
		s := envSession()
		creds, _, err := iss.issue(&s, minSize)
		if err != nil {
			t.Fatalf("min %d: %v", minSize, err)
		}
		if n := len(creds.SessionToken); n < minSize || (minSize > 600 && n > minSize+1) {
			t.Errorf("min %d: token of %d bytes", minSize, n)
		}
		if _, _, err := iss.Open(creds.AccessKeyID, creds.SessionToken, testNow); err != nil {
			t.Errorf("min %d: padded token does not open: %v", minSize, err)
		}
	}
}

func TestIssuerKeyFile(t *testing.T) {
	t.Run("created 0600 and reused", func(t *testing.T) {
		dir := t.TempDir()
		first, err := NewIssuer(dir)
		if err != nil {
			t.Fatal(err)
		}
		info, err := os.Stat(filepath.Join(dir, KeyFileName))
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 || info.Size() != KeySize {
			t.Errorf("key file mode %v, size %d; want 0600, %d", info.Mode().Perm(), info.Size(), KeySize)
		}
		creds, err := first.Issue(envSession())
		if err != nil {
			t.Fatal(err)
		}
		second, err := NewIssuer(dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := second.Open(creds.AccessKeyID, creds.SessionToken, testNow); err != nil {
			t.Errorf("an Issuer from the same data dir cannot open the first's token: %v", err)
		}
		leftovers, _ := filepath.Glob(filepath.Join(dir, ".sts-key-*"))
		if len(leftovers) > 0 {
			t.Errorf("temporary files left behind: %v", leftovers)
		}
	})
	t.Run("concurrent first starts agree", func(t *testing.T) {
		dir := t.TempDir()
		keys := make([][]byte, 8)
		var wg sync.WaitGroup
		for i := range keys {
			wg.Go(func() {
				key, err := ensureKey(filepath.Join(dir, KeyFileName))
				if err != nil {
					t.Error(err)
				}
				keys[i] = key
			})
		}
		wg.Wait()
		for _, k := range keys[1:] {
			if !bytes.Equal(k, keys[0]) {
				t.Fatalf("concurrent starts got different keys: %x, %x", keys[0], k)
			}
		}
	})
	for _, tc := range []struct {
		name    string
		mode    os.FileMode
		content []byte
	}{
		{"group readable", 0o640, make([]byte, KeySize)},
		{"world readable", 0o604, make([]byte, KeySize)},
		{"too short", 0o600, make([]byte, KeySize-1)},
		{"too long", 0o600, make([]byte, KeySize+1)},
	} {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, KeyFileName)
			if err := os.WriteFile(path, tc.content, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tc.mode); err != nil {
				t.Fatal(err)
			}
			if _, err := NewIssuer(dir); err == nil {
				t.Fatal("NewIssuer accepted the key file")
			}
		})
	}
	t.Run("wrong key size", func(t *testing.T) {
		if _, err := NewIssuerFromKey(make([]byte, 16)); err == nil {
			t.Fatal("NewIssuerFromKey accepted a 16-byte key")
		}
	})
}

// TestCredentialsRedacted prints and logs credentials every way: neither the
// secret nor the token shows.
func TestCredentialsRedacted(t *testing.T) {
	creds, err := testIssuer(t).Issue(envSession())
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "%v %+v %#v %s %q %x\n", creds, creds, creds, creds, creds, creds)
	fmt.Fprintln(&out, creds, &creds)
	slog.New(slog.NewJSONHandler(&out, nil)).Info("issued", "creds", creds, "ptr", &creds)
	slog.New(slog.NewTextHandler(&out, nil)).Info("issued", "creds", creds)
	for _, secret := range []string{creds.SecretAccessKey, creds.SessionToken, creds.SessionToken[:20]} {
		if strings.Contains(out.String(), secret) {
			t.Fatalf("output shows a secret:\n%s", out.String())
		}
	}
	if !strings.Contains(out.String(), creds.AccessKeyID) {
		t.Errorf("output lacks the access key id, which is not secret:\n%s", out.String())
	}
}

// FuzzIssuerOpen feeds Open arbitrary tokens and key ids, seeded with a real
// token: only that token with its own key id ever opens.
func FuzzIssuerOpen(f *testing.F) {
	// Deterministic randomness: every fuzzing process mints the same token.
	iss := testIssuer(f)
	iss.random = mathrand.NewChaCha8([32]byte{1})
	creds, err := iss.Issue(envSession())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(creds.AccessKeyID, creds.SessionToken)
	f.Add(creds.AccessKeyID, creds.SessionToken[:len(creds.SessionToken)-1])
	f.Add("ASIAAAAAAAAAAAAAAAAA", creds.SessionToken)
	f.Add(creds.AccessKeyID, "AQ")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, keyID, token string) {
		s, secret, err := iss.Open(keyID, token, testNow)
		if err != nil {
			if !errors.Is(err, ErrInvalidToken) && !errors.Is(err, ErrExpiredToken) {
				t.Fatalf("error of no kind: %v", err)
			}
			return
		}
		if keyID != creds.AccessKeyID || token != creds.SessionToken || secret != creds.SecretAccessKey || s.AccessKeyID != keyID {
			t.Fatalf("opened a token Issue did not mint: key %q token %q", keyID, token)
		}
	})
}

// FuzzDecodeSession checks the sealed form's decoder: it never panics, and
// what it accepts encodes back to the same bytes (one encoding per session).
func FuzzDecodeSession(f *testing.F) {
	s := envSession()
	s.SessionPolicy = `{"Version":"2012-10-17"}`
	var id [idSize]byte
	var secret [secretSize]byte
	f.Add(appendSession(nil, &s, &id, &secret, 0))
	f.Add(appendSession(nil, &s, &id, &secret, 5))
	empty := Session{Issued: testNow, Expires: testNow.Add(time.Second)}
	f.Add(appendSession(nil, &empty, &id, &secret, 0))
	f.Add(make([]byte, idSize+secretSize+12))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, gotSecret, err := decodeSession(b)
		if err != nil {
			return
		}
		rawID, err := hex.DecodeString(got.ID)
		if err != nil || len(rawID) != idSize {
			t.Fatalf("decoded id %q", got.ID)
		}
		padding := len(b) - len(appendSession(nil, &got, (*[idSize]byte)(rawID), &gotSecret, 0))
		again := appendSession(nil, &got, (*[idSize]byte)(rawID), &gotSecret, uint16(padding))
		if !bytes.Equal(again, b) {
			t.Fatalf("decode then encode changed the bytes:\n in  %x\n out %x", b, again)
		}
	})
}
