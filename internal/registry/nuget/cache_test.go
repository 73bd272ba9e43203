package nuget

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

// An unchanged package's documents are loaded and rendered once; a change
// to the package is seen at once.
func TestDocumentCache(t *testing.T) {
	env := testenv.New(t, "sqlite")
	env.User("octo")
	tok := env.Token("octo", "read:packages,write:packages")
	ref := packages.PackageRef{Owner: "octo", Scope: packages.AnyOwner, Type: packages.TypeNuGet, Name: "Octo.Cached"}
	env.Publish(tok, ref, "", "1.0.0")
	h := New(env.Service, Options{BaseURL: "http://packhub.test"}).(*handler)
	get := func(path string) int {
		req := httptest.NewRequest(http.MethodGet, "/nuget/octo"+path, nil)
		req.SetBasicAuth("octo", tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	for range 3 {
		for _, p := range []string{"/registration/octo.cached/index.json", "/registration-gz-semver2/octo.cached/index.json", "/v3-flatcontainer/octo.cached/index.json"} {
			if code := get(p); code != http.StatusOK {
				t.Fatalf("GET %s: %d", p, code)
			}
		}
	}
	if n := h.docs.loads.Load(); n != 1 {
		t.Fatalf("nine reads of an unchanged package loaded it %d times", n)
	}
	env.Publish(tok, ref, "", "1.1.0")
	if code := get("/v3-flatcontainer/octo.cached/index.json"); code != http.StatusOK {
		t.Fatalf("GET after a publish: %d", code)
	}
	if n := h.docs.loads.Load(); n != 2 {
		t.Fatalf("a publish was not seen: %d loads", n)
	}
}
