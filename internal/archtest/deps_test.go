// Package archtest holds tests of the project's structure.
package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/packhub/packhub"

// forbidden are the storage implementations no protocol front may reach:
// fronts go through the packages service and its interfaces.
var forbidden = []string{
	module + "/internal/store",
	module + "/internal/blob/fileblob",
	module + "/internal/blob/blobstore",
	"github.com/jackc/pgx/v5",
	"modernc.org/sqlite",
	"database/sql",
}

// TestFrontsDoNotImportStorage fails when a protocol front depends, even
// indirectly, on the SQL store, the blob store implementations or a
// database driver.
func TestFrontsDoNotImportStorage(t *testing.T) {
	fronts := []string{
		module + "/internal/restapi",
		module + "/internal/registry/...",
		module + "/internal/web",
	}
	out, err := exec.Command("go", append([]string{"list", "-f", `{{.ImportPath}} {{join .Deps " "}}`}, fronts...)...).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 3 {
		t.Fatalf("go list found too few fronts: %q", out)
	}
	for _, line := range lines {
		fields := strings.Fields(line)
		pkg, deps := fields[0], fields[1:]
		for _, d := range deps {
			for _, f := range forbidden {
				if d == f || strings.HasPrefix(d, f+"/") {
					t.Errorf("%s depends on %s; fronts must go through internal/packages", pkg, d)
				}
			}
		}
	}
}

// TestPackagesDomainHasNoStorageDrivers keeps the domain free of any
// storage implementation.
func TestPackagesDomainHasNoStorageDrivers(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{join .Deps " "}}`, module+"/internal/packages").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, d := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if d == f || strings.HasPrefix(d, f+"/") {
				t.Errorf("internal/packages depends on %s", d)
			}
		}
	}
}

// unchecked are the service's methods that take raw ids and check nothing,
// for the service's own jobs and tests; fronts never call them.
var unchecked = map[string]bool{"Blobs": true, "Files": true, "RegisterBlob": true, "RecordDownload": true}

// TestFrontsDoNotReachBlobStore fails when a protocol front names the blob
// store interface or asks the service for it: fronts read and write bytes
// only through the service's authorised methods (OpenFile, Upload,
// OpenRegistryBlob, PutBlob, …), which also count downloads.
func TestFrontsDoNotReachBlobStore(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.Dir}}`, module+"/internal/restapi", module+"/internal/registry/...", module+"/internal/web").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dirs := strings.Fields(string(out))
	if len(dirs) < 3 {
		t.Fatalf("go list found too few fronts: %q", out)
	}
	fset := token.NewFileSet()
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == "packages" && sel.Sel.Name == "BlobStore" {
					t.Errorf("%s: a front names packages.BlobStore; go through the service", fset.Position(sel.Pos()))
				}
				if unchecked[sel.Sel.Name] {
					t.Errorf("%s: a front calls %s, which checks no permission; use the service's authorised methods", fset.Position(sel.Pos()), sel.Sel.Name)
				}
				return true
			})
		}
	}
}
