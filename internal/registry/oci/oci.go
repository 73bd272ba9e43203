// Package oci serves the OCI Distribution Specification 1.1 (the Docker
// Registry HTTP API V2) for the container and docker package types, with
// the ghcr.io token flow in front of it. Every rule lives in the packages
// service; this package parses the wire format, authenticates, and renders
// the spec's headers and error bodies.
package oci

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/packhub/packhub/internal/auth"
	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/registry/blobhttp"
)

// DefaultMaxManifestSize is the largest manifest accepted when
// Options.MaxManifestSize is not set: 4 MiB, as the spec suggests.
const DefaultMaxManifestSize = 4 << 20

// Options configure a registry.
type Options struct {
	// Type is packages.TypeContainer (names OWNER/IMAGE) or
	// packages.TypeDocker (names OWNER/REPO/IMAGE). Default container.
	Type packages.Type
	// BaseURL is the registry's external URL, e.g. http://127.0.0.1:8080;
	// the token realm and service are derived from it.
	BaseURL string
	// TokenKey signs registry bearer tokens and upload session ids; every
	// replica must share it. Empty: a random key, good for one process.
	TokenKey []byte
	// TokenTTL is the lifetime of bearer tokens. Default five minutes.
	TokenTTL time.Duration
	// MaxBlobSize limits one blob; 0 means no limit.
	MaxBlobSize int64
	// MaxManifestSize limits one manifest. Default 4 MiB.
	MaxManifestSize int64
	// BlobRedirect sends large downloads to the blob store (a 307 to a
	// presigned URL) where it can presign them. Default off.
	BlobRedirect blobhttp.Redirect
	// Logger receives the registry's logs. Default slog.Default().
	Logger *slog.Logger
}

type handler struct {
	svc       *packages.Service
	typ       packages.Type
	baseURL   string
	service   string // the registry host, as challenges and tokens name it
	realm     string
	tokens    *auth.RegistryTokens
	uploadKey []byte
	maxBlob   int64
	maxMan    int64
	log       *slog.Logger
	redirect  blobhttp.Redirect
	locks     keyedMutex
	manifests *manifestCache
	verified  verifiedTokens
}

// New returns the registry: it serves /v2/... and /token, full paths.
func New(svc *packages.Service, opts Options) http.Handler {
	if opts.Type == "" {
		opts.Type = packages.TypeContainer
	}
	if opts.MaxManifestSize <= 0 {
		opts.MaxManifestSize = DefaultMaxManifestSize
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	key := opts.TokenKey
	if len(key) == 0 {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			panic("oci: random token key: " + err.Error())
		}
		opts.Logger.Warn("registry token key not configured; using a random key that other replicas do not share")
	}
	base := strings.TrimRight(opts.BaseURL, "/")
	service := base
	if u, err := url.Parse(base); err == nil && u.Host != "" {
		service = u.Host
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("packhub registry upload sessions"))
	return &handler{
		svc:       svc,
		typ:       opts.Type,
		baseURL:   base,
		service:   service,
		realm:     base + "/token",
		tokens:    auth.NewRegistryTokens(key, service, opts.TokenTTL),
		uploadKey: mac.Sum(nil),
		maxBlob:   opts.MaxBlobSize,
		maxMan:    opts.MaxManifestSize,
		log:       opts.Logger.With("registry", string(opts.Type)),
		redirect:  opts.BlobRedirect,
		manifests: newManifestCache(8 << 20),
	}
}

// route is a parsed /v2/ path.
type route struct {
	kind string // base, catalog, tags, manifest, blob, upload, referrers
	name string
	arg  string // reference, digest or upload session
}

