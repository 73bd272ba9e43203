package packages

import (
	"context"
	"fmt"
	"strings"
)

// Op is what a caller wants to do with a package.
type Op int

// Operations.
const (
	OpRead    Op = iota // read metadata, download
	OpWrite             // publish, tag, deprecate
	OpDelete            // delete a package or version
	OpRestore           // restore a package or version
)

// Via says which surface a request came through; the REST API needs a
// token for everything, registries and the web pages let anyone read
// public packages.
type Via int

// Surfaces.
const (
	ViaREST Via = iota
	ViaRegistry
	// ViaWeb is the web pages: anonymous visitors read what anonymous
	// registry clients read; a signed-in user acts with the scopes of the
	// token the session was made from, as on the REST API.
	ViaWeb
)

// anonymousReads reports whether the surface lets anyone read public
// packages.
func (v Via) anonymousReads() bool { return v == ViaRegistry || v == ViaWeb }

// OwnerScope is the owner part of a REST path, which decides some rules.
type OwnerScope int

// Owner scopes.
const (
	AnyOwner OwnerScope = iota // registries: the owner is whoever the name says
	OrgPath                    // /orgs/{org}/...: the owner must be an organization
	UserPath                   // /users/{username}/...: a user or an organization, as on GitHub
	SelfPath                   // /user/...: the owner is the caller
)

// PackageRef names a package as a request does.
type PackageRef struct {
	Owner string
	Scope OwnerScope
	Type  Type
	Name  string
}

func (r PackageRef) String() string { return fmt.Sprintf("%s/%s/%s", r.Owner, r.Type, r.Name) }

// RequiredScopes returns the token scopes an operation on a package type
// ("" for no type) needs, as X-Accepted-OAuth-Scopes lists them.
func (s *Service) RequiredScopes(op Op, typ Type) []string {
	return requiredScopes(op, typ != "" && !s.specs.spec(typ).Granular())
}

func requiredScopes(op Op, needsRepo bool) []string {
	var s []string
	switch op {
	case OpRead:
		s = []string{ScopeReadPackages}
	case OpWrite:
		s = []string{ScopeWritePackages}
	case OpDelete:
		s = []string{ScopeReadPackages, ScopeDeletePackages}
	case OpRestore:
		s = []string{ScopeReadPackages, ScopeWritePackages}
	}
	if needsRepo {
		s = append(s, ScopeRepo)
	}
	return s
}

func requiredRole(op Op) Role {
	switch op {
	case OpRead:
		return RoleRead
	case OpWrite:
		return RoleWrite
	}
	return RoleAdmin
}

// CheckScopes returns nil when the actor's token carries every scope the
// operation needs on the package type ("" for no type). Anonymous callers
// get KindUnauthenticated. Fronts call it to refuse early, before reading a
// large body; the service checks again.
func (s *Service) CheckScopes(a *Actor, op Op, typ Type) error { return s.checkScopes(a, op, typ) }

// checkScopes returns nil when the actor's token carries every scope the
// operation needs. Anonymous callers get KindUnauthenticated.
func (s *Service) checkScopes(a *Actor, op Op, typ Type) error {
	if a.Anonymous() {
		return Errorf(KindUnauthenticated, MsgRequiresAuthentication)
	}
	var missing []string
	for _, sc := range s.RequiredScopes(op, typ) {
		if !a.HasScope(sc) {
			missing = append(missing, sc)
		}
	}
	if len(missing) > 0 {
		return Errorf(KindForbidden, "Your token has not been granted the required scopes to execute this request. The %s scope(s) are required.", strings.Join(missing, ", "))
	}
	return nil
}

// access is what one caller may do with one package, and why.
type access struct {
	role    Role
	orgRole OrgRole // the caller's role in the owning organization
}

// accessFor computes the caller's role on pkg, owned by owner.
func (s *Service) accessFor(ctx context.Context, st Store, a *Actor, owner *Owner, pkg *Package) (access, error) {
	granular := s.specs.spec(pkg.Type).Granular()
	var acc access
	if pkg.Visibility == Public {
		acc.role = RoleRead
	}
	if a.Anonymous() {
		if !granular && pkg.RepositoryID != 0 {
			// Repository-scoped packages follow their repository.
			repo, err := st.GetRepositoryByID(ctx, pkg.RepositoryID)
			if err != nil && !IsNotFound(err) {
				return acc, fmt.Errorf("package repository: %w", err)
			}
			if repo != nil && repo.Visibility == Public {
				acc.role = RoleRead
			}
		}
		return acc, nil
	}
	uid := a.User.ID
	if uid == owner.ID {
		acc.role = RoleAdmin
		return acc, nil
	}
	if owner.Type == OrgOwner {
		r, err := st.GetOrgRole(ctx, owner.ID, uid)
		if err != nil {
			return acc, fmt.Errorf("org role: %w", err)
		}
		acc.orgRole = r
		if r == OrgAdmin {
			acc.role = RoleAdmin
			return acc, nil
		}
		if r == OrgMember && pkg.Visibility == Internal {
			acc.role = max(acc.role, RoleRead)
		}
	}
	if granular {
		g, err := st.GetPackageAccess(ctx, pkg.ID, uid)
		if err != nil {
			return acc, fmt.Errorf("package access: %w", err)
		}
		acc.role = max(acc.role, g)
		return acc, nil
	}
	if pkg.RepositoryID != 0 {
		r, err := repoRole(ctx, st, a, owner, pkg.RepositoryID, acc.orgRole)
		if err != nil {
			return acc, err
		}
		acc.role = max(acc.role, r)
	}
	return acc, nil
}

