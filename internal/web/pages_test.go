package web_test

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	xhtml "golang.org/x/net/html"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

// hostile is text a publisher controls, made to run script if the pages
// let it.
const hostile = `<script>alert("x")</script><img src=x onerror=alert(1)>`

// TestWebPackagePageIsInert: README, description and tags a publisher
// wrote render as text or sanitised HTML: no script, no event handler,
// no javascript: URL reaches the page.
func TestWebPackagePageIsInert(t *testing.T) { testenv.Each(t, testPackagePageIsInert) }

func testPackagePageIsInert(t *testing.T, env *testenv.Env) {
	s := newSite(t, env)
	readme := "# Usage\n\nSome **bold** text.\n\n" + hostile + "\n\n[click](javascript:alert(2)) " +
		`<a href="javascript:alert(3)">there</a> <a href="JaVaScRiPt:alert(4)">again</a>` + "\n\n[ok](https://example.com/docs)\n"
	meta, _ := json.Marshal(map[string]string{"readme": readme})
	ref := npmRef("alice", "evil")
	a := env.Actor(s.alice)
	d, n, err := env.Blobs.Put(ctx, strings.NewReader("tarball"), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Service.Publish(ctx, a, packages.PublishRequest{Package: ref, Version: "1.0.0", Metadata: meta,
		Description: "desc " + hostile, Tags: []string{"latest", `<script>alert(5)</script>`, `javascript:alert(6)`},
		Files: []packages.File{{Name: "evil-1.0.0.tgz", Digest: d, Size: n}}}); err != nil {
		t.Fatal(err)
	}
	s.public(s.alice, ref)

	b := s.browser()
	for _, path := range []string{"/users/alice/packages/npm/package/evil", versionPath(t, s, ref, "1.0.0")} {
		p := b.get(path)
		wantStatus(t, path, p, http.StatusOK)
		wantInert(t, path, p)
		wantBody(t, path, p, "desc &lt;script&gt;", "&lt;script&gt;alert(5)&lt;/script&gt;")
	}
	p := b.get("/users/alice/packages/npm/package/evil")
	wantBody(t, "readme", p, "<h1>Usage</h1>", "<strong>bold</strong>", `href="https://example.com/docs"`)
	wantBody(t, "install", p, "@alice:registry="+s.front.URL+"/npm/", "npm install @alice/evil@1.0.0")
	wantNoBody(t, "install of a public package", p, "_authToken")
}

// wantInert checks a page for anything that would run script: a script
// element that is not the server's own file, an event handler attribute,
// a javascript: URL. Text that merely reads like those is inert.
func wantInert(t *testing.T, what string, p *page) {
	t.Helper()
	z := xhtml.NewTokenizer(strings.NewReader(p.Body))
	for {
		tt := z.Next()
		if tt == xhtml.ErrorToken {
			break
		}
		if tt != xhtml.StartTagToken && tt != xhtml.SelfClosingTagToken {
			continue
		}
		tok := z.Token()
		src := ""
		for _, at := range tok.Attr {
			k, v := strings.ToLower(at.Key), strings.ToLower(strings.TrimSpace(at.Val))
			if strings.HasPrefix(k, "on") {
				t.Fatalf("%s: event handler %s=%q on <%s>", what, at.Key, at.Val, tok.Data)
			}
			if strings.HasPrefix(strings.Join(strings.Fields(v), ""), "javascript:") {
				t.Fatalf("%s: javascript: URL in %s of <%s>", what, at.Key, tok.Data)
			}
			if k == "src" {
				src = at.Val
			}
		}
		switch tok.Data {
		case "script":
			if !strings.HasPrefix(src, "/-/static/") {
				t.Fatalf("%s: script that is not the server's: %s", what, tok)
			}
		case "iframe", "object", "embed", "base", "form":
			if tok.Data == "form" {
				continue
			}
			t.Fatalf("%s: <%s> on the page", what, tok.Data)
		}
	}
	if strings.Contains(p.Body, `alert("x")`) {
		t.Fatalf("%s: unescaped publisher text on the page", what)
	}
	csp := p.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "default-src 'none'") {
		t.Fatalf("%s: Content-Security-Policy %q", what, csp)
	}
}

// versionPath finds a version's page from the package's page.
func versionPath(t *testing.T, s *site, ref packages.PackageRef, version string) string {
	t.Helper()
	_, vi, err := s.env.Service.GetVersionByName(ctx, s.env.Actor(s.alice), ref, version, packages.ViaRegistry)
	if err != nil {
		t.Fatal(err)
	}
	ns := "users"
	if o, _ := s.env.Service.Owner(ctx, ref.Owner); o != nil && o.Type == packages.OrgOwner {
		ns = "orgs"
	}
	return fmt.Sprintf("/%s/%s/packages/%s/%s/%d", ns, ref.Owner, ref.Type, url.PathEscape(ref.Name), vi.ID)
}

