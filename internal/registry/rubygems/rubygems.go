// Package rubygems is Packhub's RubyGems registry, under /rubygems/OWNER/:
// what gem and bundler use to push, install and yank gems. Gem names are
// package names of the owner; each version, with the .gem of each of its
// platforms, is a package version. Every rule lives in the packages
// service; this package reads gems and gemspecs, renders the compact
// index, the legacy Marshal indexes and rubygems.org's JSON, and maps
// errors to plain-text answers.
package rubygems

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/packhub/packhub/internal/auth"
	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/registry/blobhttp"
	"github.com/packhub/packhub/internal/registry/httperror"
)

// Prefix is the path the registry is served under.
const Prefix = "/rubygems"

// Defaults of Options.
const (
	DefaultMaxGemSize      = 256 << 20
	DefaultMaxMetadataSize = 4 << 20
	DefaultCacheSize       = 64 << 20
	// dataUnpackFactor bounds what data.tar.gz may unpack to while its
	// entries are checked, as a multiple of the largest gem.
	dataUnpackFactor = 8
	// maxDependencyNames is how many gems one dependency API request may
	// name, as on rubygems.org.
	maxDependencyNames = 200
)

// Options configure the registry.
type Options struct {
	// BaseURL is Packhub's external URL (without /rubygems), written into
	// the JSON API's URLs. When empty, it is taken from each request.
	BaseURL string
	// MaxGemSize is the largest .gem a push may carry; larger ones are
	// refused with 413. Default DefaultMaxGemSize.
	MaxGemSize int64
	// MaxMetadataSize is the most bytes a gem's metadata.gz may unpack to.
	// Default DefaultMaxMetadataSize.
	MaxMetadataSize int64
	// CacheSize bounds the rendered indexes kept in memory, in bytes.
	// Default DefaultCacheSize.
	CacheSize int
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
	idx  *indexes
}

