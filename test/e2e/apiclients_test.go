package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// TestOctokit lists and gets packages with @octokit/rest.
func TestOctokit(t *testing.T) { eachDatabase(t, testOctokit) }

func testOctokit(t *testing.T, db Database) {
	node := requireTool(t, "node")
	modules := filepath.Join(repoRoot(t), "test", "tools", "node_modules")
	if !fileExists(filepath.Join(modules, "@octokit", "rest")) {
		if os.Getenv("CI") != "" {
			t.Fatal("@octokit/rest is not installed; scripts/install-test-deps.sh installs it")
		}
		t.Skip("@octokit/rest is not installed; run scripts/install-test-deps.sh")
	}
	f := newFixture(t, db)
	// Node resolves packages from the script's directory upwards, so run a
	// copy that sits next to the installed modules.
	script := filepath.Join(repoRoot(t), "test", "tools", "octokit-packages.mjs")
	src, err := os.ReadFile(filepath.Join(repoRoot(t), "test", "e2e", "octokit", "packages.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(script, src, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(script) })
	cmd := exec.Command(node, script, f.srv.URL, f.aliceToken, "alice", "container", f.container.Name)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("octokit: %v\n%s", err, stderr.String())
	}
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
func TestGHAPI(t *testing.T) { eachDatabase(t, testGHAPI) }

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
