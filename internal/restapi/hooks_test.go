package restapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/restapi"
	"github.com/packhub/packhub/internal/testenv"
	"github.com/packhub/packhub/internal/webhooks"
)

// hookScopes is what a token managing an organization's webhooks carries.
const hookScopes = allScopes + "," + packages.ScopeAdminOrgHook

// doJSON sends a request with a JSON body and validates the answer
// against GitHub's description, as do does.
func (w *world) doJSON(method, path, token, body string) *response {
	w.t.Helper()
	req, err := http.NewRequest(method, w.srv.URL+path, strings.NewReader(body))
	if err != nil {
		w.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatalf("%s %s: %v", method, path, err)
	}
	b := readAll(w.t, res.Body)
	if res.StatusCode >= 500 {
		w.t.Errorf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	w.spec.checkResponse(w.t, req, res.StatusCode, res.Header, b)
	return &response{status: res.StatusCode, header: res.Header, body: b}
}

// receiver records the webhook requests it gets; it answers with the
// statuses in fail first, then 200.
type receiver struct {
	mu   sync.Mutex
	got  []recorded
	fail []int
	srv  *httptest.Server
}

type recorded struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, fail ...int) *receiver {
	r := &receiver{fail: fail}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, recorded{req.Header.Clone(), b})
		status := http.StatusOK
		if len(r.fail) > 0 {
			status, r.fail = r.fail[0], r.fail[1:]
		}
		r.mu.Unlock()
		w.Header().Set("X-Receiver", "test")
		w.WriteHeader(status)
		fmt.Fprintf(w, "answered %d", status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) requests() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.got...)
}

// deliverAll runs the worker until nothing is due, advancing the
// service's clock past every backoff.
func deliverAll(t *testing.T, env *testenv.Env, wk *webhooks.Worker) {
	t.Helper()
	for range 20 {
		if wk.RunOnce(context.Background()) == 0 {
			env.Clock.Advance(time.Hour)
			if wk.RunOnce(context.Background()) == 0 {
				return
			}
		}
	}
	t.Fatal("deliveries never ran out")
}

