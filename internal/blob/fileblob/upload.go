package fileblob

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/packhub/packhub/internal/blob/internal/digest"
	"github.com/packhub/packhub/internal/packages"
)

const (
	dataFileName  = "data"
	stateFileName = "state"

	// idBytes random bytes make an id of idLen URL-safe characters.
	idBytes = 32
	idLen   = 43

	// stateVersion 2 saves the four hash states; a state of version 1
	// (sha256 alone) is not trusted, so the data file is hashed again.
	stateVersion = 2
)

var errUploadClosed = errors.New("fileblob: upload closed")

// validID reports whether id could have come from NewUpload. It keeps
// crafted ids from naming anything outside uploads/.
func validID(id string) bool {
	if len(id) != idLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

func newID() string {
	var b [idBytes]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// sessionState is what the state file holds.
type sessionState struct {
	Version   int              `json:"v"`
	Size      int64            `json:"size"`
	StartedAt time.Time        `json:"started_at"`
	Hashes    digest.HashState `json:"hashes"` // the marshalled hash states
	// Instance names the Store (the process) that saved the state. A
	// state saved by another instance, as before a restart, is not
	// trusted: the data file is hashed again.
	Instance string `json:"instance"`
}

// session is the in-memory state of an upload session, shared by every
// open handle on it in this process.
type session struct {
	id       string
	dir      string
	instance string // the Store's instance
	refs     int    // guarded by Store.mu

	// appendMu serialises appends and commits, so that a chunk is
	// appended whole or not at all. It is taken before mu.
	appendMu sync.Mutex

	mu      sync.Mutex
	loaded  bool
	done    bool // committed, cancelled or purged
	dirty   bool // bytes written since the state file was saved
	f       *os.File
	h       *digest.Hashes // of the first size bytes of the data file
	size    int64
	started time.Time
}

func (e *session) dataPath() string { return filepath.Join(e.dir, dataFileName) }

// acquire returns the session for id, creating an unloaded one if none is
// open, and takes a reference on it.
func (s *Store) acquire(id string) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.sessions[id]
	if e == nil {
		e = &session{id: id, dir: filepath.Join(s.uploads, id), instance: s.instance}
		s.sessions[id] = e
	}
	e.refs++
	return e
}

// release drops a reference taken by acquire; the last one closes the
// data file.
func (s *Store) release(e *session) {
	s.mu.Lock()
	e.refs--
	last := e.refs == 0
	if last {
		delete(s.sessions, e.id)
	}
	s.mu.Unlock()
	if last {
		e.mu.Lock()
		e.closeFile()
		e.mu.Unlock()
	}
}

func (e *session) closeFile() {
	if e.f != nil {
		e.f.Close()
		e.f = nil
	}
}

// file returns the data file open for appending.
func (e *session) file() (*os.File, error) {
	if e.f == nil {
		f, err := os.OpenFile(e.dataPath(), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, notFound("upload " + e.id)
			}
			return nil, err
		}
		e.f = f
	}
	return e.f, nil
}

// NewUpload starts a resumable upload session.
func (s *Store) NewUpload(ctx context.Context) (packages.Upload, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var id, dir string
	for tries := 0; ; tries++ {
		id = newID()
		dir = filepath.Join(s.uploads, id)
		err := os.Mkdir(dir, dirPerm)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || tries == 2 {
			return nil, failed("new upload", err)
		}
	}
	f, err := os.OpenFile(filepath.Join(dir, dataFileName), os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		os.RemoveAll(dir)
		return nil, failed("new upload", err)
	}
	e := s.acquire(id)
	e.mu.Lock()
	e.f = f
	e.h = digest.NewHashes()
	e.started = time.Now()
	e.loaded = true
	err = e.saveState()
	if err == nil {
		err = syncDir(s.uploads)
	}
	if err != nil {
		e.closeFile()
		os.RemoveAll(dir)
		e.done = true
		e.mu.Unlock()
		s.release(e)
		return nil, failed("new upload", err)
	}
	e.mu.Unlock()
	return &upload{s: s, e: e}, nil
}

