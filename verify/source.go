package verify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/internal/source/mysqlvalue"
	mysqlsql "github.com/syncline/syncline/internal/target/mysql"
	"github.com/syncline/syncline/internal/target/verifyread"
	"github.com/syncline/syncline/schema"
)

// source reads the MySQL or MariaDB source over one connection, each chunk
// in a consistent snapshot of its own (START TRANSACTION WITH CONSISTENT
// SNAPSHOT, READ ONLY): no table lock, no FLUSH TABLES WITH READ LOCK.
type source struct {
	ep      endpoint.Endpoint
	timeout time.Duration
	log     *slog.Logger
	limit   *limiter

	conn    *client.Conn
	mariadb bool
	warned  bool // the snapshot position could not be read (logged once)
}

// snapshot is an open consistent snapshot and the ordering version of its
// binlog position (known is false when the source cannot tell it).
type snapshot struct {
	version int64
	known   bool
}

// connect opens the connection if there is none.
func (s *source) connect(ctx context.Context) error {
	if s.conn != nil {
		return nil
	}
	conn, err := endpoint.DialMySQL(ctx, s.ep, s.timeout)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	for _, q := range []string{
		"SET SESSION time_zone = '+00:00'",
		"SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
	} {
		if _, err := mysqlsql.Exec(ctx, conn, q); err != nil {
			_ = conn.Close()
			return fmt.Errorf("source %s: %s: %w", s.ep.Redacted(), q, err)
		}
	}
	res, err := mysqlsql.Exec(ctx, conn, "SELECT VERSION()")
	if err != nil {
		_ = conn.Close()
		return fmt.Errorf("source %s: read version: %w", s.ep.Redacted(), err)
	}
	v, _ := res.GetString(0, 0)
	s.mariadb = strings.Contains(strings.ToLower(v), "mariadb")
	s.conn = conn
	return nil
}

// fail closes the connection after an error that may have left it
// unusable, and returns err.
func (s *source) fail(err error) error {
	if err != nil && !mysqlsql.IsServerError(err) && s.conn != nil {
		_ = s.conn.Close()
		s.conn = nil
	}
	return err
}

func (s *source) close() {
	if s.conn != nil {
		_ = s.conn.Close()
		s.conn = nil
	}
}

// tables lists the base tables f selects, in name order.
func (s *source) tables(ctx context.Context, f Selection) ([][2]string, error) {
	if err := s.connect(ctx); err != nil {
		return nil, err
	}
	res, err := mysqlsql.Exec(ctx, s.conn, "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_SCHEMA, TABLE_NAME")
	if err != nil {
		return nil, s.fail(fmt.Errorf("source: list tables: %w", err))
	}
	var out [][2]string
	for i := range res.RowNumber() {
		db, _ := res.GetString(i, 0)
		t, _ := res.GetString(i, 1)
		if f.Match(db, t) {
			out = append(out, [2]string{strings.Clone(db), strings.Clone(t)})
		}
	}
	return out, nil
}

// load reads a table's shape.
func (s *source) load(ctx context.Context, db, table string) (schema.Table, error) {
	if err := s.connect(ctx); err != nil {
		return schema.Table{}, err
	}
	t, err := mysqlvalue.LoadTable(ctx, s.conn, db, table)
	if err != nil {
		return schema.Table{}, s.fail(fmt.Errorf("source: %w", err))
	}
	return t, nil
}

