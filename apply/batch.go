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

// Group is the upserts of one batch whose rows carry the same set of
// columns.
type Group struct {
	// Cols are the indexes in the table's Columns of the columns present,
	// in table order.
	Cols []int
	// Sig is the names of those columns, each followed by a NUL byte: the
	// order of the groups.
	Sig string
	// Changes are the indexes of the group's changes, in batch order.
	Changes []int
	// rows are the values of those changes, unconverted, in Cols order,
	// when asked for (SplitBatch). Each row has room for one more value
	// (cap is len+1), so appending the version does not allocate.
	rows [][]any
}

// GroupBatch groups a batch of changes for a sink, the one grouping every
// sink that writes a batch as statements uses: the indexes of the deletes,
// in order, and the upserts grouped by the set of columns their rows hold,
// the groups ordered by Sig (compared as strings), each group's changes in
// batch order. It converts nothing.
func GroupBatch(t schema.Table, changes []Change) (deletes []int, groups []Group) {
	return groupBatch(t, changes, false)
}

// groupBatch is GroupBatch; withRows also keeps each upsert's values (each
// column of a row is looked up once).
func groupBatch(t schema.Table, changes []Change, withRows bool) (deletes []int, groups []Group) {
	bySig := map[string]int{} // by column mask: index in groups
	n := len(t.Columns)
	mask := make([]byte, (n+7)/8)
	vals := make([]any, n)
	present := make([]bool, n)
	var backing []any // the rows' values, one allocation for the batch
	for i, ch := range changes {
		if ch.Op == Delete {
			deletes = append(deletes, i)
			continue
		}
		// A set seen before costs no allocation.
		clear(mask)
		k := 0
		for j, c := range t.Columns {
			vals[j], present[j] = ch.Row[c.Name]
			if present[j] {
				mask[j/8] |= 1 << (j % 8)
				k++
			}
		}
		g, ok := bySig[string(mask)]
		if !ok {
			var grp Group
			var sig []byte
			for j, c := range t.Columns {
				if present[j] {
					grp.Cols = append(grp.Cols, j)
					sig = append(append(sig, c.Name...), 0)
				}
			}
			grp.Sig = string(sig)
			g = len(groups)
			groups = append(groups, grp)
			bySig[string(mask)] = g
		}
		groups[g].Changes = append(groups[g].Changes, i)
		if !withRows {
			continue
		}
		if cap(backing)-len(backing) < k+1 {
			backing = make([]any, 0, max((len(changes)-i)*(n+1), k+1))
		}
		lo := len(backing)
		for j := range t.Columns {
			if present[j] {
				backing = append(backing, vals[j])
			}
		}
		backing = append(backing, nil) // room for the version
		groups[g].rows = append(groups[g].rows, backing[lo:lo+k:lo+k+1])
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].Sig < groups[j].Sig })
	return deletes, groups
}

// SplitBatch prepares a batch of changes for a SQL sink, converting every
// value with convert before any statement is built, so that a bad value
// fails the batch before a connection is used.
//
// Each delete becomes one row of deletes: the converted values of keyCols
// (read from the change's row, nil where absent) followed by the change's
// version. The upserts are grouped as GroupBatch groups them into sets;
// within a set the rows keep the order of the changes.
//
// A conversion error is returned as "column <name>: <err>", wrapping err;
// callers add their own prefix.
func SplitBatch(t schema.Table, keyCols []schema.Column, changes []Change, convert func(c schema.Column, v any) (any, error)) (deletes [][]any, sets []RowSet, err error) {
	dels, groups := groupBatch(t, changes, true)
	for _, i := range dels {
		ch := changes[i]
		args := make([]any, 0, len(keyCols)+1)
		for _, c := range keyCols {
			v, err := convert(c, ch.Row[c.Name])
			if err != nil {
				return nil, nil, fmt.Errorf("column %s: %w", c.Name, err)
			}
			args = append(args, v)
		}
		deletes = append(deletes, append(args, ch.Version))
	}
	sets = make([]RowSet, 0, len(groups))
	for _, g := range groups {
		rs := RowSet{Cols: make([]schema.Column, len(g.Cols)), Rows: make([][]any, 0, len(g.Changes))}
		for k, j := range g.Cols {
			rs.Cols[k] = t.Columns[j]
		}
		for r, i := range g.Changes {
			// The row's values are converted in place.
			row := g.rows[r]
			for k, c := range rs.Cols {
				v, err := convert(c, row[k])
				if err != nil {
					return nil, nil, fmt.Errorf("column %s: %w", c.Name, err)
				}
				row[k] = v
			}
			rs.Rows = append(rs.Rows, append(row, changes[i].Version))
		}
		sets = append(sets, rs)
	}
	return deletes, sets, nil
}