// New returns the RubyGems registry handler. It expects full request
// paths, starting with /rubygems/.
func New(svc *packages.Service, opts Options) http.Handler {
	opts.BaseURL = strings.TrimSuffix(opts.BaseURL, "/")
	if opts.MaxGemSize <= 0 {
		opts.MaxGemSize = DefaultMaxGemSize
	}
	if opts.MaxMetadataSize <= 0 {
		opts.MaxMetadataSize = DefaultMaxMetadataSize
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = DefaultCacheSize
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &handler{svc: svc, opts: opts, log: opts.Logger, idx: newIndexes(opts.CacheSize)}
}

func gemRef(owner, name string) packages.PackageRef {
	return packages.PackageRef{Owner: owner, Scope: packages.AnyOwner, Type: packages.TypeRubyGems, Name: name}
}

// request is one parsed request.
type request struct {
	w     http.ResponseWriter
	r     *http.Request
	a     *packages.Actor
	owner string
	path  string // after /rubygems/OWNER/, unescaped
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q, err := h.parse(w, r)
	if err == nil {
		err = h.route(q)
	}
	if err != nil {
		h.fail(w, r, q, err)
	}
}

var errNotFound = packages.Errorf(packages.KindNotFound, "Not Found")

func (h *handler) parse(w http.ResponseWriter, r *http.Request) (*request, error) {
	p := r.URL.EscapedPath()
	if !strings.HasPrefix(p, Prefix+"/") {
		return nil, errNotFound
	}
	owner, rest, _ := strings.Cut(strings.TrimPrefix(p, Prefix+"/"), "/")
	rest, err := url.PathUnescape(rest)
	if err != nil || owner == "" {
		return nil, errNotFound
	}
	q := &request{w: w, r: r, owner: owner, path: rest}
	if q.a, err = h.actor(r.Context(), r); err != nil {
		return q, err
	}
	return q, nil
}

func isRead(r *http.Request) bool { return r.Method == http.MethodGet || r.Method == http.MethodHead }

func (h *handler) route(q *request) error {
	p := q.path
	switch {
	case p == "" && isRead(q.r):
		return h.root(q)
	case p == "api/v1/gems":
		if q.r.Method != http.MethodPost {
			return methodNotAllowed()
		}
		return h.push(q)
	case p == "api/v1/gems/yank":
		if q.r.Method != http.MethodDelete {
			return methodNotAllowed()
		}
		return h.yank(q)
	case !isRead(q.r):
		return methodNotAllowed()
	case p == "versions":
		return h.versions(q)
	case p == "names":
		return h.names(q)
	case strings.HasPrefix(p, "info/"):
		return h.info(q, strings.TrimPrefix(p, "info/"))
	case strings.HasPrefix(p, "gems/") && strings.HasSuffix(p, ".gem"):
		return h.download(q, strings.TrimSuffix(strings.TrimPrefix(p, "gems/"), ".gem"))
	case strings.HasPrefix(p, "quick/Marshal.4.8/") && strings.HasSuffix(p, ".gemspec.rz"):
		return h.quick(q, strings.TrimSuffix(strings.TrimPrefix(p, "quick/Marshal.4.8/"), ".gemspec.rz"))
	case p == specsIndex || p == latestIndex || p == prereleaseIndex:
		return h.legacy(q, p)
	case p == "api/v1/dependencies":
		return h.dependencies(q, false)
	case p == "api/v1/dependencies.json":
		return h.dependencies(q, true)
	case strings.HasPrefix(p, "api/v1/gems/") && strings.HasSuffix(p, ".json"):
		return h.gemJSON(q, strings.TrimSuffix(strings.TrimPrefix(p, "api/v1/gems/"), ".json"))
	case strings.HasPrefix(p, "api/v1/versions/") && strings.HasSuffix(p, ".json"):
		return h.versionsJSON(q, strings.TrimSuffix(strings.TrimPrefix(p, "api/v1/versions/"), ".json"))
	}
	return errNotFound
}

// actor authenticates the request's token: the API key gem sends as the
// whole Authorization header, a Bearer token, or Basic with the token as
// password (bundler, and gem with credentials in the source URL). Nil for
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

// root answers the source's root, which gem asks (HEAD) before it uses
// the compact index.
func (h *handler) root(q *request) error {
	if _, _, err := h.svc.OwnerPackages(q.r.Context(), q.a, q.owner, packages.TypeRubyGems); err != nil {
		return err
	}
	return writeText(q.w, http.StatusOK, "Packhub RubyGems registry of "+q.owner+"\n")
}

// versions serves the compact index's /versions.
func (h *handler) versions(q *request) error {
	od, _, err := h.ownerDoc(q.r.Context(), q.a, q.owner)
	if err != nil {
		return err
	}
	serveIndex(q, od.versions, od.versionsSums)
	return nil
}

func (h *handler) names(q *request) error {
	od, _, err := h.ownerDoc(q.r.Context(), q.a, q.owner)
	if err != nil {
		return err
	}
	serveIndex(q, od.names, od.namesSums)
	return nil
}

// info serves /info/NAME: every active platform gem of one gem.
func (h *handler) info(q *request, name string) error {
	d, err := h.gem(q, name)
	if err != nil {
		return err
	}
	serveIndex(q, d.info, d.sums)
	return nil
}

// gem returns the document of a gem the caller may read.
func (h *handler) gem(q *request, name string) (*gemDoc, error) {
	if !validGemName(name) {
		return nil, packages.ErrPackageNotFound
	}
	// The package row read in full: its revision keys the document.
	pi, err := h.svc.GetPackage(q.r.Context(), q.a, gemRef(q.owner, name), packages.OpRead, packages.ViaRegistry)
	if err != nil {
		return nil, err
	}
	if pi.Name != name {
		// Gem names are exact; the store's are not case-sensitive.
		return nil, packages.ErrPackageNotFound
	}
	return h.gemDoc(q.r.Context(), q.a, pi.Owner.Login, &pi.Package)
}

// serveIndex writes a compact index body with what clients check: its MD5
// as the ETag (bundler's check of a ranged update), Repr-Digest and
// Digest (SHA-256 of the whole body), ranges and conditional requests.
func serveIndex(q *request, body []byte, sums digests) {
	hd := q.w.Header()
	b64 := base64.StdEncoding.EncodeToString(sums.sha256)
	hd.Set("Repr-Digest", "sha-256=:"+b64+":")
	hd.Set("Digest", "SHA-256="+b64)
	hd.Set("Cache-Control", "no-cache")
	hd.Set("Accept-Ranges", "bytes")
	serveBytes(q, body, "text/plain; charset=utf-8", `"`+sums.md5+`"`)
}

// serveBytes answers with a rendered body: ranges, conditional requests,
// HEAD.
func serveBytes(q *request, body []byte, contentType, etag string) {
	hd := q.w.Header()
	hd.Set("Content-Type", contentType)
	hd.Set("ETag", etag)
	http.ServeContent(q.w, q.r, "", time.Time{}, bytes.NewReader(body))
}

// download serves gems/NAME-VERSION[-PLATFORM].gem and counts a download
// of a whole GET.
func (h *handler) download(q *request, full string) error {
	ctx := q.r.Context()
	open := func(f gemFile) (*packages.FileContent, error) {
		return h.svc.OpenFile(ctx, q.a, packages.OpenFileRequest{
			Package:       gemRef(q.owner, f.name),
			Version:       f.version,
			Name:          f.file,
			CountDownload: q.r.Method == http.MethodGet && q.r.Header.Get("Range") == "",
		})
	}
	// A file seen before goes straight to the service, which checks
	// access; else (or when the file has gone) the owner's index says
	// which gem and version the name is of.
	var c *packages.FileContent
	var err error
	f, known := h.idx.files.get(q.owner, full)
	if known {
		c, err = open(f)
	}
	if !known || packages.IsNotFound(err) {
		od, _, err := h.ownerDoc(ctx, q.a, q.owner)
		if err != nil {
			return err
		}
		d, s := od.lookup(full)
		if s == nil {
			return packages.ErrFileNotFound
		}
		f = gemFile{name: d.name, version: s.Version, file: s.File, sha256: s.SHA256}
		if c, err = open(f); err != nil {
			return err
		}
		h.idx.files.put(q.owner, full, f)
	} else if err != nil {
		return err
	}
	defer c.Close()
	s := f
	// A yanked version's name may be pushed again with other bytes:
	// caches revalidate, cheaply, against the ETag (the SHA-256).
	q.w.Header().Set("Cache-Control", "private, no-cache")
	blobhttp.Serve(q.w, q.r, blobhttp.Blob{
		Reader:      c.Reader,
		ContentType: "application/octet-stream",
		ETag:        `"` + s.sha256 + `"`,
		ModTime:     c.File.CreatedAt,
		Redirect:    h.opts.BlobRedirect,
	})
	return nil
}

// quick serves quick/Marshal.4.8/FULLNAME.gemspec.rz: the gemspec in
// Marshal, deflated.
func (h *handler) quick(q *request, full string) error {
	od, _, err := h.ownerDoc(q.r.Context(), q.a, q.owner)
	if err != nil {
		return err
	}
	d, s := od.lookup(full)
	if s == nil {
		return packages.ErrFileNotFound
	}
	b, grown := d.quickSpec(s)
	if grown > 0 {
		h.idx.gems.grow(d.key, grown)
	}
	serveBytes(q, b, "application/octet-stream", `"`+digestsOf(b).md5+`"`)
	return nil
}

// legacy serves specs.4.8.gz, latest_specs.4.8.gz and
// prerelease_specs.4.8.gz.
func (h *handler) legacy(q *request, name string) error {
	od, key, err := h.ownerDoc(q.r.Context(), q.a, q.owner)
	if err != nil {
		return err
	}
	b, grown := od.legacyIndex(name)
	if grown > 0 {
		h.idx.owners.grow(key, grown)
	}
	serveBytes(q, b, "application/octet-stream", `"`+digestsOf(b).md5+`"`)
	return nil
}

// dependencies serves the dependency API: for each gem named in ?gems=
// that the caller may read, every active platform gem with its runtime
// dependencies, in Marshal or JSON. Gems the caller may not read are left
// out, as missing ones are.
func (h *handler) dependencies(q *request, asJSON bool) error {
	var names []string
	for _, n := range strings.Split(q.r.URL.Query().Get("gems"), ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	if len(names) > maxDependencyNames {
		return packages.Errorf(packages.KindInvalid, "Too many gems (use up to %d gems per request)", maxDependencyNames)
	}
	var specs []*gemSpec
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		d, err := h.gem(q, n)
		if packages.IsNotFound(err) || packages.KindOf(err) == packages.KindUnauthenticated {
			continue
		}
		if err != nil {
			return err
		}
		specs = append(specs, d.sortedSpecs()...)
	}
	if asJSON {
		out := make([]dependencyJSON, 0, len(specs))
		for _, s := range specs {
			e := dependencyJSON{Name: s.Name, Number: s.Version, Platform: s.Platform, Dependencies: [][2]string{}}
			for _, d := range s.runtimeDeps() {
				e.Dependencies = append(e.Dependencies, [2]string{d.Name, requirementString(d.Requirements)})
			}
			out = append(out, e)
		}
		return writeJSON(q.w, http.StatusOK, out)
	}
	if len(names) == 0 {
		// Bundler's probe of the API: an empty answer.
		return writeRaw(q.w, http.StatusOK, "application/octet-stream", nil)
	}
	list := make(rbArray, len(specs))
	for i, s := range specs {
		list[i] = dependencyInfo(s)
	}
	return writeRaw(q.w, http.StatusOK, "application/octet-stream", marshal(list))
}

type dependencyJSON struct {
	Name         string      `json:"name"`
	Number       string      `json:"number"`
	Platform     string      `json:"platform"`
	Dependencies [][2]string `json:"dependencies"`
}

// httpError is an error with a status of its own, for what is not a
// domain error.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func methodNotAllowed() error {
	return &httpError{status: http.StatusMethodNotAllowed, msg: "Method Not Allowed"}
}

// fail answers with an error as rubygems.org does: a status and a
// plain-text message. Anonymous reads of what is missing and of what
// needs credentials get the same challenge, so that neither tells the
// other apart; internal causes are logged, not shown.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, q *request, err error) {
	status, msg := errorStatus(err)
	anonymous := q == nil || q.a.Anonymous()
	if anonymous && q != nil && (status == http.StatusNotFound || packages.KindOf(err) == packages.KindUnauthenticated) {
		status, msg = http.StatusUnauthorized, "Authentication is required: use a personal access token as the API key, or as the password of Basic credentials."
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="Packhub RubyGems"`)
	}
	if status >= 500 {
		h.log.ErrorContext(r.Context(), "rubygems request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	} else {
		h.log.DebugContext(r.Context(), "rubygems request refused", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	writeText(w, status, msg+"\n")
}

// errorStatus maps an error to a status and a public message, in one
// place.
func errorStatus(err error) (int, string) {
	var he *httpError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		return he.status, he.msg
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, "The gem is too large."
	}
	return httperror.Status(err, http.StatusUnprocessableEntity)
}

func writeText(w http.ResponseWriter, status int, s string) error {
	return writeRaw(w, status, "text/plain; charset=utf-8", []byte(s))
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
