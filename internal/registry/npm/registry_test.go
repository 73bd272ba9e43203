package npm

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

type fullPackument struct {
	ID       string                     `json:"_id"`
	Rev      string                     `json:"_rev"`
	Name     string                     `json:"name"`
	DistTags map[string]string          `json:"dist-tags"`
	Versions map[string]json.RawMessage `json:"versions"`
	Time     map[string]string          `json:"time"`
	Desc     string                     `json:"description"`
	Repo     json.RawMessage            `json:"repository"`
}

type manifestView struct {
	Name       string `json:"name"`
	Version    string `json:"version"`
	Deprecated string `json:"deprecated"`
	Dist       struct {
		Tarball   string `json:"tarball"`
		Shasum    string `json:"shasum"`
		Integrity string `json:"integrity"`
	} `json:"dist"`
	Dependencies map[string]string `json:"dependencies"`
	NpmUser      *struct {
		Name string `json:"name"`
	} `json:"_npmUser"`
}

func (p fullPackument) version(t *testing.T, v string) manifestView {
	t.Helper()
	raw, ok := p.Versions[v]
	if !ok {
		t.Fatalf("packument has no version %s", v)
	}
	var m manifestView
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestPublishAndRead(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		env.User("octo")
		env.Repo("octo/hello", packages.Private)
		tok := env.Token("octo", testenv.AllScopes)
		f := newFixture(t, env, Options{})
		tgz1 := f.publish(tok, "@octo/hello", "1.0.0", map[string]any{
			"repository":   map[string]string{"type": "git", "url": "git+" + f.srv.URL + "/octo/hello.git"},
			"dependencies": map[string]string{"left-pad": "^1.0.0"},
			"readme":       "# hello",
		}, "")
		f.publish(tok, "@octo/hello", "1.1.0", nil, "")
		f.publish(tok, "@octo/hello", "2.0.0-beta.1", nil, "beta")

		for _, path := range []string{"/npm/@octo%2fhello", "/npm/@octo/hello", "/npm/%40octo%2Fhello"} {
			r := f.do("GET", path, tok, nil)
			if r.status != 200 {
				t.Fatalf("GET %s: %d %s", path, r.status, r.body)
			}
			var p fullPackument
			r.json(t, &p)
			if p.Name != "@octo/hello" || p.ID != "@octo/hello" || p.Rev == "" {
				t.Fatalf("packument header: %+v", p)
			}
			if p.DistTags["latest"] != "1.1.0" || p.DistTags["beta"] != "2.0.0-beta.1" || len(p.DistTags) != 2 {
				t.Fatalf("dist-tags %v", p.DistTags)
			}
			if len(p.Versions) != 3 || p.Time["1.0.0"] == "" || p.Time["created"] == "" || p.Time["modified"] == "" {
				t.Fatalf("versions %d, time %v", len(p.Versions), p.Time)
			}
			m := p.version(t, "1.0.0")
			sum := sha1.Sum(tgz1)
			if m.Dist.Tarball != f.srv.URL+"/npm/@octo/hello/-/hello-1.0.0.tgz" || m.Dist.Shasum != hex.EncodeToString(sum[:]) || !strings.HasPrefix(m.Dist.Integrity, "sha512-") {
				t.Fatalf("dist %+v", m.Dist)
			}
			if m.Dependencies["left-pad"] != "^1.0.0" || m.NpmUser == nil || m.NpmUser.Name != "octo" {
				t.Fatalf("manifest %+v", m)
			}
			if strings.Contains(string(p.Versions["1.0.0"]), "readme") {
				t.Fatalf("version objects carry no readme: %s", p.Versions["1.0.0"])
			}
			if p.Desc != "the @octo/hello package" {
				t.Fatalf("description %q", p.Desc)
			}
		}

		// The package was linked to the repository its manifest names.
		pi, err := env.Service.GetPackage(context.Background(), env.Actor(tok), packages.PackageRef{Owner: "octo", Type: packages.TypeNpm, Name: "hello"}, packages.OpRead, packages.ViaRegistry)
		if err != nil || pi.Repository == nil || pi.Repository.Name != "hello" {
			t.Fatalf("repository link: %+v %v", pi, err)
		}
		if pi.Visibility != packages.Private {
			t.Fatalf("visibility %s", pi.Visibility)
		}

		// Abbreviated.
		r := f.do("GET", "/npm/@octo%2fhello", tok, nil, "Accept", "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*")
		if r.status != 200 || r.header.Get("Content-Type") != "application/vnd.npm.install-v1+json" {
			t.Fatalf("abbreviated: %d %s", r.status, r.header.Get("Content-Type"))
		}
		var ab struct {
			Name     string                                `json:"name"`
			Modified string                                `json:"modified"`
			DistTags map[string]string                     `json:"dist-tags"`
			Versions map[string]map[string]json.RawMessage `json:"versions"`
		}
		r.json(t, &ab)
		if ab.Name != "@octo/hello" || ab.Modified == "" || ab.DistTags["latest"] != "1.1.0" || len(ab.Versions) != 3 {
			t.Fatalf("abbreviated %s", r.body)
		}
		for _, k := range []string{"dist", "dependencies", "name", "version"} {
			if _, ok := ab.Versions["1.0.0"][k]; !ok {
				t.Fatalf("abbreviated version lacks %s: %s", k, r.body)
			}
		}
		for _, k := range []string{"description", "main", "_npmUser", "repository"} {
			if _, ok := ab.Versions["1.0.0"][k]; ok {
				t.Fatalf("abbreviated version has %s", k)
			}
		}
		// ETag revalidation.
		if r2 := f.do("GET", "/npm/@octo%2fhello", tok, nil, "If-None-Match", r.header.Get("ETag"), "Accept", "application/vnd.npm.install-v1+json"); r2.status != http.StatusNotModified {
			t.Fatalf("If-None-Match: %d", r2.status)
		}

		// One version, by version and by tag.
		for path, want := range map[string]string{"/npm/@octo%2fhello/1.0.0": "1.0.0", "/npm/@octo/hello/latest": "1.1.0", "/npm/@octo/hello/beta": "2.0.0-beta.1"} {
			r := f.do("GET", path, tok, nil)
			var m manifestView
			r.json(t, &m)
			if r.status != 200 || m.Version != want || m.Name != "@octo/hello" || m.Dist.Tarball == "" {
				t.Fatalf("GET %s: %d %s", path, r.status, r.body)
			}
		}
		wantError(t, f.do("GET", "/npm/@octo/hello/9.9.9", tok, nil), 404, "not found")
		wantError(t, f.do("GET", "/npm/@octo/nope", tok, nil), 404, "not found")

		// Tarball, with a download counted.
		r = f.do("GET", "/npm/@octo/hello/-/hello-1.0.0.tgz", tok, nil)
		if r.status != 200 || !bytes.Equal(r.body, tgz1) {
			t.Fatalf("tarball: %d, %d bytes", r.status, len(r.body))
		}
		// Downloads are counted in memory and written in batches.
		if err := env.Service.FlushDownloads(context.Background()); err != nil {
			t.Fatal(err)
		}
		_, v, err := env.Service.GetVersionByName(context.Background(), env.Actor(tok), packages.PackageRef{Owner: "octo", Type: packages.TypeNpm, Name: "hello"}, "1.0.0", packages.ViaRegistry)
		if err != nil || v.DownloadCount != 1 {
			t.Fatalf("download count: %+v %v", v, err)
		}
		wantError(t, f.do("GET", "/npm/@octo/hello/-/hello-3.0.0.tgz", tok, nil), 404, "not found")
		wantError(t, f.do("GET", "/npm/@octo/hello/-/other-1.0.0.tgz", tok, nil), 404, "not found")
	})
}

