package capture

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/client"

	"github.com/syncline/syncline/internal/source/mysqlvalue"
	"github.com/syncline/syncline/schema"
)

// Parking. A selected table that cannot be captured any more while capture
// runs (created without a usable key, its key dropped, a column changed to a
// type without a mapping, task rules that no longer fit its columns) is
// parked rather than stopping capture: its topic and its schema changes get
// no events, capture logs one error naming the table, the reason and the
// fix, the checkpoint records it (stage parked, with the reason) and the
// other tables stream on. It is re-included by syncline task resync (a
// control request of the task, see resync) or, once fixed, by a restart of
// capture (see recheckTables): its target copy is emptied by a
// truncate_table event and the table is snapshotted online again.

// parkable reports whether err says a table cannot be captured as it is
// now, so that the table is parked rather than capture stopped.
func parkable(err error) bool {
	return errors.Is(err, schema.ErrNoKey) || errors.Is(err, schema.ErrUnsupportedType) || errors.Is(err, errBadRules)
}

// tableProblem loads a table's current shape and binds its rules to it as
// the stream does (a column list naming a column the table lacks is not an
// error there). It returns nil when the table can be captured, a parkable
// error when it cannot, and other errors (a lost connection,
// schema.ErrNoTable) as they are. It also returns what
// mysqlvalue.LoadTable read.
func tableProblem(ctx context.Context, conn *client.Conn, sel Selection, db, name string) (schema.Table, error) {
	t, err := mysqlvalue.LoadTable(ctx, conn, db, name)
	if err != nil {
		return t, err
	}
	if tr := selectionRules(sel, db, name); !tr.Keeps() {
		if _, _, err := bindRules(t, tr, false); err != nil {
			return t, err
		}
	}
	return t, nil
}

// parkReason words why a table cannot be captured and what fixes it.
func parkReason(ts *tableState, err error) (why, fix string) {
	switch {
	case errors.Is(err, schema.ErrNoKey):
		return "no primary key or NOT NULL unique key", "add a primary key (or a unique key on NOT NULL columns) to " + ts.fullName()
	case errors.Is(err, schema.ErrUnsupportedType):
		return oneLine(err), "change the column to a type capture maps (docs/events.md, Types)"
	case errors.Is(err, errBadRules):
		return oneLine(err), "change the task's rules for " + ts.fullName() + " (syncline task update)"
	}
	return oneLine(err), "fix the table"
}

func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }

// reincludeHint says how a fixed table is re-included.
func (r *run) reincludeHint(ts *tableState) string {
	if r.cfg.Task != "" {
		return "syncline task resync --config <task spec> " + ts.fullName()
	}
	return "restart capture (it re-includes parked tables that are fixed)"
}

// parkOr parks ts when err says it cannot be captured, and returns nil; any
// other error is returned as it is.
func (r *run) parkOr(ts *tableState, err error) error {
	if !parkable(err) {
		return err
	}
	r.park(ts, err)
	return nil
}

// park sets a table aside: its events are no longer published.
func (r *run) park(ts *tableState, cause error) {
	why, fix := parkReason(ts, cause)
	if ts.stage == stageParked && ts.reason == why {
		return
	}
	// A parked table's targets are emptied when it is re-included, so a
	// snapshot taken again after an online schema change ends here.
	ts.stage, ts.afterKey, ts.reason, ts.again = stageParked, nil, why, false
	r.dirty = true
	r.cfg.Metrics.tablesParked(r.parkedCount())
	r.log.Error("table parked: it cannot be captured, its topic gets no events until it is re-included; the other tables stream on",
		"table", ts.fullName(), "reason", why, "fix", fix+", then "+r.reincludeHint(ts))
}

// parkedCount counts the parked tables.
func (r *run) parkedCount() int {
	n := 0
	for _, t := range r.tables {
		if t.stage == stageParked {
			n++
		}
	}
	return n
}

// waitsForSnapshot reports whether none of a table's binlog changes are
// published yet: it is parked, or its first snapshot has not read a chunk.
// Its rows events are then passed by undecoded (a re-included table's
// binlog before the snapshot may still hold the shape that parked it). A
// table snapshotted again after an online schema change (again) does not
// wait: its targets hold its rows already, and every change of every key,
// a delete above all, is published from the swap on (published).
func (t *tableState) waitsForSnapshot() bool {
	return t.stage == stageParked || (t.stage == stageSnapshot && t.afterKey == nil && !t.again)
}

