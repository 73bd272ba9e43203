// Package jobs runs Packhub's background work on a schedule: the purge of
// what was deleted longer ago than the restore window, blob garbage
// collection, and the cleanup of abandoned upload sessions (Runner); and
// the owners' retention policies (Retention).
package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/packhub/packhub/internal/packages"
)

// Runner runs the purge job periodically.
type Runner struct {
	svc    *packages.Service
	logger *slog.Logger
	opts   options
}

// NewRunner returns a Runner over svc.
func NewRunner(svc *packages.Service, logger *slog.Logger, opts ...Option) *Runner {
	return &Runner{svc: svc, logger: logger, opts: newOptions(opts)}
}

// RunOnce runs the purge job once and logs what it did.
func (r *Runner) RunOnce(ctx context.Context, dryRun bool) (*packages.PurgeReport, error) {
	start := time.Now()
	rep, err := r.svc.Purge(ctx, dryRun)
	if !dryRun {
		r.opts.ran("purge", start, rep != nil && rep.Skipped, err)
	}
	if err != nil {
		r.logger.ErrorContext(ctx, "purge failed", "err", err)
		return rep, err
	}
	if rep.Skipped {
		r.logger.InfoContext(ctx, "purge skipped: another replica holds the lock")
		return rep, nil
	}
	r.logger.InfoContext(ctx, "purge done", "dry_run", dryRun, "packages", len(rep.Packages),
		"versions", len(rep.Versions), "blobs", len(rep.Blobs), "adopted", rep.Adopted, "pending_blobs", rep.Pending, "uploads", rep.Uploads,
		"temp_files", rep.Temp.Stale, "temp_bytes", rep.Temp.StaleBytes, "temp_files_kept", rep.Temp.Fresh,
		"checksums_filled", rep.Summed, "web_sessions", rep.Sessions, "webhook_deliveries", rep.Deliveries)
	return rep, nil
}

// Run runs the purge job every interval until ctx is done.
func (r *Runner) Run(ctx context.Context, interval time.Duration) {
	every(ctx, interval, func(ctx context.Context) { _, _ = r.RunOnce(ctx, false) })
}
