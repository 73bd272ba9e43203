// Package bodylimit caps how many large request bodies are read at once.
// A front whose reading of a body holds memory that grows with the body (a
// JSON document decoded as it arrives, say) takes a slot of a Limiter for
// the time it reads; the server shares one Limiter between the fronts, so
// that the cap holds across them.
package bodylimit

import (
	"errors"
	"net/http"
	"sync"
	"time"
)

// ErrBusy is returned by Acquire when no slot freed up in time. Fronts
// answer it with 503 and a Retry-After.
var ErrBusy = errors.New("too many large requests are being read; retry shortly")

// RetryAfter is the Retry-After, in seconds, fronts send with ErrBusy.
const RetryAfter = "5"

// Limiter admits at most a fixed number of large request bodies at once.
// A nil *Limiter admits everything.
type Limiter struct {
	slots chan struct{}
	large int64
	wait  time.Duration
}

// New returns a Limiter that lets max large bodies be read at once. A body
// is large when its declared length is over large bytes, or when its
// length is not declared (chunked). A request waits up to wait for a slot.
// With max <= 0 it returns nil: no cap.
func New(max int, large int64, wait time.Duration) *Limiter {
	if max <= 0 {
		return nil
	}
	return &Limiter{slots: make(chan struct{}, max), large: large, wait: wait}
}

// Large reports whether r's body counts as large.
func (l *Limiter) Large(r *http.Request) bool {
	if l == nil {
		return false
	}
	return r.ContentLength < 0 || r.ContentLength > l.large
}

// Acquire takes a slot for r when its body is large; call release once the
// body is read. It waits for a slot until the limiter's wait is over
// (ErrBusy) or the request is cancelled (the context's error). A small body
// takes no slot.
func (l *Limiter) Acquire(r *http.Request) (release func(), err error) {
	if !l.Large(r) {
		return func() {}, nil
	}
	select {
	case l.slots <- struct{}{}:
		return l.releaser(), nil
	default:
	}
	timer := time.NewTimer(l.wait)
	defer timer.Stop()
	select {
	case l.slots <- struct{}{}:
		return l.releaser(), nil
	case <-timer.C:
		return nil, ErrBusy
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
}

// releaser returns the slot once, however often it is called.
func (l *Limiter) releaser() func() {
	var once sync.Once
	return func() { once.Do(func() { <-l.slots }) }
}

// InUse is the number of slots taken.
func (l *Limiter) InUse() int {
	if l == nil {
		return 0
	}
	return len(l.slots)
}
