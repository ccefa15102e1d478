package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/schema"
)

// optimisticAfter is how many batches in a row written with COPY must find
// none of their keys in the table before the next one tries COPY without
// looking them up. A table taking inserts and updates in turns would
// otherwise fail every other COPY.
const optimisticAfter = 2

// maxArrayBytes bounds the values one array statement binds (an estimate:
// the bytes of text and binary values plus 16 a value); a batch holding more
// is split into several statements of the same transaction. PostgreSQL
// refuses a single value (an array) beyond 1 GB.
const maxArrayBytes = 32 << 20

// Write applies a batch in one transaction. Each column's values are bound
// as one array parameter (unnest), or sent with COPY:
//
//   - A batch of copyMinRows changes or more (writeCopy): the deletes, as
//     DELETE ... USING unnest(keys, versions) WHERE the row is not newer;
//     then COPY of the upserts whose keys the table does not hold (the
//     cheapest way into PostgreSQL, as fast as a plain COPY of the same
//     rows), and INSERT ... SELECT FROM unnest(columns) ON CONFLICT DO
//     UPDATE ... WHERE the stored version is not newer for the others.
//     Which keys the table holds is looked up first, unless the table's
//     last optimisticAfter such batches held none (or it has had none
//     yet): the COPY of every upsert is then tried first, and a unique
//     violation sends it back to the look-up. A row that another session
//     inserts between the look-up and the COPY fails the COPY with a
//     unique violation: the batch is then written again the other way.
//   - Otherwise one pipeline, which PostgreSQL runs as one implicit
//     transaction (one round trip): the same DELETE, then the INSERT ...
//     ON CONFLICT of every row, a statement per set of columns.
//
// Columns of types without a safe array binding, and values of another Go
// type than their column's (a type change skipped with --skip-ddl), go
// through statements that bind row by row (sql.go).
func (s *Sink) Write(ctx context.Context, t schema.Table, changes []apply.Change) error {
	name := t.Database + "." + t.Name
	if len(t.Key) == 0 {
		return fmt.Errorf("write %s: %w: the table has no key", name, errBadValue)
	}
	b, err := s.split(t, changes)
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if b.copyable() {
		key := t.Database + "\x00" + t.Name
		s.typesMu.Lock()
		clean, seen := s.clean[key]
		s.typesMu.Unlock()
		if !seen {
			clean = optimisticAfter
		}
		optimistic := clean >= optimisticAfter
		var held bool
		err = s.withConn(ctx, func(ctx context.Context, c *pgx.Conn) (err error) {
			held, err = b.writeCopy(ctx, c, optimistic)
			return err
		})
		var pe *pgconn.PgError
		switch {
		case err == nil:
			s.typesMu.Lock()
			if held {
				s.clean[key] = 0
			} else {
				s.clean[key] = min(clean+1, optimisticAfter)
			}
			s.typesMu.Unlock()
			return nil
		case errors.Is(err, errNoCopy):
			// A value COPY does not take: the statements write it, or
			// report it.
		case errors.As(err, &pe) && pe.Code == "23505" && ctx.Err() == nil:
			s.log.Info("a row appeared while a batch was copied; writing the batch again with ON CONFLICT for every row",
				"table", name, "error", pe.Message)
		case errors.Is(err, errTypesChanged):
			s.log.Info("a column's type changed since the table was prepared; writing the batch without COPY", "table", name, "error", err)
		default:
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	if err := b.convert(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	stmts := b.statements()
	if len(stmts) == 0 {
		return nil
	}
	if err := s.withConn(ctx, func(ctx context.Context, c *pgx.Conn) error { return run(ctx, c, stmts) }); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// run sends the statements as one pipeline, which PostgreSQL runs as one
// implicit transaction: committed when the pipeline's results are read
// without error, rolled back otherwise.
func run(ctx context.Context, c *pgx.Conn, stmts []statement) error {
	b := &pgx.Batch{}
	for _, st := range stmts {
		b.Queue(st.sql, st.args...)
	}
	return c.SendBatch(ctx, b).Close()
}

// column is a target column with what converting and binding its values
// needs.
type column struct {
	schema.Column
	pgType string // format_type in the target
	kind   Kind
	array  string // arrayType(pgType); "" when values are bound row by row
}

// columnsOf returns t's columns with their target types, as Prepare last
// read them (else the types apply creates).
func (s *Sink) columnsOf(t schema.Table) []column {
	s.typesMu.Lock()
	types := s.types[t.Database+"\x00"+t.Name]
	s.typesMu.Unlock()
	cols := make([]column, len(t.Columns))
	for i, c := range t.Columns {
		typ, ok := types[c.Name]
		if !ok {
			typ = columnType(c.Type)
		}
		cols[i] = column{Column: c, pgType: typ, kind: KindOf(typ), array: arrayType(typ)}
	}
	return cols
}

// values is rows of a set of columns, column by column: the values as the
// changes hold them, and once converted for pgx.
type values struct {
	cols     []column
	raw      [][]any // raw[i][r]: the change's value of cols[i] in row r
	versions []int64
	bytes    []int   // estimated bytes of each row's values
	vals     [][]any // vals[i][r]: raw[i][r] converted; nil until convert
	natural  bool    // every converted value has its column's natural Go type
}

// newValues returns empty values of cols, with room for n rows.
func newValues(cols []column, n int) *values {
	v := &values{cols: cols, raw: make([][]any, len(cols)), versions: make([]int64, 0, n), bytes: make([]int, 0, n)}
	for i := range v.raw {
		v.raw[i] = make([]any, 0, n)
	}
	return v
}

// add appends a row.
func (v *values) add(row []any, version int64) {
	size := 16
	for i, x := range row {
		v.raw[i] = append(v.raw[i], x)
		size += valueSize(x)
	}
	v.versions = append(v.versions, version)
	v.bytes = append(v.bytes, size)
}

// valueSize estimates the bytes a value takes in a statement.
func valueSize(v any) int {
	switch x := v.(type) {
	case string:
		return 16 + len(x)
	case []byte:
		return 16 + len(x)
	}
	return 16
}

// convert converts every value for pgx, once.
func (v *values) convert() error {
	if v.vals != nil {
		return nil
	}
	vals := make([][]any, len(v.cols))
	natural := true
	for i, c := range v.cols {
		vals[i] = make([]any, len(v.raw[i]))
		for r, x := range v.raw[i] {
			y, err := convert(x, c.kind, c.pgType)
			if err != nil {
				return fmt.Errorf("column %s: %w", c.Name, err)
			}
			natural = natural && isNatural(c.kind, y)
			vals[i][r] = y
		}
	}
	v.vals, v.natural = vals, natural
	return nil
}

// arrays reports whether every column has an array binding (whether the
// values have their natural types is known after convert).
func (v *values) arrays() bool {
	for _, c := range v.cols {
		if c.array == "" {
			return false
		}
	}
	return true
}

// subset returns the rows marked in keep, not converted.
func (v *values) subset(keep []bool) *values {
	out := newValues(v.cols, 0)
	for r, k := range keep {
		if !k {
			continue
		}
		for i := range v.raw {
			out.raw[i] = append(out.raw[i], v.raw[i][r])
		}
		out.versions = append(out.versions, v.versions[r])
		out.bytes = append(out.bytes, v.bytes[r])
	}
	return out
}

// rowSet is the upserts of a batch that carry the same set of columns.
type rowSet struct {
	*values
	keyAt []int // the position in cols of each key column; -1 when absent
}

// batch is a Write's changes, grouped: the deletes (the key columns of
// their rows) and the upserts by set of columns.
type batch struct {
	t    schema.Table
	keys []column
	dels *values
	sets []*rowSet
}

// split groups the changes of a batch as apply.GroupBatch does: the
// deletes, and the upserts by the set of columns their rows hold. Values
// are converted later, all before any statement is sent.
func (s *Sink) split(t schema.Table, changes []apply.Change) (*batch, error) {
	cols := s.columnsOf(t)
	b := &batch{t: t, keys: make([]column, len(t.Key))}
	for i, k := range t.Key {
		_, at, ok := t.Column(k)
		if !ok {
			return nil, fmt.Errorf("%w: key column %s is not a column", errBadValue, k)
		}
		b.keys[i] = cols[at]
	}
	dels, groups := apply.GroupBatch(t, changes)
	b.dels = newValues(b.keys, len(dels))
	row := make([]any, 0, len(cols))
	for _, i := range dels {
		row = row[:0]
		for _, c := range b.keys {
			row = append(row, changes[i].Row[c.Name])
		}
		b.dels.add(row, changes[i].Version)
	}
	b.sets = make([]*rowSet, 0, len(groups))
	for _, g := range groups {
		set := make([]column, len(g.Cols))
		for k, j := range g.Cols {
			set[k] = cols[j]
		}
		rs := &rowSet{values: newValues(set, len(g.Changes)), keyAt: make([]int, len(b.keys))}
		for i, k := range b.keys {
			rs.keyAt[i] = -1
			for j, c := range set {
				if c.Name == k.Name {
					rs.keyAt[i] = j
				}
			}
		}
		for _, i := range g.Changes {
			row = row[:0]
			for _, c := range set {
				row = append(row, changes[i].Row[c.Name])
			}
			rs.add(row, changes[i].Version)
		}
		b.sets = append(b.sets, rs)
	}
	return b, nil
}

// convert converts every value of the batch, so that a bad value fails the
// batch before a connection is used.
func (b *batch) convert() error {
	if err := b.dels.convert(); err != nil {
		return err
	}
	for _, rs := range b.sets {
		if err := rs.convert(); err != nil {
			return err
		}
	}
	return nil
}

// statements returns the statements of the batch (converted), for one
// pipeline: the deletes, then the upserts of each set of columns.
func (b *batch) statements() []statement {
	stmts := deletes(b.t, b.dels)
	for _, rs := range b.sets {
		stmts = append(stmts, upserts(b.t, b.keys, rs.keyAt, rs.values)...)
	}
	return stmts
}

// chunks splits rows 0..n-1 into runs whose estimated bytes stay within
// maxArrayBytes (a run holds at least one row).
func chunks(bytes []int) [][2]int {
	var out [][2]int
	start, sum := 0, 0
	for i, n := range bytes {
		if i > start && sum+n > maxArrayBytes {
			out = append(out, [2]int{start, i})
			start, sum = i, 0
		}
		sum += n
	}
	if start < len(bytes) {
		out = append(out, [2]int{start, len(bytes)})
	}
	return out
}

// arrayArgs returns the values of rows lo..hi-1 of each column as array
// parameters, then the versions.
func arrayArgs(vals [][]any, versions []int64, lo, hi int) []any {
	args := make([]any, 0, len(vals)+1)
	for _, col := range vals {
		args = append(args, pgtype.FlatArray[any](col[lo:hi]))
	}
	return append(args, versions[lo:hi])
}

// deletes returns the statements deleting the rows of the keys in d
// (converted) that are not newer than the deletes: one per chunk of keys
// bound as arrays, or the row-by-row statements when the keys do not bind
// as arrays.
func deletes(t schema.Table, d *values) []statement {
	if len(d.versions) == 0 {
		return nil
	}
	var stmts []statement
	if d.arrays() && d.natural {
		sql := deleteArraySQL(t, d.cols)
		for _, c := range chunks(d.bytes) {
			stmts = append(stmts, statement{sql: sql, args: arrayArgs(d.vals, d.versions, c[0], c[1])})
		}
		return stmts
	}
	rows := make([][]any, len(d.versions))
	for r := range rows {
		row := make([]any, 0, len(d.cols)+1)
		for i := range d.cols {
			row = append(row, d.vals[i][r])
		}
		rows[r] = append(row, d.versions[r])
	}
	keyCols := make([]schema.Column, len(d.cols))
	for i, k := range d.cols {
		keyCols[i] = k.Column
	}
	for len(rows) > 0 {
		n := min(len(rows), maxDeletesPer)
		stmts = append(stmts, deleteStatement(t, keyCols, rows[:n]))
		rows = rows[n:]
	}
	return stmts
}

// upserts returns the statements upserting the rows of v (converted), a
// set of columns holding the key columns at keyAt (-1: absent): one per
// chunk of rows bound as arrays, or the row-by-row statements when the
// values do not bind as arrays.
func upserts(t schema.Table, keys []column, keyAt []int, v *values) []statement {
	if len(v.versions) == 0 {
		return nil
	}
	binds := v.arrays() && v.natural
	for _, at := range keyAt {
		binds = binds && at >= 0
	}
	if binds {
		var stmts []statement
		sql := upsertArraySQL(t, keys, v.cols)
		for _, c := range chunks(v.bytes) {
			stmts = append(stmts, statement{sql: sql, args: arrayArgs(v.vals, v.versions, c[0], c[1])})
		}
		return stmts
	}
	set := apply.RowSet{Cols: make([]schema.Column, len(v.cols)), Rows: make([][]any, len(v.versions))}
	for i, c := range v.cols {
		set.Cols[i] = c.Column
	}
	for r := range set.Rows {
		row := make([]any, 0, len(v.cols)+1)
		for i := range v.cols {
			row = append(row, v.vals[i][r])
		}
		set.Rows[r] = append(row, v.versions[r])
	}
	return upsertStatements(t, set)
}

// versionArray is the array type of the version column.
const versionArray = `"pg_catalog"."int8"[]`

// deleteArraySQL deletes the rows of the keys in the arrays $1.. where the
// row is not newer than the delete (the last array).
func deleteArraySQL(t schema.Table, keys []column) string {
	var b strings.Builder
	b.WriteString("DELETE FROM " + qualified(t.Database, t.Name) + " AS t USING unnest(")
	for i, k := range keys {
		b.WriteString("$" + strconv.Itoa(i+1) + "::" + k.array + ", ")
	}
	b.WriteString("$" + strconv.Itoa(len(keys)+1) + "::" + versionArray + ") AS d(")
	for i := range keys {
		b.WriteString("c" + strconv.Itoa(i+1) + ", ")
	}
	b.WriteString("v) WHERE ")
	for i, k := range keys {
		b.WriteString("t." + quote(k.Name) + " = d.c" + strconv.Itoa(i+1) + " AND ")
	}
	b.WriteString("t." + quote(apply.VersionColumn) + " <= d.v")
	return b.String()
}

// upsertArraySQL upserts the rows of the arrays $1.. (one per column of
// cols, then the versions) with INSERT ... ON CONFLICT (key) DO UPDATE ...
// WHERE the stored version is not newer. cols hold every key column.
func upsertArraySQL(t schema.Table, keys, cols []column) string {
	v := quote(apply.VersionColumn)
	var b strings.Builder
	b.WriteString("INSERT INTO " + qualified(t.Database, t.Name) + " AS t (")
	for _, c := range cols {
		b.WriteString(quote(c.Name) + ", ")
	}
	b.WriteString(v + ") SELECT * FROM unnest(")
	for i, c := range cols {
		b.WriteString("$" + strconv.Itoa(i+1) + "::" + c.array + ", ")
	}
	b.WriteString("$" + strconv.Itoa(len(cols)+1) + "::" + versionArray + ") ON CONFLICT (")
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(k.Name))
	}
	b.WriteString(") DO UPDATE SET ")
	isKey := make(map[string]bool, len(keys))
	for _, k := range keys {
		isKey[k.Name] = true
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
