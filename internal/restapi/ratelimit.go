package restapi

import (
	"net"
	"strconv"
	"sync"
)

// rateLimit is the hourly request budget reported in X-RateLimit-Limit.
const rateLimit = 5000

// maxRateKeys bounds the counters kept in one window; past it the counters
// start over, which only makes the reported numbers more generous.
const maxRateKeys = 100_000

// rateLimiter counts requests per caller in hourly windows, so that the
// X-RateLimit-* headers look and move like GitHub's. Packhub does not
// refuse requests over the budget: the counters are informational, and
// X-RateLimit-Remaining never drops to 0, because clients such as go-github
// stop sending requests locally until the reset when they see 0.
type rateLimiter struct {
	mu     sync.Mutex
	window int64 // unix time of the window's start
	used   map[string]int
}

func newRateLimiter() *rateLimiter { return &rateLimiter{used: map[string]int{}} }

// hit counts one request of key at unix time now and returns the requests
// used in the window and the window's reset time.
func (l *rateLimiter) hit(key string, now int64) (used int, reset int64) {
	start := now - now%3600
	l.mu.Lock()
	defer l.mu.Unlock()
	if start != l.window || len(l.used) >= maxRateKeys {
		l.window = start
		clear(l.used)
	}
	l.used[key]++
	return l.used[key], start + 3600
}

// rateLimitHeaders counts the request and sets the X-RateLimit-* headers.
func (c *call) rateLimitHeaders() {
	key := "ip:" + c.r.RemoteAddr
	if host, _, err := net.SplitHostPort(c.r.RemoteAddr); err == nil {
		key = "ip:" + host
	}
	if !c.actor.Anonymous() {
		key = "user:" + strconv.FormatInt(c.actor.UserID(), 10)
	}
	used, reset := c.s.limiter.hit(key, c.s.now().Unix())
	h := c.w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(rateLimit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(rateLimit-used, 1)))
	h.Set("X-RateLimit-Used", strconv.Itoa(used))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
	h.Set("X-RateLimit-Resource", "core")
}
