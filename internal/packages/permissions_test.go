package packages_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

// world is a small population of users, an organization, repositories and
// packages that the permission tables run against.
type world struct {
	env    *testenv.Env
	actors map[string]*packages.Actor
}

// actor returns an actor for user with a token of the given scopes; user ""
// is the anonymous caller.
func (w *world) actor(user, scopes string) *packages.Actor {
	if user == "" {
		return nil
	}
	key := user + "|" + scopes
	if a, ok := w.actors[key]; ok {
		return a
	}
	a := w.env.Actor(w.env.Token(user, scopes))
	w.actors[key] = a
	return a
}

func newWorld(t *testing.T, env *testenv.Env) *world {
	t.Helper()
	w := &world{env: env, actors: map[string]*packages.Actor{}}
	for _, u := range []string{"alice", "bob", "carol", "carolw", "carola", "oadmin", "mem", "mem2", "reader", "writer"} {
		env.User(u)
	}
	env.Org("acme", "oadmin")
	env.Member("acme", "mem", packages.OrgMember)
	env.Member("acme", "mem2", packages.OrgMember)
	env.Repo("alice/lib", packages.Private)
	env.Repo("alice/pub", packages.Public)
	env.Repo("bob/bobpub", packages.Public)
	env.Repo("acme/inner", packages.Internal)
	must(t, env.Service.AddCollaborator(ctx, "alice/lib", "reader", packages.RoleRead))
	must(t, env.Service.AddCollaborator(ctx, "alice/lib", "writer", packages.RoleWrite))

	alice := env.Token("alice", allScopes)
	oadmin := env.Token("oadmin", allScopes)
	env.Publish(alice, ref("alice", packages.TypeNpm, "priv"), "", "1.0.0")
	env.Publish(alice, ref("alice", packages.TypeNpm, "pub"), "alice/pub", "1.0.0")
	env.Publish(alice, ref("alice", packages.TypeMaven, "com.x:lib"), "alice/lib", "1.0")
	env.Publish(alice, ref("alice", packages.TypeMaven, "com.x:open"), "alice/pub", "1.0")
	env.Publish(oadmin, ref("acme", packages.TypeNpm, "org-priv"), "", "1.0.0")
	env.Publish(oadmin, ref("acme", packages.TypeNpm, "org-internal"), "", "1.0.0")
	env.Publish(oadmin, ref("acme", packages.TypeMaven, "com.acme:inner"), "acme/inner", "1.0")

	aa := env.Actor(alice)
	for user, role := range map[string]packages.Role{"carol": packages.RoleRead, "carolw": packages.RoleWrite, "carola": packages.RoleAdmin} {
		must(t, env.Service.GrantPackageAccess(ctx, aa, ref("alice", packages.TypeNpm, "priv"), user, role))
	}
	must(t, env.Service.SetPackageVisibility(ctx, env.Actor(oadmin), ref("acme", packages.TypeNpm, "org-internal"), packages.Internal))
	must(t, env.Service.GrantPackageAccess(ctx, env.Actor(oadmin), ref("acme", packages.TypeNpm, "org-priv"), "carola", packages.RoleAdmin))
	return w
}

func opName(op packages.Op) string {
	return [...]string{"read", "write", "delete", "restore"}[op]
}

func viaName(v packages.Via) string {
	if v == packages.ViaRegistry {
		return "registry"
	}
	return "rest"
}

