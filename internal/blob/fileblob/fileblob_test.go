package fileblob_test

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/blob/blobtest"
	"github.com/packhub/packhub/internal/blob/fileblob"
	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

func newStore(t *testing.T, root string) *fileblob.Store {
	t.Helper()
	s, err := fileblob.New(root)
	if err != nil {
		t.Fatalf("New(%q): %v", root, err)
	}
	return s
}

func TestConformance(t *testing.T) {
	blobtest.Suite{
		New: func(t *testing.T) packages.BlobStore {
			return newStore(t, t.TempDir())
		},
		Reopen: func(t *testing.T, s packages.BlobStore) packages.BlobStore {
			return newStore(t, s.(*fileblob.Store).Root())
		},
		Backdate: func(t *testing.T, s packages.BlobStore, id string, age time.Duration) {
			old := time.Now().Add(-age)
			data := filepath.Join(s.(*fileblob.Store).Root(), "uploads", id, "data")
			if err := os.Chtimes(data, old, old); err != nil {
				t.Fatal(err)
			}
		},
		LeaveTemp: func(t *testing.T, s packages.BlobStore, size int64, age time.Duration) {
			leaveTemp(t, s.(*fileblob.Store).Root(), size, age)
		},
		NewSmall: func(t *testing.T, room int64) packages.BlobStore {
			return newStore(t, testenv.SmallDisk(t, room))
		},
	}.Run(t)
}

// leaveTemp leaves in tmp/ what a Put killed midway leaves: a partial
// file, last written age ago.
func leaveTemp(t *testing.T, root string, size int64, age time.Duration) string {
	t.Helper()
	f, err := os.CreateTemp(filepath.Join(root, "tmp"), "put-*")
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Write(bytes.Repeat([]byte("p"), int(size)))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	if age > 0 {
		old := time.Now().Add(-age)
		if err := os.Chtimes(f.Name(), old, old); err != nil {
			t.Fatal(err)
		}
	}
	return f.Name()
}