func TestPublishRefusals(t *testing.T) {
	env := testenv.New(t, "sqlite")
	env.User("octo")
	env.User("mona")
	tok := env.Token("octo", testenv.AllScopes)
	readOnly := env.Token("octo", "read:packages")
	monaTok := env.Token("mona", testenv.AllScopes)
	f := newFixture(t, env, Options{MaxTarballSize: 64 << 10})
	f.publish(tok, "@octo/hello", "1.0.0", nil, "")

	good := func(version string) pubDoc {
		return pubDoc{name: "@octo/hello", version: version, tgz: pkgTarball(t, "@octo/hello", version, nil)}
	}
	big := make([]byte, 100<<10)
	x := uint64(88172645463325252)
	for i := range big {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		big[i] = byte(x)
	}
	bigTgz := makeTarball(t, map[string]string{"package/package.json": `{"name":"@octo/hello","version":"3.0.0"}`, "package/blob.bin": string(big)})
	other := pkgTarball(t, "@octo/hello", "9.9.9", nil)

	cases := []struct {
		name   string
		path   string
		token  string
		body   []byte
		status int
		msg    string
	}{
		{"republish", "/npm/@octo%2fhello", tok, good("1.0.0").build(), 409, "cannot publish over"},
		{"integrity mismatch", "/npm/@octo%2fhello", tok, pubDoc{name: "@octo/hello", version: "2.0.0", tgz: pkgTarball(t, "@octo/hello", "2.0.0", nil), integrity: strp("sha512-" + strings.Repeat("A", 86) + "==")}.build(), 400, "integrity"},
		{"shasum mismatch", "/npm/@octo%2fhello", tok, pubDoc{name: "@octo/hello", version: "2.0.0", tgz: pkgTarball(t, "@octo/hello", "2.0.0", nil), integrity: strp(""), shasum: strp(strings.Repeat("0", 40))}.build(), 400, "integrity"},
		{"no checksum", "/npm/@octo%2fhello", tok, pubDoc{name: "@octo/hello", version: "2.0.0", tgz: pkgTarball(t, "@octo/hello", "2.0.0", nil), integrity: strp(""), shasum: strp("")}.build(), 400, "integrity"},
		{"name not the URL's", "/npm/@octo%2fother", tok, good("2.0.0").build(), 400, "sent to"},
		{"tarball of another version", "/npm/@octo%2fhello", tok, pubDoc{name: "@octo/hello", version: "2.0.0", tgz: other}.build(), 400, "package.json"},
		{"tarball not gzip", "/npm/@octo%2fhello", tok, pubDoc{name: "@octo/hello", version: "2.0.0", tgz: []byte("not a tarball")}.build(), 400, "gzip"},
		{"tarball without package.json", "/npm/@octo%2fhello", tok, pubDoc{name: "@octo/hello", version: "2.0.0", tgz: makeTarball(t, map[string]string{"package/index.js": "x"})}.build(), 400, "package.json"},
		{"invalid version", "/npm/@octo%2fhello", tok, pubDoc{name: "@octo/hello", version: "1.0", tgz: pkgTarball(t, "@octo/hello", "1.0", nil)}.build(), 400, "version"},
		{"uppercase name", "/npm/@octo%2fHello", tok, pubDoc{name: "@octo/Hello", version: "1.0.0", tgz: pkgTarball(t, "@octo/Hello", "1.0.0", nil)}.build(), 400, "name"},
		{"unknown scope", "/npm/@nobody%2fhello", tok, pubDoc{name: "@nobody/hello", version: "1.0.0", tgz: pkgTarball(t, "@nobody/hello", "1.0.0", nil)}.build(), 404, "not found"},
		// A package mona cannot see answers as a missing one.
		{"other user's private package", "/npm/@octo%2fhello", monaTok, good("2.0.0").build(), 403, "permission"},
		{"other user's new package", "/npm/@octo%2fnew", monaTok, pubDoc{name: "@octo/new", version: "1.0.0", tgz: pkgTarball(t, "@octo/new", "1.0.0", nil)}.build(), 403, "permission"},
		{"read-only token", "/npm/@octo%2fhello", readOnly, good("2.0.0").build(), 403, "scope"},
		{"anonymous", "/npm/@octo%2fhello", "", good("2.0.0").build(), 401, "authentication"},
		{"bad token", "/npm/@octo%2fhello", "phk_nope", good("2.0.0").build(), 401, "credentials"},
		{"over the limit", "/npm/@octo%2fhello", tok, pubDoc{name: "@octo/hello", version: "3.0.0", tgz: bigTgz}.build(), 413, "limit"},
		{"malformed JSON", "/npm/@octo%2fhello", tok, []byte(`{"name": "@octo/hello", `), 400, "malformed"},
		{"not an object", "/npm/@octo%2fhello", tok, []byte(`["x"]`), 400, "malformed"},
		{"empty body", "/npm/@octo%2fhello", tok, []byte(``), 400, "malformed"},
		{"wrong types", "/npm/@octo%2fhello", tok, []byte(`{"name":"@octo/hello","versions":"x"}`), 400, "malformed"},
		{"bad base64", "/npm/@octo%2fhello", tok, bytes.Replace(good("2.0.0").build(), []byte(`"data":"`), []byte(`"data":"!!!!`), 1), 400, "base64"},
		{"attachment data not a string", "/npm/@octo%2fhello", tok, []byte(`{"name":"@octo/hello","_attachments":{"a.tgz":{"data":1}}}`), 400, "base64"},
		{"two versions", "/npm/@octo%2fhello", tok, func() []byte {
			var d map[string]any
			json.Unmarshal(good("2.0.0").build(), &d)
			d["versions"].(map[string]any)["2.0.1"] = d["versions"].(map[string]any)["2.0.0"]
			b, _ := json.Marshal(d)
			return b
		}(), 400, "exactly one"},
		{"trailing data", "/npm/@octo%2fhello", tok, append(good("2.0.0").build(), "{}"...), 400, "malformed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f.t = t
			wantError(t, f.do("PUT", c.path, c.token, c.body), c.status, c.msg)
		})
	}
	f.t = t
	// Nothing of the refused publishes is visible.
	var p fullPackument
	f.do("GET", "/npm/@octo%2fhello", tok, nil).json(t, &p)
	if len(p.Versions) != 1 {
		t.Fatalf("versions after refusals: %v", sortedKeys(p.Versions))
	}
	// The refusals left no upload sessions behind.
	if n, err := env.Blobs.PurgeUploads(context.Background(), env.Clock.Now().Add(24*3600e9)); err != nil || n != 0 {
		t.Fatalf("stale uploads: %d %v", n, err)
	}
}

