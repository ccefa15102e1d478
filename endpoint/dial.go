package endpoint

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	chdriver "github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/go-mysql-org/go-mysql/client"
	mysqldriver "github.com/go-mysql-org/go-mysql/driver"
	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The sentinels wrapped by every connection error, for callers that act on
// the kind of failure. A timeout wraps both ErrTimeout and ErrUnreachable.
var (
	// ErrUnreachable: no connection to the server could be made (refused,
	// no route, unknown host, timeout).
	ErrUnreachable = errors.New("server unreachable")
	// ErrTimeout: the server did not answer within the timeout.
	ErrTimeout = errors.New("connection timed out")
	// ErrAuth: the server refused the user or password.
	ErrAuth = errors.New("authentication failed")
	// ErrUnknownDatabase: the database named in the connection string does
	// not exist.
	ErrUnknownDatabase = errors.New("unknown database")
)

// mysqlCollation is sent in the handshake: utf8mb4 with a collation that
// MySQL 5.7, 8.x and every MariaDB know (the driver's default,
// utf8mb4_0900_ai_ci, is unknown to MariaDB).
const mysqlCollation = "utf8mb4_general_ci"

// ConnectError is a failed connection, classified. Its message is one line
// that names the endpoint and the fix, and never contains the password.
type ConnectError struct {
	// Endpoint is the redacted URL of the endpoint.
	Endpoint string
	// Problem says what went wrong, e.g. "cannot reach mysql at
	// 127.0.0.1:3306: connection refused".
	Problem string
	// Fix says what to do about it; it may be empty.
	Fix  string
	kind []error
}

// Error returns Problem and Fix on one line.
func (e *ConnectError) Error() string {
	if e.Fix == "" {
		return e.Problem
	}
	return e.Problem + "; " + e.Fix
}

// Unwrap returns the sentinels (ErrUnreachable, ErrTimeout, ErrAuth,
// ErrUnknownDatabase) the error matches.
func (e *ConnectError) Unwrap() []error { return e.kind }

// DialMySQL opens one connection to a MySQL or MariaDB endpoint with the
// go-mysql client: charset utf8mb4, TLS as the URL's tls parameter says
// (true: verified, skip-verify: encrypted but not verified, false or absent:
// plain). Connecting, handshake included, takes at most timeout and stops
// when ctx ends; the returned connection has no deadline.
func DialMySQL(ctx context.Context, e Endpoint, timeout time.Duration) (*client.Conn, error) {
	if e.Kind != MySQL {
		return nil, fmt.Errorf("%w: %s is not a mysql:// endpoint", ErrBadURL, e.Redacted())
	}
	tlsCfg, err := MySQLTLSConfig(e)
	if err != nil {
		return nil, err
	}
	dialCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	// The client bounds only the TCP dial; the handshake that follows reads
	// without a deadline. Keep the raw connection so that the deadline, and
	// ctx, bound the handshake too.
	var (
		mu  sync.Mutex
		raw net.Conn
	)
	dialer := func(ctx context.Context, network, addr string) (net.Conn, error) {
		d := net.Dialer{Timeout: timeout}
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		deadline, _ := dialCtx.Deadline()
		if err := c.SetDeadline(deadline); err != nil {
			_ = c.Close()
			return nil, err
		}
		mu.Lock()
		raw = c
		mu.Unlock()
		return c, nil
	}
	stop := context.AfterFunc(dialCtx, func() {
		mu.Lock()
		defer mu.Unlock()
		if raw != nil {
			_ = raw.SetDeadline(time.Unix(1, 0))
		}
	})
	opts := []client.Option{func(c *client.Conn) error { return c.SetCollation(mysqlCollation) }}
	if tlsCfg != nil {
		opts = append(opts, func(c *client.Conn) error { c.SetTLSConfig(tlsCfg); return nil })
	}
	conn, err := client.ConnectWithDialer(dialCtx, "tcp", e.Addr(), e.User, e.Password.Reveal(), e.Database, dialer, opts...)
	if !stop() {
		// The deadline was moved into the past; the connection, if any, is
		// unusable, and the error below reports the timeout.
		if err == nil {
			_ = conn.Close()
			err = context.Cause(dialCtx)
		}
	}
	if err != nil {
		return nil, classify(ctx, dialCtx, e, timeout, err)
	}
	if err := raw.SetDeadline(time.Time{}); err != nil {
		_ = conn.Close()
		return nil, classify(ctx, dialCtx, e, timeout, err)
	}
	return conn, nil
}

