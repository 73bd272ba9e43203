package packages

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// File operations: registries whose clients send one file per request
// (Maven: the jar, then the pom, their checksums, the metadata; NuGet: a
// symbol package after its package) put files into a version one at a
// time, replace them (Maven snapshots and metadata, on every deploy) and
// delete them.
//
// Changing the files of an active version is a write, like the publish
// that made them: it needs write access to the package (write:packages,
// and repo for the repository-scoped types), not delete:packages. The
// version itself stays, even with no file left: deleting a version is
// DeleteVersion's, with its rules. A file of a public version with more
// downloads than the download limit cannot be deleted, as the version
// cannot.

// FilePolicy says what PutFile does when the version already has a file of
// that name.
type FilePolicy int

// Policies.
const (
	FileConflict   FilePolicy = iota // refuse with KindConflict, whatever its content (Maven releases)
	FileKeepIfSame                   // keep an identical file (same digest); refuse a different one with KindConflict
	FileReplace                      // replace it (Maven snapshots and metadata); an identical file is kept
)

// PutFileRequest describes one file to put into a version. The file's
// bytes must already be committed to the blob store.
type PutFileRequest struct {
	Package PackageRef
	Version string
	// CreateVersion creates the version (and the package, as Publish
	// would) when it does not exist; without it a missing version is
	// KindNotFound.
	CreateVersion bool
	File          File // Name, Digest, MediaType; Size is taken from the blob store
	IfExists      FilePolicy
	// Repository is "OWNER/REPO", as in PublishRequest.
	Repository string
}

// PutFileResult is what PutFile did.
type PutFileResult struct {
	Package        *Package
	Version        *Version
	File           *File // the version's file of that name, as stored now
	PackageCreated bool
	VersionCreated bool
	Replaced       bool // a file of that name with other content was replaced
	Unchanged      bool // the version held this very file already; nothing was written
}

// DeleteFileRequest names one file of an active version.
type DeleteFileRequest struct {
	Package PackageRef
	Version string
	Name    string
	// Repository is "OWNER/REPO" when the request names one (a Maven URL
	// does): a repository-scoped package is changed only through its own.
	Repository string
}

// fileEvent is the detail of a file event.
type fileEvent struct {
	Name     string `json:"name"`
	Digest   string `json:"digest"`
	Previous string `json:"previous,omitempty"` // the digest a put replaced
}

func fileEventDetail(name, digest, previous string) string {
	b, _ := json.Marshal(fileEvent{Name: name, Digest: digest, Previous: previous})
	return string(b)
}

// validFileName reports whether name can name a file of a version: one
// path segment, not "." or "..", without control characters or
// backslashes.
func validFileName(name string) bool {
	if name == "" || len(name) > 512 || name == "." || name == ".." {
		return false
	}
	for _, r := range name {
		if r == '/' || r == '\\' || unicode.IsControl(r) {
			return false
		}
	}
	return true
}

func validVersionName(name string) bool {
	return strings.TrimSpace(name) != "" && len(name) <= 512
}

// PutFile puts one file into a version, creating the version (and its
// package) when asked, and replacing a file of that name when the policy
// allows: in one transaction with the blob's registration, and with a
// file.put event (and a publish event when it created the version). The
// caller needs what Publish needs. A digest the blob store does not hold
// is KindInvalid.
func (s *Service) PutFile(ctx context.Context, a *Actor, req PutFileRequest) (*PutFileResult, error) {
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
		switch {
		case err == nil:
		case IsNotFound(err) && req.CreateVersion:
			v = &Version{PackageID: pkg.ID, Name: req.Version, CreatedAt: now, UpdatedAt: now}
			if err := tx.CreateVersion(ctx, v); err != nil {
				if IsConflict(err) {
					return Errorf(KindConflict, "version %s of %s was created concurrently; try again", req.Version, req.Package.Name)
				}
				return fmt.Errorf("create version: %w", err)
			}
			out.VersionCreated = true
		default:
			return notFoundAs(err, ErrVersionNotFound)
		}
		out.Version = v
		// Checked only once the caller is known to have write access,
		// so that nobody else learns which blobs exist.
		f := req.File
		if f.Size, err = s.committedSize(ctx, f.Digest); err != nil {
			return err
		}
		stored, previous, change, err := s.putFile(ctx, tx, v, f, req.IfExists, now)
		if err != nil {
			return err
		}
		out.File = stored
		if change == fileUnchanged {
			out.Unchanged = true
			return nil
		}
		out.Replaced = change == fileReplaced
		if !out.VersionCreated {
			// The version's documents list its files: they changed.
			v.UpdatedAt = now
			if err := tx.UpdateVersion(ctx, v); err != nil {
				return fmt.Errorf("touch version: %w", err)
			}
		}
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
			Detail: fileEventDetail(stored.Name, stored.Digest, previous), CreatedAt: now})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteFile deletes one file of an active version, with a file.delete
