package capture

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/syncline/syncline/internal/source/mysqlvalue"
	"github.com/syncline/syncline/schema"
)

// Errors for source settings capture cannot work with.
var (
	ErrBinlogOff      = errors.New("binary log is off")
	ErrNotRowFormat   = errors.New("binlog_format is not ROW")
	ErrNotFullImage   = errors.New("binlog_row_image is not FULL")
	ErrNoRowMetadata  = errors.New("binlog_row_metadata is not FULL")
	ErrNoTablesFound  = errors.New("no table matches the selection")
	errUnknownVersion = errors.New("cannot read the source version")
)

type sourceInfoRow struct {
	flavor   string
	version  string
	serverID uint32
}

// checkSource refuses a source whose binlog capture cannot read exactly,
// before anything is written.
func checkSource(conn *client.Conn) (sourceInfoRow, error) {
	res, err := conn.Execute("SELECT VERSION(), @@server_id, @@log_bin, @@binlog_format, @@binlog_row_image")
	if err != nil {
		return sourceInfoRow{}, fmt.Errorf("read source settings: %w", err)
	}
	if res.RowNumber() != 1 {
		return sourceInfoRow{}, errUnknownVersion
	}
	ver, _ := res.GetString(0, 0)
	sid, _ := res.GetUint(0, 1)
	logBin, _ := res.GetInt(0, 2)
	format, _ := res.GetString(0, 3)
	image, _ := res.GetString(0, 4)
	info := sourceInfoRow{flavor: mysql.MySQLFlavor, version: ver, serverID: uint32(sid)}
	if strings.Contains(strings.ToLower(ver), "mariadb") {
		info.flavor = mysql.MariaDBFlavor
	}
	switch {
	case logBin != 1:
		return info, fmt.Errorf("%w on the source: start it with log_bin and binlog_format=ROW", ErrBinlogOff)
	case !strings.EqualFold(format, "ROW"):
		return info, fmt.Errorf("%w on the source (it is %s): set binlog_format=ROW in the server config and restart (SET GLOBAL binlog_format=ROW affects new sessions only)", ErrNotRowFormat, format)
	case !strings.EqualFold(image, "FULL"):
		return info, fmt.Errorf("%w on the source (it is %s): set binlog_row_image=FULL", ErrNotFullImage, image)
	}
	res, err = conn.Execute("SELECT @@binlog_row_metadata")
	if err != nil {
		return info, fmt.Errorf("%w: the source has no binlog_row_metadata setting (MySQL 8.0.1+ or MariaDB 10.5+ is needed to decode rows across DDL)", ErrNoRowMetadata)
	}
	meta, _ := res.GetString(0, 0)
	if !strings.EqualFold(meta, "FULL") {
		return info, fmt.Errorf("%w on the source (it is %s): set binlog_row_metadata=FULL so row events carry column names", ErrNoRowMetadata, meta)
	}
	return info, nil
}

// tableRef is a selected table.
type tableRef struct{ db, name string }

// listTables returns the base tables the selection matches, by "db.table".
func listTables(ctx context.Context, conn *client.Conn, sel Selection) (map[string]tableRef, error) {
	res, err := conn.Execute(`SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES
		WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')`)
	if err != nil {
		return nil, fmt.Errorf("list source tables: %w", err)
	}
	out := map[string]tableRef{}
	for i := range res.RowNumber() {
		db, _ := res.GetString(i, 0)
		t, _ := res.GetString(i, 1)
		if sel.Match(db, t) {
			out[db+"."+t] = tableRef{db, t}
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w %s on the source: check --tables, and that the capture user has SELECT on the tables", ErrNoTablesFound, sel)
	}
	return out, nil
}

// checkTables refuses tables capture cannot carry (CheckTable), with all
// their errors. It returns the definitions it read, by the names of tables,
// for checkRules.
func checkTables(ctx context.Context, conn *client.Conn, tables map[string]tableRef) (map[string]schema.Table, error) {
	defs := make(map[string]schema.Table, len(tables))
	var errs []error
	for n, t := range tables {
		def, err := CheckTable(ctx, conn, t.db, t.name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		defs[n] = def
	}
	return defs, errors.Join(errs...)
}

// CheckTable reads the definition of db.table as capture does and refuses
// a table capture cannot carry: without a primary key or NOT NULL unique
// key (the error wraps schema.ErrNoKey), or with a column type it does not
// support (schema.ErrUnsupportedType); each error names the table and the
// fix. The definition is valid when the error is nil or wraps
// schema.ErrNoKey. Other errors are mysqlvalue.LoadTable's. It is the one check
// of a capturable table, of capture and of precheck.
func CheckTable(ctx context.Context, conn *client.Conn, db, table string) (schema.Table, error) {
	def, err := mysqlvalue.LoadTable(ctx, conn, db, table)
	switch {
	case err == nil:
	case errors.Is(err, schema.ErrNoKey):
		err = badTable{fmt.Errorf("%w: %s.%s has no primary key or NOT NULL unique key: add one, or leave it out with --exclude-tables", errBadTable, db, table), err}
	case errors.Is(err, schema.ErrUnsupportedType):
		err = badTable{fmt.Errorf("table %s.%s: %w; leave it out with --exclude-tables", db, table, err), err}
	}
	return def, err
}

// badTable is a table's refusal; it also wraps the cause mysqlvalue.LoadTable
// returned, but its text is the refusal's.
type badTable struct{ refusal, cause error }

func (e badTable) Error() string   { return e.refusal.Error() }
func (e badTable) Unwrap() []error { return []error{e.refusal, e.cause} }

// Cause returns mysqlvalue.LoadTable's error, without the fix, for reports
// that put the fix apart.
func (e badTable) Cause() error { return e.cause }

// masterPosition returns the source's current binlog position.
func masterPosition(conn *client.Conn) (position, error) {
	res, err := conn.Execute("SHOW MASTER STATUS")
	if err != nil {
		return position{}, fmt.Errorf("read binlog position (needs REPLICATION CLIENT / BINLOG MONITOR): %w", err)
	}
	if res.RowNumber() == 0 {
		return position{}, fmt.Errorf("%w: SHOW MASTER STATUS is empty", ErrBinlogOff)
	}
	f, _ := res.GetString(0, 0)
	p, _ := res.GetUint(0, 1)
	return position{f, uint32(p)}, nil
}

// positionExists reports whether the source still has the binlog file of p.
func positionExists(ctx context.Context, conn *client.Conn, p position) bool {
	res, err := conn.Execute("SHOW BINARY LOGS")
	if err != nil || ctx.Err() != nil {
		return true // let the stream say what is wrong
	}
	for i := range res.RowNumber() {
		if f, _ := res.GetString(i, 0); f == p.File {
			return true
		}
	}
	return false
}

// gtidString renders the GTIDs seen so far, one per domain.
func (r *run) gtidString() string {
	if len(r.gtidSet) == 0 {
		return ""
	}
	parts := make([]string, 0, len(r.gtidSet))
	for _, g := range r.gtidSet {
		parts = append(parts, g)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}