// ResumeUpload reopens a session by id. Unknown or malformed ids are
// packages.ErrNotFound.
func (s *Store) ResumeUpload(ctx context.Context, id string) (packages.Upload, error) {
	if !validID(id) {
		return nil, notFound("upload")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	e := s.acquire(id)
	e.mu.Lock()
	err := e.load(ctx)
	e.mu.Unlock()
	if err != nil {
		s.release(e)
		return nil, err
	}
	return &upload{s: s, e: e}, nil
}

// load reads the session from disk unless it is already in memory. The
// saved hash state is used only if this Store instance saved it and the
// data file has exactly the size it was saved with; otherwise, as after a
// restart or a crash, the data file is hashed from scratch, so the digest
// always describes the bytes on disk.
func (e *session) load(ctx context.Context) error {
	if e.done {
		return notFound("upload " + e.id)
	}
	if e.loaded {
		return nil
	}
	fi, err := os.Stat(e.dataPath())
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return notFound("upload " + e.id)
		}
		return fmt.Errorf("fileblob: resume upload: %w", err)
	}
	st, err := readState(filepath.Join(e.dir, stateFileName))
	var h *digest.Hashes
	ok := err == nil && st.Version == stateVersion && st.Size == fi.Size() && st.Instance == e.instance
	if ok {
		h, err = digest.RestoreHashes(st.Hashes)
		ok = err == nil
	}
	started := st.StartedAt
	if err != nil || started.IsZero() {
		started = fi.ModTime()
		if di, err := os.Stat(e.dir); err == nil && di.ModTime().Before(started) {
			started = di.ModTime()
		}
	}
	size := st.Size
	if !ok {
		h = digest.NewHashes()
		size, err = hashFile(ctx, h, e.dataPath())
		if err != nil {
			return fmt.Errorf("fileblob: resume upload: %w", err)
		}
		e.dirty = true
	}
	if _, err := e.file(); err != nil {
		return fmt.Errorf("fileblob: resume upload: %w", err)
	}
	e.h, e.size, e.started, e.loaded = h, size, started, true
	return nil
}

func readState(path string) (sessionState, error) {
	var st sessionState
	b, err := os.ReadFile(path)
	if err != nil {
		return st, err
	}
	err = json.Unmarshal(b, &st)
	return st, err
}

func hashFile(ctx context.Context, h io.Writer, path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return io.CopyBuffer(h, ctxReader{ctx, f}, make([]byte, copyBufSize))
}

// saveState atomically replaces the state file with the current state.
// The data file must already be synced.
func (e *session) saveState() error {
	hs, err := e.h.State()
	if err != nil {
		return err
	}
	b, err := json.Marshal(sessionState{Version: stateVersion, Size: e.size, StartedAt: e.started, Hashes: hs, Instance: e.instance})
	if err != nil {
		return err
	}
	tmp := filepath.Join(e.dir, stateFileName+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(e.dir, stateFileName))
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	e.dirty = false
	return nil
}

// persist saves the hash state matching the bytes written so far, for the
// next request of this process. Nothing is fsynced here: a state is only
// trusted by the instance that saved it, so after a crash the data file is
// hashed again, and Commit fsyncs the blob before it becomes visible.
func (e *session) persist() error {
	return e.saveState()
}

// remove deletes the session from disk and marks it done.
func (e *session) remove() error {
	e.closeFile()
	if err := os.RemoveAll(e.dir); err != nil {
		return err
	}
	e.done = true
	return nil
}

// lastWrite returns when the session was last written to.
func (e *session) lastWrite() (time.Time, error) {
	fi, err := os.Stat(e.dataPath())
	if errors.Is(err, fs.ErrNotExist) {
		// Left half-made by a crash in NewUpload or Commit.
		fi, err = os.Stat(e.dir)
	}
	if err != nil {
		return time.Time{}, err
	}
	return fi.ModTime(), nil
}

// PurgeUploads removes the sessions whose data was last written before
// before. It returns how many it removed.
func (s *Store) PurgeUploads(ctx context.Context, before time.Time) (int, error) {
	entries, err := os.ReadDir(s.uploads)
	if err != nil {
		return 0, fmt.Errorf("fileblob: purge uploads: %w", err)
	}
	n := 0
	for _, de := range entries {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		if !de.IsDir() || !validID(de.Name()) {
			continue
		}
		removed, err := s.purge(de.Name(), before)
		if err != nil {
			return n, fmt.Errorf("fileblob: purge uploads: %w", err)
		}
		if removed {
			n++
		}
	}
	return n, nil
}

func (s *Store) purge(id string, before time.Time) (bool, error) {
	e := s.acquire(id)
	defer s.release(e)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.done {
		return false, nil
	}
	t, err := e.lastWrite()
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, err
	}
	if !t.Before(before) {
		return false, nil
	}
	if err := e.remove(); err != nil {
		return false, err
	}
	return true, nil
}

// upload is one handle on a session.
type upload struct {
	s      *Store
	e      *session
	closed bool // guarded by e.mu
}

func (u *upload) ID() string { return u.e.id }

func (u *upload) Size() int64 {
	u.e.mu.Lock()
	defer u.e.mu.Unlock()
	return u.e.size
}

func (u *upload) StartedAt() time.Time {
	u.e.mu.Lock()
	defer u.e.mu.Unlock()
	return u.e.started
}

