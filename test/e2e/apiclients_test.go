package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/packhub/packhub/internal/packages"

	"github.com/packhub/packhub/internal/testenv"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// octokit runs one of the scripts in test/e2e/octokit with node and
// returns its standard output.
func octokit(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	node := requireTool(t, "node")
	modules := filepath.Join(repoRoot(t), "test", "tools", "node_modules")
	if !fileExists(filepath.Join(modules, "@octokit", "rest")) {
		testenv.Missing(t, "@octokit/rest is not installed; scripts/install-test-deps.sh installs it")
	}
	// Node resolves packages from the script's directory upwards, so run a
	// copy that sits next to the installed modules.
	script := filepath.Join(repoRoot(t), "test", "tools", "octokit-"+name)
	src, err := os.ReadFile(filepath.Join(repoRoot(t), "test", "e2e", "octokit", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(script, src, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(script) })
	cmd := exec.Command(node, append([]string{script}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("octokit %s: %v\n%s", name, err, stderr.String())
	}
	return out
}

// TestOctokit lists and gets packages with @octokit/rest.
func TestOctokit(t *testing.T) {
	t.Parallel()
	eachDatabase(t, testOctokit)
}

func testOctokit(t *testing.T, db Database) {
	f := newFixture(t, db)
	out := octokit(t, "packages.mjs", f.srv.URL, f.aliceToken, "alice", "container", f.container.Name)
	var got struct {
		Mine, Theirs []string
		Package      struct {
			Name         string
			VersionCount int `json:"version_count"`
			Owner        string
		}
		Versions []string
		Version  struct {
			ID   int64
			Tags []string
		}
		APIVersion string
		Missing    struct {
			Status  int
			Message string
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("octokit output %s: %v", out, err)
	}
	want := []string{f.container.Name}
	if !slices.Equal(got.Mine, want) || !slices.Equal(got.Theirs, want) {
		t.Errorf("lists: mine %v theirs %v, want %v", got.Mine, got.Theirs, want)
	}
	if got.Package.Name != f.container.Name || got.Package.VersionCount != 3 || got.Package.Owner != "alice" {
		t.Errorf("package = %+v", got.Package)
	}
	if len(got.Versions) != 3 || !slices.Contains(got.Versions, f.digests[0]) {
		t.Errorf("paginated versions = %v", got.Versions)
	}
	if len(got.Version.Tags) != 1 {
		t.Errorf("version tags = %v", got.Version.Tags)
	}
	if got.APIVersion != "2022-11-28" {
		t.Errorf("api version selected = %q", got.APIVersion)
	}
	if got.Missing.Status != 404 || got.Missing.Message != "Package not found." {
		t.Errorf("missing package = %+v", got.Missing)
	}
}

// TestGHAPI lists and gets packages with `gh api`, which speaks only HTTPS
// to an enterprise host.
func TestGHAPI(t *testing.T) {
	t.Parallel()
	eachDatabase(t, testGHAPI)
}

func testGHAPI(t *testing.T, db Database) {
	gh := requireTool(t, "gh")
	f := newFixture(t, db, WithTLS())
	run := func(path string) (string, error) {
		cmd := exec.Command(gh, "api", path)
		cmd.Env = append(os.Environ(),
			"SSL_CERT_FILE="+f.srv.CertPEM,
			"GH_HOST="+f.srv.Addr,
			"GH_ENTERPRISE_TOKEN="+f.aliceToken,
			"GH_CONFIG_DIR="+t.TempDir(),
			"GH_NO_UPDATE_NOTIFIER=1",
			"GH_PROMPT_DISABLED=1",
		)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return string(out), fmt.Errorf("%v: %s", err, stderr.String())
		}
		return string(out), nil
	}
	out, err := run("/users/alice/packages?package_type=container")
	if err != nil {
		t.Fatalf("gh api list: %v", err)
	}
	var pkgs []struct{ Name string }
	if err := json.Unmarshal([]byte(out), &pkgs); err != nil || len(pkgs) != 1 || pkgs[0].Name != f.container.Name {
		t.Fatalf("gh api list = %s (%v)", out, err)
	}
	out, err = run("/user/packages/container/" + strings.ReplaceAll(f.container.Name, "/", "%2F") + "/versions")
	if err != nil {
		t.Fatalf("gh api versions: %v", err)
	}
	var vs []struct{ Name string }
	if err := json.Unmarshal([]byte(out), &vs); err != nil || len(vs) != 3 {
		t.Fatalf("gh api versions = %s (%v)", out, err)
	}
	out, err = run("/orgs/acme/packages/npm/tool")
	if err != nil {
		t.Fatalf("gh api get: %v", err)
	}
	var p struct {
		Name         string
		VersionCount int `json:"version_count"`
	}
	if err := json.Unmarshal([]byte(out), &p); err != nil || p.Name != "tool" || p.VersionCount != 2 {
		t.Fatalf("gh api get = %s (%v)", out, err)
	}
	if _, err := run("/orgs/acme/packages/npm/nope"); err == nil || !strings.Contains(err.Error(), "Package not found.") {
		t.Fatalf("gh api missing package: %v", err)
	}
}

// TestOctokitOrgThroughUsersPath lists and deletes versions of an
// organization's package through /users/{username}/..., as the
// package-cleanup action for GitHub Packages does with the organization as
// the owner. The organization's rules stay: a package admin who is not an
// organization admin may not delete.
func TestOctokitOrgThroughUsersPath(t *testing.T) {
	t.Parallel()
	eachDatabase(t, testOctokitOrgThroughUsersPath)
}

func testOctokitOrgThroughUsersPath(t *testing.T, db Database) {
	f := newFixture(t, db)
	f.srv.Admin("user", "create", "dave")
	dave := f.srv.Token("dave", "read:packages,write:packages,delete:packages")
	svc := f.srv.Service()
	ctx := context.Background()
	alice, err := svc.Authenticate(ctx, f.aliceToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.GrantPackageAccess(ctx, alice, f.npm, "dave", packages.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	out := octokit(t, "cleanup.mjs", f.srv.URL, f.aliceToken, dave, f.npm.Owner, string(f.npm.Type), f.npm.Name)
	type version struct {
		ID   int64
		Name string
	}
	type result struct {
		Status  int
		Message string
	}
	var got struct {
		Before, After    []version
		ByOther, ByAdmin result
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("octokit output %s: %v", out, err)
	}
	if len(got.Before) != 2 || got.Before[1].Name != "1.0.0" {
		t.Fatalf("versions before = %+v", got.Before)
	}
	if got.ByOther.Status != 403 || !strings.Contains(got.ByOther.Message, "admin of the organization") {
		t.Errorf("delete by a package admin who is no organization admin = %+v, want 403", got.ByOther)
	}
	if got.ByAdmin.Status != 204 {
		t.Errorf("delete by the organization admin = %+v, want 204", got.ByAdmin)
	}
	if len(got.After) != 1 || got.After[0].Name != "1.1.0" {
		t.Errorf("versions after = %+v", got.After)
	}
}
