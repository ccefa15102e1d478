package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/internal/target/plan"
	"github.com/syncline/syncline/schema"
)

// columns reads a table's columns in order; a table that does not exist
// has none (Exists false). The key is not read.
func columns(ctx context.Context, q querier, schemaName, table string) (plan.Table, error) {
	rows, err := q.Query(ctx, `SELECT a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`, schemaName, table)
	if err != nil {
		return plan.Table{}, fmt.Errorf("read columns of %s.%s: %w", schemaName, table, err)
	}
	var out plan.Table
	for rows.Next() {
		var c plan.Column
		if err := rows.Scan(&c.Name, &c.Type, &c.Nullable); err != nil {
			rows.Close()
			return plan.Table{}, err
		}
		out.Columns = append(out.Columns, c)
	}
	if err := rows.Err(); err != nil {
		return plan.Table{}, fmt.Errorf("read columns of %s.%s: %w", schemaName, table, err)
	}
	out.Exists = len(out.Columns) > 0
	return out, nil
}

// querier runs the statements of a schema change: a transaction.
type querier = pgx.Tx

const versionDef = ` bigint NOT NULL DEFAULT 0`

// caps is what the planner needs to know about PostgreSQL.
var caps = plan.Capabilities{
	SameType:     func(have plan.Column, want schema.Type) bool { return have.Type == columnType(want) },
	RenameColumn: true,
	KeyRename:    true,
	NullableKey:  true,
}

// current reads a table as the planner describes it; its key only with
// withKey.
func current(ctx context.Context, q querier, schemaName, table string, withKey bool) (plan.Table, error) {
	cur, err := columns(ctx, q, schemaName, table)
	if err != nil || !cur.Exists || !withKey {
		return cur, err
	}
	rows, err := q.Query(ctx, `SELECT a.attname FROM pg_index i
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)`, qualified(schemaName, table))
	if err != nil {
		return cur, fmt.Errorf("read primary key of %s.%s: %w", schemaName, table, err)
	}
	if cur.Key, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		return cur, fmt.Errorf("read primary key of %s.%s: %w", schemaName, table, err)
	}
	return cur, nil
}

