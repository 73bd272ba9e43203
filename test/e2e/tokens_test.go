package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// registry speaks the OCI distribution API to a server over plain HTTP,
// so that tests see every status code.
type registry struct {
	t *testing.T
	s *Server
}

// do sends a request; auth is a personal access token (sent as Basic, any
// user name), "Bearer X", or "" for none.
func (r registry) do(method, path, auth string, body []byte, hdr ...string) (*http.Response, []byte) {
	r.t.Helper()
	req, err := http.NewRequest(method, r.s.URL+path, bytes.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	switch {
	case strings.HasPrefix(auth, "Bearer "):
		req.Header.Set("Authorization", auth)
	case auth != "":
		req.SetBasicAuth("whoever", auth)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := r.s.Client().Do(req)
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

// status sends a request and returns its status code.
func (r registry) status(method, path, auth string) int {
	r.t.Helper()
	res, _ := r.do(method, path, auth, nil)
	return res.StatusCode
}

// bearer exchanges a personal access token for a bearer token at /token.
func (r registry) bearer(pat, scope string) string {
	r.t.Helper()
	res, b := r.do("GET", "/token?scope="+scope, pat, nil)
	if res.StatusCode != http.StatusOK {
		r.t.Fatalf("/token: %d %s", res.StatusCode, b)
	}
	var tr struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(b, &tr); err != nil || tr.Token == "" {
		r.t.Fatalf("/token: %s %v", b, err)
	}
	return "Bearer " + tr.Token
}

func sha256Digest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// push uploads a one-layer image under name:tag.
func (r registry) push(name, auth, tag string) {
	r.t.Helper()
	config, layer := []byte(`{"architecture":"amd64","os":"linux"}`), []byte("layer of "+name)
	for _, blob := range [][]byte{config, layer} {
		res, b := r.do("POST", "/v2/"+name+"/blobs/uploads/", auth, nil)
		if res.StatusCode != http.StatusAccepted {
			r.t.Fatalf("start upload to %s: %d %s", name, res.StatusCode, b)
		}
		if res, b = r.do("PUT", res.Header.Get("Location")+"?digest="+sha256Digest(blob), auth, blob); res.StatusCode != http.StatusCreated {
			r.t.Fatalf("put blob to %s: %d %s", name, res.StatusCode, b)
		}
	}
	manifest := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":%d},`+
		`"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":%q,"size":%d}]}`,
		sha256Digest(config), len(config), sha256Digest(layer), len(layer))
	res, b := r.do("PUT", "/v2/"+name+"/manifests/"+tag, auth, []byte(manifest), "Content-Type", "application/vnd.oci.image.manifest.v1+json")
	if res.StatusCode != http.StatusCreated {
		r.t.Fatalf("put manifest to %s: %d %s", name, res.StatusCode, b)
	}
}

// wantPullAndPush checks what a bearer token can do on name: pull its v1
// tag and start an upload (want 200 and 202), or neither (want the same
// status for both).
func (r registry) wantPullAndPush(what, name, auth string, pull, push int) {
	r.t.Helper()
	if got := r.status("GET", "/v2/"+name+"/manifests/v1", auth); got != pull {
		r.t.Errorf("%s: pull %s: status %d, want %d", what, name, got, pull)
	}
	if got := r.status("POST", "/v2/"+name+"/blobs/uploads/", auth); got != push {
		r.t.Errorf("%s: start upload to %s: status %d, want %d", what, name, got, push)
	}
}

// tokenID finds the id of a user's token by its note in `token list`.
func tokenID(t *testing.T, s *Server, user, note string) (id, line string) {
	t.Helper()
	out := s.Admin("token", "list", "--user", user)
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[1] == fmt.Sprintf("%q", note) {
			return f[0], l
		}
	}
	t.Fatalf("no token %q in:\n%s", note, out)
	return "", ""
}

// TestBearerTokenFollowsPAT: a registry bearer token works only while the
// personal access token it was minted from does, and while its user keeps
// the access: expiry, `admin token revoke` and `admin org remove-member`,
// run while the server runs, take effect on the next request.
func TestBearerTokenFollowsPAT(t *testing.T) {
	t.Parallel()
	eachDatabase(t, testBearerTokenFollowsPAT)
}

func testBearerTokenFollowsPAT(t *testing.T, db Database) {
	s := StartServer(t, db)
	r := registry{t: t, s: s}
	s.Admin("user", "create", "alice")
	s.Admin("user", "create", "bob")
	s.Admin("org", "create", "acme", "--admin", "alice")
	s.Admin("org", "add-member", "acme", "bob")
	const scopes = "read:packages,write:packages"
	alice := s.Token("alice", scopes)
	r.push("alice/app", r.bearer(alice, "repository:alice/app:pull,push"), "v1")

	t.Run("expiry", func(t *testing.T) {
		r := registry{t: t, s: s}
		pat := strings.TrimSpace(s.Admin("token", "create", "--user", "alice", "--scopes", scopes, "--note", "short", "--expires-in", "3s"))
		created := time.Now()
		bearer := r.bearer(pat, "repository:alice/app:pull,push")
		r.wantPullAndPush("before expiry", "alice/app", bearer, http.StatusOK, http.StatusAccepted)
		time.Sleep(time.Until(created.Add(4 * time.Second)))
		r.wantPullAndPush("bearer after expiry", "alice/app", bearer, http.StatusUnauthorized, http.StatusUnauthorized)
		r.wantPullAndPush("PAT after expiry", "alice/app", pat, http.StatusUnauthorized, http.StatusUnauthorized)
		if _, line := tokenID(t, s, "alice", "short"); !strings.HasSuffix(line, "expired") {
			t.Errorf("token list: %q, want it expired", line)
		}
	})

	t.Run("revoke", func(t *testing.T) {
		r := registry{t: t, s: s}
		pat := strings.TrimSpace(s.Admin("token", "create", "--user", "alice", "--scopes", scopes, "--note", "laptop"))
		bearer := r.bearer(pat, "repository:alice/app:pull,push")
		r.wantPullAndPush("before revoke", "alice/app", bearer, http.StatusOK, http.StatusAccepted)
		id, line := tokenID(t, s, "alice", "laptop")
		if strings.Contains(line, "phk_") || !strings.HasSuffix(line, "active") {
			t.Errorf("token list: %q", line)
		}
		if out := s.Admin("token", "revoke", id); !strings.Contains(out, "revoked token "+id+" of alice") {
			t.Errorf("revoke said %q", out)
		}
		r.wantPullAndPush("bearer after revoke", "alice/app", bearer, http.StatusUnauthorized, http.StatusUnauthorized)
		r.wantPullAndPush("PAT after revoke", "alice/app", pat, http.StatusUnauthorized, http.StatusUnauthorized)
		if got := r.status("GET", "/token?scope=repository:alice/app:pull", pat); got != http.StatusUnauthorized {
			t.Errorf("/token with a revoked PAT: %d", got)
		}
		if got := restJSON(t, s, "GET", "/user", pat, nil); got != http.StatusUnauthorized {
			t.Errorf("REST API with a revoked PAT: %d", got)
		}
		if _, line := tokenID(t, s, "alice", "laptop"); !regexp.MustCompile(`revoked \S+Z$`).MatchString(line) {
			t.Errorf("token list after revoke: %q", line)
		}
		// The other token goes on working.
		r.wantPullAndPush("another token", "alice/app", r.bearer(alice, "repository:alice/app:pull,push"), http.StatusOK, http.StatusAccepted)
	})

	t.Run("remove member", func(t *testing.T) {
		r := registry{t: t, s: s}
		bob := s.Token("bob", scopes)
		// Bob creates a private image in acme (and so administers it).
		r.push("acme/tool", r.bearer(bob, "repository:acme/tool:pull,push"), "v1")
		bearer := r.bearer(bob, "repository:acme/tool:pull,push")
		r.wantPullAndPush("member", "acme/tool", bearer, http.StatusOK, http.StatusAccepted)
		if out := s.Admin("org", "remove-member", "acme", "bob"); !strings.Contains(out, "bob is no longer a member of acme") {
			t.Errorf("remove-member said %q", out)
		}
		// The image is now as missing to bob, and a push to it fails as a
		// push to a free name in a namespace he may not create packages in.
		r.wantPullAndPush("removed member's bearer token", "acme/tool", bearer, http.StatusNotFound, http.StatusForbidden)
		r.wantPullAndPush("removed member's PAT", "acme/tool", bob, http.StatusNotFound, http.StatusForbidden)
		r.wantPullAndPush("org admin", "acme/tool", r.bearer(alice, "repository:acme/tool:pull,push"), http.StatusOK, http.StatusAccepted)
	})
}
