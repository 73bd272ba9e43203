package nuget_test

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/registry/nuget"
	"github.com/packhub/packhub/internal/testenv"
)

var ctx = context.Background()

// world is a NuGet registry over a real service, served over HTTP.
type world struct {
	t     *testing.T
	env   *testenv.Env
	srv   *httptest.Server
	token string // octo's, every scope
	feed  string // octo's feed URL
}

func newWorld(t *testing.T, env *testenv.Env, opts nuget.Options) *world {
	t.Helper()
	env.User("octo")
	env.Repo("octo/open", packages.Public)
	srv := httptest.NewServer(nil)
	t.Cleanup(srv.Close)
	opts.BaseURL = srv.URL
	opts.TempDir = t.TempDir()
	srv.Config.Handler = nuget.New(env.Service, opts)
	return &world{t: t, env: env, srv: srv, token: env.Token("octo", testenv.AllScopes), feed: srv.URL + "/nuget/octo"}
}

// nuspec writes a .nuspec with the given id, version and extra metadata
// elements.
func nuspec(id, version, extra string) string {
	return fmt.Sprintf(`<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata>
    <id>%s</id>
    <version>%s</version>
    <authors>Octo Cat, Mona</authors>
    <description>%s for tests.</description>
%s
  </metadata>
</package>`, id, version, id, extra)
}

// entry is one file of a test package.
type entry struct {
	name string
	body []byte
}

// zipOf builds a zip archive of the entries, in order.
func zipOf(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.Create(e.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(e.body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// nupkg builds a package as nuget pack lays it out.
func nupkg(t testing.TB, id, version, extra string, more ...entry) []byte {
	t.Helper()
	es := []entry{
		{"_rels/.rels", []byte("<Relationships/>")},
		{id + ".nuspec", []byte(nuspec(id, version, extra))},
		{"lib/net45/" + id + ".dll", []byte("MZ " + id + " " + version)},
		{"[Content_Types].xml", []byte("<Types/>")},
	}
	return zipOf(t, append(es, more...)...)
}

// multipartBody is a push body as NuGet sends it.
func multipartBody(file []byte) (string, []byte) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	w, _ := mw.CreateFormFile("package", "package.nupkg")
	w.Write(file)
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

// push PUTs a package as NuGet does: a chunked multipart body with the
// token in X-NuGet-ApiKey.
func (w *world) push(path string, file []byte, token string) (int, string) {
	w.t.Helper()
	ct, body := multipartBody(file)
	return w.put(path, ct, body, token)
}

func (w *world) put(path, contentType string, body []byte, token string) (int, string) {
	w.t.Helper()
	pr, pw := io.Pipe()
	go func() {
		// Written in pieces, the body goes out chunked.
		for len(body) > 0 {
			n := min(len(body), 4096)
			if _, err := pw.Write(body[:n]); err != nil {
				return
			}
			body = body[n:]
		}
		pw.Close()
	}()
	req, _ := http.NewRequest(http.MethodPut, w.feed+path, pr)
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("X-NuGet-ApiKey", token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// mustPush pushes a package and fails unless it was created.
func (w *world) mustPush(file []byte) {
	w.t.Helper()
	if code, body := w.push("/api/v2/package", file, w.token); code != http.StatusCreated {
		w.t.Fatalf("push: %d %s", code, body)
	}
}

// get GETs a feed path with the token as Basic password ("" for none),
// and returns the status, the body (gunzipped when it came gzipped) and
// the headers.
func (w *world) get(path, token string) (int, []byte, http.Header) {
	w.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, w.feed+path, nil)
	if token != "" {
		req.SetBasicAuth("octo", token)
	}
	// Asked for explicitly, gzip is not undone by the transport.
	req.Header.Set("Accept-Encoding", "gzip")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	var r io.Reader = res.Body
	if res.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(res.Body)
		if err != nil {
			w.t.Fatalf("GET %s: gzip: %v", path, err)
		}
		r = zr
	}
	b, err := io.ReadAll(r)
	if err != nil {
		w.t.Fatal(err)
	}
	return res.StatusCode, b, res.Header
}

// getJSON GETs a document as the owner and decodes it.
func (w *world) getJSON(path string, v any) {
	w.t.Helper()
	code, b, _ := w.get(path, w.token)
	if code != http.StatusOK {
		w.t.Fatalf("GET %s: %d %s", path, code, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		w.t.Fatalf("GET %s: %v\n%s", path, err, b)
	}
}

// blobCount counts the blobs the blob store holds.
func (w *world) blobCount() int {
	w.t.Helper()
	n := 0
	if err := w.env.Blobs.Walk(ctx, func(string, int64) error { n++; return nil }); err != nil {
		w.t.Fatal(err)
	}
	return n
}

func (w *world) ref(name string) packages.PackageRef {
	return packages.PackageRef{Owner: "octo", Scope: packages.AnyOwner, Type: packages.TypeNuGet, Name: name}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func contains(s, sub string) bool { return strings.Contains(strings.ToLower(s), strings.ToLower(sub)) }