// Prepare creates or evolves a table as plan.Prepare decides; see
// apply.Sink. The changes run in one transaction.
func (s *Sink) Prepare(ctx context.Context, t schema.Table, opts apply.PrepareOptions) error {
	name := t.Database + "." + t.Name
	names := []string{t.Database, t.Name}
	for _, c := range t.Columns {
		names = append(names, c.Name)
	}
	if err := checkName(names...); err != nil {
		return fmt.Errorf("prepare %s: %w", name, err)
	}
	err := s.withConn(ctx, func(ctx context.Context, c *pgx.Conn) error {
		if len(t.Key) > 0 {
			if err := createSchema(ctx, c, t.Database); err != nil {
				return err
			}
		}
		return pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			q := tx
			cur, err := current(ctx, q, t.Database, t.Name, len(t.Key) > 0)
			if err != nil {
				return err
			}
			ops := plan.Prepare(t, cur, opts, caps)
			if err := plan.Err(ops); err != nil || !cur.Exists && len(ops) == 0 {
				return err
			}
			table := qualified(t.Database, t.Name)
			var changes []string
			exec := func(stmt string) error {
				if _, err := tx.Exec(ctx, stmt); err != nil {
					return fmt.Errorf("change %s (%s): %w", name, stmt, err)
				}
				changes = append(changes, strings.TrimPrefix(stmt, "ALTER TABLE "+table+" "))
				return nil
			}
			for _, op := range ops {
				var stmts []string
				switch op.Kind {
				case plan.CreateTable:
					if err := s.create(ctx, q, t); err != nil {
						return err
					}
					s.forget(t.Database, t.Name)
					return nil
				case plan.AddVersionColumn:
					s.log.Warn("writing into an existing table, as --existing-tables write asks; adding the version column", "table", name)
					stmts = []string{"ADD COLUMN " + quote(apply.VersionColumn) + versionDef}
				case plan.RenameColumn:
					stmts = []string{"RENAME COLUMN " + quote(op.From) + " TO " + quote(op.To)}
				case plan.DropColumn:
					stmts = []string{"DROP COLUMN " + quote(op.Have.Name)}
				case plan.AddColumn:
					// Added columns go to the end of the table.
					stmts = []string{"ADD COLUMN " + quote(op.Column.Name) + " " + columnType(op.Column.Type)}
				case plan.ChangeColumn:
					col := quote(op.Column.Name)
					if op.Retype {
						typ := columnType(op.Column.Type)
						stmts = append(stmts, "ALTER COLUMN "+col+" TYPE "+typ+" USING "+castFrom(col, op.Have.Type, typ))
					}
					if op.Nullable && !op.Have.Nullable {
						stmts = append(stmts, "ALTER COLUMN "+col+" DROP NOT NULL")
					}
				default:
					return fmt.Errorf("%w: %s", apply.ErrUnsupportedDDL, op)
				}
				for _, stmt := range stmts {
					if err := exec("ALTER TABLE " + table + " " + stmt); err != nil {
						return err
					}
				}
			}
			cols := cur
			if len(changes) > 0 {
				s.log.Info("table changed", "table", name, "changes", strings.Join(changes, "; "))
				if cols, err = columns(ctx, q, t.Database, t.Name); err != nil {
					return err
				}
			}
			s.remember(t.Database, t.Name, cols)
			return nil
		})
	})
	// Two sessions creating the same schema or table at once: one fails
	// on the catalog's unique index; the next attempt finds it.
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "23505" || pe.Code == "42P06" || pe.Code == "42P07") {
		return apply.Retryable(err)
	}
	return err
}

// castFrom is the USING expression converting a column to a new type.
func castFrom(col, from, to string) string {
	switch {
	case from == "bytea" && KindOf(to) == KindText:
		return "convert_from(" + col + ", 'UTF8')"
	case KindOf(from) == KindText && to == "bytea":
		return "convert_to(" + col + ", 'UTF8')"
	case strings.HasPrefix(from, "bit") && KindOf(to) == KindInt:
		return col + "::bigint::" + to
	}
	return col + "::" + to
}

// createSchema creates a schema unless it exists, in a transaction of its
// own. CREATE SCHEMA IF NOT EXISTS is not atomic: when two sessions create
// the same schema at once (appliers or partitions on a fresh target), the
// later one fails on pg_namespace's unique index once the other has
// committed it. That error means the schema exists: success.
func createSchema(ctx context.Context, c *pgx.Conn, name string) error {
	var exists bool
	err := c.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1)", name).Scan(&exists)
	if err == nil && !exists {
		_, err = c.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+quote(name))
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "42P06" || pe.Code == "23505" && pe.ConstraintName == "pg_namespace_nspname_index") {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("create schema %s: %w", name, err)
	}
	return nil
}

// create creates the schema and the table.
func (s *Sink) create(ctx context.Context, q querier, t schema.Table) error {
	if _, err := q.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+quote(t.Database)); err != nil {
		return fmt.Errorf("create schema %s: %w", t.Database, err)
	}
	var b strings.Builder
	b.WriteString("CREATE TABLE IF NOT EXISTS " + qualified(t.Database, t.Name) + " (")
	for _, col := range t.Columns {
		b.WriteString(quote(col.Name) + " " + columnType(col.Type))
		if !col.Nullable {
			b.WriteString(" NOT NULL")
		}
		b.WriteString(", ")
	}
	b.WriteString(quote(apply.VersionColumn) + versionDef + ", PRIMARY KEY (")
	for i, k := range t.Key {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(k))
	}
	b.WriteString("))")
	if _, err := q.Exec(ctx, b.String()); err != nil {
		return fmt.Errorf("create table %s.%s: %w", t.Database, t.Name, err)
	}
	s.log.Info("table created", "table", t.Database+"."+t.Name)
	return nil
}

