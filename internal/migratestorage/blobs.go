package migratestorage

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/packhub/packhub/internal/packages"
)

// copyBlobs copies every blob the target's metadata records (the source's,
// once the tables are copied) that the target blob store lacks, and reads
// every one back from the target to check its size, its digest and its
// recorded checksums. A blob that fails is reported and the others go on.
func copyBlobs(ctx context.Context, o Options, r *Report) error {
	fmt.Fprintf(o.Out, "blobs: copying into the target blob store and verifying, %d at a time\n", o.Jobs)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan packages.Blob)
	var mu sync.Mutex
	b := &r.Blobs
	last := time.Now()
	progress := func() {
		fmt.Fprintf(o.Out, "blobs: %d done: %d copied (%d bytes), %d already there, %d verified (%d bytes), %d failed\n",
			b.Copied+b.Skipped+b.Failed, b.Copied, b.CopiedBytes, b.Skipped, b.Verified, b.VerifiedBytes, b.Failed)
	}
	var wg sync.WaitGroup
	for range o.Jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for blob := range work {
				copied, err := copyBlob(ctx, o, blob)
				mu.Lock()
				switch {
				case err != nil:
					b.Failed++
					b.Failures = append(b.Failures, BlobFailure{Digest: blob.Digest, Err: err})
				case copied:
					b.Copied++
					b.CopiedBytes += blob.Size
				default:
					b.Skipped++
				}
				if err == nil {
					b.Verified++
					b.VerifiedBytes += blob.Size
				}
				if time.Since(last) >= o.ProgressEvery {
					last = time.Now()
					progress()
				}
				mu.Unlock()
			}
		}()
	}
	var listErr error
	after := ""
list:
	for {
		page, err := o.Target.Blobs(ctx, after, o.Batch)
		if err != nil {
			listErr = fmt.Errorf("list the target's blobs: %w", err)
			break
		}
		for _, blob := range page {
			select {
			case work <- blob:
				mu.Lock()
				b.Listed++
				mu.Unlock()
			case <-ctx.Done():
				listErr = ctx.Err()
				break list
			}
		}
		if len(page) < o.Batch {
			break
		}
		after = page[len(page)-1].Digest
	}
	close(work)
	wg.Wait()
	if listErr == nil {
		listErr = ctx.Err()
	}
	progress()
	return listErr
}

// copyBlob puts one blob in the target unless it is there already with
// its size, then verifies the target's copy. It reports whether it copied.
func copyBlob(ctx context.Context, o Options, b packages.Blob) (bool, error) {
	size, err := o.TargetBlobs.Stat(ctx, b.Digest)
	switch {
	case err == nil && size == b.Size:
		if err := verifyBlob(ctx, o, b); err == nil {
			return false, nil
		}
		// A copy that does not verify is replaced.
		if err := o.TargetBlobs.Delete(ctx, b.Digest); err != nil && !errors.Is(err, packages.ErrNotFound) {
			return false, fmt.Errorf("remove the target's bad copy: %w", err)
		}
	case err == nil:
		// Bytes under a digest never change, so a copy of another size is
		// a broken one.
		if err := o.TargetBlobs.Delete(ctx, b.Digest); err != nil && !errors.Is(err, packages.ErrNotFound) {
			return false, fmt.Errorf("remove the target's copy of %d bytes (want %d): %w", size, b.Size, err)
		}
	case !errors.Is(err, packages.ErrNotFound):
		return false, fmt.Errorf("stat in the target: %w", err)
	}
	src, err := o.SourceBlobs.Open(ctx, b.Digest)
	if err != nil {
		if errors.Is(err, packages.ErrNotFound) {
			return false, errors.New("recorded in the metadata but missing from the source blob store")
		}
		return false, fmt.Errorf("open in the source: %w", err)
	}
	defer src.Close()
	if src.Size() != b.Size {
		return false, fmt.Errorf("the source holds %d bytes, the metadata records %d", src.Size(), b.Size)
	}
	if _, n, err := o.TargetBlobs.Put(ctx, src, b.Digest); err != nil {
		if packages.KindOf(err) == packages.KindInvalid {
			return false, fmt.Errorf("the source's bytes do not match the digest: %w", err)
		}
		return false, fmt.Errorf("put in the target: %w", err)
	} else if n != b.Size {
		return false, fmt.Errorf("put %d bytes in the target, want %d", n, b.Size)
	}
	return true, verifyBlob(ctx, o, b)
}

// verifyBlob reads the target's copy of b and checks its size, its digest,
// the checksums the metadata records and those the target store keeps.
func verifyBlob(ctx context.Context, o Options, b packages.Blob) error {
	rd, err := o.TargetBlobs.Open(ctx, b.Digest)
	if err != nil {
		return fmt.Errorf("verify: open in the target: %w", err)
	}
	defer rd.Close()
	h5, h1, h256, h512 := md5.New(), sha1.New(), sha256.New(), sha512.New()
	n, err := io.CopyBuffer(io.MultiWriter(h5, h1, h256, h512), contextReader{ctx, rd}, make([]byte, 256<<10))
	if err != nil {
		return fmt.Errorf("verify: read from the target: %w", err)
	}
	if n != b.Size {
		return fmt.Errorf("verify: the target holds %d bytes, want %d", n, b.Size)
	}
	got := packages.Checksums{
		MD5:    hex.EncodeToString(h5.Sum(nil)),
		SHA1:   hex.EncodeToString(h1.Sum(nil)),
		SHA256: hex.EncodeToString(h256.Sum(nil)),
		SHA512: hex.EncodeToString(h512.Sum(nil)),
	}
	if want, ok := strings.CutPrefix(b.Digest, "sha256:"); ok && got.SHA256 != want {
		return fmt.Errorf("verify: the target's bytes hash to sha256:%s", got.SHA256)
	}
	if b.Checksums.Known() && b.Checksums != got {
		return errors.New("verify: the target's bytes do not match the checksums the metadata records")
	}
	if kept, err := o.TargetBlobs.Checksums(ctx, b.Digest); err != nil {
		return fmt.Errorf("verify: checksums in the target: %w", err)
	} else if kept.Known() && kept != got {
		return errors.New("verify: the checksums the target store keeps do not match its bytes")
	}
	return nil
}

// contextReader stops a long read when ctx ends.
type contextReader struct {
	ctx context.Context
	r   io.Reader
}

func (c contextReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
