package packages

import (
	"context"
	"fmt"
	"time"
)

// The delivery worker's side of webhooks: claiming due deliveries from
// the outbox, learning what they report, and recording each attempt.

// ClaimDeliveries leases up to limit due deliveries for lease, for one
// worker to send; see HookStore.ClaimDeliveries.
func (s *Service) ClaimDeliveries(ctx context.Context, limit int, lease time.Duration) ([]Delivery, error) {
	now := s.now()
	ds, err := s.store.ClaimDeliveries(ctx, now, now.Add(lease), limit)
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	return ds, nil
}

// FinishAttempt records an attempt of a claimed delivery; false when the
// claim was lost meanwhile (the lease ran out and another worker took it).
func (s *Service) FinishAttempt(ctx context.Context, d *Delivery) (bool, error) {
	ok, err := s.store.FinishAttempt(ctx, d)
	if err != nil {
		return false, fmt.Errorf("record delivery attempt: %w", err)
	}
	return ok, nil
}

// FileInfo is a file of a version with its blob's checksums.
type FileInfo struct {
	File
	Checksums Checksums
}

// DeliverySubject is what a delivery reports, for rendering its payload:
// the hook and its owner, who caused it, and for package events the
// package (in whatever state it is now) with its version and files at
// the time of rendering.
type DeliverySubject struct {
	Hook  *Hook
	Owner *Owner // the hook's owner
	// Repository is the hook's repository (of Owner), nil for an
	// organization's hook.
	Repository *Repository
	Sender     *Owner // nil when unknown (the system)
	Event      *Event // nil for a ping
	Package    *PackageInfo
	Version    *VersionInfo // nil for a change to a whole package
	FileList   []FileInfo
}

// DeliverySubject gathers what d reports. A package purged meanwhile is
// KindNotFound: there is nothing left to report.
func (s *Service) DeliverySubject(ctx context.Context, d *Delivery) (*DeliverySubject, error) {
	sub := &DeliverySubject{}
	h, err := s.store.GetHookByID(ctx, d.HookID)
	if err != nil {
		return nil, notFoundOr(err, "hook not found")
	}
	sub.Hook = h
	if sub.Owner, err = s.store.GetOwnerByID(ctx, h.OwnerID); err != nil {
		return nil, notFoundOr(err, "hook owner not found")
	}
	if h.RepositoryID != 0 {
		if sub.Repository, err = s.store.GetRepositoryByID(ctx, h.RepositoryID); err != nil {
			return nil, notFoundOr(err, "hook repository not found")
		}
	}
	if d.SenderID != 0 {
		if sub.Sender, err = s.store.GetOwnerByID(ctx, d.SenderID); err != nil && !IsNotFound(err) {
			return nil, fmt.Errorf("sender: %w", err)
		}
	}
	if d.EventID == 0 {
		return sub, nil
	}
	if sub.Event, err = s.store.GetEvent(ctx, d.EventID); err != nil {
		return nil, notFoundOr(err, "event not found")
	}
	pkg, err := s.store.GetPackageByID(ctx, sub.Event.PackageID)
	if err != nil {
		return nil, notFoundOr(err, "package not found")
	}
	owner, err := s.store.GetOwnerByID(ctx, pkg.OwnerID)
	if err != nil {
		return nil, fmt.Errorf("package owner: %w", err)
	}
	if sub.Package, err = s.info(ctx, s.store, owner, pkg, nil); err != nil {
		return nil, err
	}
	if sub.Event.VersionID == 0 {
		return sub, nil
	}
	v, err := s.store.GetVersion(ctx, pkg.ID, sub.Event.VersionID)
	if err != nil {
		return nil, notFoundOr(err, "version not found")
	}
	vis, err := s.withTags(ctx, []Version{*v})
	if err != nil {
		return nil, err
	}
	sub.Version = &vis[0]
	files, err := s.store.ListFiles(ctx, v.ID)
	if err != nil {
		return nil, fmt.Errorf("files: %w", err)
	}
	for _, f := range files {
		fi := FileInfo{File: f}
		if b, err := s.store.GetBlob(ctx, f.Digest); err == nil {
			fi.Checksums = b.Checksums
		} else if !IsNotFound(err) {
			return nil, fmt.Errorf("blob %s: %w", f.Digest, err)
		}
		sub.FileList = append(sub.FileList, fi)
	}
	return sub, nil
}

// Now is the service's clock, which the delivery worker schedules by.
func (s *Service) Now() time.Time { return s.now() }