// TestWebhooks drives every organization webhook operation, each answer
// checked against GitHub's description, and the deliveries they cause.
func TestWebhooks(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		w := newWorld(t, env)
		admin := env.Token("carol", hookScopes)
		member := env.Token("bob", hookScopes)
		noScope := w.tok["carol"]
		rcv := newReceiver(t, http.StatusInternalServerError)
		wk := webhooks.New(env.Service, restapi.NewPayloads(env.Service, w.srv.URL), webhooks.Options{RetryBase: time.Second, MaxAttempts: 3,
			Logger: slog.New(slog.DiscardHandler)})

		// Who may not: a member, a token without admin:org_hook, a user
		// path, anonymous.
		w.do("GET", "/orgs/acme/hooks", member).expect(t, "member lists", http.StatusNotFound)
		w.do("GET", "/orgs/acme/hooks", noScope).expect(t, "no scope", http.StatusNotFound)
		w.do("GET", "/orgs/alice/hooks", admin).expect(t, "a user", http.StatusNotFound)
		w.do("GET", "/orgs/acme/hooks", "").expect(t, "anonymous", http.StatusUnauthorized)

		// Bad input: not JSON, a bad name, no URL, a bad content type.
		w.doJSON("POST", "/orgs/acme/hooks", admin, `{`).expect(t, "not JSON", http.StatusBadRequest, "Problems parsing JSON")
		w.doJSON("POST", "/orgs/acme/hooks", admin, `{"name":"irc","config":{"url":"http://x.test"}}`).expect(t, "bad name", http.StatusUnprocessableEntity)
		w.doJSON("POST", "/orgs/acme/hooks", admin, `{"name":"web","config":{}}`).expect(t, "no url", http.StatusUnprocessableEntity)
		w.doJSON("POST", "/orgs/acme/hooks", admin, `{"name":"web","config":{"url":"ftp://x.test"}}`).expect(t, "bad url", http.StatusUnprocessableEntity)
		w.doJSON("POST", "/orgs/acme/hooks", admin, `{"name":"web","config":{"url":"http://x.test","content_type":"xml"}}`).expect(t, "bad content type", http.StatusUnprocessableEntity)

		res := w.doJSON("POST", "/orgs/acme/hooks", admin, `{"name":"web","active":true,"events":["package","registry_package"],
			"config":{"url":"`+rcv.srv.URL+`/hook","content_type":"json","secret":"s3cret","insecure_ssl":0}}`)
		res.expect(t, "create", http.StatusCreated)
		var hook struct {
			ID     int64             `json:"id"`
			URL    string            `json:"url"`
			Events []string          `json:"events"`
			Config map[string]string `json:"config"`
			Type   string            `json:"type"`
		}
		res.json(t, &hook)
		if hook.Config["secret"] != "********" || hook.Config["insecure_ssl"] != "0" || hook.Type != "Organization" ||
			res.header.Get("Location") != hook.URL || hook.URL != w.srv.URL+fmt.Sprintf("/api/v3/orgs/acme/hooks/%d", hook.ID) {
			t.Fatalf("created hook %s, Location %q", res.body, res.header.Get("Location"))
		}
		hp := fmt.Sprintf("/orgs/acme/hooks/%d", hook.ID)
		w.do("GET", "/orgs/acme/hooks", admin).expect(t, "list", http.StatusOK)
		w.do("GET", "/api/v3"+hp, admin).expect(t, "get", http.StatusOK)
		w.do("GET", hp, member).expect(t, "member gets", http.StatusNotFound)
		w.do("GET", "/orgs/acme/hooks/999999", admin).expect(t, "missing hook", http.StatusNotFound)
		w.do("GET", "/orgs/acme/hooks/abc", admin).expect(t, "not an id", http.StatusNotFound)
		w.doJSON("PATCH", hp, admin, `{"events":["*"],"active":false}`).expect(t, "update", http.StatusOK)
		w.doJSON("PATCH", hp, admin, `{"events":["package","registry_package"],"active":true}`).expect(t, "update back", http.StatusOK)
		w.do("GET", hp+"/config", admin).expect(t, "config", http.StatusOK)
		w.doJSON("PATCH", hp+"/config", admin, `{"content_type":"form"}`).expect(t, "config update", http.StatusOK)
		w.doJSON("PATCH", hp+"/config", admin, `{"content_type":"json"}`).expect(t, "config back", http.StatusOK)

		// A publish to the organization queues both events, in its
		// transaction; the first attempt gets a 500 and is retried.
		ref := packages.PackageRef{Owner: "acme", Type: packages.TypeNpm, Name: "tool"}
		w.publish("carol", ref, "", "1.0.0")
		// Another owner's publish delivers nothing here.
		w.publish("alice", packages.PackageRef{Owner: "alice", Type: packages.TypeNpm, Name: "mine"}, "", "1.0.0")
		deliverAll(t, env, wk)
		got := rcv.requests()
		if len(got) != 3 {
			t.Fatalf("receiver got %d requests, want 3 (a 500, its retry, and the other event)", len(got))
		}
		events := map[string]int{}
		for _, r := range got {
			events[r.header.Get("X-GitHub-Event")]++
			if sig := r.header.Get("X-Hub-Signature-256"); sig != webhooks.Sign("s3cret", r.body) {
				t.Errorf("signature %q does not sign the body", sig)
			}
			if !strings.HasPrefix(r.header.Get("User-Agent"), "GitHub-Hookshot/") || r.header.Get("X-GitHub-Hook-ID") != fmt.Sprint(hook.ID) ||
				r.header.Get("Content-Type") != "application/json" || len(r.header.Get("X-GitHub-Delivery")) != 36 {
				t.Errorf("headers %v", r.header)
			}
			var p map[string]any
			if err := json.Unmarshal(r.body, &p); err != nil || p["action"] != "published" {
				t.Errorf("payload %s", r.body)
			}
		}
		// Which of the two was refused first is up to the concurrent sends.
		if events["package"]+events["registry_package"] != 3 || events["package"] < 1 || events["registry_package"] < 1 {
			t.Errorf("events %v", events)
		}

		res = w.do("GET", hp+"/deliveries", admin)
		res.expect(t, "deliveries", http.StatusOK)
		var items []struct {
			ID         int64  `json:"id"`
			GUID       string `json:"guid"`
			Status     string `json:"status"`
			StatusCode int    `json:"status_code"`
			Event      string `json:"event"`
			Redelivery bool   `json:"redelivery"`
		}
		res.json(t, &items)
		if len(items) != 2 {
			t.Fatalf("deliveries = %s", res.body)
		}
		for _, it := range items {
			if it.Status != "OK" || it.StatusCode != 200 {
				t.Errorf("delivery %+v", it)
			}
		}
		// Paging with the cursor of the Link header.
		res = w.do("GET", hp+"/deliveries?per_page=1", admin)
		res.expect(t, "first page", http.StatusOK)
		link := res.header.Get("Link")
		if !strings.Contains(link, `rel="next"`) || !strings.Contains(link, fmt.Sprintf("cursor=%d", items[1].ID)) {
			t.Fatalf("Link %q", link)
		}
		w.do("GET", hp+fmt.Sprintf("/deliveries?per_page=1&cursor=%d", items[1].ID), admin).expect(t, "next page", http.StatusOK)
		w.do("GET", hp+"/deliveries?status=success", admin).expect(t, "successes", http.StatusOK)
		w.do("GET", hp+"/deliveries?cursor=x", admin).expect(t, "bad cursor", http.StatusBadRequest)

		one := w.do("GET", hp+fmt.Sprintf("/deliveries/%d", items[1].ID), admin)
		one.expect(t, "delivery", http.StatusOK)
		var full struct {
			Request struct {
				Headers map[string]string `json:"headers"`
				Payload map[string]any    `json:"payload"`
			} `json:"request"`
			Response struct {
				Headers map[string]string `json:"headers"`
				Payload string            `json:"payload"`
			} `json:"response"`
		}
		one.json(t, &full)
		if full.Request.Headers["X-Github-Event"] == "" || full.Request.Payload["action"] != "published" ||
			full.Response.Headers["X-Receiver"] != "test" || full.Response.Payload != "answered 200" {
			t.Errorf("delivery %s", one.body)
		}
		w.do("GET", hp+"/deliveries/999999", admin).expect(t, "missing delivery", http.StatusNotFound)

		// Redelivery: a new delivery, same GUID, same payload.
		res = w.do("POST", hp+fmt.Sprintf("/deliveries/%d/attempts", items[1].ID), admin)
		res.expect(t, "redeliver", http.StatusAccepted)
		deliverAll(t, env, wk)
		got = rcv.requests()
		last := got[len(got)-1]
		if len(got) != 4 || last.header.Get("X-GitHub-Delivery") != items[1].GUID {
			t.Fatalf("redelivery: %d requests, last GUID %q, want %q", len(got), last.header.Get("X-GitHub-Delivery"), items[1].GUID)
		}

		// Ping, in form encoding now.
		w.doJSON("PATCH", hp+"/config", admin, `{"content_type":"form"}`).expect(t, "form", http.StatusOK)
		w.do("POST", hp+"/pings", admin).expect(t, "ping", http.StatusNoContent)
		w.do("POST", hp+"/pings", member).expect(t, "member pings", http.StatusNotFound)
		deliverAll(t, env, wk)
		got = rcv.requests()
		ping := got[len(got)-1]
		if ping.header.Get("X-GitHub-Event") != "ping" || ping.header.Get("Content-Type") != "application/x-www-form-urlencoded" ||
			!bytes.HasPrefix(ping.body, []byte("payload=")) || ping.header.Get("X-Hub-Signature-256") != webhooks.Sign("s3cret", ping.body) {
			t.Fatalf("ping %v %s", ping.header, ping.body)
		}

		w.do("DELETE", hp, member).expect(t, "member deletes", http.StatusNotFound)
		w.do("DELETE", hp, admin).expect(t, "delete", http.StatusNoContent)
		w.do("GET", hp, admin).expect(t, "deleted", http.StatusNotFound)
		w.do("DELETE", hp, admin).expect(t, "deleted twice", http.StatusNotFound)
	})
}

