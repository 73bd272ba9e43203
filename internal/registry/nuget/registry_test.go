package nuget_test

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/registry/nuget"
	"github.com/packhub/packhub/internal/testenv"
)

// Bad pushes get a clear 4xx and store nothing: no package, no blob.
func TestPushBadInput(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		w := newWorld(t, env, nuget.Options{MaxPackageSize: 256 << 10, MaxUnpackedSize: 1 << 20})
		bomb := func() []byte {
			var buf bytes.Buffer
			zw := zip.NewWriter(&buf)
			f, _ := zw.Create("Octo.Bomb.nuspec")
			f.Write([]byte(nuspec("Octo.Bomb", "1.0.0", "")))
			f, _ = zw.Create("lib/zeros.bin")
			f.Write(make([]byte, 8<<20)) // 8 MiB of zeros: a few KiB packed
			zw.Close()
			return buf.Bytes()
		}()
		damaged := func() []byte {
			var buf bytes.Buffer
			zw := zip.NewWriter(&buf)
			f, _ := zw.Create("Octo.Damaged.nuspec")
			f.Write([]byte(nuspec("Octo.Damaged", "1.0.0", "")))
			f, _ = zw.CreateHeader(&zip.FileHeader{Name: "lib/a.dll", Method: zip.Store})
			f.Write([]byte("ORIGINAL-CONTENT"))
			zw.Close()
			b := buf.Bytes()
			i := bytes.Index(b, []byte("ORIGINAL-CONTENT"))
			b[i] = 'X' // the checksum no longer matches
			return b
		}()
		tooLarge := make([]byte, 300<<10)
		rand.Read(tooLarge)
		symbols := nupkg(t, "Octo.Sym", "1.0.0", `<packageTypes><packageType name="SymbolsPackage" /></packageTypes>`)
		ct, _ := multipartBody(nil)
		noFile := func() (string, []byte) {
			var buf bytes.Buffer
			fmt.Fprintf(&buf, "--%s\r\nContent-Disposition: form-data; name=\"apikey\"\r\n\r\nvalue\r\n--%s--\r\n", boundaryOf(ct), boundaryOf(ct))
			return ct, buf.Bytes()
		}
		tests := []struct {
			name   string
			path   string
			ct     string
			body   []byte
			status int
			msg    string
		}{
			{"zip bomb", "/api/v2/package", "", bomb, 400, "unpacks to more than"},
			{"no nuspec", "/api/v2/package", "", zipOf(t, entry{"lib/a.dll", []byte("MZ")}), 400, "no .nuspec"},
			{"two nuspecs", "/api/v2/package", "", zipOf(t, entry{"Octo.Two.nuspec", []byte(nuspec("Octo.Two", "1.0.0", ""))}, entry{"Other.nuspec", []byte(nuspec("Other", "1.0.0", ""))}), 400, "more than one .nuspec"},
			{"id disagrees with the file", "/api/v2/package", "", zipOf(t, entry{"Octo.Other.nuspec", []byte(nuspec("Octo.Id", "1.0.0", ""))}), 400, "does not match the package id"},
			{"invalid version", "/api/v2/package", "", nupkg(t, "Octo.Ver", "1.0.0-beta..1", ""), 400, "not a valid version"},
			{"invalid id", "/api/v2/package", "", zipOf(t, entry{"Octo..Bad.nuspec", []byte(nuspec("Octo..Bad", "1.0.0", ""))}), 400, "not a valid package id"},
			{"path traversal", "/api/v2/package", "", nupkg(t, "Octo.Trav", "1.0.0", "", entry{"lib/../../evil.dll", []byte("MZ")}), 400, "leaves the package"},
			{"absolute path", "/api/v2/package", "", nupkg(t, "Octo.Abs", "1.0.0", "", entry{"/etc/evil", []byte("MZ")}), 400, "leaves the package"},
			{"drive letter", "/api/v2/package", "", nupkg(t, "Octo.Drive", "1.0.0", "", entry{`C:\evil.dll`, []byte("MZ")}), 400, "leaves the package"},
			{"escaped traversal", "/api/v2/package", "", nupkg(t, "Octo.Esc", "1.0.0", "", entry{"lib/%2e%2e/evil.dll", []byte("MZ")}), 400, "leaves the package"},
			{"duplicate entry", "/api/v2/package", "", nupkg(t, "Octo.Dup", "1.0.0", "", entry{"lib/net45/Octo.Dup.dll", []byte("MZ")}), 400, "twice"},
			{"damaged entry", "/api/v2/package", "", damaged, 400, "damaged"},
			{"not a zip", "/api/v2/package", "", []byte("this is not a zip archive at all, not even close"), 400, "not a zip"},
			{"invalid nuspec xml", "/api/v2/package", "", zipOf(t, entry{"Octo.Xml.nuspec", []byte("<package><metadata><id>Octo.Xml</id>")}), 400, "invalid .nuspec"},
			{"invalid dependency range", "/api/v2/package", "", nupkg(t, "Octo.Dep", "1.0.0", `<dependencies><dependency id="Octo.B" version="[2.0,1.0]" /></dependencies>`), 400, "version range"},
			{"missing readme", "/api/v2/package", "", nupkg(t, "Octo.Readme", "1.0.0", `<readme>docs/README.md</readme>`), 400, "readme"},
			{"symbols to the package endpoint", "/api/v2/package", "", symbols, 400, "symbol package"},
			{"package to the symbol endpoint", "/api/v2/symbolpackage", "", nupkg(t, "Octo.NotSym", "1.0.0", ""), 400, "not a symbol package"},
			{"symbols of a missing version", "/api/v2/symbolpackage", "", symbols, 404, "not found"},
			{"body over the limit", "/api/v2/package", "", tooLarge, 413, "larger than the limit"},
		}
		for _, tt := range tests {
			code, body := w.push(tt.path, tt.body, w.token)
			if code != tt.status || !contains(body, tt.msg) {
				t.Errorf("%s: %d %q, want %d with %q", tt.name, code, body, tt.status, tt.msg)
			}
		}
		raw := []struct {
			name, ct string
			body     []byte
			msg      string
		}{
			{"no file part", ct, func() []byte { _, b := noFile(); return b }(), "no package file part"},
			{"not multipart", "application/octet-stream", nupkg(t, "Octo.Raw", "1.0.0", ""), "multipart/form-data"},
			{"truncated multipart", ct, func() []byte { _, b := multipartBody(nupkg(t, "Octo.Cut", "1.0.0", "")); return b[:len(b)/2] }(), "multipart body is not valid"},
		}
		for _, tt := range raw {
			code, body := w.put("/api/v2/package", tt.ct, tt.body, w.token)
			if code != http.StatusBadRequest || !contains(body, tt.msg) {
				t.Errorf("%s: %d %q, want 400 with %q", tt.name, code, body, tt.msg)
			}
		}
		pkgs, _, err := env.Service.SearchOwnerPackages(ctx, env.Actor(w.token), packages.SearchOwnerRequest{Owner: "octo", Type: packages.TypeNuGet})
		if err != nil || len(pkgs) != 0 {
			t.Errorf("bad pushes left packages: %v %v", pkgs, err)
		}
		if n := w.blobCount(); n != 0 {
			t.Errorf("bad pushes left %d blobs", n)
		}
	})
}

