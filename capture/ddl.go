package capture

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/syncline/syncline/internal/source/mysqlvalue"
	"github.com/syncline/syncline/rules"
	"github.com/syncline/syncline/schema"
)

// ddl handles a query event that is not BEGIN or COMMIT.
func (r *run) ddl(ctx context.Context, h *replication.EventHeader, e *replication.QueryEvent) error {
	clear(r.shapes) // column types may have changed
	query := string(e.Query)
	start := h.LogPos - h.EventSize
	at := position{r.file, start}.String()
	if slices.Contains(r.cfg.SkipDDLAt, at) {
		return r.skipDDL(ctx, h, string(e.Schema), query, at)
	}
	changes, err := r.readDDL(string(e.Schema), query, at)
	if err != nil || len(changes) == 0 {
		return err
	}
	ver, err := version(r.file, start)
	if err != nil {
		return err
	}
	src := sourceInfo{
		version: ver, serverID: h.ServerID, gtid: r.txnGTID, file: r.file, pos: start,
		tsMillis: int64(h.Timestamp) * 1000,
	}
	if changes, err = r.onlineDDL(ctx, changes, query, src); err != nil {
		return err
	}
	for _, c := range changes {
		if !r.ddlRelevant(c) {
			continue
		}
		r.applyDDL(c)
		parked, shape, err := r.parkOnDDL(ctx, c)
		if err != nil {
			return err
		}
		if parked {
			continue // a parked table's statements are not published
		}
		if err := r.publishDDL(ctx, c, query, src, shape); err != nil {
			return err
		}
	}
	return nil
}

// ddlRelevant reports whether a change concerns a captured table or one
// the selection matches.
func (r *run) ddlRelevant(c ddlChange) bool {
	switch c.kind {
	case ddlOther:
		return false
	case ddlCreateDatabase, ddlDropDatabase:
		for _, t := range r.tables {
			if t.db == c.db {
				return true
			}
		}
		return false
	case ddlRenameTable:
		return r.tables[c.db+"."+c.table] != nil || r.sel.Match(c.newDB, c.newTable)
	}
	return r.tables[c.db+"."+c.table] != nil || r.sel.Match(c.db, c.table)
}

// applyDDL keeps the set of captured tables current.
func (r *run) applyDDL(c ddlChange) {
	switch c.kind {
	case ddlCreateTable:
		if r.sel.Match(c.db, c.table) && r.tables[c.db+"."+c.table] == nil {
			// Created after capture started: all its rows come from the
			// binlog.
			r.tables[c.db+"."+c.table] = &tableState{db: c.db, name: c.table, stage: stageStreaming}
		}
	case ddlDropTable:
		delete(r.tables, c.db+"."+c.table)
	case ddlDropDatabase:
		for n, t := range r.tables {
			if t.db == c.db {
				delete(r.tables, n)
			}
		}
	case ddlRenameTable:
		old := r.tables[c.db+"."+c.table]
		delete(r.tables, c.db+"."+c.table)
		if r.sel.Match(c.newDB, c.newTable) {
			st := &tableState{db: c.newDB, name: c.newTable, stage: stageStreaming}
			if old != nil {
				st.stage, st.afterKey, st.rows, st.reason = old.stage, old.afterKey, old.rows, old.reason
			}
			r.tables[c.newDB+"."+c.newTable] = st
		}
	}
}

// publishDDL publishes one schema-change event. shape, when not nil, is the
// table's shape parkOnDDL read for this statement.
func (r *run) publishDDL(ctx context.Context, c ddlChange, query string, src sourceInfo, shape *loadedTable) error {
	table := c.table
	if c.kind == ddlCreateDatabase || c.kind == ddlDropDatabase {
		table = ""
	}
	src.db, src.table = c.db, table
	ev := map[string]any{
		"source": r.pub.sourceMap(src), "db": c.db, "table": nullable(table), "ddl": query, "kind": c.kind,
		"new_table": nil, "renamed_columns": map[string]any{}, "columns": nil, "ts_ms": time.Now().UnixMilli(),
	}
	tr := r.rulesOf(c.db, c.table)
	if c.kind == ddlRenameTable {
		tr = r.rulesOf(c.newDB, c.newTable)
	}
	if tr != nil && !tr.Ops.Has(rules.DDL) && c.kind != ddlCreateDatabase && c.kind != ddlDropDatabase {
		return nil // the task does not sync this table's DDL
	}
	renamed := maps.Clone(c.renamed)
	if renamed == nil {
		renamed = map[string]string{}
	}
	shapeDB, shapeTable := c.db, c.table
	if c.kind == ddlRenameTable {
		ev["new_table"] = c.newTable
		if c.newDB != c.db {
			ev["new_table"] = c.newDB + "." + c.newTable
		}
		shapeDB, shapeTable = c.newDB, c.newTable
	}
	if c.kind == ddlCreateTable || c.kind == ddlAlterTable || c.kind == ddlRenameTable {
		cols, key, err := r.columns(ctx, shapeDB, shapeTable, shape)
		if err != nil {
			return err
		}
		if cols != nil {
			// CHANGE COLUMN IF EXISTS of a missing column renames nothing.
			maps.DeleteFunc(renamed, func(_, n string) bool {
				return !slices.ContainsFunc(cols, func(c columnJSON) bool { return strings.EqualFold(c.Name, n) })
			})
			b, err := json.Marshal(ddlColumns(cols, renamed, tr, key))
			if err != nil {
				return err
			}
			ev["columns"] = string(b)
		}
	}
	for o, n := range renamed {
		ev["renamed_columns"].(map[string]any)[o] = n
	}
	return r.pub.schemaChange(ctx, ev, c.db)
}

// columnJSON is one column of a schema-change event's column list.
type columnJSON struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Nullable bool   `json:"nullable"`
}

// loadedTable is what mysqlvalue.LoadTable returned for a table, kept so
// that a statement's check and its event read the source once.
type loadedTable struct {
	def schema.Table
	err error
}

// columns reads a table's columns and key from the source, as they are
// when capture handles the statement (from shape when it was read already);
// nil when the table is gone.
func (r *run) columns(ctx context.Context, db, table string, shape *loadedTable) ([]columnJSON, []string, error) {
	var t schema.Table
	var err error
	if shape != nil {
		t, err = shape.def, shape.err
	} else {
		t, err = mysqlvalue.LoadTable(ctx, r.conn, db, table)
	}
	if errors.Is(err, schema.ErrNoTable) {
		return nil, nil, nil
	}
	if err != nil && !errors.Is(err, schema.ErrNoKey) {
		return nil, nil, fmt.Errorf("read columns of %s.%s: %w", db, table, err)
	}
	cols := make([]columnJSON, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = columnJSON{c.Name, c.Type.String(), c.Nullable}
	}
	return cols, t.Key, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
