package packages

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// PackageInfo is a package with what renders it: its owner and its linked
// repository (nil when none) with that repository's owner.
type PackageInfo struct {
	Package
	Owner           *Owner
	Repository      *Repository
	RepositoryOwner *Owner
}

// Page asks for one page of a list; Page counts from 1.
type Page struct {
	Page    int
	PerPage int
}

func (p Page) limitOffset() (int, int) {
	if p.PerPage <= 0 {
		return 0, 0
	}
	page := max(p.Page, 1)
	return p.PerPage, (page - 1) * p.PerPage
}

// validPackageName rejects names no registry could have made: empty, too
// long, control characters, or path tricks.
func validPackageName(name string) bool {
	if name == "" || len(name) > 512 {
		return false
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	for _, r := range name {
		if unicode.IsControl(r) || r == '\\' {
			return false
		}
	}
	return true
}

// resolveOwner finds the owner a ref names and checks it against the path
// it came through: /orgs/{org} names only organizations, while
// /users/{username}, as on GitHub, names users and organizations alike (the
// package-cleanup action reaches organization packages through it).
func resolveOwner(ctx context.Context, st Store, a *Actor, ref PackageRef) (*Owner, error) {
	if ref.Scope == SelfPath {
		if a.Anonymous() {
			return nil, Errorf(KindUnauthenticated, MsgRequiresAuthentication)
		}
		return a.User, nil
	}
	if !ValidLogin(ref.Owner) {
		return nil, Errorf(KindNotFound, "Not Found")
	}
	o, err := st.GetOwnerByLogin(ctx, ref.Owner)
	if err != nil {
		return nil, notFoundOr(err, "Not Found")
	}
	if ref.Scope == OrgPath && o.Type != OrgOwner {
		return nil, Errorf(KindNotFound, "Not Found")
	}
	return o, nil
}

// resolve finds the package a ref names in the given state and authorizes
// op on it.
func (s *Service) resolve(ctx context.Context, st Store, a *Actor, ref PackageRef, state State, op Op, via Via) (*Owner, *Package, error) {
	if via == ViaREST {
		// The REST API needs a token for everything, before anything is
		// looked up.
		if err := s.checkScopes(a, op, ref.Type); err != nil {
			return nil, nil, err
		}
	}
	owner, err := resolveOwner(ctx, st, a, ref)
	if err != nil {
		if IsNotFound(err) {
			return nil, nil, notFound(ErrPackageNotFound, err)
		}
		return nil, nil, err
	}
	if !validPackageName(ref.Name) {
		return nil, nil, ErrPackageNotFound
	}
	pkg, err := st.GetPackage(ctx, owner.ID, ref.Type, ref.Name, state)
	if err != nil {
		if IsNotFound(err) {
			if via == ViaRegistry && a.Anonymous() && op != OpRead {
				return nil, nil, Errorf(KindUnauthenticated, MsgRequiresAuthentication)
			}
			return nil, nil, notFound(ErrPackageNotFound, err)
		}
		return nil, nil, fmt.Errorf("get package %s: %w", ref, err)
	}
	if err := s.authorize(ctx, st, a, owner, pkg, op, via, ref.Scope); err != nil {
		return nil, nil, err
	}
	if op != OpRead {
		if pkg, err = lockFresh(ctx, st, pkg, state); err != nil {
			return nil, nil, err
		}
	}
	return owner, pkg, nil
}

// lockFresh locks a package's row for the rest of the transaction, where
// the store can, and reads it again: what was read before the lock may
// have changed, and a write based on it would undo another's.
func lockFresh(ctx context.Context, st Store, pkg *Package, state State) (*Package, error) {
	l, ok := st.(PackageLocker)
	if !ok {
		return pkg, nil
	}
	if err := l.LockPackage(ctx, pkg.ID); err != nil {
		return nil, fmt.Errorf("lock package: %w", err)
	}
	fresh, err := st.GetPackageByID(ctx, pkg.ID)
	if err != nil {
		return nil, notFoundAs(err, ErrPackageNotFound)
	}
	if (fresh.DeletedAt == nil) != (state == Active) {
		return nil, ErrPackageNotFound
	}
	return fresh, nil
}

func (s *Service) info(ctx context.Context, st Store, owner *Owner, pkg *Package, repos map[int64]*PackageInfo) (*PackageInfo, error) {
	pi := &PackageInfo{Package: *pkg, Owner: owner}
	if pkg.RepositoryID == 0 {
		return pi, nil
	}
	if cached, ok := repos[pkg.RepositoryID]; ok {
		pi.Repository, pi.RepositoryOwner = cached.Repository, cached.RepositoryOwner
		return pi, nil
	}
	r, err := st.GetRepositoryByID(ctx, pkg.RepositoryID)
	if err != nil {
		if IsNotFound(err) {
			return pi, nil
		}
		return nil, fmt.Errorf("package repository: %w", err)
	}
	ro := owner
	if r.OwnerID != owner.ID {
		if ro, err = st.GetOwnerByID(ctx, r.OwnerID); err != nil {
			return nil, fmt.Errorf("repository owner: %w", err)
		}
	}
	pi.Repository, pi.RepositoryOwner = r, ro
	if repos != nil {
		repos[pkg.RepositoryID] = pi
	}
	return pi, nil
}

// GetPackage returns an active package the caller may perform op on.
func (s *Service) GetPackage(ctx context.Context, a *Actor, ref PackageRef, op Op, via Via) (*PackageInfo, error) {
	owner, pkg, err := s.resolve(ctx, s.store, a, ref, Active, op, via)
	if err != nil {
		return nil, err
	}
	return s.info(ctx, s.store, owner, pkg, nil)
}

// ListPackagesRequest selects packages of one owner.
type ListPackagesRequest struct {
	Owner      string
	Scope      OwnerScope
	Type       Type
	Visibility Visibility // "": any
	Page       Page
}

// ListPackages lists the packages of one owner that the caller may read,
// with the total count for pagination.
func (s *Service) ListPackages(ctx context.Context, a *Actor, req ListPackagesRequest) ([]PackageInfo, int, error) {
	if err := s.checkScopes(a, OpRead, req.Type); err != nil {
		return nil, 0, err
	}
	owner, err := resolveOwner(ctx, s.store, a, PackageRef{Owner: req.Owner, Scope: req.Scope})
	if err != nil {
		return nil, 0, err
	}
	rb, err := s.readableBy(ctx, s.store, a, owner)
	if err != nil {
		return nil, 0, err
	}
	f := PackageFilter{OwnerID: owner.ID, Type: req.Type, State: Active, Readable: rb}
	switch {
	case req.Visibility == "":
	case req.Visibility == Internal && req.Type != "" && !s.specs.spec(req.Type).Granular():
		// Internal is only a visibility of granular registries; for the
		// others it filters like private.
		f.Visibilities = []Visibility{Private, Internal}
	default:
		f.Visibilities = []Visibility{req.Visibility}
	}
	f.Limit, f.Offset = req.Page.limitOffset()
	pkgs, total, err := s.store.ListPackages(ctx, f)
	if err != nil {
		return nil, 0, fmt.Errorf("list packages: %w", err)
	}
	out := make([]PackageInfo, 0, len(pkgs))
	repos := map[int64]*PackageInfo{}
	for i := range pkgs {
		pi, err := s.info(ctx, s.store, owner, &pkgs[i], repos)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, *pi)
	}
	return out, total, nil
}

