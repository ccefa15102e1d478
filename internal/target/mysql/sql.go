package mysql

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/schema"
)

// Statement limits: the protocol allows 65535 placeholders per statement;
// rows per statement are capped for the server's sake.
const (
	maxPlaceholders = 65535
	maxRowsPerStmt  = 1024
	maxDeletesPer   = 256
)

// quote quotes an identifier with backticks, doubling backticks.
func quote(name string) string { return schema.QuoteIdent(name) }

// qualified returns `db`.`table`.
func qualified(db, table string) string { return quote(db) + "." + quote(table) }

// statement is one SQL statement with its arguments.
type statement struct {
	sql  string
	args []any
}

// Write applies a batch in one transaction: the deletes, then the upserts,
// in statements of at most 65535 placeholders and half the server's
// max_allowed_packet.
func (s *Sink) Write(ctx context.Context, t schema.Table, changes []apply.Change) error {
	name := t.Database + "." + t.Name
	if len(t.Key) == 0 {
		return fmt.Errorf("write %s: %w: the table has no key", name, errBadValue)
	}
	keyCols := make([]schema.Column, len(t.Key))
	for i, k := range t.Key {
		c, _, ok := t.Column(k)
		if !ok {
			return fmt.Errorf("write %s: key column %s is not a column", name, k)
		}
		keyCols[i] = c
	}
	// Converting first: a bad value fails before a connection is used.
	deletes, sets, err := apply.SplitBatch(t, keyCols, changes, func(c schema.Column, v any) (any, error) {
		return arg(v, c.Type)
	})
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	// MySQL's invalid ENUM value (the empty string, index 0) can only be
	// written outside strict mode.
	lenient := false
	sizes := make([][]int, len(sets))
	for i, rs := range sets {
		sizes[i] = make([]int, len(rs.Rows))
		for j, row := range rs.Rows {
			size := 8
			for k, c := range rs.Cols {
				v := row[k]
				if c.Type.Kind == schema.Enum && v == "" && !slices.Contains(c.Type.Elems, "") {
					lenient = true
				}
				size += argSize(v)
			}
			sizes[i][j] = size
		}
	}

	info := s.server()
	return s.withConn(ctx, func(c *conn) error {
		if info == nil {
			info = s.server()
		}
		budget := info.maxPacket/2 - 1024
		var stmts []statement
		for len(deletes) > 0 {
			n := min(len(deletes), maxDeletesPer)
			stmts = append(stmts, deleteStatement(t, keyCols, deletes[:n]))
			deletes = deletes[n:]
		}
		for i, rs := range sets {
			st, err := upsertStatements(t, rs, sizes[i], budget, info)
			if err != nil {
				return fmt.Errorf("write %s: %w", name, err)
			}
			stmts = append(stmts, st...)
		}
		if lenient {
			if _, err := c.query("SET SESSION sql_mode = '" + lenientSQLMode + "'"); err != nil {
				return fmt.Errorf("write %s: %w", name, err)
			}
			defer func() { _, _ = c.query("SET SESSION sql_mode = '" + sessionSQLMode + "'") }()
		}
		if err := c.c.Begin(); err != nil {
			return fmt.Errorf("write %s: begin: %w", name, err)
		}
		for _, st := range stmts {
			if _, err := c.exec(st.sql, st.args...); err != nil {
				_ = c.c.Rollback()
				return fmt.Errorf("write %s: %w", name, err)
			}
		}
		if err := c.c.Commit(); err != nil {
			return fmt.Errorf("write %s: commit: %w", name, err)
		}
		return nil
	})
}

// argSize estimates the bytes an argument takes in the protocol.
func argSize(v any) int {
	switch x := v.(type) {
	case string:
		return len(x) + 9
	case []byte:
		return len(x) + 9
	case mysql.TypedBytes:
		return len(x.Bytes) + 9
	}
	return 10
}

