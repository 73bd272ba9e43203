package packages_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

// retentionFixture is one package of every built-in type, owned by
// alice, with three versions published a day apart (the container and
// docker ones tagged first, untagged, then "latest"), and one package of
// every type with a single version.
type retentionFixture struct {
	env   *testenv.Env
	tok   string
	names map[packages.Type][3]string // the three versions, oldest first
}

var allTypes = []packages.Type{packages.TypeNpm, packages.TypeMaven, packages.TypeRubyGems, packages.TypeDocker, packages.TypeNuGet, packages.TypeContainer}

func newRetentionFixture(t *testing.T, env *testenv.Env) *retentionFixture {
	t.Helper()
	env.User("alice")
	env.Repo("alice/repo", packages.Private)
	fx := &retentionFixture{env: env, tok: env.Token("alice", allScopes), names: map[packages.Type][3]string{}}
	a := env.Actor(fx.tok)
	for i := range 3 {
		for _, typ := range allTypes {
			name := [3]string{"1.0.0", "1.1.0", "2.0.0"}[i]
			if typ == packages.TypeMaven {
				name = [3]string{"1.0", "1.1", "2.0"}[i]
			}
			tags := []string(nil)
			if typ == packages.TypeContainer || typ == packages.TypeDocker {
				name = fmt.Sprintf("sha256:%064d", i+1)
				tags = [3][]string{{"v1"}, nil, {"latest"}}[i]
			}
			names := fx.names[typ]
			names[i] = name
			fx.names[typ] = names
			for _, pkgName := range []string{"many", "one"} {
				if pkgName == "one" && i > 0 {
					continue
				}
				d, n, err := env.Blobs.Put(ctx, strings.NewReader(fmt.Sprintf("%s %s %s", typ, pkgName, name)), "")
				must(t, err)
				_, err = env.Service.Publish(ctx, a, packages.PublishRequest{
					Package: ref("alice", typ, pkgName), Version: name, Repository: "alice/repo", Tags: tags,
					Files: []packages.File{{Name: "file", Digest: d, Size: n}},
				})
				must(t, err)
			}
		}
		env.Clock.Advance(24 * time.Hour)
	}
	return fx
}

func (fx *retentionFixture) active(t *testing.T, typ packages.Type, pkg string) []string {
	t.Helper()
	_, vs, _, err := fx.env.Service.ListVersions(ctx, fx.env.Actor(fx.tok), ref("alice", typ, pkg), packages.Active, packages.Page{}, packages.ViaREST)
	must(t, err)
	var out []string
	for _, v := range vs {
		out = append(out, v.Name)
	}
	slices.Sort(out)
	return out
}

// TestRetentionEveryType runs a keep-the-newest policy over a package of
// every type: a dry run lists what a real run then deletes, and each
// deleted version is restorable; no policy deletes a package's last
// version, nor the last tagged container image.
func TestRetentionEveryType(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		fx := newRetentionFixture(t, env)
		for _, typ := range allTypes {
			_, err := env.Service.AdminAddRetentionPolicy(ctx, "alice", packages.RetentionPolicy{Type: typ, Name: "many", KeepNewest: 1})
			must(t, err)
		}

		dry, err := env.Service.RunRetention(ctx, "", true)
		must(t, err)
		if dry.Policies != 6 || dry.Packages != 6 || len(dry.Versions) != 12 || len(dry.Errors) != 0 {
			t.Fatalf("dry run: %d policies, %d packages, %d versions, errors %v", dry.Policies, dry.Packages, len(dry.Versions), dry.Errors)
		}
		for _, typ := range allTypes {
			if got := fx.active(t, typ, "many"); len(got) != 3 {
				t.Fatalf("%s after the dry run: %v", typ, got)
			}
		}

		rep, err := env.Service.RunRetention(ctx, "", false)
		must(t, err)
		if len(rep.Versions) != 12 || len(rep.Errors) != 0 {
			t.Fatalf("run: %d versions, errors %v", len(rep.Versions), rep.Errors)
		}
		for i, d := range rep.Versions {
			if w := dry.Versions[i]; w.Package.ID != d.Package.ID || w.Version.ID != d.Version.ID {
				t.Errorf("the dry run listed %s@%s where the run deleted %s@%s", w.Package.Name, w.Version.Name, d.Package.Name, d.Version.Name)
			}
		}
		a := env.Actor(fx.tok)
		for _, typ := range allTypes {
			names := fx.names[typ]
			if got := fx.active(t, typ, "many"); !slices.Equal(got, []string{names[2]}) {
				t.Errorf("%s kept %v, want only %s", typ, got, names[2])
			}
			if got := fx.active(t, typ, "one"); len(got) != 1 {
				t.Errorf("%s: the policy on \"many\" touched \"one\": %v", typ, got)
			}
		}
		// Every deleted version can be restored, tags and all.
		for _, d := range rep.Versions {
			r := ref("alice", d.Package.Type, d.Package.Name)
			must(t, env.Service.RestoreVersion(ctx, a, r, d.Version.ID, packages.ViaREST))
		}
		for _, typ := range allTypes {
			names := fx.names[typ]
			if got := fx.active(t, typ, "many"); !slices.Equal(got, sorted(names[:]...)) {
				t.Errorf("%s after the restores: %v", typ, got)
			}
		}
		_, v1, err := env.Service.ResolveTag(ctx, a, ref("alice", packages.TypeContainer, "many"), "v1")
		if err != nil || v1.Name != fx.names[packages.TypeContainer][0] {
			t.Errorf("tag v1 after the restore: %v, %v", v1, err)
		}

		// A run is an event, dry or not.
		events, err := env.Service.Events(ctx, 0)
		must(t, err)
		var runs []string
		for _, e := range events {
			if e.Action == packages.ActionRetentionRun {
				runs = append(runs, e.Detail)
			}
		}
		if len(runs) != 2 || !strings.Contains(runs[0], `"dry_run":true`) || !strings.Contains(runs[1], `"versions":12`) {
			t.Errorf("run events %q", runs)
		}
		// The delete events name the policy.
		events, err = env.Service.Events(ctx, rep.Versions[0].Package.ID)
		must(t, err)
		if !slices.ContainsFunc(events, func(e packages.Event) bool {
			return e.Action == packages.ActionDeleteVersion && strings.Contains(e.Detail, `"retention_policy":`) && e.ActorID == 0
		}) {
			t.Errorf("no delete event of the policy among %+v", events)
		}
	})
}