// TestWebContainerPage: an image's page shows its tags, the platforms of
// its index, its referrers (an SBOM), the pull command and, on a
// version's page, its files' checksums.
func TestWebContainerPage(t *testing.T) { testenv.Each(t, testContainerPage) }

func testContainerPage(t *testing.T, env *testenv.Env) {
	s := newSite(t, env)
	ref := packages.PackageRef{Owner: "alice", Scope: packages.AnyOwner, Type: packages.TypeContainer, Name: "tools/img"}
	a := env.Actor(s.alice)
	put := func(body string) (string, int64) {
		d, n, err := env.Blobs.Put(ctx, strings.NewReader(body), "")
		if err != nil {
			t.Fatal(err)
		}
		return d, n
	}
	publish := func(body string, meta map[string]any, subject string, tags ...string) string {
		d, n := put(body)
		mb, _ := json.Marshal(meta)
		if _, err := env.Service.Publish(ctx, a, packages.PublishRequest{Package: ref, Version: d, Metadata: mb, Subject: subject, Tags: tags,
			Files: []packages.File{{Name: "manifest.json", Digest: d, Size: n, MediaType: meta["media_type"].(string)}}}); err != nil {
			t.Fatal(err)
		}
		return d
	}
	layer, _ := put("layer bytes")
	image := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":11},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":1234}]}`, layer, layer)
	amd := publish(image, map[string]any{"media_type": "application/vnd.oci.image.manifest.v1+json"}, "")
	index := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%d,"platform":{"os":"linux","architecture":"amd64"}},{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":10,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}}]}`, amd, len(image), strings.Repeat("0", 64))
	idx := publish(index, map[string]any{"media_type": "application/vnd.oci.image.index.v1+json", "manifests": []string{amd},
		"annotations": map[string]string{"org.opencontainers.image.description": "An image " + hostile}}, "", "latest", "1.0")
	sbom := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/spdx+json","subject":{"digest":"%s"}}`, idx)
	publish(sbom, map[string]any{"media_type": "application/vnd.oci.image.manifest.v1+json", "artifact_type": "application/spdx+json"}, idx)
	s.public(s.alice, ref)

	b := s.browser()
	p := b.get("/users/alice/packages/container/package/tools%2Fimg")
	wantStatus(t, "image page", p, http.StatusOK)
	wantInert(t, "image page", p)
	host := strings.TrimPrefix(s.front.URL, "http://")
	wantBody(t, "image page", p, "docker pull "+host+"/alice/tools/img:latest", "linux/amd64", "linux/arm64/v8",
		"SBOM", "application/spdx&#43;json", ">latest<", ">1.0<", "An image &lt;script&gt;", "index")
	wantNoBody(t, "public image", p, "docker login")

	vp := b.get(versionPath(t, s, ref, amd))
	wantStatus(t, "image version page", vp, http.StatusOK)
	wantBody(t, "image version page", vp, "Layers", "1.2 KiB", "manifest.json", "SHA-256", "MD5")
	sums, err := env.Blobs.Checksums(ctx, amd)
	if err != nil {
		t.Fatal(err)
	}
	wantBody(t, "checksums", vp, sums.SHA256, sums.SHA512, sums.SHA1, sums.MD5)
}