// VersionInfo is a version with its tags.
type VersionInfo struct {
	Version
	Tags []string
}

func (s *Service) withTags(ctx context.Context, vs []Version) ([]VersionInfo, error) {
	ids := make([]int64, len(vs))
	for i, v := range vs {
		ids[i] = v.ID
	}
	tags, err := s.store.TagsByVersion(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("tags: %w", err)
	}
	out := make([]VersionInfo, len(vs))
	for i, v := range vs {
		out[i] = VersionInfo{Version: v, Tags: tags[v.ID]}
		if out[i].Tags == nil {
			out[i].Tags = []string{}
		}
	}
	return out, nil
}

// ListVersions lists a package's versions in a state, newest first.
func (s *Service) ListVersions(ctx context.Context, a *Actor, ref PackageRef, state State, page Page, via Via) (*PackageInfo, []VersionInfo, int, error) {
	owner, pkg, err := s.resolve(ctx, s.store, a, ref, Active, OpRead, via)
	if err != nil {
		return nil, nil, 0, err
	}
	f := VersionFilter{PackageID: pkg.ID, State: state}
	if state == Deleted {
		// Only what can still be restored; the purge job removes the rest.
		f.DeletedAfter = s.now().Add(-s.opts.RestoreWindow)
	}
	f.Limit, f.Offset = page.limitOffset()
	vs, total, err := s.store.ListVersions(ctx, f)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("list versions: %w", err)
	}
	vis, err := s.withTags(ctx, vs)
	if err != nil {
		return nil, nil, 0, err
	}
	pi, err := s.info(ctx, s.store, owner, pkg, nil)
	if err != nil {
		return nil, nil, 0, err
	}
	return pi, vis, total, nil
}

