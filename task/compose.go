package task

import (
	"fmt"
	"slices"

	"github.com/syncline/syncline/rules"
	"github.com/syncline/syncline/schema"
)

// Shape returns the table as the target holds it: under the target's
// names, without the columns the target drops. A dropped key column is an
// error: the target needs the whole key.
func (m TableMapping) Shape(t schema.Table) (schema.Table, error) {
	if m.Identity(t.Database, t.Name) {
		return t, nil
	}
	out := schema.Table{Database: m.Database, Name: m.Table}
	for _, c := range t.Columns {
		if m.Drop[c.Name] {
			continue
		}
		c.Name = m.Column(c.Name)
		out.Columns = append(out.Columns, c)
	}
	for _, k := range t.Key {
		if m.Drop[k] {
			return t, fmt.Errorf("%s.drop-columns: %q is in the key of %s.%s, which the target needs", m.Path, k, t.Database, t.Name)
		}
		out.Key = append(out.Key, m.Column(k))
	}
	return out, nil
}

// Composed is how a task puts one source table into one target: capture's
// rules (kept columns, row filter, operations) composed with the target's
// mapping (names, dropped columns, row filter).
type Composed struct {
	// TableMapping is the target's names, renames, drops and filter.
	TableMapping
	// Omit lists the source columns outside the key that the target does
	// not hold: left out by capture's rules or dropped by the target.
	Omit []string
	// Filter selects the source rows the target holds, given a whole
	// source row in table column order with the values apply receives;
	// nil selects every row. It is capture's filter and the target's.
	Filter func(row []any) bool
	// KeepExtra says the task does not sync deletes: the target keeps rows
	// the source deleted.
	KeepExtra bool
}

// Compose composes capture's rules of a table (tr, nil when none) with the
// target's mapping of it (tm) for the table's shape t. It fails when a
// filter does not fit the table, or when the task does not sync every
// insert and update, so the target is not meant to equal the source.
func Compose(tr *TableRules, tm TableMapping, t schema.Table) (Composed, error) {
	c := Composed{TableMapping: tm}
	for _, col := range t.Columns {
		if slices.Contains(t.Key, col.Name) {
			continue
		}
		if tm.Drop[col.Name] || !tr.KeepColumn(col.Name) {
			c.Omit = append(c.Omit, col.Name)
		}
	}
	var filters []*rules.Filter
	if tr != nil && tr.Filter != nil {
		f, err := tr.Filter.Bind(t.Columns)
		if err != nil {
			return c, fmt.Errorf("%s.filter on %s.%s: %w", tr.Path, t.Database, t.Name, err)
		}
		filters = append(filters, f)
	}
	if tm.Filter != nil {
		f, err := tm.Filter.Bind(t.Columns)
		if err != nil {
			return c, fmt.Errorf("%s.filter on %s.%s: %w", tm.Path, t.Database, t.Name, err)
		}
		filters = append(filters, f)
	}
	if len(filters) > 0 {
		c.Filter = func(row []any) bool {
			for _, f := range filters {
				if !f.Match(row) {
					return false
				}
			}
			return true
		}
	}
	if tr != nil {
		if !tr.Ops.Has(rules.Insert) || !tr.Ops.Has(rules.Update) {
			return c, fmt.Errorf("%s.operations: the task does not sync every insert and update of %s.%s, so its target is not meant to equal the source", tr.Path, t.Database, t.Name)
		}
		c.KeepExtra = !tr.Ops.Has(rules.Delete)
	}
	return c, nil
}

// Compose composes the rules of the source table t with the target's
// mapping m (see Compose); a nil m keeps the source's names and columns.
func (o *Objects) Compose(m *Mapping, t schema.Table) (Composed, error) {
	tm := TableMapping{Database: t.Database, Table: t.Name}
	if m != nil {
		tm = m.Table(t.Database, t.Name)
	}
	return Compose(o.Rules(t.Database, t.Name), tm, t)
}
