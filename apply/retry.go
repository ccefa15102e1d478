package apply

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"syscall"
	"time"

	"github.com/syncline/syncline/endpoint"
)

// retryLogEvery rate-limits the log line of a retry loop.
const retryLogEvery = 30 * time.Second

// ErrRetryWindow is wrapped by the error of an operation that kept failing
// with retryable errors for the whole retry window.
var ErrRetryWindow = errors.New("retry window exhausted")

// IsRetryable reports whether trying again may succeed: errors marked with
// Retryable, connection failures (refused, reset, unreachable, timeouts,
// closed connections) and the endpoint package's unreachable errors. It is
// the one place that decides; sinks mark their drivers' transient errors
// (deadlocks, server shutting down) with Retryable.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ne net.Error
	switch {
	case errors.Is(err, ErrRetryable),
		errors.Is(err, endpoint.ErrUnreachable),
		errors.Is(err, driver.ErrBadConn),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH),
		errors.As(err, &ne):
		return true
	}
	return false
}

// retrier runs operations again while they fail with retryable errors, with
// exponential backoff between minWait and maxWait, for at most its window.
// It tells health about every failure and success, per dependency.
type retrier struct {
	window           time.Duration
	minWait, maxWait time.Duration
	log              *slog.Logger
	health           *health
}

// do runs op until it succeeds, fails with an error that is not retryable,
// the window since the first failure is over, or ctx ends. class is the
// dependency op talks to; what names the operation in the log and in the
// error.
func (r retrier) do(ctx context.Context, class errorClass, what string, op func(ctx context.Context) error) error {
	var (
		first   time.Time
		wait    = r.minWait
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
		if now.Sub(first) >= r.window {
			return fmt.Errorf("%w (%s, --retry-window): %w", ErrRetryWindow, r.window, err)
		}
		tries++
		r.health.failed(class, true)
		if now.Sub(lastLog) >= retryLogEvery {
			lastLog = now
			r.log.Warn("retrying", "operation", what, "error", err, "retries", tries,
				"failing_for", now.Sub(first).Round(time.Second), "retry_window", r.window)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait = min(wait*2, r.maxWait)
	}
}
