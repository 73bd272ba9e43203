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
