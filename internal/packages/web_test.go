package packages_test

import (
	"strings"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

func TestSessions(t *testing.T) { testenv.Each(t, testSessions) }

func testSessions(t *testing.T, env *testenv.Env) {
	env.User("alice")
	svc := env.Service
	tok := env.Token("alice", "read:packages")
	secret, sess, a, err := svc.SignIn(ctx, " "+tok+"\n")
	must(t, err)
	if a.User.Login != "alice" || !strings.HasPrefix(secret, "phs_") || strings.Contains(sess.Hash, secret) {
		t.Fatalf("SignIn: %q %+v %+v", secret, sess, a.User)
	}
	if want := env.Clock.Now().Add(packages.SessionLifetime); !sess.ExpiresAt.Equal(want) {
		t.Fatalf("ExpiresAt %v, want %v", sess.ExpiresAt, want)
	}
	_, got, err := svc.SessionActor(ctx, secret)
	must(t, err)
	if got.User.ID != a.User.ID || got.Token.ID != a.Token.ID || !got.HasScope(packages.ScopeReadPackages) {
		t.Fatalf("SessionActor: %+v", got)
	}
	for _, bad := range []string{"", "phs_", "phs_" + strings.Repeat("A", 43), tok, secret + "x"} {
		_, _, err := svc.SessionActor(ctx, bad)
		wantKind(t, err, packages.KindBadCredentials)
	}
	must(t, svc.SignOut(ctx, secret))
	must(t, svc.SignOut(ctx, secret))
	_, _, err = svc.SessionActor(ctx, secret)
	wantKind(t, err, packages.KindBadCredentials)

	// Bad tokens, and tokens that cannot read packages, do not sign in.
	_, _, _, err = svc.SignIn(ctx, "ghp_nothing")
	wantKind(t, err, packages.KindBadCredentials)
	_, _, _, err = svc.SignIn(ctx, env.Token("alice", "delete:packages"))
	wantMessage(t, err, packages.KindForbidden, packages.MsgSignInScope)
	_, _, _, err = svc.SignIn(ctx, env.Token("alice", "write:packages"))
	must(t, err)

	// A session ends with its token, and lasts no longer than it.
	short, st, err := svc.CreateToken(ctx, "alice", []string{"read:packages"}, "", time.Hour)
	must(t, err)
	secret, sess, _, err = svc.SignIn(ctx, short)
	must(t, err)
	if !sess.ExpiresAt.Equal(*st.ExpiresAt) {
		t.Fatalf("session of a token expiring at %v expires at %v", st.ExpiresAt, sess.ExpiresAt)
	}
	other, _, _, err := svc.SignIn(ctx, tok)
	must(t, err)
	_, _, err = svc.RevokeToken(ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = svc.SessionActor(ctx, secret)
	wantKind(t, err, packages.KindBadCredentials)
	_, _, err = svc.SessionActor(ctx, other)
	must(t, err)
	env.Clock.Advance(packages.SessionLifetime)
	_, _, err = svc.SessionActor(ctx, other)
	wantKind(t, err, packages.KindBadCredentials)
}

// TestViaWeb: anonymous visitors read public packages; what they may
// not read answers as missing, and a change asks them to sign in whether
// the package exists or not.
func TestViaWeb(t *testing.T) { testenv.Each(t, testViaWeb) }

func testViaWeb(t *testing.T, env *testenv.Env) {
	env.User("alice")
	env.User("bob")
	env.Org("acme", "alice")
	env.User("mem")
	env.Member("acme", "mem", packages.OrgMember)
	alice := env.Token("alice", allScopes)
	aa := env.Actor(alice)
	svc := env.Service
	env.Publish(alice, ref("alice", packages.TypeNpm, "pub"), "", "1.0.0")
	env.Publish(alice, ref("alice", packages.TypeNpm, "priv"), "", "1.0.0")
	env.Publish(alice, ref("acme", packages.TypeNpm, "inner"), "", "1.0.0")
	must(t, svc.SetPackageVisibility(ctx, aa, ref("alice", packages.TypeNpm, "pub"), packages.Public))
	must(t, svc.SetPackageVisibility(ctx, aa, ref("acme", packages.TypeNpm, "inner"), packages.Internal))

	_, err := svc.GetPackage(ctx, nil, userRef("alice", packages.TypeNpm, "pub"), packages.OpRead, packages.ViaWeb)
	must(t, err)
	_, err = svc.GetPackage(ctx, nil, userRef("alice", packages.TypeNpm, "pub"), packages.OpRead, packages.ViaREST)
	wantKind(t, err, packages.KindUnauthenticated)
	for _, name := range []string{"priv", "missing"} {
		_, err := svc.GetPackage(ctx, nil, userRef("alice", packages.TypeNpm, name), packages.OpRead, packages.ViaWeb)
		wantMessage(t, err, packages.KindNotFound, packages.MsgPackageNotFound)
		wantKind(t, svc.Allowed(ctx, nil, userRef("alice", packages.TypeNpm, name), packages.OpDelete, packages.ViaWeb), packages.KindUnauthenticated)
		wantKind(t, svc.DeleteVersion(ctx, nil, userRef("alice", packages.TypeNpm, name), 1, packages.ViaWeb), packages.KindUnauthenticated)
	}
	wantKind(t, svc.Allowed(ctx, nil, userRef("alice", packages.TypeNpm, "pub"), packages.OpDelete, packages.ViaWeb), packages.KindUnauthenticated)
	wantKind(t, svc.Allowed(ctx, aa, userRef("alice", packages.TypeNpm, "priv"), packages.OpDelete, packages.ViaWeb), ok)
	bob := env.Actor(env.Token("bob", "read:packages"))
	wantKind(t, svc.Allowed(ctx, bob, userRef("alice", packages.TypeNpm, "priv"), packages.OpRead, packages.ViaWeb), packages.KindNotFound)
	wantKind(t, svc.Allowed(ctx, bob, userRef("alice", packages.TypeNpm, "pub"), packages.OpDelete, packages.ViaWeb), packages.KindForbidden)

	list := func(a *packages.Actor, owner string, scope packages.OwnerScope) []string {
		t.Helper()
		ps, _, err := svc.ListPackages(ctx, a, packages.ListPackagesRequest{Owner: owner, Scope: scope, Via: packages.ViaWeb})
		must(t, err)
		var names []string
		for _, p := range ps {
			names = append(names, p.Name)
		}
		return names
	}
	if got := strings.Join(list(nil, "alice", packages.UserPath), ","); got != "pub" {
		t.Fatalf("anonymous list: %s", got)
	}
	if got := strings.Join(list(aa, "alice", packages.UserPath), ","); got != "pub,priv" {
		t.Fatalf("owner's list: %s", got)
	}
	mem := env.Actor(env.Token("mem", "read:packages"))
	if got := strings.Join(list(mem, "acme", packages.OrgPath), ","); got != "inner" {
		t.Fatalf("member's list: %s", got)
	}
	if got := strings.Join(list(nil, "acme", packages.OrgPath), ","); got != "" {
		t.Fatalf("anonymous org list: %s", got)
	}
	// A token that cannot read the type lists what anyone may read.
	noRead := env.Actor(env.Token("alice", "delete:packages"))
	if got := strings.Join(list(noRead, "alice", packages.UserPath), ","); got != "pub" {
		t.Fatalf("list for a token without read:packages: %s", got)
	}
	// The REST API still asks for a token.
	_, _, err = svc.ListPackages(ctx, nil, packages.ListPackagesRequest{Owner: "alice", Scope: packages.UserPath, Type: packages.TypeNpm})
	wantKind(t, err, packages.KindUnauthenticated)
}

func TestDeletedPackages(t *testing.T) { testenv.Each(t, testDeletedPackages) }

func testDeletedPackages(t *testing.T, env *testenv.Env) {
	env.User("alice")
	env.User("bob")
	env.Org("acme", "alice")
	env.Member("acme", "bob", packages.OrgMember)
	alice := env.Token("alice", allScopes)
	aa, bob := env.Actor(alice), env.Actor(env.Token("bob", allScopes))
	svc := env.Service
	for _, n := range []string{"a", "b", "old"} {
		env.Publish(alice, ref("acme", packages.TypeNpm, n), "", "1.0.0")
	}
	must(t, svc.DeletePackage(ctx, aa, orgRef("acme", packages.TypeNpm, "old"), packages.ViaREST))
	env.Clock.Advance(31 * 24 * time.Hour)
	must(t, svc.DeletePackage(ctx, aa, orgRef("acme", packages.TypeNpm, "a"), packages.ViaREST))
	must(t, svc.DeletePackage(ctx, aa, orgRef("acme", packages.TypeNpm, "b"), packages.ViaREST))
	env.Publish(alice, ref("acme", packages.TypeNpm, "b"), "", "2.0.0")

	req := packages.ListPackagesRequest{Owner: "acme", Scope: packages.OrgPath, Page: packages.Page{Page: 1, PerPage: 30}}
	dps, total, err := svc.DeletedPackages(ctx, aa, req)
	must(t, err)
	if total != 2 || len(dps) != 2 {
		t.Fatalf("deleted: %d %+v", total, dps)
	}
	byName := map[string]packages.DeletedPackage{}
	for _, d := range dps {
		byName[d.Name] = d
	}
	if !byName["a"].Restorable || byName["b"].Restorable || !strings.Contains(byName["b"].Reason, "taken") {
		t.Fatalf("restorable: %+v", byName)
	}
	if want := byName["a"].DeletedAt.Add(30 * 24 * time.Hour); !byName["a"].RestoreUntil.Equal(want) {
		t.Fatalf("RestoreUntil %v, want %v", byName["a"].RestoreUntil, want)
	}
	_, _, err = svc.DeletedPackages(ctx, bob, req)
	wantKind(t, err, packages.KindNotFound)
	_, _, err = svc.DeletedPackages(ctx, nil, req)
	wantKind(t, err, packages.KindUnauthenticated)

	pi, err := svc.GetPackage(ctx, aa, orgRef("acme", packages.TypeNpm, "b"), packages.OpRead, packages.ViaWeb)
	must(t, err)
	if got := svc.VisibilityChoices(pi); len(got) != 3 {
		t.Fatalf("choices of a private org npm package: %v", got)
	}
	must(t, svc.SetPackageVisibility(ctx, aa, orgRef("acme", packages.TypeNpm, "b"), packages.Public))
	pi, _ = svc.GetPackage(ctx, aa, orgRef("acme", packages.TypeNpm, "b"), packages.OpRead, packages.ViaWeb)
	if got := svc.VisibilityChoices(pi); len(got) != 1 || got[0] != packages.Public {
		t.Fatalf("choices of a public package: %v", got)
	}
}

func TestRepositoryPackages(t *testing.T) { testenv.Each(t, testRepositoryPackages) }

func testRepositoryPackages(t *testing.T, env *testenv.Env) {
	env.User("alice")
	env.User("bob")
	env.Repo("alice/open", packages.Public)
	env.Repo("alice/closed", packages.Private)
	alice := env.Token("alice", allScopes)
	svc := env.Service
	env.Publish(alice, ref("alice", packages.TypeMaven, "com.example.open"), "alice/open", "1.0")
	env.Publish(alice, ref("alice", packages.TypeMaven, "com.example.closed"), "alice/closed", "1.0")
	_, _, ps, total, err := svc.RepositoryPackages(ctx, nil, "alice/open", "", packages.Page{Page: 1, PerPage: 30})
	must(t, err)
	if total != 1 || ps[0].Name != "com.example.open" {
		t.Fatalf("open repository: %d %+v", total, ps)
	}
	openID := ps[0].ID
	bob := env.Actor(env.Token("bob", "read:packages,repo"))
	for _, a := range []*packages.Actor{nil, bob} {
		_, _, _, _, err = svc.RepositoryPackages(ctx, a, "alice/closed", "", packages.Page{Page: 1, PerPage: 30})
		wantKind(t, err, packages.KindNotFound)
		_, _, _, _, err = svc.RepositoryPackages(ctx, a, "alice/none", "", packages.Page{Page: 1, PerPage: 30})
		wantKind(t, err, packages.KindNotFound)
	}
	_, _, ps, _, err = svc.RepositoryPackages(ctx, env.Actor(alice), "alice/closed", "", packages.Page{Page: 1, PerPage: 30})
	must(t, err)
	if len(ps) != 1 {
		t.Fatalf("owner's closed repository: %+v", ps)
	}
	pi, err := svc.RepositoryPackage(ctx, nil, "alice/open", openID)
	must(t, err)
	if pi.Name != "com.example.open" {
		t.Fatalf("RepositoryPackage named %s", pi.Name)
	}
	// The closed repository's package, through the open one: missing.
	_, err = svc.RepositoryPackage(ctx, nil, "alice/open", ps[0].ID)
	wantKind(t, err, packages.KindNotFound)
	_, err = svc.RepositoryPackage(ctx, env.Actor(alice), "alice/closed", ps[0].ID)
	must(t, err)
}