func boundaryOf(contentType string) string {
	_, b, _ := strings.Cut(contentType, "boundary=")
	return b
}

// A pushed package is served by every read resource, with its metadata,
// dependencies, readme and repository link.
func TestPushAndRead(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		w := newWorld(t, env, nuget.Options{})
		extra := `<readme>docs/README.md</readme>
    <license type="expression">MIT</license>
    <tags>octo, hello;world</tags>
    <title>Hello</title>
    <projectUrl>https://example.com/hello</projectUrl>
    <repository type="git" url="https://github.com/octo/open.git" />
    <dependencies>
      <group targetFramework="net45"><dependency id="Octo.Dep" version="1.0" /></group>
      <group targetFramework="netstandard2.0"><dependency id="Octo.Dep" version="[1.0,2.0)" /><dependency id="Other" /></group>
    </dependencies>`
		pkg := nupkg(t, "Octo.Hello", "1.0", extra, entry{"docs/README.md", []byte("# Hello\n")})
		w.mustPush(pkg)
		w.mustPush(nupkg(t, "octo.hello", "2.0.0-rc.1+build.7", ""))
		w.mustPush(nupkg(t, "Octo.Hello", "1.1.0-Beta", ""))
		if code, body := w.push("/api/v2/package", nupkg(t, "OCTO.HELLO", "1.1.0-beta", ""), w.token); code != http.StatusConflict {
			t.Fatalf("the same version in another case: %d %s", code, body)
		}
		if code, body := w.push("/api/v2/package", nupkg(t, "Octo.Hello", "1.0.0.0", ""), w.token); code != http.StatusConflict || !contains(body, "already contains") {
			t.Fatalf("1.0.0.0 again as 1.0: %d %s", code, body)
		}

		var flat struct{ Versions []string }
		w.getJSON("/v3-flatcontainer/octo.hello/index.json", &flat)
		if want := []string{"1.0.0", "1.1.0-beta", "2.0.0-rc.1"}; !slices.Equal(flat.Versions, want) {
			t.Fatalf("flat versions %v, want %v", flat.Versions, want)
		}
		code, b, h := w.get("/v3-flatcontainer/octo.hello/1.0.0/octo.hello.1.0.0.nupkg", w.token)
		if code != 200 || !bytes.Equal(b, pkg) || h.Get("ETag") == "" {
			t.Fatalf("nupkg: %d, %d bytes", code, len(b))
		}
		if code, b, _ := w.get("/v3-flatcontainer/Octo.Hello/1.0/OCTO.HELLO.1.0.0.NUPKG", w.token); code != 200 || !bytes.Equal(b, pkg) {
			t.Fatalf("nupkg by another case and form of the version: %d", code)
		}
		if code, b, _ := w.get("/v3-flatcontainer/octo.hello/1.0.0/octo.hello.nuspec", w.token); code != 200 || !bytes.Contains(b, []byte("<readme>docs/README.md</readme>")) {
			t.Fatalf("nuspec: %d %s", code, b)
		}
		if code, b, h := w.get("/v3-flatcontainer/octo.hello/1.0.0/readme", w.token); code != 200 || string(b) != "# Hello\n" || !strings.HasPrefix(h.Get("Content-Type"), "text/markdown") {
			t.Fatalf("readme: %d %q %s", code, b, h.Get("Content-Type"))
		}
		if code, _, _ := w.get("/v3-flatcontainer/octo.hello/1.1.0-beta/readme", w.token); code != 404 {
			t.Fatalf("readme of a version without one: %d", code)
		}

		// The registration hubs: SemVer 1.0.0 ones hide 2.0.0-rc.1; the
		// 3.4.0 and 3.6.0 ones come gzipped.
		for _, hub := range []struct {
			path     string
			gzip     bool
			versions []string
		}{
			{"/registration", false, []string{"1.0.0", "1.1.0-Beta"}},
			{"/registration-gz-semver1", true, []string{"1.0.0", "1.1.0-Beta"}},
			{"/registration-gz-semver2", true, []string{"1.0.0", "1.1.0-Beta", "2.0.0-rc.1"}},
		} {
			code, b, h := w.get(hub.path+"/octo.hello/index.json", w.token)
			if code != 200 || (h.Get("Content-Encoding") == "gzip") != hub.gzip {
				t.Fatalf("%s: %d, encoding %q", hub.path, code, h.Get("Content-Encoding"))
			}
			var idx registrationIndex
			if err := json.Unmarshal(b, &idx); err != nil {
				t.Fatal(err)
			}
			if idx.Count != 1 || len(idx.Items) != 1 || idx.Items[0].Count != len(hub.versions) {
				t.Fatalf("%s: %s", hub.path, b)
			}
			var got []string
			for _, l := range idx.Items[0].Items {
				got = append(got, l.CatalogEntry.Version)
			}
			if !slices.Equal(got, hub.versions) {
				t.Fatalf("%s shows %v, want %v", hub.path, got, hub.versions)
			}
			ce := idx.Items[0].Items[0].CatalogEntry
			if ce.ID != "Octo.Hello" || ce.Authors != "Octo Cat, Mona" || ce.LicenseExpression != "MIT" || ce.Title != "Hello" ||
				!slices.Equal(ce.Tags, []string{"octo", "hello", "world"}) || !ce.Listed || ce.PackageContent != w.feed+"/v3-flatcontainer/octo.hello/1.0.0/octo.hello.1.0.0.nupkg" ||
				ce.ReadmeURL == "" || len(ce.DependencyGroups) != 2 {
				t.Fatalf("%s catalog entry: %+v", hub.path, ce)
			}
			g := ce.DependencyGroups[1]
			if g.TargetFramework != "netstandard2.0" || len(g.Dependencies) != 2 || g.Dependencies[0].Range != "[1.0.0, 2.0.0)" || g.Dependencies[1].Range != "(, )" ||
				g.Dependencies[0].Registration != w.feed+hub.path+"/octo.dep/index.json" || ce.DependencyGroups[0].Dependencies[0].Range != "[1.0.0, )" {
				t.Fatalf("%s dependencies: %+v", hub.path, ce.DependencyGroups)
			}
		}
		if code, _, _ := w.get("/registration/octo.hello/2.0.0-rc.1.json", w.token); code != 404 {
			t.Fatalf("a SemVer 2.0.0 leaf on a SemVer 1.0.0 hub: %d", code)
		}
		var leaf struct {
			CatalogEntry   string `json:"catalogEntry"`
			PackageContent string `json:"packageContent"`
			Listed         bool   `json:"listed"`
		}
		w.getJSON("/registration-gz-semver2/octo.hello/2.0.0-rc.1.json", &leaf)
		if !leaf.Listed || !strings.HasSuffix(leaf.PackageContent, "/octo.hello.2.0.0-rc.1.nupkg") {
			t.Fatalf("leaf: %+v", leaf)
		}
		var ce catalogEntry
		w.getJSON(strings.TrimPrefix(leaf.CatalogEntry, w.feed), &ce)
		if ce.Version != "2.0.0-rc.1" || ce.ID != "octo.hello" {
			t.Fatalf("catalog entry: %+v", ce)
		}

		// The package keeps the id of its first push, is linked to the
		// repository its .nuspec names, and is public as that repository is.
		pi, err := env.Service.GetPackage(ctx, env.Actor(w.token), w.ref("OCTO.hello"), packages.OpRead, packages.ViaRegistry)
		if err != nil || pi.Name != "Octo.Hello" || pi.Repository == nil || pi.Repository.Name != "open" || pi.Visibility != packages.Public {
			t.Fatalf("package: %+v %v", pi, err)
		}
		if err := env.Service.FlushDownloads(ctx); err != nil {
			t.Fatal(err)
		}
		_, v, err := env.Service.GetVersionByName(ctx, env.Actor(w.token), w.ref("Octo.Hello"), "1.0.0", packages.ViaRegistry)
		if err != nil || v.Description != "Octo.Hello for tests." || v.License != "MIT" {
			t.Fatalf("version: %+v %v", v, err)
		}

		// Whole GETs of a .nupkg count as downloads; HEAD and ranges do not.
		before := v.DownloadCount
		for _, m := range []string{http.MethodGet, http.MethodHead} {
			req, _ := http.NewRequest(m, w.feed+"/v3-flatcontainer/octo.hello/1.0.0/octo.hello.1.0.0.nupkg", nil)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
		}
		if err := env.Service.FlushDownloads(ctx); err != nil {
			t.Fatal(err)
		}
		_, v, _ = env.Service.GetVersionByName(ctx, env.Actor(w.token), w.ref("Octo.Hello"), "1.0.0", packages.ViaRegistry)
		if v.DownloadCount != before+1 {
			t.Fatalf("downloads %d, want %d", v.DownloadCount, before+1)
		}
	})
}

