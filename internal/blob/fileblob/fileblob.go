// Package fileblob is a packages.BlobStore on a local directory.
//
// Layout under the root directory:
//
//	sha256/ab/abcdef…       complete, verified blobs, sharded by the first two hex digits
//	sha256/ab/abcdef….sums  the blob's md5, sha1, sha256 and sha512, computed as it was stored
//	uploads/<id>/data       bytes of a resumable upload session
//	uploads/<id>/state      its hash states, size and start time
//	tmp/                    bytes of Put calls in progress
//
// Bytes are always written to a file outside sha256/ first, synced, and
// renamed into place, so a crash never leaves a partial file under a digest.
// What a crash leaves in tmp/ is reported and removed by PurgeTemp. The
// whole root must be on one file system so that renames are atomic.
//
// Writes that find the disk full (ENOSPC) or over its quota (EDQUOT) fail
// with an error wrapping packages.ErrInsufficientStorage, and leave nothing
// behind.
//
// A root belongs to one process at a time: upload sessions are locked
// against concurrent use within a Store, not across processes.
package fileblob

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/packhub/packhub/internal/blob/internal/digest"
	"github.com/packhub/packhub/internal/packages"
)

const (
	blobsDirName   = digest.Algorithm
	uploadsDirName = "uploads"
	tmpDirName     = "tmp"

	dirPerm = 0o750

	// sumsSuffix names the file next to a blob that holds its checksums.
	sumsSuffix = ".sums"

	// copyBufSize is the size of the chunks Put copies, and how often it
	// looks at its context.
	copyBufSize = 1 << 20
)

// Store is a packages.BlobStore on a local directory. It is safe for
// concurrent use.
type Store struct {
	root    string
	blobs   string
	uploads string
	tmp     string

	// instance identifies this Store for the upload states it saves.
	instance string
	// bufs are the chunks copies move.
	bufs *copyBuffers

	mu       sync.Mutex
	sessions map[string]*session // open upload sessions, by id
}

var _ packages.BlobStore = (*Store)(nil)

// New opens the store rooted at root, creating the directory if needed.
// Temporary files left behind by a crash stay until PurgeTemp, so that
// garbage collection can report them.
func New(root string) (*Store, error) {
	if root == "" {
		return nil, errors.New("fileblob: empty root directory")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("fileblob: root %q: %w", root, err)
	}
	s := &Store{
		root:     abs,
		blobs:    filepath.Join(abs, blobsDirName),
		uploads:  filepath.Join(abs, uploadsDirName),
		tmp:      filepath.Join(abs, tmpDirName),
		sessions: make(map[string]*session),
		instance: newInstanceID(),
		bufs:     newCopyBuffers(),
	}
	for _, dir := range []string{s.uploads, s.tmp} {
		if err := os.MkdirAll(dir, dirPerm); err != nil {
			return nil, fmt.Errorf("fileblob: %w", err)
		}
	}
	for i := 0; i < 256; i++ {
		if err := os.MkdirAll(filepath.Join(s.blobs, fmt.Sprintf("%02x", i)), dirPerm); err != nil {
			return nil, fmt.Errorf("fileblob: %w", err)
		}
	}
	for _, dir := range []string{s.blobs, s.root} {
		if err := syncDir(dir); err != nil {
			return nil, fmt.Errorf("fileblob: %w", err)
		}
	}
	return s, nil
}

// Ping checks that the store's directories are there, as a health check: a
// root that is gone, or an unmounted shared directory (the mount point
// without the store's layout), fails.
func (s *Store) Ping(ctx context.Context) error {
	for _, dir := range []string{s.blobs, s.uploads, s.tmp} {
		if err := ctx.Err(); err != nil {
			return err
		}
		fi, err := os.Stat(dir)
		if err != nil {
			return fmt.Errorf("fileblob: %w", err)
		}
		if !fi.IsDir() {
			return fmt.Errorf("fileblob: %s is not a directory", dir)
		}
	}
	return nil
}

