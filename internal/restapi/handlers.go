package restapi

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/packhub/packhub/internal/packages"
)

const docsBase = "https://docs.github.com/rest/packages/packages#"

// routes lists every operation. Patterns are registered as given and again
// under /api/v3.
func (s *server) routes() []route {
	rs := []route{
		{"GET /{$}", "https://docs.github.com/rest/meta/meta#github-api-root", s.root},
		{"GET /versions", "https://docs.github.com/rest/meta/meta#get-all-api-versions", s.versions},
		{"GET /user", "https://docs.github.com/rest/users/users#get-the-authenticated-user", s.authenticatedUser},
		{"GET /users/{username}", "https://docs.github.com/rest/users/users#get-a-user", s.user},
		{"GET /orgs/{org}", "https://docs.github.com/rest/orgs/orgs#get-an-organization", s.org},
	}
	// The three owner namespaces of the packages API, with the documentation
	// anchors of their operations.
	type namespace struct {
		prefix string
		scope  packages.OwnerScope
		docs   [8]string // list, get, delete, restore, versions, version, delete version, restore version
	}
	for _, ns := range []namespace{
		{"/orgs/{org}", packages.OrgPath, [8]string{
			"list-packages-for-an-organization",
			"get-a-package-for-an-organization",
			"delete-a-package-for-an-organization",
			"restore-a-package-for-an-organization",
			"list-package-versions-for-a-package-owned-by-an-organization",
			"get-a-package-version-for-an-organization",
			"delete-package-version-for-an-organization",
			"restore-package-version-for-an-organization",
		}},
		{"/user", packages.SelfPath, [8]string{
			"list-packages-for-the-authenticated-users-namespace",
			"get-a-package-for-the-authenticated-user",
			"delete-a-package-for-the-authenticated-user",
			"restore-a-package-for-the-authenticated-user",
			"list-package-versions-for-a-package-owned-by-the-authenticated-user",
			"get-a-package-version-for-the-authenticated-user",
			"delete-a-package-version-for-the-authenticated-user",
			"restore-a-package-version-for-the-authenticated-user",
		}},
		{"/users/{username}", packages.UserPath, [8]string{
			"list-packages-for-a-user",
			"get-a-package-for-a-user",
			"delete-a-package-for-a-user",
			"restore-a-package-for-a-user",
			"list-package-versions-for-a-package-owned-by-a-user",
			"get-a-package-version-for-a-user",
			"delete-package-version-for-a-user",
			"restore-package-version-for-a-user",
		}},
	} {
		p := ns.prefix + "/packages"
		pkg := p + "/{package_type}/{package_name}"
		ver := pkg + "/versions/{package_version_id}"
		sc := ns.scope
		rs = append(rs,
			route{"GET " + p, docsBase + ns.docs[0], s.listPackages(sc)},
			route{"GET " + pkg, docsBase + ns.docs[1], s.getPackage(sc)},
			route{"DELETE " + pkg, docsBase + ns.docs[2], s.deletePackage(sc)},
			route{"POST " + pkg + "/restore", docsBase + ns.docs[3], s.restorePackage(sc)},
			route{"GET " + pkg + "/versions", docsBase + ns.docs[4], s.listVersions(sc)},
			route{"GET " + ver, docsBase + ns.docs[5], s.getVersion(sc)},
			route{"DELETE " + ver, docsBase + ns.docs[6], s.deleteVersion(sc)},
			route{"POST " + ver + "/restore", docsBase + ns.docs[7], s.restoreVersion(sc)},
		)
	}
	rs = append(rs, s.hookRoutes()...)
	rs = append(rs, s.adminRoutes()...)
	return rs
}

// ---- Parameters ----------------------------------------------------------

// msgInvalidType answers a package_type outside GitHub's enum.
// msgInvalidType is GitHub's message for a package_type outside the enum;
// the enum is the service's set of types.
func (c *call) msgInvalidType() string {
	return "Invalid package_type: must be one of " + c.typeList() + "."
}

