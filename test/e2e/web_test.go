package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// runSnippet runs install instructions copied from a page with sh in dir,
// with env added to a clean environment, and returns what they printed.
func runSnippet(t *testing.T, dir, snippet string, env ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-ec", snippet)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "LANG=C.UTF-8"}, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("the snippet failed: %v\n%s\n---\n%s", err, snippet, out.String())
	}
	return out.String()
}

// TestWebNpm drives the web pages in Chromium around packages the real
// npm CLI publishes: sign in with a token, browse to a package, copy its
// install instructions and run them, grant another user access (who then
// sees the package), delete a version and restore it, make the package
// public, sign out; an anonymous visitor sees public packages and gets
// 404 for a private one.
func TestWebNpm(t *testing.T) {
	t.Parallel()
	eachDatabase(t, testWebNpm)
}

func testWebNpm(t *testing.T, db Database) {
	npmBin := requireTool(t, "npm")
	s := StartServer(t, db)
	s.Admin("user", "create", "alice")
	s.Admin("user", "create", "bob")
	tok := s.Token("alice", "read:packages,write:packages,delete:packages")
	bobTok := s.Token("bob", "read:packages")
	alice := newNpmUser(t, npmBin, s.URL+"/npm/", tok, "alice")
	publish := func(name, version string) {
		dir := t.TempDir()
		npmProject(t, dir, map[string]any{"name": "@alice/" + name, "version": version, "description": "The " + name + " package"})
		writeFiles(t, dir, map[string]string{"README.md": "# " + name + "\n\nA package for the **web** test.\n\n<script>alert(1)</script>\n"})
		alice.must(dir, "publish")
	}
	publish("webpkg", "1.0.0")
	publish("webpkg", "1.1.0")
	publish("secretpkg", "1.0.0")
	pkg := "/users/alice/packages/npm/package/webpkg"
	secret := "/users/alice/packages/npm/package/secretpkg"

	br := newWebBrowser(t, s)
	anon, bob := br.user(), br.user()
	if code := anon.visit(pkg); code != 404 {
		t.Fatalf("anonymous, private package: %d", code)
	}
	anon.visit("/")
	anon.wantNoText("explore before", "webpkg", "secretpkg")

	// Alice signs in and browses to her package.
	br.signIn(tok)
	if code := br.visit("/alice"); code != 200 {
		t.Fatalf("owner page: %d", code)
	}
	br.wantText("owner page", "webpkg", "secretpkg")
	br.shot("owner")
	if code := br.follow("a[href='" + pkg + "']"); code != 200 {
		t.Fatalf("package page: %d", code)
	}
	br.wantText("package page", "The webpkg package", "A package for the web test.", "1.1.0", "1.0.0", "README")
	br.wantNoText("package page", "alert(1)")
	if !br.evalBool(`!document.querySelector("button[data-copy='install-npm']").hidden`) {
		t.Fatal("the copy button's script did not run under the page's CSP")
	}
	br.shot("package")

	// Copy the install instructions and run them: they install.
	npmrc, install := br.text("#install-npmrc"), br.text("#install-npm")
	if !strings.Contains(npmrc, "${PACKHUB_TOKEN}") || install != "npm install @alice/webpkg@1.1.0" {
		t.Fatalf("install snippet:\n%s\n%s", npmrc, install)
	}
	project := npmConsumer(t)
	writeFiles(t, project, map[string]string{".npmrc": npmrc})
	runSnippet(t, project, install, "PACKHUB_TOKEN="+tok, "npm_config_userconfig="+filepath.Join(project, ".npmrc"),
		"npm_config_cache="+t.TempDir(), "npm_config_audit=false", "npm_config_fund=false", "npm_config_update_notifier=false")
	if got := npmInstalled(project, "@alice/webpkg"); got != "1.1.0" {
		t.Fatalf("the snippet installed %q", got)
	}

	// Grant bob read access: he sees the package.
	bob.signIn(bobTok)
	if code := bob.visit(pkg); code != 404 {
		t.Fatalf("bob before the grant: %d", code)
	}
	if code := br.follow("a[href='" + pkg + "/settings']"); code != 200 {
		t.Fatalf("settings: %d", code)
	}
	br.fill("form.row input[name=user]", "bob")
	br.submit("form.row button[type=submit]")
	br.wantText("after the grant", "The package's access was changed.", "bob")
	if code := bob.visit(pkg); code != 200 {
		t.Fatalf("bob after the grant: %d", code)
	}
	bob.wantText("bob's view", "webpkg", "1.1.0")
	bob.wantNoText("bob's view", "Package settings")

	// Delete version 1.0.0 and restore it.
	br.submit("button[aria-label='Delete version 1.0.0']")
	br.wantText("after the delete", "The version was deleted.")
	bob.visit(pkg)
	bob.wantNoText("the deleted version", "1.0.0")
	br.shot("settings")
	br.submit("button[aria-label='Restore version 1.0.0']")
	br.wantText("after the restore", "The version was restored.")
	bob.visit(pkg)
	bob.wantText("the restored version", "1.0.0")

	// Make the package public: anonymous visitors see it.
	br.do("choose public", chromedp.Click(chromedp.CSS("input[name=visibility][value=public]")))
	br.submit("form[action$='/settings/visibility'] button")
	br.wantText("after making it public", "The package's visibility was changed.")
	if code := anon.visit(pkg); code != 200 {
		t.Fatalf("anonymous, public package: %d", code)
	}
	anon.visit("/")
	anon.wantText("explore", "webpkg")
	anon.wantNoText("explore", "secretpkg")
	anon.shot("explore")
	if code := anon.visit(secret); code != 404 {
		t.Fatalf("anonymous, private package: %d", code)
	}

	// A version's page has its files and checksums.
	br.visit(pkg)
	if code := br.follow("table.versions tbody tr:first-child a"); code != 200 {
		t.Fatalf("version page: %d", code)
	}
	br.wantText("version page", "webpkg-1.1.0.tgz", "SHA-256", "SHA-512")
	br.shot("version")

	// Signing out ends the session: the private package is gone again.
	br.signOut()
	if code := br.visit(secret); code != 404 {
		t.Fatalf("signed out, private package: %d", code)
	}
}
