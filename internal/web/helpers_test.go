package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
	"github.com/packhub/packhub/internal/web"
)

var ctx = context.Background()

// restStub stands for the REST API behind the pages.
var restStub = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Stub", "rest")
	_, _ = io.WriteString(w, `{"message":"rest"}`)
})

// site is the pages, mounted as the server mounts them, over a service
// with a few accounts.
type site struct {
	t     *testing.T
	env   *testenv.Env
	front *testenv.Front
	alice string // token: every scope
	bob   string // token: read:packages
}

func newSite(t *testing.T, env *testenv.Env) *site {
	t.Helper()
	env.User("alice")
	env.User("bob")
	env.User("carol")
	env.Org("acme", "alice")
	s := &site{t: t, env: env, alice: env.Token("alice", testenv.AllScopes), bob: env.Token("bob", "read:packages")}
	s.front = testenv.Serve(t, func(base string) http.Handler {
		return web.Route(web.New(env.Service, web.Options{BaseURL: base, Key: []byte("test key")}), restStub)
	})
	return s
}

// publish publishes versions of a package with one file each; meta is the
// versions' metadata.
func (s *site) publish(token string, ref packages.PackageRef, meta string, versions ...string) {
	s.t.Helper()
	a := s.env.Actor(token)
	for _, v := range versions {
		d, n, err := s.env.Blobs.Put(ctx, strings.NewReader(ref.String()+"@"+v), "")
		if err != nil {
			s.t.Fatal(err)
		}
		req := packages.PublishRequest{Package: ref, Version: v, Description: "about " + ref.Name,
			Files: []packages.File{{Name: ref.Name + "-" + v + ".tgz", Digest: d, Size: n, MediaType: "application/octet-stream"}}}
		if meta != "" {
			req.Metadata = json.RawMessage(meta)
		}
		if _, err := s.env.Service.Publish(ctx, a, req); err != nil {
			s.t.Fatalf("publish %s@%s: %v", ref, v, err)
		}
	}
}

func (s *site) public(token string, ref packages.PackageRef) {
	s.t.Helper()
	if err := s.env.Service.SetPackageVisibility(ctx, s.env.Actor(token), ref, packages.Public); err != nil {
		s.t.Fatal(err)
	}
}

func npmRef(owner, name string) packages.PackageRef {
	return packages.PackageRef{Owner: owner, Scope: packages.AnyOwner, Type: packages.TypeNpm, Name: name}
}

// browser is a cookie-keeping client that asks for HTML and does not
// follow redirects.
type browser struct {
	t      *testing.T
	s      *site
	client *http.Client
}

func (s *site) browser() *browser {
	jar, _ := cookiejar.New(nil)
	c := *s.front.Client
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{t: s.t, s: s, client: &c}
}

type page struct {
	Status int
	Header http.Header
	Body   string
}

func (b *browser) do(method, path string, form url.Values) *page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.s.front.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	rb, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	if res.StatusCode >= 500 {
		b.t.Errorf("%s %s: %d\n%s", method, path, res.StatusCode, rb)
	}
	return &page{Status: res.StatusCode, Header: res.Header, Body: string(rb)}
}

func (b *browser) get(path string) *page {
	b.t.Helper()
	return b.do(http.MethodGet, path, nil)
}

var csrfPattern = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the CSRF token of the forms of a page.
func (b *browser) csrf(path string) string {
	b.t.Helper()
	p := b.get(path)
	m := csrfPattern.FindStringSubmatch(p.Body)
	if m == nil {
		b.t.Fatalf("no CSRF token on %s (%d):\n%s", path, p.Status, p.Body)
	}
	return m[1]
}

// post submits a form from the page at from, with that page's CSRF token.
func (b *browser) post(from, action string, form url.Values) *page {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", b.csrf(from))
	return b.do(http.MethodPost, action, form)
}

// signIn signs in with a token and checks that it worked.
func (b *browser) signIn(token string) {
	b.t.Helper()
	p := b.post("/-/login", "/-/login", url.Values{"token": {token}, "return": {"/"}})
	if p.Status != http.StatusSeeOther {
		b.t.Fatalf("sign in: %d\n%s", p.Status, p.Body)
	}
}

func (b *browser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.s.front.URL)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func wantStatus(t *testing.T, what string, p *page, want int) {
	t.Helper()
	if p.Status != want {
		t.Fatalf("%s: status %d, want %d\n%s", what, p.Status, want, p.Body)
	}
}

func wantBody(t *testing.T, what string, p *page, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(p.Body, s) {
			t.Fatalf("%s: no %q in\n%s", what, s, p.Body)
		}
	}
}

func wantNoBody(t *testing.T, what string, p *page, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if strings.Contains(p.Body, s) {
			t.Fatalf("%s: %q in\n%s", what, s, p.Body)
		}
	}
}

// testenvServeTLS serves the pages over TLS.
func testenvServeTLS(t *testing.T, env *testenv.Env) *testenv.Front {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	srv.Config.Handler = web.Route(web.New(env.Service, web.Options{BaseURL: srv.URL, Key: []byte("test key")}), restStub)
	return &testenv.Front{T: t, URL: srv.URL, Client: srv.Client()}
}
