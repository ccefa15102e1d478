// Package clickhouse is apply's Sink for ClickHouse targets, opened by the registry
// internal/target. How its tables follow the source's schema is decided by
// internal/target/plan; this package renders and runs the operations.
//
// Each source database becomes a ClickHouse database of the same name, each
// source table a ReplacingMergeTree table ORDER BY the source key, with
// converted types (docs/targets.md) and two columns of its own:
// _syncline_version (UInt64), the ordering version of the change that wrote
// the row and the engine's version column, and _syncline_is_deleted (UInt8),
// 1 on the rows that record a delete. ClickHouse has no UPDATE or DELETE in
// the usual sense: every change is inserted as a new row, and the engine
// keeps, per key, the row of the highest version (the last inserted among
// equal versions). Reading the source's rows therefore takes
//
//	SELECT ... FROM db.t FINAL WHERE _syncline_is_deleted = 0
//
// A batch is one INSERT with a named column list, sent as one native block
// with values bound by the driver, never pasted into SQL. Types are chosen
// by the server's capabilities (SELECT version(), read once): Date32 and
// DateTime64 from 22.8, Decimal beyond 38 digits from 22.8, RENAME COLUMN
// from 20.4, ReplacingMergeTree's is_deleted argument from 24.1; older
// servers such as Debian's 18.16 get the lossless integer forms documented
// in docs/targets.md.
package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/endpoint"
)

// DeletedColumn is the column that is 1 on the rows recording a delete, in
// every table the sink creates or writes.
const DeletedColumn = "_syncline_is_deleted"

// Defaults and limits of Options.
const (
	DefaultMaxConns         = 8
	DefaultConnectTimeout   = 10 * time.Second
	DefaultStatementTimeout = 10 * time.Minute
	// MaxConns is the most connections Options.MaxConns may ask for: the
	// size of the connection pool endpoint.OpenClickHouse opens.
	MaxConns = 10
)

// Options tune a Sink.
type Options struct {
	// MaxConns bounds the statements running at once (DefaultMaxConns, at
	// most MaxConns); it should be at least apply's Parallelism.
	MaxConns int
	// ConnectTimeout bounds one connection attempt (DefaultConnectTimeout).
	ConnectTimeout time.Duration
	// StatementTimeout bounds one batch, Prepare or schema change, waiting
	// for ALTER ... DELETE mutations included (DefaultStatementTimeout).
	StatementTimeout time.Duration
	// IntegerTimes stores DATE, DATETIME and TIMESTAMP in the integer forms
	// of servers before 22.8 (days and microseconds since 1970-01-01) on
	// every server. Date32 and DateTime64 hold 1900-01-01 to 2299-12-31
	// only, so a source holding zero dates or dates outside that range
	// needs it: without it such a value is refused, never stored wrong. It
	// applies to tables and columns created while it is set; existing
	// columns keep their form. Default false.
	IntegerTimes bool
	// Logger receives the sink's log; slog.Default() when nil.
	Logger *slog.Logger
}

// Sink writes to a ClickHouse server over the native protocol. It is safe
// for concurrent use.
type Sink struct {
	ep   endpoint.Endpoint
	opts Options
	log  *slog.Logger

	slots chan struct{} // one per statement that may run

	openMu sync.Mutex // held while opening the pool
	mu     sync.Mutex
	conn   driver.Conn // nil until first used
	srv    *server
	tables map[tableKey]*tableMeta // what Write needs to know, per table
}

var _ apply.Sink = (*Sink)(nil)

// tableKey names a target table.
type tableKey struct{ db, table string }

