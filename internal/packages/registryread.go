package packages

import (
	"context"
	"fmt"
	"strings"
)

// Registry reads (OCI: manifest and blob HEAD/GET, tag listing) are the
// most frequent requests. A store that can answer everything one of them
// resolves in one statement implements RegistryLookuper; the service then
// runs its usual authorization over that answer, so the rules stay in one
// place and nothing outlives the request.

// RegistryLookup asks for what one registry read resolves.
type RegistryLookup struct {
	Owner string
	Type  Type
	Name  string
	// Tag, or else Version (an active version's name), selects a version.
	Tag     string
	Version string
	// File names a file of the selected version to read too.
	File string
	// Blob asks whether the package may read that blob.
	Blob string
}

// RegistryRow is a store's answer to a RegistryLookup, with the fields
// authorization and registry reads use. Missing rows are nil; without an
// owner everything is.
type RegistryRow struct {
	Owner   *Owner   // ID, Login, Type
	Package *Package // the active package: ID, OwnerID, Type, Name, Visibility, RepositoryID
	Tag     *Tag
	// Version is the version Tag names (in any state), or the active
	// version named Version: ID, PackageID, Name, DeletedAt.
	Version *Version
	File    *File // VersionID, Name, Digest, Size, MediaType
	// BlobLinked reports whether the package may read Blob.
	BlobLinked bool
}

// RegistryLookuper is an optional power of a Store: answering a
// RegistryLookup in one round trip.
type RegistryLookuper interface {
	LookupRegistry(ctx context.Context, q RegistryLookup) (*RegistryRow, error)
}

// lookupView is a Store that answers the owner and package reads of
// resolve from one RegistryRow, and passes anything else (organization
// roles, grants, repositories) through.
type lookupView struct {
	Store
	q   RegistryLookup
	row *RegistryRow
}

func (v *lookupView) GetOwnerByLogin(ctx context.Context, login string) (*Owner, error) {
	if !strings.EqualFold(login, v.q.Owner) {
		return v.Store.GetOwnerByLogin(ctx, login)
	}
	if v.row.Owner == nil {
		return nil, fmt.Errorf("get owner %s: %w", login, ErrNotFound)
	}
	o := *v.row.Owner
	return &o, nil
}

func (v *lookupView) GetPackage(ctx context.Context, ownerID int64, typ Type, name string, state State) (*Package, error) {
	if v.row.Owner == nil || ownerID != v.row.Owner.ID || typ != v.q.Type || name != v.q.Name || state != Active {
		return v.Store.GetPackage(ctx, ownerID, typ, name, state)
	}
	if v.row.Package == nil {
		return nil, fmt.Errorf("get %s package %s: %w", typ, name, ErrNotFound)
	}
	p := *v.row.Package
	return &p, nil
}

// lookup runs a registry lookup for ref; a nil row means the store cannot
// (or the ref is one the usual path must judge), and the caller resolves
// the usual way.
func (s *Service) lookup(ctx context.Context, a *Actor, ref PackageRef, q RegistryLookup) (Store, *RegistryRow, error) {
	l, ok := s.store.(RegistryLookuper)
	if !ok || ref.Scope != AnyOwner || !ValidLogin(ref.Owner) || !validPackageName(ref.Name) {
		return s.store, nil, nil
	}
	q.Owner, q.Type, q.Name = ref.Owner, ref.Type, ref.Name
	row, err := l.LookupRegistry(ctx, q)
	if err != nil {
		return nil, nil, fmt.Errorf("registry lookup %s: %w", ref, err)
	}
	return &lookupView{Store: s.store, q: q, row: row}, row, nil
}

