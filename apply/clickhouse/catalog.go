package clickhouse

import (
	"context"
	"fmt"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/ext"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/schema"
)

// namesTable is the external table that carries database and table names
// into catalog queries, so that names are never pasted into SQL.
const namesTable = "_syncline_names"

// withNames returns ctx sending the external table _syncline_names (db
// String, tbl String) holding the given tables with the next query.
func withNames(ctx context.Context, tables ...tableKey) (context.Context, error) {
	t, err := ext.NewTable(namesTable, ext.Column("db", "String"), ext.Column("tbl", "String"))
	if err != nil {
		return nil, err
	}
	for _, k := range tables {
		if err := t.Append(k.db, k.table); err != nil {
			return nil, err
		}
	}
	return clickhouse.Context(ctx, clickhouse.WithExternalTable(t)), nil
}

// targetColumn is a column as system.columns describes it.
type targetColumn struct {
	name string
	ct   chType
}

// columns reads a table's columns in order; none when it does not exist.
func columns(ctx context.Context, c driver.Conn, db, table string) ([]targetColumn, error) {
	qctx, err := withNames(ctx, tableKey{db, table})
	if err != nil {
		return nil, err
	}
	rows, err := c.Query(qctx, "SELECT name, type FROM system.columns WHERE (database, table) IN (SELECT db, tbl FROM "+namesTable+")")
	if err != nil {
		return nil, fmt.Errorf("read columns of %s.%s: %w", db, table, err)
	}
	defer rows.Close()
	var out []targetColumn
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			return nil, fmt.Errorf("read columns of %s.%s: %w", db, table, err)
		}
		out = append(out, targetColumn{name: name, ct: parseType(typ)})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read columns of %s.%s: %w", db, table, err)
	}
	return out, nil
}

func findColumn(cols []targetColumn, name string) (targetColumn, bool) {
	for _, c := range cols {
		if c.name == name {
			return c, true
		}
	}
	return targetColumn{}, false
}

func hasColumn(cols []targetColumn, name string) bool {
	_, ok := findColumn(cols, name)
	return ok
}

// tableInfo is a table as system.tables describes it.
type tableInfo struct {
	engine     string   // "ReplacingMergeTree", "MergeTree", ...
	engineFull string   // the engine clause
	sortingKey []string // the ORDER BY columns; expressions as written
}

// replacing reports whether the engine keeps one row per sorting key.
func (ti tableInfo) replacing() bool { return strings.HasSuffix(ti.engine, "ReplacingMergeTree") }

// versioned reports whether the engine's version column is the version
// column: then the engine itself lets the newest change win.
func (ti tableInfo) versioned() bool {
	i := strings.Index(ti.engineFull, "ReplacingMergeTree(")
	if i < 0 {
		return false
	}
	for _, a := range splitList(ti.engineFull[i+len("ReplacingMergeTree("):], ')') {
		if unquoteIdent(a) == apply.VersionColumn {
			return true
		}
	}
	return false
}

// readTable reads a table's engine and sorting key; ok is false when the
// table does not exist.
func readTable(ctx context.Context, c driver.Conn, db, table string) (ti tableInfo, ok bool, err error) {
	qctx, err := withNames(ctx, tableKey{db, table})
	if err != nil {
		return ti, false, err
	}
	rows, err := c.Query(qctx, "SELECT engine, engine_full, sorting_key FROM system.tables WHERE (database, name) IN (SELECT db, tbl FROM "+namesTable+")")
	if err != nil {
		return ti, false, fmt.Errorf("read table %s.%s: %w", db, table, err)
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		if err := rows.Scan(&ti.engine, &ti.engineFull, &key); err != nil {
			return ti, false, fmt.Errorf("read table %s.%s: %w", db, table, err)
		}
		ti.sortingKey = nil
		for _, k := range splitList(key, 0) {
			ti.sortingKey = append(ti.sortingKey, unquoteIdent(k))
		}
		ok = true
	}
	if err := rows.Err(); err != nil {
		return ti, false, fmt.Errorf("read table %s.%s: %w", db, table, err)
	}
	return ti, ok, nil
}

// splitList splits a comma-separated list of expressions at its top level,
// up to the closing byte end (0: the whole string), minding parentheses
// and quotes; items are trimmed.
func splitList(s string, end byte) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '`' || c == '\'' || c == '"':
			for i++; i < len(s) && s[i] != c; i++ {
				if s[i] == '\\' {
					i++
				}
			}
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth == 0 && end != 0 && c == end:
			if item := strings.TrimSpace(s[start:i]); item != "" {
				out = append(out, item)
			}
			return out
		case depth == 0 && c == ',':
			out = append(out, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	if item := strings.TrimSpace(s[start:]); item != "" {
		out = append(out, item)
	}
	return out
}

