package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/packhub/packhub/internal/testenv"
)

// The web pages of each package type the real clients publish: the page
// shows what the type has, and its install instructions, copied from the
// page, install the package with the type's client.

// packagePage signs alice in, opens a package's page and checks it shows
// want.
func packagePage(t *testing.T, s *Server, token, path, shot string, want ...string) *webBrowser {
	t.Helper()
	br := newWebBrowser(t, s)
	br.signIn(token)
	if code := br.visit(path); code != 200 {
		t.Fatalf("%s: %d", path, code)
	}
	br.wantText(path, want...)
	if shot != "" {
		br.shot(shot)
	}
	return br
}

func TestWebContainer(t *testing.T) {
	t.Parallel()
	eachDatabase(t, testWebContainer)
}

func testWebContainer(t *testing.T, db Database) {
	crane := requireTool(t, "crane")
	oras := requireTool(t, "oras")
	podman := requireTool(t, "podman")
	s := StartServer(t, db)
	s.Admin("user", "create", "alice")
	tok := s.Token("alice", "read:packages,write:packages,delete:packages")
	host := hostOf(s.URL)
	c := newOCIClients(t)
	ref := host + "/alice/tools/multi"
	c.run(crane, "auth", "login", host, "-u", "alice", "-p", tok)
	for _, arch := range []string{"amd64", "arm64"} {
		c.run(crane, "append", "--insecure", "-f", c.layerTar(arch, arch+"\n"), "-t", ref+":"+arch)
		c.run(crane, "mutate", "--insecure", "--set-platform", "linux/"+arch, ref+":"+arch, "-t", ref+":"+arch)
	}
	c.run(crane, "index", "append", "--insecure", "-m", ref+":amd64", "-m", ref+":arm64", "-t", ref+":latest")
	c.write("sbom.json", `{"spdxVersion":"SPDX-2.3"}`)
	c.run(oras, "attach", "--plain-http", "-u", "alice", "-p", tok, "--artifact-type", "application/spdx+json", ref+":latest", "sbom.json")

	br := packagePage(t, s, tok, "/users/alice/packages/container/package/tools%2Fmulti", "",
		"tools/multi", "latest", "linux/amd64", "linux/arm64", "SBOM", "application/spdx+json", "Referrers", "Platforms")
	br.shotAt("container", "#image-h")
	login, pull := br.text("#install-login"), br.text("#install-pull")
	if pull != "docker pull "+ref+":latest" {
		t.Fatalf("pull snippet %q", pull)
	}

	// Run the snippets with podman, which takes docker's commands, behind
	// a docker of its own that keeps its images in the test's folder.
	dir := t.TempDir()
	shim := fmt.Sprintf("#!/bin/sh\ncmd=$1; shift\ncase $cmd in login|pull) set -- --tls-verify=false \"$@\";; esac\nexec %s --root %s --runroot %s --storage-driver vfs \"$cmd\" \"$@\"\n",
		podman, filepath.Join(dir, "root"), filepath.Join(dir, "run"))
	writeFiles(t, dir, map[string]string{"bin/docker": shim, "home/.docker/config.json": "{}"})
	if err := os.Chmod(filepath.Join(dir, "bin", "docker"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = exec.Command(podman, "--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run"), "--storage-driver", "vfs", "system", "reset", "--force").Run()
	})
	env := []string{"PATH=" + filepath.Join(dir, "bin") + ":" + os.Getenv("PATH"), "HOME=" + filepath.Join(dir, "home"),
		"XDG_RUNTIME_DIR=" + dir, "PACKHUB_TOKEN=" + tok}
	out := runSnippet(t, dir, login+"\n"+pull+"\ndocker images --format '{{.Repository}}:{{.Tag}}'\n", env...)
	if !strings.Contains(out, ref+":latest") {
		t.Fatalf("the image is not among podman's images:\n%s", out)
	}

	// A platform's page, from the index's.
	if code := br.follow("a[href*='/users/alice/packages/container/tools%2Fmulti/']"); code != 200 {
		t.Fatalf("platform image page: %d", code)
	}
	br.wantText("platform image", "Layers", "manifest.json", "SHA-256")
}

func TestWebMaven(t *testing.T) {
	t.Parallel()
	eachDatabase(t, testWebMaven)
}

