// Package server wires Packhub together: it opens the stores, builds the
// packages service, mounts every protocol front on one http.Handler with
// the shared middleware, and runs the listeners and background jobs.
package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/packhub/packhub/internal/blob/blobstore"
	"github.com/packhub/packhub/internal/bodylimit"
	"github.com/packhub/packhub/internal/config"
	"github.com/packhub/packhub/internal/health"
	"github.com/packhub/packhub/internal/jobs"
	regmetrics "github.com/packhub/packhub/internal/metrics"
	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/restapi"
	"github.com/packhub/packhub/internal/store"
	"github.com/packhub/packhub/internal/webhooks"
)

// Storage is an opened metadata store and blob store with the service over
// them.
type Storage struct {
	Store   packages.Store
	Blobs   packages.BlobStore
	Service *packages.Service
	// Registry and Metrics are set on storage opened Instrumented: the
	// stores are timed and the service observed into them, and a server
	// serves them on /metrics.
	Registry *prometheus.Registry
	Metrics  *regmetrics.Metrics
	logger   *slog.Logger
	// opened are the stores as opened, under any decorator: the health
	// checks use their own powers (Ping, PendingMigrations), which a
	// decorator need not pass on.
	openedStore packages.Store
	openedBlobs packages.BlobStore
}

// StorageOption tunes OpenStorage.
type StorageOption func(*storageOptions)

type storageOptions struct{ instrumented bool }

// Instrumented measures the storage, for a server: its metadata and blob
// stores are wrapped in timing decorators, the service reports publishes
// and downloads, all into a new registry (Storage.Registry).
func Instrumented() StorageOption { return func(o *storageOptions) { o.instrumented = true } }

// Close writes what the service holds in memory (the download counts of
// the last moments, which a replica that stops must not lose) and
// releases the storage.
func (s *Storage) Close() error {
	pending := s.Service.PendingDownloads()
	err := s.Service.Close()
	if pending > 0 {
		if err != nil {
			s.logger.Error("buffered download counts not written", "downloads", pending, "err", err)
		} else {
			s.logger.Info("buffered download counts written", "downloads", pending)
		}
	}
	if cerr := s.Store.Close(); err == nil {
		err = cerr
	}
	return err
}

// OpenStorage opens (and migrates) the configured database and blob store.
func OpenStorage(ctx context.Context, cfg config.Config, logger *slog.Logger, opts ...StorageOption) (*Storage, error) {
	var o storageOptions
	for _, fn := range opts {
		fn(&o)
	}
	if !config.IsPostgres(cfg.Database) {
		if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
		if err := checkWritable(cfg.DataDir); err != nil {
			return nil, fmt.Errorf("data directory %s is not writable: %w", cfg.DataDir, err)
		}
	}
	st, err := store.Open(ctx, cfg.Database)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	blobs, err := blobstore.Open(ctx, cfg.BlobStore)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("open blob store: %w", err)
	}
	out := &Storage{logger: logger, openedStore: st, openedBlobs: blobs}
	popts := packages.Options{
		RestoreWindow: cfg.RestoreWindow,
		UploadMaxAge:  cfg.UploadMaxAge,
		Logger:        logger,
		Specs:         Specs(),
	}
	if o.instrumented {
		if st, blobs, err = out.instrument(st, blobs, logger); err != nil {
			st.Close()
			return nil, err
		}
		popts.Observer = out.Metrics
	}
	out.Store, out.Blobs = st, blobs
	out.Service = packages.NewService(st, blobs, popts)
	return out, nil
}

// instrument makes the storage's registry and metrics and wraps the stores
// in their timing decorators.
func (s *Storage) instrument(st packages.Store, blobs packages.BlobStore, logger *slog.Logger) (packages.Store, packages.BlobStore, error) {
	s.Registry = prometheus.NewRegistry()
	m, err := regmetrics.New(s.Registry)
	if err != nil {
		return st, blobs, fmt.Errorf("metrics: %w", err)
	}
	s.Metrics = m
	if _, err := m.WatchUploads(blobs); err != nil {
		return st, blobs, fmt.Errorf("metrics: %w", err)
	}
	st, ok := regmetrics.InstrumentStore(st, m)
	if !ok {
		logger.Warn("the metadata store lacks an optional power: its operations are not timed")
	}
	blobs, ok = regmetrics.InstrumentBlobs(blobs, m)
	if !ok {
		logger.Warn("the blob store has optional powers the timing decorator would hide: its operations are not timed")
	}
	return st, blobs, nil
}

