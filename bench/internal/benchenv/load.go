package benchenv

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"time"
)

// NewLoadClient returns an HTTP client for clients concurrent keep-alive
// clients that counts the bytes on the wire (no transparent gzip).
func NewLoadClient(clients int) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: clients * 2, DisableCompression: true}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// LoadResult is what a measured load phase saw.
type LoadResult struct {
	// Latencies is the time of each measured request, shortest first.
	Latencies []time.Duration
	// Bytes is the bytes of all measured responses.
	Bytes int64
	// Elapsed is how long the measured phase took.
	Elapsed time.Duration
}

// Rate returns the requests per second.
func (r LoadResult) Rate() float64 {
	return float64(len(r.Latencies)) / r.Elapsed.Seconds()
}

// P99 returns the 99th percentile latency in milliseconds.
func (r LoadResult) P99() float64 {
	p99 := r.Latencies[min(len(r.Latencies)-1, len(r.Latencies)*99/100)]
	return float64(p99.Microseconds()) / 1000
}

// MeanBytes returns the mean bytes of a response.
func (r LoadResult) MeanBytes() int64 {
	return r.Bytes / int64(len(r.Latencies))
}

// Load calls get from clients goroutines in a loop, first for warmup
// without measuring, then for duration, measuring every request that ends
// within it. A get returns the bytes of the response it read; its first
// error stops its goroutine and is Load's error. Load fails too when no
// request was measured.
func Load(clients int, warmup, duration time.Duration, get func() (int64, error)) (LoadResult, error) {
	var mu sync.Mutex
	var res LoadResult
	var firstErr error
	phase := func(d time.Duration, record bool) {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		var wg sync.WaitGroup
		for range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var mine []time.Duration
				var n int64
				for ctx.Err() == nil {
					t0 := time.Now()
					size, err := get()
					if err != nil {
						mu.Lock()
						if firstErr == nil {
							firstErr = err
						}
						mu.Unlock()
						return
					}
					if ctx.Err() == nil {
						mine = append(mine, time.Since(t0))
						n += size
					}
				}
				if record {
					mu.Lock()
					res.Latencies = append(res.Latencies, mine...)
					res.Bytes += n
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	}
	phase(warmup, false)
	t0 := time.Now()
	phase(duration, true)
	res.Elapsed = time.Since(t0)
	if firstErr != nil {
		return LoadResult{}, firstErr
	}
	if len(res.Latencies) == 0 {
		return LoadResult{}, errors.New("no request completed")
	}
	slices.Sort(res.Latencies)
	return res, nil
}