// The JSON shapes the tests read.
type (
	registrationIndex struct {
		Count int `json:"count"`
		Items []struct {
			ID    string `json:"@id"`
			Count int    `json:"count"`
			Lower string `json:"lower"`
			Upper string `json:"upper"`
			Items []struct {
				ID           string       `json:"@id"`
				CatalogEntry catalogEntry `json:"catalogEntry"`
			} `json:"items"`
		} `json:"items"`
	}
	catalogEntry struct {
		ID                string   `json:"id"`
		Version           string   `json:"version"`
		Authors           string   `json:"authors"`
		Title             string   `json:"title"`
		LicenseExpression string   `json:"licenseExpression"`
		Tags              []string `json:"tags"`
		Listed            bool     `json:"listed"`
		PackageContent    string   `json:"packageContent"`
		ReadmeURL         string   `json:"readmeUrl"`
		DependencyGroups  []struct {
			TargetFramework string `json:"targetFramework"`
			Dependencies    []struct {
				ID           string `json:"id"`
				Range        string `json:"range"`
				Registration string `json:"registration"`
			} `json:"dependencies"`
		} `json:"dependencyGroups"`
	}
)

// A package of more than 128 versions links its registration pages; one
// of fewer inlines them.
func TestRegistrationPages(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		w := newWorld(t, env, nuget.Options{})
		for i := range 130 {
			w.mustPush(nupkg(t, "Octo.Big", fmt.Sprintf("1.%d.0", i), ""))
		}
		for i := range 70 {
			w.mustPush(nupkg(t, "Octo.Mid", fmt.Sprintf("2.0.%d", i), ""))
		}
		var idx registrationIndex
		w.getJSON("/registration-gz-semver2/octo.big/index.json", &idx)
		if idx.Count != 3 || idx.Items[0].Count != 64 || idx.Items[2].Count != 2 || idx.Items[0].Lower != "1.0.0" || idx.Items[0].Upper != "1.63.0" {
			t.Fatalf("index of 130 versions: %+v", idx)
		}
		total := 0
		for _, p := range idx.Items {
			if len(p.Items) != 0 {
				t.Fatalf("a linked page has items inline")
			}
			var page registrationIndex
			var items struct {
				Items []struct {
					CatalogEntry catalogEntry `json:"catalogEntry"`
				} `json:"items"`
				Parent string `json:"parent"`
			}
			w.getJSON(strings.TrimPrefix(p.ID, w.feed), &items)
			total += len(items.Items)
			if items.Parent != w.feed+"/registration-gz-semver2/octo.big/index.json" || items.Items[0].CatalogEntry.Version != p.Lower {
				t.Fatalf("page %s: %+v %+v", p.ID, items.Parent, page)
			}
		}
		if total != 130 {
			t.Fatalf("pages hold %d versions", total)
		}
		if code, _, _ := w.get("/registration/octo.big/page/1.0.0/1.5.0.json", w.token); code != 404 {
			t.Fatalf("a page that does not exist: %d", code)
		}
		w.getJSON("/registration/octo.mid/index.json", &idx)
		if idx.Count != 2 || len(idx.Items[0].Items) != 64 || len(idx.Items[1].Items) != 6 || idx.Items[1].Upper != "2.0.69" {
			t.Fatalf("index of 70 versions: count %d", idx.Count)
		}
	})
}

