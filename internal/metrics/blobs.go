package metrics

import (
	"context"
	"io"
	"time"

	"github.com/packhub/packhub/internal/packages"
)

// ageBlobStore is what the file blob store is: a BlobStore that deletes
// by age. The decorator keeps that power; a store with other powers (a
// presigner) or without it is not wrapped.
type ageBlobStore interface {
	packages.BlobStore
	packages.BlobAgeDeleter
	// Ping is the health check's probe.
	Ping(ctx context.Context) error
}

// blobs times the operations of a blob store. Readers and upload sessions
// it returns are the store's own: reading and appending are not timed,
// opening and starting them are.
type blobs struct {
	inner ageBlobStore
	m     *Metrics
}

// InstrumentBlobs returns b timed into m's packhub_blob_operation_*
// metrics, or b itself with ok false when wrapping it would hide one of
// its optional powers.
func InstrumentBlobs(b packages.BlobStore, m *Metrics) (packages.BlobStore, bool) {
	if _, presigns := b.(packages.BlobPresigner); presigns {
		return b, false
	}
	a, ok := b.(ageBlobStore)
	if !ok {
		return b, false
	}
	return &blobs{inner: a, m: m}, true
}

func (b *blobs) time(op string, start time.Time, err *error) {
	observe(b.m.blobTime, b.m.blobErrors, op, start, *err)
}

func (b *blobs) Ping(ctx context.Context) (err error) {
	defer b.time("Ping", time.Now(), &err)
	return b.inner.Ping(ctx)
}

func (b *blobs) Stat(ctx context.Context, digest string) (size int64, err error) {
	defer b.time("Stat", time.Now(), &err)
	return b.inner.Stat(ctx, digest)
}

func (b *blobs) Open(ctx context.Context, digest string) (r packages.BlobReader, err error) {
	defer b.time("Open", time.Now(), &err)
	return b.inner.Open(ctx, digest)
}

func (b *blobs) Delete(ctx context.Context, digest string) (err error) {
	defer b.time("Delete", time.Now(), &err)
	return b.inner.Delete(ctx, digest)
}

func (b *blobs) Walk(ctx context.Context, fn func(digest string, size int64) error) (err error) {
	defer b.time("Walk", time.Now(), &err)
	return b.inner.Walk(ctx, fn)
}

func (b *blobs) Put(ctx context.Context, r io.Reader, expected string) (digest string, size int64, err error) {
	defer b.time("Put", time.Now(), &err)
	return b.inner.Put(ctx, r, expected)
}

func (b *blobs) NewUpload(ctx context.Context) (u packages.Upload, err error) {
	defer b.time("NewUpload", time.Now(), &err)
	return b.inner.NewUpload(ctx)
}

func (b *blobs) ResumeUpload(ctx context.Context, id string) (u packages.Upload, err error) {
	defer b.time("ResumeUpload", time.Now(), &err)
	return b.inner.ResumeUpload(ctx, id)
}

func (b *blobs) PurgeUploads(ctx context.Context, before time.Time) (n int, err error) {
	defer b.time("PurgeUploads", time.Now(), &err)
	return b.inner.PurgeUploads(ctx, before)
}

func (b *blobs) Checksums(ctx context.Context, digest string) (c packages.Checksums, err error) {
	defer b.time("Checksums", time.Now(), &err)
	return b.inner.Checksums(ctx, digest)
}

func (b *blobs) PurgeTemp(ctx context.Context, before time.Time, dryRun bool) (r packages.TempReport, err error) {
	defer b.time("PurgeTemp", time.Now(), &err)
	return b.inner.PurgeTemp(ctx, before, dryRun)
}

func (b *blobs) DeleteIfOlder(ctx context.Context, digest string, t time.Time) (deleted bool, err error) {
	defer b.time("DeleteIfOlder", time.Now(), &err)
	return b.inner.DeleteIfOlder(ctx, digest, t)
}
