// Package npm is Packhub's npm registry: the subset of the npm registry API
// that the npm, pnpm and yarn clients use, under /npm/. Package names are
// scoped, @OWNER/NAME, and the scope names the owner (a user or an
// organization). Every rule lives in the packages service; this package
// parses the wire format, authenticates, renders packuments and maps
// errors to npm's {"error": "..."} bodies.
package npm

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/packhub/packhub/internal/auth"
	"github.com/packhub/packhub/internal/bodylimit"
	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/registry/blobhttp"
	"github.com/packhub/packhub/internal/registry/httperror"
)

// Prefix is the path the registry is served under.
const Prefix = "/npm"

// DefaultMaxTarballSize is the largest tarball a publish may carry when
// Options.MaxTarballSize is not set.
const DefaultMaxTarballSize = 256 << 20

// DefaultMaxManifestSize is the largest version manifest a publish may
// carry when Options.MaxManifestSize is not set.
const DefaultMaxManifestSize = 8 << 20

// maxDocSize bounds a PUT document without its attachments (a publish, or a
// whole packument sent back by deprecate or unpublish) unless twice the
// manifest limit is more.
const maxDocSize = 64 << 20

// Options configure the registry.
type Options struct {
	// BaseURL is Packhub's external URL (scheme, host and optional path,
	// without /npm), written into tarball URLs. When empty, it is taken from
	// each request.
	BaseURL string
	// MaxTarballSize is the largest tarball, in bytes, a publish may carry;
	// larger ones are refused with 413. Default DefaultMaxTarballSize.
	MaxTarballSize int64
	// MaxManifestSize is the largest version manifest, in bytes as sent, a
	// publish may carry; it also bounds every other member of a PUT
	// document. Larger ones are refused with 413. Default
	// DefaultMaxManifestSize.
	MaxManifestSize int64
	// Bodies caps how many large PUT documents are read at once; it may be
	// shared with other fronts. Nil: no cap.
	Bodies *bodylimit.Limiter
	// BlobRedirect sends large downloads to the blob store (a 307 to a
	// presigned URL) where it can presign them. Default off.
	BlobRedirect blobhttp.Redirect
	// Logger receives the registry's logs. Default slog.Default().
	Logger *slog.Logger
}

type handler struct {
	svc      *packages.Service
	opts     Options
	log      *slog.Logger
	basePath string // path of BaseURL, for repository URLs
	docs     *docCache
}

// New returns the npm registry handler. It expects full request paths,
// starting with /npm/.
func New(svc *packages.Service, opts Options) http.Handler {
	opts.BaseURL = strings.TrimSuffix(opts.BaseURL, "/")
	if opts.MaxTarballSize <= 0 {
		opts.MaxTarballSize = DefaultMaxTarballSize
	}
	if opts.MaxManifestSize <= 0 {
		opts.MaxManifestSize = DefaultMaxManifestSize
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	h := &handler{svc: svc, opts: opts, log: opts.Logger, docs: newDocCache(64 << 20)}
	if u, err := url.Parse(opts.BaseURL); err == nil {
		h.basePath = strings.TrimSuffix(u.Path, "/")
	}
	return h
}

// pkgName is a parsed @OWNER/NAME.
type pkgName struct {
	owner, name string
}

func (n pkgName) ref() packages.PackageRef {
	return packages.PackageRef{Owner: n.owner, Scope: packages.AnyOwner, Type: packages.TypeNpm, Name: n.name}
}

func (n pkgName) String() string { return "@" + n.owner + "/" + n.name }

// splitName parses a package name from the unescaped path segments segs
// ("@owner/name" in one segment when the client escaped the slash, or
// "@owner" and "name"), and returns the segments after it.
func splitName(segs []string) (pkgName, []string, bool) {
	if len(segs) == 0 || !strings.HasPrefix(segs[0], "@") {
		return pkgName{}, nil, false
	}
	first := segs[0][1:]
	var n pkgName
	rest := segs[1:]
	if o, nm, ok := strings.Cut(first, "/"); ok {
		n = pkgName{owner: o, name: nm}
	} else {
		if len(segs) < 2 {
			return pkgName{}, nil, false
		}
		n = pkgName{owner: first, name: segs[1]}
		rest = segs[2:]
	}
	if n.owner == "" || n.name == "" || strings.Contains(n.name, "/") {
		return pkgName{}, nil, false
	}
	return n, rest, true
}

// validNewName reports whether name (without the scope) may be published:
// npm's rules for new package names.
func validNewName(n pkgName) bool {
	if len(n.owner)+len(n.name)+2 > 214 {
		return false
	}
	for i := 0; i < len(n.name); i++ {
		c := n.name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '~':
		case (c == '.' || c == '_') && i > 0:
		default:
			return false
		}
	}
	return n.name != "node_modules" && n.name != "favicon.ico"
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h.serve(w, r); err != nil {
		h.fail(w, r, err)
	}
}

var errNotFound = packages.Errorf(packages.KindNotFound, "Not found")

func methodNotAllowed() error {
	return &httpError{status: http.StatusMethodNotAllowed, msg: "Method not allowed"}
}

