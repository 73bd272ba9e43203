package oci_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/registry/oci"
	"github.com/packhub/packhub/internal/testenv"
)

// unsized hides a body's length, so that it is sent chunked, as a client
// streaming a chunk does, and only reading it tells how long it is.
func unsized(b []byte) io.Reader { return io.MultiReader(bytes.NewReader(b)) }

// TestRefusedChunkLeavesSession: a chunk is appended whole or not at all.
// One whose body is shorter or longer than its Content-Range, or that does
// not fit under the size limit, is refused and the session keeps the bytes
// it had, so that the client can send the chunk again.
func TestRefusedChunkLeavesSession(t *testing.T) {
	r := newReg(t, testenv.New(t, "sqlite"), packages.TypeContainer, func(o *oci.Options) { o.MaxBlobSize = 40 })
	name := "alice/chunks"
	data := []byte("0123456789abcdefghijklmnopqrstuvwxyz")
	res := r.req("POST", "/v2/"+name+"/blobs/uploads/", r.alice, nil)
	r.expect(res, http.StatusAccepted, "")
	loc := res.Header.Get("Location")
	r.expect(r.req("PATCH", loc, r.alice, bytes.NewReader(data[:10]), "Content-Range", "10-19"), http.StatusRequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID")
	r.expect(r.req("PATCH", loc, r.alice, bytes.NewReader(data[:10]), "Content-Range", "0-9"), http.StatusAccepted, "")

	rangeNow := func() string {
		t.Helper()
		res := r.req("GET", loc, r.alice, nil)
		r.expect(res, http.StatusNoContent, "")
		return res.Header.Get("Range")
	}
	refused := []struct {
		name, method, query string
		body                io.Reader
		contentRange        string
		status              int
		code                string
	}{
		{"short chunk", "PATCH", "", unsized(data[10:15]), "10-19", http.StatusBadRequest, "BLOB_UPLOAD_INVALID"},
		{"long chunk", "PATCH", "", unsized(data[10:25]), "10-19", http.StatusBadRequest, "BLOB_UPLOAD_INVALID"},
		{"empty chunk", "PATCH", "", unsized(nil), "10-19", http.StatusBadRequest, "BLOB_UPLOAD_INVALID"},
		{"over the size limit", "PATCH", "", unsized(bytes.Repeat(data[10:], 2)), "", http.StatusRequestEntityTooLarge, "SIZE_INVALID"},
		{"short last chunk", "PUT", "?digest=" + digestOf(data[:20]), unsized(data[10:15]), "10-19", http.StatusBadRequest, "BLOB_UPLOAD_INVALID"},
		{"last chunk over the size limit", "PUT", "?digest=" + digestOf(data), unsized(bytes.Repeat(data[10:], 2)), "", http.StatusRequestEntityTooLarge, "SIZE_INVALID"},
	}
	for _, c := range refused {
		hdr := []string{"Content-Type", "application/octet-stream"}
		if c.contentRange != "" {
			hdr = append(hdr, "Content-Range", c.contentRange)
		}
		res := r.req(c.method, loc+c.query, r.alice, c.body, hdr...)
		if res.StatusCode != c.status || res.code() != c.code {
			t.Fatalf("%s: status %d %q, want %d %q: %s", c.name, res.StatusCode, res.code(), c.status, c.code, res.body)
		}
		if got := rangeNow(); got != "0-9" {
			t.Fatalf("%s: Range afterwards %q, want 0-9", c.name, got)
		}
	}

	// The chunk sent again, whole, is appended, and the blob is complete.
	res = r.req("PATCH", loc, r.alice, unsized(data[10:20]), "Content-Range", "10-19")
	r.expect(res, http.StatusAccepted, "")
	if got := res.Header.Get("Range"); got != "0-19" {
		t.Fatalf("Range after the chunk %q, want 0-19", got)
	}
	d := digestOf(data[:30])
	r.expect(r.req("PUT", loc+"?digest="+d, r.alice, unsized(data[20:30]), "Content-Range", "20-29"), http.StatusCreated, "")
	res = r.req("GET", "/v2/"+name+"/blobs/"+d, r.alice, nil)
	r.expect(res, http.StatusOK, "")
	if !bytes.Equal(res.body, data[:30]) {
		t.Fatalf("blob %q, want %q", res.body, data[:30])
	}
}

// TestOutOfSpace: a push that finds the disk full is answered 507 in the
// registry's error format, stores nothing, and the push succeeds once room
// is made.
func TestOutOfSpace(t *testing.T) {
	disk := testenv.SmallDisk(t, 2<<20)
	r := newReg(t, testenv.NewWithBlobs(t, "sqlite", disk), packages.TypeContainer, nil)
	name := "alice/full"
	wantFull := func(res *resp) {
		t.Helper()
		r.expect(res, http.StatusInsufficientStorage, "UNKNOWN")
		var body struct {
			Errors []struct{ Code, Message string } `json:"errors"`
		}
		if err := json.Unmarshal(res.body, &body); err != nil || len(body.Errors) != 1 || !strings.Contains(body.Errors[0].Message, "out of storage space") {
			t.Fatalf("error body %s", res.body)
		}
	}

	big := bytes.Repeat([]byte("layer bytes "), 300_000) // 3.6 MB
	wantFull(r.req("POST", "/v2/"+name+"/blobs/uploads/?digest="+digestOf(big), r.alice, bytes.NewReader(big)))

	res := r.req("POST", "/v2/"+name+"/blobs/uploads/", r.alice, nil)
	r.expect(res, http.StatusAccepted, "")
	loc := res.Header.Get("Location")
	r.expect(r.req("PATCH", loc, r.alice, bytes.NewReader(big[:1000])), http.StatusAccepted, "")
	wantFull(r.req("PATCH", loc, r.alice, unsized(big[1000:])))
	res = r.req("GET", loc, r.alice, nil)
	r.expect(res, http.StatusNoContent, "")
	if got := res.Header.Get("Range"); got != "0-999" {
		t.Fatalf("Range after a chunk that did not fit %q, want 0-999", got)
	}
	r.expect(r.req("HEAD", "/v2/"+name+"/blobs/"+digestOf(big), r.alice, nil), http.StatusNotFound, "")

	// Fill the disk to the last byte: even a small push, a session or a
	// manifest does not fit.
	filler := filepath.Join(disk, "filler")
	fillDisk(t, filler)
	im := makeImage("full", nil)
	wantFull(r.req("POST", "/v2/"+name+"/blobs/uploads/?digest="+im.configD, r.alice, bytes.NewReader(im.config)))
	wantFull(r.req("POST", "/v2/"+name+"/blobs/uploads/", r.alice, nil))
	wantFull(r.req("PATCH", loc, r.alice, bytes.NewReader(big[1000:20_000])))

	// Room is made: the same pushes succeed.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	r.expect(r.push(name, r.alice, im, "v1"), http.StatusCreated, "")
	res = r.req("GET", "/v2/"+name+"/manifests/v1", r.alice, nil, "Accept", "application/vnd.oci.image.manifest.v1+json")
	r.expect(res, http.StatusOK, "")
	if !bytes.Equal(res.body, im.manifest) {
		t.Fatal("manifest differs")
	}
	r.expect(r.req("PATCH", loc, r.alice, bytes.NewReader(big[1000:20_000])), http.StatusAccepted, "")
	d := digestOf(big[:20_000])
	r.expect(r.req("PUT", loc+"?digest="+d, r.alice, nil), http.StatusCreated, "")
}

// fillDisk writes to path until the disk is full.
func fillDisk(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for n := len(buf); n > 0; n /= 2 {
		for {
			if _, err := f.Write(buf[:n]); err != nil {
				break
			}
		}
	}
}