// GetVersion returns one version of an active package by id, active or
// deleted.
func (s *Service) GetVersion(ctx context.Context, a *Actor, ref PackageRef, versionID int64, via Via) (*PackageInfo, *VersionInfo, error) {
	owner, pkg, err := s.resolve(ctx, s.store, a, ref, Active, OpRead, via)
	if err != nil {
		return nil, nil, err
	}
	v, err := s.store.GetVersion(ctx, pkg.ID, versionID)
	if err != nil {
		return nil, nil, notFoundAs(err, ErrPackageNotFound)
	}
	return s.versionView(ctx, owner, pkg, v)
}

// GetVersionByName returns an active version of an active package by name
// (a version string, or a digest for OCI).
func (s *Service) GetVersionByName(ctx context.Context, a *Actor, ref PackageRef, name string, via Via) (*PackageInfo, *VersionInfo, error) {
	owner, pkg, err := s.resolve(ctx, s.store, a, ref, Active, OpRead, via)
	if err != nil {
		return nil, nil, err
	}
	v, err := s.store.GetVersionByName(ctx, pkg.ID, name, Active)
	if err != nil {
		return nil, nil, notFoundAs(err, ErrVersionNotFound)
	}
	return s.versionView(ctx, owner, pkg, v)
}

// versionView renders one version of pkg with its tags and the package's
// owner and repository.
func (s *Service) versionView(ctx context.Context, owner *Owner, pkg *Package, v *Version) (*PackageInfo, *VersionInfo, error) {
	vis, err := s.withTags(ctx, []Version{*v})
	if err != nil {
		return nil, nil, err
	}
	pi, err := s.info(ctx, s.store, owner, pkg, nil)
	if err != nil {
		return nil, nil, err
	}
	return pi, &vis[0], nil
}

// ListAllVersions returns every active version of a package the caller may
// read, oldest first, with tags: what a registry renders as one document.
func (s *Service) ListAllVersions(ctx context.Context, a *Actor, ref PackageRef) (*PackageInfo, []VersionInfo, error) {
	owner, pkg, err := s.resolve(ctx, s.store, a, ref, Active, OpRead, ViaRegistry)
	if err != nil {
		return nil, nil, err
	}
	vs, _, err := s.store.ListVersions(ctx, VersionFilter{PackageID: pkg.ID, State: Active})
	if err != nil {
		return nil, nil, fmt.Errorf("list versions: %w", err)
	}
	for i, j := 0, len(vs)-1; i < j; i, j = i+1, j-1 {
		vs[i], vs[j] = vs[j], vs[i]
	}
	vis, err := s.withTags(ctx, vs)
	if err != nil {
		return nil, nil, err
	}
	pi, err := s.info(ctx, s.store, owner, pkg, nil)
	if err != nil {
		return nil, nil, err
	}
	return pi, vis, nil
}