func TestVisibility(t *testing.T) {
	env := testenv.New(t, "sqlite")
	env.User("octo")
	env.User("mona")
	env.Repo("octo/pub", packages.Public)
	tok := env.Token("octo", testenv.AllScopes)
	monaTok := env.Token("mona", testenv.AllScopes)
	f := newFixture(t, env, Options{})
	f.publish(tok, "@octo/secret", "1.0.0", nil, "")
	f.publish(tok, "@octo/pub", "1.0.0", map[string]any{"repository": "octo/pub"}, "")

	// Private: nobody else sees it, anonymous callers included.
	wantError(t, f.do("GET", "/npm/@octo%2fsecret", "", nil), 404, "not found")
	wantError(t, f.do("GET", "/npm/@octo/secret/-/secret-1.0.0.tgz", "", nil), 404, "not found")
	wantError(t, f.do("GET", "/npm/@octo%2fsecret", monaTok, nil), 404, "not found")
	wantError(t, f.do("GET", "/npm/@octo%2fsecret", "phk_0000000000000000000000000000000000000000", nil), 401, "credentials")

	// Public (linked to a public repository): anyone reads it.
	for _, path := range []string{"/npm/@octo%2fpub", "/npm/@octo/pub/-/pub-1.0.0.tgz", "/npm/@octo/pub/1.0.0"} {
		if r := f.do("GET", path, "", nil); r.status != 200 {
			t.Fatalf("anonymous GET %s: %d %s", path, r.status, r.body)
		}
		if r := f.do("GET", path, monaTok, nil); r.status != 200 {
			t.Fatalf("mona GET %s: %d %s", path, r.status, r.body)
		}
	}
	// But only its owner writes it.
	wantError(t, f.do("PUT", "/npm/-/package/@octo%2fpub/dist-tags/x", monaTok, []byte(`"1.0.0"`)), 403, "permission")
	wantError(t, f.do("PUT", "/npm/-/package/@octo%2fpub/dist-tags/x", "", []byte(`"1.0.0"`)), 401, "authentication")
	wantError(t, f.do("DELETE", "/npm/@octo%2fpub/-rev/1", monaTok, nil), 403, "permission")
}

