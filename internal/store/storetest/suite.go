package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/packages"
)

// Run runs the conformance suite: one parallel subtest per case, each on a
// fresh store from open, which must be safe to call concurrently.
func Run(t *testing.T, open func(t *testing.T) packages.Store) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, open(t))
		})
	}
}

var cases = []struct {
	name string
	fn   func(t *testing.T, s packages.Store)
}{
	{"Owners", testOwners},
	{"OrgMembers", testOrgMembers},
	{"Repositories", testRepositories},
	{"Collaborators", testCollaborators},
	{"Tokens", testTokens},
	{"ListAndRevokeTokens", testListAndRevokeTokens},
	{"RemoveGrants", testRemoveGrants},
	{"Packages", testPackages},
	{"PackageNameReuse", testPackageNameReuse},
	{"UpdatePackage", testUpdatePackage},
	{"PackageAccess", testPackageAccess},
	{"HardDeletePackage", testHardDeletePackage},
	{"Versions", testVersions},
	{"VersionNameReuse", testVersionNameReuse},
	{"ListVersions", testListVersions},
	{"UpdateAndDeleteVersion", testUpdateAndDeleteVersion},
	{"VersionStatsAndDownloads", testVersionStats},
	{"Files", testFiles},
	{"ReplaceFile", testReplaceFile},
	{"DeleteFile", testDeleteFile},
	{"ReplacedAndDeletedFileBlobs", testReplacedAndDeletedFileBlobs},
	{"Tags", testTags},
	{"PackageRevision", testPackageRevision},
	{"Referrers", testReferrers},
	{"Blobs", testBlobs},
	{"UnreferencedBlobs", testUnreferencedBlobs},
	{"PendingBlobs", testPendingBlobs},
	{"BlobChecksums", testBlobChecksums},
	{"Purgeable", testPurgeable},
	{"Events", testEvents},
	{"ListPackagesFilters", testListPackagesFilters},
	{"ListPackagesReadable", testListPackagesReadable},
	{"WithTx", testWithTx},
	{"ConcurrentWrites", testConcurrentWrites},
	{"DownloadLockOrder", testDownloadLockOrder},
	{"Times", testTimes},
	{"Hooks", testHooks},
	{"Deliveries", testDeliveries},
	{"ClaimDeliveriesConcurrently", testClaimDeliveriesConcurrently},
	{"AuditEvents", testAuditEvents},
	{"AuditReads", testAuditReads},
	{"AuditRepairs", testAuditRepairs},
	{"RetentionPolicies", testRetentionPolicies},
	{"Sessions", testSessions},
	{"StaleSessions", testStaleSessions},
	{"ListPackageAccess", testListPackageAccess},
	{"FileTotals", testFileTotals},
	{"ListPackagesWebFilters", testListPackagesWebFilters},
}

// Helpers.

func ctx(t *testing.T) context.Context { return t.Context() }

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

func isNotFound(t *testing.T, err error, what string) {
	t.Helper()
	if !packages.IsNotFound(err) || !errors.Is(err, packages.ErrNotFound) {
		t.Fatalf("%s: want not found, got %v", what, err)
	}
}

func isConflict(t *testing.T, err error, what string) {
	t.Helper()
	if !packages.IsConflict(err) || !errors.Is(err, packages.ErrConflict) {
		t.Fatalf("%s: want conflict, got %v", what, err)
	}
}

func eq[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: got %#v, want %#v", what, got, want)
	}
}

func mkOwner(t *testing.T, s packages.Store, login string, typ packages.OwnerType) *packages.Owner {
	t.Helper()
	o := &packages.Owner{Login: login, Type: typ, Name: login + " name"}
	ok(t, s.CreateOwner(ctx(t), o))
	return o
}

func mkUser(t *testing.T, s packages.Store, login string) *packages.Owner {
	t.Helper()
	return mkOwner(t, s, login, packages.UserOwner)
}

func mkOrg(t *testing.T, s packages.Store, login string) *packages.Owner {
	t.Helper()
	return mkOwner(t, s, login, packages.OrgOwner)
}

func mkRepo(t *testing.T, s packages.Store, owner *packages.Owner, name string, vis packages.Visibility) *packages.Repository {
	t.Helper()
	r := &packages.Repository{OwnerID: owner.ID, Name: name, Visibility: vis}
	ok(t, s.CreateRepository(ctx(t), r))
	return r
}

func mkPkg(t *testing.T, s packages.Store, owner *packages.Owner, typ packages.Type, name string, vis packages.Visibility) *packages.Package {
	t.Helper()
	p := &packages.Package{OwnerID: owner.ID, Type: typ, Name: name, Visibility: vis}
	ok(t, s.CreatePackage(ctx(t), p))
	return p
}

func mkVersion(t *testing.T, s packages.Store, p *packages.Package, name string) *packages.Version {
	t.Helper()
	v := &packages.Version{PackageID: p.ID, Name: name}
	ok(t, s.CreateVersion(ctx(t), v))
	return v
}

func softDeletePackage(t *testing.T, s packages.Store, p *packages.Package, by int64, at time.Time) {
	t.Helper()
	p.DeletedAt, p.DeletedBy, p.UpdatedAt = &at, by, at
	ok(t, s.UpdatePackage(ctx(t), p))
}

func softDeleteVersion(t *testing.T, s packages.Store, v *packages.Version, by int64, at time.Time) {
	t.Helper()
	v.DeletedAt, v.DeletedBy, v.UpdatedAt = &at, by, at
	ok(t, s.UpdateVersion(ctx(t), v))
}

func pkgNames(ps []packages.Package) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name
	}
	sort.Strings(out)
	return out
}

func versionIDs(vs []packages.Version) []int64 {
	out := make([]int64, len(vs))
	for i, v := range vs {
		out[i] = v.ID
	}
	return out
}

func utc(t *testing.T, what string, tm time.Time) {
	t.Helper()
	if tm.IsZero() || tm.Location() != time.UTC {
		t.Fatalf("%s: want a UTC time, got %v", what, tm)
	}
}

// Cases.

func testOwners(t *testing.T, s packages.Store) {
	u := &packages.Owner{Login: "Octocat", Type: packages.UserOwner, Name: "The Octocat", Email: "o@example.com", SiteAdmin: true}
	ok(t, s.CreateOwner(ctx(t), u))
	if u.ID == 0 {
		t.Fatal("CreateOwner did not set ID")
	}
	utc(t, "CreatedAt", u.CreatedAt)
	utc(t, "UpdatedAt", u.UpdatedAt)
	org := mkOrg(t, s, "github")
	if org.ID == u.ID {
		t.Fatal("users and orgs must share one id space")
	}

	for _, login := range []string{"octocat", "OCTOCAT", "Octocat"} {
		got, err := s.GetOwnerByLogin(ctx(t), login)
		ok(t, err)
		eq(t, "owner by "+login, *got, *u)
	}
	got, err := s.GetOwnerByID(ctx(t), org.ID)
	ok(t, err)
	eq(t, "org by id", *got, *org)

	err = s.CreateOwner(ctx(t), &packages.Owner{Login: "OCTOCAT", Type: packages.OrgOwner})
	isConflict(t, err, "duplicate login in other case")

	_, err = s.GetOwnerByLogin(ctx(t), "nobody")
	isNotFound(t, err, "GetOwnerByLogin")
	_, err = s.GetOwnerByID(ctx(t), 987654)
	isNotFound(t, err, "GetOwnerByID")
}

func testOrgMembers(t *testing.T, s packages.Store) {
	org, org2 := mkOrg(t, s, "org"), mkOrg(t, s, "org2")
	u := mkUser(t, s, "u")

	role, err := s.GetOrgRole(ctx(t), org.ID, u.ID)
	ok(t, err)
	eq(t, "role before", role, packages.NoOrgRole)
	m, err := s.ListMemberships(ctx(t), u.ID)
	ok(t, err)
	eq(t, "memberships before", len(m), 0)

	ok(t, s.SetOrgMember(ctx(t), org.ID, u.ID, packages.OrgMember))
	ok(t, s.SetOrgMember(ctx(t), org2.ID, u.ID, packages.OrgMember))
	ok(t, s.SetOrgMember(ctx(t), org2.ID, u.ID, packages.OrgAdmin)) // update
	role, err = s.GetOrgRole(ctx(t), org2.ID, u.ID)
	ok(t, err)
	eq(t, "role updated", role, packages.OrgAdmin)
	m, err = s.ListMemberships(ctx(t), u.ID)
	ok(t, err)
	eq(t, "memberships", m, map[int64]packages.OrgRole{org.ID: packages.OrgMember, org2.ID: packages.OrgAdmin})

	ok(t, s.SetOrgMember(ctx(t), org.ID, u.ID, packages.NoOrgRole))
	ok(t, s.SetOrgMember(ctx(t), org.ID, u.ID, packages.NoOrgRole)) // removing twice is fine
	role, err = s.GetOrgRole(ctx(t), org.ID, u.ID)
	ok(t, err)
	eq(t, "role removed", role, packages.NoOrgRole)
	m, err = s.ListMemberships(ctx(t), u.ID)
	ok(t, err)
	eq(t, "memberships after", m, map[int64]packages.OrgRole{org2.ID: packages.OrgAdmin})
}

func testRepositories(t *testing.T, s packages.Store) {
	o, o2 := mkUser(t, s, "o"), mkUser(t, s, "o2")
	r := &packages.Repository{OwnerID: o.ID, Name: "Hello-World", Description: "hi", Visibility: packages.Internal}
	ok(t, s.CreateRepository(ctx(t), r))
	if r.ID == 0 {
		t.Fatal("CreateRepository did not set ID")
	}
	utc(t, "CreatedAt", r.CreatedAt)

	got, err := s.GetRepository(ctx(t), o.ID, "hello-world")
	ok(t, err)
	eq(t, "by name", *got, *r)
	got, err = s.GetRepositoryByID(ctx(t), r.ID)
	ok(t, err)
	eq(t, "by id", *got, *r)

	isConflict(t, s.CreateRepository(ctx(t), &packages.Repository{OwnerID: o.ID, Name: "HELLO-world", Visibility: packages.Public}), "same name")
	mkRepo(t, s, o2, "hello-world", packages.Public) // other owner: fine

	_, err = s.GetRepository(ctx(t), o.ID, "nope")
	isNotFound(t, err, "GetRepository")
	_, err = s.GetRepositoryByID(ctx(t), 987654)
	isNotFound(t, err, "GetRepositoryByID")
}

func testCollaborators(t *testing.T, s packages.Store) {
	o, u := mkUser(t, s, "o"), mkUser(t, s, "u")
	r := mkRepo(t, s, o, "r", packages.Private)
	role, err := s.GetCollaboratorRole(ctx(t), r.ID, u.ID)
	ok(t, err)
	eq(t, "before", role, packages.NoRole)
	for _, want := range []packages.Role{packages.RoleRead, packages.RoleAdmin, packages.RoleWrite} {
		ok(t, s.SetCollaborator(ctx(t), r.ID, u.ID, want))
		role, err = s.GetCollaboratorRole(ctx(t), r.ID, u.ID)
		ok(t, err)
		eq(t, "role", role, want)
	}
	ok(t, s.SetCollaborator(ctx(t), r.ID, u.ID, packages.NoRole))
	role, err = s.GetCollaboratorRole(ctx(t), r.ID, u.ID)
	ok(t, err)
	eq(t, "removed", role, packages.NoRole)
}

