// Package mysql is apply's Sink for MySQL and MariaDB targets, opened by the registry
// internal/target. How its tables follow the source's schema is decided by
// internal/target/plan; this package renders and runs the operations.
//
// Tables keep the source's types (docs/targets.md). Each table apply
// creates gets the BIGINT column _syncline_version, INVISIBLE where the
// server supports it (MariaDB 10.3+, MySQL 8.0.23+) so that SELECT * matches
// the source. A batch is one transaction: deletes by key, then multi-row
// INSERT ... ON DUPLICATE KEY UPDATE whose every assignment is guarded by
// the version, values always bound as parameters of prepared statements.
package mysql

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/schema"
)

// Defaults of Options.
const (
	DefaultMaxConns         = 8
	DefaultConnectTimeout   = 10 * time.Second
	DefaultStatementTimeout = 10 * time.Minute
)

// sessionSQLMode lets zero dates in (the source may hold them) while
// keeping strict checks, and keeps 0 in AUTO_INCREMENT columns as 0.
const sessionSQLMode = "STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO"

// lenientSQLMode is used only for batches holding MySQL's invalid ENUM
// value (the empty string), which strict mode refuses.
const lenientSQLMode = "NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO"

// Options tune a Sink.
type Options struct {
	// MaxConns bounds the connections to the target (DefaultMaxConns); it
	// should be at least apply's Parallelism.
	MaxConns int
	// ConnectTimeout bounds one connection attempt (DefaultConnectTimeout).
	ConnectTimeout time.Duration
	// StatementTimeout bounds one statement (DefaultStatementTimeout); a
	// statement that takes longer is treated as a lost connection.
	StatementTimeout time.Duration
	// Logger receives the sink's log; slog.Default() when nil.
	Logger *slog.Logger
}

// Sink writes to a MySQL or MariaDB server. It is safe for concurrent use.
type Sink struct {
	ep   endpoint.Endpoint
	opts Options
	log  *slog.Logger

	slots chan struct{} // one per connection that may exist
	mu    sync.Mutex
	idle  []*conn
	info  *serverInfo // learned on the first connection
}

var _ apply.Sink = (*Sink)(nil)

// serverInfo is what the sink needs to know about the server.
type serverInfo struct {
	mariadb   bool
	invisible bool // INVISIBLE columns
	uuid      bool // MariaDB's UUID type (10.7)
	inet4     bool // MariaDB's INET4 type (10.10)
	inet6     bool // MariaDB's INET6 type (10.5)
	maxPacket int
}

// has reports whether the server has the column type of kind k, one of
// UUID, INET4 and INET6.
func (i *serverInfo) has(k schema.Kind) bool {
	switch k {
	case schema.UUID:
		return i.uuid
	case schema.Inet4:
		return i.inet4
	case schema.Inet6:
		return i.inet6
	}
	return false
}

// New returns a Sink for the mysql:// endpoint ep. It does no I/O.
func New(ep endpoint.Endpoint, opts Options) (*Sink, error) {
	if ep.Kind != endpoint.MySQL {
		return nil, fmt.Errorf("target: %s is not a mysql:// URL", ep.Redacted())
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
	return &Sink{
		ep: ep, opts: opts, log: opts.Logger.With("component", "apply.mysql"),
		slots: make(chan struct{}, opts.MaxConns),
	}, nil
}

// conn is one target connection with its prepared statements.
type conn struct {
	c     *client.Conn
	stmts map[string]*client.Stmt
}

// maxStmts bounds the prepared statements kept per connection.
const maxStmts = 256

// get returns an idle connection or opens one.
func (s *Sink) get(ctx context.Context) (*conn, error) {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	s.mu.Lock()
	if n := len(s.idle); n > 0 {
		c := s.idle[n-1]
		s.idle = s.idle[:n-1]
		s.mu.Unlock()
		return c, nil
	}
	s.mu.Unlock()
	c, err := s.dial(ctx)
	if err != nil {
		<-s.slots
		return nil, err
	}
	return c, nil
}

// put returns a connection; a broken one (err set) is closed.
func (s *Sink) put(c *conn, broken bool) {
	if broken {
		_ = c.c.Close()
	} else {
		s.mu.Lock()
		s.idle = append(s.idle, c)
		s.mu.Unlock()
	}
	<-s.slots
}

func (s *Sink) dial(ctx context.Context) (*conn, error) {
	c, err := endpoint.DialMySQL(ctx, s.ep, s.opts.ConnectTimeout)
	if err != nil {
		// A refused login or a missing database needs a person, as on the
		// other targets; anything else may pass.
		if errors.Is(err, endpoint.ErrAuth) || errors.Is(err, endpoint.ErrUnknownDatabase) {
			return nil, err
		}
		return nil, apply.Retryable(err)
	}
	cn := &conn{c: c, stmts: map[string]*client.Stmt{}}
	for _, q := range []string{
		"SET SESSION sql_mode = '" + sessionSQLMode + "'",
		"SET SESSION time_zone = '+00:00'",
		"SET SESSION foreign_key_checks = 0",
	} {
		if _, err := c.Execute(q); err != nil {
			_ = c.Close()
			return nil, classify(fmt.Errorf("set up session on %s: %w", s.ep.Redacted(), err))
		}
	}
	// Without it, MySQL gives the first TIMESTAMP column of a new table an
	// ON UPDATE CURRENT_TIMESTAMP clause; old servers lack the variable.
	_, _ = c.Execute("SET SESSION explicit_defaults_for_timestamp = ON")
	s.mu.Lock()
	known := s.info != nil
	s.mu.Unlock()
	if !known {
		info, err := readServerInfo(c)
		if err != nil {
			_ = c.Close()
			return nil, classify(err)
		}
		s.mu.Lock()
		s.info = info
		s.mu.Unlock()
	}
	return cn, nil
}

func readServerInfo(c *client.Conn) (*serverInfo, error) {
	r, err := c.Execute("SELECT VERSION(), @@max_allowed_packet")
	if err != nil {
		return nil, fmt.Errorf("read server version: %w", err)
	}
	v, _ := r.GetString(0, 0)
	packet, _ := r.GetInt(0, 1)
	return newServerInfo(v, int(packet)), nil
}

// newServerInfo derives what the sink needs from the server's version and
// max_allowed_packet.
func newServerInfo(v string, packet int) *serverInfo {
	info := &serverInfo{mariadb: strings.Contains(strings.ToLower(v), "mariadb"), maxPacket: packet}
	if info.mariadb {
		info.invisible = versionAtLeast(v, 10, 3, 3)
		info.uuid = versionAtLeast(v, 10, 7, 0)
		info.inet4 = versionAtLeast(v, 10, 10, 0)
		info.inet6 = versionAtLeast(v, 10, 5, 0)
	} else {
		info.invisible = versionAtLeast(v, 8, 0, 23)
	}
	if info.maxPacket <= 0 {
		info.maxPacket = 4 << 20
	}
	return info
}

// versionAtLeast compares the leading "x.y.z" of a server version.
func versionAtLeast(v string, major, minor, patch int) bool {
	var a, b, c int
	_, _ = fmt.Sscanf(v, "%d.%d.%d", &a, &b, &c)
	if a != major {
		return a > major
	}
	if b != minor {
		return b > minor
	}
	return c >= patch
}

func (s *Sink) server() *serverInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.info
}

