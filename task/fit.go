package task

import (
	"fmt"
	"slices"

	"github.com/syncline/syncline/rules"
	"github.com/syncline/syncline/schema"
)

// Fit checks that the rules fit a table's shape, as read from the source:
// every column that columns and drop-columns name exists, no key column is
// dropped, and the row filter names only the table's columns. Its error
// names the spec field, e.g. `objects[1].filter on shop.refunds: unknown
// column "status"`. Capture, syncline task and precheck all check with it,
// so a rule is refused with the same words wherever it is met.
func (r *TableRules) Fit(t schema.Table) error {
	if r.Keeps() {
		return nil
	}
	name := t.Database + "." + t.Name
	for _, c := range append(slices.Clone(r.Columns), r.DropColumns...) {
		if _, _, ok := t.Column(c); !ok {
			return fmt.Errorf("%s: column %q is not in %s", r.columnsField(), c, name)
		}
	}
	_, err := r.Bind(t)
	return err
}

// Bind checks the part of Fit that holds for any shape of the table, also
// one without columns the column lists name (capture's stream leaves those
// out): no key column is dropped, and the row filter names only the
// table's columns. It returns the filter bound to the table's columns (nil
// without a filter); its errors are Fit's.
func (r *TableRules) Bind(t schema.Table) (*rules.Filter, error) {
	name := t.Database + "." + t.Name
	for _, k := range t.Key {
		if slices.Contains(r.DropColumns, k) {
			return nil, fmt.Errorf("%s.drop-columns: %q is in the key of %s, which is always kept", r.Path, k, name)
		}
	}
	if r.Filter == nil {
		return nil, nil
	}
	f, err := r.Filter.Bind(t.Columns)
	if err != nil {
		return nil, fmt.Errorf("%s.filter on %s: %v", r.Path, name, err)
	}
	return f, nil
}

// columnsField is the path of the rules' column list.
func (r *TableRules) columnsField() string {
	if len(r.Columns) > 0 {
		return r.Path + ".columns"
	}
	return r.Path + ".drop-columns"
}