func testTokens(t *testing.T, s packages.Store) {
	u := mkUser(t, s, "u")
	exp := time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.UTC)
	tok := &packages.Token{UserID: u.ID, Hash: "abc123", Scopes: []string{"read:packages", "write:packages"}, Note: "ci", ExpiresAt: &exp}
	ok(t, s.CreateToken(ctx(t), tok))
	if tok.ID == 0 {
		t.Fatal("CreateToken did not set ID")
	}
	got, err := s.GetTokenByHash(ctx(t), "abc123")
	ok(t, err)
	eq(t, "token", *got, *tok)

	noScopes := &packages.Token{UserID: u.ID, Hash: "def456"}
	ok(t, s.CreateToken(ctx(t), noScopes))
	got, err = s.GetTokenByHash(ctx(t), "def456")
	ok(t, err)
	eq(t, "no scopes", len(got.Scopes), 0)
	if got.ExpiresAt != nil || got.LastUsedAt != nil {
		t.Fatalf("want nil times, got %v %v", got.ExpiresAt, got.LastUsedAt)
	}

	isConflict(t, s.CreateToken(ctx(t), &packages.Token{UserID: u.ID, Hash: "abc123"}), "duplicate hash")

	at := time.Date(2025, 6, 7, 8, 9, 10, 0, time.UTC)
	ok(t, s.TouchToken(ctx(t), tok.ID, at))
	got, err = s.GetTokenByHash(ctx(t), "abc123")
	ok(t, err)
	if got.LastUsedAt == nil || !got.LastUsedAt.Equal(at) {
		t.Fatalf("LastUsedAt = %v, want %v", got.LastUsedAt, at)
	}
	isNotFound(t, s.TouchToken(ctx(t), 987654, at), "TouchToken")
	_, err = s.GetTokenByHash(ctx(t), "nope")
	isNotFound(t, err, "GetTokenByHash")
}

func testListAndRevokeTokens(t *testing.T, s packages.Store) {
	u, other := mkUser(t, s, "u"), mkUser(t, s, "other")
	none, err := s.ListTokens(ctx(t), u.ID)
	ok(t, err)
	eq(t, "no tokens", len(none), 0)

	var made []packages.Token
	for i, h := range []string{"h1", "h2", "h3"} {
		tok := &packages.Token{UserID: u.ID, Hash: h, Scopes: []string{"read:packages"}, Note: fmt.Sprintf("n%d", i)}
		ok(t, s.CreateToken(ctx(t), tok))
		made = append(made, *tok)
	}
	ok(t, s.CreateToken(ctx(t), &packages.Token{UserID: other.ID, Hash: "h4"}))

	list, err := s.ListTokens(ctx(t), u.ID)
	ok(t, err)
	eq(t, "listed", list, made)

	got, err := s.GetTokenByID(ctx(t), made[1].ID)
	ok(t, err)
	eq(t, "by id", *got, made[1])
	_, err = s.GetTokenByID(ctx(t), 987654)
	isNotFound(t, err, "GetTokenByID")

	at := time.Date(2025, 6, 7, 8, 9, 10, 123456000, time.UTC)
	ok(t, s.RevokeToken(ctx(t), made[1].ID, at))
	ok(t, s.RevokeToken(ctx(t), made[1].ID, at.Add(time.Hour))) // the first time stays
	for _, get := range []func() (*packages.Token, error){
		func() (*packages.Token, error) { return s.GetTokenByID(ctx(t), made[1].ID) },
		func() (*packages.Token, error) { return s.GetTokenByHash(ctx(t), "h2") },
	} {
		got, err := get()
		ok(t, err)
		if got.RevokedAt == nil || !got.RevokedAt.Equal(at) {
			t.Fatalf("RevokedAt = %v, want %v", got.RevokedAt, at)
		}
		utc(t, "RevokedAt", *got.RevokedAt)
	}
	list, err = s.ListTokens(ctx(t), u.ID)
	ok(t, err)
	eq(t, "still listed", len(list), 3)
	if list[0].RevokedAt != nil || list[1].RevokedAt == nil || list[2].RevokedAt != nil {
		t.Fatalf("revocations %v %v %v, want only the second", list[0].RevokedAt, list[1].RevokedAt, list[2].RevokedAt)
	}
	isNotFound(t, s.RevokeToken(ctx(t), 987654, at), "RevokeToken")

	// WithTx sees the revocation it makes.
	ok(t, s.WithTx(ctx(t), func(tx packages.Store) error {
		if err := tx.RevokeToken(ctx(t), made[2].ID, at); err != nil {
			return err
		}
		got, err := tx.GetTokenByID(ctx(t), made[2].ID)
		if err != nil {
			return err
		}
		if got.RevokedAt == nil {
			return errors.New("revocation not visible in its transaction")
		}
		return nil
	}))
}

func testRemoveGrants(t *testing.T, s packages.Store) {
	org, elsewhere := mkOrg(t, s, "org"), mkOrg(t, s, "elsewhere")
	u, keep := mkUser(t, s, "u"), mkUser(t, s, "keep")
	p1 := mkPkg(t, s, org, packages.TypeNpm, "p1", packages.Private)
	p2 := mkPkg(t, s, org, packages.TypeContainer, "p2", packages.Private)
	pe := mkPkg(t, s, elsewhere, packages.TypeNpm, "pe", packages.Private)
	r1 := mkRepo(t, s, org, "r1", packages.Private)
	re := mkRepo(t, s, elsewhere, "re", packages.Private)
	for _, p := range []*packages.Package{p1, p2, pe} {
		ok(t, s.SetPackageAccess(ctx(t), p.ID, u.ID, packages.RoleAdmin))
		ok(t, s.SetPackageAccess(ctx(t), p.ID, keep.ID, packages.RoleRead))
	}
	for _, r := range []*packages.Repository{r1, re} {
		ok(t, s.SetCollaborator(ctx(t), r.ID, u.ID, packages.RoleWrite))
		ok(t, s.SetCollaborator(ctx(t), r.ID, keep.ID, packages.RoleRead))
	}

	ok(t, s.RemoveGrants(ctx(t), org.ID, u.ID))
	ok(t, s.RemoveGrants(ctx(t), org.ID, u.ID)) // nothing left: fine

	pkgRole := func(p *packages.Package, user *packages.Owner) packages.Role {
		r, err := s.GetPackageAccess(ctx(t), p.ID, user.ID)
		ok(t, err)
		return r
	}
	repoRole := func(r *packages.Repository, user *packages.Owner) packages.Role {
		role, err := s.GetCollaboratorRole(ctx(t), r.ID, user.ID)
		ok(t, err)
		return role
	}
	eq(t, "u on p1", pkgRole(p1, u), packages.NoRole)
	eq(t, "u on p2", pkgRole(p2, u), packages.NoRole)
	eq(t, "u on r1", repoRole(r1, u), packages.NoRole)
	eq(t, "u elsewhere (package)", pkgRole(pe, u), packages.RoleAdmin)
	eq(t, "u elsewhere (repository)", repoRole(re, u), packages.RoleWrite)
	eq(t, "other user on p1", pkgRole(p1, keep), packages.RoleRead)
	eq(t, "other user on r1", repoRole(r1, keep), packages.RoleRead)
}

func testPackages(t *testing.T, s packages.Store) {
	o, o2 := mkUser(t, s, "o"), mkUser(t, s, "o2")
	r := mkRepo(t, s, o, "repo", packages.Public)
	p := &packages.Package{OwnerID: o.ID, Type: packages.TypeNpm, Name: "Hello", Visibility: packages.Private, RepositoryID: r.ID}
	ok(t, s.CreatePackage(ctx(t), p))
	if p.ID == 0 {
		t.Fatal("CreatePackage did not set ID")
	}
	utc(t, "CreatedAt", p.CreatedAt)

	for _, st := range []packages.State{packages.Active, packages.AnyState} {
		got, err := s.GetPackage(ctx(t), o.ID, packages.TypeNpm, "hELLo", st)
		ok(t, err)
		eq(t, "by name", *got, *p)
	}
	_, err := s.GetPackage(ctx(t), o.ID, packages.TypeNpm, "hello", packages.Deleted)
	isNotFound(t, err, "GetPackage(Deleted) of an active package")
	got, err := s.GetPackageByID(ctx(t), p.ID)
	ok(t, err)
	eq(t, "by id", *got, *p)

	isConflict(t, s.CreatePackage(ctx(t), &packages.Package{OwnerID: o.ID, Type: packages.TypeNpm, Name: "HELLO", Visibility: packages.Public}), "same name")
	mkPkg(t, s, o, packages.TypeMaven, "hello", packages.Public) // other type
	mkPkg(t, s, o2, packages.TypeNpm, "hello", packages.Public)  // other owner
	_, err = s.GetPackage(ctx(t), o.ID, packages.TypeContainer, "hello", packages.AnyState)
	isNotFound(t, err, "GetPackage other type")
	_, err = s.GetPackageByID(ctx(t), 987654)
	isNotFound(t, err, "GetPackageByID")

	err = s.CreatePackage(ctx(t), &packages.Package{OwnerID: 987654, Type: packages.TypeNpm, Name: "x", Visibility: packages.Public})
	if err == nil {
		t.Fatal("CreatePackage with a missing owner succeeded")
	}
}

func testPackageNameReuse(t *testing.T, s packages.Store) {
	o := mkUser(t, s, "o")
	old := mkPkg(t, s, o, packages.TypeContainer, "app", packages.Public)
	softDeletePackage(t, s, old, o.ID, time.Now())

	_, err := s.GetPackage(ctx(t), o.ID, packages.TypeContainer, "app", packages.Active)
	isNotFound(t, err, "GetPackage(Active) after delete")
	got, err := s.GetPackage(ctx(t), o.ID, packages.TypeContainer, "APP", packages.Deleted)
	ok(t, err)
	eq(t, "deleted package", got.ID, old.ID)
	eq(t, "deleted by", got.DeletedBy, o.ID)

	// The name is free again.
	repl := mkPkg(t, s, o, packages.TypeContainer, "App", packages.Private)
	got, err = s.GetPackage(ctx(t), o.ID, packages.TypeContainer, "app", packages.Active)
	ok(t, err)
	eq(t, "new package", got.ID, repl.ID)
	got, err = s.GetPackage(ctx(t), o.ID, packages.TypeContainer, "app", packages.Deleted)
	ok(t, err)
	eq(t, "old package still found", got.ID, old.ID)
	got, err = s.GetPackage(ctx(t), o.ID, packages.TypeContainer, "app", packages.AnyState)
	ok(t, err)
	eq(t, "AnyState prefers the active one", got.ID, repl.ID)

	// Restoring the old one now conflicts.
	old.DeletedAt, old.DeletedBy = nil, 0
	isConflict(t, s.UpdatePackage(ctx(t), old), "restore over a live name")

	// Two deleted generations: the latest deletion wins.
	softDeletePackage(t, s, repl, o.ID, time.Now().Add(time.Hour))
	got, err = s.GetPackage(ctx(t), o.ID, packages.TypeContainer, "app", packages.Deleted)
	ok(t, err)
	eq(t, "latest deleted", got.ID, repl.ID)
}

