package postgres

import (
	"strconv"
	"strings"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/schema"
)

// The statements that bind values row by row, for the columns and values
// Write cannot bind as arrays (write.go). Statement limits: PostgreSQL
// allows 65535 parameters per statement.
const (
	maxParams      = 65535
	maxRowsPerStmt = 1024
	maxDeletesPer  = 256
)

type statement struct {
	sql  string
	args []any
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
