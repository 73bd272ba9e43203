package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/packages"
)

// rubyEnv runs the real gem and bundler with a home of their own, so that
// nothing is read from or cached in the user's.
type rubyEnv struct {
	t      *testing.T
	gem    string
	bundle string
	home   string
}

func newRubyEnv(t *testing.T) *rubyEnv {
	t.Helper()
	return &rubyEnv{t: t, gem: requireTool(t, "gem"), bundle: requireTool(t, "bundle"), home: t.TempDir()}
}

// run runs a command in dir with the given extra environment; stdin is
// /dev/null (gem would otherwise prompt for credentials on some answers).
func (e *rubyEnv) run(dir string, env []string, bin string, args ...string) (string, bool) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	gemHome := filepath.Join(e.home, "gems")
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + e.home,
		"GEM_HOME=" + gemHome,
		"GEM_PATH=" + gemHome,
		"GEM_SPEC_CACHE=" + filepath.Join(e.home, "specs"),
		"BUNDLE_USER_HOME=" + filepath.Join(e.home, "bundle"),
		"BUNDLE_USER_CACHE=" + filepath.Join(e.home, "bundle-cache"),
		"BUNDLE_SILENCE_ROOT_WARNING=1",
		"BUNDLE_DISABLE_VERSION_CHECK=1",
		"LANG=C.UTF-8",
	}, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err == nil
}

func (e *rubyEnv) must(dir string, env []string, bin string, args ...string) string {
	e.t.Helper()
	out, ok := e.run(dir, env, bin, args...)
	if !ok {
		e.t.Fatalf("%s %s failed:\n%s", filepath.Base(bin), strings.Join(args, " "), out)
	}
	return out
}

func (e *rubyEnv) mustFail(dir string, env []string, bin string, args ...string) string {
	e.t.Helper()
	out, ok := e.run(dir, env, bin, args...)
	if ok {
		e.t.Fatalf("%s %s succeeded:\n%s", filepath.Base(bin), strings.Join(args, " "), out)
	}
	return out
}

// installed lists the gems installed into the env's GEM_HOME, as
// NAME-VERSION[-PLATFORM], and empties it for the next install.
func (e *rubyEnv) installed() []string {
	e.t.Helper()
	dir := filepath.Join(e.home, "gems", "specifications")
	ents, _ := os.ReadDir(dir)
	var out []string
	for _, ent := range ents {
		out = append(out, strings.TrimSuffix(ent.Name(), ".gemspec"))
	}
	sort.Strings(out)
	os.RemoveAll(filepath.Join(e.home, "gems"))
	os.RemoveAll(filepath.Join(e.home, "specs"))
	return out
}

// buildGem writes a gemspec and its one library file and runs gem build;
// it returns the path of the .gem.
func (e *rubyEnv) buildGem(name, version, platform string, deps map[string]string, metadata map[string]string) string {
	e.t.Helper()
	dir := e.t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "lib"), 0o755); err != nil {
		e.t.Fatal(err)
	}
	lib := fmt.Sprintf("module %s\n  VERSION = %q\nend\n", strings.ToUpper(name[:1])+strings.ReplaceAll(name[1:], "-", "_"), version)
	if err := os.WriteFile(filepath.Join(dir, "lib", name+".rb"), []byte(lib), 0o644); err != nil {
		e.t.Fatal(err)
	}
	var spec strings.Builder
	fmt.Fprintf(&spec, "Gem::Specification.new do |s|\n  s.name = %q\n  s.version = %q\n  s.summary = %q\n", name, version, "The "+name+" gem")
	fmt.Fprintf(&spec, "  s.authors = [\"Octo Cat\"]\n  s.license = \"MIT\"\n  s.files = [\"lib/%s.rb\"]\n  s.required_ruby_version = \">= 2.5\"\n", name)
	if platform != "" {
		fmt.Fprintf(&spec, "  s.platform = %q\n", platform)
	}
	names := make([]string, 0, len(deps))
	for d := range deps {
		names = append(names, d)
	}
	sort.Strings(names)
	for _, d := range names {
		fmt.Fprintf(&spec, "  s.add_dependency %q, %q\n", d, deps[d])
	}
	for k, v := range metadata {
		fmt.Fprintf(&spec, "  s.metadata[%q] = %q\n", k, v)
	}
	spec.WriteString("end\n")
	if err := os.WriteFile(filepath.Join(dir, name+".gemspec"), []byte(spec.String()), 0o644); err != nil {
		e.t.Fatal(err)
	}
	e.must(dir, nil, e.gem, "build", name+".gemspec")
	matches, _ := filepath.Glob(filepath.Join(dir, "*.gem"))
	if len(matches) != 1 {
		e.t.Fatalf("gem build made %v", matches)
	}
	return matches[0]
}