func (c *call) typeList() string {
	types := c.s.svc.Specs().Types()
	names := make([]string, len(types))
	for i, t := range types {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

// ownerParam is the owner login a path names; "" for /user.
func (c *call) ownerParam(scope packages.OwnerScope) string {
	switch scope {
	case packages.OrgPath:
		return c.r.PathValue("org")
	case packages.UserPath:
		return c.r.PathValue("username")
	}
	return ""
}

// packageRef reads the package a path names. A package_type outside the
// enum is answered 400, in the path as in the list endpoints' query: the
// client sent a value the API does not accept, which is not the same as
// asking for a package that does not exist.
func (c *call) packageRef(scope packages.OwnerScope, op packages.Op) (packages.PackageRef, bool) {
	typ, ok := c.s.svc.Specs().Parse(c.r.PathValue("package_type"))
	c.acceptScopes(op, typ)
	if !ok {
		c.badRequest(c.msgInvalidType())
		return packages.PackageRef{}, false
	}
	return packages.PackageRef{
		Owner: c.ownerParam(scope),
		Scope: scope,
		Type:  typ,
		Name:  c.r.PathValue("package_name"),
	}, true
}

// msgVersionID is GitHub's message for a package_version_id that is not an
// integer (a digest or a tag, typically).
const msgVersionID = "The version_id parameter must be an integer."

// versionID reads package_version_id. A value that is not an integer is
// answered 400 with GitHub's message; an integer no version can have (zero,
// negative, beyond int64) is left to the service, which answers 404.
func (c *call) versionID() (int64, bool) {
	v := c.r.PathValue("package_version_id")
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return 0, true
		}
		c.badRequest(msgVersionID)
		return 0, false
	}
	return id, true
}

// ---- Packages ------------------------------------------------------------

func (s *server) listPackages(scope packages.OwnerScope) func(*call) {
	return func(c *call) {
		q := c.r.URL.Query()
		typ, ok := c.s.svc.Specs().Parse(q.Get("package_type"))
		c.acceptScopes(packages.OpRead, typ)
		if !ok {
			if q.Get("package_type") == "" {
				c.badRequest("The package_type parameter is required: one of " + c.typeList() + ".")
				return
			}
			c.badRequest(c.msgInvalidType())
			return
		}
		var vis packages.Visibility
		if v := q.Get("visibility"); v != "" {
			if vis, ok = packages.ParseVisibility(v); !ok {
				c.badRequest("Invalid visibility: must be one of public, private, internal.")
				return
			}
		}
		page := pageOf(q)
		if int64(page.Page)*int64(page.PerPage) > maxPackageWindow {
			c.badRequest("The value of `per_page` multiplied by `page` cannot be greater than 10000.")
			return
		}
		list, total, err := s.svc.ListPackages(c.r.Context(), c.actor, packages.ListPackagesRequest{
			Owner:      c.ownerParam(scope),
			Scope:      scope,
			Type:       typ,
			Visibility: vis,
			Page:       page,
		})
		if err != nil {
			c.fail(err)
			return
		}
		out := make([]*packageJSON, 0, len(list))
		for i := range list {
			out = append(out, c.packageJSON(&list[i]))
		}
		// Link only to pages the window allows: page*per_page <= 10000.
		c.setLink(page, min(total, maxPackageWindow/page.PerPage*page.PerPage))
		c.ok(out)
	}
}

func (s *server) getPackage(scope packages.OwnerScope) func(*call) {
	return func(c *call) {
		ref, ok := c.packageRef(scope, packages.OpRead)
		if !ok {
			return
		}
		pi, err := s.svc.GetPackage(c.r.Context(), c.actor, ref, packages.OpRead, packages.ViaREST)
		if err != nil {
			c.fail(err)
			return
		}
		c.ok(c.packageJSON(pi))
	}
}

func (s *server) deletePackage(scope packages.OwnerScope) func(*call) {
	return func(c *call) {
		ref, ok := c.packageRef(scope, packages.OpDelete)
		if !ok {
			return
		}
		if err := s.svc.DeletePackage(c.r.Context(), c.actor, ref, packages.ViaREST); err != nil {
			c.fail(err)
			return
		}
		c.noContent()
	}
}

