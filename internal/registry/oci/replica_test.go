package oci_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/registry/oci"
	"github.com/packhub/packhub/internal/testenv"
)

// replicaOf is a second replica of r's installation: a registry with a
// manifest cache of its own over its own service on r's database and blob
// directory, signing with the same key, with r's accounts.
func replicaOf(t *testing.T, r *reg) *reg {
	t.Helper()
	env := r.env.Replica()
	b := &reg{t: t, env: env, alice: r.alice, bob: r.bob, carol: r.carol}
	b.srv = httptest.NewUnstartedServer(nil)
	b.url = "http://" + b.srv.Listener.Addr().String()
	// Replicas behind one load balancer share the external URL, which
	// tokens name as their service.
	b.srv.Config.Handler = oci.New(env.Service, oci.Options{Type: packages.TypeContainer, BaseURL: r.url, TokenKey: testKey, TokenTTL: time.Minute})
	b.srv.Start()
	t.Cleanup(b.srv.Close)
	return b
}

// TestReplicaManifests checks that what one replica serves (manifests by
// tag and digest, from its cache or not, tags, blobs) follows each change
// another replica makes, on the very next read; that a bearer token one
// replica issued works on the other; and that an upload session started on
// one replica continues and completes on the other.
func TestReplicaManifests(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		a := newReg(t, env, packages.TypeContainer, nil)
		b := replicaOf(t, a)
		name := "alice/replicated"
		manifest := func(ref string) *resp {
			t.Helper()
			return b.req("GET", "/v2/"+name+"/manifests/"+ref, b.alice, nil)
		}
		tags := func() string {
			t.Helper()
			res := b.req("GET", "/v2/"+name+"/tags/list", b.alice, nil)
			b.expect(res, http.StatusOK, "")
			return string(res.body)
		}

		im1, im2 := makeImage("one", nil), makeImage("two", nil)
		a.expect(a.push(name, a.alice, im1, "latest"), http.StatusCreated, "")
		for range 2 { // the second read is served from b's cache
			res := manifest("latest")
			b.expect(res, http.StatusOK, "")
			if !bytes.Equal(res.body, im1.manifest) {
				t.Fatal("b serves another manifest for latest")
			}
		}
		// The tag moves on a: b serves the new manifest at once.
		a.expect(a.push(name, a.alice, im2, "latest"), http.StatusCreated, "")
		res := manifest("latest")
		b.expect(res, http.StatusOK, "")
		if !bytes.Equal(res.body, im2.manifest) || res.Header.Get("Docker-Content-Digest") != im2.digest {
			t.Fatalf("after the tag moved on a, b serves %s", res.Header.Get("Docker-Content-Digest"))
		}
		a.expect(a.putManifest(name, a.alice, "stable", oci.MediaTypeOCIManifest, im1.manifest), http.StatusCreated, "")
		if got := tags(); !strings.Contains(got, `"latest"`) || !strings.Contains(got, `"stable"`) {
			t.Fatalf("tags after a tag on a: %s", got)
		}
		// A manifest deleted on a is gone from b, cached or not.
		b.expect(manifest(im1.digest), http.StatusOK, "")
		a.expect(a.req("DELETE", "/v2/"+name+"/manifests/"+im1.digest, a.alice, nil), http.StatusAccepted, "")
		b.expect(manifest(im1.digest), http.StatusNotFound, "MANIFEST_UNKNOWN")
		b.expect(manifest("stable"), http.StatusNotFound, "MANIFEST_UNKNOWN")
		if got := tags(); strings.Contains(got, `"stable"`) {
			t.Fatalf("tags after the delete on a: %s", got)
		}

		// A bearer token issued by a works on b, and is refused there once
		// its personal access token is revoked on a.
		pat, token, err := a.env.Service.CreateToken(context.Background(), "alice", []string{"read:packages"}, "laptop", 0)
		if err != nil {
			t.Fatal(err)
		}
		bearer := a.bearer(pat, "repository:"+name+":pull")
		b.expect(b.req("GET", "/v2/"+name+"/manifests/latest", bearer, nil), http.StatusOK, "")
		if _, _, err := a.env.Service.RevokeToken(context.Background(), token.ID); err != nil {
			t.Fatal(err)
		}
		b.expect(b.req("GET", "/v2/"+name+"/manifests/latest", bearer, nil), http.StatusUnauthorized, "UNAUTHORIZED")

		// An upload started on a, continued on b, finished on a.
		data := bytes.Repeat([]byte("0123456789"), 300)
		res = a.req("POST", "/v2/"+name+"/blobs/uploads/", a.alice, nil)
		a.expect(res, http.StatusAccepted, "")
		loc := res.Header.Get("Location")
		a.expect(a.req("PATCH", loc, a.alice, bytes.NewReader(data[:1000]), "Content-Range", "0-999"), http.StatusAccepted, "")
		res = b.req("PATCH", loc, b.alice, bytes.NewReader(data[1000:2000]), "Content-Range", "1000-1999")
		b.expect(res, http.StatusAccepted, "")
		if res.Header.Get("Range") != "0-1999" {
			t.Fatalf("range on b: %q", res.Header.Get("Range"))
		}
		res = a.req("GET", loc, a.alice, nil)
		a.expect(res, http.StatusNoContent, "")
		if res.Header.Get("Range") != "0-1999" {
			t.Fatalf("range on a after b's chunk: %q", res.Header.Get("Range"))
		}
		// A chunk out of order on either is refused.
		b.expect(b.req("PATCH", loc, b.alice, bytes.NewReader(data[1000:2000]), "Content-Range", "1000-1999"), http.StatusRequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID")
		d := digestOf(data)
		a.expect(a.req("PUT", loc+"?digest="+d, a.alice, bytes.NewReader(data[2000:]), "Content-Range", "2000-2999"), http.StatusCreated, "")
		res = b.req("GET", "/v2/"+name+"/blobs/"+d, b.alice, nil)
		b.expect(res, http.StatusOK, "")
		if !bytes.Equal(res.body, data) {
			t.Fatal("the blob uploaded across replicas differs")
		}
		b.expect(b.req("GET", loc, b.alice, nil), http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
	})
}