func TestAuthorization(t *testing.T) {
	t.Parallel()
	const (
		rd  = "read:packages"
		wr  = "write:packages"
		del = "delete:packages"
	)
	npm, maven := packages.TypeNpm, packages.TypeMaven
	rest, reg := packages.ViaREST, packages.ViaRegistry
	read, write, dele, restore := packages.OpRead, packages.OpWrite, packages.OpDelete, packages.OpRestore
	cases := []struct {
		pkg    packages.PackageRef
		user   string // "" is anonymous
		scopes string
		op     packages.Op
		via    packages.Via
		want   packages.Kind
	}{
		// Scopes: write implies read; delete needs read too; restore
		// needs read and write.
		{userRef("alice", npm, "priv"), "alice", rd, read, rest, ok},
		{userRef("alice", npm, "priv"), "alice", wr, read, rest, ok},
		{userRef("alice", npm, "priv"), "alice", del, read, rest, packages.KindForbidden},
		{userRef("alice", npm, "priv"), "alice", "", read, rest, packages.KindForbidden},
		{userRef("alice", npm, "priv"), "alice", rd, write, rest, packages.KindForbidden},
		{userRef("alice", npm, "priv"), "alice", wr, write, rest, ok},
		{userRef("alice", npm, "priv"), "alice", del, dele, rest, packages.KindForbidden},
		{userRef("alice", npm, "priv"), "alice", rd + "," + wr, dele, rest, packages.KindForbidden},
		{userRef("alice", npm, "priv"), "alice", rd + "," + del, dele, rest, ok},
		{userRef("alice", npm, "priv"), "alice", wr + "," + del, dele, rest, ok},
		{userRef("alice", npm, "priv"), "alice", rd + "," + del, restore, rest, packages.KindForbidden},
		{userRef("alice", npm, "priv"), "alice", wr, restore, rest, ok},
		{userRef("alice", npm, "priv"), "alice", rd, read, reg, ok},
		{userRef("alice", npm, "priv"), "alice", "", read, reg, packages.KindForbidden},
		// /orgs/{org} names only organizations; /users/{username}, as on
		// GitHub, names organizations too, and their rules stay the
		// organization's: only its admins delete and restore on the REST
		// API, a package admin deletes through its registry.
		{orgRef("alice", npm, "priv"), "alice", rd, read, rest, packages.KindNotFound},
		{userRef("acme", npm, "org-priv"), "oadmin", rd, read, rest, ok},
		{userRef("acme", npm, "org-priv"), "oadmin", allScopes, dele, rest, ok},
		{userRef("acme", npm, "org-priv"), "oadmin", allScopes, restore, rest, ok},
		{userRef("acme", npm, "org-priv"), "mem", allScopes, read, rest, packages.KindNotFound},
		{userRef("acme", npm, "org-internal"), "mem", allScopes, read, rest, ok},
		{userRef("acme", npm, "org-internal"), "mem", allScopes, dele, rest, packages.KindForbidden},
		{userRef("acme", npm, "org-priv"), "carola", allScopes, read, rest, ok},
		{userRef("acme", npm, "org-priv"), "carola", allScopes, dele, rest, packages.KindForbidden},
		{userRef("acme", npm, "org-priv"), "carola", allScopes, restore, rest, packages.KindForbidden},
		{orgRef("acme", npm, "org-priv"), "carola", allScopes, dele, rest, packages.KindForbidden},
		{ref("acme", npm, "org-priv"), "carola", allScopes, dele, reg, ok},
		// A stranger cannot see a private package: 404, whatever the op.
		{userRef("alice", npm, "priv"), "bob", allScopes, read, rest, packages.KindNotFound},
		{userRef("alice", npm, "priv"), "bob", allScopes, dele, rest, packages.KindNotFound},
		{ref("alice", npm, "priv"), "bob", allScopes, read, reg, packages.KindNotFound},
		{ref("alice", npm, "priv"), "bob", allScopes, write, reg, packages.KindNotFound},
		// A token without the scopes learns nothing of what its user
		// cannot see.
		{ref("alice", npm, "priv"), "bob", "", read, reg, packages.KindNotFound},
		{ref("alice", npm, "nope"), "bob", "", read, reg, packages.KindNotFound},
		// A stranger sees a public package but may not change it: 403.
		{userRef("alice", npm, "pub"), "bob", allScopes, read, rest, ok},
		{userRef("alice", npm, "pub"), "bob", allScopes, write, rest, packages.KindForbidden},
		{userRef("alice", npm, "pub"), "bob", allScopes, dele, rest, packages.KindForbidden},
		{userRef("alice", npm, "pub"), "bob", allScopes, restore, rest, packages.KindForbidden},
		{ref("alice", npm, "pub"), "bob", "", read, reg, ok},
		{userRef("alice", npm, "pub"), "bob", "", read, rest, packages.KindForbidden},
		// Package grants.
		{userRef("alice", npm, "priv"), "carol", allScopes, read, rest, ok},
		{userRef("alice", npm, "priv"), "carol", allScopes, write, rest, packages.KindForbidden},
		{userRef("alice", npm, "priv"), "carol", allScopes, dele, rest, packages.KindForbidden},
		{userRef("alice", npm, "priv"), "carolw", allScopes, write, rest, ok},
		{userRef("alice", npm, "priv"), "carolw", allScopes, dele, rest, packages.KindForbidden},
		{userRef("alice", npm, "priv"), "carola", allScopes, dele, rest, ok},
		{userRef("alice", npm, "priv"), "carola", allScopes, restore, rest, ok},
		// Anonymous callers.
		{ref("alice", npm, "pub"), "", "", read, reg, ok},
		{ref("alice", npm, "pub"), "", "", write, reg, packages.KindUnauthenticated},
		// A private package is, to an anonymous registry read, exactly
		// a missing one.
		{ref("alice", npm, "priv"), "", "", read, reg, packages.KindNotFound},
		{ref("alice", npm, "nope"), "", "", read, reg, packages.KindNotFound},
		{userRef("alice", npm, "pub"), "", "", read, rest, packages.KindUnauthenticated},
		{ref("acme", npm, "org-internal"), "", "", read, reg, packages.KindNotFound},
		// Organizations: admins do everything, members see internal
		// packages only, outsiders see nothing private.
		{orgRef("acme", npm, "org-priv"), "oadmin", allScopes, dele, rest, ok},
		{orgRef("acme", npm, "org-priv"), "mem", allScopes, read, rest, packages.KindNotFound},
		{orgRef("acme", npm, "org-internal"), "mem", allScopes, read, rest, ok},
		{orgRef("acme", npm, "org-internal"), "mem", allScopes, write, rest, packages.KindForbidden},
		{orgRef("acme", npm, "org-internal"), "mem", allScopes, dele, rest, packages.KindForbidden},
		{orgRef("acme", npm, "org-internal"), "bob", allScopes, read, rest, packages.KindNotFound},
		{ref("acme", npm, "org-internal"), "bob", allScopes, read, reg, packages.KindNotFound},
		// Repository-scoped packages need the repo scope and follow the
		// repository's collaborators.
		{userRef("alice", maven, "com.x:lib"), "alice", rd, read, rest, packages.KindForbidden},
		{userRef("alice", maven, "com.x:lib"), "alice", rd + ",repo", read, rest, ok},
		{userRef("alice", maven, "com.x:lib"), "alice", rd + "," + del, dele, rest, packages.KindForbidden},
		{userRef("alice", maven, "com.x:lib"), "alice", rd + "," + del + ",repo", dele, rest, ok},
		{userRef("alice", maven, "com.x:lib"), "reader", allScopes, read, rest, ok},
		{userRef("alice", maven, "com.x:lib"), "reader", allScopes, write, rest, packages.KindForbidden},
		{userRef("alice", maven, "com.x:lib"), "writer", allScopes, write, rest, ok},
		{userRef("alice", maven, "com.x:lib"), "writer", allScopes, dele, rest, packages.KindForbidden},
		{userRef("alice", maven, "com.x:lib"), "bob", allScopes, read, rest, packages.KindNotFound},
		{ref("alice", maven, "com.x:lib"), "", "", read, reg, packages.KindNotFound},
		{ref("alice", maven, "com.x:open"), "", "", read, reg, ok},
		{ref("alice", maven, "com.x:open"), "bob", rd, read, reg, ok},
		{userRef("alice", maven, "com.x:open"), "bob", rd, read, rest, packages.KindForbidden},
		{userRef("alice", maven, "com.x:open"), "bob", rd + ",repo", read, rest, ok},
		{orgRef("acme", maven, "com.acme:inner"), "mem", allScopes, read, rest, ok},
		{orgRef("acme", maven, "com.acme:inner"), "mem", allScopes, write, rest, packages.KindForbidden},
		{orgRef("acme", maven, "com.acme:inner"), "bob", allScopes, read, rest, packages.KindNotFound},
		{orgRef("acme", maven, "com.acme:inner"), "oadmin", allScopes, dele, rest, ok},
	}
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		w := newWorld(t, env)
		for i, c := range cases {
			user := c.user
			if user == "" {
				user = "anonymous"
			}
			name := fmt.Sprintf("%02d/%s/%s/%s[%s]/%s", i, user, opName(c.op), c.pkg.Name, c.scopes, viaName(c.via))
			t.Run(name, func(t *testing.T) {
				_, err := env.Service.GetPackage(ctx, w.actor(c.user, c.scopes), c.pkg, c.op, c.via)
				wantKind(t, err, c.want)
			})
		}
	})
}