// TestWebInstallSnippets: each type's install instructions name the real
// host, owner, package and version, with a token only where it is needed.
func TestWebInstallSnippets(t *testing.T) {
	env := testenv.New(t, "sqlite")
	s := newSite(t, env)
	env.Repo("alice/libs", packages.Private)
	a := env.Actor(s.alice)
	pub := func(ref packages.PackageRef, version, repo string, files ...string) {
		t.Helper()
		var fs []packages.File
		for _, f := range files {
			d, n, err := env.Blobs.Put(ctx, strings.NewReader(f), "")
			if err != nil {
				t.Fatal(err)
			}
			fs = append(fs, packages.File{Name: f, Digest: d, Size: n})
		}
		if _, err := env.Service.Publish(ctx, a, packages.PublishRequest{Package: ref, Version: version, Repository: repo, Files: fs}); err != nil {
			t.Fatal(err)
		}
	}
	ref := func(typ packages.Type, name string) packages.PackageRef {
		return packages.PackageRef{Owner: "alice", Scope: packages.AnyOwner, Type: typ, Name: name}
	}
	pub(ref(packages.TypeMaven, "com.example.my.lib"), "1.2.0", "alice/libs", "my.lib-1.2.0.jar", "my.lib-1.2.0.pom")
	pub(ref(packages.TypeRubyGems, "gemmy"), "0.3.0", "", "gemmy-0.3.0.gem")
	pub(ref(packages.TypeNuGet, "Octo.Lib"), "2.0.0", "", "octo.lib.2.0.0.nupkg")
	pub(ref(packages.TypeNpm, "tool"), "3.0.0", "", "tool-3.0.0.tgz")
	base := s.front.URL
	host := strings.TrimPrefix(base, "http://")
	b := s.browser()
	b.signIn(s.alice)
	for _, c := range []struct {
		path string
		want []string
	}{
		{"/users/alice/packages/maven/package/com.example.my.lib", []string{
			"&lt;groupId&gt;com.example&lt;/groupId&gt;", "&lt;artifactId&gt;my.lib&lt;/artifactId&gt;", "&lt;version&gt;1.2.0&lt;/version&gt;",
			"&lt;url&gt;" + base + "/maven/alice/libs/&lt;/url&gt;", "${env.PACKHUB_TOKEN}"}},
		{"/users/alice/packages/rubygems/package/gemmy", []string{
			"gem install gemmy --version 0.3.0 --clear-sources --source &#34;http://USERNAME:${PACKHUB_TOKEN}@" + host + "/rubygems/alice/&#34;",
			"source &#34;" + base + "/rubygems/alice/&#34; do", "bundle config set --global " + base + "/rubygems/alice/"}},
		{"/users/alice/packages/nuget/package/Octo.Lib", []string{
			"dotnet add package Octo.Lib --version 2.0.0", "value=&#34;" + base + "/nuget/alice/index.json&#34;", "%PACKHUB_TOKEN%"}},
		{"/users/alice/packages/npm/package/tool", []string{
			"@alice:registry=" + base + "/npm/", "//" + host + "/npm/:_authToken=${PACKHUB_TOKEN}", "npm install @alice/tool@3.0.0"}},
	} {
		p := b.get(c.path)
		wantStatus(t, c.path, p, http.StatusOK)
		wantBody(t, c.path, p, c.want...)
	}
}

// TestWebVersionPagination: the versions of a package are paged.
func TestWebVersionPagination(t *testing.T) {
	env := testenv.New(t, "sqlite")
	s := newSite(t, env)
	ref := npmRef("alice", "many")
	var vs []string
	for i := range 35 {
		vs = append(vs, "1.0."+strconv.Itoa(i))
	}
	s.publish(s.alice, ref, "", vs...)
	s.public(s.alice, ref)
	b := s.browser()
	p := b.get("/users/alice/packages/npm/package/many")
	wantBody(t, "page 1", p, ">1.0.34<", ">1.0.5<", "Page 1 of 2", `href="/users/alice/packages/npm/package/many?page=2"`)
	wantNoBody(t, "page 1", p, ">1.0.4<")
	p = b.get("/users/alice/packages/npm/package/many?page=2")
	wantBody(t, "page 2", p, ">1.0.4<", ">1.0.0<", "Page 2 of 2")
	wantNoBody(t, "page 2", p, ">1.0.5<")
	p = b.get("/users/alice/packages/npm/package/many?page=99")
	wantStatus(t, "past the end", p, http.StatusOK)
	wantBody(t, "past the end", p, "No versions.")
	for _, q := range []string{"page=-1", "page=x", "page=99999999999999999999"} {
		wantStatus(t, q, b.get("/users/alice/packages/npm/package/many?"+q), http.StatusOK)
	}
}

// TestWebSettings: visibility, access grants, deleting and restoring a
// version and the package, each through its form, with the service's
// rules and refusals shown.
func TestWebSettings(t *testing.T) { testenv.Each(t, testSettings) }

