package mysql

import (
	"context"
	"fmt"
	"strings"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/schema"
)

// targetColumn is a column as the target's catalog describes it.
type targetColumn struct {
	name     string
	typ      string // COLUMN_TYPE
	nullable bool
}

// columns reads a table's columns in order; none when it does not exist.
func (c *conn) columns(db, table string) ([]targetColumn, error) {
	r, err := c.query("SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE FROM information_schema.COLUMNS"+
		" WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION", db, table)
	if err != nil {
		return nil, fmt.Errorf("read columns of %s.%s: %w", db, table, err)
	}
	out := make([]targetColumn, r.RowNumber())
	for i := range out {
		name, _ := r.GetString(i, 0)
		typ, _ := r.GetString(i, 1)
		null, _ := r.GetString(i, 2)
		out[i] = targetColumn{name: name, typ: typ, nullable: null == "YES"}
	}
	return out, nil
}

func hasColumn(cols []targetColumn, name string) bool {
	for _, c := range cols {
		if c.name == name {
			return true
		}
	}
	return false
}

// columnType is the SQL type of a source column in the target: the same
// type, except for MariaDB's UUID, INET4 and INET6 on a server without
// them, which hold their text in CHAR(36), VARCHAR(15) and VARCHAR(39)
// (docs/targets.md).
func columnType(t schema.Type, info *serverInfo) string {
	if t.Kind.IsFixedBinaryText() && (info == nil || !info.has(t.Kind)) {
		return textFallback(t.Kind)
	}
	return t.String()
}

// textFallback is the character type that holds the text of a UUID, INET4
// or INET6 value on servers without the type.
func textFallback(k schema.Kind) string {
	switch k {
	case schema.UUID:
		return "char(36)"
	case schema.Inet4:
		return "varchar(15)"
	}
	return "varchar(39)"
}

// sameType reports whether a target column's COLUMN_TYPE is the type.
func sameType(colType string, t schema.Type) bool {
	got, err := schema.ParseType(colType)
	if err != nil {
		return false
	}
	if got.String() == t.String() {
		return true
	}
	// A UUID, INET4 or INET6 column may hold its text on a server that had
	// no such type when the table was made.
	if t.Kind.IsFixedBinaryText() {
		return got.String() == textFallback(t.Kind)
	}
	// MariaDB's JSON is LONGTEXT.
	return t.Kind == schema.JSON && got.Kind == schema.LongText
}

// versionDef is the version column's definition.
func (s *Sink) versionDef() string {
	def := quote(apply.VersionColumn) + " BIGINT NOT NULL DEFAULT 0"
	if info := s.server(); info != nil && info.invisible {
		def += " INVISIBLE"
	}
	return def
}

// Prepare creates or evolves a table; see apply.Sink.
func (s *Sink) Prepare(ctx context.Context, t schema.Table, opts apply.PrepareOptions) error {
	name := t.Database + "." + t.Name
	return s.withConn(ctx, func(c *conn) error {
		cols, err := c.columns(t.Database, t.Name)
		if err != nil {
			return err
		}
		if len(cols) == 0 {
			if len(t.Key) == 0 {
				return nil
			}
			return s.create(c, t)
		}
		if !hasColumn(cols, apply.VersionColumn) {
			if opts.Existing != apply.ExistingWrite {
				return fmt.Errorf("%w: %s was not created by syncline apply (it has no %s column); drop it, or restart apply with --existing-tables write to write into it",
					apply.ErrExistingTable, name, apply.VersionColumn)
			}
			s.log.Warn("writing into an existing table, as --existing-tables write asks; adding the version column", "table", name)
			if _, err := c.query("ALTER TABLE " + qualified(t.Database, t.Name) + " ADD COLUMN " + s.versionDef()); err != nil {
				return fmt.Errorf("add %s to %s: %w", apply.VersionColumn, name, err)
			}
		}
		if len(t.Key) > 0 {
			if err := c.checkKey(t); err != nil {
				return err
			}
		}
		want := make(map[string]bool, len(t.Columns))
		for _, col := range t.Columns {
			want[col.Name] = true
		}
		// Renames first, in their own statement: later clauses use the new
		// names.
		var renames []string
		for _, tc := range cols {
			to, ok := opts.Renamed[tc.name]
			if want[tc.name] || !ok || !want[to] || hasColumn(cols, to) {
				continue
			}
			renames = append(renames, "RENAME COLUMN "+quote(tc.name)+" TO "+quote(to))
		}
		if len(renames) > 0 {
			if _, err := c.query("ALTER TABLE " + qualified(t.Database, t.Name) + " " + strings.Join(renames, ", ")); err != nil {
				return fmt.Errorf("rename columns of %s: %w", name, err)
			}
			if cols, err = c.columns(t.Database, t.Name); err != nil {
				return err
			}
		}
		var clauses []string
		if opts.DropColumns {
			for _, tc := range cols {
				if !want[tc.name] && tc.name != apply.VersionColumn {
					clauses = append(clauses, "DROP COLUMN "+quote(tc.name))
				}
			}
		}
		have := make(map[string]targetColumn, len(cols))
		for _, tc := range cols {
			have[tc.name] = tc
		}
		after := "FIRST"
		for _, col := range t.Columns {
			tc, ok := have[col.Name]
			switch {
			case !ok:
				// Rows written before the column existed reach the target
				// without it: it is nullable here.
				clauses = append(clauses, "ADD COLUMN "+quote(col.Name)+" "+columnType(col.Type, s.server())+" NULL "+after)
			case (!sameType(tc.typ, col.Type) && !opts.KeepTypes[col.Name]) || (col.Nullable && !tc.nullable):
				null := " NOT NULL"
				if tc.nullable || col.Nullable {
					null = " NULL"
				}
				typ := columnType(col.Type, s.server())
				if opts.KeepTypes[col.Name] {
					typ = tc.typ
				}
				clauses = append(clauses, "MODIFY COLUMN "+quote(col.Name)+" "+typ+null)
			}
			after = "AFTER " + quote(col.Name)
		}
		if len(clauses) == 0 {
			return nil
		}
		stmt := "ALTER TABLE " + qualified(t.Database, t.Name) + " " + strings.Join(clauses, ", ")
		if _, err := c.query(stmt); err != nil {
			return fmt.Errorf("change columns of %s (%s): %w", name, strings.Join(clauses, ", "), err)
		}
		s.log.Info("table changed", "table", name, "changes", strings.Join(clauses, ", "))
		return nil
	})
}

