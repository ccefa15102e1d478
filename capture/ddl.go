package capture

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver" // literal values in parsed DDL

	"github.com/syncline/syncline/rules"
	"github.com/syncline/syncline/schema"
)

// DDL kinds of schema-change events (docs/events.md).
const (
	ddlCreateTable    = "create_table"
	ddlDropTable      = "drop_table"
	ddlTruncateTable  = "truncate_table"
	ddlRenameTable    = "rename_table"
	ddlAlterTable     = "alter_table"
	ddlCreateDatabase = "create_database"
	ddlDropDatabase   = "drop_database"
	ddlOther          = "other"
)

// ddlChange is what one DDL statement does to one table or database.
type ddlChange struct {
	kind     string
	db       string
	table    string
	newDB    string
	newTable string
	renamed  map[string]string
}

// MariaDB syntax the parser (TiDB's MySQL dialect) does not know, and that
// does not change what a statement does to a table's rows or columns.
var (
	mariadbOrReplace = regexp.MustCompile(`(?is)^(\s*(?:/\*.*?\*/\s*)*CREATE\s+)OR\s+REPLACE\s+((?:TEMPORARY\s+)?TABLE\b)`)
	mariadbWait      = regexp.MustCompile(`(?is)^(\s*ALTER\s+(?:ONLINE\s+)?(?:IGNORE\s+)?TABLE\s+(?:IF\s+EXISTS\s+)?(?:` + "`[^`]+`" + `|[\w$]+)(?:\s*\.\s*(?:` + "`[^`]+`" + `|[\w$]+))?)\s+(?:NOWAIT|WAIT\s+\d+)\b`)
	mariadbInvisible = regexp.MustCompile(`(?i)\b(?:INVISIBLE|IGNORED)\b`)
	mariadbNoCopy    = regexp.MustCompile(`(?i)\bALGORITHM\s*=\s*NOCOPY\b`)
)

// normalizeDDL rewrites MariaDB-only syntax into the MySQL the parser reads
// and reports whether the statement replaces an existing table.
func normalizeDDL(query string) (string, bool) {
	replaced := false
	if mariadbOrReplace.MatchString(query) {
		query = mariadbOrReplace.ReplaceAllString(query, "${1}${2}")
		replaced = true
	}
	query = mariadbWait.ReplaceAllString(query, "${1}")
	query = mariadbInvisible.ReplaceAllString(query, "")
	query = mariadbNoCopy.ReplaceAllString(query, "ALGORITHM=INPLACE")
	return query, replaced
}