// DeletePackage soft-deletes a package: it vanishes from every front and
// can be restored within the restore window.
func (s *Service) DeletePackage(ctx context.Context, a *Actor, ref PackageRef, via Via) error {
	// The download rule must see the downloads still held in memory.
	if err := s.FlushDownloads(ctx); err != nil {
		return fmt.Errorf("count downloads: %w", err)
	}
	var deleted *Package
	err := s.store.WithTx(ctx, func(tx Store) error {
		_, pkg, err := s.resolve(ctx, tx, a, ref, Active, OpDelete, via)
		if err != nil {
			return err
		}
		deleted = pkg
		return s.softDeletePackage(ctx, tx, a, pkg)
	})
	if err != nil {
		return err
	}
	s.runHook(ctx, s.specs.spec(deleted.Type).Hooks.OnDelete, deleted, nil)
	return nil
}

// softDeletePackage marks pkg deleted, unless the download rule keeps it.
func (s *Service) softDeletePackage(ctx context.Context, tx Store, a *Actor, pkg *Package) error {
	if pkg.Visibility == Public {
		st, err := tx.VersionStats(ctx, pkg.ID)
		if err != nil {
			return fmt.Errorf("version stats: %w", err)
		}
		if st.MaxDownloads > s.opts.DownloadLimit {
			return Errorf(KindInvalid, MsgTooManyDownloads)
		}
	}
	now := s.now()
	pkg.DeletedAt, pkg.DeletedBy, pkg.UpdatedAt = &now, a.UserID(), now
	if err := tx.UpdatePackage(ctx, pkg); err != nil {
		return fmt.Errorf("delete package: %w", err)
	}
	return s.record(ctx, tx, a, pkg, &Event{Action: ActionDeletePackage, PackageID: pkg.ID, CreatedAt: now})
}

// runHook calls a type's hook after a change committed.
func (s *Service) runHook(ctx context.Context, hook func(context.Context, *Package, *Version), pkg *Package, v *Version) {
	if hook != nil {
		hook(ctx, pkg, v)
	}
}

// RestorePackage brings back the most recently deleted package of that
// name, if it was deleted within the restore window and the name has not
// been taken again.
func (s *Service) RestorePackage(ctx context.Context, a *Actor, ref PackageRef, via Via) error {
	var restored *Package
	err := s.store.WithTx(ctx, func(tx Store) error {
		owner, pkg, err := s.resolve(ctx, tx, a, ref, Deleted, OpRestore, via)
		if err != nil {
			return err
		}
		restored = pkg
		now := s.now()
		if pkg.DeletedAt == nil || !pkg.DeletedAt.After(now.Add(-s.opts.RestoreWindow)) {
			return ErrPackageNotFound
		}
		if _, err := tx.GetPackage(ctx, owner.ID, pkg.Type, pkg.Name, Active); err == nil {
			return Errorf(KindInvalid, "The package name has been taken by a new package. Delete the new package before restoring this one.")
		} else if !IsNotFound(err) {
			return fmt.Errorf("check namespace: %w", err)
		}
		pkg.DeletedAt, pkg.DeletedBy, pkg.UpdatedAt = nil, 0, now
		if err := tx.UpdatePackage(ctx, pkg); err != nil {
			if IsConflict(err) {
				return Errorf(KindInvalid, "The package name has been taken by a new package. Delete the new package before restoring this one.")
			}
			return fmt.Errorf("restore package: %w", err)
		}
		return s.record(ctx, tx, a, pkg, &Event{Action: ActionRestorePackage, PackageID: pkg.ID, CreatedAt: now})
	})
	if err != nil {
		return err
	}
	s.runHook(ctx, s.specs.spec(restored.Type).Hooks.OnRestore, restored, nil)
	return nil
}

// deletedTags is what a version delete records of the tags it removed, so
// that a restore can put them back.
type deletedTags struct {
	Tags []string `json:"tags"`
}