// healthProbes are the checks /healthz and /readyz run: the database and
// the blob store answer, and (for /readyz) the schema has every migration
// of this build.
func (s *Storage) healthProbes() []health.Probe {
	st, blobStore := s.openedStore, s.openedBlobs
	if st == nil {
		st = s.Store
	}
	if blobStore == nil {
		blobStore = s.Blobs
	}
	// A store without a check of its own answers a lookup of a row, or a
	// blob, nobody stores.
	db := func(ctx context.Context) error {
		_, err := st.GetOwnerByID(ctx, -1)
		if packages.IsNotFound(err) {
			return nil
		}
		return err
	}
	if p, ok := st.(health.Pinger); ok {
		db = p.Ping
	}
	blobs := func(ctx context.Context) error {
		_, err := blobStore.Stat(ctx, "sha256:"+strings.Repeat("0", 64))
		if packages.IsNotFound(err) {
			return nil
		}
		return err
	}
	if p, ok := blobStore.(health.Pinger); ok {
		blobs = p.Ping
	}
	probes := []health.Probe{
		{Reason: "database unreachable", Check: db},
		{Reason: "blob store unreachable", Check: blobs},
	}
	if m, ok := st.(migrationChecker); ok {
		probes = append(probes, health.Probe{Reason: "database migrations pending (run packhub migrate)", ReadyOnly: true,
			Check: func(ctx context.Context) error {
				pending, err := m.PendingMigrations(ctx)
				if err == nil && len(pending) > 0 {
					err = fmt.Errorf("migrations not applied: %s", strings.Join(pending, ", "))
				}
				return err
			}})
	}
	return probes
}

// migrationChecker is a store that tells which of this build's migrations
// its database lacks.
type migrationChecker interface {
	PendingMigrations(ctx context.Context) ([]string, error)
}

// checkWritable creates and removes a file in dir. SQLite reports a
// directory it cannot create its files in as "out of memory"; this says
// what is wrong instead.
func checkWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".packhub-write-check-*")
	if err != nil {
		return err
	}
	name := f.Name()
	if err := f.Close(); err != nil {
		os.Remove(name)
		return err
	}
	return os.Remove(name)
}

// NewLogger builds the process logger from the configuration.
func NewLogger(cfg config.Config, w *os.File) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// tokenKey returns the configured registry token key, or the one kept in
// the data directory, creating it on first start.
func tokenKey(cfg config.Config) ([]byte, error) {
	if cfg.TokenKey != "" {
		return []byte(cfg.TokenKey), nil
	}
	path := filepath.Join(cfg.DataDir, "token.key")
	if b, err := os.ReadFile(path); err == nil {
		return []byte(strings.TrimSpace(string(b))), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read token key: %w", err)
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return nil, fmt.Errorf("generate token key: %w", err)
	}
	key := hex.EncodeToString(buf)
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			// Another process made it first: use theirs.
			return tokenKey(cfg)
		}
		return nil, fmt.Errorf("write token key: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(key + "\n"); err != nil {
		return nil, fmt.Errorf("write token key: %w", err)
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("sync token key: %w", err)
	}
	return []byte(key), nil
}

// Server is a running Packhub: its listeners and background jobs.
type Server struct {
	cfg       config.Config
	logger    *slog.Logger
	storage   *Storage
	health    *health.Checker
	main      http.Handler
	docker    http.Handler
	fronts    labeller    // the front label of a path
	tls       *tls.Config // nil: plain HTTP
	listeners []listener
	metrics   *regmetrics.Metrics // registry metrics; the jobs report into them
}

// listener is one bound address and the handler it serves.
type listener struct {
	name string
	ln   net.Listener
	h    http.Handler
}

