// Package webhooks sends webhook deliveries: a background worker claims
// due deliveries from the outbox the packages service writes in the
// transaction of each change, renders their payloads once, posts them as
// GitHub does (X-GitHub-Event, X-GitHub-Delivery, X-GitHub-Hook-ID,
// X-Hub-Signature-256, User-Agent GitHub-Hookshot/…, JSON or form
// bodies), and records each attempt. A failed attempt is retried with
// exponential backoff; a delivery is never lost to a crash, because it is
// claimed with a lease that runs out, not taken away.
package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/packhub/packhub/internal/packages"
)

// Renderer renders the JSON payload of a delivery.
type Renderer interface {
	Payload(ctx context.Context, d *packages.Delivery) ([]byte, error)
}

// Options tune the worker; zero values take the defaults.
type Options struct {
	// Timeout bounds one attempt (connect, send, answer). Default 10s.
	Timeout time.Duration
	// RetryBase is the wait after the first failed attempt; each further
	// failure doubles it, up to MaxBackoff. Default 10s.
	RetryBase time.Duration
	// MaxBackoff caps the wait between attempts. Default 1h.
	MaxBackoff time.Duration
	// MaxAttempts is how many attempts a delivery gets before it is
	// failed for good. Default 8.
	MaxAttempts int
	// Poll is how often the worker looks for due deliveries. Default 1s.
	Poll time.Duration
	// Batch is how many deliveries one claim takes, and how many are
	// sent at once. Default 4.
	Batch int
	// Logger receives the worker's logs. Default slog.Default().
	Logger *slog.Logger
	// Version is the version of Packhub, for User-Agent.
	Version string
	// Observer is told of every attempt that reached a receiver or failed
	// to; nil: nobody.
	Observer Observer
}

// Observer is what the worker reports each delivery attempt into: the
// event, whether the receiver took it (a 2xx answer) and how long the
// attempt took (the registry metrics implement it).
type Observer interface {
	WebhookDelivered(event string, delivered bool, took time.Duration)
}

// MaxResponseBody is how much of a receiver's answer is recorded.
const MaxResponseBody = 64 << 10

// Worker sends deliveries.
type Worker struct {
	svc    *packages.Service
	render Renderer
	opts   Options
	client *http.Client // verifies certificates
	lax    *http.Client // insecure_ssl "1"
}

