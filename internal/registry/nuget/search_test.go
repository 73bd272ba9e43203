package nuget_test

import (
	"encoding/xml"
	"net/url"
	"slices"
	"strings"
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
		env.User("stranger")
		pub := env.Token("stranger", "read:packages") // sees the public packages

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
			{"stable only, a stranger", pub, url.Values{"q": {"octo"}}, []string{"Octo.Alpha@1.0.0", "Octo.Tool@1.0.0"}, 2},
			{"prerelease", pub, url.Values{"q": {"octo"}, "prerelease": {"true"}}, []string{"Octo.Alpha@1.1.0-beta", "Octo.Beta@0.1.0-preview", "Octo.Tool@1.0.0"}, 3},
			{"prerelease and SemVer 2.0.0", pub, url.Values{"q": {"OCTO"}, "prerelease": {"true"}, "semVerLevel": {"2.0.0"}}, []string{"Octo.Alpha@2.0.0-rc.1", "Octo.Beta@0.1.0-preview", "Octo.Tool@1.0.0"}, 3},
			{"the owner sees its private package", w.token, url.Values{"q": {"octo"}}, []string{"Octo.Alpha@1.0.0", "Octo.Secret@1.0.0", "Octo.Tool@1.0.0"}, 3},
			{"every term", pub, url.Values{"q": {"octo alpha"}}, []string{"Octo.Alpha@1.0.0"}, 1},
			{"exact id", pub, url.Values{"q": {"id:octo.tool"}}, []string{"Octo.Tool@1.0.0"}, 1},
			{"package type", pub, url.Values{"packageType": {"DotnetTool"}}, []string{"Octo.Tool@1.0.0"}, 1},
			{"empty query", pub, url.Values{}, []string{"Octo.Alpha@1.0.0", "Octo.Tool@1.0.0", "Unrelated@1.0.0"}, 3},
			{"skip and take", pub, url.Values{"skip": {"1"}, "take": {"1"}}, []string{"Octo.Tool@1.0.0"}, 3},
			{"take none", pub, url.Values{"take": {"0"}}, nil, 3},
		}
		for _, tt := range tests {
			r := search(tt.token, tt.q)
			if got := r.ids(); !slices.Equal(got, tt.want) || r.TotalHits != tt.total {
				t.Errorf("%s: %v of %d, want %v of %d", tt.name, got, r.TotalHits, tt.want, tt.total)
			}
		}
		r := search(pub, url.Values{"q": {"alpha"}, "prerelease": {"true"}, "semVerLevel": {"2.0.0"}})
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
		if c := complete(pub, url.Values{"q": {"oct"}}); !slices.Equal(c.Data, []string{"Octo.Alpha", "Octo.Tool"}) || c.TotalHits != 2 {
			t.Errorf("autocomplete of ids: %+v", c)
		}
		if c := complete(pub, url.Values{"id": {"octo.alpha"}, "prerelease": {"true"}}); !slices.Equal(c.Data, []string{"1.0.0", "1.1.0-beta"}) {
			t.Errorf("autocomplete of versions: %+v", c)
		}
		if c := complete(pub, url.Values{"id": {"Octo.Secret"}}); len(c.Data) != 0 {
			t.Errorf("a stranger's autocomplete of a private package's versions: %+v", c)
		}
		if c := complete(w.token, url.Values{"id": {"Octo.Secret"}}); !slices.Equal(c.Data, []string{"1.0.0"}) {
			t.Errorf("the owner's autocomplete of its private package's versions: %+v", c)
		}
		if c := complete(pub, url.Values{"id": {"nothing.here"}}); len(c.Data) != 0 || c.TotalHits != 0 {
			t.Errorf("autocomplete of a missing package: %+v", c)
		}
		// Anonymous searches are challenged, so that NuGet sends the
		// source's credentials.
		for _, p := range []string{"/query?q=octo", "/autocomplete?q=octo", "/autocomplete?id=octo.alpha", "/api/v2/Search()?searchTerm=''"} {
			if code, _, h := w.get(p, ""); code != 401 || h.Get("WWW-Authenticate") == "" {
				t.Errorf("anonymous %s: %d", p, code)
			}
		}
		// Another owner's feed is another feed.
		env.User("other")
		w.feed = w.srv.URL + "/nuget/other"
		if r := search(w.token, url.Values{}); r.TotalHits != 0 {
			t.Errorf("another owner's feed: %v", r.ids())
		}
	})
}