// SchemaChange applies what a row-shape diff cannot see, as the plan
// package decides; see apply.Sink. It runs in one transaction.
func (s *Sink) SchemaChange(ctx context.Context, ev apply.SchemaChange) error {
	if err := checkName(ev.Database, ev.Table, ev.NewDatabase, ev.NewTable); err != nil {
		return fmt.Errorf("%w: %w", apply.ErrUnsupportedDDL, err)
	}
	return s.withConn(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			q := tx
			var ops []plan.Op
			switch ev.Kind {
			case apply.DDLAlterTable:
				if len(ev.RenamedColumns) == 0 {
					return nil
				}
				cur, err := current(ctx, q, ev.Database, ev.Table, false)
				if err != nil {
					return err
				}
				ops = plan.RenameColumns(ev, cur, caps, "")
			case apply.DDLTruncateTable, apply.DDLDropTable:
				v, err := versions(ctx, q, ev.Database, ev.Table)
				if err != nil {
					return err
				}
				ops, _ = plan.Truncate(ev.Database, ev.Table, v, ev.Version, ev.Kind == apply.DDLDropTable, caps)
			case apply.DDLRenameTable:
				from, err := columns(ctx, q, ev.Database, ev.Table)
				if err != nil {
					return err
				}
				to, err := versions(ctx, q, ev.NewDatabase, ev.NewTable)
				if err != nil {
					return err
				}
				ops = plan.MoveTable(ev, from.Exists, to)
			case apply.DDLDropDatabase:
				rows, err := q.Query(ctx, "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')", ev.Database)
				if err != nil {
					return fmt.Errorf("list tables of %s: %w", ev.Database, err)
				}
				names, err := pgx.CollectRows(rows, pgx.RowTo[string])
				if err != nil {
					return fmt.Errorf("list tables of %s: %w", ev.Database, err)
				}
				tables := make(map[string]plan.Versions, len(names))
				for _, table := range names {
					if tables[table], err = versions(ctx, q, ev.Database, table); err != nil {
						return err
					}
				}
				ops = plan.ClearDatabase(ev.Database, tables, ev.Version, caps)
			}
			return runPlan(ctx, q, ops)
		})
	})
}

// versions reads what a table holds for the plan of a statement that
// removes rows.
func versions(ctx context.Context, q querier, schemaName, table string) (plan.Versions, error) {
	cols, err := columns(ctx, q, schemaName, table)
	if err != nil || !cols.Exists {
		return plan.Versions{}, err
	}
	v := plan.Versions{Exists: true, Ours: cols.Has(apply.VersionColumn)}
	if !v.Ours {
		return v, nil
	}
	col := quote(apply.VersionColumn)
	var n int64
	if err := scanOne(ctx, q, "SELECT COUNT(*), COALESCE(MIN("+col+"), 0), COALESCE(MAX("+col+"), 0) FROM "+qualified(schemaName, table), &n, &v.Low, &v.Newest); err != nil {
		return v, fmt.Errorf("check %s.%s: %w", schemaName, table, err)
	}
	v.Rows = uint64(n)
	return v, nil
}

