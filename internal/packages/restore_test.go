package packages_test

import (
	"testing"
	"time"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

const day = 24 * time.Hour

func TestRestoreWindow(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		elapsed time.Duration
		want    packages.Kind
	}{
		{"just deleted", 0, ok},
		{"29 days", 29 * day, ok},
		{"one second before the window ends", 30*day - time.Second, ok},
		{"window ended", 30 * day, packages.KindNotFound},
		{"31 days", 31 * day, packages.KindNotFound},
	}
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		env.User("alice")
		tok := env.Token("alice", allScopes)
		a := env.Actor(tok)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Run("package", func(t *testing.T) {
					r := ref("alice", packages.TypeNpm, "pkg-"+c.name)
					env.Publish(tok, r, "", "1.0.0")
					must(t, env.Service.DeletePackage(ctx, a, r, packages.ViaREST))
					env.Clock.Advance(c.elapsed)
					defer env.Clock.Advance(-c.elapsed)
					wantKind(t, env.Service.RestorePackage(ctx, a, r, packages.ViaREST), c.want)
					_, err := env.Service.GetPackage(ctx, a, r, packages.OpRead, packages.ViaREST)
					if c.want == ok {
						wantKind(t, err, ok)
					} else {
						wantKind(t, err, packages.KindNotFound)
					}
				})
				t.Run("version", func(t *testing.T) {
					r := ref("alice", packages.TypeNpm, "ver-"+c.name)
					vs := env.Publish(tok, r, "", "1.0.0", "2.0.0")
					must(t, env.Service.DeleteVersion(ctx, a, r, vs[1].ID, packages.ViaREST))
					env.Clock.Advance(c.elapsed)
					defer env.Clock.Advance(-c.elapsed)
					wantKind(t, env.Service.RestoreVersion(ctx, a, r, vs[1].ID, packages.ViaREST), c.want)
					_, _, err := env.Service.GetVersionByName(ctx, a, r, "2.0.0", packages.ViaREST)
					if c.want == ok {
						wantKind(t, err, ok)
					} else {
						wantKind(t, err, packages.KindNotFound)
					}
				})
			})
		}
	})
}

