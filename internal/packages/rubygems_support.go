package packages

import (
	"context"
	"encoding/json"
	"fmt"
)

// What registries with owner-wide indexes and files that carry facts of
// their own need (RubyGems: /versions and specs.4.8.gz span every gem of an
// owner; each platform's .gem has its own gemspec). Generic: nothing here
// knows a package type.

// OwnerPackages returns an owner and every active package of one type of
// it that the caller may read through a registry, by id: what an
// owner-wide registry index is built from. Anonymous callers, and tokens
// without read:packages, see the public packages. Each package carries its
// Revision and UpdatedAt, which tell a cache of rendered indexes whether
// an entry is current. An owner that does not exist is ErrPackageNotFound.
func (s *Service) OwnerPackages(ctx context.Context, a *Actor, owner string, typ Type) (*Owner, []Package, error) {
	o, err := resolveOwner(ctx, s.store, a, PackageRef{Owner: owner, Scope: AnyOwner})
	if err != nil {
		if IsNotFound(err) {
			return nil, nil, notFound(ErrPackageNotFound, err)
		}
		return nil, nil, err
	}
	reader := a
	if !a.Anonymous() && s.checkScopes(a, OpRead, typ) != nil {
		// A registry read without the scope is a read of public packages.
		reader = nil
	}
	rb, err := s.readableBy(ctx, s.store, reader, o)
	if err != nil {
		return nil, nil, err
	}
	pkgs, _, err := s.store.ListPackages(ctx, PackageFilter{OwnerID: o.ID, Type: typ, State: Active, Readable: rb})
	if err != nil {
		return nil, nil, fmt.Errorf("list %s packages of %s: %w", typ, o.Login, err)
	}
	return o, pkgs, nil
}

// PackageHistory returns an active package the caller may read through a
// registry with every version it still holds, active or deleted (until the
// purge removes them), oldest first, and its audit trail, oldest first:
// what an append-only index (RubyGems' /versions, which marks yanked
// versions) is rendered from.
func (s *Service) PackageHistory(ctx context.Context, a *Actor, ref PackageRef) (*PackageInfo, []Version, []Event, error) {
	owner, pkg, err := s.resolve(ctx, s.store, a, ref, Active, OpRead, ViaRegistry)
	if err != nil {
		return nil, nil, nil, err
	}
	vs, _, err := s.store.ListVersions(ctx, VersionFilter{PackageID: pkg.ID, State: AnyState})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("list versions: %w", err)
	}
	for i, j := 0, len(vs)-1; i < j; i, j = i+1, j-1 {
		vs[i], vs[j] = vs[j], vs[i]
	}
	events, err := s.store.ListEvents(ctx, pkg.ID)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("list events: %w", err)
	}
	pi, err := s.info(ctx, s.store, owner, pkg, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	return pi, vs, events, nil
}

// PutVersionFileRequest puts one file into a version and changes the
// version's metadata with it, in one transaction.
type PutVersionFileRequest struct {
	PutFileRequest
	// Description and License are set on a version the request creates.
	Description string
	License     string
	// Merge returns the version's new metadata given its current metadata
	// (nil for a version the request creates). It runs with the package
	// locked, so concurrent requests see each other's changes; an error
	// from it aborts the request and is returned as it is (a KindConflict
	// for a file the version holds already, say).
	Merge func(current json.RawMessage) (json.RawMessage, error)
}

