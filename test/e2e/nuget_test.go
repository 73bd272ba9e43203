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
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/testenv"
)

// nugetExe returns the command line that runs NuGet.exe 5.8 (on mono),
// installed into test/tools by scripts/install-test-deps.sh.
func nugetExe(t *testing.T) []string {
	t.Helper()
	mono := requireTool(t, "mono")
	exe := filepath.Join(repoRoot(t), "test", "tools", "node_modules", "nuget-exe", "nuget-5.8.0.exe")
	if !fileExists(exe) {
		testenv.Missing(t, "NuGet.exe is not installed; scripts/install-test-deps.sh installs it")
	}
	return []string{mono, exe}
}

// nugetClient runs NuGet.exe with a home of its own; every run gets a
// fresh HTTP cache and global packages folder, since NuGet's HTTP cache
// outlives -NoCache.
type nugetClient struct {
	t    *testing.T
	cmd  []string
	home string
}

func newNugetClient(t *testing.T) *nugetClient {
	return &nugetClient{t: t, cmd: nugetExe(t), home: t.TempDir()}
}

func (c *nugetClient) run(dir string, args ...string) (string, bool) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.cmd[0], append(c.cmd[1:], append(args, "-NonInteractive")...)...)
	cmd.Dir = dir
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + c.home,
		"NUGET_HTTP_CACHE_PATH=" + c.t.TempDir(),
		"NUGET_PACKAGES=" + c.t.TempDir(),
		"DOTNET_CLI_TELEMETRY_OPTOUT=1",
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err == nil
}

func (c *nugetClient) must(dir string, args ...string) string {
	c.t.Helper()
	out, ok := c.run(dir, args...)
	if !ok {
		c.t.Fatalf("nuget %s failed:\n%s", strings.Join(args, " "), out)
	}
	return out
}

// nugetPackage is what a test packs: a .nuspec and its files.
type nugetPackage struct {
	id, version string
	deps        map[string]string // id -> version range
	repository  string            // <repository url=…>
	symbols     bool              // a .pdb, packed into a .snupkg
}

// pack writes the package's .nuspec and files into a fresh folder, packs
// it with nuget pack and returns the folder.
func (c *nugetClient) pack(p nugetPackage) string {
	c.t.Helper()
	dir := c.t.TempDir()
	lib := filepath.Join(dir, "lib", "net45")
	if err := os.MkdirAll(lib, 0o755); err != nil {
		c.t.Fatal(err)
	}
	files := []string{p.id + ".dll"}
	if p.symbols {
		files = append(files, p.id+".pdb")
	}
	var fileXML strings.Builder
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(lib, f), []byte(p.id+" "+p.version+" "+f), 0o644); err != nil {
			c.t.Fatal(err)
		}
		fmt.Fprintf(&fileXML, "    <file src=\"lib/net45/%s\" target=\"lib/net45/%s\" />\n", f, f)
	}
	var deps strings.Builder
	if len(p.deps) > 0 {
		deps.WriteString("    <dependencies>\n      <group targetFramework=\"net45\">\n")
		for id, v := range p.deps {
			fmt.Fprintf(&deps, "        <dependency id=%q version=%q />\n", id, v)
		}
		deps.WriteString("      </group>\n    </dependencies>\n")
	}
	repo := ""
	if p.repository != "" {
		repo = fmt.Sprintf("    <repository type=\"git\" url=%q />\n", p.repository)
	}
	nuspec := fmt.Sprintf(`<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata>
    <id>%s</id>
    <version>%s</version>
    <authors>Octo Cat</authors>
    <description>%s, packed for a test.</description>
    <license type="expression">MIT</license>
    <tags>octo test</tags>
%s%s  </metadata>
  <files>
%s  </files>
</package>
`, p.id, p.version, p.id, repo, deps.String(), fileXML.String())
	name := filepath.Join(dir, p.id+".nuspec")
	if err := os.WriteFile(name, []byte(nuspec), 0o644); err != nil {
		c.t.Fatal(err)
	}
	args := []string{"pack", name, "-OutputDirectory", dir}
	if p.symbols {
		args = append(args, "-Symbols", "-SymbolPackageFormat", "snupkg")
	}
	c.must(dir, args...)
	return dir
}

