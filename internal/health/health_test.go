package health

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// switchable is a probe whose outcome a test sets, counting its runs.
type switchable struct {
	err  atomic.Pointer[error]
	runs atomic.Int32
}

func (s *switchable) set(err error) { s.err.Store(&err) }

func (s *switchable) check(context.Context) error {
	s.runs.Add(1)
	if p := s.err.Load(); p != nil {
		return *p
	}
	return nil
}

func get(t *testing.T, h http.Handler) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if ct := rec.Header().Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Fatalf("Content-Type %q", ct)
	}
	return rec.Code, rec.Body.String()
}

func TestChecker(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	db, blobs, schema := &switchable{}, &switchable{}, &switchable{}
	c := New([]Probe{
		{Reason: "database unreachable", Check: db.check},
		{Reason: "blob store unreachable", Check: blobs.check},
		{Reason: "database migrations pending", Check: schema.check, ReadyOnly: true},
	}, Options{Now: clock.now})
	down := errors.New("connection refused")

	steps := []struct {
		name                    string
		do                      func()
		healthz, readyz         int
		healthzBody, readyzBody string
	}{
		{"starting", func() {}, 503, 503, "starting\n", "starting\n"},
		{"serving", c.Serving, 200, 200, "ok\n", "ok\n"},
		{"database down", func() { db.set(down) }, 503, 503, "database unreachable\n", "database unreachable\n"},
		{"blob store down too", func() { blobs.set(down) }, 503, 503, "database unreachable\nblob store unreachable\n", "database unreachable\nblob store unreachable\n"},
		{"both back, schema behind", func() { db.set(nil); blobs.set(nil); schema.set(down) }, 200, 503, "ok\n", "database migrations pending\n"},
		{"schema current", func() { schema.set(nil) }, 200, 200, "ok\n", "ok\n"},
		{"stopping", c.Stopping, 503, 503, "stopping\n", "stopping\n"},
	}
	for _, s := range steps {
		s.do()
		clock.advance(DefaultTTL)
		if code, body := get(t, c.Healthz()); code != s.healthz || body != s.healthzBody {
			t.Errorf("%s: /healthz %d %q, want %d %q", s.name, code, body, s.healthz, s.healthzBody)
		}
		if code, body := get(t, c.Readyz()); code != s.readyz || body != s.readyzBody {
			t.Errorf("%s: /readyz %d %q, want %d %q", s.name, code, body, s.readyz, s.readyzBody)
		}
		if code, body := get(t, c.Livez()); code != 200 || body != "ok\n" {
			t.Errorf("%s: /livez %d %q", s.name, code, body)
		}
	}
}

// TestProbesCoalesced: within the TTL, however many checks arrive at
// once, the stores are probed once.
func TestProbesCoalesced(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	db := &switchable{}
	c := New([]Probe{{Reason: "database unreachable", Check: db.check}}, Options{Now: clock.now})
	c.Serving()
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, _ := get(t, c.Healthz()); code != 200 {
				t.Errorf("status %d", code)
			}
		}()
	}
	wg.Wait()
	if n := db.runs.Load(); n != 1 {
		t.Fatalf("50 checks within the TTL probed %d times", n)
	}
	clock.advance(DefaultTTL)
	get(t, c.Readyz())
	if n := db.runs.Load(); n != 2 {
		t.Fatalf("a check after the TTL did not probe again: %d runs", n)
	}
}

// TestProbeTimeout: a probe that hangs fails after the timeout instead of
// holding the check.
func TestProbeTimeout(t *testing.T) {
	hang := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	c := New([]Probe{{Reason: "database unreachable", Check: hang}}, Options{Timeout: 50 * time.Millisecond})
	c.Serving()
	if code, body := get(t, c.Healthz()); code != 503 || body != "database unreachable\n" {
		t.Fatalf("hanging probe: %d %q", code, body)
	}
}
