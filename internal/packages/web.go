package packages

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// What the web pages read, beyond what the REST API reads. The rules are
// the REST API's; the pages only ask.

// listingReader is whom a package listing is made for. The REST API (and
// the web for a signed-in user whose token reads the type) lists for the
// caller; the web lists what anyone may read for an anonymous visitor, and
// for a signed-in user whose token may not read the type, as a registry
// serves such a token public packages.
func (s *Service) listingReader(a *Actor, req ListPackagesRequest) (*Actor, error) {
	if req.Via != ViaWeb {
		return a, s.checkScopes(a, OpRead, req.Type)
	}
	if a.Anonymous() {
		return nil, nil
	}
	if err := s.checkScopes(a, OpRead, req.Type); err != nil {
		if KindOf(err) == KindForbidden {
			return nil, nil
		}
		return nil, err
	}
	return a, nil
}

// Allowed returns nil when the caller may perform op on the active package
// ref names, and the error the operation itself would return otherwise
// (404 for a package the caller may not see, 401, 403): the pages ask it
// before they offer a form.
func (s *Service) Allowed(ctx context.Context, a *Actor, ref PackageRef, op Op, via Via) error {
	owner, pkg, err := s.resolve(ctx, s.store, a, ref, Active, OpRead, via)
	if err != nil {
		if op != OpRead && a.Anonymous() && IsNotFound(err) && via.anonymousReads() {
			return Errorf(KindUnauthenticated, MsgRequiresAuthentication)
		}
		return err
	}
	return s.authorize(ctx, s.store, a, owner, pkg, op, via, ref.Scope)
}

// VersionSummary is a version with its tags and the number and total size
// of its files. A deleted version also says until when it can be restored
// and whether its name is free for that.
type VersionSummary struct {
	VersionInfo
	FileCount int
	Size      int64
	// RestoreUntil is when a deleted version leaves the restore window.
	RestoreUntil time.Time
	// NameTaken: a deleted version's name has been published again, so
	// it cannot be restored until that version is deleted.
	NameTaken bool
}

// ListVersionSummaries lists one page of a package's versions in a state,
// newest first, with their tags and file totals, and the total count: the
// page is found in SQL, however many versions the package has. Deleted
// versions are those still inside the restore window.
func (s *Service) ListVersionSummaries(ctx context.Context, a *Actor, ref PackageRef, state State, page Page, via Via) (*PackageInfo, []VersionSummary, int, error) {
	pi, vs, total, err := s.ListVersions(ctx, a, ref, state, page, via)
	if err != nil {
		return nil, nil, 0, err
	}
	ids := make([]int64, len(vs))
	for i := range vs {
		ids[i] = vs[i].ID
	}
	totals, err := s.store.FileTotals(ctx, ids)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("file totals: %w", err)
	}
	out := make([]VersionSummary, len(vs))
	for i := range vs {
		ft := totals[vs[i].ID]
		out[i] = VersionSummary{VersionInfo: vs[i], FileCount: ft.Count, Size: ft.Size}
		if vs[i].DeletedAt == nil {
			continue
		}
		out[i].RestoreUntil = vs[i].DeletedAt.Add(s.opts.RestoreWindow)
		if _, err := s.store.GetVersionByName(ctx, pi.ID, vs[i].Name, Active); err == nil {
			out[i].NameTaken = true
		} else if !IsNotFound(err) {
			return nil, nil, 0, fmt.Errorf("check version name: %w", err)
		}
	}
	return pi, out, total, nil
}

// DeletedPackage is a package deleted within the restore window.
type DeletedPackage struct {
	PackageInfo
	RestoreUntil time.Time
	// Restorable says whether RestorePackage would restore this package
	// for the caller now; Reason says why not when it would not.
	Restorable bool
	Reason     string
}

