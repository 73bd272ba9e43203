package oci_test

import (
	"bytes"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

func sortedDigests(ds ...string) []string {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds
}

// challengeScope returns the scope a 401's challenge asks for.
func challengeScope(t *testing.T, res *resp) string {
	t.Helper()
	m := regexp.MustCompile(`scope="([^"]*)"`).FindStringSubmatch(res.Header.Get("WWW-Authenticate"))
	if res.StatusCode != http.StatusUnauthorized || m == nil {
		t.Fatalf("%s %s: %d %q, want a challenge with a scope", res.Request.Method, res.Request.URL, res.StatusCode, res.Header.Get("WWW-Authenticate"))
	}
	return m[1]
}

// TestMountChallengeNamesSource: an anonymous mount is challenged with the
// source's pull scope too, so that a client that asks for exactly the
// challenged scopes mounts (201), as the conformance suite's client does.
func TestMountChallengeNamesSource(t *testing.T) {
	r := newContainerReg(t, nil)
	im := makeImage("mount", nil)
	r.expect(r.push("alice/src", r.alice, im, "v1"), http.StatusCreated, "")
	path := "/v2/alice/dst/blobs/uploads/?mount=" + im.layerD + "&from=alice/src"

	sc := challengeScope(t, r.req("POST", path, "", nil))
	if want := "repository:alice/dst:pull,push repository:alice/src:pull"; sc != want {
		t.Fatalf("challenge scope %q, want %q", sc, want)
	}
	tok := r.bearer(r.alice, url.QueryEscape(sc))
	res := r.req("POST", path, tok, nil)
	r.expect(res, http.StatusCreated, "")
	if res.Header.Get("Location") != "/v2/alice/dst/blobs/"+im.layerD || res.Header.Get("Docker-Content-Digest") != im.layerD {
		t.Fatalf("mount headers %v", res.Header)
	}
	r.expect(r.req("GET", "/v2/alice/dst/blobs/"+im.layerD, r.bearer(r.alice, "repository:alice/dst:pull"), nil), http.StatusOK, "")

	// A token without the source's scope does not mount: a plain upload.
	res = r.req("POST", "/v2/alice/other/blobs/uploads/?mount="+im.layerD+"&from=alice/src", r.bearer(r.alice, "repository:alice/other:pull,push"), nil)
	r.expect(res, http.StatusAccepted, "")
	// Nor does a token for a source its user cannot read.
	res = r.req("POST", "/v2/bob/dst/blobs/uploads/?mount="+im.layerD+"&from=alice/src", "", nil)
	tok = r.bearer(r.bob, url.QueryEscape(challengeScope(t, res)))
	r.expect(r.req("POST", "/v2/bob/dst/blobs/uploads/?mount="+im.layerD+"&from=alice/src", tok, nil), http.StatusAccepted, "")
}

// TestBlobsBeforeFirstManifest: pushing blobs (whole, in chunks, failing,
// or by mount) creates no package; the first manifest does, and the blobs
// pushed before it are still there and linked to it. Until then they are
// their pusher's alone, garbage collection keeps them within the grace
// period, and drops them once nobody came back for them.
func TestBlobsBeforeFirstManifest(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		r := newReg(t, env, packages.TypeContainer, nil)
		ctx := t.Context()
		env.Org("acme", "alice")
		env.Member("acme", "bob", packages.OrgMember)
		alice := env.Actor(r.alice)
		listed := func() []string {
			t.Helper()
			var names []string
			for _, owner := range []string{"alice", "acme"} {
				scope := packages.UserPath
				if owner == "acme" {
					scope = packages.OrgPath
				}
				pkgs, _, err := env.Service.ListPackages(ctx, alice, packages.ListPackagesRequest{Owner: owner, Scope: scope, Type: packages.TypeContainer})
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range pkgs {
					if p.VersionCount == 0 {
						t.Errorf("package %s/%s listed with no version", owner, p.Name)
					}
					names = append(names, owner+"/"+p.Name)
				}
			}
			return names
		}

		src := makeImage("src", nil)
		r.expect(r.push("alice/src", r.alice, src, "v1"), http.StatusCreated, "")
		im := makeImage("app", nil)
		r.pushBlob("alice/app", r.alice, im.config)
		// The layer in two chunks.
		res := r.req("POST", "/v2/alice/app/blobs/uploads/", r.alice, nil)
		r.expect(res, http.StatusAccepted, "")
		loc := res.Header.Get("Location")
		r.expect(r.req("PATCH", loc, r.alice, bytes.NewReader(im.layer[:3]), "Content-Range", "0-2"), http.StatusAccepted, "")
		r.expect(r.req("PUT", loc+"?digest="+im.layerD, r.alice, bytes.NewReader(im.layer[3:])), http.StatusCreated, "")
		// A failed upload, a cancelled one, and a mount.
		r.expect(r.req("POST", "/v2/alice/failed/blobs/uploads/?digest="+digestOf([]byte("x")), r.alice, bytes.NewReader([]byte("y"))), http.StatusBadRequest, "DIGEST_INVALID")
		res = r.req("POST", "/v2/alice/cancelled/blobs/uploads/", r.alice, nil)
		r.expect(r.req("DELETE", res.Header.Get("Location"), r.alice, nil), http.StatusNoContent, "")
		r.expect(r.req("POST", "/v2/alice/mounted/blobs/uploads/?mount="+src.layerD+"&from=alice/src", r.alice, nil), http.StatusCreated, "")
		lost := []byte("pushed, never published")
		r.expect(r.req("POST", "/v2/acme/lost/blobs/uploads/?digest="+digestOf(lost), r.alice, bytes.NewReader(lost)), http.StatusCreated, "")
		if got := listed(); len(got) != 1 || got[0] != "alice/src" {
			t.Fatalf("packages after blob pushes: %v", got)
		}

		// The pusher reads them; nobody else does, not even a member who
		// could create the package.
		for _, d := range []string{im.configD, im.layerD} {
			r.expect(r.req("HEAD", "/v2/alice/app/blobs/"+d, r.alice, nil), http.StatusOK, "")
			r.expect(r.req("GET", "/v2/alice/app/blobs/"+d, r.bearer(r.alice, "repository:alice/app:pull"), nil), http.StatusOK, "")
			r.expect(r.req("GET", "/v2/alice/app/blobs/"+d, r.bob, nil), http.StatusNotFound, "NAME_UNKNOWN")
			r.expect(r.req("GET", "/v2/alice/app/blobs/"+d, "", nil), http.StatusUnauthorized, "UNAUTHORIZED")
		}
		r.expect(r.req("GET", "/v2/alice/app/blobs/"+src.configD, r.alice, nil), http.StatusNotFound, "BLOB_UNKNOWN")
		r.expect(r.req("GET", "/v2/alice/mounted/blobs/"+src.layerD, r.alice, nil), http.StatusOK, "")
		r.expect(r.req("GET", "/v2/acme/lost/blobs/"+digestOf(lost), r.bob, nil), http.StatusNotFound, "NAME_UNKNOWN")
		r.expect(r.req("POST", "/v2/bob/x/blobs/uploads/?mount="+digestOf(lost)+"&from=acme/lost", r.bob, nil), http.StatusAccepted, "")
		lostImage := makeImage("lost", map[string]any{"layers": []any{map[string]any{
			"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digestOf(lost), "size": len(lost)}}})
		r.pushBlob("acme/lost", r.bob, lostImage.config)
		r.expect(r.putManifest("acme/lost", r.bob, "v1", "application/vnd.oci.image.manifest.v1+json", lostImage.manifest), http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN")
		for _, path := range []string{"/v2/alice/app/manifests/v1", "/v2/alice/app/tags/list"} {
			r.expect(r.req("GET", path, r.alice, nil), http.StatusNotFound, "NAME_UNKNOWN")
		}

		// Within the grace period, and as long as an upload may wait, the
		// collector keeps them.
		env.Clock.Advance(2 * time.Hour)
		rep, err := env.Service.Purge(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Blobs) != 0 || rep.Pending != 0 {
			t.Fatalf("purge within the upload max age freed %v, expired %d", rep.Blobs, rep.Pending)
		}

		// The first manifest makes the package, with the blobs pushed
		// before it.
		r.expect(r.putManifest("alice/app", r.alice, "v1", "application/vnd.oci.image.manifest.v1+json", im.manifest), http.StatusCreated, "")
		if got := listed(); strings.Join(got, " ") != "alice/src alice/app" {
			t.Fatalf("packages after the manifest: %v", got)
		}
		for _, d := range []string{im.configD, im.layerD} {
			res := r.req("GET", "/v2/alice/app/blobs/"+d, r.alice, nil)
			r.expect(res, http.StatusOK, "")
		}
		res = r.req("GET", "/v2/alice/app/blobs/"+im.layerD, r.alice, nil)
		if !bytes.Equal(res.body, im.layer) {
			t.Fatalf("layer reads %q", res.body)
		}
		ref := packages.PackageRef{Owner: "alice", Type: packages.TypeContainer, Name: "app"}
		if err := env.Service.SetPackageVisibility(ctx, alice, ref, packages.Public); err != nil {
			t.Fatal(err)
		}
		r.expect(r.req("GET", "/v2/alice/app/blobs/"+im.layerD, "", nil), http.StatusOK, "")

		// Nobody came back for the rest (alice's mount and lost blob,
		// bob's config): once the upload max age is over, the pending
		// blobs go, and so do the bytes only they held.
		env.Clock.Advance(23 * time.Hour)
		wantFreed := strings.Join(sortedDigests(digestOf(lost), lostImage.configD), " ")
		for _, dry := range []bool{true, false} {
			rep, err = env.Service.Purge(ctx, dry)
			if err != nil {
				t.Fatal(err)
			}
			var freed []string
			for _, b := range rep.Blobs {
				freed = append(freed, b.Digest)
			}
			if got := strings.Join(sortedDigests(freed...), " "); rep.Pending != 3 || got != wantFreed {
				t.Fatalf("purge (dry run %v): expired %d, freed %s; want 3, %s", dry, rep.Pending, got, wantFreed)
			}
		}
		if _, err := env.Blobs.Stat(ctx, digestOf(lost)); !packages.IsNotFound(err) {
			t.Fatalf("lost blob still stored: %v", err)
		}
		r.expect(r.req("GET", "/v2/acme/lost/blobs/"+digestOf(lost), r.alice, nil), http.StatusNotFound, "NAME_UNKNOWN")
		r.expect(r.req("GET", "/v2/alice/mounted/blobs/"+src.layerD, r.alice, nil), http.StatusNotFound, "NAME_UNKNOWN")
		// What packages refer to stays.
		for _, path := range []string{"/v2/alice/app/blobs/" + im.layerD, "/v2/alice/src/blobs/" + src.layerD} {
			r.expect(r.req("GET", path, r.alice, nil), http.StatusOK, "")
		}
		if got := listed(); strings.Join(got, " ") != "alice/src alice/app" {
			t.Fatalf("packages at the end: %v", got)
		}
	})
}
