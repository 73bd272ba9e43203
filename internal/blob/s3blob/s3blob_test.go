package s3blob_test

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/packhub/packhub/internal/blob/blobtest"
	"github.com/packhub/packhub/internal/blob/s3blob"
	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv/s3server"
)

// newStore opens a store on a prefix of a bucket of srv.
func newStore(t testing.TB, srv *s3server.Server, bucket, prefix string) *s3blob.Store {
	t.Helper()
	s, err := s3blob.New(t.Context(), s3blob.Config{
		Bucket: bucket, Prefix: prefix, Endpoint: srv.Endpoint, Region: s3server.Region, PathStyle: true,
		AccessKeyID: s3server.AccessKey, SecretAccessKey: s3server.SecretKey,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	srv := s3server.Start(t)
	bucket := srv.NewBucket(t)
	n := 0
	blobtest.Suite{
		New: func(t *testing.T) packages.BlobStore {
			n++
			return newStore(t, srv, bucket, "suite"+strconv.Itoa(n)+"/")
		},
		Reopen: func(t *testing.T, s packages.BlobStore) packages.BlobStore {
			return newStore(t, srv, bucket, s.(*s3blob.Store).Prefix())
		},
		Backdate: func(t *testing.T, s packages.BlobStore, id string, age time.Duration) {
			backdate(t, s.(*s3blob.Store), id, age)
		},
		LeaveTemp: func(t *testing.T, s packages.BlobStore, size int64, age time.Duration) {
			leaveTemp(t, s.(*s3blob.Store), size, age)
		},
	}.Run(t)
}

// backdate makes a session's state say it was last written age ago.
func backdate(t *testing.T, s *s3blob.Store, id string, age time.Duration) {
	t.Helper()
	key := s.Prefix() + "uploads/" + id + "/state"
	out, err := s.Client().GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(s.Bucket()), Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	err = json.NewDecoder(out.Body).Decode(&st)
	out.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	st["updated_at"] = time.Now().Add(-age).UTC().Format(time.RFC3339Nano)
	b, _ := json.Marshal(st)
	if _, err := s.Client().PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(s.Bucket()), Key: &key, Body: bytes.NewReader(b)}); err != nil {
		t.Fatal(err)
	}
}

// leaveTemp leaves under tmp/ what a Put killed midway leaves: a part,
// written age ago.
func leaveTemp(t *testing.T, s *s3blob.Store, size int64, age time.Duration) {
	t.Helper()
	key := s.Prefix() + "tmp/killed" + strconv.FormatInt(time.Now().UnixNano(), 36) + "/" +
		strconv.FormatInt(time.Now().Add(-age).UnixNano(), 10) + "-0"
	if _, err := s.Client().PutObject(t.Context(), &s3.PutObjectInput{
		Bucket: aws.String(s.Bucket()), Key: &key, Body: bytes.NewReader(bytes.Repeat([]byte("p"), int(size))),
	}); err != nil {
		t.Fatal(err)
	}
}
