package mysql

import (
	"context"
	"fmt"
	"strings"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/internal/target/plan"
	"github.com/syncline/syncline/schema"
)

// columns reads a table's columns in order; a table that does not exist
// has none (Exists false). The key is not read.
func (c *conn) columns(db, table string) (plan.Table, error) {
	r, err := c.query("SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE FROM information_schema.COLUMNS"+
		" WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION", db, table)
	if err != nil {
		return plan.Table{}, fmt.Errorf("read columns of %s.%s: %w", db, table, err)
	}
	out := plan.Table{Exists: r.RowNumber() > 0, Columns: make([]plan.Column, r.RowNumber())}
	for i := range out.Columns {
		name, _ := r.GetString(i, 0)
		typ, _ := r.GetString(i, 1)
		null, _ := r.GetString(i, 2)
		out.Columns[i] = plan.Column{Name: name, Type: typ, Nullable: null == "YES"}
	}
	return out, nil
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

// caps is what the planner needs to know about the target.
func (s *Sink) caps() plan.Capabilities {
	return plan.Capabilities{
		SameType:     func(have plan.Column, want schema.Type) bool { return sameType(have.Type, want) },
		RenameColumn: true,
		KeyRename:    true,
		NullableKey:  true,
	}
}

// current reads a table as the planner describes it; its key only with
// withKey.
func (c *conn) current(db, table string, withKey bool) (plan.Table, error) {
	cur, err := c.columns(db, table)
	if err != nil || !cur.Exists || !withKey {
		return cur, err
	}
	cur.Key, err = c.primaryKey(db, table)
	return cur, err
}

// Prepare creates or evolves a table as plan.Prepare decides; see
// apply.Sink.
func (s *Sink) Prepare(ctx context.Context, t schema.Table, opts apply.PrepareOptions) error {
	name := t.Database + "." + t.Name
	return s.withConn(ctx, func(c *conn) error {
		cur, err := c.current(t.Database, t.Name, len(t.Key) > 0)
		if err != nil {
			return err
		}
		ops := plan.Prepare(t, cur, opts, s.caps())
		if err := plan.Err(ops); err != nil {
			return err
		}
		// Renames in their own statement, first: later clauses use the new
		// names. The version column is added on its own too.
		var renames, clauses []string
		for _, op := range ops {
			switch op.Kind {
			case plan.CreateTable:
				return s.create(c, t)
			case plan.AddVersionColumn:
				s.log.Warn("writing into an existing table, as --existing-tables write asks; adding the version column", "table", name)
				if _, err := c.query("ALTER TABLE " + qualified(t.Database, t.Name) + " ADD COLUMN " + s.versionDef()); err != nil {
					return fmt.Errorf("add %s to %s: %w", apply.VersionColumn, name, err)
				}
			case plan.RenameColumn:
				renames = append(renames, "RENAME COLUMN "+quote(op.From)+" TO "+quote(op.To))
			default:
				clause, err := s.clause(op)
				if err != nil {
					return err
				}
				clauses = append(clauses, clause)
			}
		}
		if len(renames) > 0 {
			if _, err := c.query("ALTER TABLE " + qualified(t.Database, t.Name) + " " + strings.Join(renames, ", ")); err != nil {
				return fmt.Errorf("rename columns of %s: %w", name, err)
			}
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

// clause renders a column operation of a plan as an ALTER TABLE clause.
func (s *Sink) clause(op plan.Op) (string, error) {
	switch op.Kind {
	case plan.DropColumn:
		return "DROP COLUMN " + quote(op.Have.Name), nil
	case plan.AddColumn:
		after := "FIRST"
		if op.After != "" {
			after = "AFTER " + quote(op.After)
		}
		return "ADD COLUMN " + quote(op.Column.Name) + " " + columnType(op.Column.Type, s.server()) + " NULL " + after, nil
	case plan.ChangeColumn:
		typ := op.Have.Type
		if op.Retype {
			typ = columnType(op.Column.Type, s.server())
		}
		null := " NOT NULL"
		if op.Nullable {
			null = " NULL"
		}
		return "MODIFY COLUMN " + quote(op.Column.Name) + " " + typ + null, nil
	}
	return "", fmt.Errorf("%w: %s", apply.ErrUnsupportedDDL, op)
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

// SchemaChange applies what a row-shape diff cannot see, as the plan
// package decides; see apply.Sink.
func (s *Sink) SchemaChange(ctx context.Context, ev apply.SchemaChange) error {
	return s.withConn(ctx, func(c *conn) error {
		var ops []plan.Op
		switch ev.Kind {
		case apply.DDLAlterTable:
			if len(ev.RenamedColumns) == 0 {
				return nil
			}
			cur, err := c.current(ev.Database, ev.Table, false)
			if err != nil {
				return err
			}
			ops = plan.RenameColumns(ev, cur, s.caps(), "")
		case apply.DDLTruncateTable, apply.DDLDropTable:
			v, err := c.versions(ev.Database, ev.Table)
			if err != nil {
				return err
			}
			ops, _ = plan.Truncate(ev.Database, ev.Table, v, ev.Version, ev.Kind == apply.DDLDropTable, s.caps())
		case apply.DDLRenameTable:
			from, err := c.columns(ev.Database, ev.Table)
			if err != nil {
				return err
			}
			to, err := c.versions(ev.NewDatabase, ev.NewTable)
			if err != nil {
				return err
			}
			ops = plan.MoveTable(ev, from.Exists, to)
		case apply.DDLDropDatabase:
			r, err := c.query("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'", ev.Database)
			if err != nil {
				return fmt.Errorf("list tables of %s: %w", ev.Database, err)
			}
			tables := map[string]plan.Versions{}
			for i := range r.RowNumber() {
				table, _ := r.GetString(i, 0)
				if tables[table], err = c.versions(ev.Database, table); err != nil {
					return err
				}
			}
			ops = plan.ClearDatabase(ev.Database, tables, ev.Version, s.caps())
		}
		return s.run(c, ops)
	})
}

// versions reads what a table holds for the plan of a statement that
// removes rows.
func (c *conn) versions(db, table string) (plan.Versions, error) {
	cols, err := c.columns(db, table)
	if err != nil || !cols.Exists {
		return plan.Versions{}, err
	}
	v := plan.Versions{Exists: true, Ours: cols.Has(apply.VersionColumn)}
	if !v.Ours {
		return v, nil
	}
	col := quote(apply.VersionColumn)
	r, err := c.query("SELECT COUNT(*), COALESCE(MIN(" + col + "), 0), COALESCE(MAX(" + col + "), 0) FROM " + qualified(db, table))
	if err != nil {
		return v, fmt.Errorf("check %s.%s: %w", db, table, err)
	}
	n, _ := r.GetInt(0, 0)
	v.Rows = uint64(n)
	v.Low, _ = r.GetInt(0, 1)
	v.Newest, _ = r.GetInt(0, 2)
	return v, nil
}

// run renders and runs the operations of a schema-change plan.
func (s *Sink) run(c *conn, ops []plan.Op) error {
	if err := plan.Err(ops); err != nil {
		return err
	}
	var renames []string
	for _, op := range ops {
		if op.Kind == plan.RenameColumn {
			renames = append(renames, "RENAME COLUMN "+quote(op.From)+" TO "+quote(op.To))
		}
	}
	if len(renames) > 0 {
		if _, err := c.query("ALTER TABLE " + qualified(ops[0].Database, ops[0].Table) + " " + strings.Join(renames, ", ")); err != nil {
			return fmt.Errorf("rename columns of %s.%s: %w", ops[0].Database, ops[0].Table, err)
		}
	}
	for _, op := range ops {
		var (
			stmt string
			args []any
		)
		q := qualified(op.Database, op.Table)
		switch op.Kind {
		case plan.RenameColumn:
			continue
		case plan.DeleteOlder:
			stmt, args = "DELETE FROM "+q+" WHERE "+quote(apply.VersionColumn)+" < ?", []any{op.Version}
		case plan.TruncateTable:
			stmt = "TRUNCATE TABLE " + q
		case plan.DropTable:
			stmt = "DROP TABLE IF EXISTS " + q
		case plan.CreateDatabase:
			stmt = "CREATE DATABASE IF NOT EXISTS " + quote(op.NewDatabase)
		case plan.RenameTable:
			stmt = "RENAME TABLE " + q + " TO " + qualified(op.NewDatabase, op.NewTable)
		case plan.DropDatabase:
			stmt = "DROP DATABASE IF EXISTS " + quote(op.Database)
		default:
			return fmt.Errorf("%w: %s", apply.ErrUnsupportedDDL, op)
		}
		if _, err := c.query(stmt, args...); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	return nil
}

// primaryKey reads a table's primary key columns in key order.
func (c *conn) primaryKey(db, table string) ([]string, error) {
	r, err := c.query("SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE"+
		" WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION", db, table)
	if err != nil {
		return nil, fmt.Errorf("read primary key of %s.%s: %w", db, table, err)
	}
	got := make([]string, r.RowNumber())
	for i := range got {
		got[i], _ = r.GetString(i, 0)
	}
	return got, nil
}
