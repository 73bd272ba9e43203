package server

import (
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/packhub/packhub/internal/bodylimit"
	"github.com/packhub/packhub/internal/config"
	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/registry/npm"
	"github.com/packhub/packhub/internal/registry/oci"
	"github.com/packhub/packhub/internal/restapi"
)

// largeBodyWait is how long a large request body waits for its turn before
// it is refused with 503.
const largeBodyWait = 30 * time.Second

// mainRoutes mounts every front of the main listener. Registries claim
// their prefixes; the GitHub REST API answers everything else.
func mainRoutes(cfg config.Config, svc *packages.Service, tokenKey []byte, logger *slog.Logger, m *metrics, ready *atomic.Bool) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", healthz(ready))
	mux.Handle("GET /metrics", m.handler())
	container := oci.New(svc, ociOptions(cfg, packages.TypeContainer, cfg.BaseURL, tokenKey, logger))
	mux.Handle("/v2/", container)
	mux.Handle("/token", container)
	// One cap on large bodies, for every front that holds what it reads.
	bodies := bodylimit.New(cfg.MaxLargeBodies, cfg.LargeBodySize, largeBodyWait)
	mux.Handle("/npm/", npm.New(svc, npm.Options{BaseURL: cfg.BaseURL, MaxTarballSize: cfg.MaxTarballSize,
		MaxManifestSize: cfg.MaxNpmManifestSize, Bodies: bodies, Logger: logger}))
	mux.Handle("/", restapi.New(svc, restapi.Options{BaseURL: cfg.BaseURL, Logger: logger}))
	return mux
}

// dockerRoutes mounts the legacy docker registry of the second listener.
func dockerRoutes(cfg config.Config, svc *packages.Service, tokenKey []byte, logger *slog.Logger, ready *atomic.Bool) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", healthz(ready))
	mux.Handle("/", oci.New(svc, ociOptions(cfg, packages.TypeDocker, dockerBaseURL(cfg), tokenKey, logger)))
	return mux
}

func ociOptions(cfg config.Config, typ packages.Type, baseURL string, tokenKey []byte, logger *slog.Logger) oci.Options {
	return oci.Options{
		Type:            typ,
		BaseURL:         baseURL,
		TokenKey:        tokenKey,
		MaxBlobSize:     cfg.MaxBlobSize,
		MaxManifestSize: cfg.MaxManifestSize,
		Logger:          logger,
	}
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

func healthz(ready *atomic.Bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("starting\n"))
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
}
