package packages

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// The bytes of a registry push and read (OCI), through the service: every
// method takes what authorised the caller (a PushTarget, or the caller and
// the package it reads), so that no front reaches the blob store itself.

// OpenRegistryBlob opens a blob of a package the caller may read through
// a registry, as RegistryBlob decides it: a blob the package (or, before
// its first version, the caller's push to the name) does not hold is
// ErrBlobNotFound. The package is nil before the first version.
func (s *Service) OpenRegistryBlob(ctx context.Context, a *Actor, ref PackageRef, repository, digest string) (*PackageInfo, BlobReader, error) {
	pi, linked, err := s.RegistryBlob(ctx, a, ref, repository, digest)
	if err != nil {
		return nil, nil, err
	}
	if !linked {
		return pi, nil, ErrBlobNotFound
	}
	rd, err := s.openHeld(ctx, digest)
	if err != nil {
		return nil, nil, err
	}
	return pi, rd, nil
}

// OpenPushedBlob opens a blob t holds, as a push reads what it pushed (an
// image's configuration, the manifests an index lists). A blob t does not
// hold is ErrBlobNotFound.
func (s *Service) OpenPushedBlob(ctx context.Context, t *PushTarget, digest string) (BlobReader, error) {
	linked, err := s.BlobLinked(ctx, t, digest)
	if err != nil {
		return nil, err
	}
	if !linked {
		return nil, ErrBlobNotFound
	}
	return s.openHeld(ctx, digest)
}

// openHeld opens a blob the metadata says the registry holds: missing
// bytes are the registry's fault, not the caller's.
func (s *Service) openHeld(ctx context.Context, digest string) (BlobReader, error) {
	rd, err := s.blobs.Open(ctx, digest)
	if err != nil {
		return nil, fmt.Errorf("open blob %s: %w", digest, err)
	}
	return rd, nil
}

// PutBlob streams a blob pushed whole into the blob store, records it and
// links it to t. A body that does not hash to expected is KindInvalid and
// leaves nothing.
func (s *Service) PutBlob(ctx context.Context, t *PushTarget, r io.Reader, expected string) (digest string, size int64, err error) {
	if t == nil {
		return "", 0, errNoPushTarget
	}
	digest, size, err = s.blobs.Put(ctx, r, expected)
	if err != nil {
		return "", 0, err
	}
	if err := s.AddBlob(ctx, t, digest, size); err != nil {
		return "", 0, err
	}
	return digest, size, nil
}

// PutFileBytes streams the bytes of a file a push is about to publish (an
// OCI manifest) into the blob store. Publish records them with the
// version; garbage collection frees them if it never comes.
func (s *Service) PutFileBytes(ctx context.Context, t *PushTarget, r io.Reader, expected string) (digest string, size int64, err error) {
	if t == nil {
		return "", 0, errNoPushTarget
	}
	return s.blobs.Put(ctx, r, expected)
}

// errNoPushTarget is the error of a push without the target that
// authorised it: a front's bug, never the client's.
var errNoPushTarget = errors.New("push: no push target")

// NewUpload starts a resumable upload session for a push to t.
func (s *Service) NewUpload(ctx context.Context, t *PushTarget) (Upload, error) {
	if t == nil {
		return nil, errNoPushTarget
	}
	return s.blobs.NewUpload(ctx)
}

// ResumeUpload reopens an upload session of a push to t. A session that
// does not exist (any more) is KindNotFound.
func (s *Service) ResumeUpload(ctx context.Context, t *PushTarget, id string) (Upload, error) {
	if t == nil {
		return nil, errNoPushTarget
	}
	return s.blobs.ResumeUpload(ctx, id)
}