func TestCreatePackage(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name           string
		user           string
		scopes         string
		pkg            packages.PackageRef
		repository     string
		want           packages.Kind
		wantVisibility packages.Visibility
		wantRepo       string // "" when not linked
		wantGrant      bool   // the creator gets an admin grant
	}{
		{"owner, no repository", "alice", allScopes, ref("alice", packages.TypeNpm, "a1"), "", ok, packages.Private, "", false},
		{"linked to a public repository", "alice", allScopes, ref("alice", packages.TypeNpm, "a2"), "alice/pub", ok, packages.Public, "pub", false},
		{"repository without owner", "alice", allScopes, ref("alice", packages.TypeNpm, "a3"), "pub", ok, packages.Public, "pub", false},
		{"linked to a private repository", "alice", allScopes, ref("alice", packages.TypeNpm, "a4"), "alice/lib", ok, packages.Private, "lib", false},
		{"another owner's repository", "alice", allScopes, ref("alice", packages.TypeNpm, "a5"), "bob/bobpub", ok, packages.Private, "", false},
		{"missing repository", "alice", allScopes, ref("alice", packages.TypeNpm, "a6"), "alice/nope", ok, packages.Private, "", false},
		{"container, public repository", "alice", allScopes, ref("alice", packages.TypeContainer, "img"), "alice/pub", ok, packages.Public, "pub", false},
		{"stranger in a user namespace", "bob", allScopes, ref("alice", packages.TypeNpm, "b1"), "", packages.KindForbidden, "", "", false},
		{"stranger in an organization", "bob", allScopes, ref("acme", packages.TypeNpm, "b2"), "", packages.KindForbidden, "", "", false},
		{"organization member", "mem", allScopes, ref("acme", packages.TypeNpm, "m1"), "", ok, packages.Private, "", true},
		{"organization member, container", "mem", allScopes, ref("acme", packages.TypeContainer, "m2"), "", ok, packages.Private, "", true},
		{"organization admin", "oadmin", allScopes, ref("acme", packages.TypeNpm, "o1"), "", ok, packages.Private, "", true},
		{"without write scope", "alice", "read:packages,delete:packages", ref("alice", packages.TypeNpm, "s1"), "", packages.KindForbidden, "", "", false},
		{"anonymous", "", "", ref("alice", packages.TypeNpm, "anon"), "", packages.KindUnauthenticated, "", "", false},
		{"unknown owner", "alice", allScopes, ref("nobody", packages.TypeNpm, "x"), "", packages.KindNotFound, "", "", false},
		{"bad name", "alice", allScopes, ref("alice", packages.TypeNpm, "../x"), "", packages.KindInvalid, "", "", false},
		// Repository-scoped types: the repository decides.
		{"maven, private repository", "alice", allScopes, ref("alice", packages.TypeMaven, "g:a1"), "alice/lib", ok, packages.Private, "lib", false},
		{"maven, public repository", "alice", allScopes, ref("alice", packages.TypeMaven, "g:a2"), "alice/pub", ok, packages.Public, "pub", false},
		{"maven without repository", "alice", allScopes, ref("alice", packages.TypeMaven, "g:a3"), "", packages.KindNotFound, "", "", false},
		{"maven, another owner's repository", "alice", allScopes, ref("alice", packages.TypeMaven, "g:a4"), "bob/bobpub", packages.KindNotFound, "", "", false},
		{"maven without repo scope", "alice", "read:packages,write:packages", ref("alice", packages.TypeMaven, "g:a5"), "alice/lib", packages.KindForbidden, "", "", false},
		{"maven, write collaborator", "writer", allScopes, ref("alice", packages.TypeMaven, "g:w"), "alice/lib", ok, packages.Private, "lib", false},
		{"maven, read collaborator", "reader", allScopes, ref("alice", packages.TypeMaven, "g:r"), "alice/lib", packages.KindForbidden, "", "", false},
		{"maven, stranger on a private repository", "bob", allScopes, ref("alice", packages.TypeMaven, "g:b"), "alice/lib", packages.KindNotFound, "", "", false},
		{"maven, stranger on a public repository", "bob", allScopes, ref("alice", packages.TypeMaven, "g:bp"), "alice/pub", packages.KindForbidden, "", "", false},
		{"maven, org member on an internal repository", "mem", allScopes, ref("acme", packages.TypeMaven, "g:m"), "acme/inner", packages.KindForbidden, "", "", false},
	}
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		w := newWorld(t, env)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				a := w.actor(c.user, c.scopes)
				req := packages.PublishRequest{Package: c.pkg, Version: "1.0.0", Repository: c.repository}
				if c.user != "" {
					req.Files = []packages.File{putBlob(t, env, "f", c.name)}
				}
				p, err := env.Service.Publish(ctx, a, req)
				wantKind(t, err, c.want)
				if err != nil {
					return
				}
				if !p.PackageCreated || !p.VersionCreated {
					t.Fatalf("created package %v, version %v; want both", p.PackageCreated, p.VersionCreated)
				}
				pi, err := env.Service.GetPackage(ctx, a, c.pkg, packages.OpRead, packages.ViaRegistry)
				must(t, err)
				if pi.Visibility != c.wantVisibility {
					t.Errorf("visibility %s, want %s", pi.Visibility, c.wantVisibility)
				}
				gotRepo := ""
				if pi.Repository != nil {
					gotRepo = pi.Repository.Name
				}
				if gotRepo != c.wantRepo {
					t.Errorf("linked to %q, want %q", gotRepo, c.wantRepo)
				}
				role, err := env.Store.GetPackageAccess(ctx, p.Package.ID, a.User.ID)
				must(t, err)
				if (role == packages.RoleAdmin) != c.wantGrant {
					t.Errorf("creator's grant is %s, want admin: %v", role, c.wantGrant)
				}
			})
		}

		t.Run("member-created package", func(t *testing.T) {
			r := ref("acme", packages.TypeNpm, "by-member")
			mem := w.actor("mem", allScopes)
			publishReq(t, env, mem, packages.PublishRequest{Package: r, Version: "1.0.0"})
			// The creator administers it through the registry...
			_, err := env.Service.GetPackage(ctx, mem, r, packages.OpDelete, packages.ViaRegistry)
			wantKind(t, err, ok)
			// ...but deleting through the organization's REST path takes
			// an organization admin.
			or := orgRef("acme", packages.TypeNpm, "by-member")
			wantKind(t, env.Service.DeletePackage(ctx, mem, or, packages.ViaREST), packages.KindForbidden)
			// Other members do not see the private package.
			_, err = env.Service.GetPackage(ctx, w.actor("mem2", allScopes), or, packages.OpRead, packages.ViaREST)
			wantKind(t, err, packages.KindNotFound)
			// Another member may not publish to it either.
			_, err = env.Service.Publish(ctx, w.actor("mem2", allScopes), packages.PublishRequest{Package: r, Version: "2.0.0",
				Files: []packages.File{putBlob(t, env, "f", "mem2")}})
			wantKind(t, err, packages.KindNotFound)
			// The org admin may.
			must(t, env.Service.DeletePackage(ctx, w.actor("oadmin", allScopes), or, packages.ViaREST))
			must(t, env.Service.RestorePackage(ctx, w.actor("oadmin", allScopes), or, packages.ViaREST))
		})

		t.Run("publish to an existing package", func(t *testing.T) {
			cases := []struct {
				user string
				pkg  packages.PackageRef
				want packages.Kind
			}{
				{"carolw", ref("alice", packages.TypeNpm, "priv"), ok},
				{"carol", ref("alice", packages.TypeNpm, "priv"), packages.KindForbidden},
				// A package bob cannot see answers as a missing one: he may
				// not create packages in alice's namespace.
				{"bob", ref("alice", packages.TypeNpm, "priv"), packages.KindForbidden},
				{"bob", ref("alice", packages.TypeNpm, "nope"), packages.KindForbidden},
				{"bob", ref("alice", packages.TypeNpm, "pub"), packages.KindForbidden},
				{"mem", ref("acme", packages.TypeNpm, "org-internal"), packages.KindForbidden},
				{"mem", ref("acme", packages.TypeNpm, "org-priv"), packages.KindNotFound},
				{"oadmin", ref("acme", packages.TypeNpm, "org-priv"), ok},
				{"writer", ref("alice", packages.TypeMaven, "com.x:lib"), ok},
				{"reader", ref("alice", packages.TypeMaven, "com.x:lib"), packages.KindForbidden},
			}
			for i, c := range cases {
				t.Run(fmt.Sprintf("%s/%s", c.user, c.pkg.Name), func(t *testing.T) {
					repository := ""
					if sp, _ := env.Service.Spec(c.pkg.Type); !sp.Granular() {
						repository = "alice/lib"
					}
					_, err := env.Service.Publish(ctx, w.actor(c.user, allScopes), packages.PublishRequest{
						Package: c.pkg, Version: fmt.Sprintf("9.0.%d", i), Repository: repository,
						Files: []packages.File{putBlob(t, env, "f", fmt.Sprint("existing", i))}})
					wantKind(t, err, c.want)
				})
			}
		})
	})
}

