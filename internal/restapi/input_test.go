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

// TestBadInput sends what clients get wrong; every answer is GitHub's
// status and body, never a 5xx (world.do fails on any 5xx).
func TestBadInput(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		w := newWorld(t, env)
		tok := w.tok["alice"]
		ref := packages.PackageRef{Owner: "alice", Type: packages.TypeNpm, Name: "left-pad"}
		v := w.publish("alice", ref, "", "1.0.0", "1.1.0")

		cases := []struct {
			method, path string
			status       int
			message      string
		}{
			{"GET", "/user/packages/pypi/left-pad", 400, "Invalid package_type: must be one of npm, maven, rubygems, docker, nuget, container."},
			{"DELETE", "/users/alice/packages/NPM/left-pad", 400, "Invalid package_type: must be one of npm, maven, rubygems, docker, nuget, container."},
			{"GET", "/user/packages?package_type=pypi", 400, "Invalid package_type: must be one of npm, maven, rubygems, docker, nuget, container."},
			{"GET", "/user/packages", 400, "The package_type parameter is required: one of npm, maven, rubygems, docker, nuget, container."},
			{"GET", "/user/packages?package_type=npm&visibility=secret", 400, "Invalid visibility: must be one of public, private, internal."},
			{"GET", "/user/packages/npm/left-pad/versions/latest", 400, "The version_id parameter must be an integer."},
			{"GET", "/user/packages/npm/left-pad/versions/sha256:abc", 400, "The version_id parameter must be an integer."},
			{"DELETE", "/user/packages/npm/left-pad/versions/1.5", 400, "The version_id parameter must be an integer."},
			{"POST", "/user/packages/npm/left-pad/versions/%20/restore", 400, "The version_id parameter must be an integer."},
			{"GET", "/user/packages/npm/left-pad/versions/0", 404, "Package not found."},
			{"GET", "/user/packages/npm/left-pad/versions/-1", 404, "Package not found."},
			{"GET", "/user/packages/npm/left-pad/versions/99999999999999999999999", 404, "Package not found."},
			{"GET", "/user/packages/npm/left%00pad", 404, "Package not found."},
			{"GET", "/user/packages/npm/left%0Apad", 404, "Package not found."},
			{"DELETE", "/user/packages/npm/left%0D%0Apad", 404, "Package not found."},
			{"GET", "/user/packages/npm/..%2F..%2Fetc", 404, "Not Found"},
			{"GET", "/user/packages/npm/%2E%2E", 404, "Not Found"},
			{"GET", "/user/packages/npm/a%2F%2Fb", 404, "Not Found"},
			{"GET", "/user/packages/npm/a%5Cb", 404, "Package not found."},
			{"GET", "/user/packages/npm/" + strings.Repeat("x", 600), 404, "Package not found."},
			{"GET", "/user/packages/npm/left-pad/", 404, "Not Found"},
			{"GET", "/user/packages/npm/left-pad/versions/", 404, "Not Found"},
			{"GET", "/user/packages/", 404, "Not Found"},
			{"GET", "/user/packages/npm/left/pad", 404, "Not Found"},
			{"PUT", "/user/packages/npm/left-pad", 404, "Not Found"},
			{"PATCH", "/user/packages/npm/left-pad/versions/1", 404, "Not Found"},
			{"GET", "/repos/alice/demo/packages", 404, "Not Found"},
			{"GET", "/api/v3/no/such/thing", 404, "Not Found"},
			{"GET", "/api/v4/user", 404, "Not Found"},
			{"GET", "/users/" + strings.Repeat("a", 40) + "/packages/npm/x", 404, "Package not found."},
			{"GET", "/users/bad..login/packages?package_type=npm", 404, "Not Found"},
			{"GET", "/orgs/alice/packages/npm/left-pad", 404, "Package not found."},
		}
		for _, c := range cases {
			r := w.do(c.method, c.path, tok)
			r.expect(t, c.method+" "+c.path, c.status, c.message)
		}

		// Unknown query parameters are ignored; restore takes any token.
		w.do("GET", "/user/packages/npm/left-pad?foo=bar&package_type=nuget", tok).expect(t, "unknown parameters", 200)
		w.do("DELETE", fmt.Sprintf("/user/packages/npm/left-pad/versions/%d?foo=1", v[0].ID), tok).expect(t, "delete", 204)
		w.do("POST", fmt.Sprintf("/user/packages/npm/left-pad/versions/%d/restore?token=x", v[0].ID), tok).expect(t, "restore", 204)
	})
}

