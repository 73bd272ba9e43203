package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/packhub/packhub/internal/packages"
)

// Retention applies the owners' retention policies periodically, one
// replica at a time (the service takes the cluster-wide retention lock).
type Retention struct {
	svc    *packages.Service
	logger *slog.Logger
	opts   options
}

// NewRetention returns a Retention job over svc.
func NewRetention(svc *packages.Service, logger *slog.Logger, opts ...Option) *Retention {
	return &Retention{svc: svc, logger: logger, opts: newOptions(opts)}
}

// RunOnce applies the policies once (of one owner, when ownerLogin is not
// "") and logs what it did; with dryRun it deletes nothing.
func (r *Retention) RunOnce(ctx context.Context, ownerLogin string, dryRun bool) (*packages.RetentionReport, error) {
	start := time.Now()
	rep, err := r.svc.RunRetention(ctx, ownerLogin, dryRun)
	if !dryRun {
		r.opts.ran("retention", start, rep != nil && rep.Skipped, err)
	}
	if err != nil {
		r.logger.ErrorContext(ctx, "retention failed", "err", err)
		return rep, err
	}
	if rep.Skipped {
		r.logger.InfoContext(ctx, "retention skipped: another replica holds the lock")
		return rep, nil
	}
	for _, e := range rep.Errors {
		r.logger.WarnContext(ctx, "retention: a package was left as it was", "err", e)
	}
	r.logger.InfoContext(ctx, "retention done", "dry_run", dryRun, "policies", rep.Policies, "packages", rep.Packages,
		"versions", len(rep.Versions), "kept", len(rep.Kept), "files", len(rep.Files), "errors", len(rep.Errors))
	return rep, nil
}

// Run applies the policies every interval until ctx is done.
func (r *Retention) Run(ctx context.Context, interval time.Duration) {
	every(ctx, interval, func(ctx context.Context) { _, _ = r.RunOnce(ctx, "", false) })
}