// Root returns the absolute path of the store's root directory.
func (s *Store) Root() string { return s.root }

// blobPath returns where the blob with hex digest h lives.
func (s *Store) blobPath(h string) string {
	return filepath.Join(s.blobs, h[:2], h)
}

// sumsPath returns where the checksums of the blob with hex digest h live.
func (s *Store) sumsPath(h string) string { return s.blobPath(h) + sumsSuffix }

// parse validates a digest argument and returns its hex part.
func parse(d string) (string, error) {
	_, h, err := digest.Parse(d)
	return h, err
}

func notFound(what string) error {
	return fmt.Errorf("fileblob: %s: %w", what, packages.ErrNotFound)
}

// Stat returns the size of a blob.
func (s *Store) Stat(ctx context.Context, d string) (int64, error) {
	h, err := parse(d)
	if err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	fi, err := os.Stat(s.blobPath(h))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, notFound("blob " + d)
		}
		return 0, fmt.Errorf("fileblob: stat: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return 0, notFound("blob " + d)
	}
	return fi.Size(), nil
}

// Open returns a seekable reader of a blob.
func (s *Store) Open(ctx context.Context, d string) (packages.BlobReader, error) {
	h, err := parse(d)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(s.blobPath(h))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, notFound("blob " + d)
		}
		return nil, fmt.Errorf("fileblob: open: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("fileblob: open: %w", err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, notFound("blob " + d)
	}
	return &reader{f: f, size: fi.Size()}, nil
}

// Delete removes a blob. Readers already open keep reading it.
func (s *Store) Delete(ctx context.Context, d string) error {
	h, err := parse(d)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Remove(s.blobPath(h)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return notFound("blob " + d)
		}
		return fmt.Errorf("fileblob: delete: %w", err)
	}
	// The directory is not synced: a delete undone by a crash only leaves
	// garbage for the next collection. Checksums left without their blob
	// are still true of its content, should it be stored again.
	s.removeSums(h)
	return nil
}

// DeleteIfOlder deletes a blob only if it was last written, or put again,
// before t; it reports whether it did. A Put of content already stored
// touches the file, so garbage collection never deletes a blob a push just
// relied on.
func (s *Store) DeleteIfOlder(ctx context.Context, d string, t time.Time) (bool, error) {
	h, err := parse(d)
	if err != nil {
		return false, err
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	fi, err := os.Stat(s.blobPath(h))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, fmt.Errorf("fileblob: delete: %w", err)
	}
	if !fi.ModTime().Before(t) {
		return false, nil
	}
	if err := os.Remove(s.blobPath(h)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("fileblob: delete: %w", err)
	}
	s.removeSums(h)
	return true, nil
}

// Walk calls fn for every stored blob. It stops at the first error from fn
// and returns it unwrapped.
func (s *Store) Walk(ctx context.Context, fn func(digest string, size int64) error) error {
	for i := 0; i < 256; i++ {
		if err := s.walkShard(ctx, fmt.Sprintf("%02x", i), fn); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) walkShard(ctx context.Context, shard string, fn func(string, int64) error) error {
	dir, err := os.Open(filepath.Join(s.blobs, shard))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("fileblob: walk: %w", err)
	}
	defer dir.Close()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		entries, err := dir.ReadDir(1024)
		for _, e := range entries {
			name := e.Name()
			if !e.Type().IsRegular() || !digest.ValidHex(name) || name[:2] != shard {
				continue
			}
			fi, err := e.Info()
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue // deleted while walking
				}
				return fmt.Errorf("fileblob: walk: %w", err)
			}
			if err := fn(digest.Algorithm+":"+name, fi.Size()); err != nil {
				return err
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("fileblob: walk: %w", err)
		}
	}
}