var linkPart = regexp.MustCompile(`^<([^>]+)>; rel="(prev|next|last|first)"$`)

// links parses a Link header into rel -> page, in order.
func links(t *testing.T, h string) (rels []string, pages map[string]int, urls map[string]string) {
	t.Helper()
	pages, urls = map[string]int{}, map[string]string{}
	if h == "" {
		return nil, pages, urls
	}
	for _, part := range strings.Split(h, ", ") {
		m := linkPart.FindStringSubmatch(part)
		if m == nil {
			t.Fatalf("Link part %q", part)
		}
		rels = append(rels, m[2])
		urls[m[2]] = m[1]
		p := regexp.MustCompile(`[?&]page=(\d+)`).FindStringSubmatch(m[1])
		if p == nil {
			t.Fatalf("Link without page: %q", m[1])
		}
		pages[m[2]], _ = strconv.Atoi(p[1])
	}
	return rels, pages, urls
}

func TestPagination(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		w := newWorld(t, env)
		tok := w.tok["alice"]
		ref := packages.PackageRef{Owner: "alice", Type: packages.TypeNpm, Name: "many"}
		var names []string
		for i := 1; i <= 105; i++ {
			names = append(names, fmt.Sprintf("1.0.%d", i))
		}
		w.publish("alice", ref, "", names...)
		for i := 1; i <= 5; i++ {
			w.publish("alice", packages.PackageRef{Owner: "alice", Type: packages.TypeNuGet, Name: fmt.Sprintf("Pkg%d", i)}, "", "1.0.0")
		}
		base := w.srv.URL
		vp := "/user/packages/npm/many/versions"

		count := func(r *response) int {
			var vs []map[string]any
			r.json(t, &vs)
			return len(vs)
		}
		cases := []struct {
			query     string
			n         int
			rels      string
			pages     map[string]int
			perPageIn int
		}{
			{"", 30, "next,last", map[string]int{"next": 2, "last": 4}, 0},
			{"?per_page=0", 30, "next,last", map[string]int{"next": 2, "last": 4}, 0},
			{"?per_page=-1", 30, "next,last", map[string]int{"next": 2, "last": 4}, 0},
			{"?per_page=abc", 30, "next,last", map[string]int{"next": 2, "last": 4}, 0},
			{"?per_page=1000", 100, "next,last", map[string]int{"next": 2, "last": 2}, 0},
			{"?per_page=100&page=2", 5, "prev,first", map[string]int{"prev": 1, "first": 1}, 0},
			{"?page=0", 30, "next,last", map[string]int{"next": 2, "last": 4}, 0},
			{"?page=-3", 30, "next,last", map[string]int{"next": 2, "last": 4}, 0},
			{"?state=active&per_page=20&page=3", 20, "prev,next,last,first", map[string]int{"prev": 2, "next": 4, "last": 6, "first": 1}, 0},
			{"?page=99999999999999999999", 0, "prev,first", nil, 0},
			{"?page=9", 0, "prev,first", map[string]int{"prev": 8, "first": 1}, 0},
		}
		for _, c := range cases {
			r := w.do("GET", vp+c.query, tok)
			r.expect(t, c.query, 200)
			if n := count(r); n != c.n {
				t.Errorf("%s: %d versions, want %d", c.query, n, c.n)
			}
			rels, pages, urls := links(t, r.header.Get("Link"))
			if strings.Join(rels, ",") != c.rels {
				t.Errorf("%s: Link rels %v, want %s (%s)", c.query, rels, c.rels, r.header.Get("Link"))
			}
			for rel, p := range c.pages {
				if pages[rel] != p {
					t.Errorf("%s: rel=%s page %d, want %d", c.query, rel, pages[rel], p)
				}
			}
			if c.query == "?state=active&per_page=20&page=3" && urls["next"] != base+vp+"?state=active&per_page=20&page=4" {
				t.Errorf("next URL %q keeps neither the query nor its order", urls["next"])
			}
		}
		// Everything on one page: no Link header.
		r := w.do("GET", "/user/packages?package_type=nuget", tok)
		if r.header.Get("Link") != "" || count(r) != 5 {
			t.Errorf("one page: Link %q, %d packages", r.header.Get("Link"), count(r))
		}
		r = w.do("GET", "/api/v3/user/packages?package_type=nuget&per_page=2", tok)
		rels, pages, urls := links(t, r.header.Get("Link"))
		if strings.Join(rels, ",") != "next,last" || pages["last"] != 3 || !strings.HasPrefix(urls["next"], base+"/api/v3/user/packages?package_type=nuget&per_page=2&page=2") {
			t.Errorf("package list Link %q", r.header.Get("Link"))
		}
		// Following next visits every package once.
		seen := map[string]bool{}
		next := "/user/packages?package_type=nuget&per_page=2"
		for i := 0; next != "" && i < 10; i++ {
			r := w.do("GET", next, tok)
			var ps []pkgJSON
			r.json(t, &ps)
			for _, p := range ps {
				if seen[p.Name] {
					t.Errorf("%s seen twice", p.Name)
				}
				seen[p.Name] = true
			}
			_, _, urls := links(t, r.header.Get("Link"))
			next = strings.TrimPrefix(urls["next"], base)
		}
		if len(seen) != 5 {
			t.Errorf("following next saw %d packages", len(seen))
		}
		w.do("GET", "/user/packages?package_type=nuget&page=99999999999999999999", tok).expect(t, "huge page on a package list", 400)
		// #21 is not paged: every version, no Link.
		r = w.do("GET", "/users/alice/packages/npm/many/versions?per_page=10&page=2", tok)
		if count(r) != 105 || r.header.Get("Link") != "" {
			t.Errorf("#21: %d versions, Link %q", count(r), r.header.Get("Link"))
		}
	})
}

