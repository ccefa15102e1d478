package capture

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"strings"
)

// OnlineDDLMode says whether capture follows the online schema-change
// tools pt-online-schema-change and gh-ost (docs/events.md).
type OnlineDDLMode string

// Online DDL modes.
const (
	// OnlineDDLAuto recognises the tools' helper tables by name: they are
	// never captured, and the final swap is published as an alter_table of
	// the migrated table.
	OnlineDDLAuto OnlineDDLMode = "auto"
	// OnlineDDLOff treats the helper tables as tables like any other.
	OnlineDDLOff OnlineDDLMode = "off"
)

// Roles of a helper table.
const (
	ghostNew       = "new"       // pt-osc _t_new, gh-ost _t_gho: becomes t
	ghostOld       = "old"       // pt-osc _t_old, gh-ost _t_del: what t becomes
	ghostChangelog = "changelog" // gh-ost _t_ghc
)

// ghostSuffixes are the helper-table names of the tools: _<t><suffix>,
// with any number of leading underscores for pt-online-schema-change
// (it adds one while the name is taken), exactly one for gh-ost.
var ghostSuffixes = []struct {
	suffix, role string
	many         bool
}{
	{"_new", ghostNew, true},
	{"_old", ghostOld, true},
	{"_gho", ghostNew, false},
	{"_ghc", ghostChangelog, false},
	{"_del", ghostOld, false},
}

// ghostTimestamp is the time gh-ost --timestamp-old-table puts before _del.
var ghostTimestamp = regexp.MustCompile(`_\d{14}$`)

// ghostOf reports whether name is a helper table of pt-online-schema-change
// or gh-ost for a table that captured says is captured, and returns that
// table's name and the helper's role. A captured table is never a helper:
// the caller asks only for names it does not capture.
func ghostOf(name string, captured func(table string) bool) (base, role string, ok bool) {
	if !strings.HasPrefix(name, "_") {
		return "", "", false
	}
	for _, s := range ghostSuffixes {
		rest, found := strings.CutSuffix(name, s.suffix)
		if !found {
			continue
		}
		candidates := []string{rest}
		if s.role == ghostOld && !s.many {
			if ts := ghostTimestamp.FindStringIndex(rest); ts != nil {
				candidates = append(candidates, rest[:ts[0]])
			}
		}
		for _, c := range candidates {
			for i := 1; i < len(c) && c[i-1] == '_'; i++ {
				if captured(c[i:]) {
					return c[i:], s.role, true
				}
				if !s.many {
					break
				}
			}
		}
	}
	return "", "", false
}

// ghost returns the captured table whose helper db.name is, with the
// helper's role; nil when name is not one (or online DDL is off).
func (r *run) ghost(db, name string) (*tableState, string) {
	if r.cfg.OnlineDDL == OnlineDDLOff || r.tables[db+"."+name] != nil {
		return nil, ""
	}
	base, role, ok := ghostOf(name, func(t string) bool { return r.tables[db+"."+t] != nil })
	if !ok {
		return nil, ""
	}
	return r.tables[db+"."+base], role
}

// dropGhosts removes from a table list the helper tables of tables that
// are in it, when online DDL is followed: a migration in progress when
// capture starts or the table list changes.
func dropGhosts(mode OnlineDDLMode, tables map[string]tableRef) {
	if mode == OnlineDDLOff {
		return
	}
	for n, ref := range tables {
		if _, _, ok := ghostOf(ref.name, func(t string) bool { _, in := tables[ref.db+"."+t]; return in }); ok {
			delete(tables, n)
		}
	}
}