// TestRepositoryWebhooks drives the repository webhook operations, each
// answer checked against GitHub's description: a user's package linked to
// a repository delivers its events to the repository's hooks, as GitHub
// delivers them, and to no other.
func TestRepositoryWebhooks(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		w := newWorld(t, env)
		env.Repo("alice/app", packages.Private)
		env.Repo("acme/site", packages.Private)
		alice, bob, carol := w.tok["alice"], w.tok["bob"], w.tok["carol"]
		noScope := env.Token("alice", "read:packages,write:packages")
		rcv := newReceiver(t)
		wk := webhooks.New(env.Service, restapi.NewPayloads(env.Service, w.srv.URL), webhooks.Options{RetryBase: time.Second, MaxAttempts: 3,
			Logger: slog.New(slog.DiscardHandler)})

		// Who may not: someone else, a token without repo or
		// admin:repo_hook, anonymous, a missing repository; an
		// organization member who is no admin of its repository.
		w.do("GET", "/repos/alice/app/hooks", bob).expect(t, "another user lists", http.StatusNotFound)
		w.do("GET", "/repos/alice/app/hooks", noScope).expect(t, "no scope", http.StatusNotFound)
		w.do("GET", "/repos/alice/app/hooks", "").expect(t, "anonymous", http.StatusUnauthorized)
		w.do("GET", "/repos/alice/nope/hooks", alice).expect(t, "missing repository", http.StatusNotFound)
		w.do("GET", "/repos/acme/site/hooks", bob).expect(t, "organization member", http.StatusNotFound)
		w.do("GET", "/repos/acme/site/hooks", carol).expect(t, "organization admin", http.StatusOK)

		res := w.doJSON("POST", "/repos/alice/app/hooks", alice, `{"name":"web","events":["package"],
			"config":{"url":"`+rcv.srv.URL+`/hook","content_type":"json","secret":"s3cret"}}`)
		res.expect(t, "create", http.StatusCreated)
		var hook struct {
			ID      int64  `json:"id"`
			URL     string `json:"url"`
			TestURL string `json:"test_url"`
			Type    string `json:"type"`
		}
		res.json(t, &hook)
		hp := fmt.Sprintf("/repos/alice/app/hooks/%d", hook.ID)
		if hook.Type != "Repository" || hook.URL != w.srv.URL+"/api/v3"+hp || hook.TestURL != hook.URL+"/test" || res.header.Get("Location") != hook.URL {
			t.Fatalf("created hook %s", res.body)
		}
		w.do("GET", "/repos/alice/app/hooks", alice).expect(t, "list", http.StatusOK)
		w.do("GET", hp, alice).expect(t, "get", http.StatusOK)
		w.do("GET", hp, bob).expect(t, "another user gets", http.StatusNotFound)
		// Not the organization's, nor another repository's.
		w.do("GET", fmt.Sprintf("/repos/acme/site/hooks/%d", hook.ID), carol).expect(t, "through another repository", http.StatusNotFound)
		w.doJSON("PATCH", hp, alice, `{"events":["package","registry_package"]}`).expect(t, "update", http.StatusOK)
		w.do("GET", hp+"/config", alice).expect(t, "config", http.StatusOK)
		w.doJSON("PATCH", hp+"/config", alice, `{"content_type":"json"}`).expect(t, "config update", http.StatusOK)

		// A ping names the hook and its repository.
		w.do("POST", hp+"/pings", alice).expect(t, "ping", http.StatusNoContent)
		deliverAll(t, env, wk)
		got := rcv.requests()
		if len(got) != 1 || got[0].header.Get("X-GitHub-Event") != "ping" ||
			got[0].header.Get("X-GitHub-Hook-Installation-Target-Type") != "repository" {
			t.Fatalf("ping: %d requests %v", len(got), got)
		}
		var ping struct {
			Hook struct {
				Type string `json:"type"`
			} `json:"hook"`
			Repository struct {
				FullName string `json:"full_name"`
			} `json:"repository"`
			Organization any `json:"organization"`
		}
		if err := json.Unmarshal(got[0].body, &ping); err != nil || ping.Hook.Type != "Repository" ||
			ping.Repository.FullName != "alice/app" || ping.Organization != nil {
			t.Fatalf("ping payload %s", got[0].body)
		}

		// alice's package linked to the repository delivers both events;
		// her package linked to none, nothing.
		w.publish("alice", packages.PackageRef{Owner: "alice", Type: packages.TypeNpm, Name: "linked"}, "alice/app", "1.0.0")
		w.publish("alice", packages.PackageRef{Owner: "alice", Type: packages.TypeNpm, Name: "loose"}, "", "1.0.0")
		deliverAll(t, env, wk)
		got = rcv.requests()[1:]
		events := map[string]int{}
		for _, r := range got {
			events[r.header.Get("X-GitHub-Event")]++
			if sig := r.header.Get("X-Hub-Signature-256"); sig != webhooks.Sign("s3cret", r.body) {
				t.Errorf("signature %q does not sign the body", sig)
			}
			var p struct {
				Action     string `json:"action"`
				Repository struct {
					FullName string `json:"full_name"`
				} `json:"repository"`
				Package struct {
					Name string `json:"name"`
				} `json:"package"`
			}
			if err := json.Unmarshal(r.body, &p); err != nil || p.Action != "published" || p.Repository.FullName != "alice/app" {
				t.Errorf("payload %s", r.body)
			}
			if r.header.Get("X-GitHub-Event") == "package" && p.Package.Name != "linked" {
				t.Errorf("package event for %q", p.Package.Name)
			}
		}
		if len(got) != 2 || events["package"] != 1 || events["registry_package"] != 1 {
			t.Fatalf("deliveries %v, want one package and one registry_package event", events)
		}

		res = w.do("GET", hp+"/deliveries", alice)
		res.expect(t, "deliveries", http.StatusOK)
		var items []struct {
			ID int64 `json:"id"`
		}
		res.json(t, &items)
		if len(items) != 3 {
			t.Fatalf("%d deliveries, want 3", len(items))
		}
		w.do("GET", hp+fmt.Sprintf("/deliveries/%d", items[0].ID), alice).expect(t, "delivery", http.StatusOK)
		w.do("POST", hp+fmt.Sprintf("/deliveries/%d/attempts", items[0].ID), alice).expect(t, "redeliver", http.StatusAccepted)
		// The push test sends nothing: Packhub has no pushes.
		w.do("POST", hp+"/tests", alice).expect(t, "push test", http.StatusNoContent)
		w.do("POST", hp+"/tests", bob).expect(t, "another user tests", http.StatusNotFound)
		deliverAll(t, env, wk)
		if n := len(rcv.requests()); n != 4 {
			t.Fatalf("receiver got %d requests after the redelivery and the push test, want 4", n)
		}
		w.do("DELETE", hp, bob).expect(t, "another user deletes", http.StatusNotFound)
		w.do("DELETE", hp, alice).expect(t, "delete", http.StatusNoContent)
		w.do("GET", hp, alice).expect(t, "deleted", http.StatusNotFound)
	})
}
