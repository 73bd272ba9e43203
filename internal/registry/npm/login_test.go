package npm

import (
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/packhub/packhub/internal/testenv"
)

// TestLogin covers npm's legacy login as Packhub takes it: the user name
// and a personal access token of that user as the password, answered with
// the token; and npm logout, which revokes nothing.
func TestLogin(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		env.User("octo")
		env.User("mona")
		tok := env.Token("octo", "read:packages")
		monaTok := env.Token("mona", testenv.AllScopes)
		f := newFixture(t, env, Options{})
		const path = "/npm/-/user/org.couchdb.user:octo"
		body := func(name, password string) []byte {
			return []byte(`{"_id":"org.couchdb.user:` + name + `","name":"` + name + `","password":"` + password + `","type":"user","roles":[],"date":"2025-01-01T00:00:00.000Z"}`)
		}
		basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("octo:"+tok))

		ok := []struct {
			name, path, header string
			body               []byte
		}{
			{"name and token", path, "", body("octo", tok)},
			{"name in another case", "/npm/-/user/org.couchdb.user:OCTO", "", body("Octo", tok)},
			{"after a conflict, with a revision", path + "/-rev/1-x", "", body("octo", tok)},
			{"a stale token in .npmrc does not get in the way", path, "Bearer phk_stale", body("octo", tok)},
			{"the token only in Basic auth", path, basic, []byte(`{"name":"octo"}`)},
			{"npm adduser sends an email too", path, "", []byte(`{"name":"octo","password":"` + tok + `","email":"o@example.com"}`)},
		}
		for _, c := range ok {
			t.Run(c.name, func(t *testing.T) {
				f.t = t
				var hdr []string
				if c.header != "" {
					hdr = []string{"Authorization", c.header}
				}
				r := f.do("PUT", c.path, "", c.body, hdr...)
				var res struct {
					OK    bool   `json:"ok"`
					ID    string `json:"id"`
					Token string `json:"token"`
				}
				if r.status != http.StatusCreated {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
				r.json(t, &res)
				if !res.OK || res.Token != tok || res.ID != "org.couchdb.user:octo" {
					t.Fatalf("answer %s", r.body)
				}
			})
		}

		refused := []struct {
			name, method, path string
			body               []byte
			status             int
			msg                string
		}{
			{"another user's token", "PUT", path, body("octo", monaTok), 401, "does not belong"},
			{"a token for a user that does not exist", "PUT", "/npm/-/user/org.couchdb.user:nobody", body("nobody", tok), 401, "does not belong"},
			{"a password that is not a token", "PUT", path, body("octo", "hunter2"), 401, "personal access token"},
			{"a revoked or unknown token", "PUT", path, body("octo", "phk_"+tok[4:len(tok)-1]+"x"), 401, "bad credentials"},
			{"no password", "PUT", path, []byte(`{"name":"octo"}`), 401, "personal access token"},
			{"the body names another user", "PUT", path, body("mona", tok), 400, "another user"},
			{"not JSON", "PUT", path, []byte(`name=octo`), 400, "json"},
			{"no body", "PUT", path, nil, 400, "json"},
			{"no user name", "PUT", "/npm/-/user/org.couchdb.user:", body("", tok), 404, "not found"},
			{"reading a user", "GET", path, nil, 405, "not allowed"},
			{"web login", "POST", "/npm/-/v1/login", []byte(`{}`), 404, "--auth-type=legacy"},
			{"another user URL", "PUT", "/npm/-/user/octo", body("octo", tok), 404, "not found"},
		}
		for _, c := range refused {
			t.Run(c.name, func(t *testing.T) {
				f.t = t
				wantError(t, f.do(c.method, c.path, "", c.body), c.status, c.msg)
			})
		}
		f.t = t

		// npm logout deletes the token it logged in with: answered, and
		// the token still works, with or without credentials.
		for _, auth := range []string{tok, "", "phk_stale"} {
			if r := f.do("DELETE", "/npm/-/user/token/"+tok, auth, nil); r.status != http.StatusOK {
				t.Fatalf("logout with %q: %d %s", auth, r.status, r.body)
			}
		}
		wantError(t, f.do("GET", "/npm/-/user/token/"+tok, tok, nil), 405, "not allowed")
		var who map[string]string
		f.do("GET", "/npm/-/whoami", tok, nil).json(t, &who)
		if who["username"] != "octo" {
			t.Fatalf("whoami after logout: %v", who)
		}
	})
}
