package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Report is everything a run found; results.json is this, and summary.md
// renders it.
type Report struct {
	Machine  Machine    `json:"machine"`
	Quick    bool       `json:"quick"`
	Args     []string   `json:"args"`
	Started  time.Time  `json:"started"`
	Duration string     `json:"duration"`
	Sections []*section `json:"scenarios"`
	Targets  []target   `json:"targets"`
}

// section is one scenario's outcome.
type section struct {
	ID         string    `json:"id"`
	Title      string    `json:"title"`
	Conditions []string  `json:"conditions"`
	Sets       []Summary `json:"sets,omitempty"`
	Figures    []figure  `json:"figures,omitempty"`
	Tables     []table   `json:"tables,omitempty"`
	// Data are the scenario's own points (throughput per level, memory
	// per live-environment count), as plotted.
	Data  any      `json:"data,omitempty"`
	Notes []string `json:"notes,omitempty"`
	Plots []string `json:"plots,omitempty"`
	Error string   `json:"error,omitempty"`
}

// table is a scenario's own table, rendered as it is.
type table struct {
	Title  string     `json:"title"`
	Header []string   `json:"header"`
	Rows   [][]string `json:"rows"`
}

// figure is one named value of a scenario.
type figure struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
}

func (s *section) figure(name string, value float64, unit string) {
	s.Figures = append(s.Figures, figure{Name: name, Value: value, Unit: unit})
}

func (s *section) note(format string, args ...any) {
	s.Notes = append(s.Notes, fmt.Sprintf(format, args...))
}

// target is one of issue 7's targets against what this run measured.
type target struct {
	Target   string `json:"target"`
	Measured string `json:"measured"`
	Status   string `json:"status"` // met, not met, not measured
	Gap      string `json:"gap"`    // how far, and what limits it
}

// writeReport writes results.json, samples.json and summary.md into dir.
func writeReport(dir string, r *Report) error {
	raw, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), append(raw, '\n'), 0o644); err != nil {
		return err
	}
	// Every latency measured, in microseconds, per set: for other plots or
	// statistics than these.
	all := map[string][]int64{}
	for _, s := range r.Sections {
		for _, set := range s.Sets {
			us := make([]int64, len(set.sorted))
			for i, d := range set.sorted {
				us[i] = d.Microseconds()
			}
			all[s.ID+": "+set.Name] = us
		}
	}
	raw, err = json.Marshal(map[string]any{"unit": "microseconds, sorted", "sets": all})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "samples.json"), append(raw, '\n'), 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "summary.md"))
	if err != nil {
		return err
	}
	writeMarkdown(f, r)
	return f.Close()
}

// writeMarkdown renders the report for people.
func writeMarkdown(w io.Writer, r *Report) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("# Bulkhead benchmark report\n\n")
	if r.Quick {
		p("> **Quick run** (`--quick`): tiny counts that check every scenario runs and reports. " +
			"Its figures are not measurements; do not quote them.\n\n")
	}
	p("Started %s, took %s: `go run ./bench %s`. Raw figures in `results.json`, every latency in `samples.json`.\n\n",
		r.Started.UTC().Format("2006-01-02 15:04 UTC"), r.Duration, strings.Join(r.Args, " "))

	m := r.Machine
	p("## Machine\n\n| | |\n|---|---|\n")
	cpu := fmt.Sprintf("%s, %d cores", m.CPU, m.Cores)
	if m.Virtualize != "" {
		cpu += " (" + m.Virtualize + ")"
	}
	commit := m.Commit
	if m.Dirty {
		commit += " with uncommitted changes"
	}
	root := "not root"
	if m.Root {
		root = "root"
	}
	for _, row := range [][2]string{
		{"CPU", cpu},
		{"memory", fmt.Sprintf("%.1f GiB", float64(m.MemoryMiB)/1024)},
		{"kernel", m.Kernel},
		{"OS", m.OS},
		{"Go", m.Go},
		{"isolation", fmt.Sprintf("%s (%s)", m.Isolation, root)},
		{"commit", commit},
		{"cgroups", m.Cgroups},
		{"kernel.pid_max", fmt.Sprint(m.PidMax)},
		{"open files (bench and servers)", m.OpenFiles},
		{"data directory file system", m.DataFS},
	} {
		p("| %s | %s |\n", row[0], row[1])
	}
	p("\n")

	p("## Targets (issue 7)\n\n| target | measured | status | how far, and what limits it |\n|---|---|---|---|\n")
	for _, t := range r.Targets {
		p("| %s | %s | %s | %s |\n", t.Target, t.Measured, t.Status, t.Gap)
	}
	p("\n")

	for i, s := range r.Sections {
		p("## %d. %s\n\n", i+1, s.Title)
		if s.Error != "" {
			p("**Failed:** `%s`\n\n", oneLine(s.Error))
		}
		for _, c := range s.Conditions {
			p("- %s\n", c)
		}
		if len(s.Conditions) > 0 {
			p("\n")
		}
		if len(s.Sets) > 0 {
			p("| set | n | errors | p50 | p90 | p99 | p99.9 | max | req/s | generator late p99 |\n")
			p("|---|---|---|---|---|---|---|---|---|---|\n")
			for _, set := range s.Sets {
				late := "—"
				if set.OfferedRate > 0 {
					late = fmtMS(set.LateP99)
				}
				p("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |\n", set.Name, set.N, errorCell(set),
					fmtMS(set.P50), fmtMS(set.P90), fmtMS(set.P99), fmtMS(set.P999), fmtMS(set.Max), fmtRate(set.Rate), late)
			}
			p("\n")
		}
		if len(s.Figures) > 0 {
			p("| figure | value |\n|---|---|\n")
			for _, f := range s.Figures {
				p("| %s | %s %s |\n", f.Name, fmtValue(f.Value), f.Unit)
			}
			p("\n")
		}
		for _, t := range s.Tables {
			p("%s\n\n| %s |\n|%s\n", t.Title, strings.Join(t.Header, " | "), strings.Repeat("---|", len(t.Header)))
			for _, row := range t.Rows {
				p("| %s |\n", strings.Join(row, " | "))
			}
			p("\n")
		}
		for _, n := range s.Notes {
			p("%s\n\n", n)
		}
		for _, img := range s.Plots {
			p("![%s](%s)\n\n", strings.TrimSuffix(img, ".png"), img)
		}
	}
}

func errorCell(s Summary) string {
	if s.Errors == 0 {
		return "0"
	}
	var kinds []string
	for k, n := range s.Kinds {
		kinds = append(kinds, fmt.Sprintf("%d %s", n, k))
	}
	return fmt.Sprintf("**%d** (%s)", s.Errors, strings.Join(kinds, ", "))
}

func fmtMS(v float64) string {
	switch {
	case v == 0:
		return "—"
	case v < 10:
		return fmt.Sprintf("%.2f ms", v)
	case v < 100:
		return fmt.Sprintf("%.1f ms", v)
	default:
		return fmt.Sprintf("%.0f ms", v)
	}
}

func fmtRate(v float64) string {
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

func fmtValue(v float64) string {
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d", int64(v))
	}
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return s
}
