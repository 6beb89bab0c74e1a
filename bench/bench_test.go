package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchQuick runs the whole benchmark in --quick mode into a temporary
// directory, as CI's smoke run does, and checks that every scenario ran
// and left its section, its plots and its figures. It judges no speed.
func TestBenchQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: the quick benchmark starts several servers (about a minute)")
	}
	out := filepath.Join(t.TempDir(), "report")
	var stderr bytes.Buffer
	err := run(t.Context(), []string{"--quick", "--out", out, "--work-dir", t.TempDir()}, &stderr)
	var build *buildError
	if errors.As(err, &build) {
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatalf("bench --quick: %v\n%s", err, stderr.String())
	}

	summary := readNonEmpty(t, filepath.Join(out, "summary.md"))
	readNonEmpty(t, filepath.Join(out, "samples.json"))
	var report Report
	if err := json.Unmarshal(readNonEmpty(t, filepath.Join(out, "results.json")), &report); err != nil {
		t.Fatalf("results.json: %v", err)
	}
	if !report.Quick || report.Machine.Commit == "" || report.Machine.Cores == 0 {
		t.Errorf("results.json: quick %v, machine %+v; want a quick run with the machine's facts", report.Quick, report.Machine)
	}
	byID := map[string]*section{}
	for _, s := range report.Sections {
		byID[s.ID] = s
	}
	for _, id := range scenarios {
		s := byID[id]
		if s == nil {
			t.Errorf("results.json has no %s scenario", id)
			continue
		}
		if s.Error != "" {
			t.Errorf("%s failed: %s", id, s.Error)
		}
		if !strings.Contains(string(summary), ". "+s.Title+"\n") {
			t.Errorf("summary.md has no section %q", s.Title)
		}
		if len(s.Sets) == 0 && len(s.Figures) == 0 {
			t.Errorf("%s has neither sample sets nor figures", id)
		}
		for _, set := range s.Sets {
			if set.N == 0 {
				t.Errorf("%s: set %q has no samples (errors %v: %s)", id, set.Name, set.Kinds, set.FirstError)
			}
		}
		if len(s.Plots) == 0 {
			t.Errorf("%s has no plot", id)
		}
		for _, png := range s.Plots {
			if raw := readNonEmpty(t, filepath.Join(out, png)); !bytes.HasPrefix(raw, []byte("\x89PNG")) {
				t.Errorf("%s is not a PNG", png)
			}
			if !strings.Contains(string(summary), "("+png+")") {
				t.Errorf("summary.md does not show %s", png)
			}
		}
	}
	if len(report.Targets) != 7 {
		t.Errorf("%d targets in the report, want issue 7's 7", len(report.Targets))
	}
	for _, tg := range report.Targets {
		if tg.Status == "not measured" {
			t.Errorf("target %q not measured", tg.Target)
		}
	}
}

func readNonEmpty(t *testing.T, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) == 0 {
		t.Fatalf("%s is empty", path)
	}
	return raw
}
