package storetest

import (
	"testing"
	"time"

	"github.com/packhub/packhub/internal/packages"
)

// Cases of what the web pages read and write: sessions, package grants,
// file totals, and the package filters the pages use.

func mkToken(t *testing.T, s packages.Store, u *packages.Owner, hash string) *packages.Token {
	t.Helper()
	tok := &packages.Token{UserID: u.ID, Hash: hash, Scopes: []string{"read:packages"}}
	ok(t, s.CreateToken(ctx(t), tok))
	return tok
}

func testSessions(t *testing.T, s packages.Store) {
	u := mkUser(t, s, "u")
	tok := mkToken(t, s, u, "tokhash")
	created := time.Date(2025, 1, 2, 3, 4, 5, 678901000, time.UTC)
	ss := &packages.Session{Hash: "h1", UserID: u.ID, TokenID: tok.ID, CreatedAt: created, ExpiresAt: created.Add(time.Hour)}
	ok(t, s.CreateSession(ctx(t), ss))
	if ss.ID == 0 {
		t.Fatal("CreateSession did not set ID")
	}
	got, err := s.GetSessionByHash(ctx(t), "h1")
	ok(t, err)
	eq(t, "session", *got, packages.Session{ID: ss.ID, Hash: "h1", UserID: u.ID, TokenID: tok.ID,
		CreatedAt: created, LastSeenAt: created, ExpiresAt: created.Add(time.Hour)})
	utc(t, "ExpiresAt", got.ExpiresAt)

	isConflict(t, s.CreateSession(ctx(t), &packages.Session{Hash: "h1", UserID: u.ID, TokenID: tok.ID, ExpiresAt: created}), "duplicate hash")
	isNotFound(t, s.CreateSession(ctx(t), &packages.Session{Hash: "h2", UserID: u.ID, TokenID: 987654, ExpiresAt: created}), "unknown token")

	seen := created.Add(10 * time.Minute)
	ok(t, s.TouchSession(ctx(t), ss.ID, seen))
	got, err = s.GetSessionByHash(ctx(t), "h1")
	ok(t, err)
	eq(t, "LastSeenAt", got.LastSeenAt, seen)
	isNotFound(t, s.TouchSession(ctx(t), 987654, seen), "TouchSession")

	ok(t, s.DeleteSession(ctx(t), "h1"))
	_, err = s.GetSessionByHash(ctx(t), "h1")
	isNotFound(t, err, "deleted session")
	isNotFound(t, s.DeleteSession(ctx(t), "h1"), "DeleteSession twice")
}

func testStaleSessions(t *testing.T, s packages.Store) {
	u := mkUser(t, s, "u")
	live, revoked := mkToken(t, s, u, "live"), mkToken(t, s, u, "revoked")
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	ok(t, s.RevokeToken(ctx(t), revoked.ID, now.Add(-time.Hour)))
	exp := now.Add(-time.Minute)
	expired := &packages.Token{UserID: u.ID, Hash: "expired", ExpiresAt: &exp}
	ok(t, s.CreateToken(ctx(t), expired))
	for _, c := range []struct {
		hash    string
		token   int64
		expires time.Time
	}{
		{"keep", live.ID, now.Add(time.Hour)},
		{"ended", live.ID, now},
		{"of-revoked", revoked.ID, now.Add(time.Hour)},
		{"of-expired", expired.ID, now.Add(time.Hour)},
	} {
		ok(t, s.CreateSession(ctx(t), &packages.Session{Hash: c.hash, UserID: u.ID, TokenID: c.token, CreatedAt: now.Add(-time.Hour), ExpiresAt: c.expires}))
	}
	n, err := s.DeleteStaleSessions(ctx(t), now)
	ok(t, err)
	eq(t, "deleted", n, 3)
	for _, h := range []string{"keep"} {
		_, err := s.GetSessionByHash(ctx(t), h)
		ok(t, err)
	}
	for _, h := range []string{"ended", "of-revoked", "of-expired"} {
		_, err := s.GetSessionByHash(ctx(t), h)
		isNotFound(t, err, h)
	}
	n, err = s.DeleteStaleSessions(ctx(t), now)
	ok(t, err)
	eq(t, "deleted again", n, 0)
}