// withConn runs f on a connection. The statement deadline and ctx bound
// every call f makes; a connection that failed below the SQL level is
// closed.
func (s *Sink) withConn(ctx context.Context, f func(c *conn) error) error {
	c, err := s.get(ctx)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = c.c.SetDeadline(time.Unix(1, 0)) })
	_ = c.c.SetDeadline(time.Now().Add(s.opts.StatementTimeout))
	err = f(c)
	interrupted := !stop()
	broken := interrupted || (err != nil && !isServerError(err) && !errors.Is(err, errBadValue))
	if !broken {
		_ = c.c.SetDeadline(time.Time{})
	}
	s.put(c, broken)
	if interrupted && ctx.Err() != nil {
		return ctx.Err()
	}
	return classify(err)
}

// exec runs a statement with arguments through a cached prepared statement.
func (c *conn) exec(query string, args ...any) (*mysql.Result, error) {
	st, ok := c.stmts[query]
	if !ok {
		if len(c.stmts) >= maxStmts {
			for q, old := range c.stmts {
				_ = old.Close()
				delete(c.stmts, q)
			}
		}
		var err error
		st, err = c.c.Prepare(query)
		if err != nil {
			return nil, err
		}
		c.stmts[query] = st
	}
	return st.Execute(args...)
}

// query runs a statement with arguments once (not cached).
func (c *conn) query(query string, args ...any) (*mysql.Result, error) {
	return c.c.Execute(query, args...)
}

// Close closes the idle connections.
func (s *Sink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, c := range s.idle {
		if err := c.c.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	s.idle = nil
	return errors.Join(errs...)
}

// isServerError reports whether err is an error answered by the server
// (the connection is still fine).
func isServerError(err error) bool {
	var me *mysql.MyError
	return errors.As(err, &me)
}

// Server error codes worth retrying.
var retryableCodes = map[uint16]bool{
	1205: true,                                     // ER_LOCK_WAIT_TIMEOUT
	1213: true,                                     // ER_LOCK_DEADLOCK
	1040: true,                                     // ER_CON_COUNT_ERROR
	1053: true,                                     // ER_SERVER_SHUTDOWN
	1290: true,                                     // ER_OPTION_PREVENTS_STATEMENT (read-only during a failover)
	1836: true,                                     // ER_READ_ONLY_MODE
	1927: true,                                     // ER_CONNECTION_KILLED (MariaDB)
	1317: true,                                     // ER_QUERY_INTERRUPTED
	3024: true,                                     // ER_QUERY_TIMEOUT (MySQL)
	1969: true,                                     // ER_STATEMENT_TIMEOUT (MariaDB)
	1152: true,                                     // ER_ABORTING_CONNECTION
	1158: true, 1159: true, 1160: true, 1161: true, // network read/write errors
}

// privilegeCodes are the server errors that say the user lacks a
// privilege: no retry cures them, and they are no record's fault.
var privilegeCodes = map[uint16]bool{
	1044: true, // ER_DBACCESS_DENIED_ERROR
	1045: true, // ER_ACCESS_DENIED_ERROR
	1142: true, // ER_TABLEACCESS_DENIED_ERROR
	1143: true, // ER_COLUMNACCESS_DENIED_ERROR
	1227: true, // ER_SPECIFIC_ACCESS_DENIED_ERROR
}

// classify marks the errors worth retrying: server errors by code, and
// connection failures.
func classify(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var me *mysql.MyError
	if errors.As(err, &me) {
		switch {
		case retryableCodes[me.Code]:
			return apply.Retryable(err)
		case privilegeCodes[me.Code]:
			return apply.Privilege(err)
		}
		return err
	}
	if errors.Is(err, mysql.ErrBadConn) || apply.IsRetryable(err) {
		return apply.Retryable(err)
	}
	return err
}
