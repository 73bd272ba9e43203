package packages

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// errDryRun rolls back the transaction of a dry run.
var errDryRun = errors.New("dry run")

// PurgeReport says what a purge removed, or with DryRun, would remove.
type PurgeReport struct {
	DryRun     bool
	Packages   []Package  // hard-deleted packages, with their versions
	Versions   []Version  // hard-deleted versions of live packages
	Blobs      []Blob     // freed blobs
	Adopted    int        // blob files found without a record, recorded for a later run
	Pending    int        // expired pending blobs (pushed to a name that never got a version) dropped
	Uploads    int        // stale upload sessions removed
	Temp       TempReport // leftovers of unfinished writes; stale ones (older than the grace period) removed
	Summed     int        // blobs recorded without checksums (before they were kept) that got them
	Sessions   int        // web sessions that expired or lost their token, deleted (not counted in a dry run)
	Deliveries int        // finished webhook deliveries older than the delivery retention, deleted (not counted in a dry run)
	Skipped    bool       // another replica holds the purge lock; nothing was done
}

// purgeBatch bounds each listing so that a purge never loads everything.
const purgeBatch = 500

// Purge hard-deletes what was soft-deleted longer ago than the restore
// window, then frees blobs nothing refers to any more. Blob files that have
// no record (a crash between a blob's commit and its metadata) are recorded
// now and freed by a later run once the grace period has passed.
func (s *Service) Purge(ctx context.Context, dryRun bool) (*PurgeReport, error) {
	rep := &PurgeReport{DryRun: dryRun}
	if l, ok := s.store.(Locker); ok && !dryRun {
		unlock, got, err := l.TryLock(ctx, "packhub.purge")
		if err != nil {
			return rep, fmt.Errorf("purge lock: %w", err)
		}
		if !got {
			rep.Skipped = true
			return rep, nil
		}
		defer unlock()
	}
	now := s.now()
	cutoff := now.Add(-s.opts.RestoreWindow)
	// A real run deletes what it lists, batch by batch; a dry run deletes
	// nothing, so it lists everything at once.
	batch := purgeBatch
	if dryRun {
		batch = 0
	}
	for {
		pkgs, err := s.store.ListPurgeablePackages(ctx, cutoff, batch)
		if err != nil {
			return rep, fmt.Errorf("list purgeable packages: %w", err)
		}
		rep.Packages = append(rep.Packages, pkgs...)
		if dryRun || len(pkgs) == 0 {
			break
		}
		for _, p := range pkgs {
			if err := s.store.HardDeletePackage(ctx, p.ID); err != nil {
				return rep, fmt.Errorf("purge package %d: %w", p.ID, err)
			}
			_ = s.store.AddEvent(ctx, &Event{Action: ActionPurge, PackageID: p.ID, Detail: "package", CreatedAt: now})
		}
	}
	for {
		vs, err := s.store.ListPurgeableVersions(ctx, cutoff, batch)
		if err != nil {
			return rep, fmt.Errorf("list purgeable versions: %w", err)
		}
		rep.Versions = append(rep.Versions, vs...)
		if dryRun || len(vs) == 0 {
			break
		}
		for _, v := range vs {
			if err := s.store.HardDeleteVersion(ctx, v.ID); err != nil {
				return rep, fmt.Errorf("purge version %d: %w", v.ID, err)
			}
			_ = s.store.AddEvent(ctx, &Event{Action: ActionPurge, PackageID: v.PackageID, VersionID: v.ID, Detail: "version", CreatedAt: now})
		}
	}
	if err := s.blobs.Walk(ctx, func(digest string, size int64) error {
		if _, err := s.store.GetBlob(ctx, digest); err == nil {
			return nil
		} else if !IsNotFound(err) {
			return err
		}
		rep.Adopted++
		if dryRun {
			return nil
		}
		return s.store.PutBlob(ctx, &Blob{Digest: digest, Size: size, CreatedAt: now})
	}); err != nil {
		return rep, fmt.Errorf("walk blobs: %w", err)
	}
	graceCutoff := now.Add(-s.opts.BlobGracePeriod)
	// Blobs pushed to a name that got no version since: nobody is coming
	// back for them. Kept at least for the grace period, and as long as an
	// upload session may stay idle, so that a slow push finds them.
	pendingCutoff := now.Add(-max(s.opts.UploadMaxAge, s.opts.BlobGracePeriod))
	if dryRun {
		// Count what would expire, and list what that would free, in a
		// transaction that is rolled back.
		err := s.store.WithTx(ctx, func(tx Store) error {
			n, err := tx.ExpirePendingBlobs(ctx, pendingCutoff)
			if err != nil {
				return fmt.Errorf("expire pending blobs: %w", err)
			}
			blobs, err := tx.UnreferencedBlobs(ctx, graceCutoff, 0)
			if err != nil {
				return fmt.Errorf("list unreferenced blobs: %w", err)
			}
			rep.Pending, rep.Blobs = n, blobs
			return errDryRun
		})
		if !errors.Is(err, errDryRun) {
			return rep, err
		}
		return s.purgeLeftovers(ctx, rep, graceCutoff, true)
	}
	n, err := s.store.ExpirePendingBlobs(ctx, pendingCutoff)
	if err != nil {
		return rep, fmt.Errorf("expire pending blobs: %w", err)
	}
	rep.Pending = n
	if rep.Sessions, err = s.store.DeleteStaleSessions(ctx, now); err != nil {
		return rep, fmt.Errorf("delete stale sessions: %w", err)
	}
	if rep.Deliveries, err = s.store.DeleteFinishedDeliveries(ctx, now.Add(-s.opts.DeliveryRetention)); err != nil {
		return rep, fmt.Errorf("delete old webhook deliveries: %w", err)
	}
	for {
		blobs, err := s.store.UnreferencedBlobs(ctx, graceCutoff, batch)
		if err != nil {
			return rep, fmt.Errorf("list unreferenced blobs: %w", err)
		}
		rep.Blobs = append(rep.Blobs, blobs...)
		if len(blobs) == 0 {
			break
		}
		freed := blobs[:0]
		for _, b := range blobs {
			// Forget the record first, and only if it is still
			// unreferenced and old: a publish or a push that came in
			// since the listing keeps its blob.
			forgot, err := s.store.ForgetBlob(ctx, b.Digest, graceCutoff)
			if err != nil {
				return rep, fmt.Errorf("forget blob %s: %w", b.Digest, err)
			}
			if !forgot {
				continue
			}
			deleted, err := s.deleteBlobBytes(ctx, b.Digest, graceCutoff)
			if err != nil {
				return rep, fmt.Errorf("delete blob %s: %w", b.Digest, err)
			}
			if !deleted {
				// Put again since the listing: the next run adopts
				// it, or the push records it.
				continue
			}
			freed = append(freed, b)
		}
		rep.Blobs = append(rep.Blobs[:len(rep.Blobs)-len(blobs)], freed...)
		if len(freed) == 0 {
			break
		}
	}
	uploads, err := s.blobs.PurgeUploads(ctx, now.Add(-s.opts.UploadMaxAge))
	if err != nil {
		return rep, fmt.Errorf("purge uploads: %w", err)
	}
	rep.Uploads = uploads
	return s.purgeLeftovers(ctx, rep, graceCutoff, false)
}

// purgeLeftovers fills in missing checksums and removes the temporary files
// of unfinished writes older than graceCutoff; with dryRun it only counts.
func (s *Service) purgeLeftovers(ctx context.Context, rep *PurgeReport, graceCutoff time.Time, dryRun bool) (*PurgeReport, error) {
	summed, err := s.fillChecksums(ctx, dryRun)
	rep.Summed = summed
	if err != nil {
		return rep, err
	}
	// A write younger than the grace period may still be running.
	temp, err := s.blobs.PurgeTemp(ctx, graceCutoff, dryRun)
	if err != nil {
		return rep, fmt.Errorf("purge temporary files: %w", err)
	}
	rep.Temp = temp
	return rep, nil
}

// deleteBlobBytes deletes a blob's bytes, only if they were not written
// since cutoff where the blob store can tell.
func (s *Service) deleteBlobBytes(ctx context.Context, digest string, cutoff time.Time) (bool, error) {
	if d, ok := s.blobs.(BlobAgeDeleter); ok {
		return d.DeleteIfOlder(ctx, digest, cutoff)
	}
	if err := s.blobs.Delete(ctx, digest); err != nil && !IsNotFound(err) {
		return false, err
	}
	return true, nil
}
