package retry

import "time"

// LogEvery rate-limits the log lines of a failing streak: the first
// failure is logged at once, then at most one line per LogEvery.
const LogEvery = 30 * time.Second

// Streak is the bookkeeping of one dependency's failures, from the first
// failure of a streak to its recovery: when it began failing, how many
// retries it took, the class of the last error. Components keep one per
// dependency (or one for the whole run) and read it for their metrics and
// readiness. It is not safe for concurrent use; callers guard it.
type Streak struct {
	// Since is the first failure of the streak; zero when healthy.
	Since time.Time
	// Retries counts the failures of the streak that were retried.
	Retries int
	// Class is the class of the last error.
	Class string
}

// Fail records a failure of class at now; retried says whether it is
// retried (counted). A streak begins only with a retried failure: a
// failure that stops the component begins none. It returns how long the
// streak has lasted.
func (s *Streak) Fail(class string, retried bool, now time.Time) time.Duration {
	s.Class = class
	if s.Since.IsZero() {
		if !retried {
			return 0
		}
		s.Since, s.Retries = now, 0
	}
	if retried {
		s.Retries++
	}
	return now.Sub(s.Since)
}

// OK ends the streak; it reports whether there was one.
func (s *Streak) OK() bool {
	if s.Since.IsZero() {
		return false
	}
	s.Since, s.Retries = time.Time{}, 0
	return true
}

// Failing reports whether the streak is under way.
func (s *Streak) Failing() bool { return !s.Since.IsZero() }
