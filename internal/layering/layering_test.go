package layering

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/bulkhead-dev/bulkhead"

type pkg struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Imports    []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 5 {
		t.Fatalf("go list found only %d packages; the rules would check nothing", len(pkgs))
	}
	return pkgs
}

// rules: packages (by prefix) that must not import a path (by prefix), and why.
var rules = []struct {
	pkg, forbidden, why string
}{
	{"internal/function", "net/http", "domain packages do not speak HTTP"},
	{"internal/errdefs", "net/http", "domain packages do not speak HTTP"},
	{"internal/artifact", "net/http", "domain packages do not speak HTTP"},
	{"internal/store", "net/http", "domain packages do not speak HTTP"},
	{"internal/invoke", "net/http", "the invocation service is wire-free"},
	{"internal/pool", "net/http", "the pool is wire-free"},
	{"internal/sandbox", module + "/internal/function", "the sandbox knows neither functions nor tenants"},
	{"internal/sandbox", module + "/internal/tenant", "the sandbox knows neither functions nor tenants"},
	{"internal/sandbox", module + "/internal/lambdaapi", "the sandbox knows nothing of Lambda"},
	{"internal/function", module + "/internal/lambdaapi", "domain code does not depend on a wire"},
	{"internal/", "github.com/aws/aws-sdk-go-v2", "the AWS SDK is a test client only"},
	{"cmd/", "github.com/aws/aws-sdk-go-v2", "the AWS SDK is a test client only"},
	{"internal/data/", "net/http", "the data model and its stores are wire-free; internal/dataapi speaks HTTP"},
	{"internal/iam", "net/http", "policy evaluation is wire-free"},
	{"internal/", "gonum.org/", "plotting is the benchmark program's (bench/), not the product's"},
	{"cmd/", "gonum.org/", "plotting is the benchmark program's (bench/), not the product's"},
}

func TestLayeringImports(t *testing.T) {
	for _, p := range listPackages(t) {
		rel := strings.TrimPrefix(p.ImportPath, module+"/")
		for _, r := range rules {
			if !strings.HasPrefix(rel, r.pkg) {
				continue
			}
			for _, imp := range p.Imports {
				if strings.HasPrefix(imp, r.forbidden) {
					t.Errorf("%s imports %s: %s", rel, imp, r.why)
				}
			}
		}
	}
}

// TestLayeringNoPrintOutsideCmd enforces STYLE rule 10: the platform logs with
// slog; only commands write to stdout, and they take their writers explicitly.
func TestLayeringNoPrintOutsideCmd(t *testing.T) {
	fset := token.NewFileSet()
	for _, p := range listPackages(t) {
		for _, name := range p.GoFiles {
			f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if id, ok := sel.X.(*ast.Ident); ok && id.Name == "fmt" && (sel.Sel.Name == "Print" || sel.Sel.Name == "Println" || sel.Sel.Name == "Printf") {
					t.Errorf("%s: fmt.%s writes to the process's stdout; take an io.Writer or log with slog", fset.Position(sel.Pos()), sel.Sel.Name)
				}
				if id, ok := sel.X.(*ast.Ident); ok && id.Name == "log" && strings.HasPrefix(sel.Sel.Name, "Print") {
					t.Errorf("%s: log.%s bypasses the injected slog logger", fset.Position(sel.Pos()), sel.Sel.Name)
				}
				return true
			})
		}
	}
}
