package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v92/github"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/packhub/packhub/internal/testenv"
)

// hookReceiver is a webhook receiver on a fixed loopback address that can
// be taken down and brought back, and made to answer 500 a number of
// times.
type hookReceiver struct {
	t      *testing.T
	addr   string
	secret string
	mu     sync.Mutex
	got    []hookRequest
	fail   int // answer 500 this many more times
	srv    *http.Server
}

type hookRequest struct {
	event, guid string
	header      http.Header
	body        []byte
	status      int
}

func newHookReceiver(t *testing.T, secret string) *hookReceiver {
	r := &hookReceiver{t: t, addr: freeAddr(t), secret: secret}
	r.up()
	t.Cleanup(r.down)
	return r
}

func (r *hookReceiver) URL() string { return "http://" + r.addr + "/hook" }

func (r *hookReceiver) up() {
	r.t.Helper()
	var ln net.Listener
	var err error
	for range 50 {
		if ln, err = net.Listen("tcp", r.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		r.t.Fatalf("receiver listen: %v", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(r.serve)}
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
	go srv.Serve(ln)
}

func (r *hookReceiver) down() {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

func (r *hookReceiver) failNext(n int) {
	r.mu.Lock()
	r.fail = n
	r.mu.Unlock()
}

func (r *hookReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	status := http.StatusOK
	if r.fail > 0 {
		r.fail--
		status = http.StatusInternalServerError
	}
	r.got = append(r.got, hookRequest{event: req.Header.Get("X-GitHub-Event"), guid: req.Header.Get("X-GitHub-Delivery"),
		header: req.Header.Clone(), body: body, status: status})
	r.mu.Unlock()
	w.WriteHeader(status)
}

// wait returns the requests of an event and action once want of them
// were answered 200, failing the test after a minute.
func (r *hookReceiver) wait(event, action string, want int) []hookRequest {
	r.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var out []hookRequest
		r.mu.Lock()
		for _, h := range r.got {
			if h.event == event && h.status == http.StatusOK && (action == "" || payloadAction(h.body) == action) {
				out = append(out, h)
			}
		}
		r.mu.Unlock()
		if len(out) >= want {
			return out
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("receiver got %d %s.%s deliveries, want %d", len(out), event, action, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// all returns every request received for a GUID.
func (r *hookReceiver) all(guid string) []hookRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []hookRequest
	for _, h := range r.got {
		if h.guid == guid {
			out = append(out, h)
		}
	}
	return out
}

func payloadAction(b []byte) string {
	var p struct {
		Action string `json:"action"`
	}
	_ = json.Unmarshal(b, &p)
	return p.Action
}

// hookSchemas are GitHub's webhook payload schemas, from npm
// @octokit/webhooks-schemas (pinned in test/tools/package.json).
type hookSchemas struct {
	c    *jsonschema.Compiler
	path string
	mu   sync.Mutex
	byID map[string]*jsonschema.Schema
}

func loadHookSchemas(t *testing.T) *hookSchemas {
	t.Helper()
	p := filepath.Join(repoRoot(t), "test", "tools", "node_modules", "@octokit", "webhooks-schemas", "schema.json")
	f, err := os.Open(p)
	if err != nil {
		testenv.Missing(t, "@octokit/webhooks-schemas is not installed (%v): run `cd test/tools && npm install`", err)
		return nil
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	// The library's uri-template check refuses RFC 6570 expressions such
	// as {/owner}, which GitHub's own payloads carry: check that the
	// braces pair up and that the rest is an absolute URL instead.
	c.RegisterFormat(&jsonschema.Format{Name: "uri-template", Validate: validURITemplate})
	if err := c.AddResource("file:///webhooks-schema.json", doc); err != nil {
		t.Fatal(err)
	}
	return &hookSchemas{c: c, path: p, byID: map[string]*jsonschema.Schema{}}
}

// check validates a payload against the schema of its event and action.
// Packhub's own actions, deleted and restored, have none of their own:
// they are checked as published payloads, whose shape they share.
func (s *hookSchemas) check(t *testing.T, event string, body []byte) {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%s payload is not JSON: %v", event, err)
	}
	action := payloadAction(body)
	def := event + "$" + action
	switch action {
	case "deleted", "restored":
		def = event + "$published"
		v.(map[string]any)["action"] = "published"
	case "":
		def = event
	}
	s.mu.Lock()
	sch, ok := s.byID[def]
	if !ok {
		sch, err = s.c.Compile("file:///webhooks-schema.json#/definitions/" + url.PathEscape(def))
		if err != nil {
			s.mu.Unlock()
			t.Fatalf("compile %s: %v", def, err)
		}
		s.byID[def] = sch
	}
	s.mu.Unlock()
	if err := sch.Validate(v); err != nil {
		t.Errorf("%s.%s payload does not match @octokit/webhooks-schemas %s: %v\n%s", event, action, def, err, body)
	}
}

// verify checks a delivery's headers and signature.
func (r *hookReceiver) verify(h hookRequest, hookID int64) {
	r.t.Helper()
	m := hmac.New(sha256.New, []byte(r.secret))
	m.Write(h.body)
	if want := "sha256=" + hex.EncodeToString(m.Sum(nil)); h.header.Get("X-Hub-Signature-256") != want {
		r.t.Errorf("X-Hub-Signature-256 %q, want %q", h.header.Get("X-Hub-Signature-256"), want)
	}
	if !strings.HasPrefix(h.header.Get("User-Agent"), "GitHub-Hookshot/") || h.header.Get("X-GitHub-Hook-ID") != fmt.Sprint(hookID) ||
		len(h.guid) != 36 || h.header.Get("Content-Type") != "application/json" {
		r.t.Errorf("delivery headers %v", h.header)
	}
}

// restart starts the server again on its address and storage, after a
// Kill.
func (s *Server) restart(args ...string) {
	s.t.Helper()
	cmd := exec.Command(s.Bin, append(append([]string{"serve", "--addr", s.Addr, "--purge-interval", "0"}, s.StorageArgs()...), args...)...)
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	var err error
	for range 50 {
		// The port of the killed process may take a moment to free.
		if err = cmd.Start(); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("restart packhub: %v", err)
	}
	s.cmd, s.killed = cmd, false
	s.waitReady()
}

// TestWebhookDeliveries: go-github creates an organization hook; crane
// and npm pushes deliver package and registry_package events in GitHub's
// shapes, signed; a receiver answering 500 gets retries; a delivery
// pending when the server is killed is sent after the restart; ping and
// redelivery work.
func TestWebhookDeliveries(t *testing.T) {
	t.Parallel()
	eachDatabase(t, testWebhookDeliveries)
}

func testWebhookDeliveries(t *testing.T, db Database) {
	crane := requireTool(t, "crane")
	npmBin := requireTool(t, "npm")
	schemas := loadHookSchemas(t)
	hookArgs := []string{"--webhook-retry-base", "1s", "--webhook-timeout", "2s"}
	s := StartServer(t, db, WithArgs(hookArgs...))
	s.Admin("user", "create", "alice")
	s.Admin("user", "create", "bob")
	s.Admin("org", "create", "acme", "--admin", "alice")
	s.Admin("org", "add-member", "acme", "bob")
	s.Admin("repo", "create", "acme/app", "--visibility", "public")
	tok := s.Token("alice", "read:packages,write:packages,delete:packages,admin:org_hook")
	bobTok := s.Token("bob", "read:packages,write:packages,admin:org_hook")
	rcv := newHookReceiver(t, "It's a Secret to Everybody")
	ctx := context.Background()
	gh := (&fixture{srv: s}).github(t, tok)

	// Only an admin of the organization manages its hooks.
	_, resp, err := (&fixture{srv: s}).github(t, bobTok).Organizations.ListHooks(ctx, "acme", nil)
	wantStatus(t, "member lists hooks", resp, err, http.StatusNotFound)

	hook, resp, err := gh.Organizations.CreateHook(ctx, "acme", &github.Hook{
		Events: []string{"package", "registry_package"},
		Active: new(true),
		Config: &github.HookConfig{URL: new(rcv.URL()), ContentType: new("json"), Secret: new(rcv.secret)},
	})
	wantStatus(t, "create hook", resp, err, http.StatusCreated)
	hooks, resp, err := gh.Organizations.ListHooks(ctx, "acme", nil)
	wantStatus(t, "list hooks", resp, err, http.StatusOK)
	if len(hooks) != 1 || hooks[0].GetID() != hook.GetID() || hooks[0].GetConfig().GetSecret() != "********" {
		t.Fatalf("hooks = %v", hooks)
	}
	if _, resp, err := gh.Organizations.EditHook(ctx, "acme", hook.GetID(), &github.Hook{Events: []string{"package", "registry_package"}, Active: new(true)}); err != nil {
		wantStatus(t, "edit hook", resp, err, http.StatusOK)
	}
	cfg, resp, err := gh.Organizations.GetHookConfiguration(ctx, "acme", hook.GetID())
	wantStatus(t, "hook config", resp, err, http.StatusOK)
	if cfg.GetURL() != rcv.URL() || cfg.GetContentType() != "json" {
		t.Fatalf("config = %v", cfg)
	}

	// crane: an image whose source is the acme/app repository.
	host := hostOf(s.URL)
	oc := newOCIClients(t)
	oc.run(crane, "auth", "login", host, "-u", "alice", "-p", tok)
	oc.run(crane, "append", "--insecure", "-f", oc.layerTar("hello", "hello\n"), "-t", host+"/alice/staging:v1")
	oc.run(crane, "mutate", "--insecure", host+"/alice/staging:v1", "--annotation", "org.opencontainers.image.source="+s.URL+"/acme/app", "-t", host+"/acme/app:v1")
	for _, event := range []string{"package", "registry_package"} {
		got := rcv.wait(event, "published", 1)
		rcv.verify(got[0], hook.GetID())
		schemas.check(t, event, got[0].body)
		var p map[string]any
		_ = json.Unmarshal(got[0].body, &p)
		pkg, _ := p[event].(map[string]any)
		if pkg["package_type"] != "CONTAINER" || pkg["name"] != "app" || p["repository"] == nil {
			t.Errorf("container %s payload %s", event, got[0].body)
		}
	}

	// npm, with a receiver that answers 500 twice: retried until it takes it.
	rcv.failNext(2)
	npm := newNpmUser(t, npmBin, s.URL+"/npm/", tok, "acme")
	src := t.TempDir()
	npmProject(t, src, map[string]any{"name": "@acme/tool", "version": "1.0.0",
		"repository": map[string]string{"type": "git", "url": s.URL + "/acme/app.git"}})
	npm.must(src, "publish")
	npmGot := map[string][]hookRequest{}
	for _, event := range []string{"package", "registry_package"} {
		var got hookRequest
		for _, h := range rcv.wait(event, "published", 2) {
			if strings.Contains(string(h.body), `"@acme/tool`) || strings.Contains(string(h.body), `"name":"tool"`) {
				got = h
			}
		}
		if got.guid == "" {
			t.Fatalf("no npm %s delivery", event)
		}
		rcv.verify(got, hook.GetID())
		schemas.check(t, event, got.body)
		npmGot[event] = rcv.all(got.guid)
	}
	if n := len(npmGot["package"]) + len(npmGot["registry_package"]); n != 4 {
		t.Errorf("npm deliveries took %d requests, want 4 (two answered 500, then retried)", n)
	}
	// The attempts are counted on /metrics, the failed ones too.
	var delivered, failed float64
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		m := scrape(t, s)
		delivered, failed = 0, 0
		for _, event := range []string{"package", "registry_package"} {
			delivered += m[`packhub_webhook_deliveries_total{event="`+event+`",result="delivered"}`]
			failed += m[`packhub_webhook_deliveries_total{event="`+event+`",result="failed"}`]
		}
		if delivered >= 4 && failed >= 2 || time.Now().After(deadline) {
			break
		}
	}
	if delivered < 4 || failed < 2 {
		t.Errorf("/metrics counts %v delivered and %v failed webhook attempts, want at least 4 and 2", delivered, failed)
	}

	// The receiver is down when a version is deleted; the server is
	// killed with the deliveries pending; the receiver comes back, then
	// the server, which delivers them.
	versions, resp, err := gh.Organizations.PackageGetAllVersions(ctx, "acme", "npm", "tool", nil)
	wantStatus(t, "versions", resp, err, http.StatusOK)
	npmProject(t, src, map[string]any{"name": "@acme/tool", "version": "1.1.0",
		"repository": map[string]string{"type": "git", "url": s.URL + "/acme/app.git"}})
	npm.must(src, "publish")
	rcv.wait("package", "published", 3)
	rcv.down()
	resp, err = gh.Organizations.PackageDeleteVersion(ctx, "acme", "npm", "tool", versions[0].GetID())
	wantStatus(t, "delete version", resp, err, http.StatusNoContent)
	waitFailedAttempt(t, gh, hook.GetID())
	s.Kill()
	rcv.up()
	s.restart(hookArgs...)
	for _, event := range []string{"package", "registry_package"} {
		got := rcv.wait(event, "deleted", 1)
		rcv.verify(got[0], hook.GetID())
		schemas.check(t, event, got[0].body)
	}
	resp, err = gh.Organizations.PackageRestoreVersion(ctx, "acme", "npm", "tool", versions[0].GetID())
	wantStatus(t, "restore version", resp, err, http.StatusNoContent)
	for _, event := range []string{"package", "registry_package"} {
		schemas.check(t, event, rcv.wait(event, "restored", 1)[0].body)
	}

	// Deliveries, one of them, its redelivery, and a ping.
	ds, resp, err := gh.Organizations.ListHookDeliveries(ctx, "acme", hook.GetID(), &github.ListCursorOptions{PerPage: 100})
	wantStatus(t, "list deliveries", resp, err, http.StatusOK)
	if len(ds) < 10 {
		t.Fatalf("%d deliveries listed, want at least 10", len(ds))
	}
	first := ds[len(ds)-1]
	d, resp, err := gh.Organizations.GetHookDelivery(ctx, "acme", hook.GetID(), first.GetID())
	wantStatus(t, "get delivery", resp, err, http.StatusOK)
	if d.GetStatusCode() != 200 || d.GetRequest().GetHeader("X-GitHub-Event") != d.GetEvent() || d.Request.RawPayload == nil {
		t.Fatalf("delivery = %v", d)
	}
	_, resp, err = gh.Organizations.RedeliverHookDelivery(ctx, "acme", hook.GetID(), first.GetID())
	var accepted *github.AcceptedError
	if !errors.As(err, &accepted) || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("redeliver: %v (status %d)", err, resp.StatusCode)
	}
	deadline := time.Now().Add(time.Minute)
	for len(rcv.all(first.GetGUID())) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("redelivery of %s never came", first.GetGUID())
		}
		time.Sleep(100 * time.Millisecond)
	}
	resp, err = gh.Organizations.PingHook(ctx, "acme", hook.GetID())
	wantStatus(t, "ping", resp, err, http.StatusNoContent)
	ping := rcv.wait("ping", "", 1)[0]
	rcv.verify(ping, hook.GetID())

	resp, err = gh.Organizations.DeleteHook(ctx, "acme", hook.GetID())
	wantStatus(t, "delete hook", resp, err, http.StatusNoContent)
}

// waitFailedAttempt waits until a delivery of the hook has failed to
// connect.
func waitFailedAttempt(t *testing.T, gh *github.Client, hookID int64) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		ds, _, err := gh.Organizations.ListHookDeliveries(context.Background(), "acme", hookID, &github.ListCursorOptions{PerPage: 5})
		if err == nil {
			for _, d := range ds {
				if d.GetStatus() == "failed to connect" {
					return
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("no delivery attempt failed while the receiver was down")
}

func validURITemplate(v any) error {
	s, ok := v.(string)
	if !ok {
		return nil
	}
	var plain strings.Builder
	depth := 0
	for _, r := range s {
		switch {
		case r == '{':
			depth++
			if depth > 1 {
				return fmt.Errorf("nested brace in %q", s)
			}
		case r == '}':
			if depth == 0 {
				return fmt.Errorf("unpaired brace in %q", s)
			}
			depth--
		case depth == 0:
			plain.WriteRune(r)
		}
	}
	if depth != 0 {
		return fmt.Errorf("unclosed brace in %q", s)
	}
	if u, err := url.Parse(plain.String()); err != nil || u.Scheme == "" || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL template", s)
	}
	return nil
}

// TestRepositoryWebhook: go-github manages a repository's hook; a user's
// npm package linked to the repository delivers its events there, in
// GitHub's shapes and signed, as GitHub delivers a user's package events
// to the repository's hooks.
func TestRepositoryWebhook(t *testing.T) {
	t.Parallel()
	npmBin := requireTool(t, "npm")
	schemas := loadHookSchemas(t)
	s := StartServer(t, SQLite, WithArgs("--webhook-retry-base", "1s", "--webhook-timeout", "2s"))
	s.Admin("user", "create", "alice")
	s.Admin("user", "create", "bob")
	s.Admin("repo", "create", "alice/site", "--visibility", "public")
	tok := s.Token("alice", "read:packages,write:packages,repo")
	bobTok := s.Token("bob", "read:packages,write:packages,repo")
	rcv := newHookReceiver(t, "repository secret")
	ctx := context.Background()
	gh := (&fixture{srv: s}).github(t, tok)

	_, resp, err := (&fixture{srv: s}).github(t, bobTok).Repositories.ListHooks(ctx, "alice", "site", nil)
	wantStatus(t, "another user lists the repository's hooks", resp, err, http.StatusNotFound)
	hook, resp, err := gh.Repositories.CreateHook(ctx, "alice", "site", &github.Hook{
		Events: []string{"package"},
		Active: new(true),
		Config: &github.HookConfig{URL: new(rcv.URL()), ContentType: new("json"), Secret: new(rcv.secret)},
	})
	wantStatus(t, "create repository hook", resp, err, http.StatusCreated)
	if hook.GetType() != "Repository" {
		t.Fatalf("hook type %q", hook.GetType())
	}
	hooks, resp, err := gh.Repositories.ListHooks(ctx, "alice", "site", nil)
	wantStatus(t, "list repository hooks", resp, err, http.StatusOK)
	if len(hooks) != 1 || hooks[0].GetID() != hook.GetID() {
		t.Fatalf("hooks = %v", hooks)
	}
	resp, err = gh.Repositories.PingHook(ctx, "alice", "site", hook.GetID())
	wantStatus(t, "ping repository hook", resp, err, http.StatusNoContent)
	rcv.verify(rcv.wait("ping", "", 1)[0], hook.GetID())

	npm := newNpmUser(t, npmBin, s.URL+"/npm/", tok, "alice")
	src := t.TempDir()
	npmProject(t, src, map[string]any{"name": "@alice/widget", "version": "1.0.0",
		"repository": map[string]string{"type": "git", "url": s.URL + "/alice/site.git"}})
	npm.must(src, "publish")
	got := rcv.wait("package", "published", 1)[0]
	rcv.verify(got, hook.GetID())
	schemas.check(t, "package", got.body)
	var p struct {
		Repository struct {
			FullName string `json:"full_name"`
		} `json:"repository"`
		Package struct {
			Name string `json:"name"`
		} `json:"package"`
	}
	if err := json.Unmarshal(got.body, &p); err != nil || p.Repository.FullName != "alice/site" || p.Package.Name != "widget" {
		t.Fatalf("package payload %s", got.body)
	}
	ds, resp, err := gh.Repositories.ListHookDeliveries(ctx, "alice", "site", hook.GetID(), nil)
	wantStatus(t, "repository hook deliveries", resp, err, http.StatusOK)
	if len(ds) != 2 {
		t.Fatalf("%d deliveries, want the ping and the publish", len(ds))
	}
}
