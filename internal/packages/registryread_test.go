package packages_test

import (
	"testing"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

// The one-statement registry reads answer as the general ones do.
func TestRegistryReads(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		env.User("alice")
		env.User("bob")
		env.Org("acme", "alice")
		env.User("carol")
		env.Member("acme", "carol", packages.OrgMember)
		alice := env.Token("alice", allScopes)
		r := ref("acme", packages.TypeContainer, "img")
		vs := env.Publish(alice, r, "", "sha256:1", "sha256:2")
		must(t, env.Service.SetTag(ctx, env.Actor(alice), r, "latest", "sha256:2"))

		for _, who := range []struct {
			name  string
			actor *packages.Actor
		}{
			{"admin", env.Actor(alice)},
			{"outsider", env.Actor(env.Token("bob", allScopes))},
			{"member", env.Actor(env.Token("carol", allScopes))},
			{"anonymous", nil},
		} {
			_, want, wantErr := env.Service.ResolveTag(ctx, who.actor, r, "latest")
			pi, v, f, err := env.Service.RegistryManifest(ctx, who.actor, r, "latest", false, "file")
			if packages.KindOf(err) != packages.KindOf(wantErr) || packages.PublicMessage(err, "") != packages.PublicMessage(wantErr, "") {
				t.Fatalf("%s: by tag: %v, want %v", who.name, err, wantErr)
			}
			if err == nil && (v.ID != want.ID || v.Name != "sha256:2" || f.Name != "file" || f.Digest == "" || pi.ID != vs[0].PackageID) {
				t.Fatalf("%s: by tag: %+v %+v", who.name, v, f)
			}
			_, _, wantErr = env.Service.GetVersionByName(ctx, who.actor, r, "sha256:1", packages.ViaRegistry)
			_, v, _, err = env.Service.RegistryManifest(ctx, who.actor, r, "sha256:1", true, "file")
			if packages.KindOf(err) != packages.KindOf(wantErr) {
				t.Fatalf("%s: by name: %v, want %v", who.name, err, wantErr)
			}
			if err == nil && v.ID != vs[0].ID {
				t.Fatalf("%s: by name: version %d", who.name, v.ID)
			}
			_, wantErr = env.Service.GetPackage(ctx, who.actor, r, packages.OpRead, packages.ViaRegistry)
			_, linked, err := env.Service.RegistryBlob(ctx, who.actor, r, "", "sha256:0")
			if packages.KindOf(err) != packages.KindOf(wantErr) || linked {
				t.Fatalf("%s: blob: %v %v, want %v", who.name, linked, err, wantErr)
			}
		}

		a := env.Actor(alice)
		for _, tc := range []struct {
			ref, msg string
			digest   bool
		}{
			{"nope", "Tag not found.", false},
			{"sha256:9", "Version not found.", true},
		} {
			_, _, _, err := env.Service.RegistryManifest(ctx, a, r, tc.ref, tc.digest, "file")
			wantMessage(t, err, packages.KindNotFound, tc.msg)
		}
		_, _, _, err := env.Service.RegistryManifest(ctx, a, r, "latest", false, "other")
		wantMessage(t, err, packages.KindNotFound, "File not found.")
		_, _, _, err = env.Service.RegistryManifest(ctx, a, ref("acme", packages.TypeContainer, "missing"), "latest", false, "file")
		wantMessage(t, err, packages.KindNotFound, packages.MsgPackageNotFound)

		// A deleted version is gone at once.
		mustDeleteByName(t, env, ctx, a, r, "sha256:2")
		_, _, _, err = env.Service.RegistryManifest(ctx, a, r, "latest", false, "file")
		wantKind(t, err, packages.KindNotFound)

		// Batched download counts.
		env.Service.CountDownload(vs[0].PackageID, vs[0].ID)
		env.Service.CountDownload(vs[0].PackageID, vs[0].ID)
		env.Service.CountDownload(vs[0].PackageID, 0)
		must(t, env.Service.FlushDownloads(ctx))
		_, v, err := env.Service.GetVersion(ctx, a, r, vs[0].ID, packages.ViaREST)
		must(t, err)
		pi, err := env.Service.GetPackage(ctx, a, r, packages.OpRead, packages.ViaREST)
		must(t, err)
		if v.DownloadCount != 2 || pi.DownloadCount != 3 {
			t.Errorf("downloads: version %d, package %d; want 2, 3", v.DownloadCount, pi.DownloadCount)
		}
	})
}
