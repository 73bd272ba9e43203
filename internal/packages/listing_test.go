package packages_test

import (
	"slices"
	"testing"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

// Listing a namespace shows exactly the packages the caller could read one
// by one.
func TestListingAgreesWithRead(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		w := newWorld(t, env)
		owners := []struct {
			login string
			scope packages.OwnerScope
			admin string // sees every package
		}{{"alice", packages.UserPath, "alice"}, {"acme", packages.OrgPath, "oadmin"}}
		users := []string{"alice", "bob", "carol", "carolw", "oadmin", "mem", "mem2", "reader", "writer"}
		for _, o := range owners {
			for _, typ := range []packages.Type{packages.TypeNpm, packages.TypeMaven} {
				req := packages.ListPackagesRequest{Owner: o.login, Scope: o.scope, Type: typ}
				all, total, err := env.Service.ListPackages(ctx, w.actor(o.admin, allScopes), req)
				must(t, err)
				if total != len(all) || total == 0 {
					t.Fatalf("%s lists %d of %d %s packages", o.admin, len(all), total, typ)
				}
				for _, user := range users {
					a := w.actor(user, allScopes)
					listed, _, err := env.Service.ListPackages(ctx, a, req)
					must(t, err)
					var got, want []string
					for _, p := range listed {
						got = append(got, p.Name)
					}
					for _, p := range all {
						r := packages.PackageRef{Owner: o.login, Scope: o.scope, Type: typ, Name: p.Name}
						_, err := env.Service.GetPackage(ctx, a, r, packages.OpRead, packages.ViaREST)
						switch {
						case err == nil:
							want = append(want, p.Name)
						case !packages.IsNotFound(err):
							t.Fatalf("%s reading %s: %v", user, r, err)
						}
					}
					slices.Sort(got)
					slices.Sort(want)
					if !slices.Equal(got, want) {
						t.Errorf("%s lists %s's %s packages %v, but may read %v", user, o.login, typ, got, want)
					}
				}
			}
		}
	})
}