// TestRepositoryScopedPackageStaysInItsRepository: a maven or docker
// package belongs to the repository it was first published through; a
// publish through another repository is refused, even by the owner.
func TestRepositoryScopedPackageStaysInItsRepository(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		env.User("octo")
		env.Repo("octo/one", packages.Private)
		env.Repo("octo/two", packages.Private)
		tok := env.Token("octo", "read:packages,write:packages,repo")
		ref := packages.PackageRef{Owner: "octo", Type: packages.TypeMaven, Name: "com.example.lib"}
		env.Publish(tok, ref, "octo/one", "1.0.0")
		d, n, err := env.Blobs.Put(context.Background(), strings.NewReader("jar"), "")
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			repo string
			want packages.Kind
		}{
			{"octo/two", packages.KindForbidden},
			{"octo/none", packages.KindForbidden},
		} {
			_, err := env.Service.Publish(context.Background(), env.Actor(tok), packages.PublishRequest{
				Package: ref, Version: "2.0.0", Repository: tc.repo,
				Files: []packages.File{{Name: "lib.jar", Digest: d, Size: n}},
			})
			if packages.KindOf(err) != tc.want {
				t.Fatalf("publish through %s: %v, want %v", tc.repo, err, tc.want)
			}
		}
		if _, err := env.Service.Publish(context.Background(), env.Actor(tok), packages.PublishRequest{
			Package: ref, Version: "2.0.0", Repository: "octo/one",
			Files: []packages.File{{Name: "lib.jar", Digest: d, Size: n}},
		}); err != nil {
			t.Fatalf("publish through its own repository: %v", err)
		}
	})
}

