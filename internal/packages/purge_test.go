package packages_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

func packageIDs(ps []packages.Package) []int64 {
	var out []int64
	for _, p := range ps {
		out = append(out, p.ID)
	}
	slices.Sort(out)
	return out
}

func versionIDs(vs []packages.Version) []int64 {
	var out []int64
	for _, v := range vs {
		out = append(out, v.ID)
	}
	slices.Sort(out)
	return out
}

func blobDigests(bs []packages.Blob) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.Digest)
	}
	slices.Sort(out)
	return out
}

func sorted[T int64 | string](xs ...T) []T {
	slices.Sort(xs)
	return xs
}

func TestPurge(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		env.User("alice")
		a := env.Actor(env.Token("alice", allScopes))
		publish := func(name, version, content string) *packages.Published {
			t.Helper()
			return publishReq(t, env, a, packages.PublishRequest{Package: ref("alice", packages.TypeNpm, name), Version: version,
				Files: []packages.File{putBlob(t, env, "file", content)}})
		}
		// gone: a package deleted now. kept: a version deleted now.
		// recent: a package deleted 20 days from now.
		gone := publish("gone", "1.0.0", "gone 1")
		gone2 := publish("gone", "2.0.0", "gone 2")
		kept1 := publish("kept", "1.0.0", "kept 1")
		kept2 := publish("kept", "2.0.0", "kept 2")
		recent := publish("recent", "1.0.0", "recent 1")
		must(t, env.Service.DeleteVersion(ctx, a, ref("alice", packages.TypeNpm, "gone"), gone2.Version.ID, packages.ViaREST))
		must(t, env.Service.DeletePackage(ctx, a, ref("alice", packages.TypeNpm, "gone"), packages.ViaREST))
		must(t, env.Service.DeleteVersion(ctx, a, ref("alice", packages.TypeNpm, "kept"), kept2.Version.ID, packages.ViaREST))
		env.Clock.Advance(20 * day)
		must(t, env.Service.DeletePackage(ctx, a, ref("alice", packages.TypeNpm, "recent"), packages.ViaREST))

		digest := func(p *packages.Published) string {
			t.Helper()
			fs, err := env.Service.Files(ctx, p.Version.ID)
			must(t, err)
			if len(fs) != 1 {
				t.Fatalf("files %+v", fs)
			}
			return fs[0].Digest
		}
		goneBlobs := []string{digest(gone), digest(gone2), digest(kept2)}
		liveBlobs := []string{digest(kept1), digest(recent)}

		t.Run("inside the window nothing goes", func(t *testing.T) {
			rep, err := env.Service.Purge(ctx, false)
			must(t, err)
			if len(rep.Packages)+len(rep.Versions)+len(rep.Blobs)+rep.Adopted != 0 {
				t.Fatalf("purged %+v", rep)
			}
		})

		env.Clock.Advance(11 * day)

		t.Run("dry run", func(t *testing.T) {
			rep, err := env.Service.Purge(ctx, true)
			must(t, err)
			if !rep.DryRun {
				t.Error("report is not marked dry run")
			}
			if got, want := packageIDs(rep.Packages), []int64{gone.Package.ID}; !slices.Equal(got, want) {
				t.Errorf("would purge packages %v, want %v", got, want)
			}
			if got, want := versionIDs(rep.Versions), []int64{gone2.Version.ID, kept2.Version.ID}; !slices.Equal(got, sorted(want...)) {
				t.Errorf("would purge versions %v, want %v", got, want)
			}
			if rep.Adopted != 0 {
				t.Errorf("adopted %d blobs", rep.Adopted)
			}
			if _, err := env.Store.GetPackageByID(ctx, gone.Package.ID); err != nil {
				t.Errorf("dry run removed package: %v", err)
			}
			if _, err := env.Store.GetVersion(ctx, kept2.Package.ID, kept2.Version.ID); err != nil {
				t.Errorf("dry run removed version: %v", err)
			}
			for _, d := range append(goneBlobs, liveBlobs...) {
				if !blobExists(t, env, d) {
					t.Errorf("dry run removed blob %s", d)
				}
				if _, err := env.Store.GetBlob(ctx, d); err != nil {
					t.Errorf("dry run forgot blob %s: %v", d, err)
				}
			}
			if got := actions(t, env, gone.Package.ID); slices.Contains(got, packages.ActionPurge) {
				t.Errorf("dry run recorded %v", got)
			}
		})

		t.Run("purge", func(t *testing.T) {
			rep, err := env.Service.Purge(ctx, false)
			must(t, err)
			if rep.DryRun {
				t.Error("report is marked dry run")
			}
			if got, want := packageIDs(rep.Packages), []int64{gone.Package.ID}; !slices.Equal(got, want) {
				t.Errorf("purged packages %v, want %v", got, want)
			}
			// The deleted version of the purged package went with it.
			if got, want := versionIDs(rep.Versions), []int64{kept2.Version.ID}; !slices.Equal(got, want) {
				t.Errorf("purged versions %v, want %v", got, want)
			}
			if got, want := blobDigests(rep.Blobs), sorted(goneBlobs...); !slices.Equal(got, want) {
				t.Errorf("freed blobs %v, want %v", got, want)
			}
			_, err = env.Store.GetPackageByID(ctx, gone.Package.ID)
			wantKind(t, err, packages.KindNotFound)
			for _, v := range []*packages.Published{gone, gone2, kept2} {
				_, err = env.Store.GetVersion(ctx, v.Package.ID, v.Version.ID)
				wantKind(t, err, packages.KindNotFound)
			}
			for _, d := range goneBlobs {
				if blobExists(t, env, d) {
					t.Errorf("blob %s not freed", d)
				}
				_, err := env.Store.GetBlob(ctx, d)
				wantKind(t, err, packages.KindNotFound)
			}
			for _, d := range liveBlobs {
				if !blobExists(t, env, d) {
					t.Errorf("live blob %s freed", d)
				}
			}
			if got := readBlob(t, env, digest(kept1)); got != "kept 1" {
				t.Errorf("kept file reads %q", got)
			}
			if got := actions(t, env, gone.Package.ID); got[len(got)-1] != packages.ActionPurge {
				t.Errorf("events %v, want a purge last", got)
			}
			// The recent package is still restorable.
			must(t, env.Service.RestorePackage(ctx, a, ref("alice", packages.TypeNpm, "recent"), packages.ViaREST))
			// The name of the purged package is free.
			publish("gone", "1.0.0", "gone again")
		})

		t.Run("second run", func(t *testing.T) {
			rep, err := env.Service.Purge(ctx, false)
			must(t, err)
			if len(rep.Packages)+len(rep.Versions)+len(rep.Blobs)+rep.Adopted != 0 {
				t.Fatalf("second run purged %+v", rep)
			}
		})
	})
}