// begin opens a consistent snapshot. On MariaDB its binlog position is
// exact (binlog_snapshot_file/position); on MySQL the position is read just
// before the snapshot starts, so it is at or before the snapshot's (safe
// for repairs: a repaired row then loses to everything the snapshot does
// not contain).
func (s *source) begin(ctx context.Context) (snapshot, error) {
	if err := s.connect(ctx); err != nil {
		return snapshot{}, err
	}
	var file string
	var pos uint64
	var posErr error
	if !s.mariadb {
		file, pos, posErr = s.masterStatus(ctx)
		if s.conn == nil {
			return snapshot{}, fmt.Errorf("source: read the binlog position: %w", posErr)
		}
	}
	if _, err := mysqlsql.Exec(ctx, s.conn, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"); err != nil {
		return snapshot{}, s.fail(fmt.Errorf("source: start consistent snapshot: %w", err))
	}
	if s.mariadb {
		res, err := mysqlsql.Exec(ctx, s.conn, "SHOW STATUS LIKE 'binlog_snapshot_%'")
		if err != nil {
			s.end(ctx)
			return snapshot{}, s.fail(fmt.Errorf("source: read snapshot position: %w", err))
		}
		for i := range res.RowNumber() {
			name, _ := res.GetString(i, 0)
			val, _ := res.GetString(i, 1)
			switch strings.ToLower(name) {
			case "binlog_snapshot_file":
				file = val
			case "binlog_snapshot_position":
				pos, posErr = strconv.ParseUint(val, 10, 64)
			}
		}
		if file == "" && posErr == nil {
			posErr = errors.New("the source reports no binlog_snapshot_file (is log_bin on?)")
		}
	}
	var snap snapshot
	if posErr == nil {
		snap.version, posErr = binlogVersion(file, pos)
		snap.known = posErr == nil
	}
	if posErr != nil && !s.warned {
		s.warned = true
		s.log.Warn("the source's binlog position is unknown; --repair cannot version its writes", "error", posErr)
	}
	return snap, nil
}

// masterStatus reads the binlog position of MySQL (SHOW MASTER STATUS,
// SHOW BINARY LOG STATUS from 8.4).
func (s *source) masterStatus(ctx context.Context) (string, uint64, error) {
	var lastErr error
	for _, q := range []string{"SHOW BINARY LOG STATUS", "SHOW MASTER STATUS"} {
		res, err := mysqlsql.Exec(ctx, s.conn, q)
		if err != nil {
			lastErr = err
			if !mysqlsql.IsServerError(err) {
				return "", 0, s.fail(err)
			}
			continue
		}
		if res.RowNumber() == 0 {
			return "", 0, errors.New("the source reports no binlog position (is log_bin on?)")
		}
		file, _ := res.GetString(0, 0)
		pos, _ := res.GetUint(0, 1)
		return file, pos, nil
	}
	return "", 0, fmt.Errorf("read the binlog position (grant REPLICATION CLIENT): %w", lastErr)
}

// end closes the snapshot.
func (s *source) end(ctx context.Context) {
	if s.conn == nil {
		return
	}
	if _, err := mysqlsql.Exec(ctx, s.conn, "ROLLBACK"); err != nil {
		_ = s.fail(err)
	}
}

// inSnapshot checks that the connection holding the snapshot is still
// open: reads run only inside the snapshot begin opened.
func (s *source) inSnapshot() error {
	if s.conn == nil {
		return errors.New("source: the connection holding the snapshot was lost")
	}
	return nil
}

// sourceFrom returns "FROM `db`.`table`" of the plan's source table.
func (p *plan) sourceFrom() string {
	return " FROM " + schema.QuoteIdent(p.src.Database) + "." + schema.QuoteIdent(p.src.Name)
}

// rows streams whole source rows (TextValues) in key order: those with
// lo < key <= hi (nil bounds are open), at most limit of them (0 is no
// limit). It runs in the open snapshot.
func (s *source) rows(ctx context.Context, p *plan, lo, hi []any, limit int, fn func(vals []any) error) error {
	keyCols := p.keyColumns()
	exprs := mysqlsql.KeyExprs(p.src.Key, keyCols)
	cond, args, err := mysqlsql.RangeCond(exprs, keyCols, lo, hi)
	if err != nil {
		return fmt.Errorf("source %s: %w", p.name(), err)
	}
	q := "SELECT " + p.src.SelectList() + p.sourceFrom()
	if cond != "" {
		q += " WHERE " + cond
	}
	q += " ORDER BY " + strings.Join(exprs, ", ")
	if limit > 0 {
		q += " LIMIT " + strconv.Itoa(limit)
	}
	return s.stream(ctx, p, q, args, fn)
}

