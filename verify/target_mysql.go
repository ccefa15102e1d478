package verify

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/internal/source/mysqlvalue"
	"github.com/syncline/syncline/schema"
)

// mysqlTarget reads a MySQL or MariaDB target. Apply keeps the source's
// types there (docs/targets.md), so rows are read with the select list and
// conversion of the source (mysqlvalue.TextValues) and need no mapping
// back; the character set is utf8mb4 whatever the source's, which the
// UTF-8 values do not show.
type mysqlTarget struct {
	ep      endpoint.Endpoint
	timeout time.Duration
	conn    *client.Conn
}

func (m *mysqlTarget) connect(ctx context.Context) error {
	if m.conn != nil {
		return nil
	}
	conn, err := endpoint.DialMySQL(ctx, m.ep, m.timeout)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	if _, err := mysqlExec(ctx, conn, "SET SESSION time_zone = '+00:00'"); err != nil {
		_ = conn.Close()
		return fmt.Errorf("target %s: set time zone: %w", m.ep.Redacted(), err)
	}
	m.conn = conn
	return nil
}

func (m *mysqlTarget) fail(err error) error {
	if err != nil && !isServerError(err) && m.conn != nil {
		_ = m.conn.Close()
		m.conn = nil
	}
	return err
}

func (m *mysqlTarget) close() {
	if m.conn != nil {
		_ = m.conn.Close()
		m.conn = nil
	}
}

func (m *mysqlTarget) open(ctx context.Context, p *plan) (targetTable, error) {
	if err := m.connect(ctx); err != nil {
		return nil, err
	}
	t, err := mysqlvalue.LoadTable(ctx, m.conn, p.tdb, p.tname)
	switch {
	case errors.Is(err, schema.ErrNoTable):
		return nil, fmt.Errorf("%s: %w", p.targetName(), errMissingTable)
	case err != nil && !errors.Is(err, schema.ErrNoKey):
		return nil, m.fail(fmt.Errorf("target: %w", err))
	}
	mt := &mysqlTable{db: m, p: p, t: schema.Table{Database: p.tdb, Name: p.tname}, checksums: p.m.Filter == nil}
	for _, c := range p.cols {
		tc, _, ok := t.Column(c.target)
		if !ok {
			return nil, fmt.Errorf("column %s of %s is not in the target (the mapping of %s gives it)", c.target, p.targetName(), p.name())
		}
		if tc.Type.Kind != c.src.Type.Kind && !(tc.Type.Kind.IsString() && c.src.Type.Kind.IsString()) {
			return nil, badColumn(p, c, tc.Type.String())
		}
		if !sameStorage(tc.Type, c.src.Type) {
			mt.checksums = false
		}
		mt.t.Columns = append(mt.t.Columns, tc)
	}
	for _, c := range p.keyCol {
		mt.t.Key = append(mt.t.Key, mt.t.Columns[c].Name)
		if !mt.t.Columns[c].Type.Kind.IsInteger() {
			// Other keys may sort differently (collations), and the two
			// checksums would cover different rows.
			mt.checksums = false
		}
	}
	return mt, nil
}

// sameStorage reports whether two column types store the same text for
// the same values: the same type, whatever the character set.
func sameStorage(a, b schema.Type) bool {
	a.Charset, b.Charset = "", ""
	return a.Equal(b)
}

// mysqlTable reads one MySQL/MariaDB target table.
type mysqlTable struct {
	db *mysqlTarget
	p  *plan
	// t holds the compared columns under their target names and types.
	t schema.Table
	// checksums: the server can checksum chunks comparably with the
	// source (same types, integer key, no row filter).
	checksums bool
}

func (mt *mysqlTable) from() string {
	return " FROM " + schema.QuoteIdent(mt.t.Database) + "." + schema.QuoteIdent(mt.t.Name)
}

func (mt *mysqlTable) keyColumns() []schema.Column {
	out := make([]schema.Column, len(mt.p.keyCol))
	for i, c := range mt.p.keyCol {
		out[i] = mt.t.Columns[c]
	}
	return out
}

