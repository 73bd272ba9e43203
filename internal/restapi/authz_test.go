package restapi_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

// The authorization matrix: every operation, for every kind of caller, on
// packages of every visibility, of a granular type (container) and a
// repository-scoped one (maven), in each of the three namespaces, and
// through /users/{username} naming an organization.

// Callers.
const (
	whoNone     = "none"     // no Authorization header
	whoBad      = "bad"      // a well-formed token nobody issued
	whoExpired  = "expired"  // the owner's (or org admin's) expired token
	whoNoScope  = "noscope"  // the owner's (or org admin's) token with only repo
	whoReadOnly = "readonly" // the owner's (or org admin's) token with read:packages and repo
	whoStranger = "stranger" // mallory: no relation to the package
	whoMember   = "member"   // bob: member of acme
	whoOrgAdmin = "orgadmin" // carol: admin of acme
	whoPkgAdmin = "pkgadmin" // dave: admin of the package (granular) or of its repository (maven)
	whoOwner    = "owner"    // alice, for her own packages
)

var callers = []string{whoNone, whoBad, whoExpired, whoNoScope, whoReadOnly, whoStranger, whoMember, whoOrgAdmin, whoPkgAdmin, whoOwner}

// Namespaces of the REST paths.
const (
	nsOrg  = "org"  // /orgs/acme/...
	nsSelf = "self" // /user/...
	nsUser = "user" // /users/alice/...
	// nsUserOrg names the organization through the users path
	// (/users/acme/...), as GitHub allows and the package-cleanup action
	// does; the organization's rules apply unchanged.
	nsUserOrg = "userorg"
)

// orgNamespace reports whether a namespace names the organization.
func orgNamespace(ns string) bool { return ns == nsOrg || ns == nsUserOrg }

type matrixCase struct {
	ns   string
	typ  packages.Type
	vis  packages.Visibility
	who  string
	kind string // an op kind, as in namespaceOps
}

func (c matrixCase) String() string {
	return fmt.Sprintf("%s %s %s %s by %s", c.kind, c.ns, c.typ, c.vis, c.who)
}

func isRead(kind string) bool {
	return kind == "list" || kind == "get" || kind == "versions" || kind == "version"
}

// expectedStatus states GitHub's rules for the REST API:
//   - every operation needs a valid token (401 without one or with a bad or
//     expired one) carrying the operation's scopes (403 otherwise);
//   - a package the caller may not read does not exist for it (404), and the
//     /user paths name the caller's own namespace;
//   - reading needs read access, which public packages give everyone, internal
//     ones every member of the owning organization, and private ones only the
//     owner, the organization's admins and those granted access (for maven,
//     through the repository);
//   - delete and restore need admin on the package (403 otherwise), and on
//     an organization's packages the caller must also be an organization
//     admin, whichever path names the organization.
func expectedStatus(c matrixCase) int {
	switch c.who {
	case whoNone, whoBad, whoExpired:
		return 401
	case whoNoScope:
		return 403
	case whoReadOnly:
		if !isRead(c.kind) {
			return 403 // no delete:packages / write:packages
		}
	}
	// The owner's tokens act as the owner; the org admin's as the org admin.
	who := c.who
	if who == whoReadOnly {
		who = whoOwner
		if orgNamespace(c.ns) {
			who = whoOrgAdmin
		}
	}
	if c.ns == nsSelf && who != whoOwner {
		// /user/... is the caller's own namespace, where it has no package.
		if c.kind == "list" {
			return 200
		}
		return 404
	}
	if c.kind == "list" {
		return 200
	}
	if !canRead(c.ns, c.vis, who) {
		return 404
	}
	if isRead(c.kind) {
		return 200
	}
	admin := who == whoOwner || who == whoPkgAdmin || (who == whoOrgAdmin && orgNamespace(c.ns))
	if !admin {
		return 403
	}
	if orgNamespace(c.ns) && who != whoOrgAdmin {
		return 403
	}
	return 204
}

func canRead(ns string, vis packages.Visibility, who string) bool {
	switch {
	case who == whoOwner || who == whoPkgAdmin:
		return true
	case who == whoOrgAdmin && orgNamespace(ns):
		return true
	case vis == packages.Public:
		return true
	case vis == packages.Internal && orgNamespace(ns) && who == whoMember:
		return true
	}
	return false
}