// TestRetentionLastVersion deletes everything older than a day from
// packages of every type: each keeps what its type's last-version rule
// keeps.
func TestRetentionLastVersion(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		fx := newRetentionFixture(t, env)
		a := env.Actor(fx.tok)
		// An image whose versions are all untagged may lose them all.
		for i := range 2 {
			d, n, err := env.Blobs.Put(ctx, strings.NewReader(fmt.Sprint("untagged ", i)), "")
			must(t, err)
			_, err = env.Service.Publish(ctx, a, packages.PublishRequest{Package: ref("alice", packages.TypeContainer, "bare"),
				Version: fmt.Sprintf("sha256:%064d", 10+i), Files: []packages.File{{Name: "file", Digest: d, Size: n}}})
			must(t, err)
		}
		env.Clock.Advance(10 * 24 * time.Hour)
		for _, typ := range allTypes {
			_, err := env.Service.AdminAddRetentionPolicy(ctx, "alice", packages.RetentionPolicy{Type: typ, OlderThan: 24 * time.Hour})
			must(t, err)
		}
		rep, err := env.Service.RunRetention(ctx, "alice", false)
		must(t, err)
		if len(rep.Errors) != 0 {
			t.Fatalf("errors %v", rep.Errors)
		}
		for _, typ := range allTypes {
			names := fx.names[typ]
			// The newest version stays; for images, the newest tagged one.
			if got := fx.active(t, typ, "many"); !slices.Equal(got, []string{names[2]}) {
				t.Errorf("%s many kept %v, want %s", typ, got, names[2])
			}
			if got := fx.active(t, typ, "one"); !slices.Equal(got, []string{names[0]}) {
				t.Errorf("%s: the last version of \"one\" was deleted: %v", typ, got)
			}
		}
		if got := fx.active(t, packages.TypeContainer, "bare"); len(got) != 0 {
			t.Errorf("untagged images kept: %v", got)
		}
		reasons := map[string]int{}
		for _, k := range rep.Kept {
			reasons[k.Reason]++
		}
		if reasons["the last version"] != 8 || reasons["the last tagged version"] != 4 {
			t.Errorf("kept for %v", reasons)
		}
	})
}

