package packages_test

import (
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

// TestOwnerPackages lists what each caller may read of an owner's
// packages of one type.
func TestOwnerPackages(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		env.User("alice")
		env.User("bob")
		env.User("carol")
		env.Org("acme", "alice")
		env.Member("acme", "bob", packages.OrgMember)
		alice := env.Token("alice", allScopes)
		bob := env.Token("bob", "read:packages")
		carol := env.Token("carol", "read:packages")
		carolNoScope := env.Token("carol", "delete:packages")
		for _, name := range []string{"pub", "priv", "inner", "granted"} {
			env.Publish(alice, ref("acme", packages.TypeRubyGems, name), "", "1.0.0")
		}
		env.Publish(alice, ref("acme", packages.TypeNpm, "other"), "", "1.0.0")
		a := env.Actor(alice)
		must(t, env.Service.SetPackageVisibility(ctx, a, ref("acme", packages.TypeRubyGems, "pub"), packages.Public))
		must(t, env.Service.SetPackageVisibility(ctx, a, ref("acme", packages.TypeRubyGems, "inner"), packages.Internal))
		must(t, env.Service.GrantPackageAccess(ctx, a, ref("acme", packages.TypeRubyGems, "granted"), "carol", packages.RoleRead))

		for _, tc := range []struct {
			who   string
			actor *packages.Actor
			want  []string
		}{
			{"anonymous", nil, []string{"pub"}},
			{"org admin", a, []string{"pub", "priv", "inner", "granted"}},
			{"member", env.Actor(bob), []string{"pub", "inner"}},
			{"grantee", env.Actor(carol), []string{"pub", "granted"}},
			{"token without read:packages", env.Actor(carolNoScope), []string{"pub"}},
		} {
			o, pkgs, err := env.Service.OwnerPackages(ctx, tc.actor, "acme", packages.TypeRubyGems)
			must(t, err)
			var names []string
			for _, p := range pkgs {
				names = append(names, p.Name)
				if p.Revision == 0 || p.UpdatedAt.IsZero() {
					t.Fatalf("%s: package %s without revision or time", tc.who, p.Name)
				}
			}
			if o.Login != "acme" || !slices.Equal(names, tc.want) {
				t.Errorf("%s sees %v, want %v", tc.who, names, tc.want)
			}
		}
		if _, _, err := env.Service.OwnerPackages(ctx, nil, "nobody", packages.TypeRubyGems); !errors.Is(err, packages.ErrPackageNotFound) {
			t.Fatalf("unknown owner: %v", err)
		}
	})
}

// TestPackageHistory returns deleted versions and the events that
// explain them.
func TestPackageHistory(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		env.User("alice")
		env.User("bob")
		tok := env.Token("alice", allScopes)
		a := env.Actor(tok)
		r := ref("alice", packages.TypeRubyGems, "hello")
		env.Publish(tok, r, "", "1.0.0", "2.0.0")
		mustDeleteByName(t, env, ctx, a, r, "1.0.0")
		pi, vs, events, err := env.Service.PackageHistory(ctx, a, r)
		must(t, err)
		if pi.Name != "hello" || len(vs) != 2 || vs[0].Name != "1.0.0" || vs[0].DeletedAt == nil || vs[1].DeletedAt != nil {
			t.Fatalf("versions %+v", vs)
		}
		var acts []string
		for _, e := range events {
			acts = append(acts, e.Action)
		}
		if want := []string{"publish", "publish", "version.delete"}; !slices.Equal(acts, want) {
			t.Fatalf("events %v, want %v", acts, want)
		}
		// Others see nothing of a private package.
		_, _, _, err = env.Service.PackageHistory(ctx, env.Actor(env.Token("bob", allScopes)), r)
		if !errors.Is(err, packages.ErrPackageNotFound) {
			t.Fatalf("another user: %v", err)
		}
	})
}

type gemsMeta struct {
	Files []string `json:"files"`
}