// New loads the TLS certificate, binds the listeners and builds the
// handlers over opened storage, so that any of these fails before the
// server claims to listen. With port 0 the derived base URL names the port
// the listener got. Run serves; until then, Close releases the listeners.
func New(cfg config.Config, storage *Storage, logger *slog.Logger) (_ *Server, err error) {
	s := &Server{cfg: cfg, logger: logger, storage: storage, fronts: newLabeller(mainFronts, dockerFronts),
		health: health.New(storage.healthProbes(), health.Options{Logger: logger})}
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("load TLS certificate and key: %w", err)
		}
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	key, err := tokenKey(cfg)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	mainLn, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", cfg.Addr, err)
	}
	s.listeners = append(s.listeners, listener{name: "main", ln: mainLn})
	s.cfg.Addr = mainLn.Addr().String()
	if s.cfg.BaseURL == "" {
		s.cfg.BaseURL = s.cfg.DerivedBaseURL(s.cfg.Addr)
	}
	if cfg.DockerAddr != "" {
		dockerLn, err := net.Listen("tcp", cfg.DockerAddr)
		if err != nil {
			return nil, fmt.Errorf("listen %s: %w", cfg.DockerAddr, err)
		}
		s.listeners = append(s.listeners, listener{name: "docker", ln: dockerLn})
		s.cfg.DockerAddr = dockerLn.Addr().String()
	}
	reg, rm := storage.Registry, storage.Metrics
	if reg == nil {
		reg = prometheus.NewRegistry()
		if rm, err = regmetrics.New(reg); err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
	}
	s.metrics = rm
	m := newMetrics(reg, rm)
	d := frontDeps{cfg: s.cfg, svc: storage.Service, tokenKey: key, logger: logger,
		bodies: bodylimit.New(s.cfg.MaxLargeBodies, s.cfg.LargeBodySize, largeBodyWait)}
	s.main = s.middleware(m, routes(mainFronts, d, m, s.health))
	s.listeners[0].h = s.main
	if cfg.DockerAddr != "" {
		s.docker = s.middleware(m, routes(dockerFronts, d, nil, s.health))
		s.listeners[1].h = s.docker
	}
	return s, nil
}

// Close releases the listeners of a server that was not run.
func (s *Server) Close() error {
	var errs []error
	for _, l := range s.listeners {
		if err := l.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Handler returns the handler of the main listener.
func (s *Server) Handler() http.Handler { return s.main }

// DockerHandler returns the handler of the docker listener, nil when off.
func (s *Server) DockerHandler() http.Handler { return s.docker }

// Run serves until ctx is done, then shuts down gracefully.
func (s *Server) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, len(s.listeners)+1)
	var servers []*http.Server
	for _, l := range s.listeners {
		srv := &http.Server{
			Handler:           l.h,
			ReadHeaderTimeout: 30 * time.Second,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    listenerHeaderBytes,
			ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
			TLSConfig:         s.tls,
		}
		servers = append(servers, srv)
		s.logger.Info("listening", "listener", l.name, "addr", l.ln.Addr().String(), "base_url", s.cfg.BaseURL, "tls", s.tls != nil)
		go func() {
			var err error
			if s.tls != nil {
				// The certificate is in TLSConfig, loaded by New.
				err = srv.ServeTLS(l.ln, "", "")
			} else {
				err = srv.Serve(l.ln)
			}
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("serve %s: %w", l.name, err)
			}
		}()
	}
	var jobsDone sync.WaitGroup
	if s.cfg.PurgeInterval > 0 {
		runner := jobs.NewRunner(s.storage.Service, s.logger, jobs.WithObserver(s.metrics))
		jobsDone.Add(1)
		go func() {
			defer jobsDone.Done()
			runner.Run(ctx, s.cfg.PurgeInterval)
		}()
	}
	hooks := webhooks.New(s.storage.Service, restapi.NewPayloads(s.storage.Service, s.cfg.BaseURL), webhooks.Options{
		Timeout: s.cfg.WebhookTimeout, RetryBase: s.cfg.WebhookRetryBase, MaxAttempts: s.cfg.WebhookMaxAttempts, Logger: s.logger,
		Observer: s.metrics,
	})
	hooksDone := make(chan struct{})
	go func() { defer close(hooksDone); hooks.Run(ctx) }()
	defer func() { cancel(); <-hooksDone }()
	if s.cfg.RetentionInterval > 0 {
		retention := jobs.NewRetention(s.storage.Service, s.logger, jobs.WithObserver(s.metrics))
		jobsDone.Add(1)
		go func() {
			defer jobsDone.Done()
			retention.Run(ctx, s.cfg.RetentionInterval)
		}()
	}
	s.health.Serving()
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	s.health.Stopping()
	s.logger.Info("shutting down")
	shutdownCtx, done := context.WithTimeout(context.Background(), 30*time.Second)
	defer done()
	for _, srv := range servers {
		if err := srv.Shutdown(shutdownCtx); err != nil {
			s.logger.Warn("shutdown", "err", err)
		}
	}
	// A purge under way stops at its next check of ctx; the storage it
	// uses is closed after Run returns.
	cancel()
	jobsDone.Wait()
	return runErr
}
