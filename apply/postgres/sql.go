package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/schema"
)

// Statement limits: PostgreSQL allows 65535 parameters per statement.
const (
	maxParams      = 65535
	maxRowsPerStmt = 1024
	maxDeletesPer  = 256
)

type statement struct {
	sql  string
	args []any
}

// Write applies a batch in one transaction, sent as one pipeline: the
// deletes, then the upserts.
func (s *Sink) Write(ctx context.Context, t schema.Table, changes []apply.Change) error {
	name := t.Database + "." + t.Name
	if len(t.Key) == 0 {
		return fmt.Errorf("write %s: %w: the table has no key", name, errBadValue)
	}
	keyCols := make([]schema.Column, len(t.Key))
	for i, k := range t.Key {
		c, _, ok := t.Column(k)
		if !ok {
			return fmt.Errorf("write %s: %w: key column %s is not a column", name, errBadValue, k)
		}
		keyCols[i] = c
	}
	deletes, sets, err := apply.SplitBatch(t, keyCols, changes, func(c schema.Column, v any) (any, error) {
		return arg(v, s.typeOf(t.Database, t.Name, c))
	})
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	var stmts []statement
	for len(deletes) > 0 {
		n := min(len(deletes), maxDeletesPer)
		stmts = append(stmts, deleteStatement(t, keyCols, deletes[:n]))
		deletes = deletes[n:]
	}
	for _, rs := range sets {
		stmts = append(stmts, upsertStatements(t, rs)...)
	}
	if len(stmts) == 0 {
		return nil
	}
	return s.withConn(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			b := &pgx.Batch{}
			for _, st := range stmts {
				b.Queue(st.sql, st.args...)
			}
			if err := tx.SendBatch(ctx, b).Close(); err != nil {
				return fmt.Errorf("write %s: %w", name, err)
			}
			return nil
		})
	})
}

// deleteStatement deletes rows by key where the row is not newer than the
// delete.
func deleteStatement(t schema.Table, keyCols []schema.Column, rows [][]any) statement {
	var b strings.Builder
	b.WriteString("DELETE FROM ")
	b.WriteString(qualified(t.Database, t.Name))
	b.WriteString(" WHERE ")
	args := make([]any, 0, len(rows)*(len(keyCols)+1))
	n := 0
	for i, r := range rows {
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteByte('(')
		for _, c := range keyCols {
			n++
			b.WriteString(quote(c.Name) + " = $" + strconv.Itoa(n) + " AND ")
		}
		n++
		b.WriteString(quote(apply.VersionColumn) + " <= $" + strconv.Itoa(n) + ")")
		args = append(args, r...)
	}
	return statement{sql: b.String(), args: args}
}

// upsertStatements splits a row set into statements whose row counts are
// powers of two, so that a few prepared statements serve every batch.
func upsertStatements(t schema.Table, rs apply.RowSet) []statement {
	perRow := len(rs.Cols) + 1
	limit := min(maxRowsPerStmt, maxParams/perRow)
	var out []statement
	rows := rs.Rows
	for len(rows) > 0 {
		n := 1
		for n*2 <= min(len(rows), limit) {
			n *= 2
		}
		args := make([]any, 0, n*perRow)
		for _, r := range rows[:n] {
			args = append(args, r...)
		}
		out = append(out, statement{sql: upsertSQL(t, rs.Cols, n), args: args})
		rows = rows[n:]
	}
	return out
}

// upsertSQL builds INSERT ... ON CONFLICT (key) DO UPDATE ... WHERE the
// stored version is not newer.
func upsertSQL(t schema.Table, cols []schema.Column, n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO ")
	b.WriteString(qualified(t.Database, t.Name))
	b.WriteString(" AS t (")
	for _, c := range cols {
		b.WriteString(quote(c.Name) + ", ")
	}
	v := quote(apply.VersionColumn)
	b.WriteString(v + ") VALUES ")
	p := 0
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j := 0; j <= len(cols); j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			p++
			b.WriteString("$" + strconv.Itoa(p))
		}
		b.WriteByte(')')
	}
	b.WriteString(" ON CONFLICT (")
	for i, k := range t.Key {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(k))
	}
	b.WriteString(") DO UPDATE SET ")
	isKey := make(map[string]bool, len(t.Key))
	for _, k := range t.Key {
		isKey[k] = true
	}
	for _, c := range cols {
		if !isKey[c.Name] {
			q := quote(c.Name)
			b.WriteString(q + " = EXCLUDED." + q + ", ")
		}
	}
	b.WriteString(v + " = EXCLUDED." + v + " WHERE t." + v + " <= EXCLUDED." + v)
	return b.String()
}