// addFileMeta is a Merge that records the file in the metadata and refuses
// one recorded already.
func addFileMeta(name string) func(json.RawMessage) (json.RawMessage, error) {
	return func(cur json.RawMessage) (json.RawMessage, error) {
		var m gemsMeta
		if len(cur) > 0 {
			if err := json.Unmarshal(cur, &m); err != nil {
				return nil, err
			}
		}
		if slices.Contains(m.Files, name) {
			return nil, packages.Errorf(packages.KindConflict, "%s is there already", name)
		}
		m.Files = append(m.Files, name)
		return json.Marshal(m)
	}
}

func TestPutVersionFile(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		env.User("alice")
		env.User("bob")
		a := env.Actor(env.Token("alice", allScopes))
		r := ref("alice", packages.TypeRubyGems, "native")
		put := func(a *packages.Actor, version, name string, create bool) (*packages.PutFileResult, error) {
			f := putBlob(t, env, name, "content of "+name)
			return env.Service.PutVersionFile(ctx, a, packages.PutVersionFileRequest{
				PutFileRequest: packages.PutFileRequest{Package: r, Version: version, CreateVersion: create, File: f},
				Description:    "native code", License: "MIT",
				Merge: addFileMeta(name),
			})
		}
		res, err := put(a, "1.0.0", "native-1.0.0.gem", true)
		must(t, err)
		if !res.PackageCreated || !res.VersionCreated || res.Version.Description != "native code" || res.Version.License != "MIT" {
			t.Fatalf("first put: %+v", res)
		}
		res, err = put(a, "1.0.0", "native-1.0.0-x86_64-linux.gem", true)
		must(t, err)
		if res.VersionCreated {
			t.Fatal("second platform created the version again")
		}
		// The merge refuses, and nothing changes.
		_, err = put(a, "1.0.0", "native-1.0.0.gem", true)
		wantKind(t, err, packages.KindConflict)
		// Without the version, and without CreateVersion, nothing is made.
		_, err = put(a, "2.0.0", "native-2.0.0.gem", false)
		if !errors.Is(err, packages.ErrVersionNotFound) {
			t.Fatalf("missing version: %v", err)
		}
		_, err = put(nil, "3.0.0", "native-3.0.0.gem", true)
		wantKind(t, err, packages.KindUnauthenticated)
		_, err = put(env.Actor(env.Token("alice", "read:packages")), "3.0.0", "native-3.0.0.gem", true)
		wantKind(t, err, packages.KindForbidden)
		// A stranger's push to a private gem fails as a push to a free
		// name in a namespace it may not create packages in.
		_, err = put(env.Actor(env.Token("bob", allScopes)), "1.0.0", "native-1.0.0-java.gem", true)
		wantKind(t, err, packages.KindForbidden)

		_, vi, err := env.Service.GetVersionByName(ctx, a, r, "1.0.0", packages.ViaRegistry)
		must(t, err)
		var m gemsMeta
		must(t, json.Unmarshal(vi.Metadata, &m))
		if !slices.Equal(m.Files, []string{"native-1.0.0.gem", "native-1.0.0-x86_64-linux.gem"}) {
			t.Fatalf("metadata %s", vi.Metadata)
		}
		files, err := env.Service.Files(ctx, vi.ID)
		must(t, err)
		if len(files) != 2 {
			t.Fatalf("%d files", len(files))
		}
		_, vs, events, err := env.Service.PackageHistory(ctx, a, r)
		must(t, err)
		var puts []string
		for i := range events {
			if f, ok := packages.EventFile(&events[i]); ok {
				puts = append(puts, f)
			}
		}
		if len(vs) != 1 || !slices.Equal(puts, m.Files) {
			t.Fatalf("versions %d, file events %v", len(vs), puts)
		}
	})
}

