package packages

import (
	"context"
	"fmt"
)

// What registry protocols (the OCI distribution API) need beyond the
// operations every front shares.

// CanPublish reports whether EnsurePackage would succeed for the caller,
// without creating anything: nil when the caller may publish to the
// package (creating it if it does not exist), else the error EnsurePackage
// would return. Registries use it to decide what a bearer token grants
// before the first push. It only reads, outside any transaction: a token
// request never waits for, nor takes, a write lock.
func (s *Service) CanPublish(ctx context.Context, a *Actor, ref PackageRef, repository string) error {
	_, err := s.checkPublish(ctx, s.store, a, ref, repository)
	return err
}

// PushTarget is where a registry push puts blobs (OCI layers, configs):
// an active package the caller may publish to, or, before the name's first
// version, the name itself, for the caller alone. A package exists only
// once a version is published: blobs pushed to a name without one wait,
// as the pusher's pending blobs, until the pusher publishes the name's
// first version, which links them to the new package. Garbage collection
// drops pending blobs nobody pushed again within the upload max age (or
// the blob grace period, if longer).
type PushTarget struct {
	// Package is the package; nil before its first version.
	Package *PackageInfo
	pending PendingKey
}

func pendingKey(a *Actor, ownerID int64, ref PackageRef) PendingKey {
	return PendingKey{OwnerID: ownerID, Type: ref.Type, Name: ref.Name, UserID: a.User.ID}
}

// PushTarget returns where the caller's push to ref goes: the package, or
// the name when the caller may create the package. The errors are those a
// publish would return. repository is as in PublishRequest.
func (s *Service) PushTarget(ctx context.Context, a *Actor, ref PackageRef, repository string) (*PushTarget, error) {
	pt, err := s.checkPublish(ctx, s.store, a, ref, repository)
	if err != nil {
		return nil, err
	}
	t := &PushTarget{pending: pendingKey(a, pt.owner.ID, ref)}
	if !pt.create {
		if t.Package, err = s.info(ctx, s.store, pt.owner, pt.pkg, nil); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// AddBlob records a blob committed to the blob store (as RegisterBlob)
// and links it to t.
func (s *Service) AddBlob(ctx context.Context, t *PushTarget, digest string, size int64) error {
	return s.store.WithTx(ctx, func(tx Store) error {
		if err := tx.PutBlob(ctx, &Blob{Digest: digest, Size: size, CreatedAt: s.now()}); err != nil {
			return fmt.Errorf("record blob: %w", err)
		}
		return s.link(ctx, tx, t, digest)
	})
}

// LinkBlob links a blob the registry holds to t (OCI: a blob mounted from
// another repository the caller reads). A blob the registry no longer
// holds (its record or its bytes) is KindInvalid with a BlobUnknownError.
func (s *Service) LinkBlob(ctx context.Context, t *PushTarget, digest string) error {
	if _, err := s.blobs.Stat(ctx, digest); err != nil {
		if IsNotFound(err) {
			return Wrap(KindInvalid, "blob unknown to registry: "+digest, &BlobUnknownError{Digest: digest})
		}
		return fmt.Errorf("stat blob %s: %w", digest, err)
	}
	return s.store.WithTx(ctx, func(tx Store) error {
		return s.linkHeldBlob(ctx, tx, digest, func() error { return s.link(ctx, tx, t, digest) })
	})
}

func (s *Service) link(ctx context.Context, tx Store, t *PushTarget, digest string) error {
	if t.Package != nil {
		return tx.LinkBlob(ctx, t.Package.ID, digest)
	}
	return tx.LinkPendingBlob(ctx, t.pending, digest, s.now())
}

// BlobLinked reports whether t holds a blob: the package links it, or the
// caller pushed it to the name before a version was published (and the
// publish will link it).
func (s *Service) BlobLinked(ctx context.Context, t *PushTarget, digest string) (bool, error) {
	if t.Package != nil {
		linked, err := s.store.BlobLinked(ctx, t.Package.ID, digest)
		if err != nil || linked {
			return linked, err
		}
	}
	_, linked, err := s.store.PendingBlobs(ctx, t.pending, digest)
	return linked, err
}

// BlobUnlinker is an optional power of a Store: forgetting that a package
// may read a blob (the reverse of LinkBlob). Unlinking a blob that is not
// linked is not an error.
type BlobUnlinker interface {
	UnlinkBlob(ctx context.Context, packageID int64, digest string) error
}

// ErrUnlinkUnsupported is returned by UnlinkBlob when the store cannot
// unlink blobs.
var ErrUnlinkUnsupported = &Error{Kind: KindInvalid, Message: "Deleting blobs is not supported."}

// UnlinkBlob removes a blob from a package (OCI: DELETE of a blob): the
// package may no longer read it, and garbage collection frees the bytes
// once nothing else refers to them. The caller needs delete rights on the
// package. A blob the package cannot read is KindNotFound; a store without
// the BlobUnlinker power gives ErrUnlinkUnsupported.
func (s *Service) UnlinkBlob(ctx context.Context, a *Actor, ref PackageRef, digest string) error {
	return s.store.WithTx(ctx, func(tx Store) error {
		_, pkg, err := s.resolve(ctx, tx, a, ref, Active, OpDelete, ViaRegistry)
		if err != nil {
			return err
		}
		u, ok := tx.(BlobUnlinker)
		if !ok {
			return ErrUnlinkUnsupported
		}
		linked, err := tx.BlobLinked(ctx, pkg.ID, digest)
		if err != nil {
			return fmt.Errorf("blob linked: %w", err)
		}
		if !linked {
			return ErrBlobNotFound
		}
		return u.UnlinkBlob(ctx, pkg.ID, digest)
	})
}