// parkOnDDL checks the table a statement created, altered or renamed and
// parks it when it cannot be captured. It reports whether the statement's
// schema-change event is left out: a parked table's statements are not
// published, except its drop. When it read the table and the event is not
// left out, it returns the shape it read, for the event's columns.
func (r *run) parkOnDDL(ctx context.Context, c ddlChange) (bool, *loadedTable, error) {
	db, name := c.db, c.table
	switch c.kind {
	case ddlCreateTable, ddlAlterTable:
	case ddlRenameTable:
		db, name = c.newDB, c.newTable
	case ddlTruncateTable:
		ts := r.tables[db+"."+name]
		return ts != nil && ts.stage == stageParked, nil, nil
	default:
		return false, nil, nil
	}
	ts := r.tables[db+"."+name]
	if ts == nil {
		return false, nil, nil
	}
	def, err := tableProblem(ctx, r.conn, r.sel, db, name)
	switch {
	case errors.Is(err, schema.ErrNoTable):
		// Gone again since: a later statement says what became of it.
		return ts.stage == stageParked, &loadedTable{def, err}, nil
	case parkable(err):
		r.park(ts, err)
		return true, nil, nil
	case err != nil:
		return false, nil, fmt.Errorf("check %s after %s: %w", ts.fullName(), c.kind, err)
	}
	if ts.stage == stageParked {
		r.log.Warn("a parked table can be captured again; re-include it to resume it", "table", ts.fullName(), "how", r.reincludeHint(ts))
		return true, nil, nil
	}
	return false, &loadedTable{def, nil}, nil
}

// recheckTables checks every selected table of a resumed capture: those
// that cannot be captured are parked (or stay parked), and parked ones that
// can be captured again are returned, to be re-included once the start
// position is set.
func (r *run) recheckTables(ctx context.Context) ([]*tableState, error) {
	var fixed []*tableState
	for _, ts := range r.tables {
		_, err := tableProblem(ctx, r.conn, r.sel, ts.db, ts.name)
		switch {
		case errors.Is(err, schema.ErrNoTable):
		case parkable(err):
			if ts.stage == stageParked {
				why, fix := parkReason(ts, err)
				ts.reason = why
				r.log.Error("table still parked: it cannot be captured; the other tables stream on",
					"table", ts.fullName(), "reason", why, "fix", fix+", then "+r.reincludeHint(ts))
				continue
			}
			r.park(ts, err)
		case err != nil:
			return nil, err
		case ts.stage == stageParked:
			fixed = append(fixed, ts)
		}
	}
	r.cfg.Metrics.tablesParked(r.parkedCount())
	return fixed, nil
}

// resync re-includes the parked tables a syncline task resync names, at a
// transaction boundary. A table that still cannot be captured stays parked,
// with the reason logged again.
func (r *run) resync(ctx context.Context, names []string) error {
	for _, n := range names {
		ts := r.tables[n]
		switch {
		case ts == nil:
			r.log.Warn("resync: the table is not captured; nothing to do", "table", n)
			continue
		case ts.stage != stageParked:
			r.log.Warn("resync: the table is not parked; nothing to do", "table", n, "stage", ts.stage)
			continue
		}
		_, err := tableProblem(ctx, r.conn, r.sel, ts.db, ts.name)
		switch {
		case errors.Is(err, schema.ErrNoTable):
			r.log.Warn("resync: the table is gone from the source; nothing to do", "table", n)
			continue
		case parkable(err):
			why, fix := parkReason(ts, err)
			ts.reason, r.dirty = why, true
			r.log.Error("resync: the table still cannot be captured; it stays parked", "table", n, "reason", why, "fix", fix+", then resync it again")
			continue
		case err != nil:
			return fmt.Errorf("resync %s: %w", n, err)
		}
		if err := r.reinclude(ctx, ts); err != nil {
			return err
		}
	}
	return nil
}

// reinclude turns a parked table that can be captured again into one to
// snapshot online. The rows its targets hold are stale (changes were passed
// by while it was parked), so a truncate_table event goes first, at the
// position of the last source transaction read: a consumer drops every
// earlier row of the table, and the snapshot's rows, whose versions are at
// least that position's, fill it again.
func (r *run) reinclude(ctx context.Context, ts *tableState) error {
	at := r.lastTxnEnd
	ver, err := version(at.File, at.Pos)
	if err != nil {
		return err
	}
	src := sourceInfo{
		version: ver, db: ts.db, table: ts.name, serverID: r.srcID, file: at.File, pos: at.Pos,
		tsMillis: time.Now().UnixMilli(),
	}
	ev := map[string]any{
		"source": r.pub.sourceMap(src), "db": ts.db, "table": ts.name,
		"ddl":  "TRUNCATE TABLE " + schema.QuoteIdent(ts.db) + "." + schema.QuoteIdent(ts.name) + " /* syncline: re-include of a parked table */",
		"kind": ddlTruncateTable, "new_table": nil, "renamed_columns": map[string]any{}, "columns": nil,
		"ts_ms": time.Now().UnixMilli(),
	}
	if err := r.pub.schemaChange(ctx, ev, ts.db); err != nil {
		return fmt.Errorf("re-include %s: %w", ts.fullName(), err)
	}
	ts.stage, ts.afterKey, ts.rows, ts.reason = stageSnapshot, nil, 0, ""
	r.dirty = true
	r.cfg.Metrics.tablesParked(r.parkedCount())
	r.log.Info("re-including a parked table: its targets are emptied and it is snapshotted online", "table", ts.fullName(), "position", at.String())
	return nil
}
