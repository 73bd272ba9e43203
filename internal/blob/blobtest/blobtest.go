// Package blobtest is a conformance suite for packages.BlobStore
// implementations. An implementation's tests call Run, or Suite.Run for the
// checks that need to reopen a store or age an upload session.
package blobtest

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/packages"
)

// Suite describes the store under test.
type Suite struct {
	// New returns an empty store. Required.
	New func(t *testing.T) packages.BlobStore

	// Reopen returns a new instance over the same storage as s, as a
	// restarted process would see it. If nil, sessions are resumed from
	// the same instance.
	Reopen func(t *testing.T, s packages.BlobStore) packages.BlobStore

	// Backdate makes the upload session id look last written age ago. If
	// nil, the purge check that tells old sessions from new is skipped.
	Backdate func(t *testing.T, s packages.BlobStore, id string, age time.Duration)

	// LeaveTemp leaves in the store's temporary area what a Put cut
	// short by a crash leaves: size bytes, last written age ago. If nil,
	// the purge check sees only Puts in progress.
	LeaveTemp func(t *testing.T, s packages.BlobStore, size int64, age time.Duration)

	// NewSmall returns an empty store whose storage has room for about
	// room bytes; writes past that must fail as on a full disk, and the
	// room must come back when what was written is removed. If nil, the
	// full-storage checks are skipped.
	NewSmall func(t *testing.T, room int64) packages.BlobStore

	// LargeSize is the size of the streamed-put check; 0 means 64 MiB. It
	// is skipped in -short mode.
	LargeSize int64
}

// Run runs the suite with only a constructor.
func Run(t *testing.T, newStore func(t *testing.T) packages.BlobStore) {
	Suite{New: newStore}.Run(t)
}

type check struct {
	name string
	fn   func(t *testing.T, h *harness)
}

var checks = []check{
	{"PutGet", testPutGet},
	{"PutExpected", testPutExpected},
	{"PutWrongDigest", testPutWrongDigest},
	{"PutMalformedExpected", testPutMalformedExpected},
	{"PutEmpty", testPutEmpty},
	{"PutReadError", testPutReadError},
	{"PutCanceledContext", testPutCanceledContext},
	{"Missing", testMissing},
	{"MalformedDigest", testMalformedDigest},
	{"Delete", testDelete},
	{"DeleteWhileOpen", testDeleteWhileOpen},
	{"Seek", testSeek},
	{"Dedupe", testDedupe},
	{"Walk", testWalk},
	{"WalkStops", testWalkStops},
	{"Upload", testUpload},
	{"UploadResume", testUploadResume},
	{"UploadUnknownID", testUploadUnknownID},
	{"UploadCancel", testUploadCancel},
	{"UploadWrongDigest", testUploadWrongDigest},
	{"UploadEmpty", testUploadEmpty},
	{"UploadDedupe", testUploadDedupe},
	{"UploadClosed", testUploadClosed},
	{"UploadConcurrent", testUploadConcurrent},
	{"UploadAppend", testUploadAppend},
	{"UploadAppendFailed", testUploadAppendFailed},
	{"UploadAppendInProgress", testUploadAppendInProgress},
	{"PurgeUploads", testPurgeUploads},
	{"PurgeTemp", testPurgeTemp},
	{"PutFull", testPutFull},
	{"Checksums", testChecksums},
	{"UploadChecksums", testUploadChecksums},
	{"UploadFull", testUploadFull},
	{"ConcurrentPuts", testConcurrentPuts},
	{"LargePut", testLargePut},
}

// Run runs every check, each on a new store.
func (s Suite) Run(t *testing.T) {
	t.Helper()
	if s.New == nil {
		t.Fatal("blobtest: Suite.New is nil")
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			h := &harness{suite: s, store: s.New(t), ctx: t.Context()}
			c.fn(t, h)
		})
	}
}

type harness struct {
	suite Suite
	store packages.BlobStore
	ctx   context.Context
}

// reopen returns the store as a restarted process would see it.
func (h *harness) reopen(t *testing.T) packages.BlobStore {
	t.Helper()
	if h.suite.Reopen == nil {
		return h.store
	}
	return h.suite.Reopen(t, h.store)
}

// checksumsOf returns what Checksums must say of a blob holding p.
func checksumsOf(p []byte) packages.Checksums {
	m, s1, s256, s512 := md5.Sum(p), sha1.Sum(p), sha256.Sum256(p), sha512.Sum512(p)
	return packages.Checksums{MD5: hex.EncodeToString(m[:]), SHA1: hex.EncodeToString(s1[:]),
		SHA256: hex.EncodeToString(s256[:]), SHA512: hex.EncodeToString(s512[:])}
}

// wantChecksums checks the checksums of blob d, which holds p.
func (h *harness) wantChecksums(t *testing.T, d string, p []byte) {
	t.Helper()
	got, err := h.store.Checksums(h.ctx, d)
	if err != nil {
		t.Fatalf("Checksums(%s): %v", d, err)
	}
	if want := checksumsOf(p); got != want {
		t.Fatalf("Checksums(%s) = %+v, want %+v", d, got, want)
	}
}

func digestOf(p []byte) string {
	sum := sha256.Sum256(p)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// content returns n deterministic bytes that differ by seed.
func content(seed uint64, n int) []byte {
	p := make([]byte, n)
	rand.NewChaCha8(seedOf(seed)).Read(p)
	return p
}

func seedOf(n uint64) [32]byte {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(n >> (8 * i))
	}
	return s
}

func (h *harness) put(t *testing.T, p []byte) string {
	t.Helper()
	d, n, err := h.store.Put(h.ctx, bytes.NewReader(p), "")
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if want := digestOf(p); d != want {
		t.Fatalf("Put digest = %s, want %s", d, want)
	}
	if n != int64(len(p)) {
		t.Fatalf("Put size = %d, want %d", n, len(p))
	}
	return d
}

// read returns the whole blob d, checking Size and Stat on the way.
func (h *harness) read(t *testing.T, d string) []byte {
	t.Helper()
	r, err := h.store.Open(h.ctx, d)
	if err != nil {
		t.Fatalf("Open(%s): %v", d, err)
	}
	defer r.Close()
	p, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s: %v", d, err)
	}
	if r.Size() != int64(len(p)) {
		t.Fatalf("BlobReader.Size() = %d, read %d bytes", r.Size(), len(p))
	}
	size, err := h.store.Stat(h.ctx, d)
	if err != nil {
		t.Fatalf("Stat(%s): %v", d, err)
	}
	if size != int64(len(p)) {
		t.Fatalf("Stat size = %d, read %d bytes", size, len(p))
	}
	return p
}

