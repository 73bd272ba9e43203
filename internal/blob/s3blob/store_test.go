package s3blob_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/packhub/packhub/internal/blob/s3blob"
	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv/s3server"
)

func digestOf(p []byte) string {
	sum := sha256.Sum256(p)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func randomBytes(seed uint64, n int) []byte {
	var s [32]byte
	s[0] = byte(seed)
	p := make([]byte, n)
	rand.NewChaCha8(s).Read(p)
	return p
}

func readAll(t *testing.T, s packages.BlobStore, d string) []byte {
	t.Helper()
	r, err := s.Open(t.Context(), d)
	if err != nil {
		t.Fatalf("Open(%s): %v", d, err)
	}
	defer r.Close()
	p, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s: %v", d, err)
	}
	return p
}

// TestResumeAcrossInstances: several processes on one bucket carry one
// session on in turn, across part boundaries, and any of them commits it.
func TestResumeAcrossInstances(t *testing.T) {
	srv := s3server.Start(t)
	bucket := srv.NewBucket(t)
	stores := []*s3blob.Store{newStore(t, srv, bucket, "p/"), newStore(t, srv, bucket, "p/"), newStore(t, srv, bucket, "p/")}
	p := randomBytes(1, 5*s3blob.DefaultPartSize+12345)

	u, err := stores[0].NewUpload(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	id := u.ID()
	u.Close()
	chunks := []int{100, 3 << 20, s3blob.DefaultPartSize, 7 << 20, 1, s3blob.DefaultPartSize + 5}
	off := 0
	for i, c := range chunks {
		s := stores[i%len(stores)]
		u, err := s.ResumeUpload(t.Context(), id)
		if err != nil {
			t.Fatalf("chunk %d: ResumeUpload: %v", i, err)
		}
		if u.Size() != int64(off) {
			t.Fatalf("chunk %d: resumed Size = %d, want %d", i, u.Size(), off)
		}
		n, err := u.Append(t.Context(), bytes.NewReader(p[off:off+c]))
		if err != nil || n != int64(c) {
			t.Fatalf("chunk %d: Append = %d, %v", i, n, err)
		}
		off += c
		u.Close()
	}
	u, err = stores[2].ResumeUpload(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.Append(t.Context(), bytes.NewReader(p[off:])); err != nil {
		t.Fatal(err)
	}
	u.Close()
	u, err = stores[1].ResumeUpload(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	d, n, err := u.Commit(t.Context(), digestOf(p))
	if err != nil || n != int64(len(p)) {
		t.Fatalf("Commit = %s, %d, %v", d, n, err)
	}
	if got := readAll(t, stores[0], d); !bytes.Equal(got, p) {
		t.Fatalf("committed blob differs: %d bytes", len(got))
	}
	sums, err := stores[2].Checksums(t.Context(), d)
	if err != nil || sums.SHA256 != d[7:] || !sums.Known() {
		t.Fatalf("Checksums = %+v, %v", sums, err)
	}
	if _, err := stores[0].ResumeUpload(t.Context(), id); !packages.IsNotFound(err) {
		t.Fatalf("ResumeUpload after Commit = %v, want not found", err)
	}
	// Nothing of the session is left in the bucket.
	out, err := stores[0].Client().ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("p/uploads/")})
	if err != nil || len(out.Contents) != 0 {
		t.Fatalf("uploads/ holds %d objects after Commit, %v", len(out.Contents), err)
	}
}

// TestStaleWriter: a writer whose view of a session is out of date (another
// process appended since it loaded it) is refused, and the session keeps
// exactly what the other process appended.
func TestStaleWriter(t *testing.T) {
	srv := s3server.Start(t)
	bucket := srv.NewBucket(t)
	a, b := newStore(t, srv, bucket, ""), newStore(t, srv, bucket, "")
	ua, err := a.NewUpload(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	if _, err := ua.Write([]byte("first ")); err != nil {
		t.Fatal(err)
	}
	ub, err := b.ResumeUpload(t.Context(), ua.ID())
	if err != nil {
		t.Fatal(err)
	}
	defer ub.Close()
	big := randomBytes(2, s3blob.DefaultPartSize+10) // makes a piece too
	if _, err := ua.Append(t.Context(), bytes.NewReader(big)); err != nil {
		t.Fatal(err)
	}
	n, err := ub.Append(t.Context(), strings.NewReader("stale"))
	if err == nil || packages.KindOf(err) != packages.KindConflict || n != 0 {
		t.Fatalf("stale Append = %d, %v; want a conflict", n, err)
	}
	// Reloaded, the second writer carries on from where the session is.
	if _, err := ub.Append(t.Context(), strings.NewReader("last")); err != nil {
		t.Fatalf("Append after reload: %v", err)
	}
	want := append(append([]byte("first "), big...), "last"...)
	if ub.Size() != int64(len(want)) {
		t.Fatalf("Size = %d, want %d", ub.Size(), len(want))
	}
	// A stale Commit is refused too.
	if _, _, err := ua.Commit(t.Context(), ""); packages.KindOf(err) != packages.KindConflict {
		t.Fatalf("stale Commit = %v, want a conflict", err)
	}
	d, _, err := ub.Commit(t.Context(), digestOf(want))
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if got := readAll(t, a, d); !bytes.Equal(got, want) {
		t.Fatal("committed blob differs")
	}
}

// TestPutWithoutDigest: a large Put whose digest is not given is stored in
// parts under tmp/ and assembled under its digest; nothing is left behind.
func TestPutWithoutDigest(t *testing.T) {
	srv := s3server.Start(t)
	s := newStore(t, srv, srv.NewBucket(t), "x")
	p := randomBytes(3, 2*s3blob.DefaultPartSize+77)
	d, n, err := s.Put(t.Context(), bytes.NewReader(p), "")
	if err != nil || d != digestOf(p) || n != int64(len(p)) {
		t.Fatalf("Put = %s, %d, %v", d, n, err)
	}
	if got := readAll(t, s, d); !bytes.Equal(got, p) {
		t.Fatal("blob differs")
	}
	// Again: the same blob, marked as put again.
	if _, _, err := s.Put(t.Context(), bytes.NewReader(p), ""); err != nil {
		t.Fatal(err)
	}
	rep, err := s.PurgeTemp(t.Context(), time.Now().Add(time.Hour), true)
	if err != nil || rep != (packages.TempReport{}) {
		t.Fatalf("PurgeTemp = %+v, %v; want nothing left", rep, err)
	}
}

// TestDeleteIfOlder: a blob written, or put again, after the cutoff is
// kept.
func TestDeleteIfOlder(t *testing.T) {
	srv := s3server.Start(t)
	s := newStore(t, srv, srv.NewBucket(t), "")
	ctx := t.Context()
	d, _, err := s.Put(ctx, strings.NewReader("bytes"), "")
	if err != nil {
		t.Fatal(err)
	}
	if deleted, err := s.DeleteIfOlder(ctx, d, time.Now().Add(-time.Hour)); err != nil || deleted {
		t.Fatalf("young blob: deleted=%v err=%v", deleted, err)
	}
	// Put again after a cutoff that the blob itself is older than.
	time.Sleep(1100 * time.Millisecond) // S3 keeps times to the second
	cutoff := time.Now()
	time.Sleep(1100 * time.Millisecond)
	if _, _, err := s.Put(ctx, strings.NewReader("bytes"), d); err != nil {
		t.Fatal(err)
	}
	if deleted, err := s.DeleteIfOlder(ctx, d, cutoff); err != nil || deleted {
		t.Fatalf("blob put again after the cutoff: deleted=%v err=%v", deleted, err)
	}
	if deleted, err := s.DeleteIfOlder(ctx, d, time.Now().Add(time.Hour)); err != nil || !deleted {
		t.Fatalf("old blob: deleted=%v err=%v", deleted, err)
	}
	if _, err := s.Stat(ctx, d); !packages.IsNotFound(err) {
		t.Fatalf("Stat after delete = %v", err)
	}
	if deleted, err := s.DeleteIfOlder(ctx, d, time.Now()); err != nil || deleted {
		t.Fatalf("missing blob: deleted=%v err=%v", deleted, err)
	}
}

// TestPurgeAbandonedMultipart: a multipart upload a crashed Put left is
// reported and aborted.
func TestPurgeAbandonedMultipart(t *testing.T) {
	srv := s3server.Start(t)
	s := newStore(t, srv, srv.NewBucket(t), "m/")
	ctx := t.Context()
	key := "m/blobs/sha256/" + strings.Repeat("ab", 32)
	c := s.Client()
	mpu, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(s.Bucket()), Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(s.Bucket()), Key: &key, UploadId: mpu.UploadId,
		PartNumber: aws.Int32(1), Body: bytes.NewReader(make([]byte, 1000)), ContentLength: aws.Int64(1000)}); err != nil {
		t.Fatal(err)
	}
	rep, err := s.PurgeTemp(ctx, time.Now().Add(-time.Hour), false)
	if err != nil || rep.Stale != 0 || rep.Fresh != 1 || rep.FreshBytes != 1000 {
		t.Fatalf("PurgeTemp(an hour ago) = %+v, %v; want one fresh upload of 1000 bytes", rep, err)
	}
	rep, err = s.PurgeTemp(ctx, time.Now().Add(time.Hour), false)
	if err != nil || rep.Stale != 1 || rep.StaleBytes != 1000 {
		t.Fatalf("PurgeTemp(in an hour) = %+v, %v; want one stale upload of 1000 bytes", rep, err)
	}
	out, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(s.Bucket())})
	if err != nil || len(out.Uploads) != 0 {
		t.Fatalf("%d multipart uploads left, %v", len(out.Uploads), err)
	}
	if _, err := s.Stat(ctx, "sha256:"+strings.Repeat("ab", 32)); !packages.IsNotFound(err) {
		t.Fatalf("Stat = %v, want not found", err)
	}
}

// TestPresign: a blob's presigned URL serves its bytes, ranges included,
// to a client without credentials.
func TestPresign(t *testing.T) {
	srv := s3server.Start(t)
	s := newStore(t, srv, srv.NewBucket(t), "")
	p := randomBytes(4, 100_000)
	d, _, err := s.Put(t.Context(), bytes.NewReader(p), "")
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Open(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ps, ok := r.(packages.PresignableReader)
	if !ok {
		t.Fatal("the S3 reader cannot presign")
	}
	u, err := ps.PresignGet(t.Context(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Range", "bytes=10-19")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	got, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusPartialContent || !bytes.Equal(got, p[10:20]) {
		t.Fatalf("GET presigned range: %d %q", res.StatusCode, got)
	}
	if u2, err := s.PresignGet(t.Context(), d, time.Minute); err != nil || !strings.Contains(u2, "X-Amz-Signature") {
		t.Fatalf("PresignGet = %q, %v", u2, err)
	}
}
