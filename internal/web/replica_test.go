package web_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/packhub/packhub/internal/testenv"
	"github.com/packhub/packhub/internal/web"
)

// TestWebReplicaReadme: the README a replica rendered and kept follows a
// change another replica makes to it, on the very next page view, even
// within one tick of the clock (which stands still here) and with a README
// of the same length.
func TestWebReplicaReadme(t *testing.T) { testenv.Each(t, testReplicaReadme) }

func testReplicaReadme(t *testing.T, env *testenv.Env) {
	a := newSite(t, env)
	replica := env.Replica()
	b := &site{t: t, env: replica, alice: a.alice, bob: a.bob}
	b.front = testenv.Serve(t, func(base string) http.Handler {
		return web.Route(web.New(replica.Service, web.Options{BaseURL: base, Key: []byte("test key")}), restStub)
	})
	ref := npmRef("alice", "doc")
	meta := func(readme string) string {
		m, _ := json.Marshal(map[string]string{"name": "@alice/doc", "version": "1.0.0", "readme": readme})
		return string(m)
	}
	a.publish(a.alice, ref, meta("# Alpha one\n"), "1.0.0")
	a.public(a.alice, ref)
	path := "/users/alice/packages/npm/package/doc"
	for range 2 { // the second view renders from b's cache
		p := b.browser().get(path)
		wantStatus(t, path, p, http.StatusOK)
		wantBody(t, "readme", p, "<h1>Alpha one</h1>")
	}
	if err := env.Service.UpdateVersionMetadata(ctx, env.Actor(a.alice), ref, "1.0.0", json.RawMessage(meta("# Omega two\n"))); err != nil {
		t.Fatal(err)
	}
	p := b.browser().get(path)
	wantStatus(t, path, p, http.StatusOK)
	wantBody(t, "readme after a change on another replica", p, "<h1>Omega two</h1>")
	wantNoBody(t, "readme after a change on another replica", p, "Alpha one")
}
