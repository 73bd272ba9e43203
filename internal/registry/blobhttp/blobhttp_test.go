package blobhttp_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/blob/fileblob"
	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/registry/blobhttp"
)

// plainReader is a blob reader without a file behind it, as an object
// store's would be.
type plainReader struct{ *strings.Reader }

func (plainReader) Close() error  { return nil }
func (p plainReader) Size() int64 { return p.Reader.Size() }

func TestServe(t *testing.T) {
	const content = "0123456789abcdefghij"
	store, err := fileblob.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	d, _, err := store.Put(t.Context(), strings.NewReader(content), "")
	if err != nil {
		t.Fatal(err)
	}
	readers := map[string]func(t *testing.T) packages.BlobReader{
		"file-backed": func(t *testing.T) packages.BlobReader {
			rd, err := store.Open(t.Context(), d)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := rd.(packages.FileBacked); !ok {
				t.Fatal("the file blob store's reader is not file-backed")
			}
			return rd
		},
		"plain": func(*testing.T) packages.BlobReader { return plainReader{strings.NewReader(content)} },
	}
	cases := []struct {
		method, rng, ifNoneMatch string
		status                   int
		body                     string
	}{
		{"GET", "", "", 200, content},
		{"HEAD", "", "", 200, ""},
		{"GET", "bytes=5-9", "", 206, "56789"},
		{"GET", "bytes=15-", "", 206, "fghij"},
		{"GET", "bytes=30-40", "", 416, ""},
		{"GET", "", `"etag"`, 304, ""},
	}
	for name, open := range readers {
		for _, tc := range cases {
			t.Run(name+"/"+tc.method+tc.rng+tc.ifNoneMatch, func(t *testing.T) {
				rd := open(t)
				defer rd.Close()
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					blobhttp.Serve(w, r, blobhttp.Blob{Reader: rd, ETag: `"etag"`})
				}))
				defer srv.Close()
				req, _ := http.NewRequest(tc.method, srv.URL, nil)
				if tc.rng != "" {
					req.Header.Set("Range", tc.rng)
				}
				if tc.ifNoneMatch != "" {
					req.Header.Set("If-None-Match", tc.ifNoneMatch)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != tc.status {
					t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
				}
				if tc.status < 300 && string(b) != tc.body {
					t.Fatalf("body %q, want %q", b, tc.body)
				}
				if ct := resp.Header.Get("Content-Type"); tc.status < 300 && ct != "application/octet-stream" {
					t.Fatalf("content type %q", ct)
				}
			})
		}
	}
}

// TestServeLarge covers blobs served in large writes: whole, and a range
// that crosses a write boundary.
func TestServeLarge(t *testing.T) {
	content := strings.Repeat("0123456789abcdef", 3<<16) // 3 MiB
	store, err := fileblob.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	d, _, err := store.Put(t.Context(), strings.NewReader(content), "")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rd, err := store.Open(r.Context(), d)
		if err != nil {
			t.Error(err)
			return
		}
		defer rd.Close()
		blobhttp.Serve(w, r, blobhttp.Blob{Reader: rd})
	}))
	defer srv.Close()
	for _, tc := range []struct {
		rng    string
		status int
		body   string
	}{
		{"", 200, content},
		{"bytes=1048570-1048589", 206, content[1048570:1048590]},
		{"bytes=2097152-", 206, content[2097152:]},
	} {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		if tc.rng != "" {
			req.Header.Set("Range", tc.rng)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != tc.status || string(b) != tc.body {
			t.Fatalf("range %q: status %d, %d bytes; want %d, %d bytes", tc.rng, resp.StatusCode, len(b), tc.status, len(tc.body))
		}
	}
}

// presignable is a blob reader whose store presigns URLs.
type presignable struct {
	plainReader
	fail bool
}

func (p presignable) PresignGet(_ context.Context, ttl time.Duration) (string, error) {
	if p.fail {
		return "", errors.New("presign failed")
	}
	return "https://store.example/blob?ttl=" + ttl.String(), nil
}

func TestRedirect(t *testing.T) {
	const content = "0123456789abcdefghij" // 20 bytes
	on := blobhttp.Redirect{Enabled: true, MinSize: 10}
	cases := []struct {
		name     string
		method   string
		header   string // "Name: value"
		redirect blobhttp.Redirect
		reader   func() packages.BlobReader
		status   int
	}{
		{"large GET", "GET", "", on, func() packages.BlobReader { return presignable{plainReader: plainReader{strings.NewReader(content)}} }, 307},
		{"range GET", "GET", "Range: bytes=1-2", on, func() packages.BlobReader { return presignable{plainReader: plainReader{strings.NewReader(content)}} }, 307},
		{"off", "GET", "", blobhttp.Redirect{}, func() packages.BlobReader { return presignable{plainReader: plainReader{strings.NewReader(content)}} }, 200},
		{"small", "GET", "", blobhttp.Redirect{Enabled: true, MinSize: 21}, func() packages.BlobReader { return presignable{plainReader: plainReader{strings.NewReader(content)}} }, 200},
		{"HEAD", "HEAD", "", on, func() packages.BlobReader { return presignable{plainReader: plainReader{strings.NewReader(content)}} }, 200},
		{"conditional", "GET", `If-None-Match: "etag"`, on, func() packages.BlobReader { return presignable{plainReader: plainReader{strings.NewReader(content)}} }, 304},
		{"not presignable", "GET", "", on, func() packages.BlobReader { return plainReader{strings.NewReader(content)} }, 200},
		{"presign fails", "GET", "", on, func() packages.BlobReader {
			return presignable{plainReader: plainReader{strings.NewReader(content)}, fail: true}
		}, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(tc.method, "/blob", nil)
			if tc.header != "" {
				k, v, _ := strings.Cut(tc.header, ": ")
				req.Header.Set(k, v)
			}
			blobhttp.Serve(rec, req, blobhttp.Blob{Reader: tc.reader(), ETag: `"etag"`, Redirect: tc.redirect})
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			loc := rec.Header().Get("Location")
			if tc.status == 307 {
				if loc != "https://store.example/blob?ttl=5m0s" {
					t.Fatalf("Location %q", loc)
				}
				return
			}
			if loc != "" {
				t.Fatalf("Location %q on a %d", loc, rec.Code)
			}
			if tc.status == 200 && tc.method == "GET" && rec.Body.String() != content {
				t.Fatalf("body %q", rec.Body.String())
			}
		})
	}
}
