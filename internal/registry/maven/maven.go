// Package maven is Packhub's Apache Maven registry under
// /maven/OWNER/REPO/: the Maven 2 repository layout over HTTP, as mvn and
// Gradle deploy to and resolve from it. A package is GROUP.ARTIFACT (as on
// GitHub), each version a package version and its jars, poms and other
// files the version's files. Maven packages belong to their repository:
// the repository's roles decide who may read and deploy, and tokens need
// the repo scope. /maven/OWNER/*/ reads from every repository of the owner
// the caller may read.
//
// Every rule lives in the packages service; this package parses paths,
// poms and metadata, authenticates, renders maven-metadata.xml and
// checksums, and maps errors to HTTP statuses in one place.
package maven

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/packhub/packhub/internal/auth"
	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/registry/blobhttp"
	"github.com/packhub/packhub/internal/registry/httperror"
)

// Prefix is the path the registry is served under.
const Prefix = "/maven"

// DefaultMaxFileSize is the largest file a deploy may send when
// Options.MaxFileSize is not set.
const DefaultMaxFileSize = 1 << 30

// Limits of the documents Packhub reads whole.
const (
	maxPomSize      = 8 << 20  // a pom is parsed before it is stored
	maxMetadataSize = 16 << 20 // an uploaded maven-metadata.xml
	maxChecksumSize = 1 << 10  // a .sha1 or the like: hex and maybe a file name
)

// Options configure the registry.
type Options struct {
	// MaxFileSize is the largest file, in bytes, a deploy may send; larger
	// ones are refused with 413. Default DefaultMaxFileSize.
	MaxFileSize int64
	// SnapshotRetention is how many of the newest builds of each SNAPSHOT
	// version are kept: a deploy of a newer build deletes the files of the
	// older ones. 0 keeps every build.
	SnapshotRetention int
	// AllowRedeploy lets a deploy replace a file of a release with other
	// content. Off, releases are immutable and such a deploy gets 409.
	AllowRedeploy bool
	// BlobRedirect sends large downloads to the blob store (a 307 to a
	// presigned URL) where it can presign them. Default off.
	BlobRedirect blobhttp.Redirect
	// Logger receives the registry's logs. Default slog.Default().
	Logger *slog.Logger
}

type handler struct {
	svc  *packages.Service
	opts Options
	log  *slog.Logger
	docs *docCache
}

