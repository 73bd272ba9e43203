package packages

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ExistsPolicy says what Publish does when the version already exists.
type ExistsPolicy int

// Policies.
const (
	ExistsConflict ExistsPolicy = iota // refuse with KindConflict (npm, gems, NuGet, Maven releases)
	ExistsReuse                        // keep the existing version (OCI manifests, by digest)
	ExistsReplace                      // replace metadata, and the files it lists, keeping the others (Maven snapshots)
)

// PublishRequest describes a version to publish. The files' bytes must
// already be committed to the blob store.
type PublishRequest struct {
	Package     PackageRef
	Version     string
	Metadata    json.RawMessage
	Description string
	License     string
	Subject     string   // OCI: the digest this manifest refers to
	Files       []File   // name, digest, size, media type
	Blobs       []string // further digests the package may read (OCI layers and configs)
	Tags        []string // tags to point at the version
	// Repository is "OWNER/REPO". Repository-scoped types need it; for
	// granular types it links the package to the repository (when the
	// repository exists and belongs to the package's owner).
	Repository string
	IfExists   ExistsPolicy
}

// Published is what Publish did.
type Published struct {
	Package        *Package
	Version        *Version
	PackageCreated bool
	VersionCreated bool
}

// EnsurePackage returns the active package a ref names, creating it when
// the caller may create packages in that namespace. The caller needs write
// access. repository is as in PublishRequest.
func (s *Service) EnsurePackage(ctx context.Context, a *Actor, ref PackageRef, repository string) (*Package, error) {
	var pkg *Package
	err := s.store.WithTx(ctx, func(tx Store) error {
		var err error
		pkg, _, err = s.ensurePackage(ctx, tx, a, ref, repository)
		return err
	})
	return pkg, err
}

func (s *Service) ensurePackage(ctx context.Context, tx Store, a *Actor, ref PackageRef, repository string) (*Package, bool, error) {
	t, err := s.checkPublish(ctx, tx, a, ref, repository)
	if err != nil {
		return nil, false, err
	}
	if t.create {
		pkg, err := s.createPackage(ctx, tx, a, t.owner, t.pkg)
		return pkg, err == nil, err
	}
	pkg, err := lockFresh(ctx, tx, t.pkg, Active)
	if err != nil {
		return nil, false, err
	}
	if pkg.RepositoryID != t.pkg.RepositoryID {
		// Moved to another repository since it was checked.
		if err := s.checkRepository(ctx, tx, t.owner, pkg, repository); err != nil {
			return nil, false, err
		}
	}
	if err := s.linkRepository(ctx, tx, t.owner, pkg, repository); err != nil {
		return nil, false, err
	}
	return pkg, false, nil
}

// publishTarget is what a publish would write to: an active package, or
// one to create.
type publishTarget struct {
	owner  *Owner
	pkg    *Package
	create bool // pkg does not exist yet
}

// checkPublish decides, reading only, whether a may publish to the package
// ref names (creating it when it does not exist): it returns the error
// ensurePackage would return, or what ensurePackage would write to.
func (s *Service) checkPublish(ctx context.Context, st Store, a *Actor, ref PackageRef, repository string) (*publishTarget, error) {
	if a.Anonymous() {
		return nil, Errorf(KindUnauthenticated, MsgRequiresAuthentication)
	}
	if _, ok := s.specs.Get(ref.Type); !ok {
		return nil, Errorf(KindInvalid, "package type %q is not known", ref.Type)
	}
	if err := s.checkScopes(a, OpWrite, ref.Type); err != nil {
		return nil, err
	}
	if !validPackageName(ref.Name) {
		return nil, Errorf(KindInvalid, "package name %q is not valid", ref.Name)
	}
	owner, err := resolveOwner(ctx, st, a, ref)
	if err != nil {
		if IsNotFound(err) {
			return nil, Wrap(KindNotFound, fmt.Sprintf("owner %q not found", ref.Owner), err)
		}
		return nil, err
	}
	pkg, err := st.GetPackage(ctx, owner.ID, ref.Type, ref.Name, Active)
	if err == nil {
		if err := s.authorize(ctx, st, a, owner, pkg, OpWrite, ViaRegistry, AnyOwner); err != nil {
			// A package the caller may not see answers as a free name
			// does: with the error creating it would give.
			if IsNotFound(err) {
				if _, cerr := s.newPackage(ctx, st, a, owner, ref, repository); cerr != nil {
					return nil, cerr
				}
			}
			return nil, err
		}
		if err := s.checkRepository(ctx, st, owner, pkg, repository); err != nil {
			return nil, err
		}
		return &publishTarget{owner: owner, pkg: pkg}, nil
	}
	if !IsNotFound(err) {
		return nil, fmt.Errorf("get package %s: %w", ref, err)
	}
	pkg, err = s.newPackage(ctx, st, a, owner, ref, repository)
	if err != nil {
		return nil, err
	}
	return &publishTarget{owner: owner, pkg: pkg, create: true}, nil
}