// create creates the database and the table.
func (s *Sink) create(c *conn, t schema.Table) error {
	name := t.Database + "." + t.Name
	if _, err := c.query("CREATE DATABASE IF NOT EXISTS " + quote(t.Database)); err != nil {
		return fmt.Errorf("create database %s: %w", t.Database, err)
	}
	var b strings.Builder
	b.WriteString("CREATE TABLE IF NOT EXISTS ")
	b.WriteString(qualified(t.Database, t.Name))
	b.WriteString(" (")
	for _, col := range t.Columns {
		b.WriteString(quote(col.Name))
		b.WriteByte(' ')
		b.WriteString(columnType(col.Type, s.server()))
		if col.Nullable {
			b.WriteString(" NULL, ")
		} else {
			b.WriteString(" NOT NULL, ")
		}
	}
	b.WriteString(s.versionDef())
	b.WriteString(", PRIMARY KEY (")
	for i, k := range t.Key {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(k))
	}
	b.WriteString(")) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin")
	if _, err := c.query(b.String()); err != nil {
		return fmt.Errorf("create table %s: %w", name, err)
	}
	s.log.Info("table created", "table", name)
	return nil
}

// SchemaChange applies what a row-shape diff cannot see; see apply.Sink.
func (s *Sink) SchemaChange(ctx context.Context, ev apply.SchemaChange) error {
	return s.withConn(ctx, func(c *conn) error {
		switch ev.Kind {
		case apply.DDLAlterTable:
			return s.renameColumns(c, ev)
		case apply.DDLTruncateTable:
			_, err := s.removeOlder(c, ev.Database, ev.Table, ev.Version, false)
			return err
		case apply.DDLDropTable:
			_, err := s.removeOlder(c, ev.Database, ev.Table, ev.Version, true)
			return err
		case apply.DDLRenameTable:
			return s.renameTable(c, ev)
		case apply.DDLDropDatabase:
			return s.dropDatabase(c, ev)
		}
		return nil
	})
}

func (s *Sink) renameColumns(c *conn, ev apply.SchemaChange) error {
	if len(ev.RenamedColumns) == 0 {
		return nil
	}
	cols, err := c.columns(ev.Database, ev.Table)
	if err != nil || len(cols) == 0 {
		return err
	}
	var clauses []string
	for from, to := range ev.RenamedColumns {
		if hasColumn(cols, from) && !hasColumn(cols, to) {
			clauses = append(clauses, "RENAME COLUMN "+quote(from)+" TO "+quote(to))
		}
	}
	if len(clauses) == 0 {
		return nil
	}
	if _, err := c.query("ALTER TABLE " + qualified(ev.Database, ev.Table) + " " + strings.Join(clauses, ", ")); err != nil {
		return fmt.Errorf("rename columns of %s.%s: %w", ev.Database, ev.Table, err)
	}
	return nil
}

