// Package health answers what a load balancer and an orchestrator ask of
// one server process:
//
//	GET /livez    the process serves HTTP (200 while it runs, even while its
//	              stores are down: restarting it would not bring them back)
//	GET /healthz  it has started, is not stopping, and reaches its database
//	              and its blob store
//	GET /readyz   /healthz, and the database schema has every migration of
//	              this build: ready to take traffic
//
// Each answers 200 "ok", or 503 with one line per reason. The stores are
// probed at most once per TTL however many checks arrive, so that health
// checks cannot load the database; each probe has a timeout of its own.
package health

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of a Checker.
const (
	DefaultTTL     = time.Second
	DefaultTimeout = 2 * time.Second
)

// Probe checks one dependency.
type Probe struct {
	// Reason is what a failed check answers, e.g. "database unreachable".
	// The error itself is logged, not answered: it may name hosts.
	Reason string
	Check  func(ctx context.Context) error
	// ReadyOnly probes count for /readyz alone.
	ReadyOnly bool
}

// Pinger is what a store that can tell whether it is reachable has. The
// database and blob stores implement it.
type Pinger interface {
	Ping(ctx context.Context) error
}

type state int32

const (
	starting state = iota
	serving
	stopping
)

// Checker holds the process's state and probes its dependencies.
type Checker struct {
	probes  []Probe
	logger  *slog.Logger
	ttl     time.Duration
	timeout time.Duration
	now     func() time.Time

	state atomic.Int32

	mu      sync.Mutex // one round of probes at a time
	checked time.Time
	failed  []bool // by probe, as of checked
}

// Options configure a Checker.
type Options struct {
	TTL     time.Duration // default DefaultTTL
	Timeout time.Duration // per probe; default DefaultTimeout
	Logger  *slog.Logger  // default slog.Default()
	Now     func() time.Time
}

// New returns a Checker over probes, in the starting state.
func New(probes []Probe, opts Options) *Checker {
	if opts.TTL <= 0 {
		opts.TTL = DefaultTTL
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Checker{probes: probes, logger: opts.Logger, ttl: opts.TTL, timeout: opts.Timeout, now: opts.Now,
		failed: make([]bool, len(probes))}
}

// Serving marks the process as taking requests.
func (c *Checker) Serving() { c.state.Store(int32(serving)) }

// Stopping marks the process as shutting down: /healthz and /readyz answer
// 503 from now on, so that a load balancer sends no new requests.
func (c *Checker) Stopping() { c.state.Store(int32(stopping)) }

// reasons returns why the process is not healthy (ready with ready),
// empty when it is.
func (c *Checker) reasons(ready bool) []string {
	switch state(c.state.Load()) {
	case starting:
		return []string{"starting"}
	case stopping:
		return []string{"stopping"}
	}
	failed := c.probe()
	var out []string
	for i, p := range c.probes {
		if failed[i] && (ready || !p.ReadyOnly) {
			out = append(out, p.Reason)
		}
	}
	return out
}

// probe runs every probe unless they ran within the TTL, and returns
// which failed. Concurrent callers wait for one round. The probes do not
// run under a request's context: a client that goes away must not make the
// stores look down for the next caller.
func (c *Checker) probe() []bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := c.now(); !c.checked.IsZero() && now.Sub(c.checked) < c.ttl {
		return c.failed
	}
	failed := make([]bool, len(c.probes))
	for i, p := range c.probes {
		pctx, cancel := context.WithTimeout(context.Background(), c.timeout)
		err := p.Check(pctx)
		cancel()
		failed[i] = err != nil
		switch {
		case err != nil && !c.failed[i]:
			c.logger.Warn("health check failed", "check", p.Reason, "err", err)
		case err == nil && c.failed[i]:
			c.logger.Info("health check passes again", "check", p.Reason)
		}
	}
	c.failed, c.checked = failed, c.now()
	return failed
}

func answer(w http.ResponseWriter, reasons []string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	if len(reasons) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(strings.Join(reasons, "\n") + "\n"))
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

// Livez answers 200 as long as the process serves requests.
func (c *Checker) Livez() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { answer(w, nil) })
}

// Healthz answers 200 once the process serves requests and reaches its
// stores.
func (c *Checker) Healthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { answer(w, c.reasons(false)) })
}

// Readyz answers 200 when the process is healthy and every probe, the
// readiness ones included, passes.
func (c *Checker) Readyz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { answer(w, c.reasons(true)) })
}
