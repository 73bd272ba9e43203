package packages

import (
	"context"
	"fmt"
)

// BlobChecksums returns the md5, sha1, sha256 and sha512 of a blob the
// registry knows, for the fronts that serve them (Maven's checksum files,
// NuGet's SHA-512). They were computed by the blob store in the pass that
// stored the blob; a blob recorded before they were kept gets them now,
// and keeps them. The caller has already checked that the blob may be
// read.
func (s *Service) BlobChecksums(ctx context.Context, digest string) (Checksums, error) {
	b, err := s.store.GetBlob(ctx, digest)
	if err != nil {
		return Checksums{}, notFoundAs(err, ErrBlobNotFound)
	}
	if b.Checksums.Known() {
		return b.Checksums, nil
	}
	c, err := s.blobs.Checksums(ctx, digest)
	if err != nil {
		return Checksums{}, notFoundAs(err, ErrBlobNotFound)
	}
	if err := s.store.SetBlobChecksums(ctx, digest, c); err != nil {
		return Checksums{}, fmt.Errorf("record checksums of %s: %w", digest, err)
	}
	return c, nil
}

// fillChecksums records the checksums of recorded blobs that have none,
// as blobs recorded before checksums were kept have; with dryRun it only
// counts them. Blobs whose bytes are gone are left to garbage collection.
func (s *Service) fillChecksums(ctx context.Context, dryRun bool) (int, error) {
	n, after := 0, ""
	for {
		blobs, err := s.store.BlobsWithoutChecksums(ctx, after, purgeBatch)
		if err != nil {
			return n, fmt.Errorf("list blobs without checksums: %w", err)
		}
		for _, b := range blobs {
			after = b.Digest
			if dryRun {
				if _, err := s.blobs.Stat(ctx, b.Digest); IsNotFound(err) {
					continue
				} else if err != nil {
					return n, fmt.Errorf("stat blob %s: %w", b.Digest, err)
				}
				n++
				continue
			}
			c, err := s.blobs.Checksums(ctx, b.Digest)
			if IsNotFound(err) {
				continue
			}
			if err != nil {
				return n, fmt.Errorf("checksums of %s: %w", b.Digest, err)
			}
			if err := s.store.SetBlobChecksums(ctx, b.Digest, c); err != nil && !IsNotFound(err) {
				return n, fmt.Errorf("record checksums of %s: %w", b.Digest, err)
			}
			n++
		}
		if len(blobs) < purgeBatch {
			return n, nil
		}
	}
}
