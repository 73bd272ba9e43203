package restapi_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/restapi"
	"github.com/packhub/packhub/internal/testenv"
)

type policyBody struct {
	ID            int64   `json:"id"`
	PackageType   string  `json:"package_type"`
	Name          string  `json:"name"`
	KeepNewest    int     `json:"keep_newest"`
	OlderThan     *string `json:"older_than"`
	Untagged      bool    `json:"untagged"`
	KeepPattern   string  `json:"keep_pattern"`
	RemovePattern string  `json:"remove_pattern"`
	KeepBuilds    int     `json:"keep_builds"`
	CreatedAt     string  `json:"created_at"`
}

// TestRetentionPolicies manages policies over HTTP: the owner or an
// organization's admins only, with GitHub-style errors.
func TestRetentionPolicies(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		f := testenv.Serve(t, func(base string) http.Handler { return restapi.New(env.Service, restapi.Options{BaseURL: base}) })
		for _, u := range []string{"alice", "bob", "carol"} {
			env.User(u)
		}
		env.Org("acme", "carol")
		env.Member("acme", "bob", packages.OrgMember)
		carol, bob := env.Token("carol", allScopes), env.Token("bob", allScopes)
		carolRead := env.Token("carol", "read:packages")
		alice := env.Token("alice", allScopes)
		body := func(s string) *strings.Reader { return strings.NewReader(s) }
		const org = "/orgs/acme/packages/retention-policies"

		res := f.Do(testenv.Request{Method: "POST", Path: org, Auth: testenv.Bearer(carol),
			Body: body(`{"package_type":"container","name":"app-*","keep_newest":3,"older_than":"30d","untagged":true,"keep_pattern":"re:^v"}`)})
		if res.Status != http.StatusCreated {
			t.Fatalf("POST: %d %s", res.Status, res.Body)
		}
		var p policyBody
		res.JSON(t, &p)
		if p.ID == 0 || p.PackageType != "container" || p.KeepNewest != 3 || p.OlderThan == nil || *p.OlderThan != "30d" || !p.Untagged || p.KeepPattern != "re:^v" || !githubTime.MatchString(p.CreatedAt) {
			t.Errorf("created %+v", p)
		}

		for _, path := range []string{org, "/api/v3" + org} {
			res = f.Do(testenv.Request{Path: path, Auth: testenv.Bearer(carolRead)})
			var list []policyBody
			res.JSON(t, &list)
			if res.Status != http.StatusOK || len(list) != 1 || list[0].ID != p.ID || list[0].Name != p.Name || list[0].OlderThan == nil || *list[0].OlderThan != "30d" {
				t.Errorf("GET %s: %d %s", path, res.Status, res.Body)
			}
		}
		// Alice's own, through /user.
		res = f.Do(testenv.Request{Method: "POST", Path: "/user/packages/retention-policies", Auth: testenv.Bearer(alice),
			Body: body(`{"package_type":"maven","keep_builds":2}`)})
		var mine policyBody
		res.JSON(t, &mine)
		if res.Status != http.StatusCreated || mine.OlderThan != nil || mine.KeepBuilds != 2 {
			t.Fatalf("POST /user: %d %s", res.Status, res.Body)
		}
		res = f.Do(testenv.Request{Path: "/user/packages/retention-policies", Auth: testenv.Bearer(carol)})
		if res.Status != http.StatusOK || strings.TrimSpace(string(res.Body)) != "[]" {
			t.Errorf("carol's own policies: %d %s", res.Status, res.Body)
		}

		for _, tc := range []struct {
			name, method, path, auth, body string
			status                         int
			message                        string
		}{
			{"anonymous", "GET", org, "", "", 401, "Requires authentication"},
			{"anonymous add", "POST", org, "", `{}`, 401, "Requires authentication"},
			{"member", "GET", org, bob, "", 403, "You must be an admin of acme to manage its retention policies."},
			{"member add", "POST", org, bob, `{"package_type":"npm","keep_newest":1}`, 403, "You must be an admin of acme to manage its retention policies."},
			{"stranger", "DELETE", org + "/" + strconv.FormatInt(p.ID, 10), alice, "", 403, "You must be an admin of acme to manage its retention policies."},
			{"read scope adds", "POST", org, carolRead, `{"package_type":"npm","keep_newest":1}`, 403, "delete:packages"},
			{"user is not an org", "GET", "/orgs/alice/packages/retention-policies", alice, "", 404, "Not Found"},
			{"no such org", "GET", "/orgs/nobody/packages/retention-policies", alice, "", 404, "Not Found"},
			{"bad json", "POST", org, carol, `{"package_type":`, 400, "Problems parsing JSON"},
			{"unknown member", "POST", org, carol, `{"package_type":"npm","keep_newest":1,"keep_oldest":2}`, 400, "Problems parsing JSON"},
			{"two objects", "POST", org, carol, `{"package_type":"npm","keep_newest":1}{}`, 400, "Problems parsing JSON"},
			{"no rule", "POST", org, carol, `{"package_type":"npm"}`, 400, "a retention policy needs a rule"},
			{"bad type", "POST", org, carol, `{"package_type":"cargo","keep_newest":1}`, 400, "unknown package type"},
			{"bad age", "POST", org, carol, `{"package_type":"npm","older_than":"soon"}`, 400, "age \"soon\""},
			{"bad pattern", "POST", org, carol, `{"package_type":"npm","remove_pattern":"re:("}`, 400, "remove_pattern"},
			{"too large", "POST", org, carol, `{"name":"` + strings.Repeat("x", 70<<10) + `"}`, 413, "larger than 64 KiB"},
			{"someone else's policy", "DELETE", org + "/" + strconv.FormatInt(mine.ID, 10), carol, "", 404, "not found"},
			{"not an id", "DELETE", org + "/x", carol, "", 404, "Not Found"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				req := testenv.Request{Method: tc.method, Path: tc.path}
				if tc.auth != "" {
					req.Auth = testenv.Bearer(tc.auth)
				}
				if tc.body != "" {
					req.Body = body(tc.body)
				}
				res := f.Do(req)
				var e struct {
					Message, Status string
				}
				res.JSON(t, &e)
				if res.Status != tc.status || !strings.Contains(e.Message, tc.message) || e.Status != strconv.Itoa(tc.status) {
					t.Errorf("%d %s, want %d %q", res.Status, res.Body, tc.status, tc.message)
				}
			})
		}

		res = f.Do(testenv.Request{Method: "DELETE", Path: org + "/" + strconv.FormatInt(p.ID, 10), Auth: testenv.Bearer(carol)})
		if res.Status != http.StatusNoContent {
			t.Fatalf("DELETE: %d %s", res.Status, res.Body)
		}
		res = f.Do(testenv.Request{Method: "DELETE", Path: org + "/" + strconv.FormatInt(p.ID, 10), Auth: testenv.Bearer(carol)})
		if res.Status != http.StatusNotFound {
			t.Errorf("DELETE twice: %d %s", res.Status, res.Body)
		}
	})
}

func FuzzParsePolicyBody(f *testing.F) {
	for _, s := range []string{`{"package_type":"npm","keep_newest":1}`, `{"older_than":"30d"}`, `{"older_than":null}`, `{`, `[]`, `{"x":1}`, `{}{}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		p, err := restapi.ParsePolicyForTest([]byte(body))
		if err != nil {
			return
		}
		if !json.Valid([]byte(body)) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		if p.OlderThan < 0 {
			t.Fatalf("negative age from %q", body)
		}
	})
}