func TestPurgeKeepsSharedBlobs(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		env.User("alice")
		env.User("bob")
		alice := env.Actor(env.Token("alice", allScopes))
		bob := env.Actor(env.Token("bob", allScopes))
		const content = "the same bytes everywhere"
		cases := []struct {
			name   string
			delete func(t *testing.T, file packages.File)
		}{
			{"deleted package, file in another owner's package", func(t *testing.T, file packages.File) {
				r := ref("bob", packages.TypeNpm, "copy")
				publishReq(t, env, bob, packages.PublishRequest{Package: r, Version: "1.0.0", Files: []packages.File{file}})
				must(t, env.Service.DeletePackage(ctx, bob, r, packages.ViaREST))
			}},
			{"deleted version of the same package", func(t *testing.T, file packages.File) {
				r := ref("alice", packages.TypeNpm, "keeper")
				p := publishReq(t, env, alice, packages.PublishRequest{Package: r, Version: "0.9.0", Files: []packages.File{file}})
				must(t, env.Service.DeleteVersion(ctx, alice, r, p.Version.ID, packages.ViaREST))
			}},
			{"deleted container that linked it", func(t *testing.T, file packages.File) {
				r := ref("bob", packages.TypeContainer, "img")
				publishReq(t, env, bob, packages.PublishRequest{Package: r, Version: fakeDigest("img"), Blobs: []string{file.Digest},
					Files: []packages.File{putBlob(t, env, "manifest", "bob's manifest")}})
				must(t, env.Service.DeletePackage(ctx, bob, r, packages.ViaREST))
			}},
		}
		file := putBlob(t, env, "file", content)
		keeper := publishReq(t, env, alice, packages.PublishRequest{Package: ref("alice", packages.TypeNpm, "keeper"), Version: "1.0.0",
			Files: []packages.File{file}})
		// A container that only links the blob (an OCI layer) keeps it too.
		layer := putBlob(t, env, "layer", "a layer both images use")
		must(t, env.Service.RegisterBlob(ctx, layer.Digest, layer.Size))
		publishReq(t, env, alice, packages.PublishRequest{Package: ref("alice", packages.TypeContainer, "base"), Version: fakeDigest("base"),
			Blobs: []string{layer.Digest}, Files: []packages.File{putBlob(t, env, "manifest", "alice's manifest")}})
		publishReq(t, env, bob, packages.PublishRequest{Package: ref("bob", packages.TypeContainer, "derived"), Version: fakeDigest("derived"),
			Blobs: []string{layer.Digest}, Files: []packages.File{putBlob(t, env, "manifest", "bob's derived manifest")}})
		must(t, env.Service.DeletePackage(ctx, bob, ref("bob", packages.TypeContainer, "derived"), packages.ViaREST))

		for _, c := range cases {
			c.delete(t, file)
		}
		env.Clock.Advance(31 * day)
		rep, err := env.Service.Purge(ctx, false)
		must(t, err)
		if len(rep.Packages) != 3 || len(rep.Versions) != 1 {
			t.Fatalf("purged %d packages and %d versions, want 3 and 1", len(rep.Packages), len(rep.Versions))
		}
		for _, b := range rep.Blobs {
			if b.Digest == file.Digest || b.Digest == layer.Digest {
				t.Fatalf("freed shared blob %s", b.Digest)
			}
		}
		// The surviving package still reads its file.
		fs, err := env.Service.Files(ctx, keeper.Version.ID)
		must(t, err)
		if len(fs) != 1 || fs[0].Digest != file.Digest {
			t.Fatalf("files %+v", fs)
		}
		if got := readBlob(t, env, fs[0].Digest); got != content {
			t.Fatalf("file reads %q, want %q", got, content)
		}
		if got := readBlob(t, env, layer.Digest); !strings.HasPrefix(got, "a layer") {
			t.Fatalf("layer reads %q", got)
		}
		if pi, linked, err := env.Service.RegistryBlob(ctx, alice, ref("alice", packages.TypeContainer, "base"), "", layer.Digest); err != nil || pi == nil || !linked {
			t.Fatalf("layer linked %v, %v", linked, err)
		}
		// Later runs keep them too.
		env.Clock.Advance(2 * time.Hour)
		rep, err = env.Service.Purge(ctx, false)
		must(t, err)
		if len(rep.Blobs) != 0 {
			t.Fatalf("second run freed %v", blobDigests(rep.Blobs))
		}
		if !blobExists(t, env, file.Digest) || !blobExists(t, env, layer.Digest) {
			t.Fatal("shared blob freed")
		}
	})
}