// repoRole is the caller's role on a repository of owner.
func repoRole(ctx context.Context, st Store, a *Actor, owner *Owner, repoID int64, orgRole OrgRole) (Role, error) {
	repo, err := st.GetRepositoryByID(ctx, repoID)
	if err != nil {
		if IsNotFound(err) {
			return NoRole, nil
		}
		return NoRole, fmt.Errorf("repository: %w", err)
	}
	role := NoRole
	switch {
	case repo.Visibility == Public:
		role = RoleRead
	case repo.Visibility == Internal && orgRole != NoOrgRole:
		role = RoleRead
	}
	if a.Anonymous() {
		return role, nil
	}
	if a.User.ID == owner.ID || orgRole == OrgAdmin {
		return RoleAdmin, nil
	}
	c, err := st.GetCollaboratorRole(ctx, repo.ID, a.User.ID)
	if err != nil {
		return NoRole, fmt.Errorf("collaborator role: %w", err)
	}
	return max(role, c), nil
}

// authorize checks that a may perform op on pkg, returning the errors
// GitHub gives: 401 without credentials where they are needed, 404 for what
// the caller may not see, 403 for what it sees but may not do. What the
// caller may not see answers exactly as a missing package does, whoever
// asks and whatever its token allows: anonymous registry reads included,
// which registries answer for public packages alone.
func (s *Service) authorize(ctx context.Context, st Store, a *Actor, owner *Owner, pkg *Package, op Op, via Via, scope OwnerScope) error {
	anonymousRead := via.anonymousReads() && op == OpRead
	if a.Anonymous() && !anonymousRead {
		return Errorf(KindUnauthenticated, MsgRequiresAuthentication)
	}
	acc, err := s.accessFor(ctx, st, a, owner, pkg)
	if err != nil {
		return err
	}
	if acc.role < RoleRead {
		return ErrPackageNotFound
	}
	if !a.Anonymous() {
		if err := s.checkScopes(a, op, pkg.Type); err != nil {
			// A registry read by a token without repo on a public
			// package is still a read of a public package.
			if !(anonymousRead && KindOf(err) == KindForbidden && pkg.Visibility == Public) {
				return err
			}
		}
	}
	if acc.role < requiredRole(op) {
		return Errorf(KindForbidden, "You do not have permission to %s this package.", opVerb(op))
	}
	// On the REST API an organization's packages are deleted and restored
	// only by its admins, whichever path (/orgs/{org} or /users/{username})
	// names the organization.
	if scope != AnyOwner && owner.Type == OrgOwner && (op == OpDelete || op == OpRestore) && acc.orgRole != OrgAdmin {
		return Errorf(KindForbidden, "You must be an admin of the organization to %s this package.", opVerb(op))
	}
	return nil
}

func opVerb(op Op) string {
	switch op {
	case OpRead:
		return "read"
	case OpWrite:
		return "publish to"
	case OpDelete:
		return "delete"
	}
	return "restore"
}

// readableBy builds the listing filter for what a may read of owner's
// packages; nil means everything.
func (s *Service) readableBy(ctx context.Context, st Store, a *Actor, owner *Owner) (*ReadableBy, error) {
	if a.Anonymous() {
		return &ReadableBy{RepositoryScoped: s.specs.RepositoryScoped()}, nil
	}
	if a.User.ID == owner.ID {
		return nil, nil
	}
	rb := &ReadableBy{UserID: a.User.ID, RepositoryScoped: s.specs.RepositoryScoped()}
	if owner.Type == OrgOwner {
		r, err := st.GetOrgRole(ctx, owner.ID, a.User.ID)
		if err != nil {
			return nil, fmt.Errorf("org role: %w", err)
		}
		switch r {
		case OrgAdmin:
			return nil, nil
		case OrgMember:
			rb.OrgMemberOf = []int64{owner.ID}
		}
	}
	return rb, nil
}
