package blobhttp_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/blob/fileblob"
	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/registry/blobhttp"
)

// BenchmarkServe downloads a 256 MiB file-backed blob on loopback: "serve"
// through Serve, "sendfile" through http.ServeContent handed the file, as
// Serve did before it wrote large blobs in 1 MiB writes.
//
//	go test -run X -bench Serve -count 5 ./internal/registry/blobhttp
func BenchmarkServe(b *testing.B) {
	const size = 256 << 20
	store, err := fileblob.New(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	d, _, err := store.Put(b.Context(), io.LimitReader(zeros{}, size), "")
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"serve", "sendfile"} {
		b.Run(mode, func(b *testing.B) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				rd, err := store.Open(r.Context(), d)
				if err != nil {
					b.Error(err)
					return
				}
				defer rd.Close()
				if mode == "serve" {
					blobhttp.Serve(w, r, blobhttp.Blob{Reader: rd})
					return
				}
				http.ServeContent(w, r, "", time.Time{}, rd.(packages.FileBacked).File())
			}))
			defer srv.Close()
			buf := make([]byte, 1<<20)
			b.SetBytes(size)
			for b.Loop() {
				resp, err := http.Get(srv.URL)
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.CopyBuffer(io.Discard, resp.Body, buf)
				resp.Body.Close()
				if err != nil || n != size {
					b.Fatalf("read %d bytes: %v", n, err)
				}
			}
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