// onlineDDL handles what a DDL statement does to the helper tables of
// online schema-change tools and returns the changes left for the usual
// handling. Statements on helper tables pass by (the column renames of
// their ALTER TABLE are remembered); the swap, a RENAME TABLE that moves a
// captured table t to its old-table name and its new table to t, is
// published as one alter_table of t with t's new columns, and t keeps its
// table state (a table in its snapshot stage starts its snapshot again).
func (r *run) onlineDDL(ctx context.Context, changes []ddlChange, query string, src sourceInfo) ([]ddlChange, error) {
	if r.cfg.OnlineDDL == OnlineDDLOff {
		return changes, nil
	}
	out := changes[:0:0]
	swapped := map[int]bool{}
	for i, c := range changes {
		if swapped[i] {
			continue
		}
		if j, ok := r.swapOf(changes, i); ok {
			swapped[j] = true
			if err := r.swap(ctx, changes[i], changes[j], query, src); err != nil {
				return nil, err
			}
			continue
		}
		if r.ghostChange(c, query) {
			continue
		}
		if r.helperRenamedIn(c) {
			if err := r.renameHelperIn(ctx, c, query, src); err != nil {
				return nil, err
			}
			continue
		}
		out = append(out, c)
	}
	return out, nil
}

// swapOf reports whether changes[i] moves a captured table t to one of
// its old-table names and another change of the statement moves one of
// its new tables to t; it returns the index of that other change.
func (r *run) swapOf(changes []ddlChange, i int) (int, bool) {
	c := changes[i]
	if c.kind != ddlRenameTable || c.db != c.newDB {
		return 0, false
	}
	ts := r.tables[c.db+"."+c.table]
	if ts == nil {
		return 0, false
	}
	if g, role := r.ghost(c.newDB, c.newTable); g != ts || role != ghostOld {
		return 0, false
	}
	for j, n := range changes {
		if j == i || n.kind != ddlRenameTable || n.newDB != c.db || n.newTable != c.table || n.db != c.db {
			continue
		}
		if g, role := r.ghost(n.db, n.table); g == ts && role == ghostNew {
			return j, true
		}
	}
	return 0, false
}

// swap publishes the swap of t (away, to its old-table name) with its new
// table (in, to t) as an alter_table of t.
func (r *run) swap(ctx context.Context, away, in ddlChange, query string, src sourceInfo) error {
	ts := r.tables[away.db+"."+away.table]
	renamed, known := ts.ghosts[in.table]
	delete(ts.ghosts, in.table)
	log := r.log.With("table", ts.fullName(), "new_table", in.table)
	if !known {
		// The helper's ALTER TABLE came before the checkpoint capture
		// started from and was not remembered: its renames are unknown.
		log.Warn("online schema change: the new table's ALTER TABLE was not seen; a renamed column is published as dropped and added")
	}
	switch {
	case ts.stage == stageSnapshot:
		// A chunk read while capture was behind the source, after the
		// swap ran there, read the new table as it was when the
		// snapshot started (filled in part): read it again from its
		// start, publishing the binlog changes of every key meanwhile.
		log.Info("online schema change during the table's snapshot: the snapshot starts again", "rows_read", ts.rows)
		ts.afterKey, ts.rows, ts.again = nil, 0, true
	case (position{src.file, src.pos}).less(ts.readEnd):
		// The snapshot's last chunk may have been read after the swap
		// (the source had logged it before the read ended; a read waits
		// for the RENAME to end, which logs it first): the same.
		log.Info("online schema change just after the table's snapshot: the snapshot is taken again")
		ts.stage, ts.afterKey, ts.rows, ts.again = stageSnapshot, nil, 0, true
	}
	log.Info("online schema change: tables swapped; publishing it as alter_table", "renamed_columns", renamed)
	return r.publishDDL(ctx, ddlChange{kind: ddlAlterTable, db: away.db, table: away.table, renamed: maps.Clone(renamed)}, query, src, nil)
}

// helperRenamedIn reports whether a rename gives a table that is not
// captured, named as a helper table of the table whose name it takes, a
// selected name: the second step of a swap in two statements (gh-ost's
// --cut-over=two-step, after RENAME TABLE t TO _t_del).
func (r *run) helperRenamedIn(c ddlChange) bool {
	if r.cfg.OnlineDDL == OnlineDDLOff || c.kind != ddlRenameTable || c.db != c.newDB ||
		r.tables[c.db+"."+c.table] != nil || r.tables[c.newDB+"."+c.newTable] != nil || !r.sel.Match(c.newDB, c.newTable) {
		return false
	}
	_, role, ok := ghostOf(c.table, func(t string) bool { return t == c.newTable })
	return ok && role == ghostNew
}

