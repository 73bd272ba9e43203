package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// restVersions lists a package's versions in a state through the REST API.
func restVersions(t *testing.T, s *Server, token, typ, name, state string) map[string]int64 {
	t.Helper()
	var vs []struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	if err := json.Unmarshal(restCall(t, s, "GET", "/user/packages/"+typ+"/"+name+"/versions?state="+state+"&per_page=100", token), &vs); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, v := range vs {
		out[v.Name] = v.ID
	}
	return out
}

func names(m map[string]int64) []string {
	var out []string
	for n := range m {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// TestRetention publishes with npm and crane, sets retention policies
// with the CLI and the REST API, lists what a dry run would delete, runs
// them, and restores the deleted versions over REST; a package's last
// version stays whatever the policy says.
func TestRetention(t *testing.T) {
	t.Parallel()
	eachDatabase(t, testRetention)
}

func testRetention(t *testing.T, db Database) {
	npm := requireTool(t, "npm")
	crane := requireTool(t, "crane")
	s := StartServer(t, db)
	s.Admin("user", "create", "alice")
	tok := s.Token("alice", "read:packages,write:packages,delete:packages")
	alice := newNpmUser(t, npm, s.URL+"/npm/", tok, "alice")
	src, solo := t.TempDir(), t.TempDir()
	for _, v := range []string{"1.0.0", "1.1.0", "2.0.0"} {
		npmProject(t, src, map[string]any{"name": "@alice/lib", "version": v, "main": "index.js"})
		alice.must(src, "publish")
	}
	npmProject(t, solo, map[string]any{"name": "@alice/solo", "version": "0.1.0", "main": "index.js"})
	alice.must(solo, "publish")
	oc := newOCIClients(t)
	host := hostOf(s.URL)
	oc.run(crane, "auth", "login", host, "-u", "alice", "-p", tok)
	img := host + "/alice/app"
	oc.run(crane, "append", "--insecure", "-f", oc.layerTar("one", "one\n"), "-t", img+":latest")
	oc.run(crane, "append", "--insecure", "-f", oc.layerTar("two", "two\n"), "-t", img+":latest") // the first is now untagged
	oc.run(crane, "append", "--insecure", "-f", oc.layerTar("three", "three\n"), "-t", img+":v3")
	untagged := restVersions(t, s, tok, "container", "app", "active")
	latest := strings.TrimSpace(oc.run(crane, "digest", "--insecure", img+":latest"))
	v3 := strings.TrimSpace(oc.run(crane, "digest", "--insecure", img+":v3"))
	delete(untagged, latest)
	delete(untagged, v3)
	if len(untagged) != 1 {
		t.Fatalf("untagged images: %v", untagged)
	}

	// Policies: the newest npm version of lib, everything of solo; untagged
	// images, through the REST API.
	out := s.Admin("retention", "add", "--owner", "alice", "--type", "npm", "--name", "lib", "--keep-newest", "1")
	if !strings.Contains(out, "added retention policy 1 for npm packages of alice: name=lib keep-newest=1") {
		t.Fatalf("add: %s", out)
	}
	s.Admin("retention", "add", "--owner", "alice", "--type", "npm", "--name", "sol?", "--remove", "*")
	req, _ := http.NewRequest("POST", s.URL+"/user/packages/retention-policies", strings.NewReader(`{"package_type":"container","untagged":true}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("POST policy: %d %s", res.StatusCode, b)
	}
	if list := s.Admin("retention", "list"); strings.Count(list, "alice") != 3 || !strings.Contains(list, "container  untagged") {
		t.Fatalf("list:\n%s", list)
	}

	dry := s.Admin("retention", "run", "--dry-run")
	for _, want := range []string{
		"would delete version", " 1.0.0 of npm alice/lib (policy 1)", " 1.1.0 of npm alice/lib (policy 1)",
		" " + names(untagged)[0] + " of container alice/app (policy 3)",
		"kept version", " 0.1.0 of npm alice/solo (policy 2): the last version",
		"would delete 3 versions and 0 files; kept 2 versions the rules selected; 3 policies over 3 packages",
	} {
		if !strings.Contains(dry, want) {
			t.Errorf("the dry run lacks %q:\n%s", want, dry)
		}
	}
	if got := names(restVersions(t, s, tok, "npm", "lib", "active")); len(got) != 3 {
		t.Fatalf("the dry run deleted: %v", got)
	}

	run := s.Admin("retention", "run")
	if !strings.Contains(run, "deleted 3 versions and 0 files") {
		t.Fatalf("run:\n%s", run)
	}
	if got := names(restVersions(t, s, tok, "npm", "lib", "active")); !slices.Equal(got, []string{"2.0.0"}) {
		t.Errorf("lib after the run: %v", got)
	}
	if got := names(restVersions(t, s, tok, "npm", "solo", "active")); !slices.Equal(got, []string{"0.1.0"}) {
		t.Errorf("solo lost its last version: %v", got)
	}
	if got := restVersions(t, s, tok, "container", "app", "active"); len(got) != 2 || got[latest] == 0 || got[v3] == 0 {
		t.Errorf("images after the run: %v", got)
	}
	if again := s.Admin("retention", "run"); !strings.Contains(again, "deleted 0 versions") {
		t.Errorf("a second run deleted more:\n%s", again)
	}

	// Everything the run deleted is restorable over REST.
	deleted := restVersions(t, s, tok, "npm", "lib", "deleted")
	if got := names(deleted); !slices.Equal(got, []string{"1.0.0", "1.1.0"}) {
		t.Fatalf("deleted versions of lib: %v", got)
	}
	for _, id := range deleted {
		restCall(t, s, "POST", fmt.Sprintf("/user/packages/npm/lib/versions/%d/restore", id), tok)
	}
	for _, id := range restVersions(t, s, tok, "container", "app", "deleted") {
		restCall(t, s, "POST", fmt.Sprintf("/user/packages/container/app/versions/%d/restore", id), tok)
	}
	proj := npmConsumer(t)
	alice.must(proj, "install", "@alice/lib@1.0.0")
	if npmInstalled(proj, "@alice/lib") != "1.0.0" {
		t.Errorf("restored 1.0.0 does not install")
	}
	oc.run(crane, "manifest", "--insecure", img+"@"+names(untagged)[0])
}
