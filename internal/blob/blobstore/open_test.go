package blobstore_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packhub/packhub/internal/blob"
	"github.com/packhub/packhub/internal/blob/blobstore"
	"github.com/packhub/packhub/internal/blob/fileblob"
)

func TestOpenFile(t *testing.T) {
	dir := t.TempDir()
	spaced := filepath.Join(dir, "with space")
	rel, err := filepath.Rel(mustGetwd(t), filepath.Join(dir, "rel"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		url, root string
	}{
		{"file://" + filepath.ToSlash(filepath.Join(dir, "a")), filepath.Join(dir, "a")},
		{"FILE://" + filepath.ToSlash(filepath.Join(dir, "b")), filepath.Join(dir, "b")},
		{"file://localhost" + filepath.ToSlash(filepath.Join(dir, "c")), filepath.Join(dir, "c")},
		{"file://" + strings.ReplaceAll(filepath.ToSlash(spaced), " ", "%20"), spaced},
		{filepath.Join(dir, "plain"), filepath.Join(dir, "plain")},
		{rel, filepath.Join(dir, "rel")},
	} {
		s, err := blobstore.Open(t.Context(), tc.url)
		if err != nil {
			t.Fatalf("Open(%q): %v", tc.url, err)
		}
		fs, ok := s.(*fileblob.Store)
		if !ok {
			t.Fatalf("Open(%q) = %T, want *fileblob.Store", tc.url, s)
		}
		if fs.Root() != tc.root {
			t.Fatalf("Open(%q) root = %q, want %q", tc.url, fs.Root(), tc.root)
		}
		d, _, err := s.Put(t.Context(), bytes.NewReader([]byte("hi")), "")
		if err != nil || d != blob.FromBytes([]byte("hi")) {
			t.Fatalf("Put = %s, %v", d, err)
		}
	}
}

func mustGetwd(t *testing.T) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

func TestOpenErrors(t *testing.T) {
	for _, tc := range []struct {
		url, want string
	}{
		{"", "empty"},
		{"s3://bucket/prefix", "s3 blob store not available in this build"},
		{"S3://key:secret@bucket/prefix?region=x", "s3 blob store not available in this build"},
		{"gs://bucket", "unsupported store URL scheme"},
		{"file://otherhost/x", "only local paths"},
		{"file:///x?y=1", "no user, query or fragment"},
		{"file://", "file:///absolute/path"},
	} {
		s, err := blobstore.Open(t.Context(), tc.url)
		if err == nil {
			t.Fatalf("Open(%q) = %T, want an error", tc.url, s)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("Open(%q) = %q, want it to mention %q", tc.url, err, tc.want)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Fatalf("Open(%q) leaks the URL: %q", tc.url, err)
		}
	}
}