// DeleteVersion soft-deletes one version of an active package and removes
// its tags, applying the type's last-version policy for the REST API.
func (s *Service) DeleteVersion(ctx context.Context, a *Actor, ref PackageRef, versionID int64, via Via) error {
	// The download rule must see the downloads still held in memory.
	if err := s.FlushDownloads(ctx); err != nil {
		return fmt.Errorf("count downloads: %w", err)
	}
	var pkg *Package
	var v *Version
	err := s.store.WithTx(ctx, func(tx Store) error {
		var err error
		if _, pkg, err = s.resolve(ctx, tx, a, ref, Active, OpDelete, via); err != nil {
			return err
		}
		v, err = tx.GetVersion(ctx, pkg.ID, versionID)
		if err != nil || v.DeletedAt != nil {
			return notFoundAs(err, ErrPackageNotFound)
		}
		policy := s.specs.spec(pkg.Type).LastVersion
		if policy == LastVersionDeletesPackage {
			// Through the REST API a package goes only by its own delete.
			policy = LastVersionRefused
		}
		_, err = s.deleteVersions(ctx, tx, a, pkg, []*Version{v}, policy)
		return err
	})
	if err != nil {
		return err
	}
	s.runHook(ctx, s.specs.spec(pkg.Type).Hooks.OnDelete, pkg, v)
	return nil
}

// deleteVersions soft-deletes vs, versions of pkg, in one transaction,
// applying a last-version policy to what is left. It reports whether the
// policy deleted the whole package instead.
func (s *Service) deleteVersions(ctx context.Context, tx Store, a *Actor, pkg *Package, vs []*Version, policy LastVersionPolicy) (packageDeleted bool, err error) {
	ids := make([]int64, len(vs))
	for i, v := range vs {
		if pkg.Visibility == Public && v.DownloadCount > s.opts.DownloadLimit {
			return false, Errorf(KindInvalid, MsgTooManyDownloads)
		}
		ids[i] = v.ID
	}
	tags, err := tx.TagsByVersion(ctx, ids)
	if err != nil {
		return false, fmt.Errorf("tags: %w", err)
	}
	st, err := tx.VersionStats(ctx, pkg.ID)
	if err != nil {
		return false, fmt.Errorf("version stats: %w", err)
	}
	left := st.Count - len(vs)
	switch policy {
	case LastVersionRefused:
		if left < 1 {
			return false, Errorf(KindInvalid, MsgLastVersion)
		}
	case LastTaggedVersionRefused:
		tagged := 0
		for _, v := range vs {
			if len(tags[v.ID]) > 0 {
				tagged++
			}
		}
		if tagged > 0 && st.TaggedCount-tagged < 1 {
			return false, Errorf(KindInvalid, MsgLastTaggedVersion)
		}
	case LastVersionDeletesPackage:
		if left < 1 {
			// The package goes with its versions, which come back with it.
			return true, s.softDeletePackage(ctx, tx, a, pkg)
		}
	case LastVersionAllowed:
	}
	for _, v := range vs {
		if err := s.softDeleteVersion(ctx, tx, a, pkg, v, tags[v.ID]); err != nil {
			return false, err
		}
	}
	return false, nil
}

