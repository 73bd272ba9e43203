package restapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/restapi"
	"github.com/packhub/packhub/internal/testenv"
)

// allScopes is what a token that may do everything carries.
const allScopes = testenv.AllScopes

// world is a running REST API over a real service, with the accounts most
// tests need:
//
//	alice   a user who owns packages
//	carol   admin of the organization acme
//	bob     member of acme
//	dave    a user granted admin on particular packages
//	mallory a stranger
type world struct {
	t    *testing.T
	env  *testenv.Env
	spec *spec
	srv  *httptest.Server
	ctx  context.Context
	tok  map[string]string // login -> token with allScopes
}

func newWorld(t *testing.T, env *testenv.Env) *world {
	t.Helper()
	sp := loadSpec(t)
	w := &world{t: t, env: env, spec: sp, ctx: context.Background(), tok: map[string]string{}}
	var h http.Handler
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { h.ServeHTTP(rw, r) }))
	t.Cleanup(w.srv.Close)
	h = restapi.New(env.Service, restapi.Options{BaseURL: w.srv.URL})
	for _, u := range []string{"alice", "bob", "carol", "dave", "mallory"} {
		env.User(u)
		w.tok[u] = env.Token(u, allScopes)
	}
	env.Org("acme", "carol")
	env.Member("acme", "bob", packages.OrgMember)
	return w
}

// actor authenticates a login's full token.
func (w *world) actor(login string) *packages.Actor { return w.env.Actor(w.tok[login]) }

// publish publishes versions of a package as login, each with tags when
// given as "version#tag1,tag2".
func (w *world) publish(login string, ref packages.PackageRef, repo string, versions ...string) []*packages.Version {
	w.t.Helper()
	var out []*packages.Version
	for _, v := range versions {
		name, tagList, _ := strings.Cut(v, "#")
		var tags []string
		if tagList != "" {
			tags = strings.Split(tagList, ",")
		}
		d, n, err := w.env.Blobs.Put(w.ctx, strings.NewReader(ref.String()+"@"+name), "")
		if err != nil {
			w.t.Fatalf("put blob: %v", err)
		}
		p, err := w.env.Service.Publish(w.ctx, w.actor(login), packages.PublishRequest{
			Package: ref, Version: name, Repository: repo, Tags: tags,
			Description: "The " + ref.Name + " package", License: "MIT",
			Files: []packages.File{{Name: "file", Digest: d, Size: n, MediaType: "application/octet-stream"}},
		})
		if err != nil {
			w.t.Fatalf("publish %s@%s: %v", ref, name, err)
		}
		out = append(out, p.Version)
	}
	return out
}

func (w *world) setVisibility(login string, ref packages.PackageRef, vis packages.Visibility) {
	w.t.Helper()
	if err := w.env.Service.SetPackageVisibility(w.ctx, w.actor(login), ref, vis); err != nil {
		w.t.Fatalf("visibility of %s: %v", ref, err)
	}
}

func (w *world) grant(login string, ref packages.PackageRef, user string, role packages.Role) {
	w.t.Helper()
	if err := w.env.Service.GrantPackageAccess(w.ctx, w.actor(login), ref, user, role); err != nil {
		w.t.Fatalf("grant %s on %s: %v", user, ref, err)
	}
}

// downloads records n downloads of a version.
func (w *world) downloads(pkgID, versionID int64, n int) {
	w.t.Helper()
	for i := 0; i < n; i++ {
		if err := w.env.Store.IncrementDownloads(w.ctx, pkgID, versionID); err != nil {
			w.t.Fatalf("count download: %v", err)
		}
	}
}

// response is one answer of the API, already checked against GitHub's
// description.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r *response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// message is the message of an error body.
func (r *response) message() string {
	var e struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(r.body, &e)
	return e.Message
}

// do sends a request with token ("" for none) and extra headers given as
// "Name: value", and validates the answer against GitHub's description.
func (w *world) do(method, path, token string, headers ...string) *response {
	w.t.Helper()
	return w.doT(w.t, method, path, token, headers...)
}

func (w *world) doT(t testing.TB, method, path, token string, headers ...string) *response {
	t.Helper()
	req, err := http.NewRequest(method, w.srv.URL+path, nil)
	if err != nil {
		t.Fatalf("request %s %s: %v", method, path, err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	client := &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	body := readAll(t, res.Body)
	if res.StatusCode >= 500 {
		t.Errorf("%s %s: %d %s", method, path, res.StatusCode, body)
	}
	w.spec.checkResponse(t, req, res.StatusCode, res.Header, body)
	return &response{status: res.StatusCode, header: res.Header, body: body}
}

// expect asserts a status, and a message when one is given.
func (r *response) expect(t testing.TB, what string, status int, message ...string) {
	t.Helper()
	if r.status != status {
		t.Errorf("%s: status %d, want %d; body %s", what, r.status, status, truncate(r.body, 500))
		return
	}
	if len(message) > 0 && r.message() != message[0] {
		t.Errorf("%s: message %q, want %q", what, r.message(), message[0])
	}
}
