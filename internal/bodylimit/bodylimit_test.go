package bodylimit

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func request(length int64) *http.Request {
	r := httptest.NewRequest("PUT", "/x", strings.NewReader(""))
	r.ContentLength = length
	return r
}

func TestLarge(t *testing.T) {
	l := New(1, 1000, time.Second)
	for _, c := range []struct {
		length int64
		large  bool
	}{{0, false}, {1000, false}, {1001, true}, {-1, true}} {
		if got := l.Large(request(c.length)); got != c.large {
			t.Errorf("Large(%d) = %v, want %v", c.length, got, c.large)
		}
	}
	var none *Limiter
	if none.Large(request(-1)) || New(0, 0, 0) != nil {
		t.Error("a nil limiter counts bodies as large")
	}
	release, err := none.Acquire(request(-1))
	if err != nil {
		t.Fatal(err)
	}
	release()
}

func TestAcquire(t *testing.T) {
	l := New(2, 10, 50*time.Millisecond)
	small, err := l.Acquire(request(5))
	if err != nil || l.InUse() != 0 {
		t.Fatalf("a small body took a slot: %v, %d in use", err, l.InUse())
	}
	small()
	r1, err1 := l.Acquire(request(100))
	r2, err2 := l.Acquire(request(-1))
	if err1 != nil || err2 != nil || l.InUse() != 2 {
		t.Fatalf("two slots: %v %v, %d in use", err1, err2, l.InUse())
	}
	// Full: a third waits, then gives up.
	start := time.Now()
	if _, err := l.Acquire(request(100)); !errors.Is(err, ErrBusy) || time.Since(start) < 50*time.Millisecond {
		t.Fatalf("third acquire: %v after %v", err, time.Since(start))
	}
	// A cancelled request stops waiting.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Acquire(request(100).WithContext(ctx)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled acquire: %v", err)
	}
	// A waiting request gets the slot another releases; releasing twice
	// frees one slot.
	got := make(chan error, 1)
	go func() {
		release, err := l.Acquire(request(100))
		if err == nil {
			release()
		}
		got <- err
	}()
	time.Sleep(10 * time.Millisecond)
	r1()
	r1()
	if err := <-got; err != nil {
		t.Fatalf("waiting acquire: %v", err)
	}
	if l.InUse() != 1 {
		t.Fatalf("%d in use, want 1", l.InUse())
	}
	r2()
	if l.InUse() != 0 {
		t.Fatalf("%d in use after release", l.InUse())
	}
}
