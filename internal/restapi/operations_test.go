package restapi_test

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

func digest(c byte) string { return "sha256:" + strings.Repeat(string(c), 64) }

// op is one of the 24 package operations, as a path template with
// {pkg} and {ver} placeholders ({pkg} is TYPE/NAME).
type op struct {
	method, path string
	kind         string // list, get, delete, restore, versions, version, delete-version, restore-version
}

func (o op) url(pkg string, ver int64) string {
	return strings.NewReplacer("{pkg}", pkg, "{ver}", strconv.FormatInt(ver, 10)).Replace(o.path)
}

// namespaceOps returns the 8 operations of one namespace prefix
// (/orgs/acme, /user, /users/alice).
func namespaceOps(prefix string) []op {
	return []op{
		{"GET", prefix + "/packages?package_type={type}", "list"},
		{"GET", prefix + "/packages/{pkg}", "get"},
		{"DELETE", prefix + "/packages/{pkg}", "delete"},
		{"POST", prefix + "/packages/{pkg}/restore", "restore"},
		{"GET", prefix + "/packages/{pkg}/versions", "versions"},
		{"GET", prefix + "/packages/{pkg}/versions/{ver}", "version"},
		{"DELETE", prefix + "/packages/{pkg}/versions/{ver}", "delete-version"},
		{"POST", prefix + "/packages/{pkg}/versions/{ver}/restore", "restore-version"},
	}
}

type pkgJSON struct {
	ID           int64          `json:"id"`
	Name         string         `json:"name"`
	PackageType  string         `json:"package_type"`
	Owner        map[string]any `json:"owner"`
	VersionCount int            `json:"version_count"`
	Visibility   string         `json:"visibility"`
	URL          string         `json:"url"`
	HTMLURL      string         `json:"html_url"`
	Repository   map[string]any `json:"repository"`
	CreatedAt    string         `json:"created_at"`
	UpdatedAt    string         `json:"updated_at"`
}

type verJSON struct {
	ID             int64          `json:"id"`
	Name           string         `json:"name"`
	URL            string         `json:"url"`
	PackageHTMLURL string         `json:"package_html_url"`
	HTMLURL        string         `json:"html_url"`
	License        string         `json:"license"`
	Description    string         `json:"description"`
	CreatedAt      string         `json:"created_at"`
	UpdatedAt      string         `json:"updated_at"`
	DeletedAt      *string        `json:"deleted_at"`
	Metadata       map[string]any `json:"metadata"`
}