// OpenMySQL returns a database/sql pool on a MySQL or MariaDB endpoint,
// built from a go-mysql driver.Connector so that no DSN string carries the
// password. It does not connect; the first query does. Note that the
// database/sql driver cannot verify certificates: tls=true and
// tls=skip-verify both encrypt without verifying there. Connection errors of
// the pool are not classified; use DialMySQL to test an endpoint.
func OpenMySQL(e Endpoint) *sql.DB {
	params := make(map[string][]string)
	params["collation"] = []string{mysqlCollation}
	switch v := e.Params.Get("tls"); v {
	case "true", "skip-verify":
		params["tls"] = []string{"skip-verify"}
	}
	return sql.OpenDB(mysqldriver.Connector{
		Addr:     e.Addr(),
		User:     e.User,
		Password: e.Password.Reveal(),
		DB:       e.Database,
		Params:   params,
	})
}

// ConnectPostgres opens one pgx connection to a PostgreSQL endpoint. The
// URL's parameters (sslmode, sslrootcert, application_name, ...) are passed
// to pgx as connection settings; the password is set on the parsed config,
// never written into a connection string.
func ConnectPostgres(ctx context.Context, e Endpoint, timeout time.Duration) (*pgx.Conn, error) {
	if e.Kind != Postgres {
		return nil, fmt.Errorf("%w: %s is not a postgres:// endpoint", ErrBadURL, e.Redacted())
	}
	settings := []string{
		"host=" + pgQuote(e.Host),
		"port=" + strconv.Itoa(e.Port),
		"user=" + pgQuote(e.User),
	}
	if e.Database != "" {
		settings = append(settings, "dbname="+pgQuote(e.Database))
	}
	for k, vs := range e.Params {
		if k == "password" || len(vs) == 0 {
			continue
		}
		settings = append(settings, k+"="+pgQuote(vs[len(vs)-1]))
	}
	cfg, err := pgx.ParseConfig(strings.Join(settings, " "))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %s", ErrBadURL, e.Redacted(), scrub(err.Error(), e.Password))
	}
	if e.Password != "" {
		cfg.Password = e.Password.Reveal()
	}
	cfg.ConnectTimeout = timeout
	dialCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(dialCtx, cfg)
	if err != nil {
		return nil, classify(ctx, dialCtx, e, timeout, err)
	}
	return conn, nil
}

// pgQuote quotes a value for a PostgreSQL keyword/value connection string.
func pgQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// OpenClickHouse opens a ClickHouse native-protocol connection pool and
// pings it, within timeout. The URL's tls parameter is honoured as for
// MySQL (true, skip-verify, false).
func OpenClickHouse(ctx context.Context, e Endpoint, timeout time.Duration) (chdriver.Conn, error) {
	if e.Kind != ClickHouse {
		return nil, fmt.Errorf("%w: %s is not a clickhouse:// endpoint", ErrBadURL, e.Redacted())
	}
	opts := &clickhouse.Options{
		Addr: []string{e.Addr()},
		Auth: clickhouse.Auth{
			Database: e.Database,
			Username: e.User,
			Password: e.Password.Reveal(),
		},
		DialTimeout: timeout,
	}
	tlsCfg, err := MySQLTLSConfig(e) // the same tls parameter as MySQL's
	if err != nil {
		return nil, err
	}
	opts.TLS = tlsCfg
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %s", ErrBadURL, e.Redacted(), scrub(err.Error(), e.Password))
	}
	dialCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := conn.Ping(dialCtx); err != nil {
		_ = conn.Close()
		return nil, classify(ctx, dialCtx, e, timeout, err)
	}
	return conn, nil
}

