package oci

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/registry/blobhttp"
)

// readPackage returns the package a name refers to, for reading.
func (h *handler) readPackage(ctx context.Context, c *caller, name Name) (*packages.PackageInfo, error) {
	pi, err := h.svc.RegistryPackage(ctx, c.actor, name.Ref)
	if err != nil {
		return nil, readError(c, name, err, codeNameUnknown)
	}
	if !h.inRepository(ctx, pi, name) {
		return nil, unknownName(c, name, nil)
	}
	return pi, nil
}

// pushTarget returns where a push to name goes: its package, or, before
// its first manifest, the name itself.
func (h *handler) pushTarget(ctx context.Context, c *caller, name Name) (*packages.PushTarget, error) {
	t, err := h.svc.PushTarget(ctx, c.actor, name.Ref, name.Repository)
	if err != nil {
		if packages.KindOf(err) == packages.KindInvalid {
			e := errorf(codeNameInvalid, "%s", packages.PublicMessage(err, "invalid name"))
			e.cause = err
			return nil, e
		}
		return nil, serviceError(err, codeNameUnknown, scope(name.Full, actionPull, actionPush))
	}
	if t.Package != nil && !h.inRepository(ctx, t.Package, name) {
		return nil, errorf(codeDenied, "the image %s belongs to another repository", name.Ref.Name)
	}
	return t, nil
}

// readBlob reports whether the caller may read blob d through name: the
// package links it, or the caller pushed it there before the first
// manifest. An error is the answer to give.
func (h *handler) readBlob(ctx context.Context, c *caller, name Name, d string) (bool, error) {
	pi, linked, err := h.svc.RegistryBlob(ctx, c.actor, name.Ref, name.Repository, d)
	if err != nil {
		return false, readError(c, name, err, codeNameUnknown)
	}
	if pi != nil && !h.inRepository(ctx, pi, name) {
		return false, unknownName(c, name, nil)
	}
	return linked, nil
}

// blobDigest checks a digest in a blob URL. Well-formed digests of other
// algorithms are simply unknown.
func blobDigest(d string) error {
	switch classifyDigest(d) {
	case digestMalformed:
		return errorf(codeDigestInvalid, "invalid digest %q", truncate(d))
	case digestUnsupported:
		return errorf(codeBlobUnknown, "blob unknown to registry")
	}
	return nil
}

func (h *handler) getBlob(w http.ResponseWriter, r *http.Request, name Name, d string) error {
	c, err := h.need(r, name, []string{actionPull}, actionPull)
	if err != nil {
		return err
	}
	if err := blobDigest(d); err != nil {
		return err
	}
	ctx := r.Context()
	pi, rd, err := h.svc.OpenRegistryBlob(ctx, c.actor, name.Ref, name.Repository, d)
	if errors.Is(err, packages.ErrBlobNotFound) {
		if pi != nil && !h.inRepository(ctx, pi, name) {
			return unknownName(c, name, nil)
		}
		return errorf(codeBlobUnknown, "blob unknown to registry")
	}
	if err != nil {
		return readError(c, name, err, codeNameUnknown)
	}
	defer rd.Close()
	if pi != nil && !h.inRepository(ctx, pi, name) {
		return unknownName(c, name, nil)
	}
	w.Header().Set("Docker-Content-Digest", d)
	// Ranges (206, 416), conditional requests and HEAD, streamed from the
	// blob store.
	blobhttp.Serve(w, r, blobhttp.Blob{Reader: rd, ETag: `"` + d + `"`, Redirect: h.redirect})
	return nil
}

