package s3blob

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/packhub/packhub/internal/blob/internal/digest"
	"github.com/packhub/packhub/internal/packages"
)

const (
	stateName = "state"
	// stateVersion is the version of the state object's format.
	stateVersion = 1
	// maxStateSize bounds what a state object may hold: 10,000 pieces'
	// names and sizes, and the hash states.
	maxStateSize = 4 << 20

	// idBytes random bytes make an id of idLen URL-safe characters.
	idBytes = 32
	idLen   = 43
)

var errUploadClosed = errors.New("s3 blob store: upload closed")

// validID reports whether id could have come from NewUpload, so that a
// crafted id names nothing outside its session.
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

// pieceRef names an object of a session, relative to the session's
// folder.
type pieceRef struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
}

// sessionState is what a session's state object holds: everything a
// process needs to carry the session on.
type sessionState struct {
	Version   int              `json:"v"`
	Size      int64            `json:"size"`
	StartedAt time.Time        `json:"started_at"`
	UpdatedAt time.Time        `json:"updated_at"`
	Hashes    digest.HashState `json:"hashes"` // of the first Size bytes
	// Pieces hold the bytes in order, each a whole part; Tail the bytes
	// after them, fewer than a part.
	Pieces []pieceRef `json:"pieces"`
	Tail   *pieceRef  `json:"tail,omitempty"`
	// Committing: a Commit claimed the session; no more appends.
	Committing bool `json:"committing,omitempty"`
}

// session is the in-memory state of an upload session, shared by every
// open handle on it in this process.
type session struct {
	id   string
	dir  string // key prefix of its objects
	refs int    // guarded by Store.mu

	// appendMu serialises appends and commits in this process; across
	// processes the conditional write of the state does. It is taken
	// before mu.
	appendMu sync.Mutex

	mu     sync.Mutex
	loaded bool // st, etag and h are those of the state object
	done   bool // committed, cancelled or purged
	st     sessionState
	etag   string
	h      *digest.Hashes
	tail   []byte // the tail's bytes, once read or written; nil: not known
	// pending: Write appended to tail (and st, h) in memory only; Close,
	// Commit or the next Append stores it.
	pending bool
}

func (e *session) stateKey() string { return e.dir + stateName }

// acquire returns the session for id, creating an unloaded one if none is
// open, and takes a reference on it.
func (s *Store) acquire(id string) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.sessions[id]
	if e == nil {
		e = &session{id: id, dir: s.prefix + "uploads/" + id + "/"}
		s.sessions[id] = e
	}
	e.refs++
	return e
}

// release drops a reference taken by acquire.
func (s *Store) release(e *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e.refs--
	if e.refs == 0 {
		delete(s.sessions, e.id)
	}
}

// NewUpload starts a resumable upload session.
func (s *Store) NewUpload(ctx context.Context) (packages.Upload, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	h := digest.NewHashes()
	hs, err := h.State()
	if err != nil {
		return nil, fmt.Errorf("s3 blob store: new upload: %w", err)
	}
	now := time.Now().UTC()
	st := sessionState{Version: stateVersion, StartedAt: now, UpdatedAt: now, Hashes: hs}
	for tries := 0; ; tries++ {
		id := randomName(idBytes)
		e := s.acquire(id)
		etag, err := s.writeState(ctx, e, st, "")
		if err != nil {
			s.release(e)
			if isPrecondition(err) && tries < 2 {
				continue // the id is taken
			}
			return nil, failed("new upload", err)
		}
		e.mu.Lock()
		e.st, e.etag, e.h, e.loaded, e.tail = st, etag, h, true, nil
		e.mu.Unlock()
		return &upload{s: s, e: e}, nil
	}
}

// writeState replaces the session's state object if its ETag is still
// ifMatch, or creates it if ifMatch is "" and there is none; it returns
// the new ETag.
func (s *Store) writeState(ctx context.Context, e *session, st sessionState, ifMatch string) (string, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return "", err
	}
	out, err := s.putBytes(ctx, e.stateKey(), b, func(in *s3.PutObjectInput) {
		in.ContentType = aws.String("application/json")
		if ifMatch == "" {
			in.IfNoneMatch = aws.String("*")
		} else {
			in.IfMatch = aws.String(ifMatch)
		}
	})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.ETag), nil
}

