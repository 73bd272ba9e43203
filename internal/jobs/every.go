package jobs

import (
	"context"
	"time"
)

// every calls run once each interval until ctx is done.
func every(ctx context.Context, interval time.Duration, run func(ctx context.Context)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			run(ctx)
		}
	}
}
