package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

// TestWebRouting: pages answer requests asking for HTML on their paths;
// everything else goes to the REST API, /api/v3/ always.
func TestWebRouting(t *testing.T) {
	env := testenv.New(t, "sqlite")
	s := newSite(t, env)
	cases := []struct {
		path, accept string
		page         bool
	}{
		{"/", "text/html", true},
		{"/", "application/vnd.github+json", false},
		{"/", "*/*", false},
		{"/", "", false},
		{"/users/alice/packages", "text/html,application/xhtml+xml,*/*;q=0.8", true},
		{"/users/alice/packages", "application/json", false},
		{"/users/alice/packages", "text/html;q=0", false},
		{"/orgs/acme/packages", "text/html", true},
		{"/alice", "text/html", true},
		{"/api/v3/users/alice/packages", "text/html", false},
		{"/api/v3", "text/html", false},
		// The REST API's package path is not a page's.
		{"/users/alice/packages/npm/x", "text/html", false},
		{"/users/alice/packages/npm/x/versions", "text/html", false},
		{"/-/login", "", true},
		{"/-/nothing", "application/json", true},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(http.MethodGet, s.front.URL+c.path, nil)
		if c.accept != "" {
			req.Header.Set("Accept", c.accept)
		}
		res, err := s.front.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		gotPage := res.Header.Get("X-Stub") == ""
		if gotPage != c.page {
			t.Errorf("GET %s Accept %q: page %v, want %v (%d %s)", c.path, c.accept, gotPage, c.page, res.StatusCode, res.Header.Get("Content-Type"))
		}
		if gotPage && res.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s: no Content-Security-Policy", c.path)
		}
	}
}

func TestWebSignIn(t *testing.T) { testenv.Each(t, testSignIn) }

