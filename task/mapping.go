package task

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/syncline/syncline/rules"
)

// Mapping is how a target names and narrows the source's tables: new names
// for databases, tables and columns, and filters and dropped columns that
// only this target applies.
type Mapping struct {
	dbs map[string]dbMapping
}

type dbMapping struct {
	rename string
	tables map[string]TableMapping
}

// TableMapping is how one source table appears in a target.
type TableMapping struct {
	// Path is the table's place in the spec, for errors.
	Path string
	// Database and Table are the target's names.
	Database, Table string
	// Columns maps source column names to target names; others keep
	// theirs.
	Columns map[string]string
	// Drop holds source columns the target does not hold.
	Drop map[string]bool
	// Filter keeps the rows that satisfy it; nil keeps all.
	Filter *rules.Expr
}

// Column returns the target name of a source column.
func (m TableMapping) Column(name string) string {
	if n, ok := m.Columns[name]; ok {
		return n
	}
	return name
}

// Identity reports whether the mapping changes nothing about the table.
func (m TableMapping) Identity(db, table string) bool {
	return m.Database == db && m.Table == table && len(m.Columns) == 0 && len(m.Drop) == 0 && m.Filter == nil
}

// Mapping compiles the target's mapping.
func (t *Target) Mapping(path string) (*Mapping, error) { return compileMapping(*t, path) }

func compileMapping(t Target, p string) (*Mapping, error) {
	m := &Mapping{dbs: map[string]dbMapping{}}
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s: %s", ErrBadSpec, path, fmt.Sprintf(format, args...)))
	}
	newDBs := map[string]string{}
	for _, db := range sortedKeys(t.Databases) {
		dm := t.Databases[db]
		dp := p + ".databases." + db
		target := db
		if dm.Rename != "" {
			target = dm.Rename
			if strings.ContainsAny(dm.Rename, "*?") {
				bad(dp+".rename", "%q: a new name cannot be a pattern", dm.Rename)
			}
		}
		if other, dup := newDBs[target]; dup {
			bad(dp+".rename", "both %s and %s would be database %q in the target", other, db, target)
		}
		newDBs[target] = db
		out := dbMapping{rename: dm.Rename, tables: map[string]TableMapping{}}
		newTables := map[string]string{}
		for _, tbl := range sortedKeys(dm.Tables) {
			tm := dm.Tables[tbl]
			tp := dp + ".tables." + tbl
			m := TableMapping{Path: tp, Database: target, Table: tbl, Columns: map[string]string{}, Drop: map[string]bool{}}
			if tm.Rename != "" {
				m.Table = tm.Rename
			}
			if other, dup := newTables[m.Table]; dup {
				bad(tp+".rename", "both %s and %s would be table %q in the target", other, tbl, m.Table)
			}
			newTables[m.Table] = tbl
			newCols := map[string]string{}
			for _, from := range sortedKeys(tm.RenameColumns) {
				to := tm.RenameColumns[from]
				if to == "" {
					bad(tp+".rename-columns."+from, "empty new name")
				}
				if other, dup := newCols[to]; dup {
					bad(tp+".rename-columns."+from, "both %s and %s would be column %q", other, from, to)
				}
				newCols[to] = from
				m.Columns[from] = to
			}
			for i, c := range tm.DropColumns {
				if c == "" {
					bad(fmt.Sprintf("%s.drop-columns[%d]", tp, i), "empty column name")
				}
				m.Drop[c] = true
			}
			if tm.Filter != "" {
				e, err := rules.ParseExpr(tm.Filter)
				if err != nil {
					bad(tp+".filter", "%v", err)
				}
				m.Filter = e
			}
			out.tables[tbl] = m
		}
		m.dbs[db] = out
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return m, nil
}

// Table returns the mapping of source table db.table.
func (m *Mapping) Table(db, table string) TableMapping {
	d, ok := m.dbs[db]
	if !ok {
		return TableMapping{Database: db, Table: table}
	}
	if tm, ok := d.tables[table]; ok {
		return tm
	}
	target := db
	if d.rename != "" {
		target = d.rename
	}
	return TableMapping{Database: target, Table: table}
}

// Database returns the target name of a source database.
func (m *Mapping) Database(db string) string {
	if d, ok := m.dbs[db]; ok && d.rename != "" {
		return d.rename
	}
	return db
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
