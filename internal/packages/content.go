package packages

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Content: the bytes of packages, only through the service, so that every
// read and write of a blob is authorised and every download counted.

// FileContent is one file of a version, open for reading. The caller
// closes Reader.
type FileContent struct {
	Package *PackageInfo
	Version *VersionInfo
	File    *File
	Reader  BlobReader
}

// Close closes the file's reader.
func (c *FileContent) Close() error { return c.Reader.Close() }

// OpenFileRequest names one file of an active version.
type OpenFileRequest struct {
	Package PackageRef
	Version string // normalised by the type's spec
	Name    string // "": the version's first file
	// CountDownload counts a download of the version (a whole GET; not a
	// HEAD or a range request).
	CountDownload bool
}

// OpenFile opens one file of an active version of a package the caller may
// read through a registry. A file whose bytes are missing from the blob
// store is an internal error, never a not-found: the metadata says it
// exists.
func (s *Service) OpenFile(ctx context.Context, a *Actor, req OpenFileRequest) (*FileContent, error) {
	owner, pkg, v, f, err := s.readableFile(ctx, a, req)
	if err != nil {
		return nil, err
	}
	pi, vi, err := s.versionView(ctx, owner, pkg, v)
	if err != nil {
		return nil, err
	}
	rd, err := s.blobs.Open(ctx, f.Digest)
	if err != nil {
		return nil, fmt.Errorf("open blob %s of %s@%s: %w", f.Digest, req.Package, v.Name, err)
	}
	if req.CountDownload {
		s.CountDownload(pkg.ID, v.ID)
	}
	return &FileContent{Package: pi, Version: vi, File: f, Reader: rd}, nil
}

// readableFile finds one file of an active version of a package the
// caller may read through a registry.
func (s *Service) readableFile(ctx context.Context, a *Actor, req OpenFileRequest) (*Owner, *Package, *Version, *File, error) {
	owner, pkg, err := s.resolve(ctx, s.store, a, req.Package, Active, OpRead, ViaRegistry)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	name, err := s.specs.spec(pkg.Type).Normalize(req.Version)
	if err != nil {
		return nil, nil, nil, nil, ErrVersionNotFound
	}
	v, err := s.store.GetVersionByName(ctx, pkg.ID, name, Active)
	if err != nil {
		return nil, nil, nil, nil, notFoundAs(err, ErrVersionNotFound)
	}
	var f *File
	if req.Name == "" {
		fs, err := s.store.ListFiles(ctx, v.ID)
		if err != nil {
			return nil, nil, nil, nil, fmt.Errorf("list files: %w", err)
		}
		if len(fs) == 0 {
			return nil, nil, nil, nil, ErrFileNotFound
		}
		f = &fs[0]
	} else if f, err = s.store.GetFile(ctx, v.ID, req.Name); err != nil {
		return nil, nil, nil, nil, notFoundAs(err, ErrFileNotFound)
	}
	return owner, pkg, v, f, nil
}

// UploadRequest is the bytes of one file for a package the caller may
// publish to.
type UploadRequest struct {
	Package PackageRef
	// Repository is "OWNER/REPO", as in PublishRequest.
	Repository string
	Body       io.Reader
	// Expected is the digest the bytes must have ("" when unknown).
	Expected string
}

// Upload streams a file's bytes into the blob store, once the caller is
// known to be allowed to publish to the package (creating it if it does
// not exist). The bytes become part of a package when PutFile or Publish
// names their digest; garbage collection frees them otherwise. A body that does not match Expected is KindInvalid and leaves
// nothing.
func (s *Service) Upload(ctx context.Context, a *Actor, req UploadRequest) (digest string, size int64, err error) {
	if err := s.CanPublish(ctx, a, req.Package, req.Repository); err != nil {
		return "", 0, err
	}
	digest, size, err = s.blobs.Put(ctx, req.Body, req.Expected)
	if err != nil {
		return "", 0, err
	}
	sums, err := s.blobs.Checksums(ctx, digest)
	if err != nil {
		return "", 0, fmt.Errorf("checksums of %s: %w", digest, err)
	}
	// Recorded, the blob is freed by garbage collection after the grace
	// period unless a file or a link comes to refer to it.
	if err := s.store.PutBlob(ctx, &Blob{Digest: digest, Size: size, CreatedAt: s.now(), Checksums: sums}); err != nil {
		return "", 0, fmt.Errorf("record blob: %w", err)
	}
	return digest, size, nil
}

// FileChecksums returns the checksums of one file of an active version of a
// package the caller may read through a registry, as the blob store
// computed them when it stored the bytes.
func (s *Service) FileChecksums(ctx context.Context, a *Actor, req OpenFileRequest) (*File, Checksums, error) {
	_, _, _, f, err := s.readableFile(ctx, a, req)
	if err != nil {
		return nil, Checksums{}, err
	}
	sums, err := s.BlobChecksums(ctx, f.Digest)
	if err != nil {
		return nil, Checksums{}, fmt.Errorf("checksums of %s: %w", f.Digest, err)
	}
	return f, sums, nil
}

// errFileNotAuthorised is the error of opening a File the service did not
// hand out to a caller it authorised: a front's bug, never the client's.
var errFileNotAuthorised = errors.New("open file: not a file the service authorised the caller to read")

// OpenFileBlob opens the bytes of f, a file the service returned to a
// caller it authorised to read it (RegistryManifest, VersionFile); any
// other File is refused.
func (s *Service) OpenFileBlob(ctx context.Context, f *File) (BlobReader, error) {
	if f == nil || !f.readable {
		return nil, errFileNotAuthorised
	}
	rd, err := s.blobs.Open(ctx, f.Digest)
	if err != nil {
		return nil, fmt.Errorf("open blob %s of file %s: %w", f.Digest, f.Name, err)
	}
	return rd, nil
}

// StartUpload starts an upload session for the bytes of a file of a
// package the caller may publish to (creating it if it does not exist), for
// fronts that stream a file they check as it arrives (an npm tarball inside
// its publish document). The bytes become part of the package when Publish
// or PutFile names the digest the session commits to.
func (s *Service) StartUpload(ctx context.Context, a *Actor, ref PackageRef, repository string) (Upload, error) {
	if err := s.CanPublish(ctx, a, ref, repository); err != nil {
		return nil, err
	}
	return s.blobs.NewUpload(ctx)
}

// VersionFiles returns an active version of a package the caller may read
// through a registry, with its files.
func (s *Service) VersionFiles(ctx context.Context, a *Actor, ref PackageRef, version string) (*PackageInfo, *VersionInfo, []File, error) {
	pi, vi, err := s.GetVersionByName(ctx, a, ref, version, ViaRegistry)
	if err != nil {
		return nil, nil, nil, err
	}
	fs, err := s.store.ListFiles(ctx, vi.ID)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("files of %s@%s: %w", ref, version, err)
	}
	for i := range fs {
		fs[i].readable = true
	}
	return pi, vi, fs, nil
}