// unquoteIdent returns the name a backquoted identifier stands for; other
// text is returned as it is.
func unquoteIdent(s string) string {
	if len(s) < 2 || s[0] != '`' || s[len(s)-1] != '`' {
		return s
	}
	var b strings.Builder
	for i := 1; i < len(s)-1; i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s)-1 {
			i++
			switch c = s[i]; c {
			case 'n':
				c = '\n'
			case 't':
				c = '\t'
			case 'r':
				c = '\r'
			case '0':
				c = 0
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

// tableMeta is what Write needs to know about a target table.
type tableMeta struct {
	// guarded: the engine's version is not the version column (a user's
	// table written with --existing-tables write), so Write drops the
	// changes older than the stored rows itself.
	guarded bool
	types   map[string]chType
}

// meta returns a table's metadata, reading it on first use. Prepare and
// SchemaChange forget it.
func (s *Sink) meta(ctx context.Context, c driver.Conn, db, table string) (*tableMeta, error) {
	k := tableKey{db, table}
	s.mu.Lock()
	m := s.tables[k]
	s.mu.Unlock()
	if m != nil {
		return m, nil
	}
	cols, err := columns(ctx, c, db, table)
	if err != nil {
		return nil, err
	}
	ti, ok, err := readTable(ctx, c, db, table)
	if err != nil {
		return nil, err
	}
	if len(cols) == 0 || !ok {
		return nil, fmt.Errorf("%w: table %s.%s does not exist in the target", errBadValue, db, table)
	}
	if !hasColumn(cols, apply.VersionColumn) || !hasColumn(cols, DeletedColumn) {
		return nil, fmt.Errorf("%w: table %s.%s lacks %s or %s; it was not prepared by syncline apply", errBadValue, db, table, apply.VersionColumn, DeletedColumn)
	}
	if !ti.replacing() {
		return nil, fmt.Errorf("%w: table %s.%s has engine %s; apply writes only into ReplacingMergeTree tables", errBadValue, db, table, ti.engine)
	}
	m = &tableMeta{guarded: !ti.versioned(), types: make(map[string]chType, len(cols))}
	for _, tc := range cols {
		m.types[tc.name] = tc.ct
	}
	s.mu.Lock()
	s.tables[k] = m
	s.mu.Unlock()
	return m, nil
}

// forget drops the cached metadata of tables; none given: of every table.
func (s *Sink) forget(tables ...tableKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(tables) == 0 {
		clear(s.tables)
	}
	for _, k := range tables {
		delete(s.tables, k)
	}
}

// Prepare creates or evolves a table; see apply.Sink. ClickHouse has no
// transactions: each ALTER is applied on its own, and running Prepare again
// finishes what an interrupted one started.
func (s *Sink) Prepare(ctx context.Context, t schema.Table, opts apply.PrepareOptions) error {
	name := t.Database + "." + t.Name
	defer s.forget(tableKey{t.Database, t.Name})
	return s.withConn(ctx, func(ctx context.Context, c driver.Conn, srv *server) error {
		cols, err := columns(ctx, c, t.Database, t.Name)
		if err != nil {
			return err
		}
		if len(cols) == 0 {
			if len(t.Key) == 0 {
				return nil
			}
			return s.create(ctx, c, srv, t)
		}
		ti, _, err := readTable(ctx, c, t.Database, t.Name)
		if err != nil {
			return err
		}
		table := qualified(t.Database, t.Name)
		var changes []string
		alter := func(clauses ...string) error {
			stmt := "ALTER TABLE " + table + " " + strings.Join(clauses, ", ")
			if err := c.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("change %s (%s): %w", name, strings.Join(clauses, ", "), err)
			}
			changes = append(changes, clauses...)
			return nil
		}
		// Check everything before changing anything.
		ours := hasColumn(cols, apply.VersionColumn)
		if !ours && opts.Existing != apply.ExistingWrite {
			return fmt.Errorf("%w: %s was not created by syncline apply (it has no %s column); drop it, or restart apply with --existing-tables write to write into it",
				apply.ErrExistingTable, name, apply.VersionColumn)
		}
		if !ti.replacing() {
			return fmt.Errorf("%w: %s has engine %s; apply writes into a ClickHouse table only when it is a ReplacingMergeTree ordered by the source key (recreate it so, or drop it)",
				errBadValue, name, ti.engine)
		}
		if len(t.Key) > 0 {
			if err := apply.CheckKey(t, ti.sortingKey); err != nil {
				return err
			}
		}
		if !ours {
			s.log.Warn("writing into an existing table, as --existing-tables write asks; adding the version and deleted columns", "table", name)
			if err := alter("ADD COLUMN " + quote(apply.VersionColumn) + " UInt64"); err != nil {
				return err
			}
		}
		if !hasColumn(cols, DeletedColumn) {
			if err := alter("ADD COLUMN " + quote(DeletedColumn) + " UInt8"); err != nil {
				return err
			}
		}
		inKey := make(map[string]bool, len(ti.sortingKey))
		for _, k := range ti.sortingKey {
			inKey[k] = true
		}
		want := make(map[string]bool, len(t.Columns))
		for _, col := range t.Columns {
			want[col.Name] = true
		}
		// Renames first, each on its own: later clauses use the new names.
		// A column the server cannot rename stays under its old name with
		// the values written before the rename, made Nullable, never
		// dropped; the new name is added beside it.
		keepOld := map[string]bool{}
		renamed := false
		for _, tc := range cols {
			to, ok := opts.Renamed[tc.name]
			if want[tc.name] || !ok || !want[to] {
				continue
			}
			if hasColumn(cols, to) {
				// Renamed already, or the new name was added beside the
				// old column the server could not rename: that column
				// stays (once dropped here, its values were lost).
				if !srv.renameColumn {
					keepOld[tc.name] = true
				}
				continue
			}
			switch {
			case inKey[tc.name]:
				return fmt.Errorf("%w: key column %s of %s is renamed to %s in the source; ClickHouse cannot rename a sorting key column",
					apply.ErrUnsupportedDDL, tc.name, name, to)
			case !srv.renameColumn:
				s.log.Warn("the server cannot rename columns (RENAME COLUMN needs ClickHouse 20.4); the old column keeps the values written before the rename, the new name is added",
					"table", name, "column", tc.name, "new_name", to, "server", srv.version)
				keepOld[tc.name] = true
				continue
			}
			if err := alter("RENAME COLUMN " + quote(tc.name) + " TO " + quote(to)); err != nil {
				return err
			}
			renamed = true
		}
		if renamed {
			if cols, err = columns(ctx, c, t.Database, t.Name); err != nil {
				return err
			}
		}
		var clauses []string
		for _, tc := range cols {
			// A column kept under its old name gets no values from now on:
			// NULL says so, where a default would pass for a value.
			if keepOld[tc.name] && !tc.ct.nullable {
				clauses = append(clauses, "MODIFY COLUMN "+quote(tc.name)+" "+nullableOf(tc.ct))
			}
		}
		if opts.DropColumns {
			for _, tc := range cols {
				if !want[tc.name] && !keepOld[tc.name] && tc.name != apply.VersionColumn && tc.name != DeletedColumn {
					clauses = append(clauses, "DROP COLUMN "+quote(tc.name))
				}
			}
		}
		after := ""
		for _, col := range t.Columns {
			tc, ok := findColumn(cols, col.Name)
			place := ""
			if after != "" {
				place = " AFTER " + quote(after)
			}
			after = col.Name
			switch {
			case !ok:
				// Rows written before the column existed keep no value
				// for it: it is Nullable here, whatever the source says.
				clauses = append(clauses, "ADD COLUMN "+quote(col.Name)+" "+columnDef(col.Type, srv, true)+place)
			case !opts.KeepTypes[col.Name] && !acceptable(tc.ct.base, col.Type, srv):
				nullable := (tc.ct.nullable || col.Nullable) && !inKey[col.Name]
				clauses = append(clauses, "MODIFY COLUMN "+quote(col.Name)+" "+columnDef(col.Type, srv, nullable))
			case col.Nullable && !tc.ct.nullable && !inKey[col.Name]:
				clauses = append(clauses, "MODIFY COLUMN "+quote(col.Name)+" "+nullableOf(tc.ct))
			}
		}
		if len(clauses) > 0 {
			if err := alter(clauses...); err != nil {
				return err
			}
		}
		if len(changes) > 0 {
			s.log.Info("table changed", "table", name, "changes", strings.Join(changes, ", "))
		}
		return nil
	})
}

// nullableOf is a column's type made Nullable.
func nullableOf(ct chType) string {
	if strings.HasPrefix(ct.full, "LowCardinality(") {
		return "LowCardinality(Nullable(" + ct.base + "))"
	}
	return "Nullable(" + ct.base + ")"
}

// engine returns the engine clause of the tables the sink creates.
func engine(t schema.Table, srv *server) string {
	args := quote(apply.VersionColumn)
	if srv.isDeleted {
		args += ", " + quote(DeletedColumn)
	}
	keys := make([]string, len(t.Key))
	for i, k := range t.Key {
		keys[i] = quote(k)
	}
	return "ReplacingMergeTree(" + args + ") ORDER BY (" + strings.Join(keys, ", ") + ")"
}

// create creates the database and the table.
func (s *Sink) create(ctx context.Context, c driver.Conn, srv *server, t schema.Table) error {
	name := t.Database + "." + t.Name
	isKey := make(map[string]bool, len(t.Key))
	for _, k := range t.Key {
		if _, _, ok := t.Column(k); !ok {
			return fmt.Errorf("%w: create %s: key column %s is not a column", errBadValue, name, k)
		}
		isKey[k] = true
	}
	if err := c.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+quote(t.Database)); err != nil {
		return fmt.Errorf("create database %s: %w", t.Database, err)
	}
	var b strings.Builder
	b.WriteString("CREATE TABLE IF NOT EXISTS " + qualified(t.Database, t.Name) + " (")
	for _, col := range t.Columns {
		b.WriteString(quote(col.Name) + " " + columnDef(col.Type, srv, col.Nullable && !isKey[col.Name]) + ", ")
	}
	b.WriteString(quote(apply.VersionColumn) + " UInt64, " + quote(DeletedColumn) + " UInt8) ENGINE = " + engine(t, srv))
	if err := c.Exec(ctx, b.String()); err != nil {
		return fmt.Errorf("create table %s: %w", name, err)
	}
	s.log.Info("table created", "table", name)
	return nil
}