// DeleteVersionsByName soft-deletes the named active versions of a
// package in one transaction, as a registry protocol's delete asks (npm
// unpublish, an OCI manifest DELETE, gem yank, nuget delete), applying the
// type's registry last-version policy: refused, refused for the last
// tagged version, deleting the whole package with its last version, or
// allowed. Names are normalised by the type's spec; a name given twice
// counts once. It reports whether the package was deleted. The caller
// needs the rights DeleteVersion needs, and the download limit applies.
func (s *Service) DeleteVersionsByName(ctx context.Context, a *Actor, ref PackageRef, names ...string) (packageDeleted bool, err error) {
	if len(names) == 0 {
		return false, Errorf(KindInvalid, "no version to delete")
	}
	// The download rule must see the downloads still held in memory.
	if err := s.FlushDownloads(ctx); err != nil {
		return false, fmt.Errorf("count downloads: %w", err)
	}
	sp := s.specs.spec(ref.Type)
	var pkg *Package
	var vs []*Version
	err = s.store.WithTx(ctx, func(tx Store) error {
		var err error
		if _, pkg, err = s.resolve(ctx, tx, a, ref, Active, OpDelete, ViaRegistry); err != nil {
			return err
		}
		seen := map[int64]bool{}
		for _, name := range names {
			canon, err := sp.Normalize(name)
			if err != nil {
				return ErrVersionNotFound
			}
			v, err := tx.GetVersionByName(ctx, pkg.ID, canon, Active)
			if err != nil {
				if IsNotFound(err) {
					return ErrVersionNotFound
				}
				return fmt.Errorf("get version: %w", err)
			}
			if !seen[v.ID] {
				seen[v.ID] = true
				vs = append(vs, v)
			}
		}
		packageDeleted, err = s.deleteVersions(ctx, tx, a, pkg, vs, sp.RegistryLastVersion)
		return err
	})
	if err != nil {
		return false, err
	}
	if packageDeleted {
		s.runHook(ctx, sp.Hooks.OnDelete, pkg, nil)
	} else {
		for _, v := range vs {
			s.runHook(ctx, sp.Hooks.OnDelete, pkg, v)
		}
	}
	return packageDeleted, nil
}

// softDeleteVersion marks v deleted, removes its tags and records them in
// the delete event, so that a restore can put them back.
func (s *Service) softDeleteVersion(ctx context.Context, tx Store, a *Actor, pkg *Package, v *Version, tags []string) error {
	now := s.now()
	v.DeletedAt, v.DeletedBy, v.UpdatedAt = &now, a.UserID(), now
	if err := tx.UpdateVersion(ctx, v); err != nil {
		return fmt.Errorf("delete version: %w", err)
	}
	if err := tx.DeleteVersionTags(ctx, v.ID); err != nil {
		return fmt.Errorf("delete tags: %w", err)
	}
	detail, _ := json.Marshal(deletedTags{Tags: tags})
	return s.record(ctx, tx, a, pkg, &Event{Action: ActionDeleteVersion, PackageID: pkg.ID, VersionID: v.ID, Detail: string(detail), CreatedAt: now})
}

// RestoreVersion restores a deleted version of an active package within the
// restore window, unless its name was published again; its tags come back
// where no other version has taken them.
func (s *Service) RestoreVersion(ctx context.Context, a *Actor, ref PackageRef, versionID int64, via Via) error {
	var pkg *Package
	var v *Version
	err := s.store.WithTx(ctx, func(tx Store) error {
		var err error
		if _, pkg, err = s.resolve(ctx, tx, a, ref, Active, OpRestore, via); err != nil {
			return err
		}
		v, err = tx.GetVersion(ctx, pkg.ID, versionID)
		if err != nil {
			return notFoundAs(err, ErrPackageNotFound)
		}
		now := s.now()
		if v.DeletedAt == nil || !v.DeletedAt.After(now.Add(-s.opts.RestoreWindow)) {
			return ErrPackageNotFound
		}
		taken := Errorf(KindInvalid, "The version has been published again. Delete the new version before restoring this one.")
		if _, err := tx.GetVersionByName(ctx, pkg.ID, v.Name, Active); err == nil {
			return taken
		} else if !IsNotFound(err) {
			return fmt.Errorf("check version name: %w", err)
		}
		v.DeletedAt, v.DeletedBy, v.UpdatedAt = nil, 0, now
		if err := tx.UpdateVersion(ctx, v); err != nil {
			if IsConflict(err) {
				return taken
			}
			return fmt.Errorf("restore version: %w", err)
		}
		if err := s.restoreTags(ctx, tx, pkg.ID, v.ID); err != nil {
			return err
		}
		return s.record(ctx, tx, a, pkg, &Event{Action: ActionRestoreVersion, PackageID: pkg.ID, VersionID: v.ID, CreatedAt: now})
	})
	if err != nil {
		return err
	}
	s.runHook(ctx, s.specs.spec(pkg.Type).Hooks.OnRestore, pkg, v)
	return nil
}