func (h *harness) wantContent(t *testing.T, d string, want []byte) {
	t.Helper()
	if got := h.read(t, d); !bytes.Equal(got, want) {
		t.Fatalf("blob %s: read %d bytes that differ from the %d stored", d, len(got), len(want))
	}
}

func (h *harness) wantMissing(t *testing.T, d string) {
	t.Helper()
	if _, err := h.store.Stat(h.ctx, d); !isNotFound(err) {
		t.Fatalf("Stat(%s) = %v, want not found", d, err)
	}
	if r, err := h.store.Open(h.ctx, d); !isNotFound(err) {
		if err == nil {
			r.Close()
		}
		t.Fatalf("Open(%s) = %v, want not found", d, err)
	}
}

// all returns what Walk reports.
func (h *harness) all(t *testing.T) map[string]int64 {
	t.Helper()
	m := map[string]int64{}
	err := h.store.Walk(h.ctx, func(d string, size int64) error {
		if _, dup := m[d]; dup {
			t.Errorf("Walk reported %s twice", d)
		}
		m[d] = size
		return nil
	})
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	return m
}

func (h *harness) wantEmpty(t *testing.T) {
	t.Helper()
	if m := h.all(t); len(m) != 0 {
		t.Fatalf("store holds %d blobs, want none: %v", len(m), m)
	}
}

// wantNoTemp checks that nothing is left in the temporary area, as after
// writes that all finished or failed.
func (h *harness) wantNoTemp(t *testing.T) {
	t.Helper()
	rep, err := h.store.PurgeTemp(h.ctx, time.Now().Add(time.Hour), true)
	if err != nil {
		t.Fatalf("PurgeTemp: %v", err)
	}
	if rep != (packages.TempReport{}) {
		t.Fatalf("temporary area holds %+v, want nothing", rep)
	}
}

func isNotFound(err error) bool {
	return err != nil && errors.Is(err, packages.ErrNotFound) && packages.IsNotFound(err)
}

func wantKind(t *testing.T, what string, err error, k packages.Kind) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want one of kind %v", what, k)
	}
	if got := packages.KindOf(err); got != k {
		t.Fatalf("%s: error %q of kind %v, want %v", what, err, got, k)
	}
}

func testPutGet(t *testing.T, h *harness) {
	p := content(1, 10_000)
	d := h.put(t, p)
	h.wantContent(t, d, p)
}

func testPutExpected(t *testing.T, h *harness) {
	p := content(2, 5000)
	d, n, err := h.store.Put(h.ctx, bytes.NewReader(p), digestOf(p))
	if err != nil {
		t.Fatalf("Put with the right digest: %v", err)
	}
	if d != digestOf(p) || n != int64(len(p)) {
		t.Fatalf("Put = %s, %d; want %s, %d", d, n, digestOf(p), len(p))
	}
	h.wantContent(t, d, p)
}

func testPutWrongDigest(t *testing.T, h *harness) {
	p := content(3, 5000)
	wrong := digestOf([]byte("something else"))
	_, _, err := h.store.Put(h.ctx, bytes.NewReader(p), wrong)
	wantKind(t, "Put with a wrong digest", err, packages.KindInvalid)
	h.wantMissing(t, wrong)
	h.wantMissing(t, digestOf(p))
	h.wantEmpty(t)
	h.wantNoTemp(t)
}

var malformedDigests = []string{
	"",
	"sha256:",
	"sha256",
	"sha512:" + strings.Repeat("a", 128),
	"md5:" + strings.Repeat("a", 32),
	"sha256:" + strings.Repeat("A", 64),
	"sha256:" + strings.Repeat("a", 63),
	"sha256:" + strings.Repeat("a", 65),
	"sha256:" + strings.Repeat("g", 64),
	"SHA256:" + strings.Repeat("a", 64),
	"sha256:../../../../" + strings.Repeat("a", 52),
	strings.Repeat("a", 64),
}

func testPutMalformedExpected(t *testing.T, h *harness) {
	for _, d := range malformedDigests[1:] { // "" means no expectation
		_, _, err := h.store.Put(h.ctx, strings.NewReader("x"), d)
		wantKind(t, fmt.Sprintf("Put(expected %q)", d), err, packages.KindInvalid)
	}
	h.wantEmpty(t)
}

func testPutEmpty(t *testing.T, h *harness) {
	d := h.put(t, nil)
	if d != "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Fatalf("digest of nothing = %s", d)
	}
	h.wantContent(t, d, nil)
}

type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

func testPutReadError(t *testing.T, h *harness) {
	boom := errors.New("client went away")
	p := content(4, 3<<20)
	_, _, err := h.store.Put(h.ctx, &failingReader{r: bytes.NewReader(p), err: boom}, "")
	if !errors.Is(err, boom) {
		t.Fatalf("Put from a failing reader = %v, want it to wrap %v", err, boom)
	}
	h.wantMissing(t, digestOf(p))
	h.wantEmpty(t)
	h.wantNoTemp(t)
}

// cancelingReader cancels its context after the first read.
type cancelingReader struct {
	r      io.Reader
	cancel context.CancelFunc
}

func (c *cancelingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.cancel()
	return n, err
}

func testPutCanceledContext(t *testing.T, h *harness) {
	ctx, cancel := context.WithCancel(h.ctx)
	cancel()
	_, _, err := h.store.Put(ctx, strings.NewReader("hello"), "")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Put with a canceled context = %v, want context.Canceled", err)
	}

	// Canceled midway through a stream longer than any sensible chunk.
	p := content(5, 32<<20)
	ctx, cancel = context.WithCancel(h.ctx)
	defer cancel()
	_, _, err = h.store.Put(ctx, &cancelingReader{r: bytes.NewReader(p), cancel: cancel}, "")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Put canceled midway = %v, want context.Canceled", err)
	}
	h.wantEmpty(t)
	h.wantNoTemp(t)
}

func testMissing(t *testing.T, h *harness) {
	d := digestOf([]byte("never stored"))
	h.wantMissing(t, d)
	if err := h.store.Delete(h.ctx, d); !isNotFound(err) {
		t.Fatalf("Delete of a missing blob = %v, want not found", err)
	}
}

