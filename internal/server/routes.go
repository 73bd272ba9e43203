package server

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/packhub/packhub/internal/bodylimit"
	"github.com/packhub/packhub/internal/config"
	"github.com/packhub/packhub/internal/health"
	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/registry/blobhttp"
	"github.com/packhub/packhub/internal/registry/maven"
	"github.com/packhub/packhub/internal/registry/npm"
	"github.com/packhub/packhub/internal/registry/nuget"
	"github.com/packhub/packhub/internal/registry/oci"
	"github.com/packhub/packhub/internal/registry/rubygems"
	"github.com/packhub/packhub/internal/restapi"
	"github.com/packhub/packhub/internal/web"
)

// Specs returns the package types this build serves, as the service is
// given them.
func Specs() *packages.Specs { return packages.BuiltinSpecs() }

// frontDeps is what a front is built from.
type frontDeps struct {
	cfg      config.Config
	svc      *packages.Service
	tokenKey []byte
	logger   *slog.Logger
	// bodies is the one cap on large request bodies, for every front that
	// holds what it reads.
	bodies *bodylimit.Limiter
}

// largeBodyWait is how long a large request body waits for its turn before
// it is refused with 503.
const largeBodyWait = 30 * time.Second

// front is one protocol front of a listener: the path prefixes it claims,
// the label its requests carry in logs and metrics, and how it is built.
type front struct {
	label    string
	prefixes []string // "/" claims what no other front claims
	build    func(d frontDeps) http.Handler
	// rawPaths hands the front paths with dot segments or empty segments
	// as they came, for it to refuse, where the mux would redirect them to
	// their cleaned form (Maven answers a path with ".." with 400).
	rawPaths bool
}

// mainFronts are the fronts of the main listener. Registries claim their
// prefixes; the GitHub REST API answers everything else. Adding a package
// type adds its front here.
var mainFronts = []front{
	{label: "oci", prefixes: []string{"/v2/", "/token"}, build: func(d frontDeps) http.Handler {
		return oci.New(d.svc, ociOptions(d.cfg, packages.TypeContainer, d.cfg.BaseURL, d.tokenKey, d.logger))
	}},
	{label: "npm", prefixes: []string{"/npm/"}, build: func(d frontDeps) http.Handler {
		return npm.New(d.svc, npm.Options{BaseURL: d.cfg.BaseURL, MaxTarballSize: d.cfg.MaxTarballSize,
			MaxManifestSize: d.cfg.MaxNpmManifestSize, Bodies: d.bodies, Logger: d.logger,
			BlobRedirect: blobRedirect(d.cfg)})
	}},
	{label: "maven", prefixes: []string{maven.Prefix + "/"}, rawPaths: true, build: func(d frontDeps) http.Handler {
		return maven.New(d.svc, maven.Options{MaxFileSize: d.cfg.MaxMavenFileSize, SnapshotRetention: d.cfg.MavenSnapshotRetention,
			AllowRedeploy: d.cfg.MavenAllowRedeploy, Logger: d.logger,
			BlobRedirect: blobRedirect(d.cfg)})
	}},
	{label: "rubygems", prefixes: []string{"/rubygems/"}, build: func(d frontDeps) http.Handler {
		return rubygems.New(d.svc, rubygems.Options{BaseURL: d.cfg.BaseURL, MaxGemSize: d.cfg.MaxGemSize, MaxMetadataSize: d.cfg.MaxGemMetadataSize, Logger: d.logger,
			BlobRedirect: blobRedirect(d.cfg)})
	}},
	{label: "nuget", prefixes: []string{"/nuget/"}, build: func(d frontDeps) http.Handler {
		return nuget.New(d.svc, nuget.Options{BaseURL: d.cfg.BaseURL, MaxPackageSize: d.cfg.MaxNuGetPackageSize, MaxUnpackedSize: d.cfg.MaxNuGetUnpackedSize, Logger: d.logger,
			BlobRedirect: blobRedirect(d.cfg)})
	}},
	{label: "web", prefixes: []string{"/-/"}, build: func(d frontDeps) http.Handler { return webPages(d) }},
	// The web pages share GitHub's web paths with the REST API: requests
	// that ask for HTML on a page's path get the page, the rest the API.
	{label: "rest", prefixes: []string{"/"}, build: func(d frontDeps) http.Handler {
		return web.Route(webPages(d), restapi.New(d.svc, restapi.Options{BaseURL: d.cfg.BaseURL, Logger: d.logger}))
	}},
}