// rowsByKeys streams the source rows of the given keys, in the open
// snapshot.
func (s *source) rowsByKeys(ctx context.Context, p *plan, keys [][]any, fn func(vals []any) error) error {
	if len(keys) == 0 {
		return nil
	}
	cond, args, err := mysqlsql.InCond(p.src.Key, p.keyColumns(), keys)
	if err != nil {
		return fmt.Errorf("source %s: %w", p.name(), err)
	}
	return s.stream(ctx, p, "SELECT "+p.src.SelectList()+p.sourceFrom()+" WHERE "+cond, args, fn)
}

func (s *source) stream(ctx context.Context, p *plan, q string, args []any, fn func(vals []any) error) error {
	if err := s.inSnapshot(); err != nil {
		return err
	}
	n := 0
	err := mysqlsql.Select(ctx, s.conn, q, args, func(row []mysql.FieldValue) error {
		vals, err := mysqlvalue.TextValues(p.src, row)
		if err != nil {
			return err
		}
		n++
		return fn(vals)
	})
	if err != nil {
		return s.fail(fmt.Errorf("source: read %s: %w", p.name(), err))
	}
	return s.limit.wait(ctx, n)
}

// bound returns the key of the n-th row after lo in key order, or nil when
// fewer rows follow lo. It runs in the open snapshot.
func (s *source) bound(ctx context.Context, p *plan, lo []any, n int) ([]any, error) {
	keyCols := p.keyColumns()
	exprs := mysqlsql.KeyExprs(p.src.Key, keyCols)
	cond, args, err := mysqlsql.RangeCond(exprs, keyCols, lo, nil)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", p.name(), err)
	}
	keyTable := schema.Table{Columns: keyCols}
	q := "SELECT " + keyTable.SelectList() + p.sourceFrom()
	if cond != "" {
		q += " WHERE " + cond
	}
	q += " ORDER BY " + strings.Join(exprs, ", ") + " LIMIT 1 OFFSET " + strconv.Itoa(n-1)
	if err := s.inSnapshot(); err != nil {
		return nil, err
	}
	var hi []any
	err = mysqlsql.Select(ctx, s.conn, q, args, func(row []mysql.FieldValue) error {
		var err error
		hi, err = mysqlvalue.TextValues(keyTable, row)
		return err
	})
	if err != nil {
		return nil, s.fail(fmt.Errorf("source: chunk bound of %s: %w", p.name(), err))
	}
	return hi, nil
}

// checksum computes the checksum of the rows lo < key <= hi of the
// compared columns on the server, in the open snapshot.
func (s *source) checksum(ctx context.Context, p *plan, lo, hi []any) (verifyread.Sum, error) {
	keyCols := p.keyColumns()
	cond, args, err := mysqlsql.RangeCond(mysqlsql.KeyExprs(p.src.Key, keyCols), keyCols, lo, hi)
	if err != nil {
		return verifyread.Sum{}, fmt.Errorf("source %s: %w", p.name(), err)
	}
	names := make([]string, len(p.cols))
	types := make([]schema.Type, len(p.cols))
	for i, c := range p.cols {
		names[i], types[i] = c.src.Name, c.src.Type
	}
	if err := s.inSnapshot(); err != nil {
		return verifyread.Sum{}, err
	}
	sum, err := mysqlsql.Checksum(ctx, s.conn, mysqlsql.ChecksumSQL(p.src.Database, p.src.Name, names, types, cond), args)
	if err != nil {
		return sum, s.fail(fmt.Errorf("source: checksum of %s: %w", p.name(), err))
	}
	return sum, s.limit.wait(ctx, int(sum.Rows))
}