// restoreTags puts back the tags the version's last delete removed, where
// they are still free.
func (s *Service) restoreTags(ctx context.Context, tx Store, pkgID, versionID int64) error {
	events, err := tx.ListEvents(ctx, pkgID)
	if err != nil {
		return fmt.Errorf("events: %w", err)
	}
	var last *Event
	for i := range events {
		if events[i].Action == ActionDeleteVersion && events[i].VersionID == versionID {
			last = &events[i]
		}
	}
	if last == nil || last.Detail == "" {
		return nil
	}
	var dt deletedTags
	if err := json.Unmarshal([]byte(last.Detail), &dt); err != nil {
		return nil
	}
	for _, t := range dt.Tags {
		if _, err := tx.GetTag(ctx, pkgID, t); err == nil {
			continue
		} else if !IsNotFound(err) {
			return fmt.Errorf("tag %s: %w", t, err)
		}
		if err := tx.SetTag(ctx, pkgID, t, versionID); err != nil {
			return fmt.Errorf("restore tag %s: %w", t, err)
		}
	}
	return nil
}

// RecordDownload counts one download of a version.
func (s *Service) RecordDownload(ctx context.Context, packageID, versionID int64) error {
	if err := s.store.IncrementDownloads(ctx, packageID, versionID); err != nil {
		return fmt.Errorf("count download: %w", err)
	}
	return nil
}

// Events returns a package's audit trail, oldest first.
func (s *Service) Events(ctx context.Context, packageID int64) ([]Event, error) {
	return s.store.ListEvents(ctx, packageID)
}

// SetPackageVisibility changes a package's visibility. A public package
// cannot be made private again, as on GitHub.
func (s *Service) SetPackageVisibility(ctx context.Context, a *Actor, ref PackageRef, vis Visibility) error {
	if _, ok := ParseVisibility(string(vis)); !ok {
		return Errorf(KindInvalid, "visibility must be public, private or internal")
	}
	return s.store.WithTx(ctx, func(tx Store) error {
		owner, pkg, err := s.resolve(ctx, tx, a, ref, Active, OpDelete, ViaRegistry)
		if err != nil {
			return err
		}
		if pkg.Visibility == Public && vis != Public {
			return Errorf(KindInvalid, "A public package cannot be made private again.")
		}
		if vis == Internal && (owner.Type != OrgOwner || !s.specs.spec(pkg.Type).Granular()) {
			return Errorf(KindInvalid, "Only an organization's package in a registry with granular permissions can be internal.")
		}
		from := pkg.Visibility
		pkg.Visibility, pkg.UpdatedAt = vis, s.now()
		if err := tx.UpdatePackage(ctx, pkg); err != nil {
			return fmt.Errorf("set visibility: %w", err)
		}
		return s.record(ctx, tx, a, nil, &Event{Action: ActionVisibility, PackageID: pkg.ID,
			Detail: detailJSON(map[string]string{"from": string(from), "to": string(vis)})})
	})
}

// GrantPackageAccess gives a user a role on a package of a granular type.
func (s *Service) GrantPackageAccess(ctx context.Context, a *Actor, ref PackageRef, userLogin string, role Role) error {
	if !s.specs.spec(ref.Type).Granular() {
		return Errorf(KindInvalid, "%s packages take their permissions from their repository", ref.Type)
	}
	return s.store.WithTx(ctx, func(tx Store) error {
		_, pkg, err := s.resolve(ctx, tx, a, ref, Active, OpDelete, ViaRegistry)
		if err != nil {
			return err
		}
		user, err := userByLogin(ctx, tx, userLogin)
		if err != nil {
			return err
		}
		if err := tx.SetPackageAccess(ctx, pkg.ID, user.ID, role); err != nil {
			return fmt.Errorf("set package access: %w", err)
		}
		return s.record(ctx, tx, a, nil, &Event{Action: ActionAccess, PackageID: pkg.ID,
			Detail: detailJSON(map[string]string{"user": user.Login, "role": role.String()})})
	})
}

// Since returns the time elapsed since t by the service's clock.
func (s *Service) Since(t time.Time) time.Duration { return s.now().Sub(t) }
