package oci_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/registry/oci"
	"github.com/packhub/packhub/internal/testenv"
)

func TestBaseAndChallenge(t *testing.T) {
	r := newContainerReg(t, nil)
	res := r.req("GET", "/v2/", "", nil)
	r.expect(res, http.StatusUnauthorized, "UNAUTHORIZED")
	want := fmt.Sprintf(`Bearer realm="%s/token",service="%s"`, r.url, strings.TrimPrefix(r.url, "http://"))
	if got := res.Header.Get("WWW-Authenticate"); got != want {
		t.Errorf("challenge %q, want %q", got, want)
	}
	if res.Header.Get("Docker-Distribution-API-Version") != "registry/2.0" {
		t.Errorf("missing Docker-Distribution-API-Version")
	}
	r.expect(r.req("GET", "/v2/", r.alice, nil), http.StatusOK, "")
	r.expect(r.req("GET", "/v2/", "phk_not_a_real_token", nil), http.StatusUnauthorized, "UNAUTHORIZED")

	// A push without credentials is challenged with the image's scope.
	res = r.req("POST", "/v2/alice/app/blobs/uploads/", "", nil)
	r.expect(res, http.StatusUnauthorized, "UNAUTHORIZED")
	want = fmt.Sprintf(`Bearer realm="%s/token",service="%s",scope="repository:alice/app:pull,push"`, r.url, strings.TrimPrefix(r.url, "http://"))
	if got := res.Header.Get("WWW-Authenticate"); got != want {
		t.Errorf("challenge %q, want %q", got, want)
	}
}

func TestPushPullOverTokens(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		r := newReg(t, env, packages.TypeContainer, nil)
		name := "alice/tools/app"
		tok := r.bearer(r.alice, "repository:"+name+":pull,push")
		acc := claims(t, tok)["access"].([]any)
		if len(acc) != 1 || fmt.Sprint(acc[0].(map[string]any)["actions"]) != "[pull push]" {
			t.Fatalf("access %v", acc)
		}
		im := makeImage("1", nil)
		res := r.push(name, tok, im, "v1")
		r.expect(res, http.StatusCreated, "")
		if res.Header.Get("Docker-Content-Digest") != im.digest || res.Header.Get("Location") != "/v2/"+name+"/manifests/"+im.digest {
			t.Fatalf("headers %v", res.Header)
		}

		// The package exists, private, and the manifest is a version named
		// by its digest with the tag.
		ctx := context.Background()
		ref := packages.PackageRef{Owner: "alice", Type: packages.TypeContainer, Name: "tools/app"}
		pi, vi, err := env.Service.ResolveTag(ctx, env.Actor(r.alice), ref, "v1")
		if err != nil || vi.Name != im.digest || pi.Visibility != packages.Private {
			t.Fatalf("resolve tag: %v %+v %+v", err, vi, pi)
		}

		for _, ref := range []string{"v1", im.digest} {
			res = r.req("GET", "/v2/"+name+"/manifests/"+ref, tok, nil)
			r.expect(res, http.StatusOK, "")
			if !bytes.Equal(res.body, im.manifest) || res.Header.Get("Content-Type") != oci.MediaTypeOCIManifest || res.Header.Get("Docker-Content-Digest") != im.digest {
				t.Fatalf("manifest %s: %s %v", ref, res.body, res.Header)
			}
			res = r.req("HEAD", "/v2/"+name+"/manifests/"+ref, tok, nil)
			r.expect(res, http.StatusOK, "")
			if res.ContentLength != int64(len(im.manifest)) || len(res.body) != 0 {
				t.Fatalf("HEAD %s: %d %q", ref, res.ContentLength, res.body)
			}
		}
		// Two GETs count two downloads; HEAD counts none. The count is
		// written just after the response.
		for i := 0; ; i++ {
			_, vi, _ = env.Service.GetVersionByName(ctx, env.Actor(r.alice), ref, im.digest, packages.ViaRegistry)
			if vi.DownloadCount == 2 || i == 100 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if vi.DownloadCount != 2 {
			t.Errorf("download count %d, want 2", vi.DownloadCount)
		}

		res = r.req("GET", "/v2/"+name+"/blobs/"+im.layerD, tok, nil)
		r.expect(res, http.StatusOK, "")
		if !bytes.Equal(res.body, im.layer) || res.Header.Get("Docker-Content-Digest") != im.layerD {
			t.Fatalf("blob %q", res.body)
		}
		res = r.req("GET", "/v2/"+name+"/blobs/"+im.layerD, tok, nil, "Range", "bytes=2-4")
		r.expect(res, http.StatusPartialContent, "")
		if string(res.body) != string(im.layer[2:5]) {
			t.Fatalf("range %q", res.body)
		}
		res = r.req("HEAD", "/v2/"+name+"/blobs/"+im.configD, tok, nil)
		r.expect(res, http.StatusOK, "")
		if res.ContentLength != int64(len(im.config)) {
			t.Fatalf("HEAD blob length %d", res.ContentLength)
		}

		// A pull-only token cannot push: 401 with insufficient_scope.
		pull := r.bearer(r.alice, "repository:"+name+":pull")
		res = r.req("POST", "/v2/"+name+"/blobs/uploads/", pull, nil)
		r.expect(res, http.StatusUnauthorized, "UNAUTHORIZED")
		if !strings.Contains(res.Header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
			t.Errorf("challenge %q", res.Header.Get("WWW-Authenticate"))
		}
		// Bob may not push to or delete alice's private image, and carol
		// (read only) may not create packages. Their pull scope reads
		// only what they may see: alice's private image answers bob as a
		// missing one does.
		pullOnly := func(who, tok, name string) {
			t.Helper()
			acc := claims(t, tok)["access"].([]any)
			if len(acc) != 1 || fmt.Sprint(acc[0].(map[string]any)["actions"]) != "[pull]" {
				t.Errorf("%s got %v on %s", who, acc, name)
			}
		}
		bobs := r.bearer(r.bob, "repository:"+name+":pull,push,delete")
		pullOnly("bob", bobs, name)
		pullOnly("carol", r.bearer(r.carol, "repository:carol/new:pull,push"), "carol/new")
		hidden := r.req("GET", "/v2/"+name+"/manifests/v1", bobs, nil)
		r.expect(hidden, http.StatusNotFound, "NAME_UNKNOWN")
		missing := r.req("GET", "/v2/alice/nothing/manifests/v1", r.bearer(r.bob, "repository:alice/nothing:pull"), nil)
		r.expect(missing, http.StatusNotFound, "NAME_UNKNOWN")
		if !bytes.Equal(hidden.body, missing.body) {
			t.Errorf("bob tells a private image (%s) from a missing one (%s)", hidden.body, missing.body)
		}
		// A missing image in one's own namespace is NAME_UNKNOWN.
		r.expect(r.req("GET", "/v2/alice/missing/manifests/v1", r.bearer(r.alice, "repository:alice/missing:pull"), nil), http.StatusNotFound, "NAME_UNKNOWN")
		// Anonymous: nothing on a private image.
		res = r.req("GET", "/v2/"+name+"/manifests/v1", "", nil)
		r.expect(res, http.StatusUnauthorized, "UNAUTHORIZED")
		if acc := claims(t, r.bearer("", "repository:"+name+":pull"))["access"].([]any); len(acc) != 0 {
			t.Errorf("anonymous got %v", acc)
		}
		// Bad credentials at /token.
		r.expect(r.req("GET", "/token?scope=repository:"+name+":pull", "phk_bad", nil), http.StatusUnauthorized, "UNAUTHORIZED")
		// A forged token is refused.
		r.expect(r.req("GET", "/v2/"+name+"/manifests/v1", "Bearer a.b.c", nil), http.StatusUnauthorized, "UNAUTHORIZED")

		// Once public, anyone pulls, with or without a token.
		if err := env.Service.SetPackageVisibility(ctx, env.Actor(r.alice), ref, packages.Public); err != nil {
			t.Fatal(err)
		}
		r.expect(r.req("GET", "/v2/"+name+"/manifests/v1", "", nil), http.StatusOK, "")
		anon := r.bearer("", "repository:"+name+":pull,push")
		if acc := claims(t, anon)["access"].([]any); len(acc) != 1 || fmt.Sprint(acc[0].(map[string]any)["actions"]) != "[pull]" {
			t.Errorf("anonymous got %v", acc)
		}
		r.expect(r.req("GET", "/v2/"+name+"/blobs/"+im.layerD, anon, nil), http.StatusOK, "")
		r.expect(r.req("POST", "/v2/"+name+"/blobs/uploads/", anon, nil), http.StatusUnauthorized, "UNAUTHORIZED")
	})
}

