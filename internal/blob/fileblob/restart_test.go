package fileblob_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/blob/fileblob"
)

// TestResumeAfterRestartRehashes: upload chunks are not fsynced, so a state
// saved before a restart is not trusted. If the bytes on disk differ from
// what was written (pages lost in a crash), the digest describes the bytes
// on disk, and a client's expected digest no longer matches.
func TestResumeAfterRestartRehashes(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	s1, err := fileblob.New(root)
	if err != nil {
		t.Fatal(err)
	}
	up, err := s1.NewUpload(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id := up.ID()
	if _, err := up.Write([]byte("hello world")); err != nil {
		t.Fatal(err)
	}
	if err := up.Close(); err != nil {
		t.Fatal(err)
	}
	// What a crash could leave: the same size, other bytes.
	if err := os.WriteFile(filepath.Join(root, "uploads", id, "data"), []byte("HELLO WORLD"), 0o600); err != nil {
		t.Fatal(err)
	}
	s2, err := fileblob.New(root)
	if err != nil {
		t.Fatal(err)
	}
	resumed, err := s2.ResumeUpload(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("sha256:%x", sha256.Sum256([]byte("HELLO WORLD")))
	d, n, err := resumed.Commit(ctx, "")
	if err != nil || d != want || n != 11 {
		t.Fatalf("commit after restart: %s %d %v, want %s", d, n, err, want)
	}
}

// TestDeleteIfOlder: a blob put again after the cutoff is kept.
func TestDeleteIfOlder(t *testing.T) {
	ctx := context.Background()
	s, err := fileblob.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	d, _, err := s.Put(ctx, strings.NewReader("bytes"), "")
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-time.Hour)
	if deleted, err := s.DeleteIfOlder(ctx, d, before); err != nil || deleted {
		t.Fatalf("young blob: deleted=%v err=%v", deleted, err)
	}
	if _, err := s.Stat(ctx, d); err != nil {
		t.Fatalf("young blob gone: %v", err)
	}
	if deleted, err := s.DeleteIfOlder(ctx, d, time.Now().Add(time.Hour)); err != nil || !deleted {
		t.Fatalf("old blob: deleted=%v err=%v", deleted, err)
	}
	if _, err := s.Stat(ctx, d); err == nil {
		t.Fatal("old blob still there")
	}
	if deleted, err := s.DeleteIfOlder(ctx, d, time.Now()); err != nil || deleted {
		t.Fatalf("missing blob: deleted=%v err=%v", deleted, err)
	}
}
