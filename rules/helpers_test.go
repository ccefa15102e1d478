package rules

import (
	"os"
	"strings"
	"testing"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/syncline/syncline/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

// connect opens a go-mysql client connection on db with a utf8mb4 session,
// an empty sql_mode (zero dates allowed) and the UTC time zone, which is
// the time zone the filter reads TIMESTAMP literals in.
func connect(t testing.TB, src *testenv.MySQL, db string) *client.Conn {
	t.Helper()
	conn, err := client.Connect(src.Addr(), src.User, src.Password, db)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	exec(t, conn, "SET NAMES utf8mb4")
	exec(t, conn, "SET SESSION sql_mode = '', time_zone = '+00:00'")
	return conn
}

func exec(t testing.TB, conn *client.Conn, q string, args ...any) *mysql.Result {
	t.Helper()
	r, err := conn.Execute(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return r
}

func serverVersion(conn *client.Conn) string {
	return "MariaDB " + strings.TrimPrefix(conn.GetServerVersion(), "5.5.5-")
}
