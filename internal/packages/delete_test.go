package packages_test

import (
	"testing"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

func TestDeleteLastVersion(t *testing.T) {
	t.Parallel()
	type version struct {
		name string
		tags []string
	}
	type step struct {
		del     int // index of the version to delete
		want    packages.Kind
		wantMsg string
	}
	cases := []struct {
		name     string
		typ      packages.Type
		repo     string
		versions []version
		steps    []step
	}{
		{"npm single version", packages.TypeNpm, "", []version{{name: "1.0.0"}},
			[]step{{0, packages.KindInvalid, packages.MsgLastVersion}}},
		{"npm two versions", packages.TypeNpm, "", []version{{name: "1.0.0"}, {name: "2.0.0", tags: []string{"latest"}}},
			[]step{{1, ok, ""}, {0, packages.KindInvalid, packages.MsgLastVersion}}},
		{"maven single version", packages.TypeMaven, "alice/lib", []version{{name: "1.0"}},
			[]step{{0, packages.KindInvalid, packages.MsgLastVersion}}},
		{"nuget single version", packages.TypeNuGet, "", []version{{name: "1.0.0"}},
			[]step{{0, packages.KindInvalid, packages.MsgLastVersion}}},
		{"container single tagged version", packages.TypeContainer, "", []version{{fakeDigest("a"), []string{"latest"}}},
			[]step{{0, packages.KindInvalid, packages.MsgLastTaggedVersion}}},
		{"container tagged and untagged", packages.TypeContainer, "", []version{{fakeDigest("a"), []string{"latest"}}, {name: fakeDigest("b")}},
			[]step{{0, packages.KindInvalid, packages.MsgLastTaggedVersion}, {1, ok, ""}, {0, packages.KindInvalid, packages.MsgLastTaggedVersion}}},
		{"container two tagged", packages.TypeContainer, "", []version{{fakeDigest("a"), []string{"v1"}}, {fakeDigest("b"), []string{"v2", "latest"}}},
			[]step{{1, ok, ""}, {0, packages.KindInvalid, packages.MsgLastTaggedVersion}}},
		{"docker single tagged version", packages.TypeDocker, "alice/lib", []version{{fakeDigest("a"), []string{"latest"}}},
			[]step{{0, packages.KindInvalid, packages.MsgLastTaggedVersion}}},
	}
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		env.User("alice")
		env.Repo("alice/lib", packages.Private)
		tok := env.Token("alice", allScopes)
		a := env.Actor(tok)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := ref("alice", c.typ, "last")
				var ids []int64
				for _, v := range c.versions {
					p := publishReq(t, env, a, packages.PublishRequest{Package: r, Version: v.name, Tags: v.tags, Repository: c.repo})
					ids = append(ids, p.Version.ID)
				}
				for i, s := range c.steps {
					err := env.Service.DeleteVersion(ctx, a, r, ids[s.del], packages.ViaREST)
					if s.want == ok {
						if err != nil {
							t.Fatalf("step %d: delete version %d: %v", i, s.del, err)
						}
						continue
					}
					wantMessage(t, err, s.want, s.wantMsg)
				}
				// The last-version rules never block deleting the package.
				must(t, env.Service.DeletePackage(ctx, a, r, packages.ViaREST))
				_, err := env.Service.GetPackage(ctx, a, r, packages.OpRead, packages.ViaREST)
				wantKind(t, err, packages.KindNotFound)
			})
		}
	})
}

