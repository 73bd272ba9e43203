package server

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/packhub/packhub/internal/packages"
)

// metrics are the server's Prometheus collectors, in a registry of its own.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inflight prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "packhub_http_requests_total", Help: "HTTP requests by front, method and status code.",
		}, []string{"front", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "packhub_http_request_duration_seconds", Help: "HTTP request latency by front.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
		}, []string{"front"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "packhub_http_requests_in_flight", Help: "HTTP requests being served.",
		}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.inflight,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// statusRecorder remembers the status and size of a response.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// ReadFrom passes io.Copy through to the underlying writer, which sends
// files with sendfile.
func (r *statusRecorder) ReadFrom(src io.Reader) (int64, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := io.Copy(r.ResponseWriter, src)
	r.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Flush passes flushes through.
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func newRequestID() string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return strconv.FormatInt(time.Now().UnixNano(), 16)
	}
	return hex.EncodeToString(b)
}

// middleware adds to every request: a request id (X-Request-Id, echoed as
// X-GitHub-Request-Id by the REST API), panic recovery, a log line and
// metrics.
func (s *Server) middleware(m *metrics, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 64 {
			id = newRequestID()
			r.Header.Set("X-Request-Id", id)
		}
		w.Header().Set("X-Request-Id", id)
		front := s.fronts.label(r.URL.Path)
		rec := &statusRecorder{ResponseWriter: w}
		m.inflight.Inc()
		defer func() {
			m.inflight.Dec()
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.logger.Error("panic", "request_id", id, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if rec.status == 0 {
					w.Header().Set("Content-Type", "application/json; charset=utf-8")
					rec.WriteHeader(http.StatusInternalServerError)
					_, _ = rec.Write([]byte(`{"message":"Internal Server Error","documentation_url":"https://docs.github.com/rest","status":"500"}`))
				}
			}
			if rec.status == 0 {
				rec.status = http.StatusOK
			}
			elapsed := time.Since(start)
			m.requests.WithLabelValues(front, r.Method, strconv.Itoa(rec.status)).Inc()
			m.duration.WithLabelValues(front).Observe(elapsed.Seconds())
			if front != "health" && front != "metrics" {
				s.logger.Info("request", "request_id", id, "front", front, "method", r.Method, "path", r.URL.Path,
					"status", rec.status, "bytes", rec.bytes, "duration_ms", elapsed.Milliseconds())
			}
		}()
		if headerBytes(r) > maxHeaderBytes {
			rec.Header().Set("Content-Type", "application/json; charset=utf-8")
			rec.WriteHeader(http.StatusRequestHeaderFieldsTooLarge)
			_, _ = rec.Write([]byte(`{"message":"Request Header Fields Too Large","documentation_url":"https://docs.github.com/rest","status":"431"}`))
			return
		}
		// The audit log records who asked, from where, under which id.
		r = r.WithContext(packages.WithRequestInfo(r.Context(), packages.RequestInfo{
			IP: clientIP(r), UserAgent: r.UserAgent(), RequestID: id}))
		next.ServeHTTP(rec, r)
	})
}

// maxHeaderBytes bounds a request's headers. The listener accepts up to
// listenerHeaderBytes so that a request a little over this bound still gets
// a JSON error from here rather than net/http's plain text.
const (
	maxHeaderBytes      = 32 << 10
	listenerHeaderBytes = 1 << 20
)

func headerBytes(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

// clientIP is the address the request came from.
func clientIP(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}