// nugetConfig writes a nuget.config naming the feed, with Basic
// credentials when token is not empty, and returns its path.
func nugetConfig(t *testing.T, source, token string) string {
	t.Helper()
	creds := ""
	if token != "" {
		creds = fmt.Sprintf(`  <packageSourceCredentials>
    <packhub>
      <add key="Username" value="octo" />
      <add key="ClearTextPassword" value=%q />
    </packhub>
  </packageSourceCredentials>
`, token)
	}
	cfg := fmt.Sprintf(`<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="packhub" value=%q />
  </packageSources>
%s</configuration>
`, source, creds)
	p := filepath.Join(t.TempDir(), "nuget.config")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// installed lists the package folders nuget install wrote.
func installed(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	slices.Sort(out)
	return out
}

// basicGet GETs a feed URL with the token as Basic password.
func basicGet(t *testing.T, s *Server, url, token string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.SetBasicAuth("octo", token)
	}
	res, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// TestNuGet drives NuGet.exe 5.8 against packhub serve: pack, push,
// install of a version and of the latest, a dependency chain, a symbol
// package pushed with its package and downloaded, delete, a restore over
// the REST API seen by install, refusals of a read-only push and of an
// anonymous install of a private package, Basic credentials from
// nuget.config for restore, and search (nuget list, and the search
// resource).
func TestNuGet(t *testing.T) {
	t.Parallel()
	eachDatabase(t, testNuGet)
}

func testNuGet(t *testing.T, db Database) {
	nuget := newNugetClient(t)
	s := StartServer(t, db)
	s.Admin("user", "create", "octo")
	s.Admin("repo", "create", "octo/open", "--visibility", "public")
	tok := s.Token("octo", "read:packages,write:packages,delete:packages")
	readOnly := s.Token("octo", "read:packages")
	source := s.URL + "/nuget/octo/index.json"
	creds := nugetConfig(t, source, tok)
	anon := nugetConfig(t, source, "")
	push := func(dir, file, key string) (string, bool) {
		return nuget.run(dir, "push", filepath.Join(dir, file), "-Source", source, "-ApiKey", key)
	}
	install := func(config string, args ...string) (string, []string, bool) {
		out := t.TempDir()
		log, ok := nuget.run(out, append([]string{"install", "-OutputDirectory", out, "-ConfigFile", config}, args...)...)
		return log, installed(t, out), ok
	}
	mustInstall := func(config string, args ...string) []string {
		t.Helper()
		log, got, ok := install(config, args...)
		if !ok {
			t.Fatalf("nuget install %s failed:\n%s", strings.Join(args, " "), log)
		}
		return got
	}

	// Octo.B 1.0 and 1.1, private; Octo.A 1.0.0 depends on Octo.B >= 1.0
	// and comes with a symbol package, which push sends after it.
	b10 := nuget.pack(nugetPackage{id: "Octo.B", version: "1.0"})
	if out, ok := push(b10, "Octo.B.1.0.0.nupkg", tok); !ok {
		t.Fatalf("push Octo.B 1.0.0:\n%s", out)
	}
	b11 := nuget.pack(nugetPackage{id: "Octo.B", version: "1.1.0"})
	if out, ok := push(b11, "Octo.B.1.1.0.nupkg", tok); !ok {
		t.Fatalf("push Octo.B 1.1.0:\n%s", out)
	}
	a := nuget.pack(nugetPackage{id: "Octo.A", version: "1.0.0", deps: map[string]string{"Octo.B": "1.0"}, symbols: true})
	out, ok := push(a, "Octo.A.1.0.0.nupkg", tok)
	if !ok || !strings.Contains(out, "symbolpackage") {
		t.Fatalf("push Octo.A 1.0.0 with its symbols:\n%s", out)
	}
	if out, ok := push(b10, "Octo.B.1.0.0.nupkg", tok); ok || !strings.Contains(out, "409") {
		t.Fatalf("second push of Octo.B 1.0.0:\n%s", out)
	}

	// A read-only token cannot push.
	b2 := nuget.pack(nugetPackage{id: "Octo.B", version: "2.0.0"})
	if out, ok := push(b2, "Octo.B.2.0.0.nupkg", readOnly); ok || !strings.Contains(out, "403") {
		t.Fatalf("push with a read-only token:\n%s", out)
	}

	// Installs, with Basic credentials from nuget.config.
	if got := mustInstall(creds, "Octo.B", "-Version", "1.0"); !slices.Equal(got, []string{"Octo.B.1.0.0"}) {
		t.Fatalf("install of Octo.B 1.0: %v", got)
	}
	if got := mustInstall(creds, "Octo.B"); !slices.Equal(got, []string{"Octo.B.1.1.0"}) {
		t.Fatalf("install of the latest Octo.B: %v", got)
	}
	if got := mustInstall(creds, "Octo.A"); !slices.Equal(got, []string{"Octo.A.1.0.0", "Octo.B.1.0.0"}) {
		t.Fatalf("install of Octo.A: %v", got)
	}

	// Anonymous installs of a private package are refused with NuGet's
	// 401 challenge; a public package (linked to a public repository)
	// installs anonymously.
	if log, got, ok := install(anon, "Octo.B"); ok || len(got) != 0 || !strings.Contains(log, "401") {
		t.Fatalf("anonymous install of a private package: %v\n%s", got, log)
	}
	open := nuget.pack(nugetPackage{id: "Octo.Open", version: "3.0.0", repository: "https://github.com/octo/open"})
	if out, ok := push(open, "Octo.Open.3.0.0.nupkg", tok); !ok {
		t.Fatalf("push Octo.Open:\n%s", out)
	}
	if got := mustInstall(anon, "Octo.Open"); !slices.Equal(got, []string{"Octo.Open.3.0.0"}) {
		t.Fatalf("anonymous install of a public package: %v", got)
	}

	// The symbol package is served beside its package.
	snupkg, err := os.ReadFile(filepath.Join(a, "Octo.A.1.0.0.snupkg"))
	if err != nil {
		t.Fatal(err)
	}
	code, body := basicGet(t, s, s.URL+"/nuget/octo/v3-flatcontainer/octo.a/1.0.0/octo.a.1.0.0.snupkg", tok)
	if code != http.StatusOK || !bytes.Equal(body, snupkg) {
		t.Fatalf("symbol package download: %d, %d bytes, want %d", code, len(body), len(snupkg))
	}

	// nuget delete, then a restore over the REST API: install sees both.
	nuget.must(t.TempDir(), "delete", "Octo.B", "1.1.0", "-Source", source, "-ApiKey", tok)
	if got := mustInstall(creds, "Octo.B"); !slices.Equal(got, []string{"Octo.B.1.0.0"}) {
		t.Fatalf("install of the latest Octo.B after deleting 1.1.0: %v", got)
	}
	if log, _, ok := install(creds, "Octo.B", "-Version", "1.1.0"); ok {
		t.Fatalf("install of a deleted version succeeded:\n%s", log)
	}
	var deleted []struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	json.Unmarshal(restCall(t, s, "GET", "/user/packages/nuget/Octo.B/versions?state=deleted", tok), &deleted)
	if len(deleted) != 1 || deleted[0].Name != "1.1.0" {
		t.Fatalf("deleted versions over REST: %+v", deleted)
	}
	restCall(t, s, "POST", fmt.Sprintf("/user/packages/nuget/Octo.B/versions/%d/restore", deleted[0].ID), tok)
	if got := mustInstall(creds, "Octo.B"); !slices.Equal(got, []string{"Octo.B.1.1.0"}) {
		t.Fatalf("install of the latest Octo.B after the restore: %v", got)
	}

	// The REST API lists the NuGet packages and their versions.
	var pkgs []struct {
		Name         string `json:"name"`
		PackageType  string `json:"package_type"`
		VersionCount int    `json:"version_count"`
		Visibility   string `json:"visibility"`
	}
	json.Unmarshal(restCall(t, s, "GET", "/user/packages?package_type=nuget", tok), &pkgs)
	var names []string
	for _, p := range pkgs {
		names = append(names, fmt.Sprintf("%s:%s:%d:%s", p.Name, p.PackageType, p.VersionCount, p.Visibility))
	}
	slices.Sort(names)
	if want := []string{"Octo.A:nuget:1:private", "Octo.B:nuget:2:private", "Octo.Open:nuget:1:public"}; !slices.Equal(names, want) {
		t.Fatalf("REST packages: %v, want %v", names, want)
	}
	var versions []struct {
		Name string `json:"name"`
	}
	json.Unmarshal(restCall(t, s, "GET", "/user/packages/nuget/Octo.B/versions", tok), &versions)
	if len(versions) != 2 || versions[0].Name != "1.1.0" || versions[1].Name != "1.0.0" {
		t.Fatalf("REST versions: %+v", versions)
	}

	// Search through the search resource: the caller's view, with
	// download counts.
	var res struct {
		TotalHits int `json:"totalHits"`
		Data      []struct {
			ID             string `json:"id"`
			Version        string `json:"version"`
			TotalDownloads int64  `json:"totalDownloads"`
		} `json:"data"`
	}
	code, body = basicGet(t, s, s.URL+"/nuget/octo/query?q=octo&semVerLevel=2.0.0", tok)
	if err := json.Unmarshal(body, &res); code != http.StatusOK || err != nil || res.TotalHits != 3 {
		t.Fatalf("search: %d %s", code, body)
	}
	if res.Data[1].ID != "Octo.B" || res.Data[1].Version != "1.1.0" || res.Data[1].TotalDownloads < 3 {
		t.Fatalf("search hit for Octo.B: %+v", res.Data[1])
	}
	if code, _ = basicGet(t, s, s.URL+"/nuget/octo/query?q=octo", ""); code != http.StatusUnauthorized {
		t.Fatalf("anonymous search: %d", code)
	}

	// nuget list reads the v2 feed's Search(), sending the credentials of
	// nuget.config when challenged.
	list := nuget.must(t.TempDir(), "list", "octo", "-AllVersions", "-Source", "packhub", "-ConfigFile", creds)
	if want := "Octo.A 1.0.0\nOcto.B 1.1.0\nOcto.B 1.0.0\nOcto.Open 3.0.0\n"; strings.ReplaceAll(list, "\r", "") != want {
		t.Fatalf("nuget list -AllVersions:\n%s\nwant:\n%s", list, want)
	}
	list = nuget.must(t.TempDir(), "list", "Octo.B", "-Source", "packhub", "-ConfigFile", creds)
	if strings.TrimSpace(list) != "Octo.B 1.1.0" {
		t.Fatalf("nuget list Octo.B:\n%s", list)
	}
}