func testSignIn(t *testing.T, env *testenv.Env) {
	s := newSite(t, env)
	s.publish(s.alice, npmRef("alice", "secret"), "", "1.0.0")
	secretPage := "/users/alice/packages/npm/package/secret"

	b := s.browser()
	wantStatus(t, "anonymous private page", b.get(secretPage), http.StatusNotFound)
	home := b.get("/")
	wantBody(t, "anonymous home", home, "Sign in")
	// The anonymous sign-in form carries a CSRF token tied to a form cookie.
	if c := b.cookie("packhub_form"); c == nil {
		t.Fatal("no form cookie for the sign-in form")
	}

	// A sign-in without the form's token is refused.
	p := b.do(http.MethodPost, "/-/login", url.Values{"token": {s.alice}})
	wantStatus(t, "sign in without CSRF", p, http.StatusForbidden)
	p = b.do(http.MethodPost, "/-/login", url.Values{"token": {s.alice}, "csrf": {"forged"}})
	wantStatus(t, "sign in with a forged CSRF token", p, http.StatusForbidden)

	// Bad and scope-less tokens.
	p = b.post("/-/login", "/-/login", url.Values{"token": {"ghp_nope"}})
	wantStatus(t, "bad token", p, http.StatusUnauthorized)
	wantNoBody(t, "bad token", p, "ghp_nope")
	noRead := env.Token("carol", "delete:packages")
	p = b.post("/-/login", "/-/login", url.Values{"token": {noRead}})
	wantStatus(t, "token without read:packages", p, http.StatusForbidden)
	wantBody(t, "token without read:packages", p, "read:packages")

	// Sign in, back to where the visitor was.
	p = b.post("/-/login", "/-/login", url.Values{"token": {s.alice}, "return": {secretPage}})
	wantStatus(t, "sign in", p, http.StatusSeeOther)
	if loc := p.Header.Get("Location"); loc != secretPage {
		t.Fatalf("sign in went to %q, want %q", loc, secretPage)
	}
	var session *http.Cookie
	for _, c := range (&http.Response{Header: p.Header}).Cookies() {
		if c.Name == "packhub_session" {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Secure || session.Path != "/" {
		t.Fatalf("session cookie: %+v", session)
	}
	if !strings.HasPrefix(session.Value, "phs_") {
		t.Fatalf("session cookie value %q", session.Value)
	}
	if session.Expires.IsZero() || session.Expires.Before(time.Now().Add(29*24*time.Hour)) {
		t.Fatalf("session cookie expires %v", session.Expires)
	}
	// The sign-in is in the audit log (with the request's IP and id when
	// served behind the server's middleware: test/e2e TestAuditLog).
	evs, _, err := env.Service.AuditEvents(t.Context(), nil, packages.AuditRequest{Action: packages.ActionSignIn}, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Actor != "alice" || evs[0].TokenID == 0 {
		t.Fatalf("sign-in events: %+v", evs)
	}
	p = b.get(secretPage)
	wantStatus(t, "signed-in private page", p, http.StatusOK)
	wantBody(t, "signed-in private page", p, "Sign out", "alice")

	// An open redirect is not possible.
	for _, ret := range []string{"https://evil.example/", "//evil.example/x", "/\\evil.example"} {
		b2 := s.browser()
		p := b2.post("/-/login", "/-/login", url.Values{"token": {s.bob}, "return": {ret}})
		if loc := p.Header.Get("Location"); loc != "/" {
			t.Errorf("return %q: sent to %q", ret, loc)
		}
	}

	// Sign out: the session is gone, and its cookie, replayed, is refused.
	csrf := b.csrf("/")
	p = b.do(http.MethodPost, "/-/logout", url.Values{"csrf": {csrf}})
	wantStatus(t, "sign out", p, http.StatusSeeOther)
	wantStatus(t, "after sign out", b.get(secretPage), http.StatusNotFound)

	replay := s.browser()
	u, _ := url.Parse(s.front.URL)
	replay.client.Jar.SetCookies(u, []*http.Cookie{{Name: "packhub_session", Value: session.Value, Path: "/"}})
	p = replay.get(secretPage)
	wantStatus(t, "signed-out session cookie", p, http.StatusNotFound)
	if c := replay.cookie("packhub_session"); c != nil {
		t.Fatalf("the refused session cookie was kept: %+v", c)
	}
	// Its old CSRF token does not make a POST with it work either.
	replay.client.Jar.SetCookies(u, []*http.Cookie{{Name: "packhub_session", Value: session.Value, Path: "/"}})
	p = replay.do(http.MethodPost, "/users/alice/packages/npm/package/secret/settings/visibility", url.Values{"csrf": {csrf}, "visibility": {"public"}})
	wantStatus(t, "POST with a signed-out session", p, http.StatusForbidden)
	pi, err := env.Service.GetPackage(ctx, env.Actor(s.alice), npmRef("alice", "secret"), packages.OpRead, packages.ViaRegistry)
	if err != nil || pi.Visibility != packages.Private {
		t.Fatalf("package after a refused POST: %+v %v", pi, err)
	}
}

func TestWebSessionEndsWithToken(t *testing.T) { testenv.Each(t, testSessionEndsWithToken) }

func testSessionEndsWithToken(t *testing.T, env *testenv.Env) {
	s := newSite(t, env)
	tok, token, err := env.Service.CreateToken(ctx, "bob", []string{"read:packages"}, "web", 0)
	if err != nil {
		t.Fatal(err)
	}
	b := s.browser()
	b.signIn(tok)
	wantBody(t, "signed in", b.get("/"), "Sign out")
	if _, _, err := env.Service.RevokeToken(ctx, token.ID); err != nil {
		t.Fatal(err)
	}
	p := b.get("/")
	wantNoBody(t, "after revoking the token", p, "Sign out")
	wantBody(t, "after revoking the token", p, "Sign in")

	// A session lasts 30 days at most.
	b = s.browser()
	b.signIn(s.bob)
	env.Clock.Advance(packages.SessionLifetime + time.Minute)
	wantBody(t, "after 30 days", b.get("/"), "Sign in")
	n, err := env.Service.Purge(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if n.Sessions != 2 {
		t.Fatalf("purge deleted %d sessions, want 2", n.Sessions)
	}
}

func TestWebTLSCookies(t *testing.T) {
	env := testenv.New(t, "sqlite")
	s := newSite(t, env)
	srvSecure := testenvServeTLS(t, env)
	b := s.browser()
	b.s = &site{t: t, env: env, front: srvSecure, alice: s.alice, bob: s.bob}
	b.client.Transport = srvSecure.Client.Transport
	p := b.post("/-/login", "/-/login", url.Values{"token": {s.bob}})
	wantStatus(t, "sign in", p, http.StatusSeeOther)
	for _, c := range (&http.Response{Header: p.Header}).Cookies() {
		if !c.Secure || !c.HttpOnly {
			t.Errorf("cookie %s over TLS: Secure %v HttpOnly %v", c.Name, c.Secure, c.HttpOnly)
		}
	}
}

// TestWebVisibility: no page reveals a private package to one who may not
// see it; the 404 is the page of a missing package, byte for byte.
func TestWebVisibility(t *testing.T) { testenv.Each(t, testVisibility) }

func testVisibility(t *testing.T, env *testenv.Env) {
	s := newSite(t, env)
	s.publish(s.alice, npmRef("alice", "concealed"), "", "1.0.0")
	s.publish(s.alice, npmRef("alice", "shown"), "", "1.0.0")
	s.public(s.alice, npmRef("alice", "shown"))
	s.publish(s.alice, npmRef("acme", "inside"), "", "1.0.0")

	anon, bob := s.browser(), s.browser()
	bob.signIn(s.bob)
	strip := regexp.MustCompile(`name="csrf" value="[^"]+"|return=[^"]+`)
	for _, b := range []*browser{anon, bob} {
		missing := b.get("/users/alice/packages/npm/package/nothing-here")
		wantStatus(t, "missing", missing, http.StatusNotFound)
		for _, path := range []string{
			"/users/alice/packages/npm/package/concealed",
			"/users/alice/packages/npm/package/concealed/settings",
			"/orgs/acme/packages/npm/package/inside",
		} {
			p := b.get(path)
			if path == "/users/alice/packages/npm/package/concealed/settings" && b == anon {
				// Settings ask anonymous visitors to sign in, whether the
				// package exists or not.
				wantStatus(t, path, p, http.StatusSeeOther)
				continue
			}
			wantStatus(t, path, p, http.StatusNotFound)
			if strip.ReplaceAllString(p.Body, "") != strip.ReplaceAllString(missing.Body, "") {
				t.Errorf("%s: the 404 differs from a missing package's", path)
			}
		}
		list := b.get("/users/alice/packages")
		wantBody(t, "list", list, "shown")
		wantNoBody(t, "list", list, "concealed")
		wantNoBody(t, "org list", b.get("/acme"), "inside")
		wantNoBody(t, "explore", b.get("/"), "concealed", "inside")
	}
	wantStatus(t, "anonymous settings of a missing package", anon.get("/users/alice/packages/npm/package/nope/settings"), http.StatusSeeOther)
	wantStatus(t, "bob's settings of another's public package", bob.get("/users/alice/packages/npm/package/shown/settings"), http.StatusForbidden)

	alice := s.browser()
	alice.signIn(s.alice)
	wantBody(t, "alice's list", alice.get("/alice"), "concealed", "shown")
	wantBody(t, "alice's org list", alice.get("/orgs/acme/packages"), "inside")
	wantBody(t, "explore is public packages only", alice.get("/"), "shown")
	wantNoBody(t, "explore is public packages only", alice.get("/"), "concealed")
}