func TestChunkedUpload(t *testing.T) {
	r := newContainerReg(t, nil)
	name := "alice/chunked"
	data := bytes.Repeat([]byte("0123456789"), 100)
	res := r.req("POST", "/v2/"+name+"/blobs/uploads/", r.alice, nil)
	r.expect(res, http.StatusAccepted, "")
	loc := res.Header.Get("Location")
	if !strings.HasPrefix(loc, "/v2/"+name+"/blobs/uploads/") || res.Header.Get("Range") != "0-0" {
		t.Fatalf("location %q range %q", loc, res.Header.Get("Range"))
	}
	// Out of order: 416 with the current range.
	res = r.req("PATCH", loc, r.alice, bytes.NewReader(data[500:]), "Content-Range", "500-999", "Content-Type", "application/octet-stream")
	r.expect(res, http.StatusRequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID")
	res = r.req("PATCH", loc, r.alice, bytes.NewReader(data[:500]), "Content-Range", "0-499")
	r.expect(res, http.StatusAccepted, "")
	if res.Header.Get("Range") != "0-499" {
		t.Fatalf("range %q", res.Header.Get("Range"))
	}
	// Retrying the same chunk, or a chunk past the end, is 416.
	r.expect(r.req("PATCH", loc, r.alice, bytes.NewReader(data[:500]), "Content-Range", "0-499"), http.StatusRequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID")
	r.expect(r.req("PATCH", loc, r.alice, bytes.NewReader(data[500:600]), "Content-Range", "600-699"), http.StatusRequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID")
	r.expect(r.req("PATCH", loc, r.alice, bytes.NewReader(data[500:600]), "Content-Range", "garbage"), http.StatusRequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID")
	res = r.req("GET", loc, r.alice, nil)
	r.expect(res, http.StatusNoContent, "")
	if res.Header.Get("Range") != "0-499" || res.Header.Get("Location") != loc {
		t.Fatalf("status %v", res.Header)
	}
	// A chunk without Content-Range (streamed) appends.
	res = r.req("PATCH", loc, r.alice, bytes.NewReader(data[500:900]))
	r.expect(res, http.StatusAccepted, "")
	if res.Header.Get("Range") != "0-899" {
		t.Fatalf("range %q", res.Header.Get("Range"))
	}
	// The final PUT carries the last chunk.
	d := digestOf(data)
	res = r.req("PUT", loc+"?digest="+d, r.alice, bytes.NewReader(data[900:]), "Content-Range", "900-999")
	r.expect(res, http.StatusCreated, "")
	if res.Header.Get("Location") != "/v2/"+name+"/blobs/"+d {
		t.Fatalf("location %q", res.Header.Get("Location"))
	}
	res = r.req("GET", "/v2/"+name+"/blobs/"+d, r.alice, nil)
	r.expect(res, http.StatusOK, "")
	if !bytes.Equal(res.body, data) {
		t.Fatal("blob differs")
	}
	// The session is gone.
	r.expect(r.req("GET", loc, r.alice, nil), http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")

	// Wrong digest: DIGEST_INVALID, and nothing stored.
	res = r.req("POST", "/v2/"+name+"/blobs/uploads/", r.alice, nil)
	loc = res.Header.Get("Location")
	r.expect(r.req("PUT", loc+"?digest="+digestOf([]byte("other")), r.alice, bytes.NewReader([]byte("content"))), http.StatusBadRequest, "DIGEST_INVALID")
	r.expect(r.req("GET", "/v2/"+name+"/blobs/"+digestOf([]byte("content")), r.alice, nil), http.StatusNotFound, "BLOB_UNKNOWN")
	// Missing or malformed digest.
	res = r.req("POST", "/v2/"+name+"/blobs/uploads/", r.alice, nil)
	loc = res.Header.Get("Location")
	r.expect(r.req("PUT", loc, r.alice, bytes.NewReader(nil)), http.StatusBadRequest, "DIGEST_INVALID")
	r.expect(r.req("PUT", loc+"?digest=sha256:xyz", r.alice, bytes.NewReader(nil)), http.StatusBadRequest, "DIGEST_INVALID")
	// Cancel.
	r.expect(r.req("DELETE", loc, r.alice, nil), http.StatusNoContent, "")
	r.expect(r.req("PATCH", loc, r.alice, bytes.NewReader([]byte("x"))), http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")

	// Monolithic POST with digest.
	blob := []byte("monolithic")
	res = r.req("POST", "/v2/"+name+"/blobs/uploads/?digest="+digestOf(blob), r.alice, bytes.NewReader(blob))
	r.expect(res, http.StatusCreated, "")
	r.expect(r.req("HEAD", "/v2/"+name+"/blobs/"+digestOf(blob), r.alice, nil), http.StatusOK, "")
	r.expect(r.req("POST", "/v2/"+name+"/blobs/uploads/?digest="+digestOf([]byte("x")), r.alice, bytes.NewReader(blob)), http.StatusBadRequest, "DIGEST_INVALID")
}

func TestUploadSessions(t *testing.T) {
	env := testenv.New(t, "sqlite")
	r := newReg(t, env, packages.TypeContainer, nil)
	res := r.req("POST", "/v2/alice/one/blobs/uploads/", r.alice, nil)
	loc := res.Header.Get("Location")
	id := strings.TrimPrefix(loc, "/v2/alice/one/blobs/uploads/")
	r.expect(r.req("PATCH", loc, r.alice, bytes.NewReader([]byte("hello "))), http.StatusAccepted, "")

	// The session cannot be continued through another repository, nor
	// with a forged id.
	r.req("POST", "/v2/alice/two/blobs/uploads/", r.alice, nil)
	r.expect(r.req("PATCH", "/v2/alice/two/blobs/uploads/"+id, r.alice, bytes.NewReader([]byte("x"))), http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
	raw, _, _ := strings.Cut(id, ".")
	r.expect(r.req("PATCH", "/v2/alice/one/blobs/uploads/"+raw, r.alice, bytes.NewReader([]byte("x"))), http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
	r.expect(r.req("PATCH", "/v2/alice/one/blobs/uploads/"+raw+".AAAAAAAAAAAAAAAAAAAAAAAA", r.alice, bytes.NewReader([]byte("x"))), http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
	// Nor by someone without push rights there.
	r.expect(r.req("PATCH", loc, r.bob, bytes.NewReader([]byte("x"))), http.StatusForbidden, "DENIED")

	// A new server process (same key) continues the session.
	r2 := &reg{t: t, env: env, alice: r.alice}
	r2.srv = httptest.NewServer(oci.New(env.Service, oci.Options{BaseURL: r.url, TokenKey: testKey}))
	t.Cleanup(r2.srv.Close)
	r2.url = r2.srv.URL
	res = r2.req("PATCH", loc, r.alice, bytes.NewReader([]byte("world")))
	r2.expect(res, http.StatusAccepted, "")
	if res.Header.Get("Range") != "0-10" {
		t.Fatalf("range after restart %q", res.Header.Get("Range"))
	}
	d := digestOf([]byte("hello world"))
	r2.expect(r2.req("PUT", loc+"?digest="+d, r.alice, nil), http.StatusCreated, "")
	r.expect(r.req("GET", "/v2/alice/one/blobs/"+d, r.alice, nil), http.StatusOK, "")
}

func TestSizeLimits(t *testing.T) {
	r := newContainerReg(t, func(o *oci.Options) { o.MaxBlobSize = 100; o.MaxManifestSize = 1000 })
	name := "alice/limits"
	big := bytes.Repeat([]byte("x"), 101)
	r.expect(r.req("POST", "/v2/"+name+"/blobs/uploads/?digest="+digestOf(big), r.alice, bytes.NewReader(big)), http.StatusRequestEntityTooLarge, "SIZE_INVALID")
	res := r.req("POST", "/v2/"+name+"/blobs/uploads/", r.alice, nil)
	loc := res.Header.Get("Location")
	r.expect(r.req("PATCH", loc, r.alice, bytes.NewReader(big[:60])), http.StatusAccepted, "")
	r.expect(r.req("PATCH", loc, r.alice, bytes.NewReader(big[:60])), http.StatusRequestEntityTooLarge, "SIZE_INVALID")
	// Exactly the limit is fine.
	r.pushBlob(name, r.alice, big[:100])

	m := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[],"annotations":{"x":"` + strings.Repeat("y", 1000) + `"}}`)
	r.expect(r.putManifest(name, r.alice, "big", oci.MediaTypeOCIIndex, m), http.StatusRequestEntityTooLarge, "MANIFEST_INVALID")
}

func TestDefaultManifestLimit(t *testing.T) {
	r := newContainerReg(t, nil)
	m := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[],"annotations":{"x":"` + strings.Repeat("y", 4<<20) + `"}}`)
	r.expect(r.putManifest("alice/big", r.alice, "big", oci.MediaTypeOCIIndex, m), http.StatusRequestEntityTooLarge, "MANIFEST_INVALID")
}

func TestManifestErrors(t *testing.T) {
	r := newContainerReg(t, nil)
	name := "alice/errs"
	im := makeImage("e", nil)
	r.pushBlob(name, r.alice, im.config)
	// The layer is missing.
	res := r.putManifest(name, r.alice, "v1", oci.MediaTypeOCIManifest, im.manifest)
	r.expect(res, http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN")
	r.pushBlob(name, r.alice, im.layer)
	cases := []struct {
		ref, ct, body, code string
		status              int
	}{
		{"v1", oci.MediaTypeOCIManifest, `{not json`, "MANIFEST_INVALID", 400},
		{"v1", oci.MediaTypeOCIManifest, ``, "MANIFEST_INVALID", 400},
		{"v1", oci.MediaTypeOCIManifest, `[]`, "MANIFEST_INVALID", 400},
		{"v1", oci.MediaTypeOCIManifest, `{"schemaVersion":1}`, "MANIFEST_INVALID", 400},
		{"v1", "application/vnd.docker.distribution.manifest.v1+prettyjws", `{"schemaVersion":1,"fsLayers":[]}`, "MANIFEST_INVALID", 400},
		{"v1", "application/vnd.example+json", `{"schemaVersion":2,"mediaType":"application/vnd.example+json"}`, "MANIFEST_INVALID", 400},
		{"v1", oci.MediaTypeOCIIndex, string(im.manifest), "MANIFEST_INVALID", 400},
		{"v1", oci.MediaTypeOCIManifest, `{"schemaVersion":2,"mediaType":"` + oci.MediaTypeOCIManifest + `","config":{"mediaType":"x","digest":"nope","size":1},"layers":[]}`, "MANIFEST_INVALID", 400},
		{digestOf([]byte("other")), oci.MediaTypeOCIManifest, string(im.manifest), "DIGEST_INVALID", 400},
		{"sha256:totallywrong", oci.MediaTypeOCIManifest, string(im.manifest), "DIGEST_INVALID", 400},
		{"bad tag!", oci.MediaTypeOCIManifest, string(im.manifest), "TAG_INVALID", 400},
		{"v1", oci.MediaTypeOCIIndex, `{"schemaVersion":2,"mediaType":"` + oci.MediaTypeOCIIndex + `","manifests":[{"mediaType":"` + oci.MediaTypeOCIManifest + `","digest":"` + digestOf([]byte("nope")) + `","size":3}]}`, "MANIFEST_BLOB_UNKNOWN", 400},
	}
	for _, c := range cases {
		res := r.putManifest(name, r.alice, strings.ReplaceAll(c.ref, " ", "%20"), c.ct, []byte(c.body))
		if res.StatusCode != c.status || res.code() != c.code {
			t.Errorf("PUT %s %q: %d %s, want %d %s", c.ref, c.body, res.StatusCode, res.code(), c.status, c.code)
		}
	}
	r.expect(r.putManifest(name, r.alice, im.digest, oci.MediaTypeOCIManifest, im.manifest), http.StatusCreated, "")
	r.expect(r.req("GET", "/v2/"+name+"/manifests/nope", r.alice, nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
	r.expect(r.req("GET", "/v2/"+name+"/manifests/"+digestOf([]byte("nope")), r.alice, nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
	r.expect(r.req("GET", "/v2/"+name+"/manifests/sha256:bad", r.alice, nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
	r.expect(r.req("GET", "/v2/alice/none/manifests/v1", r.alice, nil), http.StatusNotFound, "NAME_UNKNOWN")
	r.expect(r.req("GET", "/v2/alice/none/tags/list", r.alice, nil), http.StatusNotFound, "NAME_UNKNOWN")
	r.expect(r.req("GET", "/v2/Alice/Upper/tags/list", r.alice, nil), http.StatusBadRequest, "NAME_INVALID")
	r.expect(r.req("GET", "/v2/alice/tags/list", r.alice, nil), http.StatusBadRequest, "NAME_INVALID")
	r.expect(r.req("GET", "/v2/a_b/x/tags/list", r.alice, nil), http.StatusBadRequest, "NAME_INVALID")
	r.expect(r.req("GET", "/v2/nobody/x/tags/list", r.alice, nil), http.StatusNotFound, "NAME_UNKNOWN")
	r.expect(r.req("GET", "/v2/"+name+"/blobs/sha256:bad", r.alice, nil), http.StatusBadRequest, "DIGEST_INVALID")
	r.expect(r.req("GET", "/v2/"+name+"/blobs/"+digestOf([]byte("nope")), r.alice, nil), http.StatusNotFound, "BLOB_UNKNOWN")
	r.expect(r.req("PATCH", "/v2/"+name+"/manifests/v1", r.alice, nil), http.StatusMethodNotAllowed, "UNSUPPORTED")
	r.expect(r.req("GET", "/v2/"+name+"/nothing", r.alice, nil), http.StatusNotFound, "")
}

func TestDockerSchema2AndIndexes(t *testing.T) {
	r := newContainerReg(t, nil)
	name := "alice/multi"
	cfg, layer := []byte(`{"os":"linux"}`), []byte("docker layer")
	r.pushBlob(name, r.alice, cfg)
	r.pushBlob(name, r.alice, layer)
	dm, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": oci.MediaTypeDockerManifest,
		"config": map[string]any{"mediaType": "application/vnd.docker.container.image.v1+json", "digest": digestOf(cfg), "size": len(cfg)},
		"layers": []any{map[string]any{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": digestOf(layer), "size": len(layer)}},
	})
	r.expect(r.putManifest(name, r.alice, digestOf(dm), oci.MediaTypeDockerManifest, dm), http.StatusCreated, "")
	im := makeImage("idx", nil)
	r.expect(r.push(name, r.alice, im, im.digest), http.StatusCreated, "")
	list, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": oci.MediaTypeDockerManifestList,
		"manifests": []any{
			map[string]any{"mediaType": oci.MediaTypeDockerManifest, "digest": digestOf(dm), "size": len(dm), "platform": map[string]any{"os": "linux", "architecture": "amd64"}},
			map[string]any{"mediaType": oci.MediaTypeOCIManifest, "digest": im.digest, "size": len(im.manifest), "platform": map[string]any{"os": "linux", "architecture": "arm64"}},
		},
	})
	r.expect(r.putManifest(name, r.alice, "latest", oci.MediaTypeDockerManifestList, list), http.StatusCreated, "")
	res := r.req("GET", "/v2/"+name+"/manifests/latest", r.alice, nil)
	r.expect(res, http.StatusOK, "")
	if res.Header.Get("Content-Type") != oci.MediaTypeDockerManifestList || !bytes.Equal(res.body, list) {
		t.Fatalf("list: %v", res.Header)
	}
	res = r.req("GET", "/v2/"+name+"/manifests/"+digestOf(dm), r.alice, nil)
	if res.Header.Get("Content-Type") != oci.MediaTypeDockerManifest {
		t.Fatalf("docker manifest type %q", res.Header.Get("Content-Type"))
	}
	// Deleting the index keeps its children.
	r.expect(r.req("DELETE", "/v2/"+name+"/manifests/"+digestOf(list), r.alice, nil), http.StatusAccepted, "")
	r.expect(r.req("GET", "/v2/"+name+"/manifests/latest", r.alice, nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
	r.expect(r.req("GET", "/v2/"+name+"/manifests/"+digestOf(dm), r.alice, nil), http.StatusOK, "")
	r.expect(r.req("GET", "/v2/"+name+"/manifests/"+im.digest, r.alice, nil), http.StatusOK, "")
}

func TestTagsAndCatalog(t *testing.T) {
	r := newContainerReg(t, nil)
	name := "alice/tagged"
	im := makeImage("t", nil)
	for _, tag := range []string{"c", "a", "b", "d"} {
		r.expect(r.push(name, r.alice, im, tag), http.StatusCreated, "")
	}
	var tl struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}
	res := r.req("GET", "/v2/"+name+"/tags/list", r.alice, nil)
	res.json(t, &tl)
	if tl.Name != name || strings.Join(tl.Tags, ",") != "a,b,c,d" {
		t.Fatalf("tags %+v", tl)
	}
	res = r.req("GET", "/v2/"+name+"/tags/list?n=2", r.alice, nil)
	res.json(t, &tl)
	if strings.Join(tl.Tags, ",") != "a,b" || res.Header.Get("Link") != `</v2/`+name+`/tags/list?last=b&n=2>; rel="next"` {
		t.Fatalf("page 1 %+v %q", tl, res.Header.Get("Link"))
	}
	res = r.req("GET", "/v2/"+name+"/tags/list?n=2&last=b", r.alice, nil)
	res.json(t, &tl)
	if strings.Join(tl.Tags, ",") != "c,d" || res.Header.Get("Link") != "" {
		t.Fatalf("page 2 %+v %q", tl, res.Header.Get("Link"))
	}
	res = r.req("GET", "/v2/"+name+"/tags/list?n=0", r.alice, nil)
	res.json(t, &tl)
	if len(tl.Tags) != 0 || !strings.Contains(string(res.body), `"tags":[]`) {
		t.Fatalf("n=0: %s", res.body)
	}
	r.expect(r.req("GET", "/v2/"+name+"/tags/list?n=-1", r.alice, nil), http.StatusBadRequest, "")

	// Deleting a tag removes only the tag.
	r.expect(r.req("DELETE", "/v2/"+name+"/manifests/a", r.alice, nil), http.StatusAccepted, "")
	r.expect(r.req("GET", "/v2/"+name+"/manifests/a", r.alice, nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
	r.expect(r.req("GET", "/v2/"+name+"/manifests/b", r.alice, nil), http.StatusOK, "")
	r.expect(r.req("DELETE", "/v2/"+name+"/manifests/a", r.alice, nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
	// Carol may read nothing of alice's and may not delete.
	r.expect(r.req("DELETE", "/v2/"+name+"/manifests/b", r.carol, nil), http.StatusNotFound, "NAME_UNKNOWN")

	// The catalog lists only what the caller may see.
	r.push("bob/public", r.bob, makeImage("p", nil), "v1")
	r.push("bob/private", r.bob, makeImage("q", nil), "v1")
	if err := r.env.Service.SetPackageVisibility(context.Background(), r.env.Actor(r.bob), packages.PackageRef{Owner: "bob", Type: packages.TypeContainer, Name: "public"}, packages.Public); err != nil {
		t.Fatal(err)
	}
	catalog := func(token, q string) ([]string, string) {
		var c struct {
			Repositories []string `json:"repositories"`
		}
		res := r.req("GET", "/v2/_catalog"+q, token, nil)
		r.expect(res, http.StatusOK, "")
		res.json(t, &c)
		return c.Repositories, res.Header.Get("Link")
	}
	if got, _ := catalog(r.alice, ""); strings.Join(got, ",") != "alice/tagged,bob/public" {
		t.Errorf("alice sees %v", got)
	}
	if got, _ := catalog(r.bob, ""); strings.Join(got, ",") != "bob/private,bob/public" {
		t.Errorf("bob sees %v", got)
	}
	if got, _ := catalog("", ""); strings.Join(got, ",") != "bob/public" {
		t.Errorf("anonymous sees %v", got)
	}
	if got, link := catalog(r.bob, "?n=1"); strings.Join(got, ",") != "bob/private" || link != `</v2/_catalog?last=bob%2Fprivate&n=1>; rel="next"` {
		t.Errorf("bob page 1 %v %q", got, link)
	}
	if got, _ := catalog(r.bob, "?n=1&last=bob/private"); strings.Join(got, ",") != "bob/public" {
		t.Errorf("bob page 2 %v", got)
	}
}

func TestReferrers(t *testing.T) {
	r := newContainerReg(t, nil)
	name := "alice/refs"
	subject := makeImage("s", nil)
	r.expect(r.push(name, r.alice, subject, "v1"), http.StatusCreated, "")
	empty := []byte("{}")
	r.pushBlob(name, r.alice, empty)
	var digests []string
	for i, at := range []string{"application/vnd.example.sig", "application/vnd.example.sbom"} {
		payload := []byte(fmt.Sprintf("payload %d", i))
		r.pushBlob(name, r.alice, payload)
		m, _ := json.Marshal(map[string]any{
			"schemaVersion": 2, "mediaType": oci.MediaTypeOCIManifest, "artifactType": at,
			"config":      map[string]any{"mediaType": "application/vnd.oci.empty.v1+json", "digest": digestOf(empty), "size": 2},
			"layers":      []any{map[string]any{"mediaType": "text/plain", "digest": digestOf(payload), "size": len(payload)}},
			"subject":     map[string]any{"mediaType": oci.MediaTypeOCIManifest, "digest": subject.digest, "size": len(subject.manifest)},
			"annotations": map[string]string{"n": fmt.Sprint(i)},
		})
		res := r.putManifest(name, r.alice, digestOf(m), oci.MediaTypeOCIManifest, m)
		r.expect(res, http.StatusCreated, "")
		if res.Header.Get("OCI-Subject") != subject.digest {
			t.Fatalf("OCI-Subject %q", res.Header.Get("OCI-Subject"))
		}
		digests = append(digests, digestOf(m))
	}
	var idx struct {
		MediaType string           `json:"mediaType"`
		Manifests []oci.Descriptor `json:"manifests"`
	}
	res := r.req("GET", "/v2/"+name+"/referrers/"+subject.digest, r.alice, nil)
	r.expect(res, http.StatusOK, "")
	res.json(t, &idx)
	if res.Header.Get("Content-Type") != oci.MediaTypeOCIIndex || len(idx.Manifests) != 2 || res.Header.Get("OCI-Filters-Applied") != "" {
		t.Fatalf("referrers %s", res.body)
	}
	for _, d := range idx.Manifests {
		if !slices.Contains(digests, d.Digest) || d.MediaType != oci.MediaTypeOCIManifest || d.Size == 0 || d.ArtifactType == "" || d.Annotations["n"] == "" {
			t.Errorf("descriptor %+v", d)
		}
	}
	res = r.req("GET", "/v2/"+name+"/referrers/"+subject.digest+"?artifactType=application/vnd.example.sbom", r.alice, nil)
	res.json(t, &idx)
	if len(idx.Manifests) != 1 || idx.Manifests[0].Digest != digests[1] || res.Header.Get("OCI-Filters-Applied") != "artifactType" {
		t.Fatalf("filtered %s", res.body)
	}
	res = r.req("GET", "/v2/"+name+"/referrers/"+digestOf([]byte("none")), r.alice, nil)
	r.expect(res, http.StatusOK, "")
	res.json(t, &idx)
	if len(idx.Manifests) != 0 {
		t.Fatalf("none: %s", res.body)
	}
	r.expect(r.req("GET", "/v2/"+name+"/referrers/bad", r.alice, nil), http.StatusBadRequest, "DIGEST_INVALID")
	r.expect(r.req("GET", "/v2/alice/nothing/referrers/"+subject.digest, r.alice, nil), http.StatusNotFound, "NAME_UNKNOWN")
}

func TestCrossMountAndDedup(t *testing.T) {
	r := newContainerReg(t, nil)
	im := makeImage("m", nil)
	r.expect(r.push("alice/src", r.alice, im, "v1"), http.StatusCreated, "")
	r.expect(r.push("bob/secret", r.bob, makeImage("secret", nil), "v1"), http.StatusCreated, "")
	secret := digestOf(makeImage("secret", nil).layer)

	// Mount from a repository alice reads: 201.
	res := r.req("POST", "/v2/alice/dst/blobs/uploads/?mount="+im.layerD+"&from=alice/src", r.alice, nil)
	r.expect(res, http.StatusCreated, "")
	if res.Header.Get("Location") != "/v2/alice/dst/blobs/"+im.layerD {
		t.Fatalf("location %q", res.Header.Get("Location"))
	}
	r.expect(r.req("GET", "/v2/alice/dst/blobs/"+im.layerD, r.alice, nil), http.StatusOK, "")
	// From bob's private repository: a fresh upload instead.
	res = r.req("POST", "/v2/alice/dst/blobs/uploads/?mount="+secret+"&from=bob/secret", r.alice, nil)
	r.expect(res, http.StatusAccepted, "")
	if !strings.HasPrefix(res.Header.Get("Location"), "/v2/alice/dst/blobs/uploads/") {
		t.Fatalf("location %q", res.Header.Get("Location"))
	}
	// The blob exists in the store but is not alice's to read, and a
	// manifest cannot claim it.
	r.expect(r.req("GET", "/v2/alice/dst/blobs/"+secret, r.alice, nil), http.StatusNotFound, "BLOB_UNKNOWN")
	// Pushing the same bytes again into another owner's repository stores
	// them once.
	r.expect(r.push("bob/copy", r.bob, im, "v1"), http.StatusCreated, "")
	n := 0
	r.env.Blobs.Walk(context.Background(), func(d string, _ int64) error {
		if d == im.layerD {
			n++
		}
		return nil
	})
	if n != 1 {
		t.Errorf("layer stored %d times", n)
	}
}

func TestDeleteAndRestore(t *testing.T) {
	env := testenv.New(t, "sqlite")
	r := newReg(t, env, packages.TypeContainer, nil)
	ctx := context.Background()
	a := env.Actor(r.alice)
	name := "alice/lifecycle"
	ref := packages.PackageRef{Owner: "alice", Type: packages.TypeContainer, Name: "lifecycle"}
	im1, im2 := makeImage("1", nil), makeImage("2", nil)
	r.push(name, r.alice, im1, "one")
	r.push(name, r.alice, im2, "two")
	_, v1, _ := env.Service.GetVersionByName(ctx, a, ref, im1.digest, packages.ViaRegistry)

	// Deleted through REST: gone from /v2/; restored: back byte for byte.
	if err := env.Service.DeleteVersion(ctx, a, ref, v1.ID, packages.ViaREST); err != nil {
		t.Fatal(err)
	}
	r.expect(r.req("GET", "/v2/"+name+"/manifests/"+im1.digest, r.alice, nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
	r.expect(r.req("GET", "/v2/"+name+"/manifests/one", r.alice, nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
	if err := env.Service.RestoreVersion(ctx, a, ref, v1.ID, packages.ViaREST); err != nil {
		t.Fatal(err)
	}
	res := r.req("GET", "/v2/"+name+"/manifests/one", r.alice, nil)
	r.expect(res, http.StatusOK, "")
	if !bytes.Equal(res.body, im1.manifest) {
		t.Fatal("restored manifest differs")
	}
	if err := env.Service.DeletePackage(ctx, a, ref, packages.ViaREST); err != nil {
		t.Fatal(err)
	}
	r.expect(r.req("GET", "/v2/"+name+"/manifests/one", r.alice, nil), http.StatusNotFound, "NAME_UNKNOWN")
	r.expect(r.req("GET", "/v2/"+name+"/tags/list", r.alice, nil), http.StatusNotFound, "NAME_UNKNOWN")
	r.expect(r.req("GET", "/v2/"+name+"/blobs/"+im1.layerD, r.alice, nil), http.StatusNotFound, "NAME_UNKNOWN")
	if err := env.Service.RestorePackage(ctx, a, ref, packages.ViaREST); err != nil {
		t.Fatal(err)
	}
	res = r.req("GET", "/v2/"+name+"/manifests/two", r.alice, nil)
	r.expect(res, http.StatusOK, "")
	if !bytes.Equal(res.body, im2.manifest) {
		t.Fatal("restored manifest differs")
	}

	// Deleting by digest through /v2/ deletes the version, even the last
	// tagged one; bob and carol may not.
	r.expect(r.req("DELETE", "/v2/"+name+"/manifests/"+im1.digest, r.bob, nil), http.StatusNotFound, "NAME_UNKNOWN")
	r.expect(r.req("DELETE", "/v2/"+name+"/manifests/"+im1.digest, r.alice, nil), http.StatusAccepted, "")
	r.expect(r.req("DELETE", "/v2/"+name+"/manifests/"+im1.digest, r.alice, nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
	r.expect(r.req("DELETE", "/v2/"+name+"/manifests/"+im2.digest, r.alice, nil), http.StatusAccepted, "")
	res = r.req("GET", "/v2/"+name+"/tags/list", r.alice, nil)
	r.expect(res, http.StatusOK, "")
	if !strings.Contains(string(res.body), `"tags":[]`) {
		t.Fatalf("tags %s", res.body)
	}
	// A pull-only bearer token cannot delete.
	tok := r.bearer(r.alice, "repository:"+name+":pull")
	r.expect(r.req("DELETE", "/v2/"+name+"/manifests/"+im2.digest, tok, nil), http.StatusUnauthorized, "UNAUTHORIZED")

	// Blob delete unlinks the blob from this repository only (when the
	// store can unlink).
	r.push("alice/other", r.alice, im1, "v1")
	res = r.req("DELETE", "/v2/alice/other/blobs/"+im1.layerD, r.alice, nil)
	if _, ok := env.Store.(packages.BlobUnlinker); !ok {
		r.expect(res, http.StatusMethodNotAllowed, "UNSUPPORTED")
		return
	}
	r.expect(res, http.StatusAccepted, "")
	r.expect(r.req("GET", "/v2/alice/other/blobs/"+im1.layerD, r.alice, nil), http.StatusNotFound, "BLOB_UNKNOWN")
}

func TestSourceAnnotationLinksRepository(t *testing.T) {
	env := testenv.New(t, "sqlite")
	r := newReg(t, env, packages.TypeContainer, nil)
	env.Repo("alice/website", packages.Public)
	im := makeImage("src", map[string]any{"annotations": map[string]string{"org.opencontainers.image.source": r.url + "/alice/website"}})
	r.expect(r.push("alice/site", r.alice, im, "v1"), http.StatusCreated, "")
	pi, err := env.Service.GetPackage(context.Background(), env.Actor(r.alice), packages.PackageRef{Owner: "alice", Type: packages.TypeContainer, Name: "site"}, packages.OpRead, packages.ViaRegistry)
	if err != nil {
		t.Fatal(err)
	}
	if pi.Repository == nil || pi.Repository.Name != "website" {
		t.Fatalf("repository %+v", pi.Repository)
	}

	// The label of the image configuration works too.
	im2 := &image{config: []byte(`{"config":{"Labels":{"org.opencontainers.image.source":"` + r.url + `/alice/website.git"}}}`), layer: []byte("l")}
	im2.configD, im2.layerD = digestOf(im2.config), digestOf(im2.layer)
	im2.manifest, _ = json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": oci.MediaTypeOCIManifest,
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": im2.configD, "size": len(im2.config)},
		"layers": []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": im2.layerD, "size": 1}},
	})
	r.expect(r.push("alice/labelled", r.alice, im2, "v1"), http.StatusCreated, "")
	pi, _ = env.Service.GetPackage(context.Background(), env.Actor(r.alice), packages.PackageRef{Owner: "alice", Type: packages.TypeContainer, Name: "labelled"}, packages.OpRead, packages.ViaRegistry)
	if pi.Repository == nil || pi.Repository.Name != "website" {
		t.Fatalf("repository from label %+v", pi.Repository)
	}
}

func TestDockerType(t *testing.T) {
	env := testenv.New(t, "sqlite")
	r := newReg(t, env, packages.TypeDocker, nil)
	env.Repo("alice/app", packages.Private)
	env.Repo("alice/other", packages.Private)
	name := "alice/app/server"
	im := makeImage("d", nil)
	tok := r.bearer(r.alice, "repository:"+name+":pull,push")
	r.expect(r.push(name, tok, im, "1.0"), http.StatusCreated, "")
	r.expect(r.req("GET", "/v2/"+name+"/manifests/1.0", r.alice, nil), http.StatusOK, "")
	pi, err := env.Service.GetPackage(context.Background(), env.Actor(r.alice), packages.PackageRef{Owner: "alice", Type: packages.TypeDocker, Name: "server"}, packages.OpRead, packages.ViaRegistry)
	if err != nil || pi.Repository == nil || pi.Repository.Name != "app" {
		t.Fatalf("docker package %v %+v", err, pi)
	}
	// The same image name under another repository is not this package.
	r.expect(r.req("GET", "/v2/alice/other/server/manifests/1.0", r.alice, nil), http.StatusNotFound, "NAME_UNKNOWN")
	r.expect(r.req("POST", "/v2/alice/other/server/blobs/uploads/", r.alice, nil), http.StatusForbidden, "DENIED")
	// Names need three parts; the repository must exist.
	r.expect(r.req("GET", "/v2/alice/server/tags/list", r.alice, nil), http.StatusBadRequest, "NAME_INVALID")
	r.expect(r.req("POST", "/v2/alice/nope/server/blobs/uploads/", r.alice, nil), http.StatusForbidden, "DENIED")
	r.expect(r.req("POST", "/v2/alice/nope/client/blobs/uploads/", r.alice, nil), http.StatusNotFound, "NAME_UNKNOWN")
	// A collaborator with read can pull, not push.
	if err := env.Service.AddCollaborator(context.Background(), "alice/app", "bob", packages.RoleRead); err != nil {
		t.Fatal(err)
	}
	r.expect(r.req("GET", "/v2/"+name+"/manifests/1.0", r.bob, nil), http.StatusOK, "")
	r.expect(r.req("POST", "/v2/"+name+"/blobs/uploads/", r.bob, nil), http.StatusForbidden, "DENIED")
	if acc := claims(t, r.bearer(r.bob, "repository:"+name+":pull,push"))["access"].([]any); len(acc) != 1 || fmt.Sprint(acc[0].(map[string]any)["actions"]) != "[pull]" {
		t.Errorf("bob got %v", acc)
	}
	var c struct {
		Repositories []string `json:"repositories"`
	}
	r.req("GET", "/v2/_catalog", r.bob, nil).json(t, &c)
	if strings.Join(c.Repositories, ",") != name {
		t.Errorf("catalog %v", c.Repositories)
	}
}

// TestBadInputNeverFails sends malformed requests and expects spec errors,
// never a 5xx (req fails the test on any 5xx).
func TestBadInputNeverFails(t *testing.T) {
	r := newContainerReg(t, nil)
	r.push("alice/x", r.alice, makeImage("x", nil), "v1")
	paths := []string{
		"/v2/alice/x/blobs/uploads/%2e%2e", "/v2/alice/x/blobs/uploads/../../etc", "/v2/alice/x/manifests/" + strings.Repeat("a", 300),
		"/v2/alice/x/blobs/sha256:" + strings.Repeat("g", 64), "/v2/alice/x/referrers/sha512:abc", "/v2//manifests/v1",
		"/v2/alice/x/manifests/", "/v2/alice/x/blobs/", "/v2/_catalog?n=abc", "/v2/alice/x/tags/list?n=99999999999999999999",
		"/v2/" + strings.Repeat("a/", 200) + "x/tags/list", "/token?scope=garbage", "/token?scope=repository:::::",
	}
	for _, p := range paths {
		for _, m := range []string{"GET", "HEAD", "PUT", "PATCH", "POST", "DELETE"} {
			res := r.req(m, p, r.alice, bytes.NewReader([]byte("{")), "Content-Range", "5-1")
			if res.StatusCode < 400 && !strings.HasPrefix(p, "/token") && !strings.HasPrefix(p, "/v2/_catalog") {
				t.Errorf("%s %s: %d", m, p, res.StatusCode)
			}
		}
	}
}