// classify turns a driver's connection error into a ConnectError. parent is
// the caller's context: when it ended, its error is returned as is.
func classify(parent, dialCtx context.Context, e Endpoint, timeout time.Duration, err error) error {
	if perr := parent.Err(); perr != nil {
		return fmt.Errorf("connect to %s at %s: %w", e.Kind, e.Addr(), perr)
	}
	at := fmt.Sprintf("%s at %s", e.Kind, e.Addr())
	ce := &ConnectError{Endpoint: e.Redacted()}

	var (
		opErr  *net.OpError
		dnsErr *net.DNSError
		myErr  *mysql.MyError
		pgErr  *pgconn.PgError
		chErr  *clickhouse.Exception
	)
	switch {
	case errors.As(err, &myErr) && myErr.Code == mysql.ER_ACCESS_DENIED_ERROR,
		errors.As(err, &pgErr) && (pgErr.Code == "28P01" || pgErr.Code == "28000"),
		errors.As(err, &chErr) && isClickHouseAuth(chErr.Code):
		ce.Problem = fmt.Sprintf("%s: user %q was refused", at, e.User)
		ce.Fix = "check the password"
		if e.Password == "" {
			ce.Fix = "check the password (none was given: put it in the URL, a password file or the environment)"
		}
		ce.kind = []error{ErrAuth}
	case errors.As(err, &myErr) && myErr.Code == mysql.ER_DBACCESS_DENIED_ERROR:
		ce.Problem = fmt.Sprintf("%s: user %q may not use database %q", at, e.User, e.Database)
		ce.Fix = "grant the user access to it, or name another database in the connection string"
		ce.kind = []error{ErrAuth}
	case errors.As(err, &myErr) && myErr.Code == mysql.ER_BAD_DB_ERROR,
		errors.As(err, &pgErr) && pgErr.Code == "3D000",
		errors.As(err, &chErr) && chErr.Code == 81:
		ce.Problem = fmt.Sprintf("%s: database %q does not exist", at, e.Database)
		ce.Fix = "create it, or fix the database in the connection string's path"
		ce.kind = []error{ErrUnknownDatabase}
	case expired(dialCtx), errors.Is(err, os.ErrDeadlineExceeded), isTimeout(err):
		ce.Problem = fmt.Sprintf("cannot reach %s: no answer within %s", at, timeout)
		ce.Fix = "check host, port and firewall (a firewall that drops packets looks like this), or raise the timeout"
		ce.kind = []error{ErrUnreachable, ErrTimeout}
	case errors.As(err, &dnsErr):
		ce.Problem = fmt.Sprintf("cannot reach %s: host %q not found", at, e.Host)
		ce.Fix = "check the host name"
		ce.kind = []error{ErrUnreachable}
	case errors.Is(err, syscall.ECONNREFUSED):
		ce.Problem = fmt.Sprintf("cannot reach %s: connection refused", at)
		ce.Fix = "check host, port and firewall"
		ce.kind = []error{ErrUnreachable}
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		ce.Problem = fmt.Sprintf("cannot reach %s: no route to host", at)
		ce.Fix = "check host, port and firewall"
		ce.kind = []error{ErrUnreachable}
	case errors.As(err, &opErr):
		ce.Problem = fmt.Sprintf("cannot reach %s: %s", at, scrub(opErr.Err.Error(), e.Password))
		ce.Fix = "check host, port and firewall"
		ce.kind = []error{ErrUnreachable}
	default:
		ce.Problem = fmt.Sprintf("cannot connect to %s: %s", at, oneLine(scrub(rootMessage(err), e.Password)))
		ce.Fix = fixFor(e)
	}
	return ce
}

// isClickHouseAuth reports whether a ClickHouse exception code means the
// user or password was refused: 192 UNKNOWN_USER, 193 WRONG_PASSWORD,
// 194 REQUIRED_PASSWORD (older servers), 516 AUTHENTICATION_FAILED.
func isClickHouseAuth(code int32) bool {
	return code == 192 || code == 193 || code == 194 || code == 516
}

// expired reports whether ctx's deadline has passed. Its Err may still be
// nil just after: a read deadline set to the same instant can fire first.
func expired(ctx context.Context) bool {
	d, ok := ctx.Deadline()
	return errors.Is(ctx.Err(), context.DeadlineExceeded) || ok && !time.Now().Before(d)
}

// isTimeout reports whether err is a network timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// fixFor is the generic advice for an unclassified connection error.
func fixFor(e Endpoint) string {
	switch e.Kind {
	case Postgres:
		return "check that the server speaks PostgreSQL on this port and the sslmode parameter"
	case ClickHouse:
		return "check that the port is ClickHouse's native protocol port (9000, not the HTTP port 8123) and the tls parameter"
	}
	return "check that the server speaks MySQL on this port and the tls parameter"
}

// rootMessage returns the message of the innermost error of a chain of
// single wraps, which is free of the drivers' call-site prefixes.
func rootMessage(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}

// scrub removes the password from a driver's message, should it repeat it.
func scrub(msg string, password Secret) string {
	if password == "" {
		return msg
	}
	return strings.ReplaceAll(msg, password.Reveal(), password.String())
}

// oneLine keeps the first line of a message.
func oneLine(msg string) string {
	first, _, _ := strings.Cut(strings.TrimSpace(msg), "\n")
	return first
}
