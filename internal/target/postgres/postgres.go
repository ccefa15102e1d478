// Package postgres is apply's Sink for PostgreSQL targets, opened by the registry
// internal/target. How its tables follow the source's schema is decided by
// internal/target/plan; this package renders and runs the operations.
//
// Each source database becomes a schema of the target database named in
// the URL, each source table a table of that schema, with converted types
// (docs/targets.md) and the column _syncline_version. A batch is one
// transaction: deletes by key where the row is not newer, then INSERT ...
// ON CONFLICT (key) DO UPDATE ... WHERE the stored version is not newer,
// each column's values bound as one array parameter; the rows of a large
// batch whose keys the table does not hold go with COPY instead (write.go).
// Values are never pasted into SQL.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/endpoint"
)

// Defaults of Options.
const (
	DefaultMaxConns         = 8
	DefaultConnectTimeout   = 10 * time.Second
	DefaultStatementTimeout = 10 * time.Minute
)

// Options tune a Sink.
type Options struct {
	// MaxConns bounds the connections to the target (DefaultMaxConns); it
	// should be at least apply's Parallelism.
	MaxConns int
	// ConnectTimeout bounds one connection attempt (DefaultConnectTimeout).
	ConnectTimeout time.Duration
	// StatementTimeout bounds one batch or schema change
	// (DefaultStatementTimeout).
	StatementTimeout time.Duration
	// Logger receives the sink's log; slog.Default() when nil.
	Logger *slog.Logger
}

// Sink writes to a PostgreSQL database. It is safe for concurrent use.
type Sink struct {
	ep   endpoint.Endpoint
	opts Options
	log  *slog.Logger

	slots chan struct{}
	mu    sync.Mutex
	idle  []*pgx.Conn

	typesMu sync.Mutex
	types   map[string]map[string]string // column types by schema and table, as Prepare last read them
	clean   map[string]int               // by schema and table: batches in a row written with COPY that found none of their keys
}

var _ apply.Sink = (*Sink)(nil)

// New returns a Sink for the postgres:// endpoint ep. It does no I/O.
func New(ep endpoint.Endpoint, opts Options) (*Sink, error) {
	if ep.Kind != endpoint.Postgres {
		return nil, fmt.Errorf("target: %s is not a postgres:// URL", ep.Redacted())
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
	if opts.MaxConns < 1 {
		return nil, fmt.Errorf("target connections: %d must be at least 1", opts.MaxConns)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Sink{ep: ep, opts: opts, log: opts.Logger.With("component", "apply.postgres"), slots: make(chan struct{}, opts.MaxConns), types: map[string]map[string]string{}, clean: map[string]int{}}, nil
}

// withConn runs f on a connection, within the statement timeout. A
// connection that failed below the SQL level is closed.
func (s *Sink) withConn(ctx context.Context, f func(ctx context.Context, c *pgx.Conn) error) error {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.slots }()
	s.mu.Lock()
	var c *pgx.Conn
	if n := len(s.idle); n > 0 {
		c = s.idle[n-1]
		s.idle = s.idle[:n-1]
	}
	s.mu.Unlock()
	if c == nil {
		var err error
		if c, err = endpoint.ConnectPostgres(ctx, s.ep, s.opts.ConnectTimeout); err != nil {
			return classify(err)
		}
		// plan_cache_mode: pgx prepares each statement once, and a generic
		// plan made while a new table is nearly empty (a sequential scan)
		// would be kept as the table grows; the batch deletes then took
		// 140 ms each instead of 2 ms (docs/benchmarks.md).
		//
		// enable_hashjoin, enable_mergejoin: Write joins a batch's keys
		// (arrays) with the table. Its cost model (random_page_cost) makes
		// the planner prefer hashing the whole table until the table is
		// many times the batch, when the index probes are ten times faster
		// on a cached table (5 ms instead of 50 ms for 2,000 keys against
		// 80,000 rows). Without these, every join of the sink is a nested
		// loop over the primary key (the catalog queries of Prepare are
		// small).
		for _, q := range []string{"SET TIME ZONE 'UTC'", "SET plan_cache_mode = force_custom_plan",
			"SET enable_hashjoin = off", "SET enable_mergejoin = off"} {
			if _, err := c.Exec(ctx, q); err != nil {
				_ = c.Close(context.Background())
				return classify(fmt.Errorf("set up session on %s: %w", s.ep.Redacted(), err))
			}
		}
	}
	sctx, cancel := context.WithTimeout(ctx, s.opts.StatementTimeout)
	err := f(sctx, c)
	cancel()
	if c.IsClosed() || (err != nil && !isServerError(err) && !errors.Is(err, errBadValue)) {
		_ = c.Close(context.Background())
	} else {
		s.mu.Lock()
		s.idle = append(s.idle, c)
		s.mu.Unlock()
	}
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return classify(err)
}

// Close closes the idle connections.
func (s *Sink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, c := range s.idle {
		if err := c.Close(context.Background()); err != nil {
			errs = append(errs, err)
		}
	}
	s.idle = nil
	return errors.Join(errs...)
}

// isServerError reports whether err is an error answered by the server.
func isServerError(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe)
}

// classify marks the errors worth retrying: server errors of the
// connection, transaction-rollback, resource and operator-intervention
// classes, and connection failures.
func classify(err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			pe.Code == "40001", pe.Code == "40P01", // serialization failure, deadlock
			strings.HasPrefix(pe.Code, "53"),  // insufficient resources
			strings.HasPrefix(pe.Code, "57P"), // admin/crash shutdown, cannot connect now
			pe.Code == "55P03",                // lock not available
			strings.HasPrefix(pe.Code, "58"):  // system error
			return apply.Retryable(err)
		case pe.Code == "42501", pe.Code == "28000", pe.Code == "28P01": // insufficient privilege, bad login
			return apply.Privilege(err)
		}
		return err
	}
	if errors.Is(err, errBadValue) {
		return err
	}
	var ce *endpoint.ConnectError
	if errors.As(err, &ce) && (errors.Is(err, endpoint.ErrAuth) || errors.Is(err, endpoint.ErrUnknownDatabase)) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) || apply.IsRetryable(err) || pgconn.SafeToRetry(err) {
		return apply.Retryable(err)
	}
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) {
		return apply.Retryable(err)
	}
	return err
}

// quote quotes an identifier with double quotes, doubling them.
func quote(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// qualified returns "schema"."table".
func qualified(schema, table string) string { return quote(schema) + "." + quote(table) }

// checkName refuses names PostgreSQL would cut silently (63 bytes).
func checkName(names ...string) error {
	for _, n := range names {
		if len(n) > 63 {
			return fmt.Errorf("%w: name %q is longer than PostgreSQL's 63 bytes", errBadValue, n)
		}
	}
	return nil
}
