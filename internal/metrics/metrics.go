// Package metrics holds Packhub's registry metrics: publishes, downloads,
// bytes in and out and errors by front, upload sessions, job runs, webhook
// deliveries, and the latency of the metadata and blob stores, measured
// by decorators the server wiring puts around them. Everything is
// registered on the prometheus.Registerer it is given; nothing is global.
//
// The HTTP metrics (requests, latency, in flight) are the server
// middleware's, in the same registry.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/packhub/packhub/internal/packages"
)

// Metrics are the registry metrics of one server.
type Metrics struct {
	publishes   *prometheus.CounterVec
	downloads   *prometheus.CounterVec
	bytesIn     *prometheus.CounterVec
	bytesOut    *prometheus.CounterVec
	errors      *prometheus.CounterVec
	jobRuns     *prometheus.CounterVec
	jobDuration *prometheus.HistogramVec
	hooks       *prometheus.CounterVec
	hookTime    *prometheus.HistogramVec
	storeTime   *prometheus.HistogramVec
	storeErrors *prometheus.CounterVec
	blobTime    *prometheus.HistogramVec
	blobErrors  *prometheus.CounterVec
	reg         prometheus.Registerer
}

// latencyBuckets span a fast SQLite read to a slow blob write.
var latencyBuckets = prometheus.ExponentialBuckets(0.0001, 4, 10)

// New registers the registry metrics on reg.
func New(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		reg: reg,
		publishes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "packhub_publishes_total", Help: "Versions published, by package type.",
		}, []string{"type"}),
		downloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "packhub_downloads_total", Help: "Downloads counted (as the packages' download counts count them), by package type.",
		}, []string{"type"}),
		bytesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "packhub_http_request_bytes_total", Help: "Bytes of request bodies read, by front.",
		}, []string{"front"}),
		bytesOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "packhub_http_response_bytes_total", Help: "Bytes of response bodies written, by front.",
		}, []string{"front"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "packhub_errors_total", Help: "Error responses by front and type (not_found, unauthenticated, forbidden, invalid, conflict, too_large, insufficient_storage, internal, ...).",
		}, []string{"front", "type"}),
		jobRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "packhub_job_runs_total", Help: "Background job runs, by job and result (ok, failed, skipped: another replica held the lock).",
		}, []string{"job", "result"}),
		jobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "packhub_job_duration_seconds", Help: "Background job run time, by job.",
			Buckets: prometheus.ExponentialBuckets(0.01, 4, 10),
		}, []string{"job"}),
		hooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "packhub_webhook_deliveries_total", Help: "Webhook delivery attempts, by event and result (delivered, failed).",
		}, []string{"event", "result"}),
		hookTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "packhub_webhook_delivery_duration_seconds", Help: "Webhook delivery attempt time, by event.",
			Buckets: prometheus.ExponentialBuckets(0.005, 4, 8),
		}, []string{"event"}),
		storeTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "packhub_store_operation_duration_seconds", Help: "Metadata store (database) operation latency, by operation.",
			Buckets: latencyBuckets,
		}, []string{"op"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "packhub_store_operation_errors_total", Help: "Metadata store operations that failed (not-found and conflict answers excepted), by operation.",
		}, []string{"op"}),
		blobTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "packhub_blob_operation_duration_seconds", Help: "Blob store operation latency, by operation.",
			Buckets: latencyBuckets,
		}, []string{"op"}),
		blobErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "packhub_blob_operation_errors_total", Help: "Blob store operations that failed (not-found answers excepted), by operation.",
		}, []string{"op"}),
	}
	for _, c := range []prometheus.Collector{m.publishes, m.downloads, m.bytesIn, m.bytesOut, m.errors, m.jobRuns, m.jobDuration,
		m.hooks, m.hookTime, m.storeTime, m.storeErrors, m.blobTime, m.blobErrors} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Published counts a version published (packages.Observer).
func (m *Metrics) Published(t packages.Type) { m.publishes.WithLabelValues(string(t)).Inc() }

// Downloaded counts downloads (packages.Observer).
func (m *Metrics) Downloaded(t packages.Type, n int64) {
	m.downloads.WithLabelValues(string(t)).Add(float64(n))
}