// TestPrivateAnswersAsMissing: every read of a private package answers a
// caller who may not see it exactly as the same read of a package that
// does not exist, anonymous callers included.
func TestPrivateAnswersAsMissing(t *testing.T) {
	env := testenv.New(t, "sqlite")
	env.User("octo")
	env.User("mona")
	tok := env.Token("octo", testenv.AllScopes)
	f := newFixture(t, env, Options{})
	f.publish(tok, "@octo/secret", "1.0.0", nil, "")
	reads := []string{
		"/npm/@octo%2f%s",
		"/npm/@octo/%s",
		"/npm/@octo/%s/-/%s-1.0.0.tgz",
		"/npm/@octo/%s/1.0.0",
		"/npm/@octo/%s/latest",
		"/npm/-/package/@octo%2f%s/dist-tags",
		"/npm/-/package/@octo%2f%s/dist-tags/latest",
	}
	for _, who := range []struct{ name, token string }{
		{"anonymous", ""},
		{"mona", env.Token("mona", testenv.AllScopes)},
		{"mona without scopes", env.Token("mona", "")},
	} {
		for _, path := range reads {
			for _, method := range []string{"GET", "HEAD"} {
				private := f.do(method, strings.ReplaceAll(path, "%s", "secret"), who.token, nil)
				missing := f.do(method, strings.ReplaceAll(path, "%s", "nothing"), who.token, nil)
				if private.status != http.StatusNotFound || private.status != missing.status || !bytes.Equal(private.body, missing.body) {
					t.Errorf("%s: %s %s: private %d %s, missing %d %s", who.name, method, path,
						private.status, private.body, missing.status, missing.body)
				}
			}
		}
	}
	// The owner still reads it.
	if r := f.do("GET", "/npm/@octo%2fsecret", tok, nil); r.status != http.StatusOK {
		t.Fatalf("owner: %d %s", r.status, r.body)
	}
}