// Reads of what the caller may not see are answered as reads of what does
// not exist: anonymous callers get the same 401 challenge, signed-in ones
// the same 404.
func TestReadPermissions(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		w := newWorld(t, env, nuget.Options{})
		env.User("stranger")
		env.User("friend")
		w.mustPush(nupkg(t, "Octo.Private", "1.0.0", ""))
		stranger := env.Token("stranger", testenv.AllScopes)
		friend := env.Token("friend", "read:packages")
		if err := env.Service.GrantPackageAccess(ctx, env.Actor(w.token), w.ref("Octo.Private"), "friend", packages.RoleRead); err != nil {
			t.Fatal(err)
		}
		paths := []string{"/v3-flatcontainer/%s/index.json", "/v3-flatcontainer/%s/1.0.0/%s.1.0.0.nupkg", "/registration/%s/index.json", "/registration-gz-semver2/%s/1.0.0.json"}
		for _, p := range paths {
			path := func(id string) string { return strings.ReplaceAll(p, "%s", id) }
			code1, b1, h1 := w.get(path("octo.private"), "")
			code2, b2, h2 := w.get(path("octo.missing"), "")
			if code1 != 401 || code2 != 401 || !bytes.Equal(b1, b2) || h1.Get("WWW-Authenticate") != `Basic realm="Packhub NuGet"` || h2.Get("WWW-Authenticate") != h1.Get("WWW-Authenticate") {
				t.Errorf("anonymous %s: %d %q / %d %q", p, code1, b1, code2, b2)
			}
			code1, b1, _ = w.get(path("octo.private"), stranger)
			code2, b2, _ = w.get(path("octo.missing"), stranger)
			if code1 != 404 || code2 != 404 || !bytes.Equal(b1, b2) {
				t.Errorf("stranger %s: %d %q / %d %q", p, code1, b1, code2, b2)
			}
			if code, b, _ := w.get(path("octo.private"), friend); code != 200 {
				t.Errorf("friend %s: %d %s", p, code, b)
			}
		}
		if code, _, _ := w.get("/registration/octo.private/index.json", "not-a-token"); code != 401 {
			t.Errorf("a bad token: %d", code)
		}
		// The service index needs nobody.
		var si struct {
			Resources []struct {
				ID   string `json:"@id"`
				Type string `json:"@type"`
			} `json:"resources"`
		}
		code, b, _ := w.get("/index.json", "")
		if err := json.Unmarshal(b, &si); code != 200 || err != nil {
			t.Fatalf("service index: %d %s", code, b)
		}
		var types []string
		for _, r := range si.Resources {
			types = append(types, r.Type)
		}
		for _, want := range []string{"PackagePublish/2.0.0", "PackageBaseAddress/3.0.0", "RegistrationsBaseUrl", "RegistrationsBaseUrl/3.0.0-beta",
			"RegistrationsBaseUrl/3.0.0-rc", "RegistrationsBaseUrl/3.4.0", "RegistrationsBaseUrl/3.6.0", "SearchQueryService", "SearchQueryService/3.0.0-beta",
			"SearchQueryService/3.0.0-rc", "SearchQueryService/3.5.0", "SearchAutocompleteService", "SymbolPackagePublish/4.9.0", "ReadmeUriTemplate/6.13.0"} {
			if !slices.Contains(types, want) {
				t.Errorf("the service index lacks %s", want)
			}
		}
	})
}

