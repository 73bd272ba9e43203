// Package web serves Packhub's web pages: explore, an owner's and a
// repository's packages, a package with its README, install instructions
// and versions, a version with its files and checksums, and a package's
// settings (visibility, access, delete and restore). Pages are rendered on
// the server from embedded templates and one small stylesheet; the only
// script is an embedded one that adds copy buttons, and the pages work
// without it.
//
// The pages share GitHub's web paths with the REST API: Route sends a
// request to the pages when its Accept header asks for HTML and a page
// has that path, and to the REST API otherwise. /api/v3/ is always the
// REST API; paths under /-/ (sign-in, sign-out, assets) are only pages.
//
// Every permission comes from the packages service, through the same
// calls the REST API makes (ViaWeb: anonymous visitors read public
// packages, as registry clients do). A package the viewer may not see is
// a 404 page, exactly as a missing one.
//
// Signing in takes a personal access token; the session lives in the
// database (see packages.Service.SignIn) and the browser holds only its
// secret, in an HttpOnly, SameSite=Lax cookie (Secure under TLS). Every
// form carries a CSRF token, an HMAC of the session's secret (or, before
// signing in, of a random form cookie) under the server's key.
package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/packhub/packhub/internal/packages"
)

// Options configure the pages.
type Options struct {
	// BaseURL is the server's external URL, written into install
	// instructions. When empty, it is derived from each request.
	BaseURL string
	// DockerBaseURL is the external URL of the docker listener, "" when
	// there is none.
	DockerBaseURL string
	// Key signs CSRF tokens; every replica is given the same one. It must
	// not be empty.
	Key []byte
	// SecureCookies marks cookies Secure even on a plain connection (the
	// server runs behind a TLS proxy, or serves TLS itself).
	SecureCookies bool
	// Logger receives internal errors. Default slog.Default().
	Logger *slog.Logger
}

// Handler serves the pages.
type Handler struct {
	h    *handler
	mux  *http.ServeMux
	root http.Handler
}

type handler struct {
	svc     *packages.Service
	opts    Options
	log     *slog.Logger
	csrfKey []byte
	tmpl    *templates
	md      *markdown
	static  *assets
}

// New returns the pages over svc.
func New(svc *packages.Service, opts Options) *Handler {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if len(opts.Key) == 0 {
		panic("web.New: Options.Key is required")
	}
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	opts.DockerBaseURL = strings.TrimRight(opts.DockerBaseURL, "/")
	m := hmac.New(sha256.New, opts.Key)
	m.Write([]byte("packhub web csrf"))
	static := newAssets()
	h := &handler{svc: svc, opts: opts, log: opts.Logger, csrfKey: m.Sum(nil),
		tmpl: parseTemplates(static), md: newMarkdown(), static: static}
	mux, dash := http.NewServeMux(), http.NewServeMux()
	h.routes(mux, dash)
	both := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/-/") {
			dash.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
	return &Handler{h: h, mux: mux, root: h.headers(h.withViewer(both))}
}

// routes registers every page: those on the paths the REST API shares on
// mux, those of the pages alone (under /-/, where no login can be) on
// dash.
func (h *handler) routes(mux, dash *http.ServeMux) {
	dash.HandleFunc("GET /-/static/{file}", h.serveStatic)
	dash.HandleFunc("GET /-/login", h.loginPage)
	dash.HandleFunc("POST /-/login", h.login)
	dash.HandleFunc("POST /-/logout", h.logout)
	dash.HandleFunc("/-/", h.notFound)
	mux.HandleFunc("GET /{$}", h.explore)
	mux.HandleFunc("GET /{owner}", h.ownerPage)
	mux.HandleFunc("GET /{owner}/{repo}/packages", h.repoPage)
	mux.HandleFunc("GET /{owner}/{repo}/packages/{id}", h.repoPackage)
	for _, ns := range []struct {
		prefix string
		scope  packages.OwnerScope
	}{{"/orgs/{login}", packages.OrgPath}, {"/users/{login}", packages.UserPath}} {
		p, sc := ns.prefix+"/packages", ns.scope
		pkg := p + "/{type}/package/{name}"
		mux.HandleFunc("GET "+p, h.listPage(sc))
		mux.HandleFunc("GET "+p+"/deleted", h.deletedPage(sc))
		mux.HandleFunc("POST "+p+"/deleted/{type}/{name}/restore", h.restorePackage(sc))
		mux.HandleFunc("GET "+pkg, h.packagePage(sc))
		mux.HandleFunc("GET "+p+"/{type}/{name}/{id}", h.versionPage(sc))
		mux.HandleFunc("GET "+pkg+"/settings", h.settingsPage(sc))
		mux.HandleFunc("POST "+pkg+"/settings/visibility", h.setVisibility(sc))
		mux.HandleFunc("POST "+pkg+"/settings/access", h.setAccess(sc))
		mux.HandleFunc("POST "+pkg+"/settings/delete", h.deletePackage(sc))
		mux.HandleFunc("POST "+pkg+"/settings/versions/{id}/delete", h.deleteVersion(sc))
		mux.HandleFunc("POST "+pkg+"/settings/versions/{id}/restore", h.restoreVersion(sc))
	}
}

// ServeHTTP serves a page.
func (wh *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { wh.root.ServeHTTP(w, r) }

// Wants reports whether a request is for the pages rather than the REST
// API: any path under /-/, and a path some page has when the request
// asks for HTML. /api/v3/ is never the pages'.
func (wh *Handler) Wants(r *http.Request) bool {
	p := r.URL.Path
	if p == "/api/v3" || strings.HasPrefix(p, "/api/v3/") {
		return false
	}
	if strings.HasPrefix(p, "/-/") {
		return true
	}
	if !AcceptsHTML(r.Header.Get("Accept")) {
		return false
	}
	_, pattern := wh.mux.Handler(r)
	if strings.HasSuffix(pattern, "/{id}") && !allDigits(path.Base(p)) {
		// A version page's id is a number: .../NAME/versions is the
		// REST API's.
		return false
	}
	return pattern != ""
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// Route sends what the pages want to them and everything else to rest.
func Route(pages *Handler, rest http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if pages.Wants(r) {
			pages.ServeHTTP(w, r)
			return
		}
		rest.ServeHTTP(w, r)
	})
}

// headers sets what every page answers with: a strict Content Security
// Policy (scripts and styles from this server only, no inline ones, no
// framing, forms posting only here) and the headers that go with it.
func (h *handler) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "+
			"form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Vary", "Accept, Cookie")
		next.ServeHTTP(w, r)
	})
}

// baseURL is the server's external URL: the configured one, or the
// request's.
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

func hostOf(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	return u.Host
}