func TestDistTags(t *testing.T) {
	env := testenv.New(t, "sqlite")
	env.User("octo")
	tok := env.Token("octo", testenv.AllScopes)
	f := newFixture(t, env, Options{})
	f.publish(tok, "@octo/hello", "1.0.0", nil, "")
	f.publish(tok, "@octo/hello", "1.1.0", nil, "")

	tags := func() map[string]string {
		var m map[string]string
		r := f.do("GET", "/npm/-/package/@octo%2fhello/dist-tags", tok, nil)
		if r.status != 200 {
			t.Fatalf("dist-tags: %d %s", r.status, r.body)
		}
		r.json(t, &m)
		return m
	}
	if m := tags(); len(m) != 1 || m["latest"] != "1.1.0" {
		t.Fatalf("tags %v", m)
	}
	if r := f.do("PUT", "/npm/-/package/@octo%2fhello/dist-tags/stable", tok, []byte(`"1.0.0"`)); r.status != 200 {
		t.Fatalf("add: %d %s", r.status, r.body)
	}
	if r := f.do("PUT", "/npm/-/package/@octo/hello/dist-tags/latest", tok, []byte(`"1.0.0"`)); r.status != 200 {
		t.Fatalf("move latest: %d %s", r.status, r.body)
	}
	if m := tags(); m["stable"] != "1.0.0" || m["latest"] != "1.0.0" {
		t.Fatalf("tags %v", m)
	}
	if r := f.do("GET", "/npm/@octo/hello/stable", tok, nil); r.status != 200 || !strings.Contains(string(r.body), `"version":"1.0.0"`) {
		t.Fatalf("by tag: %d %s", r.status, r.body)
	}
	if r := f.do("DELETE", "/npm/-/package/@octo%2fhello/dist-tags/stable", tok, nil); r.status != 200 {
		t.Fatalf("rm: %d %s", r.status, r.body)
	}
	if m := tags(); len(m) != 1 {
		t.Fatalf("tags %v", m)
	}
	wantError(t, f.do("DELETE", "/npm/-/package/@octo%2fhello/dist-tags/stable", tok, nil), 404, "not found")
	wantError(t, f.do("DELETE", "/npm/-/package/@octo%2fhello/dist-tags/latest", tok, nil), 400, "latest")
	wantError(t, f.do("PUT", "/npm/-/package/@octo%2fhello/dist-tags/x", tok, []byte(`"9.9.9"`)), 404, "not found")
	wantError(t, f.do("PUT", "/npm/-/package/@octo%2fhello/dist-tags/1.2.3", tok, []byte(`"1.0.0"`)), 400, "dist-tag")
	wantError(t, f.do("PUT", "/npm/-/package/@octo%2fhello/dist-tags/x", tok, []byte(`{`)), 400, "json string")
	wantError(t, f.do("GET", "/npm/-/package/@octo%2fnope/dist-tags", tok, nil), 404, "not found")
}