func TestPurgeBlobGracePeriod(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		t.Run("orphan file is adopted, then freed", func(t *testing.T) {
			orphan := putBlob(t, env, "", "bytes without a record")
			_, err := env.Store.GetBlob(ctx, orphan.Digest)
			wantKind(t, err, packages.KindNotFound)

			rep, err := env.Service.Purge(ctx, true)
			must(t, err)
			if rep.Adopted != 1 {
				t.Fatalf("dry run adopted %d, want 1", rep.Adopted)
			}
			_, err = env.Store.GetBlob(ctx, orphan.Digest)
			wantKind(t, err, packages.KindNotFound)

			adoptedAt := env.Clock.Now()
			rep, err = env.Service.Purge(ctx, false)
			must(t, err)
			if rep.Adopted != 1 || len(rep.Blobs) != 0 {
				t.Fatalf("first run adopted %d and freed %v; want 1 and none", rep.Adopted, blobDigests(rep.Blobs))
			}
			b, err := env.Store.GetBlob(ctx, orphan.Digest)
			must(t, err)
			if !b.CreatedAt.Equal(adoptedAt) || b.Size != orphan.Size {
				t.Fatalf("adopted %+v, want created at %v with size %d", b, adoptedAt, orphan.Size)
			}

			steps := []struct {
				advance time.Duration
				freed   bool
			}{
				{30 * time.Minute, false},
				{29 * time.Minute, false},
				{2 * time.Minute, true},
			}
			for i, s := range steps {
				env.Clock.Advance(s.advance)
				rep, err := env.Service.Purge(ctx, false)
				must(t, err)
				if rep.Adopted != 0 {
					t.Fatalf("step %d: adopted %d again", i, rep.Adopted)
				}
				if got := len(rep.Blobs) == 1 && rep.Blobs[0].Digest == orphan.Digest; got != s.freed {
					t.Fatalf("step %d: freed %v, want the orphan freed: %v", i, blobDigests(rep.Blobs), s.freed)
				}
				if blobExists(t, env, orphan.Digest) == s.freed {
					t.Fatalf("step %d: orphan present %v", i, !s.freed)
				}
			}
		})

		t.Run("registered blob waits for the grace period", func(t *testing.T) {
			b := putBlob(t, env, "", "pushed, manifest to come")
			must(t, env.Service.RegisterBlob(ctx, b.Digest, b.Size))
			rep, err := env.Service.Purge(ctx, false)
			must(t, err)
			if rep.Adopted != 0 || len(rep.Blobs) != 0 || !blobExists(t, env, b.Digest) {
				t.Fatalf("fresh blob: %+v", rep)
			}
			env.Clock.Advance(time.Hour + time.Second)
			rep, err = env.Service.Purge(ctx, false)
			must(t, err)
			if len(rep.Blobs) != 1 || blobExists(t, env, b.Digest) {
				t.Fatalf("unreferenced blob after the grace period: %+v", rep)
			}
		})

		t.Run("blob pushed again restarts its grace period", func(t *testing.T) {
			// A blob recorded long ago and no longer used is pushed again
			// (a layer re-uploaded before its manifest): the purge must
			// not free it under the new push.
			env.User("alice")
			a := env.Actor(env.Token("alice", allScopes))
			r := ref("alice", packages.TypeNpm, "old")
			f := putBlob(t, env, "file", "old bytes pushed again")
			publishReq(t, env, a, packages.PublishRequest{Package: r, Version: "1.0.0", Files: []packages.File{f}})
			must(t, env.Service.DeletePackage(ctx, a, r, packages.ViaREST))
			env.Clock.Advance(31 * day)

			again := putBlob(t, env, "", "old bytes pushed again")
			must(t, env.Service.RegisterBlob(ctx, again.Digest, again.Size))
			rep, err := env.Service.Purge(ctx, false)
			must(t, err)
			if len(rep.Packages) != 1 {
				t.Fatalf("purged %d packages, want 1", len(rep.Packages))
			}
			if !blobExists(t, env, again.Digest) {
				t.Fatal("blob freed while its new push was inside the grace period")
			}
			env.Clock.Advance(time.Hour + time.Second)
			rep, err = env.Service.Purge(ctx, false)
			must(t, err)
			if blobExists(t, env, again.Digest) {
				t.Fatalf("blob not freed after the grace period: %+v", rep)
			}
		})
	})
}
