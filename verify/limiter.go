package verify

import (
	"context"
	"time"
)

// limiter is a token bucket on rows read from the source: rate rows per
// second, with a burst of one second's worth. A nil limiter never waits.
type limiter struct {
	rate   float64
	tokens float64
	last   time.Time
}

// newLimiter returns a limiter of rate rows per second, or nil for 0.
func newLimiter(rate int) *limiter {
	if rate <= 0 {
		return nil
	}
	return &limiter{rate: float64(rate), tokens: float64(rate), last: time.Now()}
}

// wait takes n rows from the bucket, waiting until they are paid for: the
// rows were already read, so the next read starts only when the average
// stays within the rate.
func (l *limiter) wait(ctx context.Context, n int) error {
	if l == nil || n <= 0 {
		return nil
	}
	now := time.Now()
	l.tokens = min(l.rate, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	l.last = now
	l.tokens -= float64(n)
	if l.tokens >= 0 {
		return nil
	}
	d := time.Duration(-l.tokens / l.rate * float64(time.Second))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
