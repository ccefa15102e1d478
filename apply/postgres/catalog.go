package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/schema"
)

// targetColumn is a column as the catalog describes it.
type targetColumn struct {
	name     string
	typ      string // format_type
	nullable bool
}

// columns reads a table's columns in order; none when it does not exist.
func columns(ctx context.Context, q querier, schemaName, table string) ([]targetColumn, error) {
	rows, err := q.Query(ctx, `SELECT a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`, schemaName, table)
	if err != nil {
		return nil, fmt.Errorf("read columns of %s.%s: %w", schemaName, table, err)
	}
	var out []targetColumn
	for rows.Next() {
		var c targetColumn
		if err := rows.Scan(&c.name, &c.typ, &c.nullable); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read columns of %s.%s: %w", schemaName, table, err)
	}
	return out, nil
}

// querier runs the statements of a schema change: a transaction.
type querier = pgx.Tx

func hasColumn(cols []targetColumn, name string) bool {
	for _, c := range cols {
		if c.name == name {
			return true
		}
	}
	return false
}

const versionDef = ` bigint NOT NULL DEFAULT 0`

// Prepare creates or evolves a table; see apply.Sink. The changes run in
// one transaction.
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
		return pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			q := tx
			cols, err := columns(ctx, q, t.Database, t.Name)
			if err != nil {
				return err
			}
			if len(cols) == 0 {
				if len(t.Key) == 0 {
					return nil
				}
				if err := s.create(ctx, q, t); err != nil {
					return err
				}
				s.forget(t.Database, t.Name)
				return nil
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
			if !hasColumn(cols, apply.VersionColumn) {
				if opts.Existing != apply.ExistingWrite {
					return fmt.Errorf("%w: %s was not created by syncline apply (it has no %s column); drop it, or restart apply with --existing-tables write to write into it",
						apply.ErrExistingTable, name, apply.VersionColumn)
				}
				s.log.Warn("writing into an existing table, as --existing-tables write asks; adding the version column", "table", name)
				if err := exec("ALTER TABLE " + table + " ADD COLUMN " + quote(apply.VersionColumn) + versionDef); err != nil {
					return err
				}
			}
			if len(t.Key) > 0 {
				rows, err := tx.Query(ctx, `SELECT a.attname FROM pg_index i
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)`, table)
				if err != nil {
					return fmt.Errorf("read primary key of %s: %w", name, err)
				}
				got, err := pgx.CollectRows(rows, pgx.RowTo[string])
				if err != nil {
					return fmt.Errorf("read primary key of %s: %w", name, err)
				}
				if err := apply.CheckKey(t, got); err != nil {
					return err
				}
			}
			want := make(map[string]bool, len(t.Columns))
			for _, col := range t.Columns {
				want[col.Name] = true
			}
			renamed := false
			for _, tc := range cols {
				to, ok := opts.Renamed[tc.name]
				if want[tc.name] || !ok || !want[to] || hasColumn(cols, to) {
					continue
				}
				if err := exec("ALTER TABLE " + table + " RENAME COLUMN " + quote(tc.name) + " TO " + quote(to)); err != nil {
					return err
				}
				renamed = true
			}
			if renamed {
				if cols, err = columns(ctx, q, t.Database, t.Name); err != nil {
					return err
				}
			}
			if opts.DropColumns {
				for _, tc := range cols {
					if !want[tc.name] && tc.name != apply.VersionColumn {
						if err := exec("ALTER TABLE " + table + " DROP COLUMN " + quote(tc.name)); err != nil {
							return err
						}
					}
				}
			}
			have := make(map[string]targetColumn, len(cols))
			for _, tc := range cols {
				have[tc.name] = tc
			}
			for _, col := range t.Columns {
				typ := columnType(col.Type)
				tc, ok := have[col.Name]
				switch {
				case !ok:
					// Rows written before the column existed reach the
					// target without it: it is nullable here.
					if err := exec("ALTER TABLE " + table + " ADD COLUMN " + quote(col.Name) + " " + typ); err != nil {
						return err
					}
					continue
				case tc.typ != typ && !opts.KeepTypes[col.Name]:
					if err := exec("ALTER TABLE " + table + " ALTER COLUMN " + quote(col.Name) + " TYPE " + typ + " USING " + castFrom(quote(col.Name), tc.typ, typ)); err != nil {
						return err
					}
				}
				if col.Nullable && !tc.nullable {
					if err := exec("ALTER TABLE " + table + " ALTER COLUMN " + quote(col.Name) + " DROP NOT NULL"); err != nil {
						return err
					}
				}
			}
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

// SchemaChange applies what a row-shape diff cannot see; see apply.Sink.
func (s *Sink) SchemaChange(ctx context.Context, ev apply.SchemaChange) error {
	if err := checkName(ev.Database, ev.Table, ev.NewDatabase, ev.NewTable); err != nil {
		return fmt.Errorf("%w: %w", apply.ErrUnsupportedDDL, err)
	}
	return s.withConn(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			q := tx
			switch ev.Kind {
			case apply.DDLAlterTable:
				return renameColumns(ctx, q, ev)
			case apply.DDLTruncateTable:
				_, err := removeOlder(ctx, q, ev.Database, ev.Table, ev.Version, false)
				return err
			case apply.DDLDropTable:
				_, err := removeOlder(ctx, q, ev.Database, ev.Table, ev.Version, true)
				return err
			case apply.DDLRenameTable:
				return renameTable(ctx, q, ev)
			case apply.DDLDropDatabase:
				return dropSchema(ctx, q, ev)
			}
			return nil
		})
	})
}