func testMalformedDigest(t *testing.T, h *harness) {
	h.put(t, []byte("something"))
	for _, d := range malformedDigests {
		_, err := h.store.Stat(h.ctx, d)
		wantKind(t, fmt.Sprintf("Stat(%q)", d), err, packages.KindInvalid)
		r, err := h.store.Open(h.ctx, d)
		if err == nil {
			r.Close()
		}
		wantKind(t, fmt.Sprintf("Open(%q)", d), err, packages.KindInvalid)
		wantKind(t, fmt.Sprintf("Delete(%q)", d), h.store.Delete(h.ctx, d), packages.KindInvalid)
	}
	if n := len(h.all(t)); n != 1 {
		t.Fatalf("store holds %d blobs, want 1", n)
	}
}

func testDelete(t *testing.T, h *harness) {
	keep := h.put(t, []byte("keep"))
	d := h.put(t, []byte("delete me"))
	if err := h.store.Delete(h.ctx, d); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	h.wantMissing(t, d)
	if err := h.store.Delete(h.ctx, d); !isNotFound(err) {
		t.Fatalf("second Delete = %v, want not found", err)
	}
	h.wantContent(t, keep, []byte("keep"))
	if m := h.all(t); len(m) != 1 || m[keep] != 4 {
		t.Fatalf("Walk after Delete = %v", m)
	}
	// The content can be stored again.
	h.put(t, []byte("delete me"))
	h.wantContent(t, d, []byte("delete me"))
}

func testDeleteWhileOpen(t *testing.T, h *harness) {
	p := content(6, 100_000)
	d := h.put(t, p)
	r, err := h.store.Open(h.ctx, d)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer r.Close()
	if err := h.store.Delete(h.ctx, d); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	h.wantMissing(t, d)
	// A reader opened before the delete may or may not still read; it
	// must not return wrong bytes.
	got, err := io.ReadAll(r)
	if err == nil && !bytes.Equal(got, p) {
		t.Fatalf("reader open across Delete returned %d wrong bytes", len(got))
	}
}