// DeletedPackages lists one page of an owner's packages deleted within the
// restore window, newest package first, for a caller who administers the
// whole namespace: the owner itself or an admin of the organization.
// Anyone else is answered as if the owner had none to show (KindNotFound),
// anonymous callers KindUnauthenticated.
func (s *Service) DeletedPackages(ctx context.Context, a *Actor, req ListPackagesRequest) ([]DeletedPackage, int, error) {
	if a.Anonymous() {
		return nil, 0, Errorf(KindUnauthenticated, MsgRequiresAuthentication)
	}
	owner, err := resolveOwner(ctx, s.store, a, PackageRef{Owner: req.Owner, Scope: req.Scope})
	if err != nil {
		return nil, 0, err
	}
	if rb, err := s.readableBy(ctx, s.store, a, owner); err != nil {
		return nil, 0, err
	} else if rb != nil {
		return nil, 0, Errorf(KindNotFound, "Not Found")
	}
	now := s.now()
	f := PackageFilter{OwnerID: owner.ID, Type: req.Type, State: Deleted, DeletedAfter: now.Add(-s.opts.RestoreWindow)}
	if req.Visibility != "" {
		f.Visibilities = []Visibility{req.Visibility}
	}
	f.Limit, f.Offset = req.Page.limitOffset()
	pkgs, total, err := s.store.ListPackages(ctx, f)
	if err != nil {
		return nil, 0, fmt.Errorf("list deleted packages: %w", err)
	}
	out := make([]DeletedPackage, 0, len(pkgs))
	repos := map[int64]*PackageInfo{}
	for i := range pkgs {
		p := &pkgs[i]
		pi, err := s.info(ctx, s.store, owner, p, repos)
		if err != nil {
			return nil, 0, err
		}
		dp := DeletedPackage{PackageInfo: *pi, RestoreUntil: p.DeletedAt.Add(s.opts.RestoreWindow)}
		dp.Restorable, dp.Reason, err = s.restorable(ctx, a, owner, p, req.Scope)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, dp)
	}
	return out, total, nil
}

// restorable says whether RestorePackage would restore p, a deleted
// package of owner, for a, and why not.
func (s *Service) restorable(ctx context.Context, a *Actor, owner *Owner, p *Package, scope OwnerScope) (bool, string, error) {
	if err := s.authorize(ctx, s.store, a, owner, p, OpRestore, ViaWeb, scope); err != nil {
		if k := KindOf(err); k == KindForbidden || k == KindNotFound {
			return false, PublicMessage(err, "You may not restore this package."), nil
		}
		return false, "", err
	}
	if _, err := s.store.GetPackage(ctx, owner.ID, p.Type, p.Name, Active); err == nil {
		return false, "The package name has been taken by a new package. Delete the new package before restoring this one.", nil
	} else if !IsNotFound(err) {
		return false, "", fmt.Errorf("check namespace: %w", err)
	}
	latest, err := s.store.GetPackage(ctx, owner.ID, p.Type, p.Name, Deleted)
	if err != nil {
		return false, "", fmt.Errorf("latest deleted package: %w", err)
	}
	if latest.ID != p.ID {
		return false, "A package of the same name was deleted later; restoring the name restores that one.", nil
	}
	return true, "", nil
}

// PackageGrants lists the users granted a role on a package of a granular
// type, for a caller who may change them (as GrantPackageAccess checks).
func (s *Service) PackageGrants(ctx context.Context, a *Actor, ref PackageRef) ([]Grant, error) {
	if !s.specs.spec(ref.Type).Granular() {
		return nil, Errorf(KindInvalid, "%s packages take their permissions from their repository", ref.Type)
	}
	_, pkg, err := s.resolve(ctx, s.store, a, ref, Active, OpRead, ViaWeb)
	if err != nil {
		return nil, err
	}
	if err := s.Allowed(ctx, a, ref, OpDelete, ViaWeb); err != nil {
		return nil, err
	}
	gs, err := s.store.ListPackageAccess(ctx, pkg.ID)
	if err != nil {
		return nil, fmt.Errorf("package grants: %w", err)
	}
	return gs, nil
}

// RepositoryPackages lists one page of the active packages linked to the
// repository "OWNER/NAME" that the caller may read, of one type or all.
// A repository the caller may not read is KindNotFound, as a missing one.
func (s *Service) RepositoryPackages(ctx context.Context, a *Actor, fullName string, typ Type, page Page) (*Repository, *Owner, []PackageInfo, int, error) {
	repo, owner, err := s.readableRepository(ctx, a, fullName)
	if err != nil {
		return nil, nil, nil, 0, err
	}
	reader, err := s.listingReader(a, ListPackagesRequest{Type: typ, Via: ViaWeb})
	if err != nil {
		return nil, nil, nil, 0, err
	}
	rb, err := s.readableBy(ctx, s.store, reader, owner)
	if err != nil {
		return nil, nil, nil, 0, err
	}
	f := PackageFilter{OwnerID: owner.ID, Type: typ, RepositoryID: repo.ID, State: Active, Readable: rb}
	f.Limit, f.Offset = page.limitOffset()
	pkgs, total, err := s.store.ListPackages(ctx, f)
	if err != nil {
		return nil, nil, nil, 0, fmt.Errorf("list repository packages: %w", err)
	}
	out := make([]PackageInfo, 0, len(pkgs))
	for i := range pkgs {
		out = append(out, PackageInfo{Package: pkgs[i], Owner: owner, Repository: repo, RepositoryOwner: owner})
	}
	return repo, owner, out, total, nil
}