func (h *handler) serve(w http.ResponseWriter, r *http.Request) error {
	p := r.URL.EscapedPath()
	if p != Prefix && !strings.HasPrefix(p, Prefix+"/") {
		return errNotFound
	}
	p = strings.Trim(strings.TrimPrefix(p, Prefix), "/")
	var segs []string
	if p != "" {
		for _, s := range strings.Split(p, "/") {
			u, err := url.PathUnescape(s)
			if err != nil {
				return errNotFound
			}
			segs = append(segs, u)
		}
	}
	if len(segs) == 0 {
		return errNotFound
	}
	if len(segs) >= 2 && segs[0] == "-" {
		switch {
		case segs[1] == "user":
			return h.user(w, r, segs[2:])
		case len(segs) == 3 && segs[1] == "v1" && segs[2] == "login":
			// npm login's default web flow: any 4xx makes npm fall back
			// to the legacy flow, which Packhub takes.
			return &httpError{status: http.StatusNotFound,
				msg: "Packhub does not support web login: use npm login --auth-type=legacy with your user name and a personal access token as the password"}
		}
	}
	ctx := r.Context()
	a, err := h.actor(ctx, r)
	if err != nil {
		return err
	}
	isGet := r.Method == http.MethodGet || r.Method == http.MethodHead

	if segs[0] == "-" {
		switch {
		case len(segs) == 2 && segs[1] == "ping":
			return writeJSON(w, http.StatusOK, struct{}{})
		case len(segs) == 2 && segs[1] == "whoami":
			if !isGet {
				return methodNotAllowed()
			}
			return h.whoami(w, a)
		case len(segs) == 3 && segs[1] == "v1" && segs[2] == "search":
			if !isGet {
				return methodNotAllowed()
			}
			return h.search(w, r, a)
		case len(segs) >= 3 && segs[1] == "package":
			n, rest, ok := splitName(segs[2:])
			if !ok || len(rest) == 0 || rest[0] != "dist-tags" || len(rest) > 2 {
				return errNotFound
			}
			if len(rest) == 1 {
				if !isGet {
					return methodNotAllowed()
				}
				return h.listDistTags(w, r, a, n)
			}
			switch r.Method {
			case http.MethodPut, http.MethodPost:
				return h.setDistTag(w, r, a, n, rest[1])
			case http.MethodDelete:
				return h.deleteDistTag(w, r, a, n, rest[1])
			case http.MethodGet, http.MethodHead:
				return h.getDistTag(w, r, a, n, rest[1])
			}
			return methodNotAllowed()
		}
		return errNotFound
	}

	n, rest, ok := splitName(segs)
	if !ok {
		return errNotFound
	}
	switch {
	case len(rest) == 0 || (len(rest) == 2 && rest[0] == "-rev"):
		switch {
		case isGet && len(rest) == 0:
			return h.packument(w, r, a, n)
		case r.Method == http.MethodPut:
			return h.put(w, r, a, n)
		case r.Method == http.MethodDelete && len(rest) == 2:
			return h.unpublishPackage(w, r, a, n)
		}
		return methodNotAllowed()
	case len(rest) == 2 && rest[0] == "-":
		if !isGet {
			return methodNotAllowed()
		}
		return h.tarball(w, r, a, n, rest[1])
	case len(rest) == 4 && rest[0] == "-" && rest[2] == "-rev":
		if r.Method != http.MethodDelete {
			return methodNotAllowed()
		}
		return h.deleteTarball(w, r, a, n, rest[1])
	case len(rest) == 1:
		if !isGet {
			return methodNotAllowed()
		}
		return h.version(w, r, a, n, rest[0])
	}
	return errNotFound
}

// actor authenticates the request's token; nil for anonymous requests.
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

func (h *handler) whoami(w http.ResponseWriter, a *packages.Actor) error {
	if a.Anonymous() {
		return packages.Errorf(packages.KindUnauthenticated, packages.MsgRequiresAuthentication)
	}
	return writeJSON(w, http.StatusOK, map[string]string{"username": a.User.Login})
}

// httpError is an error with a status of its own, for what is not a
// domain error (a method not allowed).
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

// fail renders err as npm does: {"error": "message"} with a status that
// follows the error's kind. Internal causes are logged, not shown.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := errorStatus(err)
	if status == http.StatusServiceUnavailable {
		h.log.WarnContext(r.Context(), "npm request turned away", "method", r.Method, "path", r.URL.Path, "err", err)
	} else if status >= 500 {
		h.log.ErrorContext(r.Context(), "npm request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	} else {
		h.log.DebugContext(r.Context(), "npm request refused", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	writeJSON(w, status, map[string]string{"error": msg})
}

// errorStatus maps an error to a status and a public message.
func errorStatus(err error) (int, string) {
	var he *httpError
	var se *syntaxError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		return he.status, he.msg
	case errors.As(err, &se):
		return http.StatusBadRequest, se.Error()
	case errors.Is(err, errDocTooLarge):
		return http.StatusRequestEntityTooLarge, "The package document is too large."
	case errors.Is(err, bodylimit.ErrBusy):
		return http.StatusServiceUnavailable, "Too many large uploads are being received; retry shortly."
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, "The request body is too large."
	}
	return httperror.Status(err, http.StatusBadRequest)
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return writeRaw(w, status, "application/json", b)
}

func writeRaw(w http.ResponseWriter, status int, contentType string, b []byte) error {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	w.Write(b)
	return nil
}

// baseURL is the external URL Packhub is reached at.
func (h *handler) baseURL(r *http.Request) string {
	if h.opts.BaseURL != "" {
		return h.opts.BaseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// tarballURL is where a version's tarball is downloaded from.
func (h *handler) tarballURL(r *http.Request, n pkgName, version string) string {
	return h.baseURL(r) + Prefix + "/@" + url.PathEscape(n.owner) + "/" + url.PathEscape(n.name) + "/-/" + url.PathEscape(tarballName(n, version))
}

// tarballName is a version's tarball file name, as npm names it.
func tarballName(n pkgName, version string) string {
	return n.name + "-" + version + ".tgz"
}