func (mt *mysqlTable) rows(ctx context.Context, lo, hi []any, fn func(row) error) error {
	keyCols := mt.keyColumns()
	exprs := mysqlKeyExprs(mt.t.Key, keyCols)
	cond, args, err := mysqlRange(exprs, keyCols, lo, hi)
	if err != nil {
		return fmt.Errorf("target %s: %w", mt.p.targetName(), err)
	}
	q := "SELECT " + mt.t.SelectList() + mt.from()
	if cond != "" {
		q += " WHERE " + cond
	}
	return mt.stream(ctx, q+" ORDER BY "+strings.Join(exprs, ", "), args, fn)
}

func (mt *mysqlTable) rowsByKeys(ctx context.Context, keys [][]any, fn func(row) error) error {
	if len(keys) == 0 {
		return nil
	}
	cond, args, err := mysqlIn(mt.t.Key, mt.keyColumns(), keys)
	if err != nil {
		return fmt.Errorf("target %s: %w", mt.p.targetName(), err)
	}
	return mt.stream(ctx, "SELECT "+mt.t.SelectList()+mt.from()+" WHERE "+cond, args, fn)
}

func (mt *mysqlTable) stream(ctx context.Context, q string, args []any, fn func(row) error) error {
	if err := mt.db.connect(ctx); err != nil {
		return err
	}
	err := mysqlSelect(ctx, mt.db.conn, q, args, func(fields []mysql.FieldValue) error {
		vals, err := mysqlvalue.TextValues(mt.t, fields)
		if err != nil {
			return err
		}
		r, err := mt.p.targetRow(vals)
		if err != nil {
			return err
		}
		return fn(r)
	})
	if err != nil {
		return mt.db.fail(fmt.Errorf("target: read %s: %w", mt.p.targetName(), err))
	}
	return nil
}

func (mt *mysqlTable) keys(ctx context.Context, after []any, n int) ([][]any, []any, error) {
	if err := mt.db.connect(ctx); err != nil {
		return nil, nil, err
	}
	keyCols := mt.keyColumns()
	exprs := mysqlKeyExprs(mt.t.Key, keyCols)
	cond, args, err := mysqlRange(exprs, keyCols, after, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("target %s: %w", mt.p.targetName(), err)
	}
	keyTable := schema.Table{Columns: keyCols}
	q := "SELECT " + keyTable.SelectList() + mt.from()
	if cond != "" {
		q += " WHERE " + cond
	}
	q += " ORDER BY " + strings.Join(exprs, ", ") + " LIMIT " + strconv.Itoa(n)
	var out [][]any
	err = mysqlSelect(ctx, mt.db.conn, q, args, func(fields []mysql.FieldValue) error {
		vals, err := mysqlvalue.TextValues(keyTable, fields)
		if err != nil {
			return err
		}
		out = append(out, vals)
		return nil
	})
	if err != nil {
		return nil, nil, mt.db.fail(fmt.Errorf("target: read keys of %s: %w", mt.p.targetName(), err))
	}
	return out, nextAfter(out, n), nil
}

func (mt *mysqlTable) canChecksum() bool { return mt.checksums }

func (mt *mysqlTable) checksum(ctx context.Context, lo, hi []any) (mysqlSum, error) {
	if err := mt.db.connect(ctx); err != nil {
		return mysqlSum{}, err
	}
	keyCols := mt.keyColumns()
	cond, args, err := mysqlRange(mysqlKeyExprs(mt.t.Key, keyCols), keyCols, lo, hi)
	if err != nil {
		return mysqlSum{}, fmt.Errorf("target %s: %w", mt.p.targetName(), err)
	}
	names := make([]string, len(mt.t.Columns))
	types := make([]schema.Type, len(mt.t.Columns))
	for i, c := range mt.t.Columns {
		names[i], types[i] = c.Name, c.Type
	}
	sum, err := mysqlChecksum(ctx, mt.db.conn, mysqlChecksumSQL(mt.t.Database, mt.t.Name, names, types, cond), args)
	if err != nil {
		return sum, mt.db.fail(fmt.Errorf("target: checksum of %s: %w", mt.p.targetName(), err))
	}
	return sum, nil
}
