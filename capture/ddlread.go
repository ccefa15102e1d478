package capture

import (
	"context"
	"fmt"

	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/pingcap/tidb/pkg/parser"

	"github.com/syncline/syncline/fault"
)

// readDDL decides what capture does with a statement logged as a query
// event: it returns the changes to follow, none for a statement it passes
// by, or a permanent error for a statement on a captured table that it
// cannot follow.
func (r *run) readDDL(defaultDB, query, at string) ([]ddlChange, error) {
	info := classifyDDL(defaultDB, query)
	if info.err != nil {
		return nil, unfollowable(at, info, query, "", info.err.Error())
	}
	switch info.class {
	case stmtPass:
		r.log.Debug("passing by a statement that changes no table's columns or rows", "position", at, "kind", info.what, "statement", shown(info, query))
		return nil, nil
	case stmtDatabase:
		return info.changes, nil
	}
	t, ok := r.concerned(info.tables)
	if !ok {
		r.log.Debug("passing by a statement on tables outside the capture", "position", at, "kind", info.what, "statement", shown(info, query))
		return nil, nil
	}
	if info.refuse != "" {
		return nil, unfollowable(at, info, query, t.db+"."+t.name, info.refuse)
	}
	if r.parser == nil {
		r.parser = parser.New()
	}
	if changes, err := parseDDL(r.parser, defaultDB, info.exec); err == nil {
		return changes, nil
	}
	// MariaDB syntax the full parser does not know: the tokens told the
	// kind, the tables and the renamed columns, which is all a
	// schema-change event takes from the statement.
	return info.changes, nil
}

// concerned returns the first of tables that capture follows, that the
// selection matches, or that is an online schema change's helper of a
// captured table (whose ALTER statements onlineDDL remembers).
func (r *run) concerned(tables []tableRef) (tableRef, bool) {
	for _, t := range tables {
		if r.tables[t.db+"."+t.name] != nil || r.sel.Match(t.db, t.name) {
			return t, true
		}
		if base, _ := r.ghost(t.db, t.name); base != nil {
			return t, true
		}
	}
	return tableRef{}, false
}

// skipDDL passes by the statement at a position --skip-ddl-at names, and
// commits the position after it at once, so a restart never meets it
// again.
func (r *run) skipDDL(ctx context.Context, h *replication.EventHeader, defaultDB, query, at string) error {
	info := classifyDDL(defaultDB, query)
	r.log.Warn("skipping the statement at this position, as --skip-ddl-at asks; what it changed is not published", "position", at, "statement", shown(info, query))
	if err := r.endTxn(ctx, h); err != nil {
		return err
	}
	if err := r.commit(ctx); err != nil {
		return fmt.Errorf("commit the position after the skipped statement at %s: %w", at, err)
	}
	return nil
}

// unfollowable is the error for a statement capture cannot follow.
func unfollowable(at string, info stmtInfo, query, table, why string) error {
	on := ""
	if table != "" {
		on = " on " + table
	}
	return fault.Permanent(fmt.Errorf("%w%s at %s (%s): %s: %q; to pass it by, restart capture with --skip-ddl-at %s (the targets then miss what it changed)",
		ErrUnparsedDDL, on, at, info.what, why, shown(info, query), at))
}

// shown is a statement's text as logs and errors may show it: account
// statements may hold passwords and are shown by their kind only.
func shown(info stmtInfo, query string) string {
	if info.private {
		return info.what + " (text not shown: it may hold a password)"
	}
	return query
}
