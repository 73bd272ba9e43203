package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// npmUser is a home directory with an .npmrc for the real npm CLI.
type npmUser struct {
	t        *testing.T
	bin      string
	home     string
	registry string
}

func newNpmUser(t *testing.T, bin, registry, token string, scopes ...string) *npmUser {
	t.Helper()
	home := t.TempDir()
	var rc strings.Builder
	if token != "" {
		fmt.Fprintf(&rc, "%s:_authToken=%s\n", strings.TrimPrefix(registry, "http:"), token)
	}
	for _, s := range scopes {
		fmt.Fprintf(&rc, "@%s:registry=%s\n", s, registry)
	}
	if err := os.WriteFile(filepath.Join(home, ".npmrc"), []byte(rc.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return &npmUser{t: t, bin: bin, home: home, registry: registry}
}

// env is npm's environment: the user's home and .npmrc, the registry, and
// nothing that reaches out elsewhere.
func (u *npmUser) env() []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + u.home,
		"npm_config_userconfig=" + filepath.Join(u.home, ".npmrc"),
		"npm_config_globalconfig=" + filepath.Join(u.home, "global-npmrc"),
		"npm_config_registry=" + u.registry,
		"npm_config_audit=false",
		"npm_config_update_notifier=false",
		"npm_config_fund=false",
		"npm_config_fetch_retries=0",
	}
}

// run runs npm in dir with a cold cache.
func (u *npmUser) run(dir string, args ...string) (string, bool) {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, u.bin, append(args, "--cache", u.t.TempDir())...)
	cmd.Dir = dir
	cmd.Env = u.env()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err == nil
}

func (u *npmUser) must(dir string, args ...string) string {
	u.t.Helper()
	out, ok := u.run(dir, args...)
	if !ok {
		u.t.Fatalf("npm %s failed:\n%s", strings.Join(args, " "), out)
	}
	return out
}

func (u *npmUser) mustFail(dir string, args ...string) string {
	u.t.Helper()
	out, ok := u.run(dir, args...)
	if ok {
		u.t.Fatalf("npm %s succeeded:\n%s", strings.Join(args, " "), out)
	}
	return out
}

