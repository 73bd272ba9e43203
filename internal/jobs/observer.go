package jobs

import "time"

// Observer is told of every job run, for metrics (internal/metrics
// implements it).
type Observer interface {
	// JobRan reports a run of job ("purge", "retention"): its result
	// ("ok", "failed", or "skipped" when another replica held the lock)
	// and how long it took.
	JobRan(job, result string, took time.Duration)
}

// Job results, as an Observer is told them.
const (
	resultOK      = "ok"
	resultFailed  = "failed"
	resultSkipped = "skipped"
)

// Option tunes a job.
type Option func(*options)

type options struct {
	observer Observer
}

// WithObserver has the job report its runs to o.
func WithObserver(o Observer) Option { return func(opts *options) { opts.observer = o } }

func newOptions(opts []Option) options {
	var o options
	for _, fn := range opts {
		fn(&o)
	}
	return o
}

// ran reports a run that started at start.
func (o options) ran(job string, start time.Time, skipped bool, err error) {
	if o.observer == nil {
		return
	}
	result := resultOK
	switch {
	case err != nil:
		result = resultFailed
	case skipped:
		result = resultSkipped
	}
	o.observer.JobRan(job, result, time.Since(start))
}