// renameHelperIn handles a helper table renamed to a selected name as a
// rename, then snapshots the table: its rows were never captured. The
// table's topic holds the rows of the table swapped out, which the tool's
// copy mirrored: like a table snapshotted again after a swap (swap), every
// binlog change of it is published until its snapshot ends, so a row
// deleted before the snapshot reads it is deleted in the topic and the
// targets too (the snapshot no longer finds it).
func (r *run) renameHelperIn(ctx context.Context, c ddlChange, query string, src sourceInfo) error {
	r.applyDDL(c)
	if err := r.publishDDL(ctx, c, query, src, nil); err != nil {
		return err
	}
	ts := r.tables[c.newDB+"."+c.newTable]
	if ts != nil && r.cfg.Snapshot != SnapshotNever {
		ts.stage, ts.afterKey, ts.rows, ts.again = stageSnapshot, nil, 0, true
	}
	r.log.Warn("online schema change swapped in two statements: the new table is snapshotted", "table", c.newDB+"."+c.newTable, "from", c.table)
	return nil
}

// noteSnapshotsDone records the source's binlog position for the tables
// whose snapshot the round finished: a swap written before it may have
// been read by the round (swap).
func (r *run) noteSnapshotsDone() error {
	done := r.snapDone
	r.snapDone = r.snapDone[:0]
	if len(done) == 0 || r.cfg.OnlineDDL == OnlineDDLOff {
		return nil
	}
	p, err := masterPosition(r.conn)
	if err != nil {
		return err
	}
	for _, ts := range done {
		ts.readEnd = p
	}
	return nil
}

// ghostChange reports whether a change concerns helper tables only, and
// remembers what it does to them.
func (r *run) ghostChange(c ddlChange, query string) bool {
	switch c.kind {
	case ddlCreateTable, ddlAlterTable, ddlDropTable, ddlTruncateTable:
	case ddlRenameTable:
		from, _ := r.ghost(c.db, c.table)
		to, _ := r.ghost(c.newDB, c.newTable)
		if from == nil || to == nil {
			return false
		}
		if renamed, ok := from.ghosts[c.table]; ok {
			delete(from.ghosts, c.table)
			to.remember(c.newTable, renamed)
		}
		r.log.Debug("online schema change: helper table renamed; passed by", "table", c.db+"."+c.table, "new_table", c.newDB+"."+c.newTable)
		return true
	default:
		return false
	}
	ts, role := r.ghost(c.db, c.table)
	if ts == nil {
		return false
	}
	switch c.kind {
	case ddlCreateTable:
		delete(ts.ghosts, c.table)
		if role == ghostNew {
			ts.remember(c.table, nil)
		}
	case ddlAlterTable:
		if role == ghostNew {
			ts.remember(c.table, c.renamed)
		}
	case ddlDropTable:
		delete(ts.ghosts, c.table)
	}
	r.log.Debug("online schema change: statement on a helper table; passed by", "table", c.db+"."+c.table, "of", ts.fullName(), "role", role, "statement", query)
	return true
}

// remember records the column renames an ALTER TABLE of the helper table
// ghost made, after those it made before.
func (t *tableState) remember(ghost string, renamed map[string]string) {
	if t.ghosts == nil {
		t.ghosts = map[string]map[string]string{}
	}
	cum := t.ghosts[ghost]
	out := map[string]string{}
	for from, to := range cum {
		if n, ok := renamed[to]; ok {
			to = n
		}
		out[from] = to
	}
	for from, to := range renamed {
		taken := false
		for _, v := range cum {
			taken = taken || v == from
		}
		if !taken {
			out[from] = to
		}
	}
	maps.DeleteFunc(out, func(from, to string) bool { return from == to })
	t.ghosts[ghost] = out
}

// checkOnlineDDL validates the mode.
func checkOnlineDDL(m OnlineDDLMode) error {
	switch m {
	case OnlineDDLAuto, OnlineDDLOff:
		return nil
	}
	return fmt.Errorf("online-ddl: %q is not one of auto, off", m)
}
