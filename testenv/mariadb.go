package testenv

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/syncline/syncline/internal/servers"
)

// MariaDBOptions configures a MariaDB server started by StartMariaDB; see
// servers.MariaDBOptions. The zero value is a correctly configured CDC
// source.
type MariaDBOptions = servers.MariaDBOptions

// MySQL is a running MariaDB server reachable over TCP as root with a
// password (the fields and methods of servers.MySQL), with helpers that
// fail the test. Source, Target and StartMariaDB return one.
type MySQL struct {
	*servers.MySQL
}

// Source returns the shared MariaDB binlog source of the test binary,
// started on first use with the default MariaDBOptions (ROW format, FULL row
// image, FULL row metadata, GTID strict mode, server_id 1). Tests share it:
// work in a database from NewDatabase.
func Source(t testing.TB) *MySQL {
	t.Helper()
	return shared(t, "source", func(ctx context.Context) (*MySQL, func() error, error) {
		return launchMariaDB(ctx, "source", MariaDBOptions{})
	})
}

// Target returns the shared MariaDB used as a MySQL-compatible apply target,
// started on first use, without a binary log, server_id 2.
func Target(t testing.TB) *MySQL {
	t.Helper()
	return shared(t, "target", func(ctx context.Context) (*MySQL, func() error, error) {
		return launchMariaDB(ctx, "target", MariaDBOptions{NoBinlog: true, ServerID: 2})
	})
}

// StartMariaDB starts a private MariaDB configured by opts in a temporary
// directory; it is stopped and its directory removed when the test ends.
func StartMariaDB(t testing.TB, opts MariaDBOptions) *MySQL {
	t.Helper()
	s, closeFn, err := launchMariaDB(context.Background(), "mariadb", opts)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() {
		if err := closeFn(); err != nil {
			t.Errorf("testenv: stop mariadb: %v", err)
		}
	})
	return s
}

// launchMariaDB launches MariaDB in a new temporary directory.
func launchMariaDB(ctx context.Context, name string, opts MariaDBOptions) (*MySQL, func() error, error) {
	s, closeFn, err := servers.LaunchMariaDBInTemp(ctx, name, opts)
	if err != nil {
		return nil, nil, err
	}
	return &MySQL{s}, closeFn, nil
}

// DB opens a database/sql pool on db (empty for none), checks that it
// connects, and closes it when the test ends.
func (s *MySQL) DB(t testing.TB, db string) *sql.DB {
	t.Helper()
	pool, err := sql.Open("mysql", s.DSN(db))
	if err != nil {
		t.Fatalf("testenv: open mysql %s: %v", s.Addr(), err)
	}
	t.Cleanup(func() { _ = pool.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := pool.PingContext(ctx); err != nil {
		t.Fatalf("testenv: connect to mysql %s/%s: %v", s.Addr(), db, err)
	}
	return pool
}

// Exec runs query as root without a default database (qualify table names)
// and fails the test on error.
func (s *MySQL) Exec(t testing.TB, query string, args ...any) {
	t.Helper()
	if err := s.ExecRoot(context.Background(), query, args...); err != nil {
		t.Fatalf("testenv: exec %q: %v", query, err)
	}
}

// NewDatabase creates a database named after the test (t_<name>_<n>),
// drops it when the test ends, and returns its name.
func (s *MySQL) NewDatabase(t testing.TB) string {
	t.Helper()
	name := uniqueName(t.Name())
	s.Exec(t, "CREATE DATABASE `"+name+"`")
	t.Cleanup(func() {
		if err := s.ExecRoot(context.Background(), "DROP DATABASE IF EXISTS `"+name+"`"); err != nil {
			t.Logf("testenv: drop database %s: %v", name, err)
		}
	})
	return name
}

// OnlineSchemaChange runs pt-online-schema-change (Debian package
// percona-toolkit) on db.table with the ALTER clause alter and the extra
// options (such as "--chunk-size", "200"), and fails the test when it fails.
func (s *MySQL) OnlineSchemaChange(t testing.TB, db, table, alter string, extra ...string) {
	t.Helper()
	if err := s.MySQL.OnlineSchemaChange(context.Background(), db, table, alter, extra...); err != nil {
		t.Fatalf("testenv: %v", err)
	}
}