// parseDDL parses a statement logged by the source; defaultDB is the
// session's database, used for unqualified names.
func parseDDL(p *parser.Parser, defaultDB, query string) ([]ddlChange, error) {
	stmts, _, err := p.Parse(query, "", "")
	replaced := false
	if err != nil {
		// Only a statement the parser refuses is rewritten, so a column
		// named like a MariaDB keyword is never touched otherwise.
		var normalized string
		normalized, replaced = normalizeDDL(query)
		var err2 error
		if stmts, _, err2 = p.Parse(normalized, "", ""); err2 != nil {
			return nil, err
		}
	}
	qualify := func(t *ast.TableName) (string, string) {
		if t.Schema.O != "" {
			return t.Schema.O, t.Name.O
		}
		return defaultDB, t.Name.O
	}
	var out []ddlChange
	for _, st := range stmts {
		switch s := st.(type) {
		case *ast.CreateTableStmt:
			db, t := qualify(s.Table)
			if replaced {
				out = append(out, ddlChange{kind: ddlDropTable, db: db, table: t})
			}
			out = append(out, ddlChange{kind: ddlCreateTable, db: db, table: t})
		case *ast.DropTableStmt:
			if s.IsView {
				continue
			}
			for _, tn := range s.Tables {
				db, t := qualify(tn)
				out = append(out, ddlChange{kind: ddlDropTable, db: db, table: t})
			}
		case *ast.TruncateTableStmt:
			db, t := qualify(s.Table)
			out = append(out, ddlChange{kind: ddlTruncateTable, db: db, table: t})
		case *ast.RenameTableStmt:
			for _, tt := range s.TableToTables {
				db, t := qualify(tt.OldTable)
				ndb, nt := qualify(tt.NewTable)
				out = append(out, ddlChange{kind: ddlRenameTable, db: db, table: t, newDB: ndb, newTable: nt})
			}
		case *ast.AlterTableStmt:
			db, t := qualify(s.Table)
			c := ddlChange{kind: ddlAlterTable, db: db, table: t, renamed: map[string]string{}}
			var rename *ddlChange
			for _, spec := range s.Specs {
				switch spec.Tp {
				case ast.AlterTableRenameColumn:
					c.renamed[spec.OldColumnName.Name.O] = spec.NewColumnName.Name.O
				case ast.AlterTableChangeColumn:
					if len(spec.NewColumns) == 1 && spec.OldColumnName != nil &&
						!strings.EqualFold(spec.OldColumnName.Name.O, spec.NewColumns[0].Name.Name.O) {
						c.renamed[spec.OldColumnName.Name.O] = spec.NewColumns[0].Name.Name.O
					}
				case ast.AlterTableRenameTable:
					ndb, nt := qualify(spec.NewTable)
					rename = &ddlChange{kind: ddlRenameTable, db: db, table: t, newDB: ndb, newTable: nt}
				}
			}
			out = append(out, c)
			if rename != nil {
				out = append(out, *rename)
			}
		case *ast.CreateDatabaseStmt:
			out = append(out, ddlChange{kind: ddlCreateDatabase, db: s.Name.O})
		case *ast.DropDatabaseStmt:
			out = append(out, ddlChange{kind: ddlDropDatabase, db: s.Name.O})
		default:
			out = append(out, ddlChange{kind: ddlOther, db: defaultDB})
		}
	}
	return out, nil
}

// ddl handles a query event that is not BEGIN or COMMIT.
func (r *run) ddl(ctx context.Context, h *replication.EventHeader, e *replication.QueryEvent) error {
	query := string(e.Query)
	start := h.LogPos - h.EventSize
	at := position{r.file, start}.String()
	if r.parser == nil {
		r.parser = parser.New()
	}
	changes, err := parseDDL(r.parser, string(e.Schema), query)
	if err != nil {
		if r.cfg.SkipDDLAt == at {
			r.log.Warn("skipping DDL the parser cannot read, as asked", "position", at, "statement", query)
			return nil
		}
		if !r.mentionsSelected(query) {
			r.log.Warn("ignoring DDL the parser cannot read; it names no captured table", "position", at, "statement", query)
			return nil
		}
		return fmt.Errorf("%w at %s: %q: %v; if it does not change a captured table's columns, restart capture with --skip-ddl-at %s", ErrUnparsedDDL, at, query, err, at)
	}
	ver, err := version(r.file, start)
	if err != nil {
		return err
	}
	src := sourceInfo{
		version: ver, serverID: h.ServerID, gtid: r.txnGTID, file: r.file, pos: start,
		tsMillis: int64(h.Timestamp) * 1000,
	}
	for _, c := range changes {
		if !r.ddlRelevant(c) {
			continue
		}
		r.applyDDL(c)
		if err := r.publishDDL(ctx, c, query, src); err != nil {
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
				st.stage, st.afterKey, st.rows = old.stage, old.afterKey, old.rows
			}
			r.tables[c.newDB+"."+c.newTable] = st
		}
	}
}

// mentionsSelected reports whether a statement's text names a captured
// table.
func (r *run) mentionsSelected(query string) bool {
	q := strings.ToLower(query)
	for _, t := range r.tables {
		if strings.Contains(q, strings.ToLower(t.name)) {
			return true
		}
	}
	return false
}

// publishDDL publishes one schema-change event.
func (r *run) publishDDL(ctx context.Context, c ddlChange, query string, src sourceInfo) error {
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
		cols, key, err := r.columns(ctx, shapeDB, shapeTable)
		if err != nil {
			return err
		}
		if cols != nil {
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

// columns reads a table's columns and key from the source, as they are
// when capture handles the statement; nil when the table is gone.
func (r *run) columns(ctx context.Context, db, table string) ([]columnJSON, []string, error) {
	t, err := schema.LoadTable(ctx, r.conn, db, table)
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