func testUpdatePackage(t *testing.T, s packages.Store) {
	o := mkUser(t, s, "o")
	r := mkRepo(t, s, o, "r", packages.Public)
	p := mkPkg(t, s, o, packages.TypeNpm, "p", packages.Private)
	eq(t, "no repository", p.RepositoryID, int64(0))

	later := p.UpdatedAt.Add(time.Minute)
	p.Visibility, p.RepositoryID, p.UpdatedAt = packages.Public, r.ID, later
	ok(t, s.UpdatePackage(ctx(t), p))
	got, err := s.GetPackageByID(ctx(t), p.ID)
	ok(t, err)
	eq(t, "updated", *got, *p)

	at := later.Add(time.Minute)
	softDeletePackage(t, s, p, o.ID, at)
	got, err = s.GetPackageByID(ctx(t), p.ID)
	ok(t, err)
	if got.DeletedAt == nil || !got.DeletedAt.Equal(at.UTC().Truncate(time.Microsecond)) || got.DeletedBy != o.ID {
		t.Fatalf("deleted fields: %v %d", got.DeletedAt, got.DeletedBy)
	}
	p.DeletedAt, p.DeletedBy, p.RepositoryID = nil, 0, 0
	ok(t, s.UpdatePackage(ctx(t), p))
	got, err = s.GetPackageByID(ctx(t), p.ID)
	ok(t, err)
	eq(t, "restored", *got, *p)

	isNotFound(t, s.UpdatePackage(ctx(t), &packages.Package{ID: 987654, Visibility: packages.Public}), "UpdatePackage missing")
}

func testPackageAccess(t *testing.T, s packages.Store) {
	o, u := mkUser(t, s, "o"), mkUser(t, s, "u")
	p := mkPkg(t, s, o, packages.TypeNpm, "p", packages.Private)
	role, err := s.GetPackageAccess(ctx(t), p.ID, u.ID)
	ok(t, err)
	eq(t, "before", role, packages.NoRole)
	for _, want := range []packages.Role{packages.RoleWrite, packages.RoleRead, packages.RoleAdmin} {
		ok(t, s.SetPackageAccess(ctx(t), p.ID, u.ID, want))
		role, err = s.GetPackageAccess(ctx(t), p.ID, u.ID)
		ok(t, err)
		eq(t, "role", role, want)
	}
	ok(t, s.SetPackageAccess(ctx(t), p.ID, u.ID, packages.NoRole))
	role, err = s.GetPackageAccess(ctx(t), p.ID, u.ID)
	ok(t, err)
	eq(t, "revoked", role, packages.NoRole)
}

func testHardDeletePackage(t *testing.T, s packages.Store) {
	o, u := mkUser(t, s, "o"), mkUser(t, s, "u")
	p := mkPkg(t, s, o, packages.TypeContainer, "p", packages.Private)
	keep := mkPkg(t, s, o, packages.TypeContainer, "keep", packages.Private)
	v1, v2 := mkVersion(t, s, p, "sha256:1"), mkVersion(t, s, p, "sha256:2")
	kv := mkVersion(t, s, keep, "sha256:1")
	ok(t, s.AddFile(ctx(t), &packages.File{VersionID: v1.ID, Name: "manifest", Digest: "sha256:1", Size: 1}))
	ok(t, s.AddFile(ctx(t), &packages.File{VersionID: kv.ID, Name: "manifest", Digest: "sha256:1", Size: 1}))
	ok(t, s.SetTag(ctx(t), p.ID, "latest", v2.ID))
	ok(t, s.SetTag(ctx(t), keep.ID, "latest", kv.ID))
	ok(t, s.SetPackageAccess(ctx(t), p.ID, u.ID, packages.RoleRead))
	ok(t, s.PutBlob(ctx(t), &packages.Blob{Digest: "sha256:layer", Size: 10}))
	ok(t, s.LinkBlob(ctx(t), p.ID, "sha256:layer"))
	ok(t, s.LinkBlob(ctx(t), keep.ID, "sha256:layer"))
	ev := &packages.Event{Action: packages.ActionPublish, PackageID: p.ID, VersionID: v1.ID}
	ok(t, s.AddEvent(ctx(t), ev))

	ok(t, s.HardDeletePackage(ctx(t), p.ID))

	_, err := s.GetPackageByID(ctx(t), p.ID)
	isNotFound(t, err, "package")
	_, err = s.GetVersion(ctx(t), p.ID, v1.ID)
	isNotFound(t, err, "version")
	files, err := s.ListFiles(ctx(t), v1.ID)
	ok(t, err)
	eq(t, "files", len(files), 0)
	_, err = s.GetTag(ctx(t), p.ID, "latest")
	isNotFound(t, err, "tag")
	role, err := s.GetPackageAccess(ctx(t), p.ID, u.ID)
	ok(t, err)
	eq(t, "grant", role, packages.NoRole)
	linked, err := s.BlobLinked(ctx(t), p.ID, "sha256:layer")
	ok(t, err)
	eq(t, "link", linked, false)
	evs, err := s.ListEvents(ctx(t), p.ID)
	ok(t, err)
	eq(t, "events stay", len(evs), 1)
	eq(t, "event ids stay", evs[0].VersionID, v1.ID)

	// The other package is untouched.
	_, err = s.GetTag(ctx(t), keep.ID, "latest")
	ok(t, err)
	files, err = s.ListFiles(ctx(t), kv.ID)
	ok(t, err)
	eq(t, "other files", len(files), 1)
	linked, err = s.BlobLinked(ctx(t), keep.ID, "sha256:layer")
	ok(t, err)
	eq(t, "other link", linked, true)
	_, err = s.GetBlob(ctx(t), "sha256:layer")
	ok(t, err)

	isNotFound(t, s.HardDeletePackage(ctx(t), p.ID), "HardDeletePackage twice")
}

func testVersions(t *testing.T, s packages.Store) {
	o := mkUser(t, s, "o")
	p, p2 := mkPkg(t, s, o, packages.TypeNpm, "p", packages.Public), mkPkg(t, s, o, packages.TypeNpm, "p2", packages.Public)
	meta := json.RawMessage(`{"b": 1,  "a":[1, 2 ], "u":"\u00e9"}`) // stored bytes come back verbatim
	v := &packages.Version{PackageID: p.ID, Name: "1.0.0", Metadata: meta, Description: "d", License: "MIT", Subject: "sha256:s"}
	ok(t, s.CreateVersion(ctx(t), v))
	if v.ID == 0 {
		t.Fatal("CreateVersion did not set ID")
	}
	utc(t, "CreatedAt", v.CreatedAt)

	got, err := s.GetVersion(ctx(t), p.ID, v.ID)
	ok(t, err)
	eq(t, "by id", *got, *v)
	eq(t, "metadata bytes", string(got.Metadata), string(meta))
	got, err = s.GetVersionByName(ctx(t), p.ID, "1.0.0", packages.Active)
	ok(t, err)
	eq(t, "by name", *got, *v)

	bare := mkVersion(t, s, p, "2.0.0")
	got, err = s.GetVersion(ctx(t), p.ID, bare.ID)
	ok(t, err)
	if got.Metadata != nil {
		t.Fatalf("NULL metadata: got %q, want nil", got.Metadata)
	}

	_, err = s.GetVersion(ctx(t), p2.ID, v.ID)
	isNotFound(t, err, "GetVersion of another package")
	_, err = s.GetVersionByName(ctx(t), p.ID, "1.0.0", packages.Deleted)
	isNotFound(t, err, "GetVersionByName(Deleted) of an active version")
	_, err = s.GetVersionByName(ctx(t), p.ID, "9.9.9", packages.AnyState)
	isNotFound(t, err, "GetVersionByName missing")

	isConflict(t, s.CreateVersion(ctx(t), &packages.Version{PackageID: p.ID, Name: "1.0.0"}), "duplicate version")
	mkVersion(t, s, p2, "1.0.0") // same name in another package
	isNotFound(t, s.CreateVersion(ctx(t), &packages.Version{PackageID: 987654, Name: "1"}), "CreateVersion of a missing package")
}

func testVersionNameReuse(t *testing.T, s packages.Store) {
	o := mkUser(t, s, "o")
	p := mkPkg(t, s, o, packages.TypeNpm, "p", packages.Public)
	old := mkVersion(t, s, p, "1.0.0")
	softDeleteVersion(t, s, old, o.ID, time.Now())
	repl := mkVersion(t, s, p, "1.0.0")

	got, err := s.GetVersionByName(ctx(t), p.ID, "1.0.0", packages.Active)
	ok(t, err)
	eq(t, "active", got.ID, repl.ID)
	got, err = s.GetVersionByName(ctx(t), p.ID, "1.0.0", packages.Deleted)
	ok(t, err)
	eq(t, "deleted", got.ID, old.ID)
	got, err = s.GetVersionByName(ctx(t), p.ID, "1.0.0", packages.AnyState)
	ok(t, err)
	eq(t, "any", got.ID, repl.ID)
	got, err = s.GetVersion(ctx(t), p.ID, old.ID)
	ok(t, err)
	if got.DeletedAt == nil || got.DeletedBy != o.ID {
		t.Fatalf("GetVersion of a deleted version: %+v", got)
	}

	old.DeletedAt, old.DeletedBy = nil, 0
	isConflict(t, s.UpdateVersion(ctx(t), old), "restore over a live name")
}

