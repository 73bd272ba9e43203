// Package server wires Packhub together: it opens the stores, builds the
// packages service, mounts every protocol front on one http.Handler with
// the shared middleware, and runs the listeners and background jobs.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/packhub/packhub/internal/blob/blobstore"
	"github.com/packhub/packhub/internal/config"
	"github.com/packhub/packhub/internal/jobs"
	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/store"
)

// Storage is an opened metadata store and blob store with the service over
// them.
type Storage struct {
	Store   packages.Store
	Blobs   packages.BlobStore
	Service *packages.Service
}

// Close writes what the service holds in memory and releases the storage.
func (s *Storage) Close() error {
	err := s.Service.Close()
	if cerr := s.Store.Close(); err == nil {
		err = cerr
	}
	return err
}

// OpenStorage opens (and migrates) the configured database and blob store.
func OpenStorage(ctx context.Context, cfg config.Config, logger *slog.Logger) (*Storage, error) {
	if !strings.Contains(cfg.Database, "://") || strings.HasPrefix(cfg.Database, "file:") || strings.HasPrefix(cfg.Database, "sqlite:") {
		if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
			return nil, fmt.Errorf("create data dir: %w", err)
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
	svc := packages.NewService(st, blobs, packages.Options{
		RestoreWindow: cfg.RestoreWindow,
		UploadMaxAge:  cfg.UploadMaxAge,
		Logger:        logger,
		Specs:         Specs(),
	})
	return &Storage{Store: st, Blobs: blobs, Service: svc}, nil
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
	cfg     config.Config
	logger  *slog.Logger
	storage *Storage
	ready   atomic.Bool
	main    http.Handler
	docker  http.Handler
	fronts  labeller // the front label of a path
}

// New builds the server's handlers over opened storage.
func New(cfg config.Config, storage *Storage, logger *slog.Logger) (*Server, error) {
	key, err := tokenKey(cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, logger: logger, storage: storage, fronts: newLabeller(mainFronts, dockerFronts)}
	m := newMetrics()
	d := frontDeps{cfg: cfg, svc: storage.Service, tokenKey: key, logger: logger}
	s.main = s.middleware(m, routes(mainFronts, d, m, &s.ready))
	if cfg.DockerAddr != "" {
		s.docker = s.middleware(m, routes(dockerFronts, d, nil, &s.ready))
	}
	return s, nil
}

// Handler returns the handler of the main listener.
func (s *Server) Handler() http.Handler { return s.main }

// DockerHandler returns the handler of the docker listener, nil when off.
func (s *Server) DockerHandler() http.Handler { return s.docker }

// Run serves until ctx is done, then shuts down gracefully.
func (s *Server) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type listener struct {
		name string
		addr string
		h    http.Handler
	}
	ls := []listener{{"main", s.cfg.Addr, s.main}}
	if s.docker != nil {
		ls = append(ls, listener{"docker", s.cfg.DockerAddr, s.docker})
	}
	errc := make(chan error, len(ls)+1)
	var servers []*http.Server
	for _, l := range ls {
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			return fmt.Errorf("listen %s: %w", l.addr, err)
		}
		srv := &http.Server{
			Handler:           l.h,
			ReadHeaderTimeout: 30 * time.Second,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    listenerHeaderBytes,
			ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
		}
		servers = append(servers, srv)
		s.logger.Info("listening", "listener", l.name, "addr", ln.Addr().String(), "base_url", s.cfg.BaseURL, "tls", s.cfg.TLSCert != "")
		go func() {
			var err error
			if s.cfg.TLSCert != "" {
				err = srv.ServeTLS(ln, s.cfg.TLSCert, s.cfg.TLSKey)
			} else {
				err = srv.Serve(ln)
			}
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("serve %s: %w", l.name, err)
			}
		}()
	}
	if s.cfg.PurgeInterval > 0 {
		runner := jobs.NewRunner(s.storage.Service, s.logger)
		go runner.Run(ctx, s.cfg.PurgeInterval)
	}
	s.ready.Store(true)
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	s.ready.Store(false)
	s.logger.Info("shutting down")
	shutdownCtx, done := context.WithTimeout(context.Background(), 30*time.Second)
	defer done()
	for _, srv := range servers {
		if err := srv.Shutdown(shutdownCtx); err != nil {
			s.logger.Warn("shutdown", "err", err)
		}
	}
	return runErr
}
