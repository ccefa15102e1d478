package precheck

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/syncline/syncline/capture"
	"github.com/syncline/syncline/filter"
	"github.com/syncline/syncline/internal/target/targetcheck"
	"github.com/syncline/syncline/schema"
	"github.com/syncline/syncline/task"
)

// sourceTable is a selected source table and what precheck read about it.
type sourceTable struct {
	db, name string
	engine   string
	def      schema.Table // as capture.CheckTable read it; valid when loadErr is nil or wraps schema.ErrNoKey
	loadErr  error        // capture.CheckTable's error
}

// String returns db.table.
func (t sourceTable) String() string { return t.db + "." + t.name }

// quoted returns `db`.`table`.
func (t sourceTable) quoted() string { return quoteIdent(t.db) + "." + quoteIdent(t.name) }

// baseTableTypes are the TABLE_TYPEs of tables holding rows (MariaDB
// reports system-versioned tables apart); views and sequences are skipped.
const baseTableTypes = "'BASE TABLE', 'SYSTEM VERSIONED'"

// checkTablesSelected lists the source tables that --tables and
// --exclude-tables select, and fails for every include pattern that
// selects none.
func checkTablesSelected(ctx context.Context, r *run) []Result {
	const name = "tables.selected"
	s := r.source
	if s == nil {
		return nil
	}
	rows, err := s.query(ctx, "SELECT TABLE_SCHEMA, TABLE_NAME, IFNULL(ENGINE, '') FROM information_schema.TABLES"+
		" WHERE TABLE_TYPE IN ("+baseTableTypes+") ORDER BY TABLE_SCHEMA, TABLE_NAME")
	if err != nil {
		return []Result{fail(name, "check that the user may read information_schema", "cannot list the source tables: %v", err)}
	}
	f := r.cfg.Tables
	var includes []filter.Pattern
	if ff, ok := f.(*filter.Filter); ok {
		includes = ff.Includes()
	}
	matched := make([]int, len(includes))
	for _, row := range rows {
		db, table := row[0], row[1]
		if !f.Match(db, table) {
			continue
		}
		for i, p := range includes {
			if p.Match(db, table) {
				matched[i]++
			}
		}
		r.tables = append(r.tables, sourceTable{db: db, name: table, engine: row[2]})
	}
	var out []Result
	for i, p := range includes {
		if matched[i] == 0 {
			out = append(out, fail(name,
				fmt.Sprintf("check the pattern (names are case-sensitive) and that %s has SELECT on the tables: tables it has no privilege on are invisible to it", s.user),
				"pattern %s selects no table (filter %s)", p, f))
		}
	}
	if len(r.tables) == 0 && len(includes) == 0 {
		out = append(out, fail(name,
			fmt.Sprintf("check the objects' names (they are case-sensitive) and that %s has SELECT on the tables", s.user),
			"the objects %s select no table", f))
	}
	if len(r.tables) > 0 {
		names := make([]string, len(r.tables))
		for i, t := range r.tables {
			names[i] = t.String()
		}
		out = append(out, pass(name, "%s: %s", tablesSelected(len(r.tables)), targetcheck.ListNames(names, 10)))
	}
	return out
}

// checkTableDefinitions reads the definition of every selected table with
// capture.CheckTable, the check capture runs, and fails for those it cannot read for
// another reason than the ones the later checks report.
func checkTableDefinitions(ctx context.Context, r *run) []Result {
	const name = "tables.definition"
	if r.source == nil {
		return nil
	}
	var out []Result
	for i := range r.tables {
		t := &r.tables[i]
		lctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
		t.def, t.loadErr = capture.CheckTable(lctx, r.source.conn, t.db, t.name)
		cancel()
		switch {
		case t.loadErr == nil, errors.Is(t.loadErr, schema.ErrNoKey), errors.Is(t.loadErr, schema.ErrUnsupportedType):
		case errors.Is(t.loadErr, schema.ErrNoTable):
			out = append(out, fail(name, "run precheck again once no DDL runs on the source", "%s disappeared while precheck read it", t))
		default:
			out = append(out, fail(name, "check that the user may read information_schema", "cannot read the definition of %s: %v", t, t.loadErr))
		}
	}
	if len(out) == 0 && len(r.tables) > 0 {
		out = append(out, pass(name, "read the columns and keys of the %s", tablesSelected(len(r.tables))))
	}
	return out
}