// RepositoryPackage finds an active package linked to the repository
// "OWNER/NAME" by id, as GitHub's page of a repository's package names it,
// for a caller who may read it. A package linked elsewhere, or one the
// caller may not read, is ErrPackageNotFound.
func (s *Service) RepositoryPackage(ctx context.Context, a *Actor, fullName string, id int64) (*PackageInfo, error) {
	ownerLogin, _, _ := strings.Cut(fullName, "/")
	repo, _, err := s.repositoryByFullName(ctx, fullName)
	if err != nil {
		return nil, notFound(ErrPackageNotFound, err)
	}
	p, err := s.store.GetPackageByID(ctx, id)
	if err != nil || p.DeletedAt != nil || p.RepositoryID != repo.ID {
		return nil, notFoundAs(err, ErrPackageNotFound)
	}
	owner, err := s.store.GetOwnerByID(ctx, p.OwnerID)
	if err != nil {
		return nil, notFoundAs(err, ErrPackageNotFound)
	}
	if !strings.EqualFold(owner.Login, ownerLogin) {
		return nil, ErrPackageNotFound
	}
	return s.GetPackage(ctx, a, PackageRef{Owner: owner.Login, Scope: UserPath, Type: p.Type, Name: p.Name}, OpRead, ViaWeb)
}

// readableRepository finds the repository "OWNER/NAME" if the caller may
// read it: it is public, internal to an organization the caller is a
// member of, or the caller has a role on it.
func (s *Service) readableRepository(ctx context.Context, a *Actor, fullName string) (*Repository, *Owner, error) {
	repo, owner, err := s.repositoryByFullName(ctx, fullName)
	if err != nil {
		if KindOf(err) == KindInvalid {
			return nil, nil, Errorf(KindNotFound, "Not Found")
		}
		return nil, nil, err
	}
	orgRole := NoOrgRole
	if owner.Type == OrgOwner && !a.Anonymous() {
		if orgRole, err = s.store.GetOrgRole(ctx, owner.ID, a.User.ID); err != nil {
			return nil, nil, fmt.Errorf("org role: %w", err)
		}
	}
	role, err := repoRole(ctx, s.store, a, owner, repo.ID, orgRole)
	if err != nil {
		return nil, nil, err
	}
	if role < RoleRead {
		return nil, nil, Errorf(KindNotFound, "Not Found")
	}
	return repo, owner, nil
}

// VisibilityChoices lists the visibilities SetPackageVisibility takes for
// a package: none but public once it is public; internal only for an
// organization's package of a granular type.
func (s *Service) VisibilityChoices(pi *PackageInfo) []Visibility {
	if pi.Visibility == Public {
		return []Visibility{Public}
	}
	out := []Visibility{Private, Public}
	if pi.Owner != nil && pi.Owner.Type == OrgOwner && s.specs.spec(pi.Type).Granular() {
		out = append(out, Internal)
	}
	return out
}

// Granular reports whether packages of a type take per-package grants.
func (s *Service) Granular(t Type) bool { return s.specs.spec(t).Granular() }

// FileSums is a file of a version with its checksums.
type FileSums struct {
	File
	Sums Checksums
}

// VersionFileChecksums returns the files of an active version of a package
// the caller may read, with their checksums, as FileChecksums gives them
// one at a time.
func (s *Service) VersionFileChecksums(ctx context.Context, a *Actor, ref PackageRef, version string) ([]FileSums, error) {
	_, _, fs, err := s.VersionFiles(ctx, a, ref, version)
	if err != nil {
		return nil, err
	}
	out := make([]FileSums, len(fs))
	for i := range fs {
		sums, err := s.BlobChecksums(ctx, fs[i].Digest)
		if err != nil {
			return nil, fmt.Errorf("checksums of %s: %w", fs[i].Digest, err)
		}
		out[i] = FileSums{File: fs[i], Sums: sums}
	}
	return out, nil
}
