package packages_test

import (
	"context"
	"errors"
	"testing"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

func TestNewSpecs(t *testing.T) {
	if _, err := packages.NewSpecs(packages.NpmSpec(), packages.NpmSpec()); err == nil {
		t.Fatal("a type given twice was accepted")
	}
	if _, err := packages.NewSpecs(packages.Spec{}); err == nil {
		t.Fatal("a spec without a type was accepted")
	}
	s := packages.BuiltinSpecs()
	if got, want := len(s.Types()), 6; got != want {
		t.Fatalf("%d built-in types, want %d", got, want)
	}
	if _, ok := s.Parse("widget"); ok {
		t.Fatal("an unknown type parsed")
	}
	rs := s.RepositoryScoped()
	if len(rs) != 2 || rs[0] != packages.TypeMaven || rs[1] != packages.TypeDocker {
		t.Fatalf("repository-scoped types: %v", rs)
	}
}

// TestDeleteVersionsByName drives the one delete-by-name entry point of the
// registry protocols through each registry last-version policy.
func TestDeleteVersionsByName(t *testing.T) {
	hooked := map[string]int{}
	hooks := func() packages.Hooks {
		count := func(kind string) func(ctx context.Context, p *packages.Package, v *packages.Version) {
			return func(_ context.Context, p *packages.Package, v *packages.Version) {
				key := kind + " " + p.Name
				if v != nil {
					key += "@" + v.Name
				}
				hooked[key]++
			}
		}
		return packages.Hooks{OnDelete: count("delete"), OnRestore: count("restore")}
	}
	npm := packages.NpmSpec()
	npm.Hooks = hooks()
	specs := packages.MustSpecs(npm, packages.ContainerSpec(), packages.MavenSpec(),
		packages.Spec{Type: "tagged", RegistryLastVersion: packages.LastTaggedVersionRefused})
	testenv.EachWithSpecs(t, specs, func(t *testing.T, env *testenv.Env) {
		clear(hooked)
		env.User("alice")
		env.Repo("alice/lib", packages.Private)
		tok := env.Token("alice", allScopes)
		a := env.Actor(tok)

		// npm: the last version takes the package with it, and a restore
		// of the package brings every version back.
		r := ref("alice", packages.TypeNpm, "left-pad")
		env.Publish(tok, r, "", "1.0.0", "2.0.0", "3.0.0")
		gone, err := env.Service.DeleteVersionsByName(ctx, a, r, "1.0.0")
		must(t, err)
		if gone {
			t.Fatal("package deleted with versions left")
		}
		gone, err = env.Service.DeleteVersionsByName(ctx, a, r, "2.0.0", "3.0.0", "3.0.0")
		must(t, err)
		if !gone {
			t.Fatal("package kept after its last versions went")
		}
		if _, err := env.Service.GetPackage(ctx, a, r, packages.OpRead, packages.ViaRegistry); !errors.Is(err, packages.ErrPackageNotFound) {
			t.Fatalf("deleted package: %v", err)
		}
		must(t, env.Service.RestorePackage(ctx, a, r, packages.ViaREST))
		_, vs, _, err := env.Service.ListVersions(ctx, a, r, packages.Active, packages.Page{}, packages.ViaREST)
		must(t, err)
		if len(vs) != 2 {
			t.Fatalf("%d versions after restore, want 2 (2.0.0 and 3.0.0)", len(vs))
		}
		if hooked["delete left-pad@1.0.0"] != 1 || hooked["delete left-pad"] != 1 || hooked["restore left-pad"] != 1 {
			t.Fatalf("hooks: %v", hooked)
		}

		// An unknown version is the version sentinel, not the package's.
		if _, err := env.Service.DeleteVersionsByName(ctx, a, r, "9.9.9"); !errors.Is(err, packages.ErrVersionNotFound) {
			t.Fatalf("missing version: %v", err)
		}

		// Containers: every manifest may go; the package stays.
		c := ref("alice", packages.TypeContainer, "app")
		env.Publish(tok, c, "", "sha256:1")
		gone, err = env.Service.DeleteVersionsByName(ctx, a, c, "sha256:1")
		must(t, err)
		if gone {
			t.Fatal("container package deleted with its last manifest")
		}
		if _, err := env.Service.GetPackage(ctx, a, c, packages.OpRead, packages.ViaRegistry); err != nil {
			t.Fatalf("container package after its last manifest went: %v", err)
		}

		// Maven: the last version is refused.
		m := ref("alice", packages.TypeMaven, "com.example.lib")
		env.Publish(tok, m, "alice/lib", "1.0")
		_, err = env.Service.DeleteVersionsByName(ctx, a, m, "1.0")
		wantMessage(t, err, packages.KindInvalid, packages.MsgLastVersion)

		// Last tagged version refused; untagged ones go.
		tg := ref("alice", "tagged", "thing")
		env.Publish(tok, tg, "", "a", "b")
		must(t, env.Service.SetTag(ctx, a, tg, "latest", "a"))
		mustDeleteByName(t, env, ctx, a, tg, "b")
		_, err = env.Service.DeleteVersionsByName(ctx, a, tg, "a")
		wantMessage(t, err, packages.KindInvalid, packages.MsgLastTaggedVersion)

		// A type the service does not know cannot be published.
		_, err = env.Service.Publish(ctx, a, packages.PublishRequest{Package: ref("alice", packages.TypeNuGet, "x"), Version: "1.0.0"})
		wantKind(t, err, packages.KindInvalid)
	})
}
