package rubygems

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/packhub/packhub/internal/testenv"
)

// TestReplicaIndexes checks that every index a replica renders from its
// caches (the compact index, the Marshal indexes, the quick gemspecs, the
// dependency API and the JSON API) follows each change another replica
// makes, on the very next read. The clock stands still, so nothing but
// the packages' revisions tells the documents apart.
func TestReplicaIndexes(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		env.User("alice")
		tok := env.Token("alice", "read:packages,write:packages,delete:packages")
		a := newFixture(t, env, Options{})
		b := newFixture(t, env.Replica(), Options{})

		// index returns what each index of b says the active gems are,
		// as "name version" sorted; they must all agree.
		index := func(what string) []string {
			t.Helper()
			docs := map[string][]string{}
			versions := map[string][]string{} // /versions: name -> listed versions, yanked ones dropped
			for _, line := range versionsLines(t, b.get("/rubygems/alice/versions", tok).body) {
				f := strings.Fields(line)
				for _, v := range strings.Split(f[1], ",") {
					if y, ok := strings.CutPrefix(v, "-"); ok {
						versions[f[0]] = slices.DeleteFunc(versions[f[0]], func(s string) bool { return s == y })
						continue
					}
					versions[f[0]] = append(versions[f[0]], v)
				}
			}
			for name, vs := range versions {
				for _, v := range vs {
					docs["versions"] = append(docs["versions"], name+" "+v)
				}
			}
			names := strings.Fields(strings.TrimPrefix(string(b.get("/rubygems/alice/names", tok).body), "---\n"))
			for _, name := range names {
				info := b.get("/rubygems/alice/info/"+name, tok)
				wantStatus(t, info, 200, "")
				for _, line := range strings.Split(strings.TrimSpace(strings.TrimPrefix(string(info.body), "---\n")), "\n") {
					if line != "" {
						docs["info"] = append(docs["info"], name+" "+strings.Fields(line)[0])
					}
				}
				var vs []struct {
					Number string `json:"number"`
				}
				if err := json.Unmarshal(b.get("/rubygems/alice/api/v1/versions/"+name+".json", tok).body, &vs); err != nil {
					t.Fatalf("%s: versions/%s.json: %v", what, name, err)
				}
				for _, v := range vs {
					docs["versions.json"] = append(docs["versions.json"], name+" "+v.Number)
				}
			}
			var deps []struct {
				Name   string `json:"name"`
				Number string `json:"number"`
			}
			if len(names) > 0 {
				if err := json.Unmarshal(b.get("/rubygems/alice/api/v1/dependencies.json?gems="+strings.Join(names, ","), tok).body, &deps); err != nil {
					t.Fatalf("%s: dependencies.json: %v", what, err)
				}
			}
			for _, d := range deps {
				docs["dependencies.json"] = append(docs["dependencies.json"], d.Name+" "+d.Number)
			}
			r := b.get("/rubygems/alice/"+specsIndex, tok)
			wantStatus(t, r, 200, "")
			zr, err := gzip.NewReader(bytes.NewReader(r.body))
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(zr)
			specs, err := unmarshal(raw)
			if err != nil {
				t.Fatalf("%s: specs: %v", what, err)
			}
			for _, e := range specs.([]any) {
				tuple := e.([]any)
				docs["specs"] = append(docs["specs"], tuple[0].(readString).S+" "+tuple[1].(readUser).Data.([]any)[0].(readString).S)
			}
			want := docs["info"]
			slices.Sort(want)
			for name, got := range docs {
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Fatalf("%s: %s says %q, info %q", what, name, got, want)
				}
			}
			for _, g := range want {
				name, v, _ := strings.Cut(g, " ")
				wantStatus(t, b.get("/rubygems/alice/quick/Marshal.4.8/"+name+"-"+v+".gemspec.rz", tok), 200, "")
				wantStatus(t, b.get("/rubygems/alice/gems/"+name+"-"+v+".gem", tok), 200, "")
			}
			return want
		}
		check := func(what string, want ...string) {
			t.Helper()
			if got := index(what); !slices.Equal(got, want) {
				t.Fatalf("%s: %q, want %q", what, got, want)
			}
		}

		a.push("alice", tok, testGem{name: "hello", version: "1.0.0"})
		check("first read", "hello 1.0.0")
		check("cached read", "hello 1.0.0")
		a.push("alice", tok, testGem{name: "hello", version: "1.1.0"})
		check("after a push to the other replica", "hello 1.0.0", "hello 1.1.0")
		a.push("alice", tok, testGem{name: "other", version: "0.1.0"})
		check("after a new gem on the other replica", "hello 1.0.0", "hello 1.1.0", "other 0.1.0")
		wantStatus(t, a.yank("alice", tok, "hello", "1.0.0", ""), 200, "")
		check("after a yank on the other replica", "hello 1.1.0", "other 0.1.0")
		// One version goes and another comes: the gem keeps its number of
		// versions and, the clock standing still, its times.
		wantStatus(t, a.yank("alice", tok, "other", "0.1.0", ""), 200, "")
		a.push("alice", tok, testGem{name: "other", version: "0.2.0"})
		check("after a yank and a push on the other replica", "hello 1.1.0", "other 0.2.0")
		wantStatus(t, b.get("/rubygems/alice/quick/Marshal.4.8/hello-1.0.0.gemspec.rz", tok), 404, "")
		wantStatus(t, b.get("/rubygems/alice/gems/other-0.1.0.gem", tok), 404, "")
	})
}