// New returns the Maven registry handler. It expects full request paths,
// starting with /maven/.
func New(svc *packages.Service, opts Options) http.Handler {
	if opts.MaxFileSize <= 0 {
		opts.MaxFileSize = DefaultMaxFileSize
	}
	if opts.SnapshotRetention < 0 {
		opts.SnapshotRetention = 0
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &handler{svc: svc, opts: opts, log: opts.Logger, docs: newDocCache(64 << 20)}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h.serve(w, r); err != nil {
		h.fail(w, r, err)
	}
}

func (h *handler) serve(w http.ResponseWriter, r *http.Request) error {
	l, err := parsePath(r.URL.EscapedPath())
	if err != nil {
		return err
	}
	ctx := r.Context()
	a, err := h.actor(ctx, r)
	if err != nil {
		return err
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return h.hide(ctx, a, l, h.read(w, r, a, l))
	case http.MethodPut:
		return h.write(w, r, a, l)
	}
	w.Header().Set("Allow", "GET, HEAD, PUT")
	return &httpError{status: http.StatusMethodNotAllowed, msg: "Method not allowed: deploy with PUT; delete versions through the REST API"}
}

func (h *handler) read(w http.ResponseWriter, r *http.Request, a *packages.Actor, l *location) error {
	switch l.target {
	case targetListing:
		return h.listing(w, r, a, l)
	case targetArtifactMetadata:
		d, err := h.artifactMetadata(r.Context(), a, l)
		if err != nil {
			return err
		}
		return serveDocument(w, r, d, l.checksum)
	case targetVersionMetadata:
		d, err := h.versionMetadata(r.Context(), a, l)
		if err != nil {
			return err
		}
		return serveDocument(w, r, d, l.checksum)
	}
	if l.checksum != "" {
		return h.fileChecksum(w, r, a, l)
	}
	return h.download(w, r, a, l)
}

func (h *handler) write(w http.ResponseWriter, r *http.Request, a *packages.Actor, l *location) error {
	if l.repo == anyRepository {
		return &httpError{status: http.StatusMethodNotAllowed, msg: "/maven/OWNER/*/ is for reading: deploy to /maven/OWNER/REPO/"}
	}
	if l.target == targetListing {
		return &httpError{status: http.StatusMethodNotAllowed, msg: "Method not allowed on a directory"}
	}
	// Refuse early, before reading what may be a large body.
	if err := h.svc.CheckScopes(a, packages.OpWrite, packages.TypeMaven); err != nil {
		return err
	}
	switch {
	case l.target != targetFile:
		return h.putMetadata(w, r, a, l)
	case l.checksum != "":
		return h.putChecksum(w, r, a, l)
	}
	return h.putFile(w, r, a, l)
}

// actor authenticates the request's token (Basic with any user name and
// the token as password, as mvn sends it, or a bearer token); nil for
// anonymous requests.
func (h *handler) actor(ctx context.Context, r *http.Request) (*packages.Actor, error) {
	c, ok := auth.FromRequest(r)
	if !ok {
		return nil, nil
	}
	if c.Secret == "" {
		return nil, packages.Errorf(packages.KindBadCredentials, packages.MsgBadCredentials)
	}
	return h.svc.Authenticate(ctx, c.Secret)
}

// hide turns what an anonymous read does not find into a request for
// credentials, as it does for a private package: mvn sends its
// credentials on a GET only after a 401, and a missing package must look
// like a private one. In a public repository, which hides nothing, a
// missing file is a plain 404.
func (h *handler) hide(ctx context.Context, a *packages.Actor, l *location, err error) error {
	if err == nil || !a.Anonymous() || !packages.IsNotFound(err) {
		return err
	}
	if l.repo != anyRepository {
		public, perr := h.svc.PublicRepository(ctx, l.repository())
		if perr != nil {
			return perr
		}
		if public {
			return err
		}
	}
	return packages.Wrap(packages.KindUnauthenticated, packages.MsgRequiresAuthentication, err)
}

// inRepository refuses a package of another repository than the one the
// URL names.
func inRepository(pi *packages.PackageInfo, l *location) error {
	if l.repo == anyRepository || pi.InRepository(l.repository()) {
		return nil
	}
	return packages.ErrPackageNotFound
}

// httpError is an error with a status of its own, for what is not a
// domain error (a method not allowed).
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func invalid(format string, args ...any) error {
	return packages.Errorf(packages.KindInvalid, format, args...)
}

// fail answers err with its status and a plain-text message; a 401 carries
// the Basic challenge mvn waits for before it sends credentials. Internal
// causes are logged, not shown.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := errorStatus(err)
	if status >= 500 {
		h.log.ErrorContext(r.Context(), "maven request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	} else {
		h.log.DebugContext(r.Context(), "maven request refused", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="Packhub Maven"`)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	io.WriteString(w, msg+"\n")
}

// errorStatus maps an error to a status and a public message.
func errorStatus(err error) (int, string) {
	var he *httpError
	var pe *pathError
	var se *syntaxError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		return he.status, he.msg
	case errors.As(err, &pe):
		if pe.notFound {
			return http.StatusNotFound, pe.msg
		}
		return http.StatusBadRequest, pe.msg
	case errors.As(err, &se):
		return http.StatusBadRequest, se.msg
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, "The file is larger than the limit of this registry."
	case errors.Is(err, io.ErrUnexpectedEOF):
		return http.StatusBadRequest, "The request body ended early."
	}
	return httperror.Status(err, http.StatusBadRequest)
}

// readSmall reads a body of at most limit bytes; a larger one is
// KindTooLarge.
func readSmall(r io.Reader, limit int64, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, packages.Errorf(packages.KindTooLarge, "%s is larger than %d bytes", what, limit)
	}
	return b, nil
}

// firstField returns the first white-space separated field of a checksum
// file ("HEX" or "HEX  FILENAME").
func firstField(b []byte) string {
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return ""
	}
	return strings.ToLower(f[0])
}
