package task

import (
	"fmt"
	"slices"

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
	for _, k := range t.Key {
		if slices.Contains(r.DropColumns, k) {
			return fmt.Errorf("%s.drop-columns: %q is in the key of %s, which is always kept", r.Path, k, name)
		}
	}
	if r.Filter != nil {
		if _, err := r.Filter.Bind(t.Columns); err != nil {
			return fmt.Errorf("%s.filter on %s: %v", r.Path, name, err)
		}
	}
	return nil
}

// columnsField is the path of the rules' column list.
func (r *TableRules) columnsField() string {
	if len(r.Columns) > 0 {
		return r.Path + ".columns"
	}
	return r.Path + ".drop-columns"
}
