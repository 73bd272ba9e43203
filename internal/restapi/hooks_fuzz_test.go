package restapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/packhub/packhub/internal/blob/fileblob"
	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/restapi"
	"github.com/packhub/packhub/internal/store/storetest"
)

// FuzzHookBodies sends arbitrary JSON bodies to the webhook operations
// that read one and requires a non-5xx answer with a JSON body.
func FuzzHookBodies(f *testing.F) {
	ctx := context.Background()
	st := storetest.NewSQLite(f)
	blobs, err := fileblob.New(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	svc := packages.NewService(st, blobs, packages.Options{Specs: packages.BuiltinSpecs()})
	if _, err := svc.CreateUser(ctx, "alice", false); err != nil {
		f.Fatal(err)
	}
	if _, err := svc.CreateOrg(ctx, "acme", "alice"); err != nil {
		f.Fatal(err)
	}
	tok, _, err := svc.CreateToken(ctx, "alice", strings.Split(hookScopes, ","), "fuzz", 0)
	if err != nil {
		f.Fatal(err)
	}
	a, err := svc.Authenticate(ctx, tok)
	if err != nil {
		f.Fatal(err)
	}
	url := "http://127.0.0.1:9/hook"
	if _, err := svc.CreateHook(ctx, a, packages.OrgHooks("acme"), packages.HookInput{Name: new("web"), Config: &packages.HookConfigInput{URL: &url}}); err != nil {
		f.Fatal(err)
	}
	h := restapi.New(svc, restapi.Options{BaseURL: "http://packhub.test"})
	for _, seed := range []struct{ method, path, body string }{
		{"POST", "/orgs/acme/hooks", `{"name":"web","config":{"url":"http://x.test","content_type":"json","insecure_ssl":1},"events":["package"]}`},
		{"POST", "/orgs/acme/hooks", `{"name":"web","config":{"url":"http://x.test"},"events":[]}`},
		{"PATCH", "/orgs/acme/hooks/1", `{"active":false,"events":["*"]}`},
		{"PATCH", "/orgs/acme/hooks/1/config", `{"insecure_ssl":"2"}`},
		{"PATCH", "/orgs/acme/hooks/1/config", `{"url":null}`},
		{"POST", "/orgs/acme/hooks", `[1,2]`},
		{"POST", "/orgs/acme/hooks", ``},
	} {
		f.Add(seed.method, seed.path, seed.body)
	}
	f.Fuzz(func(t *testing.T, method, path, body string) {
		switch path {
		case "/orgs/acme/hooks", "/orgs/acme/hooks/1", "/orgs/acme/hooks/1/config":
		default:
			path = "/orgs/acme/hooks"
		}
		if method != "POST" && method != "PATCH" {
			method = "POST"
		}
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", method, path, body, rec.Code, rec.Body)
		}
		if rec.Code != http.StatusNoContent && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %s %q: body not JSON: %q", method, path, body, rec.Body)
		}
	})
}