func TestRestoreRules(t *testing.T) {
	t.Parallel()
	type fixture struct {
		env *testenv.Env
		tok string
		a   *packages.Actor
	}
	cases := []struct {
		name string
		fn   func(t *testing.T, f fixture)
	}{
		{"package name taken again", func(t *testing.T, f fixture) {
			r := ref("alice", packages.TypeNpm, "taken")
			old := f.env.Publish(f.tok, r, "", "1.0.0")[0]
			must(t, f.env.Service.DeletePackage(ctx, f.a, r, packages.ViaREST))
			f.env.Clock.Advance(time.Minute)
			nv := f.env.Publish(f.tok, r, "", "2.0.0")[0]
			if nv.PackageID == old.PackageID {
				t.Fatalf("publish after delete reused package %d", old.PackageID)
			}
			err := f.env.Service.RestorePackage(ctx, f.a, r, packages.ViaREST)
			wantKind(t, err, packages.KindInvalid)
			// The new package is untouched.
			pi, err := f.env.Service.GetPackage(ctx, f.a, r, packages.OpRead, packages.ViaREST)
			must(t, err)
			if pi.ID != nv.PackageID {
				t.Fatalf("active package is %d, want the new %d", pi.ID, nv.PackageID)
			}
			// Once the new one is deleted, restore works again: it brings
			// back the most recently deleted package of that name.
			f.env.Clock.Advance(time.Minute)
			must(t, f.env.Service.DeletePackage(ctx, f.a, r, packages.ViaREST))
			must(t, f.env.Service.RestorePackage(ctx, f.a, r, packages.ViaREST))
			pi, err = f.env.Service.GetPackage(ctx, f.a, r, packages.OpRead, packages.ViaREST)
			must(t, err)
			if pi.ID != nv.PackageID {
				t.Fatalf("restored package %d, want the most recently deleted %d", pi.ID, nv.PackageID)
			}
			// The older one is still deleted and its name taken again.
			wantKind(t, f.env.Service.RestorePackage(ctx, f.a, r, packages.ViaREST), packages.KindInvalid)
		}},
		{"package name taken in another case", func(t *testing.T, f fixture) {
			r := ref("alice", packages.TypeNpm, "CamelCase")
			f.env.Publish(f.tok, r, "", "1.0.0")
			must(t, f.env.Service.DeletePackage(ctx, f.a, r, packages.ViaREST))
			lower := ref("alice", packages.TypeNpm, "camelcase")
			f.env.Publish(f.tok, lower, "", "1.0.0")
			wantKind(t, f.env.Service.RestorePackage(ctx, f.a, r, packages.ViaREST), packages.KindInvalid)
		}},
		{"version of a deleted package", func(t *testing.T, f fixture) {
			r := ref("alice", packages.TypeNpm, "gone")
			vs := f.env.Publish(f.tok, r, "", "1.0.0", "1.1.0")
			must(t, f.env.Service.DeleteVersion(ctx, f.a, r, vs[1].ID, packages.ViaREST))
			must(t, f.env.Service.DeletePackage(ctx, f.a, r, packages.ViaREST))
			wantKind(t, f.env.Service.RestoreVersion(ctx, f.a, r, vs[1].ID, packages.ViaREST), packages.KindNotFound)
			wantKind(t, f.env.Service.RestoreVersion(ctx, f.a, r, vs[0].ID, packages.ViaREST), packages.KindNotFound)
		}},
		{"version of another package", func(t *testing.T, f fixture) {
			r1 := ref("alice", packages.TypeNpm, "one")
			r2 := ref("alice", packages.TypeNpm, "two")
			vs := f.env.Publish(f.tok, r1, "", "1.0.0", "1.1.0")
			f.env.Publish(f.tok, r2, "", "1.0.0")
			must(t, f.env.Service.DeleteVersion(ctx, f.a, r1, vs[1].ID, packages.ViaREST))
			wantKind(t, f.env.Service.RestoreVersion(ctx, f.a, r2, vs[1].ID, packages.ViaREST), packages.KindNotFound)
		}},
		{"package twice", func(t *testing.T, f fixture) {
			r := ref("alice", packages.TypeNpm, "twice")
			f.env.Publish(f.tok, r, "", "1.0.0")
			must(t, f.env.Service.DeletePackage(ctx, f.a, r, packages.ViaREST))
			must(t, f.env.Service.RestorePackage(ctx, f.a, r, packages.ViaREST))
			wantKind(t, f.env.Service.RestorePackage(ctx, f.a, r, packages.ViaREST), packages.KindNotFound)
		}},
		{"version twice", func(t *testing.T, f fixture) {
			r := ref("alice", packages.TypeNpm, "vtwice")
			vs := f.env.Publish(f.tok, r, "", "1.0.0", "1.1.0")
			must(t, f.env.Service.DeleteVersion(ctx, f.a, r, vs[0].ID, packages.ViaREST))
			must(t, f.env.Service.RestoreVersion(ctx, f.a, r, vs[0].ID, packages.ViaREST))
			wantKind(t, f.env.Service.RestoreVersion(ctx, f.a, r, vs[0].ID, packages.ViaREST), packages.KindNotFound)
		}},
		{"active version", func(t *testing.T, f fixture) {
			r := ref("alice", packages.TypeNpm, "active")
			vs := f.env.Publish(f.tok, r, "", "1.0.0")
			wantKind(t, f.env.Service.RestoreVersion(ctx, f.a, r, vs[0].ID, packages.ViaREST), packages.KindNotFound)
			wantKind(t, f.env.Service.RestoreVersion(ctx, f.a, r, vs[0].ID+1000, packages.ViaREST), packages.KindNotFound)
		}},
		{"version name published again", func(t *testing.T, f fixture) {
			r := ref("alice", packages.TypeNpm, "again")
			vs := f.env.Publish(f.tok, r, "", "1.0.0", "1.1.0")
			must(t, f.env.Service.DeleteVersion(ctx, f.a, r, vs[1].ID, packages.ViaREST))
			again := f.env.Publish(f.tok, r, "", "1.1.0")[0]
			if again.ID == vs[1].ID {
				t.Fatalf("republish reused version %d", again.ID)
			}
			wantKind(t, f.env.Service.RestoreVersion(ctx, f.a, r, vs[1].ID, packages.ViaREST), packages.KindInvalid)
			must(t, f.env.Service.DeleteVersion(ctx, f.a, r, again.ID, packages.ViaREST))
			must(t, f.env.Service.RestoreVersion(ctx, f.a, r, vs[1].ID, packages.ViaREST))
			_, vi, err := f.env.Service.GetVersionByName(ctx, f.a, r, "1.1.0", packages.ViaREST)
			must(t, err)
			if vi.ID != vs[1].ID {
				t.Fatalf("1.1.0 is version %d, want the restored %d", vi.ID, vs[1].ID)
			}
		}},
		{"restore needs write scope", func(t *testing.T, f fixture) {
			r := ref("alice", packages.TypeNpm, "scoped")
			f.env.Publish(f.tok, r, "", "1.0.0")
			must(t, f.env.Service.DeletePackage(ctx, f.a, r, packages.ViaREST))
			ro := f.env.Actor(f.env.Token("alice", "read:packages,delete:packages"))
			wantKind(t, f.env.Service.RestorePackage(ctx, ro, r, packages.ViaREST), packages.KindForbidden)
			must(t, f.env.Service.RestorePackage(ctx, f.a, r, packages.ViaREST))
		}},
		{"deleted listing hides expired versions", func(t *testing.T, f fixture) {
			r := ref("alice", packages.TypeNpm, "listing")
			vs := f.env.Publish(f.tok, r, "", "1.0.0", "1.1.0", "1.2.0")
			must(t, f.env.Service.DeleteVersion(ctx, f.a, r, vs[0].ID, packages.ViaREST))
			f.env.Clock.Advance(20 * day)
			must(t, f.env.Service.DeleteVersion(ctx, f.a, r, vs[1].ID, packages.ViaREST))
			f.env.Clock.Advance(11 * day)
			_, got, _, err := f.env.Service.ListVersions(ctx, f.a, r, packages.Deleted, packages.Page{}, packages.ViaREST)
			must(t, err)
			if len(got) != 1 || got[0].ID != vs[1].ID {
				t.Fatalf("restorable deleted versions = %+v, want only %d", got, vs[1].ID)
			}
		}},
	}
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		env.User("alice")
		tok := env.Token("alice", allScopes)
		f := fixture{env: env, tok: tok, a: env.Actor(tok)}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) { c.fn(t, f) })
		}
	})
}