// save writes st as the session's new state over the one of ETag etag.
// A lost race says whether the session is gone (not found) or was changed
// by another writer (a conflict); either way the caller forgets what it
// loaded (lost).
func (s *Store) save(ctx context.Context, e *session, st sessionState, etag string) (string, error) {
	st.UpdatedAt = time.Now().UTC()
	newTag, err := s.writeState(ctx, e, st, etag)
	if err == nil {
		return newTag, nil
	}
	if !isPrecondition(err) && !isNotFound(err) {
		return "", err
	}
	if ok, herr := s.exists(context.WithoutCancel(ctx), e.stateKey()); herr == nil && !ok {
		return "", notFound("upload " + e.id)
	}
	return "", packages.Wrap(packages.KindConflict, "upload session changed by another request", err)
}

// lost forgets what the session loaded after save lost a race, so that
// the next use loads it again. e.mu must be held.
func (e *session) lost(err error) {
	e.loaded, e.tail, e.pending = false, nil, false
	if packages.IsNotFound(err) {
		e.done = true
	}
}

// raceError reports whether err is one of save's lost races, or a refusal
// of the store's own, which go to the caller as they are.
func raceError(err error) bool {
	k := packages.KindOf(err)
	return packages.IsNotFound(err) || k == packages.KindConflict || k == packages.KindTooLarge
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
	err := s.load(ctx, e)
	e.mu.Unlock()
	if err != nil {
		s.release(e)
		return nil, err
	}
	return &upload{s: s, e: e}, nil
}

// load reads the session's state unless it is already in memory. e.mu
// must be held.
func (s *Store) load(ctx context.Context, e *session) error {
	if e.done {
		return notFound("upload " + e.id)
	}
	if e.loaded {
		return nil
	}
	b, etag, err := s.getBytes(ctx, e.stateKey(), maxStateSize)
	if err != nil {
		if isNotFound(err) {
			return notFound("upload " + e.id)
		}
		return fmt.Errorf("s3 blob store: resume upload: %w", err)
	}
	var st sessionState
	if err := json.Unmarshal(b, &st); err != nil || st.Version != stateVersion {
		return fmt.Errorf("s3 blob store: resume upload %s: unreadable state", e.id)
	}
	h, err := digest.RestoreHashes(st.Hashes)
	if err != nil {
		return fmt.Errorf("s3 blob store: resume upload %s: %w", e.id, err)
	}
	e.st, e.etag, e.h, e.loaded, e.tail = st, etag, h, true, nil
	return nil
}

// removeSession deletes the session's state, which ends it for every
// process, then its other objects. e.mu must be held.
func (s *Store) removeSession(ctx context.Context, e *session) error {
	ctx = context.WithoutCancel(ctx)
	if err := s.deleteKey(ctx, e.stateKey()); err != nil {
		return err
	}
	e.done, e.tail = true, nil
	var keys []string
	err := s.list(ctx, e.dir, func(o types.Object) error {
		keys = append(keys, aws.ToString(o.Key))
		return nil
	})
	if err == nil {
		// Objects left by a failure here have no state: PurgeUploads
		// removes them.
		_ = s.deleteKeys(ctx, keys)
	}
	return nil
}