// TestHiddenAnswersAsMissing: a registry read (or push) of a package the
// caller may not see fails exactly as the same request for a package that
// does not exist, whoever the caller and whatever its token's scopes.
func TestHiddenAnswersAsMissing(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		w := newWorld(t, env)
		same := func(t *testing.T, what string, hidden, missing error) {
			t.Helper()
			if hidden == nil || packages.KindOf(hidden) != packages.KindOf(missing) ||
				packages.PublicMessage(hidden, "") != packages.PublicMessage(missing, "") {
				t.Errorf("%s: hidden %v (%s), missing %v (%s)", what, hidden, packages.KindOf(hidden), missing, packages.KindOf(missing))
			}
		}
		for _, c := range []struct {
			user, scopes string
			owner, name  string
			typ          packages.Type
		}{
			{"", "", "alice", "priv", packages.TypeNpm},
			{"", "", "acme", "org-internal", packages.TypeNpm},
			{"", "", "alice", "com.x:lib", packages.TypeMaven},
			{"bob", allScopes, "alice", "priv", packages.TypeNpm},
			{"bob", "", "alice", "priv", packages.TypeNpm},
			{"bob", "read:packages", "acme", "org-priv", packages.TypeNpm},
			{"mem", allScopes, "acme", "org-priv", packages.TypeNpm},
			{"bob", allScopes + ",repo", "alice", "com.x:lib", packages.TypeMaven},
		} {
			t.Run(c.user+"/"+c.owner+"/"+c.name, func(t *testing.T) {
				a := w.actor(c.user, c.scopes)
				hidden, missing := ref(c.owner, c.typ, c.name), ref(c.owner, c.typ, "nothing-"+c.name)
				read := map[string]func(r packages.PackageRef) error{
					"GetPackage": func(r packages.PackageRef) error {
						_, err := env.Service.GetPackage(ctx, a, r, packages.OpRead, packages.ViaRegistry)
						return err
					},
					"RegistryPackage": func(r packages.PackageRef) error {
						_, err := env.Service.RegistryPackage(ctx, a, r)
						return err
					},
					"ResolveTag": func(r packages.PackageRef) error {
						_, _, err := env.Service.ResolveTag(ctx, a, r, "latest")
						return err
					},
					"GetVersionByName": func(r packages.PackageRef) error {
						_, _, err := env.Service.GetVersionByName(ctx, a, r, "1.0.0", packages.ViaRegistry)
						return err
					},
					"ListTags": func(r packages.PackageRef) error {
						_, err := env.Service.ListTags(ctx, a, r, "", 0)
						return err
					},
					"RegistryManifest": func(r packages.PackageRef) error {
						_, _, _, err := env.Service.RegistryManifest(ctx, a, r, "latest", false, "file")
						return err
					},
					"RegistryBlob": func(r packages.PackageRef) error {
						_, _, err := env.Service.RegistryBlob(ctx, a, r, "alice/lib", "sha256:0")
						return err
					},
				}
				if c.user != "" && c.user != "mem" {
					// Callers who may not create packages there cannot tell
					// a taken name from a free one either.
					read["PushTarget"] = func(r packages.PackageRef) error {
						_, err := env.Service.PushTarget(ctx, a, r, "alice/lib")
						return err
					}
				}
				for name, fn := range read {
					same(t, name, fn(hidden), fn(missing))
				}
			})
		}
	})
}
