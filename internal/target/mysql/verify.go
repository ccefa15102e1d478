package mysql

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
	"github.com/syncline/syncline/internal/target/verifyread"
	"github.com/syncline/syncline/schema"
)

// Reader is syncline verify's reader of a MySQL or MariaDB target
// (verifyread.Reader). Apply keeps the source's types there
// (docs/targets.md), so rows are read with the select list and conversion
// of the source (mysqlvalue.TextValues) and need no mapping back; the
// character set is utf8mb4 whatever the source's, which the UTF-8 values
// do not show.
type Reader struct {
	ep      endpoint.Endpoint
	timeout time.Duration
	conn    *client.Conn
}

// NewReader returns the reader of the target ep; timeout bounds its
// connection. It does no I/O.
func NewReader(ep endpoint.Endpoint, timeout time.Duration) *Reader {
	return &Reader{ep: ep, timeout: timeout}
}

var _ verifyread.Reader = (*Reader)(nil)

func (m *Reader) connect(ctx context.Context) error {
	if m.conn != nil {
		return nil
	}
	conn, err := endpoint.DialMySQL(ctx, m.ep, m.timeout)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	if _, err := Exec(ctx, conn, "SET SESSION time_zone = '+00:00'"); err != nil {
		_ = conn.Close()
		return fmt.Errorf("target %s: set time zone: %w", m.ep.Redacted(), err)
	}
	m.conn = conn
	return nil
}

func (m *Reader) fail(err error) error {
	if err != nil && !IsServerError(err) && m.conn != nil {
		_ = m.conn.Close()
		m.conn = nil
	}
	return err
}

// NormalizesJSON is false: MySQL keeps JSON as the source's text.
func (m *Reader) NormalizesJSON() bool { return false }

// Close closes the reader's connection.
func (m *Reader) Close() {
	if m.conn != nil {
		_ = m.conn.Close()
		m.conn = nil
	}
}