func testListVersions(t *testing.T, s packages.Store) {
	o := mkUser(t, s, "o")
	p, other := mkPkg(t, s, o, packages.TypeNpm, "p", packages.Public), mkPkg(t, s, o, packages.TypeNpm, "other", packages.Public)
	var all []int64
	for i := range 10 {
		all = append(all, mkVersion(t, s, p, fmt.Sprintf("1.0.%d", i)).ID)
	}
	mkVersion(t, s, other, "1.0.0")
	slices.Reverse(all) // newest first
	// Delete versions 3 and 6 (by creation order).
	var deleted []int64
	for _, i := range []int{3, 6} {
		v, err := s.GetVersionByName(ctx(t), p.ID, fmt.Sprintf("1.0.%d", i), packages.Active)
		ok(t, err)
		softDeleteVersion(t, s, v, o.ID, time.Now())
		deleted = append([]int64{v.ID}, deleted...)
	}
	var active []int64
	for _, id := range all {
		if !slices.Contains(deleted, id) {
			active = append(active, id)
		}
	}

	tests := []struct {
		name      string
		f         packages.VersionFilter
		wantIDs   []int64
		wantTotal int
	}{
		{"active all", packages.VersionFilter{PackageID: p.ID}, active, 8},
		{"active page 1", packages.VersionFilter{PackageID: p.ID, Limit: 3}, active[:3], 8},
		{"active page 3", packages.VersionFilter{PackageID: p.ID, Limit: 3, Offset: 6}, active[6:], 8},
		{"past the end", packages.VersionFilter{PackageID: p.ID, Limit: 3, Offset: 9}, []int64{}, 8},
		{"offset without limit", packages.VersionFilter{PackageID: p.ID, Offset: 5}, active[5:], 8},
		{"deleted", packages.VersionFilter{PackageID: p.ID, State: packages.Deleted}, deleted, 2},
		{"deleted within window", packages.VersionFilter{PackageID: p.ID, State: packages.Deleted, DeletedAfter: time.Now().Add(-time.Hour)}, deleted, 2},
		{"deleted before window", packages.VersionFilter{PackageID: p.ID, State: packages.Deleted, DeletedAfter: time.Now().Add(time.Hour)}, []int64{}, 0},
		{"any", packages.VersionFilter{PackageID: p.ID, State: packages.AnyState, Limit: 4, Offset: 2}, all[2:6], 10},
		{"empty package", packages.VersionFilter{PackageID: 987654}, []int64{}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vs, total, err := s.ListVersions(ctx(t), tc.f)
			ok(t, err)
			eq(t, "ids", versionIDs(vs), tc.wantIDs)
			eq(t, "total", total, tc.wantTotal)
		})
	}

	// Every page of every size, from either end.
	checkPages := func(t *testing.T, want []int64) {
		t.Helper()
		for limit := 1; limit <= len(want)+1; limit++ {
			for offset := 0; offset <= len(want)+1; offset++ {
				vs, total, err := s.ListVersions(ctx(t), packages.VersionFilter{PackageID: p.ID, Limit: limit, Offset: offset})
				ok(t, err)
				page := []int64{}
				if offset < len(want) {
					page = want[offset:min(offset+limit, len(want))]
				}
				eq(t, fmt.Sprintf("limit %d offset %d", limit, offset), versionIDs(vs), page)
				eq(t, "total", total, len(want))
			}
		}
	}
	checkPages(t, active)

	// The active count follows restores, hard deletes and new versions.
	restored, err := s.GetVersion(ctx(t), p.ID, deleted[0])
	ok(t, err)
	restored.DeletedAt, restored.DeletedBy = nil, 0
	ok(t, s.UpdateVersion(ctx(t), restored))
	ok(t, s.HardDeleteVersion(ctx(t), deleted[1]))
	ok(t, s.HardDeleteVersion(ctx(t), active[0]))
	nv := mkVersion(t, s, p, "2.0.0")
	want := []int64{nv.ID}
	for _, id := range all {
		if id != deleted[1] && id != active[0] {
			want = append(want, id)
		}
	}
	checkPages(t, want)
	stats, err := s.VersionStats(ctx(t), p.ID)
	ok(t, err)
	eq(t, "stats count", stats.Count, len(want))
}

func testUpdateAndDeleteVersion(t *testing.T, s packages.Store) {
	o := mkUser(t, s, "o")
	p := mkPkg(t, s, o, packages.TypeNpm, "p", packages.Public)
	v := mkVersion(t, s, p, "1.0.0")
	v.Metadata = json.RawMessage(`{"x":true}`)
	v.Description, v.License, v.UpdatedAt = "new", "Apache-2.0", v.UpdatedAt.Add(time.Second)
	ok(t, s.UpdateVersion(ctx(t), v))
	got, err := s.GetVersion(ctx(t), p.ID, v.ID)
	ok(t, err)
	eq(t, "updated", *got, *v)

	v.Metadata = nil
	ok(t, s.UpdateVersion(ctx(t), v))
	got, err = s.GetVersion(ctx(t), p.ID, v.ID)
	ok(t, err)
	if got.Metadata != nil {
		t.Fatalf("metadata cleared: got %q", got.Metadata)
	}
	isNotFound(t, s.UpdateVersion(ctx(t), &packages.Version{ID: 987654}), "UpdateVersion missing")

	ok(t, s.AddFile(ctx(t), &packages.File{VersionID: v.ID, Name: "p.tgz", Digest: "sha256:f", Size: 3}))
	ok(t, s.SetTag(ctx(t), p.ID, "latest", v.ID))
	ok(t, s.HardDeleteVersion(ctx(t), v.ID))
	_, err = s.GetVersion(ctx(t), p.ID, v.ID)
	isNotFound(t, err, "after hard delete")
	_, err = s.GetTag(ctx(t), p.ID, "latest")
	isNotFound(t, err, "tag after hard delete")
	files, err := s.ListFiles(ctx(t), v.ID)
	ok(t, err)
	eq(t, "files after hard delete", len(files), 0)
	isNotFound(t, s.HardDeleteVersion(ctx(t), v.ID), "HardDeleteVersion twice")
}

func testVersionStats(t *testing.T, s packages.Store) {
	o := mkUser(t, s, "o")
	p := mkPkg(t, s, o, packages.TypeContainer, "p", packages.Public)
	st, err := s.VersionStats(ctx(t), p.ID)
	ok(t, err)
	eq(t, "empty", st, packages.VersionStats{})

	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var vs []*packages.Version
	for i := range 4 {
		v := &packages.Version{PackageID: p.ID, Name: fmt.Sprintf("sha256:%d", i), CreatedAt: base, UpdatedAt: base.Add(time.Duration(i) * time.Hour)}
		ok(t, s.CreateVersion(ctx(t), v))
		vs = append(vs, v)
	}
	ok(t, s.SetTag(ctx(t), p.ID, "a", vs[0].ID))
	ok(t, s.SetTag(ctx(t), p.ID, "b", vs[0].ID))
	ok(t, s.SetTag(ctx(t), p.ID, "c", vs[1].ID))
	ok(t, s.SetTag(ctx(t), p.ID, "d", vs[3].ID))
	for range 3 {
		ok(t, s.IncrementDownloads(ctx(t), p.ID, vs[1].ID))
	}
	ok(t, s.IncrementDownloads(ctx(t), p.ID, vs[2].ID))
	ok(t, s.IncrementDownloads(ctx(t), p.ID, 0)) // package only
	for range 5 {
		ok(t, s.IncrementDownloads(ctx(t), p.ID, vs[3].ID))
	}
	softDeleteVersion(t, s, vs[3], o.ID, base.Add(10*time.Hour)) // deleted: not counted

	st, err = s.VersionStats(ctx(t), p.ID)
	ok(t, err)
	eq(t, "stats", st, packages.VersionStats{Count: 3, TaggedCount: 2, MaxDownloads: 3, LastUpdatedAt: base.Add(2 * time.Hour)})
	got, err := s.GetPackageByID(ctx(t), p.ID)
	ok(t, err)
	eq(t, "package downloads", got.DownloadCount, int64(10))
	eq(t, "package version count", got.VersionCount, 3)
	byName, err := s.GetPackage(ctx(t), o.ID, packages.TypeContainer, "p", packages.Active)
	ok(t, err)
	eq(t, "version count by name", byName.VersionCount, 3)
	listed, _, err := s.ListPackages(ctx(t), packages.PackageFilter{OwnerID: o.ID})
	ok(t, err)
	eq(t, "version count listed", listed[0].VersionCount, 3)
	gv, err := s.GetVersion(ctx(t), p.ID, vs[1].ID)
	ok(t, err)
	eq(t, "version downloads", gv.DownloadCount, int64(3))

	isNotFound(t, s.IncrementDownloads(ctx(t), 987654, 0), "IncrementDownloads missing package")
	other := mkPkg(t, s, o, packages.TypeContainer, "other", packages.Public)
	isNotFound(t, s.IncrementDownloads(ctx(t), other.ID, vs[1].ID), "IncrementDownloads version of another package")
}

func testFiles(t *testing.T, s packages.Store) {
	o := mkUser(t, s, "o")
	p := mkPkg(t, s, o, packages.TypeMaven, "com.example:lib", packages.Public)
	v := mkVersion(t, s, p, "1.0")
	jar := &packages.File{VersionID: v.ID, Name: "lib-1.0.jar", Digest: "sha256:aa", Size: 100, MediaType: "application/java-archive"}
	pom := &packages.File{VersionID: v.ID, Name: "lib-1.0.pom", Digest: "sha256:bb", Size: 10, MediaType: "text/xml"}
	ok(t, s.AddFile(ctx(t), jar))
	ok(t, s.AddFile(ctx(t), pom))
	if jar.ID == 0 {
		t.Fatal("AddFile did not set ID")
	}
	utc(t, "CreatedAt", jar.CreatedAt)
	files, err := s.ListFiles(ctx(t), v.ID)
	ok(t, err)
	eq(t, "files", files, []packages.File{*jar, *pom})
	got, err := s.GetFile(ctx(t), v.ID, "lib-1.0.pom")
	ok(t, err)
	eq(t, "file", *got, *pom)
	_, err = s.GetFile(ctx(t), v.ID, "nope")
	isNotFound(t, err, "GetFile")
	isConflict(t, s.AddFile(ctx(t), &packages.File{VersionID: v.ID, Name: "lib-1.0.jar", Digest: "sha256:cc"}), "duplicate file name")
	files, err = s.ListFiles(ctx(t), 987654)
	ok(t, err)
	eq(t, "no files", len(files), 0)
}