// PutVersionFile is PutFile for registries whose every file carries facts
// kept in the version's metadata (RubyGems: one .gem per platform, each
// with its gemspec): the file and the metadata change together or not at
// all. It needs what PutFile needs, records the same events, and refuses a
// file the version has already, whatever its content.
func (s *Service) PutVersionFile(ctx context.Context, a *Actor, req PutVersionFileRequest) (*PutFileResult, error) {
	if req.Merge == nil {
		return nil, Errorf(KindInvalid, "no metadata change given")
	}
	if err := s.checkScopes(a, OpWrite, req.Package.Type); err != nil {
		return nil, err
	}
	if !validVersionName(req.Version) {
		return nil, Errorf(KindInvalid, "version must not be empty")
	}
	if !validFileName(req.File.Name) {
		return nil, Errorf(KindInvalid, "file name %q is not valid", req.File.Name)
	}
	out := &PutFileResult{}
	err := s.store.WithTx(ctx, func(tx Store) error {
		pkg, created, err := s.writablePackage(ctx, tx, a, req.Package, req.Repository, req.CreateVersion)
		if err != nil {
			return err
		}
		out.Package, out.PackageCreated = pkg, created
		now := s.now()
		v, err := tx.GetVersionByName(ctx, pkg.ID, req.Version, Active)
		var current json.RawMessage
		switch {
		case err == nil:
			current = v.Metadata
		case IsNotFound(err) && req.CreateVersion:
			v = nil
		default:
			return notFoundAs(err, ErrVersionNotFound)
		}
		metadata, err := req.Merge(current)
		if err != nil {
			return err
		}
		f := req.File
		if f.Size, err = s.committedSize(ctx, f.Digest); err != nil {
			return err
		}
		if v == nil {
			v = &Version{PackageID: pkg.ID, Name: req.Version, Metadata: metadata, Description: req.Description,
				License: req.License, CreatedAt: now, UpdatedAt: now}
			if err := tx.CreateVersion(ctx, v); err != nil {
				if IsConflict(err) {
					return Errorf(KindConflict, "version %s of %s was created concurrently; try again", req.Version, req.Package.Name)
				}
				return fmt.Errorf("create version: %w", err)
			}
			out.VersionCreated = true
		} else {
			v.Metadata, v.UpdatedAt = metadata, now
			if err := tx.UpdateVersion(ctx, v); err != nil {
				return fmt.Errorf("update version: %w", err)
			}
		}
		out.Version = v
		stored, _, _, err := s.putFile(ctx, tx, v, f, FileConflict, now)
		if err != nil {
			return err
		}
		out.File = stored
		pkg.UpdatedAt = now
		if err := tx.UpdatePackage(ctx, pkg); err != nil {
			return fmt.Errorf("touch package: %w", err)
		}
		hookPkg := pkg
		if out.VersionCreated {
			if err := s.record(ctx, tx, a, pkg, &Event{Action: ActionPublish, PackageID: pkg.ID, VersionID: v.ID, Detail: v.Name, CreatedAt: now}); err != nil {
				return err
			}
			// The published event reports the version with this file.
			hookPkg = nil
		}
		return s.record(ctx, tx, a, hookPkg, &Event{Action: ActionFilePut, PackageID: pkg.ID, VersionID: v.ID,
			Detail: fileEventDetail(stored.Name, stored.Digest, ""), CreatedAt: now})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// EventFile returns the name of the file a file.put or file.delete event
// is about.
func EventFile(e *Event) (string, bool) {
	if e.Action != ActionFilePut && e.Action != ActionFileDelete {
		return "", false
	}
	var fe fileEvent
	if err := json.Unmarshal([]byte(e.Detail), &fe); err != nil || fe.Name == "" {
		return "", false
	}
	return fe.Name, true
}

// FileClaim names a file of one version of one package.
type FileClaim struct {
	Package string
	Version string
	File    string
}

// FileClaimed reports whether any of the claims holds: whether the named
// package of owner, of one type, has that active version with a file of
// that name. It is for registries whose file names stand for the package
// and the version at once (RubyGems' NAME-VERSION-PLATFORM.gem, where
// "a-1.0" version "2" and "a" version "1.0" for the platform "x86-2" name
// one file), so that a publish does not claim a file name another package
// holds. Packages are looked at whatever their visibility, as a publish of
// a taken package name is refused whatever the name's; the caller needs
// write:packages.
func (s *Service) FileClaimed(ctx context.Context, a *Actor, owner string, typ Type, claims []FileClaim) (bool, error) {
	if err := s.checkScopes(a, OpWrite, typ); err != nil {
		return false, err
	}
	o, err := resolveOwner(ctx, s.store, a, PackageRef{Owner: owner, Scope: AnyOwner})
	if err != nil {
		return false, err
	}
	sp := s.specs.spec(typ)
	for _, c := range claims {
		if !validPackageName(c.Package) {
			continue
		}
		version, err := sp.Normalize(c.Version)
		if err != nil {
			continue
		}
		pkg, err := s.store.GetPackage(ctx, o.ID, typ, c.Package, Active)
		if IsNotFound(err) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("get package %s: %w", c.Package, err)
		}
		v, err := s.store.GetVersionByName(ctx, pkg.ID, version, Active)
		if IsNotFound(err) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("get version %s of %s: %w", version, c.Package, err)
		}
		if _, err := s.store.GetFile(ctx, v.ID, c.File); err == nil {
			return true, nil
		} else if !IsNotFound(err) {
			return false, fmt.Errorf("get file %s: %w", c.File, err)
		}
	}
	return false, nil
}