func digestOf(p []byte) string {
	sum := sha256.Sum256(p)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// files lists the regular files under dir, relative to it.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, path)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func walkAll(t *testing.T, s packages.BlobStore) map[string]int64 {
	t.Helper()
	m := map[string]int64{}
	if err := s.Walk(t.Context(), func(d string, n int64) error { m[d] = n; return nil }); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestLayout(t *testing.T) {
	root := t.TempDir()
	s := newStore(t, root)
	p := []byte("layout")
	d, _, err := s.Put(t.Context(), bytes.NewReader(p), "")
	if err != nil {
		t.Fatal(err)
	}
	h := d[len("sha256:"):]
	got, err := os.ReadFile(filepath.Join(root, "sha256", h[:2], h))
	if err != nil || !bytes.Equal(got, p) {
		t.Fatalf("blob file: %q, %v", got, err)
	}
	sums, err := os.ReadFile(filepath.Join(root, "sha256", h[:2], h+".sums"))
	if err != nil {
		t.Fatalf("checksums file: %v", err)
	}
	want := `{"md5":"` + hexSum(md5.New(), p) + `","sha1":"` + hexSum(sha1.New(), p) + `","sha256":"` + h + `","sha512":"` + hexSum(sha512.New(), p) + `"}`
	if string(sums) != want {
		t.Fatalf("checksums file %s, want %s", sums, want)
	}
	if f := files(t, root); len(f) != 2 {
		t.Fatalf("files under root: %v, want the blob and its checksums", f)
	}
}

func hexSum(h hash.Hash, p []byte) string {
	h.Write(p)
	return hex.EncodeToString(h.Sum(nil))
}

// TestChecksumsComputedAgain: a blob stored before checksums were kept, or
// whose checksums file is damaged, gets them computed from its bytes, and
// kept; a Put of the same content restores a missing file.
func TestChecksumsComputedAgain(t *testing.T) {
	ctx := t.Context()
	root := t.TempDir()
	s := newStore(t, root)
	p := []byte("stored by an older version")
	d, _, err := s.Put(ctx, bytes.NewReader(p), "")
	if err != nil {
		t.Fatal(err)
	}
	h := d[len("sha256:"):]
	sumsFile := filepath.Join(root, "sha256", h[:2], h+".sums")
	want := packages.Checksums{MD5: hexSum(md5.New(), p), SHA1: hexSum(sha1.New(), p), SHA256: h, SHA512: hexSum(sha512.New(), p)}
	good, err := os.ReadFile(sumsFile)
	if err != nil {
		t.Fatal(err)
	}

	damage := []struct {
		name  string
		apply func() error
	}{
		{"missing", func() error { return os.Remove(sumsFile) }},
		{"empty", func() error { return os.WriteFile(sumsFile, nil, 0o600) }},
		{"truncated", func() error { return os.WriteFile(sumsFile, good[:len(good)/2], 0o600) }},
		{"another blob's", func() error {
			return os.WriteFile(sumsFile, bytes.Replace(good, []byte(h), []byte(strings.Repeat("0", 64)), 1), 0o600)
		}},
		{"not hex", func() error {
			return os.WriteFile(sumsFile, bytes.Replace(good, []byte(want.MD5), []byte(strings.Repeat("z", 32)), 1), 0o600)
		}},
	}
	for _, c := range damage {
		t.Run(c.name, func(t *testing.T) {
			if err := c.apply(); err != nil {
				t.Fatal(err)
			}
			got, err := s.Checksums(ctx, d)
			if err != nil || got != want {
				t.Fatalf("Checksums = %+v, %v; want %+v", got, err, want)
			}
			if b, err := os.ReadFile(sumsFile); err != nil || !bytes.Equal(b, good) {
				t.Fatalf("checksums file after Checksums: %s, %v; want %s", b, err, good)
			}
		})
	}

	if err := os.Remove(sumsFile); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Put(ctx, bytes.NewReader(p), d); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(sumsFile); err != nil || !bytes.Equal(b, good) {
		t.Fatalf("checksums file after a second Put: %s, %v; want %s", b, err, good)
	}

	// Deleting the blob deletes its checksums.
	if err := s.Delete(ctx, d); err != nil {
		t.Fatal(err)
	}
	if f := files(t, root); len(f) != 0 {
		t.Fatalf("files after Delete: %v", f)
	}
}

// TestCrashLeavesTempFiles simulates a crash in the middle of a Put: a
// partial temporary file is never visible, survives a restart so that
// garbage collection can report it, and is removed by PurgeTemp once it is
// old enough to belong to no running Put.
func TestCrashLeavesTempFiles(t *testing.T) {
	ctx := t.Context()
	root := t.TempDir()
	s := newStore(t, root)
	oldTemp := leaveTemp(t, root, 3000, 2*time.Hour)
	newTemp := leaveTemp(t, root, 200, 0)
	if m := walkAll(t, s); len(m) != 0 {
		t.Fatalf("Walk = %v, want nothing", m)
	}

	s = newStore(t, root) // a restart
	for _, f := range []string{oldTemp, newTemp} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("temporary file gone at restart, unreported: %v", err)
		}
	}
	// Purging upload sessions leaves them alone.
	if _, err := s.PurgeUploads(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}

	cutoff := time.Now().Add(-time.Hour)
	cases := []struct {
		name       string
		dryRun     bool
		want       packages.TempReport
		oldRemains bool
	}{
		{"dry run", true, packages.TempReport{Stale: 1, StaleBytes: 3000, Fresh: 1, FreshBytes: 200}, true},
		{"purge", false, packages.TempReport{Stale: 1, StaleBytes: 3000, Fresh: 1, FreshBytes: 200}, false},
		{"again", false, packages.TempReport{Fresh: 1, FreshBytes: 200}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep, err := s.PurgeTemp(ctx, cutoff, c.dryRun)
			if err != nil || rep != c.want {
				t.Fatalf("PurgeTemp = %+v, %v; want %+v", rep, err, c.want)
			}
			if _, err := os.Stat(oldTemp); (err == nil) != c.oldRemains {
				t.Fatalf("old temporary file: %v, want present %v", err, c.oldRemains)
			}
			if _, err := os.Stat(newTemp); err != nil {
				t.Fatalf("recent temporary file removed: %v", err)
			}
		})
	}
}

type failAfter struct {
	r io.Reader
	n int
}

func (f *failAfter) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("connection reset")
	}
	p = p[:min(len(p), f.n)]
	n, err := f.r.Read(p)
	f.n -= n
	return n, err
}

// TestFailedPutLeavesNothing checks that a Put that fails midway removes its
// temporary file and stores nothing.
func TestFailedPutLeavesNothing(t *testing.T) {
	root := t.TempDir()
	s := newStore(t, root)
	p := bytes.Repeat([]byte("x"), 5<<20)
	if _, _, err := s.Put(t.Context(), &failAfter{r: bytes.NewReader(p), n: 3 << 20}, ""); err == nil {
		t.Fatal("Put from a failing reader succeeded")
	}
	if _, _, err := s.Put(t.Context(), bytes.NewReader(p), digestOf([]byte("other"))); packages.KindOf(err) != packages.KindInvalid {
		t.Fatalf("Put with a wrong digest = %v", err)
	}
	if f := files(t, root); len(f) != 0 {
		t.Fatalf("files left behind: %v", f)
	}
}

