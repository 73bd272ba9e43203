package nuget_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/registry/nuget"
	"github.com/packhub/packhub/internal/testenv"
)

// replicaOf is a second replica of w's installation: a NuGet registry with
// a document cache of its own over its own service on w's database and
// blob directory, with w's accounts.
func replicaOf(t *testing.T, w *world) *world {
	t.Helper()
	env := w.env.Replica()
	srv := httptest.NewServer(nil)
	t.Cleanup(srv.Close)
	srv.Config.Handler = nuget.New(env.Service, nuget.Options{BaseURL: srv.URL, TempDir: t.TempDir()})
	return &world{t: t, env: env, srv: srv, token: w.token, feed: srv.URL + "/nuget/octo"}
}

// TestReplicaDocuments checks that every document a replica renders from
// its cache follows each change another replica makes, on the very next
// read. The clock stands still, so nothing but the package's revision
// tells the documents apart.
func TestReplicaDocuments(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		a := newWorld(t, env, nuget.Options{})
		b := replicaOf(t, a)
		// versions returns what each document of b shows of Octo.Rep:
		// they must all agree.
		versions := func(what string) []string {
			t.Helper()
			var flat struct{ Versions []string }
			b.getJSON("/v3-flatcontainer/octo.rep/index.json", &flat)
			docs := map[string][]string{"flat container": flat.Versions}
			for _, hub := range []string{"/registration", "/registration-gz-semver2"} {
				var idx registrationIndex
				b.getJSON(hub+"/octo.rep/index.json", &idx)
				var vs []string
				for _, p := range idx.Items {
					for _, it := range p.Items {
						vs = append(vs, strings.ToLower(it.CatalogEntry.Version))
					}
				}
				docs[hub] = vs
			}
			var sr searchResult
			b.getJSON("/query?q=octo.rep&prerelease=true&semVerLevel=2.0.0", &sr)
			var found []string
			for _, d := range sr.Data {
				for _, v := range d.Versions {
					found = append(found, strings.ToLower(v.Version))
				}
			}
			docs["search"] = found
			for name, got := range docs {
				if !slices.Equal(got, flat.Versions) {
					t.Fatalf("%s: %s shows %v, the flat container %v", what, name, got, flat.Versions)
				}
			}
			return flat.Versions
		}
		a.mustPush(nupkg(t, "Octo.Rep", "1.0.0", ""))
		if got := versions("first read"); !slices.Equal(got, []string{"1.0.0"}) {
			t.Fatalf("first read: %v", got)
		}
		// Read again from the cache, then change the package through a.
		versions("cached read")
		a.mustPush(nupkg(t, "Octo.Rep", "1.1.0", ""))
		if got := versions("after a push to the other replica"); !slices.Equal(got, []string{"1.0.0", "1.1.0"}) {
			t.Fatalf("after push: %v", got)
		}
		if code, _, _ := b.get("/v3-flatcontainer/octo.rep/1.1.0/octo.rep.1.1.0.nupkg", b.token); code != http.StatusOK {
			t.Fatalf("download of the new version from the other replica: %d", code)
		}
		var leaf struct {
			CatalogEntry string `json:"catalogEntry"`
		}
		b.getJSON("/registration/octo.rep/1.1.0.json", &leaf)
		if code := a.delete("/api/v2/package/Octo.Rep/1.1.0", a.token); code != http.StatusNoContent {
			t.Fatalf("delete: %d", code)
		}
		if got := versions("after a delete on the other replica"); !slices.Equal(got, []string{"1.0.0"}) {
			t.Fatalf("after delete: %v", got)
		}
		if code, _, _ := b.get("/registration/octo.rep/1.1.0.json", b.token); code != http.StatusNotFound {
			t.Fatalf("leaf of a version deleted on the other replica: %d", code)
		}
		if code, _, _ := b.get("/v3-flatcontainer/octo.rep/1.1.0/octo.rep.1.1.0.nupkg", b.token); code != http.StatusNotFound {
			t.Fatalf("download of a version deleted on the other replica: %d", code)
		}
		actor := a.env.Actor(a.token)
		_, vs, _, err := a.env.Service.ListVersions(ctx, actor, a.ref("Octo.Rep"), packages.Deleted, packages.Page{}, packages.ViaREST)
		if err != nil || len(vs) != 1 {
			t.Fatalf("deleted versions: %v %v", vs, err)
		}
		if err := a.env.Service.RestoreVersion(ctx, actor, a.ref("Octo.Rep"), vs[0].ID, packages.ViaREST); err != nil {
			t.Fatal(err)
		}
		if got := versions("after a restore on the other replica"); !slices.Equal(got, []string{"1.0.0", "1.1.0"}) {
			t.Fatalf("after restore: %v", got)
		}
		// One version goes and another comes: the package keeps its
		// number of versions and, the clock standing still, its times.
		if code := a.delete("/api/v2/package/Octo.Rep/1.0.0", a.token); code != http.StatusNoContent {
			t.Fatalf("delete: %d", code)
		}
		a.mustPush(nupkg(t, "Octo.Rep", "1.2.0", ""))
		if got := versions("after a delete and a push on the other replica"); !slices.Equal(got, []string{"1.1.0", "1.2.0"}) {
			t.Fatalf("after delete and push: %v", got)
		}
		if err := a.env.Service.DeletePackage(ctx, actor, a.ref("Octo.Rep"), packages.ViaREST); err != nil {
			t.Fatal(err)
		}
		if code, _, _ := b.get("/v3-flatcontainer/octo.rep/index.json", b.token); code != http.StatusNotFound {
			t.Fatalf("flat container of a package deleted on the other replica: %d", code)
		}
		if code, _, _ := b.get("/registration/octo.rep/index.json", b.token); code != http.StatusNotFound {
			t.Fatalf("registration of a package deleted on the other replica: %d", code)
		}
	})
}
