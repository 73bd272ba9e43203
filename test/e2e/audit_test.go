package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/packhub/packhub/internal/packages"
)

// auditEntry is what the audit log shows of one event.
type auditEntry struct {
	ID        int64           `json:"id"`
	Action    string          `json:"action"`
	Actor     string          `json:"actor"`
	ActorIP   string          `json:"actor_ip"`
	UserAgent string          `json:"user_agent"`
	RequestID string          `json:"request_id"`
	TokenID   int64           `json:"token_id"`
	Package   string          `json:"package"`
	Data      json.RawMessage `json:"data"`
	CreatedAt int64           `json:"created_at"`
}

// adminEvents reads every page of GET /admin/events, following the Link
// header.
func adminEvents(t *testing.T, s *Server, token, query string) []auditEntry {
	t.Helper()
	next := s.URL + "/api/v3/admin/events?per_page=3&" + query
	var all []auditEntry
	linkNext := regexp.MustCompile(`<([^>]+)>; rel="next"`)
	for pages := 0; next != ""; pages++ {
		if pages > 100 {
			t.Fatal("too many pages")
		}
		req, _ := http.NewRequest("GET", next, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var page []auditEntry
		err = json.NewDecoder(res.Body).Decode(&page)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || err != nil {
			t.Fatalf("GET %s: %d %v", next, res.StatusCode, err)
		}
		all = append(all, page...)
		next = ""
		if m := linkNext.FindStringSubmatch(res.Header.Get("Link")); m != nil {
			next = m[1]
		}
	}
	return all
}

// TestAuditLog: every action of a run (publish, delete, restore, a
// visibility change, token creation and use, a sign-in) is in the audit log, with
// the actor, IP, User-Agent and request id, through the site
// administrator's REST endpoint and `packhub admin events`; anyone else
// is refused; a token's use is recorded once, not once a request.
func TestAuditLog(t *testing.T) {
	t.Parallel()
	eachDatabase(t, testAuditLog)
}

func testAuditLog(t *testing.T, db Database) {
	npmBin := requireTool(t, "npm")
	s := StartServer(t, db)
	s.Admin("user", "create", "root", "--site-admin")
	s.Admin("user", "create", "alice")
	s.Admin("org", "create", "acme", "--admin", "alice")
	rootTok := s.Token("root", "read:packages")
	tok := s.Token("alice", "read:packages,write:packages,delete:packages")

	npm := newNpmUser(t, npmBin, s.URL+"/npm/", tok, "acme")
	src := t.TempDir()
	for _, v := range []string{"1.0.0", "1.1.0"} {
		npmProject(t, src, map[string]any{"name": "@acme/tool", "version": v})
		npm.must(src, "publish")
	}
	var versions []struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	for range 5 { // many requests with one token: one token.use event
		if code := restJSON(t, s, "GET", "/orgs/acme/packages/npm/tool/versions", tok, &versions); code != http.StatusOK || len(versions) != 2 {
			t.Fatalf("versions: %d %v", code, versions)
		}
	}
	old := versions[1]
	req, _ := http.NewRequest("DELETE", s.URL+fmt.Sprintf("/orgs/acme/packages/npm/tool/versions/%d", old.ID), nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("User-Agent", "audit-test/1.0")
	res, err := s.Client().Do(req)
	if err != nil || res.StatusCode != http.StatusNoContent {
		t.Fatalf("delete version: %v %v", err, res)
	}
	res.Body.Close()
	deleteRequestID := res.Header.Get("X-Request-Id")
	if code := restJSON(t, s, "POST", fmt.Sprintf("/orgs/acme/packages/npm/tool/versions/%d/restore", old.ID), tok, nil); code != http.StatusNoContent {
		t.Fatalf("restore: %d", code)
	}
	svc := s.Service()
	alice, err := svc.Authenticate(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.SetPackageVisibility(context.Background(), alice, packages.PackageRef{Owner: "acme", Type: packages.TypeNpm, Name: "tool"}, packages.Public); err != nil {
		t.Fatal(err)
	}

	// A sign-in to the web pages, as a browser makes it.
	webSignIn(t, s, tok)

	// Not for anyone but a site administrator.
	for _, who := range []string{tok, ""} {
		req, _ := http.NewRequest("GET", s.URL+"/api/v3/admin/events", nil)
		if who != "" {
			req.Header.Set("Authorization", "Bearer "+who)
		}
		res, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if want := map[bool]int{true: http.StatusNotFound, false: http.StatusUnauthorized}[who != ""]; res.StatusCode != want {
			t.Fatalf("admin events as %q: %d, want %d", who, res.StatusCode, want)
		}
	}

	all := adminEvents(t, s, rootTok, "")
	count := map[string]int{}
	for _, e := range all {
		count[e.Action]++
	}
	for _, a := range []string{packages.ActionPublish, packages.ActionDeleteVersion, packages.ActionRestoreVersion,
		packages.ActionVisibility, packages.ActionTokenCreate, packages.ActionTokenUse, packages.ActionSignIn} {
		if count[a] == 0 {
			t.Errorf("no %s event in the audit log: %v", a, count)
		}
	}
	if count[packages.ActionPublish] != 2 || count[packages.ActionTokenCreate] != 2 {
		t.Errorf("events %v, want 2 publishes and 2 token creations", count)
	}
	// alice's token used by npm, the REST calls and in-process: recorded
	// once; root's token once too.
	if count[packages.ActionTokenUse] != 2 {
		t.Errorf("%d token.use events, want 2 (one per token)", count[packages.ActionTokenUse])
	}
	for _, e := range all {
		switch e.Action {
		case packages.ActionPublish:
			if e.Actor != "alice" || e.ActorIP != "127.0.0.1" || !strings.Contains(e.UserAgent, "npm/") || e.RequestID == "" ||
				e.TokenID == 0 || e.Package != "acme/npm/tool" {
				t.Errorf("publish event %+v", e)
			}
		case packages.ActionSignIn:
			if e.Actor != "alice" || e.ActorIP != "127.0.0.1" || e.UserAgent != "audit-browser/1.0" || e.RequestID == "" || e.TokenID == 0 {
				t.Errorf("sign-in event %+v", e)
			}
		case packages.ActionDeleteVersion:
			if e.UserAgent != "audit-test/1.0" || e.RequestID != deleteRequestID || e.Actor != "alice" {
				t.Errorf("delete event %+v, want request id %s", e, deleteRequestID)
			}
		}
	}
	for i := 1; i < len(all); i++ {
		if all[i].ID >= all[i-1].ID {
			t.Fatalf("events not newest first: %d after %d", all[i].ID, all[i-1].ID)
		}
	}
	if got := adminEvents(t, s, rootTok, "action=publish&actor=alice"); len(got) != 2 {
		t.Errorf("filtered REST events: %d, want 2", len(got))
	}

	// The CLI prints the same log as JSON lines.
	cli := func(args ...string) []auditEntry {
		t.Helper()
		stdout, stderr, code := runPackhub(t, nil, append(append([]string{"admin", "events"}, s.StorageArgs()...), args...)...)
		if code != 0 {
			t.Fatalf("admin events %v: exit %d\n%s", args, code, stderr)
		}
		var out []auditEntry
		sc := bufio.NewScanner(strings.NewReader(stdout))
		for sc.Scan() {
			var e auditEntry
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Fatalf("admin events: line %q: %v", sc.Text(), err)
			}
			out = append(out, e)
		}
		return out
	}
	if got := cli("--limit", "0"); len(got) < len(all) {
		t.Errorf("CLI printed %d events, the API %d", len(got), len(all))
	}
	if got := cli("--action", "publish"); len(got) != 2 || got[0].Package != "acme/npm/tool" {
		t.Errorf("CLI --action publish: %+v", got)
	}
	if got := cli("--package", "acme/npm/tool", "--actor", "alice"); len(got) != 5 {
		t.Errorf("CLI --package --actor: %d events, want 5 (2 publishes, delete, restore, visibility)", len(got))
	}
	if got := cli("--limit", "2", "--since", "1h"); len(got) != 2 {
		t.Errorf("CLI --limit 2: %d events", len(got))
	}
	if got := cli("--since", "2000-01-01T00:00:00Z", "--action", packages.ActionTokenCreate); len(got) != 2 {
		t.Errorf("CLI --since: %d token.create events", len(got))
	}
	if _, _, code := runPackhub(t, nil, append([]string{"admin", "events", "--since", "yesterday"}, s.StorageArgs()...)...); code != 2 {
		t.Errorf("a bad --since: exit %d, want 2", code)
	}
}

// webSignIn signs in to the web pages with token as a browser does: it
// reads the sign-in form for its CSRF token and cookie, then posts it.
func webSignIn(t *testing.T, s *Server, token string) {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, path string, form url.Values) (*http.Response, string) {
		req, _ := http.NewRequest(method, s.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Accept", "text/html")
		req.Header.Set("User-Agent", "audit-browser/1.0")
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res, string(body)
	}
	_, page := do("GET", "/-/login", nil)
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in the sign-in form:\n%s", page)
	}
	res, _ := do("POST", "/-/login", url.Values{"csrf": {html.UnescapeString(m[1])}, "token": {token}, "return": {"/"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %s", res.Status)
	}
}
