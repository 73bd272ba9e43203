// Package archtest holds tests of the project's structure.
package archtest

import (
	"os/exec"
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