// newPackage decides, reading only, whether the caller may create a
// package in owner's namespace, and returns the package it would create.
func (s *Service) newPackage(ctx context.Context, st Store, a *Actor, owner *Owner, ref PackageRef, repository string) (*Package, error) {
	var orgRole OrgRole
	if owner.Type == OrgOwner {
		r, err := st.GetOrgRole(ctx, owner.ID, a.User.ID)
		if err != nil {
			return nil, fmt.Errorf("org role: %w", err)
		}
		orgRole = r
	}
	pkg := &Package{OwnerID: owner.ID, Type: ref.Type, Name: ref.Name, Visibility: Private}
	repo, err := s.repositoryFor(ctx, st, owner, repository)
	if err != nil {
		return nil, err
	}
	if !s.specs.spec(ref.Type).Granular() {
		// Repository-scoped: the repository decides who may publish.
		if repo == nil {
			return nil, Errorf(KindNotFound, "repository %q not found", repository)
		}
		r, err := repoRole(ctx, st, a, owner, repo.ID, orgRole)
		if err != nil {
			return nil, err
		}
		if r < RoleWrite {
			if r < RoleRead {
				return nil, Errorf(KindNotFound, "repository %q not found", repository)
			}
			return nil, Errorf(KindForbidden, "You do not have permission to publish to this repository.")
		}
		pkg.RepositoryID = repo.ID
		if repo.Visibility == Public {
			pkg.Visibility = Public
		}
	} else {
		if a.User.ID != owner.ID && orgRole == NoOrgRole {
			return nil, Errorf(KindForbidden, "You do not have permission to create packages in the %s namespace.", owner.Login)
		}
		if repo != nil {
			pkg.RepositoryID = repo.ID
			if repo.Visibility == Public {
				pkg.Visibility = Public
			}
		}
	}
	return pkg, nil
}

// errCreatedConcurrently is the cause of a package creation that lost a
// race with another one of the same name.
var errCreatedConcurrently = errors.New("package created concurrently")

// createPackage creates the package newPackage decided on.
func (s *Service) createPackage(ctx context.Context, tx Store, a *Actor, owner *Owner, pkg *Package) (*Package, error) {
	now := s.now()
	pkg.CreatedAt, pkg.UpdatedAt = now, now
	if err := tx.CreatePackage(ctx, pkg); err != nil {
		if IsConflict(err) {
			return nil, Wrap(KindConflict, fmt.Sprintf("package %s was created concurrently; try again", pkg.Name), errCreatedConcurrently)
		}
		return nil, fmt.Errorf("create package: %w", err)
	}
	if s.specs.spec(pkg.Type).Granular() && a.User.ID != owner.ID {
		// The creator administers the package it made.
		if err := tx.SetPackageAccess(ctx, pkg.ID, a.User.ID, RoleAdmin); err != nil {
			return nil, fmt.Errorf("grant creator: %w", err)
		}
	}
	return pkg, nil
}

// repositoryFor resolves "OWNER/REPO" (or just "REPO") to a repository of
// owner. It returns nil when the name is empty, malformed, names another
// owner, or the repository does not exist.
func (s *Service) repositoryFor(ctx context.Context, tx Store, owner *Owner, repository string) (*Repository, error) {
	if repository == "" {
		return nil, nil
	}
	name := repository
	if o, n, ok := strings.Cut(repository, "/"); ok {
		if !strings.EqualFold(o, owner.Login) {
			return nil, nil
		}
		name = n
	}
	if !ValidRepositoryName(name) {
		return nil, nil
	}
	r, err := tx.GetRepository(ctx, owner.ID, name)
	if err != nil {
		if IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("repository: %w", err)
	}
	return r, nil
}

// checkRepository refuses to publish a repository-scoped package through
// another repository than the one it belongs to: its permissions come from
// that repository alone.
func (s *Service) checkRepository(ctx context.Context, tx Store, owner *Owner, pkg *Package, repository string) error {
	if s.specs.spec(pkg.Type).Granular() || repository == "" {
		return nil
	}
	repo, err := s.repositoryFor(ctx, tx, owner, repository)
	if err != nil {
		return err
	}
	if repo == nil || repo.ID != pkg.RepositoryID {
		return Errorf(KindForbidden, "The package %s belongs to another repository.", pkg.Name)
	}
	return nil
}