// Pushes need a token with write:packages, in X-NuGet-ApiKey or as a
// Basic password.
func TestPushPermissions(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		w := newWorld(t, env, nuget.Options{})
		env.User("stranger")
		pkg := nupkg(t, "Octo.Perm", "1.0.0", "")
		if code, _ := w.push("/api/v2/package", pkg, ""); code != 401 {
			t.Errorf("anonymous push: %d", code)
		}
		if code, body := w.push("/api/v2/package", pkg, env.Token("octo", "read:packages")); code != 403 || !contains(body, "write:packages") {
			t.Errorf("read-only push: %d %s", code, body)
		}
		if code, _ := w.push("/api/v2/package", pkg, env.Token("stranger", testenv.AllScopes)); code != 403 {
			t.Errorf("a stranger's push into octo's feed: %d", code)
		}
		if code, _ := w.push("/api/v2/package", pkg, "bogus"); code != 401 {
			t.Errorf("a bad key: %d", code)
		}
		ct, body := multipartBody(pkg)
		req, _ := http.NewRequest(http.MethodPut, w.feed+"/api/v2/package/", bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		req.SetBasicAuth("octo", w.token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusCreated {
			t.Errorf("push with Basic: %d", res.StatusCode)
		}
	})
}

func (w *world) delete(path, token string) int {
	w.t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, w.feed+path, nil)
	if token != "" {
		req.Header.Set("X-NuGet-ApiKey", token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// nuget delete goes through the service's delete: a restore brings the
// version back into the feed.
func TestDeleteAndRestore(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		w := newWorld(t, env, nuget.Options{})
		w.mustPush(nupkg(t, "Octo.Del", "1.0.0", ""))
		w.mustPush(nupkg(t, "Octo.Del", "1.1.0", ""))
		if code := w.delete("/api/v2/package/Octo.Del/1.1.0", env.Token("octo", "read:packages")); code != 403 {
			t.Fatalf("delete with a read-only token: %d", code)
		}
		if code := w.delete("/api/v2/package/Octo.Del/9.0.0", w.token); code != 404 {
			t.Fatalf("delete of a missing version: %d", code)
		}
		if code := w.delete("/api/v2/package/octo.del/1.1", w.token); code != 204 {
			t.Fatalf("delete: %d", code)
		}
		var flat struct{ Versions []string }
		w.getJSON("/v3-flatcontainer/octo.del/index.json", &flat)
		if !slices.Equal(flat.Versions, []string{"1.0.0"}) {
			t.Fatalf("after delete: %v", flat.Versions)
		}
		if code, _, _ := w.get("/v3-flatcontainer/octo.del/1.1.0/octo.del.1.1.0.nupkg", w.token); code != 404 {
			t.Fatalf("download of a deleted version: %d", code)
		}
		// The last version goes too, leaving an empty package.
		if code := w.delete("/api/v2/package/Octo.Del/1.0.0", w.token); code != 204 {
			t.Fatalf("delete of the last version: %d", code)
		}
		if code, _, _ := w.get("/registration/octo.del/index.json", w.token); code != 404 {
			t.Fatalf("registration of a package without versions: %d", code)
		}
		a := env.Actor(w.token)
		_, vs, _, err := env.Service.ListVersions(ctx, a, w.ref("Octo.Del"), packages.Deleted, packages.Page{}, packages.ViaREST)
		if err != nil || len(vs) != 2 {
			t.Fatalf("deleted versions: %v %v", vs, err)
		}
		for _, v := range vs {
			if err := env.Service.RestoreVersion(ctx, a, w.ref("Octo.Del"), v.ID, packages.ViaREST); err != nil {
				t.Fatal(err)
			}
		}
		w.getJSON("/v3-flatcontainer/octo.del/index.json", &flat)
		if !slices.Equal(flat.Versions, []string{"1.0.0", "1.1.0"}) {
			t.Fatalf("after restore: %v", flat.Versions)
		}
	})
}