var githubTime = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$`)

// TestOperations runs every one of the 24 operations to success, through
// both the root and /api/v3, and checks the bodies' URLs and fields.
func TestOperations(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		w := newWorld(t, env)
		base := w.srv.URL
		api := base + "/api/v3"

		npm := packages.PackageRef{Owner: "alice", Type: packages.TypeNpm, Name: "left-pad"}
		w.publish("alice", npm, "", "1.0.0", "1.1.0", "1.2.0")
		ctr := packages.PackageRef{Owner: "alice", Type: packages.TypeContainer, Name: "tools/cli"}
		cv := w.publish("alice", ctr, "", digest('a')+"#latest,v1", digest('b'), digest('c')+"#v0")
		env.Repo("alice/demo", packages.Public)
		mvn := packages.PackageRef{Owner: "alice", Type: packages.TypeMaven, Name: "com.example.demo"}
		mv := w.publish("alice", mvn, "alice/demo", "1.0", "1.1")
		lib := packages.PackageRef{Owner: "acme", Type: packages.TypeNpm, Name: "lib"}
		w.publish("carol", lib, "", "2.0.0", "2.1.0")
		web := packages.PackageRef{Owner: "acme", Type: packages.TypeContainer, Name: "web"}
		wv := w.publish("carol", web, "", digest('d')+"#latest", digest('e')+"#old")

		t.Run("get package", func(t *testing.T) {
			for _, path := range []string{"/user/packages/npm/left-pad", "/api/v3/users/alice/packages/npm/left-pad"} {
				r := w.do("GET", path, w.tok["alice"])
				r.expect(t, path, 200)
				var p pkgJSON
				r.json(t, &p)
				if p.Name != "left-pad" || p.PackageType != "npm" || p.VersionCount != 3 || p.Visibility != "private" {
					t.Errorf("%s: %+v", path, p)
				}
				if p.URL != api+"/users/alice/packages/npm/left-pad" || p.HTMLURL != base+"/users/alice/packages/npm/package/left-pad" {
					t.Errorf("%s: urls %s %s", path, p.URL, p.HTMLURL)
				}
				if p.Owner["login"] != "alice" || p.Owner["url"] != api+"/users/alice" || p.Owner["html_url"] != base+"/alice" || p.Owner["type"] != "User" {
					t.Errorf("%s: owner %v", path, p.Owner)
				}
				if p.Repository != nil {
					t.Errorf("%s: repository %v for an unlinked package", path, p.Repository)
				}
				if !githubTime.MatchString(p.CreatedAt) || !githubTime.MatchString(p.UpdatedAt) {
					t.Errorf("%s: timestamps %s %s", path, p.CreatedAt, p.UpdatedAt)
				}
				if r.header.Get("X-Accepted-OAuth-Scopes") != "read:packages" || !strings.Contains(r.header.Get("X-OAuth-Scopes"), "delete:packages") {
					t.Errorf("%s: scope headers %q %q", path, r.header.Get("X-Accepted-OAuth-Scopes"), r.header.Get("X-OAuth-Scopes"))
				}
			}
			r := w.do("GET", "/orgs/acme/packages/container/web", w.tok["bob"])
			r.expect(t, "org package, member", 404, "Package not found.")
			r = w.do("GET", "/api/v3/orgs/acme/packages/container/web", w.tok["carol"])
			r.expect(t, "org package", 200)
			var p pkgJSON
			r.json(t, &p)
			if p.URL != api+"/orgs/acme/packages/container/web" || p.HTMLURL != base+"/orgs/acme/packages/container/package/web" || p.Owner["type"] != "Organization" {
				t.Errorf("org package: %+v", p)
			}
			// A name with a slash travels as %2F.
			r = w.do("GET", "/users/alice/packages/container/tools%2Fcli", w.tok["alice"])
			r.expect(t, "slash name", 200)
			r.json(t, &p)
			if p.Name != "tools/cli" || p.URL != api+"/users/alice/packages/container/tools%2Fcli" {
				t.Errorf("slash name: %+v", p)
			}
			// A repository-scoped package embeds its repository and lives on
			// its page.
			r = w.do("GET", "/user/packages/maven/com.example.demo", w.tok["alice"])
			r.expect(t, "maven", 200)
			p = pkgJSON{}
			r.json(t, &p)
			if p.Repository == nil || p.Repository["full_name"] != "alice/demo" || p.Repository["has_downloads"] != true || p.Visibility != "public" {
				t.Errorf("maven: %+v", p)
			}
			if p.HTMLURL != fmt.Sprintf("%s/alice/demo/packages/%d", base, p.ID) {
				t.Errorf("maven html_url %s", p.HTMLURL)
			}
			r = w.do("GET", "/user/packages/maven/com.example.demo", w.tok["alice"], "X-GitHub-Api-Version: 2026-03-10")
			r.expect(t, "maven 2026-03-10", 200)
			p = pkgJSON{}
			r.json(t, &p)
			if _, ok := p.Repository["has_downloads"]; ok || r.header.Get("X-GitHub-Api-Version-Selected") != "2026-03-10" {
				t.Errorf("2026-03-10: has_downloads still there or version not selected: %v", r.header)
			}
		})

		t.Run("list packages", func(t *testing.T) {
			for _, path := range []string{"/user/packages?package_type=container", "/api/v3/users/alice/packages?package_type=container&visibility=private"} {
				r := w.do("GET", path, w.tok["alice"])
				r.expect(t, path, 200)
				var ps []pkgJSON
				r.json(t, &ps)
				if len(ps) != 1 || ps[0].Name != "tools/cli" {
					t.Errorf("%s: %+v", path, ps)
				}
			}
			r := w.do("GET", "/users/alice/packages?package_type=container&visibility=public", w.tok["alice"])
			r.expect(t, "visibility filter", 200)
			if string(r.body) != "[]\n" {
				t.Errorf("visibility=public: %s", r.body)
			}
			r = w.do("GET", "/orgs/acme/packages?package_type=npm", w.tok["carol"])
			r.expect(t, "org list", 200)
			var ps []pkgJSON
			r.json(t, &ps)
			if len(ps) != 1 || ps[0].Name != "lib" {
				t.Errorf("org list: %+v", ps)
			}
			// Strangers see only what they may read: nothing here.
			r = w.do("GET", "/orgs/acme/packages?package_type=npm", w.tok["mallory"])
			r.expect(t, "stranger org list", 200)
			if string(r.body) != "[]\n" {
				t.Errorf("stranger sees %s", r.body)
			}
			r = w.do("GET", "/users/nobody-here/packages?package_type=npm", w.tok["alice"])
			r.expect(t, "unknown user", 404)
			r = w.do("GET", "/orgs/alice/packages?package_type=npm", w.tok["alice"])
			r.expect(t, "user as org", 404)
		})

		t.Run("versions", func(t *testing.T) {
			r := w.do("GET", "/user/packages/container/tools%2Fcli/versions", w.tok["alice"])
			r.expect(t, "versions", 200)
			var vs []verJSON
			r.json(t, &vs)
			if len(vs) != 3 || vs[0].Name != digest('c') || vs[2].Name != digest('a') {
				t.Fatalf("versions: %+v", vs)
			}
			if tags := vs[2].Metadata["container"].(map[string]any)["tags"].([]any); len(tags) != 2 || tags[0] != "latest" || tags[1] != "v1" {
				t.Errorf("tags %v", tags)
			}
			if tags := vs[1].Metadata["container"].(map[string]any)["tags"].([]any); len(tags) != 0 {
				t.Errorf("untagged version has tags %v", tags)
			}
			want := fmt.Sprintf("%s/users/alice/packages/container/tools%%2Fcli/versions/%d", api, cv[0].ID)
			if vs[2].URL != want || vs[2].PackageHTMLURL != base+"/users/alice/packages/container/package/tools%2Fcli" ||
				vs[2].HTMLURL != fmt.Sprintf("%s/users/alice/packages/container/tools%%2Fcli/%d", base, cv[0].ID) {
				t.Errorf("version urls: %+v", vs[2])
			}
			if vs[0].Metadata["package_type"] != "container" || vs[0].DeletedAt != nil || vs[0].License != "MIT" || vs[0].Description == "" {
				t.Errorf("version fields: %+v", vs[0])
			}

			r = w.do("GET", "/users/alice/packages/maven/com.example.demo/versions", w.tok["alice"])
			r.expect(t, "user versions", 200)
			vs = nil
			r.json(t, &vs)
			if len(vs) != 2 || vs[0].Metadata["package_type"] != "maven" || len(vs[0].Metadata) != 1 {
				t.Fatalf("maven versions: %+v", vs)
			}
			var p pkgJSON
			w.do("GET", "/user/packages/maven/com.example.demo", w.tok["alice"]).json(t, &p)
			if vs[0].HTMLURL != fmt.Sprintf("%s/alice/demo/packages/%d?version=1.1", base, p.ID) || vs[0].PackageHTMLURL != fmt.Sprintf("%s/alice/demo/packages/%d", base, p.ID) {
				t.Errorf("maven version urls %s %s", vs[0].HTMLURL, vs[0].PackageHTMLURL)
			}

			r = w.do("GET", fmt.Sprintf("/api/v3/orgs/acme/packages/container/web/versions/%d", wv[0].ID), w.tok["carol"])
			r.expect(t, "org version", 200)
			var v verJSON
			r.json(t, &v)
			if v.ID != wv[0].ID || v.Name != digest('d') || v.URL != fmt.Sprintf("%s/orgs/acme/packages/container/web/versions/%d", api, wv[0].ID) ||
				v.HTMLURL != fmt.Sprintf("%s/orgs/acme/packages/container/web/%d", base, wv[0].ID) {
				t.Errorf("org version: %+v", v)
			}
			r = w.do("GET", fmt.Sprintf("/users/alice/packages/maven/com.example.demo/versions/%d", mv[0].ID), w.tok["alice"])
			r.expect(t, "user version", 200)
			r = w.do("GET", fmt.Sprintf("/user/packages/maven/com.example.demo/versions/%d", mv[0].ID), w.tok["alice"])
			r.expect(t, "self version", 200)
			r = w.do("GET", fmt.Sprintf("/user/packages/maven/com.example.demo/versions/%d", wv[0].ID), w.tok["alice"])
			r.expect(t, "another package's version", 404, "Package not found.")
		})

		// The delete and restore cycle of each namespace: delete a version,
		// see it with state=deleted, restore it; delete the package, restore
		// it.
		cycle := func(t *testing.T, prefix, token string, ref packages.PackageRef, versionsPaged bool) {
			pkg := string(ref.Type) + "/" + strings.ReplaceAll(ref.Name, "/", "%2F")
			p := prefix + "/packages/" + pkg
			var vs []verJSON
			w.do("GET", p+"/versions", token).json(t, &vs)
			id := vs[len(vs)-1].ID
			r := w.do("DELETE", fmt.Sprintf("%s/versions/%d", p, id), token)
			r.expect(t, "delete version", 204)
			if r.header.Get("X-Accepted-OAuth-Scopes") != strings.Join(w.env.Service.RequiredScopes(packages.OpDelete, ref.Type), ", ") {
				t.Errorf("delete: X-Accepted-OAuth-Scopes %q", r.header.Get("X-Accepted-OAuth-Scopes"))
			}
			r = w.do("GET", fmt.Sprintf("%s/versions/%d", p, id), token)
			r.expect(t, "get deleted version", 200)
			var v verJSON
			r.json(t, &v)
			if v.DeletedAt == nil || !githubTime.MatchString(*v.DeletedAt) {
				t.Errorf("deleted version without deleted_at: %s", r.body)
			}
			if versionsPaged {
				var del []verJSON
				w.do("GET", p+"/versions?state=deleted", token).json(t, &del)
				if len(del) != 1 || del[0].ID != id || del[0].DeletedAt == nil {
					t.Errorf("state=deleted: %+v", del)
				}
			}
			var act []verJSON
			w.do("GET", p+"/versions?state=active", token).json(t, &act)
			if len(act) != len(vs)-1 {
				t.Errorf("after delete: %d active versions, want %d", len(act), len(vs)-1)
			}
			r = w.do("POST", fmt.Sprintf("%s/versions/%d/restore", p, id), token)
			r.expect(t, "restore version", 204)
			act = nil
			w.do("GET", p+"/versions", token).json(t, &act)
			if len(act) != len(vs) {
				t.Errorf("after restore: %d versions, want %d", len(act), len(vs))
			}

			r = w.do("DELETE", p, token)
			r.expect(t, "delete package", 204)
			w.do("GET", p, token).expect(t, "get deleted package", 404, "Package not found.")
			w.do("GET", p+"/versions", token).expect(t, "versions of deleted package", 404, "Package not found.")
			r = w.do("POST", p+"/restore?token=opaque", token)
			r.expect(t, "restore package", 204)
			w.do("GET", p, token).expect(t, "get restored package", 200)
		}
		t.Run("cycle org", func(t *testing.T) { cycle(t, "/orgs/acme", w.tok["carol"], lib, true) })
		t.Run("cycle self", func(t *testing.T) { cycle(t, "/api/v3/user", w.tok["alice"], npm, true) })
		t.Run("cycle user", func(t *testing.T) { cycle(t, "/users/alice", w.tok["alice"], ctr, false) })
		t.Run("cycle maven", func(t *testing.T) { cycle(t, "/user", w.tok["alice"], mvn, true) })
	})
}

// TestOperationErrors sends each of the 24 operations without a token, with
// a bad one, with one lacking the scopes, and for a package that does not
// exist; and the list operations with a page window over 10000.
func TestOperationErrors(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		w := newWorld(t, env)
		npm := packages.PackageRef{Owner: "alice", Type: packages.TypeNpm, Name: "left-pad"}
		v := w.publish("alice", npm, "", "1.0.0", "1.1.0")
		lib := packages.PackageRef{Owner: "acme", Type: packages.TypeNpm, Name: "lib"}
		lv := w.publish("carol", lib, "", "1.0.0", "1.1.0")
		noScope := env.Token("alice", "repo")
		carolNoScope := env.Token("carol", "repo")
		bad := "phk_" + strings.Repeat("x", 40)

		type nsCase struct {
			prefix, owner, token, noScope string
			ver                           int64
		}
		for _, ns := range []nsCase{
			{"/orgs/acme", "carol", w.tok["carol"], carolNoScope, lv[0].ID},
			{"/user", "alice", w.tok["alice"], noScope, v[0].ID},
			{"/api/v3/users/alice", "alice", w.tok["alice"], noScope, v[0].ID},
		} {
			for _, o := range namespaceOps(ns.prefix) {
				name := o.method + " " + o.path
				path := strings.ReplaceAll(o.url("npm/"+map[bool]string{true: "lib", false: "left-pad"}[ns.owner == "carol"], ns.ver), "{type}", "npm")
				w.do(o.method, path, "").expect(t, name+" anonymous", 401, "Requires authentication")
				w.do(o.method, path, bad).expect(t, name+" bad token", 401, "Bad credentials")
				w.do(o.method, path, "not-a-token").expect(t, name+" garbage token", 401, "Bad credentials")
				r := w.do(o.method, path, ns.noScope)
				r.expect(t, name+" no scope", 403)
				if !strings.Contains(r.message(), "read:packages") {
					t.Errorf("%s no scope: message %q does not name the scope", name, r.message())
				}
				if o.kind == "list" {
					w.do(o.method, path+"&page=101&per_page=100", ns.token).expect(t, name+" window", 400,
						"The value of `per_page` multiplied by `page` cannot be greater than 10000.")
					w.do(o.method, path+"&page=100&per_page=100", ns.token).expect(t, name+" window edge", 200)
					w.do(o.method, path+"&page=10001&per_page=1", ns.token).expect(t, name+" window per_page=1", 400)
					w.do(o.method, strings.Replace(path, "?package_type=npm", "", 1), ns.token).expect(t, name+" no package_type", 400)
					continue
				}
				missing := strings.Replace(path, "/npm/"+map[bool]string{true: "lib", false: "left-pad"}[ns.owner == "carol"], "/npm/no-such-package", 1)
				w.do(o.method, missing, ns.token).expect(t, name+" unknown package", 404, "Package not found.")
				if strings.Contains(o.path, "{ver}") {
					other := strings.Replace(path, strconv.FormatInt(ns.ver, 10), "999999", 1)
					w.do(o.method, other, ns.token).expect(t, name+" unknown version", 404, "Package not found.")
				}
			}
		}

		// Documentation URLs name the operation.
		r := w.do("DELETE", "/orgs/acme/packages/npm/lib", "")
		if !strings.Contains(string(r.body), `"documentation_url": "https://docs.github.com/rest/packages/packages#delete-a-package-for-an-organization"`) {
			t.Errorf("documentation_url: %s", r.body)
		}
	})
}

// TestDeleteRules checks the delete rules GitHub answers 400 for, through
// the REST API.
func TestDeleteRules(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		w := newWorld(t, env)
		tok := w.tok["alice"]

		one := packages.PackageRef{Owner: "alice", Type: packages.TypeNpm, Name: "single"}
		ov := w.publish("alice", one, "", "1.0.0")
		w.do("DELETE", fmt.Sprintf("/user/packages/npm/single/versions/%d", ov[0].ID), tok).
			expect(t, "last version", 400, packages.MsgLastVersion)
		w.do("DELETE", "/user/packages/npm/single", tok).expect(t, "delete the package instead", 204)

		ctr := packages.PackageRef{Owner: "alice", Type: packages.TypeContainer, Name: "img"}
		cv := w.publish("alice", ctr, "", digest('1')+"#latest", digest('2'))
		w.do("DELETE", fmt.Sprintf("/user/packages/container/img/versions/%d", cv[0].ID), tok).
			expect(t, "last tagged version", 400, packages.MsgLastTaggedVersion)
		w.do("DELETE", fmt.Sprintf("/user/packages/container/img/versions/%d", cv[1].ID), tok).
			expect(t, "untagged version", 204)

		pop := packages.PackageRef{Owner: "alice", Type: packages.TypeNpm, Name: "popular"}
		pv := w.publish("alice", pop, "", "1.0.0", "2.0.0", "3.0.0")
		w.setVisibility("alice", pop, packages.Public)
		var p pkgJSON
		w.do("GET", "/user/packages/npm/popular", tok).json(t, &p)
		w.downloads(p.ID, pv[0].ID, 5001)
		w.downloads(p.ID, pv[1].ID, 5000)
		w.do("DELETE", fmt.Sprintf("/users/alice/packages/npm/popular/versions/%d", pv[0].ID), tok).
			expect(t, "5001 downloads", 400, packages.MsgTooManyDownloads)
		w.do("DELETE", fmt.Sprintf("/users/alice/packages/npm/popular/versions/%d", pv[1].ID), tok).
			expect(t, "5000 downloads", 204)
		w.do("DELETE", "/users/alice/packages/npm/popular", tok).
			expect(t, "package with a 5001-download version", 400, packages.MsgTooManyDownloads)

		// Private packages have no download limit.
		priv := packages.PackageRef{Owner: "alice", Type: packages.TypeNpm, Name: "private-popular"}
		qv := w.publish("alice", priv, "", "1.0.0", "2.0.0")
		w.do("GET", "/user/packages/npm/private-popular", tok).json(t, &p)
		w.downloads(p.ID, qv[0].ID, 5001)
		w.do("DELETE", fmt.Sprintf("/user/packages/npm/private-popular/versions/%d", qv[0].ID), tok).
			expect(t, "private 5001 downloads", 204)
		w.do("DELETE", "/user/packages/npm/private-popular", tok).expect(t, "private package", 204)
		_ = http.StatusOK
	})
}