// event. The caller needs write access (see the rules above); the version
// stays.
func (s *Service) DeleteFile(ctx context.Context, a *Actor, req DeleteFileRequest) error {
	if err := s.checkScopes(a, OpWrite, req.Package.Type); err != nil {
		return err
	}
	// The download rule must see the downloads still held in memory.
	if err := s.FlushDownloads(ctx); err != nil {
		return fmt.Errorf("count downloads: %w", err)
	}
	return s.store.WithTx(ctx, func(tx Store) error {
		pkg, _, err := s.writablePackage(ctx, tx, a, req.Package, req.Repository, false)
		if err != nil {
			return err
		}
		v, err := tx.GetVersionByName(ctx, pkg.ID, req.Version, Active)
		if err != nil {
			return notFoundAs(err, ErrVersionNotFound)
		}
		f, err := tx.GetFile(ctx, v.ID, req.Name)
		if err != nil {
			return notFoundAs(err, ErrFileNotFound)
		}
		if pkg.Visibility == Public && v.DownloadCount > s.opts.DownloadLimit {
			return Errorf(KindInvalid, MsgTooManyDownloads)
		}
		if err := tx.DeleteFile(ctx, v.ID, f.Name); err != nil {
			return fmt.Errorf("delete file: %w", err)
		}
		now := s.now()
		v.UpdatedAt = now
		if err := tx.UpdateVersion(ctx, v); err != nil {
			return fmt.Errorf("touch version: %w", err)
		}
		pkg.UpdatedAt = now
		if err := tx.UpdatePackage(ctx, pkg); err != nil {
			return fmt.Errorf("touch package: %w", err)
		}
		return s.record(ctx, tx, a, pkg, &Event{Action: ActionFileDelete, PackageID: pkg.ID, VersionID: v.ID,
			Detail: fileEventDetail(f.Name, f.Digest, ""), CreatedAt: now})
	})
}

// VersionFile returns one file of an active version of a package the
// caller may read through a registry.
func (s *Service) VersionFile(ctx context.Context, a *Actor, ref PackageRef, version, name string) (*File, error) {
	_, pkg, err := s.resolve(ctx, s.store, a, ref, Active, OpRead, ViaRegistry)
	if err != nil {
		return nil, err
	}
	v, err := s.store.GetVersionByName(ctx, pkg.ID, version, Active)
	if err != nil {
		return nil, notFoundAs(err, ErrVersionNotFound)
	}
	f, err := s.File(ctx, v.ID, name)
	if err != nil {
		return nil, err
	}
	f.readable = true
	return f, nil
}

// writablePackage returns the active package ref names, which the caller
// may write to through repository (if one is named). With create, a
// missing package is created as Publish would; without, it is
// KindNotFound.
func (s *Service) writablePackage(ctx context.Context, tx Store, a *Actor, ref PackageRef, repository string, create bool) (*Package, bool, error) {
	if create {
		return s.ensurePackage(ctx, tx, a, ref, repository)
	}
	owner, pkg, err := s.resolve(ctx, tx, a, ref, Active, OpWrite, ViaRegistry)
	if err != nil {
		return nil, false, err
	}
	if err := s.checkRepository(ctx, tx, owner, pkg, repository); err != nil {
		return nil, false, err
	}
	if err := s.linkRepository(ctx, tx, owner, pkg, repository); err != nil {
		return nil, false, err
	}
	return pkg, false, nil
}

// committedSize returns the size of a blob the blob store holds; a digest
// it does not hold is KindInvalid.
func (s *Service) committedSize(ctx context.Context, digest string) (int64, error) {
	size, err := s.blobs.Stat(ctx, digest)
	switch {
	case err == nil:
		return size, nil
	case IsNotFound(err), KindOf(err) == KindInvalid:
		return 0, Wrap(KindInvalid, fmt.Sprintf("blob %q has not been uploaded", digest), err)
	}
	return 0, fmt.Errorf("stat blob: %w", err)
}

// fileChange is what putFile did.
type fileChange int

const (
	fileUnchanged fileChange = iota // the version holds this very file already
	fileAdded
	fileReplaced
)

// putFile records f as a file of version v under the policy, and registers
// its blob (a blob put again restarts its grace period), in tx. It returns
// the file as stored and, when it replaced one, the replaced file's digest.
// Publish and PutFile share it.
func (s *Service) putFile(ctx context.Context, tx Store, v *Version, f File, policy FilePolicy, now time.Time) (*File, string, fileChange, error) {
	if err := tx.PutBlob(ctx, &Blob{Digest: f.Digest, Size: f.Size, CreatedAt: now}); err != nil {
		return nil, "", 0, fmt.Errorf("record blob: %w", err)
	}
	existing, err := tx.GetFile(ctx, v.ID, f.Name)
	switch {
	case err == nil:
		if existing.Digest == f.Digest && policy != FileConflict {
			return existing, "", fileUnchanged, nil
		}
		if policy != FileReplace {
			return nil, "", 0, Errorf(KindConflict, "file %s of version %s already exists", f.Name, v.Name)
		}
	case IsNotFound(err):
		existing = nil
	default:
		return nil, "", 0, fmt.Errorf("get file: %w", err)
	}
	f.ID, f.VersionID, f.CreatedAt = 0, v.ID, now
	if existing == nil {
		if err := tx.AddFile(ctx, &f); err != nil {
			if IsConflict(err) {
				return nil, "", 0, Errorf(KindConflict, "file %s of version %s already exists", f.Name, v.Name)
			}
			return nil, "", 0, fmt.Errorf("add file %s: %w", f.Name, err)
		}
		return &f, "", fileAdded, nil
	}
	previous, err := tx.ReplaceFile(ctx, &f)
	if err != nil {
		return nil, "", 0, fmt.Errorf("replace file %s: %w", f.Name, err)
	}
	return &f, previous, fileReplaced, nil
}