func TestDeleteDownloadLimit(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		env.User("alice")
		env.Repo("alice/site", packages.Public)
		tok := env.Token("alice", allScopes)
		a := env.Actor(tok)

		t.Run("public", func(t *testing.T) {
			r := ref("alice", packages.TypeNpm, "popular")
			vs := env.Publish(tok, r, "alice/site", "1.0.0", "2.0.0", "3.0.0")
			pi, err := env.Service.GetPackage(ctx, a, r, packages.OpRead, packages.ViaREST)
			must(t, err)
			if pi.Visibility != packages.Public {
				t.Fatalf("package linked to a public repository is %s", pi.Visibility)
			}
			// Exactly 5000 is not more than 5000.
			bumpDownloads(t, env, vs[0].PackageID, vs[0].ID, 5000)
			must(t, env.Service.DeleteVersion(ctx, a, r, vs[0].ID, packages.ViaREST))
			must(t, env.Service.RestoreVersion(ctx, a, r, vs[0].ID, packages.ViaREST))
			bumpDownloads(t, env, vs[0].PackageID, vs[0].ID, 1)

			wantMessage(t, env.Service.DeleteVersion(ctx, a, r, vs[0].ID, packages.ViaREST), packages.KindInvalid, packages.MsgTooManyDownloads)
			wantMessage(t, deleteByName(env, ctx, a, r, "1.0.0"), packages.KindInvalid, packages.MsgTooManyDownloads)
			wantMessage(t, env.Service.DeletePackage(ctx, a, r, packages.ViaREST), packages.KindInvalid, packages.MsgTooManyDownloads)
			// Other versions of the package are not held back.
			must(t, env.Service.DeleteVersion(ctx, a, r, vs[1].ID, packages.ViaREST))
			mustDeleteByName(t, env, ctx, a, r, "3.0.0")
			if _, _, err := env.Service.GetVersionByName(ctx, a, r, "1.0.0", packages.ViaREST); err != nil {
				t.Fatalf("popular version gone: %v", err)
			}
		})

		t.Run("the limit is per version", func(t *testing.T) {
			// A service with a small limit over the same stores: 12
			// downloads in all, but no one version over 10.
			svc := packages.NewService(env.Store, env.Blobs, packages.Options{Specs: packages.BuiltinSpecs(), DownloadLimit: 10, Now: env.Clock.Now})
			r := ref("alice", packages.TypeNpm, "spread")
			vs := env.Publish(tok, r, "alice/site", "1.0.0", "2.0.0")
			bumpDownloads(t, env, vs[0].PackageID, vs[0].ID, 6)
			bumpDownloads(t, env, vs[0].PackageID, vs[1].ID, 6)
			must(t, svc.DeletePackage(ctx, a, r, packages.ViaREST))

			r = ref("alice", packages.TypeNpm, "peak")
			vs = env.Publish(tok, r, "alice/site", "1.0.0", "2.0.0")
			bumpDownloads(t, env, vs[0].PackageID, vs[1].ID, 11)
			wantMessage(t, svc.DeletePackage(ctx, a, r, packages.ViaREST), packages.KindInvalid, packages.MsgTooManyDownloads)
			wantMessage(t, svc.DeleteVersion(ctx, a, r, vs[1].ID, packages.ViaREST), packages.KindInvalid, packages.MsgTooManyDownloads)
			must(t, svc.DeleteVersion(ctx, a, r, vs[0].ID, packages.ViaREST))
		})

		t.Run("private", func(t *testing.T) {
			r := ref("alice", packages.TypeNpm, "private-popular")
			vs := env.Publish(tok, r, "", "1.0.0", "2.0.0")
			bumpDownloads(t, env, vs[0].PackageID, vs[0].ID, 5001)
			bumpDownloads(t, env, vs[1].PackageID, vs[1].ID, 1)
			pi, err := env.Service.GetPackage(ctx, a, r, packages.OpRead, packages.ViaREST)
			must(t, err)
			if pi.Visibility != packages.Private || pi.DownloadCount != 5002 {
				t.Fatalf("package is %s with %d downloads, want private with 5002", pi.Visibility, pi.DownloadCount)
			}
			must(t, env.Service.DeleteVersion(ctx, a, r, vs[0].ID, packages.ViaREST))
			must(t, env.Service.RestoreVersion(ctx, a, r, vs[0].ID, packages.ViaREST))
			must(t, env.Service.DeletePackage(ctx, a, r, packages.ViaREST))
		})
	})
}