var _ packages.Observer = (*Metrics)(nil)

// BytesIn counts request body bytes a front read.
func (m *Metrics) BytesIn(front string, n int64) {
	if n > 0 {
		m.bytesIn.WithLabelValues(front).Add(float64(n))
	}
}

// BytesOut counts response body bytes a front wrote.
func (m *Metrics) BytesOut(front string, n int64) {
	if n > 0 {
		m.bytesOut.WithLabelValues(front).Add(float64(n))
	}
}

// Response counts an error response (status 400 and above) of a front by
// its type.
func (m *Metrics) Response(front string, status int) {
	if status >= 400 {
		m.errors.WithLabelValues(front, ErrorType(status)).Inc()
	}
}

// ErrorType names the kind of error a status answers, as every front maps
// the service's error kinds to statuses.
func ErrorType(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusRequestedRangeNotSatisfiable:
		return "invalid"
	case http.StatusUnauthorized:
		return "unauthenticated"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusConflict:
		return "conflict"
	case http.StatusRequestEntityTooLarge, http.StatusRequestHeaderFieldsTooLarge:
		return "too_large"
	case http.StatusTooManyRequests:
		return "rate_limited"
	case http.StatusInsufficientStorage:
		return "insufficient_storage"
	case http.StatusServiceUnavailable:
		return "unavailable"
	case http.StatusInternalServerError:
		return "internal"
	}
	if status >= 500 {
		return "server_error_" + strconv.Itoa(status)
	}
	return "client_error_" + strconv.Itoa(status)
}

// Job results.
const (
	JobOK      = "ok"
	JobFailed  = "failed"
	JobSkipped = "skipped"
)

// JobRan counts a background job run and its time (jobs.Observer).
func (m *Metrics) JobRan(job, result string, took time.Duration) {
	m.jobRuns.WithLabelValues(job, result).Inc()
	m.jobDuration.WithLabelValues(job).Observe(took.Seconds())
}

// WebhookObserver is what a webhook sender reports each delivery attempt
// into: the event it delivered, whether the receiver took it (a 2xx
// answer) and how long the attempt took. *Metrics implements it; the
// server wiring hands it to the sender. A retry is another attempt.
type WebhookObserver interface {
	WebhookDelivered(event string, delivered bool, took time.Duration)
}

// WebhookDelivered counts one delivery attempt (WebhookObserver).
func (m *Metrics) WebhookDelivered(event string, delivered bool, took time.Duration) {
	result := "delivered"
	if !delivered {
		result = "failed"
	}
	m.hooks.WithLabelValues(event, result).Inc()
	m.hookTime.WithLabelValues(event).Observe(took.Seconds())
}

// NopWebhooks is a WebhookObserver that records nothing, for senders
// built without metrics.
type NopWebhooks struct{}

// WebhookDelivered does nothing.
func (NopWebhooks) WebhookDelivered(string, bool, time.Duration) {}

// UploadCounter is an optional power of a blob store: counting its upload
// sessions (started, not yet committed, cancelled or purged), whichever
// process started them.
type UploadCounter interface {
	CountUploads(ctx context.Context) (int, error)
}

// WatchUploads registers packhub_upload_sessions, read from the blob store
// at each scrape, when the store can count them; it reports whether it
// did.
func (m *Metrics) WatchUploads(blobs packages.BlobStore) (bool, error) {
	c, ok := blobs.(UploadCounter)
	if !ok {
		return false, nil
	}
	g := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "packhub_upload_sessions", Help: "Upload sessions open in the blob store (resumable uploads started and not finished).",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n, err := c.CountUploads(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	})
	return true, m.reg.Register(g)
}

// observer times one store or blob operation.
func observe(h *prometheus.HistogramVec, errs *prometheus.CounterVec, op string, start time.Time, err error) {
	h.WithLabelValues(op).Observe(time.Since(start).Seconds())
	if err != nil && !packages.IsNotFound(err) && !packages.IsConflict(err) {
		errs.WithLabelValues(op).Inc()
	}
}