// New returns a worker over svc.
func New(svc *packages.Service, render Renderer, opts Options) *Worker {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.RetryBase <= 0 {
		opts.RetryBase = 10 * time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = time.Hour
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 8
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.Batch <= 0 {
		opts.Batch = 4
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Version == "" {
		opts.Version = "packhub"
	}
	mk := func(insecure bool) *http.Client {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.Proxy = nil
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: insecure} //nolint:gosec // only when the hook asks for it
		return &http.Client{
			Timeout:   opts.Timeout,
			Transport: tr,
			// A receiver's redirect is its answer, as GitHub records it.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return &Worker{svc: svc, render: render, opts: opts, client: mk(false), lax: mk(true)}
}

// Run sends due deliveries until ctx is done.
func (w *Worker) Run(ctx context.Context) {
	t := time.NewTicker(w.opts.Poll)
	defer t.Stop()
	for {
		for w.RunOnce(ctx) == w.opts.Batch {
			// A full batch: more may be due.
			if ctx.Err() != nil {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunOnce claims one batch of due deliveries, sends them and returns how
// many it claimed.
func (w *Worker) RunOnce(ctx context.Context) int {
	// The lease outlasts an attempt, so that only a worker that died
	// loses its claim.
	ds, err := w.svc.ClaimDeliveries(ctx, w.opts.Batch, w.Lease())
	if err != nil {
		if ctx.Err() == nil {
			w.opts.Logger.ErrorContext(ctx, "webhook claim failed", "err", err)
		}
		return 0
	}
	var wg sync.WaitGroup
	for i := range ds {
		wg.Add(1)
		go func(d *packages.Delivery) {
			defer wg.Done()
			w.attempt(ctx, d)
		}(&ds[i])
	}
	wg.Wait()
	return len(ds)
}

// Lease is how long a claim holds: longer than an attempt and its
// record take, so that only a worker that died (or was killed) loses its
// claim, whose delivery another worker, or this one after a restart,
// then sends.
func (w *Worker) Lease() time.Duration { return 2*w.opts.Timeout + 5*time.Second }

// attempt sends a claimed delivery once and records the outcome.
func (w *Worker) attempt(ctx context.Context, d *packages.Delivery) {
	log := w.opts.Logger.With("delivery_id", d.ID, "hook_id", d.HookID, "guid", d.GUID, "event", d.Event, "attempt", d.Attempts)
	sub, err := w.svc.DeliverySubject(ctx, d)
	if err != nil {
		if packages.IsNotFound(err) || packages.KindOf(err) == packages.KindNotFound {
			// The hook or what the delivery reports is gone.
			d.State, d.Status = packages.DeliveryFailed, "payload unavailable: "+packages.PublicMessage(err, "not found")
			w.finish(ctx, log, d)
			return
		}
		w.retryLater(ctx, log, d, "internal error", err)
		return
	}
	if len(d.Payload) == 0 {
		if d.Payload, err = w.render.Payload(ctx, d); err != nil {
			w.retryLater(ctx, log, d, "internal error", err)
			return
		}
	}
	h := sub.Hook
	req, err := w.request(ctx, h, d)
	if err != nil {
		d.State, d.Status = packages.DeliveryFailed, "invalid url"
		w.finish(ctx, log, d)
		return
	}
	d.RequestHeaders = flatten(req.Header)
	client := w.client
	if h.InsecureSSL == "1" {
		client = w.lax
	}
	start := time.Now()
	res, err := client.Do(req)
	took := time.Since(start)
	d.Duration = took.Seconds()
	if w.opts.Observer != nil {
		defer func() { w.opts.Observer.WebhookDelivered(d.Event, d.State == packages.DeliveryDelivered, took) }()
	}
	at := w.svc.Now()
	d.DeliveredAt = &at
	if err != nil {
		d.StatusCode, d.ResponseHeaders, d.ResponseBody = 0, nil, ""
		w.outcome(ctx, log, d, failureStatus(err))
		return
	}
	body, _ := io.ReadAll(io.LimitReader(res.Body, MaxResponseBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
	res.Body.Close()
	d.StatusCode, d.ResponseHeaders, d.ResponseBody = res.StatusCode, flatten(res.Header), strings.ToValidUTF8(string(body), "\uFFFD")
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		d.State, d.Status = packages.DeliveryDelivered, "OK"
		w.finish(ctx, log, d)
		return
	}
	w.outcome(ctx, log, d, "Invalid HTTP Response: "+strconv.Itoa(res.StatusCode))
}

// outcome records a failed attempt: retried later, or failed for good.
func (w *Worker) outcome(ctx context.Context, log *slog.Logger, d *packages.Delivery, status string) {
	d.Status = status
	if d.Attempts >= w.opts.MaxAttempts {
		d.State = packages.DeliveryFailed
	} else {
		d.State = packages.DeliveryPending
		d.NextAttemptAt = w.svc.Now().Add(w.Backoff(d.Attempts))
	}
	log.InfoContext(ctx, "webhook attempt failed", "status", status, "state", d.State)
	w.finish(ctx, log, d)
}

// retryLater gives back a delivery whose payload could not be made.
func (w *Worker) retryLater(ctx context.Context, log *slog.Logger, d *packages.Delivery, status string, err error) {
	log.ErrorContext(ctx, "webhook delivery failed", "err", err)
	w.outcome(ctx, log, d, status)
}

func (w *Worker) finish(ctx context.Context, log *slog.Logger, d *packages.Delivery) {
	if d.State == packages.DeliveryDelivered {
		log.InfoContext(ctx, "webhook delivered", "status_code", d.StatusCode, "duration_ms", int64(d.Duration*1000))
	}
	ok, err := w.svc.FinishAttempt(ctx, d)
	switch {
	case err != nil:
		// The lease runs out and the delivery is attempted again.
		log.ErrorContext(ctx, "webhook record attempt", "err", err)
	case !ok:
		log.WarnContext(ctx, "webhook claim lost: another worker took the delivery")
	}
}

// Backoff is the wait after the n-th failed attempt: RetryBase doubled
// for each earlier failure, at most MaxBackoff.
func (w *Worker) Backoff(n int) time.Duration {
	b := w.opts.RetryBase
	for i := 1; i < n && b < w.opts.MaxBackoff; i++ {
		b *= 2
	}
	return min(b, w.opts.MaxBackoff)
}

// request builds the POST of a delivery.
func (w *Worker) request(ctx context.Context, h *packages.Hook, d *packages.Delivery) (*http.Request, error) {
	body, ctype := d.Payload, "application/json"
	if h.ContentType == "form" {
		body, ctype = []byte("payload="+url.QueryEscape(string(d.Payload))), "application/x-www-form-urlencoded"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "*/*")
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("User-Agent", "GitHub-Hookshot/"+w.opts.Version)
	req.Header.Set("X-GitHub-Delivery", d.GUID)
	req.Header.Set("X-GitHub-Event", d.Event)
	req.Header.Set("X-GitHub-Hook-ID", strconv.FormatInt(h.ID, 10))
	if h.RepositoryID != 0 {
		req.Header.Set("X-GitHub-Hook-Installation-Target-Type", "repository")
		req.Header.Set("X-GitHub-Hook-Installation-Target-ID", strconv.FormatInt(h.RepositoryID, 10))
	} else {
		req.Header.Set("X-GitHub-Hook-Installation-Target-Type", "organization")
		req.Header.Set("X-GitHub-Hook-Installation-Target-ID", strconv.FormatInt(h.OwnerID, 10))
	}
	if h.Secret != "" {
		req.Header.Set("X-Hub-Signature-256", Sign(h.Secret, body))
	}
	return req, nil
}

// Sign returns X-Hub-Signature-256 of body: "sha256=" and the hex
// HMAC-SHA256 of the body with the secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// flatten turns headers into the one-value map GitHub's delivery records
// show.
func flatten(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, vs := range h {
		out[k] = strings.Join(vs, ", ")
	}
	return out
}

// failureStatus says, as GitHub's delivery records do, why no answer came.
func failureStatus(err error) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return "timed out"
	case isConnRefused(err):
		return "failed to connect"
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return "failed to resolve host"
	}
	return fmt.Sprintf("failed: %v", trimURLError(err))
}

func isConnRefused(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial"
}

func trimURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