// restorePackage accepts GitHub's optional "token" query parameter and
// ignores it: restore needs no token beyond the caller's credentials.
func (s *server) restorePackage(scope packages.OwnerScope) func(*call) {
	return func(c *call) {
		ref, ok := c.packageRef(scope, packages.OpRestore)
		if !ok {
			return
		}
		if err := s.svc.RestorePackage(c.r.Context(), c.actor, ref, packages.ViaREST); err != nil {
			c.fail(err)
			return
		}
		c.noContent()
	}
}

// listVersions serves the three version lists. The organization and
// authenticated-user lists page and take state=active|deleted; the list
// for another user has neither parameter in GitHub's description (nor in
// go-github), so it returns every active version, unpaged.
func (s *server) listVersions(scope packages.OwnerScope) func(*call) {
	return func(c *call) {
		ref, ok := c.packageRef(scope, packages.OpRead)
		if !ok {
			return
		}
		state := packages.Active
		var page packages.Page // zero: everything
		paged := scope != packages.UserPath
		if paged {
			q := c.r.URL.Query()
			switch strings.TrimSpace(q.Get("state")) {
			case "", "active":
			case "deleted":
				state = packages.Deleted
			default:
				c.badRequest("Invalid state: must be one of active, deleted.")
				return
			}
			page = pageOf(q)
		}
		pi, vs, total, err := s.svc.ListVersions(c.r.Context(), c.actor, ref, state, page, packages.ViaREST)
		if err != nil {
			c.fail(err)
			return
		}
		if paged {
			c.setLink(page, total)
		}
		c.ok(c.versionsJSON(pi, vs))
	}
}

func (s *server) getVersion(scope packages.OwnerScope) func(*call) {
	return func(c *call) {
		ref, ok := c.packageRef(scope, packages.OpRead)
		if !ok {
			return
		}
		id, ok := c.versionID()
		if !ok {
			return
		}
		pi, v, err := s.svc.GetVersion(c.r.Context(), c.actor, ref, id, packages.ViaREST)
		if err != nil {
			c.fail(err)
			return
		}
		spec := c.spec(pi.Type)
		c.ok(versionJSONOf(pi, spec, c.links().packageURLs(pi, spec), v))
	}
}

func (s *server) deleteVersion(scope packages.OwnerScope) func(*call) {
	return func(c *call) {
		ref, ok := c.packageRef(scope, packages.OpDelete)
		if !ok {
			return
		}
		id, ok := c.versionID()
		if !ok {
			return
		}
		if err := s.svc.DeleteVersion(c.r.Context(), c.actor, ref, id, packages.ViaREST); err != nil {
			c.fail(err)
			return
		}
		c.noContent()
	}
}

func (s *server) restoreVersion(scope packages.OwnerScope) func(*call) {
	return func(c *call) {
		ref, ok := c.packageRef(scope, packages.OpRestore)
		if !ok {
			return
		}
		id, ok := c.versionID()
		if !ok {
			return
		}
		if err := s.svc.RestoreVersion(c.r.Context(), c.actor, ref, id, packages.ViaREST); err != nil {
			c.fail(err)
			return
		}
		c.noContent()
	}
}

// ---- Accounts and meta ---------------------------------------------------

func (s *server) root(c *call) { c.ok(c.rootJSON()) }

func (s *server) versions(c *call) { c.ok(SupportedVersions) }

func (s *server) authenticatedUser(c *call) {
	if c.actor.Anonymous() {
		c.error(http.StatusUnauthorized, packages.MsgRequiresAuthentication)
		return
	}
	c.w.Header().Set("X-Accepted-OAuth-Scopes", "")
	c.ok(c.links().privateUser(c.actor.User))
}

func (s *server) user(c *call) {
	o, err := s.svc.Owner(c.r.Context(), c.r.PathValue("username"))
	if err != nil {
		c.fail(err)
		return
	}
	c.ok(c.links().publicUser(o))
}

func (s *server) org(c *call) {
	o, err := s.svc.Owner(c.r.Context(), c.r.PathValue("org"))
	if err != nil {
		c.fail(err)
		return
	}
	if o.Type != packages.OrgOwner {
		c.notFound()
		return
	}
	c.ok(c.links().organization(o))
}
