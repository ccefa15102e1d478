package capture

import (
	"regexp"
	"strings"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver" // literal values in parsed DDL
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