// webPages builds the web pages.
func webPages(d frontDeps) *web.Handler {
	opts := web.Options{BaseURL: d.cfg.BaseURL, Key: d.tokenKey, Logger: d.logger,
		SecureCookies: d.cfg.TLSCert != "" || strings.HasPrefix(d.cfg.BaseURL, "https://")}
	if d.cfg.DockerAddr != "" {
		opts.DockerBaseURL = dockerBaseURL(d.cfg)
	}
	return web.New(d.svc, opts)
}

// dockerFronts are the fronts of the legacy docker listener.
var dockerFronts = []front{
	{label: "oci", prefixes: []string{"/"}, build: func(d frontDeps) http.Handler {
		return oci.New(d.svc, ociOptions(d.cfg, packages.TypeDocker, dockerBaseURL(d.cfg), d.tokenKey, d.logger))
	}},
}

// routes mounts fronts, /healthz, /readyz, /livez and (when m is not nil)
// /metrics on one mux.
func routes(fronts []front, d frontDeps, m *metrics, checks *health.Checker) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", checks.Healthz())
	mux.Handle("GET /readyz", checks.Readyz())
	mux.Handle("GET /livez", checks.Livez())
	if m != nil {
		mux.Handle("GET /metrics", m.handler())
	}
	var raw []rawFront
	for _, f := range fronts {
		h := f.build(d)
		for _, p := range f.prefixes {
			mux.Handle(p, h)
			if f.rawPaths {
				raw = append(raw, rawFront{p, h})
			}
		}
	}
	if len(raw) == 0 {
		return mux
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; strings.Contains(p, "/.") || strings.Contains(p, "//") {
			for _, f := range raw {
				if strings.HasPrefix(p, f.prefix) {
					f.h.ServeHTTP(w, r)
					return
				}
			}
		}
		mux.ServeHTTP(w, r)
	})
}

// rawFront is a front that judges unclean paths under its prefix itself.
type rawFront struct {
	prefix string
	h      http.Handler
}

// labeller names the front a path belongs to, for metrics and logs.
type labeller []struct{ prefix, label string }

func newLabeller(fronts ...[]front) labeller {
	l := labeller{{"/healthz", "health"}, {"/readyz", "health"}, {"/livez", "health"}, {"/metrics", "metrics"}}
	fallback := ""
	for _, fs := range fronts {
		for _, f := range fs {
			for _, p := range f.prefixes {
				if p == "/" {
					if fallback == "" {
						fallback = f.label
					}
					continue
				}
				l = append(l, struct{ prefix, label string }{p, f.label})
			}
		}
	}
	return append(l, struct{ prefix, label string }{"/", fallback})
}

func (l labeller) label(path string) string {
	for _, p := range l {
		if strings.HasPrefix(path, p.prefix) {
			return p.label
		}
	}
	return ""
}

func ociOptions(cfg config.Config, typ packages.Type, baseURL string, tokenKey []byte, logger *slog.Logger) oci.Options {
	return oci.Options{
		Type:            typ,
		BaseURL:         baseURL,
		TokenKey:        tokenKey,
		MaxBlobSize:     cfg.MaxBlobSize,
		MaxManifestSize: cfg.MaxManifestSize,
		Logger:          logger,
		BlobRedirect:    blobRedirect(cfg),
	}
}

// blobRedirect is how every front answers large blob downloads.
func blobRedirect(cfg config.Config) blobhttp.Redirect {
	return blobhttp.Redirect{Enabled: cfg.BlobRedirect, MinSize: cfg.BlobRedirectMinSize}
}

// dockerBaseURL is the external URL of the docker listener: the scheme of
// the base URL with the docker listener's address.
func dockerBaseURL(cfg config.Config) string {
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	return scheme + "://" + cfg.DockerAddr
}