func testReplaceFile(t *testing.T, s packages.Store) {
	o := mkUser(t, s, "o")
	p := mkPkg(t, s, o, packages.TypeMaven, "com.example:lib", packages.Public)
	v, v2 := mkVersion(t, s, p, "1.0-SNAPSHOT"), mkVersion(t, s, p, "2.0")
	at := time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC)
	meta := &packages.File{VersionID: v.ID, Name: "maven-metadata.xml", Digest: "sha256:m1", Size: 10, MediaType: "text/xml", CreatedAt: at}
	jar := &packages.File{VersionID: v.ID, Name: "lib.jar", Digest: "sha256:j1", Size: 100}
	other := &packages.File{VersionID: v2.ID, Name: "maven-metadata.xml", Digest: "sha256:m1", Size: 10}
	ok(t, s.AddFile(ctx(t), jar))
	ok(t, s.AddFile(ctx(t), other))

	// A new name: recorded like AddFile, nothing replaced.
	prev, err := s.ReplaceFile(ctx(t), meta)
	ok(t, err)
	eq(t, "previous of a new file", prev, "")
	if meta.ID == 0 {
		t.Fatal("ReplaceFile did not set ID")
	}
	eq(t, "CreatedAt kept", meta.CreatedAt, at)

	// The same name again: the row keeps its id and takes the rest.
	later := at.Add(time.Hour)
	repl := &packages.File{VersionID: v.ID, Name: "maven-metadata.xml", Digest: "sha256:m2", Size: 12, MediaType: "application/xml", CreatedAt: later}
	prev, err = s.ReplaceFile(ctx(t), repl)
	ok(t, err)
	eq(t, "previous digest", prev, "sha256:m1")
	eq(t, "replaced row id", repl.ID, meta.ID)
	got, err := s.GetFile(ctx(t), v.ID, "maven-metadata.xml")
	ok(t, err)
	eq(t, "replaced file", *got, *repl)

	// Without a time: now, in UTC.
	again := &packages.File{VersionID: v.ID, Name: "maven-metadata.xml", Digest: "sha256:m3", Size: 13}
	prev, err = s.ReplaceFile(ctx(t), again)
	ok(t, err)
	eq(t, "previous digest again", prev, "sha256:m2")
	utc(t, "CreatedAt", again.CreatedAt)
	if !again.CreatedAt.After(later) {
		t.Fatalf("CreatedAt %v, want now", again.CreatedAt)
	}

	// Other files, of this version and of others, are untouched.
	files, err := s.ListFiles(ctx(t), v.ID)
	ok(t, err)
	eq(t, "files", files, []packages.File{*jar, *again})
	files, err = s.ListFiles(ctx(t), v2.ID)
	ok(t, err)
	eq(t, "other version's files", files, []packages.File{*other})

	// A missing version has no files to hold another.
	_, err = s.ReplaceFile(ctx(t), &packages.File{VersionID: 987654, Name: "x", Digest: "sha256:x"})
	isNotFound(t, err, "ReplaceFile of a missing version")

	// Inside a transaction that rolls back, nothing changes.
	errRollback := errors.New("roll back")
	err = s.WithTx(ctx(t), func(tx packages.Store) error {
		prev, err := tx.ReplaceFile(ctx(t), &packages.File{VersionID: v.ID, Name: "lib.jar", Digest: "sha256:j2", Size: 1})
		if err != nil {
			return err
		}
		if prev != "sha256:j1" {
			return fmt.Errorf("previous %q in a transaction", prev)
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("WithTx: %v", err)
	}
	got, err = s.GetFile(ctx(t), v.ID, "lib.jar")
	ok(t, err)
	eq(t, "after rollback", *got, *jar)
}

func testDeleteFile(t *testing.T, s packages.Store) {
	o := mkUser(t, s, "o")
	p := mkPkg(t, s, o, packages.TypeNuGet, "lib", packages.Public)
	v, v2 := mkVersion(t, s, p, "1.0.0"), mkVersion(t, s, p, "2.0.0")
	nupkg := &packages.File{VersionID: v.ID, Name: "lib.1.0.0.nupkg", Digest: "sha256:n", Size: 3}
	snupkg := &packages.File{VersionID: v.ID, Name: "lib.1.0.0.snupkg", Digest: "sha256:s", Size: 2}
	other := &packages.File{VersionID: v2.ID, Name: "lib.1.0.0.snupkg", Digest: "sha256:s", Size: 2}
	for _, f := range []*packages.File{nupkg, snupkg, other} {
		ok(t, s.AddFile(ctx(t), f))
	}

	ok(t, s.DeleteFile(ctx(t), v.ID, "lib.1.0.0.snupkg"))
	_, err := s.GetFile(ctx(t), v.ID, "lib.1.0.0.snupkg")
	isNotFound(t, err, "deleted file")
	files, err := s.ListFiles(ctx(t), v.ID)
	ok(t, err)
	eq(t, "files left", files, []packages.File{*nupkg})
	files, err = s.ListFiles(ctx(t), v2.ID)
	ok(t, err)
	eq(t, "other version's files", files, []packages.File{*other})

	isNotFound(t, s.DeleteFile(ctx(t), v.ID, "lib.1.0.0.snupkg"), "DeleteFile twice")
	isNotFound(t, s.DeleteFile(ctx(t), v.ID, "nope"), "DeleteFile of a missing name")
	isNotFound(t, s.DeleteFile(ctx(t), 987654, "lib.1.0.0.nupkg"), "DeleteFile of a missing version")

	// The name is free again.
	ok(t, s.AddFile(ctx(t), &packages.File{VersionID: v.ID, Name: "lib.1.0.0.snupkg", Digest: "sha256:s2", Size: 2}))

	// The version itself stays, with its last file deleted too.
	ok(t, s.DeleteFile(ctx(t), v2.ID, "lib.1.0.0.snupkg"))
	files, err = s.ListFiles(ctx(t), v2.ID)
	ok(t, err)
	eq(t, "no files left", len(files), 0)
	_, err = s.GetVersion(ctx(t), p.ID, v2.ID)
	ok(t, err)
}

// testReplacedAndDeletedFileBlobs: the blob of a replaced or deleted file is
// unreferenced once no other file or link holds it, and can be forgotten.
func testReplacedAndDeletedFileBlobs(t *testing.T, s packages.Store) {
	o := mkUser(t, s, "o")
	p := mkPkg(t, s, o, packages.TypeMaven, "com.example:lib", packages.Public)
	v, v2 := mkVersion(t, s, p, "1.0-SNAPSHOT"), mkVersion(t, s, p, "2.0")
	old := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, d := range []string{"sha256:old", "sha256:new", "sha256:shared", "sha256:gone"} {
		ok(t, s.PutBlob(ctx(t), &packages.Blob{Digest: d, Size: 1, CreatedAt: old}))
	}
	ok(t, s.AddFile(ctx(t), &packages.File{VersionID: v.ID, Name: "a.jar", Digest: "sha256:old", Size: 1}))
	ok(t, s.AddFile(ctx(t), &packages.File{VersionID: v.ID, Name: "b.jar", Digest: "sha256:shared", Size: 1}))
	ok(t, s.AddFile(ctx(t), &packages.File{VersionID: v2.ID, Name: "b.jar", Digest: "sha256:shared", Size: 1}))
	ok(t, s.AddFile(ctx(t), &packages.File{VersionID: v.ID, Name: "c.jar", Digest: "sha256:gone", Size: 1}))
	cutoff := old.Add(24 * time.Hour)
	unreferenced := func() []string {
		t.Helper()
		bs, err := s.UnreferencedBlobs(ctx(t), cutoff, 0)
		ok(t, err)
		out := []string{}
		for _, b := range bs {
			out = append(out, b.Digest)
		}
		sort.Strings(out)
		return out
	}
	eq(t, "before", unreferenced(), []string{"sha256:new"})

	prev, err := s.ReplaceFile(ctx(t), &packages.File{VersionID: v.ID, Name: "a.jar", Digest: "sha256:new", Size: 1})
	ok(t, err)
	eq(t, "previous", prev, "sha256:old")
	ok(t, s.DeleteFile(ctx(t), v.ID, "c.jar"))
	ok(t, s.DeleteFile(ctx(t), v.ID, "b.jar")) // v2 still holds its blob
	eq(t, "after replace and delete", unreferenced(), []string{"sha256:gone", "sha256:old"})

	for _, tc := range []struct {
		digest string
		want   bool
	}{{"sha256:old", true}, {"sha256:gone", true}, {"sha256:new", false}, {"sha256:shared", false}} {
		forgot, err := s.ForgetBlob(ctx(t), tc.digest, cutoff)
		ok(t, err)
		eq(t, "ForgetBlob "+tc.digest, forgot, tc.want)
	}
}

func testTags(t *testing.T, s packages.Store) {
	o := mkUser(t, s, "o")
	p, p2 := mkPkg(t, s, o, packages.TypeContainer, "p", packages.Public), mkPkg(t, s, o, packages.TypeContainer, "p2", packages.Public)
	v1, v2, v3 := mkVersion(t, s, p, "sha256:1"), mkVersion(t, s, p, "sha256:2"), mkVersion(t, s, p, "sha256:3")
	other := mkVersion(t, s, p2, "sha256:1")

	for _, tg := range []struct {
		name string
		v    *packages.Version
	}{{"latest", v1}, {"v1", v1}, {"B", v1}, {"a", v2}, {"stable", v2}} {
		ok(t, s.SetTag(ctx(t), p.ID, tg.name, tg.v.ID))
	}
	ok(t, s.SetTag(ctx(t), p.ID, "latest", v3.ID)) // move
	got, err := s.GetTag(ctx(t), p.ID, "latest")
	ok(t, err)
	eq(t, "moved", got.VersionID, v3.ID)
	eq(t, "tag package", got.PackageID, p.ID)
	utc(t, "UpdatedAt", got.UpdatedAt)

	isNotFound(t, s.SetTag(ctx(t), p.ID, "x", other.ID), "SetTag to another package's version")
	isNotFound(t, s.SetTag(ctx(t), p.ID, "x", 987654), "SetTag to a missing version")

	names := func(ts []packages.Tag) []string {
		out := []string{}
		for _, t := range ts {
			out = append(out, t.Name)
		}
		return out
	}
	all, err := s.ListTags(ctx(t), p.ID, "", 0)
	ok(t, err)
	eq(t, "all tags (byte order)", names(all), []string{"B", "a", "latest", "stable", "v1"})
	page, err := s.ListTags(ctx(t), p.ID, "a", 2)
	ok(t, err)
	eq(t, "page", names(page), []string{"latest", "stable"})
	page, err = s.ListTags(ctx(t), p.ID, "v1", 2)
	ok(t, err)
	eq(t, "last page", names(page), []string{})

	byv, err := s.TagsByVersion(ctx(t), []int64{v1.ID, v2.ID, v3.ID, other.ID})
	ok(t, err)
	eq(t, "by version", byv, map[int64][]string{v1.ID: {"B", "v1"}, v2.ID: {"a", "stable"}, v3.ID: {"latest"}})
	byv, err = s.TagsByVersion(ctx(t), nil)
	ok(t, err)
	eq(t, "by no version", len(byv), 0)
	many := make([]int64, 1200) // more ids than one IN list takes
	for i := range many {
		many[i] = int64(i + 1)
	}
	many = append(many, v3.ID)
	byv, err = s.TagsByVersion(ctx(t), many)
	ok(t, err)
	eq(t, "many ids", byv[v3.ID], []string{"latest"})

	ok(t, s.DeleteTag(ctx(t), p.ID, "a"))
	_, err = s.GetTag(ctx(t), p.ID, "a")
	isNotFound(t, err, "deleted tag")
	isNotFound(t, s.DeleteTag(ctx(t), p.ID, "a"), "DeleteTag twice")

	ok(t, s.DeleteVersionTags(ctx(t), v1.ID))
	byv, err = s.TagsByVersion(ctx(t), []int64{v1.ID, v2.ID})
	ok(t, err)
	eq(t, "after DeleteVersionTags", byv, map[int64][]string{v2.ID: {"stable"}})
	ok(t, s.DeleteVersionTags(ctx(t), v1.ID)) // nothing left: fine
}

func testReferrers(t *testing.T, s packages.Store) {
	o := mkUser(t, s, "o")
	p, p2 := mkPkg(t, s, o, packages.TypeContainer, "p", packages.Public), mkPkg(t, s, o, packages.TypeContainer, "p2", packages.Public)
	subj := mkVersion(t, s, p, "sha256:subject")
	mk := func(pkg *packages.Package, name, subject string) *packages.Version {
		v := &packages.Version{PackageID: pkg.ID, Name: name, Subject: subject}
		ok(t, s.CreateVersion(ctx(t), v))
		return v
	}
	sig := mk(p, "sha256:sig", subj.Name)
	sbom := mk(p, "sha256:sbom", subj.Name)
	gone := mk(p, "sha256:gone", subj.Name)
	mk(p, "sha256:unrelated", "sha256:else")
	mk(p2, "sha256:sig", subj.Name) // another package
	softDeleteVersion(t, s, gone, o.ID, time.Now())

	refs, err := s.ListReferrers(ctx(t), p.ID, subj.Name)
	ok(t, err)
	eq(t, "referrers", versionIDs(refs), []int64{sig.ID, sbom.ID})
	eq(t, "subject", refs[0].Subject, subj.Name)
	refs, err = s.ListReferrers(ctx(t), p.ID, "sha256:none")
	ok(t, err)
	eq(t, "none", len(refs), 0)
	refs, err = s.ListReferrers(ctx(t), p.ID, "")
	ok(t, err)
	eq(t, "empty digest", len(refs), 0)
}

func testBlobs(t *testing.T, s packages.Store) {
	o := mkUser(t, s, "o")
	p := mkPkg(t, s, o, packages.TypeContainer, "p", packages.Public)
	at := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	b := &packages.Blob{Digest: "sha256:b", Size: 42, CreatedAt: at}
	ok(t, s.PutBlob(ctx(t), b))
	ok(t, s.PutBlob(ctx(t), &packages.Blob{Digest: "sha256:b", Size: 42, CreatedAt: at.Add(-time.Hour)})) // older: kept
	got, err := s.GetBlob(ctx(t), "sha256:b")
	ok(t, err)
	eq(t, "blob", *got, packages.Blob{Digest: "sha256:b", Size: 42, CreatedAt: at})
	ok(t, s.PutBlob(ctx(t), &packages.Blob{Digest: "sha256:b", Size: 42, CreatedAt: at.Add(time.Hour)})) // newer: refreshed
	got, err = s.GetBlob(ctx(t), "sha256:b")
	ok(t, err)
	eq(t, "refreshed blob", got.CreatedAt, at.Add(time.Hour))
	_, err = s.GetBlob(ctx(t), "sha256:none")
	isNotFound(t, err, "GetBlob")

	linked, err := s.BlobLinked(ctx(t), p.ID, "sha256:b")
	ok(t, err)
	eq(t, "before link", linked, false)
	ok(t, s.LinkBlob(ctx(t), p.ID, "sha256:b"))
	ok(t, s.LinkBlob(ctx(t), p.ID, "sha256:b")) // no-op
	linked, err = s.BlobLinked(ctx(t), p.ID, "sha256:b")
	ok(t, err)
	eq(t, "linked", linked, true)
	u, isUnlinker := s.(packages.BlobUnlinker)
	if !isUnlinker {
		t.Fatal("the store must be a packages.BlobUnlinker")
	}
	ok(t, s.LinkBlob(ctx(t), p.ID, "sha256:u"))
	ok(t, u.UnlinkBlob(ctx(t), p.ID, "sha256:u"))
	linked, err = s.BlobLinked(ctx(t), p.ID, "sha256:u")
	ok(t, err)
	eq(t, "unlinked", linked, false)
	isNotFound(t, u.UnlinkBlob(ctx(t), p.ID, "sha256:u"), "UnlinkBlob twice")

	ok(t, s.PutBlob(ctx(t), &packages.Blob{Digest: "sha256:c", Size: 1, CreatedAt: at}))
	for _, tc := range []struct {
		name      string
		digest    string
		olderThan time.Time
		want      bool
	}{
		{"too young", "sha256:c", at, false},
		{"linked", "sha256:b", at.Add(48 * time.Hour), false},
		{"unreferenced and old", "sha256:c", at.Add(time.Second), true},
		{"twice", "sha256:c", at.Add(time.Second), false},
		{"unknown", "sha256:none", at.Add(time.Second), false},
	} {
		forgot, err := s.ForgetBlob(ctx(t), tc.digest, tc.olderThan)
		ok(t, err)
		eq(t, "ForgetBlob "+tc.name, forgot, tc.want)
	}
	_, err = s.GetBlob(ctx(t), "sha256:c")
	isNotFound(t, err, "forgotten blob")
}

func testUnreferencedBlobs(t *testing.T, s packages.Store) {
	o := mkUser(t, s, "o")
	p := mkPkg(t, s, o, packages.TypeContainer, "p", packages.Public)
	v := mkVersion(t, s, p, "sha256:m")
	old := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	put := func(d string, at time.Time) {
		ok(t, s.PutBlob(ctx(t), &packages.Blob{Digest: d, Size: 1, CreatedAt: at}))
	}
	put("sha256:file", old)
	put("sha256:linked", old)
	put("sha256:orphan1", old.Add(time.Minute))
	put("sha256:orphan0", old)
	put("sha256:young", old.Add(48*time.Hour))
	ok(t, s.AddFile(ctx(t), &packages.File{VersionID: v.ID, Name: "manifest", Digest: "sha256:file"}))
	ok(t, s.LinkBlob(ctx(t), p.ID, "sha256:linked"))

	cutoff := old.Add(24 * time.Hour)
	bs, err := s.UnreferencedBlobs(ctx(t), cutoff, 0)
	ok(t, err)
	eq(t, "unreferenced", bs, []packages.Blob{
		{Digest: "sha256:orphan0", Size: 1, CreatedAt: old},
		{Digest: "sha256:orphan1", Size: 1, CreatedAt: old.Add(time.Minute)},
	})
	bs, err = s.UnreferencedBlobs(ctx(t), cutoff, 1)
	ok(t, err)
	eq(t, "limit", len(bs), 1)
	bs, err = s.UnreferencedBlobs(ctx(t), old, 0)
	ok(t, err)
	eq(t, "strictly before", len(bs), 0)

	// Once the package is gone its links and files go too.
	ok(t, s.HardDeletePackage(ctx(t), p.ID))
	bs, err = s.UnreferencedBlobs(ctx(t), cutoff, 0)
	ok(t, err)
	eq(t, "after hard delete", len(bs), 4)
}

func testPendingBlobs(t *testing.T, s packages.Store) {
	o, u, other := mkUser(t, s, "o"), mkUser(t, s, "u"), mkUser(t, s, "other")
	old := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, d := range []string{"sha256:a", "sha256:b", "sha256:c"} {
		ok(t, s.PutBlob(ctx(t), &packages.Blob{Digest: d, Size: 1, CreatedAt: old}))
	}
	k := packages.PendingKey{OwnerID: o.ID, Type: packages.TypeContainer, Name: "App", UserID: u.ID}
	ok(t, s.LinkPendingBlob(ctx(t), k, "sha256:a", old))
	ok(t, s.LinkPendingBlob(ctx(t), k, "sha256:a", old)) // again: one link
	ok(t, s.LinkPendingBlob(ctx(t), k, "sha256:b", old.Add(2*time.Hour)))
	held := func(k packages.PendingKey, d string, wantHeld, wantLinked bool) {
		t.Helper()
		h, l, err := s.PendingBlobs(ctx(t), k, d)
		ok(t, err)
		eq(t, fmt.Sprintf("held %+v %s", k, d), [2]bool{h, l}, [2]bool{wantHeld, wantLinked})
	}
	held(k, "sha256:a", true, true)
	held(k, "sha256:c", true, false)
	lower := k
	lower.Name = "app" // names compare case-insensitively
	held(lower, "sha256:b", true, true)
	// Another user's pushes to the name, another type or another name
	// hold nothing of these.
	for _, o := range []packages.PendingKey{
		{OwnerID: o.ID, Type: packages.TypeContainer, Name: "App", UserID: other.ID},
		{OwnerID: o.ID, Type: packages.TypeDocker, Name: "App", UserID: u.ID},
		{OwnerID: o.ID, Type: packages.TypeContainer, Name: "App2", UserID: u.ID},
	} {
		held(o, "sha256:a", false, false)
	}

	// Pending blobs are references: old as they are, GC keeps them.
	bs, err := s.UnreferencedBlobs(ctx(t), old.Add(48*time.Hour), 0)
	ok(t, err)
	eq(t, "unreferenced", bs, []packages.Blob{{Digest: "sha256:c", Size: 1, CreatedAt: old}})
	forgot, err := s.ForgetBlob(ctx(t), "sha256:a", old.Add(48*time.Hour))
	ok(t, err)
	eq(t, "forget a pending blob", forgot, false)

	// Relinking moves the time forward, never back; expiry drops what
	// was not linked since.
	ok(t, s.LinkPendingBlob(ctx(t), k, "sha256:b", old))
	n, err := s.ExpirePendingBlobs(ctx(t), old.Add(time.Hour))
	ok(t, err)
	eq(t, "expired", n, 1)
	held(k, "sha256:a", true, false)
	held(k, "sha256:b", true, true)

	// Claiming links them to the package and forgets them as pending.
	p := mkPkg(t, s, o, packages.TypeContainer, "App", packages.Private)
	ok(t, s.LinkBlob(ctx(t), p.ID, "sha256:b")) // linked already: kept once
	ok(t, s.LinkPendingBlob(ctx(t), k, "sha256:c", old.Add(3*time.Hour)))
	ok(t, s.ClaimPendingBlobs(ctx(t), lower, p.ID))
	held(k, "sha256:b", false, false)
	for _, d := range []string{"sha256:b", "sha256:c"} {
		linked, err := s.BlobLinked(ctx(t), p.ID, d)
		ok(t, err)
		eq(t, "claimed "+d, linked, true)
	}
	linked, err := s.BlobLinked(ctx(t), p.ID, "sha256:a")
	ok(t, err)
	eq(t, "expired before the claim", linked, false)
	n, err = s.ExpirePendingBlobs(ctx(t), old.Add(100*time.Hour))
	ok(t, err)
	eq(t, "nothing left to expire", n, 0)

	// TouchBlob moves a recorded blob's time forward and records nothing.
	touched, err := s.TouchBlob(ctx(t), "sha256:a", old.Add(time.Hour))
	ok(t, err)
	eq(t, "touch", touched, true)
	touched, err = s.TouchBlob(ctx(t), "sha256:a", old)
	ok(t, err)
	eq(t, "touch back", touched, true)
	got, err := s.GetBlob(ctx(t), "sha256:a")
	ok(t, err)
	eq(t, "touched time", got.CreatedAt, old.Add(time.Hour))
	touched, err = s.TouchBlob(ctx(t), "sha256:none", old)
	ok(t, err)
	eq(t, "touch unknown", touched, false)
	_, err = s.GetBlob(ctx(t), "sha256:none")
	isNotFound(t, err, "touched unknown blob")
}

func testPurgeable(t *testing.T, s packages.Store) {
	o := mkUser(t, s, "o")
	base := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	p1, p2, p3 := mkPkg(t, s, o, packages.TypeNpm, "p1", packages.Public), mkPkg(t, s, o, packages.TypeNpm, "p2", packages.Public), mkPkg(t, s, o, packages.TypeNpm, "p3", packages.Public)
	live := mkPkg(t, s, o, packages.TypeNpm, "live", packages.Public)
	softDeletePackage(t, s, p2, o.ID, base.Add(time.Hour))
	softDeletePackage(t, s, p1, o.ID, base.Add(2*time.Hour))
	softDeletePackage(t, s, p3, o.ID, base.Add(30*24*time.Hour))
	v1, v2, v3 := mkVersion(t, s, live, "1"), mkVersion(t, s, live, "2"), mkVersion(t, s, live, "3")
	mkVersion(t, s, live, "4")
	softDeleteVersion(t, s, v3, o.ID, base)
	softDeleteVersion(t, s, v1, o.ID, base.Add(time.Hour))
	softDeleteVersion(t, s, v2, o.ID, base.Add(30*24*time.Hour))

	cutoff := base.Add(24 * time.Hour)
	ps, err := s.ListPurgeablePackages(ctx(t), cutoff, 0)
	ok(t, err)
	ids := []int64{}
	for _, p := range ps {
		ids = append(ids, p.ID)
	}
	eq(t, "packages, oldest deletion first", ids, []int64{p2.ID, p1.ID})
	ps, err = s.ListPurgeablePackages(ctx(t), cutoff, 1)
	ok(t, err)
	eq(t, "limit", len(ps), 1)

	vs, err := s.ListPurgeableVersions(ctx(t), cutoff, 0)
	ok(t, err)
	eq(t, "versions", versionIDs(vs), []int64{v3.ID, v1.ID})
	vs, err = s.ListPurgeableVersions(ctx(t), cutoff, 1)
	ok(t, err)
	eq(t, "version limit", versionIDs(vs), []int64{v3.ID})
}

func testEvents(t *testing.T, s packages.Store) {
	o := mkUser(t, s, "o")
	p := mkPkg(t, s, o, packages.TypeNpm, "p", packages.Public)
	e1 := &packages.Event{ActorID: o.ID, Action: packages.ActionPublish, PackageID: p.ID, VersionID: 7, Detail: "1.0.0"}
	e2 := &packages.Event{Action: packages.ActionDeletePackage, PackageID: p.ID}
	ok(t, s.AddEvent(ctx(t), e1))
	ok(t, s.AddEvent(ctx(t), e2))
	ok(t, s.AddEvent(ctx(t), &packages.Event{Action: packages.ActionPurge, PackageID: p.ID + 1}))
	if e1.ID == 0 || e2.ID <= e1.ID {
		t.Fatalf("event ids %d, %d", e1.ID, e2.ID)
	}
	utc(t, "CreatedAt", e1.CreatedAt)
	evs, err := s.ListEvents(ctx(t), p.ID)
	ok(t, err)
	eq(t, "events", evs, []packages.Event{*e1, *e2})
	evs, err = s.ListEvents(ctx(t), 987654)
	ok(t, err)
	eq(t, "no events", len(evs), 0)
}

func testListPackagesFilters(t *testing.T, s packages.Store) {
	o, o2 := mkUser(t, s, "o"), mkUser(t, s, "o2")
	var want []string
	for i := range 7 {
		name := fmt.Sprintf("npm-%d", i)
		mkPkg(t, s, o, packages.TypeNpm, name, packages.Public)
		want = append(want, name)
	}
	mkPkg(t, s, o, packages.TypeContainer, "Web_App", packages.Private)
	mkPkg(t, s, o, packages.TypeContainer, "web%app", packages.Internal)
	mkPkg(t, s, o, packages.TypeMaven, "WebApp", packages.Internal)
	mkPkg(t, s, o2, packages.TypeNpm, "npm-x", packages.Public)
	del := mkPkg(t, s, o, packages.TypeNpm, "npm-deleted", packages.Public)
	softDeletePackage(t, s, del, o.ID, time.Now())

	tests := []struct {
		name      string
		f         packages.PackageFilter
		want      []string
		wantTotal int
	}{
		{"owner", packages.PackageFilter{OwnerID: o.ID}, append(slices.Clone(want), "WebApp", "Web_App", "web%app"), 10},
		{"every owner", packages.PackageFilter{}, append(slices.Clone(want), "WebApp", "Web_App", "npm-x", "web%app"), 11},
		{"type", packages.PackageFilter{OwnerID: o.ID, Type: packages.TypeContainer}, []string{"Web_App", "web%app"}, 2},
		{"visibility", packages.PackageFilter{OwnerID: o.ID, Visibilities: []packages.Visibility{packages.Internal}}, []string{"WebApp", "web%app"}, 2},
		{"visibilities", packages.PackageFilter{OwnerID: o.ID, Visibilities: []packages.Visibility{packages.Private, packages.Internal}}, []string{"WebApp", "Web_App", "web%app"}, 3},
		{"deleted", packages.PackageFilter{OwnerID: o.ID, State: packages.Deleted}, []string{"npm-deleted"}, 1},
		{"any state", packages.PackageFilter{OwnerID: o.ID, Type: packages.TypeNpm, State: packages.AnyState}, append(slices.Clone(want), "npm-deleted"), 8},
		{"name contains", packages.PackageFilter{NameContains: "WEBAPP"}, []string{"WebApp"}, 1},
		{"name contains _ literally", packages.PackageFilter{NameContains: "b_a"}, []string{"Web_App"}, 1},
		{"name contains % literally", packages.PackageFilter{NameContains: "b%a"}, []string{"web%app"}, 1},
		{"name contains npm-", packages.PackageFilter{OwnerID: o.ID, NameContains: "PM-"}, want, 7},
		{"page 1", packages.PackageFilter{OwnerID: o.ID, Type: packages.TypeNpm, Limit: 3}, want[:3], 7},
		{"page 3", packages.PackageFilter{OwnerID: o.ID, Type: packages.TypeNpm, Limit: 3, Offset: 6}, want[6:], 7},
		{"past the end", packages.PackageFilter{OwnerID: o.ID, Type: packages.TypeNpm, Limit: 3, Offset: 9}, []string{}, 7},
		{"offset without limit", packages.PackageFilter{OwnerID: o.ID, Type: packages.TypeNpm, Offset: 4}, want[4:], 7},
		{"nothing", packages.PackageFilter{OwnerID: 987654}, []string{}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps, total, err := s.ListPackages(ctx(t), tc.f)
			ok(t, err)
			for i := 1; i < len(ps); i++ {
				if ps[i].ID <= ps[i-1].ID {
					t.Fatalf("not ordered by id: %v", pkgNames(ps))
				}
			}
			wantSorted := slices.Clone(tc.want)
			sort.Strings(wantSorted)
			eq(t, "names", pkgNames(ps), wantSorted)
			eq(t, "total", total, tc.wantTotal)
		})
	}
}

