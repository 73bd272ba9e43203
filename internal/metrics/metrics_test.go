package metrics_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/packhub/packhub/internal/blob/fileblob"
	"github.com/packhub/packhub/internal/metrics"
	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/store/storetest"
)

func newMetrics(t *testing.T) (*metrics.Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	return m, reg
}

// keepsMethods fails unless wrapped has every exported method raw has,
// but those listed: a decorator that hid one would hide an optional power
// the service or the jobs look for (a method added to the SQL or file
// store needs forwarding in the decorator).
func keepsMethods(t *testing.T, raw, wrapped any, except ...string) {
	t.Helper()
	rt, wt := reflect.TypeOf(raw), reflect.TypeOf(wrapped)
	for i := range rt.NumMethod() {
		name := rt.Method(i).Name
		if _, ok := wt.MethodByName(name); !ok && !strings.Contains(" "+strings.Join(except, " ")+" ", " "+name+" ") {
			t.Errorf("the decorator of %s lacks %s", rt, name)
		}
	}
}

func TestDecoratorsKeepPowers(t *testing.T) {
	m, _ := newMetrics(t)
	for _, d := range storetest.Dialects {
		t.Run(d.Name, func(t *testing.T) {
			raw := d.Open(t)
			wrapped, ok := metrics.InstrumentStore(raw, m)
			if !ok {
				t.Fatal("the SQL store was not wrapped")
			}
			keepsMethods(t, raw, wrapped)
			err := wrapped.WithTx(context.Background(), func(tx packages.Store) error {
				// A transaction is not probed by the health checks.
				keepsMethods(t, raw, tx, "Ping", "PendingMigrations", "Analyze")
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
	raw, err := fileblob.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	wrapped, ok := metrics.InstrumentBlobs(raw, m)
	if !ok {
		t.Fatal("the file blob store was not wrapped")
	}
	// Root is for tests; CountUploads is read from the store itself
	// (WatchUploads).
	keepsMethods(t, raw, wrapped, "Root", "CountUploads")

	// A store without every power is left alone.
	if _, ok := metrics.InstrumentStore(struct{ packages.Store }{raw2(t)}, m); ok {
		t.Error("a store without the optional powers was wrapped")
	}
	if _, ok := metrics.InstrumentBlobs(struct{ packages.BlobStore }{raw}, m); ok {
		t.Error("a blob store without DeleteIfOlder was wrapped")
	}
}

func raw2(t *testing.T) packages.Store { return storetest.NewSQLite(t) }

func TestStoreTiming(t *testing.T) {
	storetest.Each(t, func(t *testing.T, raw packages.Store) {
		m, reg := newMetrics(t)
		st, _ := metrics.InstrumentStore(raw, m)
		ctx := context.Background()
		if _, err := st.GetOwnerByLogin(ctx, "nobody"); !packages.IsNotFound(err) {
			t.Fatal(err)
		}
		err := st.WithTx(ctx, func(tx packages.Store) error {
			if _, ok := tx.(packages.PackageLocker); !ok {
				t.Error("the transaction lost the PackageLocker power")
			}
			return tx.CreateOwner(ctx, &packages.Owner{Login: "alice", Type: packages.UserOwner})
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.AddEvent(ctx, &packages.Event{Action: "x", CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		// One failure that is not a not-found: a write of a closed store.
		if err := raw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := st.AddEvent(ctx, &packages.Event{Action: "x"}); err == nil {
			t.Fatal("a write of a closed store succeeded")
		}
		n := histogramCounts(t, reg, "packhub_store_operation_duration_seconds")
		for op, want := range map[string]uint64{"GetOwnerByLogin": 1, "WithTx": 1, "CreateOwner": 1, "AddEvent": 2} {
			if n[op] != want {
				t.Errorf("%s timed %d times, want %d (%v)", op, n[op], want, n)
			}
		}
		errs := `
# HELP packhub_store_operation_errors_total Metadata store operations that failed (not-found and conflict answers excepted), by operation.
# TYPE packhub_store_operation_errors_total counter
packhub_store_operation_errors_total{op="AddEvent"} 1
`
		if err := testutil.GatherAndCompare(reg, strings.NewReader(errs), "packhub_store_operation_errors_total"); err != nil {
			t.Error(err)
		}
	})
}

// histogramCounts returns a histogram's sample counts by its op label.
func histogramCounts(t *testing.T, reg *prometheus.Registry, name string) map[string]uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]uint64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, mt := range mf.GetMetric() {
			for _, l := range mt.GetLabel() {
				if l.GetName() == "op" {
					out[l.GetValue()] = mt.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return out
}

func TestBlobTimingAndUploads(t *testing.T) {
	m, reg := newMetrics(t)
	raw, err := fileblob.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := m.WatchUploads(raw); !ok || err != nil {
		t.Fatalf("WatchUploads: %v, %v", ok, err)
	}
	b, _ := metrics.InstrumentBlobs(raw, m)
	ctx := context.Background()
	d, _, err := b.Put(ctx, strings.NewReader("hello"), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Stat(ctx, d); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Stat(ctx, "sha256:"+strings.Repeat("0", 64)); !packages.IsNotFound(err) {
		t.Fatal(err)
	}
	u, err := b.NewUpload(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	n := histogramCounts(t, reg, "packhub_blob_operation_duration_seconds")
	if n["Put"] != 1 || n["Stat"] != 2 || n["NewUpload"] != 1 {
		t.Errorf("timed %v", n)
	}
	want := `
# HELP packhub_upload_sessions Upload sessions open in the blob store (resumable uploads started and not finished).
# TYPE packhub_upload_sessions gauge
packhub_upload_sessions 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "packhub_upload_sessions"); err != nil {
		t.Error(err)
	}
	if c := testutil.ToFloat64(counterOf(t, reg, "packhub_blob_operation_errors_total")); c != 0 {
		t.Errorf("a not-found counted as a blob store error: %v", c)
	}
}

// counterOf sums a counter family, as one collector.
func counterOf(t *testing.T, reg *prometheus.Registry, name string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, mt := range mf.GetMetric() {
				sum += mt.GetCounter().GetValue()
			}
		}
	}
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "sum"})
	c.Add(sum)
	return c
}

func TestRegistryMetrics(t *testing.T) {
	m, reg := newMetrics(t)
	m.Published(packages.TypeNpm)
	m.Published(packages.TypeNpm)
	m.Downloaded(packages.TypeContainer, 3)
	m.BytesIn("npm", 100)
	m.BytesIn("npm", 0)
	m.BytesOut("oci", 2048)
	m.Response("npm", 200)
	m.Response("npm", 404)
	m.Response("oci", 507)
	m.JobRan("purge", metrics.JobOK, 2*time.Second)
	m.WebhookDelivered("package.published", true, 50*time.Millisecond)
	m.WebhookDelivered("package.published", false, time.Second)
	var hooks metrics.WebhookObserver = m
	hooks.WebhookDelivered("package.deleted", true, time.Millisecond)
	metrics.NopWebhooks{}.WebhookDelivered("x", true, 0)
	want := `
# HELP packhub_publishes_total Versions published, by package type.
# TYPE packhub_publishes_total counter
packhub_publishes_total{type="npm"} 2
# HELP packhub_downloads_total Downloads counted (as the packages' download counts count them), by package type.
# TYPE packhub_downloads_total counter
packhub_downloads_total{type="container"} 3
# HELP packhub_http_request_bytes_total Bytes of request bodies read, by front.
# TYPE packhub_http_request_bytes_total counter
packhub_http_request_bytes_total{front="npm"} 100
# HELP packhub_http_response_bytes_total Bytes of response bodies written, by front.
# TYPE packhub_http_response_bytes_total counter
packhub_http_response_bytes_total{front="oci"} 2048
# HELP packhub_errors_total Error responses by front and type (not_found, unauthenticated, forbidden, invalid, conflict, too_large, insufficient_storage, internal, ...).
# TYPE packhub_errors_total counter
packhub_errors_total{front="npm",type="not_found"} 1
packhub_errors_total{front="oci",type="insufficient_storage"} 1
# HELP packhub_job_runs_total Background job runs, by job and result (ok, failed, skipped: another replica held the lock).
# TYPE packhub_job_runs_total counter
packhub_job_runs_total{job="purge",result="ok"} 1
# HELP packhub_webhook_deliveries_total Webhook delivery attempts, by event and result (delivered, failed).
# TYPE packhub_webhook_deliveries_total counter
packhub_webhook_deliveries_total{event="package.deleted",result="delivered"} 1
packhub_webhook_deliveries_total{event="package.published",result="delivered"} 1
packhub_webhook_deliveries_total{event="package.published",result="failed"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "packhub_publishes_total", "packhub_downloads_total",
		"packhub_http_request_bytes_total", "packhub_http_response_bytes_total", "packhub_errors_total", "packhub_job_runs_total",
		"packhub_webhook_deliveries_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(reg, "packhub_job_duration_seconds", "packhub_webhook_delivery_duration_seconds"); n != 3 {
		t.Errorf("%d duration series, want 3", n)
	}
	// A second set on one registry is refused, not silently doubled.
	if _, err := metrics.New(reg); err == nil {
		t.Error("registering twice succeeded")
	}
}

func TestErrorType(t *testing.T) {
	for status, want := range map[int]string{400: "invalid", 401: "unauthenticated", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
		409: "conflict", 413: "too_large", 416: "invalid", 429: "rate_limited", 500: "internal", 503: "unavailable", 507: "insufficient_storage",
		418: "client_error_418", 502: "server_error_502"} {
		if got := metrics.ErrorType(status); got != want {
			t.Errorf("ErrorType(%d) = %q, want %q", status, got, want)
		}
	}
}
