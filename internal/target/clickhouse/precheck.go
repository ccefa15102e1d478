package clickhouse

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/internal/target/targetcheck"
)

// Check is syncline precheck's connection to a ClickHouse target
// (targetcheck.Conn): it proves the user's rights with a scratch table.
type Check struct {
	ep      endpoint.Endpoint
	timeout time.Duration
	conn    driver.Conn
	user    string
	version string
}

var _ targetcheck.Conn = (*Check)(nil)

// Connect connects to the target ep for precheck and reads its version;
// timeout bounds the connection and each query.
func Connect(ctx context.Context, ep endpoint.Endpoint, timeout time.Duration) (*Check, error) {
	conn, err := endpoint.OpenClickHouse(ctx, ep, timeout)
	if err != nil {
		return nil, err
	}
	t := &Check{ep: ep, timeout: timeout, conn: conn, user: ep.User, version: "ClickHouse"}
	if v, err := conn.ServerVersion(); err == nil {
		t.version = "ClickHouse " + v.Version.String()
	}
	return t, nil
}

// User is the user name of the URL.
func (t *Check) User() string { return t.user }

// Version names the server: "ClickHouse 18.16.1".
func (t *Check) Version() string { return t.version }

// Close closes the connection.
func (t *Check) Close() { _ = t.conn.Close() }

// ExistingTables returns the tables of dbs, as db.table.
func (t *Check) ExistingTables(ctx context.Context, dbs []string) (map[string]bool, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	rows, err := t.conn.Query(ctx, "SELECT database, name FROM system.tables WHERE database IN ("+targetcheck.InList(dbs)+")")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[string]bool)
	for rows.Next() {
		var db, table string
		if err := rows.Scan(&db, &table); err != nil {
			return nil, err
		}
		out[db+"."+table] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// Privileges proves the user's rights by creating a
// scratch database and table, inserting a row, adding a column and dropping
// them again. ClickHouse before 20.4 (such as 18.16) has no SQL grants to
// read, so this is the only honest test on every version.
func (t *Check) Privileges(ctx context.Context, _ []string) (targetcheck.Result, bool) {
	ctx, cancel := context.WithTimeout(ctx, 3*t.timeout)
	defer cancel()
	db := "syncline_precheck_" + targetcheck.RandomSuffix()
	fix := fmt.Sprintf("let %s create, alter and drop databases and tables, and insert into them", t.user)
	steps := []string{
		"CREATE DATABASE " + db,
		"CREATE TABLE " + db + ".t (id UInt64, version UInt64) ENGINE = ReplacingMergeTree(version) ORDER BY id",
		"", // insert, below
		"ALTER TABLE " + db + ".t ADD COLUMN c String",
		"DROP TABLE " + db + ".t",
		"DROP DATABASE " + db,
	}
	for i, stmt := range steps {
		var err error
		if stmt == "" {
			err = t.insert(ctx, db+".t")
			stmt = "INSERT INTO " + db + ".t"
		} else {
			err = t.conn.Exec(ctx, stmt)
		}
		if err != nil {
			if i > 0 {
				_ = t.conn.Exec(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+db)
			}
			return targetcheck.Failf(fix, "%s: %s failed for %s: %s", targetcheck.Label(t.ep), stmt, t.user, targetcheck.OneLine(err.Error())), true
		}
	}
	return targetcheck.Passf("%s: %s created, filled, altered and dropped a scratch table in %s", targetcheck.Label(t.ep), t.user, db), true
}

// insert inserts one row through a batch (inline INSERT ...
// VALUES through Exec hangs on old servers).
func (t *Check) insert(ctx context.Context, table string) error {
	batch, err := t.conn.PrepareBatch(ctx, "INSERT INTO "+table+" (id, version)")
	if err != nil {
		return err
	}
	if err := batch.Append(uint64(1), uint64(1)); err != nil {
		_ = batch.Abort()
		return err
	}
	return batch.Send()
}
