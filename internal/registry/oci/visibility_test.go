package oci_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

// TestPrivateAnswersAsMissing: every read route answers a caller who may
// not see a private image exactly as it answers the same request for an
// image that does not exist: the challenge to anonymous callers, with a
// token or without; NAME_UNKNOWN (or the same refusal) to signed-in ones.
// Public images still pull anonymously.
func TestPrivateAnswersAsMissing(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		r := newReg(t, env, packages.TypeContainer, nil)
		secret, public := makeImage("secret", nil), makeImage("public", nil)
		r.expect(r.push("alice/secret", r.alice, secret, "v1"), http.StatusCreated, "")
		r.expect(r.push("alice/public", r.alice, public, "v1"), http.StatusCreated, "")
		pub := packages.PackageRef{Owner: "alice", Type: packages.TypeContainer, Name: "public"}
		if err := env.Service.SetPackageVisibility(t.Context(), env.Actor(r.alice), pub, packages.Public); err != nil {
			t.Fatal(err)
		}
		noScopes := env.Token("bob", "")

		routes := []struct{ method, path string }{
			{"GET", "/v2/NAME/manifests/v1"},
			{"HEAD", "/v2/NAME/manifests/v1"},
			{"GET", "/v2/NAME/manifests/" + secret.digest},
			{"HEAD", "/v2/NAME/manifests/" + secret.digest},
			{"GET", "/v2/NAME/manifests/not..a..tag"},
			{"GET", "/v2/NAME/blobs/" + secret.layerD},
			{"HEAD", "/v2/NAME/blobs/" + secret.layerD},
			{"GET", "/v2/NAME/tags/list"},
			{"GET", "/v2/NAME/tags/list?n=0"},
			{"GET", "/v2/NAME/tags/list?n=1&last=a"},
			{"GET", "/v2/NAME/referrers/" + secret.digest},
			{"GET", "/v2/NAME/blobs/uploads/whatever.abc"},
			{"POST", "/v2/NAME/blobs/uploads/"},
			{"POST", "/v2/NAME/blobs/uploads/?mount=" + secret.layerD + "&from=alice/public"},
		}
		// Each caller's credentials for a name: a personal access token,
		// or a bearer token asked for that name, as clients ask.
		callers := []struct {
			name  string
			creds func(name string) string
		}{
			{"anonymous", func(string) string { return "" }},
			{"anonymous token", func(name string) string { return r.bearer("", "repository:"+name+":pull") }},
			{"bob", func(string) string { return r.bob }},
			{"bob's token", func(name string) string { return r.bearer(r.bob, "repository:"+name+":pull,push") }},
			{"bob without scopes", func(string) string { return noScopes }},
			{"carol (read only)", func(name string) string { return r.bearer(r.carol, "repository:"+name+":pull") }},
		}
		for _, c := range callers {
			for _, rt := range routes {
				private := r.req(rt.method, strings.ReplaceAll(rt.path, "NAME", "alice/secret"), c.creds("alice/secret"), nil)
				missing := r.req(rt.method, strings.ReplaceAll(rt.path, "NAME", "alice/nothing"), c.creds("alice/nothing"), nil)
				challenge := strings.ReplaceAll(private.Header.Get("WWW-Authenticate"), "alice/secret", "alice/nothing")
				if private.StatusCode != missing.StatusCode || !bytes.Equal(private.body, missing.body) ||
					challenge != missing.Header.Get("WWW-Authenticate") {
					t.Errorf("%s: %s %s: private %d %s %q; missing %d %s %q", c.name, rt.method, rt.path,
						private.StatusCode, private.body, private.Header.Get("WWW-Authenticate"),
						missing.StatusCode, missing.body, missing.Header.Get("WWW-Authenticate"))
				}
				if private.StatusCode < 400 {
					t.Errorf("%s: %s %s: %d for a private image", c.name, rt.method, rt.path, private.StatusCode)
				}
				if c.name == "anonymous" && rt.method != "POST" && !strings.Contains(rt.path, "/uploads/") {
					// Asked to sign in, for the image's pull scope.
					want := `scope="repository:alice/secret:pull"`
					if private.StatusCode != http.StatusUnauthorized || !strings.Contains(private.Header.Get("WWW-Authenticate"), want) {
						t.Errorf("anonymous: %s %s: %d %q, want a challenge with %s", rt.method, rt.path,
							private.StatusCode, private.Header.Get("WWW-Authenticate"), want)
					}
				}
			}
		}

		// A public image pulls without credentials, and with an anonymous
		// token.
		anon := r.bearer("", "repository:alice/public:pull")
		for _, creds := range []string{"", anon} {
			for _, path := range []string{"/v2/alice/public/manifests/v1", "/v2/alice/public/blobs/" + public.layerD, "/v2/alice/public/tags/list"} {
				r.expect(r.req("GET", path, creds, nil), http.StatusOK, "")
			}
			r.expect(r.req("GET", "/v2/alice/public/manifests/v2", creds, nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
			r.expect(r.req("GET", "/v2/alice/public/blobs/"+secret.layerD, creds, nil), http.StatusNotFound, "BLOB_UNKNOWN")
		}
		// The owner reads the private image.
		r.expect(r.req("GET", "/v2/alice/secret/manifests/v1", r.alice, nil), http.StatusOK, "")
	})
}