func (h *handler) deleteBlob(w http.ResponseWriter, r *http.Request, name Name, d string) error {
	c, err := h.need(r, name, []string{actionDelete}, actionDelete)
	if err != nil {
		return err
	}
	if err := blobDigest(d); err != nil {
		return err
	}
	if _, err := h.readPackage(r.Context(), c, name); err != nil {
		return err
	}
	if err := h.svc.UnlinkBlob(r.Context(), c.actor, name.Ref, d); err != nil {
		if errors.Is(err, packages.ErrBlobNotFound) {
			return errorf(codeBlobUnknown, "blob unknown to registry")
		}
		return serviceError(err, codeNameUnknown, scope(name.Full, actionDelete))
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// ---- Upload sessions -----------------------------------------------------

// sessionRef binds a blob store upload id to the registry type and the
// repository name, so that a session cannot be continued through another
// repository: "<id>.<mac>".
func (h *handler) sessionRef(name Name, id string) string {
	return id + "." + h.sessionMAC(name, id)
}

func (h *handler) sessionMAC(name Name, id string) string {
	m := hmac.New(sha256.New, h.uploadKey)
	fmt.Fprintf(m, "%s\x00%s\x00%s", h.typ, strings.ToLower(name.Full), id)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// sessionID checks a session reference from a URL and returns the upload
// id.
func (h *handler) sessionID(name Name, ref string) (string, error) {
	id, mac, ok := strings.Cut(ref, ".")
	if !ok || id == "" || !hmac.Equal([]byte(mac), []byte(h.sessionMAC(name, id))) {
		return "", errorf(codeBlobUploadUnknown, "blob upload unknown to registry")
	}
	return id, nil
}

func (h *handler) uploadLocation(name Name, ref string) string {
	return "/v2/" + name.Full + "/blobs/uploads/" + ref
}

func blobLocation(name Name, d string) string { return "/v2/" + name.Full + "/blobs/" + d }

// rangeHeader is the Range header of an upload with size bytes.
func rangeHeader(size int64) string {
	end := size - 1
	if end < 0 {
		end = 0
	}
	return "0-" + strconv.FormatInt(end, 10)
}

func (h *handler) sessionHeaders(w http.ResponseWriter, name Name, ref string, size int64) {
	hdr := w.Header()
	hdr.Set("Location", h.uploadLocation(name, ref))
	hdr.Set("Range", rangeHeader(size))
	hdr.Set("Docker-Upload-UUID", ref)
	hdr.Set("Content-Length", "0")
}

// tooLarge is the error for a blob over the size limit.
func (h *handler) tooLarge() error {
	return errorf(codeSizeInvalid, "blob exceeds the maximum size of %d bytes", h.maxBlob).withStatus(http.StatusRequestEntityTooLarge)
}

// bodyError marks an error reading the request body, as opposed to one
// writing to the blob store.
type bodyError struct{ err error }

func (e *bodyError) Error() string { return "read request body: " + e.err.Error() }
func (e *bodyError) Unwrap() error { return e.err }

type bodyReader struct{ r io.Reader }

func (b bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		err = &bodyError{err}
	}
	return n, err
}

// copyError turns an error of streaming a body into a registry error.
func copyError(err error) error {
	var be *bodyError
	if errors.As(err, &be) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errorf(codeSizeInvalid, "request body too large").withStatus(http.StatusRequestEntityTooLarge)
		}
		e := errorf(codeBlobUploadInvalid, "reading the request body failed")
		e.cause = err
		return e
	}
	return err
}