func testWebMaven(t *testing.T, db Database) {
	bin := requireTool(t, "mvn")
	if !fileExists("/usr/share/maven-repo/org/apache/maven/plugins/maven-deploy-plugin/3.0.0") {
		testenv.Missing(t, "Debian's Maven plugins are not installed; scripts/install-test-deps.sh installs them")
	}
	s := StartServer(t, db)
	s.Admin("user", "create", "alice")
	s.Admin("repo", "create", "alice/libs", "--visibility", "private")
	tok := s.Token("alice", "read:packages,write:packages,delete:packages,repo")
	mvn := newMavenUser(t, bin, tok)
	work := t.TempDir()
	jar := filepath.Join(work, "webtool.jar")
	writeFiles(t, work, map[string]string{"tool/readme.txt": "a tool\n"})
	if out, err := exec.Command("jar", "cf", jar, "-C", filepath.Join(work, "tool"), ".").CombinedOutput(); err != nil {
		t.Fatalf("jar: %v\n%s", err, out)
	}
	mvn.must(work, mavenDeployPlugin+":deploy-file", "-Dfile="+jar, "-DgroupId=com.example", "-DartifactId=webtool",
		"-Dversion=1.0", "-Dpackaging=jar", "-DrepositoryId=packhub", "-Durl="+s.URL+"/maven/alice/libs")

	br := packagePage(t, s, tok, "/users/alice/packages/maven/package/com.example.webtool", "maven", "com.example.webtool", "alice/libs", "1.0")
	dep, repo := br.text("#install-dependency"), br.text("#install-repository")
	if !strings.Contains(dep, "<artifactId>webtool</artifactId>") || !strings.Contains(repo, s.URL+"/maven/alice/libs/") {
		t.Fatalf("Maven snippets:\n%s\n%s", dep, repo)
	}
	if !strings.Contains(br.text("#install-settings"), "<id>packhub</id>") {
		t.Fatal("no credentials snippet for a private repository")
	}
	// A project made of the snippets resolves the jar from Packhub (the
	// settings' server "packhub" holds the token, as the snippet says).
	app := t.TempDir()
	writeFiles(t, app, map[string]string{"pom.xml": `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.example</groupId>
  <artifactId>webapp</artifactId>
  <version>1</version>
  <packaging>jar</packaging>
  <properties><project.build.sourceEncoding>UTF-8</project.build.sourceEncoding></properties>
  <dependencies>
` + dep + `  </dependencies>
` + repo + `  <build>` + mavenPlugins + `</build>
</project>
`})
	mvn.must(app, "package", "-DskipTests")
	if !fileExists(filepath.Join(mvn.local, "com/example/webtool/1.0/webtool-1.0.jar")) {
		t.Fatal("mvn did not fetch webtool-1.0.jar")
	}
}

func TestWebRubyGems(t *testing.T) {
	t.Parallel()
	eachDatabase(t, testWebRubyGems)
}

func testWebRubyGems(t *testing.T, db Database) {
	e := newRubyEnv(t)
	s := StartServer(t, db)
	s.Admin("user", "create", "alice")
	tok := s.Token("alice", "read:packages,write:packages,delete:packages")
	gem := e.buildGem("webgem", "1.2.0", "", nil, nil)
	e.must(filepath.Dir(gem), []string{"GEM_HOST_API_KEY=" + tok}, e.gem, "push", "--host", s.URL+"/rubygems/alice", gem)

	br := packagePage(t, s, tok, "/users/alice/packages/rubygems/package/webgem", "rubygems", "webgem", "1.2.0", "The webgem gem")
	install := br.text("#install-gem")
	if !strings.HasPrefix(install, "gem install webgem --version 1.2.0 --clear-sources --source") || !strings.Contains(br.text("#install-gemfile"), `gem "webgem", "1.2.0"`) {
		t.Fatalf("gem snippets: %s", install)
	}
	home := t.TempDir()
	runSnippet(t, t.TempDir(), install, "PACKHUB_TOKEN="+tok, "GEM_HOME="+filepath.Join(home, "gems"), "GEM_PATH="+filepath.Join(home, "gems"),
		"GEM_SPEC_CACHE="+filepath.Join(home, "specs"))
	if !fileExists(filepath.Join(home, "gems", "specifications", "webgem-1.2.0.gemspec")) {
		t.Fatal("the snippet did not install webgem 1.2.0")
	}
}

func TestWebNuGet(t *testing.T) {
	t.Parallel()
	eachDatabase(t, testWebNuGet)
}

func testWebNuGet(t *testing.T, db Database) {
	nuget := newNugetClient(t)
	s := StartServer(t, db)
	s.Admin("user", "create", "alice")
	tok := s.Token("alice", "read:packages,write:packages,delete:packages")
	source := s.URL + "/nuget/alice/index.json"
	dir := nuget.pack(nugetPackage{id: "Web.Lib", version: "2.1.0"})
	nuget.must(dir, "push", filepath.Join(dir, "Web.Lib.2.1.0.nupkg"), "-Source", source, "-ApiKey", tok)

	br := packagePage(t, s, tok, "/users/alice/packages/nuget/package/Web.Lib", "nuget", "Web.Lib", "2.1.0", "Web.Lib, packed for a test.")
	if got := br.text("#install-dotnet"); got != "dotnet add package Web.Lib --version 2.1.0" {
		t.Fatalf("dotnet snippet %q", got)
	}
	// Made public on its settings page, it installs with the nuget.config
	// the page gives, and no credentials (there is no dotnet SDK here:
	// NuGet.exe reads the same file).
	br.follow("a[href$='/settings']")
	br.do("choose public", chromedp.Click(chromedp.CSS("input[name=visibility][value=public]")))
	br.submit("form[action$='/settings/visibility'] button")
	br.wantText("public", "The package's visibility was changed.")
	br.visit("/users/alice/packages/nuget/package/Web.Lib")
	cfg := br.text("#install-nugetconfig")
	if strings.Contains(cfg, "ClearTextPassword") || !strings.Contains(cfg, source) {
		t.Fatalf("nuget.config of a public package:\n%s", cfg)
	}
	work := t.TempDir()
	writeFiles(t, work, map[string]string{"nuget.config": cfg})
	out := t.TempDir()
	nuget.must(work, "install", "Web.Lib", "-Version", "2.1.0", "-ConfigFile", filepath.Join(work, "nuget.config"), "-OutputDirectory", out)
	if got := strings.Join(installed(t, out), ","); got != "Web.Lib.2.1.0" {
		t.Fatalf("installed %s", got)
	}
}
