package clickhouse

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/internal/target/plan"
)

// SchemaChange applies what a row-shape diff cannot see, as the plan
// package decides; see apply.Sink. The tables' cached metadata is
// forgotten first.
func (s *Sink) SchemaChange(ctx context.Context, ev apply.SchemaChange) error {
	s.forget()
	return s.withConn(ctx, func(ctx context.Context, c driver.Conn, srv *server) error {
		var ops []plan.Op
		switch ev.Kind {
		case apply.DDLAlterTable:
			if len(ev.RenamedColumns) == 0 {
				return nil
			}
			cur, err := current(ctx, c, ev.Database, ev.Table)
			if err != nil {
				return err
			}
			ops = plan.RenameColumns(ev, cur, caps(srv), "ClickHouse "+srv.version+" has no RENAME COLUMN (20.4 and later have it)")
		case apply.DDLTruncateTable, apply.DDLDropTable:
			v, err := readVersions(ctx, c, ev.Database, ev.Table)
			if err != nil {
				return err
			}
			ops, _ = plan.Truncate(ev.Database, ev.Table, v, ev.Version, ev.Kind == apply.DDLDropTable, caps(srv))
		case apply.DDLRenameTable:
			from, err := columns(ctx, c, ev.Database, ev.Table)
			if err != nil {
				return err
			}
			to, err := readVersions(ctx, c, ev.NewDatabase, ev.NewTable)
			if err != nil {
				return err
			}
			ops = plan.MoveTable(ev, len(from) > 0, to)
		case apply.DDLDropDatabase:
			names, err := tablesOf(ctx, c, ev.Database)
			if err != nil {
				return err
			}
			tables := make(map[string]plan.Versions, len(names))
			for _, table := range names {
				if tables[table], err = readVersions(ctx, c, ev.Database, table); err != nil {
					return err
				}
			}
			ops = plan.ClearDatabase(ev.Database, tables, ev.Version, caps(srv))
		}
		return runPlan(ctx, c, ops)
	})
}

// runPlan renders and runs the operations of a schema-change plan.
func runPlan(ctx context.Context, c driver.Conn, ops []plan.Op) error {
	if err := plan.Err(ops); err != nil {
		return err
	}
	for _, op := range ops {
		var stmt string
		q := qualified(op.Database, op.Table)
		switch op.Kind {
		case plan.RenameColumn:
			stmt = "ALTER TABLE " + q + " RENAME COLUMN " + quote(op.From) + " TO " + quote(op.To)
		case plan.DeleteOlder:
			// The version is an int64 formatted by strconv, not user data:
			// pasting it is safe (the server has no bound parameters).
			stmt = "ALTER TABLE " + q + " DELETE WHERE " + quote(apply.VersionColumn) + " < " + strconv.FormatInt(op.Version, 10)
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
		if err := c.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		if op.Kind == plan.DeleteOlder {
			// ALTER ... DELETE is a mutation that runs in the background.
			if err := waitMutations(ctx, c, op.Database, op.Table); err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
		}
	}
	return nil
}

// readVersions reads what a table holds for the plan of a statement that
// removes rows: its rows (deleted ones included) and their lowest and
// highest version.
func readVersions(ctx context.Context, c driver.Conn, db, table string) (plan.Versions, error) {
	cols, err := columns(ctx, c, db, table)
	if err != nil || len(cols) == 0 {
		return plan.Versions{}, err
	}
	v := plan.Versions{Exists: true, Ours: hasColumn(cols, apply.VersionColumn)}
	if !v.Ours {
		return v, nil
	}
	var low, newest uint64
	col := quote(apply.VersionColumn)
	err = c.QueryRow(ctx, "SELECT count(), min("+col+"), max("+col+") FROM "+qualified(db, table)).Scan(&v.Rows, &low, &newest)
	if err != nil {
		return v, fmt.Errorf("read versions of %s.%s: %w", db, table, err)
	}
	v.Low, v.Newest = int64(low), int64(newest)
	return v, nil
}

// waitMutations waits until the table has no unfinished mutation (ALTER
// ... DELETE runs in the background; 18.16 has no mutations_sync).
func waitMutations(ctx context.Context, c driver.Conn, db, table string) error {
	wait := 10 * time.Millisecond
	for {
		qctx, err := withNames(ctx, tableKey{db, table})
		if err != nil {
			return err
		}
		var pending uint64
		if err := c.QueryRow(qctx, "SELECT count() FROM system.mutations WHERE (database, table) IN (SELECT db, tbl FROM "+namesTable+") AND is_done = 0").Scan(&pending); err != nil {
			return fmt.Errorf("wait for the mutation: %w", err)
		}
		if pending == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the mutation is still running: %w", ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// tablesOf lists the tables of a database.
func tablesOf(ctx context.Context, c driver.Conn, db string) ([]string, error) {
	qctx, err := withNames(ctx, tableKey{db: db})
	if err != nil {
		return nil, err
	}
	rows, err := c.Query(qctx, "SELECT name FROM system.tables WHERE database IN (SELECT db FROM "+namesTable+")")
	if err != nil {
		return nil, fmt.Errorf("list tables of %s: %w", db, err)
	}
	defer rows.Close()
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("list tables of %s: %w", db, err)
		}
		tables = append(tables, name)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tables of %s: %w", db, err)
	}
	return tables, nil
}
