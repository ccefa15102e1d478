package task

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/syncline/syncline/filter"
	"github.com/syncline/syncline/rules"
)

// Objects is a compiled object list: which tables a task syncs and, per
// table, what of their changes. It is safe for concurrent reads.
type Objects struct {
	list  []Object
	rules []*TableRules // per object
}

// TableRules is what of one table's changes capture publishes.
type TableRules struct {
	// Path is the object's place in the spec, e.g. "objects[1]", for errors.
	Path string
	// Columns, when not empty, are the only columns kept; DropColumns are
	// left out. The key columns are always kept.
	Columns, DropColumns []string
	// Filter keeps the rows that satisfy it; nil keeps all.
	Filter *rules.Expr
	// Ops are the operations synced.
	Ops rules.Ops
}

// Keeps reports whether the rules change nothing: all columns, rows and
// operations.
func (r *TableRules) Keeps() bool {
	return r == nil || (len(r.Columns) == 0 && len(r.DropColumns) == 0 && r.Filter == nil && r.Ops == 0)
}

// KeepColumn reports whether the column name is kept (key columns must be
// kept by the caller regardless).
func (r *TableRules) KeepColumn(name string) bool {
	if r == nil {
		return true
	}
	if len(r.Columns) > 0 && !slices.Contains(r.Columns, name) {
		return false
	}
	return !slices.Contains(r.DropColumns, name)
}

// CompileObjects checks an object list and compiles it. Errors wrap
// ErrBadSpec and name the field as objects[i].field.
func CompileObjects(list []Object) (*Objects, error) {
	o := &Objects{list: slices.Clone(list)}
	var errs []error
	bad := func(p, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s: %s", ErrBadSpec, p, fmt.Sprintf(format, args...)))
	}
	for i, ob := range list {
		p := fmt.Sprintf("objects[%d]", i)
		r := &TableRules{Path: p, Columns: ob.Columns, DropColumns: ob.DropColumns}
		if ob.Database == "" {
			bad(p+".database", "required: a database name or pattern")
		} else if err := checkPattern(ob.Database); err != nil {
			bad(p+".database", "%v", err)
		} else if filter.IsSystemDatabase(ob.Database) {
			bad(p+".database", "%q is a system database, which is never synced", ob.Database)
		}
		for j, t := range ob.Tables {
			if err := checkPattern(t); err != nil {
				bad(fmt.Sprintf("%s.tables[%d]", p, j), "%v", err)
			}
		}
		for j, t := range ob.Exclude {
			if err := checkPattern(t); err != nil {
				bad(fmt.Sprintf("%s.exclude[%d]", p, j), "%v", err)
			}
		}
		if len(ob.Columns) > 0 && len(ob.DropColumns) > 0 {
			bad(p, "give columns (the ones to keep) or drop-columns (the ones to leave out), not both")
		}
		for _, c := range append(slices.Clone(ob.Columns), ob.DropColumns...) {
			if strings.TrimSpace(c) == "" {
				bad(p, "an empty column name in columns/drop-columns")
			}
		}
		if ob.Filter != "" {
			e, err := rules.ParseExpr(ob.Filter)
			if err != nil {
				bad(p+".filter", "%v", err)
			}
			r.Filter = e
		}
		ops, err := rules.ParseOps(ob.Operations)
		if err != nil {
			bad(p+".operations", "%v", err)
		}
		r.Ops = ops
		o.rules = append(o.rules, r)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return o, nil
}

// checkPattern checks a name or pattern of * and ? (path.Match syntax).
func checkPattern(p string) error {
	if strings.TrimSpace(p) == "" {
		return errors.New("empty name")
	}
	if _, err := path.Match(p, ""); err != nil {
		return fmt.Errorf("%q is not a valid pattern: %v", p, err)
	}
	return nil
}

// List returns the object list as written.
func (o *Objects) List() []Object { return slices.Clone(o.list) }

// object returns the index of the first object that selects db.table, -1
// when none does.
func (o *Objects) object(db, table string) int {
	if filter.IsSystemDatabase(db) {
		return -1
	}
	for i, ob := range o.list {
		if ok, _ := path.Match(ob.Database, db); !ok {
			continue
		}
		if len(ob.Tables) > 0 && !matchAny(ob.Tables, table) {
			continue
		}
		if matchAny(ob.Exclude, table) {
			continue
		}
		return i
	}
	return -1
}

func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// Match reports whether the task syncs db.table.
func (o *Objects) Match(db, table string) bool { return o.object(db, table) >= 0 }

// Rules returns the rules of db.table; nil when the table is not selected
// or its object keeps everything.
func (o *Objects) Rules(db, table string) *TableRules {
	i := o.object(db, table)
	if i < 0 || o.rules[i].Keeps() {
		return nil
	}
	return o.rules[i]
}

// String describes the selection, e.g. "shop.{orders,users} crm.*".
func (o *Objects) String() string {
	var parts []string
	for _, ob := range o.list {
		s := ob.Database + ".*"
		if len(ob.Tables) == 1 {
			s = ob.Database + "." + ob.Tables[0]
		} else if len(ob.Tables) > 1 {
			s = ob.Database + ".{" + strings.Join(ob.Tables, ",") + "}"
		}
		if len(ob.Exclude) > 0 {
			s += " excluding " + strings.Join(ob.Exclude, ",")
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// Equal reports whether two object lists are the same.
func Equal(a, b []Object) bool {
	return slices.EqualFunc(a, b, func(x, y Object) bool {
		return x.Database == y.Database && slices.Equal(x.Tables, y.Tables) && slices.Equal(x.Exclude, y.Exclude) &&
			slices.Equal(x.Columns, y.Columns) && slices.Equal(x.DropColumns, y.DropColumns) &&
			x.Filter == y.Filter && slices.Equal(x.Operations, y.Operations)
	})
}