func (h *handler) startUpload(w http.ResponseWriter, r *http.Request, name Name) error {
	q := r.URL.Query()
	mount, from := q.Get("mount"), q.Get("from")
	// A mount asks for the source's pull scope too, so that a client that
	// requests exactly the challenged scopes gets a token that mounts.
	challenge := scope(name.Full, actionPull, actionPush)
	if mount != "" && from != "" && from != name.Full {
		if src, err := ParseName(h.typ, from); err == nil {
			challenge += " " + scope(src.Full, actionPull)
		}
	}
	c, err := h.needScope(r, name, challenge, actionPush)
	if err != nil {
		return err
	}
	ctx := r.Context()
	t, err := h.pushTarget(ctx, c, name)
	if err != nil {
		return err
	}
	if mount != "" && classifyDigest(mount) == digestSupported {
		if ok, err := h.mount(ctx, c, t, name, mount, from); err != nil {
			return err
		} else if ok {
			w.Header().Set("Location", blobLocation(name, mount))
			w.Header().Set("Docker-Content-Digest", mount)
			w.Header().Set("Content-Length", "0")
			w.WriteHeader(http.StatusCreated)
			return nil
		}
	}
	if d := q.Get("digest"); d != "" {
		return h.monolithic(w, r, name, t, d)
	}
	up, err := h.svc.NewUpload(ctx, t)
	if err != nil {
		return err
	}
	if err := up.Close(); err != nil {
		return err
	}
	h.sessionHeaders(w, name, h.sessionRef(name, up.ID()), 0)
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// mount links a blob of another repository into t when the caller may read
// it there; false means the client should upload it.
func (h *handler) mount(ctx context.Context, c *caller, t *packages.PushTarget, name Name, d, from string) (bool, error) {
	if from == "" || from == name.Full {
		// No source: mount only what the repository already has.
		return h.svc.BlobLinked(ctx, t, d)
	}
	src, err := ParseName(h.typ, from)
	if err != nil || !c.allows(src.Full, actionPull) {
		return false, nil
	}
	if linked, err := h.readBlob(ctx, c, src, d); err != nil || !linked {
		return false, nil
	}
	if err := h.svc.LinkBlob(ctx, t, d); err != nil {
		var unknown *packages.BlobUnknownError
		if errors.As(err, &unknown) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// uploadDigest checks the digest a client says its upload has.
func uploadDigest(d string) error {
	switch classifyDigest(d) {
	case digestSupported:
		return nil
	case digestUnsupported:
		return errorf(codeDigestInvalid, "unsupported digest algorithm in %q: use sha256", truncate(d))
	}
	return errorf(codeDigestInvalid, "invalid digest %q", truncate(d))
}

// commitErr maps an error of committing bytes under a digest.
func commitErr(err error) error {
	var be *bodyError
	if errors.As(err, &be) {
		return copyError(err)
	}
	if packages.KindOf(err) == packages.KindInvalid {
		e := errorf(codeDigestInvalid, "provided digest did not match uploaded content")
		e.cause = err
		return e
	}
	return copyError(err)
}

// monolithic stores a blob sent whole with its digest.
func (h *handler) monolithic(w http.ResponseWriter, r *http.Request, name Name, t *packages.PushTarget, d string) error {
	if err := uploadDigest(d); err != nil {
		return err
	}
	if h.maxBlob > 0 && r.ContentLength > h.maxBlob {
		return h.tooLarge()
	}
	var rd io.Reader = bodyReader{r.Body}
	if h.maxBlob > 0 {
		rd = &capReader{r: rd, left: h.maxBlob}
	}
	got, _, err := h.svc.PutBlob(r.Context(), t, rd, d)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			return h.tooLarge()
		}
		return commitErr(err)
	}
	return h.blobLocated(w, name, got)
}

var errTooLarge = errors.New("blob too large")

// capReader fails with errTooLarge once more than left bytes are read, so
// that a blob store's Put stores nothing.
type capReader struct {
	r    io.Reader
	left int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left < 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return n, errTooLarge
	}
	return n, err
}

// blobCreated records a committed blob and links it to the push target.
func (h *handler) blobCreated(w http.ResponseWriter, r *http.Request, name Name, t *packages.PushTarget, d string, size int64) error {
	if err := h.svc.AddBlob(r.Context(), t, d, size); err != nil {
		return err
	}
	return h.blobLocated(w, name, d)
}

// blobLocated answers that blob d is stored and linked to name.
func (h *handler) blobLocated(w http.ResponseWriter, name Name, d string) error {
	w.Header().Set("Location", blobLocation(name, d))
	w.Header().Set("Docker-Content-Digest", d)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
	return nil
}

// openSession authorizes a request on an upload session and resumes it.
// The caller must Close the upload and call unlock.
func (h *handler) openSession(r *http.Request, name Name, ref string) (*packages.PushTarget, packages.Upload, func(), error) {
	c, err := h.need(r, name, []string{actionPull, actionPush}, actionPush)
	if err != nil {
		return nil, nil, nil, err
	}
	id, err := h.sessionID(name, ref)
	if err != nil {
		return nil, nil, nil, err
	}
	t, err := h.pushTarget(r.Context(), c, name)
	if err != nil {
		return nil, nil, nil, err
	}
	unlock := h.locks.lock(id)
	up, err := h.svc.ResumeUpload(r.Context(), t, id)
	if err != nil {
		unlock()
		if packages.IsNotFound(err) {
			return nil, nil, nil, errorf(codeBlobUploadUnknown, "blob upload unknown to registry")
		}
		return nil, nil, nil, err
	}
	return t, up, unlock, nil
}

// parseContentRange parses a chunk's Content-Range: "start-end", with the
// "bytes " or "bytes=" prefixes and a "/total" suffix some clients add.
func parseContentRange(s string) (start, end int64, ok bool) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "bytes")
	s = strings.TrimLeft(s, " =")
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	a, b, found := strings.Cut(s, "-")
	if !found {
		return 0, 0, false
	}
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || start < 0 || end < start {
		return 0, 0, false
	}
	return start, end, true
}

