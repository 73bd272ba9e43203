package packages

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// DownloadFlushInterval is how long CountDownload keeps counts in memory
// before writing them.
const DownloadFlushInterval = 250 * time.Millisecond

// DownloadAdder is an optional power of a Store: adding n downloads at
// once, as IncrementDownloads adds one (without its checks).
type DownloadAdder interface {
	AddDownloads(ctx context.Context, packageID, versionID, n int64) error
}

type downloadKey struct{ pkg, ver int64 }

// downloadCounter batches downloads counted by CountDownload.
type downloadCounter struct {
	mu      sync.Mutex
	pending map[downloadKey]int64
	timer   *time.Timer // set while a flush is scheduled
	closed  bool
	flushMu sync.Mutex // one flush at a time
}

// CountDownload counts one download of a version (versionID 0: of the
// package alone), like RecordDownload, but without a write per call: counts
// are kept in memory and written together within DownloadFlushInterval, by
// FlushDownloads, or by Close. A count for a version that is gone by then
// is dropped.
func (s *Service) CountDownload(packageID, versionID int64) {
	d := &s.downloads
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		if err := s.RecordDownload(context.Background(), packageID, versionID); err != nil {
			s.opts.Logger.Warn("count download", "package_id", packageID, "version_id", versionID, "err", err)
			return
		}
		s.observeDownloads(context.Background(), map[int64]int64{packageID: 1})
		return
	}
	if d.pending == nil {
		d.pending = map[downloadKey]int64{}
	}
	d.pending[downloadKey{packageID, versionID}]++
	if d.timer == nil {
		d.timer = time.AfterFunc(DownloadFlushInterval, func() {
			if err := s.FlushDownloads(context.Background()); err != nil {
				s.opts.Logger.Warn("count downloads", "err", err)
			}
		})
	}
	d.mu.Unlock()
}

// FlushDownloads writes the downloads CountDownload holds, in one
// transaction.
func (s *Service) FlushDownloads(ctx context.Context) error {
	d := &s.downloads
	d.flushMu.Lock()
	defer d.flushMu.Unlock()
	d.mu.Lock()
	batch := d.pending
	d.pending = nil
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	d.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	err := s.store.WithTx(ctx, func(tx Store) error {
		adder, ok := tx.(DownloadAdder)
		for k, n := range batch {
			if ok {
				if err := adder.AddDownloads(ctx, k.pkg, k.ver, n); err != nil {
					return err
				}
				continue
			}
			for range n {
				if err := tx.IncrementDownloads(ctx, k.pkg, k.ver); err != nil {
					if IsNotFound(err) {
						break
					}
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		// Keep the counts for the next flush rather than lose them.
		d.mu.Lock()
		if d.pending == nil {
			d.pending = map[downloadKey]int64{}
		}
		for k, n := range batch {
			d.pending[k] += n
		}
		d.mu.Unlock()
		return fmt.Errorf("count downloads: %w", err)
	}
	if s.opts.Observer != nil {
		perPackage := map[int64]int64{}
		for k, n := range batch {
			perPackage[k.pkg] += n
		}
		s.observeDownloads(ctx, perPackage)
	}
	return nil
}

// PendingDownloads returns how many downloads CountDownload holds that are
// not written yet.
func (s *Service) PendingDownloads() int64 {
	d := &s.downloads
	d.mu.Lock()
	defer d.mu.Unlock()
	var n int64
	for _, c := range d.pending {
		n += c
	}
	return n
}

// Close writes what the service holds in memory (download counts) and
// makes later counts synchronous. The stores stay open.
func (s *Service) Close() error {
	s.downloads.mu.Lock()
	s.downloads.closed = true
	s.downloads.mu.Unlock()
	return s.FlushDownloads(context.Background())
}
