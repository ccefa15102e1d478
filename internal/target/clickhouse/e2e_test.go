package clickhouse_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/capture"
	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/filter"
	"github.com/syncline/syncline/internal/target/clickhouse"
	"github.com/syncline/syncline/testenv"
	"github.com/syncline/syncline/topics"
)

// run runs f in the background until the test ends; an early failure
// fails the test.
func run(t *testing.T, name string, f func(context.Context) error) {
	testenv.Background(t, name, f)
}

// TestEndToEnd runs capture from MariaDB through Kafka and apply into
// ClickHouse: a snapshot, updates, deletes, an added and a dropped column,
// a truncate and a table dropped and created again.
func TestEndToEnd(t *testing.T) {
	src := testenv.Source(t)
	k := testenv.Kafka(t)
	ch := testenv.ClickHouse(t)
	db := src.NewDatabase(t)
	t.Cleanup(func() { _ = ch.Conn(t).Exec(context.Background(), "DROP DATABASE IF EXISTS "+quote(db)) })
	srcDB := src.DB(t, db)
	conn := ch.Conn(t)
	exec := func(q string) {
		t.Helper()
		if _, err := srcDB.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec("CREATE TABLE orders (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL, amount DECIMAL(10,2), at DATETIME(3), day DATE, gone INT)")
	exec("INSERT INTO orders VALUES (1, 'one', 1.50, '1965-03-04 05:06:07.890', '1901-01-01', 1), (2, 'two', NULL, NULL, NULL, 2), (3, 'three', -3, '2024-02-29 00:00:00', '2024-02-29', 3)")

	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	prefix := strings.ReplaceAll(db, ".", "_")
	srcEP, err := endpoint.Parse(src.URL(""))
	if err != nil {
		t.Fatal(err)
	}
	sel, err := filter.Parse(db+".*", "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := capture.New(capture.Config{
		Source: srcEP, Kafka: topics.Kafka{Brokers: k.Brokers}, RegistryURL: k.RegistryURL,
		Prefix: prefix, Tables: sel, ChunkRows: 1000, BatchRows: 5000,
		FlushInterval: 20 * time.Millisecond, Heartbeat: 200 * time.Millisecond, Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	run(t, "capture", c.Run)
	sink := newSink(t, ch, clickhouse.Options{Logger: log})
	t.Cleanup(func() { _ = sink.Close() })
	a, err := apply.New(apply.Config{
		Kafka: topics.Kafka{Brokers: k.Brokers}, RegistryURL: k.RegistryURL, Prefix: prefix, Group: prefix + "-apply",
		BatchRows: 2000, FlushInterval: 100 * time.Millisecond, RetryWindow: time.Minute, TopicRefresh: 500 * time.Millisecond,
		Logger: log,
	}, sink)
	if err != nil {
		t.Fatal(err)
	}
	run(t, "apply", a.Run)

	waitSame(t, srcDB, conn, db)
	exec("UPDATE orders SET name = 'uno', amount = amount * 2 WHERE id = 1")
	exec("DELETE FROM orders WHERE id = 2")
	exec("ALTER TABLE orders ADD COLUMN extra VARCHAR(5) AFTER name, DROP COLUMN gone")
	exec("INSERT INTO orders (id, name, extra, day) VALUES (4, 'four', 'x', '0000-00-00')")
	exec("UPDATE orders SET amount = 7 WHERE id = 3")
	waitSame(t, srcDB, conn, db)
	exec("TRUNCATE TABLE orders")
	exec("INSERT INTO orders (id, name) VALUES (5, 'five')")
	waitSame(t, srcDB, conn, db)
	exec("DROP TABLE orders")
	exec("CREATE TABLE orders (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL)")
	exec("INSERT INTO orders VALUES (6, 'six')")
	waitSame(t, srcDB, conn, db)
}

// waitSame waits until ClickHouse's orders read like the source's, in the
// documented forms: DATETIME as microseconds, DATE as days.
func waitSame(t *testing.T, srcDB *sql.DB, conn driver.Conn, db string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		want, cols := sourceRows(t, srcDB)
		wantNames := strings.Join(append(cols, apply.VersionColumn, clickhouse.DeletedColumn), ",")
		got := ""
		// Rows are compared once the columns are.
		if names := strings.Join(columnNames(t, conn, db, "orders"), ","); names == wantNames {
			got = names + "\n"
			for _, r := range liveRows(t, conn, db, "orders", cols...) {
				got += dumpRow(r) + "\n"
			}
		} else {
			got = names + "\n?"
		}
		wantAll := wantNames + "\n" + want
		if got == wantAll {
			return
		}
		if t.Failed() || time.Now().After(deadline) {
			t.Fatalf("target not equal to the source:\n got %q\nwant %q", got, wantAll)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func dumpRow(r []*string) string {
	parts := make([]string, len(r))
	for i, v := range r {
		parts[i] = `\N`
		if v != nil {
			parts[i] = *v
		}
	}
	return strings.Join(parts, "|")
}

// sourceRows reads the source's orders in the target's forms.
func sourceRows(t *testing.T, srcDB *sql.DB) (string, []string) {
	t.Helper()
	rows, err := srcDB.Query("SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'orders' ORDER BY ORDINAL_POSITION")
	if err != nil {
		t.Fatal(err)
	}
	var cols, exprs []string
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, name)
		q := "`" + name + "`"
		switch typ {
		case "datetime":
			exprs = append(exprs, "CAST(TIMESTAMPDIFF(MICROSECOND, '1970-01-01', "+q+") AS CHAR)")
		case "date":
			exprs = append(exprs, "IF("+q+" = '0000-00-00', '-2147483648', CAST(DATEDIFF("+q+", '1970-01-01') AS CHAR))")
		default:
			exprs = append(exprs, "CAST("+q+" AS CHAR)")
		}
	}
	rows.Close()
	if len(cols) == 0 {
		return "", nil
	}
	rows, err = srcDB.Query("SELECT " + strings.Join(exprs, ", ") + " FROM orders ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out strings.Builder
	for rows.Next() {
		r, err := testenv.ScanStrings(rows)
		if err != nil {
			t.Fatal(err)
		}
		out.WriteString(dumpRow(r) + "\n")
	}
	return out.String(), cols
}

// TestEndToEndRenameColumnSkipped renames a column on a server without
// RENAME COLUMN: apply stops naming the statement and --skip-ddl; restarted
// with the statement skipped, it keeps the old column with its values and
// fills the new one.
func TestEndToEndRenameColumnSkipped(t *testing.T) {
	ch := testenv.ClickHouse(t)
	conn := ch.Conn(t)
	if major, minor := serverVersion(t, conn); major > 20 || major == 20 && minor >= 4 {
		t.Skip("the server can rename columns")
	}
	src := testenv.Source(t)
	k := testenv.Kafka(t)
	db := src.NewDatabase(t)
	t.Cleanup(func() { _ = ch.Conn(t).Exec(context.Background(), "DROP DATABASE IF EXISTS "+quote(db)) })
	srcDB := src.DB(t, db)
	exec := func(q string) {
		t.Helper()
		if _, err := srcDB.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec("CREATE TABLE r (id INT PRIMARY KEY, a INT NOT NULL)")
	exec("INSERT INTO r VALUES (1, 10)")
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	prefix := strings.ReplaceAll(db, ".", "_")
	srcEP, err := endpoint.Parse(src.URL(""))
	if err != nil {
		t.Fatal(err)
	}
	sel, err := filter.Parse(db+".*", "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := capture.New(capture.Config{
		Source: srcEP, Kafka: topics.Kafka{Brokers: k.Brokers}, RegistryURL: k.RegistryURL,
		Prefix: prefix, Tables: sel, FlushInterval: 20 * time.Millisecond, Heartbeat: 200 * time.Millisecond, Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	run(t, "capture", c.Run)
	newApply := func(skip []int64) *apply.Apply {
		sink := newSink(t, ch, clickhouse.Options{Logger: log})
		t.Cleanup(func() { _ = sink.Close() })
		a, err := apply.New(apply.Config{
			Kafka: topics.Kafka{Brokers: k.Brokers}, RegistryURL: k.RegistryURL, Prefix: prefix, Group: prefix + "-apply",
			FlushInterval: 100 * time.Millisecond, RetryWindow: 5 * time.Second, TopicRefresh: 500 * time.Millisecond,
			SkipDDL: skip, Logger: log,
		}, sink)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- newApply(nil).Run(ctx) }()
	waitRows(t, conn, db, "r", "1|10", "id", "a")
	exec("ALTER TABLE r RENAME COLUMN a TO b")
	exec("INSERT INTO r VALUES (2, 20)")
	var runErr error
	select {
	case runErr = <-done:
	case <-ctx.Done():
		t.Fatal("apply did not stop at the rename")
	}
	m := regexp.MustCompile(`--skip-ddl (\d+)`).FindStringSubmatch(fmt.Sprint(runErr))
	if !errors.Is(runErr, apply.ErrUnsupportedDDL) || !strings.Contains(runErr.Error(), "RENAME COLUMN a TO b") || m == nil {
		t.Fatalf("apply stopped with %v; want ErrUnsupportedDDL naming the statement and --skip-ddl", runErr)
	}
	version, _ := strconv.ParseInt(m[1], 10, 64)
	run(t, "apply", newApply([]int64{version}).Run)
	exec("UPDATE r SET b = 11 WHERE id = 1")
	// a keeps what was written before the rename; b has every value
	// written since.
	waitRows(t, conn, db, "r", `1|\N|11;2|\N|20`, "id", "a", "b")
	if got := query(t, conn, "SELECT toString(a) FROM "+quote(db)+".r WHERE id = 1 AND "+quote(apply.VersionColumn)+" = (SELECT min("+quote(apply.VersionColumn)+") FROM "+quote(db)+".r)"); len(got) != 1 || *got[0][0] != "10" {
		t.Errorf("the value written before the rename: %v", got)
	}
}

// waitRows waits until the live rows of db.table read want ("a|b;c|d").
func waitRows(t *testing.T, conn driver.Conn, db, table, want string, cols ...string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := ""
		names := strings.Join(columnNames(t, conn, db, table), ",")
		have := true
		for _, c := range cols {
			have = have && strings.Contains(","+names+",", ","+c+",")
		}
		if have {
			var parts []string
			for _, r := range liveRows(t, conn, db, table, cols...) {
				parts = append(parts, dumpRow(r))
			}
			got = strings.Join(parts, ";")
			if got == want {
				return
			}
		}
		if t.Failed() || time.Now().After(deadline) {
			t.Fatalf("%s.%s: got %q (columns %s), want %q", db, table, got, names, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
