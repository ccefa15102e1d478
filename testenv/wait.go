package testenv

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// WaitFor polls cond every 100 ms until it holds, and fails the test,
// naming what it waited for, when it still does not hold after d.
func WaitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Background runs f in a goroutine until stop is called or the test ends,
// whichever comes first, by cancelling f's context and waiting for f to
// return. An error f returns before it was asked to stop fails the test
// with name; stop returns f's error.
func Background(t testing.TB, name string, f func(context.Context) error) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var stopped atomic.Bool
	go func() {
		err := f(ctx)
		if err != nil && !stopped.Load() {
			t.Errorf("%s stopped: %v", name, err)
		}
		done <- err
	}()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() {
			stopped.Store(true)
			cancel()
			runErr = <-done
		})
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}