// literalCases are checked by hand against GitHub's documentation, not
// derived from expectedStatus, so that the matrix cannot just mirror the
// rules it tests.
var literalCases = []struct {
	c    matrixCase
	want int
}{
	{matrixCase{nsOrg, packages.TypeContainer, packages.Private, whoStranger, "get"}, 404},
	{matrixCase{nsOrg, packages.TypeContainer, packages.Internal, whoMember, "get"}, 200},
	{matrixCase{nsOrg, packages.TypeContainer, packages.Internal, whoStranger, "versions"}, 404},
	{matrixCase{nsOrg, packages.TypeContainer, packages.Internal, whoMember, "delete"}, 403},
	{matrixCase{nsOrg, packages.TypeContainer, packages.Private, whoPkgAdmin, "delete"}, 403},
	{matrixCase{nsOrg, packages.TypeContainer, packages.Private, whoOrgAdmin, "delete-version"}, 204},
	{matrixCase{nsOrg, packages.TypeMaven, packages.Public, whoStranger, "delete"}, 403},
	{matrixCase{nsOrg, packages.TypeMaven, packages.Internal, whoMember, "version"}, 200},
	{matrixCase{nsOrg, packages.TypeMaven, packages.Private, whoMember, "get"}, 404},
	{matrixCase{nsUser, packages.TypeContainer, packages.Private, whoPkgAdmin, "delete"}, 204},
	{matrixCase{nsUser, packages.TypeContainer, packages.Public, whoNone, "get"}, 401},
	{matrixCase{nsUser, packages.TypeContainer, packages.Public, whoStranger, "restore"}, 403},
	{matrixCase{nsUser, packages.TypeMaven, packages.Private, whoPkgAdmin, "restore-version"}, 204},
	{matrixCase{nsUser, packages.TypeMaven, packages.Public, whoNoScope, "get"}, 403},
	{matrixCase{nsUser, packages.TypeMaven, packages.Private, whoExpired, "get"}, 401},
	{matrixCase{nsSelf, packages.TypeContainer, packages.Private, whoReadOnly, "restore"}, 403},
	{matrixCase{nsSelf, packages.TypeContainer, packages.Public, whoStranger, "get"}, 404},
	{matrixCase{nsSelf, packages.TypeMaven, packages.Private, whoOwner, "delete"}, 204},
	{matrixCase{nsSelf, packages.TypeContainer, packages.Private, whoMember, "list"}, 200},
	{matrixCase{nsUserOrg, packages.TypeContainer, packages.Private, whoOrgAdmin, "versions"}, 200},
	{matrixCase{nsUserOrg, packages.TypeContainer, packages.Private, whoOrgAdmin, "delete-version"}, 204},
	{matrixCase{nsUserOrg, packages.TypeContainer, packages.Private, whoPkgAdmin, "delete-version"}, 403},
	{matrixCase{nsUserOrg, packages.TypeContainer, packages.Public, whoPkgAdmin, "restore"}, 403},
	{matrixCase{nsUserOrg, packages.TypeContainer, packages.Internal, whoMember, "get"}, 200},
	{matrixCase{nsUserOrg, packages.TypeMaven, packages.Private, whoStranger, "versions"}, 404},
	{matrixCase{nsUserOrg, packages.TypeMaven, packages.Public, whoOrgAdmin, "delete"}, 204},
}

// matrix holds the fixtures of the matrix.
type matrix struct {
	*world
	tokens   map[string]map[string]string // ns kind (org/user) -> caller -> token
	versions map[string][]*packages.Version
}

func matrixName(typ packages.Type, vis packages.Visibility) string {
	if typ == packages.TypeMaven {
		return "com.example.m-" + string(vis)
	}
	return "m-" + string(vis)
}

func ownerKind(ns string) string {
	if orgNamespace(ns) {
		return "org"
	}
	return "user"
}

func (m *matrix) ref(ns string, typ packages.Type, vis packages.Visibility) packages.PackageRef {
	owner := "alice"
	if orgNamespace(ns) {
		owner = "acme"
	}
	return packages.PackageRef{Owner: owner, Type: typ, Name: matrixName(typ, vis)}
}

func (m *matrix) admin(ns string) string {
	if orgNamespace(ns) {
		return "carol"
	}
	return "alice"
}