// parseRoute splits a /v2/ path. Repository names contain slashes, so the
// endpoint is found from the right.
func parseRoute(p string) (route, bool) {
	if p == "/v2" || p == "/v2/" {
		return route{kind: "base"}, true
	}
	rest, ok := strings.CutPrefix(p, "/v2/")
	if !ok || rest == "" {
		return route{}, false
	}
	if rest == "_catalog" {
		return route{kind: "catalog"}, true
	}
	if name, ok := strings.CutSuffix(rest, "/tags/list"); ok && name != "" {
		return route{kind: "tags", name: name}, true
	}
	if name, ok := strings.CutSuffix(rest, "/blobs/uploads"); ok && name != "" {
		return route{kind: "upload", name: name}, true
	}
	for _, ep := range []struct{ sep, kind string }{
		{"/blobs/uploads/", "upload"},
		{"/blobs/", "blob"},
		{"/manifests/", "manifest"},
		{"/referrers/", "referrers"},
	} {
		i := strings.LastIndex(rest, ep.sep)
		if i <= 0 {
			continue
		}
		arg := rest[i+len(ep.sep):]
		if strings.Contains(arg, "/") {
			continue
		}
		if arg == "" && ep.kind != "upload" {
			continue
		}
		return route{kind: ep.kind, name: rest[:i], arg: arg}, true
	}
	return route{}, false
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	if r.URL.Path == "/token" {
		h.serveToken(w, r)
		return
	}
	rt, ok := parseRoute(r.URL.Path)
	if !ok {
		h.writeError(w, r, errorf(codeNameInvalid, "no such endpoint").withStatus(http.StatusNotFound))
		return
	}
	if err := h.serve(w, r, rt); err != nil {
		h.writeError(w, r, err)
	}
}

func (h *handler) serve(w http.ResponseWriter, r *http.Request, rt route) error {
	switch rt.kind {
	case "base":
		return h.base(w, r)
	case "catalog":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			return methodNotAllowed(w, "GET, HEAD")
		}
		return h.catalog(w, r)
	}
	name, err := ParseName(h.typ, rt.name)
	if err != nil {
		return err
	}
	switch rt.kind {
	case "tags":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			return methodNotAllowed(w, "GET, HEAD")
		}
		return h.listTags(w, r, name)
	case "referrers":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			return methodNotAllowed(w, "GET, HEAD")
		}
		return h.referrers(w, r, name, rt.arg)
	case "manifest":
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			return h.getManifest(w, r, name, rt.arg)
		case http.MethodPut:
			return h.putManifest(w, r, name, rt.arg)
		case http.MethodDelete:
			return h.deleteManifest(w, r, name, rt.arg)
		}
		return methodNotAllowed(w, "GET, HEAD, PUT, DELETE")
	case "blob":
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			return h.getBlob(w, r, name, rt.arg)
		case http.MethodDelete:
			return h.deleteBlob(w, r, name, rt.arg)
		}
		return methodNotAllowed(w, "GET, HEAD, DELETE")
	case "upload":
		if rt.arg == "" {
			if r.Method != http.MethodPost {
				return methodNotAllowed(w, "POST")
			}
			return h.startUpload(w, r, name)
		}
		switch r.Method {
		case http.MethodGet:
			return h.uploadStatus(w, r, name, rt.arg)
		case http.MethodPatch:
			return h.patchUpload(w, r, name, rt.arg)
		case http.MethodPut:
			return h.putUpload(w, r, name, rt.arg)
		case http.MethodDelete:
			return h.cancelUpload(w, r, name, rt.arg)
		}
		return methodNotAllowed(w, "GET, PATCH, PUT, DELETE")
	}
	return errorf(codeNameInvalid, "no such endpoint").withStatus(http.StatusNotFound)
}

func methodNotAllowed(w http.ResponseWriter, allow string) error {
	w.Header().Set("Allow", allow)
	return errorf(codeUnsupported, "method not allowed")
}

// base answers the API version check: 200 to any authenticated caller, a
// challenge to anonymous ones.
func (h *handler) base(w http.ResponseWriter, r *http.Request) error {
	c, err := h.authenticate(r, "")
	if err != nil {
		return err
	}
	if c.anonymous() && !c.bearer {
		e := errorf(codeUnauthorized, "authentication required")
		return e
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", "2")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write([]byte("{}"))
	}
	return nil
}

// keyedMutex serializes work on one key (an upload session) in this
// process.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*keyedEntry
}

type keyedEntry struct {
	mu   sync.Mutex
	refs int
}

// lock locks key and returns its unlock function.
func (k *keyedMutex) lock(key string) func() {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyedEntry{}
	}
	e := k.m[key]
	if e == nil {
		e = &keyedEntry{}
		k.m[key] = e
	}
	e.refs++
	k.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		k.mu.Lock()
		e.refs--
		if e.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}
