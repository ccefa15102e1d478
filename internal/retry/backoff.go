package retry

import "time"

// Policy is how long and how often a failing operation is tried again.
type Policy struct {
	// Window is how long a streak of transient failures is retried before
	// the component gives up.
	Window time.Duration
	// Min and Max bound the wait between two tries: it starts at Min and
	// doubles per failure up to Max.
	Min, Max time.Duration
}

// Wait returns the wait before the next try after fails failures in a row
// (fails >= 1): Min doubled per failure after the first, at most Max.
func (p Policy) Wait(fails int) time.Duration {
	d := p.Min
	for i := 1; i < fails && d < p.Max; i++ {
		d *= 2
	}
	return min(d, p.Max)
}

// Expired reports whether a streak that began at since has lasted the
// whole window by now.
func (p Policy) Expired(since, now time.Time) bool {
	return !since.IsZero() && now.Sub(since) >= p.Window
}
