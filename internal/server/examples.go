package server

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/function"
)

// deployExamples makes every executable file in dir a PER_TENANT function of
// the same name (packaged as its bootstrap), creating it or updating its code
// when the file changed, so `make run` starts with runnable examples.
func (s *Server) deployExamples(ctx context.Context, dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("examples: %w", err)
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() || info.Mode().Perm()&0o111 == 0 {
			continue
		}
		name := e.Name()
		if err := function.CheckName(name); err != nil {
			s.log.Warn("example skipped: not a valid function name", "file", name)
			continue
		}
		bin, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("examples: %w", err)
		}
		pkg, err := bootstrapZip(bin)
		if err != nil {
			return fmt.Errorf("examples: package %s: %w", name, err)
		}
		_, err = s.registry.Create(ctx, function.CreateRequest{
			Name: name, PerTenant: true, Zip: pkg,
			Config: function.Config{
				Runtime: function.RuntimeProvidedAL2023, Handler: "bootstrap", Timeout: 10,
				Role:        "arn:aws:iam::" + s.cfg.AccountID + ":role/bulkhead-example",
				Description: "Bulkhead example (deployed by serve --examples)",
			},
		})
		if errors.Is(err, errdefs.ErrAlreadyExists) {
			err = s.updateExample(ctx, name, pkg)
		}
		if err != nil {
			return fmt.Errorf("examples: deploy %s: %w", name, err)
		}
		s.log.Info("example deployed", "function", name)
	}
	return nil
}

// updateExample replaces an example's code when it changed.
func (s *Server) updateExample(ctx context.Context, name string, pkg []byte) error {
	cur, err := s.registry.Resolve(ctx, name, "")
	if err != nil {
		return err
	}
	sum := sha256.Sum256(pkg)
	if cur.Version.Code.SHA256 == hex.EncodeToString(sum[:]) {
		return nil
	}
	_, err = s.registry.UpdateCode(ctx, name, pkg, false, "")
	return err
}

// bootstrapZip packages an executable as a deployment package. The zip is
// written deterministically, so an unchanged binary gives an unchanged
// package (and CodeSha256).
func bootstrapZip(bin []byte) ([]byte, error) {
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