// TestPutVersionFileConcurrent: concurrent pushes of different files into
// one version all land in the metadata.
func TestPutVersionFileConcurrent(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		env.User("alice")
		a := env.Actor(env.Token("alice", allScopes))
		r := ref("alice", packages.TypeRubyGems, "multi")
		names := []string{"a.gem", "b.gem", "c.gem", "d.gem"}
		var wg sync.WaitGroup
		errs := make([]error, len(names))
		for i, n := range names {
			f := putBlob(t, env, n, n)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for try := 0; try < 5; try++ {
					_, errs[i] = env.Service.PutVersionFile(ctx, a, packages.PutVersionFileRequest{
						PutFileRequest: packages.PutFileRequest{Package: r, Version: "1.0.0", CreateVersion: true, File: f},
						Merge:          addFileMeta(n),
					})
					// A lost race to create the package or version asks
					// for a retry.
					if packages.KindOf(errs[i]) != packages.KindConflict {
						break
					}
				}
			}()
		}
		wg.Wait()
		for _, err := range errs {
			must(t, err)
		}
		_, vi, err := env.Service.GetVersionByName(ctx, a, r, "1.0.0", packages.ViaRegistry)
		must(t, err)
		var m gemsMeta
		must(t, json.Unmarshal(vi.Metadata, &m))
		slices.Sort(m.Files)
		if !slices.Equal(m.Files, names) {
			t.Fatalf("metadata lists %v", m.Files)
		}
	})
}

func TestFileClaimed(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		env.User("alice")
		env.User("bob")
		env.Org("acme", "alice")
		env.Member("acme", "bob", packages.OrgMember)
		alice := env.Actor(env.Token("alice", allScopes))
		bob := env.Actor(env.Token("bob", "write:packages"))
		r := ref("acme", packages.TypeRubyGems, "a-1.0")
		f := putBlob(t, env, "a-1.0-2.gem", "gem")
		_, err := env.Service.PutVersionFile(ctx, alice, packages.PutVersionFileRequest{
			PutFileRequest: packages.PutFileRequest{Package: r, Version: "2", CreateVersion: true, File: f},
			Merge:          addFileMeta(f.Name),
		})
		must(t, err)
		for _, tc := range []struct {
			name   string
			actor  *packages.Actor
			claims []packages.FileClaim
			want   bool
			kind   packages.Kind
		}{
			// Bob cannot read alice's private gem, but its file name is
			// still taken.
			{"taken", bob, []packages.FileClaim{{"nope", "1", "x.gem"}, {"a-1.0", "2", "a-1.0-2.gem"}}, true, ok},
			{"other file", bob, []packages.FileClaim{{"a-1.0", "2", "a-1.0-2-java.gem"}}, false, ok},
			{"other version", bob, []packages.FileClaim{{"a-1.0", "3", "a-1.0-2.gem"}}, false, ok},
			{"not a version", bob, []packages.FileClaim{{"a-1.0", "two", "a-1.0-2.gem"}}, false, ok},
			{"no claims", bob, nil, false, ok},
			{"anonymous", nil, []packages.FileClaim{{"a-1.0", "2", "a-1.0-2.gem"}}, false, packages.KindUnauthenticated},
			{"read-only", env.Actor(env.Token("bob", "read:packages")), []packages.FileClaim{{"a-1.0", "2", "a-1.0-2.gem"}}, false, packages.KindForbidden},
		} {
			got, err := env.Service.FileClaimed(ctx, tc.actor, "acme", packages.TypeRubyGems, tc.claims)
			wantKind(t, err, tc.kind)
			if got != tc.want {
				t.Errorf("%s: FileClaimed = %v", tc.name, got)
			}
		}
		mustDeleteByName(t, env, ctx, alice, r, "2")
		if got, err := env.Service.FileClaimed(ctx, bob, "acme", packages.TypeRubyGems, []packages.FileClaim{{"a-1.0", "2", "a-1.0-2.gem"}}); err != nil || got {
			t.Fatalf("a deleted version's file: %v %v", got, err)
		}
	})
}