// appendChunk appends the request body to an upload, checking its
// Content-Range against what the session holds. A chunk is appended whole
// or not at all: one that is refused, breaks off or does not fit leaves
// the session as it was.
func (h *handler) appendChunk(w http.ResponseWriter, r *http.Request, name Name, ref string, up packages.Upload) error {
	size := up.Size()
	want := int64(-1)
	if cr := r.Header.Get("Content-Range"); cr != "" {
		start, end, ok := parseContentRange(cr)
		if !ok || start != size || (r.ContentLength >= 0 && r.ContentLength != end-start+1) {
			e := errorf(codeBlobUploadInvalid, "chunk out of order: the upload holds %d bytes", size).withStatus(http.StatusRequestedRangeNotSatisfiable)
			e.header = http.Header{
				"Location":           {h.uploadLocation(name, ref)},
				"Range":              {rangeHeader(size)},
				"Docker-Upload-Uuid": {ref},
			}
			return e
		}
		want = end - start + 1
	}
	if h.maxBlob > 0 && (size+max(want, r.ContentLength) > h.maxBlob) {
		return h.tooLarge()
	}
	var rd io.Reader = bodyReader{r.Body}
	if want >= 0 {
		rd = &chunkReader{r: rd, want: want}
	}
	if h.maxBlob > 0 {
		rd = &capReader{r: rd, left: h.maxBlob - size}
	}
	if _, err := up.Append(r.Context(), rd); err != nil {
		var ce *chunkSizeError
		switch {
		case errors.Is(err, errTooLarge):
			return h.tooLarge()
		case errors.As(err, &ce):
			e := errorf(codeBlobUploadInvalid, "%s", ce.Error())
			e.cause = err
			return e
		}
		return copyError(err)
	}
	return nil
}

// chunkSizeError says that a chunk's body is not as long as its
// Content-Range.
type chunkSizeError struct {
	got, want int64
}

func (e *chunkSizeError) Error() string {
	if e.got > e.want {
		return fmt.Sprintf("chunk longer than its Content-Range of %d bytes", e.want)
	}
	return fmt.Sprintf("chunk shorter than its Content-Range: got %d of %d bytes", e.got, e.want)
}

// chunkReader reads a chunk that must be exactly want bytes long, failing
// with a *chunkSizeError otherwise, so that the upload appends none of it.
type chunkReader struct {
	r         io.Reader
	want, got int64
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if left := c.want - c.got + 1; int64(len(p)) > left {
		p = p[:left] // one byte past the end tells a longer body
	}
	n, err := c.r.Read(p)
	c.got += int64(n)
	switch {
	case c.got > c.want:
		return n, &chunkSizeError{got: c.got, want: c.want}
	case err == io.EOF && c.got < c.want:
		return n, &chunkSizeError{got: c.got, want: c.want}
	}
	return n, err
}

func (h *handler) patchUpload(w http.ResponseWriter, r *http.Request, name Name, ref string) error {
	_, up, unlock, err := h.openSession(r, name, ref)
	if err != nil {
		return err
	}
	defer unlock()
	defer up.Close()
	if err := h.appendChunk(w, r, name, ref, up); err != nil {
		return err
	}
	h.sessionHeaders(w, name, ref, up.Size())
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (h *handler) putUpload(w http.ResponseWriter, r *http.Request, name Name, ref string) error {
	d := r.URL.Query().Get("digest")
	if d == "" {
		// Authorize first, so that an anonymous client gets its challenge.
		if _, err := h.need(r, name, []string{actionPull, actionPush}, actionPush); err != nil {
			return err
		}
		return errorf(codeDigestInvalid, "the digest query parameter is required")
	}
	t, up, unlock, err := h.openSession(r, name, ref)
	if err != nil {
		return err
	}
	defer unlock()
	defer up.Close()
	if err := uploadDigest(d); err != nil {
		return err
	}
	if err := h.appendChunk(w, r, name, ref, up); err != nil {
		return err
	}
	got, size, err := up.Commit(r.Context(), d)
	if err != nil {
		return commitErr(err)
	}
	return h.blobCreated(w, r, name, t, got, size)
}

func (h *handler) uploadStatus(w http.ResponseWriter, r *http.Request, name Name, ref string) error {
	_, up, unlock, err := h.openSession(r, name, ref)
	if err != nil {
		return err
	}
	defer unlock()
	defer up.Close()
	h.sessionHeaders(w, name, ref, up.Size())
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *handler) cancelUpload(w http.ResponseWriter, r *http.Request, name Name, ref string) error {
	_, up, unlock, err := h.openSession(r, name, ref)
	if err != nil {
		return err
	}
	defer unlock()
	defer up.Close()
	if err := up.Cancel(r.Context()); err != nil {
		if packages.IsNotFound(err) {
			return errorf(codeBlobUploadUnknown, "blob upload unknown to registry")
		}
		return err
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusNoContent)
	return nil
}
