package rubygems

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

// fixture is the registry over a real service, on a real HTTP server.
type fixture struct {
	t     *testing.T
	env   *testenv.Env
	front *testenv.Front
}

func newFixture(t *testing.T, env *testenv.Env, opts Options) *fixture {
	t.Helper()
	front := testenv.Serve(t, func(baseURL string) http.Handler {
		opts.BaseURL = baseURL
		return New(env.Service, opts)
	})
	return &fixture{t: t, env: env, front: front}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

// auth styles a request can carry a token in.
const (
	rawKey = "raw"    // what gem push sends
	bearer = "bearer" // what GitHub documents
	basic  = "basic"  // bundler, and gem with credentials in the URL
)

// do sends a request with the token in the given style; hdr alternates
// header names and values.
func (f *fixture) do(method, path, token, style string, body []byte, hdr ...string) resp {
	f.t.Helper()
	req := testenv.Request{Method: method, Path: path, Header: http.Header{}}
	if body != nil {
		req.Body = bytes.NewReader(body)
	}
	if token != "" {
		switch style {
		case rawKey:
			req.Auth = testenv.RawToken(token)
		case bearer:
			req.Auth = testenv.Bearer(token)
		default:
			req.Auth = testenv.Basic("user", token)
		}
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	r := f.front.Do(req)
	return resp{status: r.Status, header: r.Header, body: r.Body}
}

func (f *fixture) get(path, token string, hdr ...string) resp {
	f.t.Helper()
	return f.do("GET", path, token, basic, nil, hdr...)
}

// push pushes a gem and fails the test unless it is taken.
func (f *fixture) push(owner, token string, g testGem) []byte {
	f.t.Helper()
	b := g.build(f.t)
	r := f.do("POST", "/rubygems/"+owner+"/api/v1/gems", token, rawKey, b)
	if r.status != http.StatusOK || !strings.HasPrefix(string(r.body), "Successfully registered gem: "+g.name) {
		f.t.Fatalf("push %s %s: %d %s", g.name, g.version, r.status, r.body)
	}
	return b
}

func (f *fixture) yank(owner, token, name, version, platform string) resp {
	f.t.Helper()
	form := url.Values{"gem_name": {name}, "version": {version}}
	if platform != "" {
		form.Set("platform", platform)
	}
	return f.do("DELETE", "/rubygems/"+owner+"/api/v1/gems/yank", token, rawKey, []byte(form.Encode()),
		"Content-Type", "application/x-www-form-urlencoded")
}

func wantStatus(t *testing.T, r resp, status int, contains string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if !strings.Contains(string(r.body), contains) {
		t.Fatalf("body %q does not say %q", r.body, contains)
	}
}

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// versionsLines returns /versions without its header.
func versionsLines(t *testing.T, body []byte) []string {
	t.Helper()
	s := string(body)
	_, rest, ok := strings.Cut(s, "---\n")
	if !ok || !strings.HasPrefix(s, "created_at: ") {
		t.Fatalf("/versions has no header: %q", s)
	}
	return strings.Split(strings.TrimSuffix(rest, "\n"), "\n")
}

// TestCompactIndex pushes gems in several versions and platforms and reads
// them back as bundler does, through the compact index.
func TestCompactIndex(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		env.User("alice")
		tok := env.Token("alice", "read:packages,write:packages,delete:packages")
		f := newFixture(t, env, Options{})
		hello1 := f.push("alice", tok, testGem{name: "hello", version: "1.0.0"})
		f.push("alice", tok, testGem{name: "hello", version: "1.1.0", requiredRuby: ">= 2.7"})
		f.push("alice", tok, testGem{name: "hello", version: "2.0.0.pre1"})
		f.push("alice", tok, testGem{name: "native", version: "1.0.0"})
		native := f.push("alice", tok, testGem{name: "native", version: "1.0.0", platform: "x86_64-linux"})
		f.push("alice", tok, testGem{name: "app", version: "0.1.0", deps: []string{"runtime hello ~> 1.0", "development rake >= 0"}})

		r := f.get("/rubygems/alice/versions", tok)
		wantStatus(t, r, 200, "")
		info := map[string][]byte{}
		for _, n := range []string{"hello", "native", "app"} {
			ir := f.get("/rubygems/alice/info/"+n, tok)
			wantStatus(t, ir, 200, "---\n")
			info[n] = ir.body
			if et := ir.header.Get("ETag"); et != `"`+md5hex(ir.body)+`"` {
				t.Fatalf("info/%s ETag %s", n, et)
			}
		}
		lines := versionsLines(t, r.body)
		want := []string{
			"hello 1.0.0 ", "hello 1.1.0 ", "hello 2.0.0.pre1 ", "native 1.0.0 ", "native 1.0.0-x86_64-linux ", "app 0.1.0 ",
		}
		if len(lines) != len(want) {
			t.Fatalf("/versions lines %q", lines)
		}
		for i, l := range lines {
			if !strings.HasPrefix(l, want[i]) {
				t.Fatalf("line %d %q, want %q…", i, l, want[i])
			}
		}
		// The last line of each gem carries the checksum of its info file.
		last := map[string]string{}
		for _, l := range lines {
			fs := strings.Fields(l)
			last[fs[0]] = fs[2]
		}
		for n, b := range info {
			if last[n] != md5hex(b) {
				t.Fatalf("/versions checksum of %s is %s, its info's MD5 %s", n, last[n], md5hex(b))
			}
		}
		if got, want := string(info["hello"]), "---\n1.0.0 |checksum:"+sha256hex(hello1)+"\n1.1.0 |checksum:"; !strings.HasPrefix(got, want) ||
			!strings.Contains(got, ",ruby:>= 2.7\n2.0.0.pre1 |checksum:") {
			t.Fatalf("info/hello:\n%s", got)
		}
		if got := string(info["native"]); !strings.Contains(got, "\n1.0.0-x86_64-linux |checksum:"+sha256hex(native)+"\n") {
			t.Fatalf("info/native:\n%s", got)
		}
		if got := string(info["app"]); !strings.Contains(got, "0.1.0 hello:~> 1.0|checksum:") {
			t.Fatalf("info/app (development dependencies stay out):\n%s", got)
		}
		sum := sha256.Sum256(r.body)
		if rd := r.header.Get("Repr-Digest"); rd != "sha-256=:"+base64.StdEncoding.EncodeToString(sum[:])+":" {
			t.Fatalf("Repr-Digest %q", rd)
		}
		if d := r.header.Get("Digest"); d != "SHA-256="+base64.StdEncoding.EncodeToString(sum[:]) {
			t.Fatalf("Digest %q", d)
		}
		etag := r.header.Get("ETag")
		if etag != `"`+md5hex(r.body)+`"` {
			t.Fatalf("ETag %q", etag)
		}
		wantStatus(t, f.get("/rubygems/alice/versions", tok, "If-None-Match", etag), http.StatusNotModified, "")
		if n := f.get("/rubygems/alice/names", tok); string(n.body) != "---\napp\nhello\nnative\n" {
			t.Fatalf("/names %q", n.body)
		}

		// Changes only append: a client's copy is extended with a range.
		old := r.body
		f.push("alice", tok, testGem{name: "hello", version: "1.2.0"})
		wantStatus(t, f.yank("alice", tok, "hello", "1.0.0", ""), 200, "Successfully deleted gem: hello (1.0.0)")
		rr := f.get("/rubygems/alice/versions", tok, "Range", "bytes="+itoa(len(old)-1)+"-", "If-None-Match", etag)
		wantStatus(t, rr, http.StatusPartialContent, "")
		full := append(append([]byte(nil), old[:len(old)-1]...), rr.body...)
		if got := rr.header.Get("ETag"); got != `"`+md5hex(full)+`"` {
			t.Fatalf("after appending the range, MD5 %s; ETag %s", md5hex(full), got)
		}
		lines = versionsLines(t, full)
		helloInfo := f.get("/rubygems/alice/info/hello", tok).body
		if tail := lines[len(lines)-2:]; !strings.HasPrefix(tail[0], "hello 1.2.0 ") || tail[1] != "hello -1.0.0 "+md5hex(helloInfo) {
			t.Fatalf("appended lines %q; info %s:\n%s", tail, md5hex(helloInfo), helloInfo)
		}
		if strings.Contains(string(helloInfo), "\n1.0.0 ") {
			t.Fatalf("yanked version in info:\n%s", helloInfo)
		}

		// A restore through the REST API brings it back, as a new line.
		a := env.Actor(tok)
		_, vs, _, err := env.Service.ListVersions(context.Background(), a, gemRef("alice", "hello"), packages.Deleted, packages.Page{}, packages.ViaREST)
		if err != nil || len(vs) != 1 {
			t.Fatalf("deleted versions %v %v", vs, err)
		}
		if err := env.Service.RestoreVersion(context.Background(), a, gemRef("alice", "hello"), vs[0].ID, packages.ViaREST); err != nil {
			t.Fatal(err)
		}
		lines = versionsLines(t, f.get("/rubygems/alice/versions", tok).body)
		if l := lines[len(lines)-1]; !strings.HasPrefix(l, "hello 1.0.0 ") {
			t.Fatalf("restore line %q", l)
		}
		if !strings.Contains(string(f.get("/rubygems/alice/info/hello", tok).body), "\n1.0.0 |checksum:") {
			t.Fatal("restored version not in info")
		}
	})
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestLegacyIndexes reads specs.4.8.gz and its kin, the quick gemspecs
// and the dependency API.
func TestLegacyIndexes(t *testing.T) {
	env := testenv.New(t, "sqlite")
	env.User("alice")
	tok := env.Token("alice", "write:packages")
	f := newFixture(t, env, Options{})
	f.push("alice", tok, testGem{name: "hello", version: "1.0.0"})
	f.push("alice", tok, testGem{name: "hello", version: "1.10.0"})
	f.push("alice", tok, testGem{name: "hello", version: "1.2.0"})
	f.push("alice", tok, testGem{name: "hello", version: "2.0.0.rc1"})
	f.push("alice", tok, testGem{name: "native", version: "1.0.0", platform: "x86_64-linux"})
	f.push("alice", tok, testGem{name: "app", version: "0.1.0", deps: []string{"runtime hello >= 1.0"}})

	read := func(path string) any {
		t.Helper()
		r := f.get("/rubygems/alice/"+path, tok)
		wantStatus(t, r, 200, "")
		zr, err := gzip.NewReader(bytes.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(zr)
		v, err := unmarshal(b)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tuples := func(v any) []string {
		var out []string
		for _, e := range v.([]any) {
			a := e.([]any)
			out = append(out, a[0].(readString).S+" "+a[1].(readUser).Data.([]any)[0].(readString).S+" "+a[2].(readString).S)
		}
		return out
	}
	for path, want := range map[string]string{
		specsIndex:      "app 0.1.0 ruby,hello 1.0.0 ruby,hello 1.2.0 ruby,hello 1.10.0 ruby,native 1.0.0 x86_64-linux",
		latestIndex:     "app 0.1.0 ruby,hello 1.10.0 ruby,native 1.0.0 x86_64-linux",
		prereleaseIndex: "hello 2.0.0.rc1 ruby",
	} {
		if got := strings.Join(tuples(read(path)), ","); got != want {
			t.Errorf("%s: %s, want %s", path, got, want)
		}
	}
	q := f.get("/rubygems/alice/quick/Marshal.4.8/native-1.0.0-x86_64-linux.gemspec.rz", tok)
	wantStatus(t, q, 200, "")
	zr, err := zlib.NewReader(bytes.NewReader(q.body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(zr)
	v, err := unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if u := v.(readUser); u.Class != "Gem::Specification" {
		t.Fatalf("quick spec %+v", v)
	}
	runRuby(t, `require "rubygems"; s = Marshal.load(Gem::Util.inflate(File.binread(ARGV[0]))); exit(s.full_name == "native-1.0.0-x86_64-linux" ? 0 : 1)`, q.body)
	wantStatus(t, f.get("/rubygems/alice/quick/Marshal.4.8/native-1.0.0.gemspec.rz", tok), 404, "")

	deps := f.get("/rubygems/alice/api/v1/dependencies?gems=app,hello,nothere", tok)
	wantStatus(t, deps, 200, "")
	got := runRuby(t, `d = Marshal.load(File.binread(ARGV[0])); puts d.map { |h| [h[:name], h[:number], h[:platform], h[:dependencies].inspect].join(" ") }`, deps.body)
	if want := "app 0.1.0 ruby [[\"hello\", \">= 1.0\"]]\nhello 1.0.0 ruby []\nhello 1.2.0 ruby []\nhello 1.10.0 ruby []\nhello 2.0.0.rc1 ruby []"; got != want {
		t.Fatalf("dependencies:\n%s\nwant:\n%s", got, want)
	}
	var js []dependencyJSON
	if err := json.Unmarshal(f.get("/rubygems/alice/api/v1/dependencies.json?gems=app", tok).body, &js); err != nil || len(js) != 1 || js[0].Dependencies[0] != [2]string{"hello", ">= 1.0"} {
		t.Fatalf("dependencies.json %+v %v", js, err)
	}
	if r := f.get("/rubygems/alice/api/v1/dependencies", tok); r.status != 200 || len(r.body) != 0 {
		t.Fatalf("empty dependency request: %d %q", r.status, r.body)
	}
	many := strings.Repeat("a,", maxDependencyNames+1)
	wantStatus(t, f.get("/rubygems/alice/api/v1/dependencies?gems="+many, tok), 422, "Too many gems")
}

// TestDownloadAndJSON downloads a gem, counts it, and reads rubygems.org's
// JSON about it.
func TestDownloadAndJSON(t *testing.T) {
	env := testenv.New(t, "sqlite")
	env.User("alice")
	env.Repo("alice/hello", packages.Private)
	tok := env.Token("alice", "write:packages")
	f := newFixture(t, env, Options{})
	gem := f.push("alice", tok, testGem{name: "hello", version: "1.0.0", metadata: map[string]string{"github_repo": "ssh://github.com/alice/hello"},
		deps: []string{"runtime rack >= 2", "development rake >= 0"}})
	f.push("alice", tok, testGem{name: "hello", version: "1.1.0.beta"})

	for _, style := range []string{rawKey, bearer, basic} {
		r := f.do("GET", "/rubygems/alice/gems/hello-1.0.0.gem", tok, style, nil)
		wantStatus(t, r, 200, "")
		if !bytes.Equal(r.body, gem) {
			t.Fatalf("%s: downloaded %d bytes, pushed %d", style, len(r.body), len(gem))
		}
	}
	wantStatus(t, f.do("HEAD", "/rubygems/alice/gems/hello-1.0.0.gem", tok, basic, nil), 200, "")
	wantStatus(t, f.get("/rubygems/alice/gems/hello-1.0.0.gem", tok, "Range", "bytes=0-9"), http.StatusPartialContent, "")
	wantStatus(t, f.get("/rubygems/alice/gems/hello-9.0.0.gem", tok), 404, "")
	if err := env.Service.FlushDownloads(context.Background()); err != nil {
		t.Fatal(err)
	}
	a := env.Actor(tok)
	pi, vi, err := env.Service.GetVersionByName(context.Background(), a, gemRef("alice", "hello"), "1.0.0", packages.ViaRegistry)
	if err != nil {
		t.Fatal(err)
	}
	if vi.DownloadCount != 3 {
		t.Fatalf("%d downloads counted, want 3 (HEAD and ranges do not count)", vi.DownloadCount)
	}
	if pi.Repository == nil || pi.Repository.Name != "hello" {
		t.Fatal("the gem is not linked to alice/hello")
	}

	var g map[string]any
	if err := json.Unmarshal(f.get("/rubygems/alice/api/v1/gems/hello.json", tok).body, &g); err != nil {
		t.Fatal(err)
	}
	if g["name"] != "hello" || g["version"] != "1.0.0" || g["downloads"] != float64(3) || g["sha"] != sha256hex(gem) ||
		g["gem_uri"] != f.front.URL+"/rubygems/alice/gems/hello-1.0.0.gem" || g["licenses"].([]any)[0] != "MIT" {
		t.Fatalf("gems/hello.json %v", g)
	}
	deps := g["dependencies"].(map[string]any)
	if rt := deps["runtime"].([]any); len(rt) != 1 || rt[0].(map[string]any)["requirements"] != ">= 2" || len(deps["development"].([]any)) != 1 {
		t.Fatalf("dependencies %v", deps)
	}
	var vs []map[string]any
	if err := json.Unmarshal(f.get("/rubygems/alice/api/v1/versions/hello.json", tok).body, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || vs[0]["number"] != "1.1.0.beta" || vs[0]["prerelease"] != true || vs[1]["downloads_count"] != float64(3) {
		t.Fatalf("versions/hello.json %v", vs)
	}
	wantStatus(t, f.get("/rubygems/alice/api/v1/gems/nothere.json", tok), 404, "")
}

// TestPushRefused: bad gems and bad callers get a clear 4xx, in plain
// text, and leave nothing behind.
func TestPushRefused(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		env.User("alice")
		env.User("bob")
		tok := env.Token("alice", "write:packages")
		f := newFixture(t, env, Options{MaxGemSize: 64 << 10, MaxMetadataSize: 16 << 10})
		valid := testGem{name: "hello", version: "1.0.0"}.build(t)
		for _, tc := range []struct {
			name   string
			token  string
			body   []byte
			status int
			msg    string
		}{
			{"anonymous", "", valid, 401, "Authentication is required"},
			{"bad token", "phk_nope", valid, 401, "Bad credentials"},
			{"read-only token", env.Token("alice", "read:packages"), valid, 403, "write:packages"},
			{"another's namespace", env.Token("bob", "write:packages"), valid, 403, "permission"},
			{"empty", tok, []byte{}, 422, "no metadata.gz"},
			{"corrupt", tok, []byte(strings.Repeat("not a gem ", 100)), 422, "not a tar archive"},
			{"truncated", tok, valid[:len(valid)-1100], 422, "truncated"},
			{"too large", tok, testGem{name: "big", version: "1", data: map[string]string{"lib/big.rb": randomText(200 << 10)}}.build(t), 413, "larger than"},
			{"huge metadata", tok, testGem{name: "big", version: "1", summary: strings.Repeat("x", 20<<10)}.build(t), 413, "metadata.gz unpacks to more than"},
			{"dot dot", tok, testGem{name: "x", version: "1", entries: map[string][]byte{"../../x": []byte("x")}}.build(t), 422, `".."`},
			{"absolute path", tok, testGem{name: "x", version: "1", entries: map[string][]byte{"/tmp/x": []byte("x")}}.build(t), 422, "absolute"},
			{"checksum mismatch", tok, testGem{name: "x", version: "1", badChecksum: true}.build(t), 422, "does not match"},
			{"bad name", tok, testGem{name: "x;y", version: "1"}.build(t), 422, "not a valid gem name"},
			{"bad version", tok, testGem{name: "x", version: "one"}.build(t), 422, "not a valid version"},
			{"yaml alias", tok, testGem{spec: "--- !ruby/object:Gem::Specification\nname: &n x\nversion: '1'\nsummary: *n\n"}.build(t), 422, "anchors"},
			{"ruby object", tok, testGem{spec: "--- !ruby/object:Gem::Specification\nname: x\nversion: '1'\nsummary: !ruby/object:Gem::Requirement::BadRequirementError {}\n"}.build(t), 422, "is not allowed"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := f.do("POST", "/rubygems/alice/api/v1/gems", tc.token, rawKey, tc.body)
				wantStatus(t, r, tc.status, tc.msg)
				if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
					t.Fatalf("content type %q", ct)
				}
				if tc.status == 401 && r.header.Get("WWW-Authenticate") == "" {
					t.Fatal("401 without a challenge")
				}
				if strings.HasPrefix(string(r.body), "The API key doesn't have access") {
					t.Fatal("this message makes gem prompt for a password")
				}
			})
		}
		_, pkgs, err := env.Service.OwnerPackages(context.Background(), env.Actor(tok), "alice", packages.TypeRubyGems)
		if err != nil || len(pkgs) != 0 {
			t.Fatalf("refused pushes left packages: %v %v", pkgs, err)
		}

		f.push("alice", tok, testGem{name: "hello", version: "1.0.0"})
		wantStatus(t, f.do("POST", "/rubygems/alice/api/v1/gems", tok, bearer, valid), 409, "Repushing of gem versions is not allowed")
		// Another platform of the same version is welcome; the same one
		// again is not.
		f.push("alice", tok, testGem{name: "hello", version: "1.0.0", platform: "java"})
		wantStatus(t, f.do("POST", "/rubygems/alice/api/v1/gems", tok, basic, testGem{name: "hello", version: "1.0.0", platform: "java", summary: "other"}.build(t)), 409, "Repushing")
		wantStatus(t, f.do("POST", "/rubygems/alice/api/v1/gems", tok, rawKey, testGem{name: "Hello", version: "2.0.0"}.build(t)), 409, "already a gem named hello")
		wantStatus(t, f.do("GET", "/rubygems/alice/api/v1/gems", tok, rawKey, nil), 405, "")
		// One file name, two gems: "a" 1.0 for x86_64-linux-2 and
		// "a-1.0-x86_64-linux" 2 are both a-1.0-x86_64-linux-2.gem.
		f.push("alice", tok, testGem{name: "a", version: "1.0", platform: "x86_64-linux-2"})
		wantStatus(t, f.do("POST", "/rubygems/alice/api/v1/gems", tok, rawKey, testGem{name: "a-1.0-x86_64-linux", version: "2"}.build(t)), 409, "Another gem of alice has a file named a-1.0-x86_64-linux-2.gem")
		f.push("alice", tok, testGem{name: "b-2.0-universal-java", version: "1"})
		wantStatus(t, f.do("POST", "/rubygems/alice/api/v1/gems", tok, rawKey, testGem{name: "b", version: "2.0", platform: "universal-java-1"}.build(t)), 409, "b-2.0-universal-java-1.gem")
	})
}

func randomText(n int) string {
	var b strings.Builder
	x := uint32(2463534242)
	for b.Len() < n {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b.WriteByte(byte('a' + x%26))
	}
	return b.String()
}

// TestPrivateGems: what a caller may not read is left out of the indexes,
// and answers as a missing gem does.
func TestPrivateGems(t *testing.T) {
	env := testenv.New(t, "sqlite")
	env.User("alice")
	env.User("bob")
	alice := env.Token("alice", "write:packages,delete:packages")
	bob := env.Token("bob", "read:packages")
	f := newFixture(t, env, Options{})
	f.push("alice", alice, testGem{name: "secret", version: "1.0.0"})
	f.push("alice", alice, testGem{name: "open", version: "1.0.0"})
	if err := env.Service.SetPackageVisibility(context.Background(), env.Actor(alice), gemRef("alice", "open"), packages.Public); err != nil {
		t.Fatal(err)
	}
	// The owner's download is remembered; it must not open the gem to
	// others.
	wantStatus(t, f.get("/rubygems/alice/gems/secret-1.0.0.gem", alice), 200, "")
	for _, who := range []struct{ name, token string }{{"anonymous", ""}, {"bob", bob}} {
		lines := versionsLines(t, f.get("/rubygems/alice/versions", who.token).body)
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "open 1.0.0 ") {
			t.Fatalf("%s sees %q", who.name, lines)
		}
		wantStatus(t, f.get("/rubygems/alice/info/open", who.token), 200, "1.0.0")
		private := f.get("/rubygems/alice/info/secret", who.token)
		missing := f.get("/rubygems/alice/info/nothere", who.token)
		if private.status != missing.status || string(private.body) != string(missing.body) {
			t.Fatalf("%s tells a private gem (%d %s) from a missing one (%d %s)", who.name, private.status, private.body, missing.status, missing.body)
		}
		want := 404
		if who.token == "" {
			want = 401
		}
		wantStatus(t, private, want, "")
		for _, p := range []string{"gems/secret-1.0.0.gem", "quick/Marshal.4.8/secret-1.0.0.gemspec.rz", "api/v1/gems/secret.json"} {
			if r := f.get("/rubygems/alice/"+p, who.token); r.status != want {
				t.Fatalf("%s GET %s: %d", who.name, p, r.status)
			}
		}
		deps := f.get("/rubygems/alice/api/v1/dependencies.json?gems=secret,open", who.token)
		if !strings.Contains(string(deps.body), `"open"`) || strings.Contains(string(deps.body), "secret") {
			t.Fatalf("%s dependencies %s", who.name, deps.body)
		}
	}
	if r := f.get("/rubygems/alice/info/secret", alice); r.status != 200 {
		t.Fatalf("the owner reads its gem: %d", r.status)
	}
	wantStatus(t, f.do("HEAD", "/rubygems/alice/", "", basic, nil), 200, "")
	if r := f.get("/rubygems/nobody/versions", ""); r.status != 401 {
		t.Fatalf("unknown owner: %d", r.status)
	}
}

// TestYank yanks versions as gem yank does.
func TestYank(t *testing.T) {
	env := testenv.New(t, "sqlite")
	env.User("alice")
	env.User("bob")
	tok := env.Token("alice", "read:packages,write:packages,delete:packages")
	f := newFixture(t, env, Options{})
	f.push("alice", tok, testGem{name: "hello", version: "1.0.0"})
	f.push("alice", tok, testGem{name: "native", version: "1.0.0"})
	f.push("alice", tok, testGem{name: "native", version: "1.0.0", platform: "x86_64-linux"})
	f.push("alice", tok, testGem{name: "solo", version: "1.0.0", platform: "java"})

	wantStatus(t, f.yank("alice", env.Token("alice", "write:packages"), "hello", "1.0.0", ""), 403, "delete:packages")
	wantStatus(t, f.yank("alice", "", "hello", "1.0.0", ""), 401, "")
	wantStatus(t, f.yank("alice", env.Token("bob", "read:packages,delete:packages"), "hello", "1.0.0", ""), 404, "")
	wantStatus(t, f.yank("alice", tok, "hello", "9.9.9", ""), 404, "The version 9.9.9 does not exist")
	wantStatus(t, f.yank("alice", tok, "hello", "", ""), 400, "required")
	wantStatus(t, f.yank("alice", tok, "native", "1.0.0", "x86_64-linux"), 422, "yank it without --platform")
	wantStatus(t, f.yank("alice", tok, "native", "1.0.0", "java"), 404, "does not exist")
	wantStatus(t, f.yank("alice", tok, "solo", "1.0.0", "java"), 200, "Successfully deleted gem: solo (1.0.0)")
	// The last version goes, and the gem stays, as on rubygems.org; a
	// download seen before the yank is refused after it.
	wantStatus(t, f.get("/rubygems/alice/gems/hello-1.0.0.gem", tok), 200, "")
	wantStatus(t, f.yank("alice", tok, "hello", "1.0.0", ""), 200, "Successfully deleted")
	wantStatus(t, f.get("/rubygems/alice/gems/hello-1.0.0.gem", tok), 404, "")
	if info := f.get("/rubygems/alice/info/hello", tok); string(info.body) != "---\n" {
		t.Fatalf("info of a gem without versions %q", info.body)
	}
	lines := versionsLines(t, f.get("/rubygems/alice/versions", tok).body)
	if l := lines[len(lines)-1]; !strings.HasPrefix(l, "hello -1.0.0 "+md5hex([]byte("---\n"))) {
		t.Fatalf("yank line %q", l)
	}
	if l := lines[len(lines)-2]; !strings.HasPrefix(l, "solo -1.0.0-java ") {
		t.Fatalf("yank line %q", l)
	}
}