// TestRetentionSnapshotBuilds keeps the newest build of a Maven SNAPSHOT
// and deletes the files of the older ones.
func TestRetentionSnapshotBuilds(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		env.User("alice")
		env.Repo("alice/repo", packages.Private)
		a := env.Actor(env.Token("alice", allScopes))
		r := ref("alice", packages.TypeMaven, "com.example.lib")
		put := func(version, name string) {
			d, _, err := env.Blobs.Put(ctx, strings.NewReader(version+"/"+name), "")
			must(t, err)
			_, err = env.Service.PutFile(ctx, a, packages.PutFileRequest{Package: r, Version: version, CreateVersion: true, Repository: "alice/repo",
				File: packages.File{Name: name, Digest: d}, IfExists: packages.FileReplace})
			must(t, err)
		}
		for n := 1; n <= 3; n++ {
			for _, ext := range []string{"jar", "pom"} {
				put("1.0-SNAPSHOT", fmt.Sprintf("lib-1.0-2024010%d.120000-%d.%s", n, n, ext))
			}
		}
		put("1.0-SNAPSHOT", "maven-metadata.xml")
		put("1.0", "lib-1.0.jar")
		p, err := env.Service.AdminAddRetentionPolicy(ctx, "alice", packages.RetentionPolicy{Type: packages.TypeMaven, KeepBuilds: 1})
		must(t, err)
		dry, err := env.Service.RunRetention(ctx, "", true)
		must(t, err)
		if len(dry.Files) != 4 || len(dry.Versions) != 0 {
			t.Fatalf("dry run: files %+v, versions %d", dry.Files, len(dry.Versions))
		}
		rep, err := env.Service.RunRetention(ctx, "", false)
		must(t, err)
		if len(rep.Files) != 4 || rep.Files[0].PolicyID != p.ID {
			t.Fatalf("run: files %+v", rep.Files)
		}
		_, _, files, err := env.Service.VersionFiles(ctx, a, r, "1.0-SNAPSHOT")
		must(t, err)
		var names []string
		for _, f := range files {
			names = append(names, f.Name)
		}
		slices.Sort(names)
		if want := []string{"lib-1.0-20240103.120000-3.jar", "lib-1.0-20240103.120000-3.pom", "maven-metadata.xml"}; !slices.Equal(names, want) {
			t.Errorf("files left %v, want %v", names, want)
		}
		if _, _, files, err := env.Service.VersionFiles(ctx, a, r, "1.0"); err != nil || len(files) != 1 {
			t.Errorf("the release's files: %v, %v", files, err)
		}
	})
}

// TestRetentionPolicyAccess checks who manages an owner's policies.
func TestRetentionPolicyAccess(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		env.User("alice")
		env.User("bob")
		env.User("carol")
		env.Org("acme", "alice")
		env.Member("acme", "bob", packages.OrgMember)
		alice := env.Actor(env.Token("alice", "read:packages,delete:packages"))
		aliceRead := env.Actor(env.Token("alice", "read:packages"))
		bob := env.Actor(env.Token("bob", "read:packages,delete:packages"))
		carol := env.Actor(env.Token("carol", "read:packages,delete:packages"))
		org := packages.RetentionOwner{Login: "acme", Scope: packages.OrgPath}
		self := packages.RetentionOwner{Scope: packages.SelfPath}
		policy := packages.RetentionPolicy{Type: packages.TypeNpm, KeepNewest: 5}

		p, err := env.Service.AddRetentionPolicy(ctx, alice, org, policy)
		wantKind(t, err, ok)
		_, err = env.Service.AddRetentionPolicy(ctx, aliceRead, org, policy)
		wantKind(t, err, packages.KindForbidden)
		_, err = env.Service.AddRetentionPolicy(ctx, bob, org, policy)
		wantKind(t, err, packages.KindForbidden)
		_, err = env.Service.AddRetentionPolicy(ctx, nil, org, policy)
		wantKind(t, err, packages.KindUnauthenticated)
		_, err = env.Service.AddRetentionPolicy(ctx, alice, packages.RetentionOwner{Login: "alice", Scope: packages.OrgPath}, policy)
		wantKind(t, err, packages.KindNotFound)
		_, err = env.Service.AddRetentionPolicy(ctx, alice, org, packages.RetentionPolicy{Type: packages.TypeNpm})
		wantKind(t, err, packages.KindInvalid)

		list, err := env.Service.RetentionPolicies(ctx, aliceRead, org)
		wantKind(t, err, ok)
		if len(list) != 1 || list[0].ID != p.ID || list[0].CreatedBy != alice.User.ID {
			t.Errorf("list %+v", list)
		}
		_, err = env.Service.RetentionPolicies(ctx, bob, org)
		wantKind(t, err, packages.KindForbidden)

		// Carol's own policies are hers alone.
		mine, err := env.Service.AddRetentionPolicy(ctx, carol, self, policy)
		wantKind(t, err, ok)
		wantKind(t, env.Service.RemoveRetentionPolicy(ctx, alice, org, mine.ID), packages.KindNotFound)
		wantKind(t, env.Service.RemoveRetentionPolicy(ctx, carol, self, p.ID), packages.KindNotFound)
		wantKind(t, env.Service.RemoveRetentionPolicy(ctx, carol, self, mine.ID), ok)
		wantKind(t, env.Service.RemoveRetentionPolicy(ctx, carol, self, mine.ID), packages.KindNotFound)
		wantKind(t, env.Service.RemoveRetentionPolicy(ctx, alice, org, p.ID), ok)
	})
}
