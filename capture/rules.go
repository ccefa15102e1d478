package capture

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/go-mysql-org/go-mysql/client"

	"github.com/syncline/syncline/internal/source/mysqlvalue"
	"github.com/syncline/syncline/rules"
	"github.com/syncline/syncline/schema"
	"github.com/syncline/syncline/task"
)

// Selection chooses the tables capture reads: a *filter.Filter from
// --tables, or a task's *task.Objects, which also says per table what of
// its changes is published (see Ruled).
type Selection interface {
	Match(db, table string) bool
	String() string
}

// Ruled is a Selection with per-table rules: the columns kept, a row filter
// and the operations published. *task.Objects is one.
type Ruled interface {
	Selection
	Rules(db, table string) *task.TableRules
}

// errBadRules marks rules that do not fit a table (a filter or column list
// naming a column the table lacks, a dropped key column).
var errBadRules = errors.New("task rules do not fit the table")

// rulesOf returns the rules of a table under the current selection.
func (r *run) rulesOf(db, table string) *task.TableRules { return selectionRules(r.sel, db, table) }

// selectionRules returns the rules of a table under sel; nil when sel has
// none.
func selectionRules(sel Selection, db, table string) *task.TableRules {
	if ru, ok := sel.(Ruled); ok {
		return ru.Rules(db, table)
	}
	return nil
}

// codecFor returns the codec of a table shape under its rules.
func (r *run) codecFor(ctx context.Context, t schema.Table) (*tableCodec, error) {
	return r.pub.codec(ctx, t, r.rulesOf)
}

// narrowing is what a table's rules keep of its changes, bound to one
// table shape.
type narrowing struct {
	keep   []int // indexes of the kept columns in the full row; nil keeps all
	filter *rules.Filter
	ops    rules.Ops
}

// bindRules binds a table's rules to its shape and returns the shape that
// is published (the kept columns) and the narrowing.
func bindRules(t schema.Table, tr *task.TableRules, strict bool) (schema.Table, *narrowing, error) {
	if tr.Keeps() {
		return t, nil, nil
	}
	n := &narrowing{ops: tr.Ops}
	if strict {
		if err := tr.Fit(t); err != nil {
			return t, nil, fmt.Errorf("%w: %w", errBadRules, err)
		}
	}
	f, err := tr.Bind(t)
	if err != nil {
		return t, nil, fmt.Errorf("%w: %w", errBadRules, err)
	}
	n.filter = f
	out := t
	if len(tr.Columns) > 0 || len(tr.DropColumns) > 0 {
		out.Columns = nil
		for i, c := range t.Columns {
			if tr.KeepColumn(c.Name) || slices.Contains(t.Key, c.Name) {
				n.keep = append(n.keep, i)
				out.Columns = append(out.Columns, c)
			}
		}
		if len(n.keep) == len(t.Columns) {
			n.keep = nil
		}
	}
	return out, n, nil
}

// project returns the kept columns of a row.
func (n *narrowing) project(row []any) []any {
	if n == nil || n.keep == nil || row == nil {
		return row
	}
	out := make([]any, len(n.keep))
	for i, j := range n.keep {
		out[i] = row[j]
	}
	return out
}

func (n *narrowing) match(row []any) bool { return n.filter == nil || n.filter.Match(row) }

// change applies the rules to one change, before and after in full
// columns (nil for an insert's before and a delete's after), and returns
// what to publish in kept columns, or ok false for nothing. With a row
// filter, an update whose new row leaves it becomes a delete and one whose
// new row enters it an insert.
func (n *narrowing) change(before, after []any) (b, a []any, ok bool) {
	if n == nil {
		return before, after, true
	}
	switch {
	case before == nil:
		if !n.ops.Has(rules.Insert) || !n.match(after) {
			return nil, nil, false
		}
	case after == nil:
		if !n.ops.Has(rules.Delete) || !n.match(before) {
			return nil, nil, false
		}
	default:
		if !n.ops.Has(rules.Update) {
			return nil, nil, false
		}
		in, out := n.match(before), n.match(after)
		switch {
		case !in && !out:
			return nil, nil, false
		case !out:
			after = nil
		case !in:
			before = nil
		}
	}
	return n.project(before), n.project(after), true
}

// filters reports whether the rules filter rows, which takes the values of
// columns that may not be published.
func (n *narrowing) filters() bool { return n != nil && n.filter != nil }

// read applies the rules to a snapshot row: the row filter and the kept
// columns (operations concern the binlog only).
func (n *narrowing) read(row []any) ([]any, bool) {
	if n == nil {
		return row, true
	}
	if !n.match(row) {
		return nil, false
	}
	return n.project(row), true
}