func TestDeprecate(t *testing.T) {
	env := testenv.New(t, "sqlite")
	env.User("octo")
	tok := env.Token("octo", testenv.AllScopes)
	f := newFixture(t, env, Options{})
	f.publish(tok, "@octo/hello", "1.0.0", nil, "")
	f.publish(tok, "@octo/hello", "1.1.0", nil, "")

	// As npm deprecate does: fetch for write, set "deprecated", PUT it back.
	deprecate := func(version, msg string) {
		t.Helper()
		r := f.do("GET", "/npm/@octo%2fhello?write=true", tok, nil)
		var doc map[string]any
		r.json(t, &doc)
		doc["versions"].(map[string]any)[version].(map[string]any)["deprecated"] = msg
		b, _ := json.Marshal(doc)
		if r := f.do("PUT", "/npm/@octo%2fhello", tok, b); r.status != 200 {
			t.Fatalf("deprecate: %d %s", r.status, r.body)
		}
	}
	deprecate("1.0.0", "use 1.1.0")
	var p fullPackument
	f.do("GET", "/npm/@octo%2fhello", tok, nil).json(t, &p)
	if p.version(t, "1.0.0").Deprecated != "use 1.1.0" || p.version(t, "1.1.0").Deprecated != "" {
		t.Fatalf("deprecated: %s", p.Versions)
	}
	r := f.do("GET", "/npm/@octo%2fhello", tok, nil, "Accept", "application/vnd.npm.install-v1+json")
	if !strings.Contains(string(r.body), `"deprecated":"use 1.1.0"`) {
		t.Fatalf("abbreviated lacks deprecation: %s", r.body)
	}
	deprecate("1.0.0", "")
	p = fullPackument{}
	f.do("GET", "/npm/@octo%2fhello", tok, nil).json(t, &p)
	if strings.Contains(string(p.Versions["1.0.0"]), "deprecated") {
		t.Fatalf("still deprecated: %s", p.Versions["1.0.0"])
	}

	// A reader may not deprecate; a version without a tarball is refused.
	env.User("mona")
	monaTok := env.Token("mona", testenv.AllScopes)
	doc := f.do("GET", "/npm/@octo%2fhello?write=true", tok, nil).body
	wantError(t, f.do("PUT", "/npm/@octo%2fhello", monaTok, doc), 404, "not found")
	var d map[string]any
	json.Unmarshal(doc, &d)
	d["versions"].(map[string]any)["5.0.0"] = map[string]any{"name": "@octo/hello", "version": "5.0.0"}
	b, _ := json.Marshal(d)
	wantError(t, f.do("PUT", "/npm/@octo%2fhello", tok, b), 400, "no tarball")
}

func TestUnpublish(t *testing.T) {
	env := testenv.New(t, "sqlite")
	env.User("octo")
	tok := env.Token("octo", testenv.AllScopes)
	writeOnly := env.Token("octo", "read:packages,write:packages")
	f := newFixture(t, env, Options{})
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0"} {
		f.publish(tok, "@octo/hello", v, nil, "")
	}
	ref := packages.PackageRef{Owner: "octo", Type: packages.TypeNpm, Name: "hello"}
	ctx := context.Background()

	// As libnpmpublish unpublishes one version.
	unpublish := func(token, version string) resp {
		t.Helper()
		var doc map[string]any
		f.do("GET", "/npm/@octo%2fhello?write=true", token, nil).json(t, &doc)
		vs := doc["versions"].(map[string]any)
		tarball := vs[version].(map[string]any)["dist"].(map[string]any)["tarball"].(string)
		delete(vs, version)
		tags := doc["dist-tags"].(map[string]any)
		if tags["latest"] == version {
			tags["latest"] = highestVersion(sortedKeys(vs))
		}
		b, _ := json.Marshal(doc)
		r := f.do("PUT", "/npm/@octo%2fhello/-rev/"+doc["_rev"].(string), token, b)
		if r.status != 200 {
			return r
		}
		f.do("GET", "/npm/@octo%2fhello?write=true", token, nil).json(t, &doc)
		return f.do("DELETE", strings.TrimPrefix(tarball, f.srv.URL)+"/-rev/"+doc["_rev"].(string), token, nil)
	}
	// Unpublishing needs delete:packages.
	wantError(t, unpublish(writeOnly, "1.2.0"), 403, "delete:packages")
	if r := unpublish(tok, "1.2.0"); r.status != 200 {
		t.Fatalf("unpublish: %d %s", r.status, r.body)
	}
	var p fullPackument
	f.do("GET", "/npm/@octo%2fhello", tok, nil).json(t, &p)
	if _, ok := p.Versions["1.2.0"]; ok || len(p.Versions) != 2 || p.DistTags["latest"] != "1.1.0" {
		t.Fatalf("after unpublish: %v %v", sortedKeys(p.Versions), p.DistTags)
	}
	wantError(t, f.do("GET", "/npm/@octo/hello/-/hello-1.2.0.tgz", tok, nil), 404, "not found")

	// The version can be restored through the service.
	_, deleted, _, err := env.Service.ListVersions(ctx, env.Actor(tok), ref, packages.Deleted, packages.Page{}, packages.ViaREST)
	if err != nil || len(deleted) != 1 || deleted[0].Name != "1.2.0" {
		t.Fatalf("deleted versions: %v %v", deleted, err)
	}
	if err := env.Service.RestoreVersion(ctx, env.Actor(tok), ref, deleted[0].ID, packages.ViaREST); err != nil {
		t.Fatal(err)
	}
	p = fullPackument{}
	f.do("GET", "/npm/@octo%2fhello", tok, nil).json(t, &p)
	if len(p.Versions) != 3 {
		t.Fatalf("after restore: %v", sortedKeys(p.Versions))
	}
	if r := f.do("GET", "/npm/@octo/hello/-/hello-1.2.0.tgz", tok, nil); r.status != 200 {
		t.Fatalf("restored tarball: %d", r.status)
	}

	// The whole package.
	var doc map[string]any
	f.do("GET", "/npm/@octo%2fhello?write=true", tok, nil).json(t, &doc)
	if r := f.do("DELETE", "/npm/@octo%2fhello/-rev/"+doc["_rev"].(string), tok, nil); r.status != 200 {
		t.Fatalf("unpublish package: %d %s", r.status, r.body)
	}
	wantError(t, f.do("GET", "/npm/@octo%2fhello", tok, nil), 404, "not found")
	if err := env.Service.RestorePackage(ctx, env.Actor(tok), ref, packages.ViaREST); err != nil {
		t.Fatal(err)
	}
	if r := f.do("GET", "/npm/@octo%2fhello", tok, nil); r.status != 200 {
		t.Fatalf("restored package: %d", r.status)
	}

	// A revised document leaving out every version deletes the package.
	f.do("GET", "/npm/@octo%2fhello?write=true", tok, nil).json(t, &doc)
	doc["versions"] = map[string]any{}
	b, _ := json.Marshal(doc)
	if r := f.do("PUT", "/npm/@octo%2fhello/-rev/x", tok, b); r.status != 200 {
		t.Fatalf("unpublish all: %d %s", r.status, r.body)
	}
	wantError(t, f.do("GET", "/npm/@octo%2fhello", tok, nil), 404, "not found")
}

