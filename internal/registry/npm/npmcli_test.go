package npm

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

// npmHome is an npm user: a home directory with its .npmrc.
type npmHome struct {
	t        *testing.T
	dir      string
	registry string
}

func newNpmHome(t *testing.T, registry, token string, scopes ...string) *npmHome {
	t.Helper()
	dir := t.TempDir()
	var rc strings.Builder
	hostPath := strings.TrimPrefix(registry, "http:")
	if token != "" {
		rc.WriteString(hostPath + ":_authToken=" + token + "\n")
	}
	for _, s := range scopes {
		rc.WriteString("@" + s + ":registry=" + registry + "\n")
	}
	if err := os.WriteFile(filepath.Join(dir, ".npmrc"), []byte(rc.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return &npmHome{t: t, dir: dir, registry: registry}
}

// npm runs the npm CLI in dir with a cold cache; it returns stdout, stderr
// and whether it succeeded.
func (h *npmHome) npm(dir string, args ...string) (string, string, bool) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args = append(args, "--cache", h.t.TempDir())
	cmd := exec.CommandContext(ctx, "npm", args...)
	cmd.Dir = dir
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + h.dir,
		"npm_config_userconfig=" + filepath.Join(h.dir, ".npmrc"),
		"npm_config_globalconfig=" + filepath.Join(h.dir, "global-npmrc"),
		"npm_config_registry=" + h.registry,
		"npm_config_audit=false",
		"npm_config_update_notifier=false",
		"npm_config_fund=false",
		"npm_config_progress=false",
		"npm_config_fetch_retries=0",
		"NO_UPDATE_NOTIFIER=1",
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err == nil
}

// must runs npm and fails the test if it fails.
func (h *npmHome) must(dir string, args ...string) string {
	h.t.Helper()
	out, errOut, ok := h.npm(dir, args...)
	if !ok {
		h.t.Fatalf("npm %s failed:\n%s\n%s", strings.Join(args, " "), out, errOut)
	}
	return out
}

// mustFail runs npm, expects it to fail and returns its output.
func (h *npmHome) mustFail(dir string, args ...string) string {
	h.t.Helper()
	out, errOut, ok := h.npm(dir, args...)
	if ok {
		h.t.Fatalf("npm %s succeeded:\n%s", strings.Join(args, " "), out)
	}
	return out + errOut
}

func writeProject(t *testing.T, dir string, manifest map[string]any) {
	t.Helper()
	b, _ := json.MarshalIndent(manifest, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "package.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	index := "module.exports = " + `"` + manifest["name"].(string) + "@" + manifest["version"].(string) + `"` + "\n"
	if err := os.WriteFile(filepath.Join(dir, "index.js"), []byte(index), 0o644); err != nil {
		t.Fatal(err)
	}
}

// installed returns the version of a package installed in project.
func installed(t *testing.T, project, name string) string {
	t.Helper()
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

func consumer(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name":"consumer","version":"1.0.0","private":true}`), 0o644)
	return dir
}

// TestNpmCLI drives the real npm client against the registry.
func TestNpmCLI(t *testing.T) {
	if _, err := exec.LookPath("npm"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("npm is not on PATH")
		}
		t.Skip("npm is not on PATH")
	}
	env := testenv.New(t, "sqlite")
	env.User("octo")
	env.Repo("octo/open", packages.Public)
	tok := env.Token("octo", allScopes)
	f := newFixture(t, env, Options{})
	registry := f.srv.URL + "/npm/"
	octo := newNpmHome(t, registry, tok, "octo")
	ctx := context.Background()
	ref := packages.PackageRef{Owner: "octo", Type: packages.TypeNpm, Name: "hello"}

	// Publish several versions.
	src := t.TempDir()
	for _, v := range []string{"1.0.0", "1.1.0"} {
		writeProject(t, src, map[string]any{"name": "@octo/hello", "version": v, "main": "index.js", "description": "says hello"})
		octo.must(src, "publish")
	}
	writeProject(t, src, map[string]any{"name": "@octo/hello", "version": "2.0.0-beta.1", "main": "index.js"})
	octo.must(src, "publish", "--tag", "beta")
	out := octo.mustFail(src, "publish", "--tag", "beta")
	if !strings.Contains(out, "409") {
		t.Fatalf("republish: %s", out)
	}
	app := t.TempDir()
	writeProject(t, app, map[string]any{"name": "@octo/app", "version": "0.1.0", "main": "index.js", "dependencies": map[string]string{"@octo/hello": "^1.0.0"}})
	octo.must(app, "publish")
	open := t.TempDir()
	writeProject(t, open, map[string]any{"name": "@octo/open", "version": "1.0.0", "main": "index.js",
		"repository": map[string]string{"type": "git", "url": "git+" + f.srv.URL + "/octo/open.git"}})
	octo.must(open, "publish")

	// View.
	var view struct {
		Versions []string          `json:"versions"`
		DistTags map[string]string `json:"dist-tags"`
		Desc     string            `json:"description"`
	}
	if err := json.Unmarshal([]byte(octo.must(src, "view", "@octo/hello", "--json")), &view); err != nil {
		t.Fatal(err)
	}
	if strings.Join(view.Versions, ",") != "1.0.0,1.1.0,2.0.0-beta.1" || view.DistTags["latest"] != "1.1.0" || view.DistTags["beta"] != "2.0.0-beta.1" || view.Desc != "says hello" {
		t.Fatalf("view: %+v", view)
	}

	// Install into a fresh project, with a dependency resolved through the
	// registry.
	proj := consumer(t)
	octo.must(proj, "install", "@octo/app", "@octo/hello@1.0.0")
	if installed(t, proj, "@octo/app") != "0.1.0" || installed(t, proj, "@octo/hello") != "1.0.0" {
		t.Fatalf("installed %q %q", installed(t, proj, "@octo/app"), installed(t, proj, "@octo/hello"))
	}
	proj = consumer(t)
	octo.must(proj, "install", "@octo/hello")
	if v := installed(t, proj, "@octo/hello"); v != "1.1.0" {
		t.Fatalf("latest installed %q", v)
	}

	// dist-tag.
	octo.must(src, "dist-tag", "add", "@octo/hello@1.0.0", "stable")
	if out := octo.must(src, "dist-tag", "ls", "@octo/hello"); !strings.Contains(out, "stable: 1.0.0") || !strings.Contains(out, "latest: 1.1.0") {
		t.Fatalf("dist-tag ls: %s", out)
	}
	proj = consumer(t)
	octo.must(proj, "install", "@octo/hello@stable")
	if v := installed(t, proj, "@octo/hello"); v != "1.0.0" {
		t.Fatalf("stable installed %q", v)
	}
	octo.must(src, "dist-tag", "rm", "@octo/hello", "stable")
	if out := octo.must(src, "dist-tag", "ls", "@octo/hello"); strings.Contains(out, "stable") {
		t.Fatalf("dist-tag ls after rm: %s", out)
	}

	// Deprecate and un-deprecate.
	octo.must(src, "deprecate", "@octo/hello@1.0.0", "use 1.1.0")
	if out := strings.TrimSpace(octo.must(src, "view", "@octo/hello@1.0.0", "deprecated")); out != "use 1.1.0" {
		t.Fatalf("deprecated: %q", out)
	}
	proj = consumer(t)
	_, errOut, ok := octo.npm(proj, "install", "@octo/hello@1.0.0")
	if !ok || !strings.Contains(errOut, "deprecated") {
		t.Fatalf("install of a deprecated version: %v %s", ok, errOut)
	}
	if out := strings.TrimSpace(octo.must(src, "view", "@octo/hello@1.1.0", "deprecated")); out != "" {
		t.Fatalf("1.1.0 deprecated: %q", out)
	}
	octo.must(src, "deprecate", "@octo/hello@1.0.0", "")
	if out := strings.TrimSpace(octo.must(src, "view", "@octo/hello@1.0.0", "deprecated")); out != "" {
		t.Fatalf("still deprecated: %q", out)
	}

	// Search and whoami.
	if out := octo.must(src, "search", "hello", "--json"); !strings.Contains(out, `"@octo/hello"`) || strings.Contains(out, `"@octo/app"`) {
		t.Fatalf("search: %s", out)
	}
	if out := strings.TrimSpace(octo.must(src, "whoami")); out != "octo" {
		t.Fatalf("whoami: %q", out)
	}

	// Unpublish one version.
	octo.must(src, "unpublish", "@octo/hello@2.0.0-beta.1")
	if out := octo.must(src, "view", "@octo/hello", "versions", "--json"); strings.Contains(out, "2.0.0-beta.1") {
		t.Fatalf("versions after unpublish: %s", out)
	}

	// A version deleted through the service cannot be installed; restored,
	// it can.
	a := env.Actor(tok)
	_, v, err := env.Service.GetVersionByName(ctx, a, ref, "1.0.0", packages.ViaREST)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Service.DeleteVersion(ctx, a, ref, v.ID, packages.ViaREST); err != nil {
		t.Fatal(err)
	}
	proj = consumer(t)
	if out := octo.mustFail(proj, "install", "@octo/hello@1.0.0"); !strings.Contains(out, "ETARGET") {
		t.Fatalf("install of a deleted version: %s", out)
	}
	if err := env.Service.RestoreVersion(ctx, a, ref, v.ID, packages.ViaREST); err != nil {
		t.Fatal(err)
	}
	octo.must(proj, "install", "@octo/hello@1.0.0")
	if v := installed(t, proj, "@octo/hello"); v != "1.0.0" {
		t.Fatalf("restored version installed %q", v)
	}

	// Anonymous: the public package installs, the private one asks for a
	// login.
	anon := newNpmHome(t, registry, "", "octo")
	proj = consumer(t)
	anon.must(proj, "install", "@octo/open")
	if v := installed(t, proj, "@octo/open"); v != "1.0.0" {
		t.Fatalf("anonymous install %q", v)
	}
	if out := anon.mustFail(proj, "install", "@octo/hello"); !strings.Contains(out, "E401") {
		t.Fatalf("anonymous install of a private package: %s", out)
	}
	if out := anon.mustFail(proj, "whoami"); !strings.Contains(out, "E401") && !strings.Contains(out, "ENEEDAUTH") {
		t.Fatalf("anonymous whoami: %s", out)
	}

	// Unpublish the whole package.
	octo.must(src, "unpublish", "@octo/hello", "--force")
	if out := octo.mustFail(src, "view", "@octo/hello"); !strings.Contains(out, "E404") {
		t.Fatalf("view after unpublish: %s", out)
	}
	if err := env.Service.RestorePackage(ctx, a, ref, packages.ViaREST); err != nil {
		t.Fatalf("restore after npm unpublish: %v", err)
	}
	octo.must(src, "view", "@octo/hello")
}