func TestVersionTagsFollowDeleteAndRestore(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		env.User("alice")
		tok := env.Token("alice", allScopes)
		a := env.Actor(tok)
		cases := []struct {
			name string
			typ  packages.Type
			// version names
			v1, v2 string
		}{
			{"container", packages.TypeContainer, fakeDigest("one"), fakeDigest("two")},
			{"npm", packages.TypeNpm, "1.0.0", "2.0.0"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := ref("alice", c.typ, "tagged-"+c.name)
				v1 := publishReq(t, env, a, packages.PublishRequest{Package: r, Version: c.v1, Tags: []string{"stable", "latest", "v1"}, IfExists: packages.ExistsReuse}).Version
				v2 := publishReq(t, env, a, packages.PublishRequest{Package: r, Version: c.v2, Tags: []string{"v2"}, IfExists: packages.ExistsReuse}).Version
				pid := v1.PackageID

				must(t, env.Service.DeleteVersion(ctx, a, r, v1.ID, packages.ViaREST))
				got := tagsOf(t, env, pid)
				if len(got) != 1 || got["v2"] != v2.ID {
					t.Fatalf("tags after delete = %v, want only v2 -> %d", got, v2.ID)
				}
				// "latest" is taken by another version meanwhile.
				must(t, env.Service.SetTag(ctx, a, r, "latest", c.v2))

				must(t, env.Service.RestoreVersion(ctx, a, r, v1.ID, packages.ViaREST))
				got = tagsOf(t, env, pid)
				want := map[string]int64{"stable": v1.ID, "v1": v1.ID, "latest": v2.ID, "v2": v2.ID}
				if len(got) != len(want) {
					t.Fatalf("tags after restore = %v, want %v", got, want)
				}
				for k, v := range want {
					if got[k] != v {
						t.Fatalf("tags after restore = %v, want %v", got, want)
					}
				}
				_, vi, err := env.Service.GetVersion(ctx, a, r, v1.ID, packages.ViaREST)
				must(t, err)
				if len(vi.Tags) != 2 || vi.Tags[0] != "stable" || vi.Tags[1] != "v1" {
					t.Fatalf("restored version tags = %v, want [stable v1]", vi.Tags)
				}
			})
		}
		t.Run("second delete restores the tags it removed", func(t *testing.T) {
			r := ref("alice", packages.TypeContainer, "redelete")
			v1 := publishReq(t, env, a, packages.PublishRequest{Package: r, Version: fakeDigest("r1"), Tags: []string{"a"}}).Version
			publishReq(t, env, a, packages.PublishRequest{Package: r, Version: fakeDigest("r2"), Tags: []string{"b"}})
			must(t, env.Service.DeleteVersion(ctx, a, r, v1.ID, packages.ViaREST))
			must(t, env.Service.RestoreVersion(ctx, a, r, v1.ID, packages.ViaREST))
			// Untag, then delete again: this delete removed no tag, so the
			// restore must not bring back "a" from the first delete.
			must(t, env.Service.DeleteTag(ctx, a, r, "a"))
			must(t, env.Service.DeleteVersion(ctx, a, r, v1.ID, packages.ViaREST))
			must(t, env.Service.RestoreVersion(ctx, a, r, v1.ID, packages.ViaREST))
			if got := tagsOf(t, env, v1.PackageID); len(got) != 1 || got["b"] == 0 {
				t.Fatalf("tags = %v, want only b", got)
			}
		})
	})
}
