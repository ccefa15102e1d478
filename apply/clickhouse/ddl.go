package clickhouse

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/syncline/syncline/apply"
)

// SchemaChange applies what a row-shape diff cannot see; see apply.Sink.
// The tables' cached metadata is forgotten first.
func (s *Sink) SchemaChange(ctx context.Context, ev apply.SchemaChange) error {
	s.forget()
	return s.withConn(ctx, func(ctx context.Context, c driver.Conn, srv *server) error {
		switch ev.Kind {
		case apply.DDLAlterTable:
			return renameColumns(ctx, c, srv, ev)
		case apply.DDLTruncateTable:
			_, err := removeOlder(ctx, c, ev.Database, ev.Table, ev.Version, false)
			return err
		case apply.DDLDropTable:
			_, err := removeOlder(ctx, c, ev.Database, ev.Table, ev.Version, true)
			return err
		case apply.DDLRenameTable:
			return renameTable(ctx, c, ev)
		case apply.DDLDropDatabase:
			return dropDatabase(ctx, c, ev)
		}
		return nil
	})
}

// renameColumns renames the columns of an alter_table that the table still
// has under their old names. Servers before 20.4 have no RENAME COLUMN, and
// no server renames a sorting-key column: those return ErrUnsupportedDDL.
func renameColumns(ctx context.Context, c driver.Conn, srv *server, ev apply.SchemaChange) error {
	if len(ev.RenamedColumns) == 0 {
		return nil
	}
	cols, err := columns(ctx, c, ev.Database, ev.Table)
	if err != nil || len(cols) == 0 {
		return err
	}
	ti, _, err := readTable(ctx, c, ev.Database, ev.Table)
	if err != nil {
		return err
	}
	for from, to := range ev.RenamedColumns {
		if !hasColumn(cols, from) || hasColumn(cols, to) {
			continue // renamed already
		}
		for _, k := range ti.sortingKey {
			if k == from {
				return fmt.Errorf("%w: %q renames key column %s of %s.%s; ClickHouse cannot rename a sorting key column",
					apply.ErrUnsupportedDDL, ev.DDL, from, ev.Database, ev.Table)
			}
		}
		if !srv.renameColumn {
			return fmt.Errorf("%w: %q renames column %s of %s.%s to %s, and ClickHouse %s has no RENAME COLUMN (20.4 and later have it); once skipped, the old column keeps the values written before the rename and the new name is added",
				apply.ErrUnsupportedDDL, ev.DDL, from, ev.Database, ev.Table, to, srv.version)
		}
		if err := c.Exec(ctx, "ALTER TABLE "+qualified(ev.Database, ev.Table)+" RENAME COLUMN "+quote(from)+" TO "+quote(to)); err != nil {
			return fmt.Errorf("rename column %s of %s.%s: %w", from, ev.Database, ev.Table, err)
		}
	}
	return nil
}

// versions is what a table holds: rows (deleted ones included) and their
// lowest and highest version.
type versions struct {
	rows        uint64
	low, newest uint64
}

func readVersions(ctx context.Context, c driver.Conn, db, table string) (versions, error) {
	var v versions
	col := quote(apply.VersionColumn)
	err := c.QueryRow(ctx, "SELECT count(), min("+col+"), max("+col+") FROM "+qualified(db, table)).Scan(&v.rows, &v.low, &v.newest)
	if err != nil {
		return v, fmt.Errorf("read versions of %s.%s: %w", db, table, err)
	}
	return v, nil
}

