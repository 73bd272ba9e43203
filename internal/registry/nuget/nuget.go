// Package nuget is Packhub's NuGet registry: the NuGet v3 protocol under
// /nuget/OWNER/, one feed per owner, with its service index at
// /nuget/OWNER/index.json. It takes pushes (NuGet's multipart PUT) of
// packages and symbol packages, serves the flat container, registration
// and search resources, and deletes versions. Every rule lives in the
// packages service; this package parses the wire format, authenticates,
// renders the feed's documents and maps errors to HTTP in one place.
package nuget

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/packhub/packhub/internal/auth"
	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/registry/blobhttp"
	"github.com/packhub/packhub/internal/registry/httperror"
)

// Prefix is the path the registry is served under.
const Prefix = "/nuget"

// Defaults of Options.
const (
	DefaultMaxPackageSize  = 256 << 20
	DefaultMaxUnpackedSize = 1 << 30
)

// Options configure the registry.
type Options struct {
	// BaseURL is Packhub's external URL (scheme, host and optional path,
	// without /nuget), written into every URL of the feed. When empty, it
	// is taken from each request.
	BaseURL string
	// MaxPackageSize is the largest .nupkg or .snupkg a push may carry;
	// larger ones are refused with 413. Default DefaultMaxPackageSize.
	MaxPackageSize int64
	// MaxUnpackedSize is the most bytes a package may unpack to; a
	// package that unpacks to more (a zip bomb) is refused. Default
	// DefaultMaxUnpackedSize.
	MaxUnpackedSize int64
	// TempDir is where pushed packages are spooled while they are read
	// (a zip needs random access). Default os.TempDir().
	TempDir string
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

// New returns the NuGet registry handler. It expects full request paths,
// starting with /nuget/.
func New(svc *packages.Service, opts Options) http.Handler {
	opts.BaseURL = strings.TrimSuffix(opts.BaseURL, "/")
	if opts.MaxPackageSize <= 0 {
		opts.MaxPackageSize = DefaultMaxPackageSize
	}
	if opts.MaxUnpackedSize <= 0 {
		opts.MaxUnpackedSize = DefaultMaxUnpackedSize
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &handler{svc: svc, opts: opts, log: opts.Logger, docs: newDocCache(64 << 20)}
}

// feed is one owner's feed as a request names it.
type feed struct {
	owner string // as the path writes it
	base  string // the feed's URL: BASE/nuget/OWNER
}

func (f feed) ref(id string) packages.PackageRef {
	return packages.PackageRef{Owner: f.owner, Scope: packages.AnyOwner, Type: packages.TypeNuGet, Name: id}
}

// Paths of the feed's resources, below BASE/nuget/OWNER.
const (
	pathPublish      = "/api/v2/package"
	pathSymbols      = "/api/v2/symbolpackage"
	pathFlat         = "/v3-flatcontainer"
	pathRegistration = "/registration"                      // SemVer 1.0.0 versions, plain JSON
	pathRegGzSemVer1 = "/registration-gz-semver1"           // SemVer 1.0.0 versions, gzipped
	pathRegGzSemVer2 = "/registration-gz-semver2"           // every version, gzipped
	pathCatalog      = "/catalog"                           // catalog entries of versions
	pathQuery        = "/query"                             // search
	pathAutocomplete = "/autocomplete"                      // autocomplete
	pathReadme       = "/{lower_id}/{lower_version}/readme" // below the flat container
)

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h.serve(w, r); err != nil {
		h.fail(w, r, err)
	}
}

var errNotFound = packages.Errorf(packages.KindNotFound, "Not found.")

// httpError is an error with a status of its own, for what is not a
// domain error (a method not allowed).
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func methodNotAllowed() error {
	return &httpError{status: http.StatusMethodNotAllowed, msg: "Method not allowed."}
}

func (h *handler) serve(w http.ResponseWriter, r *http.Request) error {
	p := r.URL.EscapedPath()
	if !strings.HasPrefix(p, Prefix+"/") {
		return errNotFound
	}
	var segs []string
	for _, s := range strings.Split(strings.TrimPrefix(p, Prefix+"/"), "/") {
		u, err := url.PathUnescape(s)
		if err != nil {
			return errNotFound
		}
		segs = append(segs, u)
	}
	// A trailing slash (NuGet pushes to PackagePublish + "/") names the
	// same resource.
	if n := len(segs); n > 1 && segs[n-1] == "" {
		segs = segs[:n-1]
	}
	if len(segs) < 2 || !packages.ValidLogin(segs[0]) {
		return errNotFound
	}
	f := feed{owner: segs[0], base: h.baseURL(r) + Prefix + "/" + url.PathEscape(segs[0])}
	rest := segs[1:]
	ctx := r.Context()
	a, err := h.actor(ctx, r)
	if err != nil {
		return err
	}
	isGet := r.Method == http.MethodGet || r.Method == http.MethodHead
	route := "/" + rest[0]
	switch {
	case len(rest) >= 3 && rest[0] == "api" && rest[1] == "v2":
		route = pathLegacy + "/" + rest[2]
		rest = rest[3:]
	case len(rest) == 2 && rest[0] == "api" && rest[1] == "v2":
		route, rest = pathLegacy, nil
	default:
		rest = rest[1:]
	}
	switch route {
	case pathLegacy:
		if !isGet {
			return methodNotAllowed()
		}
		return h.legacyServiceDocument(w, r, f)
	case pathLegacy + "/$metadata":
		if len(rest) != 0 {
			return errNotFound
		}
		if !isGet {
			return methodNotAllowed()
		}
		return h.legacyMetadata(w, r)
	case pathLegacy + "/Search()":
		if len(rest) != 0 {
			return errNotFound
		}
		if !isGet {
			return methodNotAllowed()
		}
		return h.legacySearch(w, r, a, f)
	case "/index.json":
		if len(rest) != 0 {
			return errNotFound
		}
		if !isGet {
			return methodNotAllowed()
		}
		return h.serviceIndex(w, r, f)
	case pathPublish:
		switch {
		case len(rest) == 0 && (r.Method == http.MethodPut || r.Method == http.MethodPost):
			return h.push(w, r, a, f, false)
		case len(rest) == 2 && r.Method == http.MethodDelete:
			return h.delete(w, r, a, f, rest[0], rest[1])
		case len(rest) == 2 && isGet:
			// NuGet's v2 download URL: the flat container has it.
			return h.flatFile(w, r, a, f, rest[0], rest[1], strings.ToLower(rest[0]+"."+rest[1]+".nupkg"))
		case len(rest) == 0 || len(rest) == 2:
			return methodNotAllowed()
		}
		return errNotFound
	case pathSymbols:
		if len(rest) != 0 {
			return errNotFound
		}
		if r.Method != http.MethodPut && r.Method != http.MethodPost {
			return methodNotAllowed()
		}
		return h.push(w, r, a, f, true)
	case pathFlat:
		if !isGet {
			return methodNotAllowed()
		}
		switch {
		case len(rest) == 2 && rest[1] == "index.json":
			return h.flatIndex(w, r, a, f, rest[0])
		case len(rest) == 3 && rest[2] == "readme":
			return h.readme(w, r, a, f, rest[0], rest[1])
		case len(rest) == 3:
			return h.flatFile(w, r, a, f, rest[0], rest[1], rest[2])
		}
		return errNotFound
	case pathRegistration, pathRegGzSemVer1, pathRegGzSemVer2:
		if !isGet {
			return methodNotAllowed()
		}
		hub := hubs[route]
		switch {
		case len(rest) == 2 && rest[1] == "index.json":
			return h.registrationIndex(w, r, a, f, hub, rest[0])
		case len(rest) == 4 && rest[1] == "page" && strings.HasSuffix(rest[3], ".json"):
			return h.registrationPage(w, r, a, f, hub, rest[0], rest[2], strings.TrimSuffix(rest[3], ".json"))
		case len(rest) == 2 && strings.HasSuffix(rest[1], ".json"):
			return h.registrationLeaf(w, r, a, f, hub, rest[0], strings.TrimSuffix(rest[1], ".json"))
		}
		return errNotFound
	case pathCatalog:
		if !isGet {
			return methodNotAllowed()
		}
		if len(rest) == 2 && strings.HasSuffix(rest[1], ".json") {
			return h.catalogEntry(w, r, a, f, rest[0], strings.TrimSuffix(rest[1], ".json"))
		}
		return errNotFound
	case pathQuery, pathAutocomplete:
		if len(rest) != 0 {
			return errNotFound
		}
		if !isGet {
			return methodNotAllowed()
		}
		if route == pathQuery {
			return h.search(w, r, a, f)
		}
		return h.autocomplete(w, r, a, f)
	}
	return errNotFound
}

// actor authenticates the request: the token in X-NuGet-ApiKey (what
// NuGet sends with a push or delete), else in Authorization (Basic with
// any user name and the token as password, as restore sends it from
// packageSourceCredentials; or Bearer). Nil for anonymous requests.
func (h *handler) actor(ctx context.Context, r *http.Request) (*packages.Actor, error) {
	if key := strings.TrimSpace(r.Header.Get("X-NuGet-ApiKey")); key != "" {
		return h.svc.Authenticate(ctx, key)
	}
	c, ok := auth.FromRequest(r)
	if !ok {
		return nil, nil
	}
	if c.Secret == "" {
		return nil, packages.Errorf(packages.KindBadCredentials, packages.MsgBadCredentials)
	}
	return h.svc.Authenticate(ctx, c.Secret)
}

// realm is the Basic challenge NuGet answers with the source's
// credentials.
const realm = `Basic realm="Packhub NuGet"`

// fail renders err: a status that follows the error's kind and the
// public message as plain text (NuGet shows the status). Internal causes
// are logged, not shown. What an anonymous caller may not see is answered
// with the same 401 challenge as what does not exist, so that NuGet sends
// the source's credentials and nobody learns which private packages exist.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := errorStatus(err)
	if status == http.StatusNotFound && !hasCredentials(r) {
		status, msg = http.StatusUnauthorized, packages.MsgRequiresAuthentication
	}
	if status >= 500 {
		h.log.ErrorContext(r.Context(), "nuget request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	} else {
		h.log.DebugContext(r.Context(), "nuget request refused", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", realm)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	fmt.Fprintln(w, msg)
}

func hasCredentials(r *http.Request) bool {
	return r.Header.Get("X-NuGet-ApiKey") != "" || r.Header.Get("Authorization") != ""
}

// errorStatus maps an error to a status and a public message.
func errorStatus(err error) (int, string) {
	var he *httpError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		return he.status, he.msg
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, "The request body is too large."
	}
	return httperror.Status(err, http.StatusBadRequest)
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