// sourceDatabases returns the databases of the selected tables, in order.
func (r *run) sourceDatabases() []string {
	var dbs []string
	for _, t := range r.tables {
		if len(dbs) == 0 || dbs[len(dbs)-1] != t.db {
			dbs = append(dbs, t.db)
		}
	}
	return dbs
}

// checkTableEngines warns about tables that are not InnoDB: the snapshot is
// a consistent read only for transactional tables.
func checkTableEngines(_ context.Context, r *run) []Result {
	const name = "tables.engine"
	var out []Result
	for _, t := range r.tables {
		if !strings.EqualFold(t.engine, "InnoDB") {
			out = append(out, warn(name,
				fmt.Sprintf("ALTER TABLE %s ENGINE=InnoDB, or accept a snapshot that is not a point-in-time copy", t.quoted()),
				"%s uses %s, not InnoDB: its snapshot is not a consistent read, so the target may briefly hold rows newer than their position until capture catches up", t, orNone(t.engine)))
		}
	}
	if len(out) == 0 && len(r.tables) > 0 {
		out = append(out, pass(name, "InnoDB: the %s", tablesSelected(len(r.tables))))
	}
	return out
}

// checkTableKeys requires a primary key, or a unique key whose columns are
// all NOT NULL: change events are keyed by it.
func checkTableKeys(_ context.Context, r *run) []Result {
	const name = "tables.key"
	var out []Result
	checked := 0
	for _, t := range r.tables {
		switch {
		case t.loadErr == nil:
			checked++
		case errors.Is(t.loadErr, schema.ErrNoKey):
			checked++
			out = append(out, fail(name,
				fmt.Sprintf("ALTER TABLE %s ADD PRIMARY KEY (...), or leave it out with --exclude-tables %s", t.quoted(), t),
				"%s has no primary key and no unique key on NOT NULL columns: its change events would have no key", t))
		}
	}
	if len(out) == 0 && checked > 0 {
		out = append(out, pass(name, "a primary key or a unique key on NOT NULL columns: the %s read", tablesSelected(checked)))
	}
	return out
}

// checkColumnTypes fails for every table with a column whose type (or
// character set) the event format cannot carry (docs/events.md, "Types").
func checkColumnTypes(_ context.Context, r *run) []Result {
	const name = "tables.types"
	var out []Result
	checked := 0
	for _, t := range r.tables {
		switch {
		case t.loadErr == nil, errors.Is(t.loadErr, schema.ErrNoKey):
			checked++
		case errors.Is(t.loadErr, schema.ErrUnsupportedType):
			checked++
			out = append(out, fail(name,
				fmt.Sprintf("change the column to a supported type (CHAR, BINARY or VARCHAR hold these values), or leave the table out with --exclude-tables %s", t),
				"%v: Syncline cannot capture this column", loadCause(t.loadErr)))
		}
	}
	if len(out) == 0 && checked > 0 {
		out = append(out, pass(name, "supported column types only: the %s read", tablesSelected(checked)))
	}
	return out
}

// ruledSelection is a selection with per-table rules: a task's
// *task.Objects.
type ruledSelection interface {
	Rules(db, table string) *task.TableRules
}

// checkTableRules fails for every table whose task rules (columns,
// drop-columns, filter) do not fit its columns, with the words capture
// would stop with (task.TableRules.Fit).
func checkTableRules(_ context.Context, r *run) []Result {
	const name = "tables.rules"
	sel, ok := r.cfg.Tables.(ruledSelection)
	if !ok {
		return nil
	}
	var out []Result
	checked := 0
	for _, t := range r.tables {
		tr := sel.Rules(t.db, t.name)
		if tr.Keeps() || !(t.loadErr == nil || errors.Is(t.loadErr, schema.ErrNoKey)) {
			continue
		}
		checked++
		if err := tr.Fit(t.def); err != nil {
			out = append(out, fail(name, "correct the rule in the task spec, or the table", "%v", err))
		}
	}
	if len(out) == 0 && checked > 0 {
		out = append(out, pass(name, "the objects' columns and filters fit the %s with rules", tablesSelected(checked)))
	}
	return out
}

// loadCause returns the cause of capture.CheckTable's refusal of a table,
// without capture's fix: precheck's results put their own fix apart.
func loadCause(err error) error {
	var c interface{ Cause() error }
	if errors.As(err, &c) {
		return c.Cause()
	}
	return err
}