// removeOlder removes the rows with a version below version (a truncate or
// drop at version); with drop, it then drops the table unless newer rows
// remain. It reports whether the table is gone. When every row is older,
// TRUNCATE (or DROP) does it at once; when only some are, an ALTER ...
// DELETE mutation does, and removeOlder waits for it.
func removeOlder(ctx context.Context, c driver.Conn, db, table string, version int64, drop bool) (bool, error) {
	cols, err := columns(ctx, c, db, table)
	if err != nil {
		return false, err
	}
	if len(cols) == 0 {
		return true, nil
	}
	if !hasColumn(cols, apply.VersionColumn) {
		return false, nil // not apply's table
	}
	v, err := readVersions(ctx, c, db, table)
	if err != nil {
		return false, err
	}
	q := qualified(db, table)
	switch {
	case v.rows == 0 || v.newest < uint64(version):
		if drop {
			if err := c.Exec(ctx, "DROP TABLE IF EXISTS "+q); err != nil {
				return false, fmt.Errorf("drop %s.%s: %w", db, table, err)
			}
			return true, nil
		}
		if v.rows > 0 {
			if err := c.Exec(ctx, "TRUNCATE TABLE "+q); err != nil {
				return false, fmt.Errorf("truncate %s.%s: %w", db, table, err)
			}
		}
	case v.low < uint64(version):
		// The version is an int64 formatted by strconv, not user data:
		// pasting it is safe (the server has no bound parameters).
		if err := c.Exec(ctx, "ALTER TABLE "+q+" DELETE WHERE "+quote(apply.VersionColumn)+" < "+strconv.FormatInt(version, 10)); err != nil {
			return false, fmt.Errorf("remove rows of %s.%s older than version %d: %w", db, table, version, err)
		}
		if err := waitMutations(ctx, c, db, table); err != nil {
			return false, fmt.Errorf("remove rows of %s.%s older than version %d: %w", db, table, version, err)
		}
	}
	return false, nil
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

// renameTable renames a table, unless that happened already.
func renameTable(ctx context.Context, c driver.Conn, ev apply.SchemaChange) error {
	from, err := columns(ctx, c, ev.Database, ev.Table)
	if err != nil || len(from) == 0 {
		return err // done already, or never created
	}
	to, err := columns(ctx, c, ev.NewDatabase, ev.NewTable)
	if err != nil {
		return err
	}
	newName := qualified(ev.NewDatabase, ev.NewTable)
	if len(to) > 0 {
		if !hasColumn(to, apply.VersionColumn) {
			return fmt.Errorf("%w: rename %s.%s to %s.%s: the new name is taken by a table syncline apply did not create", apply.ErrUnsupportedDDL, ev.Database, ev.Table, ev.NewDatabase, ev.NewTable)
		}
		v, err := readVersions(ctx, c, ev.NewDatabase, ev.NewTable)
		if err != nil {
			return err
		}
		switch {
		case v.rows > 0 && v.newest >= uint64(ev.Version):
			return nil // renamed already; the old name was created again since
		case v.rows == 0:
			if err := c.Exec(ctx, "DROP TABLE "+newName); err != nil {
				return fmt.Errorf("drop empty %s.%s: %w", ev.NewDatabase, ev.NewTable, err)
			}
		default:
			return fmt.Errorf("%w: rename %s.%s to %s.%s: both tables hold rows older than the rename", apply.ErrUnsupportedDDL, ev.Database, ev.Table, ev.NewDatabase, ev.NewTable)
		}
	}
	if ev.NewDatabase != ev.Database {
		if err := c.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+quote(ev.NewDatabase)); err != nil {
			return fmt.Errorf("create database %s: %w", ev.NewDatabase, err)
		}
	}
	if err := c.Exec(ctx, "RENAME TABLE "+qualified(ev.Database, ev.Table)+" TO "+newName); err != nil {
		return fmt.Errorf("rename %s.%s to %s.%s: %w", ev.Database, ev.Table, ev.NewDatabase, ev.NewTable, err)
	}
	return nil
}

// dropDatabase removes the rows older than the statement from every table
// of the database, drops the tables left empty, and the database when no
// table is left in it (a table apply did not create is never dropped).
func dropDatabase(ctx context.Context, c driver.Conn, ev apply.SchemaChange) error {
	qctx, err := withNames(ctx, tableKey{db: ev.Database})
	if err != nil {
		return err
	}
	rows, err := c.Query(qctx, "SELECT name FROM system.tables WHERE database IN (SELECT db FROM "+namesTable+")")
	if err != nil {
		return fmt.Errorf("list tables of %s: %w", ev.Database, err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return fmt.Errorf("list tables of %s: %w", ev.Database, err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list tables of %s: %w", ev.Database, err)
	}
	left := 0
	for _, table := range tables {
		gone, err := removeOlder(ctx, c, ev.Database, table, ev.Version, true)
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
	if err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+quote(ev.Database)); err != nil {
		return fmt.Errorf("drop database %s: %w", ev.Database, err)
	}
	return nil
}
