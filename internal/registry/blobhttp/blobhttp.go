// Package blobhttp serves the bytes of a blob over HTTP for every protocol
// front: ranges, conditional requests and HEAD, with the kernel sending the
// bytes where the blob store is file-backed.
package blobhttp

import (
	"io"
	"net/http"
	"time"

	"github.com/packhub/packhub/internal/packages"
)

// Blob is what Serve answers with.
type Blob struct {
	Reader      packages.BlobReader
	ContentType string    // default application/octet-stream
	ETag        string    // quoted entity tag; "" for none
	ModTime     time.Time // zero for none
}

// Serve answers r with the blob: 200 with the whole blob, 206 for a
// satisfiable range, 416 for an unsatisfiable one, 304 for a matching
// conditional request, and headers alone for HEAD. The caller sets any
// other header first and closes the reader after.
func Serve(w http.ResponseWriter, r *http.Request, b Blob) {
	ct := b.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	if b.ETag != "" {
		h.Set("ETag", b.ETag)
	}
	http.ServeContent(w, r, "", b.ModTime, sendable(b.Reader))
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
