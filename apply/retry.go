package apply

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/syncline/syncline/internal/retry"
)

// retryLogEvery rate-limits the log line of a retry loop.
const retryLogEvery = retry.LogEvery

// ErrRetryWindow is wrapped by the error of an operation that kept failing
// with retryable errors for the whole retry window.
var ErrRetryWindow = errors.New("retry window exhausted")

// IsRetryable reports whether trying again may succeed: errors marked with
// Retryable, connection failures (refused, reset, unreachable, timeouts,
// closed connections) and the endpoint package's unreachable errors. It is
// retry.IsTransient, the one place that decides; sinks mark their drivers'
// transient errors (deadlocks, server shutting down) with Retryable.
func IsRetryable(err error) bool { return retry.IsTransient(err) }

// retrier runs operations again while they fail with retryable errors, with
// exponential backoff between minWait and maxWait, for at most its window.
// It tells health about every failure and success, per dependency.
type retrier struct {
	policy retry.Policy
	log    *slog.Logger
	health *health
}

// do runs op until it succeeds, fails with an error that is not retryable,
// the window since the first failure is over, or ctx ends. class is the
// dependency op talks to; what names the operation in the log and in the
// error.
func (r retrier) do(ctx context.Context, class errorClass, what string, op func(ctx context.Context) error) error {
	var (
		first   time.Time
		lastLog time.Time
		tries   int
	)
	for {
		err := op(ctx)
		if err == nil {
			r.health.ok(class)
			if tries > 0 {
				r.log.Info("succeeded after retrying", "operation", what, "retries", tries, "after", time.Since(first).Round(time.Millisecond))
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !IsRetryable(err) {
			err = markPermanent(err)
			r.health.failed(classOf(class, err), false)
			return err
		}
		now := time.Now()
		if first.IsZero() {
			first = now
		}
		if r.policy.Expired(first, now) {
			return fmt.Errorf("%w (%s, --retry-window): %w", ErrRetryWindow, r.policy.Window, err)
		}
		tries++
		r.health.failed(class, true)
		if now.Sub(lastLog) >= retryLogEvery {
			lastLog = now
			r.log.Warn("retrying", "operation", what, "error", err, "retries", tries,
				"failing_for", now.Sub(first).Round(time.Second), "retry_window", r.policy.Window)
		}
		t := time.NewTimer(r.policy.Wait(tries))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// retryPolicy is the retry policy of Kafka, the registry and the target.
func (c *Config) retryPolicy() retry.Policy {
	return retry.Policy{Window: c.RetryWindow, Min: c.RetryBackoffMin, Max: c.RetryBackoffMax}
}