// TestRubyGems drives the real gem and bundler against packhub serve:
// push, install of a version and of the latest with a dependency, a
// platform gem, bundle install through the compact index, yank and a
// restore through the REST API, private gems and a read-only token.
func TestRubyGems(t *testing.T) {
	t.Parallel()
	eachDatabase(t, testRubyGems)
}

func testRubyGems(t *testing.T, db Database) {
	e := newRubyEnv(t)
	s := StartServer(t, db)
	s.Admin("user", "create", "octo")
	s.Admin("repo", "create", "octo/hello", "--visibility", "public")
	tok := s.Token("octo", "read:packages,write:packages,delete:packages")
	readOnly := s.Token("octo", "read:packages")
	host := s.URL + "/rubygems/octo"
	source := strings.Replace(host, "://", "://octo:"+tok+"@", 1) + "/"
	pushEnv := []string{"GEM_HOST_API_KEY=" + tok}
	push := func(path string) string {
		t.Helper()
		return e.must(t.TempDir(), pushEnv, e.gem, "push", path, "--host", host)
	}

	gems := []string{
		e.buildGem("hello", "1.0.0", "", nil, map[string]string{"github_repo": "ssh://github.com/octo/hello"}),
		e.buildGem("hello", "1.1.0", "", nil, nil),
		e.buildGem("hello", "2.0.0.pre1", "", nil, nil),
		e.buildGem("native", "1.0.0", "", nil, nil),
		e.buildGem("native", "1.0.0", "x86_64-linux", nil, nil),
		e.buildGem("app", "0.1.0", "", map[string]string{"hello": "~> 1.0"}, nil),
	}
	for _, g := range gems {
		if out := push(g); !strings.Contains(out, "Successfully registered gem") {
			t.Fatalf("push %s: %s", g, out)
		}
	}
	if out := e.mustFail(t.TempDir(), pushEnv, e.gem, "push", gems[0], "--host", host); !strings.Contains(out, "Repushing of gem versions is not allowed") {
		t.Fatalf("republish: %s", out)
	}
	other := e.buildGem("other", "1.0.0", "", nil, nil)
	if out := e.mustFail(t.TempDir(), []string{"GEM_HOST_API_KEY=" + readOnly}, e.gem, "push", other, "--host", host); !strings.Contains(out, "write:packages") {
		t.Fatalf("push with a read-only token: %s", out)
	}

	install := func(args ...string) []string {
		t.Helper()
		e.must(t.TempDir(), nil, e.gem, append([]string{"install", "--clear-sources", "--source", source, "--no-document"}, args...)...)
		return e.installed()
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"hello", "-v", "1.0.0"}, "hello-1.0.0"},
		{[]string{"hello"}, "hello-1.1.0"},
		{[]string{"hello", "--pre"}, "hello-2.0.0.pre1"},
		{[]string{"app"}, "app-0.1.0,hello-1.1.0"},
		{[]string{"native"}, "native-1.0.0-x86_64-linux"},
		{[]string{"native", "--platform", "ruby"}, "native-1.0.0"},
	} {
		if got := strings.Join(install(tc.args...), ","); got != tc.want {
			t.Errorf("gem install %s installed %s, want %s", strings.Join(tc.args, " "), got, tc.want)
		}
	}

	// bundler, with Basic credentials from the environment, through the
	// compact index alone.
	app := t.TempDir()
	gemfile := fmt.Sprintf("source %q\n\ngem \"app\"\ngem \"native\"\n", host+"/")
	if err := os.WriteFile(filepath.Join(app, "Gemfile"), []byte(gemfile), 0o644); err != nil {
		t.Fatal(err)
	}
	// Bundler reads the credentials of a host from BUNDLE_<HOST>, dots
	// written "__": BUNDLE_127__0__0__1.
	credVar := "BUNDLE_" + strings.ReplaceAll(strings.Split(s.Addr, ":")[0], ".", "__")
	bundleEnv := []string{credVar + "=octo:" + tok, "BUNDLE_PATH=" + filepath.Join(app, "vendor")}
	out := e.must(app, bundleEnv, e.bundle, "install", "--verbose")
	for _, want := range []string{"/rubygems/octo/versions", "/rubygems/octo/info/app", "/rubygems/octo/info/hello", "Installing app 0.1.0", "Installing hello 1.1.0", "Installing native 1.0.0 (x86_64-linux)"} {
		if !strings.Contains(out, want) {
			t.Fatalf("bundle install does not show %q:\n%s", want, out)
		}
	}
	for _, legacy := range []string{"api/v1/dependencies", "specs.4.8", "quick/Marshal"} {
		if strings.Contains(out, legacy) {
			t.Fatalf("bundle install used %s, not only the compact index:\n%s", legacy, out)
		}
	}
	lock, _ := os.ReadFile(filepath.Join(app, "Gemfile.lock"))
	for _, want := range []string{"remote: " + host + "/", "app (0.1.0)", "hello (1.1.0)", "native (1.0.0-x86_64-linux)"} {
		if !strings.Contains(string(lock), want) {
			t.Fatalf("Gemfile.lock lacks %q:\n%s", want, lock)
		}
	}
	// Without credentials, bundler sees no private gem.
	noCred := t.TempDir()
	os.WriteFile(filepath.Join(noCred, "Gemfile"), []byte(gemfile), 0o644)
	if out := e.mustFail(noCred, []string{"BUNDLE_PATH=" + filepath.Join(noCred, "vendor")}, e.bundle, "install"); !strings.Contains(out, "Could not find gem 'app'") {
		t.Fatalf("bundle install without credentials: %s", out)
	}

	// The REST API lists RubyGems packages and their versions.
	var pkgs []struct {
		Name        string `json:"name"`
		PackageType string `json:"package_type"`
		Repository  *struct {
			FullName string `json:"full_name"`
		} `json:"repository"`
	}
	if err := json.Unmarshal(restCall(t, s, "GET", "/user/packages?package_type=rubygems", tok), &pkgs); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pkgs {
		names = append(names, p.Name)
		if p.PackageType != "rubygems" {
			t.Fatalf("package %s of type %s", p.Name, p.PackageType)
		}
		if p.Name == "hello" && (p.Repository == nil || p.Repository.FullName != "octo/hello") {
			t.Fatalf("hello is not linked to octo/hello: %+v", p.Repository)
		}
	}
	if strings.Join(names, ",") != "hello,native,app" {
		t.Fatalf("REST lists %v", names)
	}
	versionNames := func(state string) map[string]int64 {
		var vs []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		}
		if err := json.Unmarshal(restCall(t, s, "GET", "/user/packages/rubygems/hello/versions?state="+state, tok), &vs); err != nil {
			t.Fatal(err)
		}
		m := map[string]int64{}
		for _, v := range vs {
			m[v.Name] = v.ID
		}
		return m
	}
	if vs := versionNames("active"); len(vs) != 3 || vs["1.0.0"] == 0 || vs["2.0.0.pre1"] == 0 {
		t.Fatalf("REST versions of hello: %v", vs)
	}

	// gem yank: the version cannot be installed; a REST restore brings it
	// back.
	e.must(t.TempDir(), pushEnv, e.gem, "yank", "hello", "-v", "1.0.0", "--host", host)
	if out := e.mustFail(t.TempDir(), nil, e.gem, "install", "--clear-sources", "--source", source, "--no-document", "hello", "-v", "1.0.0"); !strings.Contains(out, "Could not find a valid gem 'hello' (= 1.0.0)") {
		t.Fatalf("install of a yanked version: %s", out)
	}
	e.installed()
	id := versionNames("deleted")["1.0.0"]
	if id == 0 {
		t.Fatal("the yanked version is not among the deleted ones")
	}
	restCall(t, s, "POST", fmt.Sprintf("/user/packages/rubygems/hello/versions/%d/restore", id), tok)
	if got := strings.Join(install("hello", "-v", "1.0.0"), ","); got != "hello-1.0.0" {
		t.Fatalf("after restore, installed %s", got)
	}

	// Private gems (the default) are refused without credentials; a public
	// one installs anonymously.
	anonymous := host + "/"
	if out := e.mustFail(t.TempDir(), nil, e.gem, "install", "--clear-sources", "--source", anonymous, "--no-document", "app"); !strings.Contains(out, "Could not find a valid gem 'app'") {
		t.Fatalf("anonymous install of a private gem: %s", out)
	}
	e.installed()
	svc := s.Service()
	actor, err := svc.Authenticate(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	ref := packages.PackageRef{Owner: "octo", Type: packages.TypeRubyGems, Name: "native"}
	if err := svc.SetPackageVisibility(context.Background(), actor, ref, packages.Public); err != nil {
		t.Fatal(err)
	}
	e.must(t.TempDir(), nil, e.gem, "install", "--clear-sources", "--source", anonymous, "--no-document", "native")
	if got := strings.Join(e.installed(), ","); got != "native-1.0.0-x86_64-linux" {
		t.Fatalf("anonymous install of a public gem: %s", got)
	}
}
