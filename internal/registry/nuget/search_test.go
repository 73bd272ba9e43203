package nuget_test

import (
	"net/url"
	"slices"
	"testing"

	"github.com/packhub/packhub/internal/registry/nuget"
	"github.com/packhub/packhub/internal/testenv"
)

type searchResult struct {
	TotalHits int `json:"totalHits"`
	Data      []struct {
		ID           string `json:"id"`
		Version      string `json:"version"`
		Registration string `json:"registration"`
		PackageTypes []struct {
			Name string `json:"name"`
		} `json:"packageTypes"`
		Versions []struct {
			Version string `json:"version"`
		} `json:"versions"`
		Authors []string `json:"authors"`
	} `json:"data"`
}

func (r *searchResult) ids() []string {
	var out []string
	for _, d := range r.Data {
		out = append(out, d.ID+"@"+d.Version)
	}
	return out
}

// Search and autocomplete filter by id, prerelease, SemVer level and
// package type, page with skip and take, and show each caller what it may
// read.
func TestSearch(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		w := newWorld(t, env, nuget.Options{})
		open := `<repository url="https://github.com/octo/open" />`
		w.mustPush(nupkg(t, "Octo.Alpha", "1.0.0", open))
		w.mustPush(nupkg(t, "Octo.Alpha", "1.1.0-beta", open))
		w.mustPush(nupkg(t, "Octo.Alpha", "2.0.0-rc.1", open))
		w.mustPush(nupkg(t, "Octo.Beta", "0.1.0-preview", open))
		w.mustPush(nupkg(t, "Octo.Tool", "1.0.0", open+`<packageTypes><packageType name="DotnetTool" /></packageTypes>`))
		w.mustPush(nupkg(t, "Octo.Secret", "1.0.0", ""))
		w.mustPush(nupkg(t, "Unrelated", "1.0.0", open))

		search := func(token string, q url.Values) searchResult {
			t.Helper()
			var r searchResult
			code, b, _ := w.get("/query?"+q.Encode(), token)
			if code != 200 {
				t.Fatalf("search %s: %d %s", q.Encode(), code, b)
			}
			if err := jsonUnmarshal(b, &r); err != nil {
				t.Fatal(err)
			}
			return r
		}
		tests := []struct {
			name  string
			token string
			q     url.Values
			want  []string
			total int
		}{
			{"stable only, anonymous", "", url.Values{"q": {"octo"}}, []string{"Octo.Alpha@1.0.0", "Octo.Tool@1.0.0"}, 2},
			{"prerelease", "", url.Values{"q": {"octo"}, "prerelease": {"true"}}, []string{"Octo.Alpha@1.1.0-beta", "Octo.Beta@0.1.0-preview", "Octo.Tool@1.0.0"}, 3},
			{"prerelease and SemVer 2.0.0", "", url.Values{"q": {"OCTO"}, "prerelease": {"true"}, "semVerLevel": {"2.0.0"}}, []string{"Octo.Alpha@2.0.0-rc.1", "Octo.Beta@0.1.0-preview", "Octo.Tool@1.0.0"}, 3},
			{"the owner sees its private package", w.token, url.Values{"q": {"octo"}}, []string{"Octo.Alpha@1.0.0", "Octo.Secret@1.0.0", "Octo.Tool@1.0.0"}, 3},
			{"every term", "", url.Values{"q": {"octo alpha"}}, []string{"Octo.Alpha@1.0.0"}, 1},
			{"exact id", "", url.Values{"q": {"id:octo.tool"}}, []string{"Octo.Tool@1.0.0"}, 1},
			{"package type", "", url.Values{"packageType": {"DotnetTool"}}, []string{"Octo.Tool@1.0.0"}, 1},
			{"empty query", "", url.Values{}, []string{"Octo.Alpha@1.0.0", "Octo.Tool@1.0.0", "Unrelated@1.0.0"}, 3},
			{"skip and take", "", url.Values{"skip": {"1"}, "take": {"1"}}, []string{"Octo.Tool@1.0.0"}, 3},
			{"take none", "", url.Values{"take": {"0"}}, nil, 3},
		}
		for _, tt := range tests {
			r := search(tt.token, tt.q)
			if got := r.ids(); !slices.Equal(got, tt.want) || r.TotalHits != tt.total {
				t.Errorf("%s: %v of %d, want %v of %d", tt.name, got, r.TotalHits, tt.want, tt.total)
			}
		}
		r := search("", url.Values{"q": {"alpha"}, "prerelease": {"true"}, "semVerLevel": {"2.0.0"}})
		d := r.Data[0]
		if len(d.Versions) != 3 || d.Versions[2].Version != "2.0.0-rc.1" || d.Registration != w.feed+"/registration-gz-semver2/octo.alpha/index.json" ||
			!slices.Equal(d.Authors, []string{"Octo Cat", "Mona"}) || d.PackageTypes[0].Name != "Dependency" {
			t.Errorf("search entry: %+v", d)
		}

		type completion struct {
			TotalHits int      `json:"totalHits"`
			Data      []string `json:"data"`
		}
		complete := func(token string, q url.Values) completion {
			t.Helper()
			var c completion
			code, b, _ := w.get("/autocomplete?"+q.Encode(), token)
			if code != 200 || jsonUnmarshal(b, &c) != nil {
				t.Fatalf("autocomplete %s: %d %s", q.Encode(), code, b)
			}
			return c
		}
		if c := complete("", url.Values{"q": {"oct"}}); !slices.Equal(c.Data, []string{"Octo.Alpha", "Octo.Tool"}) || c.TotalHits != 2 {
			t.Errorf("autocomplete of ids: %+v", c)
		}
		if c := complete("", url.Values{"id": {"octo.alpha"}, "prerelease": {"true"}}); !slices.Equal(c.Data, []string{"1.0.0", "1.1.0-beta"}) {
			t.Errorf("autocomplete of versions: %+v", c)
		}
		if c := complete("", url.Values{"id": {"Octo.Secret"}}); len(c.Data) != 0 {
			t.Errorf("anonymous autocomplete of a private package's versions: %+v", c)
		}
		if c := complete(w.token, url.Values{"id": {"Octo.Secret"}}); !slices.Equal(c.Data, []string{"1.0.0"}) {
			t.Errorf("the owner's autocomplete of its private package's versions: %+v", c)
		}
		if c := complete("", url.Values{"id": {"nothing.here"}}); len(c.Data) != 0 || c.TotalHits != 0 {
			t.Errorf("autocomplete of a missing package: %+v", c)
		}
		// Another owner's feed is another feed.
		env.User("other")
		w.feed = w.srv.URL + "/nuget/other"
		if r := search(w.token, url.Values{}); r.TotalHits != 0 {
			t.Errorf("another owner's feed: %v", r.ids())
		}
	})
}
