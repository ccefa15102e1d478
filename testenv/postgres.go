package testenv

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/syncline/syncline/internal/servers"
)

// PostgresServer is a running private PostgreSQL cluster reachable over TCP
// as the superuser "postgres" with a password (the fields and methods of
// servers.PostgresServer), with helpers that fail the test. Postgres returns
// one.
type PostgresServer struct {
	*servers.PostgresServer
}

// Postgres returns the shared PostgreSQL cluster of the test binary, started
// on first use. Tests share it: work in a database from NewDatabase.
func Postgres(t testing.TB) *PostgresServer {
	t.Helper()
	return shared(t, "postgres", func(ctx context.Context) (*PostgresServer, func() error, error) {
		pg, closeFn, err := servers.LaunchPostgresInTemp(ctx)
		if err != nil {
			return nil, nil, err
		}
		return &PostgresServer{pg}, closeFn, nil
	})
}

// Conn opens a pgx connection to db (empty for "postgres") and closes it
// when the test ends.
func (pg *PostgresServer) Conn(t testing.TB, db string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pg.Connect(ctx, db)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// NewDatabase creates a database named after the test (t_<name>_<n>), drops
// it (closing its sessions) when the test ends, and returns its name.
func (pg *PostgresServer) NewDatabase(t testing.TB) string {
	t.Helper()
	name := uniqueName(t.Name())
	if err := pg.ExecRoot(context.Background(), "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("testenv: create postgres database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := pg.ExecRoot(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Logf("testenv: drop postgres database %s: %v", name, err)
		}
	})
	return name
}