// Put streams r into a new blob.
func (s *Store) Put(ctx context.Context, r io.Reader, expected string) (string, int64, error) {
	if expected != "" {
		if _, err := parse(expected); err != nil {
			return "", 0, err
		}
	}
	if err := ctx.Err(); err != nil {
		return "", 0, err
	}
	f, err := os.CreateTemp(s.tmp, "put-*")
	if err != nil {
		return "", 0, failed("put", err)
	}
	tmp := f.Name()
	placed := false
	defer func() {
		if !placed {
			f.Close()
			os.Remove(tmp)
		}
	}()

	h := digest.NewHashes()
	n, err := s.copyContext(ctx, hashedFile{&writeBehind{f: f}, h}, r)
	if err != nil {
		return "", 0, failed("put", err)
	}
	got := h.Digest()
	if expected != "" && got != expected {
		return "", 0, mismatch(expected, got)
	}
	if err := f.Sync(); err != nil {
		return "", 0, failed("put", err)
	}
	if err := f.Close(); err != nil {
		return "", 0, failed("put", err)
	}
	if err := s.place(tmp, got, h.Checksums()); err != nil {
		return "", 0, failed("put", err)
	}
	placed = true
	return got, n, nil
}

// sumsFile is what a .sums file holds.
type sumsFile struct {
	MD5    string `json:"md5"`
	SHA1   string `json:"sha1"`
	SHA256 string `json:"sha256"`
	SHA512 string `json:"sha512"`
}

// writeSums records the checksums of the blob with hex digest h. The file
// is replaced atomically but not synced: a damaged one is noticed on
// reading and computed again.
func (s *Store) writeSums(h string, c packages.Checksums) error {
	b, err := json.Marshal(sumsFile(c))
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(s.tmp, "sums-*")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), s.sumsPath(h))
	}
	if err != nil {
		os.Remove(f.Name())
		return err
	}
	return nil
}

// removeSums removes the checksums of the blob with hex digest h. A file
// left behind is harmless: it is true of the content it is named by.
func (s *Store) removeSums(h string) {
	_ = os.Remove(s.sumsPath(h))
}

// Checksums returns a blob's checksums, as they were computed when it was
// stored. For a blob stored before they were kept, or whose .sums file is
// damaged, it reads the blob to compute them and keeps them.
func (s *Store) Checksums(ctx context.Context, d string) (packages.Checksums, error) {
	h, err := parse(d)
	if err != nil {
		return packages.Checksums{}, err
	}
	if _, err := s.Stat(ctx, d); err != nil {
		return packages.Checksums{}, err
	}
	if b, err := os.ReadFile(s.sumsPath(h)); err == nil {
		var sf sumsFile
		if json.Unmarshal(b, &sf) == nil && digest.ValidChecksums(packages.Checksums(sf), d) {
			return packages.Checksums(sf), nil
		}
	}
	f, err := os.Open(s.blobPath(h))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return packages.Checksums{}, notFound("blob " + d)
		}
		return packages.Checksums{}, fmt.Errorf("fileblob: checksums: %w", err)
	}
	defer f.Close()
	hs := digest.NewHashes()
	if _, err := s.copyContext(ctx, hs, f); err != nil {
		return packages.Checksums{}, fmt.Errorf("fileblob: checksums: %w", err)
	}
	c := hs.Checksums()
	if hs.Digest() != d {
		return packages.Checksums{}, fmt.Errorf("fileblob: checksums: blob %s hashes to %s", d, hs.Digest())
	}
	// Kept for next time; without them the blob is only read again.
	_ = s.writeSums(h, c)
	return c, nil
}

// failed wraps an error of operation op. A full disk or an exhausted quota
// also wraps packages.ErrInsufficientStorage, so that every front answers
// it as such.
func failed(op string, err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("fileblob: %s: %w: %w", op, packages.ErrInsufficientStorage, err)
	}
	return fmt.Errorf("fileblob: %s: %w", op, err)
}