func TestDeleteRestoreThroughService(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		env.User("octo")
		tok := env.Token("octo", testenv.AllScopes)
		f := newFixture(t, env, Options{})
		f.publish(tok, "@octo/hello", "1.0.0", nil, "")
		f.publish(tok, "@octo/hello", "1.1.0", nil, "")
		ctx := context.Background()
		ref := packages.PackageRef{Owner: "octo", Type: packages.TypeNpm, Name: "hello"}
		_, v, err := env.Service.GetVersionByName(ctx, env.Actor(tok), ref, "1.1.0", packages.ViaREST)
		if err != nil {
			t.Fatal(err)
		}
		if err := env.Service.DeleteVersion(ctx, env.Actor(tok), ref, v.ID, packages.ViaREST); err != nil {
			t.Fatal(err)
		}
		var p fullPackument
		f.do("GET", "/npm/@octo%2fhello", tok, nil).json(t, &p)
		// "latest" pointed at the deleted version: it falls back to the
		// highest remaining one.
		if len(p.Versions) != 1 || p.DistTags["latest"] != "1.0.0" {
			t.Fatalf("after delete: %v %v", sortedKeys(p.Versions), p.DistTags)
		}
		wantError(t, f.do("GET", "/npm/@octo/hello/-/hello-1.1.0.tgz", tok, nil), 404, "not found")
		wantError(t, f.do("GET", "/npm/@octo/hello/1.1.0", tok, nil), 404, "not found")
		if err := env.Service.RestoreVersion(ctx, env.Actor(tok), ref, v.ID, packages.ViaREST); err != nil {
			t.Fatal(err)
		}
		p = fullPackument{}
		f.do("GET", "/npm/@octo%2fhello", tok, nil).json(t, &p)
		if len(p.Versions) != 2 || p.DistTags["latest"] != "1.1.0" {
			t.Fatalf("after restore: %v %v", sortedKeys(p.Versions), p.DistTags)
		}
	})
}