func renameColumns(ctx context.Context, q querier, ev apply.SchemaChange) error {
	if len(ev.RenamedColumns) == 0 {
		return nil
	}
	cols, err := columns(ctx, q, ev.Database, ev.Table)
	if err != nil || len(cols) == 0 {
		return err
	}
	for from, to := range ev.RenamedColumns {
		if hasColumn(cols, from) && !hasColumn(cols, to) {
			if _, err := q.Exec(ctx, "ALTER TABLE "+qualified(ev.Database, ev.Table)+" RENAME COLUMN "+quote(from)+" TO "+quote(to)); err != nil {
				return fmt.Errorf("rename column %s of %s.%s: %w", from, ev.Database, ev.Table, err)
			}
		}
	}
	return nil
}

// removeOlder deletes the rows older than version; with drop, it then drops
// the table unless newer rows remain. It reports whether the table is gone.
func removeOlder(ctx context.Context, q querier, schemaName, table string, version int64, drop bool) (bool, error) {
	cols, err := columns(ctx, q, schemaName, table)
	if err != nil {
		return false, err
	}
	if len(cols) == 0 {
		return true, nil
	}
	if !hasColumn(cols, apply.VersionColumn) {
		return false, nil // not apply's table
	}
	qt := qualified(schemaName, table)
	if _, err := q.Exec(ctx, "DELETE FROM "+qt+" WHERE "+quote(apply.VersionColumn)+" < $1", version); err != nil {
		return false, fmt.Errorf("remove rows of %s.%s older than version %d: %w", schemaName, table, version, err)
	}
	if !drop {
		return false, nil
	}
	var any bool
	if err := scanOne(ctx, q, "SELECT EXISTS (SELECT 1 FROM "+qt+")", &any); err != nil {
		return false, fmt.Errorf("check %s.%s: %w", schemaName, table, err)
	}
	if any {
		return false, nil
	}
	if _, err := q.Exec(ctx, "DROP TABLE IF EXISTS "+qt); err != nil {
		return false, fmt.Errorf("drop %s.%s: %w", schemaName, table, err)
	}
	return true, nil
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

func renameTable(ctx context.Context, q querier, ev apply.SchemaChange) error {
	from, err := columns(ctx, q, ev.Database, ev.Table)
	if err != nil || len(from) == 0 {
		return err
	}
	to, err := columns(ctx, q, ev.NewDatabase, ev.NewTable)
	if err != nil {
		return err
	}
	newName := qualified(ev.NewDatabase, ev.NewTable)
	if len(to) > 0 {
		if !hasColumn(to, apply.VersionColumn) {
			return fmt.Errorf("%w: rename %s.%s to %s.%s: the new name is taken by a table syncline apply did not create", apply.ErrUnsupportedDDL, ev.Database, ev.Table, ev.NewDatabase, ev.NewTable)
		}
		var n, newest int64
		if err := scanOne(ctx, q, "SELECT COUNT(*), COALESCE(MAX("+quote(apply.VersionColumn)+"), 0) FROM "+newName, &n, &newest); err != nil {
			return fmt.Errorf("check %s.%s: %w", ev.NewDatabase, ev.NewTable, err)
		}
		switch {
		case newest >= ev.Version:
			return nil // renamed already; the old name was created again since
		case n == 0:
			if _, err := q.Exec(ctx, "DROP TABLE "+newName); err != nil {
				return fmt.Errorf("drop empty %s.%s: %w", ev.NewDatabase, ev.NewTable, err)
			}
		default:
			return fmt.Errorf("%w: rename %s.%s to %s.%s: both tables hold rows older than the rename", apply.ErrUnsupportedDDL, ev.Database, ev.Table, ev.NewDatabase, ev.NewTable)
		}
	}
	old := qualified(ev.Database, ev.Table)
	// The key's index is named after the table it was created with and
	// stays in the table's schema: named after the new table, it meets no
	// index of a table created since under the old name, nor one of the
	// new schema.
	rows, err := q.Query(ctx, "SELECT conname::text FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'", old)
	if err != nil {
		return fmt.Errorf("read the key of %s.%s: %w", ev.Database, ev.Table, err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("read the key of %s.%s: %w", ev.Database, ev.Table, err)
	}
	if want := ev.NewTable + "_pkey"; len(keys) == 1 && keys[0] != want {
		if _, err := q.Exec(ctx, "ALTER TABLE "+old+" RENAME CONSTRAINT "+quote(keys[0])+" TO "+quote(want)); err != nil {
			return fmt.Errorf("rename the key of %s.%s: %w", ev.Database, ev.Table, err)
		}
	}
	if ev.NewDatabase != ev.Database {
		if _, err := q.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+quote(ev.NewDatabase)); err != nil {
			return fmt.Errorf("create schema %s: %w", ev.NewDatabase, err)
		}
		if _, err := q.Exec(ctx, "ALTER TABLE "+old+" SET SCHEMA "+quote(ev.NewDatabase)); err != nil {
			return fmt.Errorf("move %s.%s to schema %s: %w", ev.Database, ev.Table, ev.NewDatabase, err)
		}
		old = qualified(ev.NewDatabase, ev.Table)
	}
	if ev.NewTable != ev.Table {
		if _, err := q.Exec(ctx, "ALTER TABLE "+old+" RENAME TO "+quote(ev.NewTable)); err != nil {
			return fmt.Errorf("rename %s.%s to %s.%s: %w", ev.Database, ev.Table, ev.NewDatabase, ev.NewTable, err)
		}
	}
	return nil
}

func dropSchema(ctx context.Context, q querier, ev apply.SchemaChange) error {
	rows, err := q.Query(ctx, "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')", ev.Database)
	if err != nil {
		return fmt.Errorf("list tables of %s: %w", ev.Database, err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("list tables of %s: %w", ev.Database, err)
	}
	left := 0
	for _, table := range tables {
		gone, err := removeOlder(ctx, q, ev.Database, table, ev.Version, true)
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
	// RESTRICT: a schema still holding other objects stays. A savepoint
	// keeps the transaction usable when it does.
	sp, err := q.Begin(ctx)
	if err != nil {
		return err
	}
	if _, err := sp.Exec(ctx, "DROP SCHEMA IF EXISTS "+quote(ev.Database)+" RESTRICT"); err != nil {
		_ = sp.Rollback(ctx)
		var pe interface{ SQLState() string }
		if errors.As(err, &pe) && pe.SQLState() == "2BP01" {
			return nil
		}
		return fmt.Errorf("drop schema %s: %w", ev.Database, err)
	}
	return sp.Commit(ctx)
}

// remember keeps a table's column types, for converting values.
func (s *Sink) remember(schemaName, table string, cols []targetColumn) {
	types := make(map[string]string, len(cols))
	for _, c := range cols {
		types[c.name] = c.typ
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