// Open checks that vt's table and compared columns exist in the target.
func (m *Reader) Open(ctx context.Context, vt *verifyread.Table) (verifyread.TableReader, error) {
	if err := m.connect(ctx); err != nil {
		return nil, err
	}
	t, err := mysqlvalue.LoadTable(ctx, m.conn, vt.Database, vt.Name)
	switch {
	case errors.Is(err, schema.ErrNoTable):
		return nil, fmt.Errorf("%s: %w", vt.TargetName(), verifyread.ErrMissingTable)
	case err != nil && !errors.Is(err, schema.ErrNoKey):
		return nil, m.fail(fmt.Errorf("target: %w", err))
	}
	mt := &readerTable{db: m, vt: vt, t: schema.Table{Database: vt.Database, Name: vt.Name}, checksums: !vt.Filtered}
	for _, c := range vt.Columns {
		tc, _, ok := t.Column(c.Target)
		if !ok {
			return nil, fmt.Errorf("column %s of %s is not in the target (the mapping of %s gives it)", c.Target, vt.TargetName(), vt.Source)
		}
		if tc.Type.Kind != c.Source.Type.Kind && !(tc.Type.Kind.IsString() && c.Source.Type.Kind.IsString()) {
			return nil, vt.BadColumn(c, tc.Type.String())
		}
		if !sameStorage(tc.Type, c.Source.Type) {
			mt.checksums = false
		}
		mt.t.Columns = append(mt.t.Columns, tc)
	}
	for _, c := range vt.Key {
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

// readerTable reads one MySQL/MariaDB target table.
type readerTable struct {
	db *Reader
	vt *verifyread.Table
	// t holds the compared columns under their target names and types.
	t schema.Table
	// checksums: the server can checksum chunks comparably with the
	// source (same types, integer key, no row filter).
	checksums bool
}

func (mt *readerTable) from() string {
	return " FROM " + schema.QuoteIdent(mt.t.Database) + "." + schema.QuoteIdent(mt.t.Name)
}

func (mt *readerTable) keyColumns() []schema.Column {
	out := make([]schema.Column, len(mt.vt.Key))
	for i, c := range mt.vt.Key {
		out[i] = mt.t.Columns[c]
	}
	return out
}

func (mt *readerTable) Rows(ctx context.Context, lo, hi []any, fn func([]any) error) error {
	keyCols := mt.keyColumns()
	exprs := KeyExprs(mt.t.Key, keyCols)
	cond, args, err := RangeCond(exprs, keyCols, lo, hi)
	if err != nil {
		return fmt.Errorf("target %s: %w", mt.vt.TargetName(), err)
	}
	q := "SELECT " + mt.t.SelectList() + mt.from()
	if cond != "" {
		q += " WHERE " + cond
	}
	return mt.stream(ctx, q+" ORDER BY "+strings.Join(exprs, ", "), args, fn)
}

func (mt *readerTable) RowsByKeys(ctx context.Context, keys [][]any, fn func([]any) error) error {
	if len(keys) == 0 {
		return nil
	}
	cond, args, err := InCond(mt.t.Key, mt.keyColumns(), keys)
	if err != nil {
		return fmt.Errorf("target %s: %w", mt.vt.TargetName(), err)
	}
	return mt.stream(ctx, "SELECT "+mt.t.SelectList()+mt.from()+" WHERE "+cond, args, fn)
}

func (mt *readerTable) stream(ctx context.Context, q string, args []any, fn func([]any) error) error {
	if err := mt.db.connect(ctx); err != nil {
		return err
	}
	err := Select(ctx, mt.db.conn, q, args, func(fields []mysql.FieldValue) error {
		vals, err := mysqlvalue.TextValues(mt.t, fields)
		if err != nil {
			return err
		}
		return fn(vals)
	})
	if err != nil {
		return mt.db.fail(fmt.Errorf("target: read %s: %w", mt.vt.TargetName(), err))
	}
	return nil
}

func (mt *readerTable) Keys(ctx context.Context, after []any, n int) ([][]any, []any, error) {
	if err := mt.db.connect(ctx); err != nil {
		return nil, nil, err
	}
	keyCols := mt.keyColumns()
	exprs := KeyExprs(mt.t.Key, keyCols)
	cond, args, err := RangeCond(exprs, keyCols, after, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("target %s: %w", mt.vt.TargetName(), err)
	}
	keyTable := schema.Table{Columns: keyCols}
	q := "SELECT " + keyTable.SelectList() + mt.from()
	if cond != "" {
		q += " WHERE " + cond
	}
	q += " ORDER BY " + strings.Join(exprs, ", ") + " LIMIT " + strconv.Itoa(n)
	var out [][]any
	err = Select(ctx, mt.db.conn, q, args, func(fields []mysql.FieldValue) error {
		vals, err := mysqlvalue.TextValues(keyTable, fields)
		if err != nil {
			return err
		}
		out = append(out, vals)
		return nil
	})
	if err != nil {
		return nil, nil, mt.db.fail(fmt.Errorf("target: read keys of %s: %w", mt.vt.TargetName(), err))
	}
	return out, verifyread.NextAfter(out, n), nil
}

func (mt *readerTable) CanChecksum() bool { return mt.checksums }

func (mt *readerTable) Checksum(ctx context.Context, lo, hi []any) (verifyread.Sum, error) {
	if err := mt.db.connect(ctx); err != nil {
		return verifyread.Sum{}, err
	}
	keyCols := mt.keyColumns()
	cond, args, err := RangeCond(KeyExprs(mt.t.Key, keyCols), keyCols, lo, hi)
	if err != nil {
		return verifyread.Sum{}, fmt.Errorf("target %s: %w", mt.vt.TargetName(), err)
	}
	names := make([]string, len(mt.t.Columns))
	types := make([]schema.Type, len(mt.t.Columns))
	for i, c := range mt.t.Columns {
		names[i], types[i] = c.Name, c.Type
	}
	sum, err := Checksum(ctx, mt.db.conn, ChecksumSQL(mt.t.Database, mt.t.Name, names, types, cond), args)
	if err != nil {
		return sum, mt.db.fail(fmt.Errorf("target: checksum of %s: %w", mt.vt.TargetName(), err))
	}
	return sum, nil
}
