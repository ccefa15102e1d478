// Package retry is the one retry policy of capture and apply: which errors
// are permanent and which transient, the backoff between tries, the window
// after which a component gives up, and the bookkeeping of a failing streak
// (failing since, retries, last error class) that the components' metrics
// and readiness read.
//
// The direction of the classification: an error is permanent only when it
// is known to be permanent (IsPermanent): marked with fault.Permanent,
// refused credentials or authorization, a bad endpoint URL, or one of the
// caller's own permanent errors. Everything else may pass and is retried,
// so a transient fault never stops a component by mistake. IsTransient is
// narrower: it recognises the failures that are known to be the
// connection's, not the data's (refused, reset, timed out, marked with
// Transient). Apply uses it to tell a dependency that is down, retried
// within the window, from a record the target refuses, handled by
// --on-error; an error it does not recognise is still not permanent.
package retry

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/fault"
)

// ErrTransient marks errors after which trying again may succeed; see
// Transient.
var ErrTransient = errors.New("retryable")

// Transient marks err as transient (it then wraps ErrTransient); nil stays
// nil. Its text is err's.
func Transient(err error) error {
	if err == nil || errors.Is(err, ErrTransient) {
		return err
	}
	return transientError{err}
}

type transientError struct{ err error }

func (e transientError) Error() string   { return e.err.Error() }
func (e transientError) Unwrap() []error { return []error{e.err, ErrTransient} }

// IsTransient reports whether err is known to be a connection's transient
// failure: errors marked with Transient, connection failures (refused,
// reset, unreachable, timeouts, closed connections) and the endpoint
// package's unreachable errors. A cancelled context is not.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ne net.Error
	switch {
	case errors.Is(err, ErrTransient),
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

// IsPermanent reports whether err is known to need a person rather than a
// retry: it is marked with fault.Permanent, is refused credentials or
// authorization (IsAuth), a bad endpoint URL, or wraps one of known, the
// caller's own permanent errors. Any other error is not permanent.
func IsPermanent(err error, known ...error) bool {
	if err == nil {
		return false
	}
	if fault.IsPermanent(err) || IsAuth(err) || errors.Is(err, endpoint.ErrBadURL) {
		return true
	}
	for _, k := range known {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}

// kafkaAuth are Kafka's errors of refused credentials or authorization.
var kafkaAuth = []error{
	kerr.SaslAuthenticationFailed, kerr.TopicAuthorizationFailed, kerr.ClusterAuthorizationFailed,
	kerr.TransactionalIDAuthorizationFailed, kerr.GroupAuthorizationFailed, kerr.IllegalSaslState,
	kerr.UnsupportedSaslMechanism,
}

// IsAuth reports whether err is refused credentials or authorization: the
// endpoint package's ErrAuth, Kafka's SASL and authorization errors, or the
// schema registry's 401 and 403.
func IsAuth(err error) bool {
	if errors.Is(err, endpoint.ErrAuth) || IsKafkaAuth(err) {
		return true
	}
	var re *sr.ResponseError
	return errors.As(err, &re) && (re.StatusCode == 401 || re.StatusCode == 403)
}

// IsKafkaAuth reports whether err is Kafka refusing credentials or
// authorization.
func IsKafkaAuth(err error) bool {
	for _, e := range kafkaAuth {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