// runPlan renders and runs the operations of a schema-change plan.
func runPlan(ctx context.Context, q querier, ops []plan.Op) error {
	if err := plan.Err(ops); err != nil {
		return err
	}
	for _, op := range ops {
		var (
			stmts []string
			args  []any
		)
		qt := qualified(op.Database, op.Table)
		switch op.Kind {
		case plan.RenameColumn:
			stmts = []string{"ALTER TABLE " + qt + " RENAME COLUMN " + quote(op.From) + " TO " + quote(op.To)}
		case plan.DeleteOlder:
			stmts, args = []string{"DELETE FROM " + qt + " WHERE " + quote(apply.VersionColumn) + " < $1"}, []any{op.Version}
		case plan.TruncateTable:
			stmts = []string{"TRUNCATE TABLE " + qt}
		case plan.DropTable:
			stmts = []string{"DROP TABLE IF EXISTS " + qt}
		case plan.CreateDatabase:
			stmts = []string{"CREATE SCHEMA IF NOT EXISTS " + quote(op.NewDatabase)}
		case plan.RenameTable:
			if err := renameKey(ctx, q, qt, op.NewTable); err != nil {
				return err
			}
			// A move to another schema, then a rename within it.
			if op.NewDatabase != op.Database {
				stmts = append(stmts, "ALTER TABLE "+qt+" SET SCHEMA "+quote(op.NewDatabase))
				qt = qualified(op.NewDatabase, op.Table)
			}
			if op.NewTable != op.Table {
				stmts = append(stmts, "ALTER TABLE "+qt+" RENAME TO "+quote(op.NewTable))
			}
		case plan.DropDatabase:
			if err := dropSchema(ctx, q, op.Database); err != nil {
				return err
			}
			continue
		default:
			return fmt.Errorf("%w: %s", apply.ErrUnsupportedDDL, op)
		}
		for _, stmt := range stmts {
			if _, err := q.Exec(ctx, stmt, args...); err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
		}
	}
	return nil
}

// renameKey names the primary key of table qt (qualified) after the table
// it is renamed to. The key's index is named after the table it was created
// with and stays in the table's schema: named after the new table, it meets
// no index of a table created since under the old name, nor one of the new
// schema.
func renameKey(ctx context.Context, q querier, qt, newTable string) error {
	rows, err := q.Query(ctx, "SELECT conname::text FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'", qt)
	if err != nil {
		return fmt.Errorf("read the key of %s: %w", qt, err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("read the key of %s: %w", qt, err)
	}
	if want := newTable + "_pkey"; len(keys) == 1 && keys[0] != want {
		if _, err := q.Exec(ctx, "ALTER TABLE "+qt+" RENAME CONSTRAINT "+quote(keys[0])+" TO "+quote(want)); err != nil {
			return fmt.Errorf("rename the key of %s: %w", qt, err)
		}
	}
	return nil
}

// dropSchema drops a schema left empty of apply's tables. RESTRICT: a
// schema still holding other objects stays; a savepoint keeps the
// transaction usable when it does.
func dropSchema(ctx context.Context, q querier, name string) error {
	sp, err := q.Begin(ctx)
	if err != nil {
		return err
	}
	if _, err := sp.Exec(ctx, "DROP SCHEMA IF EXISTS "+quote(name)+" RESTRICT"); err != nil {
		_ = sp.Rollback(ctx)
		var pe interface{ SQLState() string }
		if errors.As(err, &pe) && pe.SQLState() == "2BP01" {
			return nil
		}
		return fmt.Errorf("drop schema %s: %w", name, err)
	}
	return sp.Commit(ctx)
}

func scanOne(ctx context.Context, q querier, sql string, dst ...any) error {
	rows, err := q.Query(ctx, sql)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return errors.New("no row")
	}
	if err := rows.Scan(dst...); err != nil {
		return err
	}
	rows.Close()
	return rows.Err()
}

// remember keeps a table's column types, for converting values.
func (s *Sink) remember(schemaName, table string, cols plan.Table) {
	types := make(map[string]string, len(cols.Columns))
	for _, c := range cols.Columns {
		types[c.Name] = c.Type
	}
	s.typesMu.Lock()
	s.types[schemaName+"\x00"+table] = types
	s.typesMu.Unlock()
}

func (s *Sink) forget(schemaName, table string) {
	s.typesMu.Lock()
	delete(s.types, schemaName+"\x00"+table)
	s.typesMu.Unlock()
}
