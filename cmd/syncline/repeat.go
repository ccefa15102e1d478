package main

import (
	"time"

	"github.com/syncline/syncline/internal/words"
)

// repeatEvery is how often a failure that repeats in a loop is reported
// again while it lasts.
const repeatEvery = 30 * time.Second

// repeatLimiter lets a message that a loop repeats through at most once
// per period, so that a fault that lasts does not flood the output.
type repeatLimiter struct {
	every time.Duration
	last  time.Time
	held  int
}

// allow reports whether to write the message now and, if so, how many
// were held back since the last one written.
func (l *repeatLimiter) allow(now time.Time) (ok bool, held int) {
	if !l.last.IsZero() && now.Sub(l.last) < l.every {
		l.held++
		return false, 0
	}
	held, l.last, l.held = l.held, now, 0
	return true, held
}

// heldBack words how many failures were not written since the last one.
func heldBack(n int) string {
	if n == 0 {
		return ""
	}
	return "; " + words.Plural(n, "failure", "failures") + " since the last line"
}

// reset forgets the fault once it is over: the next one is written at once.
func (l *repeatLimiter) reset() { l.last, l.held = time.Time{}, 0 }