func testSeek(t *testing.T, h *harness) {
	p := content(7, 1000)
	d := h.put(t, p)
	r, err := h.store.Open(h.ctx, d)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer r.Close()

	steps := []struct {
		offset int64
		whence int
		pos    int64 // expected position, or -1 for an error
		read   int
	}{
		{100, io.SeekStart, 100, 50},
		{0, io.SeekCurrent, 150, 10},
		{5, io.SeekCurrent, 165, 35},
		{-10, io.SeekEnd, 990, 10},
		{0, io.SeekStart, 0, 1000},
		{999, io.SeekStart, 999, 1},
		{1000, io.SeekStart, 1000, 0},
		{0, io.SeekEnd, 1000, 0},
		{-1, io.SeekStart, -1, 0},
	}
	for i, s := range steps {
		pos, err := r.Seek(s.offset, s.whence)
		if s.pos < 0 {
			if err == nil {
				t.Fatalf("step %d: Seek(%d, %d) = %d, want an error", i, s.offset, s.whence, pos)
			}
			continue
		}
		if err != nil || pos != s.pos {
			t.Fatalf("step %d: Seek(%d, %d) = %d, %v; want %d", i, s.offset, s.whence, pos, err, s.pos)
		}
		buf := make([]byte, s.read)
		if _, err := io.ReadFull(r, buf); err != nil {
			t.Fatalf("step %d: read %d bytes at %d: %v", i, s.read, pos, err)
		}
		if !bytes.Equal(buf, p[pos:pos+int64(s.read)]) {
			t.Fatalf("step %d: bytes at %d differ", i, pos)
		}
		if s.pos+int64(s.read) == int64(len(p)) {
			if n, err := r.Read(make([]byte, 1)); n != 0 || err != io.EOF {
				t.Fatalf("step %d: read at end = %d, %v; want 0, EOF", i, n, err)
			}
		}
	}
	// A range as an HTTP server would read it.
	if _, err := r.Seek(200, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(io.LimitReader(r, 300))
	if err != nil || !bytes.Equal(got, p[200:500]) {
		t.Fatalf("range 200-499: %d bytes, %v", len(got), err)
	}
}

func testDedupe(t *testing.T, h *harness) {
	p := content(8, 50_000)
	d1 := h.put(t, p)
	d2 := h.put(t, p)
	if d1 != d2 {
		t.Fatalf("same content, digests %s and %s", d1, d2)
	}
	if m := h.all(t); len(m) != 1 || m[d1] != int64(len(p)) {
		t.Fatalf("Walk after storing twice = %v", m)
	}
	h.wantContent(t, d1, p)
	if err := h.store.Delete(h.ctx, d1); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	h.wantMissing(t, d1)
}

func testWalk(t *testing.T, h *harness) {
	h.wantEmpty(t)
	want := map[string]int64{}
	for i := range 20 {
		p := content(100+uint64(i), i*37)
		want[h.put(t, p)] = int64(len(p))
	}
	got := h.all(t)
	if len(got) != len(want) {
		t.Fatalf("Walk found %d blobs, want %d", len(got), len(want))
	}
	for d, size := range want {
		if got[d] != size {
			t.Fatalf("Walk: %s has size %d, want %d", d, got[d], size)
		}
	}
}

func testWalkStops(t *testing.T, h *harness) {
	for i := range 5 {
		h.put(t, content(200+uint64(i), 10))
	}
	stop := errors.New("stop")
	calls := 0
	err := h.store.Walk(h.ctx, func(string, int64) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) {
		t.Fatalf("Walk = %v, want the error from fn", err)
	}
	if calls != 1 {
		t.Fatalf("Walk called fn %d times after it failed, want 1", calls)
	}
}

// writeChunks writes p to u in chunks of size n.
func writeChunks(t *testing.T, u packages.Upload, p []byte, n int) {
	t.Helper()
	for len(p) > 0 {
		c := min(n, len(p))
		w, err := u.Write(p[:c])
		if err != nil || w != c {
			t.Fatalf("Upload.Write(%d bytes) = %d, %v", c, w, err)
		}
		p = p[c:]
	}
}

func (h *harness) resume(t *testing.T, s packages.BlobStore, id string) packages.Upload {
	t.Helper()
	u, err := s.ResumeUpload(h.ctx, id)
	if err != nil {
		t.Fatalf("ResumeUpload(%q): %v", id, err)
	}
	return u
}

func (h *harness) wantNoSession(t *testing.T, id string) {
	t.Helper()
	u, err := h.store.ResumeUpload(h.ctx, id)
	if !isNotFound(err) {
		if err == nil {
			u.Close()
		}
		t.Fatalf("ResumeUpload(%q) = %v, want not found", id, err)
	}
}

func testUpload(t *testing.T, h *harness) {
	before := time.Now()
	u, err := h.store.NewUpload(h.ctx)
	if err != nil {
		t.Fatalf("NewUpload: %v", err)
	}
	defer u.Close()
	if u.ID() == "" {
		t.Fatal("upload has an empty ID")
	}
	if u.Size() != 0 {
		t.Fatalf("new upload has size %d", u.Size())
	}
	if s := u.StartedAt(); s.Before(before.Add(-time.Second)) || s.After(time.Now().Add(time.Second)) {
		t.Fatalf("StartedAt = %v, want about %v", s, before)
	}
	p := content(9, 300_000)
	writeChunks(t, u, p[:100_000], 7777)
	if u.Size() != 100_000 {
		t.Fatalf("Size after 100000 bytes = %d", u.Size())
	}
	writeChunks(t, u, p[100_000:], 65536)
	if u.Size() != int64(len(p)) {
		t.Fatalf("Size = %d, want %d", u.Size(), len(p))
	}
	h.wantMissing(t, digestOf(p)) // nothing visible before Commit
	h.wantEmpty(t)

	d, n, err := u.Commit(h.ctx, digestOf(p))
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if d != digestOf(p) || n != int64(len(p)) {
		t.Fatalf("Commit = %s, %d; want %s, %d", d, n, digestOf(p), len(p))
	}
	h.wantContent(t, d, p)
	if err := u.Close(); err != nil {
		t.Fatalf("Close after Commit: %v", err)
	}
	h.wantNoSession(t, u.ID())

	// Another session gets another id.
	u2, err := h.store.NewUpload(h.ctx)
	if err != nil {
		t.Fatalf("NewUpload: %v", err)
	}
	defer u2.Cancel(h.ctx)
	if u2.ID() == u.ID() {
		t.Fatalf("two sessions share the id %q", u.ID())
	}
}

func testUploadResume(t *testing.T, h *harness) {
	p := content(10, 1<<20+123)
	parts := [][]byte{p[:300_000], p[300_000:700_001], p[700_001:]}

	u, err := h.store.NewUpload(h.ctx)
	if err != nil {
		t.Fatalf("NewUpload: %v", err)
	}
	id, started := u.ID(), u.StartedAt()
	writeChunks(t, u, parts[0], 10_000)
	if err := u.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	// A restart.
	s2 := h.reopen(t)
	u = h.resume(t, s2, id)
	if u.ID() != id {
		t.Fatalf("resumed session has id %q, want %q", u.ID(), id)
	}
	if u.Size() != int64(len(parts[0])) {
		t.Fatalf("resumed Size = %d, want %d", u.Size(), len(parts[0]))
	}
	if d := u.StartedAt().Sub(started); d < -time.Second || d > time.Second {
		t.Fatalf("resumed StartedAt = %v, want %v", u.StartedAt(), started)
	}
	writeChunks(t, u, parts[1], 4096)
	if err := u.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	// Another restart.
	s3 := h.reopen(t)
	u = h.resume(t, s3, id)
	defer u.Close()
	if u.Size() != int64(len(parts[0])+len(parts[1])) {
		t.Fatalf("resumed Size = %d, want %d", u.Size(), len(parts[0])+len(parts[1]))
	}
	writeChunks(t, u, parts[2], 1<<20)
	d, n, err := u.Commit(h.ctx, digestOf(p))
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if d != digestOf(p) || n != int64(len(p)) {
		t.Fatalf("Commit = %s, %d; want %s, %d", d, n, digestOf(p), len(p))
	}
	h.wantContent(t, d, p)
	h.wantNoSession(t, id)
}

func testUploadUnknownID(t *testing.T, h *harness) {
	u, err := h.store.NewUpload(h.ctx)
	if err != nil {
		t.Fatalf("NewUpload: %v", err)
	}
	writeChunks(t, u, []byte("data"), 4)
	if err := u.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	id := u.ID()
	ids := []string{
		"",
		".",
		"..",
		"../" + id,
		id + "/..",
		id + "/data",
		"/etc/passwd",
		"..%2f..%2f",
		"x",
		strings.Repeat("A", len(id)),
		strings.ToUpper(id[:1]) + strings.ToLower(id[1:]) + "x",
		id + "\x00",
		strings.Repeat("a", 10_000),
	}
	for _, bad := range ids {
		if bad == id {
			continue
		}
		h.wantNoSession(t, bad)
	}
	// The real session is untouched.
	u = h.resume(t, h.store, id)
	defer u.Close()
	if u.Size() != 4 {
		t.Fatalf("Size = %d, want 4", u.Size())
	}
}

func testUploadCancel(t *testing.T, h *harness) {
	p := content(11, 10_000)
	u, err := h.store.NewUpload(h.ctx)
	if err != nil {
		t.Fatalf("NewUpload: %v", err)
	}
	writeChunks(t, u, p, 1000)
	if err := u.Cancel(h.ctx); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if err := u.Close(); err != nil {
		t.Fatalf("Close after Cancel: %v", err)
	}
	h.wantNoSession(t, u.ID())
	h.wantMissing(t, digestOf(p))
	h.wantEmpty(t)

	// Cancel a resumed session.
	u, err = h.store.NewUpload(h.ctx)
	if err != nil {
		t.Fatalf("NewUpload: %v", err)
	}
	writeChunks(t, u, p, 1000)
	u.Close()
	u = h.resume(t, h.reopen(t), u.ID())
	if err := u.Cancel(h.ctx); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	h.wantNoSession(t, u.ID())
	h.wantEmpty(t)
}

func testUploadWrongDigest(t *testing.T, h *harness) {
	p := content(12, 10_000)
	u, err := h.store.NewUpload(h.ctx)
	if err != nil {
		t.Fatalf("NewUpload: %v", err)
	}
	defer u.Close()
	writeChunks(t, u, p, 3000)

	// A malformed digest is refused without ending the session.
	_, _, err = u.Commit(h.ctx, "sha256:nope")
	wantKind(t, "Commit with a malformed digest", err, packages.KindInvalid)

	wrong := digestOf([]byte("other"))
	_, _, err = u.Commit(h.ctx, wrong)
	wantKind(t, "Commit with a wrong digest", err, packages.KindInvalid)
	h.wantNoSession(t, u.ID())
	h.wantMissing(t, wrong)
	h.wantMissing(t, digestOf(p))
	h.wantEmpty(t)
	if _, err := u.Write([]byte("more")); err == nil {
		t.Fatal("Write after a failed Commit succeeded")
	}
}

func testUploadEmpty(t *testing.T, h *harness) {
	u, err := h.store.NewUpload(h.ctx)
	if err != nil {
		t.Fatalf("NewUpload: %v", err)
	}
	defer u.Close()
	d, n, err := u.Commit(h.ctx, "")
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if d != digestOf(nil) || n != 0 {
		t.Fatalf("Commit of nothing = %s, %d", d, n)
	}
	h.wantContent(t, d, nil)
}

func testUploadDedupe(t *testing.T, h *harness) {
	p := content(13, 20_000)
	d := h.put(t, p)
	for i := range 2 {
		u, err := h.store.NewUpload(h.ctx)
		if err != nil {
			t.Fatalf("NewUpload: %v", err)
		}
		writeChunks(t, u, p, 5000)
		got, _, err := u.Commit(h.ctx, d)
		if err != nil {
			t.Fatalf("Commit %d of stored content: %v", i, err)
		}
		if got != d {
			t.Fatalf("Commit = %s, want %s", got, d)
		}
		h.wantNoSession(t, u.ID())
	}
	if m := h.all(t); len(m) != 1 {
		t.Fatalf("Walk = %v, want one blob", m)
	}
	h.wantContent(t, d, p)
}

func testUploadClosed(t *testing.T, h *harness) {
	u, err := h.store.NewUpload(h.ctx)
	if err != nil {
		t.Fatalf("NewUpload: %v", err)
	}
	writeChunks(t, u, []byte("abc"), 3)
	if err := u.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := u.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := u.Write([]byte("d")); err == nil {
		t.Fatal("Write after Close succeeded")
	}
	if _, _, err := u.Commit(h.ctx, ""); err == nil {
		t.Fatal("Commit after Close succeeded")
	}
	u = h.resume(t, h.store, u.ID())
	defer u.Close()
	if u.Size() != 3 {
		t.Fatalf("Size after a refused Write = %d, want 3", u.Size())
	}
	d, _, err := u.Commit(h.ctx, digestOf([]byte("abc")))
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if _, _, err := u.Commit(h.ctx, d); err == nil {
		t.Fatal("second Commit succeeded")
	}
	if err := u.Cancel(h.ctx); err == nil {
		t.Fatal("Cancel after Commit succeeded")
	}
}

// testUploadConcurrent writes to one session through two handles from
// many goroutines. Every write is a block of one repeated byte; the
// committed blob must consist of whole blocks and hash to its digest.
func testUploadConcurrent(t *testing.T, h *harness) {
	const (
		writers = 8
		blocks  = 50
		block   = 4096
	)
	u1, err := h.store.NewUpload(h.ctx)
	if err != nil {
		t.Fatalf("NewUpload: %v", err)
	}
	defer u1.Close()
	u2 := h.resume(t, h.store, u1.ID())
	defer u2.Close()

	var wg sync.WaitGroup
	for w := range writers {
		u := u1
		if w%2 == 1 {
			u = u2
		}
		wg.Go(func() {
			p := bytes.Repeat([]byte{byte('a' + w)}, block)
			for range blocks {
				if n, err := u.Write(p); err != nil || n != block {
					t.Errorf("writer %d: Write = %d, %v", w, n, err)
					return
				}
				_ = u.Size()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	const total = writers * blocks * block
	if u1.Size() != total || u2.Size() != total {
		t.Fatalf("sizes %d and %d, want %d", u1.Size(), u2.Size(), total)
	}
	if err := u2.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	d, n, err := u1.Commit(h.ctx, "")
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if n != total {
		t.Fatalf("Commit size = %d, want %d", n, total)
	}
	p := h.read(t, d)
	if got := digestOf(p); got != d {
		t.Fatalf("blob stored under %s hashes to %s", d, got)
	}
	count := map[byte]int{}
	for i := 0; i < len(p); i += block {
		b := p[i : i+block]
		if !bytes.Equal(b, bytes.Repeat(b[:1], block)) {
			t.Fatalf("block at %d is interleaved", i)
		}
		count[b[0]]++
	}
	for w := range writers {
		if count[byte('a'+w)] != blocks {
			t.Fatalf("writer %d has %d blocks, want %d", w, count[byte('a'+w)], blocks)
		}
	}
}

func testPurgeUploads(t *testing.T, h *harness) {
	blob := h.put(t, []byte("a blob is not a session"))
	newSession := func(p string) string {
		u, err := h.store.NewUpload(h.ctx)
		if err != nil {
			t.Fatalf("NewUpload: %v", err)
		}
		writeChunks(t, u, []byte(p), len(p))
		if err := u.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		return u.ID()
	}
	stale, fresh := newSession("stale"), newSession("fresh")

	n, err := h.store.PurgeUploads(h.ctx, time.Now().Add(-time.Hour))
	if err != nil || n != 0 {
		t.Fatalf("PurgeUploads(an hour ago) = %d, %v; want 0", n, err)
	}
	h.resume(t, h.store, stale).Close()
	h.resume(t, h.store, fresh).Close()

	if h.suite.Backdate != nil {
		h.suite.Backdate(t, h.store, stale, 2*time.Hour)
		n, err := h.store.PurgeUploads(h.ctx, time.Now().Add(-time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("PurgeUploads(an hour ago) after backdating one = %d, %v; want 1", n, err)
		}
		h.wantNoSession(t, stale)
		u := h.resume(t, h.store, fresh)
		if u.Size() != 5 {
			t.Fatalf("fresh session Size = %d, want 5", u.Size())
		}
		u.Close()
		stale = ""
	}

	// An open handle on a purged session fails instead of resurrecting it.
	open := h.resume(t, h.store, fresh)
	defer open.Close()

	want := 2
	if stale == "" {
		want = 1
	}
	n, err = h.store.PurgeUploads(h.ctx, time.Now().Add(time.Hour))
	if err != nil || n != want {
		t.Fatalf("PurgeUploads(in an hour) = %d, %v; want %d", n, err, want)
	}
	h.wantNoSession(t, fresh)
	if stale != "" {
		h.wantNoSession(t, stale)
	}
	if _, err := open.Write([]byte("more")); err == nil {
		t.Fatal("Write to a purged session succeeded")
	}
	if _, _, err := open.Commit(h.ctx, ""); err == nil {
		t.Fatal("Commit of a purged session succeeded")
	}
	h.wantContent(t, blob, []byte("a blob is not a session"))

	n, err = h.store.PurgeUploads(h.ctx, time.Now().Add(time.Hour))
	if err != nil || n != 0 {
		t.Fatalf("PurgeUploads with nothing left = %d, %v; want 0", n, err)
	}
}

// appendAll appends p as one chunk.
func appendAll(t *testing.T, u packages.Upload, ctx context.Context, p []byte) {
	t.Helper()
	n, err := u.Append(ctx, bytes.NewReader(p))
	if err != nil || n != int64(len(p)) {
		t.Fatalf("Append(%d bytes) = %d, %v", len(p), n, err)
	}
}

func testUploadAppend(t *testing.T, h *harness) {
	p := content(16, 3<<20+17)
	u, err := h.store.NewUpload(h.ctx)
	if err != nil {
		t.Fatalf("NewUpload: %v", err)
	}
	id := u.ID()
	appendAll(t, u, h.ctx, p[:1<<20])
	if u.Size() != 1<<20 {
		t.Fatalf("Size after a chunk of %d bytes = %d", 1<<20, u.Size())
	}
	appendAll(t, u, h.ctx, nil)
	if u.Size() != 1<<20 {
		t.Fatalf("Size after an empty chunk = %d", u.Size())
	}
	if err := u.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := u.Append(h.ctx, bytes.NewReader(p)); err == nil {
		t.Fatal("Append after Close succeeded")
	}

	u = h.resume(t, h.reopen(t), id)
	defer u.Close()
	if u.Size() != 1<<20 {
		t.Fatalf("resumed Size = %d, want %d", u.Size(), 1<<20)
	}
	appendAll(t, u, h.ctx, p[1<<20:])
	d, n, err := u.Commit(h.ctx, digestOf(p))
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if d != digestOf(p) || n != int64(len(p)) {
		t.Fatalf("Commit = %s, %d; want %s, %d", d, n, digestOf(p), len(p))
	}
	h.wantContent(t, d, p)
	h.wantNoSession(t, id)
}

// testUploadAppendFailed: a chunk is appended whole or not at all. A
// chunk whose reader fails, or whose context ends, midway leaves the
// session as it was, ready for the chunk to be sent again.
func testUploadAppendFailed(t *testing.T, h *harness) {
	p := content(17, 3<<20)
	u, err := h.store.NewUpload(h.ctx)
	if err != nil {
		t.Fatalf("NewUpload: %v", err)
	}
	id := u.ID()
	appendAll(t, u, h.ctx, p[:1000])

	boom := errors.New("client went away")
	n, err := u.Append(h.ctx, &failingReader{r: bytes.NewReader(p[1000:]), err: boom})
	if !errors.Is(err, boom) || n != 0 {
		t.Fatalf("Append from a failing reader = %d, %v; want 0 and an error wrapping %v", n, err, boom)
	}
	if u.Size() != 1000 {
		t.Fatalf("Size after a failed chunk = %d, want 1000", u.Size())
	}
	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	n, err = u.Append(ctx, &cancelingReader{r: bytes.NewReader(p[1000:]), cancel: cancel})
	if !errors.Is(err, context.Canceled) || n != 0 {
		t.Fatalf("Append canceled midway = %d, %v; want 0, context.Canceled", n, err)
	}
	if u.Size() != 1000 {
		t.Fatalf("Size after a canceled chunk = %d, want 1000", u.Size())
	}
	if err := u.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	// The session holds only the chunk that was appended, also for a
	// restarted process.
	u = h.resume(t, h.reopen(t), id)
	defer u.Close()
	if u.Size() != 1000 {
		t.Fatalf("resumed Size = %d, want 1000", u.Size())
	}
	appendAll(t, u, h.ctx, p[1000:])
	d, _, err := u.Commit(h.ctx, digestOf(p))
	if err != nil {
		t.Fatalf("Commit after the chunk was sent again: %v", err)
	}
	h.wantContent(t, d, p)
	h.wantChecksums(t, d, p) // the failed chunks left no trace in any hash
}

// testUploadAppendInProgress: while a chunk streams in, the session shows
// the size it had; the chunk counts once it is complete.
func testUploadAppendInProgress(t *testing.T, h *harness) {
	p := content(18, 5<<20)
	u, err := h.store.NewUpload(h.ctx)
	if err != nil {
		t.Fatalf("NewUpload: %v", err)
	}
	defer u.Close()
	appendAll(t, u, h.ctx, p[:100])

	type result struct {
		n   int64
		err error
	}
	stream := func(pr io.Reader) <-chan result {
		done := make(chan result, 1)
		go func() {
			n, err := u.Append(h.ctx, pr)
			done <- result{n, err}
		}()
		return done
	}
	other := h.resume(t, h.store, u.ID())
	defer other.Close()

	// A chunk that breaks off.
	pr, pw := io.Pipe()
	done := stream(pr)
	if _, err := pw.Write(p[100 : 3<<20]); err != nil {
		t.Fatalf("stream: %v", err)
	}
	if u.Size() != 100 || other.Size() != 100 {
		t.Fatalf("Size during a chunk = %d and %d, want 100", u.Size(), other.Size())
	}
	boom := errors.New("connection reset")
	pw.CloseWithError(boom)
	if res := <-done; !errors.Is(res.err, boom) || res.n != 0 {
		t.Fatalf("broken chunk: Append = %d, %v; want 0 and an error wrapping %v", res.n, res.err, boom)
	}
	if u.Size() != 100 || other.Size() != 100 {
		t.Fatalf("Size after a broken chunk = %d and %d, want 100", u.Size(), other.Size())
	}

	// A chunk that completes.
	pr, pw = io.Pipe()
	done = stream(pr)
	if _, err := pw.Write(p[100 : 3<<20]); err != nil {
		t.Fatalf("stream: %v", err)
	}
	if other.Size() != 100 {
		t.Fatalf("Size during a chunk = %d, want 100", other.Size())
	}
	if _, err := pw.Write(p[3<<20:]); err != nil {
		t.Fatalf("stream: %v", err)
	}
	pw.Close()
	if res := <-done; res.err != nil || res.n != int64(len(p)-100) {
		t.Fatalf("Append = %d, %v; want %d", res.n, res.err, len(p)-100)
	}
	if u.Size() != int64(len(p)) || other.Size() != int64(len(p)) {
		t.Fatalf("Size after the chunk = %d and %d, want %d", u.Size(), other.Size(), len(p))
	}
	if err := other.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	d, _, err := u.Commit(h.ctx, digestOf(p))
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	h.wantContent(t, d, p)
	h.wantChecksums(t, d, p)
}

// testPurgeTemp: PurgeTemp reports what unfinished writes left, removes
// only what is older than its cutoff, and never touches blobs, upload
// sessions or a Put in progress.
func testPurgeTemp(t *testing.T, h *harness) {
	blobBytes := []byte("a blob is not a temporary file")
	blob := h.put(t, blobBytes)
	u, err := h.store.NewUpload(h.ctx)
	if err != nil {
		t.Fatalf("NewUpload: %v", err)
	}
	appendAll(t, u, h.ctx, []byte("nor is a session"))
	if err := u.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	h.wantNoTemp(t)

	// A Put in progress.
	p := content(19, 3<<20)
	pr, pw := io.Pipe()
	type result struct {
		d   string
		err error
	}
	done := make(chan result, 1)
	go func() {
		d, _, err := h.store.Put(h.ctx, pr, digestOf(p))
		done <- result{d, err}
	}()
	defer pw.Close()
	if _, err := pw.Write(p[:2<<20]); err != nil {
		t.Fatalf("stream: %v", err)
	}

	leaves := h.suite.LeaveTemp != nil
	if leaves {
		h.suite.LeaveTemp(t, h.store, 1000, 2*time.Hour)
		h.suite.LeaveTemp(t, h.store, 500, 0)
	}
	cutoff := time.Now().Add(-time.Hour)
	for _, dryRun := range []bool{true, true, false} {
		rep, err := h.store.PurgeTemp(h.ctx, cutoff, dryRun)
		if err != nil {
			t.Fatalf("PurgeTemp(dry run %v): %v", dryRun, err)
		}
		switch {
		case leaves && (rep.Stale != 1 || rep.StaleBytes != 1000 || rep.Fresh < 1 || rep.FreshBytes < 500):
			t.Fatalf("PurgeTemp(dry run %v) = %+v, want 1 stale file of 1000 bytes and the fresh one of 500 bytes", dryRun, rep)
		case !leaves && rep.Stale != 0:
			t.Fatalf("PurgeTemp(dry run %v) = %+v, want nothing stale", dryRun, rep)
		}
	}
	if rep, err := h.store.PurgeTemp(h.ctx, cutoff, true); err != nil || rep.Stale != 0 {
		t.Fatalf("PurgeTemp after a purge = %+v, %v; want nothing stale", rep, err)
	}

	// The Put in progress was left alone.
	if _, err := pw.Write(p[2<<20:]); err != nil {
		t.Fatalf("stream: %v", err)
	}
	pw.Close()
	if res := <-done; res.err != nil || res.d != digestOf(p) {
		t.Fatalf("Put across a purge = %s, %v; want %s", res.d, res.err, digestOf(p))
	}
	h.wantContent(t, digestOf(p), p)

	// A cutoff in the future takes every leftover, and nothing else.
	rep, err := h.store.PurgeTemp(h.ctx, time.Now().Add(time.Hour), false)
	if err != nil {
		t.Fatalf("PurgeTemp: %v", err)
	}
	if leaves && (rep.Stale != 1 || rep.StaleBytes != 500) {
		t.Fatalf("PurgeTemp(in an hour) = %+v, want the fresh leftover of 500 bytes", rep)
	}
	h.wantNoTemp(t)
	h.wantContent(t, blob, blobBytes)
	u = h.resume(t, h.store, u.ID())
	defer u.Close()
	if u.Size() != int64(len("nor is a session")) {
		t.Fatalf("session Size after PurgeTemp = %d", u.Size())
	}
}

// fullRoom is the room of the stores the full-storage checks use.
const fullRoom = 1 << 20

// small returns a harness on a store with fullRoom bytes of room.
func (h *harness) small(t *testing.T) *harness {
	t.Helper()
	if h.suite.NewSmall == nil {
		t.Skip("the suite has no NewSmall: full storage is not checked")
	}
	return &harness{suite: h.suite, store: h.suite.NewSmall(t, fullRoom), ctx: h.ctx}
}

func wantFull(t *testing.T, what string, err error) {
	t.Helper()
	wantKind(t, what, err, packages.KindInsufficientStorage)
	if !errors.Is(err, packages.ErrInsufficientStorage) {
		t.Fatalf("%s: %v does not wrap packages.ErrInsufficientStorage", what, err)
	}
}

// testPutFull: a Put that finds the storage full stores nothing, and once
// room is made the same Put succeeds.
func testPutFull(t *testing.T, h *harness) {
	s := h.small(t)
	big := content(20, 3*fullRoom)
	_, _, err := s.store.Put(s.ctx, bytes.NewReader(big), "")
	wantFull(t, "Put past the room", err)
	s.wantMissing(t, digestOf(big))
	s.wantEmpty(t)
	s.wantNoTemp(t)

	// Fill the store with blobs of a quarter of the room each.
	var stored []string
	var refused []byte
	for i := range 8 {
		p := content(21+uint64(i), fullRoom/4)
		_, _, err := s.store.Put(s.ctx, bytes.NewReader(p), "")
		if err != nil {
			wantFull(t, "Put into a full store", err)
			refused = p
			break
		}
		stored = append(stored, digestOf(p))
	}
	if refused == nil || len(stored) == 0 {
		t.Fatalf("%d quarters of the room fit in the store, and nothing was refused", len(stored))
	}
	s.wantMissing(t, digestOf(refused))
	s.wantNoTemp(t)
	if err := s.store.Delete(s.ctx, stored[0]); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	d := s.put(t, refused)
	s.wantContent(t, d, refused)
}

// testUploadFull: a chunk that finds the storage full is not appended, and
// the session carries on once room is made.
func testUploadFull(t *testing.T, h *harness) {
	s := h.small(t)
	u, err := s.store.NewUpload(s.ctx)
	if err != nil {
		t.Fatalf("NewUpload: %v", err)
	}
	defer u.Close()
	p := content(30, fullRoom/2)
	appendAll(t, u, s.ctx, p[:fullRoom/4])
	_, err = u.Append(s.ctx, bytes.NewReader(content(31, 2*fullRoom)))
	wantFull(t, "Append past the room", err)
	if u.Size() != fullRoom/4 {
		t.Fatalf("Size after a refused chunk = %d, want %d", u.Size(), fullRoom/4)
	}
	// The refused chunk gave its room back.
	appendAll(t, u, s.ctx, p[fullRoom/4:])
	d, _, err := u.Commit(s.ctx, digestOf(p))
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	s.wantContent(t, d, p)
}

// testChecksums: every stored blob has its md5, sha1, sha256 and sha512,
// computed as it was stored.
func testChecksums(t *testing.T, h *harness) {
	hello := h.put(t, []byte("hello"))
	got, err := h.store.Checksums(h.ctx, hello)
	if err != nil {
		t.Fatalf("Checksums: %v", err)
	}
	want := packages.Checksums{
		MD5:    "5d41402abc4b2a76b9719d911017c592",
		SHA1:   "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d",
		SHA256: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
		SHA512: "9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca72323c3d99ba5c11d7c7acc6e14b8c5da0c4663475c2e5c3adef46f73bcdec043",
	}
	if got != want || !got.Known() {
		t.Fatalf("Checksums of \"hello\" = %+v, want %+v", got, want)
	}

	for i, p := range [][]byte{nil, content(40, 1), content(41, 3<<20+5)} {
		d := h.put(t, p)
		h.wantChecksums(t, d, p)
		// Stored again: the same.
		if _, _, err := h.store.Put(h.ctx, bytes.NewReader(p), d); err != nil {
			t.Fatalf("Put %d again: %v", i, err)
		}
		h.wantChecksums(t, d, p)
	}
	// As a restarted process sees them.
	h.store = h.reopen(t)
	h.wantChecksums(t, hello, []byte("hello"))

	if _, err := h.store.Checksums(h.ctx, digestOf([]byte("never stored"))); !isNotFound(err) {
		t.Fatalf("Checksums of a missing blob = %v, want not found", err)
	}
	for _, d := range malformedDigests {
		_, err := h.store.Checksums(h.ctx, d)
		wantKind(t, fmt.Sprintf("Checksums(%q)", d), err, packages.KindInvalid)
	}
	if err := h.store.Delete(h.ctx, hello); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := h.store.Checksums(h.ctx, hello); !isNotFound(err) {
		t.Fatalf("Checksums of a deleted blob = %v, want not found", err)
	}
	// Put again after the delete: the checksums are back.
	h.put(t, []byte("hello"))
	h.wantChecksums(t, hello, []byte("hello"))
}

// testUploadChecksums: an upload's checksums are computed as its chunks
// arrive, across restarts, and describe the committed bytes.
func testUploadChecksums(t *testing.T, h *harness) {
	p := content(42, 2<<20+333)
	u, err := h.store.NewUpload(h.ctx)
	if err != nil {
		t.Fatalf("NewUpload: %v", err)
	}
	id := u.ID()
	appendAll(t, u, h.ctx, p[:1000])
	if err := u.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	u = h.resume(t, h.reopen(t), id)
	writeChunks(t, u, p[1000:1<<20], 70_000)
	if err := u.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	u = h.resume(t, h.store, id)
	defer u.Close()
	appendAll(t, u, h.ctx, p[1<<20:])
	d, _, err := u.Commit(h.ctx, digestOf(p))
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	h.wantChecksums(t, d, p)

	// An empty upload.
	u, err = h.store.NewUpload(h.ctx)
	if err != nil {
		t.Fatalf("NewUpload: %v", err)
	}
	defer u.Close()
	d, _, err = u.Commit(h.ctx, "")
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	h.wantChecksums(t, d, nil)
}

func testConcurrentPuts(t *testing.T, h *harness) {
	p := content(14, 1<<20)
	want := digestOf(p)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			d, n, err := h.store.Put(h.ctx, bytes.NewReader(p), want)
			if err != nil {
				t.Errorf("Put: %v", err)
				return
			}
			if d != want || n != int64(len(p)) {
				t.Errorf("Put = %s, %d; want %s, %d", d, n, want, len(p))
			}
		})
	}
	wg.Wait()
	if m := h.all(t); len(m) != 1 || m[want] != int64(len(p)) {
		t.Fatalf("Walk = %v, want one blob", m)
	}
	h.wantContent(t, want, p)
}

func testLargePut(t *testing.T, h *harness) {
	if testing.Short() {
		t.Skip("large put skipped in -short mode")
	}
	size := h.suite.LargeSize
	if size <= 0 {
		size = 64 << 20
	}
	gen := func() io.Reader { return io.LimitReader(rand.NewChaCha8(seedOf(15)), size) }

	hash := sha256.New()
	if _, err := io.Copy(hash, gen()); err != nil {
		t.Fatal(err)
	}
	want := "sha256:" + hex.EncodeToString(hash.Sum(nil))

	d, n, err := h.store.Put(h.ctx, gen(), want)
	if err != nil {
		t.Fatalf("Put of %d bytes: %v", size, err)
	}
	if d != want || n != size {
		t.Fatalf("Put = %s, %d; want %s, %d", d, n, want, size)
	}
	if got, err := h.store.Stat(h.ctx, d); err != nil || got != size {
		t.Fatalf("Stat = %d, %v; want %d", got, err, size)
	}

	r, err := h.store.Open(h.ctx, d)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer r.Close()
	hash.Reset()
	if n, err := io.Copy(hash, r); err != nil || n != size {
		t.Fatalf("read back %d bytes, %v; want %d", n, err, size)
	}
	if got := "sha256:" + hex.EncodeToString(hash.Sum(nil)); got != want {
		t.Fatalf("read back content hashing to %s, want %s", got, want)
	}

	// The tail, by seeking.
	if _, err := r.Seek(-4096, io.SeekEnd); err != nil {
		t.Fatalf("Seek: %v", err)
	}
	tail, err := io.ReadAll(r)
	if err != nil || len(tail) != 4096 {
		t.Fatalf("tail: %d bytes, %v", len(tail), err)
	}
	g := gen()
	if _, err := io.CopyN(io.Discard, g, size-4096); err != nil {
		t.Fatal(err)
	}
	wantTail, _ := io.ReadAll(g)
	if !bytes.Equal(tail, wantTail) {
		t.Fatal("tail differs")
	}
}
