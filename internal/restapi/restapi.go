// Package restapi serves GitHub's REST API for packages: the 24 operations
// of GitHub's "packages" category, plus the few account and meta endpoints
// that clients of that API call (GET /user, /users/{username}, /orgs/{org},
// /versions and /), the organization webhook operations (hooks.go, with
// the webhook payloads the delivery worker sends, payloads.go) and the
// site administrators' audit log (admin.go). Every route is served both
// at the root and under
// /api/v3, as GitHub Enterprise Server does, so that clients configured for
// either work unchanged.
//
// The handler only parses requests, calls the packages.Service, renders
// GitHub's JSON shapes and maps domain errors to GitHub's status codes and
// error bodies. Every rule (scopes, visibility, roles, the delete and restore
// rules) lives in the service.
//
// Where GitHub documents no behaviour, Packhub chooses:
//   - package_type outside the enum, in the path or the list endpoints'
//     query, and a missing package_type on a list: 400 with a basic-error
//     body. An invalid visibility or state: 400 likewise.
//   - package_version_id that is not an integer: 400 "The version_id
//     parameter must be an integer." (GitHub's message); an integer no
//     version has (0, negative, beyond int64): 404 "Package not found.".
//   - page and per_page that are not positive integers fall back to their
//     defaults (1 and 30), per_page above 100 is capped at 100, a page past
//     the end is an empty list; only page*per_page > 10000 on the package
//     lists is an error (400), as documented.
//   - The version list of another user's package (GET
//     /users/{username}/packages/{type}/{name}/versions) has no page, per_page
//     or state parameter in GitHub's description: it returns every active
//     version, without a Link header.
//   - Paths with "." or ".." segments or empty segments, once decoded, a
//     trailing slash, an unknown path, and a known path with another method:
//     404 "Not Found".
//   - /users/{username}/... names an organization as well as a user, as
//     GitHub's does (the package-cleanup action for GitHub Packages reaches
//     organization packages so); the organization's rules apply, so only
//     its admins delete and restore. /orgs/{org}/... names only
//     organizations.
//   - Internal packages are reported with visibility "internal", although
//     the response schema lists only public and private.
//   - A credential that does not authenticate is 401 "Bad credentials" on
//     every path, even those an anonymous caller may use.
//   - Rate-limit headers count requests per caller and hour but nothing is
//     refused, and X-RateLimit-Remaining never reaches 0.
package restapi

import (
	"context"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/packhub/packhub/internal/auth"
	"github.com/packhub/packhub/internal/packages"
)

// Options configure the REST API handler.
type Options struct {
	// BaseURL is the public URL of the server, without a trailing slash,
	// e.g. "http://127.0.0.1:8080". API URLs in bodies are BaseURL+"/api/v3";
	// web URLs are BaseURL. When empty, it is derived from each request.
	BaseURL string
	// Logger receives internal errors. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock used for rate-limit windows. Default time.Now.
	Now func() time.Time
}

// API versions, as sent in X-GitHub-Api-Version.
const (
	Version20221128 = "2022-11-28"
	Version20260310 = "2026-03-10"
	// DefaultVersion is used when a request names none.
	DefaultVersion = Version20221128
)

// SupportedVersions lists the API versions served, oldest first, as
// GET /versions returns them.
var SupportedVersions = []string{Version20221128, Version20260310}

// docsREST is the generic documentation URL of GitHub's error bodies.
const docsREST = "https://docs.github.com/rest"

type server struct {
	svc     *packages.Service
	base    string // BaseURL, trimmed; "" to derive from requests
	log     *slog.Logger
	now     func() time.Time
	mux     *http.ServeMux
	limiter *rateLimiter
}

// New returns the REST API handler over svc.
func New(svc *packages.Service, opts Options) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &server{
		svc:     svc,
		base:    strings.TrimRight(opts.BaseURL, "/"),
		log:     opts.Logger,
		now:     opts.Now,
		mux:     http.NewServeMux(),
		limiter: newRateLimiter(),
	}
	for _, rt := range s.routes() {
		method, p, _ := strings.Cut(rt.pattern, " ")
		h := s.wrap(rt.docs, rt.handle)
		s.mux.Handle(method+" "+p, h)
		if p == "/{$}" {
			s.mux.Handle(method+" /api/v3", h)
			s.mux.Handle(method+" /api/v3/{$}", h)
			continue
		}
		s.mux.Handle(method+" /api/v3"+p, h)
	}
	// Everything else, including a known path with another method, is
	// GitHub's plain 404.
	s.mux.Handle("/", s.wrap(docsREST, func(c *call) { c.notFound() }))
	return s
}

// route is one operation: its ServeMux pattern (without the /api/v3
// prefix), the documentation URL of its error bodies, and its handler.
type route struct {
	pattern string
	docs    string
	handle  func(*call)
}

type ctxKey struct{}

// wrap adapts an operation handler to http.Handler; the call prepared by
// ServeHTTP travels in the request context.
func (s *server) wrap(docs string, h func(*call)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := r.Context().Value(ctxKey{}).(*call)
		if !ok {
			// Not reachable through ServeHTTP; be safe anyway.
			c = s.newCall(w, r)
		}
		c.r = r
		c.docs = docs
		h(c)
	})
}

// ServeHTTP runs the steps every request shares (standard headers, API
// version, path sanity, authentication, rate-limit accounting) and then
// dispatches to the operation.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := s.newCall(w, r)
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.ErrorContext(r.Context(), "restapi: panic", "request_id", c.requestID, "method", r.Method, "path", r.URL.Path, "panic", v)
			if !c.wrote {
				c.error(http.StatusInternalServerError, "Internal Server Error")
			}
		}
	}()
	c.commonHeaders()

	if r.Method == http.MethodOptions {
		c.preflight()
		return
	}

	// Authenticate first, so that even an early error is counted against
	// the caller's rate-limit window.
	var authErr error
	if cred, ok := auth.FromRequest(r); ok {
		c.actor, authErr = s.svc.Authenticate(r.Context(), cred.Secret)
		if authErr == nil {
			w.Header().Set("X-OAuth-Scopes", c.actor.ScopeHeader())
		}
	}
	c.rateLimitHeaders()

	if !c.selectVersion() {
		return
	}

	// ServeMux would answer a path with "." or ".." segments or repeated
	// slashes (once decoded: "a%2F..%2Fb" too) with a redirect to the
	// cleaned path. No package or account has such a name, and a redirect
	// would change what the client asked for, so answer 404 instead.
	if r.URL.Path == "" || cleanPath(r.URL.Path) != r.URL.Path {
		c.notFound()
		return
	}

	if authErr != nil {
		// A credential that does not authenticate is refused everywhere,
		// even where an anonymous caller would be served.
		if packages.KindOf(authErr) == packages.KindBadCredentials {
			c.error(http.StatusUnauthorized, packages.MsgBadCredentials)
		} else {
			c.fail(authErr)
		}
		return
	}

	ctx := context.WithValue(r.Context(), ctxKey{}, c)
	s.mux.ServeHTTP(w, r.WithContext(ctx))
}

// cleanPath is ServeMux's notion of a canonical path.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}