// deleteStatement deletes rows by key where the row is not newer than the
// delete: WHERE (k = ? AND v <= ?) OR ...
func deleteStatement(t schema.Table, keyCols []schema.Column, rows [][]any) statement {
	var b strings.Builder
	b.WriteString("DELETE FROM ")
	b.WriteString(qualified(t.Database, t.Name))
	b.WriteString(" WHERE ")
	args := make([]any, 0, len(rows)*(len(keyCols)+1))
	for i, r := range rows {
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteByte('(')
		for _, c := range keyCols {
			b.WriteString(quote(c.Name))
			b.WriteString(" = ")
			b.WriteString(placeholder(c.Type))
			b.WriteString(" AND ")
		}
		b.WriteString(quote(apply.VersionColumn))
		b.WriteString(" <= ?)")
		args = append(args, r...)
	}
	return statement{sql: b.String(), args: args}
}

// placeholder is a column's parameter marker: geometry values are sent as
// WKB.
func placeholder(t schema.Type) string {
	if t.Kind.IsGeometry() {
		return "ST_GeomFromWKB(?)"
	}
	return "?"
}

// upsertStatements splits a row set, whose rows are estimated at sizes
// bytes, into INSERT ... ON DUPLICATE KEY UPDATE
// statements. Row counts per statement are powers of two, so that a few
// prepared statements serve every batch size.
func upsertStatements(t schema.Table, rs apply.RowSet, sizes []int, budget int, info *serverInfo) ([]statement, error) {
	perRow := len(rs.Cols) + 1
	limit := min(maxRowsPerStmt, maxPlaceholders/perRow)
	var out []statement
	rows := rs.Rows
	for len(rows) > 0 {
		n := 1
		for n*2 <= min(len(rows), limit) {
			n *= 2
		}
		for n > 1 && sum(sizes[:n]) > budget {
			n /= 2
		}
		if sizes[0] > budget {
			return nil, fmt.Errorf("%w: a row of about %d bytes is larger than the target's max_allowed_packet allows (%d); raise max_allowed_packet on the target", errBadValue, sizes[0], info.maxPacket)
		}
		args := make([]any, 0, n*perRow)
		for _, r := range rows[:n] {
			args = append(args, r...)
		}
		out = append(out, statement{sql: upsertSQL(t, rs.Cols, n), args: args})
		rows, sizes = rows[n:], sizes[n:]
	}
	return out, nil
}

func sum(xs []int) int {
	s := 0
	for _, x := range xs {
		s += x
	}
	return s
}

// upsertSQL builds the upsert of n rows of cols. Every updated column is
// guarded by the version, and the version is assigned last, so each
// assignment compares with the row's old version.
func upsertSQL(t schema.Table, cols []schema.Column, n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO ")
	b.WriteString(qualified(t.Database, t.Name))
	b.WriteString(" (")
	for _, c := range cols {
		b.WriteString(quote(c.Name))
		b.WriteString(", ")
	}
	b.WriteString(quote(apply.VersionColumn))
	b.WriteString(") VALUES ")
	var row strings.Builder
	row.WriteByte('(')
	for _, c := range cols {
		row.WriteString(placeholder(c.Type))
		row.WriteString(", ")
	}
	row.WriteString("?)")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row.String())
	}
	v := quote(apply.VersionColumn)
	newer := "VALUES(" + v + ") >= " + v
	b.WriteString(" ON DUPLICATE KEY UPDATE ")
	isKey := make(map[string]bool, len(t.Key))
	for _, k := range t.Key {
		isKey[k] = true
	}
	for _, c := range cols {
		if isKey[c.Name] {
			continue
		}
		q := quote(c.Name)
		b.WriteString(q + " = IF(" + newer + ", VALUES(" + q + "), " + q + "), ")
	}
	b.WriteString(v + " = IF(" + newer + ", VALUES(" + v + "), " + v + ")")
	return b.String()
}