// TestHeaders checks the headers GitHub sends, API version selection,
// conditional requests and the account and meta endpoints.
func TestHeaders(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		w := newWorld(t, env)
		tok := w.tok["alice"]
		w.publish("alice", packages.PackageRef{Owner: "alice", Type: packages.TypeNpm, Name: "left-pad"}, "", "1.0.0")

		r := w.do("GET", "/user/packages/npm/left-pad", tok, "X-Request-Id: req-123")
		h := r.header
		for name, want := range map[string]string{
			"X-GitHub-Media-Type":           "github.v3; format=json",
			"X-GitHub-Api-Version-Selected": "2022-11-28",
			"X-GitHub-Request-Id":           "req-123",
			"X-RateLimit-Limit":             "5000",
			"X-RateLimit-Resource":          "core",
			"X-OAuth-Scopes":                "read:packages, write:packages, delete:packages, repo",
			"X-Accepted-OAuth-Scopes":       "read:packages",
			"Access-Control-Allow-Origin":   "*",
			"Cache-Control":                 "private, max-age=60, s-maxage=60",
		} {
			if got := h.Get(name); got != want {
				t.Errorf("%s: %q, want %q", name, got, want)
			}
		}
		if !strings.Contains(h.Get("Access-Control-Expose-Headers"), "X-GitHub-Request-Id") || h.Get("ETag") == "" {
			t.Errorf("expose headers %q, etag %q", h.Get("Access-Control-Expose-Headers"), h.Get("ETag"))
		}
		used, _ := strconv.Atoi(h.Get("X-RateLimit-Used"))
		rem, _ := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
		reset, _ := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64)
		if used < 1 || rem != 5000-used || reset <= 0 {
			t.Errorf("rate limit: used %d remaining %d reset %d", used, rem, reset)
		}
		if id := w.do("GET", "/versions", "").header.Get("X-GitHub-Request-Id"); id == "" || id == "req-123" {
			t.Errorf("generated request id %q", id)
		}
		if id := w.do("GET", "/versions", "", "X-Request-Id: bad\tid").header.Get("X-GitHub-Request-Id"); id == "" || strings.Contains(id, "bad") {
			t.Errorf("request id from an unsafe header: %q", id)
		}

		// Conditional GET.
		etag := h.Get("ETag")
		r = w.do("GET", "/user/packages/npm/left-pad", tok, "If-None-Match: "+etag)
		if r.status != http.StatusNotModified || r.header.Get("ETag") != etag {
			t.Errorf("If-None-Match: %d %q", r.status, r.header.Get("ETag"))
		}
		w.do("GET", "/user/packages/npm/left-pad", tok, `If-None-Match: "other"`).expect(t, "other etag", 200)

		// API versions.
		r = w.do("GET", "/user/packages/npm/left-pad", tok, "X-GitHub-Api-Version: 2026-03-10")
		if r.status != 200 || r.header.Get("X-GitHub-Api-Version-Selected") != "2026-03-10" {
			t.Errorf("2026-03-10: %d %q", r.status, r.header.Get("X-GitHub-Api-Version-Selected"))
		}
		r = w.do("GET", "/user/packages/npm/left-pad", tok, "X-GitHub-Api-Version: 1999-01-01")
		r.expect(t, "unknown version", 400, "Bad Request")
		var verr struct {
			Errors string `json:"errors"`
		}
		r.json(t, &verr)
		if !strings.Contains(verr.Errors, `"1999-01-01", is not a supported version`) {
			t.Errorf("version error: %s", r.body)
		}

		// Authentication schemes and failures.
		w.do("GET", "/user", "", "Authorization: token "+tok).expect(t, "token scheme", 200)
		w.do("GET", "/user", "", "Authorization: Basic "+basic("alice", tok)).expect(t, "basic", 200)
		w.do("GET", "/user", "", "Authorization: Bearer").expect(t, "empty bearer", 401, "Bad credentials")
		w.do("GET", "/versions", "phk_"+strings.Repeat("0", 40)).expect(t, "bad token on an open endpoint", 401, "Bad credentials")
		w.do("GET", "/no/such/path", "nope").expect(t, "bad token on an unknown path", 401, "Bad credentials")

		// CORS preflight.
		req, _ := http.NewRequest("OPTIONS", w.srv.URL+"/user/packages", nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 204 || res.Header.Get("Access-Control-Allow-Origin") != "*" || res.Header.Get("Access-Control-Allow-Methods") == "" {
			t.Errorf("preflight: %d %v", res.StatusCode, res.Header)
		}
	})
}