// checkRules binds the rules sel gives each table to its current shape, so a
// filter or column list that does not fit is refused before anything is
// published, with the spec field that names it. A table's shape is taken
// from defs (checkTables' definitions) when it is there, else read.
func checkRules(ctx context.Context, conn *client.Conn, sel Selection, tables map[string]tableRef, defs map[string]schema.Table) error {
	var errs []error
	for n, ref := range tables {
		tr := selectionRules(sel, ref.db, ref.name)
		if tr.Keeps() {
			continue
		}
		t, ok := defs[n]
		if !ok {
			var err error
			if t, err = mysqlvalue.LoadTable(ctx, conn, ref.db, ref.name); err != nil {
				return err
			}
		}
		if _, _, err := bindRules(t, tr, true); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// CheckSelection checks a selection against the live source as capture
// does before it publishes it (at start, and before it follows a new
// revision of a task's object list): it selects at least one table, every
// table it selects can be captured (a key, supported column types), and
// every table's rules fit the table (task.TableRules.Fit). syncline task
// checks a revision with it before storing it, so that a revision capture
// would refuse never reaches it, refused with the same words.
func CheckSelection(ctx context.Context, conn *client.Conn, sel Selection) error {
	tables, err := listTables(ctx, conn, sel)
	if err != nil {
		return err
	}
	defs, err := checkTables(ctx, conn, tables)
	if err != nil {
		return err
	}
	return checkRules(ctx, conn, sel, tables, defs)
}

// ddlColumns removes the columns a table's rules leave out from a
// schema-change event's column list and renames.
func ddlColumns(cols []columnJSON, renamed map[string]string, tr *task.TableRules, key []string) []columnJSON {
	if tr == nil || (len(tr.Columns) == 0 && len(tr.DropColumns) == 0) {
		return cols
	}
	kept := func(name string) bool { return tr.KeepColumn(name) || slices.Contains(key, name) }
	var out []columnJSON
	for _, c := range cols {
		if kept(c.Name) {
			out = append(out, c)
		}
	}
	for o, n := range renamed {
		if !kept(o) || !kept(n) {
			delete(renamed, o)
		}
	}
	return out
}

// followTask handles what the task's store delivered since the last call:
// a new object list, or a stop request. It runs at transaction boundaries.
func (r *run) followTask(ctx context.Context) error {
	for r.taskEvents != nil {
		select {
		case ev, ok := <-r.taskEvents:
			if !ok {
				r.taskEvents = nil
				return nil
			}
			switch {
			case ev.Control != nil && ev.Control.Stop:
				r.log.Info("the task was stopped (syncline task stop); committing and stopping")
				return errTaskStopped
			case ev.Control != nil && len(ev.Control.Resync) > 0:
				if err := r.resync(ctx, ev.Control.Resync); err != nil {
					return err
				}
			case ev.Revision != nil && ev.Revision.Revision > r.revision:
				err := r.applyRevision(ctx, ev.Revision)
				if err != nil && permanent(err) {
					// A revision that does not fit the source (stored by
					// an older syncline, or a table changed after syncline
					// task checked it): the old list goes on.
					r.log.Error("task object list refused; capture goes on with the previous list: correct the spec and run syncline task update",
						"revision", ev.Revision.Revision, "change", ev.Revision.Change, "kept_revision", r.revision, "err", err)
					r.cfg.Metrics.revisionRefused()
					continue
				}
				if err != nil {
					return err
				}
			}
		default:
			return nil
		}
	}
	return nil
}

// errTaskStopped ends a run after syncline task stop.
var errTaskStopped = errors.New("task stopped")

// applyRevision switches to a new object list: tables it adds are
// snapshotted online, in chunks between binlog transactions; tables it
// removes are no longer published.
func (r *run) applyRevision(ctx context.Context, rev *task.Revision) error {
	sel, err := task.CompileObjects(rev.Objects)
	if err != nil {
		return err
	}
	selected, err := listTables(ctx, r.conn, sel)
	if err != nil && !errors.Is(err, ErrNoTablesFound) {
		return err
	}
	dropGhosts(r.cfg.OnlineDDL, selected)
	added := map[string]tableRef{}
	for n, ref := range selected {
		if r.tables[n] == nil {
			added[n] = ref
		}
	}
	defs, err := checkTables(ctx, r.conn, added)
	if err != nil {
		return fmt.Errorf("task revision %d (%s): %w", rev.Revision, rev.Change, err)
	}
	if err := checkRules(ctx, r.conn, sel, selected, defs); err != nil {
		return fmt.Errorf("task revision %d (%s): %w", rev.Revision, rev.Change, err)
	}
	r.sel = sel
	var addedNames, removedNames []string
	for n, ref := range added {
		r.tables[n] = &tableState{db: ref.db, name: ref.name, stage: stageSnapshot}
		addedNames = append(addedNames, n)
	}
	for n := range r.tables {
		if _, ok := selected[n]; !ok {
			delete(r.tables, n)
			removedNames = append(removedNames, n)
		}
	}
	r.pub.resetCodecs() // rules may have changed
	r.revision, r.dirty = rev.Revision, true
	slices.Sort(addedNames)
	slices.Sort(removedNames)
	r.log.Info("task object list changed", "revision", rev.Revision, "change", rev.Change,
		"added", strings.Join(addedNames, ","), "removed", strings.Join(removedNames, ","))
	return nil
}