// RegistryManifest resolves what a registry read of a manifest needs: the
// active version a tag (or, with byDigest, a version name) names in a
// package the caller may read, and one file of it. The errors are those of
// ResolveTag or GetVersionByName, then File.
func (s *Service) RegistryManifest(ctx context.Context, a *Actor, ref PackageRef, reference string, byDigest bool, file string) (*PackageInfo, *Version, *File, error) {
	q := RegistryLookup{Tag: reference, File: file}
	if byDigest {
		q = RegistryLookup{Version: reference, File: file}
	}
	st, row, err := s.lookup(ctx, a, ref, q)
	if err != nil {
		return nil, nil, nil, err
	}
	if row == nil {
		var pi *PackageInfo
		var vi *VersionInfo
		if byDigest {
			pi, vi, err = s.GetVersionByName(ctx, a, ref, reference, ViaRegistry)
		} else {
			pi, vi, err = s.ResolveTag(ctx, a, ref, reference)
		}
		if err != nil {
			return nil, nil, nil, err
		}
		f, err := s.File(ctx, vi.ID, file)
		if err != nil {
			return nil, nil, nil, err
		}
		f.readable = true
		return pi, &vi.Version, f, nil
	}
	owner, pkg, err := s.resolve(ctx, st, a, ref, Active, OpRead, ViaRegistry)
	if err != nil {
		return nil, nil, nil, err
	}
	v := row.Version
	if byDigest {
		if v == nil {
			return nil, nil, nil, ErrVersionNotFound
		}
	} else if row.Tag == nil || v == nil || v.DeletedAt != nil {
		return nil, nil, nil, ErrTagNotFound
	}
	if row.File == nil {
		return nil, nil, nil, ErrFileNotFound
	}
	pi, err := s.info(ctx, s.store, owner, pkg, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	f := *row.File
	f.readable = true
	return pi, v, &f, nil
}

// RegistryBlob returns the package a registry read of a blob names, if
// the caller may read it (as GetPackage with OpRead via a registry), and
// whether the blob is linked to it. A name without a package holds, for a
// caller who may create the package (repository as in PublishRequest),
// the blobs that caller pushed to it: once it pushed one, the answer is a
// nil package and whether the blob is one of those. Until then it is the
// error of a missing package, as for anyone else.
func (s *Service) RegistryBlob(ctx context.Context, a *Actor, ref PackageRef, repository, digest string) (*PackageInfo, bool, error) {
	pi, linked, err := s.registryBlob(ctx, a, ref, digest)
	if err == nil || !IsPackageNotFound(err) || a.Anonymous() {
		return pi, linked, err
	}
	t, terr := s.PushTarget(ctx, a, ref, repository)
	if terr != nil || t.Package != nil {
		return nil, false, err
	}
	held, linked, lerr := s.store.PendingBlobs(ctx, t.pending, digest)
	if lerr != nil {
		return nil, false, fmt.Errorf("pending blobs: %w", lerr)
	}
	if !held {
		return nil, false, err
	}
	return nil, linked, nil
}

func (s *Service) registryBlob(ctx context.Context, a *Actor, ref PackageRef, digest string) (*PackageInfo, bool, error) {
	st, row, err := s.lookup(ctx, a, ref, RegistryLookup{Blob: digest})
	if err != nil {
		return nil, false, err
	}
	if row == nil {
		pi, err := s.GetPackage(ctx, a, ref, OpRead, ViaRegistry)
		if err != nil {
			return nil, false, err
		}
		linked, err := s.store.BlobLinked(ctx, pi.ID, digest)
		return pi, linked, err
	}
	owner, pkg, err := s.resolve(ctx, st, a, ref, Active, OpRead, ViaRegistry)
	if err != nil {
		return nil, false, err
	}
	pi, err := s.info(ctx, s.store, owner, pkg, nil)
	if err != nil {
		return nil, false, err
	}
	return pi, row.BlobLinked, nil
}

// RegistryPackage returns an active package the caller may read through a
// registry, as GetPackage(ctx, a, ref, OpRead, ViaRegistry) does.
func (s *Service) RegistryPackage(ctx context.Context, a *Actor, ref PackageRef) (*PackageInfo, error) {
	st, row, err := s.lookup(ctx, a, ref, RegistryLookup{})
	if err != nil {
		return nil, err
	}
	if row == nil {
		return s.GetPackage(ctx, a, ref, OpRead, ViaRegistry)
	}
	owner, pkg, err := s.resolve(ctx, st, a, ref, Active, OpRead, ViaRegistry)
	if err != nil {
		return nil, err
	}
	return s.info(ctx, s.store, owner, pkg, nil)
}