func TestSearchWhoamiPing(t *testing.T) {
	env := testenv.New(t, "sqlite")
	env.User("octo")
	env.User("mona")
	env.Repo("octo/public-lib", packages.Public)
	tok := env.Token("octo", testenv.AllScopes)
	monaTok := env.Token("mona", testenv.AllScopes)
	f := newFixture(t, env, Options{})
	f.publish(tok, "@octo/public-lib", "1.0.0", map[string]any{"repository": "github:octo/public-lib", "keywords": []string{"k"}}, "")
	f.publish(tok, "@octo/private-lib", "2.0.0", nil, "")
	f.publish(monaTok, "@mona/lib", "0.1.0", nil, "")

	type result struct {
		Objects []struct {
			Package searchPackage `json:"package"`
		} `json:"objects"`
		Total int `json:"total"`
	}
	search := func(token, q string) (names []string, total int) {
		t.Helper()
		var res result
		r := f.do("GET", "/npm/-/v1/search?"+q, token, nil)
		if r.status != 200 {
			t.Fatalf("search %s: %d %s", q, r.status, r.body)
		}
		r.json(t, &res)
		for _, o := range res.Objects {
			names = append(names, o.Package.Name+"@"+o.Package.Version)
		}
		return names, res.Total
	}
	if got, total := search(tok, "text=lib&size=20&from=0"); strings.Join(got, ",") != "@octo/public-lib@1.0.0,@octo/private-lib@2.0.0" || total != 2 {
		t.Fatalf("octo sees %v (%d)", got, total)
	}
	if got, _ := search(monaTok, "text=lib"); strings.Join(got, ",") != "@octo/public-lib@1.0.0,@mona/lib@0.1.0" {
		t.Fatalf("mona sees %v", got)
	}
	if got, _ := search("", "text=lib"); strings.Join(got, ",") != "@octo/public-lib@1.0.0" {
		t.Fatalf("anonymous sees %v", got)
	}
	if got, total := search(tok, "text=lib&size=1&from=1"); strings.Join(got, ",") != "@octo/private-lib@2.0.0" || total != 2 {
		t.Fatalf("page 2: %v %d", got, total)
	}
	if got, _ := search(tok, "text=%40octo%2F"); len(got) != 2 {
		t.Fatalf("scope search: %v", got)
	}
	if got, _ := search(monaTok, "text=%40mona%2Flib"); strings.Join(got, ",") != "@mona/lib@0.1.0" {
		t.Fatalf("name search: %v", got)
	}

	var who map[string]string
	f.do("GET", "/npm/-/whoami", tok, nil).json(t, &who)
	if who["username"] != "octo" {
		t.Fatalf("whoami %v", who)
	}
	wantError(t, f.do("GET", "/npm/-/whoami", "", nil), 401, "authentication")
	if r := f.do("GET", "/npm/-/ping?write=true", "", nil); r.status != 200 || string(r.body) != "{}" {
		t.Fatalf("ping: %d %s", r.status, r.body)
	}
}

// TestBadRequests sends odd requests: none may answer 500, and every error
// is in npm's shape.
func TestBadRequests(t *testing.T) {
	env := testenv.New(t, "sqlite")
	env.User("octo")
	tok := env.Token("octo", testenv.AllScopes)
	f := newFixture(t, env, Options{})
	f.publish(tok, "@octo/hello", "1.0.0", nil, "")
	reqs := []struct{ method, path string }{
		{"GET", "/npm/"}, {"GET", "/npm/hello"}, {"GET", "/npm/@octo"}, {"GET", "/npm/@%2f"}, {"GET", "/npm/@/x"},
		{"GET", "/npm/@octo/hello/-/"}, {"GET", "/npm/@octo/hello/-/hello-.tgz"}, {"GET", "/npm/@octo/hello/a/b/c"},
		{"GET", "/npm/@not_a_login/x"}, {"GET", "/npm/@octo/..%2f..%2fx"}, {"GET", "/npm/@octo/hello/%ff"},
		{"POST", "/npm/@octo%2fhello"}, {"PATCH", "/npm/-/whoami"}, {"GET", "/npm/-/package/@octo%2fhello"},
		{"GET", "/npm/-/nothing"}, {"DELETE", "/npm/@octo%2fhello/-/other.tgz/-rev/1"},
		{"PUT", "/npm/-/user/org.couchdb.user:octo"}, {"GET", "/npm/-/v1/search?size=-1&from=x"},
		{"DELETE", "/npm/@octo%2fnope/-rev/1"}, {"GET", "/npm/@octo/" + strings.Repeat("a", 1000)},
	}
	for _, rq := range reqs {
		for _, token := range []string{"", tok} {
			r := f.do(rq.method, rq.path, token, nil)
			if r.status >= 500 || (r.status >= 400 && !json.Valid(r.body)) {
				t.Errorf("%s %s: %d %s", rq.method, rq.path, r.status, r.body)
			}
			if r.status >= 400 {
				var e map[string]any
				json.Unmarshal(r.body, &e)
				if _, ok := e["error"].(string); !ok {
					t.Errorf("%s %s: %d %s", rq.method, rq.path, r.status, r.body)
				}
			}
		}
	}
}