// TestCrashBeforeClose simulates a crash after bytes were written to a
// session but before Close saved its state: a restarted Store rehashes the
// data file.
func TestCrashBeforeClose(t *testing.T) {
	root := t.TempDir()
	s := newStore(t, root)
	u, err := s.NewUpload(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	p1, p2 := []byte("written before the crash, "), []byte("and after the restart")
	if _, err := u.Write(p1); err != nil {
		t.Fatal(err)
	}
	// No Close: the process dies.

	s2 := newStore(t, root)
	if m := walkAll(t, s2); len(m) != 0 {
		t.Fatalf("uncommitted session visible: %v", m)
	}
	u2, err := s2.ResumeUpload(t.Context(), u.ID())
	if err != nil {
		t.Fatal(err)
	}
	defer u2.Close()
	if u2.Size() != int64(len(p1)) {
		t.Fatalf("Size = %d, want %d", u2.Size(), len(p1))
	}
	if _, err := u2.Write(p2); err != nil {
		t.Fatal(err)
	}
	all := append(append([]byte{}, p1...), p2...)
	d, _, err := u2.Commit(t.Context(), digestOf(all))
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if d != digestOf(all) {
		t.Fatalf("Commit = %s", d)
	}
}

// TestStaleState covers a data file that grew after the state was saved,
// and a state file that is garbage.
func TestStaleState(t *testing.T) {
	root := t.TempDir()
	s := newStore(t, root)
	u, err := s.NewUpload(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	id, started := u.ID(), u.StartedAt()
	p1 := []byte("saved with state")
	if _, err := u.Write(p1); err != nil {
		t.Fatal(err)
	}
	if err := u.Close(); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "uploads", id)

	// Bytes that reached the data file but not the state.
	p2 := []byte(", and more that did not")
	f, err := os.OpenFile(filepath.Join(dir, "data"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(p2)
	f.Close()
	all := append(append([]byte{}, p1...), p2...)

	u, err = newStore(t, root).ResumeUpload(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if u.Size() != int64(len(all)) {
		t.Fatalf("Size = %d, want %d", u.Size(), len(all))
	}
	if !u.StartedAt().Equal(started) {
		t.Fatalf("StartedAt = %v, want %v", u.StartedAt(), started)
	}
	if err := u.Close(); err != nil {
		t.Fatal(err)
	}

	// A state file that is garbage.
	if err := os.WriteFile(filepath.Join(dir, "state"), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	u, err = newStore(t, root).ResumeUpload(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if u.Size() != int64(len(all)) {
		t.Fatalf("Size = %d, want %d", u.Size(), len(all))
	}
	if u.StartedAt().IsZero() {
		t.Fatal("StartedAt is zero")
	}
	d, _, err := u.Commit(t.Context(), digestOf(all))
	if err != nil || d != digestOf(all) {
		t.Fatalf("Commit = %s, %v", d, err)
	}
}

// TestStrayFiles checks that files that are not blobs are never reported.
func TestStrayFiles(t *testing.T) {
	root := t.TempDir()
	s := newStore(t, root)
	d, _, err := s.Put(t.Context(), bytes.NewReader([]byte("real")), "")
	if err != nil {
		t.Fatal(err)
	}
	h := d[len("sha256:"):]
	shard := filepath.Join(root, "sha256", h[:2])
	upper := filepath.Join(root, "sha256", "ab", "AB"+h[2:])
	misplaced := filepath.Join(root, "sha256", "00", "ab"+h[2:])
	for _, f := range []string{filepath.Join(shard, h+".tmp"), filepath.Join(shard, "junk"), upper, misplaced} {
		if err := os.WriteFile(f, []byte("junk"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	dirBlob := "ab" + h[2:]
	if err := os.Mkdir(filepath.Join(root, "sha256", "ab", dirBlob), 0o750); err != nil {
		t.Fatal(err)
	}
	if m := walkAll(t, s); len(m) != 1 || m[d] != 4 {
		t.Fatalf("Walk = %v, want only %s", m, d)
	}
	if _, err := s.Stat(t.Context(), "sha256:"+dirBlob); !packages.IsNotFound(err) {
		t.Fatalf("Stat of a directory = %v, want not found", err)
	}
	if _, err := s.Open(t.Context(), "sha256:"+dirBlob); !packages.IsNotFound(err) {
		t.Fatalf("Open of a directory = %v, want not found", err)
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := fileblob.New(""); err == nil {
		t.Fatal("New(\"\") succeeded")
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := fileblob.New(file); err == nil {
		t.Fatal("New on a regular file succeeded")
	}
}

// TestPutStreams checks that Put does not hold a blob in memory.
func TestPutStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode")
	}
	const size = 64 << 20
	s := newStore(t, t.TempDir())
	r := io.LimitReader(rand.NewChaCha8([32]byte{7}), size)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, n, err := s.Put(t.Context(), r, "")
	runtime.ReadMemStats(&after)
	if err != nil || n != size {
		t.Fatalf("Put = %d, %v", n, err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > size/8 {
		t.Fatalf("Put of %d bytes allocated %d bytes", size, alloc)
	}
}

// TestPing: a store answers its health check while its directories are
// there, and fails it once they are gone, as when a shared directory is
// unmounted.
func TestPing(t *testing.T) {
	root := filepath.Join(t.TempDir(), "blobs")
	s, err := fileblob.New(root)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	if err := os.RemoveAll(filepath.Join(root, "uploads")); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Fatal("ping succeeded without the uploads directory")
	}
	if err := os.RemoveAll(root); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Fatal("ping succeeded without the root")
	}
}