// New returns a Sink for the clickhouse:// endpoint ep. It does no I/O.
func New(ep endpoint.Endpoint, opts Options) (*Sink, error) {
	if ep.Kind != endpoint.ClickHouse {
		return nil, fmt.Errorf("target: %s is not a clickhouse:// URL", ep.Redacted())
	}
	if opts.MaxConns == 0 {
		opts.MaxConns = DefaultMaxConns
	}
	if opts.ConnectTimeout == 0 {
		opts.ConnectTimeout = DefaultConnectTimeout
	}
	if opts.StatementTimeout == 0 {
		opts.StatementTimeout = DefaultStatementTimeout
	}
	if opts.MaxConns < 1 || opts.MaxConns > MaxConns {
		return nil, fmt.Errorf("target connections: %d must be between 1 and %d", opts.MaxConns, MaxConns)
	}
	if opts.ConnectTimeout < 0 || opts.StatementTimeout < 0 {
		return nil, errors.New("target timeouts must not be negative")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Sink{
		ep: ep, opts: opts, log: opts.Logger.With("component", "apply.clickhouse"),
		slots:  make(chan struct{}, opts.MaxConns),
		tables: map[tableKey]*tableMeta{},
	}, nil
}

// open returns the connection pool and what the server can do, opening the
// pool and reading the server's version on first use.
func (s *Sink) open(ctx context.Context) (driver.Conn, *server, error) {
	s.openMu.Lock()
	defer s.openMu.Unlock()
	s.mu.Lock()
	c, srv := s.conn, s.srv
	s.mu.Unlock()
	if c != nil {
		return c, srv, nil
	}
	c, err := endpoint.OpenClickHouse(ctx, s.ep, s.opts.ConnectTimeout)
	if err != nil {
		return nil, nil, err
	}
	vctx, cancel := context.WithTimeout(ctx, s.opts.ConnectTimeout)
	defer cancel()
	var version string
	if err := c.QueryRow(vctx, "SELECT version()").Scan(&version); err != nil {
		_ = c.Close()
		return nil, nil, fmt.Errorf("read the version of %s: %w", s.ep.Redacted(), err)
	}
	srv = newServer(version, s.opts.IntegerTimes)
	s.log.Info("connected", "server", s.ep.Redacted(), "version", version,
		"date32_datetime64", srv.nativeTimes, "rename_column", srv.renameColumn, "is_deleted_engine", srv.isDeleted)
	s.mu.Lock()
	s.conn, s.srv = c, srv
	s.mu.Unlock()
	return c, srv, nil
}

// withConn runs f within the statement timeout, as one of at most MaxConns
// running at once, and classifies its error.
func (s *Sink) withConn(ctx context.Context, f func(ctx context.Context, c driver.Conn, srv *server) error) error {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.slots }()
	c, srv, err := s.open(ctx)
	if err == nil {
		sctx, cancel := context.WithTimeout(ctx, s.opts.StatementTimeout)
		err = f(sctx, c, srv)
		cancel()
	}
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return classify(err)
}

// Close closes the connection pool.
func (s *Sink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn, s.srv = nil, nil
	return err
}

// errBadValue is wrapped by the errors for values or tables that cannot be
// written; they are final, not retried.
var errBadValue = errors.New("value cannot be written")

// retryableCode reports whether trying again may succeed after a
// ClickHouse exception of this code.
func retryableCode(code int32) bool {
	switch code {
	case 3, // UNEXPECTED_END_OF_FILE
		32,  // ATTEMPT_TO_READ_AFTER_EOF
		159, // TIMEOUT_EXCEEDED
		202, // TOO_MANY_SIMULTANEOUS_QUERIES
		203, // NO_FREE_CONNECTION
		209, // SOCKET_TIMEOUT
		210, // NETWORK_ERROR
		236, // ABORTED
		241, // MEMORY_LIMIT_EXCEEDED
		242, // TABLE_IS_READ_ONLY (replica lost its keeper session)
		252, // TOO_MANY_PARTS
		285, // TOO_FEW_LIVE_REPLICAS
		286, // UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE
		319, // UNKNOWN_STATUS_OF_INSERT
		394, // QUERY_WAS_CANCELLED (server shutting down)
		425, // SYSTEM_ERROR
		473, // DEADLOCK_AVOIDED (lock wait timed out)
		999: // KEEPER_EXCEPTION
		return true
	}
	return false
}

// classify marks the errors worth retrying: server exceptions by code,
// connection failures and statement timeouts. Refused values, refused
// schema changes, authentication and unknown-database errors are final.
func classify(err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		switch {
		case retryableCode(ex.Code):
			return apply.Retryable(err)
		case ex.Code == 164, ex.Code == 192, ex.Code == 193, ex.Code == 497, ex.Code == 516:
			// READONLY, UNKNOWN_USER, WRONG_PASSWORD, ACCESS_DENIED,
			// AUTHENTICATION_FAILED
			return apply.Privilege(err)
		}
		return err
	}
	var conv *column.ColumnConverterError
	if errors.Is(err, errBadValue) || errors.As(err, &conv) ||
		errors.Is(err, apply.ErrUnsupportedDDL) || errors.Is(err, apply.ErrExistingTable) || errors.Is(err, apply.ErrKeyChanged) {
		return err
	}
	if errors.Is(err, endpoint.ErrAuth) || errors.Is(err, endpoint.ErrUnknownDatabase) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, clickhouse.ErrAcquireConnTimeout) || apply.IsRetryable(err) {
		return apply.Retryable(err)
	}
	return err
}

// quote quotes an identifier with backticks, escaping backslashes and
// backticks with a backslash as ClickHouse reads them.
func quote(name string) string {
	var b strings.Builder
	b.Grow(len(name) + 2)
	b.WriteByte('`')
	for i := 0; i < len(name); i++ {
		switch c := name[i]; c {
		case '\\', '`':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('`')
	return b.String()
}

// qualified returns `db`.`table`.
func qualified(db, table string) string { return quote(db) + "." + quote(table) }
