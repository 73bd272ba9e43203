package blobstore_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/packhub/packhub/internal/blob"
	"github.com/packhub/packhub/internal/blob/blobstore"
	"github.com/packhub/packhub/internal/blob/fileblob"
	"github.com/packhub/packhub/internal/blob/s3blob"
	"github.com/packhub/packhub/internal/testenv/s3server"
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

func TestOpenS3(t *testing.T) {
	srv := s3server.Start(t)
	bucket := srv.NewBucket(t)
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	s, err := blobstore.Open(t.Context(), srv.URL(bucket, "some/prefix"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	ss, ok := s.(*s3blob.Store)
	if !ok {
		t.Fatalf("Open = %T, want *s3blob.Store", s)
	}
	if ss.Bucket() != bucket || ss.Prefix() != "some/prefix/" {
		t.Fatalf("bucket %q prefix %q", ss.Bucket(), ss.Prefix())
	}
	d, _, err := s.Put(t.Context(), bytes.NewReader([]byte("hi")), "")
	if err != nil || d != blob.FromBytes([]byte("hi")) {
		t.Fatalf("Put = %s, %v", d, err)
	}
	if _, err := srv.Client().HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("some/prefix/blobs/sha256/" + d[7:])}); err != nil {
		t.Fatalf("the blob is not where the layout says: %v", err)
	}

	// A bucket that does not exist, or wrong credentials, fail at once.
	if _, err := blobstore.Open(t.Context(), srv.URL("no-such-bucket", "")); err == nil {
		t.Fatal("Open of a missing bucket succeeded")
	}
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong")
	if _, err := blobstore.Open(t.Context(), srv.URL(bucket, "")); err == nil {
		t.Fatal("Open with a wrong secret succeeded")
	}
}

func TestOpenErrors(t *testing.T) {
	for _, tc := range []struct {
		url, want string
	}{
		{"", "empty"},
		{"S3://key:secret@bucket/prefix?region=x", "credentials do not belong in the URL"},
		{"s3:///prefix", "must name a bucket"},
		{"s3://bucket/prefix?colour=blue", "unknown URL parameter"},
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