func newMatrix(t *testing.T, env *testenv.Env) *matrix {
	w := newWorld(t, env)
	m := &matrix{world: w, tokens: map[string]map[string]string{}, versions: map[string][]*packages.Version{}}
	ctx := context.Background()
	for _, kind := range []string{"org", "user"} {
		ns := nsUser
		if kind == "org" {
			ns = nsOrg
		}
		owner, admin := m.ref(ns, "", "").Owner, m.admin(ns)
		for _, vis := range []packages.Visibility{packages.Public, packages.Private, packages.Internal} {
			if vis == packages.Internal && kind == "user" {
				continue
			}
			ctr := m.ref(ns, packages.TypeContainer, vis)
			m.versions[kind+string(ctr.Type)+string(vis)] = w.publish(admin, ctr, "", digest('1'), digest('2'))
			if vis != packages.Private {
				w.setVisibility(admin, ctr, vis)
			}
			w.grant(admin, ctr, "dave", packages.RoleAdmin)

			repo := owner + "/r-" + string(vis)
			env.Repo(repo, vis)
			if err := env.Service.AddCollaborator(ctx, repo, "dave", packages.RoleAdmin); err != nil {
				t.Fatalf("collaborator: %v", err)
			}
			mvn := m.ref(ns, packages.TypeMaven, vis)
			m.versions[kind+string(mvn.Type)+string(vis)] = w.publish(admin, mvn, repo, "1.0", "2.0")
		}
		id := admin
		expired, _, err := env.Service.CreateToken(ctx, id, strings.Split(allScopes, ","), "expiring", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		m.tokens[kind] = map[string]string{
			whoBad:      "phk_" + strings.Repeat("Z", 40),
			whoExpired:  expired,
			whoNoScope:  env.Token(id, "repo"),
			whoReadOnly: env.Token(id, "read:packages,repo"),
			whoStranger: w.tok["mallory"],
			whoMember:   w.tok["bob"],
			whoOrgAdmin: w.tok["carol"],
			whoPkgAdmin: w.tok["dave"],
			whoOwner:    w.tok["alice"],
		}
	}
	env.Clock.Advance(2 * time.Hour) // the expiring tokens expire
	return m
}

// run performs one case and returns the status, setting up the deleted
// package or version a restore needs and putting everything back after.
func (m *matrix) run(t *testing.T, c matrixCase) int {
	t.Helper()
	ctx := context.Background()
	ref := m.ref(c.ns, c.typ, c.vis)
	admin := m.actor(m.admin(c.ns))
	adminRef := ref
	adminRef.Scope = packages.AnyOwner
	ver := m.versions[ownerKind(c.ns)+string(c.typ)+string(c.vis)][0].ID

	switch c.kind {
	case "restore":
		if err := m.env.Service.DeletePackage(ctx, admin, adminRef, packages.ViaREST); err != nil {
			t.Fatalf("%s: set up: %v", c, err)
		}
	case "restore-version":
		if err := m.env.Service.DeleteVersion(ctx, admin, adminRef, ver, packages.ViaREST); err != nil {
			t.Fatalf("%s: set up: %v", c, err)
		}
	}

	prefix := map[string]string{nsOrg: "/orgs/acme", nsSelf: "/user", nsUser: "/users/alice", nsUserOrg: "/users/acme"}[c.ns]
	var o op
	for _, x := range namespaceOps(prefix) {
		if x.kind == c.kind {
			o = x
		}
	}
	path := strings.ReplaceAll(o.url(string(c.typ)+"/"+ref.Name, ver), "{type}", string(c.typ))
	token := m.tokens[ownerKind(c.ns)][c.who]
	r := m.doT(t, o.method, path, token)

	if c.kind == "list" && r.status == 200 {
		var ps []pkgJSON
		r.json(t, &ps)
		found := false
		for _, p := range ps {
			found = found || p.Name == ref.Name
		}
		wantFound := expectedStatus(matrixCase{c.ns, c.typ, c.vis, c.who, "get"}) == 200
		if found != wantFound {
			t.Errorf("%s: package listed = %v, want %v", c, found, wantFound)
		}
	}

	// Put things back.
	if _, err := m.env.Service.GetPackage(ctx, admin, adminRef, packages.OpRead, packages.ViaREST); packages.IsNotFound(err) {
		if err := m.env.Service.RestorePackage(ctx, admin, adminRef, packages.ViaREST); err != nil {
			t.Fatalf("%s: restore back: %v", c, err)
		}
	}
	if _, v, err := m.env.Service.GetVersion(ctx, admin, adminRef, ver, packages.ViaREST); err != nil {
		t.Fatalf("%s: get version back: %v", c, err)
	} else if v.DeletedAt != nil {
		if err := m.env.Service.RestoreVersion(ctx, admin, adminRef, ver, packages.ViaREST); err != nil {
			t.Fatalf("%s: restore version back: %v", c, err)
		}
	}
	return r.status
}

func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		m := newMatrix(t, env)
		t.Run("literal", func(t *testing.T) {
			for _, lc := range literalCases {
				if got := expectedStatus(lc.c); got != lc.want {
					t.Errorf("rules: %s: expectedStatus says %d, hand-checked %d", lc.c, got, lc.want)
				}
				if got := m.run(t, lc.c); got != lc.want {
					t.Errorf("%s: status %d, want %d", lc.c, got, lc.want)
				}
			}
		})
		t.Run("matrix", func(t *testing.T) {
			n := 0
			for _, ns := range []string{nsOrg, nsUserOrg, nsUser, nsSelf} {
				for _, typ := range []packages.Type{packages.TypeContainer, packages.TypeMaven} {
					for _, vis := range []packages.Visibility{packages.Public, packages.Private, packages.Internal} {
						if vis == packages.Internal && !orgNamespace(ns) {
							continue // only organizations have internal packages
						}
						for _, who := range callers {
							if who == whoOwner && orgNamespace(ns) {
								continue // an organization has no token of its own
							}
							for _, o := range namespaceOps("") {
								c := matrixCase{ns, typ, vis, who, o.kind}
								want := expectedStatus(c)
								if got := m.run(t, c); got != want {
									t.Errorf("%s: status %d, want %d", c, got, want)
								}
								n++
							}
						}
					}
				}
			}
			t.Logf("%d cases", n)
		})
	})
}
