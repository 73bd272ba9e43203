package packages

import (
	"context"
	"io"
	"os"
	"time"
)

// BlobStore holds content-addressed bytes. Digests are "sha256:<64 hex>".
// Nothing is visible under a digest before its bytes are complete and
// verified. Implementations return ErrNotFound for a missing blob or upload
// session, and an error wrapping ErrInsufficientStorage when a write finds
// the storage full; a write that fails leaves nothing behind.
type BlobStore interface {
	Stat(ctx context.Context, digest string) (size int64, err error)
	// Open returns a reader that can seek, for range requests. The caller
	// closes it.
	Open(ctx context.Context, digest string) (BlobReader, error)
	Delete(ctx context.Context, digest string) error
	// Walk calls fn for every stored blob, in no particular order.
	Walk(ctx context.Context, fn func(digest string, size int64) error) error

	// Put streams r into a new blob. If expected is not empty the content
	// must hash to it, else nothing is stored and an error of KindInvalid
	// is returned.
	Put(ctx context.Context, r io.Reader, expected string) (digest string, size int64, err error)

	// NewUpload starts a resumable upload session that survives a restart.
	NewUpload(ctx context.Context) (Upload, error)
	// ResumeUpload reopens a session by id.
	ResumeUpload(ctx context.Context, id string) (Upload, error)
	// PurgeUploads cancels sessions not written to since before; it returns
	// how many it removed.
	PurgeUploads(ctx context.Context, before time.Time) (int, error)
	// Checksums returns a blob's checksums, computed in the pass that
	// stored it. For a blob stored before the store kept them, it reads
	// the blob to compute them.
	Checksums(ctx context.Context, digest string) (Checksums, error)

	// PurgeTemp removes what writes that never finished left in the
	// store's temporary area (a Put cut short by a crash) and was last
	// written before before. It reports those and the younger ones, which
	// may belong to writes still running and are kept. With dryRun it
	// removes nothing.
	PurgeTemp(ctx context.Context, before time.Time, dryRun bool) (TempReport, error)
}

// Checksums are a blob's md5, sha1, sha256 and sha512 in lower-case hex,
// as package formats ask for them (Maven's .md5/.sha1/.sha256/.sha512
// files, npm's shasum and integrity, NuGet's SHA-512). The zero value
// means not known yet.
type Checksums struct {
	MD5    string
	SHA1   string
	SHA256 string
	SHA512 string
}

// Known reports whether all four checksums are known.
func (c Checksums) Known() bool {
	return c.MD5 != "" && c.SHA1 != "" && c.SHA256 != "" && c.SHA512 != ""
}

// TempReport describes a blob store's temporary area.
type TempReport struct {
	Stale      int   // last written before the cutoff: removed, or on a dry run, to be removed
	StaleBytes int64 // their size
	Fresh      int   // written since: kept
	FreshBytes int64 // their size
}

// BlobReader reads one blob.
type BlobReader interface {
	io.ReadSeekCloser
	Size() int64
}

// Upload is an open resumable upload session. Bytes written are appended;
// Close keeps the session for a later ResumeUpload, Commit and Cancel end it.
type Upload interface {
	ID() string
	Size() int64 // bytes received so far
	StartedAt() time.Time
	// Write appends all of p or, with an error, nothing.
	io.Writer
	// Append appends a chunk: all of r, or nothing. If reading r or
	// storing its bytes fails, the session is left as it was and the
	// error wraps the cause, the reader's error included. It returns the
	// number of bytes appended.
	Append(ctx context.Context, r io.Reader) (int64, error)
	// Commit verifies the content against expected (when not empty) and
	// makes it visible under its digest. On a mismatch the session is
	// removed and an error of KindInvalid is returned.
	Commit(ctx context.Context, expected string) (digest string, size int64, err error)
	Cancel(ctx context.Context) error
	Close() error
}

// BlobAgeDeleter is an optional power of a BlobStore: deleting a blob only
// if it was last written, or put again, before a time. Garbage collection
// uses it, where the store has it, so that a push racing the collection
// keeps its bytes.
type BlobAgeDeleter interface {
	DeleteIfOlder(ctx context.Context, digest string, t time.Time) (bool, error)
}

// FileBacked is an optional power of a BlobReader: the open file that holds
// the blob, so that a front can have the kernel send it (sendfile). The
// reader keeps ownership of the file.
type FileBacked interface {
	File() *os.File
}

// BlobPresigner is an optional power of a BlobStore: a URL from which a
// client may GET the blob directly for a while, for fronts that redirect
// large downloads.
type BlobPresigner interface {
	PresignGet(ctx context.Context, digest string, ttl time.Duration) (string, error)
}

// PresignableReader is an optional power of a BlobReader: a URL from which
// a client may GET the blob it reads directly for a while. The service
// hands such a reader to a front only after it has authorised the read,
// so a front may redirect the download there instead of streaming it.
type PresignableReader interface {
	PresignGet(ctx context.Context, ttl time.Duration) (string, error)
}
