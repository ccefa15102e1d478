package testenv

import (
	"context"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/syncline/syncline/internal/servers"
)

// ClickHouseServer is a running private clickhouse-server (the fields and
// methods of servers.ClickHouseServer), with helpers that fail the test.
// ClickHouse returns one.
type ClickHouseServer struct {
	*servers.ClickHouseServer
}

// ClickHouse returns the shared clickhouse-server of the test binary, started
// on first use. Tests share it: work in a database from NewDatabase.
func ClickHouse(t testing.TB) *ClickHouseServer {
	t.Helper()
	return shared(t, "clickhouse", func(ctx context.Context) (*ClickHouseServer, func() error, error) {
		ch, closeFn, err := servers.LaunchClickHouseInTemp(ctx)
		if err != nil {
			return nil, nil, err
		}
		return &ClickHouseServer{ch}, closeFn, nil
	})
}

// Conn opens a native-protocol connection pool on the "default" database
// (qualify table names) and closes it when the test ends.
func (ch *ClickHouseServer) Conn(t testing.TB) driver.Conn {
	t.Helper()
	conn, err := ch.Open("default")
	if err != nil {
		t.Fatalf("testenv: open clickhouse %s: %v", ch.Addr(), err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// NewDatabase creates a database named after the test (t_<name>_<n>), drops
// it when the test ends, and returns its name.
func (ch *ClickHouseServer) NewDatabase(t testing.TB) string {
	t.Helper()
	name := uniqueName(t.Name())
	if err := ch.ExecRoot(context.Background(), "CREATE DATABASE `"+name+"`"); err != nil {
		t.Fatalf("testenv: create clickhouse database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := ch.ExecRoot(context.Background(), "DROP DATABASE IF EXISTS `"+name+"`"); err != nil {
			t.Logf("testenv: drop clickhouse database %s: %v", name, err)
		}
	})
	return name
}