func basic(user, pass string) string {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(user, pass)
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
}

// TestAccounts checks GET /user, /users/{username}, /orgs/{org}, /versions
// and / against GitHub's description.
func TestAccounts(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		w := newWorld(t, env)
		base := w.srv.URL
		for _, prefix := range []string{"", "/api/v3"} {
			w.do("GET", prefix+"/user", "").expect(t, "anonymous /user", 401, "Requires authentication")
			r := w.do("GET", prefix+"/user", w.tok["alice"])
			r.expect(t, "/user", 200)
			var u map[string]any
			r.json(t, &u)
			if u["login"] != "alice" || u["user_view_type"] != "private" || u["url"] != base+"/api/v3/users/alice" {
				t.Errorf("/user: %v", u)
			}
			r = w.do("GET", prefix+"/users/bob", "")
			r.expect(t, "/users/bob", 200)
			u = nil
			r.json(t, &u)
			if u["login"] != "bob" || u["type"] != "User" || u["user_view_type"] != "public" {
				t.Errorf("/users/bob: %v", u)
			}
			r = w.do("GET", prefix+"/users/acme", w.tok["bob"])
			r.expect(t, "/users/acme", 200)
			u = nil
			r.json(t, &u)
			if u["type"] != "Organization" {
				t.Errorf("/users/acme: %v", u)
			}
			w.do("GET", prefix+"/users/nobody", "").expect(t, "unknown user", 404, "Not Found")
			r = w.do("GET", prefix+"/orgs/acme", "")
			r.expect(t, "/orgs/acme", 200)
			u = nil
			r.json(t, &u)
			if u["login"] != "acme" || u["url"] != base+"/api/v3/orgs/acme" || u["html_url"] != base+"/acme" {
				t.Errorf("/orgs/acme: %v", u)
			}
			w.do("GET", prefix+"/orgs/alice", "").expect(t, "user as org", 404, "Not Found")
			r = w.do("GET", prefix+"/versions", "")
			if r.status != 200 || strings.Join(strings.Fields(string(r.body)), "") != `["2022-11-28","2026-03-10"]` {
				t.Errorf("/versions: %d %s", r.status, r.body)
			}
		}
		for _, p := range []string{"/", "/api/v3", "/api/v3/"} {
			r := w.do("GET", p, "")
			r.expect(t, p, 200)
			var root map[string]string
			r.json(t, &root)
			if root["current_user_url"] != base+"/api/v3/user" {
				t.Errorf("%s: %v", p, root)
			}
		}
	})
}