func npmProject(t *testing.T, dir string, manifest map[string]any) {
	t.Helper()
	b, _ := json.MarshalIndent(manifest, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "package.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.js"), []byte("module.exports = 42\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func npmConsumer(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name":"consumer","version":"1.0.0","private":true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func npmInstalled(project, name string) string {
	b, err := os.ReadFile(filepath.Join(project, "node_modules", filepath.FromSlash(name), "package.json"))
	if err != nil {
		return ""
	}
	var m struct {
		Version string `json:"version"`
	}
	json.Unmarshal(b, &m)
	return m.Version
}

// restCall calls the GitHub REST API of the server.
func restCall(t *testing.T, s *Server, method, path, token string) []byte {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/vnd.github+json")
	res, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	return b
}

// TestNpm drives the real npm CLI against packhub serve: publish, install,
// dist-tags, deprecate, unpublish, view, search, whoami, anonymous installs,
// and a delete and restore through the REST API.
func TestNpm(t *testing.T) {
	t.Parallel()
	eachDatabase(t, testNpm)
}

func testNpm(t *testing.T, db Database) {
	requireTool(t, "npm")
	npmFlows(t, StartServer(t, db))
}

// npmFlows publishes, installs, tags, deprecates, searches, unpublishes
// and restores with the npm CLI through s.URL, on a fresh installation.
func npmFlows(t *testing.T, s *Server) {
	bin := requireTool(t, "npm")
	s.Admin("user", "create", "octo")
	s.Admin("repo", "create", "octo/open", "--visibility", "public")
	tok := s.Token("octo", "read:packages,write:packages,delete:packages")
	registry := s.URL + "/npm/"
	octo := newNpmUser(t, bin, registry, tok, "octo")

	src := t.TempDir()
	for _, v := range []string{"1.0.0", "1.1.0"} {
		npmProject(t, src, map[string]any{"name": "@octo/hello", "version": v, "main": "index.js", "description": "says hello"})
		octo.must(src, "publish")
	}
	npmProject(t, src, map[string]any{"name": "@octo/hello", "version": "2.0.0-rc.1", "main": "index.js"})
	octo.must(src, "publish", "--tag", "next")
	if out := octo.mustFail(src, "publish", "--tag", "next"); !strings.Contains(out, "409") {
		t.Fatalf("republish: %s", out)
	}
	app := t.TempDir()
	npmProject(t, app, map[string]any{"name": "@octo/app", "version": "0.1.0", "main": "index.js", "dependencies": map[string]string{"@octo/hello": "^1.0.0"}})
	octo.must(app, "publish")
	open := t.TempDir()
	npmProject(t, open, map[string]any{"name": "@octo/open", "version": "1.0.0", "main": "index.js",
		"repository": map[string]string{"type": "git", "url": "git+" + s.URL + "/octo/open.git"}})
	octo.must(open, "publish")

	var view struct {
		Versions []string          `json:"versions"`
		DistTags map[string]string `json:"dist-tags"`
	}
	if err := json.Unmarshal([]byte(octo.must(src, "view", "@octo/hello", "--json")), &view); err != nil {
		t.Fatal(err)
	}
	if strings.Join(view.Versions, ",") != "1.0.0,1.1.0,2.0.0-rc.1" || view.DistTags["latest"] != "1.1.0" || view.DistTags["next"] != "2.0.0-rc.1" {
		t.Fatalf("view: %+v", view)
	}

	proj := npmConsumer(t)
	octo.must(proj, "install", "@octo/app")
	if npmInstalled(proj, "@octo/app") != "0.1.0" || npmInstalled(proj, "@octo/hello") != "1.1.0" {
		t.Fatalf("installed app %q hello %q", npmInstalled(proj, "@octo/app"), npmInstalled(proj, "@octo/hello"))
	}

	octo.must(src, "dist-tag", "add", "@octo/hello@1.0.0", "stable")
	if out := octo.must(src, "dist-tag", "ls", "@octo/hello"); !strings.Contains(out, "stable: 1.0.0") {
		t.Fatalf("dist-tag ls: %s", out)
	}
	octo.must(src, "dist-tag", "rm", "@octo/hello", "stable")
	if out := octo.must(src, "dist-tag", "ls", "@octo/hello"); strings.Contains(out, "stable") {
		t.Fatalf("dist-tag ls after rm: %s", out)
	}

	octo.must(src, "deprecate", "@octo/hello@1.0.0", "too old")
	if out := strings.TrimSpace(octo.must(src, "view", "@octo/hello@1.0.0", "deprecated")); out != "too old" {
		t.Fatalf("deprecated: %q", out)
	}
	octo.must(src, "deprecate", "@octo/hello@1.0.0", "")
	if out := strings.TrimSpace(octo.must(src, "view", "@octo/hello@1.0.0", "deprecated")); out != "" {
		t.Fatalf("un-deprecated: %q", out)
	}

	if out := octo.must(src, "search", "hello", "--json"); !strings.Contains(out, `"@octo/hello"`) {
		t.Fatalf("search: %s", out)
	}
	if out := strings.TrimSpace(octo.must(src, "whoami")); out != "octo" {
		t.Fatalf("whoami: %q", out)
	}

	octo.must(src, "unpublish", "@octo/hello@2.0.0-rc.1")
	if out := octo.must(src, "view", "@octo/hello", "versions", "--json"); strings.Contains(out, "2.0.0-rc.1") {
		t.Fatalf("versions after unpublish: %s", out)
	}

	// Delete 1.0.0 through the REST API: npm cannot install it; restore it:
	// npm can.
	var versions []struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	json.Unmarshal(restCall(t, s, "GET", "/user/packages/npm/hello/versions", tok), &versions)
	var id int64
	for _, v := range versions {
		if v.Name == "1.0.0" {
			id = v.ID
		}
	}
	if id == 0 {
		t.Fatalf("REST versions: %+v", versions)
	}
	restCall(t, s, "DELETE", fmt.Sprintf("/user/packages/npm/hello/versions/%d", id), tok)
	proj = npmConsumer(t)
	if out := octo.mustFail(proj, "install", "@octo/hello@1.0.0"); !strings.Contains(out, "ETARGET") {
		t.Fatalf("install of a deleted version: %s", out)
	}
	restCall(t, s, "POST", fmt.Sprintf("/user/packages/npm/hello/versions/%d/restore", id), tok)
	octo.must(proj, "install", "@octo/hello@1.0.0")
	if v := npmInstalled(proj, "@octo/hello"); v != "1.0.0" {
		t.Fatalf("restored version installed %q", v)
	}

	anon := newNpmUser(t, bin, registry, "", "octo")
	proj = npmConsumer(t)
	anon.must(proj, "install", "@octo/open")
	if v := npmInstalled(proj, "@octo/open"); v != "1.0.0" {
		t.Fatalf("anonymous install: %q", v)
	}
	// A private package is, to an anonymous install, a missing one.
	if out := anon.mustFail(proj, "install", "@octo/hello"); !strings.Contains(out, "E404") {
		t.Fatalf("anonymous install of a private package: %s", out)
	}
	if out := anon.mustFail(proj, "install", "@octo/nothing"); !strings.Contains(out, "E404") {
		t.Fatalf("anonymous install of a missing package: %s", out)
	}

	octo.must(src, "unpublish", "@octo/hello", "--force")
	if out := octo.mustFail(src, "view", "@octo/hello"); !strings.Contains(out, "E404") {
		t.Fatalf("view after unpublish: %s", out)
	}
	restCall(t, s, "POST", "/user/packages/npm/hello/restore", tok)
	octo.must(src, "view", "@octo/hello")
}
