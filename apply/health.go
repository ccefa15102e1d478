package apply

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/fault"
	"github.com/syncline/syncline/internal/retry"
)

// errorClass names the dependency an error came from, for the
// syncline_apply_last_error_class metric and the readiness reason.
type errorClass string

// The error classes.
const (
	classKafka    errorClass = "kafka"    // the Kafka cluster (brokers, the group, commits)
	classRegistry errorClass = "registry" // the schema registry
	classTarget   errorClass = "target"   // the target database
	classAuth     errorClass = "auth"     // credentials or privileges refused (permanent)
	classRecord   errorClass = "record"   // a record that cannot be applied (permanent under --on-error stop)
)

// errorClasses lists every class, for the metric.
func errorClasses() []errorClass {
	return []errorClass{classKafka, classRegistry, classTarget, classAuth, classRecord}
}

// classOf returns the class of a failure of an operation on class: auth
// when credentials or privileges were refused.
func classOf(class errorClass, err error) errorClass {
	if isAuth(err) {
		return classAuth
	}
	return class
}

// isAuth reports whether err is a refused login or a missing privilege.
func isAuth(err error) bool {
	return retry.IsAuth(err) || errors.Is(err, errPrivilege)
}

// errPrivilege marks a target error that says the user lacks a privilege;
// sinks wrap it with Privilege.
var errPrivilege = errors.New("privilege missing")

// Privilege marks err, from a target, as a missing privilege: apply stops
// at once (a permanent fault) instead of retrying or setting records aside.
func Privilege(err error) error {
	if err == nil {
		return nil
	}
	return fault.Permanent(privilegeError{err})
}

// privilegeError is an error marked with errPrivilege; its text is the
// error's.
type privilegeError struct{ err error }

func (e privilegeError) Error() string   { return e.err.Error() }
func (e privilegeError) Unwrap() []error { return []error{e.err, errPrivilege} }

// markPermanent marks the errors that no retry cures and that concern apply
// as a whole, not one record, with fault.Permanent: those retry.IsPermanent
// knows (refused credentials, a bad URL), a missing privilege or database, a
// changed primary key, a fenced instance id.
func markPermanent(err error) error {
	if err == nil || fault.IsPermanent(err) {
		return err
	}
	if retry.IsPermanent(err, errPrivilege, endpoint.ErrUnknownDatabase, ErrKeyChanged, kerr.FencedInstanceID) {
		return fault.Permanent(err)
	}
	return err
}

// isKafkaTransient reports whether an error a poll returned passes once the
// cluster is back: the client retries these by itself (dials, lost group
// sessions and generations, coordinator moves, leader changes).
func isKafkaTransient(err error) bool {
	if isAuth(err) || errors.Is(err, kerr.FencedInstanceID) {
		return false
	}
	var gs *kgo.ErrGroupSession
	if errors.As(err, &gs) || IsRetryable(err) || kgo.IsRetryableBrokerErr(err) {
		return true
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		switch ke {
		case kerr.IllegalGeneration, kerr.UnknownMemberID, kerr.RebalanceInProgress, kerr.UnknownTopicOrPartition:
			return true
		}
		return ke.Retriable
	}
	return false
}

// health follows apply's failure streaks, per dependency (retry.Streak):
// when the current streak of failures began (zero when healthy) and the
// class of the last error. It feeds the metrics and readiness.
type health struct {
	metrics *Metrics

	mu      sync.Mutex
	streaks map[errorClass]*retry.Streak // each dependency's streak
	started bool                         // the consumer started
}

func newHealth(m *Metrics) *health {
	return &health{metrics: m, streaks: map[errorClass]*retry.Streak{}}
}

// failed records a failure of class; retrying says whether apply retries
// it (a retry is counted).
func (h *health) failed(class errorClass, retrying bool) {
	h.mu.Lock()
	st := h.streaks[class]
	if st == nil {
		st = &retry.Streak{}
		h.streaks[class] = st
	}
	st.Fail(string(class), retrying, time.Now())
	first := h.firstLocked()
	h.mu.Unlock()
	h.metrics.failure(class, retrying, first)
}

// ok ends the failure streak of class.
func (h *health) ok(class errorClass) {
	h.mu.Lock()
	st := h.streaks[class]
	if st == nil || !st.OK() {
		h.mu.Unlock()
		return
	}
	first := h.firstLocked()
	h.mu.Unlock()
	h.metrics.failing(first)
}

// failingSince returns when class began failing, zero when it works.
func (h *health) failingSince(class errorClass) time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	if st := h.streaks[class]; st != nil {
		return st.Since
	}
	return time.Time{}
}

// firstLocked returns the start of the oldest streak, zero when none.
func (h *health) firstLocked() time.Time {
	var first time.Time
	for _, st := range h.streaks {
		if st.Failing() && (first.IsZero() || st.Since.Before(first)) {
			first = st.Since
		}
	}
	return first
}

// consuming records that the consumer started.
func (h *health) consuming() {
	h.mu.Lock()
	h.started = true
	h.mu.Unlock()
}

// Ready reports whether apply is consuming and reaches Kafka, the
// registry and its target; when not, the reason names what fails and
// since when.
func (a *Apply) Ready() (bool, string) {
	h := a.health
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range []errorClass{classKafka, classTarget, classRegistry} {
		if st := h.streaks[c]; st != nil && st.Failing() {
			return false, fmt.Sprintf("%s failing for %s; retrying", c, time.Since(st.Since).Round(time.Second))
		}
	}
	if !h.started {
		return false, "starting"
	}
	return true, ""
}