func testSettings(t *testing.T, env *testenv.Env) {
	s := newSite(t, env)
	ref := npmRef("alice", "lib")
	s.publish(s.alice, ref, "", "1.0.0", "2.0.0")
	page := "/users/alice/packages/npm/package/lib"
	settings := page + "/settings"

	alice, bob := s.browser(), s.browser()
	alice.signIn(s.alice)
	bob.signIn(s.bob)
	wantStatus(t, "bob before the grant", bob.get(page), http.StatusNotFound)
	p := alice.get(page)
	wantBody(t, "owner's page", p, `href="`+settings+`"`)

	// Forms without their token change nothing.
	for _, action := range []string{"/visibility", "/access", "/delete", "/versions/1/delete"} {
		p := alice.do(http.MethodPost, settings+action, url.Values{"visibility": {"public"}, "user": {"bob"}, "role": {"read"}, "confirm": {"lib"}})
		wantStatus(t, "no CSRF "+action, p, http.StatusForbidden)
	}
	p = bob.do(http.MethodPost, settings+"/access", url.Values{"csrf": {alice.csrf(settings)}, "user": {"bob"}, "role": {"admin"}})
	wantStatus(t, "another session's CSRF token", p, http.StatusForbidden)
	wantStatus(t, "bob still", bob.get(page), http.StatusNotFound)

	// Grant bob read: he sees it; he may not administer it.
	p = alice.post(settings, settings+"/access", url.Values{"user": {"bob"}, "role": {"read"}})
	wantStatus(t, "grant", p, http.StatusSeeOther)
	wantBody(t, "grants", alice.get(settings), ">bob<", ">read<")
	wantStatus(t, "bob after the grant", bob.get(page), http.StatusOK)
	wantStatus(t, "bob's settings", bob.get(settings), http.StatusForbidden)
	p = alice.post(settings, settings+"/access", url.Values{"user": {"nobody"}, "role": {"read"}})
	wantStatus(t, "grant to nobody", p, http.StatusBadRequest)
	wantBody(t, "grant to nobody", p, "There is no user")

	// Delete a version, see it among the deleted, restore it.
	_, v1, err := env.Service.GetVersionByName(ctx, env.Actor(s.alice), ref, "1.0.0", packages.ViaRegistry)
	if err != nil {
		t.Fatal(err)
	}
	del := fmt.Sprintf("%s/versions/%d/delete", settings, v1.ID)
	wantStatus(t, "bob deletes", bob.post(page, del, nil), http.StatusForbidden)
	p = alice.post(settings, del, nil)
	wantStatus(t, "delete version", p, http.StatusSeeOther)
	p = alice.get(settings)
	restore := fmt.Sprintf("%s/versions/%d/restore", settings, v1.ID)
	wantBody(t, "deleted versions", p, `action="`+restore+`"`)
	// The last version cannot go: the service's message is shown.
	_, v2, _ := env.Service.GetVersionByName(ctx, env.Actor(s.alice), ref, "2.0.0", packages.ViaRegistry)
	p = alice.post(settings, fmt.Sprintf("%s/versions/%d/delete", settings, v2.ID), nil)
	wantStatus(t, "delete the last version", p, http.StatusBadRequest)
	wantBody(t, "delete the last version", p, html.EscapeString(packages.MsgLastVersion))
	wantStatus(t, "restore version", alice.post(settings, restore, nil), http.StatusSeeOther)
	wantBody(t, "restored", alice.get(page), ">1.0.0<")

	// Visibility: private to public, and not back.
	p = alice.post(settings, settings+"/visibility", url.Values{"visibility": {"public"}})
	wantStatus(t, "make public", p, http.StatusSeeOther)
	wantStatus(t, "anonymous sees it", s.browser().get(page), http.StatusOK)
	p = alice.post(settings, settings+"/visibility", url.Values{"visibility": {"private"}})
	wantStatus(t, "make private again", p, http.StatusBadRequest)
	wantBody(t, "make private again", p, "cannot be made private again")

	// Delete the package, with its name typed.
	p = alice.post(settings, settings+"/delete", url.Values{"confirm": {"li"}})
	wantStatus(t, "delete with a wrong name", p, http.StatusBadRequest)
	p = alice.post(settings, settings+"/delete", url.Values{"confirm": {"lib"}})
	wantStatus(t, "delete package", p, http.StatusSeeOther)
	wantStatus(t, "deleted package", alice.get(page), http.StatusNotFound)
	p = alice.get("/users/alice/packages/deleted")
	wantBody(t, "deleted packages", p, "Restore lib")
	wantStatus(t, "bob's deleted packages of alice", bob.get("/users/alice/packages/deleted"), http.StatusNotFound)
	wantNoBody(t, "bob's list", bob.get("/alice"), "Deleted packages")
	wantBody(t, "alice's list", alice.get("/alice"), "Deleted packages")

	// A new package takes the name: restore is not offered, and refused.
	s.publish(s.alice, ref, "", "9.0.0")
	p = alice.get("/users/alice/packages/deleted")
	wantNoBody(t, "name taken", p, "Restore lib")
	wantBody(t, "name taken", p, "taken by a new package")
	p = alice.post("/users/alice/packages/deleted", "/users/alice/packages/deleted/npm/lib/restore", nil)
	wantStatus(t, "restore over a new package", p, http.StatusBadRequest)
	_ = env.Service.DeletePackage(ctx, env.Actor(s.alice), ref, packages.ViaREST)
	p = alice.get("/users/alice/packages/deleted")
	wantBody(t, "two deleted", p, "deleted later")
	p = alice.post("/users/alice/packages/deleted", "/users/alice/packages/deleted/npm/lib/restore", nil)
	wantStatus(t, "restore", p, http.StatusSeeOther)
	wantBody(t, "restored package", alice.get(page), ">9.0.0<")
}