func testListPackagesReadable(t *testing.T, s packages.Store) {
	// Maven is repository-scoped; the store learns which types are from the
	// filter, never from a list of its own.
	repoScoped := []packages.Type{packages.TypeDocker, packages.TypeMaven}
	org, org2 := mkOrg(t, s, "org"), mkOrg(t, s, "org2")
	u, x := mkUser(t, s, "u"), mkUser(t, s, "x")
	privRepo := mkRepo(t, s, org, "priv-repo", packages.Private)
	intRepo := mkRepo(t, s, org, "int-repo", packages.Internal)
	int2Repo := mkRepo(t, s, org2, "int2-repo", packages.Internal)
	ok(t, s.SetCollaborator(ctx(t), privRepo.ID, u.ID, packages.RoleRead))

	mk := func(owner *packages.Owner, name string, vis packages.Visibility, repo *packages.Repository) *packages.Package {
		p := &packages.Package{OwnerID: owner.ID, Type: packages.TypeMaven, Name: name, Visibility: vis}
		if repo != nil {
			p.RepositoryID = repo.ID
		}
		ok(t, s.CreatePackage(ctx(t), p))
		return p
	}
	mk(org, "pub", packages.Public, nil)
	mk(org, "priv", packages.Private, nil)
	mk(org, "intl", packages.Internal, nil)
	granted := mk(org, "granted", packages.Private, nil)
	ok(t, s.SetPackageAccess(ctx(t), granted.ID, u.ID, packages.RoleRead))
	otherGrant := mk(org, "other-grant", packages.Private, nil)
	ok(t, s.SetPackageAccess(ctx(t), otherGrant.ID, x.ID, packages.RoleWrite))
	mk(org, "collab", packages.Private, privRepo)
	mk(org, "in-int-repo", packages.Private, intRepo)
	mk(org2, "org2-priv", packages.Private, nil)
	mk(org2, "org2-intl", packages.Internal, nil)
	mk(org2, "org2-in-int-repo", packages.Private, int2Repo)
	mk(u, "mine", packages.Private, nil)
	mk(x, "xs", packages.Private, nil)
	mk(x, "xs-pub", packages.Public, nil)
	gone := mk(org, "gone-pub", packages.Public, nil)
	softDeletePackage(t, s, gone, org.ID, time.Now())

	tests := []struct {
		name string
		rb   *packages.ReadableBy
		want []string
	}{
		{"no restriction", nil, []string{"collab", "granted", "in-int-repo", "intl", "mine", "org2-in-int-repo", "org2-intl", "org2-priv", "other-grant", "priv", "pub", "xs", "xs-pub"}},
		{"anonymous", &packages.ReadableBy{RepositoryScoped: repoScoped}, []string{"pub", "xs-pub"}},
		{"user: own, grants, collaborations", &packages.ReadableBy{RepositoryScoped: repoScoped, UserID: u.ID}, []string{"collab", "granted", "mine", "pub", "xs-pub"}},
		{"member of org", &packages.ReadableBy{RepositoryScoped: repoScoped, UserID: u.ID, OrgMemberOf: []int64{org.ID}}, []string{"collab", "granted", "in-int-repo", "intl", "mine", "pub", "xs-pub"}},
		{"member of both orgs", &packages.ReadableBy{RepositoryScoped: repoScoped, UserID: u.ID, OrgMemberOf: []int64{org.ID, org2.ID}}, []string{"collab", "granted", "in-int-repo", "intl", "mine", "org2-in-int-repo", "org2-intl", "pub", "xs-pub"}},
		{"admin of org2", &packages.ReadableBy{RepositoryScoped: repoScoped, UserID: u.ID, OrgAdminOf: []int64{org2.ID}}, []string{"collab", "granted", "mine", "org2-in-int-repo", "org2-intl", "org2-priv", "pub", "xs-pub"}},
		{"admin of self", &packages.ReadableBy{RepositoryScoped: repoScoped, UserID: x.ID, OrgAdminOf: []int64{x.ID}}, []string{"other-grant", "pub", "xs", "xs-pub"}},
		{"member without user", &packages.ReadableBy{RepositoryScoped: repoScoped, OrgMemberOf: []int64{org2.ID}}, []string{"org2-in-int-repo", "org2-intl", "pub", "xs-pub"}},
		{"no repository-scoped types", &packages.ReadableBy{UserID: u.ID, OrgMemberOf: []int64{org.ID}}, []string{"granted", "intl", "mine", "pub", "xs-pub"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps, total, err := s.ListPackages(ctx(t), packages.PackageFilter{Readable: tc.rb})
			ok(t, err)
			eq(t, "names", pkgNames(ps), tc.want)
			eq(t, "total", total, len(tc.want))
		})
	}

	// Readable combines with the other fields and with paging.
	ps, total, err := s.ListPackages(ctx(t), packages.PackageFilter{OwnerID: org.ID, Readable: &packages.ReadableBy{RepositoryScoped: repoScoped, UserID: u.ID, OrgMemberOf: []int64{org.ID}}, Limit: 2, Offset: 1})
	ok(t, err)
	eq(t, "paged total", total, 5)
	eq(t, "paged", len(ps), 2)
}

