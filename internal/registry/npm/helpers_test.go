package npm

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/packhub/packhub/internal/testenv"
)

// makeTarball packs files (path -> content) into a gzipped tar.
func makeTarball(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, name := range sortedKeys(files) {
		body := files[name]
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pkgTarball is an npm tarball with package/package.json.
func pkgTarball(t testing.TB, name, version string, extra map[string]any) []byte {
	t.Helper()
	m := map[string]any{"name": name, "version": version}
	for k, v := range extra {
		m[k] = v
	}
	pj, _ := json.Marshal(m)
	return makeTarball(t, map[string]string{
		"package/package.json": string(pj),
		"package/index.js":     "module.exports = " + `"` + name + "@" + version + `"` + "\n",
	})
}

// pubDoc builds a publish document as libnpmpublish does.
type pubDoc struct {
	name, version string
	tgz           []byte
	tag           string
	manifest      map[string]any // extra manifest fields
	integrity     *string
	shasum        *string
}

func (p pubDoc) build() []byte {
	sum512 := sha512.Sum512(p.tgz)
	sum1 := sha1.Sum(p.tgz)
	integrity := "sha512-" + base64.StdEncoding.EncodeToString(sum512[:])
	shasum := hex.EncodeToString(sum1[:])
	if p.integrity != nil {
		integrity = *p.integrity
	}
	if p.shasum != nil {
		shasum = *p.shasum
	}
	tag := p.tag
	if tag == "" {
		tag = "latest"
	}
	m := map[string]any{
		"name": p.name, "version": p.version, "description": "the " + p.name + " package",
		"_id":  p.name + "@" + p.version,
		"main": "index.js",
		"dist": map[string]any{"integrity": integrity, "shasum": shasum, "tarball": "http://example/" + p.name + "/-/x.tgz"},
	}
	for k, v := range p.manifest {
		m[k] = v
	}
	tb := p.name + "-" + p.version + ".tgz"
	doc := map[string]any{
		"_id": p.name, "name": p.name, "description": "the " + p.name + " package",
		"dist-tags": map[string]string{tag: p.version},
		"versions":  map[string]any{p.version: m},
		"access":    nil,
		"_attachments": map[string]any{tb: map[string]any{
			"content_type": "application/octet-stream",
			"data":         base64.StdEncoding.EncodeToString(p.tgz),
			"length":       len(p.tgz),
		}},
	}
	b, _ := json.Marshal(doc)
	return b
}

func strp(s string) *string { return &s }

// fixture is a registry over a real service.
type fixture struct {
	t   *testing.T
	env *testenv.Env
	srv *httptest.Server
}

func newFixture(t *testing.T, env *testenv.Env, opts Options) *fixture {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	t.Cleanup(srv.Close)
	opts.BaseURL = srv.URL
	srv.Config.Handler = New(env.Service, opts)
	return &fixture{t: t, env: env, srv: srv}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// do sends a request; hdr alternates names and values.
func (f *fixture) do(method, path, token string, body []byte, hdr ...string) resp {
	f.t.Helper()
	req := testenv.Request{Method: method, Path: path, Header: testenv.Headers(hdr...)}
	if token != "" {
		req.Auth = testenv.Bearer(token)
	}
	if body != nil {
		req.Body = bytes.NewReader(body)
		if req.Header.Get("Content-Type") == "" {
			req.Header.Set("Content-Type", "application/json")
		}
	}
	r := (&testenv.Front{T: f.t, URL: f.srv.URL, Client: f.srv.Client()}).Do(req)
	if r.Status > 500 { // a 500 the front reports itself
		f.t.Errorf("%s %s: status %d: %s", method, path, r.Status, r.Body)
	}
	return resp{status: r.Status, header: r.Header, body: r.Body}
}

// publish publishes a version and fails the test unless it is created.
func (f *fixture) publish(token, name, version string, manifest map[string]any, tag string) []byte {
	f.t.Helper()
	tgz := pkgTarball(f.t, name, version, nil)
	r := f.do("PUT", "/npm/"+strings.Replace(name, "/", "%2f", 1), token, pubDoc{name: name, version: version, tgz: tgz, manifest: manifest, tag: tag}.build())
	if r.status != http.StatusCreated {
		f.t.Fatalf("publish %s@%s: %d %s", name, version, r.status, r.body)
	}
	return tgz
}

// wantError checks an npm error response.
func wantError(t testing.TB, r resp, status int, contains string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(r.body, &e); err != nil || e.Error == "" {
		t.Fatalf("body is not npm's error shape: %s", r.body)
	}
	if !strings.Contains(strings.ToLower(e.Error), strings.ToLower(contains)) {
		t.Fatalf("error %q does not contain %q", e.Error, contains)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("content type %q", ct)
	}
}