// Symbol packages attach to the version they were built with and are
// served beside it.
func TestSymbols(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		w := newWorld(t, env, nuget.Options{})
		w.mustPush(nupkg(t, "Octo.Sym", "1.0.0", ""))
		snupkg := nupkg(t, "Octo.Sym", "1.0.0", `<packageTypes><packageType name="SymbolsPackage" /></packageTypes>`, entry{"lib/net45/Octo.Sym.pdb", []byte("BSJB")})
		for range 2 { // the same symbols twice change nothing
			if code, body := w.push("/api/v2/symbolpackage", snupkg, w.token); code != 201 {
				t.Fatalf("symbols push: %d %s", code, body)
			}
		}
		other := nupkg(t, "Octo.Sym", "1.0.0", `<packageTypes><packageType name="SymbolsPackage" /></packageTypes>`, entry{"lib/net45/Octo.Sym.pdb", []byte("OTHER")})
		if code, _ := w.push("/api/v2/symbolpackage", other, w.token); code != 409 {
			t.Fatalf("other symbols for the same version: %d", code)
		}
		if code, _ := w.push("/api/v2/symbolpackage", snupkg, env.Token("octo", "read:packages")); code != 403 {
			t.Fatalf("symbols push with a read-only token: %d", code)
		}
		code, b, _ := w.get("/v3-flatcontainer/octo.sym/1.0.0/octo.sym.1.0.0.snupkg", w.token)
		if code != 200 || !bytes.Equal(b, snupkg) {
			t.Fatalf("symbols download: %d", code)
		}
	})
}
