package oci_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/registry/oci"
	"github.com/packhub/packhub/internal/testenv"
)

// reg is a registry under test with a few accounts.
type reg struct {
	t     *testing.T
	env   *testenv.Env
	srv   *httptest.Server
	url   string
	alice string // read, write, delete
	bob   string // read, write, delete; no rights on alice's packages
	carol string // read only
}

var testKey = []byte("test-key-0123456789")

func newReg(t *testing.T, env *testenv.Env, typ packages.Type, mod func(*oci.Options)) *reg {
	t.Helper()
	env.User("alice")
	env.User("bob")
	env.User("carol")
	r := &reg{t: t, env: env,
		alice: env.Token("alice", testenv.AllScopes),
		bob:   env.Token("bob", testenv.AllScopes),
		carol: env.Token("carol", "read:packages"),
	}
	r.srv = httptest.NewUnstartedServer(nil)
	r.url = "http://" + r.srv.Listener.Addr().String()
	opts := oci.Options{Type: typ, BaseURL: r.url, TokenKey: testKey, TokenTTL: time.Minute}
	if mod != nil {
		mod(&opts)
	}
	r.srv.Config.Handler = oci.New(env.Service, opts)
	r.srv.Start()
	t.Cleanup(r.srv.Close)
	return r
}

func newContainerReg(t *testing.T, mod func(*oci.Options)) *reg {
	return newReg(t, testenv.New(t, "sqlite"), packages.TypeContainer, mod)
}

type resp struct {
	*http.Response
	body []byte
}

func (r *resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// code returns the first error code of an error body.
func (r *resp) code() string {
	var b struct {
		Errors []struct{ Code string } `json:"errors"`
	}
	if json.Unmarshal(r.body, &b) != nil || len(b.Errors) == 0 {
		return ""
	}
	return b.Errors[0].Code
}

// req sends a request; token is a personal access token sent as Basic
// (any user name), "" for none, or "Bearer X" for a bearer token.
func (r *reg) req(method, path, token string, body io.Reader, hdr ...string) *resp {
	r.t.Helper()
	req := testenv.Request{Method: method, Path: path, Body: body, Header: testenv.Headers(hdr...)}
	switch {
	case strings.HasPrefix(token, "Bearer "):
		req.Auth = testenv.Bearer(strings.TrimPrefix(token, "Bearer "))
	case token != "":
		req.Auth = testenv.Basic("whoever", token)
	}
	res, b := (&testenv.Front{T: r.t, URL: r.url, Client: http.DefaultClient}).Send(req)
	if res.StatusCode > 500 && res.StatusCode != http.StatusInsufficientStorage {
		r.t.Errorf("%s %s: status %d: %s", method, path, res.StatusCode, b)
	}
	return &resp{Response: res, body: b}
}

func (r *reg) expect(res *resp, status int, code string) {
	r.t.Helper()
	if res.StatusCode != status {
		r.t.Fatalf("%s %s: status %d, want %d: %s", res.Request.Method, res.Request.URL.Path, res.StatusCode, status, res.body)
	}
	if code != "" && res.code() != code {
		r.t.Fatalf("%s %s: code %q, want %q: %s", res.Request.Method, res.Request.URL.Path, res.code(), code, res.body)
	}
}

func digestOf(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// pushBlob uploads a blob monolithically (POST then PUT).
func (r *reg) pushBlob(name, token string, b []byte) string {
	r.t.Helper()
	res := r.req("POST", "/v2/"+name+"/blobs/uploads/", token, nil)
	r.expect(res, http.StatusAccepted, "")
	d := digestOf(b)
	res = r.req("PUT", res.Header.Get("Location")+"?digest="+d, token, bytes.NewReader(b))
	r.expect(res, http.StatusCreated, "")
	return d
}

type image struct {
	config, layer   []byte
	manifest        []byte
	digest          string
	configD, layerD string
}

// makeImage builds a small OCI image; extra fields go into the manifest.
func makeImage(seed string, extra map[string]any) *image {
	im := &image{config: []byte(`{"architecture":"amd64","os":"linux","seed":"` + seed + `"}`), layer: []byte("layer " + seed)}
	im.configD, im.layerD = digestOf(im.config), digestOf(im.layer)
	m := map[string]any{
		"schemaVersion": 2,
		"mediaType":     oci.MediaTypeOCIManifest,
		"config":        map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": im.configD, "size": len(im.config)},
		"layers":        []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": im.layerD, "size": len(im.layer)}},
	}
	for k, v := range extra {
		m[k] = v
	}
	im.manifest, _ = json.Marshal(m)
	im.digest = digestOf(im.manifest)
	return im
}

// push uploads an image's blobs and puts its manifest under ref.
func (r *reg) push(name, token string, im *image, ref string) *resp {
	r.t.Helper()
	r.pushBlob(name, token, im.config)
	r.pushBlob(name, token, im.layer)
	return r.putManifest(name, token, ref, oci.MediaTypeOCIManifest, im.manifest)
}

func (r *reg) putManifest(name, token, ref, mediaType string, body []byte) *resp {
	r.t.Helper()
	return r.req("PUT", "/v2/"+name+"/manifests/"+ref, token, bytes.NewReader(body), "Content-Type", mediaType)
}

// bearer exchanges credentials for a registry token.
func (r *reg) bearer(pat string, scopes ...string) string {
	r.t.Helper()
	q := ""
	for i, s := range scopes {
		if i == 0 {
			q += "?"
		} else {
			q += "&"
		}
		q += "scope=" + s
	}
	res := r.req("GET", "/token"+q, pat, nil)
	r.expect(res, http.StatusOK, "")
	var tr struct {
		Token string `json:"token"`
	}
	res.json(r.t, &tr)
	return "Bearer " + tr.Token
}

// claims decodes a bearer token's payload without checking it.
func claims(t *testing.T, bearer string) map[string]any {
	parts := strings.Split(strings.TrimPrefix(bearer, "Bearer "), ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %s", bearer)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
