package packages_test

import (
	"slices"
	"testing"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

// SearchOwnerPackages finds an owner's packages by part of their name and
// shows each caller only what it may read through a registry.
func TestSearchOwnerPackages(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		env.User("alice")
		env.User("bob")
		env.User("carol")
		env.Repo("alice/open", packages.Public)
		alice := env.Token("alice", allScopes)
		nuget := func(name string) packages.PackageRef { return ref("alice", packages.TypeNuGet, name) }
		env.Publish(alice, nuget("Octo.Private"), "", "1.0.0")
		env.Publish(alice, nuget("Octo.Public"), "alice/open", "1.0.0")
		env.Publish(alice, nuget("Other.Granted"), "", "1.0.0")
		env.Publish(alice, ref("alice", packages.TypeNpm, "octo-npm"), "", "1.0.0")
		must(t, env.Service.GrantPackageAccess(ctx, env.Actor(alice), nuget("Other.Granted"), "bob", packages.RoleRead))
		bob := env.Token("bob", "read:packages")
		bobNoRead := env.Token("bob", "delete:packages")

		tests := []struct {
			name  string
			actor *packages.Actor
			owner string
			text  string
			want  []string
		}{
			{"owner sees all", env.Actor(alice), "alice", "", []string{"Octo.Private", "Octo.Public", "Other.Granted"}},
			{"owner by part of the name, any case", env.Actor(alice), "alice", "OCTO", []string{"Octo.Private", "Octo.Public"}},
			{"anonymous sees public", nil, "alice", "", []string{"Octo.Public"}},
			{"grantee sees its grant", env.Actor(bob), "alice", "", []string{"Octo.Public", "Other.Granted"}},
			{"a token without read:packages sees public", env.Actor(bobNoRead), "alice", "", []string{"Octo.Public"}},
			{"stranger", env.Actor(env.Token("carol", allScopes)), "alice", "", []string{"Octo.Public"}},
			{"unknown owner", env.Actor(alice), "nobody", "", nil},
		}
		for _, tt := range tests {
			got, total, err := env.Service.SearchOwnerPackages(ctx, tt.actor, packages.SearchOwnerRequest{Owner: tt.owner, Type: packages.TypeNuGet, NameContains: tt.text})
			must(t, err)
			var names []string
			for _, p := range got {
				names = append(names, p.Name)
			}
			if !slices.Equal(names, tt.want) || total != len(tt.want) {
				t.Errorf("%s: got %v (total %d), want %v", tt.name, names, total, tt.want)
			}
		}
		page, total, err := env.Service.SearchOwnerPackages(ctx, env.Actor(alice), packages.SearchOwnerRequest{Owner: "alice", Type: packages.TypeNuGet, Limit: 1, Offset: 1})
		must(t, err)
		if total != 3 || len(page) != 1 || page[0].Name != "Octo.Public" {
			t.Errorf("second page of one: %v of %d", page, total)
		}
	})
}

// The NuGet spec names a version by its normalised form in lower case and
// orders versions as NuGet does.
func TestNuGetVersions(t *testing.T) {
	svc := testenv.New(t, "sqlite").Service
	for in, want := range map[string]string{"1.0": "1.0.0", "1.0.0.0": "1.0.0", "1.0.0-Beta+abc": "1.0.0-beta", "2.1.0.3": "2.1.0.3"} {
		got, err := svc.NormalizeVersion(packages.TypeNuGet, in)
		if err != nil || got != want {
			t.Errorf("NormalizeVersion(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	_, err := svc.NormalizeVersion(packages.TypeNuGet, "1.0.0-beta..1")
	wantKind(t, err, packages.KindInvalid)
	if got, _ := svc.NormalizeVersion(packages.TypeNpm, "Anything"); got != "Anything" {
		t.Errorf("npm versions are kept as they are, got %q", got)
	}
	vs := []string{"1.10.0", "1.0.0", "1.0.0-rc.1", "1.2.0", "1.0.0-beta"}
	slices.SortFunc(vs, func(a, b string) int { return svc.CompareVersions(packages.TypeNuGet, a, b) })
	if want := []string{"1.0.0-beta", "1.0.0-rc.1", "1.0.0", "1.2.0", "1.10.0"}; !slices.Equal(vs, want) {
		t.Errorf("NuGet order %v, want %v", vs, want)
	}
	if svc.CompareVersions(packages.TypeNpm, "b", "a") <= 0 {
		t.Error("types without an order compare bytewise")
	}
}