func mismatch(expected, got string) error {
	return &packages.Error{
		Kind:    packages.KindInvalid,
		Message: "digest mismatch",
		Err:     fmt.Errorf("content hashes to %s, not %s", got, expected),
	}
}

// place makes the complete, synced file src visible under digest d, with
// its checksums, or removes src if that blob is already stored.
func (s *Store) place(src, d string, sums packages.Checksums) error {
	h := d[len(digest.Algorithm)+1:]
	final := s.blobPath(h)
	if _, err := os.Stat(final); err == nil {
		// Keep the existing blob. Touching it tells a collector with a
		// grace period that it is in use again.
		now := time.Now()
		err := os.Chtimes(final, now, now)
		if err == nil || !errors.Is(err, fs.ErrNotExist) {
			os.Remove(src)
			if _, err := os.Stat(s.sumsPath(h)); err != nil {
				// Stored before checksums were kept.
				return s.writeSums(h, sums)
			}
			return nil
		}
		// Deleted since the Stat: store ours.
	}
	// The checksums first: a crash between the two leaves checksums
	// without their blob, never a blob without them.
	if err := s.writeSums(h, sums); err != nil {
		return err
	}
	err := os.Rename(src, final)
	if errors.Is(err, fs.ErrNotExist) {
		// The shard directory was removed behind our back.
		if err := os.MkdirAll(filepath.Dir(final), dirPerm); err != nil {
			return err
		}
		if err := syncDir(s.blobs); err != nil {
			return err
		}
		err = os.Rename(src, final)
	}
	if err != nil {
		return err
	}
	return syncDir(filepath.Dir(final))
}

// syncDir makes the entries of dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, syscall.EINVAL) {
		return nil // the file system cannot sync directories
	}
	return err
}

// PurgeTemp reports the files in tmp/, which only Put calls in progress
// or cut short by a crash leave there, and removes those last written
// before before.
func (s *Store) PurgeTemp(ctx context.Context, before time.Time, dryRun bool) (packages.TempReport, error) {
	var rep packages.TempReport
	entries, err := os.ReadDir(s.tmp)
	if err != nil {
		return rep, fmt.Errorf("fileblob: purge temporary files: %w", err)
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		if !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // a Put finished meanwhile
			}
			return rep, fmt.Errorf("fileblob: purge temporary files: %w", err)
		}
		if !fi.ModTime().Before(before) {
			rep.Fresh++
			rep.FreshBytes += fi.Size()
			continue
		}
		if !dryRun {
			if err := os.Remove(filepath.Join(s.tmp, e.Name())); err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue
				}
				return rep, fmt.Errorf("fileblob: purge temporary files: %w", err)
			}
		}
		rep.Stale++
		rep.StaleBytes += fi.Size()
	}
	return rep, nil
}

// reader is a packages.BlobReader over a file.
type reader struct {
	f    *os.File
	size int64
}

func (r *reader) Read(p []byte) (int, error)                   { return r.f.Read(p) }
func (r *reader) ReadAt(p []byte, off int64) (int, error)      { return r.f.ReadAt(p, off) }
func (r *reader) Seek(offset int64, whence int) (int64, error) { return r.f.Seek(offset, whence) }
func (r *reader) Close() error                                 { return r.f.Close() }
func (r *reader) Size() int64                                  { return r.size }

// WriteTo lets io.Copy use the file's own fast paths, such as sendfile.
func (r *reader) WriteTo(w io.Writer) (int64, error) { return io.Copy(w, r.f) }

// File returns the open blob file, so that an HTTP handler can hand it to
// http.ServeContent and let the kernel send it (sendfile), ranges included.
func (r *reader) File() *os.File { return r.f }

// newInstanceID returns a random name for one Store instance.
func newInstanceID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return fmt.Sprint(time.Now().UnixNano())
	}
	return hex.EncodeToString(b)
}
