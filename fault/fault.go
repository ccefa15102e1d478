// Package fault tells a fault that needs a person from one that may pass.
//
// A component (capture, apply) marks an error that no retry can cure (bad
// credentials, a missing database, a poison record under --on-error stop,
// an unreadable DDL statement, a key change) with Permanent. The command
// turns such an error into its own exit status, so a supervisor (the
// systemd units, Kubernetes) can tell it from a crash and not restart the
// process into the same error again.
package fault

import "errors"

// ExitPermanent is the exit status of a syncline command stopped by a
// permanent fault. The shipped systemd units list it in
// RestartPreventExitStatus.
const ExitPermanent = 3

// permanentError marks an error as permanent; it keeps the error's text and
// chain.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as a fault that needs a person; nil stays nil.
func Permanent(err error) error {
	if err == nil || IsPermanent(err) {
		return err
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err, or an error it wraps, was marked with
// Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}