// The v2 feed's Search(), which nuget list reads, runs the same search and
// answers in Atom.
func TestLegacySearch(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		w := newWorld(t, env, nuget.Options{})
		w.mustPush(nupkg(t, "Octo.Alpha", "1.0.0", `<dependencies><group targetFramework="net45"><dependency id="Octo.Beta" version="1.0" /></group></dependencies>`))
		w.mustPush(nupkg(t, "Octo.Alpha", "1.1.0-beta", ""))
		w.mustPush(nupkg(t, "Octo.Beta", "2.0.0", ""))
		type feed struct {
			Entries []struct {
				Title   string `xml:"title"`
				Content struct {
					Src string `xml:"src,attr"`
				} `xml:"content"`
				Props struct {
					ID           string `xml:"Id"`
					Version      string `xml:"Version"`
					Dependencies string `xml:"Dependencies"`
					Latest       bool   `xml:"IsLatestVersion"`
					AbsLatest    bool   `xml:"IsAbsoluteLatestVersion"`
					Prerelease   bool   `xml:"IsPrerelease"`
				} `xml:"properties"`
			} `xml:"entry"`
		}
		list := func(q string) []string {
			t.Helper()
			code, b, h := w.get("/api/v2/Search()?"+q, w.token)
			if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "application/atom+xml") {
				t.Fatalf("Search()?%s: %d %s", q, code, b)
			}
			var f feed
			if err := xml.Unmarshal(b, &f); err != nil {
				t.Fatalf("Search()?%s: %v\n%s", q, err, b)
			}
			var out []string
			for _, e := range f.Entries {
				s := e.Props.ID + "@" + e.Props.Version
				if e.Props.Latest {
					s += "+latest"
				}
				if e.Props.AbsLatest {
					s += "+abs"
				}
				out = append(out, s)
				if e.Props.ID == "Octo.Alpha" && e.Props.Version == "1.0.0" && (e.Props.Dependencies != "Octo.Beta:[1.0.0, ):net45" || !strings.HasSuffix(e.Content.Src, "/octo.alpha.1.0.0.nupkg")) {
					t.Errorf("entry: %+v", e)
				}
			}
			return out
		}
		for q, want := range map[string][]string{
			"$filter=IsLatestVersion&searchTerm=''&includePrerelease=false":                {"Octo.Alpha@1.0.0+latest+abs", "Octo.Beta@2.0.0+latest+abs"},
			"$filter=IsAbsoluteLatestVersion&searchTerm='alpha'&includePrerelease=true":    {"Octo.Alpha@1.1.0-beta+abs"},
			"searchTerm=''&includePrerelease=true&$skip=0&$top=30":                         {"Octo.Alpha@1.0.0+latest", "Octo.Alpha@1.1.0-beta+abs", "Octo.Beta@2.0.0+latest+abs"},
			"searchTerm=''&includePrerelease=true&$skip=1&$top=1":                          {"Octo.Alpha@1.1.0-beta+abs"},
			"$filter=IsLatestVersion&searchTerm='nothing'&includePrerelease=false&$top=30": nil,
		} {
			if got := list(q); !slices.Equal(got, want) {
				t.Errorf("Search()?%s: %v, want %v", q, got, want)
			}
		}
		if code, _, _ := w.get("/api/v2/Search()?$filter=Id%20eq%20'x'", w.token); code != 400 {
			t.Errorf("an unsupported filter: %d", code)
		}
		for _, p := range []string{"/api/v2", "/api/v2/$metadata"} {
			if code, _, _ := w.get(p, ""); code != 200 {
				t.Errorf("%s: %d", p, code)
			}
		}
	})
}
