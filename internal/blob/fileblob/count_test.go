package fileblob_test

import (
	"context"
	"strings"
	"testing"

	"github.com/packhub/packhub/internal/blob/fileblob"
)

// TestCountUploads counts the sessions started and not finished, whichever
// Store of the directory started them.
func TestCountUploads(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := fileblob.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	count := func(s *fileblob.Store, want int) {
		t.Helper()
		if n, err := s.CountUploads(ctx); err != nil || n != want {
			t.Fatalf("CountUploads = %d, %v; want %d", n, err, want)
		}
	}
	count(s, 0)
	a, err := s.NewUpload(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.NewUpload(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Append(ctx, strings.NewReader("hello")); err != nil {
		t.Fatal(err)
	}
	a.Close()
	other, err := fileblob.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	count(other, 2)
	if _, _, err := b.Commit(ctx, ""); err != nil {
		t.Fatal(err)
	}
	count(s, 1)
	r, err := other.ResumeUpload(ctx, a.ID())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	count(s, 0)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.CountUploads(cctx); err == nil {
		t.Fatal("a cancelled context counted")
	}
}
