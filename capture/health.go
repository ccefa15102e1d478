package capture

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/internal/retry"
)

// Health receives whether capture does its job: NotReady with a one-line
// reason while it starts or retries after a failure, Ready once a run
// commits to Kafka (streaming or snapshotting). Its methods must be safe
// for concurrent use.
type Health interface {
	Ready()
	NotReady(reason string)
}

// Error classes: the class label of syncline_capture_last_error_class.
const (
	ClassSource   = "source"   // the source server: unreachable, refused a query, lost the stream
	ClassKafka    = "kafka"    // Kafka: unreachable, refused a request, a transaction failed
	ClassRegistry = "registry" // the schema registry
	ClassAuth     = "auth"     // credentials or privileges refused, at the source or Kafka
	ClassOther    = "other"    // anything else
)

// errPrivilege means the source refused a statement for lack of a
// privilege.
var errPrivilege = errors.New("the capture user lacks a privilege")

// classError tags an error with where it arose (a class) and, where the
// error is one table's, the table.
type classError struct {
	class, table string
	err          error
}

func (e *classError) Error() string { return e.err.Error() }
func (e *classError) Unwrap() error { return e.err }

// inClass tags err with class unless it already has one; nil stays nil.
func inClass(class string, err error) error {
	var ce *classError
	if err == nil || errors.As(err, &ce) {
		return err
	}
	return &classError{class: class, err: err}
}

// tableError tags err as one table's, in class.
func tableError(class, table string, err error) error {
	if err == nil {
		return nil
	}
	return &classError{class: class, table: table, err: err}
}

// accessDenied are the MySQL errors of refused credentials or privileges.
var accessDenied = map[uint16]bool{
	mysql.ER_ACCESS_DENIED_ERROR:          true, // 1045 user or password
	mysql.ER_DBACCESS_DENIED_ERROR:        true, // 1044
	mysql.ER_TABLEACCESS_DENIED_ERROR:     true, // 1142 SELECT
	mysql.ER_COLUMNACCESS_DENIED_ERROR:    true, // 1143
	mysql.ER_SPECIFIC_ACCESS_DENIED_ERROR: true, // 1227 REPLICATION SLAVE/CLIENT
}

// errorClass returns the class of err and, when it is one table's, the
// table.
func errorClass(err error) (class, table string) {
	var ce *classError
	if errors.As(err, &ce) {
		class, table = ce.class, ce.table
	}
	var me *mysql.MyError
	switch {
	case errors.Is(err, endpoint.ErrAuth), errors.Is(err, errPrivilege),
		errors.As(err, &me) && accessDenied[me.Code], retry.IsKafkaAuth(err):
		return ClassAuth, table
	case class != "":
		return class, table
	case errors.As(err, &me):
		return ClassSource, ""
	}
	var cerr *endpoint.ConnectError
	if errors.As(err, &cerr) {
		return ClassSource, ""
	}
	return ClassOther, ""
}

// explain adds the fix to the errors whose driver text lacks one: a
// privilege the source refused.
func explain(err error, user string) error {
	var me *mysql.MyError
	if errors.As(err, &me) && me.Code != mysql.ER_ACCESS_DENIED_ERROR && accessDenied[me.Code] {
		return fmt.Errorf("%w: %w; grant it REPLICATION SLAVE, REPLICATION CLIENT (BINLOG MONITOR on MariaDB 10.5+) and SELECT on the captured tables: GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.* TO '%s'@'%%'",
			errPrivilege, err, user)
	}
	return err
}

// startupFault reports whether err, met before capture ever committed a
// checkpoint, is a setting to fix rather than a fault to wait out: the
// source's address or database is wrong, or the registry cannot be used.
// With a checkpoint, such faults are retried (a restarted capture waits for
// a server that is down).
func startupFault(err error) bool {
	class, _ := errorClass(err)
	return errors.Is(err, endpoint.ErrUnreachable) || errors.Is(err, endpoint.ErrUnknownDatabase) ||
		class == ClassRegistry
}

// Logging of a failing capture: the first failure of a streak at once,
// then at most one line per failLogEvery.
const failLogEvery = retry.LogEvery

// streak follows a capture's failures from the first of a streak to its
// recovery (the next commit), for the log, the metrics and Health. Only
// Run's goroutine uses it.
type streak struct {
	log     *slog.Logger
	metrics *Metrics
	health  Health

	retry.Streak           // since, retries and class of the failures
	lastLog      time.Time // the last log line of the streak
	ready        bool      // Health was told Ready since the last failure
}

// failure records a failure that capture retries after backoff and
// returns how long capture has been failing.
func (s *streak) failure(err error, backoff time.Duration) time.Duration {
	now := time.Now()
	if !s.Failing() {
		s.lastLog = time.Time{}
	}
	class, table := errorClass(err)
	failingFor := s.Fail(class, true, now)
	s.metrics.failing(s.Since, class, table)
	s.metrics.retried()
	s.notReady(fmt.Sprintf("failing since %s, retrying (%s): %v", s.Since.UTC().Format(time.TimeOnly+" UTC"), class, err))
	if now.Sub(s.lastLog) >= failLogEvery {
		s.lastLog = now
		args := []any{"err", err, "class", class, "failing_for", failingFor.Round(time.Second).String(),
			"retries", s.Retries, "retry_in", backoff}
		if table != "" {
			args = append(args, "table", table)
		}
		s.log.Warn("capture failing; restarting from the last checkpoint", args...)
	}
	return failingFor
}

// stopped records a failure that stops capture.
func (s *streak) stopped(err error) {
	class, table := errorClass(err)
	s.Class = class
	since := s.Since
	if since.IsZero() {
		since = time.Now()
	}
	s.metrics.failing(since, class, table)
	s.notReady(fmt.Sprintf("stopped (%s): %v", class, err))
}

// committed records a commit: it ends a streak of failures.
func (s *streak) committed() {
	if s.Failing() {
		s.log.Info("capture recovered", "failing_for", time.Since(s.Since).Round(time.Second).String(), "retries", s.Retries)
		s.OK()
		s.metrics.healthy()
	}
	if !s.ready {
		s.ready = true
		if s.health != nil {
			s.health.Ready()
		}
	}
}

func (s *streak) notReady(reason string) {
	s.ready = false
	if s.health != nil {
		s.health.NotReady(reason)
	}
}
