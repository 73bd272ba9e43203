package packages

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
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
	Name    string
	// CountDownload counts a download of the version (a whole GET; not a
	// HEAD or a range request).
	CountDownload bool
}

// OpenFile opens one file of an active version of a package the caller may
// read through a registry. A file whose bytes are missing from the blob
// store is an internal error, never a not-found: the metadata says it
// exists.
func (s *Service) OpenFile(ctx context.Context, a *Actor, req OpenFileRequest) (*FileContent, error) {
	owner, pkg, err := s.resolve(ctx, s.store, a, req.Package, Active, OpRead, ViaRegistry)
	if err != nil {
		return nil, err
	}
	name, err := s.specs.spec(pkg.Type).Normalize(req.Version)
	if err != nil {
		return nil, ErrVersionNotFound
	}
	v, err := s.store.GetVersionByName(ctx, pkg.ID, name, Active)
	if err != nil {
		return nil, notFoundAs(err, ErrVersionNotFound)
	}
	f, err := s.store.GetFile(ctx, v.ID, req.Name)
	if err != nil {
		return nil, notFoundAs(err, ErrFileNotFound)
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
	// Recorded, the blob is freed by garbage collection after the grace
	// period unless a file or a link comes to refer to it.
	if err := s.store.PutBlob(ctx, &Blob{Digest: digest, Size: size, CreatedAt: s.now()}); err != nil {
		return "", 0, fmt.Errorf("record blob: %w", err)
	}
	return digest, size, nil
}

// Checksums are a blob's digests in hex, as Maven serves them in .md5,
// .sha1, .sha256 and .sha512 files and NuGet asks for SHA-512.
type Checksums struct {
	MD5, SHA1, SHA256, SHA512 string
}

// FileChecksums returns the checksums of one file of an active version of a
// package the caller may read through a registry.
func (s *Service) FileChecksums(ctx context.Context, a *Actor, req OpenFileRequest) (*File, Checksums, error) {
	req.CountDownload = false
	c, err := s.OpenFile(ctx, a, req)
	if err != nil {
		return nil, Checksums{}, err
	}
	defer c.Close()
	sums, err := checksumsOf(c.Reader)
	if err != nil {
		return nil, Checksums{}, fmt.Errorf("checksums of %s: %w", c.File.Digest, err)
	}
	return c.File, sums, nil
}

// checksumsOf hashes r in one pass.
func checksumsOf(r io.Reader) (Checksums, error) {
	h5, h1, h256, h512 := md5.New(), sha1.New(), sha256.New(), sha512.New()
	if _, err := io.Copy(io.MultiWriter(h5, h1, h256, h512), r); err != nil {
		return Checksums{}, err
	}
	return Checksums{
		MD5:    hex.EncodeToString(h5.Sum(nil)),
		SHA1:   hex.EncodeToString(h1.Sum(nil)),
		SHA256: hex.EncodeToString(h256.Sum(nil)),
		SHA512: hex.EncodeToString(h512.Sum(nil)),
	}, nil
}
