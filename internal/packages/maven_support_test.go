package packages_test

import (
	"errors"
	"io"
	"testing"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

// OpenRegistryFile answers as OpenFile does: the same bytes, the same
// errors for what the caller may not see or what is missing, the same
// download count.
func TestOpenRegistryFile(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		env.User("alice")
		env.User("mallory")
		env.Repo("alice/libs", packages.Private)
		env.Repo("alice/open", packages.Public)
		tok := env.Token("alice", allScopes)
		priv := ref("alice", packages.TypeMaven, "com.example.lib")
		pub := ref("alice", packages.TypeMaven, "com.example.open")
		vs := env.Publish(tok, priv, "alice/libs", "1.0")
		env.Publish(tok, pub, "alice/open", "1.0")
		stranger := env.Actor(env.Token("mallory", allScopes))

		for _, tc := range []struct {
			name string
			a    *packages.Actor
			req  packages.OpenFileRequest
			want error // nil: opens
			kind packages.Kind
		}{
			{"owner", env.Actor(tok), packages.OpenFileRequest{Package: priv, Version: "1.0", Name: "file", CountDownload: true}, nil, ok},
			{"anonymous, public", nil, packages.OpenFileRequest{Package: pub, Version: "1.0", Name: "file"}, nil, ok},
			{"anonymous, private", nil, packages.OpenFileRequest{Package: priv, Version: "1.0", Name: "file"}, packages.ErrPackageNotFound, packages.KindNotFound},
			{"stranger, private", stranger, packages.OpenFileRequest{Package: priv, Version: "1.0", Name: "file"}, packages.ErrPackageNotFound, packages.KindNotFound},
			{"stranger, public", stranger, packages.OpenFileRequest{Package: pub, Version: "1.0", Name: "file"}, nil, ok},
			{"missing version", env.Actor(tok), packages.OpenFileRequest{Package: priv, Version: "2.0", Name: "file"}, packages.ErrVersionNotFound, packages.KindNotFound},
			{"not a version", env.Actor(tok), packages.OpenFileRequest{Package: priv, Version: "../1", Name: "file"}, packages.ErrVersionNotFound, packages.KindNotFound},
			{"missing file", env.Actor(tok), packages.OpenFileRequest{Package: priv, Version: "1.0", Name: "other"}, packages.ErrFileNotFound, packages.KindNotFound},
			{"missing package", env.Actor(tok), packages.OpenFileRequest{Package: ref("alice", packages.TypeMaven, "com.example.none"), Version: "1.0", Name: "file"}, packages.ErrPackageNotFound, packages.KindNotFound},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c, err := env.Service.OpenRegistryFile(ctx, tc.a, tc.req)
				wantKind(t, err, tc.kind)
				if tc.want != nil && !errors.Is(err, tc.want) {
					t.Fatalf("err %v, want %v", err, tc.want)
				}
				if err != nil {
					return
				}
				defer c.Close()
				b, err := io.ReadAll(c.Reader)
				must(t, err)
				if string(b) != tc.req.Package.String()+"@1.0" || c.File.Name != "file" || c.Package.Repository == nil {
					t.Fatalf("opened %q (%+v, %+v)", b, c.File, c.Package)
				}
			})
		}
		must(t, env.Service.FlushDownloads(ctx))
		_, v, err := env.Service.GetVersion(ctx, env.Actor(tok), priv, vs[0].ID, packages.ViaREST)
		must(t, err)
		if v.DownloadCount != 1 {
			t.Fatalf("download count %d, want 1", v.DownloadCount)
		}
	})
}

func TestRepositoryOfPackage(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		env.User("alice")
		env.Repo("alice/libs", packages.Private)
		env.Repo("alice/open", packages.Public)
		env.Org("acme", "alice")
		env.Repo("acme/inner", packages.Internal)
		tok := env.Token("alice", allScopes)
		r := ref("alice", packages.TypeMaven, "com.example.lib")
		env.Publish(tok, r, "alice/libs", "1.0")
		pi, err := env.Service.GetPackage(ctx, env.Actor(tok), r, packages.OpRead, packages.ViaRegistry)
		must(t, err)
		for name, want := range map[string]bool{"alice/libs": true, "ALICE/Libs": true, "alice/open": false, "bob/libs": false, "libs": false, "": false} {
			if got := pi.InRepository(name); got != want {
				t.Errorf("InRepository(%q) = %v, want %v", name, got, want)
			}
		}
		for name, want := range map[string]bool{"alice/open": true, "Alice/OPEN": true, "alice/libs": false, "acme/inner": false, "alice/none": false, "nobody/open": false, "bad--login/x": false, "open": false} {
			got, err := env.Service.PublicRepository(ctx, name)
			must(t, err)
			if got != want {
				t.Errorf("PublicRepository(%q) = %v, want %v", name, got, want)
			}
		}
	})
}