// removeOlder deletes the rows older than version (a truncate or drop at
// version); with drop, it then drops the table unless newer rows remain.
// It reports whether the table is gone.
func (s *Sink) removeOlder(c *conn, db, table string, version int64, drop bool) (bool, error) {
	cols, err := c.columns(db, table)
	if err != nil {
		return false, err
	}
	if len(cols) == 0 {
		return true, nil
	}
	if !hasColumn(cols, apply.VersionColumn) {
		return false, nil // not apply's table
	}
	q := qualified(db, table)
	if _, err := c.query("DELETE FROM "+q+" WHERE "+quote(apply.VersionColumn)+" < ?", version); err != nil {
		return false, fmt.Errorf("remove rows of %s.%s older than version %d: %w", db, table, version, err)
	}
	if !drop {
		return false, nil
	}
	r, err := c.query("SELECT 1 FROM " + q + " LIMIT 1")
	if err != nil {
		return false, fmt.Errorf("check %s.%s: %w", db, table, err)
	}
	if r.RowNumber() > 0 {
		return false, nil // re-created since: its newer rows stay
	}
	if _, err := c.query("DROP TABLE IF EXISTS " + q); err != nil {
		return false, fmt.Errorf("drop %s.%s: %w", db, table, err)
	}
	return true, nil
}

func (s *Sink) renameTable(c *conn, ev apply.SchemaChange) error {
	from, err := c.columns(ev.Database, ev.Table)
	if err != nil {
		return err
	}
	if len(from) == 0 {
		return nil // done already, or never created
	}
	to, err := c.columns(ev.NewDatabase, ev.NewTable)
	if err != nil {
		return err
	}
	if len(to) > 0 {
		if !hasColumn(to, apply.VersionColumn) {
			return fmt.Errorf("%w: rename %s.%s to %s.%s: the new name is taken by a table syncline apply did not create", apply.ErrUnsupportedDDL, ev.Database, ev.Table, ev.NewDatabase, ev.NewTable)
		}
		r, err := c.query("SELECT COUNT(*), COALESCE(MAX(" + quote(apply.VersionColumn) + "), 0) FROM " + qualified(ev.NewDatabase, ev.NewTable))
		if err != nil {
			return fmt.Errorf("check %s.%s: %w", ev.NewDatabase, ev.NewTable, err)
		}
		n, _ := r.GetInt(0, 0)
		newest, _ := r.GetInt(0, 1)
		switch {
		case newest >= ev.Version:
			return nil // renamed already; the old name was created again since
		case n == 0:
			if _, err := c.query("DROP TABLE " + qualified(ev.NewDatabase, ev.NewTable)); err != nil {
				return fmt.Errorf("drop empty %s.%s: %w", ev.NewDatabase, ev.NewTable, err)
			}
		default:
			return fmt.Errorf("%w: rename %s.%s to %s.%s: both tables hold rows older than the rename", apply.ErrUnsupportedDDL, ev.Database, ev.Table, ev.NewDatabase, ev.NewTable)
		}
	}
	if ev.NewDatabase != ev.Database {
		if _, err := c.query("CREATE DATABASE IF NOT EXISTS " + quote(ev.NewDatabase)); err != nil {
			return fmt.Errorf("create database %s: %w", ev.NewDatabase, err)
		}
	}
	if _, err := c.query("RENAME TABLE " + qualified(ev.Database, ev.Table) + " TO " + qualified(ev.NewDatabase, ev.NewTable)); err != nil {
		return fmt.Errorf("rename %s.%s to %s.%s: %w", ev.Database, ev.Table, ev.NewDatabase, ev.NewTable, err)
	}
	return nil
}

func (s *Sink) dropDatabase(c *conn, ev apply.SchemaChange) error {
	r, err := c.query("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'", ev.Database)
	if err != nil {
		return fmt.Errorf("list tables of %s: %w", ev.Database, err)
	}
	left := 0
	for i := range r.RowNumber() {
		table, _ := r.GetString(i, 0)
		gone, err := s.removeOlder(c, ev.Database, table, ev.Version, true)
		if err != nil {
			return err
		}
		if !gone {
			left++
		}
	}
	if left > 0 {
		return nil
	}
	if _, err := c.query("DROP DATABASE IF EXISTS " + quote(ev.Database)); err != nil {
		return fmt.Errorf("drop database %s: %w", ev.Database, err)
	}
	return nil
}

// checkKey refuses a table whose primary key is not t's key (renamed key
// columns aside, which Prepare renames).
func (c *conn) checkKey(t schema.Table) error {
	r, err := c.query("SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE"+
		" WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION", t.Database, t.Name)
	if err != nil {
		return fmt.Errorf("read primary key of %s.%s: %w", t.Database, t.Name, err)
	}
	got := make([]string, r.RowNumber())
	for i := range got {
		got[i], _ = r.GetString(i, 0)
	}
	return apply.CheckKey(t, got)
}
