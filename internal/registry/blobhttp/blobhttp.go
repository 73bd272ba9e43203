// Package blobhttp serves the bytes of a blob over HTTP for every protocol
// front: ranges, conditional requests and HEAD, writing large blobs to the
// connection in large writes, and, when configured, a redirect to the blob
// store itself for large downloads.
package blobhttp

import (
	"io"
	"net/http"
	"time"

	"github.com/packhub/packhub/internal/packages"
)

// DefaultRedirectTTL is how long a redirect's presigned URL stays valid.
const DefaultRedirectTTL = 5 * time.Minute

// Redirect says which downloads answer with a redirect (307) to a URL the
// blob store presigns, so that the bytes flow from the store to the client
// without passing through the server. Only readers that can presign
// (packages.PresignableReader) are redirected; others stream as usual.
type Redirect struct {
	Enabled bool
	// MinSize is the smallest blob redirected; smaller ones stream.
	MinSize int64
	// TTL is how long the URL stays valid; 0 means DefaultRedirectTTL.
	TTL time.Duration
}

// Blob is what Serve answers with.
type Blob struct {
	Reader      packages.BlobReader
	ContentType string    // default application/octet-stream
	ETag        string    // quoted entity tag; "" for none
	ModTime     time.Time // zero for none
	// Redirect, when enabled, sends a GET of a large blob to the blob
	// store. The caller has authorised the read (and counted the
	// download) before calling Serve.
	Redirect Redirect
}

// Serve answers r with the blob: 200 with the whole blob, 206 for a
// satisfiable range, 416 for an unsatisfiable one, 304 for a matching
// conditional request, and headers alone for HEAD; or, for a GET that
// b.Redirect covers, 307 to the blob store. The caller sets any other
// header first and closes the reader after.
func Serve(w http.ResponseWriter, r *http.Request, b Blob) {
	if u := redirectURL(r, b); u != "" {
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, u, http.StatusTemporaryRedirect)
		return
	}
	ct := b.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	if b.ETag != "" {
		h.Set("ETag", b.ETag)
	}
	http.ServeContent(largeWrites(w, b.Reader.Size()), r, "", b.ModTime, sendable(b.Reader))
}

// writeSize is the size of the writes a large blob goes out in.
const writeSize = 1 << 20

// largeWrites returns w, for a blob of size bytes at least writeSize, with
// a ReadFrom that copies through a buffer of writeSize: one write system
// call per MiB. Measured on loopback (docs/performance.md), this moves a
// large blob faster than the kernel's sendfile, which http.ResponseWriter
// uses for a file otherwise, and than the 32 KiB copies it uses for other
// readers. The buffer lives as long as the response: one per download of a
// large blob.
func largeWrites(w http.ResponseWriter, size int64) http.ResponseWriter {
	if size < writeSize {
		return w
	}
	return &largeWriter{ResponseWriter: w}
}

type largeWriter struct {
	http.ResponseWriter
}

// ReadFrom copies src to the response in writes of writeSize.
func (w *largeWriter) ReadFrom(src io.Reader) (int64, error) {
	return io.CopyBuffer(writerOnly{w.ResponseWriter}, src, make([]byte, writeSize))
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *largeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// writerOnly hides every method of a writer but Write, so that io.CopyBuffer
// uses the buffer it is given instead of the writer's ReadFrom.
type writerOnly struct{ io.Writer }

// redirectURL returns where to redirect r, or "" to serve it here: HEAD
// and conditional requests are answered here, as are small blobs and
// readers that cannot presign. A store that fails to presign is served
// from here too.
func redirectURL(r *http.Request, b Blob) string {
	rd := b.Redirect
	if !rd.Enabled || r.Method != http.MethodGet || b.Reader.Size() < rd.MinSize {
		return ""
	}
	for _, h := range []string{"If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range"} {
		if r.Header.Get(h) != "" {
			return ""
		}
	}
	p, ok := b.Reader.(packages.PresignableReader)
	if !ok {
		return ""
	}
	ttl := rd.TTL
	if ttl <= 0 {
		ttl = DefaultRedirectTTL
	}
	u, err := p.PresignGet(r.Context(), ttl)
	if err != nil {
		return ""
	}
	return u
}

// sendable returns what http.ServeContent should read a blob from: the
// blob's own file when the reader offers it, so that the kernel sends it
// (sendfile), else the reader itself.
func sendable(rd packages.BlobReader) io.ReadSeeker {
	if f, ok := rd.(packages.FileBacked); ok {
		if file := f.File(); file != nil {
			return file
		}
	}
	return rd
}