func testWithTx(t *testing.T, s packages.Store) {
	o := mkUser(t, s, "o")
	boom := errors.New("boom")

	// Rolled back on error.
	err := s.WithTx(ctx(t), func(tx packages.Store) error {
		p := mkPkg(t, tx, o, packages.TypeNpm, "rolled-back", packages.Public)
		mkVersion(t, tx, p, "1.0.0")
		got, err := tx.GetPackage(ctx(t), o.ID, packages.TypeNpm, "rolled-back", packages.Active)
		ok(t, err) // the transaction sees its own writes
		eq(t, "in tx", got.ID, p.ID)
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("WithTx returned %v, want fn's error", err)
	}
	_, err = s.GetPackage(ctx(t), o.ID, packages.TypeNpm, "rolled-back", packages.AnyState)
	isNotFound(t, err, "after rollback")

	// Committed on success; nested WithTx shares the transaction.
	err = s.WithTx(ctx(t), func(tx packages.Store) error {
		p := mkPkg(t, tx, o, packages.TypeNpm, "committed", packages.Public)
		return tx.WithTx(ctx(t), func(inner packages.Store) error {
			mkVersion(t, inner, p, "1.0.0")
			_, err := tx.GetVersionByName(ctx(t), p.ID, "1.0.0", packages.Active)
			return err
		})
	})
	ok(t, err)
	p, err := s.GetPackage(ctx(t), o.ID, packages.TypeNpm, "committed", packages.Active)
	ok(t, err)
	_, err = s.GetVersionByName(ctx(t), p.ID, "1.0.0", packages.Active)
	ok(t, err)

	// A nested failure rolls back the whole transaction.
	err = s.WithTx(ctx(t), func(tx packages.Store) error {
		mkPkg(t, tx, o, packages.TypeNpm, "outer", packages.Public)
		return tx.WithTx(ctx(t), func(inner packages.Store) error { return boom })
	})
	if !errors.Is(err, boom) {
		t.Fatalf("nested WithTx returned %v", err)
	}
	_, err = s.GetPackage(ctx(t), o.ID, packages.TypeNpm, "outer", packages.AnyState)
	isNotFound(t, err, "after nested rollback")

	// Store errors inside keep their kind.
	err = s.WithTx(ctx(t), func(tx packages.Store) error {
		return tx.CreatePackage(ctx(t), &packages.Package{OwnerID: o.ID, Type: packages.TypeNpm, Name: "COMMITTED", Visibility: packages.Public})
	})
	isConflict(t, err, "conflict in tx")

	// Methods that use a transaction of their own work on a bound store.
	err = s.WithTx(ctx(t), func(tx packages.Store) error {
		return tx.HardDeletePackage(ctx(t), p.ID)
	})
	ok(t, err)
	_, err = s.GetPackageByID(ctx(t), p.ID)
	isNotFound(t, err, "hard deleted in tx")
}

func testConcurrentWrites(t *testing.T, s packages.Store) {
	o := mkUser(t, s, "o")
	p := mkPkg(t, s, o, packages.TypeNpm, "p", packages.Public)
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				v := &packages.Version{PackageID: p.ID, Name: fmt.Sprintf("%d.%d.0", w, i)}
				if err := s.CreateVersion(ctx(t), v); err != nil {
					errs <- err
					return
				}
				if i%5 == 0 {
					err := s.WithTx(ctx(t), func(tx packages.Store) error {
						if err := tx.SetTag(ctx(t), p.ID, fmt.Sprintf("w%d", w), v.ID); err != nil {
							return err
						}
						return tx.IncrementDownloads(ctx(t), p.ID, v.ID)
					})
					if err != nil {
						errs <- err
						return
					}
				}
				if _, _, err := s.ListVersions(ctx(t), packages.VersionFilter{PackageID: p.ID, Limit: 10}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent write: %v", err)
	}
	_, total, err := s.ListVersions(ctx(t), packages.VersionFilter{PackageID: p.ID, Limit: 1})
	ok(t, err)
	eq(t, "versions", total, workers*each)
	got, err := s.GetPackageByID(ctx(t), p.ID)
	ok(t, err)
	eq(t, "downloads", got.DownloadCount, int64(workers*each/5))
}

func testTimes(t *testing.T, s packages.Store) {
	loc := time.FixedZone("X", -7*3600)
	at := time.Date(2024, 2, 29, 23, 59, 58, 123456789, loc)
	want := at.UTC().Truncate(time.Microsecond)
	o := &packages.Owner{Login: "o", Type: packages.UserOwner, CreatedAt: at, UpdatedAt: at}
	ok(t, s.CreateOwner(ctx(t), o))
	got, err := s.GetOwnerByID(ctx(t), o.ID)
	ok(t, err)
	eq(t, "created", got.CreatedAt, want)
	eq(t, "updated", got.UpdatedAt, want)
	eq(t, "returned to caller", o.CreatedAt, want)

	p := &packages.Package{OwnerID: o.ID, Type: packages.TypeNpm, Name: "p", Visibility: packages.Public}
	ok(t, s.CreatePackage(ctx(t), p))
	before := time.Now().UTC().Add(-time.Minute)
	if p.CreatedAt.Before(before) || p.CreatedAt.After(time.Now().Add(time.Minute)) {
		t.Fatalf("default CreatedAt %v is not now", p.CreatedAt)
	}
	del := at
	p.DeletedAt, p.DeletedBy = &del, o.ID
	ok(t, s.UpdatePackage(ctx(t), p))
	gp, err := s.GetPackageByID(ctx(t), p.ID)
	ok(t, err)
	eq(t, "deleted at", *gp.DeletedAt, want)
	utc(t, "deleted at", *gp.DeletedAt)
}

// testPackageRevision checks that a package's revision moves on every change
// to its versions or tags, and not on downloads or on other packages.
func testPackageRevision(t *testing.T, s packages.Store) {
	u := mkUser(t, s, "rev-user")
	p := mkPkg(t, s, u, packages.TypeNpm, "rev", packages.Public)
	other := mkPkg(t, s, u, packages.TypeNpm, "rev-other", packages.Public)
	rev := func(p *packages.Package) int64 {
		t.Helper()
		got, err := s.GetPackageByID(ctx(t), p.ID)
		ok(t, err)
		byName, err := s.GetPackage(ctx(t), u.ID, packages.TypeNpm, p.Name, packages.Active)
		ok(t, err)
		eq(t, "revision by name", byName.Revision, got.Revision)
		return got.Revision
	}
	last, otherRev := rev(p), rev(other)
	changed := func(what string) {
		t.Helper()
		now := rev(p)
		if now == last {
			t.Fatalf("%s: revision stayed %d", what, now)
		}
		last = now
	}
	v1 := mkVersion(t, s, p, "1.0.0")
	changed("create version")
	v2 := mkVersion(t, s, p, "2.0.0")
	changed("create second version")
	ok(t, s.SetTag(ctx(t), p.ID, "latest", v2.ID))
	changed("set tag")
	ok(t, s.SetTag(ctx(t), p.ID, "latest", v1.ID))
	changed("move tag")
	ok(t, s.DeleteTag(ctx(t), p.ID, "latest"))
	changed("delete tag")
	v1.Metadata = json.RawMessage(`{"deprecated":"no"}`)
	ok(t, s.UpdateVersion(ctx(t), v1))
	changed("update version")
	ok(t, s.SetTag(ctx(t), p.ID, "next", v2.ID))
	changed("set another tag")
	ok(t, s.DeleteVersionTags(ctx(t), v2.ID))
	changed("delete version tags")
	softDeleteVersion(t, s, v2, u.ID, time.Now())
	changed("soft-delete version")
	ok(t, s.IncrementDownloads(ctx(t), p.ID, v1.ID))
	eq(t, "revision after a download", rev(p), last)
	ok(t, s.HardDeleteVersion(ctx(t), v2.ID))
	changed("hard-delete version")
	ok(t, s.WithTx(ctx(t), func(tx packages.Store) error {
		v := &packages.Version{PackageID: p.ID, Name: "3.0.0"}
		if err := tx.CreateVersion(ctx(t), v); err != nil {
			return err
		}
		return tx.SetTag(ctx(t), p.ID, "latest", v.ID)
	}))
	changed("publish in a transaction")
	eq(t, "other package's revision", rev(other), otherRev)
}

func testBlobChecksums(t *testing.T, s packages.Store) {
	at := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	sums := func(c byte) packages.Checksums {
		return packages.Checksums{MD5: strings.Repeat(string(c), 32), SHA1: strings.Repeat(string(c), 40),
			SHA256: strings.Repeat(string(c), 64), SHA512: strings.Repeat(string(c), 128)}
	}
	// Recorded with its checksums.
	ok(t, s.PutBlob(ctx(t), &packages.Blob{Digest: "sha256:with", Size: 1, CreatedAt: at, Checksums: sums('a')}))
	got, err := s.GetBlob(ctx(t), "sha256:with")
	ok(t, err)
	eq(t, "blob with checksums", *got, packages.Blob{Digest: "sha256:with", Size: 1, CreatedAt: at, Checksums: sums('a')})
	// Put again without them, or older: they stay.
	ok(t, s.PutBlob(ctx(t), &packages.Blob{Digest: "sha256:with", Size: 1, CreatedAt: at.Add(time.Hour)}))
	ok(t, s.PutBlob(ctx(t), &packages.Blob{Digest: "sha256:with", Size: 1, CreatedAt: at.Add(-time.Hour)}))
	got, err = s.GetBlob(ctx(t), "sha256:with")
	ok(t, err)
	eq(t, "blob put again", *got, packages.Blob{Digest: "sha256:with", Size: 1, CreatedAt: at.Add(time.Hour), Checksums: sums('a')})

	// Recorded without; they come later, by PutBlob or SetBlobChecksums.
	for _, d := range []string{"sha256:c1", "sha256:c2", "sha256:c3", "sha256:c4"} {
		ok(t, s.PutBlob(ctx(t), &packages.Blob{Digest: d, Size: 2, CreatedAt: at}))
	}
	got, err = s.GetBlob(ctx(t), "sha256:c1")
	ok(t, err)
	eq(t, "blob without checksums", got.Checksums, packages.Checksums{})
	digests := func(bs []packages.Blob) []string {
		out := []string{}
		for _, b := range bs {
			out = append(out, b.Digest)
		}
		return out
	}
	bs, err := s.BlobsWithoutChecksums(ctx(t), "", 0)
	ok(t, err)
	eq(t, "without checksums", digests(bs), []string{"sha256:c1", "sha256:c2", "sha256:c3", "sha256:c4"})
	eq(t, "listed blob", bs[0], packages.Blob{Digest: "sha256:c1", Size: 2, CreatedAt: at})
	bs, err = s.BlobsWithoutChecksums(ctx(t), "sha256:c1", 2)
	ok(t, err)
	eq(t, "without checksums, second page", digests(bs), []string{"sha256:c2", "sha256:c3"})

	ok(t, s.SetBlobChecksums(ctx(t), "sha256:c1", sums('b')))
	ok(t, s.PutBlob(ctx(t), &packages.Blob{Digest: "sha256:c3", Size: 2, CreatedAt: at, Checksums: sums('c')}))
	got, err = s.GetBlob(ctx(t), "sha256:c1")
	ok(t, err)
	eq(t, "checksums set", *got, packages.Blob{Digest: "sha256:c1", Size: 2, CreatedAt: at, Checksums: sums('b')})
	got, err = s.GetBlob(ctx(t), "sha256:c3")
	ok(t, err)
	eq(t, "checksums put", *got, packages.Blob{Digest: "sha256:c3", Size: 2, CreatedAt: at, Checksums: sums('c')})
	bs, err = s.BlobsWithoutChecksums(ctx(t), "", 0)
	ok(t, err)
	eq(t, "still without checksums", digests(bs), []string{"sha256:c2", "sha256:c4"})

	isNotFound(t, s.SetBlobChecksums(ctx(t), "sha256:none", sums('d')), "SetBlobChecksums of an unknown blob")
	if err := s.SetBlobChecksums(ctx(t), "sha256:c2", packages.Checksums{MD5: sums('d').MD5}); err == nil {
		t.Fatal("SetBlobChecksums with one of four succeeded")
	}

	// In a transaction, as a publish records them.
	ok(t, s.WithTx(ctx(t), func(tx packages.Store) error {
		return tx.SetBlobChecksums(ctx(t), "sha256:c2", sums('e'))
	}))
	got, err = s.GetBlob(ctx(t), "sha256:c2")
	ok(t, err)
	eq(t, "checksums set in a transaction", got.Checksums, sums('e'))
}
