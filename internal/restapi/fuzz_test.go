package restapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/packhub/packhub/internal/blob/fileblob"
	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/restapi"
	"github.com/packhub/packhub/internal/store/storetest"
)

// FuzzRoutes sends arbitrary methods, paths, queries and headers through
// the handler and requires a non-5xx answer with a JSON body (or none).
func FuzzRoutes(f *testing.F) {
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
	tok, _, err := svc.CreateToken(ctx, "alice", strings.Split(allScopes, ","), "fuzz", 0)
	if err != nil {
		f.Fatal(err)
	}
	a, err := svc.Authenticate(ctx, tok)
	if err != nil {
		f.Fatal(err)
	}
	for _, ref := range []packages.PackageRef{
		{Owner: "alice", Type: packages.TypeNpm, Name: "left-pad"},
		{Owner: "acme", Type: packages.TypeContainer, Name: "a/b"},
	} {
		for _, v := range []string{"1.0.0", "2.0.0"} {
			d, n, err := blobs.Put(ctx, strings.NewReader(ref.String()+v), "")
			if err != nil {
				f.Fatal(err)
			}
			if _, err := svc.Publish(ctx, a, packages.PublishRequest{Package: ref, Version: v,
				Files: []packages.File{{Name: "f", Digest: d, Size: n}}}); err != nil {
				f.Fatal(err)
			}
		}
	}
	h := restapi.New(svc, restapi.Options{BaseURL: "http://packhub.test"})

	for _, s := range []struct {
		method, path, query, hname, hvalue string
		auth                               uint8
	}{
		{"GET", "/user/packages", "package_type=npm&per_page=abc&page=-1", "", "", 1},
		{"GET", "/orgs/acme/packages/container/a%2Fb/versions", "state=deleted&per_page=0", "If-None-Match", `W/"x", *`, 1},
		{"DELETE", "/users/alice/packages/npm/left-pad/versions/1", "", "X-GitHub-Api-Version", "2026-03-10", 1},
		{"POST", "/api/v3/user/packages/npm/left-pad/restore", "token=%zz", "", "", 1},
		{"GET", "/user/packages/npm/..%2F%00", "", "X-GitHub-Api-Version", "\x00\xff", 2},
		{"GET", "/users/alice/packages/npm/left-pad/versions/99999999999999999999999", "", "Authorization", "Basic !!!", 0},
		{"PUT", "//api/v3//user", "page=99999999999999999999999&per_page=1000", "X-Request-Id", "\r\n", 0},
		{"GET", "/api/v3", "", "Accept", "*/*", 2},
		{"OPTIONS", "*", "", "", "", 0},
		{"GET", "/orgs/acme/packages", "package_type=container&visibility=internal&page=100&per_page=100", "", "", 1},
	} {
		f.Add(s.method, s.path, s.query, s.hname, s.hvalue, s.auth)
	}

	f.Fuzz(func(t *testing.T, method, path, query, hname, hvalue string, authSel uint8) {
		u := &url.URL{Scheme: "http", Host: "packhub.test", RawQuery: query}
		if p, err := url.PathUnescape(path); err == nil {
			u.Path, u.RawPath = p, path
			if u.EscapedPath() != path {
				u.RawPath = ""
			}
		} else {
			u.Path = path
		}
		req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
		if err != nil {
			return // not a request a server could receive
		}
		if hname != "" {
			req.Header[http.CanonicalHeaderKey(hname)] = []string{hvalue}
		}
		switch authSel % 3 {
		case 1:
			req.Header.Set("Authorization", "Bearer "+tok)
		case 2:
			req.Header.Set("Authorization", "token "+hvalue)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s: %d %s", method, req.URL, rec.Code, rec.Body)
		}
		if rec.Header().Get("Content-Type") != "application/json; charset=utf-8" {
			t.Fatalf("%s %s: Content-Type %q", method, req.URL, rec.Header().Get("Content-Type"))
		}
		switch rec.Code {
		case http.StatusNoContent, http.StatusNotModified:
			if rec.Body.Len() != 0 {
				t.Fatalf("%s %s: %d with a body", method, req.URL, rec.Code)
			}
		default:
			if !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("%s %s: %d body is not JSON: %q", method, req.URL, rec.Code, rec.Body)
			}
		}
	})
}
