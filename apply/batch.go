package apply

import (
	"fmt"
	"sort"

	"github.com/syncline/syncline/schema"
)

// RowSet is the upserts of one batch that carry the same set of columns.
type RowSet struct {
	// Cols are the columns present, in table order; the version column
	// is not included.
	Cols []schema.Column
	// Rows are the converted values of each upsert, in Cols order, with
	// the change's version appended last.
	Rows [][]any
}

// SplitBatch prepares a batch of changes for a SQL sink, converting every
// value with convert before any statement is built, so that a bad value
// fails the batch before a connection is used.
//
// Each delete becomes one row of deletes: the converted values of keyCols
// (read from the change's row, nil where absent) followed by the change's
// version. The upserts are grouped by the set of columns their rows hold
// into sets; within a set the rows keep the order of the changes. The sets
// are ordered by their signature: the names of their columns in table
// order, each followed by a NUL byte, compared as strings.
//
// A conversion error is returned as "column <name>: <err>", wrapping err;
// callers add their own prefix.
func SplitBatch(t schema.Table, keyCols []schema.Column, changes []Change, convert func(c schema.Column, v any) (any, error)) (deletes [][]any, sets []RowSet, err error) {
	bySig := map[string]*RowSet{}
	var order []string
	var sig []byte
	var vals []any
	for _, ch := range changes {
		if ch.Op == Delete {
			args := make([]any, 0, len(keyCols)+1)
			for _, c := range keyCols {
				v, err := convert(c, ch.Row[c.Name])
				if err != nil {
					return nil, nil, fmt.Errorf("column %s: %w", c.Name, err)
				}
				args = append(args, v)
			}
			deletes = append(deletes, append(args, ch.Version))
			continue
		}
		// One lookup per column gives both the row's signature and its
		// values; a signature seen before costs no allocation.
		sig, vals = sig[:0], vals[:0]
		for _, c := range t.Columns {
			if v, ok := ch.Row[c.Name]; ok {
				sig = append(append(sig, c.Name...), 0)
				vals = append(vals, v)
			}
		}
		rs := bySig[string(sig)]
		if rs == nil {
			rs = &RowSet{}
			for _, c := range t.Columns {
				if _, ok := ch.Row[c.Name]; ok {
					rs.Cols = append(rs.Cols, c)
				}
			}
			bySig[string(sig)] = rs
			order = append(order, string(sig))
		}
		row := make([]any, 0, len(rs.Cols)+1)
		for i, c := range rs.Cols {
			v, err := convert(c, vals[i])
			if err != nil {
				return nil, nil, fmt.Errorf("column %s: %w", c.Name, err)
			}
			row = append(row, v)
		}
		rs.Rows = append(rs.Rows, append(row, ch.Version))
	}
	sort.Strings(order)
	sets = make([]RowSet, 0, len(order))
	for _, sig := range order {
		sets = append(sets, *bySig[sig])
	}
	return deletes, sets, nil
}