func testListPackageAccess(t *testing.T, s packages.Store) {
	o, bob, Carol := mkUser(t, s, "o"), mkUser(t, s, "bob"), mkUser(t, s, "Carol")
	p := mkPkg(t, s, o, packages.TypeNpm, "p", packages.Private)
	other := mkPkg(t, s, o, packages.TypeNpm, "other", packages.Private)
	gs, err := s.ListPackageAccess(ctx(t), p.ID)
	ok(t, err)
	eq(t, "no grants", len(gs), 0)
	ok(t, s.SetPackageAccess(ctx(t), p.ID, Carol.ID, packages.RoleAdmin))
	ok(t, s.SetPackageAccess(ctx(t), p.ID, bob.ID, packages.RoleRead))
	ok(t, s.SetPackageAccess(ctx(t), other.ID, bob.ID, packages.RoleWrite))
	gs, err = s.ListPackageAccess(ctx(t), p.ID)
	ok(t, err)
	eq(t, "grants", len(gs), 2)
	eq(t, "first", [2]any{gs[0].User.Login, gs[0].Role}, [2]any{"bob", packages.RoleRead})
	eq(t, "second", [2]any{gs[1].User.Login, gs[1].Role}, [2]any{"Carol", packages.RoleAdmin})
	eq(t, "user", *gs[0].User, *bob)
	ok(t, s.SetPackageAccess(ctx(t), p.ID, bob.ID, packages.NoRole))
	gs, err = s.ListPackageAccess(ctx(t), p.ID)
	ok(t, err)
	eq(t, "after revoke", len(gs), 1)
}

func testFileTotals(t *testing.T, s packages.Store) {
	o := mkUser(t, s, "o")
	p := mkPkg(t, s, o, packages.TypeMaven, "com.example.lib", packages.Public)
	v1, v2, empty := mkVersion(t, s, p, "1.0"), mkVersion(t, s, p, "2.0"), mkVersion(t, s, p, "3.0")
	for _, f := range []packages.File{
		{VersionID: v1.ID, Name: "lib-1.0.jar", Digest: "sha256:aa", Size: 100},
		{VersionID: v1.ID, Name: "lib-1.0.pom", Digest: "sha256:bb", Size: 23},
		{VersionID: v2.ID, Name: "lib-2.0.jar", Digest: "sha256:cc", Size: 7},
	} {
		ok(t, s.AddFile(ctx(t), &f))
	}
	got, err := s.FileTotals(ctx(t), []int64{v1.ID, v2.ID, empty.ID, 987654})
	ok(t, err)
	eq(t, "totals", got, map[int64]packages.FileTotal{v1.ID: {Count: 2, Size: 123}, v2.ID: {Count: 1, Size: 7}})
	got, err = s.FileTotals(ctx(t), nil)
	ok(t, err)
	eq(t, "none", len(got), 0)
}

func testListPackagesWebFilters(t *testing.T, s packages.Store) {
	o := mkUser(t, s, "o")
	repo, other := mkRepo(t, s, o, "repo", packages.Public), mkRepo(t, s, o, "other", packages.Public)
	linked := mkPkg(t, s, o, packages.TypeNpm, "linked", packages.Public)
	linked.RepositoryID = repo.ID
	ok(t, s.UpdatePackage(ctx(t), linked))
	elsewhere := mkPkg(t, s, o, packages.TypeNpm, "elsewhere", packages.Public)
	elsewhere.RepositoryID = other.ID
	ok(t, s.UpdatePackage(ctx(t), elsewhere))
	mkPkg(t, s, o, packages.TypeNpm, "unlinked", packages.Public)
	ps, total, err := s.ListPackages(ctx(t), packages.PackageFilter{OwnerID: o.ID, RepositoryID: repo.ID, State: packages.Active})
	ok(t, err)
	eq(t, "linked", pkgNames(ps), []string{"linked"})
	eq(t, "linked total", total, 1)

	now := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	old, recent := mkPkg(t, s, o, packages.TypeNpm, "old", packages.Private), mkPkg(t, s, o, packages.TypeNpm, "recent", packages.Private)
	softDeletePackage(t, s, old, o.ID, now.Add(-40*24*time.Hour))
	softDeletePackage(t, s, recent, o.ID, now.Add(-time.Hour))
	ps, total, err = s.ListPackages(ctx(t), packages.PackageFilter{OwnerID: o.ID, State: packages.Deleted, DeletedAfter: now.Add(-30 * 24 * time.Hour)})
	ok(t, err)
	eq(t, "recently deleted", pkgNames(ps), []string{"recent"})
	eq(t, "recently deleted total", total, 1)
}