// check returns why the handle cannot be used, if it cannot. u.e.mu must
// be held.
func (u *upload) check() error {
	if u.closed {
		return errUploadClosed
	}
	if u.e.done {
		return notFound("upload " + u.e.id)
	}
	return nil
}

// Write appends p to the session, all of it or nothing.
func (u *upload) Write(p []byte) (int, error) {
	n, err := u.Append(context.Background(), bytes.NewReader(p))
	return int(n), err
}

// Append appends all of r to the session, or nothing: the bytes go to the
// end of the data file and into a copy of the hash, which replaces the
// session's only once r is read to its end. On an error the data file is
// cut back to where it was.
func (u *upload) Append(ctx context.Context, r io.Reader) (int64, error) {
	e := u.e
	e.appendMu.Lock()
	defer e.appendMu.Unlock()
	e.mu.Lock()
	if err := u.check(); err != nil {
		e.mu.Unlock()
		return 0, err
	}
	base := e.size
	f, err := e.file()
	var h *digest.Hashes
	if err == nil {
		h, err = e.h.Clone()
	}
	e.mu.Unlock()
	if err != nil {
		return 0, fmt.Errorf("fileblob: upload append: %w", err)
	}

	// Unlocked while the chunk streams in: Size, Close, Cancel and a purge
	// need not wait for a slow client. A Cancel or a purge meanwhile ends
	// the session, which the check below sees.
	n, err := u.s.copyContext(ctx, hashedFile{&writeBehind{f: f}, h}, r)

	e.mu.Lock()
	defer e.mu.Unlock()
	if err == nil {
		if err = u.check(); err == nil {
			e.h, e.size, e.dirty = h, base+n, true
			return n, nil
		}
	} else {
		err = failed("upload append", err)
	}
	if e.done {
		return 0, notFound("upload " + e.id)
	}
	// By path: the handle may have been closed meanwhile.
	if terr := os.Truncate(e.dataPath(), base); terr != nil {
		// The data file no longer matches the session's hash: end the
		// session rather than let it grow from a broken chunk.
		e.remove()
		return 0, fmt.Errorf("%w (undoing the append failed, the session is removed: %v)", err, terr)
	}
	return 0, err
}

// end marks the handle closed and drops its reference. u.e.mu must be
// held; end releases it.
func (u *upload) end() {
	u.closed = true
	u.e.mu.Unlock()
	u.s.release(u.e)
}

// Commit verifies the session's bytes and makes them a blob.
func (u *upload) Commit(ctx context.Context, expected string) (string, int64, error) {
	if expected != "" {
		if _, err := parse(expected); err != nil {
			return "", 0, err
		}
	}
	e := u.e
	e.appendMu.Lock()
	defer e.appendMu.Unlock()
	e.mu.Lock()
	if err := u.check(); err != nil {
		e.mu.Unlock()
		return "", 0, err
	}
	if err := ctx.Err(); err != nil {
		e.mu.Unlock()
		return "", 0, err
	}
	got, size, sums := e.h.Digest(), e.size, e.h.Checksums()
	if expected != "" && got != expected {
		if err := e.remove(); err != nil {
			e.mu.Unlock()
			return "", 0, fmt.Errorf("fileblob: commit: remove session: %w", err)
		}
		u.end()
		return "", 0, mismatch(expected, got)
	}
	f, err := e.file()
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		e.mu.Unlock()
		return "", 0, failed("commit", err)
	}
	e.closeFile()
	if err := u.s.place(e.dataPath(), got, sums); err != nil {
		e.mu.Unlock()
		return "", 0, failed("commit", err)
	}
	// The blob is stored; a session directory left by a failure here has
	// no data file and is purged like any other.
	e.remove()
	e.done = true
	u.end()
	return got, size, nil
}

// Cancel removes the session.
func (u *upload) Cancel(ctx context.Context) error {
	e := u.e
	e.mu.Lock()
	if err := u.check(); err != nil {
		e.mu.Unlock()
		return err
	}
	if err := e.remove(); err != nil {
		e.mu.Unlock()
		return fmt.Errorf("fileblob: cancel upload: %w", err)
	}
	u.end()
	return nil
}

// Close saves the session for a later ResumeUpload. Closing a handle
// whose session has ended, or closing twice, is not an error.
func (u *upload) Close() error {
	e := u.e
	e.mu.Lock()
	if u.closed {
		e.mu.Unlock()
		return nil
	}
	var err error
	if !e.done && e.dirty {
		err = e.persist()
	}
	u.end()
	if err != nil {
		return failed("close upload", err)
	}
	return nil
}

var _ packages.Upload = (*upload)(nil)

// ctxReader reads r until ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