// linkRepository links an existing granular package to a repository the
// first time one is named.
func (s *Service) linkRepository(ctx context.Context, tx Store, owner *Owner, pkg *Package, repository string) error {
	if pkg.RepositoryID != 0 || repository == "" || !s.specs.spec(pkg.Type).Granular() {
		return nil
	}
	repo, err := s.repositoryFor(ctx, tx, owner, repository)
	if err != nil || repo == nil {
		return err
	}
	pkg.RepositoryID = repo.ID
	pkg.UpdatedAt = s.now()
	return tx.UpdatePackage(ctx, pkg)
}

// Publish creates a version (and its package, on first publish), records
// its files, links its blobs, points its tags at it, and logs an event, in
// one transaction.
func (s *Service) Publish(ctx context.Context, a *Actor, req PublishRequest) (*Published, error) {
	if !validVersionName(req.Version) {
		return nil, Errorf(KindInvalid, "version must not be empty")
	}
	out, err := s.publish(ctx, a, req)
	if errors.Is(err, errCreatedConcurrently) {
		// Another publish (another platform of the same image, say) made
		// the package meanwhile: publish to it.
		out, err = s.publish(ctx, a, req)
	}
	return out, err
}

func (s *Service) publish(ctx context.Context, a *Actor, req PublishRequest) (*Published, error) {
	// The files' checksums, as the blob store computed them when it stored
	// their bytes; read before the transaction, which they would hold up
	// if a blob stored before checksums were kept had to be read whole.
	sums := make(map[string]Checksums, len(req.Files))
	for _, f := range req.Files {
		c, err := s.blobs.Checksums(ctx, f.Digest)
		if err != nil {
			return nil, fmt.Errorf("checksums of %s: %w", f.Digest, err)
		}
		sums[f.Digest] = c
	}
	out := &Published{}
	err := s.store.WithTx(ctx, func(tx Store) error {
		pkg, created, err := s.ensurePackage(ctx, tx, a, req.Package, req.Repository)
		if err != nil {
			return err
		}
		out.Package, out.PackageCreated = pkg, created
		now := s.now()
		v, err := tx.GetVersionByName(ctx, pkg.ID, req.Version, Active)
		switch {
		case err == nil && req.IfExists == ExistsConflict:
			return Errorf(KindConflict, "version %s of %s already exists", req.Version, req.Package.Name)
		case err == nil && req.IfExists == ExistsReplace:
			v.Metadata, v.Description, v.License, v.UpdatedAt = req.Metadata, req.Description, req.License, now
			if err := tx.UpdateVersion(ctx, v); err != nil {
				return fmt.Errorf("update version: %w", err)
			}
		case err == nil:
			// ExistsReuse: keep it as it is.
		case IsNotFound(err):
			v = &Version{PackageID: pkg.ID, Name: req.Version, Metadata: req.Metadata, Description: req.Description,
				License: req.License, Subject: req.Subject, CreatedAt: now, UpdatedAt: now}
			if err := tx.CreateVersion(ctx, v); err != nil {
				if IsConflict(err) {
					return Errorf(KindConflict, "version %s of %s already exists", req.Version, req.Package.Name)
				}
				return fmt.Errorf("create version: %w", err)
			}
			out.VersionCreated = true
		default:
			return fmt.Errorf("get version: %w", err)
		}
		out.Version = v
		policy := FileKeepIfSame
		if req.IfExists == ExistsReplace {
			policy = FileReplace
		}
		for _, f := range req.Files {
			stored, previous, change, err := s.putFile(ctx, tx, v, f, policy, now)
			if err != nil {
				return err
			}
			if change != fileUnchanged && !out.VersionCreated {
				// A file added to or replaced in an existing version.
				if err := s.record(ctx, tx, a, pkg, &Event{Action: ActionFilePut, PackageID: pkg.ID, VersionID: v.ID,
					Detail: fileEventDetail(stored.Name, stored.Digest, previous), CreatedAt: now}); err != nil {
					return err
				}
			}
		}
		// What the publisher pushed to the name before its first version
		// (or while another's publish created the package) now belongs to
		// the package.
		if created || len(req.Blobs) > 0 {
			if err := tx.ClaimPendingBlobs(ctx, pendingKey(a, pkg.OwnerID, req.Package), pkg.ID); err != nil {
				return fmt.Errorf("claim pending blobs: %w", err)
			}
		}
		for _, d := range req.Blobs {
			if err := s.linkHeldBlob(ctx, tx, d, func() error { return tx.LinkBlob(ctx, pkg.ID, d) }); err != nil {
				return err
			}
		}

		for _, f := range req.Files {
			if err := tx.PutBlob(ctx, &Blob{Digest: f.Digest, Size: f.Size, CreatedAt: now, Checksums: sums[f.Digest]}); err != nil {
				return fmt.Errorf("record checksums of %s: %w", f.Digest, err)
			}
		}
		for _, t := range req.Tags {
			if err := tx.SetTag(ctx, pkg.ID, t, v.ID); err != nil {
				return fmt.Errorf("set tag %s: %w", t, err)
			}
		}
		pkg.UpdatedAt = now
		if err := tx.UpdatePackage(ctx, pkg); err != nil {
			return fmt.Errorf("touch package: %w", err)
		}
		if !out.VersionCreated {
			return nil
		}
		return s.record(ctx, tx, a, pkg, &Event{Action: ActionPublish, PackageID: pkg.ID, VersionID: v.ID, Detail: v.Name, CreatedAt: now})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UpdateVersionMetadata replaces the metadata of an active version (npm
// deprecate, for one). The caller needs write access.
func (s *Service) UpdateVersionMetadata(ctx context.Context, a *Actor, ref PackageRef, versionName string, metadata json.RawMessage) error {
	return s.store.WithTx(ctx, func(tx Store) error {
		_, pkg, err := s.resolve(ctx, tx, a, ref, Active, OpWrite, ViaRegistry)
		if err != nil {
			return err
		}
		v, err := tx.GetVersionByName(ctx, pkg.ID, versionName, Active)
		if err != nil {
			return notFoundAs(err, ErrVersionNotFound)
		}
		v.Metadata, v.UpdatedAt = metadata, s.now()
		return tx.UpdateVersion(ctx, v)
	})
}

// SetTag points a tag at an active version by name. The caller needs write
// access.
func (s *Service) SetTag(ctx context.Context, a *Actor, ref PackageRef, tag, versionName string) error {
	if tag == "" || len(tag) > 256 {
		return Errorf(KindInvalid, "tag must not be empty")
	}
	return s.store.WithTx(ctx, func(tx Store) error {
		_, pkg, err := s.resolve(ctx, tx, a, ref, Active, OpWrite, ViaRegistry)
		if err != nil {
			return err
		}
		v, err := tx.GetVersionByName(ctx, pkg.ID, versionName, Active)
		if err != nil {
			return notFoundAs(err, ErrVersionNotFound)
		}
		return tx.SetTag(ctx, pkg.ID, tag, v.ID)
	})
}

// DeleteTag removes a tag; the version stays. The caller needs write
// access (GitHub's registries treat untagging as a publish-side change).
func (s *Service) DeleteTag(ctx context.Context, a *Actor, ref PackageRef, tag string) error {
	return s.store.WithTx(ctx, func(tx Store) error {
		_, pkg, err := s.resolve(ctx, tx, a, ref, Active, OpWrite, ViaRegistry)
		if err != nil {
			return err
		}
		if _, err := tx.GetTag(ctx, pkg.ID, tag); err != nil {
			return notFoundAs(err, ErrTagNotFound)
		}
		return tx.DeleteTag(ctx, pkg.ID, tag)
	})
}

// ResolveTag returns the active version a tag points at.
func (s *Service) ResolveTag(ctx context.Context, a *Actor, ref PackageRef, tag string) (*PackageInfo, *VersionInfo, error) {
	owner, pkg, err := s.resolve(ctx, s.store, a, ref, Active, OpRead, ViaRegistry)
	if err != nil {
		return nil, nil, err
	}
	t, err := s.store.GetTag(ctx, pkg.ID, tag)
	if err != nil {
		return nil, nil, notFoundAs(err, ErrTagNotFound)
	}
	v, err := s.store.GetVersion(ctx, pkg.ID, t.VersionID)
	if err != nil || v.DeletedAt != nil {
		return nil, nil, notFoundAs(err, ErrTagNotFound)
	}
	return s.versionView(ctx, owner, pkg, v)
}

// ListTags lists a package's tags by name after `after`, at most limit
// (limit <= 0: all).
func (s *Service) ListTags(ctx context.Context, a *Actor, ref PackageRef, after string, limit int) ([]Tag, error) {
	st, _, err := s.lookup(ctx, a, ref, RegistryLookup{})
	if err != nil {
		return nil, err
	}
	_, pkg, err := s.resolve(ctx, st, a, ref, Active, OpRead, ViaRegistry)
	if err != nil {
		return nil, err
	}
	return s.store.ListTags(ctx, pkg.ID, after, limit)
}

// Files lists the files of a version.
func (s *Service) Files(ctx context.Context, versionID int64) ([]File, error) {
	return s.store.ListFiles(ctx, versionID)
}

// File returns one file of a version by name.
func (s *Service) File(ctx context.Context, versionID int64, name string) (*File, error) {
	f, err := s.store.GetFile(ctx, versionID, name)
	if err != nil {
		return nil, notFoundAs(err, ErrFileNotFound)
	}
	return f, nil
}

// RegisterBlob records a blob committed to the blob store, with the
// checksums the store computed as it stored it, so that garbage collection
// knows it. A blob recorded before is stamped anew: it was just pushed
// again, and the grace period must protect this push too, even when
// nothing refers to the blob any more.
func (s *Service) RegisterBlob(ctx context.Context, digest string, size int64) error {
	c, err := s.blobs.Checksums(ctx, digest)
	if err != nil {
		return fmt.Errorf("checksums of %s: %w", digest, err)
	}
	return s.store.PutBlob(ctx, &Blob{Digest: digest, Size: size, CreatedAt: s.now(), Checksums: c})
}

// linkHeldBlob runs link, which refers to a recorded blob, once it has
// stamped the blob's record anew: garbage collection then keeps the blob
// for the grace period, long enough for the transaction to commit. A blob
// no longer recorded was freed (or is being freed) and is unknown.
func (s *Service) linkHeldBlob(ctx context.Context, tx Store, digest string, link func() error) error {
	ok, err := tx.TouchBlob(ctx, digest, s.now())
	if err != nil {
		return fmt.Errorf("touch blob: %w", err)
	}
	if !ok {
		return Wrap(KindInvalid, "blob unknown to registry: "+digest, &BlobUnknownError{Digest: digest})
	}
	if err := link(); err != nil {
		return fmt.Errorf("link blob: %w", err)
	}
	return nil
}

// Referrers lists the active versions whose subject is digest, of a
// package the caller may read through a registry.
func (s *Service) Referrers(ctx context.Context, a *Actor, ref PackageRef, digest string) ([]Version, error) {
	_, pkg, err := s.resolve(ctx, s.store, a, ref, Active, OpRead, ViaRegistry)
	if err != nil {
		return nil, err
	}
	return s.store.ListReferrers(ctx, pkg.ID, digest)
}

// SearchPackages lists packages of a type, across owners, whose names
// contain text and that the caller may read: npm search, the OCI catalog.
func (s *Service) SearchPackages(ctx context.Context, a *Actor, typ Type, text string, page Page) ([]PackageInfo, int, error) {
	f := PackageFilter{Type: typ, State: Active, NameContains: text}
	if a.Anonymous() {
		f.Readable = &ReadableBy{RepositoryScoped: s.specs.RepositoryScoped()}
	} else {
		rb := &ReadableBy{UserID: a.User.ID, OrgAdminOf: []int64{a.User.ID}, RepositoryScoped: s.specs.RepositoryScoped()}
		orgs, err := s.memberships(ctx, a)
		if err != nil {
			return nil, 0, err
		}
		for id, role := range orgs {
			rb.OrgMemberOf = append(rb.OrgMemberOf, id)
			if role == OrgAdmin {
				rb.OrgAdminOf = append(rb.OrgAdminOf, id)
			}
		}
		f.Readable = rb
	}
	f.Limit, f.Offset = page.limitOffset()
	pkgs, total, err := s.store.ListPackages(ctx, f)
	if err != nil {
		return nil, 0, fmt.Errorf("search packages: %w", err)
	}
	out := make([]PackageInfo, 0, len(pkgs))
	owners := map[int64]*Owner{}
	repos := map[int64]*PackageInfo{}
	for i := range pkgs {
		o, ok := owners[pkgs[i].OwnerID]
		if !ok {
			if o, err = s.store.GetOwnerByID(ctx, pkgs[i].OwnerID); err != nil {
				return nil, 0, fmt.Errorf("package owner: %w", err)
			}
			owners[o.ID] = o
		}
		pi, err := s.info(ctx, s.store, o, &pkgs[i], repos)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, *pi)
	}
	return out, total, nil
}

func (s *Service) memberships(ctx context.Context, a *Actor) (map[int64]OrgRole, error) {
	m, err := s.store.ListMemberships(ctx, a.User.ID)
	if err != nil {
		return nil, fmt.Errorf("memberships: %w", err)
	}
	return m, nil
}