// PurgeUploads removes the sessions not written to since before, and the
// objects of sessions whose state is gone (a crash in the middle of a
// commit). It returns how many sessions it removed.
func (s *Store) PurgeUploads(ctx context.Context, before time.Time) (int, error) {
	base := s.prefix + "uploads/"
	type dir struct {
		state  bool
		newest time.Time
		keys   []string
	}
	dirs := map[string]*dir{}
	err := s.list(ctx, base, func(o types.Object) error {
		id, name, ok := strings.Cut(strings.TrimPrefix(aws.ToString(o.Key), base), "/")
		if !ok || !validID(id) {
			return nil
		}
		d := dirs[id]
		if d == nil {
			d = &dir{}
			dirs[id] = d
		}
		d.state = d.state || name == stateName
		if t := aws.ToTime(o.LastModified); t.After(d.newest) {
			d.newest = t
		}
		d.keys = append(d.keys, aws.ToString(o.Key))
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("s3 blob store: purge uploads: %w", err)
	}
	n := 0
	for id, d := range dirs {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		if !d.state {
			if d.newest.Before(before) {
				_ = s.deleteKeys(ctx, d.keys)
			}
			continue
		}
		removed, err := s.purgeSession(ctx, id, before)
		if err != nil {
			return n, fmt.Errorf("s3 blob store: purge uploads: %w", err)
		}
		if removed {
			n++
		}
	}
	return n, nil
}

func (s *Store) purgeSession(ctx context.Context, id string, before time.Time) (bool, error) {
	e := s.acquire(id)
	defer s.release(e)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.done || e.pending {
		return false, nil // being written to in this process
	}
	e.loaded = false // the state as it is now, whoever wrote it
	if err := s.load(ctx, e); err != nil {
		if packages.IsNotFound(err) {
			return false, nil
		}
		return false, err
	}
	if !e.st.UpdatedAt.Before(before) {
		return false, nil
	}
	if err := s.removeSession(ctx, e); err != nil {
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

var _ packages.Upload = (*upload)(nil)

func (u *upload) ID() string { return u.e.id }

func (u *upload) Size() int64 {
	u.e.mu.Lock()
	defer u.e.mu.Unlock()
	return u.e.st.Size
}

func (u *upload) StartedAt() time.Time {
	u.e.mu.Lock()
	defer u.e.mu.Unlock()
	return u.e.st.StartedAt
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

// ready checks the handle and loads the session's state if another writer
// changed it. u.e.mu must be held.
func (u *upload) ready(ctx context.Context) error {
	if err := u.check(); err != nil {
		return err
	}
	return u.s.load(ctx, u.e)
}

// Write appends p to the session, all of it or nothing. Bytes that leave
// the tail shorter than a part are kept in memory, as many small writes
// make a file, and stored by Close, Commit or the next Append (a lost race
// there loses them); more go through Append.
func (u *upload) Write(p []byte) (int, error) {
	e := u.e
	e.appendMu.Lock()
	e.mu.Lock()
	err := u.ready(context.Background())
	if err == nil && e.st.Committing {
		err = packages.Errorf(packages.KindConflict, "upload session is being committed")
	}
	if err != nil {
		e.mu.Unlock()
		e.appendMu.Unlock()
		return 0, err
	}
	known := e.tail != nil || e.st.Tail == nil
	if known && len(e.tail)+len(p) < u.s.partSize {
		e.tail = append(e.tail, p...)
		e.h.Write(p)
		e.st.Size += int64(len(p))
		e.pending = e.pending || len(p) > 0
		e.mu.Unlock()
		e.appendMu.Unlock()
		return len(p), nil
	}
	e.mu.Unlock()
	e.appendMu.Unlock()
	n, err := u.Append(context.Background(), bytes.NewReader(p))
	return int(n), err
}

// flush stores what Write kept in memory: the tail, then the state naming
// it. e.appendMu and e.mu must be held.
func (u *upload) flush(ctx context.Context) error {
	e, s := u.e, u.s
	if !e.pending {
		return nil
	}
	st := e.st
	st.Tail = nil
	var err error
	if len(e.tail) > 0 {
		st.Tail = &pieceRef{Name: "tail-" + randomName(12), Size: int64(len(e.tail))}
		_, err = s.putBytes(ctx, e.dir+st.Tail.Name, e.tail, nil)
	}
	if err == nil {
		st.Hashes, err = e.h.State()
	}
	var tag string
	if err == nil {
		tag, err = s.save(ctx, e, st, e.etag)
	}
	if err != nil {
		if st.Tail != nil {
			_ = s.deleteKey(context.WithoutCancel(ctx), e.dir+st.Tail.Name)
		}
		if raceError(err) {
			e.lost(err)
			return err
		}
		return failed("upload", err)
	}
	if e.st.Tail != nil {
		_ = s.deleteKey(context.WithoutCancel(ctx), e.dir+e.st.Tail.Name)
	}
	e.st, e.etag, e.pending = st, tag, false
	return nil
}

// Append appends all of r to the session, or nothing. The bytes, after
// the session's tail, are cut into parts stored as new pieces; what is
// left is the new tail. The new state, naming them, replaces the old one
// only if no other writer replaced it meanwhile; until then nothing the
// session refers to has changed, so a failure anywhere leaves it as it
// was.
func (u *upload) Append(ctx context.Context, r io.Reader) (int64, error) {
	e, s := u.e, u.s
	e.appendMu.Lock()
	defer e.appendMu.Unlock()
	e.mu.Lock()
	if err := u.ready(ctx); err != nil {
		e.mu.Unlock()
		return 0, err
	}
	if e.st.Committing {
		e.mu.Unlock()
		return 0, packages.Errorf(packages.KindConflict, "upload session is being committed")
	}
	base, etag, tail := e.st, e.etag, e.tail
	h, err := e.h.Clone()
	e.mu.Unlock()
	if err != nil {
		return 0, fmt.Errorf("s3 blob store: upload append: %w", err)
	}

	// Unlocked while the chunk streams in: Size, Close, Cancel and a purge
	// need not wait for a slow client.
	if base.Tail != nil && tail == nil {
		tail, _, err = s.getBytes(ctx, e.dir+base.Tail.Name, int64(s.partSize))
		if err == nil && int64(len(tail)) != base.Tail.Size {
			err = fmt.Errorf("tail of %d bytes, want %d", len(tail), base.Tail.Size)
		}
		if isNotFound(err) {
			// Replaced by another writer's append since the state was
			// loaded.
			err = packages.Wrap(packages.KindConflict, "upload session changed by another request", err)
			e.mu.Lock()
			e.lost(err)
			e.mu.Unlock()
			return 0, err
		}
		if err != nil {
			return 0, failed("upload append", err)
		}
	}
	var (
		mu    sync.Mutex
		added []pieceRef // by part index
	)
	send := func(ctx context.Context, i int, p []byte) error {
		name := "piece-" + randomName(12)
		if _, err := s.putBytes(ctx, e.dir+name, p, nil); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for len(added) <= i {
			added = append(added, pieceRef{})
		}
		added[i] = pieceRef{Name: name, Size: int64(len(p))}
		return nil
	}
	w := s.newPartWriter(ctx, send)
	defer w.release()
	var newTail *pieceRef
	undo := func() {
		w.wg.Wait()
		keys := make([]string, 0, len(added)+1)
		for _, p := range added {
			if p.Name != "" {
				keys = append(keys, e.dir+p.Name)
			}
		}
		if newTail != nil {
			keys = append(keys, e.dir+newTail.Name)
		}
		_ = s.deleteKeys(ctx, keys)
	}
	if len(tail) > 0 {
		err = w.prefill(tail)
	}
	var n int64
	if err == nil {
		n, err = w.readFrom(r, h)
	}
	var rest []byte
	if err == nil {
		rest, err = w.finish()
	}
	if err == nil && n == 0 {
		return 0, nil
	}
	if err == nil && len(base.Pieces)+len(added)+1 > maxParts {
		err = packages.Errorf(packages.KindTooLarge, "upload too large for the S3 blob store's part size")
	}
	if err == nil && len(rest) >= MinPartSize {
		// Long enough to be a part: a piece, so that the next append
		// neither reads nor rewrites it (chunks of 5 MiB and more, as
		// clients send them, never leave a tail).
		err = send(ctx, w.sent, rest)
		rest = nil
	}
	if err == nil && len(rest) > 0 {
		newTail = &pieceRef{Name: "tail-" + randomName(12), Size: int64(len(rest))}
		if _, err = s.putBytes(ctx, e.dir+newTail.Name, rest, nil); err != nil {
			newTail = nil
		}
	}
	var st sessionState
	if err == nil {
		st = base
		st.Size += n
		st.Pieces = append(append([]pieceRef(nil), base.Pieces...), added...)
		st.Tail = newTail
		st.Hashes, err = h.State()
	}
	var newTag string
	if err == nil {
		newTag, err = s.save(ctx, e, st, etag)
	}
	if err != nil {
		undo()
		if raceError(err) {
			e.mu.Lock()
			e.lost(err)
			e.mu.Unlock()
			return 0, err
		}
		return 0, failed("upload append", err)
	}
	if base.Tail != nil {
		_ = s.deleteKey(context.WithoutCancel(ctx), e.dir+base.Tail.Name)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.st, e.etag, e.h, e.loaded, e.pending = st, newTag, h, true, false
	e.tail = append([]byte(nil), rest...)
	return n, nil
}

// end marks the handle closed and drops its reference. u.e.mu must be
// held; end releases it.
func (u *upload) end() {
	u.closed = true
	u.e.mu.Unlock()
	u.s.release(u.e)
}

// Commit verifies the session's bytes and makes them a blob: it claims the
// session (no more appends), then assembles its pieces and tail under the
// digest with a server-side copy, and removes the session.
func (u *upload) Commit(ctx context.Context, expected string) (string, int64, error) {
	if expected != "" {
		if _, err := parse(expected); err != nil {
			return "", 0, err
		}
	}
	e, s := u.e, u.s
	e.appendMu.Lock()
	defer e.appendMu.Unlock()
	e.mu.Lock()
	if err := ctx.Err(); err != nil {
		e.mu.Unlock()
		return "", 0, err
	}
	if err := u.ready(ctx); err != nil {
		e.mu.Unlock()
		return "", 0, err
	}
	if err := u.flush(ctx); err != nil {
		e.mu.Unlock()
		return "", 0, err
	}
	got, size, sums := e.h.Digest(), e.st.Size, e.h.Checksums()
	if expected != "" && got != expected {
		if err := s.removeSession(ctx, e); err != nil {
			e.mu.Unlock()
			return "", 0, failed("commit: remove session", err)
		}
		u.end()
		return "", 0, mismatch(expected, got)
	}
	st := e.st
	if !st.Committing {
		st.Committing = true
		tag, err := s.save(ctx, e, st, e.etag)
		if err != nil {
			if raceError(err) {
				e.lost(err)
				e.mu.Unlock()
				return "", 0, err
			}
			e.mu.Unlock()
			return "", 0, failed("commit", err)
		}
		e.st, e.etag = st, tag
	}
	hx := got[len(digest.Algorithm)+1:]
	srcs := make([]string, 0, len(st.Pieces)+1)
	for _, p := range st.Pieces {
		srcs = append(srcs, e.dir+p.Name)
	}
	if st.Tail != nil {
		srcs = append(srcs, e.dir+st.Tail.Name)
	}
	stored, err := s.exists(ctx, s.blobKey(hx))
	switch {
	case err != nil:
	case stored:
		err = s.touch(ctx, hx)
	default:
		err = s.writeSums(ctx, hx, sums)
		if err == nil {
			err = s.assemble(ctx, s.blobKey(hx), srcs, nil)
		}
	}
	if err != nil {
		e.mu.Unlock()
		return "", 0, failed("commit", err)
	}
	// The blob is stored; what a failure here leaves is purged.
	_ = s.removeSession(ctx, e)
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
	if err := u.s.removeSession(ctx, e); err != nil {
		e.mu.Unlock()
		return failed("cancel upload", err)
	}
	u.end()
	return nil
}

// Close stores what Write kept in memory and ends the handle; the session
// stays for a later ResumeUpload. Closing a handle whose session has
// ended, or closing twice, is not an error.
func (u *upload) Close() error {
	e := u.e
	e.appendMu.Lock()
	defer e.appendMu.Unlock()
	e.mu.Lock()
	if u.closed {
		e.mu.Unlock()
		return nil
	}
	var err error
	if !e.done {
		err = u.flush(context.Background())
	}
	u.end()
	return err
}
